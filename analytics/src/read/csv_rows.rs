//! CSV: a header row of schema field names, then one event per row.

use std::io::Read;

use super::sink::{Location, ReadError, ReadInfo, Sink, Skipped};
use crate::event::Event;
use crate::record::{RecordBuilder, Rejection, SkipReason};
use crate::schema::{FIELD_COUNT, Field};

/// The fields of a CSV export's columns, from its header row.
#[derive(Debug)]
pub(crate) struct CsvColumns(Vec<Option<Field>>);

impl CsvColumns {
    /// The columns' fields, when no field has two columns: then a row may take the fast path.
    pub(crate) fn distinct(&self) -> Option<&[Option<Field>]> {
        let mut seen = [false; FIELD_COUNT];
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
                    required.name()
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

pub(crate) fn read_csv<R: Read, S: Sink>(reader: R, sink: &mut S) -> Result<ReadInfo, ReadError> {
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
                format!("`{}` is not valid UTF-8", field.name()),
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
