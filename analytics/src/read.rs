//! Streaming readers for every export shape: the worker's JSON envelope, a bare JSON array,
//! NDJSON and CSV. Records are handed to a [`Sink`] one by one; no reader holds more than one
//! record (plus its I/O buffer) in memory.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::daily::DailyAggregate;
use crate::event::Event;
use crate::record::{Field, JsonRecord, RecordBuilder, Rejection, SkipReason, parse_json_event};

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
    mut reader: R,
    format: Option<Format>,
    sink: &mut S,
) -> Result<ReadInfo, ReadError> {
    let mut prefix = read_prefix(&mut reader)?;
    if prefix.starts_with("\u{feff}".as_bytes()) {
        prefix.drain(..3);
    }
    let format = match format {
        Some(f) => f,
        None => detect(&prefix)?,
    };
    let reader = BufReader::with_capacity(SNIFF_BYTES, io::Cursor::new(prefix).chain(reader));
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

fn read_csv<R: Read, S: Sink>(reader: R, sink: &mut S) -> Result<ReadInfo, ReadError> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
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

fn csv_row(columns: &[Option<Field>], row: &csv::ByteRecord) -> Result<Event, Rejection> {
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

fn csv_error(e: csv::Error) -> ReadError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ReadError::Io(io),
        other => ReadError::NotAnExport(format!("unreadable CSV: {other:?}")),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// serde_json's message without its " at line L column C" suffix, for messages that state the
/// position their own way.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Counts the newlines that pass through, so JSON records can be located by line.
struct LineCounter<R> {
    inner: R,
    lines: Rc<Lines>,
}

/// What [`LineCounter`] has seen so far.
#[derive(Debug, Default)]
struct Lines {
    newlines: Cell<u64>,
    /// Whether the last byte read was a newline.
    after_newline: Cell<bool>,
}

impl Lines {
    /// The 1-based line of the last byte of the value just parsed. serde_json reads one byte
    /// past a number to find its end; a value never ends with a newline, so a newline read
    /// last was that look-ahead and belongs to the next line.
    fn current(&self) -> u64 {
        self.newlines.get() + 1 - u64::from(self.after_newline.get())
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let lines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines.newlines.set(self.lines.newlines.get() + lines);
        if let Some(&last) = buf[..n].last() {
            self.lines.after_newline.set(last == b'\n');
        }
        Ok(n)
    }
}

/// State shared by the JSON visitors.
struct JsonState<'s, S> {
    sink: &'s mut S,
    info: ReadInfo,
    lines: Rc<Lines>,
    /// Why the visitor stopped, when it was not a JSON syntax error.
    stop: Option<ReadError>,
    saw_events: bool,
}

impl<S: Sink> JsonState<'_, S> {
    fn fail<E: de::Error>(&mut self, error: ReadError) -> E {
        let message = error.to_string();
        self.stop = Some(error);
        E::custom(message)
    }

    fn record<E: de::Error>(&mut self, record: JsonRecord) -> Result<(), E> {
        self.info.records += 1;
        match record.0 {
            Ok(event) => {
                self.sink.event(event);
                Ok(())
            }
            Err(rejection) => {
                let skipped = Skipped {
                    location: Location {
                        record: self.info.records,
                        line: self.lines.current(),
                    },
                    rejection,
                };
                self.sink.skipped(skipped).map_err(|e| self.fail(e))
            }
        }
    }
}

fn read_json<R: Read, S: Sink>(reader: R, sink: &mut S) -> Result<ReadInfo, ReadError> {
    let lines = Rc::new(Lines::default());
    let counted = LineCounter {
        inner: reader,
        lines: Rc::clone(&lines),
    };
    let mut de = serde_json::Deserializer::from_reader(counted);
    let mut state = JsonState {
        sink,
        info: ReadInfo::default(),
        lines,
        stop: None,
        saw_events: false,
    };
    let result = (&mut de)
        .deserialize_any(TopVisitor(&mut state))
        .and_then(|()| de.end());
    if let Some(stop) = state.stop.take() {
        return Err(stop);
    }
    match result {
        Ok(()) => Ok(state.info),
        Err(e) if e.is_io() => Err(ReadError::Io(io::Error::other(e.to_string()))),
        Err(e) => Err(ReadError::Syntax {
            line: e.line(),
            column: e.column(),
            message: without_position(&e),
        }),
    }
}

/// The top level of a JSON export: an envelope object or a bare array of events.
struct TopVisitor<'a, 's, S>(&'a mut JsonState<'s, S>);

impl<'de, S: Sink> Visitor<'de> for TopVisitor<'_, '_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an export envelope object or an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.saw_events = true;
        EventsVisitor(self.0).visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "schemaVersion" => match map.next_value::<serde_json::Value>()?.as_u64() {
                    Some(SCHEMA_VERSION) => state.info.envelope = true,
                    Some(version) => return Err(state.fail(ReadError::SchemaVersion(version))),
                    None => {
                        return Err(state.fail(ReadError::NotAnExport(
                            "the export's `schemaVersion` is not a whole number".into(),
                        )));
                    }
                },
                "events" => {
                    state.saw_events = true;
                    map.next_value_seed(EventsSeed(&mut *state))?;
                }
                "daily" => {
                    for day in map
                        .next_value::<Option<Vec<DailyAggregate>>>()?
                        .unwrap_or_default()
                    {
                        state.sink.daily(day);
                    }
                }
                "nextCursor" => state.info.next_cursor = map.next_value::<Option<String>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !state.saw_events {
            return Err(state.fail(ReadError::NotAnExport(
                "the JSON object has no `events` array: not an analytics export".into(),
            )));
        }
        Ok(())
    }
}

/// The envelope's `events` array, streamed.
struct EventsSeed<'a, 's, S>(&'a mut JsonState<'s, S>);

impl<'de, S: Sink> DeserializeSeed<'de> for EventsSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(EventsVisitor(self.0))
    }
}

struct EventsVisitor<'a, 's, S>(&'a mut JsonState<'s, S>);

impl<'de, S: Sink> Visitor<'de> for EventsVisitor<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<JsonRecord>()? {
            self.0.record(record)?;
        }
        Ok(())
    }
}
