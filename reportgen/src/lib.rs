//! `reportgen` turns a chatbot analytics export into a self-contained static HTML report and a
//! `summary.json`, written into a dated archive folder.
//!
//! The stages live in separate modules and run in this order: [`source`] streams records from
//! a worker ([`fetch`]), a file, stdin or the embedded demo into [`analytics::Metrics`];
//! [`render`] and [`insight`] turn the resulting [`analytics::Summary`] into HTML (charts from
//! [`chart`], formatted values, rows and tables with their CSV from [`view`]);
//! [`archive_page`] renders the archive's index page; [`archive`] is the only module that
//! writes files.

mod alerts;
pub mod archive;
pub mod archive_page;
pub mod chart;
pub mod cli;
pub mod digest;
pub mod fetch;
mod http;
pub mod insight;
pub mod lifecycle;
pub mod notify;
mod privacy;
pub mod render;
pub mod source;
pub mod synth;
pub mod view;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{SubsecRound, Utc};

use cli::{Cli, Command, GenerateArgs, Input, ReportArgs};

/// Runs one invocation. Errors are for the caller to print; they mean exit status 2.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Generate(args)) => generate(&args),
        Some(Command::Archive(args)) => {
            let now = args.now.unwrap_or_else(|| Utc::now().trunc_subsecs(3));
            let removed = remove_old_text(
                &args.out,
                now,
                args.retention.keep_text_days,
                args.templates.as_deref(),
                None,
            )?;
            let (index, warnings) = archive::rebuild(&args.out)?;
            for warning in warnings {
                eprintln!("reportgen: warning: {warning}");
            }
            for date in removed {
                eprintln!("reportgen: removed visitors' text from the snapshot of {date}");
            }
            println!("{}", index.display());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Notify(args)) => notify::run(&args),
        None => report(&cli.report),
    }
}

fn generate(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let config = args.config();
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let result = synth::generate(&config, |event| {
        analytics::write_ndjson_line(&mut out, event)
    })
    .and_then(|()| out.flush());
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing generated events to stdout"),
    }
}

fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let input = args.input()?;
    if (args.publish || args.save_export.is_some()) && !matches!(input, Input::Url(_)) {
        anyhow::bail!(
            "--publish and --save-export work with --url only, not with --input or --demo"
        );
    }
    // The clock is read once: the generation time and the end of a window up to now.
    let clock = Utc::now();
    let generated_at = args.now.unwrap_or_else(|| clock.trunc_subsecs(3));
    let outcome = source::collect(args, &input, args.window(&input, clock))?;
    if !args.quiet {
        for warning in outcome.warnings() {
            eprintln!("reportgen: warning: {warning}");
        }
    }
    // The archive as it was before this run: the baselines and the gaps' life come from it.
    let (archived, _) = archive::snapshots(&args.out)?;
    let mut metrics = outcome.metrics;
    if let analytics::Window::Range { from, to } = metrics.window()
        && let Some(earlier) =
            archive::period_before(&archived, from, analytics::days_between(from, to))
    {
        metrics.compare_with(
            format!("the report of {}", earlier.date),
            earlier.summary.clone(),
        );
    }
    let summary = metrics.finish(generated_at);
    let title = args.title.clone().unwrap_or_else(|| input.default_title());
    let own = archive::snapshot_name(&summary)?;
    let earlier: Vec<(&str, &analytics::Summary)> = archived
        .iter()
        .filter(|s| s.date < own)
        .map(|s| (s.date.as_str(), &s.summary))
        .collect();
    let lifecycle = lifecycle::lifecycle(&summary, &earlier);
    let Pages { html, digest } = render_snapshot(
        &archived,
        &summary,
        &title,
        args.templates.as_deref(),
        &render::ArchiveFacts {
            keep_text_days: args.retention.keep_text_days,
            lifecycle: lifecycle.as_ref(),
        },
    )?;
    let json = serde_json::to_string_pretty(&summary).context("serialising summary.json")?;
    let gaps = insight::gaps_csv(&summary).context("writing gaps.csv")?;
    let snapshot = archive::write_snapshot(
        &args.out,
        &summary,
        &[
            ("summary.json", json.as_bytes()),
            (archive::GAPS_CSV, &gaps),
            (archive::DIGEST_MD, digest.as_bytes()),
            ("index.html", html.as_bytes()),
        ],
    )?;
    // This run's own snapshot is never cleaned by it, however old its window.
    let removed = remove_old_text(
        &args.out,
        generated_at,
        args.retention.keep_text_days,
        args.templates.as_deref(),
        Some(&own),
    )?;
    let (_, warnings) = archive::rebuild(&args.out)?;
    if !args.quiet {
        for warning in warnings {
            eprintln!("reportgen: warning: {warning}");
        }
        for date in removed {
            eprintln!("reportgen: removed visitors' text from the snapshot of {date}");
        }
    }
    println!("{}", snapshot.display());
    if let (true, Input::Url(url)) = (args.publish, &input) {
        let remote = source::remote(args, url)?;
        let target = remote.base.join("analytics")?;
        fetch::publish(&remote, &html, &summary.generated_at).with_context(|| {
            format!(
                "publishing the report to {target} failed; the local snapshot is kept at {}",
                snapshot.display()
            )
        })?;
        if !args.quiet {
            eprintln!("reportgen: published to {target}");
        }
    }
    if args.fail_on_alert && !summary.alerts.is_empty() {
        if !args.quiet {
            eprintln!(
                "reportgen: {} alert{} fired (--fail-on-alert): see the report's Alerts section",
                summary.alerts.len(),
                if summary.alerts.len() == 1 { "" } else { "s" }
            );
        }
        return Ok(ExitCode::from(ALERT_EXIT));
    }
    Ok(ExitCode::SUCCESS)
}

