//! The report's comparison and insight sections: deltas against the previous period, the
//! widget funnel, suggestions, knowledge-gap clusters, latency detail and the activity heatmap,
//! plus the data the page embeds (summary JSON, CSV downloads). Part of rendering: from a
//! [`Summary`] to a view the template shows.

use analytics::{FUNNEL_STEPS, Summary, clean_text};
use serde::Serialize;

use crate::chart::{self, Caption, Series};
use crate::view::table::{CsvFile, Table, fraction, millis};
use crate::view::{
    Baseline, Delta, GAPS_CSV_HEADER, Kpi, Row3, Time, bucket_label, delta, gap_record, int, ms,
    pct,
};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Clusters and suggestions shown in the report (the CSV has them all).
const SHOWN: usize = 15;

/// Sets the deltas of the KPI tiles, matched by label.
pub(crate) fn add_deltas(kpis: &mut [Kpi], now: &Summary, baseline: &Baseline<'_>) {
    let before = baseline.summary;
    for kpi in kpis {
        let pair = |f: fn(&Summary) -> f64| Some((f(now), Some(f(before))));
        let values = match kpi.label {
            "Messages" => pair(|s| s.conversation_volume.messages as f64),
            "Sessions" => pair(|s| s.conversation_volume.sessions as f64),
            "Chatting sessions" => pair(|s| s.conversation_volume.messaging_sessions as f64),
            "Messages per session" => pair(|s| s.conversation_volume.messages_per_session),
            "Bubble opens" => pair(|s| s.conversation_volume.bubble_opens as f64),
            "Error rate" => pair(|s| s.errors.error_rate),
            "Failed messages" => pair(|s| s.errors.error_count as f64),
            "Rate-limited" => pair(|s| s.errors.rate_limited as f64),
            _ => None,
        };
        if let Some((n, b)) = values {
            let errors = matches!(kpi.label, "Error rate" | "Failed messages" | "Rate-limited");
            kpi.delta =
                delta(n, b, baseline.label).map(|d| if errors { d.lower_is_better() } else { d });
        }
    }
}

/// Everything the insight sections show.
#[derive(Debug, Serialize)]
pub struct InsightsView {
    compared_with: Option<String>,
    funnel: Table<FunnelRow>,
    funnel_svg: String,
    page_funnels: Table<PageFunnelRow>,
    funnel_steps: Vec<&'static str>,
    suggestions: Table<Row3>,
    clusters: Table<ClusterRow>,
    latency_svg: String,
    latency: Table<Row3>,
    trend_svg: String,
    trend: Table<TrendRow>,
    heatmap_svg: String,
    heatmap: Table<HeatRow>,
    busiest: String,
    timezone: String,
    changes: Changes,
    summary_json: String,
}

#[derive(Debug, Serialize)]
struct FunnelRow {
    step: &'static str,
    sessions: String,
    conversion: String,
    drop_off: String,
}

#[derive(Debug, Serialize)]
struct PageFunnelRow {
    page_url: String,
    sessions: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ClusterRow {
    label: String,
    count: String,
    questions: u64,
    first_seen: Time,
    last_seen: Time,
    samples: Vec<String>,
    is_new: bool,
}

#[derive(Debug, Serialize)]
struct TrendRow {
    date: String,
    rag: String,
    ai: String,
    total: String,
}

#[derive(Debug, Serialize)]
struct HeatRow {
    day: &'static str,
    cells: Vec<u64>,
}

/// One row's change against the baseline: a delta, or "new" when the row was not in the
/// baseline's complete list. Neither when the baseline's list was cut off before it could show
/// the row (a top-N list) or when the baseline value was 0.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Change {
    delta: Option<Delta>,
    new: bool,
}

/// The change columns of the top tables, row by row in the order of the summary's lists; all
/// empty without a baseline, which hides the columns.
#[derive(Debug, Default, Serialize)]
struct Changes {
    topics: Vec<Change>,
    suggestions: Vec<Change>,
    gaps: Vec<Change>,
    error_types: Vec<Change>,
    pages: Vec<Change>,
    sources: Vec<Change>,
}

