//! What every reader hands on and reports: the [`Sink`] that takes records, where a record was
//! and why it was skipped, the errors that stop a read, what was learnt ([`ReadInfo`]), and the
//! export formats.

use std::fmt;
use std::io;

use crate::daily::DailyAggregate;
use crate::event::Event;
use crate::gap_history::GapSummary;
use crate::record::Rejection;

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
    /// A knowledge-gap record from the envelope's `gaps` array (the worker's `gaps:` records).
    fn gap_record(&mut self, _gap: GapSummary) {}
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
    /// The envelope's `unreadable`: records the worker found in its store but could not read
    /// as events, by reason name (`invalid_json`, `missing_timestamp`, …).
    pub unreadable: std::collections::BTreeMap<String, u64>,
    /// The envelope's `partial`: a whole-window download that stopped short of its window.
    pub partial: bool,
    /// The envelope's `message`: why it is partial.
    pub message: Option<String>,
}
