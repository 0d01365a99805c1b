//! Streaming readers for every export shape: the worker's JSON envelope, a bare JSON array,
//! NDJSON and CSV. Records are handed to a [`Sink`] one by one; no reader holds more than one
//! record (plus its I/O buffer) in memory.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;

use crate::daily::DailyAggregate;
use crate::event::Event;
use crate::record::{
    Field, JsonRecord, RecordBuilder, Rejection, SkipReason, parse_json_event, without_position,
};

/// The export schema version this crate reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The worker's JSON envelope, or a bare JSON array of events.
    Json,
    /// One JSON event object per line.
    Ndjson,
    /// A header row of schema field names, then one event per row.
    Csv,
}

impl Format {
    /// The format's name as used on the command line and in `?format=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown format {other:?} (expected json, ndjson or csv)"
            )),
        }
    }
}

/// Where a record was found: its 1-based position among records and the line it ended on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based index of the record in the input.
    pub record: u64,
    /// 1-based line number (for JSON arrays: the line on which the record ends).
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} (record {})", self.line, self.record)
    }
}

/// A record that was skipped, where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where in the input.
    pub location: Location,
    /// Why.
    pub rejection: Rejection,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.rejection)
    }
}

/// Errors that stop reading.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The underlying reader failed.
    #[error("read failed")]
    Io(#[from] io::Error),
    /// JSON that cannot be parsed further (a bare array or envelope cannot resynchronise).
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The input is not an export this crate understands.
    #[error("{0}")]
    NotAnExport(String),
    /// The envelope's `schemaVersion` is not [`SCHEMA_VERSION`].
    #[error("unsupported export schemaVersion {0} (this reportgen reads version {SCHEMA_VERSION})")]
    SchemaVersion(u64),
    /// The sink refused to go on (strict mode).
    #[error("{0}")]
    Rejected(Skipped),
}

/// Receives records as they are read.
pub trait Sink {
    /// A valid event.
    fn event(&mut self, event: Event);
    /// A daily aggregate from the envelope's `daily` array.
    fn daily(&mut self, _day: DailyAggregate) {}
    /// A record that was skipped. Returning `Err` stops reading with that error.
    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError>;
}

/// What the reader learnt about the input besides its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadInfo {
    /// The format that was read (detected or forced).
    pub format: Option<Format>,
    /// Records seen, valid or not.
    pub records: u64,
    /// The envelope's `nextCursor`, when it names another page.
    pub next_cursor: Option<String>,
    /// True when the input was the worker's envelope (with its `schemaVersion`), not a bare
    /// array or a stream of events.
    pub envelope: bool,
}

/// How many bytes are examined to detect the format.
const SNIFF_BYTES: usize = 64 * 1024;

/// Reads an export from `reader`, detecting its format unless `format` is given.
pub fn read_export<R: Read, S: Sink>(
    reader: R,
    format: Option<Format>,
    sink: &mut S,
) -> Result<ReadInfo, ReadError> {
    let (format, reader) = detect_input(reader, format)?;
    let reader = BufReader::with_capacity(SNIFF_BYTES, reader);
    let mut info = match format {
        Format::Json => read_json(reader, sink)?,
        Format::Ndjson => read_ndjson(reader, sink)?,
        Format::Csv => read_csv(reader, sink)?,
    };
    info.format = Some(format);
    Ok(info)
}

