//! The `Summary`: the seven metric categories as `summary.json` serialises them (see
//! `docs/metrics.md`), with the insights beyond them. Field order and names are the contract;
//! new fields may be added. A leaf: it imports nothing of the crate, so every module may use it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything a report shows, computed in one pass by [`crate::Metrics`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Bumped on any change that breaks a reader of archived snapshots.
    pub schema_version: u32,
    /// When the summary was computed (RFC 3339, UTC).
    pub generated_at: String,
    /// The time window the numbers cover.
    pub window: WindowInfo,
    /// 1. Conversation volume.
    pub conversation_volume: ConversationVolume,
    /// 2. Messages and bubble opens per UTC day, zero-filled.
    pub messages_over_time: Vec<DayCount>,
    /// 3. Messages per topic.
    pub topic_distribution: Vec<TopicCount>,
    /// 4. Unanswered questions, most frequent first (top 100).
    pub knowledge_gaps: Vec<KnowledgeGap>,
    /// 5. Latency.
    pub performance: Performance,
    /// 6. Failed messages and rate limiting.
    pub errors: Errors,
    /// 7. Where the chatbot is used and where visitors come from.
    pub pages_and_sources: PagesAndSources,
    /// Sessions through widget → bubble → message → call to action.
    #[serde(default)]
    pub funnel: Funnel,
    /// The most clicked suggested questions.
    #[serde(default)]
    pub suggestions: Vec<SuggestionCount>,
    /// Near-duplicate knowledge gaps grouped.
    #[serde(default)]
    pub gap_clusters: Vec<GapCluster>,
    /// P95 of each timing per UTC day.
    #[serde(default)]
    pub latency_trend: Vec<LatencyDay>,
    /// Messages by weekday and hour.
    #[serde(default)]
    pub activity: Activity,
    /// Records read and skipped.
    pub data_quality: DataQuality,
    /// The same numbers for the window of equal length just before, when the input reaches
    /// back that far; `null` otherwise.
    #[serde(default)]
    pub previous_period: Option<Box<Summary>>,
    /// Set when the visitors' text of this summary was removed (archive retention); absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_removed: Option<TextRemoved>,
    /// What stands out in the window, most severe first (see `docs/metrics.md`, "Alerts").
    /// Empty in `previousPeriod` and in snapshots made before alerts existed.
    #[serde(default)]
    pub alerts: Vec<Alert>,
}

/// One alert: what fired, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// What fired.
    pub kind: AlertKind,
    /// How urgent it is.
    pub severity: Severity,
    /// The UTC day it concerns (`YYYY-MM-DD`), when it concerns one: the spike's day, the
    /// quiet day, the day a latency regression started, the first silent day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// The figure compared, as a `summary.json` path or a name documented with the kind.
    pub metric: String,
    /// Its value in the window (or on `day`).
    pub value: f64,
    /// What it was compared with: the other days' median, the previous period, the weekday's
    /// usual level, the threshold.
    pub baseline: f64,
    /// One sentence for a person, with the figures; it never quotes visitors' text.
    pub message: String,
    /// The knowledge-gap group it concerns, by its label (a visitor's question: retention
    /// empties it); absent for the other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The kinds of [`Alert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A day's error rate far above the window's other days.
    ErrorRateSpike,
    /// No event at all for 24 hours or more.
    NoEvents,
    /// End-to-end P95 up against the previous period.
    LatencyRegression,
    /// A day's messages far below its weekday's usual level.
    VolumeDrop,
    /// A knowledge-gap group new this period or several times its previous count.
    SurgingGap,
}

impl AlertKind {
    /// Its name for people: "Error-rate spike", …
    pub fn title(self) -> &'static str {
        match self {
            AlertKind::ErrorRateSpike => "Error-rate spike",
            AlertKind::NoEvents => "No events",
            AlertKind::LatencyRegression => "Latency regression",
            AlertKind::VolumeDrop => "Volume drop",
            AlertKind::SurgingGap => "Surging knowledge gap",
        }
    }
}

/// How urgent an [`Alert`] is, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Visitors are probably failing to get answers now.
    Critical,
    /// Worse than usual; worth a look today.
    Warning,
    /// News rather than trouble.
    Info,
}

impl Severity {
    /// Its name in `summary.json`, for people too.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What archive retention removed from a summary, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextRemoved {
    /// When (RFC 3339): the run that removed it.
    pub at: String,
    /// The text kept until then: days after the window's end.
    pub after_days: u32,
    /// The `summary.json` fields emptied, as paths (`knowledgeGaps[].question`, …).
    pub fields: Vec<String>,
}

