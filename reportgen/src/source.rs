//! Where events come from: an export file, stdin, or the embedded demo. Every source streams
//! into one [`Metrics`] accumulator; nothing holds the whole input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;

use analytics::{DailyAggregate, Event, Format, Metrics, ReadError, Sink, Skipped, Window};
use anyhow::Context;

use crate::cli::Input;
use crate::synth::{self, SynthConfig};

/// How many skipped records are named in the warning.
const NAMED_SKIPS: usize = 5;

/// What reading produced: the accumulated metrics and what was skipped.
#[derive(Debug)]
pub struct Outcome {
    /// The accumulator, ready for [`Metrics::finish`].
    pub metrics: Metrics,
    /// Where the input came from, for messages.
    pub origin: String,
    /// Skipped records by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// The first few skipped records.
    pub first_skips: Vec<Skipped>,
}

impl Outcome {
    /// A one-line warning about skipped records, if any were.
    pub fn warning(&self) -> Option<String> {
        let total: u64 = self.skipped.values().sum();
        if total == 0 {
            return None;
        }
        let reasons: Vec<String> = self
            .skipped
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        let lines: Vec<String> = self
            .first_skips
            .iter()
            .map(|s| s.location.line.to_string())
            .collect();
        Some(format!(
            "{}: skipped {total} malformed record{} ({}); first at line {}; \
             use --strict to stop at the first",
            self.origin,
            if total == 1 { "" } else { "s" },
            reasons.join(", "),
            lines.join(", "),
        ))
    }
}

struct Feed {
    outcome: Outcome,
    strict: bool,
}

impl Sink for Feed {
    fn event(&mut self, event: Event) {
        self.outcome.metrics.add(&event);
    }

    fn daily(&mut self, day: DailyAggregate) {
        self.outcome.metrics.add_daily(&day);
    }

    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        if self.strict {
            return Err(ReadError::Rejected(skipped));
        }
        let reason = skipped.rejection.reason;
        self.outcome.metrics.skip(reason);
        *self.outcome.skipped.entry(reason.as_str()).or_default() += 1;
        if self.outcome.first_skips.len() < NAMED_SKIPS {
            self.outcome.first_skips.push(skipped);
        }
        Ok(())
    }
}

/// Reads `input` into a fresh accumulator for `window`. With `strict`, the first malformed
/// record is an error naming its line.
pub fn collect(
    input: &Input,
    format: Option<Format>,
    window: Window,
    strict: bool,
) -> anyhow::Result<Outcome> {
    let origin = match input {
        Input::File(path) => format!("`{}`", path.display()),
        Input::Stdin => "stdin".to_owned(),
        Input::Demo => "demo".to_owned(),
    };
    let mut feed = Feed {
        outcome: Outcome {
            metrics: Metrics::new(window),
            origin: origin.clone(),
            skipped: BTreeMap::new(),
            first_skips: Vec::new(),
        },
        strict,
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
            read(file, format, &mut feed, &origin)?;
        }
        Input::Stdin => read(io::stdin().lock(), format, &mut feed, &origin)?,
    }
    Ok(feed.outcome)
}

fn read<R: io::Read>(
    reader: R,
    format: Option<Format>,
    feed: &mut Feed,
    origin: &str,
) -> anyhow::Result<()> {
    analytics::read_export(reader, format, feed)
        .map(drop)
        .with_context(|| format!("reading {origin}"))
}
