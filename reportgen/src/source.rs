//! Where events come from: a running worker, an export file, stdin, or the embedded demo. Every
//! source streams into one [`Metrics`] accumulator; nothing holds the whole input (a worker's
//! export is read a page at a time).

use std::collections::BTreeMap;
use std::fs::File;
use std::io;

use analytics::{
    DailyAggregate, Event, Format, GapSummary, Metrics, ReadError, Sink, Skipped, Window,
};
use anyhow::{Context, bail};

use crate::archive::PendingFile;
use crate::cli::{Input, ReportArgs};
use crate::fetch::{self, Remote};
use crate::synth::{self, SynthConfig};

/// How many skipped records are named in the warning.
const NAMED_SKIPS: usize = 5;

/// The most threads a file or stdin is read with: past a few, merging costs more than it saves.
const MAX_THREADS: usize = 8;

/// The longest span of days a report covers when its window comes from the data: a stray
/// timestamp (a client clock in 1970) must not turn into a report of 20,000 days.
pub const MAX_SPAN_DAYS: i64 = 3660;

/// What reading produced: the accumulated metrics and what the reader noticed.
#[derive(Debug)]
pub struct Outcome {
    /// The accumulator, ready for [`Metrics::finish`].
    pub metrics: Metrics,
    /// Where the input came from, for messages.
    pub origin: String,
    /// The first few skipped records.
    pub first_skips: Vec<Skipped>,
    /// The export's `nextCursor`: set when the input is one page of several.
    pub next_cursor: Option<String>,
    /// Records the worker found in its store and could not read as events, by reason name
    /// (also counted in the metrics' skipped records when the name is known).
    pub unreadable_at_source: BTreeMap<String, u64>,
    /// The export says it is partial (a download that stopped short): its message.
    pub partial: Option<String>,
}

impl Outcome {
    /// Takes what the export said about itself besides its records: records the worker could
    /// not read (counted as skipped, so `dataQuality` shows them), and whether it is partial.
    fn absorb(
        &mut self,
        unreadable: BTreeMap<String, u64>,
        partial: bool,
        message: Option<String>,
    ) {
        for (name, n) in unreadable {
            if let Some(reason) = analytics::SkipReason::from_name(&name) {
                self.metrics.skip_many(reason, n);
            }
            *self.unreadable_at_source.entry(name).or_default() += n;
        }
        if partial {
            self.partial = Some(message.unwrap_or_else(|| "no reason given".to_owned()));
        }
    }
}

impl Outcome {
    /// One-line warnings: skipped records, and an export that is only one page.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut skipped = self.metrics.skipped().clone();
        for (name, n) in &self.unreadable_at_source {
            if let Some(count) =
                analytics::SkipReason::from_name(name).and_then(|reason| skipped.get_mut(&reason))
            {
                *count -= n;
            }
        }
        skipped.retain(|_, n| *n > 0);
        let total: u64 = skipped.values().sum();
        if !self.unreadable_at_source.is_empty() {
            let reasons: Vec<String> = self
                .unreadable_at_source
                .iter()
                .map(|(reason, n)| format!("{reason}: {n}"))
                .collect();
            warnings.push(format!(
                "{}: the worker holds {} stored record{} of the window it could not read as \
                 events ({}); they are counted in dataQuality",
                self.origin,
                self.unreadable_at_source.values().sum::<u64>(),
                if self.unreadable_at_source.values().sum::<u64>() == 1 {
                    ""
                } else {
                    "s"
                },
                reasons.join(", ")
            ));
        }
        if let Some(message) = &self.partial {
            warnings.push(format!(
                "{}: the export says it is partial, the report covers only part of its window: \
                 {message}",
                self.origin
            ));
        }
        if total > 0 {
            let reasons: Vec<String> = skipped
                .iter()
                .map(|(reason, n)| format!("{reason}: {n}"))
                .collect();
            let lines: Vec<String> = self
                .first_skips
                .iter()
                .map(|s| s.location.line.to_string())
                .collect();
            warnings.push(format!(
                "{}: skipped {total} malformed record{} ({}); first at line {}; \
                 use --strict to stop at the first",
                self.origin,
                if total == 1 { "" } else { "s" },
                reasons.join(", "),
                lines.join(", "),
            ));
        }
        if self.next_cursor.is_some() {
            warnings.push(format!(
                "{}: this export is one page of several (it names a next page): the report \
                 covers only this page",
                self.origin
            ));
        }
        warnings
    }
}

struct Feed {
    outcome: Outcome,
    zone: analytics::Zone,
    strict: bool,
    /// `--save-export`: every event read is also written here.
    copy: Option<PendingFile>,
}

impl Sink for Feed {
    fn event(&mut self, event: Event) {
        if let Some(copy) = self.copy.as_mut() {
            copy.write_event(&event);
        }
        Sink::event(&mut self.outcome.metrics, event);
    }

    fn daily(&mut self, day: DailyAggregate) {
        Sink::daily(&mut self.outcome.metrics, day);
    }

    fn gap_record(&mut self, gap: GapSummary) {
        Sink::gap_record(&mut self.outcome.metrics, gap);
    }

    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        if self.strict {
            return Err(ReadError::Rejected(skipped));
        }
        if self.outcome.first_skips.len() < NAMED_SKIPS {
            self.outcome.first_skips.push(skipped.clone());
        }
        Sink::skipped(&mut self.outcome.metrics, skipped)
    }
}

