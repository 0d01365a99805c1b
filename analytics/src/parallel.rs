//! Reading an export into [`Metrics`] on several threads: the calling thread reads the input
//! and cuts it into blocks of whole records; worker threads parse the records of a block and
//! accumulate them into their own partial [`Metrics`]; at the end the partials are merged.
//!
//! The outcome is exactly that of [`read_export`](crate::read_export) feeding one [`Metrics`]:
//! every record carries its position in the input (`block << 32 | index`), which decides
//! every order-dependent rule when partials merge, and skipped records are numbered by line
//! and record after the fact, from the per-block counts.
//!
//! Memory stays bounded: at most [`IN_FLIGHT`] blocks per worker wait in the queue, and a
//! block's buffer is handed back to the reader once parsed.

use std::io::{self, BufRead, Read};
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::daily::DailyAggregate;
use crate::event::EventType;
use crate::metrics::Metrics;
use crate::read::{
    BatchTarget, Buffer, CsvColumns, ElementAt, Elements, Format, Location, ReadError, ReadInfo,
    Skipped, csv_error, csv_row, detect_input, json_element, read_json,
};
use crate::record::{Rejection, fast_csv_event, fast_json_event, parse_json_event};

/// The size of a block of records handed to a worker.
pub const BLOCK_BYTES: usize = 256 * 1024;
/// Blocks queued per worker: enough to keep every worker busy, few enough to bound memory.
const IN_FLIGHT: usize = 2;

/// What [`aggregate`] read.
#[derive(Debug)]
pub struct Aggregate {
    /// Every record's contribution, merged.
    pub metrics: Metrics,
    /// What the reader noticed (format, records, next cursor, envelope).
    pub info: ReadInfo,
    /// The first skipped records, in input order (at most the number asked for).
    pub first_skips: Vec<Skipped>,
}

/// How [`aggregate`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateOptions {
    /// The input's format, or `None` to detect it (as [`read_export`](crate::read_export)).
    pub format: Option<Format>,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Bytes per block handed to a worker: [`BLOCK_BYTES`] (tests use tiny blocks to cut
    /// records everywhere).
    pub block_bytes: usize,
    /// How many skipped records are kept, the first in input order.
    pub named_skips: usize,
}

impl AggregateOptions {
    /// `threads` workers over blocks of [`BLOCK_BYTES`], the format detected, no skipped
    /// record kept.
    pub fn new(threads: usize) -> AggregateOptions {
        AggregateOptions {
            format: None,
            threads,
            block_bytes: BLOCK_BYTES,
            named_skips: 0,
        }
    }
}

/// Reads an export into `metrics` on several threads, as `options` say.
pub fn aggregate<R: Read>(
    reader: R,
    metrics: Metrics,
    options: AggregateOptions,
) -> Result<Aggregate, ReadError> {
    let AggregateOptions {
        format,
        threads,
        block_bytes,
        named_skips,
    } = options;
    let (format, reader) = detect_input(reader, format)?;
    let threads = threads.max(1);
    let block_bytes = block_bytes.max(1);
    let (jobs, queue) = sync_channel::<Job>(threads * IN_FLIGHT);
    let queue = Arc::new(Mutex::new(queue));
    let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(threads * IN_FLIGHT + 2);
    let mut partials: Vec<Partial> = Vec::with_capacity(threads);
    let mut daily = Vec::new();
    let read = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let queue = Arc::clone(&queue);
                let spare = spare_tx.clone();
                let partial = Partial::new(metrics.partial(), named_skips);
                scope.spawn(move || partial.run(&queue, &spare))
            })
            .collect();
        // Only the workers hold the queue: if they all stop, sending fails instead of waiting.
        drop(queue);
        let mut cutter = Cutter {
            jobs,
            spare: spare_rx,
            block_bytes,
            next_block: 0,
            daily: &mut daily,
            header_lines: 0,
        };
        let read = match format {
            Format::Ndjson => cutter.lines(reader).map(|()| ReadInfo::default()),
            Format::Csv => cutter.csv(reader).map(|()| ReadInfo::default()),
            Format::Json => cutter.json(reader),
        };
        let header_lines = cutter.header_lines;
        // Closing the queue ends the workers once it is drained.
        drop(cutter);
        for worker in workers {
            match worker.join() {
                Ok(partial) => partials.push(partial),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        read.map(|info| (info, header_lines))
    });
    let (mut info, header_lines) = match (read, first_fatal(&mut partials)) {
        (_, Some(fatal)) | (Err(fatal), None) => return Err(fatal),
        (Ok(read), None) => read,
    };
    info.format = Some(format);
    finish(metrics, partials, daily, info, header_lines, named_skips)
}

