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

use std::io::Read;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

use crate::daily::DailyAggregate;
use crate::gap_history::GapSummary;
use crate::metrics::Metrics;
use crate::read::{Format, ReadError, ReadInfo, Skipped, detect_input};

mod cutter;
mod job;
mod partial;

use cutter::Cutter;
use job::{BlockCount, Job};
use partial::Partial;

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
    let mut gaps = Vec::new();
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
            gaps: &mut gaps,
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
    finish(
        metrics,
        partials,
        daily,
        gaps,
        info,
        header_lines,
        named_skips,
    )
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
    gaps: Vec<GapSummary>,
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
    for gap in &gaps {
        metrics.add_gap_record(gap);
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
