//! Command-line arguments.

use std::path::{Path, PathBuf};

use analytics::{Format, Window};
use anyhow::bail;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

use crate::synth::SynthConfig;

/// Turns a chatbot analytics export into a self-contained HTML report and summary.json.
#[derive(Debug, Parser)]
#[command(name = "reportgen", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand instead of a report.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the synthetic dataset as NDJSON to stdout (for tests and benchmarks).
    Generate(GenerateArgs),
    /// Remove visitors' text from old snapshots (--keep-text-days), then rebuild the archive
    /// page (OUT/index.html) and OUT/latest/ from the snapshots alone.
    Archive(ArchiveArgs),
    /// Post a snapshot's digest.md to a chat webhook whose URL is in an environment variable.
    ///
    /// The body is {"text": <the file>}, JSON, as Slack's and Mattermost's incoming webhooks
    /// and Discord's /slack endpoint take it. Retried on 429 (honouring Retry-After), 5xx, timeouts
    /// and connection failures until --timeout. No message shows more of the URL than its
    /// scheme, host and port: the rest holds the webhook's token. Exit status 0 once the
    /// webhook accepted the message (a 2xx answer), 2 otherwise.
    Notify(NotifyArgs),
}

/// Options of `reportgen notify`.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// The Markdown digest to post, e.g. OUT/latest/digest.md. Longer than 30,000 characters,
    /// it is refused, not cut.
    #[arg(long, value_name = "FILE")]
    pub digest: PathBuf,
    /// Environment variable holding the webhook URL (never give it as an argument: the URL
    /// holds the webhook's token). https, or http to this machine only.
    #[arg(long, value_name = "VAR", default_value = "REPORT_WEBHOOK_URL")]
    pub url_env: String,
    /// Give up on a failing webhook after this many seconds of retries.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    /// No retry lines and no line on delivery on stderr (errors still go there).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of `reportgen archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// The archive folder.
    #[arg(long, value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// The current time (RFC 3339) that text retention counts from; default: the clock.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Retention of visitors' text (see the report options).
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Folder with report.html and/or report.css for the snapshots rendered again.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

/// How long the archive keeps visitors' text.
#[derive(Debug, Clone, Copy, Args)]
pub struct RetentionArgs {
    /// Snapshots whose window ended more than N days before --now lose the free text that
    /// came from visitors or requests (knowledge-gap questions, cluster phrasings, error
    /// messages, page titles); numbers stay. Default: 90, the worker's longest TTL.
    #[arg(long, value_name = "N", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub keep_text_days: u32,
}

/// Options of `reportgen generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of events.
    #[arg(long, default_value_t = 40_000)]
    pub events: u64,
    /// Random seed: the same seed gives the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days the events span.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Exclusive end of the data (RFC 3339); default: the demo's fixed end.
    #[arg(long, value_parser = parse_time)]
    pub end: Option<DateTime<Utc>>,
}

impl GenerateArgs {
    /// The generator configuration these options describe.
    pub fn config(&self) -> SynthConfig {
        let demo = SynthConfig::demo();
        SynthConfig {
            events: self.events,
            seed: self.seed,
            days: self.days,
            end: self.end.unwrap_or(demo.end),
        }
    }
}

