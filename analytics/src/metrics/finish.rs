//! [`Metrics::finish`]: the accumulated counts become the [`Summary`] — sorting, top-N cuts,
//! percentiles, the days of the window, the previous period.

use super::*;
use crate::alerts::{Before, Earlier, Facts, SILENCE_HOURS};
use crate::arrivals::Silence;
use crate::clusters::PreviousGaps;
use crate::window::{days_between, holds_whole_day};

/// What the alerts need beyond the summary.
struct Pending {
    silences: Vec<Silence>,
    first_event: Option<DateTime<Utc>>,
    earlier: Option<Box<Earlier>>,
}
use crate::summary::GapCluster;

impl Metrics {
    /// The bounds of the window: the requested range, or the first and last event times.
    fn bounds(&self, generated_at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>, u32) {
        match self.window {
            Window::Range { from, to } => (from, to, days_between(from, to)),
            Window::All => match (self.first_ts, self.last_ts) {
                (Some(first), Some(last)) => (first, last, days_between(first, last).max(1)),
                _ => (generated_at, generated_at, 0),
            },
        }
    }

    /// The window the events are counted in.
    pub fn window(&self) -> Window {
        self.window
    }

    /// Compares with `summary`, an earlier report of the period just before this window (of
    /// the same length, ending at or before its start), named `label` in messages ("the report
    /// of 2026-10-27"), when the input does not reach back to that period itself (it then
    /// wins): latency, volume and gap alerts take it as their baseline, and gap clusters their
    /// previous counts (unless its visitors' text was removed).
    pub fn compare_with(&mut self, label: String, summary: Summary) {
        self.earlier = Some(Box::new(Earlier { label, summary }));
    }

    /// Computes the summary: every section from its own accumulators, then the alerts (see
    /// `alerts.rs`) from the summary, the window's silences and the period before.
    pub fn finish(self, generated_at: DateTime<Utc>) -> Summary {
        let (mut summary, pending) = self.summarise(generated_at);
        let label = format!("the previous {} days", summary.window.days);
        let before = match (&summary.previous_period, &pending.earlier) {
            (Some(previous), _) => Some(Before {
                summary: previous,
                label: &label,
            }),
            (None, Some(earlier)) => Some(Before {
                summary: &earlier.summary,
                label: &earlier.label,
            }),
            (None, None) => None,
        };
        let facts = Facts {
            silences: &pending.silences,
            first_event: pending.first_event,
            before,
        };
        let alerts = crate::alerts::detect(&summary, &facts);
        summary.alerts = alerts;
        summary
    }