/// Reads `input` into a fresh accumulator for `window`, or for a worker (`window` is `None`)
/// for the window its export names. With `--strict`, the first malformed record, or an export
/// file that is only one page, is an error.
pub fn collect(
    args: &ReportArgs,
    input: &Input,
    window: Option<Window>,
) -> anyhow::Result<Outcome> {
    let (format, strict) = (args.format, args.strict);
    let origin = match input {
        Input::File(path) => format!("`{}`", path.display()),
        Input::Stdin => "stdin".to_owned(),
        Input::Demo => "demo".to_owned(),
        Input::Url(url) => fetch::without_credentials(url),
    };
    let zone = args.tz.unwrap_or_default();
    // A worker's window arrives with its first page and replaces this one before any event.
    let mut feed = Feed {
        zone,
        outcome: Outcome {
            metrics: accumulator(window.unwrap_or(Window::All), zone),
            origin,
            first_skips: Vec::new(),
            next_cursor: None,
            unreadable_at_source: BTreeMap::new(),
            partial: None,
        },
        strict,
        copy: None,
    };
    match input {
        Input::Demo => {
            synth::generate(&SynthConfig::demo(), |event| {
                feed.outcome.metrics.add(event);
                Ok(())
            })
            .context("generating the demo data")?;
        }
        Input::File(path) => {
            let file = File::open(path)
                .with_context(|| format!("cannot read input file `{}`", path.display()))?;
            read(file, format, &mut feed)?;
        }
        Input::Stdin => read(io::stdin().lock(), format, &mut feed)?,
        Input::Url(url) => {
            let remote = remote(args, url)?;
            feed.copy = args
                .save_export
                .as_deref()
                .map(PendingFile::create)
                .transpose()?;
            let days = args.days.unwrap_or(ReportArgs::URL_DAYS);
            let fetched =
                fetch::fetch_export(&remote, days, args.quiet, &mut feed, |feed, window| {
                    feed.outcome.metrics = accumulator(window, feed.zone);
                })?;
            feed.outcome.absorb(fetched.unreadable, false, None);
            if let Some(copy) = feed.copy.take() {
                copy.commit()?;
            }
        }
    }
    let outcome = feed.outcome;
    if strict && (outcome.partial.is_some() || !outcome.unreadable_at_source.is_empty()) {
        bail!(
            "{}: {}",
            outcome.origin,
            match &outcome.partial {
                Some(message) => format!("the export says it is partial: {message}"),
                None => "the worker holds stored records it could not read as events".to_owned(),
            }
        );
    }
    if strict && outcome.next_cursor.is_some() {
        bail!(
            "{}: the export is one page of several (it names a next page); \
             a report of one page would be partial",
            outcome.origin
        );
    }
    if let (Some(Window::All), Some((first, last))) = (window, outcome.metrics.span()) {
        let days = (last - first).num_days();
        if days > MAX_SPAN_DAYS {
            bail!(
                "{}: events span {days} days ({} to {}), more than {MAX_SPAN_DAYS}; \
                 a timestamp is probably wrong. Pass --days N (with --now) to report on a window",
                outcome.origin,
                analytics::format_timestamp(&first),
                analytics::format_timestamp(&last),
            );
        }
    }
    Ok(outcome)
}

/// An empty accumulator for `window` with the report's options: the one place a report's
/// `Metrics` is made, for a file as for a worker's window.
fn accumulator(window: Window, zone: analytics::Zone) -> Metrics {
    Metrics::new(window).with_timezone(zone)
}

/// The worker named by `url`, with the password from the environment variable
/// `--password-env` names (never from an argument, which other users can see).
pub fn remote(args: &ReportArgs, url: &str) -> anyhow::Result<Remote> {
    let password = std::env::var(&args.password_env)
        .ok()
        .filter(|p| !p.is_empty());
    let Some(password) = password else {
        bail!(
            "set the worker's dashboard password in the environment variable {} \
             (or name another with --password-env)",
            args.password_env
        );
    };
    Remote::new(
        url,
        password,
        std::time::Duration::from_secs(args.timeout),
        args.quiet,
    )
}

/// Reads a file or stdin. On several cores the records are parsed and counted in parallel
/// ([`analytics::aggregate`], the same outcome); `--strict`, which stops at the first bad
/// record, reads on one thread.
fn read<R: io::Read>(reader: R, format: Option<Format>, feed: &mut Feed) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS));
    if feed.strict || threads < 2 {
        let info = analytics::read_export(reader, format, feed)
            .with_context(|| format!("reading {}", feed.outcome.origin))?;
        feed.outcome.next_cursor = info.next_cursor;
        feed.outcome
            .absorb(info.unreadable, info.partial, info.message);
        return Ok(());
    }
    let metrics = feed.outcome.metrics.partial();
    let options = analytics::AggregateOptions {
        format,
        named_skips: NAMED_SKIPS,
        ..analytics::AggregateOptions::new(threads)
    };
    let read = analytics::aggregate(reader, metrics, options)
        .with_context(|| format!("reading {}", feed.outcome.origin))?;
    feed.outcome.metrics = read.metrics;
    feed.outcome.first_skips = read.first_skips;
    feed.outcome.next_cursor = read.info.next_cursor;
    feed.outcome
        .absorb(read.info.unreadable, read.info.partial, read.info.message);
    Ok(())
}
