//! The building blocks of the report's views, shared by the report and its insight sections:
//! timestamps and numbers formatted for people, labelled rows, headline numbers with their
//! change against a baseline, and tables with their CSV download (`table`). A leaf below
//! [`crate::render`] and [`crate::insight`]: it imports neither.

use analytics::{HistogramBucket, Summary, clean_text};
use serde::Serialize;

pub(crate) mod table;

/// A timestamp: `iso` for `<time datetime>`, `text` for people (UTC, to the minute).
#[derive(Debug, Serialize)]
pub(crate) struct Time {
    pub(crate) iso: String,
    pub(crate) text: String,
}

impl Time {
    pub(crate) fn new(iso: &str) -> Time {
        let text = analytics::parse_timestamp(iso).map_or_else(
            || iso.to_owned(),
            |t| t.format("%Y-%m-%d %H:%M").to_string(),
        );
        Time {
            iso: iso.to_owned(),
            text,
        }
    }
}

/// What a report compares with: a summary of the period before, and how to name it.
#[derive(Debug, Clone, Copy)]
pub struct Baseline<'a> {
    /// Its numbers.
    pub summary: &'a Summary,
    /// "the previous 30 days", "the snapshot of 2026-11-25".
    pub label: &'a str,
}

/// A headline number, with its change against the baseline when there is one.
#[derive(Debug, Serialize)]
pub(crate) struct Kpi {
    pub(crate) label: &'static str,
    pub(crate) value: String,
    pub(crate) delta: Option<Delta>,
}

/// Which headline number a tile shows. Its change is found by what it is, never by its
/// display label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Headline {
    Messages,
    Sessions,
    ChattingSessions,
    MessagesPerSession,
    BubbleOpens,
    ErrorRate,
    FailedMessages,
    RateLimited,
}

impl Headline {
    fn label(self) -> &'static str {
        match self {
            Headline::Messages => "Messages",
            Headline::Sessions => "Sessions",
            Headline::ChattingSessions => "Chatting sessions",
            Headline::MessagesPerSession => "Messages per session",
            Headline::BubbleOpens => "Bubble opens",
            Headline::ErrorRate => "Error rate",
            Headline::FailedMessages => "Failed messages",
            Headline::RateLimited => "Rate-limited",
        }
    }

    /// Its value in `s`, as a number to compare.
    fn value(self, s: &Summary) -> f64 {
        let (volume, errors) = (&s.conversation_volume, &s.errors);
        match self {
            Headline::Messages => volume.messages as f64,
            Headline::Sessions => volume.sessions as f64,
            Headline::ChattingSessions => volume.messaging_sessions as f64,
            Headline::MessagesPerSession => volume.messages_per_session,
            Headline::BubbleOpens => volume.bubble_opens as f64,
            Headline::ErrorRate => errors.error_rate,
            Headline::FailedMessages => errors.error_count as f64,
            Headline::RateLimited => errors.rate_limited as f64,
        }
    }

    /// Its value in `s`, formatted for the tile.
    fn shown(self, s: &Summary) -> String {
        let value = self.value(s);
        match self {
            Headline::MessagesPerSession => format!("{value:.2}"),
            Headline::ErrorRate => pct(value),
            // Counts: whole numbers, exact in an f64 far beyond any real count.
            _ => int(value as u64),
        }
    }

    /// Errors: a fall is good news.
    fn lower_is_better(self) -> bool {
        matches!(
            self,
            Headline::ErrorRate | Headline::FailedMessages | Headline::RateLimited
        )
    }
}

impl Kpi {
    /// The tile of `headline` in `now`, with its change against `baseline`: the number shown
    /// and the number compared are one.
    pub(crate) fn new(headline: Headline, now: &Summary, baseline: Option<&Baseline<'_>>) -> Kpi {
        let delta = baseline.and_then(|b| {
            let d = delta(
                headline.value(now),
                Some(headline.value(b.summary)),
                b.label,
            )?;
            Some(if headline.lower_is_better() {
                d.lower_is_better()
            } else {
                d
            })
        });
        Kpi {
            label: headline.label(),
            value: headline.shown(now),
            delta,
        }
    }
}

/// A label and one formatted number.
#[derive(Debug, Serialize)]
pub(crate) struct Row2 {
    pub(crate) label: String,
    pub(crate) value: String,
}

/// A label, a count and a share.
#[derive(Debug, Serialize)]
pub(crate) struct Row3 {
    pub(crate) label: String,
    pub(crate) count: String,
    pub(crate) share: String,
}

/// A change against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    /// "▲ 12%", "▼ 3.5%", "= 0%".
    pub text: String,
    /// "up", "down" or "same".
    pub direction: &'static str,
    /// "good", "bad" or "neutral": whether the change is welcome, for its colour.
    pub tone: &'static str,
    /// For screen readers: "up 12% on the previous 30 days".
    pub spoken: String,
}

/// The change from `before` to `now`; `None` without a baseline value or when it was 0 (no
/// percentage of nothing).
pub fn delta(now: f64, before: Option<f64>, label: &str) -> Option<Delta> {
    let before = before.filter(|b| b.is_finite() && *b != 0.0)?;
    if !now.is_finite() {
        return None;
    }
    let change = (now - before) / before.abs() * 100.0;
    let size = if change.abs() >= 10.0 {
        format!("{:.0}%", change.abs())
    } else {
        format!("{:.1}%", change.abs())
    };
    let (arrow, direction, word) = if size == "0%" || size == "0.0%" {
        ("=", "same", "unchanged")
    } else if change > 0.0 {
        ("▲", "up", "up")
    } else {
        ("▼", "down", "down")
    };
    let tone = match direction {
        "up" => "good",
        "down" => "bad",
        _ => "neutral",
    };
    Some(Delta {
        text: format!("{arrow} {size}"),
        direction,
        tone,
        spoken: if direction == "same" {
            format!("unchanged on {label}")
        } else {
            format!("{word} {size} on {label}")
        },
    })
}

