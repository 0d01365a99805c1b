//! The worker side: one thread's share of the blocks, parsed into its own partial
//! [`Metrics`], with the records it skipped and its per-block counts.

use std::io::Read;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender};

use crate::event::EventType;
use crate::metrics::Metrics;
use crate::read::{
    CsvColumns, ElementAt, Location, ReadError, Skipped, csv_error, csv_row, json_element,
};
use crate::record::{Rejection, fast_csv_event, fast_json_event, parse_json_event};

use super::job::{BlockCount, Job, Records};

/// One worker's share.
pub(super) struct Partial {
    pub(super) metrics: Metrics,
    pub(super) named_skips: usize,
    /// (block, index in block, skipped with a block-relative location).
    pub(super) skips: Vec<(u64, u64, Skipped)>,
    pub(super) counts: Vec<BlockCount>,
    pub(super) fatal: Option<(u64, ReadError)>,
}

impl Partial {
    pub(super) fn new(metrics: Metrics, named_skips: usize) -> Partial {
        Partial {
            metrics,
            named_skips,
            skips: Vec::new(),
            counts: Vec::new(),
            fatal: None,
        }
    }

    pub(super) fn run(
        mut self,
        queue: &Mutex<Receiver<Job>>,
        spare: &SyncSender<Vec<u8>>,
    ) -> Partial {
        loop {
            let job = match queue.lock() {
                Ok(queue) => queue.recv(),
                Err(_) => break,
            };
            let Ok(mut job) = job else { break };
            if self.fatal.is_none() {
                let count = match &job.kind {
                    Records::Lines => self.lines(job.block, &job.bytes),
                    Records::Csv(columns) => self.csv(job.block, &job.bytes, columns),
                    Records::Elements(elements) => self.elements(job.block, &job.bytes, elements),
                };
                self.counts.push(count);
            }
            job.bytes.clear();
            // The reader may have stopped waiting for buffers; then this one is dropped.
            let _ = spare.try_send(job.bytes);
        }
        self
    }

    fn skip(&mut self, block: u64, index: u64, location: Location, rejection: Rejection) {
        self.metrics.skip(rejection.reason);
        if self.skips.len() < self.named_skips {
            self.skips.push((
                block,
                index,
                Skipped {
                    location,
                    rejection,
                },
            ));
        } else if let Some(last) = self.skips.iter().map(|(b, i, _)| (*b, *i)).max()
            && (block, index) < last
        {
            // Keep the earliest: blocks do not reach a worker in order.
            let at = self
                .skips
                .iter()
                .position(|(b, i, _)| (*b, *i) == last)
                .unwrap_or(0);
            self.skips[at] = (
                block,
                index,
                Skipped {
                    location,
                    rejection,
                },
            );
        }
    }

    /// One JSON record of a block that is not all UTF-8.
    fn record(&mut self, text: &[u8], pos: u64) -> Result<(), Rejection> {
        match std::str::from_utf8(text) {
            Ok(text) => self.json_text(text, pos),
            Err(_) => {
                let event = parse_json_event(text)?;
                self.metrics.add_ref(&event.view(), pos);
                Ok(())
            }
        }
    }