/// Reads the start of the input: its first non-blank line and the first byte of the next
/// non-blank one (or EOF), at most [`SNIFF_BYTES`].
/// An input whose sniffed start is read again first.
pub(crate) type Rewound<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Reads the start of the input, drops a UTF-8 byte order mark and decides the format (the one
/// given, or detected); returns the whole input again, from its first byte after the mark.
pub(crate) fn detect_input<R: Read>(
    mut reader: R,
    format: Option<Format>,
) -> Result<(Format, Rewound<R>), ReadError> {
    let mut prefix = read_prefix(&mut reader)?;
    if prefix.starts_with("\u{feff}".as_bytes()) {
        prefix.drain(..3);
    }
    let format = match format {
        Some(f) => f,
        None => detect(&prefix)?,
    };
    Ok((format, io::Cursor::new(prefix).chain(reader)))
}

fn read_prefix<R: Read>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::new();
    let mut chunk = [0u8; 8192];
    while prefix.len() < SNIFF_BYTES && second_line(&prefix).is_none() {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => prefix.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(prefix)
}

/// The start of the second non-blank line, once the prefix reaches it.
fn second_line(prefix: &[u8]) -> Option<&[u8]> {
    let text = prefix.trim_ascii_start();
    let end = text.iter().position(|&b| b == b'\n')?;
    let rest = text[end..].trim_ascii_start();
    (!rest.is_empty()).then_some(rest)
}

/// Detects the format from the start of the input.
fn detect(prefix: &[u8]) -> Result<Format, ReadError> {
    let text = prefix.trim_ascii_start();
    let Some(&first) = text.first() else {
        return Ok(Format::Ndjson);
    };
    match first {
        b'[' => Ok(Format::Json),
        b'{' => {
            let first_line = match text.iter().position(|&b| b == b'\n') {
                Some(end) => text[..end].trim_ascii(),
                None if text.len() < SNIFF_BYTES => text.trim_ascii(),
                // A first line longer than the sniffing buffer is a one-line envelope.
                None => return Ok(Format::Json),
            };
            if first_line == b"{" {
                // The start of a pretty-printed object: the envelope.
                return Ok(Format::Json);
            }
            // A one-line object is an NDJSON record unless it is the envelope, or something
            // that is neither (a server's error object), judged by the JSON reader. A first
            // line that does not parse is a malformed NDJSON record, skipped like any other.
            match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(first_line) {
                Ok(object)
                    if object.contains_key("events")
                        || object.contains_key("schemaVersion")
                        || (!object.contains_key("eventType")
                            && !object.contains_key("timestamp")
                            && second_line(prefix).is_none_or(|next| next[0] != b'{')) =>
                {
                    Ok(Format::Json)
                }
                Ok(_) => Ok(Format::Ndjson),
                // The start of an envelope broken over lines, or a malformed first record.
                Err(_)
                    if contains(first_line, b"\"events\"")
                        || contains(first_line, b"\"schemaVersion\"") =>
                {
                    Ok(Format::Json)
                }
                Err(_) => Ok(Format::Ndjson),
            }
        }
        _ => {
            let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
            let header = String::from_utf8_lossy(&text[..line_end]);
            if header
                .split(',')
                .any(|h| h.trim().trim_matches('"') == "timestamp")
            {
                Ok(Format::Csv)
            } else {
                Err(ReadError::NotAnExport(
                    "cannot detect the format: the input is neither JSON, NDJSON nor CSV with a \
                     `timestamp` column (use --format to force one)"
                        .into(),
                ))
            }
        }
    }
}

fn read_ndjson<R: BufRead, S: Sink>(mut reader: R, sink: &mut S) -> Result<ReadInfo, ReadError> {
    let mut info = ReadInfo::default();
    let mut line = Vec::new();
    let mut line_no = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        line_no += 1;
        let bytes = line.trim_ascii();
        if bytes.is_empty() {
            continue;
        }
        info.records += 1;
        match parse_json_event(bytes) {
            Ok(event) => sink.event(event),
            Err(rejection) => sink.skipped(Skipped {
                location: Location {
                    record: info.records,
                    line: line_no,
                },
                rejection,
            })?,
        }
    }
    Ok(info)
}

/// The fields of a CSV export's columns, from its header row.
#[derive(Debug)]
pub(crate) struct CsvColumns(Vec<Option<Field>>);

impl CsvColumns {
    /// The columns' fields, when no field has two columns: then a row may take the fast path.
    pub(crate) fn distinct(&self) -> Option<&[Option<Field>]> {
        let mut seen = [false; crate::event::FIELDS.len()];
        for field in self.0.iter().flatten() {
            if std::mem::replace(&mut seen[*field as usize], true) {
                return None;
            }
        }
        Some(&self.0)
    }
}

impl CsvColumns {
    fn new<R: Read>(csv: &mut csv::Reader<R>) -> Result<CsvColumns, ReadError> {
        let columns: Vec<Option<Field>> = csv
            .byte_headers()
            .map_err(csv_error)?
            .iter()
            .map(|name| {
                std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| Field::from_name(n.trim()))
            })
            .collect();
        for required in [Field::Timestamp, Field::EventType] {
            if !columns.contains(&Some(required)) {
                return Err(ReadError::NotAnExport(format!(
                    "the CSV header has no `{}` column",
                    crate::event::FIELDS[required as usize]
                )));
            }
        }
        Ok(CsvColumns(columns))
    }

    /// The columns of a header row given whole, and where the csv crate ended the header: at
    /// a lone CR, that is before the LF the caller looked for.
    pub(crate) fn from_header(header: &[u8]) -> Result<(CsvColumns, usize), ReadError> {
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(header);
        let columns = CsvColumns::new(&mut csv)?;
        Ok((columns, csv.position().byte() as usize))
    }
}

