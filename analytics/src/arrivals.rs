//! When a window's events arrived, exactly enough to find its silent stretches: per hour
//! with an event, the first and the last event time in it. Any stretch without events lies
//! between the last event of one such hour and the first of the next, so the stretches are
//! exact, in memory that grows with the hours of the window, not with its events.

use chrono::{DateTime, TimeDelta, Utc};

use crate::hash::Map;

/// A stretch of time without any event: `from` (an event, or the window's start) to `to` (the
/// next event, or the window's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silence {
    /// The last event before it.
    pub from: DateTime<Utc>,
    /// The next event, or the window's end when none came.
    pub to: DateTime<Utc>,
    /// True when it lasts until the window's end.
    pub until_end: bool,
}

impl Silence {
    /// Its length.
    pub fn length(&self) -> TimeDelta {
        self.to - self.from
    }
}

/// Per hour since the epoch: the first and last event time in it, in milliseconds.
#[derive(Debug, Default)]
pub(crate) struct Arrivals {
    hours: Map<i64, (i64, i64)>,
    /// The hour of the last event, kept out of `hours` until another hour comes: events mostly
    /// come in time order, so most need no lookup.
    current: Option<(i64, (i64, i64))>,
}

impl Arrivals {
    /// Records an event at `ts`.
    pub(crate) fn add(&mut self, ts: DateTime<Utc>) {
        let ms = ts.timestamp_millis();
        let hour = ms.div_euclid(3_600_000);
        match &mut self.current {
            Some((current, span)) if *current == hour => {
                span.0 = span.0.min(ms);
                span.1 = span.1.max(ms);
            }
            _ => {
                if let Some((before, span)) = self.current.replace((hour, (ms, ms))) {
                    self.record(before, span);
                }
            }
        }
    }

    /// Widens the span of `hour` to hold `span`.
    fn record(&mut self, hour: i64, span: (i64, i64)) {
        widen(&mut self.hours, hour, span);
    }

    /// Every hour with its span, the current one included.
    fn all_hours(&self) -> Map<i64, (i64, i64)> {
        let mut hours = self.hours.clone();
        if let Some((hour, span)) = self.current {
            widen(&mut hours, hour, span);
        }
        hours
    }

    /// Folds in the arrivals of another part of the input.
    pub(crate) fn merge(&mut self, other: Arrivals) {
        for (hour, span) in other.all_hours() {
            self.record(hour, span);
        }
    }

    /// Every stretch of at least `min` without an event, in time order: between two events,
    /// and from the last event to `end` when given (a window that ends at a fixed time; the
    /// time before the first event is never counted: its events may have expired, or the site
    /// may be new).
    pub(crate) fn silences(&self, min: TimeDelta, end: Option<DateTime<Utc>>) -> Vec<Silence> {
        let mut spans: Vec<(i64, i64)> = self.all_hours().into_values().collect();
        spans.sort_unstable();
        let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        let mut silences: Vec<Silence> = spans
            .windows(2)
            .map(|pair| Silence {
                from: at(pair[0].1),
                to: at(pair[1].0),
                until_end: false,
            })
            .collect();
        if let (Some(&(_, last)), Some(end)) = (spans.last(), end) {
            silences.push(Silence {
                from: at(last),
                to: end,
                until_end: true,
            });
        }
        silences.retain(|s| s.length() >= min);
        silences
    }
}

/// Widens the span of `hour` in `hours` to hold `(first, last)`.
fn widen(hours: &mut Map<i64, (i64, i64)>, hour: i64, (first, last): (i64, i64)) {
    let span = hours.entry(hour).or_insert((first, last));
    span.0 = span.0.min(first);
    span.1 = span.1.max(last);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::parse_timestamp(text).expect("time")
    }

    #[test]
    fn silences_are_exact_across_hours_and_parts_of_the_input() {
        let mut a = Arrivals::default();
        let mut b = Arrivals::default();
        a.add(at("2026-11-01T10:59:59.999Z"));
        b.add(at("2026-11-01T10:00:00Z"));
        b.add(at("2026-11-02T10:59:59.998Z"));
        a.add(at("2026-11-02T10:59:59.999Z"));
        a.merge(b);
        let day = TimeDelta::hours(24);
        // 10:59:59.999 to 10:59:59.998 the next day: one millisecond short of 24 hours.
        assert_eq!(a.silences(day, None), []);
        assert_eq!(
            a.silences(day - TimeDelta::milliseconds(1), None),
            [Silence {
                from: at("2026-11-01T10:59:59.999Z"),
                to: at("2026-11-02T10:59:59.998Z"),
                until_end: false,
            }]
        );
        let end = at("2026-11-03T10:59:59.999Z");
        assert_eq!(
            a.silences(day, Some(end)),
            [Silence {
                from: at("2026-11-02T10:59:59.999Z"),
                to: end,
                until_end: true,
            }]
        );
    }

    #[test]
    fn no_events_no_silence() {
        assert_eq!(
            Arrivals::default().silences(TimeDelta::zero(), Some(at("2026-11-01T00:00:00Z"))),
            []
        );
    }
}
