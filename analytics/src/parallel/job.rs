//! What the reading thread hands a worker: a block of whole records, and what the worker
//! counts of it so that skipped records can be numbered in input order afterwards.

use std::ops::Range;
use std::sync::Arc;

use crate::read::{CsvColumns, ElementAt};

/// A block of whole records.
pub(super) struct Job {
    pub(super) block: u64,
    pub(super) bytes: Vec<u8>,
    pub(super) kind: Records,
}

pub(super) enum Records {
    /// NDJSON lines; the block ends with a newline unless it is the last.
    Lines,
    /// CSV rows of the given columns; the block ends with a row unless it is the last.
    Csv(Arc<CsvColumns>),
    /// Elements of a JSON events array, with where each is.
    Elements(Vec<(Range<usize>, ElementAt)>),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct BlockCount {
    pub(super) block: u64,
    pub(super) lines: u64,
    pub(super) records: u64,
    /// Whether the block's skip locations count from its start (lines, CSV) or from the
    /// input's (JSON elements, numbered by the reader).
    pub(super) relative: bool,
}
