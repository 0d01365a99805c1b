//! Rendering: a [`Summary`] becomes one self-contained HTML page (inline CSS, inline SVG, no
//! external resource). Templates are tera 1.x with autoescape; only our own SVG is marked safe.

use std::fs;
use std::path::Path;

use analytics::{AlertKind, Summary};
use anyhow::{Context, bail};
use serde::Serialize;
use tera::Tera;

use analytics::clean_text;

use crate::chart::{self, Caption, Series};
use crate::view::table::{Compared, Table, fraction, millis};
use crate::view::{
    Baseline, Changes, GapColumns, Headline, Kpi, Row2, Row3, Time, int, ms, pct, row2,
};

const REPORT_HTML: &str = include_str!("../../templates/report.html");
pub(crate) const REPORT_CSS: &str = include_str!("../../templates/report.css");

/// Topics shown as slices; the rest are merged into one.
const DOUGHNUT_SLICES: usize = 7;
/// Error types shown as bars; the rest are merged into one.
const ERROR_BARS: usize = 10;

/// The first `keep` items, then one item summing the rest (if any) under `rest_label`.
fn top_with_rest<'a>(
    items: impl Iterator<Item = (&'a str, u64)>,
    keep: usize,
    rest_label: &str,
) -> Vec<(String, u64)> {
    let mut top = Vec::with_capacity(keep + 1);
    let mut rest = 0;
    for (i, (label, count)) in items.enumerate() {
        if i < keep {
            top.push((label.to_owned(), count));
        } else {
            rest += count;
        }
    }
    if rest > 0 {
        top.push((rest_label.to_owned(), rest));
    }
    top
}

/// What the report says that comes from the archive around it rather than from its summary.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveFacts<'a> {
    /// Days the archive keeps visitors' text (the privacy section).
    pub keep_text_days: u32,
    /// The gaps' life across the earlier snapshots, when there are any.
    pub lifecycle: Option<&'a crate::lifecycle::Lifecycle>,
}

/// Renders the report for `summary`, with the built-in templates or those in `templates`.
pub fn render_report(
    summary: &Summary,
    baseline: Option<&Baseline<'_>>,
    title: &str,
    templates: Option<&Path>,
    archive: &ArchiveFacts<'_>,
) -> anyhow::Result<String> {
    let (html, css) = load_templates(templates)?;
    let mut tera = Tera::default();
    tera.add_raw_template("report.html", &html)
        .context("parsing the report template")?;
    let mut changes = Changes::new(summary, baseline);
    let insights =
        crate::insight::InsightsView::new(summary, baseline, changes.suggestions.take())?;
    let privacy = crate::privacy::PrivacyView::new(summary, archive.keep_text_days);
    let mut view = ReportView::new(summary, baseline, changes, title, css, insights, privacy)?;
    if let Some(lifecycle) = archive.lifecycle {
        view.add_lifecycle(summary, lifecycle);
    }
    let context = tera::Context::from_serialize(&view).context("preparing the report data")?;
    tera.render("report.html", &context)
        .map_err(|e| anyhow::anyhow!("rendering the report template: {}", tera_error(&e)))
}

