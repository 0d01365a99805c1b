//! Traffic over time in the demo data: each calendar day's weight (weekday, growth, noise, the
//! day a blog post was shared and the day after) times a daily curve by UTC hour.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc, Weekday};
use rand::Rng;

/// Relative traffic by UTC hour: the audience is mostly in Europe and the Americas, so little
/// at night, a rise through the morning and a peak in the late afternoon.
const HOURLY: [f64; 24] = [
    0.35, 0.25, 0.18, 0.14, 0.13, 0.16, 0.28, 0.45, 0.65, 0.80, 0.90, 0.95, //
    1.00, 1.10, 1.20, 1.30, 1.35, 1.30, 1.20, 1.10, 1.00, 0.85, 0.65, 0.48,
];

/// Relative traffic of each calendar day in the window.
pub(super) struct Calendar {
    first: NaiveDate,
    days: Vec<Day>,
}

struct Day {
    weight: f64,
    /// Traffic multiplier from the shared blog post; 1 on ordinary days.
    boost: f64,
}

impl Calendar {
    pub(super) fn new(rng: &mut impl Rng, start: DateTime<Utc>, days: u32) -> Calendar {
        // A window that does not start at midnight touches one more calendar date.
        let dates = days as usize + 1;
        // One day in the later part of the window a blog post makes the rounds (the next day
        // still sees some of it); short windows stay plain.
        let shared = (days >= 7).then(|| rng.random_range(days as usize / 3..days as usize - 1));
        let first = start.date_naive();
        let days = (0..dates)
            .map(|d| {
                let weekday = match (first + TimeDelta::days(d as i64)).weekday() {
                    Weekday::Sat => 0.6,
                    Weekday::Sun => 0.65,
                    Weekday::Fri => 0.9,
                    _ => 1.0,
                };
                let growth = 1.0 + 0.25 * d as f64 / dates as f64;
                let noise = rng.random_range(0.85..1.15);
                let boost = match shared {
                    Some(s) if s == d => 2.2,
                    Some(s) if s + 1 == d => 1.4,
                    _ => 1.0,
                };
                Day {
                    weight: weekday * growth * noise,
                    boost,
                }
            })
            .collect();
        Calendar { first, days }
    }

    fn day(&self, at: DateTime<Utc>) -> Option<&Day> {
        let index = (at.date_naive() - self.first).num_days();
        usize::try_from(index).ok().and_then(|i| self.days.get(i))
    }

    /// Relative traffic at a moment: the day's weight times the hour curve.
    pub(super) fn weight(&self, at: DateTime<Utc>) -> f64 {
        let minute = at.hour() as usize * 60 + at.minute() as usize;
        let (hour, within) = (minute / 60, (minute % 60) as f64 / 60.0);
        let hourly = HOURLY[hour] + (HOURLY[(hour + 1) % 24] - HOURLY[hour]) * within;
        self.day(at).map_or(0.0, |day| day.weight * day.boost) * hourly
    }

    pub(super) fn boost(&self, at: DateTime<Utc>) -> f64 {
        self.day(at).map_or(1.0, |day| day.boost)
    }
}