/// The window as it was applied: `from ≤ timestamp < to`, or, when it was taken from the data,
/// the first and the last event time (both counted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowInfo {
    /// Start (RFC 3339, UTC), inclusive.
    pub from: String,
    /// End (RFC 3339, UTC): exclusive, or the last event's time when `fromData`.
    pub to: String,
    /// Length in days (whole days, rounded up, for a window taken from the data).
    pub days: u32,
    /// True when no window was asked for and every event of the input counted: `from` and
    /// `to` are then the first and last event times. (Absent in snapshots made before it.)
    #[serde(default)]
    pub from_data: bool,
}

/// Category 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationVolume {
    /// Count of `message_sent`.
    pub messages: u64,
    /// Distinct non-empty session ids over all events.
    pub sessions: u64,
    /// Distinct non-empty session ids over `message_sent`.
    pub messaging_sessions: u64,
    /// `messages / messagingSessions`, 0 when there are none.
    pub messages_per_session: f64,
    /// Count of `bubble_opened`.
    pub bubble_opens: u64,
    /// Count per event type, unknown types included.
    pub events_by_type: BTreeMap<String, u64>,
}

/// One row of category 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayCount {
    /// UTC date, `YYYY-MM-DD`.
    pub date: String,
    /// Messages that day.
    pub messages: u64,
    /// Bubble opens that day.
    pub bubble_opens: u64,
    /// `"events"`, or `"daily"` when the day's raw events have expired and the numbers come
    /// from the daily aggregate.
    pub source: String,
    /// Failed messages (`success = false`) that day; `null` for a `"daily"` day, whose
    /// aggregate does not count them (and in snapshots made before this field).
    #[serde(default)]
    pub errors: Option<u64>,
}

/// One row of category 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicCount {
    /// The topic, `"(none)"` for none.
    pub topic: String,
    /// Messages with that topic.
    pub count: u64,
    /// `count / messages`.
    pub share: f64,
}

/// One row of category 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnowledgeGap {
    /// The most frequent original phrasing (tie: the earliest).
    pub question: String,
    /// The grouping key (see [`crate::normalize_question`]).
    pub normalized: String,
    /// How often it was asked without a retrieval match.
    pub count: u64,
    /// First time asked (RFC 3339).
    pub first_seen: String,
    /// Last time asked (RFC 3339).
    pub last_seen: String,
    /// The worker's `gaps:` record of the same normalised question, when the input carried
    /// one (the export envelope's `gaps`); absent, not `null`, otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<GapHistory>,
}

/// A knowledge gap as the worker's daily rollup recorded it under `gaps:{hash}`, beyond the
/// window (see `docs/metrics.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GapHistory {
    /// Times asked on the UTC days the record keeps: from 90 days before the rollup run that
    /// last updated it to that run's day. Asks after that run are not in it, so it can be
    /// below the window's count.
    pub count: u64,
    /// First time asked since the record was created (RFC 3339): it can precede the 90 days
    /// counted, as a record asked again within 90 days is kept.
    pub first_seen: String,
    /// Last time asked, as of that rollup (RFC 3339).
    pub last_seen: String,
}

/// Category 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Performance {
    /// Mean retrieval time, `null` without samples.
    pub avg_rag_time_ms: Option<f64>,
    /// Mean model time.
    pub avg_ai_time_ms: Option<f64>,
    /// Mean end-to-end time.
    pub avg_total_time_ms: Option<f64>,
    /// Retrieval time percentiles.
    pub rag_time_ms: Percentiles,
    /// Model time percentiles.
    pub ai_time_ms: Percentiles,
    /// End-to-end time percentiles.
    pub total_time_ms: Percentiles,
    /// End-to-end time on doubling (log-spaced) buckets, for the distribution chart.
    pub total_time_histogram: Vec<HistogramBucket>,
}

/// Nearest-rank percentiles of one timing field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Percentiles {
    /// Number of messages carrying the field.
    pub samples: u64,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// One bucket `[fromMs, toMs)` of a latency histogram; `toMs` is `null` for the last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistogramBucket {
    /// Inclusive lower bound.
    pub from_ms: f64,
    /// Exclusive upper bound, `null` for the open last bucket.
    pub to_ms: Option<f64>,
    /// Samples in the bucket.
    pub count: u64,
}

