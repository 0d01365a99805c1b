//! The JSON scanner: a position-keeping cursor over buffered bytes that cuts whole elements of
//! the events array out of large reads, and the seams the parallel reader batches through.

use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;

use super::sink::ReadError;
use crate::daily::DailyAggregate;
use crate::gap_history::GapSummary;

/// The end of the object starting at `buf[start]` (a `{`) when it is flat: no nested object
/// or array and no backslash before its end, so its first `}` after an even number of quotes
/// closes it. `None` for anything else (nested, escaped, not in `buf`): the byte-by-byte scan
/// decides then. `dirty` is the first backslash or `[` after `start` (or `buf.len()`), found
/// once for many objects. One pass finds the first brace, another counts the quotes before it:
/// a few vector operations, where following each string is a call per quote.
pub(crate) fn flat_object_end(buf: &[u8], start: usize, dirty: usize) -> Option<usize> {
    let mut from = start + 1;
    // A `}` inside a string moves on to the next one; a few of those, and the slow scan takes it.
    for _ in 0..4 {
        let close = from + memchr::memchr2(b'{', b'}', buf.get(from..)?)?;
        if buf[close] == b'{' || dirty < close {
            return None;
        }
        if bytecount::count(&buf[start + 1..close], b'"').is_multiple_of(2) {
            return Some(close + 1);
        }
        from = close + 1;
    }
    None
}

/// Where `find` first matches in `buf` at or after `from`, or `buf.len()`.
pub(crate) fn next_of(buf: &[u8], from: usize, find: impl Fn(&[u8]) -> Option<usize>) -> usize {
    buf.get(from..)
        .and_then(find)
        .map_or(buf.len(), |at| from + at)
}

/// A buffered reader whose whole buffer [`Scanner::objects_into`] may take instead of copying
/// the elements out of it (the parallel reader's blocks).
pub(crate) trait Buffer: BufRead {
    /// Where the bytes of [`BufRead::fill_buf`] start in the buffer, if it can be taken.
    fn start(&self) -> Option<usize> {
        None
    }

    /// Swaps buffers: `other` gets this one, every byte read into it so far, consumed or not;
    /// the reader moves its unconsumed bytes into `other`'s allocation and reads on after them.
    fn exchange(&mut self, _other: &mut Vec<u8>) -> io::Result<()> {
        Err(io::Error::other("this reader's buffer cannot be taken"))
    }
}

impl<R: Read> Buffer for BufReader<R> {}

/// Where a run of [`Scanner::objects_into`] stopped.
pub(crate) enum Run {
    /// It consumed the array's closing `]`.
    Closed,
    /// After an element; the separator is left to the general reader.
    AfterElement,
    /// Before an element (or whitespace), left to the general reader.
    BeforeElement,
}

/// Where a batching sink collects elements: bytes holding them (with whatever separates them in
/// the input, and after [`Buffer::exchange`] the whole read buffer), the range of each with
/// where it was, and the size at which the batch is full.
pub(crate) struct BatchTarget<'b> {
    pub(crate) bytes: &'b mut Vec<u8>,
    pub(crate) elements: &'b mut Vec<(Range<usize>, ElementAt)>,
    pub(crate) limit: usize,
}

/// Where an element of the events array is in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElementAt {
    /// The record number, from 1.
    pub(crate) record: u64,
    /// Line and column of its first byte.
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// The line of its last byte: where a rejection is reported.
    pub(crate) end_line: usize,
}

/// What the JSON reader does with each element of the events array and with the envelope's
/// daily aggregates and gap records: a [`super::Sink`] parses them at once; the parallel
/// reader batches them.
pub(crate) trait Elements {
    /// One element's bytes, exactly as in the input.
    fn element(&mut self, bytes: &[u8], at: ElementAt) -> Result<(), ReadError>;
    /// One entry of the envelope's `daily`.
    fn daily(&mut self, day: DailyAggregate);
    /// One entry of the envelope's `gaps`.
    fn gap_record(&mut self, gap: GapSummary);
    /// Where whole elements may be appended in bulk, if this sink batches them.
    fn batch(&mut self) -> Option<BatchTarget<'_>> {
        None
    }
    /// Called after a bulk append: a full batch may be sent on.
    fn batch_done(&mut self) -> Result<(), ReadError> {
        Ok(())
    }
}