impl Delta {
    /// The same change for a number where less is better (errors).
    fn lower_is_better(mut self) -> Delta {
        self.tone = match self.tone {
            "good" => "bad",
            "bad" => "good",
            other => other,
        };
        self
    }
}

/// The columns of `gaps.csv` (the gap table's download and the file written beside the
/// report): the gap's own, then its worker record's (`history`) when a gap of the list has one.
/// Header and records come from here alone, so they cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GapColumns {
    /// The history columns are there.
    pub(crate) history: bool,
}

impl GapColumns {
    /// The columns for `gaps`: without history columns unless a gap carries a record.
    pub(crate) fn of(gaps: &[analytics::KnowledgeGap]) -> GapColumns {
        GapColumns {
            history: gaps.iter().any(|g| g.history.is_some()),
        }
    }

    /// The header row.
    pub(crate) fn header(self) -> Vec<&'static str> {
        let mut header = vec!["question", "normalized", "count", "firstSeen", "lastSeen"];
        if self.history {
            header.extend(["historyCount", "historyFirstSeen", "historyLastSeen"]);
        }
        header
    }

    /// One gap as a record: its history cells are empty when it has no record.
    pub(crate) fn record(self, gap: &analytics::KnowledgeGap) -> Vec<String> {
        let mut record = vec![
            gap.question.clone(),
            gap.normalized.clone(),
            gap.count.to_string(),
            gap.first_seen.clone(),
            gap.last_seen.clone(),
        ];
        if self.history {
            let history = gap.history.as_ref();
            record.extend([
                history.map_or_else(String::new, |h| h.count.to_string()),
                history.map_or_else(String::new, |h| h.first_seen.clone()),
                history.map_or_else(String::new, |h| h.last_seen.clone()),
            ]);
        }
        record
    }
}

pub(crate) fn row2(label: &str, value: String) -> Row2 {
    Row2 {
        label: clean_text(label),
        value,
    }
}

/// `12345` → `12,345`.
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0.0234` → `2.3%`.
pub fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Milliseconds for people: `—` when unknown, `850 ms`, `1.24 s`.
pub fn ms(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if v < 1000.0 => format!("{v:.0} ms"),
        Some(v) => format!("{:.2} s", v / 1000.0),
    }
}

pub(crate) fn bucket_label(b: &HistogramBucket) -> String {
    let short = |v: f64| {
        if v >= 1000.0 {
            format!("{}s", v / 1000.0)
        } else {
            format!("{v}")
        }
    };
    match b.to_ms {
        Some(to) => format!("{}–{}", short(b.from_ms), short(to)),
        None => format!("≥{}", short(b.from_ms)),
    }
}

/// One row's change against the baseline: a delta, or "new" when the row was not in the
/// baseline's complete list. Neither when the baseline's list was cut off before it could show
/// the row (a top-N list) or when the baseline value was 0.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Change {
    pub(crate) delta: Option<Delta>,
    pub(crate) new: bool,
}

/// The changes of the top tables' rows, each list in the order of the summary's list it is
/// computed from, which is also the order of the table built from that list: each table takes
/// its list once, where it is built ([`crate::view::table::Table::compared`]). `None` without a
/// baseline, which hides the change column.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub(crate) topics: Option<Vec<Change>>,
    pub(crate) suggestions: Option<Vec<Change>>,
    pub(crate) gaps: Option<Vec<Change>>,
    pub(crate) error_types: Option<Vec<Change>>,
    pub(crate) pages: Option<Vec<Change>>,
    pub(crate) sources: Option<Vec<Change>>,
}

impl Changes {
    /// The changes of `s` against `baseline`; every list `None` without one.
    pub(crate) fn new(s: &Summary, baseline: Option<&Baseline<'_>>) -> Changes {
        let Some(b) = baseline else {
            return Changes::default();
        };
        let was = b.summary;
        let label = b.label;
        Changes {
            topics: Some(row_changes(
                &s.topic_distribution,
                &was.topic_distribution,
                None,
                label,
                |t| (t.topic.as_str(), t.count),
            )),
            suggestions: Some(row_changes(
                &s.suggestions,
                &was.suggestions,
                Some(analytics::TOP_SUGGESTIONS),
                label,
                |q| (q.question.as_str(), q.clicks),
            )),
            // Gaps are matched by their question: without it on either side, no change.
            gaps: (s.text_removed.is_none() && was.text_removed.is_none()).then(|| {
                row_changes(
                    &s.knowledge_gaps,
                    &was.knowledge_gaps,
                    Some(analytics::TOP_GAPS),
                    label,
                    |g| (g.normalized.as_str(), g.count),
                )
                .into_iter()
                .map(Change::lower_is_better)
                .collect()
            }),
            error_types: Some(
                row_changes(&s.errors.by_type, &was.errors.by_type, None, label, |e| {
                    (e.error_type.as_str(), e.count)
                })
                .into_iter()
                .map(Change::lower_is_better)
                .collect(),
            ),
            pages: Some(row_changes(
                &s.pages_and_sources.top_pages,
                &was.pages_and_sources.top_pages,
                Some(analytics::TOP_PAGES),
                label,
                |p| (p.page_url.as_str(), p.messages),
            )),
            sources: Some(row_changes(
                &s.pages_and_sources.top_sources,
                &was.pages_and_sources.top_sources,
                Some(analytics::TOP_PAGES),
                label,
                |src| (src.source.as_str(), src.sessions),
            )),
        }
    }
}

impl Change {
    pub(crate) fn lower_is_better(self) -> Change {
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
