//! The reading side: fills buffers from the input and cuts them into blocks of whole
//! records (NDJSON at newlines, CSV at row ends, a JSON array or envelope by its objects).

use std::io::{self, BufRead, Read};
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use crate::daily::DailyAggregate;
use crate::gap_history::GapSummary;
use crate::read::{
    BatchTarget, Buffer, CsvColumns, ElementAt, Elements, ReadError, ReadInfo, read_json,
};

use super::job::{Job, Records};

/// The reading side: fills buffers from the input and sends blocks of whole records.
pub(super) struct Cutter<'d> {
    pub(super) jobs: SyncSender<Job>,
    pub(super) spare: Receiver<Vec<u8>>,
    pub(super) block_bytes: usize,
    pub(super) next_block: u64,
    pub(super) daily: &'d mut Vec<DailyAggregate>,
    /// The envelope's gap records.
    pub(super) gaps: &'d mut Vec<GapSummary>,
    /// Lines before the first block (a CSV header).
    pub(super) header_lines: u64,
}

impl Cutter<'_> {
    fn buffer(&mut self) -> Vec<u8> {
        self.spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.block_bytes + self.block_bytes / 4))
    }

    fn send(&mut self, bytes: Vec<u8>, kind: Records) -> Result<(), ReadError> {
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
        kind: impl Fn() -> Records,
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

    pub(super) fn lines<R: Read>(&mut self, reader: R) -> Result<(), ReadError> {
        self.blocks(
            reader,
            Vec::new(),
            |buf| memchr::memrchr(b'\n', buf).map(|at| at + 1),
            || Records::Lines,
        )
    }

    pub(super) fn csv<R: Read>(&mut self, mut reader: R) -> Result<(), ReadError> {
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
            || Records::Csv(Arc::clone(&columns)),
        )
    }

    pub(super) fn json<R: Read>(&mut self, reader: R) -> Result<ReadInfo, ReadError> {
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
        self.cutter.send(bytes, Records::Elements(elements))
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

    fn gap_record(&mut self, gap: GapSummary) {
        self.cutter.gaps.push(gap);
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
