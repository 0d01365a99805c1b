//! Alerts: what in a window stands out enough to tell the admin without their opening the
//! report. Each is decided from the summary's own numbers (and the window's silent
//! stretches) with the fixed thresholds below, so the same input always raises the same
//! alerts; `docs/metrics.md` ("Alerts") states the method. Every kind has a minimum sample
//! below which it stays quiet: a small site's one failed message is no alarm.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

use crate::arrivals::Silence;
use crate::event::parse_timestamp;
use crate::summary::{Alert, AlertKind, DayCount, Severity, Summary};
use crate::window::holds_whole_day;

/// Error-rate spike: a day needs this many messages…
pub const ERROR_MIN_MESSAGES: u64 = 20;
/// …and this many failed ones to be judged.
pub const ERROR_MIN_FAILED: u64 = 5;
/// The other days (each with [`ERROR_MIN_MESSAGES`]) needed for a baseline.
pub const ERROR_MIN_OTHER_DAYS: usize = 5;
/// A day's rate must exceed the other days' median by this many robust standard deviations
/// (1.4826 × their median absolute deviation)…
pub const ERROR_MAD_FACTOR: f64 = 4.0;
/// …and by at least this much (10 percentage points), so a window of flawless days does not
/// make one ordinary failure a spike.
pub const ERROR_MIN_RISE: f64 = 0.10;
/// No events: the shortest silence that alerts.
pub const SILENCE_HOURS: i64 = 24;
/// No events: the events a day (on average, outside the silences) that make a day's silence
/// unlikely by chance.
pub const SILENCE_MIN_EVENTS_PER_DAY: f64 = 48.0;
/// Latency regression: samples needed in the window and in the previous period.
pub const LATENCY_MIN_SAMPLES: u64 = 50;
/// Latency regression: the window's P95 must be at least this times the previous period's…
pub const LATENCY_FACTOR: f64 = 1.5;
/// …and at least this many milliseconds above it.
pub const LATENCY_MIN_RISE_MS: f64 = 250.0;
/// Latency regression: a day's P95 counts for the start day only with this many messages.
pub const LATENCY_MIN_DAY_MESSAGES: u64 = 20;
/// Volume drop: a whole day below this share of its weekday's usual level…
pub const VOLUME_FACTOR: f64 = 0.3;
/// …when that level is at least this many messages…
pub const VOLUME_MIN_BASELINE: f64 = 20.0;
/// …from at least this many other whole days of the same weekday.
pub const VOLUME_MIN_SAME_WEEKDAYS: usize = 2;
/// Surging gap: a group asked at least this often…
pub const GAP_MIN_COUNT: u64 = 10;
/// …that is new this period or at least this many times its previous count.
pub const GAP_SURGE_FACTOR: u64 = 3;

/// What alerts are decided from beyond the summary's own numbers.
pub(crate) struct Facts<'a> {
    /// The window's stretches of [`SILENCE_HOURS`] or more without an event.
    pub(crate) silences: &'a [Silence],
    /// The window's first event.
    pub(crate) first_event: Option<DateTime<Utc>>,
    /// The period before, the baseline of latency, volume and gaps: the summary's
    /// `previousPeriod`, or else an earlier report (see [`crate::Metrics::compare_with`]).
    pub(crate) before: Option<Before<'a>>,
}

/// An earlier report of the period before the window (see [`crate::Metrics::compare_with`]).
#[derive(Debug)]
pub(crate) struct Earlier {
    /// How messages name it: "the report of 2026-10-27".
    pub(crate) label: String,
    pub(crate) summary: Summary,
}

/// A period before the window, and how a message names it.
#[derive(Clone, Copy)]
pub(crate) struct Before<'a> {
    pub(crate) summary: &'a Summary,
    /// "the previous 30 days", "the report of 2026-10-27".
    pub(crate) label: &'a str,
}

/// The alerts of `summary`: most severe first, then by day, kind, and the larger value.
pub(crate) fn detect(summary: &Summary, facts: &Facts<'_>) -> Vec<Alert> {
    let mut alerts = error_spikes(summary);
    alerts.extend(no_events(summary, facts));
    alerts.extend(latency_regression(summary, facts.before));
    alerts.extend(volume_drops(summary, facts));
    alerts.extend(surging_gaps(summary, facts.before));
    alerts.sort_by(|a, b| {
        (a.severity, &a.day, a.kind)
            .cmp(&(b.severity, &b.day, b.kind))
            .then(b.value.total_cmp(&a.value))
    });
    alerts
}