fn read_csv<R: Read, S: Sink>(reader: R, sink: &mut S) -> Result<ReadInfo, ReadError> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let columns = CsvColumns::new(&mut csv)?;
    let mut info = ReadInfo::default();
    let mut row = csv::ByteRecord::new();
    while csv.read_byte_record(&mut row).map_err(csv_error)? {
        info.records += 1;
        let location = Location {
            record: info.records,
            line: row.position().map_or(0, |p| p.line()),
        };
        match csv_row(&columns, &row) {
            Ok(event) => sink.event(event),
            Err(rejection) => sink.skipped(Skipped {
                location,
                rejection,
            })?,
        }
    }
    Ok(info)
}

pub(crate) fn csv_row(columns: &CsvColumns, row: &csv::ByteRecord) -> Result<Event, Rejection> {
    let columns = &columns.0;
    if row.len() != columns.len() {
        return Err(Rejection::new(
            SkipReason::InvalidCsvRow,
            format!(
                "row has {} cells, the header has {}",
                row.len(),
                columns.len()
            ),
        ));
    }
    let mut builder = RecordBuilder::default();
    for (field, cell) in columns.iter().zip(row.iter()) {
        let Some(field) = field else { continue };
        let text = std::str::from_utf8(cell).map_err(|_| {
            Rejection::new(
                SkipReason::InvalidCsvRow,
                format!(
                    "`{}` is not valid UTF-8",
                    crate::event::FIELDS[*field as usize]
                ),
            )
        })?;
        builder.set_text(*field, text);
    }
    builder.finish()
}

pub(crate) fn csv_error(e: csv::Error) -> ReadError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ReadError::Io(io),
        other => ReadError::NotAnExport(format!("unreadable CSV: {other:?}")),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a JSON export (an envelope object or a bare array of events) without a JSON parser
/// over the whole stream: a scanner cuts each event of the array out of large buffered reads
/// (tracking strings, escapes and nesting), and only that slice is parsed, as for NDJSON. So
/// an array or an envelope reads as fast as NDJSON, in constant memory, with exact lines.
pub(crate) fn read_json<R: Buffer, E: Elements>(
    reader: R,
    sink: &mut E,
) -> Result<ReadInfo, ReadError> {
    let mut scan = Scanner::new(reader);
    let mut info = ReadInfo::default();
    let mut value = Vec::new();
    let mut saw_events = false;
    match scan.next_token()? {
        Some(b'[') => {
            scan.bump();
            saw_events = true;
            read_events(&mut scan, &mut value, &mut info, sink)?;
        }
        Some(b'{') => {
            scan.bump();
            let mut first = true;
            loop {
                match scan.next_token()? {
                    Some(b'}') if first => {
                        scan.bump();
                        break;
                    }
                    Some(b'"') => {}
                    _ => return Err(scan.syntax("expected a key in double quotes")),
                }
                first = false;
                value.clear();
                scan.value_into(&mut value)?;
                let key: String = serde_json::from_slice(&value)
                    .map_err(|e| scan.syntax(&format!("bad key: {}", without_position(&e))))?;
                if scan.next_token()? != Some(b':') {
                    return Err(scan.syntax("expected `:`"));
                }
                scan.bump();
                match scan.next_token()? {
                    Some(b'[') if key == "events" => {
                        scan.bump();
                        saw_events = true;
                        read_events(&mut scan, &mut value, &mut info, sink)?;
                    }
                    Some(_) => {
                        value.clear();
                        scan.value_into(&mut value)?;
                        envelope_field(&key, &value, &mut info, sink)?;
                        if key == "events" {
                            return Err(ReadError::NotAnExport(
                                "the export's `events` is not an array".into(),
                            ));
                        }
                    }
                    None => return Err(scan.syntax("EOF while parsing an object")),
                }
                match scan.next_token()? {
                    Some(b',') => scan.bump(),
                    Some(b'}') => {
                        scan.bump();
                        break;
                    }
                    None => return Err(scan.syntax("EOF while parsing an object")),
                    Some(_) => return Err(scan.syntax("expected `,` or `}`")),
                }
            }
        }
        None => return Err(scan.syntax("EOF while parsing a value")),
        Some(_) => {
            return Err(scan.syntax("expected an export envelope object or an array of events"));
        }
    }
    if scan.next_token()?.is_some() {
        return Err(scan.syntax("trailing characters"));
    }
    if !saw_events {
        return Err(ReadError::NotAnExport(
            "the JSON object has no `events` array: not an analytics export".into(),
        ));
    }
    Ok(info)
}