/// The earliest error that ended a worker's block: what a sequential reader would have hit.
fn first_fatal(partials: &mut [Partial]) -> Option<ReadError> {
    partials
        .iter_mut()
        .filter_map(|p| p.fatal.take())
        .min_by_key(|(block, _)| *block)
        .map(|(_, error)| error)
}

fn finish(
    mut metrics: Metrics,
    partials: Vec<Partial>,
    daily: Vec<DailyAggregate>,
    mut info: ReadInfo,
    header_lines: u64,
    named_skips: usize,
) -> Result<Aggregate, ReadError> {
    // Per-block line and record counts, in block order, to number the skipped records.
    let mut counts: Vec<BlockCount> = partials.iter().flat_map(|p| p.counts.clone()).collect();
    counts.sort_unstable_by_key(|c| c.block);
    let mut skips: Vec<(u64, u64, Skipped)> = Vec::new();
    for partial in partials {
        skips.extend(partial.skips);
        metrics.merge(partial.metrics);
    }
    for day in &daily {
        metrics.add_daily(day);
    }
    skips.sort_by_key(|(block, index, _)| (*block, *index));
    skips.truncate(named_skips);
    let (mut lines, mut records) = (header_lines, 0u64);
    for count in &counts {
        if count.relative {
            for (_, _, skipped) in skips.iter_mut().filter(|(b, _, _)| *b == count.block) {
                skipped.location.line += lines;
                skipped.location.record += records;
            }
        }
        lines += count.lines;
        records += count.records;
    }
    if info.records == 0 {
        info.records = records;
    }
    Ok(Aggregate {
        metrics,
        info,
        first_skips: skips.into_iter().map(|(_, _, s)| s).collect(),
    })
}

/// A block of whole records.
struct Job {
    block: u64,
    bytes: Vec<u8>,
    kind: Kind,
}

enum Kind {
    /// NDJSON lines; the block ends with a newline unless it is the last.
    Lines,
    /// CSV rows of the given columns; the block ends with a row unless it is the last.
    Csv(Arc<CsvColumns>),
    /// Elements of a JSON events array, with where each is.
    Elements(Vec<(Range<usize>, ElementAt)>),
}

#[derive(Debug, Clone, Copy)]
struct BlockCount {
    block: u64,
    lines: u64,
    records: u64,
    /// Whether the block's skip locations count from its start (lines, CSV) or from the
    /// input's (JSON elements, numbered by the reader).
    relative: bool,
}

/// One worker's share.
struct Partial {
    metrics: Metrics,
    named_skips: usize,
    /// (block, index in block, skipped with a block-relative location).
    skips: Vec<(u64, u64, Skipped)>,
    counts: Vec<BlockCount>,
    fatal: Option<(u64, ReadError)>,
}

impl Partial {
    fn new(metrics: Metrics, named_skips: usize) -> Partial {
        Partial {
            metrics,
            named_skips,
            skips: Vec::new(),
            counts: Vec::new(),
            fatal: None,
        }
    }