pub(crate) fn fill<R: BufRead>(reader: &mut R) -> Result<&[u8], ReadError> {
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(reader.fill_buf()?)
}

/// A position-keeping cursor over buffered JSON bytes.
pub(crate) struct Scanner<R> {
    pub(crate) reader: R,
    /// 1-based line and column of the next byte.
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl<R: Buffer> Scanner<R> {
    pub(crate) fn new(reader: R) -> Self {
        Scanner {
            reader,
            line: 1,
            column: 1,
        }
    }

    pub(crate) fn syntax(&self, message: &str) -> ReadError {
        ReadError::Syntax {
            line: self.line,
            column: self.column,
            message: message.to_owned(),
        }
    }

    /// Consumes `n` bytes of the current buffer, counting lines.
    pub(crate) fn consume(&mut self, n: usize) {
        if let Ok(buf) = self.reader.fill_buf() {
            let bytes = &buf[..n.min(buf.len())];
            match memchr::memrchr(b'\n', bytes) {
                Some(last) => {
                    self.line += memchr::memchr_iter(b'\n', bytes).count();
                    self.column = bytes.len() - last;
                }
                None => self.column += bytes.len(),
            }
        }
        self.reader.consume(n);
    }

    pub(crate) fn bump(&mut self) {
        self.consume(1);
    }

    /// Skips whitespace and returns the next byte without consuming it; `None` at the end.
    pub(crate) fn next_token(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            let buf = fill(&mut self.reader)?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(at) => {
                    let next = buf[at];
                    self.consume(at);
                    return Ok(Some(next));
                }
                None => {
                    let n = buf.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Appends every whole object of the events array that lies in the read buffer to the
    /// batch, with the separators between them consumed, until the batch is full, the buffer
    /// ends, the array closes, or something other than an object comes. Consumes exactly what
    /// it took, keeping lines and columns as [`Scanner::consume`] would. It never reports an
    /// error of the input: whatever it stops at is read by the general path. An empty batch
    /// takes the reader's buffer itself when the reader can give it ([`Buffer::exchange`]).
    pub(crate) fn objects_into(
        &mut self,
        batch: BatchTarget<'_>,
        records: &mut u64,
    ) -> Result<Run, ReadError> {
        fill(&mut self.reader)?;
        // Into an empty batch, a reader that can give its buffer away gives it (elements are
        // then ranges of that buffer); otherwise the bytes taken are copied at the end, in one
        // piece from the first element's start.
        let base = batch.bytes.len();
        let offset = if base == 0 { self.reader.start() } else { None };
        let buf = fill(&mut self.reader)?;
        let (base_line, base_column) = (self.line, self.column);
        // Lines and the last newline seen, over the bytes taken so far.
        let mut lines = 0usize;
        let mut last_newline: Option<usize> = None;
        let position = |lines: usize, last_newline: Option<usize>, at: usize| {
            (
                base_line + lines,
                last_newline.map_or(base_column + at, |n| at - n),
            )
        };
        let skip_space = |mut at: usize, lines: &mut usize, last: &mut Option<usize>| {
            while at < buf.len() && buf[at].is_ascii_whitespace() {
                if buf[at] == b'\n' {
                    *lines += 1;
                    *last = Some(at);
                }
                at += 1;
            }
            at
        };
        let mut taken = 0;
        let mut origin = None;
        let mut copied_end = 0;
        // The first backslash or `[`, and the first newline, at or after where they were last
        // looked for: most buffers have neither, so each is one pass over the buffer.
        let mut dirty = 0;
        let mut newline = 0;
        let run = loop {
            // Before an element.
            let start = skip_space(taken, &mut lines, &mut last_newline);
            taken = start;
            let first = *origin.get_or_insert(start);
            if base + copied_end.max(first) - first >= batch.limit || buf.get(start) != Some(&b'{')
            {
                break Run::BeforeElement;
            }
            let (line, column) = position(lines, last_newline, start);
            let (mut element_lines, mut element_newline) = (lines, last_newline);
            let mut depth = 0usize;
            let mut at = start;
            if dirty <= start {
                dirty = next_of(buf, start + 1, |b| memchr::memchr2(b'\\', b'[', b));
            }
            let end = if let Some(end) = flat_object_end(buf, start, dirty) {
                // Lines as `consume` counts them: every newline, in strings or not.
                if newline < start {
                    newline = next_of(buf, start, |b| memchr::memchr(b'\n', b));
                }
                if newline < end {
                    let element = &buf[newline..end];
                    element_lines += memchr::memchr_iter(b'\n', element).count();
                    element_newline = memchr::memrchr(b'\n', element).map(|last| newline + last);
                    newline = next_of(buf, end, |b| memchr::memchr(b'\n', b));
                }
                Some(end)
            } else {
                loop {
                    let Some(&b) = buf.get(at) else { break None };
                    match b {
                        // Inside a string only a quote, a backslash or a newline matters.
                        b'"' => loop {
                            match memchr::memchr3(
                                b'"',
                                b'\\',
                                b'\n',
                                &buf[(at + 1).min(buf.len())..],
                            ) {
                                None => {
                                    at = buf.len();
                                    break;
                                }
                                Some(skip) => at += 1 + skip,
                            }
                            match buf[at] {
                                b'"' => break,
                                b'\\' => {
                                    at += 1;
                                    if buf.get(at) == Some(&b'\n') {
                                        element_lines += 1;
                                        element_newline = Some(at);
                                    }
                                }
                                _ => {
                                    element_lines += 1;
                                    element_newline = Some(at);
                                }
                            }
                        },
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                break Some(at + 1);
                            }
                        }
                        b'\n' => {
                            element_lines += 1;
                            element_newline = Some(at);
                        }
                        _ => {}
                    }
                    at += 1;
                }
            };
            // An object that runs past the buffer is left to the general path.
            let Some(end) = end else {
                break Run::BeforeElement;
            };
            lines = element_lines;
            last_newline = element_newline;
            *records += 1;
            copied_end = end;
            let place = |at: usize| offset.map_or(base + at - first, |offset| offset + at);
            batch.elements.push((
                place(start)..place(end),
                ElementAt {
                    record: *records,
                    line,
                    column,
                    end_line: base_line + lines,
                },
            ));
            // After an element.
            let next = skip_space(end, &mut lines, &mut last_newline);
            taken = next;
            match buf.get(next) {
                Some(b',') => taken = next + 1,
                Some(b']') => {
                    taken = next + 1;
                    break Run::Closed;
                }
                _ => break Run::AfterElement,
            }
        };
        // What the run took goes to the batch: copied out of the buffer here, or (below, once
        // consumed) the buffer itself.
        let took = origin.filter(|&first| copied_end > first);
        if let (Some(first), None) = (took, offset) {
            batch.bytes.extend_from_slice(&buf[first..copied_end]);
        }
        let (line, column) = position(lines, last_newline, taken);
        self.line = line;
        self.column = column;
        self.reader.consume(taken);
        if took.is_some() && offset.is_some() {
            self.reader.exchange(batch.bytes)?;
        }
        Ok(run)
    }

    /// Appends one complete JSON value (object, array, string or scalar) starting at the next
    /// byte to `out`, consuming it. Only its extent is checked here; its content is left to
    /// the parser of the slice.
    pub(crate) fn value_into(&mut self, out: &mut Vec<u8>) -> Result<(), ReadError> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        let mut scalar = false;
        loop {
            let buf = fill(&mut self.reader)?;
            if buf.is_empty() {
                if scalar && depth == 0 && !in_string {
                    return Ok(());
                }
                return Err(self.syntax("EOF while parsing a value"));
            }
            let mut end = None;
            let mut i = 0;
            while i < buf.len() {
                let b = buf[i];
                if !started {
                    started = true;
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth = 1,
                        _ => scalar = true,
                    }
                    if scalar && matches!(b, b',' | b']' | b'}') {
                        return Err(self.syntax("expected a value"));
                    }
                    i += 1;
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else {
                        // Strings are most of an export: jump to the next quote or backslash.
                        match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                            Some(at) => i += at,
                            None => {
                                i = buf.len();
                                continue;
                            }
                        }
                        if buf[i] == b'\\' {
                            escaped = true;
                        } else {
                            in_string = false;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                    }
                } else if scalar {
                    if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                        end = Some(i);
                        break;
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(i + 1);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            let n = end.unwrap_or(buf.len());
            out.extend_from_slice(&buf[..n]);
            self.consume(n);
            if end.is_some() {
                return Ok(());
            }
        }
    }
}