/// The median of `values` (sorted here), `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

fn error_spikes(summary: &Summary) -> Vec<Alert> {
    let judged: Vec<&DayCount> = summary
        .messages_over_time
        .iter()
        .filter(|d| d.errors.is_some() && d.messages >= ERROR_MIN_MESSAGES)
        .collect();
    let failed = |d: &DayCount| d.errors.unwrap_or(0);
    let rate = |d: &DayCount| failed(d) as f64 / d.messages as f64;
    let mut alerts = Vec::new();
    for day in judged.iter().filter(|d| failed(d) >= ERROR_MIN_FAILED) {
        let mut others: Vec<f64> = judged
            .iter()
            .filter(|d| d.date != day.date)
            .map(|d| rate(d))
            .collect();
        if others.len() < ERROR_MIN_OTHER_DAYS {
            continue;
        }
        let Some(baseline) = median(&mut others) else {
            continue;
        };
        let mut deviations: Vec<f64> = others.iter().map(|r| (r - baseline).abs()).collect();
        let mad = median(&mut deviations).unwrap_or(0.0);
        let threshold = baseline + (ERROR_MAD_FACTOR * 1.4826 * mad).max(ERROR_MIN_RISE);
        let value = rate(day);
        if value > threshold {
            alerts.push(Alert {
                kind: AlertKind::ErrorRateSpike,
                severity: Severity::Critical,
                day: Some(day.date.clone()),
                metric: "messagesOverTime.errors".to_owned(),
                value,
                baseline,
                message: format!(
                    "On {}, {} of {} messages failed ({}), against a median of {} on the \
                     window's other {} days.",
                    day.date,
                    failed(day),
                    day.messages,
                    percent(value),
                    percent(baseline),
                    others.len()
                ),
                subject: None,
            });
        }
    }
    alerts
}

/// The events a day of `summary` outside `silences`, counted from `first` (its first event)
/// to the window's end.
fn events_per_day(summary: &Summary, first: DateTime<Utc>, silences: &[Silence]) -> Option<f64> {
    let to = parse_timestamp(&summary.window.to)?;
    let silent: TimeDelta = silences.iter().map(Silence::length).sum();
    let active_days = ((to - first) - silent).num_seconds() as f64 / 86_400.0;
    Some(summary.data_quality.events_in_window as f64 / active_days.max(1.0))
}