    fn run(mut self, queue: &Mutex<Receiver<Job>>, spare: &SyncSender<Vec<u8>>) -> Partial {
        loop {
            let job = match queue.lock() {
                Ok(queue) => queue.recv(),
                Err(_) => break,
            };
            let Ok(mut job) = job else { break };
            if self.fatal.is_none() {
                let count = match &job.kind {
                    Kind::Lines => self.lines(job.block, &job.bytes),
                    Kind::Csv(columns) => self.csv(job.block, &job.bytes, columns),
                    Kind::Elements(elements) => self.elements(job.block, &job.bytes, elements),
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

/// The reading side: fills buffers from the input and sends blocks of whole records.
struct Cutter<'d> {
    jobs: SyncSender<Job>,
    spare: Receiver<Vec<u8>>,
    block_bytes: usize,
    next_block: u64,
    daily: &'d mut Vec<DailyAggregate>,
    /// Lines before the first block (a CSV header).
    header_lines: u64,
}

impl Cutter<'_> {
    fn buffer(&mut self) -> Vec<u8> {
        self.spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.block_bytes + self.block_bytes / 4))
    }

    fn send(&mut self, bytes: Vec<u8>, kind: Kind) -> Result<(), ReadError> {
        let block = self.next_block;
        self.next_block += 1;
        self.jobs
            .send(Job { block, bytes, kind })
            .map_err(|_| ReadError::Io(io::Error::other("a worker thread stopped")))
    }

    /// Reads until `buf` holds at least `want` bytes or the input ends; false at the end.
    fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> Result<bool, ReadError> {
        while buf.len() < want {
            let before = buf.len();
            match reader
                .by_ref()
                .take((want - before) as u64)
                .read_to_end(buf)
            {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
        Ok(true)
    }

    /// Cuts the input into blocks at a record boundary that `cut` finds (the end of the last
    /// whole record in the bytes given, if any), carrying the rest into the next block.
    fn blocks<R: Read>(
        &mut self,
        mut reader: R,
        mut carry: Vec<u8>,
        mut cut: impl FnMut(&[u8]) -> Option<usize>,
        kind: impl Fn() -> Kind,
    ) -> Result<(), ReadError> {
        let mut want = self.block_bytes;
        loop {
            let mut buf = self.buffer();
            buf.extend_from_slice(&carry);
            carry.clear();
            let more = Self::fill(&mut reader, &mut buf, want)?;
            if !more {
                if !buf.is_empty() {
                    self.send(buf, kind())?;
                }
                return Ok(());
            }
            match cut(&buf) {
                Some(end) => {
                    carry.extend_from_slice(&buf[end..]);
                    buf.truncate(end);
                    self.send(buf, kind())?;
                    want = self.block_bytes.max(carry.len() + 1);
                }
                None => {
                    // One record longer than a block: read on until it ends.
                    want = buf.len() * 2;
                    carry = buf;
                }
            }
        }
    }

    fn lines<R: Read>(&mut self, reader: R) -> Result<(), ReadError> {
        self.blocks(
            reader,
            Vec::new(),
            |buf| memchr::memrchr(b'\n', buf).map(|at| at + 1),
            || Kind::Lines,
        )
    }

    fn csv<R: Read>(&mut self, mut reader: R) -> Result<(), ReadError> {
        // The header is the first row: read until it is whole.
        let mut head = Vec::new();
        let mut want = 64 * 1024;
        let mut rows = 1;
        let header_end = loop {
            let more = Self::fill(&mut reader, &mut head, want)?;
            match csv_rows_end(&head, rows) {
                // Blank lines before the header are skipped, as the csv crate does.
                Some(end) if head[..end].trim_ascii().is_empty() => rows += 1,
                Some(end) => break end,
                None if !more => break head.len(),
                None => want = head.len() * 2,
            }
        };
        let (columns, read) = CsvColumns::from_header(&head[..header_end])?;
        let columns = Arc::new(columns);
        // A header ended by a lone CR: its first row follows the CR, as in a whole-input read.
        // (After a CRLF the LF stays with the next row, as blocks keep it.)
        let header_end = match read {
            1.. if read < header_end && head[read - 1] == b'\r' && head[read] != b'\n' => read,
            _ => header_end,
        };
        self.header_lines = memchr::memchr_iter(b'\n', &head[..header_end]).count() as u64;
        let carry = head.split_off(header_end);
        self.blocks(
            reader,
            carry,
            // Not right after the LF of a CRLF: a whole-input read counts that LF into the
            // next row, so it stays in the next row's block.
            |buf| csv_rows_end(buf, usize::MAX).filter(|&end| !(end == 1 && buf[0] == b'\n')),
            || Kind::Csv(Arc::clone(&columns)),
        )
    }

    fn json<R: Read>(&mut self, reader: R) -> Result<ReadInfo, ReadError> {
        // Reads of a block each: what the fast path takes from one is a block.
        let reader = Blocks::new(reader, self.block_bytes);
        let mut batch = Batch {
            cutter: self,
            bytes: Vec::new(),
            elements: Vec::new(),
        };
        let read = read_json(reader, &mut batch);
        let flushed = batch.flush();
        let info = read?;
        flushed?;
        Ok(info)
    }
}

/// The JSON reader's buffered input. When the fast path takes elements from it into an empty
/// batch, the whole buffer goes to the workers ([`Buffer::exchange`]): the bytes are copied
/// once, from the input, as for lines.
struct Blocks<R> {
    inner: R,
    buf: Vec<u8>,
    /// The first unconsumed byte of `buf`.
    pos: usize,
    /// How many bytes a read fills `buf` up to.
    read: usize,
}

impl<R: Read> Blocks<R> {
    fn new(inner: R, read: usize) -> Self {
        Blocks {
            inner,
            buf: Vec::with_capacity(read),
            pos: 0,
            read,
        }
    }

    /// Reads on until `buf` holds `self.read` bytes or the input ends.
    fn top_up(&mut self) -> io::Result<()> {
        let want = self.read.saturating_sub(self.buf.len());
        self.inner
            .by_ref()
            .take(want as u64)
            .read_to_end(&mut self.buf)
            .map(drop)
    }
}

impl<R: Read> Read for Blocks<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Blocks<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.top_up()?;
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

impl<R: Read> Buffer for Blocks<R> {
    fn start(&self) -> Option<usize> {
        Some(self.pos)
    }

    fn exchange(&mut self, other: &mut Vec<u8>) -> io::Result<()> {
        other.clear();
        other.extend_from_slice(&self.buf[self.pos..]);
        std::mem::swap(other, &mut self.buf);
        self.pos = 0;
        // A record cut by the end of the old buffer is whole again, for the fast path.
        self.top_up()
    }
}

/// Collects elements of the events array into blocks.
struct Batch<'c, 'd> {
    cutter: &'c mut Cutter<'d>,
    bytes: Vec<u8>,
    elements: Vec<(Range<usize>, ElementAt)>,
}

impl Batch<'_, '_> {
    fn flush(&mut self) -> Result<(), ReadError> {
        if self.elements.is_empty() {
            return Ok(());
        }
        let next = self.cutter.buffer();
        let bytes = std::mem::replace(&mut self.bytes, next);
        let elements = std::mem::take(&mut self.elements);
        self.cutter.send(bytes, Kind::Elements(elements))
    }
}

impl Elements for Batch<'_, '_> {
    fn element(&mut self, bytes: &[u8], at: ElementAt) -> Result<(), ReadError> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        self.elements.push((start..self.bytes.len(), at));
        if self.bytes.len() >= self.cutter.block_bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn daily(&mut self, day: DailyAggregate) {
        self.cutter.daily.push(day);
    }

    fn batch(&mut self) -> Option<BatchTarget<'_>> {
        Some(BatchTarget {
            bytes: &mut self.bytes,
            elements: &mut self.elements,
            limit: self.cutter.block_bytes,
        })
    }

    fn batch_done(&mut self) -> Result<(), ReadError> {
        if self.bytes.len() >= self.cutter.block_bytes {
            self.flush()?;
        }
        Ok(())
    }
}

/// The end of the `rows`-th whole CSV row in `bytes` (of the last one for `usize::MAX`), following the
/// csv crate's rules (RFC 4180: a quote opens a quoted field only at a field's start; `""`
/// inside one is a quote; CR, LF or CRLF end a row): `None` when no row ends in `bytes`.
/// Only a row ending in LF counts, and a blank line is no row; after a CRLF the end is the
/// LF's offset (see below).
fn csv_rows_end(bytes: &[u8], rows: usize) -> Option<usize> {
    // The `rows`-th row's end, or with `usize::MAX` the last row's end.
    let last = rows == usize::MAX;
    let mut end = None;
    let mut seen = 0;
    // Outside quotes at `i`; `field_start`: a field starts at `i`.
    let mut i = 0;
    let mut field_start = true;
    // Where the current line starts (after the last LF outside quotes).
    let mut line_start = 0;
    loop {
        if field_start && bytes.get(i) == Some(&b'"') {
            // A quoted field: up to the quote that is not doubled.
            let mut at = i + 1;
            loop {
                let quote = at + memchr::memchr(b'"', bytes.get(at..)?)?;
                match bytes.get(quote + 1) {
                    Some(b'"') => at = quote + 2,
                    Some(_) => {
                        i = quote + 1;
                        break;
                    }
                    None => return end.filter(|_| last),
                }
            }
            field_start = false;
        }
        // Only a quote at a field's start and LF matter: step from one to the next.
        let Some(next) = bytes
            .get(i..)
            .and_then(|rest| memchr::memchr2(b'"', b'\n', rest))
        else {
            return end.filter(|_| last);
        };
        let at = i + next;
        if bytes[at] == b'\n' {
            // A blank line (nothing, or only CRs) is no row: the csv crate skips it and gives
            // the next row the position where its read began, before the blank lines; so
            // they stay with the next row's block.
            // (`all` stops at the first other byte: a row costs one comparison here.)
            let blank = bytes[line_start..at].iter().all(|&b| b == b'\r');
            line_start = at + 1;
            if !blank {
                // After CRLF the cut goes between CR and LF: the csv crate ends a row at the CR
                // and counts the LF into the next row's position, and a block that starts with
                // that LF numbers its rows as a whole-input read does.
                end = Some(if at > 0 && bytes[at - 1] == b'\r' {
                    at
                } else {
                    at + 1
                });
                seen += 1;
                if seen == rows {
                    return end;
                }
            }
            i = at + 1;
            field_start = true;
        } else {
            // A quote opens a field after a comma, CR or LF (or where one was known to start);
            // elsewhere it is an ordinary character.
            field_start = if at == i {
                field_start
            } else {
                matches!(bytes[at - 1], b',' | b'\r')
            };
            if !field_start {
                i = at + 1;
            } else {
                i = at;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FIELDS;
    use proptest::prelude::*;

    /// Cells that each field's parser may take or refuse, and formula-escaped text.
    fn cell() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "",
            " ",
            "2026-11-01T10:00:00Z",
            "2026-11-01T10:00:00.5Z",
            " 2026-11-01T10:00:00+01:00",
            "2026-02-30T10:00:00Z",
            "message_sent",
            " widget_loaded ",
            "'=1+1",
            "'Sup",
            "x",
            "0",
            " 7 ",
            "-1",
            "3.5",
            "1e3",
            "NaN",
            "inf",
            "1000000001",
            "18446744073709551615",
            "18446744073709551616",
            "true",
            "FALSE",
            " True ",
            "yes",
        ])
        .prop_map(str::to_owned)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The CSV fast path takes a row only as the general path would.
        #[test]
        fn fast_csv_rows_equal_the_general_path(
            header in prop::collection::vec(0..FIELDS.len() + 1, 2..8),
            cells in prop::collection::vec(cell(), 8),
            extra in 0usize..2,
        ) {
            let mut names: Vec<&str> = vec!["timestamp", "eventType"];
            names.extend(header.iter().map(|&i| FIELDS.get(i).copied().unwrap_or("other")));
            let mut text = names.join(",");
            text.push('\n');
            let mut row: Vec<String> = vec![cells[0].clone(), cells[1].clone()];
            row.extend(cells.iter().cycle().skip(2).take(names.len() - 2 + extra).cloned());
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(&row).expect("write");
            text.push_str(&String::from_utf8(writer.into_inner().expect("flush")).expect("utf-8"));
            let header = text.lines().next().expect("header").as_bytes();
            let (columns, _) = CsvColumns::from_header(header).expect("has both columns");
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
            let mut record = csv::ByteRecord::new();
            prop_assert!(reader.read_byte_record(&mut record).expect("read"));
            let general = csv_row(&columns, &record);
            if let Some(fields) = columns.distinct() {
                let mut slot = EventType::MessageSent;
                if let Some(view) = fast_csv_event(fields, &record, &mut slot) {
                    prop_assert_eq!(Ok(view.to_event()), general, "{}", text);
                }
            }
        }
    }

    #[test]
    fn csv_rows_end_follows_quoting() {
        assert_eq!(csv_rows_end(b"a,b\nc,d\ne", usize::MAX), Some(8));
        assert_eq!(csv_rows_end(b"a,\"b\nc\",d\ne", usize::MAX), Some(10));
        assert_eq!(csv_rows_end(b"a,\"b\nc", usize::MAX), None);
        assert_eq!(csv_rows_end(b"a,\"b\"\"\nc\"\nx", usize::MAX), Some(10));
        // A quote inside an unquoted field is an ordinary character.
        assert_eq!(csv_rows_end(b"a,b\"c\nd", usize::MAX), Some(6));
        assert_eq!(csv_rows_end(b"h1,h2\r\nx,y\r\n", 1), Some(6));
        // A quote after a lone CR starts a field; quotes after an ordinary quote do not.
        assert_eq!(csv_rows_end(b"a\r\"b\nc\"\nd", 1), Some(8));
        assert_eq!(csv_rows_end(b"a\"\"\nb\n", 1), Some(4));
        assert_eq!(csv_rows_end(b"h1,h2\r\nx,y\r\n", usize::MAX), Some(11));
    }
}
