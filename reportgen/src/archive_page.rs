//! The archive's index page (`OUT/index.html`): every snapshot newest first with its headline
//! numbers, and the long-term trends stitched from all of them.

use analytics::{Summary, clean_text};
use anyhow::Context;
use serde::Serialize;
use tera::Tera;

use crate::chart::{self, Caption, Series};
use crate::render::{REPORT_CSS, tera_error};
use crate::view::{Row2, Time, int, ms, pct, row2};

const ARCHIVE_HTML: &str = include_str!("../../templates/archive.html");
/// Gaps listed in the archive's "over time" table, and snapshots it shows as columns.
const ARCHIVE_GAPS: usize = 10;
const ARCHIVE_GAP_COLUMNS: usize = 8;

/// One archived report, for the archive page.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Its folder name, `YYYY-MM-DD`.
    pub date: String,
    /// Its numbers.
    pub summary: Summary,
}

/// Renders the archive page (`OUT/index.html`) for `snapshots`, oldest first.
pub fn render_archive(snapshots: &[Snapshot]) -> anyhow::Result<String> {
    let mut tera = Tera::default();
    tera.add_raw_template("archive.html", ARCHIVE_HTML)
        .context("parsing the archive template")?;
    let view = ArchiveView::new(snapshots)?;
    let context = tera::Context::from_serialize(&view).context("preparing the archive data")?;
    tera.render("archive.html", &context)
        .map_err(|e| anyhow::anyhow!("rendering the archive template: {}", tera_error(&e)))
}

/// Daily messages across snapshots. A day takes its count from the newest snapshot whose
/// window holds the whole day; a day no window holds whole (the first and last, partly
/// covered) takes the largest partial count any snapshot has.
pub fn stitch_daily(snapshots: &[Snapshot]) -> std::collections::BTreeMap<&str, u64> {
    let mut whole: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    let mut partial: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for snapshot in snapshots {
        let window = &snapshot.summary.window;
        let (Some(from), Some(to)) = (
            analytics::parse_timestamp(&window.from),
            analytics::parse_timestamp(&window.to),
        ) else {
            continue;
        };
        for day in &snapshot.summary.messages_over_time {
            let Ok(date) = chrono::NaiveDate::parse_from_str(&day.date, "%Y-%m-%d") else {
                continue;
            };
            let start = date.and_time(chrono::NaiveTime::MIN).and_utc();
            if from <= start && start + chrono::TimeDelta::days(1) <= to {
                whole.insert(&day.date, day.messages);
            } else {
                let best = partial.entry(&day.date).or_insert(0);
                *best = (*best).max(day.messages);
            }
        }
    }
    for (date, n) in partial {
        whole.entry(date).or_insert(n);
    }
    whole
}

#[derive(Debug, Serialize)]
struct ArchiveView {
    title: &'static str,
    css: &'static str,
    version: &'static str,
    first_date: String,
    last_date: String,
    snapshots: Vec<SnapshotRow>,
    daily_svg: String,
    daily: Vec<Row2>,
    sessions_svg: String,
    quality_svg: String,
    gap_dates: Vec<String>,
    gaps: Vec<GapTrend>,
}

#[derive(Debug, Serialize)]
struct SnapshotRow {
    date: String,
    href: String,
    window: String,
    messages: String,
    sessions: String,
    error_rate: String,
    p95: String,
}

#[derive(Debug, Serialize)]
struct GapTrend {
    question: String,
    counts: Vec<String>,
}

