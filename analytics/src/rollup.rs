//! The scheduled rollup: a day's raw events become its `daily:` aggregate and updates to the
//! `gaps:` records. Every output is a function of the day's events alone, so running the
//! rollup twice writes the same values: it is idempotent, as KV (no atomic increment, one
//! write per second per key) requires.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::daily::DailyAggregate;
use crate::event::{Event, EventType};
use crate::gap_history::GapSummary;
use crate::metrics::normalize_question;
use crate::phrasings::Phrasings;

/// One knowledge gap as stored under `gaps:{hash}`. Counts are kept per day so a rerun
/// replaces a day's count instead of adding to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GapRecord {
    /// The grouping key.
    pub normalized: String,
    /// A phrasing as asked (the most frequent on the day the record was created).
    pub question: String,
    /// First time ever asked (kept when that day leaves the retained counts).
    pub first_seen: DateTime<Utc>,
    /// Last time asked.
    pub last_seen: DateTime<Utc>,
    /// Times asked per UTC day.
    pub days: BTreeMap<NaiveDate, u64>,
}

impl GapRecord {
    /// Times asked over the days kept.
    pub fn count(&self) -> u64 {
        self.days.values().sum()
    }

    /// The record without its per-day counts, its text cut until the JSON fits in KV metadata
    /// ([`crate::METADATA_LIMIT`] bytes), so one list call reads up to 1,000 of them.
    pub fn summary(&self) -> GapSummary {
        let mut chars = 200;
        loop {
            let cut = |text: &str| crate::text::truncate_chars(text, chars).into_owned();
            let summary = GapSummary {
                normalized: cut(&self.normalized),
                question: cut(&self.question),
                count: self.count(),
                first_seen: self.first_seen,
                last_seen: self.last_seen,
            };
            let size = serde_json::to_string(&summary).map_or(usize::MAX, |j| j.len());
            if size <= crate::keys::METADATA_LIMIT || chars == 0 {
                return summary;
            }
            chars /= 2;
        }
    }
}

/// What one day's events roll up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRollup {
    /// Counts by event type.
    pub daily: DailyAggregate,
    /// The day's knowledge gaps, most asked first (then by key).
    pub gaps: Vec<GapSummary>,
}

/// Rolls up the events of `day` (events of other days are ignored).
pub fn rollup_day<'a>(day: NaiveDate, events: impl IntoIterator<Item = &'a Event>) -> DayRollup {
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut gaps: HashMap<String, (u64, DateTime<Utc>, DateTime<Utc>, Phrasings)> = HashMap::new();
    for event in events {
        if event.timestamp.date_naive() != day {
            continue;
        }
        *by_type
            .entry(event.event_type.as_str().to_owned())
            .or_default() += 1;
        if event.event_type != EventType::MessageSent || event.no_rag_match != Some(true) {
            continue;
        }
        let Some(question) = event.question.as_deref() else {
            continue;
        };
        let key = normalize_question(question);
        if key.is_empty() {
            continue;
        }
        let ts = event.timestamp;
        let gap = gaps
            .entry(key)
            .or_insert_with(|| (0, ts, ts, Phrasings::default()));
        gap.0 += 1;
        gap.1 = gap.1.min(ts);
        gap.2 = gap.2.max(ts);
        gap.3.add(question, ts);
    }
    let mut gaps: Vec<GapSummary> = gaps
        .into_iter()
        .map(
            |(normalized, (count, first_seen, last_seen, phrasings))| GapSummary {
                question: phrasings.best().unwrap_or(&normalized).to_owned(),
                normalized,
                count,
                first_seen,
                last_seen,
            },
        )
        .collect();
    gaps.sort_by(|a, b| b.count.cmp(&a.count).then(a.normalized.cmp(&b.normalized)));
    DayRollup {
        daily: DailyAggregate {
            date: day,
            events_by_type: by_type,
        },
        gaps,
    }
}