/// Category 6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Errors {
    /// Messages with `success = false`.
    pub error_count: u64,
    /// `errorCount / messages`, 0 when there are no messages.
    pub error_rate: f64,
    /// Errors by `errorType` (`"(unknown)"` for none).
    pub by_type: Vec<ErrorTypeCount>,
    /// The 20 latest errors, newest first.
    pub recent: Vec<RecentError>,
    /// Count of `rate_limited` events.
    pub rate_limited: u64,
}

/// One row of `errors.byType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorTypeCount {
    /// The type.
    pub error_type: String,
    /// Errors of that type.
    pub count: u64,
}

/// One row of `errors.recent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentError {
    /// When (RFC 3339).
    pub timestamp: String,
    /// The error type as recorded.
    pub error_type: Option<String>,
    /// The error message as recorded.
    pub error_message: Option<String>,
    /// The message's topic.
    pub topic: Option<String>,
    /// The page it happened on.
    pub page_url: Option<String>,
}

/// Category 7.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagesAndSources {
    /// Pages by messages (top 20).
    pub top_pages: Vec<PageCount>,
    /// Referrer hosts by distinct sessions (top 20).
    pub top_sources: Vec<SourceCount>,
}

/// One row of `topPages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageCount {
    /// The page, `"(none)"` for messages without one.
    pub page_url: String,
    /// Its most frequent title (tie: the earliest).
    pub page_title: Option<String>,
    /// Messages sent on it.
    pub messages: u64,
    /// Distinct sessions that sent them.
    pub sessions: u64,
}

/// One row of `topSources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceCount {
    /// Referrer host, `"(direct)"` for none.
    pub source: String,
    /// Distinct sessions.
    pub sessions: u64,
}

/// How much of the input was usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataQuality {
    /// Valid events read, inside the window or not.
    pub events_read: u64,
    /// Valid events inside the window.
    pub events_in_window: u64,
    /// Records skipped as malformed.
    pub skipped: u64,
    /// Skipped records by reason.
    pub skipped_by_reason: BTreeMap<String, u64>,
}

/// One step of a funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunnelStep {
    /// The event type of the step.
    pub step: String,
    /// Sessions that reached this step and every step before it.
    pub sessions: u64,
    /// `sessions / sessions of the previous step` (1 for the first step, 0 when it had none).
    pub conversion: f64,
    /// `1 − conversion` (0 for the first step, and when the previous step had no sessions).
    pub drop_off: f64,
}

/// The funnel of one page (the page a session's widget loaded on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageFunnel {
    /// The page, `"(none)"` when unknown.
    pub page_url: String,
    /// Its steps.
    pub steps: Vec<FunnelStep>,
}

/// Sessions through `widget_loaded → bubble_opened → message_sent → cta_clicked`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Funnel {
    /// Every session.
    pub overall: Vec<FunnelStep>,
    /// The pages with the most sessions.
    pub by_page: Vec<PageFunnel>,
}

/// One clicked suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestionCount {
    /// The suggested question as shown.
    pub question: String,
    /// Clicks.
    pub clicks: u64,
    /// `clicks / all suggestion clicks`.
    pub share: f64,
}

/// Near-duplicate unanswered questions grouped together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GapCluster {
    /// The most asked phrasing of the cluster.
    pub label: String,
    /// Times any of its questions was asked.
    pub count: u64,
    /// Distinct normalised questions in it.
    pub questions: u64,
    /// First time asked.
    pub first_seen: String,
    /// Last time asked.
    pub last_seen: String,
    /// Up to three phrasings, most asked first.
    pub samples: Vec<String>,
    /// True when none of its questions was asked in the previous period; `null` without one.
    pub new_this_period: Option<bool>,
    /// Times its questions were asked in the previous period; `null` without one.
    #[serde(default)]
    pub previous_count: Option<u64>,
}

/// One day of the latency trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyDay {
    /// UTC date.
    pub date: String,
    /// P95 of retrieval time that day, `null` without samples.
    pub rag_p95: Option<f64>,
    /// P95 of model time.
    pub ai_p95: Option<f64>,
    /// P95 of total time.
    pub total_p95: Option<f64>,
}

/// Messages by day of week and hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// The time zone of the days and hours: `"UTC"`, a fixed offset such as `"+02:00"`, or a
    /// zone name such as `"Europe/Berlin"` (then each event gets the offset in effect at its time).
    pub timezone: String,
    /// `cells[d][h]`: messages on weekday `d` (0 = Monday) at hour `h`, in `timezone`.
    pub cells: Vec<Vec<u64>>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            timezone: "UTC".to_owned(),
            cells: vec![vec![0; 24]; 7],
        }
    }
}