fn no_events(summary: &Summary, facts: &Facts<'_>) -> Vec<Alert> {
    let Some(first) = facts.first_event else {
        return empty_window(summary, facts.before).into_iter().collect();
    };
    let Some(per_day) = events_per_day(summary, first, facts.silences) else {
        return Vec::new();
    };
    if per_day < SILENCE_MIN_EVENTS_PER_DAY {
        return Vec::new();
    }
    facts
        .silences
        .iter()
        .map(|s| {
            let hours = s.length().num_seconds() as f64 / 3600.0;
            let until = if s.until_end {
                format!("the window's end, {}", stamp(s.to))
            } else {
                stamp(s.to)
            };
            Alert {
                kind: AlertKind::NoEvents,
                severity: Severity::Critical,
                day: Some(s.from.format("%Y-%m-%d").to_string()),
                metric: "hoursWithoutEvents".to_owned(),
                value: (hours * 10.0).round() / 10.0,
                baseline: SILENCE_HOURS as f64,
                message: format!(
                    "No events at all from {} to {until} ({hours:.1} hours), where the window \
                     otherwise had {per_day:.0} a day: the widget or the worker is probably \
                     broken.",
                    stamp(s.from)
                ),
                subject: None,
            }
        })
        .collect()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A `--days` window without a single event, after a period before that had the traffic a
/// silence alert needs: silent all along.
fn empty_window(summary: &Summary, before: Option<Before<'_>>) -> Option<Alert> {
    let before = before?;
    let (from, to) = (
        parse_timestamp(&summary.window.from)?,
        parse_timestamp(&summary.window.to)?,
    );
    let days = (to - from).num_seconds() as f64 / 86_400.0;
    let earlier = before.summary.data_quality.events_in_window as f64
        / (before.summary.window.days.max(1) as f64);
    if summary.window.from_data || days * 24.0 < SILENCE_HOURS as f64 {
        return None;
    }
    if earlier < SILENCE_MIN_EVENTS_PER_DAY {
        return None;
    }
    let hours = days * 24.0;
    Some(Alert {
        kind: AlertKind::NoEvents,
        severity: Severity::Critical,
        day: Some(from.format("%Y-%m-%d").to_string()),
        metric: "hoursWithoutEvents".to_owned(),
        value: (hours * 10.0).round() / 10.0,
        baseline: SILENCE_HOURS as f64,
        message: format!(
            "No events at all in the window, from {} to {} ({hours:.1} hours), where {} had \
             {earlier:.0} a day: the widget or the worker is probably broken.",
            stamp(from),
            stamp(to),
            before.label
        ),
        subject: None,
    })
}

fn latency_regression(summary: &Summary, before: Option<Before<'_>>) -> Option<Alert> {
    let Before {
        summary: previous,
        label,
    } = before?;
    let now = &summary.performance.total_time_ms;
    let then = &previous.performance.total_time_ms;
    if now.samples < LATENCY_MIN_SAMPLES || then.samples < LATENCY_MIN_SAMPLES {
        return None;
    }
    let (value, baseline) = (now.p95?, then.p95?);
    let threshold = baseline * LATENCY_FACTOR;
    if baseline <= 0.0 || value < threshold || value - baseline < LATENCY_MIN_RISE_MS {
        return None;
    }
    // The day it started: the first of the last days that were all above the threshold, when
    // an earlier day was not (else it was slow all along). A day's P95 counts with enough of
    // the day's own messages (raw events: a day from the aggregates has few or none).
    let messages = |date: &str| {
        summary
            .messages_over_time
            .iter()
            .find(|d| d.date == date && d.errors.is_some())
            .map_or(0, |d| d.messages)
    };
    let days: Vec<(&str, f64)> = summary
        .latency_trend
        .iter()
        .filter(|d| messages(&d.date) >= LATENCY_MIN_DAY_MESSAGES)
        .filter_map(|d| Some((d.date.as_str(), d.total_p95?)))
        .collect();
    let slow = days
        .iter()
        .rev()
        .take_while(|(_, p95)| *p95 >= threshold)
        .count();
    let start = (slow > 0 && slow < days.len()).then(|| days[days.len() - slow].0.to_owned());
    let since = match &start {
        Some(day) => format!("; every day's P95 has been above {threshold:.0} ms since {day}"),
        None => String::new(),
    };
    Some(Alert {
        kind: AlertKind::LatencyRegression,
        severity: Severity::Warning,
        day: start,
        metric: "performance.totalTimeMs.p95".to_owned(),
        value,
        baseline,
        message: format!(
            "End-to-end P95 is {value:.0} ms against {baseline:.0} ms in {label} ({:.1}×){since}.",
            value / baseline
        ),
        subject: None,
    })
}

/// The days of `summary` wholly inside its window, with their messages, from its first day
/// with a message or a bubble opening on: the days before may precede the site's launch.
fn whole_days(summary: &Summary) -> Vec<(NaiveDate, u64)> {
    let (Some(from), Some(to)) = (
        parse_timestamp(&summary.window.from),
        parse_timestamp(&summary.window.to),
    ) else {
        return Vec::new();
    };
    summary
        .messages_over_time
        .iter()
        .skip_while(|d| d.messages + d.bubble_opens == 0)
        .filter_map(|d| {
            let date = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok()?;
            holds_whole_day(from, to, date).then_some((date, d.messages))
        })
        .collect()
}

fn volume_drops(summary: &Summary, facts: &Facts<'_>) -> Vec<Alert> {
    let days = whole_days(summary);
    let mut pool = days.clone();
    if let Some(before) = facts.before {
        pool.extend(whole_days(before.summary));
    }
    let silences = facts.silences;
    let silent = |date: NaiveDate| silences.iter().any(|s| holds_whole_day(s.from, s.to, date));
    let mut alerts = Vec::new();
    for &(date, messages) in &days {
        let mut same: Vec<f64> = pool
            .iter()
            .filter(|(d, _)| *d != date && d.weekday() == date.weekday())
            .map(|&(_, n)| n as f64)
            .collect();
        if same.len() < VOLUME_MIN_SAME_WEEKDAYS || silent(date) {
            continue;
        }
        let Some(usual) = median(&mut same) else {
            continue;
        };
        if usual >= VOLUME_MIN_BASELINE && (messages as f64) < usual * VOLUME_FACTOR {
            let weekday = date.format("%A");
            alerts.push(Alert {
                kind: AlertKind::VolumeDrop,
                severity: Severity::Warning,
                day: Some(date.format("%Y-%m-%d").to_string()),
                metric: "messagesOverTime.messages".to_owned(),
                value: messages as f64,
                baseline: usual,
                message: format!(
                    "{weekday} {} had {messages} messages against a usual {usual:.0} on \
                     {weekday}s (the median of {} others).",
                    date.format("%Y-%m-%d"),
                    same.len()
                ),
                subject: None,
            });
        }
    }
    alerts
}

fn surging_gaps(summary: &Summary, before: Option<Before<'_>>) -> Vec<Alert> {
    let Some(Before { label, .. }) = before else {
        return Vec::new();
    };
    summary
        .gap_clusters
        .iter()
        .filter_map(|c| {
            let previous = c.previous_count?;
            if c.count < GAP_MIN_COUNT
                || (previous > 0 && c.count < GAP_SURGE_FACTOR.saturating_mul(previous))
            {
                return None;
            }
            let change = if previous == 0 {
                format!("never in {label}")
            } else {
                format!(
                    "{:.1}× its {previous} in {label}",
                    c.count as f64 / previous as f64
                )
            };
            Some(Alert {
                kind: AlertKind::SurgingGap,
                severity: Severity::Info,
                day: None,
                metric: "gapClusters.count".to_owned(),
                value: c.count as f64,
                baseline: previous as f64,
                message: format!(
                    "An unanswered question ({} phrasing{}) was asked {} times, {change}.",
                    c.questions,
                    if c.questions == 1 { "" } else { "s" },
                    c.count
                ),
                subject: Some(c.label.clone()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, EventType, Metrics, Window};

    /// The window of the tests: the 14 whole days before this midnight.
    const END: &str = "2026-11-30T00:00:00Z";

    fn at(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).expect("time")
    }

    /// The day `n` days before [`END`], at `minute` past midnight.
    fn day(n: i64, minute: i64) -> DateTime<Utc> {
        at(END) - TimeDelta::days(n) + TimeDelta::minutes(minute)
    }

    fn message(ts: DateTime<Utc>, success: bool, total_ms: f64) -> Event {
        let mut e = Event::new(ts, EventType::MessageSent);
        e.success = Some(success);
        e.total_time_ms = Some(total_ms);
        e
    }

    fn gap(ts: DateTime<Utc>, question: &str) -> Event {
        let mut e = message(ts, true, 1000.0);
        e.question = Some(question.to_owned());
        e.no_rag_match = Some(true);
        e
    }

    /// A metrics accumulator for the 14 days to [`END`], given `events`.
    fn summary(events: impl IntoIterator<Item = Event>) -> Summary {
        let mut metrics = Metrics::new(Window::last_days(at(END), 14));
        for e in events {
            metrics.add(&e);
        }
        metrics.finish(at(END))
    }

    /// `per_day` messages spread over each of days `days` (counted back from [`END`]), the
    /// first `failed(day)` of them failed, each taking `ms(day)`.
    fn traffic(
        days: std::ops::Range<i64>,
        per_day: i64,
        failed: impl Fn(i64) -> i64,
        ms: impl Fn(i64) -> f64,
    ) -> Vec<Event> {
        let step = 1440 / per_day;
        days.flat_map(|n| {
            let (failed, ms) = (failed(n), ms(n));
            (0..per_day).map(move |i| message(day(n, i * step), i >= failed, ms))
        })
        .collect()
    }

    fn kinds(summary: &Summary) -> Vec<(AlertKind, Option<&str>)> {
        summary
            .alerts
            .iter()
            .map(|a| (a.kind, a.day.as_deref()))
            .collect()
    }

    #[test]
    fn a_day_of_failures_is_one_error_spike_naming_it() {
        // Two failures in 100 on every day (in this window and the previous), 40 on one.
        let events = traffic(1..29, 100, |n| if n == 5 { 40 } else { 2 }, |_| 1000.0);
        let s = summary(events);
        assert_eq!(kinds(&s), [(AlertKind::ErrorRateSpike, Some("2026-11-25"))]);
        let alert = &s.alerts[0];
        assert_eq!((alert.value, alert.baseline), (0.4, 0.02));
        assert_eq!(alert.severity, Severity::Critical);
        assert!(
            alert.message.contains("40 of 100 messages failed (40.0 %)"),
            "{}",
            alert.message
        );
    }

    #[test]
    fn the_error_spike_minimums_keep_small_samples_quiet() {
        // 19 messages all failed: below the messages a day needs.
        let few = traffic(1..15, 19, |n| if n == 5 { 19 } else { 0 }, |_| 1000.0);
        assert_eq!(kinds(&summary(few)), []);
        // 4 of 20 failed (20 %): below the failures a day needs.
        let four = traffic(1..15, 20, |n| if n == 5 { 4 } else { 0 }, |_| 1000.0);
        assert_eq!(kinds(&summary(four)), []);
        // 5 of 20 failed is judged, and is a spike against flawless days.
        let five = traffic(1..15, 20, |n| if n == 5 { 5 } else { 0 }, |_| 1000.0);
        assert_eq!(
            kinds(&summary(five)),
            [(AlertKind::ErrorRateSpike, Some("2026-11-25"))]
        );
        // The same day with only four other days to compare with: no baseline.
        let short = traffic(1..6, 20, |n| if n == 5 { 10 } else { 0 }, |_| 1000.0);
        assert_eq!(kinds(&summary(short)), []);
        // Noisy days widen the threshold: 30 % on a window whose days swing 0–20 % is no spike.
        let noisy = traffic(
            1..15,
            100,
            |n| if n == 5 { 30 } else { (n % 3) * 10 },
            |_| 1000.0,
        );
        assert_eq!(kinds(&summary(noisy)), []);
    }

    #[test]
    fn a_silent_day_raises_no_events_and_a_small_sites_does_not() {
        // 144 messages a day, none from day 6 10:00 to day 5 16:00 (30 hours).
        let busy: Vec<Event> = traffic(1..15, 144, |_| 0, |_| 1000.0)
            .into_iter()
            .filter(|e| e.timestamp < day(6, 600) || e.timestamp > day(5, 960))
            .collect();
        let s = summary(busy);
        assert_eq!(kinds(&s), [(AlertKind::NoEvents, Some("2026-11-24"))]);
        let alert = &s.alerts[0];
        // The last event before: 09:50; the first after: 16:10 the next day.
        assert_eq!((alert.value, alert.baseline), (30.3, 24.0));
        assert!(
            alert
                .message
                .contains("2026-11-24 09:50 UTC to 2026-11-25 16:10 UTC")
        );
        // 10 events a day: a 30-hour silence is ordinary.
        let small: Vec<Event> = traffic(1..15, 10, |_| 0, |_| 1000.0)
            .into_iter()
            .filter(|e| e.timestamp < day(6, 600) || e.timestamp > day(5, 960))
            .collect();
        assert_eq!(kinds(&summary(small)), []);
        // Nothing since the last event 25 hours before the window's end.
        let stopped: Vec<Event> = traffic(1..15, 144, |_| 0, |_| 1000.0)
            .into_iter()
            .filter(|e| e.timestamp < at(END) - TimeDelta::hours(25))
            .collect();
        let s = summary(stopped);
        assert_eq!(kinds(&s), [(AlertKind::NoEvents, Some("2026-11-28"))]);
        assert!(
            s.alerts[0]
                .message
                .contains("to the window's end, 2026-11-30 00:00 UTC")
        );
    }

    #[test]
    fn a_slower_p95_raises_a_latency_regression_from_the_day_it_started() {
        // 1 000 ms in the previous period and the window's first days, 3 000 ms from day 4 on.
        let events = traffic(1..29, 50, |_| 0, |n| if n <= 4 { 3000.0 } else { 1000.0 });
        let s = summary(events);
        assert_eq!(
            kinds(&s),
            [(AlertKind::LatencyRegression, Some("2026-11-26"))]
        );
        assert_eq!((s.alerts[0].value, s.alerts[0].baseline), (3000.0, 1000.0));
        // Slow all along: the regression, without a start day.
        let all = traffic(1..29, 50, |_| 0, |n| if n <= 14 { 3000.0 } else { 1000.0 });
        assert_eq!(kinds(&summary(all)), [(AlertKind::LatencyRegression, None)]);
    }

    #[test]
    fn the_latency_minimums_keep_small_or_slight_changes_quiet() {
        // 3 messages a day: 42 samples in the window, below the minimum.
        let few = traffic(1..29, 3, |_| 0, |n| if n <= 14 { 3000.0 } else { 1000.0 });
        assert_eq!(kinds(&summary(few)), []);
        // ×1.5 but only 200 ms more: below the rise in milliseconds.
        let slight = traffic(1..29, 50, |_| 0, |n| if n <= 14 { 600.0 } else { 400.0 });
        assert_eq!(kinds(&summary(slight)), []);
        // +400 ms but only ×1.4.
        let gentle = traffic(1..29, 50, |_| 0, |n| if n <= 14 { 1400.0 } else { 1000.0 });
        assert_eq!(kinds(&summary(gentle)), []);
    }

    #[test]
    fn a_day_far_below_its_weekday_is_a_volume_drop() {
        // 100 messages a day, 20 on day 3 (a Friday): the other Fridays had 100.
        let events = traffic(1..29, 100, |_| 0, |_| 1000.0)
            .into_iter()
            .enumerate()
            .filter(|(i, e)| e.timestamp.date_naive() != day(3, 0).date_naive() || i % 5 == 0)
            .map(|(_, e)| e);
        let s = summary(events);
        assert_eq!(kinds(&s), [(AlertKind::VolumeDrop, Some("2026-11-27"))]);
        assert_eq!((s.alerts[0].value, s.alerts[0].baseline), (20.0, 100.0));
        assert!(
            s.alerts[0]
                .message
                .starts_with("Friday 2026-11-27 had 20 messages")
        );
        // 30 of 100 is not below 30 %.
        let thirty = traffic(1..29, 100, |_| 0, |_| 1000.0)
            .into_iter()
            .enumerate()
            .filter(|(i, e)| e.timestamp.date_naive() != day(3, 0).date_naive() || i % 10 < 3)
            .map(|(_, e)| e);
        assert_eq!(kinds(&summary(thirty)), []);
    }

    #[test]
    fn the_volume_minimums_keep_a_small_site_and_a_short_history_quiet() {
        // 19 messages a day, 1 on day 3: a usual level below the minimum.
        let small = traffic(1..29, 19, |_| 0, |_| 1000.0)
            .into_iter()
            .enumerate()
            .filter(|(i, e)| e.timestamp.date_naive() != day(3, 0).date_naive() || i % 19 == 0)
            .map(|(_, e)| e);
        assert_eq!(kinds(&summary(small)), []);
        // Without the previous period, a Friday has one other Friday in 14 days.
        let short = traffic(1..15, 100, |_| 0, |_| 1000.0)
            .into_iter()
            .enumerate()
            .filter(|(i, e)| e.timestamp.date_naive() != day(3, 0).date_naive() || i % 5 == 0)
            .map(|(_, e)| e);
        assert_eq!(kinds(&summary(short)), []);
    }

    #[test]
    fn a_gap_new_or_several_times_its_previous_count_surges_above_the_minimum() {
        let asks = |question: &str, days: std::ops::Range<i64>, n: i64| -> Vec<Event> {
            days.flat_map(|d| (0..n).map(move |i| (d, i)))
                .map(|(d, i)| gap(day(d, i), question))
                .collect()
        };
        let mut events = Vec::new();
        // New, 10 times: surges. New, 9 times: below the minimum.
        events.extend(asks("do you ship to mars", 1..11, 1));
        events.extend(asks("do you ship to venus", 1..10, 1));
        // 4 before, 12 now: three times. 5 before, 14 now: less.
        events.extend(asks("refund policy", 15..19, 1));
        events.extend(asks("refund policy", 1..13, 1));
        events.extend(asks("opening hours", 15..20, 1));
        events.extend(asks("opening hours", 1..15, 1));
        // The input reaches back to the previous period's first day.
        events.push(message(day(28, 0), true, 1000.0));
        let s = summary(events);
        let surging: Vec<(&str, f64, f64)> = s
            .alerts
            .iter()
            .map(|a| (a.subject.as_deref().unwrap_or(""), a.value, a.baseline))
            .collect();
        assert_eq!(
            surging,
            [
                ("refund policy", 12.0, 4.0),
                ("do you ship to mars", 10.0, 0.0)
            ]
        );
        assert!(s.alerts.iter().all(|a| a.kind == AlertKind::SurgingGap
            && a.severity == Severity::Info
            && !a.message.contains("mars")
            && !a.message.contains("refund")));
        // Without a previous period nothing is new.
        let alone = summary(asks("do you ship to mars", 1..13, 1));
        assert_eq!(kinds(&alone), []);
    }

    #[test]
    fn days_before_a_sites_first_message_are_no_volume_drop() {
        // 28 days, the site launched 15 days before the end: its earlier days are empty, not
        // quiet (each weekday's later days had 100).
        let mut metrics = Metrics::new(Window::last_days(at(END), 28));
        for e in traffic(1..16, 100, |_| 0, |_| 1000.0) {
            metrics.add(&e);
        }
        assert_eq!(kinds(&metrics.finish(at(END))), []);
    }

    #[test]
    fn a_window_without_events_after_a_busy_period_is_silent_all_along() {
        // Traffic in the previous period only.
        let s = summary(traffic(15..29, 100, |_| 0, |_| 1000.0));
        assert_eq!(kinds(&s), [(AlertKind::NoEvents, Some("2026-11-16"))]);
        assert_eq!(s.alerts[0].value, 336.0);
        assert!(
            s.alerts[0]
                .message
                .contains("where the previous 14 days had 100 a day"),
            "{}",
            s.alerts[0].message
        );
        // After a quiet period: nothing to compare with.
        let quiet = summary(traffic(15..29, 10, |_| 0, |_| 1000.0));
        assert_eq!(kinds(&quiet), []);
    }

    #[test]
    fn an_earlier_report_is_the_baseline_when_the_input_does_not_reach_back() {
        let earlier_end = at(END) - TimeDelta::days(14);
        let mut earlier = Metrics::new(Window::last_days(earlier_end, 14));
        let mut before = traffic(15..29, 50, |_| 0, |_| 1000.0);
        before.extend((15..19).map(|d| gap(day(d, 1), "refund policy")));
        for e in &before {
            earlier.add(e);
        }
        let earlier = earlier.finish(earlier_end);
        let current = || {
            let mut metrics = Metrics::new(Window::last_days(at(END), 14));
            let mut events = traffic(1..15, 50, |_| 0, |_| 3000.0);
            events.extend((1..13).map(|d| gap(day(d, 1), "refund policy")));
            for e in &events {
                metrics.add(e);
            }
            metrics
        };
        let mut metrics = current();
        metrics.compare_with("the report of 2026-11-16".to_owned(), earlier.clone());
        let s = metrics.finish(at(END));
        assert!(s.previous_period.is_none(), "the input does not reach back");
        assert_eq!(
            kinds(&s),
            [
                (AlertKind::LatencyRegression, None),
                (AlertKind::SurgingGap, None)
            ]
        );
        assert!(
            s.alerts[0]
                .message
                .contains("against 1000 ms in the report of 2026-11-16")
        );
        assert!(
            s.alerts[1]
                .message
                .ends_with("3.0× its 4 in the report of 2026-11-16.")
        );
        assert_eq!(s.gap_clusters[0].previous_count, Some(4));
        // A report whose visitors' text was removed holds no questions to match.
        let mut cleaned = earlier;
        crate::remove_visitor_text(&mut cleaned, "2027-01-01T00:00:00Z", 90);
        let mut metrics = current();
        metrics.compare_with("the report of 2026-11-16".to_owned(), cleaned);
        let s = metrics.finish(at(END));
        assert_eq!(kinds(&s), [(AlertKind::LatencyRegression, None)]);
        assert_eq!(s.gap_clusters[0].previous_count, None);
        // Without it, neither.
        assert_eq!(kinds(&current().finish(at(END))), []);
    }

    #[test]
    fn the_previous_period_raises_no_alerts_of_its_own() {
        let events = traffic(1..29, 100, |n| if n == 20 { 60 } else { 2 }, |_| 1000.0);
        let s = summary(events);
        assert_eq!(kinds(&s), []);
        let previous = s.previous_period.expect("the input reaches back");
        assert!(previous.alerts.is_empty());
        assert_eq!(
            previous.messages_over_time.iter().map(|d| d.errors).max(),
            Some(Some(60))
        );
    }
}