/// The record for `gap` after its day is (re)applied to `existing`: that day's count is set,
/// days before `keep_from` are dropped. Applying the same day twice changes nothing.
pub fn merge_gap(
    existing: Option<GapRecord>,
    day: NaiveDate,
    gap: &GapSummary,
    keep_from: NaiveDate,
) -> GapRecord {
    let mut record = existing.unwrap_or_else(|| GapRecord {
        normalized: gap.normalized.clone(),
        question: gap.question.clone(),
        first_seen: gap.first_seen,
        last_seen: gap.last_seen,
        days: BTreeMap::new(),
    });
    record.days.insert(day, gap.count);
    record.days.retain(|d, _| *d >= keep_from);
    record.first_seen = record.first_seen.min(gap.first_seen);
    record.last_seen = record.last_seen.max(gap.last_seen);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::parse_timestamp(text).expect("time")
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn gap(ts: &str, question: &str) -> Event {
        let mut e = Event::new(at(ts), EventType::MessageSent);
        e.question = Some(question.into());
        e.no_rag_match = Some(true);
        e
    }

    #[test]
    fn a_day_rolls_up_to_counts_by_type_and_its_gaps() {
        let events = [
            gap("2026-11-25T10:00:00Z", "Do you know Go?"),
            gap("2026-11-25T11:00:00Z", "do you know go"),
            gap("2026-11-25T12:00:00Z", "do you know go"),
            Event::new(at("2026-11-25T09:00:00Z"), EventType::BubbleOpened),
            gap("2026-11-26T00:00:00Z", "Other day?"),
        ];
        let rollup = rollup_day(date("2026-11-25"), &events);
        assert_eq!(rollup.daily.count("message_sent"), 3);
        assert_eq!(rollup.daily.count("bubble_opened"), 1);
        assert_eq!(rollup.gaps.len(), 1);
        let g = &rollup.gaps[0];
        assert_eq!(
            (g.normalized.as_str(), g.question.as_str(), g.count),
            ("do you know go", "do you know go", 3)
        );
        assert_eq!(g.first_seen, at("2026-11-25T10:00:00Z"));
        assert_eq!(g.last_seen, at("2026-11-25T12:00:00Z"));
    }

    #[test]
    fn a_gap_summary_fits_in_metadata_whatever_its_script() {
        let question = "漢".repeat(500);
        let rollup = rollup_day(
            date("2026-11-25"),
            &[gap("2026-11-25T10:00:00Z", &question)],
        );
        let record = merge_gap(
            None,
            date("2026-11-25"),
            &rollup.gaps[0],
            date("2026-08-27"),
        );
        let json = serde_json::to_string(&record.summary()).expect("json");
        assert!(
            json.len() <= crate::keys::METADATA_LIMIT,
            "{} bytes",
            json.len()
        );
    }

    #[test]
    fn merging_the_same_day_twice_is_idempotent() {
        let rollup = rollup_day(date("2026-11-25"), &[gap("2026-11-25T10:00:00Z", "Go?")]);
        let keep = date("2026-08-27");
        let once = merge_gap(None, date("2026-11-25"), &rollup.gaps[0], keep);
        let twice = merge_gap(
            Some(once.clone()),
            date("2026-11-25"),
            &rollup.gaps[0],
            keep,
        );
        assert_eq!(once, twice);
        assert_eq!(twice.count(), 1);
    }

    #[test]
    fn merging_adds_other_days_and_drops_expired_ones() {
        let day1 = rollup_day(date("2026-08-01"), &[gap("2026-08-01T10:00:00Z", "Go?")]);
        let day2 = rollup_day(
            date("2026-11-25"),
            &[
                gap("2026-11-25T10:00:00Z", "go"),
                gap("2026-11-25T11:00:00Z", "Go!"),
            ],
        );
        let old = merge_gap(None, date("2026-08-01"), &day1.gaps[0], date("2026-05-01"));
        let merged = merge_gap(
            Some(old),
            date("2026-11-25"),
            &day2.gaps[0],
            date("2026-08-27"),
        );
        assert_eq!(
            merged.count(),
            2,
            "the August day is past the 90-day retention"
        );
        assert_eq!(merged.first_seen, at("2026-08-01T10:00:00Z"));
        assert_eq!(merged.last_seen, at("2026-11-25T11:00:00Z"));
        assert_eq!(merged.question, "Go?", "the first phrasing stays");
    }
}
