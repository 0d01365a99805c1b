//! Each knowledge gap's life across the archive: whether a top gap of this report is new,
//! rising, steady or regressed (resolved in an earlier report, back now), and which gaps of
//! the last report are resolved — gone from this one's top gaps. The feedback a site owner
//! needs after updating the knowledge base. Snapshots whose visitors' text was removed hold
//! no questions to follow, and are left out.

use std::collections::HashMap;

use analytics::Summary;
use serde::Serialize;

/// Where a top gap stands against the earlier reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In no earlier report's top gaps.
    New,
    /// In the last report's, and asked at least [`RISING_FACTOR`] times as often now (and at
    /// least [`RISING_MIN`] more times).
    Rising,
    /// In the last report's, not rising.
    Steady,
    /// In an earlier report's but not the last one's: it was resolved, and it is back.
    Regressed,
}

/// How many times as often a gap must be asked to be rising.
pub const RISING_FACTOR: f64 = 1.5;
/// How many more times a gap must be asked to be rising (a quiet gap going 1 → 2 is not).
pub const RISING_MIN: u64 = 3;

/// A gap of the last report that is not among this one's top gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The question as the last report showed it.
    pub question: String,
    /// Times asked in the last report's window.
    pub count: u64,
}

/// The gaps' life against the earlier reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// The last report compared with (its snapshot date).
    pub since: String,
    /// Each of this report's top gaps, by normalised question.
    pub status: HashMap<String, Status>,
    /// The last report's gaps that are gone, most asked first.
    pub resolved: Vec<Resolved>,
}

/// An earlier snapshot.
struct Earlier<'a> {
    date: &'a str,
    summary: &'a Summary,
}

/// Each gap of `s` by its normalised question: times asked.
fn counts(s: &Summary) -> HashMap<&str, u64> {
    s.knowledge_gaps
        .iter()
        .map(|g| (g.normalized.as_str(), g.count))
        .collect()
}

/// The lifecycle of `current`'s top gaps against the `earlier` snapshots (date and summary,
/// oldest first, all before it); `None` without an earlier snapshot that still holds its
/// questions, or when `current`'s own text was removed.
pub fn lifecycle(current: &Summary, earlier: &[(&str, &Summary)]) -> Option<Lifecycle> {
    if current.text_removed.is_some() {
        return None;
    }
    let earlier: Vec<Earlier<'_>> = earlier
        .iter()
        .filter(|(_, s)| s.text_removed.is_none())
        .map(|&(date, summary)| Earlier { date, summary })
        .collect();
    let (last, before) = earlier.split_last()?;
    let in_last = counts(last.summary);
    let status = current
        .knowledge_gaps
        .iter()
        .map(|g| {
            let status = match in_last.get(g.normalized.as_str()) {
                Some(&was) if rising(was, g.count) => Status::Rising,
                Some(_) => Status::Steady,
                None if before.iter().any(|s| {
                    s.summary
                        .knowledge_gaps
                        .iter()
                        .any(|e| e.normalized == g.normalized)
                }) =>
                {
                    Status::Regressed
                }
                None => Status::New,
            };
            (g.normalized.clone(), status)
        })
        .collect();
    let now = counts(current);
    let mut resolved: Vec<Resolved> = last
        .summary
        .knowledge_gaps
        .iter()
        .filter(|g| !now.contains_key(g.normalized.as_str()))
        .map(|g| Resolved {
            question: g.question.clone(),
            count: g.count,
        })
        .collect();
    resolved.sort_by(|a, b| b.count.cmp(&a.count).then(a.question.cmp(&b.question)));
    Some(Lifecycle {
        since: last.date.to_owned(),
        status,
        resolved,
    })
}

fn rising(was: u64, now: u64) -> bool {
    now >= was + RISING_MIN && now as f64 >= was as f64 * RISING_FACTOR
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::{Event, EventType, Metrics, Window, parse_timestamp};

    /// A summary whose gaps are `asked` (question, times).
    fn summary(asked: &[(&str, u64)]) -> Summary {
        let now = parse_timestamp("2026-11-26T06:00:00Z").expect("time");
        let mut metrics = Metrics::new(Window::last_days(now, 30));
        for (question, times) in asked {
            for _ in 0..*times {
                let mut e = Event::new(now - chrono::TimeDelta::days(1), EventType::MessageSent);
                e.question = Some((*question).to_owned());
                e.no_rag_match = Some(true);
                metrics.add(&e);
            }
        }
        metrics.finish(now)
    }

    fn snapshot(date: &str, asked: &[(&str, u64)]) -> (String, Summary) {
        (date.to_owned(), summary(asked))
    }

    fn refs(all: &[(String, Summary)]) -> Vec<(&str, &Summary)> {
        all.iter().map(|(d, s)| (d.as_str(), s)).collect()
    }

    fn status(l: &Lifecycle, question: &str) -> Status {
        l.status[&analytics::normalize_question(question)]
    }

    #[test]
    fn new_rising_steady_regressed_and_resolved() {
        let earlier = [
            snapshot("2026-11-24", &[("Do you ship abroad?", 4), ("Refunds?", 2)]),
            snapshot("2026-11-25", &[("Refunds?", 2), ("Opening hours?", 5)]),
        ];
        let now = summary(&[
            ("Do you ship abroad?", 3),
            ("Refunds?", 6),
            ("Gift cards?", 1),
        ]);
        let l = lifecycle(&now, &refs(&earlier)).expect("earlier snapshots");
        assert_eq!(l.since, "2026-11-25");
        assert_eq!(status(&l, "Do you ship abroad?"), Status::Regressed);
        assert_eq!(status(&l, "Refunds?"), Status::Rising);
        assert_eq!(status(&l, "Gift cards?"), Status::New);
        assert_eq!(
            l.resolved,
            [Resolved {
                question: "Opening hours?".into(),
                count: 5
            }]
        );
    }

    #[test]
    fn the_minimum_keeps_a_quiet_gap_steady() {
        let earlier = [snapshot("2026-11-25", &[("Refunds?", 1)])];
        let l = lifecycle(&summary(&[("Refunds?", 2)]), &refs(&earlier)).expect("lifecycle");
        assert_eq!(
            status(&l, "Refunds?"),
            Status::Steady,
            "1 → 2 is not rising"
        );
        let l = lifecycle(&summary(&[("Refunds?", 4)]), &refs(&earlier)).expect("lifecycle");
        assert_eq!(status(&l, "Refunds?"), Status::Rising, "1 → 4 is");
    }

    #[test]
    fn without_earlier_text_there_is_no_lifecycle() {
        assert_eq!(lifecycle(&summary(&[("Refunds?", 1)]), &[]), None);
        let mut cleaned = snapshot("2026-11-25", &[("Refunds?", 1)]);
        analytics::remove_visitor_text(&mut cleaned.1, "2027-03-01T00:00:00Z", 90);
        assert_eq!(
            lifecycle(&summary(&[("Refunds?", 1)]), &refs(&[cleaned])),
            None
        );
    }
}