/// A field of the envelope other than `events`.
fn envelope_field<E: Elements>(
    key: &str,
    value: &[u8],
    info: &mut ReadInfo,
    sink: &mut E,
) -> Result<(), ReadError> {
    let parse_error = |e: serde_json::Error| {
        ReadError::NotAnExport(format!(
            "the export's `{key}` is not valid: {}",
            without_position(&e)
        ))
    };
    match key {
        "schemaVersion" => {
            match serde_json::from_slice::<serde_json::Value>(value)
                .map_err(parse_error)?
                .as_u64()
            {
                Some(SCHEMA_VERSION) => info.envelope = true,
                Some(version) => return Err(ReadError::SchemaVersion(version)),
                None => {
                    return Err(ReadError::NotAnExport(
                        "the export's `schemaVersion` is not a whole number".into(),
                    ));
                }
            }
        }
        "daily" => {
            let days: Option<Vec<DailyAggregate>> =
                serde_json::from_slice(value).map_err(parse_error)?;
            for day in days.unwrap_or_default() {
                sink.daily(day);
            }
        }
        "nextCursor" => info.next_cursor = serde_json::from_slice(value).map_err(parse_error)?,
        _ => {
            serde_json::from_slice::<serde::de::IgnoredAny>(value).map_err(parse_error)?;
        }
    }
    Ok(())
}

/// The elements of an array of events, after its `[`, through its `]`.
fn read_events<R: Buffer, E: Elements>(
    scan: &mut Scanner<R>,
    value: &mut Vec<u8>,
    info: &mut ReadInfo,
    sink: &mut E,
) -> Result<(), ReadError> {
    if scan.next_token()? == Some(b']') {
        scan.bump();
        return Ok(());
    }
    loop {
        // Runs of whole objects in the read buffer go straight into the sink's batch; what the
        // fast scan does not take (a value spanning two buffers, anything but an object, an
        // error) is read below, one element at a time, exactly as before.
        if let Some(batch) = sink.batch() {
            let before = info.records;
            let run = scan.objects_into(batch, &mut info.records);
            sink.batch_done()?;
            match run? {
                Run::Closed => return Ok(()),
                Run::AfterElement => {
                    if separator(scan)? {
                        return Ok(());
                    }
                    continue;
                }
                // It took some and stopped at a full batch or the buffer's end (which a reader
                // giving its buffer away has read on from): another run may take more. (Before
                // anything else it takes nothing the second time, and the general path reads.)
                Run::BeforeElement if info.records > before => continue,
                Run::BeforeElement => {}
            }
        }
        if scan.next_token()?.is_none() {
            return Err(scan.syntax("EOF while parsing a list"));
        }
        let (line, column) = (scan.line, scan.column);
        value.clear();
        scan.value_into(value)?;
        info.records += 1;
        sink.element(
            value,
            ElementAt {
                record: info.records,
                line,
                column,
                end_line: scan.line,
            },
        )?;
        if separator(scan)? {
            return Ok(());
        }
    }
}

/// After an element of the events array: `,` (false) or the closing `]` (true).
fn separator<R: Buffer>(scan: &mut Scanner<R>) -> Result<bool, ReadError> {
    match scan.next_token()? {
        Some(b',') => {
            scan.bump();
            Ok(false)
        }
        Some(b']') => {
            scan.bump();
            Ok(true)
        }
        None => Err(scan.syntax("EOF while parsing a list")),
        Some(_) => Err(scan.syntax("expected `,` or `]`")),
    }
}