impl Changes {
    fn new(s: &Summary, b: &Baseline<'_>) -> Changes {
        let was = b.summary;
        let label = b.label;
        Changes {
            topics: row_changes(
                &s.topic_distribution,
                &was.topic_distribution,
                None,
                label,
                |t| (t.topic.as_str(), t.count),
            ),
            suggestions: row_changes(
                &s.suggestions,
                &was.suggestions,
                Some(analytics::TOP_SUGGESTIONS),
                label,
                |q| (q.question.as_str(), q.clicks),
            ),
            gaps: row_changes(
                &s.knowledge_gaps,
                &was.knowledge_gaps,
                Some(analytics::TOP_GAPS),
                label,
                |g| (g.normalized.as_str(), g.count),
            )
            .into_iter()
            .map(Change::lower_is_better)
            .collect(),
            error_types: row_changes(&s.errors.by_type, &was.errors.by_type, None, label, |e| {
                (e.error_type.as_str(), e.count)
            })
            .into_iter()
            .map(Change::lower_is_better)
            .collect(),
            pages: row_changes(
                &s.pages_and_sources.top_pages,
                &was.pages_and_sources.top_pages,
                Some(analytics::TOP_PAGES),
                label,
                |p| (p.page_url.as_str(), p.messages),
            ),
            sources: row_changes(
                &s.pages_and_sources.top_sources,
                &was.pages_and_sources.top_sources,
                Some(analytics::TOP_PAGES),
                label,
                |src| (src.source.as_str(), src.sessions),
            ),
        }
    }
}

impl Change {
    fn lower_is_better(self) -> Change {
        Change {
            delta: self.delta.map(Delta::lower_is_better),
            new: self.new,
        }
    }
}

/// The change of each row of `now` against the row with the same key in `before`. `cap` is the
/// length `before` was cut to, if any: a row missing from a cut list may have been just below
/// the cut, so it is not called new.
pub fn row_changes<T>(
    now: &[T],
    before: &[T],
    cap: Option<usize>,
    label: &str,
    key_value: impl Fn(&T) -> (&str, u64),
) -> Vec<Change> {
    let was: std::collections::HashMap<&str, u64> = before.iter().map(&key_value).collect();
    let complete = cap.is_none_or(|cap| before.len() < cap);
    now.iter()
        .map(|row| {
            let (key, n) = key_value(row);
            match was.get(key) {
                Some(&b) => Change {
                    delta: delta(n as f64, Some(b as f64), label),
                    new: false,
                },
                None => Change {
                    delta: None,
                    new: complete,
                },
            }
        })
        .collect()
}

fn step_name(step: &str) -> &'static str {
    match step {
        "widget_loaded" => "Widget loaded",
        "bubble_opened" => "Chat opened",
        "message_sent" => "Message sent",
        "cta_clicked" => "Call to action clicked",
        _ => "Other",
    }
}

/// `widget_loaded` → `widgetLoaded`, for a CSV column name.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `gaps.csv`: the top knowledge gaps, most asked first, as a to-do list for the knowledge base.
pub fn gaps_csv(summary: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut csv = CsvFile::new(&GAPS_CSV_HEADER)?;
    for gap in &summary.knowledge_gaps {
        csv.record(gap_record(gap))?;
    }
    csv.finish()
}

