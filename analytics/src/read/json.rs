//! The JSON export (the worker's envelope or a bare array of events): the envelope's fields,
//! and each element of the events array cut out by the [`Scanner`] and parsed on its own.

use super::scanner::{Buffer, ElementAt, Elements, Run, Scanner};
use super::sink::{Location, ReadError, ReadInfo, SCHEMA_VERSION, Sink, Skipped};
use crate::daily::DailyAggregate;
use crate::event::Event;
use crate::gap_history::GapSummary;
use crate::record::{JsonRecord, Rejection, SkipReason, without_position};

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
pub(crate) fn envelope_field<E: Elements>(
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
        "gaps" => {
            // A record only annotates the window's gaps: an entry in another shape (an older
            // or another producer's) is passed over, never a reason to refuse the export.
            let gaps: serde_json::Value = serde_json::from_slice(value).map_err(parse_error)?;
            if let serde_json::Value::Array(gaps) = gaps {
                for gap in gaps {
                    if let Ok(gap) = serde_json::from_value::<GapSummary>(gap) {
                        sink.gap_record(gap);
                    }
                }
            }
        }
        "nextCursor" => info.next_cursor = serde_json::from_slice(value).map_err(parse_error)?,
        "unreadable" => {
            let counts: Option<std::collections::BTreeMap<String, u64>> =
                serde_json::from_slice(value).map_err(parse_error)?;
            for (reason, n) in counts.unwrap_or_default() {
                *info.unreadable.entry(reason).or_default() += n;
            }
        }
        "partial" => {
            info.partial |=
                serde_json::from_slice::<Option<bool>>(value).map_err(parse_error)? == Some(true);
        }
        "message" => info.message = serde_json::from_slice(value).map_err(parse_error)?,
        _ => {
            serde_json::from_slice::<serde::de::IgnoredAny>(value).map_err(parse_error)?;
        }
    }
    Ok(())
}

/// The elements of an array of events, after its `[`, through its `]`.
pub(crate) fn read_events<R: Buffer, E: Elements>(
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
pub(crate) fn separator<R: Buffer>(scan: &mut Scanner<R>) -> Result<bool, ReadError> {
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

    fn gap_record(&mut self, gap: GapSummary) {
        Sink::gap_record(self, gap);
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
