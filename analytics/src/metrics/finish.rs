//! [`Metrics::finish`]: the accumulated counts become the [`Summary`] — sorting, top-N cuts,
//! percentiles, the days of the window, the previous period.

use super::*;

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

    /// Computes the summary.
    pub fn finish(mut self, generated_at: DateTime<Utc>) -> Summary {
        let (from, to, days) = self.bounds(generated_at);
        // The previous period counts when the input reaches back to its first day.
        let previous = self.previous.take().filter(|p| match p.window {
            Window::Range { from, .. } => self
                .earliest_read
                .is_some_and(|t| t < from + TimeDelta::days(1)),
            Window::All => false,
        });
        let previous_gaps: Option<HashSet<String>> =
            previous.as_ref().map(|p| p.gaps.keys().cloned().collect());
        let gap_clusters = cluster_gaps(
            self.gaps
                .iter()
                .map(|(normalized, gap)| GapItem {
                    normalized: normalized.clone(),
                    question: gap.phrasings.best().unwrap_or(normalized).to_owned(),
                    count: gap.count,
                    first: gap.first,
                    last: gap.last,
                })
                .collect(),
            previous_gaps.as_ref(),
        );
        let previous_period = previous.map(|p| Box::new(p.finish(generated_at)));
        let funnel = self.insights.funnel();
        let suggestions = self.insights.suggestions();
        let activity = self.insights.activity();
        let messages_over_time = self.over_time(from, to);
        let messages = self.messages;

        let mut events_by_type: BTreeMap<String, u64> = BTreeMap::new();
        for (kind, n) in self.events_by_type {
            events_by_type.insert(kind.as_str().to_owned(), n);
        }

        let mut topic_distribution: Vec<TopicCount> = self
            .topics
            .into_iter()
            .map(|(topic, count)| TopicCount {
                topic,
                count,
                share: ratio(count, messages),
            })
            .collect();
        topic_distribution.sort_by(|a, b| b.count.cmp(&a.count).then(a.topic.cmp(&b.topic)));

        let mut knowledge_gaps: Vec<KnowledgeGap> = self
            .gaps
            .into_iter()
            .map(|(normalized, gap)| KnowledgeGap {
                question: gap.phrasings.best().unwrap_or(&normalized).to_owned(),
                normalized,
                count: gap.count,
                first_seen: format_timestamp(&gap.first),
                last_seen: format_timestamp(&gap.last),
            })
            .collect();
        knowledge_gaps.sort_by(|a, b| b.count.cmp(&a.count).then(a.normalized.cmp(&b.normalized)));
        knowledge_gaps.truncate(TOP_GAPS);

        let [rag, ai, total] = self.insights.all_times();
        let (avg_rag_time_ms, rag_time_ms) = timing(&rag);
        let (avg_ai_time_ms, ai_time_ms) = timing(&ai);
        let total_time_histogram = histogram(&total);
        let (avg_total_time_ms, total_time_ms) = timing(&total);

        let mut by_type: Vec<ErrorTypeCount> = self
            .errors_by_type
            .into_iter()
            .map(|(error_type, count)| ErrorTypeCount { error_type, count })
            .collect();
        by_type.sort_by(|a, b| b.count.cmp(&a.count).then(a.error_type.cmp(&b.error_type)));
        let recent = self
            .recent
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(r)| r.error)
            .collect();

        let mut top_pages: Vec<PageCount> = self
            .pages
            .into_iter()
            .map(|(page_url, page)| PageCount {
                page_title: page.titles.best().map(str::to_owned),
                page_url,
                messages: page.messages,
                sessions: page.sessions.len() as u64,
            })
            .collect();
        top_pages.sort_by(|a, b| {
            b.messages
                .cmp(&a.messages)
                .then(a.page_url.cmp(&b.page_url))
        });
        top_pages.truncate(TOP_PAGES);

        let messaging_sessions = self.insights.messaging_sessions();
        let mut source_sessions: Vec<u64> = self
            .sources
            .iter()
            .map(|(_, also)| also.len() as u64)
            .collect();
        for &first in self.first_sources.iter().filter(|&&first| first != 0) {
            source_sessions[first as usize - 1] += 1;
        }
        let mut top_sources: Vec<SourceCount> = self
            .sources
            .into_iter()
            .zip(source_sessions)
            .map(|((source, _), sessions)| SourceCount { source, sessions })
            .collect();
        top_sources.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.source.cmp(&b.source)));
        top_sources.truncate(TOP_PAGES);

        let skipped_total = self.skipped.values().sum();
        let latency_trend = self.insights.latency_trend();
        Summary {
            schema_version: SUMMARY_SCHEMA_VERSION,
            generated_at: format_timestamp(&generated_at),
            window: WindowInfo {
                from: format_timestamp(&from),
                to: format_timestamp(&to),
                days,
                from_data: self.window == Window::All,
            },
            conversation_volume: ConversationVolume {
                messages,
                sessions: self.sessions.len() as u64,
                messaging_sessions,
                messages_per_session: ratio(messages, messaging_sessions),
                bubble_opens: self.bubble_opens,
                events_by_type,
            },
            messages_over_time,
            topic_distribution,
            knowledge_gaps,
            performance: Performance {
                avg_rag_time_ms,
                avg_ai_time_ms,
                avg_total_time_ms,
                rag_time_ms,
                ai_time_ms,
                total_time_ms,
                total_time_histogram,
            },
            errors: Errors {
                error_count: self.error_count,
                error_rate: ratio(self.error_count, messages),
                by_type,
                recent,
                rate_limited: self.rate_limited,
            },
            pages_and_sources: PagesAndSources {
                top_pages,
                top_sources,
            },
            funnel,
            suggestions,
            gap_clusters,
            latency_trend,
            activity,
            data_quality: DataQuality {
                events_read: self.events_read,
                events_in_window: self.events_in_window,
                skipped: skipped_total,
                skipped_by_reason: self
                    .skipped
                    .into_iter()
                    .map(|(reason, n)| (reason.as_str().to_owned(), n))
                    .collect(),
            },
            previous_period,
        }
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
            let start = day.and_time(NaiveTime::MIN).and_utc();
            let whole =
                from <= start && next.is_some_and(|n| n.and_time(NaiveTime::MIN).and_utc() <= to);
            let raw = self.insights.day_counts(day);
            let (messages, bubble_opens, source) = match self.daily.get(&day) {
                Some(&agg) if whole && agg.0 + agg.1 > raw.0 + raw.1 => (agg.0, agg.1, "daily"),
                _ => (raw.0, raw.1, "events"),
            };
            rows.push(DayCount {
                date: day.format("%Y-%m-%d").to_string(),
                messages,
                bubble_opens,
                source: source.to_owned(),
            });
            match next {
                Some(next) => day = next,
                None => break,
            }
        }
        rows
    }
}

/// Whole days from `from` to `to`, rounded up.
fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let secs = (to - from).num_seconds().max(0);
    u32::try_from((secs + 86_399) / 86_400).unwrap_or(u32::MAX)
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