    /// The summary without alerts (those of a previous period are not raised), and what the
    /// alerts need beyond it. `self` is taken apart field by field, so an accumulator added to
    /// [`Metrics`] and forgotten here does not compile.
    fn summarise(mut self, generated_at: DateTime<Utc>) -> (Summary, Pending) {
        let (from, to, days) = self.bounds(generated_at);
        let messages_over_time = self.over_time(from, to);
        // The previous period counts when the input reaches back to its first day.
        let previous = self.previous.take().filter(|p| match p.window {
            Window::Range { from, .. } => self
                .earliest_read
                .is_some_and(|t| t < from + TimeDelta::days(1)),
            Window::All => false,
        });
        let Metrics {
            window,
            events_read,
            events_in_window,
            skipped,
            first_ts,
            last_ts: _,
            messages,
            bubble_opens,
            events_by_type,
            sessions,
            first_sources,
            daily: _,
            topics,
            gaps,
            gap_records,
            error_count,
            errors_by_type,
            recent,
            rate_limited,
            pages,
            sources,
            source_ids: _,
            referrer_sources: _,
            insights,
            arrivals,
            earlier,
            previous: _,
            earliest_read: _,
        } = self;
        let silences = arrivals.silences(
            TimeDelta::hours(SILENCE_HOURS),
            match window {
                Window::Range { to, .. } => Some(to),
                Window::All => None,
            },
        );
        let previous_gaps = match (previous.as_deref(), earlier.as_deref()) {
            (Some(previous), _) => Some(PreviousGaps::exact(
                previous
                    .gaps
                    .iter()
                    .map(|(key, gap)| (key.clone(), gap.count)),
            )),
            (None, Some(earlier)) => PreviousGaps::listed(&earlier.summary, TOP_GAPS),
            (None, None) => None,
        };
        let gap_clusters = clusters(&gaps, previous_gaps.as_ref());
        let messaging_sessions = insights.messaging_sessions();
        let summary = Summary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            generated_at: format_timestamp(&generated_at),
            window: WindowInfo {
                from: format_timestamp(&from),
                to: format_timestamp(&to),
                days,
                from_data: window == Window::All,
            },
            conversation_volume: ConversationVolume {
                messages,
                sessions: sessions.len() as u64,
                messaging_sessions,
                messages_per_session: ratio(messages, messaging_sessions),
                bubble_opens,
                events_by_type: events_by_type
                    .into_iter()
                    .map(|(kind, n)| (kind.as_str().to_owned(), n))
                    .collect(),
            },
            messages_over_time,
            topic_distribution: topic_distribution(topics, messages),
            knowledge_gaps: knowledge_gaps(gaps, &gap_records),
            performance: performance(&insights),
            errors: Errors {
                error_count,
                error_rate: ratio(error_count, messages),
                by_type: errors_by_type_sorted(errors_by_type),
                recent: recent
                    .into_sorted_vec()
                    .into_iter()
                    .map(|Reverse(r)| r.error)
                    .collect(),
                rate_limited,
            },
            pages_and_sources: PagesAndSources {
                top_pages: top_pages(pages),
                top_sources: top_sources(sources, &first_sources),
            },
            funnel: insights.funnel(),
            suggestions: insights.suggestions(),
            gap_clusters,
            latency_trend: insights.latency_trend(),
            activity: insights.activity(),
            data_quality: DataQuality {
                events_read,
                events_in_window,
                skipped: skipped.values().sum(),
                skipped_by_reason: skipped
                    .into_iter()
                    .map(|(reason, n)| (reason.as_str().to_owned(), n))
                    .collect(),
            },
            previous_period: previous.map(|p| Box::new(p.summarise(generated_at).0)),
            text_removed: None,
            alerts: Vec::new(),
        };
        let pending = Pending {
            silences,
            first_event: first_ts,
            earlier,
        };
        (summary, pending)
    }

    /// One zero-filled row per UTC day that holds an instant of the window: from the date of
    /// `from` to the date of `to`, except that the exclusive end of a range does not add a day
    /// of its own (a range ending at midnight ends the day before). A day wholly inside the
    /// window whose daily aggregate counts more than its raw events (they have expired) takes
    /// the aggregate; partial first and last days never do.
    fn over_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DayCount> {
        let last_instant = match self.window {
            Window::Range { .. } if to > from => to - TimeDelta::nanoseconds(1),
            _ => to,
        };
        let mut rows = Vec::new();
        let mut day = from.date_naive();
        while day <= last_instant.date_naive() {
            let next = day.checked_add_days(Days::new(1));
            let whole = holds_whole_day(from, to, day);
            let raw = self.insights.day_counts(day);
            let (messages, bubble_opens, errors, source) = match self.daily.get(&day) {
                Some(&agg) if whole && agg.0 + agg.1 > raw.0 + raw.1 => {
                    (agg.0, agg.1, None, "daily")
                }
                _ => (raw.0, raw.1, Some(raw.2), "events"),
            };
            rows.push(DayCount {
                date: day.format("%Y-%m-%d").to_string(),
                messages,
                bubble_opens,
                source: source.to_owned(),
                errors,
            });
            match next {
                Some(next) => day = next,
                None => break,
            }
        }
        rows
    }
}

/// Near-duplicate gaps grouped; a cluster is new when none of its members was asked in the
/// period before (`previous`).
fn clusters(gaps: &Map<String, GapAcc>, previous: Option<&PreviousGaps>) -> Vec<GapCluster> {
    cluster_gaps(
        gaps.iter()
            .map(|(normalized, gap)| GapItem {
                normalized: normalized.clone(),
                question: gap.phrasings.best().unwrap_or(normalized).to_owned(),
                count: gap.count,
                first: gap.first,
                last: gap.last,
            })
            .collect(),
        previous,
    )
}

/// Every topic with its share of the messages, most asked first.
fn topic_distribution(topics: Map<String, u64>, messages: u64) -> Vec<TopicCount> {
    let mut rows: Vec<TopicCount> = topics
        .into_iter()
        .map(|(topic, count)| TopicCount {
            topic,
            count,
            share: ratio(count, messages),
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.topic.cmp(&b.topic)));
    rows
}

/// The [`TOP_GAPS`] most asked gaps, each under its most asked phrasing, with the worker's
/// record of the same key when the input carried one.
fn knowledge_gaps(gaps: Map<String, GapAcc>, records: &GapRecords) -> Vec<KnowledgeGap> {
    let mut rows: Vec<KnowledgeGap> = gaps
        .into_iter()
        .map(|(normalized, gap)| KnowledgeGap {
            question: gap.phrasings.best().unwrap_or(&normalized).to_owned(),
            normalized,
            count: gap.count,
            first_seen: format_timestamp(&gap.first),
            last_seen: format_timestamp(&gap.last),
            history: None,
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.normalized.cmp(&b.normalized)));
    rows.truncate(TOP_GAPS);
    for row in &mut rows {
        row.history = records.history(&row.normalized);
    }
    rows
}

