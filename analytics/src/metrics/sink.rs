//! [`Metrics`] as a [`Sink`]: records read by [`crate::read_export`] go straight into the
//! accumulator (events, daily aggregates, gap records; a skipped record is counted by reason).

use crate::daily::DailyAggregate;
use crate::event::Event;
use crate::gap_history::GapSummary;
use crate::metrics::Metrics;
use crate::read::{ReadError, Sink, Skipped};

impl Sink for Metrics {
    fn event(&mut self, event: Event) {
        self.add(&event);
    }

    fn daily(&mut self, day: DailyAggregate) {
        self.add_daily(&day);
    }

    fn gap_record(&mut self, gap: GapSummary) {
        self.add_gap_record(&gap);
    }

    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        self.skip(skipped.rejection.reason);
        Ok(())
    }
}