/// The exit status of a run with `--fail-on-alert` when an alert fired (everything written
/// and published first); 2 stays "error".
pub const ALERT_EXIT: u8 = 3;

/// A snapshot's two renderings of one summary against one baseline.
struct Pages {
    /// The report, `index.html`.
    html: String,
    /// Its digest, `digest.md`.
    digest: String,
}

/// The archived report of the period before `summary`'s `--days` window (see
/// [`archive::period_before`]).
fn report_before<'a>(
    archive: &'a [archive_page::Snapshot],
    summary: &analytics::Summary,
) -> Option<&'a archive_page::Snapshot> {
    if summary.window.from_data {
        return None;
    }
    let from = analytics::parse_timestamp(&summary.window.from)?;
    archive::period_before(archive, from, summary.window.days)
}

/// The report page and digest of `summary`: compared with its previous period when it has
/// one, else with the archived report of the period before, else (until the archive holds
/// one) with the newest earlier snapshot of the same window length in `archive`.
fn render_snapshot(
    archive: &[archive_page::Snapshot],
    summary: &analytics::Summary,
    title: &str,
    templates: Option<&std::path::Path>,
    facts: &render::ArchiveFacts<'_>,
) -> anyhow::Result<Pages> {
    let archived = match summary.previous_period {
        Some(_) => None,
        None => match report_before(archive, summary) {
            Some(before) => Some(before),
            None => archive::previous_snapshot(archive, summary)?,
        },
    };
    let label = match (&summary.previous_period, &archived) {
        (Some(_), _) => format!("the previous {} days", summary.window.days),
        (None, Some(snapshot)) => format!("the report of {}", snapshot.date),
        (None, None) => String::new(),
    };
    let baseline = summary
        .previous_period
        .as_deref()
        .or(archived.map(|s| &s.summary))
        .map(|s| view::Baseline {
            summary: s,
            label: &label,
        });
    Ok(Pages {
        html: render::render_report(summary, baseline.as_ref(), title, templates, facts)?,
        digest: digest::digest(summary, baseline.as_ref(), facts.lifecycle, title),
    })
}

/// Text retention: every snapshot of `out` whose window ended more than `keep_days` days
/// before `now` loses the free text that came from visitors or requests
/// ([`analytics::remove_visitor_text`]); its report is rendered again from the cleaned
/// summary (saying what was removed and when), both written together, and its `gaps.csv`
/// deleted. Numbers never change; a snapshot already cleaned is left alone. An old snapshot
/// whose `summary.json` cannot be read is cleared ([`archive::clear_unreadable`]). `except`
/// (the run's own snapshot) is not touched. Returns the dates of the snapshots cleaned.
pub fn remove_old_text(
    out: &std::path::Path,
    now: chrono::DateTime<Utc>,
    keep_days: u32,
    templates: Option<&std::path::Path>,
    except: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let at = analytics::format_timestamp(&now);
    let (mut all, _) = archive::snapshots(out)?;
    let mut cleaned = Vec::new();
    // Oldest first: a snapshot's baseline, older, is already cleaned here when it renders.
    for i in archive::needing_text_removal(out, &all, now, keep_days, except) {
        analytics::remove_visitor_text(&mut all[i].summary, &at, keep_days);
        let (summary, date) = (&all[i].summary, &all[i].date);
        let title =
            archive::snapshot_title(out, date).unwrap_or_else(|| "Chatbot analytics".to_owned());
        let facts = render::ArchiveFacts {
            keep_text_days: keep_days,
            lifecycle: None,
        };
        let Pages { html, digest } = render_snapshot(&all, summary, &title, templates, &facts)?;
        let json = serde_json::to_string_pretty(summary).context("serialising summary.json")?;
        archive::rewrite_snapshot(
            out,
            date,
            &[
                ("index.html", html.as_bytes()),
                (archive::DIGEST_MD, digest.as_bytes()),
                ("summary.json", json.as_bytes()),
            ],
        )
        .with_context(|| format!("removing visitors' text from the snapshot of {date}"))?;
        cleaned.push(date.clone());
    }
    cleaned.extend(archive::clear_unreadable(out, &all, now, keep_days)?);
    Ok(cleaned)
}