/// Averages, percentiles and the histogram of the three durations.
fn performance(insights: &Insights) -> Performance {
    let [rag, ai, total] = insights.all_times();
    let (avg_rag_time_ms, rag_time_ms) = timing(&rag);
    let (avg_ai_time_ms, ai_time_ms) = timing(&ai);
    let (avg_total_time_ms, total_time_ms) = timing(&total);
    Performance {
        avg_rag_time_ms,
        avg_ai_time_ms,
        avg_total_time_ms,
        rag_time_ms,
        ai_time_ms,
        total_time_ms,
        total_time_histogram: histogram(&total),
    }
}

/// Every error type, most frequent first.
fn errors_by_type_sorted(errors_by_type: Map<String, u64>) -> Vec<ErrorTypeCount> {
    let mut rows: Vec<ErrorTypeCount> = errors_by_type
        .into_iter()
        .map(|(error_type, count)| ErrorTypeCount { error_type, count })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.error_type.cmp(&b.error_type)));
    rows
}

/// The [`TOP_PAGES`] pages with the most messages.
fn top_pages(pages: Map<String, PageAcc>) -> Vec<PageCount> {
    let mut rows: Vec<PageCount> = pages
        .into_iter()
        .map(|(page_url, page)| PageCount {
            page_title: page.titles.best().map(str::to_owned),
            page_url,
            messages: page.messages,
            sessions: page.sessions.len() as u64,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.messages
            .cmp(&a.messages)
            .then(a.page_url.cmp(&b.page_url))
    });
    rows.truncate(TOP_PAGES);
    rows
}

/// The [`TOP_PAGES`] sources with the most sessions: a session counts under its first source
/// (`first_sources`) and under every other it also came from.
fn top_sources(sources: Vec<(String, Set<u32>)>, first_sources: &[u32]) -> Vec<SourceCount> {
    let mut sessions: Vec<u64> = sources.iter().map(|(_, also)| also.len() as u64).collect();
    for &first in first_sources.iter().filter(|&&first| first != 0) {
        sessions[first as usize - 1] += 1;
    }
    let mut rows: Vec<SourceCount> = sources
        .into_iter()
        .zip(sessions)
        .map(|((source, _), sessions)| SourceCount { source, sessions })
        .collect();
    rows.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.source.cmp(&b.source)));
    rows.truncate(TOP_PAGES);
    rows
}

/// The mean and percentiles of `counted` (distinct values with their counts, ascending). The
/// sum adds the samples one by one in ascending order, exactly as over the sorted samples, so
/// it does not depend on the order they were read or merged in.
fn timing(counted: &[(f64, u64)]) -> (Option<f64>, Percentiles) {
    let n: u64 = counted.iter().map(|&(_, k)| k).sum();
    let avg = (n > 0).then(|| {
        let mut sum = 0.0;
        for &(v, k) in counted {
            for _ in 0..k {
                sum += v;
            }
        }
        sum / n as f64
    });
    (
        avg,
        Percentiles {
            samples: n,
            p50: nearest_rank_counted(counted, 50),
            p95: nearest_rank_counted(counted, 95),
            p99: nearest_rank_counted(counted, 99),
        },
    )
}

/// The latency histogram of `counted` (distinct values with their counts, ascending): a value
/// falls in the bucket with `from_ms ≤ value < to_ms` (the last bucket has no end).
fn histogram(counted: &[(f64, u64)]) -> Vec<HistogramBucket> {
    if counted.is_empty() {
        return Vec::new();
    }
    HISTOGRAM_BOUNDS_MS
        .iter()
        .enumerate()
        .map(|(i, &from_ms)| {
            let to_ms = HISTOGRAM_BOUNDS_MS.get(i + 1).copied();
            let count = counted
                .iter()
                // As a partition of the sorted samples: not below `from_ms` (a NaN is not
                // below anything, so it lands in the last bucket), and below `to_ms`.
                .filter(|&&(v, _)| {
                    v.partial_cmp(&from_ms) != Some(Ordering::Less) && to_ms.is_none_or(|to| v < to)
                })
                .map(|&(_, k)| k)
                .sum();
            HistogramBucket {
                from_ms,
                to_ms,
                count,
            }
        })
        .collect()
}