impl ArchiveView {
    fn new(snapshots: &[Snapshot]) -> anyhow::Result<ArchiveView> {
        let daily = stitch_daily(snapshots);
        let day_labels: Vec<String> = daily.keys().map(|d| d.to_string()).collect();
        let day_values: Vec<f64> = daily.values().map(|&n| n as f64).collect();
        let daily_svg = chart::line_chart(
            Caption {
                title: "Daily messages over every snapshot",
                desc: &format!(
                    "Messages per day over {} days of archived reports.",
                    day_labels.len()
                ),
            },
            &day_labels,
            &[Series {
                name: "Messages",
                values: &day_values,
            }],
        )?;
        let dates: Vec<String> = snapshots.iter().map(|s| s.date.clone()).collect();
        let sessions: Vec<f64> = snapshots
            .iter()
            .map(|s| s.summary.conversation_volume.sessions as f64)
            .collect();
        let sessions_svg = chart::line_chart(
            Caption {
                title: "Sessions per snapshot",
                desc: "Sessions in each archived report's window.",
            },
            &dates,
            &[Series {
                name: "Sessions",
                values: &sessions,
            }],
        )?;
        let error_pct: Vec<f64> = snapshots
            .iter()
            .map(|s| s.summary.errors.error_rate * 100.0)
            .collect();
        let p95_s: Vec<f64> = snapshots
            .iter()
            .map(|s| s.summary.performance.total_time_ms.p95.unwrap_or(0.0) / 1000.0)
            .collect();
        let quality_svg = chart::line_chart(
            Caption {
                title: "Error rate and P95 total time per snapshot",
                desc: "Error rate in percent and P95 total response time in seconds of each archived report.",
            },
            &dates,
            &[
                Series {
                    name: "Error rate (%)",
                    values: &error_pct,
                },
                Series {
                    name: "P95 total time (s)",
                    values: &p95_s,
                },
            ],
        )?;
        let columns: Vec<&Snapshot> = snapshots
            .iter()
            .skip(snapshots.len().saturating_sub(ARCHIVE_GAP_COLUMNS))
            .collect();
        let mut totals: std::collections::HashMap<&str, (u64, &str)> =
            std::collections::HashMap::new();
        for snapshot in &columns {
            // A snapshot whose visitors' text was removed has no question to show.
            if snapshot.summary.text_removed.is_some() {
                continue;
            }
            for gap in &snapshot.summary.knowledge_gaps {
                let entry = totals.entry(&gap.normalized).or_insert((0, &gap.question));
                entry.0 += gap.count;
            }
        }
        let mut top: Vec<(&str, u64, &str)> =
            totals.into_iter().map(|(k, (n, q))| (k, n, q)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        top.truncate(ARCHIVE_GAPS);
        let gaps = top
            .iter()
            .map(|(key, _, question)| GapTrend {
                question: clean_text(question),
                counts: columns
                    .iter()
                    .map(|s| {
                        s.summary
                            .knowledge_gaps
                            .iter()
                            .find(|g| g.normalized == *key)
                            .map_or_else(
                                || match s.summary.text_removed {
                                    Some(_) => "removed".to_owned(),
                                    None => "—".to_owned(),
                                },
                                |g| int(g.count),
                            )
                    })
                    .collect(),
            })
            .collect();
        Ok(ArchiveView {
            title: "Chatbot analytics",
            css: REPORT_CSS,
            version: env!("CARGO_PKG_VERSION"),
            first_date: dates.first().cloned().unwrap_or_default(),
            last_date: dates.last().cloned().unwrap_or_default(),
            snapshots: snapshots
                .iter()
                .rev()
                .map(|s| SnapshotRow {
                    href: format!("{}/index.html", s.date),
                    date: s.date.clone(),
                    window: format!(
                        "{} to {}",
                        Time::new(&s.summary.window.from).text,
                        Time::new(&s.summary.window.to).text
                    ),
                    messages: int(s.summary.conversation_volume.messages),
                    sessions: int(s.summary.conversation_volume.sessions),
                    error_rate: pct(s.summary.errors.error_rate),
                    p95: ms(s.summary.performance.total_time_ms.p95),
                })
                .collect(),
            daily_svg,
            daily: daily.iter().map(|(d, n)| row2(d, int(*n))).collect(),
            sessions_svg,
            quality_svg,
            gap_dates: columns.iter().map(|s| s.date.clone()).collect(),
            gaps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stitched_days_come_from_a_window_that_holds_them_whole() {
        // Two daily snapshots of 2-day windows ending at 06:00: 24 messages a day, 6 of them
        // before 06:00. The first day of each window is partial (18), the last too (6).
        let snapshot = |to: &str, rows: &[(&str, u64)]| {
            let to = analytics::parse_timestamp(to).expect("time");
            let mut summary =
                analytics::Metrics::new(analytics::Window::last_days(to, 2)).finish(to);
            summary.messages_over_time = rows
                .iter()
                .map(|(date, n)| analytics::DayCount {
                    date: (*date).to_owned(),
                    messages: *n,
                    bubble_opens: 0,
                    source: "events".to_owned(),
                    errors: Some(0),
                })
                .collect();
            Snapshot {
                date: summary.window.to[..10].to_owned(),
                summary,
            }
        };
        let snapshots = [
            snapshot(
                "2026-11-25T06:00:00Z",
                &[("2026-11-23", 18), ("2026-11-24", 24), ("2026-11-25", 6)],
            ),
            snapshot(
                "2026-11-26T06:00:00Z",
                &[("2026-11-24", 18), ("2026-11-25", 24), ("2026-11-26", 6)],
            ),
        ];
        let daily: Vec<(&str, u64)> = stitch_daily(&snapshots).into_iter().collect();
        assert_eq!(
            daily,
            [
                ("2026-11-23", 18),
                ("2026-11-24", 24),
                ("2026-11-25", 24),
                ("2026-11-26", 6)
            ]
        );
    }
}