/// The end of the object starting at `buf[start]` (a `{`) when it is flat: no nested object
/// or array and no backslash before its end, so its first `}` after an even number of quotes
/// closes it. `None` for anything else (nested, escaped, not in `buf`): the byte-by-byte scan
/// decides then. `dirty` is the first backslash or `[` after `start` (or `buf.len()`), found
/// once for many objects. One pass finds the first brace, another counts the quotes before it:
/// a few vector operations, where following each string is a call per quote.
fn flat_object_end(buf: &[u8], start: usize, dirty: usize) -> Option<usize> {
    let mut from = start + 1;
    // A `}` inside a string moves on to the next one; a few of those, and the slow scan takes it.
    for _ in 0..4 {
        let close = from + memchr::memchr2(b'{', b'}', buf.get(from..)?)?;
        if buf[close] == b'{' || dirty < close {
            return None;
        }
        if bytecount::count(&buf[start + 1..close], b'"').is_multiple_of(2) {
            return Some(close + 1);
        }
        from = close + 1;
    }
    None
}

/// Where `find` first matches in `buf` at or after `from`, or `buf.len()`.
fn next_of(buf: &[u8], from: usize, find: impl Fn(&[u8]) -> Option<usize>) -> usize {
    buf.get(from..)
        .and_then(find)
        .map_or(buf.len(), |at| from + at)
}

/// A buffered reader whose whole buffer [`Scanner::objects_into`] may take instead of copying
/// the elements out of it (the parallel reader's blocks).
pub(crate) trait Buffer: BufRead {
    /// Where the bytes of [`BufRead::fill_buf`] start in the buffer, if it can be taken.
    fn start(&self) -> Option<usize> {
        None
    }

    /// Swaps buffers: `other` gets this one, every byte read into it so far, consumed or not;
    /// the reader moves its unconsumed bytes into `other`'s allocation and reads on after them.
    fn exchange(&mut self, _other: &mut Vec<u8>) -> io::Result<()> {
        Err(io::Error::other("this reader's buffer cannot be taken"))
    }
}

impl<R: Read> Buffer for BufReader<R> {}

/// Where a run of [`Scanner::objects_into`] stopped.
pub(crate) enum Run {
    /// It consumed the array's closing `]`.
    Closed,
    /// After an element; the separator is left to the general reader.
    AfterElement,
    /// Before an element (or whitespace), left to the general reader.
    BeforeElement,
}

/// Where a batching sink collects elements: bytes holding them (with whatever separates them in
/// the input, and after [`Buffer::exchange`] the whole read buffer), the range of each with
/// where it was, and the size at which the batch is full.
pub(crate) struct BatchTarget<'b> {
    pub(crate) bytes: &'b mut Vec<u8>,
    pub(crate) elements: &'b mut Vec<(Range<usize>, ElementAt)>,
    pub(crate) limit: usize,
}

/// Where an element of the events array is in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElementAt {
    /// The record number, from 1.
    pub(crate) record: u64,
    /// Line and column of its first byte.
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// The line of its last byte: where a rejection is reported.
    pub(crate) end_line: usize,
}

/// What the JSON reader does with each element of the events array and with the envelope's
/// daily aggregates: a [`Sink`] parses them at once; the parallel reader batches them.
pub(crate) trait Elements {
    /// One element's bytes, exactly as in the input.
    fn element(&mut self, bytes: &[u8], at: ElementAt) -> Result<(), ReadError>;
    /// One entry of the envelope's `daily`.
    fn daily(&mut self, day: DailyAggregate);
    /// Where whole elements may be appended in bulk, if this sink batches them.
    fn batch(&mut self) -> Option<BatchTarget<'_>> {
        None
    }
    /// Called after a bulk append: a full batch may be sent on.
    fn batch_done(&mut self) -> Result<(), ReadError> {
        Ok(())
    }
}

impl<S: Sink> Elements for S {
    fn element(&mut self, bytes: &[u8], at: ElementAt) -> Result<(), ReadError> {
        match json_element(bytes, at)? {
            Ok(event) => self.event(event),
            Err(rejection) => self.skipped(Skipped {
                location: Location {
                    record: at.record,
                    line: at.end_line as u64,
                },
                rejection,
            })?,
        }
        Ok(())
    }

    fn daily(&mut self, day: DailyAggregate) {
        Sink::daily(self, day);
    }
}

/// Parses one element of the events array: an event or why it is skipped, or, for malformed
/// JSON inside it, the syntax error at its position in the whole input.
pub(crate) fn json_element(
    bytes: &[u8],
    at: ElementAt,
) -> Result<Result<Event, Rejection>, ReadError> {
    match serde_json::from_slice::<JsonRecord>(bytes) {
        Ok(JsonRecord(record)) => Ok(record),
        Err(e) if e.is_data() => Ok(Err(Rejection::new(
            SkipReason::InvalidJson,
            without_position(&e),
        ))),
        Err(e) => Err(ReadError::Syntax {
            line: at.line + e.line() - 1,
            column: if e.line() == 1 {
                at.column + e.column() - 1
            } else {
                e.column()
            },
            message: without_position(&e),
        }),
    }
}

