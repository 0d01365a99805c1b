//! Daily aggregates (`daily:{YYYY-MM-DD}` in KV): event counts per type for one UTC day. They
//! outlive the raw events (90 days against 30), so the over-time series can reach further back.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Counts of one UTC day's events by type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyAggregate {
    /// The UTC calendar day.
    pub date: NaiveDate,
    /// Events of that day, by `eventType`.
    #[serde(default)]
    pub events_by_type: BTreeMap<String, u64>,
}

impl DailyAggregate {
    /// The count for one event type, 0 when absent.
    pub fn count(&self, event_type: &str) -> u64 {
        self.events_by_type.get(event_type).copied().unwrap_or(0)
    }
}
