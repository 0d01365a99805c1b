//! Streaming readers for every export shape: the worker's JSON envelope, a bare JSON array,
//! NDJSON and CSV. Records are handed to a [`Sink`] one by one; no reader holds more than one
//! record (plus its I/O buffer) in memory.

use std::io::{self, BufReader, Read};

mod csv_rows;
mod json;
mod ndjson;
mod scanner;
mod sink;

pub(crate) use csv_rows::{CsvColumns, csv_error, csv_row};
pub(crate) use json::{json_element, read_json};
pub(crate) use scanner::{BatchTarget, Buffer, ElementAt, Elements};
pub use sink::{Format, Location, ReadError, ReadInfo, SCHEMA_VERSION, Sink, Skipped};

use csv_rows::read_csv;
use ndjson::read_ndjson;

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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