fn fill<R: BufRead>(reader: &mut R) -> Result<&[u8], ReadError> {
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(reader.fill_buf()?)
}

/// A position-keeping cursor over buffered JSON bytes.
struct Scanner<R> {
    reader: R,
    /// 1-based line and column of the next byte.
    line: usize,
    column: usize,
}

impl<R: Buffer> Scanner<R> {
    fn new(reader: R) -> Self {
        Scanner {
            reader,
            line: 1,
            column: 1,
        }
    }

    fn syntax(&self, message: &str) -> ReadError {
        ReadError::Syntax {
            line: self.line,
            column: self.column,
            message: message.to_owned(),
        }
    }

    /// Consumes `n` bytes of the current buffer, counting lines.
    fn consume(&mut self, n: usize) {
        if let Ok(buf) = self.reader.fill_buf() {
            let bytes = &buf[..n.min(buf.len())];
            match memchr::memrchr(b'\n', bytes) {
                Some(last) => {
                    self.line += memchr::memchr_iter(b'\n', bytes).count();
                    self.column = bytes.len() - last;
                }
                None => self.column += bytes.len(),
            }
        }
        self.reader.consume(n);
    }

    fn bump(&mut self) {
        self.consume(1);
    }

    /// Skips whitespace and returns the next byte without consuming it; `None` at the end.
    fn next_token(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            let buf = fill(&mut self.reader)?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(at) => {
                    let next = buf[at];
                    self.consume(at);
                    return Ok(Some(next));
                }
                None => {
                    let n = buf.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Appends every whole object of the events array that lies in the read buffer to the
    /// batch, with the separators between them consumed, until the batch is full, the buffer
    /// ends, the array closes, or something other than an object comes. Consumes exactly what
    /// it took, keeping lines and columns as [`Scanner::consume`] would. It never reports an
    /// error of the input: whatever it stops at is read by the general path. An empty batch
    /// takes the reader's buffer itself when the reader can give it ([`Buffer::exchange`]).
    fn objects_into(
        &mut self,
        batch: BatchTarget<'_>,
        records: &mut u64,
    ) -> Result<Run, ReadError> {
        fill(&mut self.reader)?;
        // Into an empty batch, a reader that can give its buffer away gives it (elements are
        // then ranges of that buffer); otherwise the bytes taken are copied at the end, in one
        // piece from the first element's start.
        let base = batch.bytes.len();
        let offset = if base == 0 { self.reader.start() } else { None };
        let buf = fill(&mut self.reader)?;
        let (base_line, base_column) = (self.line, self.column);
        // Lines and the last newline seen, over the bytes taken so far.
        let mut lines = 0usize;
        let mut last_newline: Option<usize> = None;
        let position = |lines: usize, last_newline: Option<usize>, at: usize| {
            (
                base_line + lines,
                last_newline.map_or(base_column + at, |n| at - n),
            )
        };
        let skip_space = |mut at: usize, lines: &mut usize, last: &mut Option<usize>| {
            while at < buf.len() && buf[at].is_ascii_whitespace() {
                if buf[at] == b'\n' {
                    *lines += 1;
                    *last = Some(at);
                }
                at += 1;
            }
            at
        };
        let mut taken = 0;
        let mut origin = None;
        let mut copied_end = 0;
        // The first backslash or `[`, and the first newline, at or after where they were last
        // looked for: most buffers have neither, so each is one pass over the buffer.
        let mut dirty = 0;
        let mut newline = 0;
        let run = loop {
            // Before an element.
            let start = skip_space(taken, &mut lines, &mut last_newline);
            taken = start;
            let first = *origin.get_or_insert(start);
            if base + copied_end.max(first) - first >= batch.limit || buf.get(start) != Some(&b'{')
            {
                break Run::BeforeElement;
            }
            let (line, column) = position(lines, last_newline, start);
            let (mut element_lines, mut element_newline) = (lines, last_newline);
            let mut depth = 0usize;
            let mut at = start;
            if dirty <= start {
                dirty = next_of(buf, start + 1, |b| memchr::memchr2(b'\\', b'[', b));
            }
            let end = if let Some(end) = flat_object_end(buf, start, dirty) {
                // Lines as `consume` counts them: every newline, in strings or not.
                if newline < start {
                    newline = next_of(buf, start, |b| memchr::memchr(b'\n', b));
                }
                if newline < end {
                    let element = &buf[newline..end];
                    element_lines += memchr::memchr_iter(b'\n', element).count();
                    element_newline = memchr::memrchr(b'\n', element).map(|last| newline + last);
                    newline = next_of(buf, end, |b| memchr::memchr(b'\n', b));
                }
                Some(end)
            } else {
                loop {
                    let Some(&b) = buf.get(at) else { break None };
                    match b {
                        // Inside a string only a quote, a backslash or a newline matters.
                        b'"' => loop {
                            match memchr::memchr3(
                                b'"',
                                b'\\',
                                b'\n',
                                &buf[(at + 1).min(buf.len())..],
                            ) {
                                None => {
                                    at = buf.len();
                                    break;
                                }
                                Some(skip) => at += 1 + skip,
                            }
                            match buf[at] {
                                b'"' => break,
                                b'\\' => {
                                    at += 1;
                                    if buf.get(at) == Some(&b'\n') {
                                        element_lines += 1;
                                        element_newline = Some(at);
                                    }
                                }
                                _ => {
                                    element_lines += 1;
                                    element_newline = Some(at);
                                }
                            }
                        },
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                break Some(at + 1);
                            }
                        }
                        b'\n' => {
                            element_lines += 1;
                            element_newline = Some(at);
                        }
                        _ => {}
                    }
                    at += 1;
                }
            };
            // An object that runs past the buffer is left to the general path.
            let Some(end) = end else {
                break Run::BeforeElement;
            };
            lines = element_lines;
            last_newline = element_newline;
            *records += 1;
            copied_end = end;
            let place = |at: usize| offset.map_or(base + at - first, |offset| offset + at);
            batch.elements.push((
                place(start)..place(end),
                ElementAt {
                    record: *records,
                    line,
                    column,
                    end_line: base_line + lines,
                },
            ));
            // After an element.
            let next = skip_space(end, &mut lines, &mut last_newline);
            taken = next;
            match buf.get(next) {
                Some(b',') => taken = next + 1,
                Some(b']') => {
                    taken = next + 1;
                    break Run::Closed;
                }
                _ => break Run::AfterElement,
            }
        };
        // What the run took goes to the batch: copied out of the buffer here, or (below, once
        // consumed) the buffer itself.
        let took = origin.filter(|&first| copied_end > first);
        if let (Some(first), None) = (took, offset) {
            batch.bytes.extend_from_slice(&buf[first..copied_end]);
        }
        let (line, column) = position(lines, last_newline, taken);
        self.line = line;
        self.column = column;
        self.reader.consume(taken);
        if took.is_some() && offset.is_some() {
            self.reader.exchange(batch.bytes)?;
        }
        Ok(run)
    }