/// Options of a report run.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Export file to read (`-` for stdin): JSON envelope, JSON array, NDJSON or CSV.
    #[arg(long, short, value_name = "FILE", conflicts_with = "demo")]
    pub input: Option<PathBuf>,
    /// The worker to fetch the export from (every page of /analytics/export); --input and
    /// --demo take precedence, so a set ANALYTICS_URL does not get in their way.
    #[arg(long, value_name = "URL", env = "ANALYTICS_URL")]
    pub url: Option<String>,
    /// Environment variable holding the worker's password (never give it as an argument).
    #[arg(long, value_name = "VAR", default_value = "ANALYTICS_PASSWORD")]
    pub password_env: String,
    /// With --url: upload the report to the worker, which then serves it at /analytics.
    #[arg(long, requires = "url")]
    pub publish: bool,
    /// With --url: also keep the raw export as NDJSON in FILE (gzip when it ends in .gz).
    #[arg(long, value_name = "FILE", requires = "url")]
    pub save_export: Option<PathBuf>,
    /// With --url: give up on a failing worker after this many seconds of retries.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
    /// Report on the embedded synthetic demo month (no server, no file needed).
    #[arg(long)]
    pub demo: bool,
    /// Force the input format instead of detecting it.
    #[arg(long, value_name = "json|ndjson|csv")]
    pub format: Option<Format>,
    /// Only the N days up to --now (or up to this moment); default: every event of a file.
    /// With --url: the N days (1 to 90, default 30) the worker exports, up to its own clock.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: Option<u32>,
    /// The current time (RFC 3339): generation time and, for a file, the window's exact
    /// (exclusive) end; default: the clock. A worker's report has the worker's window.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// Time zone of the weekday × hour heatmap: UTC, an offset such as +02:00, or a zone name
    /// such as Europe/Berlin (daylight saving applied event by event).
    #[arg(long, value_name = "ZONE", value_parser = analytics::Zone::parse)]
    pub tz: Option<analytics::Zone>,
    /// Archive folder: the report goes to OUT/<YYYY-MM-DD>/.
    #[arg(long, value_name = "DIR", default_value = "output")]
    pub out: PathBuf,
    /// Report title.
    #[arg(long)]
    pub title: Option<String>,
    /// Folder with report.html and/or report.css overriding the built-in templates.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Retention of visitors' text in the archive, applied at the end of every run.
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Stop at the first malformed record instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Exit with status 3 when any alert fires (see the report's Alerts section), after the
    /// snapshot, digest and archive are written and the report published; 2 stays "error".
    #[arg(long)]
    pub fail_on_alert: bool,
    /// No warnings on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Where the events come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// The embedded synthetic month.
    Demo,
    /// A running worker.
    Url(String),
}

impl Input {
    /// The title used when `--title` is not given.
    pub fn default_title(&self) -> String {
        match self {
            Input::Demo => "Chatbot analytics — demo".to_owned(),
            Input::File(_) | Input::Stdin | Input::Url(_) => "Chatbot analytics".to_owned(),
        }
    }
}

impl ReportArgs {
    /// The input these options name.
    pub fn input(&self) -> anyhow::Result<Input> {
        match (&self.input, self.demo, &self.url) {
            (Some(path), _, _) if path == Path::new("-") => Ok(Input::Stdin),
            (Some(path), _, _) => Ok(Input::File(path.clone())),
            (None, true, _) => Ok(Input::Demo),
            (None, false, Some(_)) if self.days > Some(Self::URL_MAX_DAYS) => bail!(
                "--days {} with --url: a worker exports at most {max} days (raw events live 30 \
                 days, aggregates 90); give --days 1 to {max}",
                self.days.unwrap_or_default(),
                max = Self::URL_MAX_DAYS
            ),
            (None, false, Some(url)) => Ok(Input::Url(url.clone())),
            (None, false, None) => bail!(
                "nothing to report on: give --url URL (or ANALYTICS_URL), --input FILE \
                 (or - for stdin), or --demo (see reportgen --help)"
            ),
        }
    }

    /// Days asked of a worker when `--days` is not given.
    pub const URL_DAYS: u32 = 30;
    /// The most days a worker exports: its aggregates live 90 days.
    pub const URL_MAX_DAYS: u32 = 90;
    /// Days the demo reports on: the last 30 of its 60, so it has a previous period to
    /// compare with.
    pub const DEMO_DAYS: u32 = 30;

    /// The window of a file, stdin or the demo: the last `--days` days before `--now`
    /// (exactly), or up to and including the moment `clock` of the run (see
    /// [`Window::up_to`]); the demo's fixed month; otherwise every event. `None` for a worker:
    /// its export names the window it applied, and that is the report's.
    pub fn window(&self, input: &Input, clock: DateTime<Utc>) -> Option<Window> {
        let demo_end = SynthConfig::demo().end;
        match (input, self.days, self.now) {
            (Input::Url(_), _, _) => None,
            (Input::Demo, Some(days), now) => {
                Some(Window::last_days(now.unwrap_or(demo_end), days))
            }
            (Input::Demo, None, _) => Some(Window::last_days(demo_end, Self::DEMO_DAYS)),
            (_, Some(days), Some(now)) => Some(Window::last_days(now, days)),
            (_, Some(days), None) => Some(Window::up_to(clock, days)),
            (_, None, _) => Some(Window::All),
        }
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    analytics::parse_timestamp(text)
        .ok_or_else(|| format!("{text:?} is not an RFC 3339 time such as 2026-11-26T06:00:00Z"))
}
