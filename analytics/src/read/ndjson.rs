//! NDJSON: one event object per line, parsed line by line.

use std::io::BufRead;

use super::sink::{Location, ReadError, ReadInfo, Sink, Skipped};
use crate::record::parse_json_event;

pub(crate) fn read_ndjson<R: BufRead, S: Sink>(
    mut reader: R,
    sink: &mut S,
) -> Result<ReadInfo, ReadError> {
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
