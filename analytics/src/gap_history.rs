//! The worker's knowledge-gap records as an input carries them: [`GapSummary`] (what the
//! rollup writes beside each `gaps:{hash}` record and the export envelope's `gaps` lists), and
//! the records of one input gathered by key, so that each of the window's gaps can show its
//! [`GapHistory`] next to its count in the window.
//!
//! A record only annotates: it never makes a gap of its own, and a gap without a record has no
//! history. Below both `rollup` (which writes the summaries) and `metrics` (which reads them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::format_timestamp;
use crate::hash::Map;
use crate::summary::GapHistory;

/// A knowledge gap's numbers over a span: one day in a [`crate::DayRollup`], or the days a
/// [`crate::GapRecord`] keeps, as the export's `gaps` array lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GapSummary {
    /// The grouping key ([`crate::normalize_question`]), cut to fit KV metadata when long.
    pub normalized: String,
    /// A phrasing as asked (for a day: its most frequent, tie: the earliest).
    pub question: String,
    /// Times asked in the span.
    pub count: u64,
    /// First time asked.
    pub first_seen: DateTime<Utc>,
    /// Last time asked.
    pub last_seen: DateTime<Utc>,
}

/// The gap records of one input, by normalised question.
///
/// One key listed twice (the same export page read twice, pages of two exports joined, or two
/// long questions whose keys were cut to the same text) keeps the **larger count** and the
/// **widest span** (earliest first, latest last seen), never the sum: reading a record again
/// changes nothing, and the result does not depend on the order records arrive or partial
/// accumulators merge.
#[derive(Debug, Default)]
pub(crate) struct GapRecords(Map<String, (u64, DateTime<Utc>, DateTime<Utc>)>);

impl GapRecords {
    /// Takes in one record.
    pub(crate) fn add(&mut self, gap: &GapSummary) {
        self.insert(&gap.normalized, (gap.count, gap.first_seen, gap.last_seen));
    }

    fn insert(&mut self, key: &str, (count, first, last): (u64, DateTime<Utc>, DateTime<Utc>)) {
        match self.0.get_mut(key) {
            Some(mine) => {
                mine.0 = mine.0.max(count);
                mine.1 = mine.1.min(first);
                mine.2 = mine.2.max(last);
            }
            None => {
                self.0.insert(key.to_owned(), (count, first, last));
            }
        }
    }

    /// Folds in the records another part of the input gathered, by the same rule.
    pub(crate) fn merge(&mut self, other: GapRecords) {
        for (key, record) in other.0 {
            self.insert(&key, record);
        }
    }

    /// The history of the gap grouped under `normalized`, when a record has that exact key.
    pub(crate) fn history(&self, normalized: &str) -> Option<GapHistory> {
        self.0
            .get(normalized)
            .map(|&(count, first, last)| GapHistory {
                count,
                first_seen: format_timestamp(&first),
                last_seen: format_timestamp(&last),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(normalized: &str, count: u64, first: &str, last: &str) -> GapSummary {
        GapSummary {
            normalized: normalized.to_owned(),
            question: normalized.to_owned(),
            count,
            first_seen: crate::parse_timestamp(first).expect("time"),
            last_seen: crate::parse_timestamp(last).expect("time"),
        }
    }

    #[test]
    fn a_key_listed_twice_keeps_the_larger_count_and_the_widest_span_in_any_order() {
        let a = record("go", 7, "2026-09-01T10:00:00Z", "2026-11-20T10:00:00Z");
        let b = record("go", 4, "2026-08-15T10:00:00Z", "2026-11-01T10:00:00Z");
        let expected = Some(GapHistory {
            count: 7,
            first_seen: "2026-08-15T10:00:00Z".to_owned(),
            last_seen: "2026-11-20T10:00:00Z".to_owned(),
        });
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut one = GapRecords::default();
            one.add(x);
            one.add(y);
            assert_eq!(one.history("go"), expected);
            let (mut left, mut right) = (GapRecords::default(), GapRecords::default());
            left.add(x);
            right.add(y);
            left.merge(right);
            assert_eq!(left.history("go"), expected);
        }
        let mut twice = GapRecords::default();
        twice.add(&a);
        twice.add(&a);
        assert_eq!(twice.history("go").map(|h| h.count), Some(7), "not 14");
    }

    #[test]
    fn only_the_exact_key_matches() {
        let mut records = GapRecords::default();
        records.add(&record(
            "do you know go",
            3,
            "2026-11-01T10:00:00Z",
            "2026-11-02T10:00:00Z",
        ));
        assert!(records.history("do you know go").is_some());
        assert_eq!(records.history("do you know"), None);
        assert_eq!(records.history("do you know go lang"), None);
        assert_eq!(
            records.history("Do you know Go?"),
            None,
            "keys are normalised"
        );
    }
}