    /// Appends one complete JSON value (object, array, string or scalar) starting at the next
    /// byte to `out`, consuming it. Only its extent is checked here; its content is left to
    /// the parser of the slice.
    fn value_into(&mut self, out: &mut Vec<u8>) -> Result<(), ReadError> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        let mut scalar = false;
        loop {
            let buf = fill(&mut self.reader)?;
            if buf.is_empty() {
                if scalar && depth == 0 && !in_string {
                    return Ok(());
                }
                return Err(self.syntax("EOF while parsing a value"));
            }
            let mut end = None;
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                if !started {
                    started = true;
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth = 1,
                        _ => scalar = true,
                    }
                    if scalar && matches!(b, b',' | b']' | b'}') {
                        return Err(self.syntax("expected a value"));
                    }
                    i += 1;
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else {
                        // Strings are most of an export: jump to the next quote or backslash.
                        match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                            Some(at) => i += at,
                            None => {
                                i = buf.len();
                                continue;
                            }
                        }
                        if buf[i] == b'\\' {
                            escaped = true;
                        } else {
                            in_string = false;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                    }
                } else if scalar {
                    if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                        end = Some(i);
                        break;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            let n = end.unwrap_or(buf.len());
            out.extend_from_slice(&buf[..n]);
            self.consume(n);
            if end.is_some() {
                return Ok(());
            }
        }
    }
}
