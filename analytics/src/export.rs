//! Writing events in the export formats (NDJSON and CSV). The JSON envelope is assembled by
//! the worker around the same per-event JSON.

use std::io::{self, Write};

use crate::event::{Event, FIELDS, format_timestamp};
use crate::record::neutralise_csv;

/// Writes one event as a line of NDJSON.
pub fn write_ndjson_line<W: Write>(mut out: W, event: &Event) -> io::Result<()> {
    serde_json::to_writer(&mut out, event)?;
    out.write_all(b"\n")
}

/// Writes events as CSV: a header in schema field order, then one row per event. Text cells
/// that a spreadsheet would run as a formula are neutralised (see [`neutralise_csv`]); the
/// readers undo it, so nothing is lost.
pub struct CsvWriter<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Starts the CSV and writes the header row.
    pub fn new(out: W) -> io::Result<CsvWriter<W>> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(FIELDS).map_err(io::Error::other)?;
        Ok(CsvWriter { csv })
    }

    /// Writes one event.
    pub fn write(&mut self, e: &Event) -> io::Result<()> {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map_or(String::new(), |s| neutralise_csv(s).into_owned())
        };
        let num = |v: Option<f64>| v.map_or(String::new(), |n| n.to_string());
        let int = |v: Option<u64>| v.map_or(String::new(), |n| n.to_string());
        let flag = |v: Option<bool>| v.map_or(String::new(), |b| b.to_string());
        let row: [String; FIELDS.len()] = [
            format_timestamp(&e.timestamp),
            neutralise_csv(e.event_type.as_str()).into_owned(),
            text(&e.session_id),
            int(e.message_number),
            text(&e.question),
            text(&e.topic),
            int(e.entries_retrieved),
            int(e.response_length),
            flag(e.success),
            num(e.rag_time_ms),
            num(e.ai_time_ms),
            num(e.total_time_ms),
            flag(e.no_rag_match),
            num(e.rag_match_score),
            text(&e.page_url),
            text(&e.page_title),
            text(&e.referrer),
            text(&e.error_type),
            text(&e.error_message),
        ];
        self.csv.write_record(&row).map_err(io::Error::other)
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}
