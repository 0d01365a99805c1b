//! The report's comparison and insight sections: deltas against the previous period, the
//! widget funnel, suggestions, knowledge-gap clusters, latency detail and the activity heatmap,
//! plus the data the page embeds (summary JSON, CSV downloads). Part of rendering: from a
//! [`Summary`] to a view the template shows.

use analytics::{FUNNEL_STEPS, Summary, clean_text};
use serde::Serialize;

use crate::chart::{self, Caption, Series};
use crate::view::table::{Compared, CsvFile, Table, fraction, millis};
use crate::view::{Baseline, Change, GapColumns, Row3, Time, bucket_label, int, ms, pct};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Clusters and suggestions shown in the report (the CSV has them all).
const SHOWN: usize = 15;

/// Everything the insight sections show.
#[derive(Debug, Serialize)]
pub struct InsightsView {
    compared_with: Option<String>,
    funnel: Table<FunnelRow>,
    funnel_svg: String,
    page_funnels: Table<PageFunnelRow>,
    funnel_steps: Vec<&'static str>,
    suggestions: Table<Compared<Row3>>,
    clusters: Table<ClusterRow>,
    latency_svg: String,
    latency: Table<Row3>,
    trend_svg: String,
    /// The alert days marked on the daily P95 chart, in words.
    trend_marks: String,
    trend: Table<TrendRow>,
    heatmap_svg: String,
    heatmap: Table<HeatRow>,
    busiest: String,
    timezone: String,
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
    let columns = GapColumns::of(&summary.knowledge_gaps);
    let mut csv = CsvFile::new(&columns.header())?;
    for gap in &summary.knowledge_gaps {
        csv.record(columns.record(gap))?;
    }
    csv.finish()
}

impl InsightsView {
    /// The insight sections of `s`; `suggestion_changes` are the suggestion rows' changes
    /// against `baseline` (see [`crate::view::Changes`]).
    pub(crate) fn new(
        s: &Summary,
        baseline: Option<&Baseline<'_>>,
        suggestion_changes: Option<Vec<Change>>,
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
        let trend_marks = crate::alerts::marks(
            s,
            s.latency_trend.iter().map(|d| d.date.as_str()),
            &[analytics::AlertKind::LatencyRegression],
        );
        let trend_svg = chart::marked_line_chart(
            Caption {
                title: "Daily P95 response times",
                desc: format!(
                    "The 95th percentile of retrieval, model and total time per day, in \
                     milliseconds. {}",
                    trend_marks.text
                )
                .trim_end(),
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
            &trend_marks.at,
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
            .compared(suggestion_changes)?
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
            trend_marks: trend_marks.text,
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
            summary_json,
        })
    }
}
