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
    pub(crate) fn lower_is_better(mut self) -> Delta {
        self.tone = match self.tone {
            "good" => "bad",
            "bad" => "good",
            other => other,
        };
        self
    }
}

/// The columns of `gaps.csv`, the gap table's download and the file written beside the report.
pub(crate) const GAPS_CSV_HEADER: [&str; 5] =
    ["question", "normalized", "count", "firstSeen", "lastSeen"];

/// One knowledge gap as a record of `gaps.csv`.
pub(crate) fn gap_record(gap: &analytics::KnowledgeGap) -> Vec<String> {
    vec![
        gap.question.clone(),
        gap.normalized.clone(),
        gap.count.to_string(),
        gap.first_seen.clone(),
        gap.last_seen.clone(),
    ]
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