    fn lines(&mut self, block: u64, bytes: &[u8]) -> BlockCount {
        // One UTF-8 check for the block; a block that fails is checked line by line.
        let text = std::str::from_utf8(bytes).ok();
        let (mut lines, mut records) = (0u64, 0u64);
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |at| start + at);
            let (from, to) = (start, end);
            start = end + 1;
            lines += 1;
            let line = bytes[from..to].trim_ascii();
            if line.is_empty() {
                continue;
            }
            records += 1;
            let pos = block << 32 | records;
            let outcome = match text {
                Some(text) => {
                    // Trimming ASCII whitespace keeps the line on character boundaries.
                    let offset = line.as_ptr() as usize - bytes.as_ptr() as usize;
                    self.json_text(&text[offset..offset + line.len()], pos)
                }
                None => self.record(line, pos),
            };
            if let Err(rejection) = outcome {
                let location = Location {
                    record: records,
                    line: lines,
                };
                self.skip(block, records, location, rejection);
            }
        }
        BlockCount {
            block,
            lines,
            records,
            relative: true,
        }
    }

    /// One JSON record known to be UTF-8, by the fast path when it can.
    fn json_text(&mut self, text: &str, pos: u64) -> Result<(), Rejection> {
        let mut slot = EventType::MessageSent;
        if let Some(view) = fast_json_event(text, &mut slot) {
            self.metrics.add_ref(&view, pos);
            return Ok(());
        }
        let event = parse_json_event(text.as_bytes())?;
        self.metrics.add_ref(&event.view(), pos);
        Ok(())
    }

    fn csv(&mut self, block: u64, bytes: &[u8], columns: &CsvColumns) -> BlockCount {
        // The csv crate drops a byte order mark at the start of its input. A whole-input read
        // has read the header by then, so keeps one that starts a block: an empty line in front
        // keeps it here too (the crate skips the line).
        let bom = bytes.starts_with("\u{feff}".as_bytes());
        let input: &[u8] = if bom { b"\n" } else { b"" };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input.chain(bytes));
        let mut row = csv::ByteRecord::new();
        let mut records = 0u64;
        let fast = columns.distinct();
        loop {
            match reader.read_byte_record(&mut row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.fatal = Some((block, csv_error(e)));
                    break;
                }
            }
            records += 1;
            let pos = block << 32 | records;
            let mut slot = EventType::MessageSent;
            if let Some(fields) = fast
                && let Some(view) = fast_csv_event(fields, &row, &mut slot)
            {
                self.metrics.add_ref(&view, pos);
                continue;
            }
            match csv_row(columns, &row) {
                Ok(event) => self.metrics.add_ref(&event.view(), pos),
                Err(rejection) => {
                    let location = Location {
                        record: records,
                        line: row.position().map_or(0, |p| match bom {
                            // The first row starts at the added line, the others one line on.
                            true => p.line().saturating_sub(1).max(1),
                            false => p.line(),
                        }),
                    };
                    self.skip(block, records, location, rejection);
                }
            }
        }
        BlockCount {
            block,
            lines: memchr::memchr_iter(b'\n', bytes).count() as u64,
            records,
            relative: true,
        }
    }

    fn elements(
        &mut self,
        block: u64,
        bytes: &[u8],
        elements: &[(Range<usize>, ElementAt)],
    ) -> BlockCount {
        // One UTF-8 check for the elements, from the first one's start to the last one's end (a
        // block handed over whole may begin and end inside a character): an element's range
        // falls on character boundaries, which `get` checks.
        let from = elements.first().map_or(0, |(range, _)| range.start);
        let to = elements.last().map_or(0, |(range, _)| range.end);
        let text = std::str::from_utf8(&bytes[from..to]).ok();
        for (index, (range, at)) in elements.iter().enumerate() {
            let (element, at) = (&bytes[range.clone()], *at);
            let pos = block << 32 | index as u64;
            let mut slot = EventType::MessageSent;
            let text = match text.and_then(|text| text.get(range.start - from..range.end - from)) {
                Some(text) => Some(text),
                None => std::str::from_utf8(element).ok(),
            };
            if let Some(text) = text
                && let Some(view) = fast_json_event(text, &mut slot)
            {
                self.metrics.add_ref(&view, pos);
                continue;
            }
            match json_element(element, at) {
                Ok(Ok(event)) => self.metrics.add_ref(&event.view(), pos),
                Ok(Err(rejection)) => {
                    let location = Location {
                        record: at.record,
                        line: at.end_line as u64,
                    };
                    self.skip(block, index as u64, location, rejection);
                }
                Err(fatal) => {
                    self.fatal = Some((block, fatal));
                    break;
                }
            }
        }
        BlockCount {
            block,
            lines: 0,
            records: elements.len() as u64,
            relative: false,
        }
    }
}