impl InsightsView {
    pub(crate) fn new(
        s: &Summary,
        baseline: Option<&Baseline<'_>>,
    ) -> anyhow::Result<InsightsView> {
        let funnel = &s.funnel;
        let funnel_items: Vec<(String, u64)> = funnel
            .overall
            .iter()
            .map(|step| (step_name(&step.step).to_owned(), step.sessions))
            .collect();
        let funnel_svg = chart::bar_chart(
            Caption {
                title: "Widget funnel",
                desc: &format!(
                    "Sessions reaching each step: {}.",
                    funnel_items
                        .iter()
                        .map(|(n, v)| format!("{n} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            &funnel_items,
        )?;

        let perf = &s.performance;
        let buckets = &perf.total_time_histogram;
        let bucket_of = |v: Option<f64>| {
            let v = v?;
            buckets
                .iter()
                .position(|b| v >= b.from_ms && b.to_ms.is_none_or(|t| v < t))
        };
        let marks: Vec<(usize, String)> = [
            ("P50", perf.total_time_ms.p50),
            ("P95", perf.total_time_ms.p95),
            ("P99", perf.total_time_ms.p99),
        ]
        .into_iter()
        .filter_map(|(name, v)| Some((bucket_of(v)?, name.to_owned())))
        .collect();
        let latency_items: Vec<(String, u64)> =
            buckets.iter().map(|b| (bucket_label(b), b.count)).collect();
        let latency_total: u64 = latency_items.iter().map(|(_, n)| n).sum();
        let latency_svg = chart::marked_column_chart(
            Caption {
                title: "Distribution of total response time",
                desc: &format!(
                    "Messages per total-time bucket (log-spaced, doubling widths); P50 {}, P95 {}, P99 {}.",
                    ms(perf.total_time_ms.p50),
                    ms(perf.total_time_ms.p95),
                    ms(perf.total_time_ms.p99)
                ),
            },
            &latency_items,
            2,
            &marks,
        )?;

        let dates: Vec<String> = s
            .latency_trend
            .iter()
            .map(|d| d.date.get(5..).unwrap_or(&d.date).to_owned())
            .collect();
        let series = |f: fn(&analytics::LatencyDay) -> Option<f64>| -> Vec<f64> {
            s.latency_trend
                .iter()
                .map(|d| f(d).unwrap_or(0.0))
                .collect()
        };
        let (rag, ai, total) = (
            series(|d| d.rag_p95),
            series(|d| d.ai_p95),
            series(|d| d.total_p95),
        );
        let trend_svg = chart::line_chart(
            Caption {
                title: "Daily P95 response times",
                desc: "The 95th percentile of retrieval, model and total time per day, in milliseconds.",
            },
            &dates,
            &[
                Series {
                    name: "Total P95 (ms)",
                    values: &total,
                },
                Series {
                    name: "AI P95 (ms)",
                    values: &ai,
                },
                Series {
                    name: "RAG P95 (ms)",
                    values: &rag,
                },
            ],
        )?;

        let tz = &s.activity.timezone;
        let heatmap_svg = chart::heatmap(
            Caption {
                title: &format!("Messages by weekday and hour ({tz})"),
                desc: "A grid of 7 weekdays by 24 hours; darker cells had more messages.",
            },
            &WEEKDAYS,
            &s.activity.cells,
        )?;
        let busiest = s
            .activity
            .cells
            .iter()
            .enumerate()
            .flat_map(|(d, row)| row.iter().enumerate().map(move |(h, &n)| (n, d, h)))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)))
            .filter(|(n, _, _)| *n > 0)
            .map_or_else(String::new, |(n, d, h)| {
                format!(
                    "Busiest hour: {} {h:02}:00–{h:02}:59 {} ({} messages).",
                    WEEKDAYS[d],
                    clean_text(&s.activity.timezone),
                    int(n)
                )
            });

        let changes = baseline.map_or_else(Changes::default, |b| Changes::new(s, b));

        // JSON inside <script type="application/json">: "<" escaped so no "</script>" or "<!--"
        // in a question can end the block.
        let mut embedded = s.clone();
        embedded.previous_period = None;
        let summary_json = serde_json::to_string(&embedded)?.replace('<', "\\u003c");

        Ok(InsightsView {
            compared_with: baseline.map(|b| b.label.to_owned()),
            funnel: Table::new(
                "widget-funnel.csv",
                &["step", "sessions", "conversion", "dropOff"],
                &funnel.overall,
                |step| FunnelRow {
                    step: step_name(&step.step),
                    sessions: int(step.sessions),
                    conversion: pct(step.conversion),
                    drop_off: pct(step.drop_off),
                },
                |step| {
                    vec![
                        step_name(&step.step).to_owned(),
                        step.sessions.to_string(),
                        fraction(step.conversion),
                        fraction(step.drop_off),
                    ]
                },
            )?,
            funnel_svg,
            // The table's cell for a step reads "sessions (conversion)"; the file gives the two
            // numbers columns of their own, so a spreadsheet can sum and sort them.
            page_funnels: Table::new(
                "funnel-by-page.csv",
                &std::iter::once("pageUrl".to_owned())
                    .chain(FUNNEL_STEPS.iter().flat_map(|t| {
                        let step = camel_case(t.as_str());
                        [format!("{step}Sessions"), format!("{step}Conversion")]
                    }))
                    .collect::<Vec<_>>(),
                &funnel.by_page,
                |p| PageFunnelRow {
                    page_url: clean_text(&p.page_url),
                    sessions: p
                        .steps
                        .iter()
                        .map(|st| format!("{} ({})", int(st.sessions), pct(st.conversion)))
                        .collect(),
                },
                |p| {
                    std::iter::once(p.page_url.clone())
                        .chain(
                            p.steps
                                .iter()
                                .flat_map(|st| [st.sessions.to_string(), fraction(st.conversion)]),
                        )
                        .collect()
                },
            )?,
            funnel_steps: FUNNEL_STEPS.iter().map(|t| step_name(t.as_str())).collect(),
            suggestions: Table::new(
                "suggestions.csv",
                &["question", "clicks", "share"],
                &s.suggestions,
                |q| Row3 {
                    label: clean_text(&q.question),
                    count: int(q.clicks),
                    share: pct(q.share),
                },
                |q| vec![q.question.clone(), q.clicks.to_string(), fraction(q.share)],
            )?
            .showing(SHOWN),
            clusters: Table::new(
                "gap-clusters.csv",
                &[
                    "label",
                    "count",
                    "questions",
                    "firstSeen",
                    "lastSeen",
                    "newThisPeriod",
                    "alsoAsked",
                ],
                &s.gap_clusters,
                |c| ClusterRow {
                    label: clean_text(&c.label),
                    count: int(c.count),
                    questions: c.questions,
                    first_seen: Time::new(&c.first_seen),
                    last_seen: Time::new(&c.last_seen),
                    samples: c.samples.iter().skip(1).map(|q| clean_text(q)).collect(),
                    is_new: c.new_this_period == Some(true),
                },
                |c| {
                    vec![
                        c.label.clone(),
                        c.count.to_string(),
                        c.questions.to_string(),
                        c.first_seen.clone(),
                        c.last_seen.clone(),
                        c.new_this_period
                            .map_or_else(String::new, |n| n.to_string()),
                        c.samples
                            .iter()
                            .skip(1)
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(" | "),
                    ]
                },
            )?
            .showing(SHOWN),
            latency_svg,
            // The bucket label ("50–100", "≥12.8s") becomes its bounds in milliseconds, which a
            // spreadsheet can sort and chart; the last bucket has no upper bound.
            latency: Table::new(
                "response-time-histogram.csv",
                &["fromMs", "toMs", "messages", "share"],
                buckets,
                |b| Row3 {
                    label: bucket_label(b),
                    count: int(b.count),
                    share: pct(analytics::ratio(b.count, latency_total)),
                },
                |b| {
                    vec![
                        millis(Some(b.from_ms)),
                        millis(b.to_ms),
                        b.count.to_string(),
                        fraction(analytics::ratio(b.count, latency_total)),
                    ]
                },
            )?,
            trend_svg,
            trend: Table::new(
                "daily-p95.csv",
                &["date", "ragP95Ms", "aiP95Ms", "totalP95Ms"],
                &s.latency_trend,
                |d| TrendRow {
                    date: d.date.clone(),
                    rag: ms(d.rag_p95),
                    ai: ms(d.ai_p95),
                    total: ms(d.total_p95),
                },
                |d| {
                    vec![
                        d.date.clone(),
                        millis(d.rag_p95),
                        millis(d.ai_p95),
                        millis(d.total_p95),
                    ]
                },
            )?,
            heatmap_svg,
            // The file keeps the grid the page shows, a row per weekday and a column per hour,
            // rather than one weekday,hour,messages line per cell: opened in a spreadsheet it is
            // the heatmap at once (a colour scale over the range), and row and column totals
            // give messages per weekday and per hour; the long form would need a pivot table
            // first. The hours are in the report's time zone, named in the first header cell.
            heatmap: Table::new(
                "messages-by-weekday-and-hour.csv",
                &std::iter::once(format!("weekday ({tz})"))
                    .chain((0..24).map(|h| h.to_string()))
                    .collect::<Vec<_>>(),
                s.activity.cells.iter().zip(WEEKDAYS),
                |&(cells, day)| HeatRow {
                    day,
                    cells: cells.clone(),
                },
                |&(cells, day)| {
                    std::iter::once(day.to_owned())
                        .chain(cells.iter().map(u64::to_string))
                        .collect()
                },
            )?,
            busiest,
            timezone: tz.clone(),
            changes,
            summary_json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_need_a_nonzero_baseline() {
        assert_eq!(delta(5.0, None, "x"), None);
        assert_eq!(delta(5.0, Some(0.0), "x"), None, "no percentage of nothing");
        let up = delta(112.0, Some(100.0), "the previous 30 days").expect("delta");
        assert_eq!(up.text, "▲ 12%");
        assert_eq!((up.direction, up.tone), ("up", "good"));
        assert_eq!(
            up.clone().lower_is_better().tone,
            "bad",
            "more errors are bad news"
        );
        assert_eq!(up.spoken, "up 12% on the previous 30 days");
        let down = delta(97.0, Some(100.0), "p").expect("delta");
        assert_eq!((down.text.as_str(), down.direction), ("▼ 3.0%", "down"));
        let same = delta(100.0, Some(100.0), "p").expect("delta");
        assert_eq!(
            (same.direction, same.spoken.as_str()),
            ("same", "unchanged on p")
        );
        assert_eq!(delta(0.0, Some(4.0), "p").expect("delta").text, "▼ 100%");
    }

    #[test]
    fn table_rows_are_matched_by_key_and_new_only_against_a_complete_list() {
        let now = [("a", 12), ("b", 5), ("c", 3)];
        let before = [("b", 10), ("a", 10)];
        fn kv<'a>(row: &'a (&str, u64)) -> (&'a str, u64) {
            (row.0, row.1)
        }
        let changes = row_changes(&now, &before, None, "p", kv);
        let text = |c: &Change| c.delta.as_ref().map(|d| d.text.clone());
        assert_eq!(
            text(&changes[0]).as_deref(),
            Some("▲ 20%"),
            "matched by key, not position"
        );
        assert_eq!(text(&changes[1]).as_deref(), Some("▼ 50%"));
        assert_eq!(
            changes[2],
            Change {
                delta: None,
                new: true
            }
        );
        // A baseline list cut at its cap may have had "c" just below the cut: not "new".
        let capped = row_changes(&now, &before, Some(2), "p", kv);
        assert_eq!(capped[2], Change::default());
        // Not cut (shorter than its cap): a missing row is new.
        assert!(row_changes(&now, &before, Some(3), "p", kv)[2].new);
        // A zero baseline gives no percentage, and is not "new" either.
        let zero = row_changes(&[("a", 4)], &[("a", 0)], None, "p", kv);
        assert_eq!(zero[0], Change::default());
        // Fewer gaps or errors are good news.
        let fewer = row_changes(&[("a", 5)], &[("a", 10)], None, "p", kv);
        assert_eq!(
            fewer[0].clone().lower_is_better().delta.map(|d| d.tone),
            Some("good")
        );
    }
}
