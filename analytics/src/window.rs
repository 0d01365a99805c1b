//! The window of a report: which events count (`from ≤ timestamp < to`, or every event), and
//! where a window that ends at the moment of a run ends exactly.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, SubsecRound, TimeDelta, Utc};

/// Which events count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// `from ≤ timestamp < to`.
    Range {
        /// Inclusive start.
        from: DateTime<Utc>,
        /// Exclusive end.
        to: DateTime<Utc>,
    },
    /// Every event; the window is then the first and last event time.
    All,
}

impl Window {
    /// The `days` days that end at `to`.
    pub fn last_days(to: DateTime<Utc>, days: u32) -> Window {
        Window::Range {
            from: to - TimeDelta::days(i64::from(days)),
            to,
        }
    }

    /// The `days` days up to the moment `now`, that moment included: the window ends at the
    /// start of the millisecond after `now` (see [`Window::end_after`]). This is the window of a
    /// run that reads the clock; a window given as an instant (`--now`) uses
    /// [`Window::last_days`].
    pub fn up_to(now: DateTime<Utc>, days: u32) -> Window {
        Window::last_days(Window::end_after(now), days)
    }

    /// The exclusive end of a window that must hold every event stamped at or before `moment`:
    /// the start of the next whole millisecond. Event times carry milliseconds (the worker and
    /// the widget stamp them so), and `moment` may carry nanoseconds: an end of `moment` itself
    /// would leave out an event stamped in the same millisecond as the run, and an end rounded
    /// down to the second would leave out the events of the run's last second.
    pub fn end_after(moment: DateTime<Utc>) -> DateTime<Utc> {
        moment.trunc_subsecs(3) + TimeDelta::milliseconds(1)
    }

    /// Whether an event at `ts` counts.
    pub fn contains(&self, ts: DateTime<Utc>) -> bool {
        match self {
            Window::Range { from, to } => *from <= ts && ts < *to,
            Window::All => true,
        }
    }
}

/// Whether the UTC day `day` lies wholly in `from ≤ t < to` (its midnight at `from` or after,
/// the next midnight at `to` or before).
pub(crate) fn holds_whole_day(from: DateTime<Utc>, to: DateTime<Utc>, day: NaiveDate) -> bool {
    let start = day.and_time(NaiveTime::MIN).and_utc();
    from <= start
        && day
            .checked_add_days(Days::new(1))
            .is_some_and(|next| next.and_time(NaiveTime::MIN).and_utc() <= to)
}

/// Whole days from `from` to `to`, rounded up: a window's `days`.
pub fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let secs = (to - from).num_seconds().max(0);
    u32::try_from((secs + 86_399) / 86_400).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::parse_timestamp(text).expect("a test timestamp")
    }

    #[test]
    fn a_window_up_to_now_holds_an_event_of_the_same_millisecond() {
        let now = at("2026-12-06T11:12:16.757123456Z");
        let window = Window::up_to(now, 30);
        assert!(window.contains(at("2026-12-06T11:12:16.757Z")));
        assert!(window.contains(now));
        assert!(!window.contains(at("2026-12-06T11:12:16.758Z")));
        assert_eq!(
            window,
            Window::Range {
                from: at("2026-11-06T11:12:16.758Z"),
                to: at("2026-12-06T11:12:16.758Z"),
            }
        );
    }

    #[test]
    fn a_window_up_to_a_whole_millisecond_still_holds_it() {
        let now = at("2026-12-06T11:12:16.757Z");
        assert!(Window::up_to(now, 1).contains(now));
        // The run's own second is never cut off, as a whole-second clock would.
        let window = Window::up_to(at("2026-12-06T11:12:16.001Z"), 1);
        assert!(window.contains(at("2026-12-06T11:12:16.000Z")));
        assert!(window.contains(at("2026-12-06T11:12:16.001Z")));
    }

    #[test]
    fn a_run_at_the_last_millisecond_of_a_day_ends_its_window_at_midnight() {
        let window = Window::up_to(at("2026-12-06T23:59:59.999500Z"), 1);
        assert!(window.contains(at("2026-12-06T23:59:59.999Z")));
        assert!(!window.contains(at("2026-12-07T00:00:00Z")));
    }

    #[test]
    fn a_window_given_as_an_instant_ends_exactly_there() {
        let to = at("2026-11-26T00:00:00.250Z");
        let window = Window::last_days(to, 30);
        assert!(window.contains(at("2026-11-26T00:00:00.249Z")));
        assert!(!window.contains(to));
    }
}