/// tera nests the useful message in its error sources.
pub(crate) fn tera_error(e: &tera::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

fn load_templates(dir: Option<&Path>) -> anyhow::Result<(String, String)> {
    let Some(dir) = dir else {
        return Ok((REPORT_HTML.to_owned(), REPORT_CSS.to_owned()));
    };
    if !dir.is_dir() {
        bail!("templates folder `{}` does not exist", dir.display());
    }
    let read = |name: &str, builtin: &str| -> anyhow::Result<String> {
        let path = dir.join(name);
        if path.exists() {
            fs::read_to_string(&path)
                .with_context(|| format!("cannot read template `{}`", path.display()))
        } else {
            Ok(builtin.to_owned())
        }
    };
    Ok((
        read("report.html", REPORT_HTML)?,
        read("report.css", REPORT_CSS)?,
    ))
}

/// Everything the template shows, formatted; plain text except the `*_svg` fields.
#[derive(Debug, Serialize)]
struct ReportView {
    title: String,
    css: String,
    version: &'static str,
    generated_at: Time,
    window_from: Time,
    window_to: Time,
    window_days: u32,
    /// The window is the span of the input's events, not one that was asked for.
    window_from_data: bool,
    has_events: bool,
    kpis: Vec<Kpi>,
    events_by_type: Table<Row2>,
    /// The Alerts section, first when there are any.
    alerts: Vec<crate::alerts::AlertRow>,
    over_time_svg: String,
    /// The alert days marked on the messages chart, in words.
    over_time_marks: String,
    over_time: Table<DayRow>,
    uses_daily: bool,
    topics_svg: String,
    topics: Table<Compared<Row3>>,
    gaps: Table<Compared<GapRow>>,
    /// A gap carries the worker's record: the table shows its column.
    gaps_history: bool,
    /// The gaps' life across the archive, when it has earlier snapshots.
    gaps_lifecycle: Option<LifecycleView>,
    performance: Table<PerfRow>,
    error_kpis: Vec<Kpi>,
    errors_svg: String,
    error_types: Table<Compared<Row2>>,
    recent_errors: Table<RecentRow>,
    pages: Table<Compared<PageRow>>,
    sources: Table<Compared<Row2>>,
    events_read: String,
    events_in_window: String,
    skipped: String,
    skipped_by_reason: Vec<Row2>,
    insights: crate::insight::InsightsView,
    privacy: crate::privacy::PrivacyView,
}

#[derive(Debug, Serialize)]
struct DayRow {
    date: String,
    messages: String,
    /// Failed messages ("—" for a day from the aggregates, which do not count them).
    errors: String,
    bubble_opens: String,
    source: String,
}

#[derive(Debug, Serialize)]
struct LifecycleView {
    /// The snapshot compared with.
    since: String,
    /// Its gaps gone from this report's top gaps.
    resolved: Vec<Row2>,
    /// What "rising" means.
    rising_factor: f64,
    rising_min: u64,
}

#[derive(Debug, Serialize)]
struct GapRow {
    question: String,
    count: String,
    /// The count of the worker's record of the question, when the input carried one.
    history: Option<String>,
    /// New, rising, steady or regressed, against the earlier snapshots.
    status: Option<crate::lifecycle::Status>,
    first_seen: Time,
    last_seen: Time,
}

#[derive(Debug, Serialize)]
struct PerfRow {
    label: &'static str,
    samples: String,
    avg: String,
    p50: String,
    p95: String,
    p99: String,
}

#[derive(Debug, Serialize)]
struct RecentRow {
    timestamp: Time,
    error_type: String,
    error_message: String,
    topic: String,
    page_url: String,
}

#[derive(Debug, Serialize)]
struct PageRow {
    page_url: String,
    /// Only `http(s)` URLs become links.
    href: Option<String>,
    page_title: String,
    messages: String,
    sessions: String,
}

impl ReportView {
    /// Marks each top gap with its life across the archive, and lists the resolved ones.
    fn add_lifecycle(&mut self, s: &Summary, lifecycle: &crate::lifecycle::Lifecycle) {
        for (row, gap) in self.gaps.rows.iter_mut().zip(&s.knowledge_gaps) {
            row.row.status = lifecycle.status.get(&gap.normalized).copied();
        }
        self.gaps_lifecycle = Some(LifecycleView {
            since: lifecycle.since.clone(),
            resolved: lifecycle
                .resolved
                .iter()
                .map(|r| Row2 {
                    label: clean_text(&r.question),
                    value: int(r.count),
                })
                .collect(),
            rising_factor: crate::lifecycle::RISING_FACTOR,
            rising_min: crate::lifecycle::RISING_MIN,
        });
    }

    /// The report's view of `s`; every headline number and top-table row carries its change
    /// against `baseline` (`changes`, from the same summary lists).
    fn new(
        s: &Summary,
        baseline: Option<&Baseline<'_>>,
        changes: Changes,
        title: &str,
        css: String,
        insights: crate::insight::InsightsView,
        privacy: crate::privacy::PrivacyView,
    ) -> anyhow::Result<ReportView> {
        let kpi = |headline| Kpi::new(headline, s, baseline);
        let volume = &s.conversation_volume;
        let perf = &s.performance;
        let errors = &s.errors;
        let gap_columns = GapColumns::of(&s.knowledge_gaps);

        let days = &s.messages_over_time;
        let dates: Vec<String> = days
            .iter()
            .map(|d| d.date.get(5..).unwrap_or(&d.date).to_owned())
            .collect();
        let messages: Vec<f64> = days.iter().map(|d| d.messages as f64).collect();
        let opens: Vec<f64> = days.iter().map(|d| d.bubble_opens as f64).collect();
        let over_time_marks = crate::alerts::marks(
            s,
            days.iter().map(|d| d.date.as_str()),
            &[
                AlertKind::ErrorRateSpike,
                AlertKind::NoEvents,
                AlertKind::VolumeDrop,
            ],
        );
        let over_time_svg = chart::marked_line_chart(
            Caption {
                title: "Messages and bubble opens per day",
                desc: format!(
                    "Daily messages and bubble opens from {} to {}; {} messages in total. {}",
                    s.window.from,
                    s.window.to,
                    int(volume.messages),
                    over_time_marks.text
                )
                .trim_end(),
            },
            &dates,
            &[
                Series {
                    name: "Messages",
                    values: &messages,
                },
                Series {
                    name: "Bubble opens",
                    values: &opens,
                },
            ],
            &over_time_marks.at,
        )?;

        let slices = top_with_rest(
            s.topic_distribution
                .iter()
                .map(|t| (t.topic.as_str(), t.count)),
            DOUGHNUT_SLICES,
            "(other topics)",
        );
        let topics_svg = chart::doughnut(
            Caption {
                title: "Messages by topic",
                desc: &format!(
                    "Share of messages per retrieval topic; {} topics.",
                    s.topic_distribution.len()
                ),
            },
            &slices,
            &int(volume.messages),
        )?;

        let error_items = top_with_rest(
            errors
                .by_type
                .iter()
                .map(|e| (e.error_type.as_str(), e.count)),
            ERROR_BARS,
            "(other types)",
        );
        let errors_svg = chart::bar_chart(
            Caption {
                title: "Errors by type",
                desc: &format!(
                    "{} failed messages in {} types.",
                    int(errors.error_count),
                    errors.by_type.len()
                ),
            },
            &error_items,
        )?;

        Ok(ReportView {
            title: title.to_owned(),
            css,
            version: env!("CARGO_PKG_VERSION"),
            generated_at: Time::new(&s.generated_at),
            window_from: Time::new(&s.window.from),
            window_to: Time::new(&s.window.to),
            window_days: s.window.days,
            window_from_data: s.window.from_data,
            has_events: s.data_quality.events_in_window > 0,
            kpis: vec![
                kpi(Headline::Messages),
                kpi(Headline::Sessions),
                kpi(Headline::ChattingSessions),
                kpi(Headline::MessagesPerSession),
                kpi(Headline::BubbleOpens),
            ],
            events_by_type: Table::new(
                "events-by-type.csv",
                &["eventType", "events"],
                &volume.events_by_type,
                |(k, v)| row2(k, int(**v)),
                |(k, v)| vec![(*k).clone(), v.to_string()],
            )?,
            alerts: crate::alerts::rows(s),
            over_time_svg,
            over_time_marks: over_time_marks.text,
            over_time: Table::new(
                "messages-per-day.csv",
                &["date", "messages", "bubbleOpens", "errors", "source"],
                days,
                |d| DayRow {
                    date: d.date.clone(),
                    messages: int(d.messages),
                    errors: d.errors.map_or_else(|| "—".to_owned(), int),
                    bubble_opens: int(d.bubble_opens),
                    source: d.source.clone(),
                },
                |d| {
                    vec![
                        d.date.clone(),
                        d.messages.to_string(),
                        d.bubble_opens.to_string(),
                        // Unknown on a day from the aggregates, which do not count failures.
                        d.errors.map(|n| n.to_string()).unwrap_or_default(),
                        d.source.clone(),
                    ]
                },
            )?,
            uses_daily: days.iter().any(|d| d.source == "daily"),
            topics_svg,
            topics: Table::new(
                "topics.csv",
                &["topic", "messages", "share"],
                &s.topic_distribution,
                |t| Row3 {
                    label: clean_text(&t.topic),
                    count: int(t.count),
                    share: pct(t.share),
                },
                |t| vec![t.topic.clone(), t.count.to_string(), fraction(t.share)],
            )?
            .compared(changes.topics)?,
            gaps: Table::new(
                "gaps.csv",
                &gap_columns.header(),
                &s.knowledge_gaps,
                |g| GapRow {
                    question: clean_text(&g.question),
                    count: int(g.count),
                    history: g.history.as_ref().map(|h| int(h.count)),
                    status: None,
                    first_seen: Time::new(&g.first_seen),
                    last_seen: Time::new(&g.last_seen),
                },
                |g| gap_columns.record(g),
            )?
            .compared(changes.gaps)?,
            gaps_history: gap_columns.history,
            gaps_lifecycle: None,
            performance: Table::new(
                "response-times.csv",
                &["time", "samples", "avgMs", "p50Ms", "p95Ms", "p99Ms"],
                [
                    ("Retrieval (RAG)", perf.avg_rag_time_ms, &perf.rag_time_ms),
                    ("AI model", perf.avg_ai_time_ms, &perf.ai_time_ms),
                    ("Total", perf.avg_total_time_ms, &perf.total_time_ms),
                ],
                |&(label, avg, p)| PerfRow {
                    label,
                    samples: int(p.samples),
                    avg: ms(avg),
                    p50: ms(p.p50),
                    p95: ms(p.p95),
                    p99: ms(p.p99),
                },
                |&(label, avg, p)| {
                    vec![
                        label.to_owned(),
                        p.samples.to_string(),
                        millis(avg),
                        millis(p.p50),
                        millis(p.p95),
                        millis(p.p99),
                    ]
                },
            )?,
            error_kpis: vec![
                kpi(Headline::ErrorRate),
                kpi(Headline::FailedMessages),
                kpi(Headline::RateLimited),
            ],
            errors_svg,
            error_types: Table::new(
                "error-types.csv",
                &["errorType", "count"],
                &errors.by_type,
                |e| row2(&e.error_type, int(e.count)),
                |e| vec![e.error_type.clone(), e.count.to_string()],
            )?
            .compared(changes.error_types)?,
            recent_errors: Table::new(
                "recent-errors.csv",
                &["timestamp", "errorType", "errorMessage", "topic", "pageUrl"],
                &errors.recent,
                |e| RecentRow {
                    timestamp: Time::new(&e.timestamp),
                    error_type: shown(&e.error_type),
                    error_message: shown(&e.error_message),
                    topic: shown(&e.topic),
                    page_url: shown(&e.page_url),
                },
                |e| {
                    let text = |t: &Option<String>| t.clone().unwrap_or_default();
                    vec![
                        e.timestamp.clone(),
                        text(&e.error_type),
                        text(&e.error_message),
                        text(&e.topic),
                        text(&e.page_url),
                    ]
                },
            )?,
            pages: Table::new(
                "pages.csv",
                &["pageUrl", "pageTitle", "messages", "sessions"],
                &s.pages_and_sources.top_pages,
                |p| PageRow {
                    href: web_link(&p.page_url),
                    page_url: clean_text(&p.page_url),
                    page_title: shown(&p.page_title),
                    messages: int(p.messages),
                    sessions: int(p.sessions),
                },
                |p| {
                    vec![
                        p.page_url.clone(),
                        p.page_title.clone().unwrap_or_default(),
                        p.messages.to_string(),
                        p.sessions.to_string(),
                    ]
                },
            )?
            .compared(changes.pages)?,
            sources: Table::new(
                "sources.csv",
                &["source", "sessions"],
                &s.pages_and_sources.top_sources,
                |src| row2(&src.source, int(src.sessions)),
                |src| vec![src.source.clone(), src.sessions.to_string()],
            )?
            .compared(changes.sources)?,
            events_read: int(s.data_quality.events_read),
            events_in_window: int(s.data_quality.events_in_window),
            skipped: int(s.data_quality.skipped),
            skipped_by_reason: s
                .data_quality
                .skipped_by_reason
                .iter()
                .map(|(k, v)| row2(k, int(*v)))
                .collect(),
            insights,
            privacy,
        })
    }
}

/// Untrusted optional text for a table cell: cleaned, or a dash when absent.
fn shown(text: &Option<String>) -> String {
    text.as_deref().map_or_else(|| "—".to_owned(), clean_text)
}

/// The URL itself when it is an absolute `http(s)` URL, else nothing: no `javascript:` links.
fn web_link(url: &str) -> Option<String> {
    let url = clean_text(url.trim());
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(pct(0.02345), "2.3%");
        assert_eq!(ms(None), "—");
        assert_eq!(ms(Some(862.4)), "862 ms");
        assert_eq!(ms(Some(1240.0)), "1.24 s");
    }

    #[test]
    fn long_lists_are_cut_with_the_rest_summed() {
        let items = [("a", 5), ("b", 3), ("c", 2), ("d", 1)];
        assert_eq!(
            top_with_rest(items.into_iter(), 2, "rest"),
            [
                ("a".to_owned(), 5),
                ("b".to_owned(), 3),
                ("rest".to_owned(), 3)
            ]
        );
        assert_eq!(
            top_with_rest(items.into_iter(), 4, "rest").len(),
            4,
            "no empty rest"
        );
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(
            web_link("https://a.dev/x").as_deref(),
            Some("https://a.dev/x")
        );
        assert_eq!(web_link("javascript:alert(1)"), None);
        assert_eq!(web_link("(none)"), None);
        assert_eq!(web_link(" JAVASCRIPT:alert(1)"), None);
    }
}
