//! The event schema of the spec: one analytics event as stored and exported.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// What happened. The seven types of the spec; any other name is kept as [`EventType::Other`]
/// so that unknown types are counted instead of rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A user sent a chat message (backend, full context).
    MessageSent,
    /// The chat bubble was opened.
    BubbleOpened,
    /// The chat window was closed.
    BubbleClosed,
    /// A suggested question was clicked.
    SuggestionClicked,
    /// The widget initialised on a page.
    WidgetLoaded,
    /// A call-to-action link was clicked.
    CtaClicked,
    /// A user hit the chat rate limit (backend).
    RateLimited,
    /// A type this version does not know, kept verbatim.
    Other(String),
}

impl EventType {
    /// Every type the spec defines, in the spec's order.
    pub const KNOWN: [EventType; 7] = [
        EventType::MessageSent,
        EventType::BubbleOpened,
        EventType::BubbleClosed,
        EventType::SuggestionClicked,
        EventType::WidgetLoaded,
        EventType::CtaClicked,
        EventType::RateLimited,
    ];

    /// Parses a type name; never fails.
    pub fn parse(name: &str) -> EventType {
        match name {
            "message_sent" => EventType::MessageSent,
            "bubble_opened" => EventType::BubbleOpened,
            "bubble_closed" => EventType::BubbleClosed,
            "suggestion_clicked" => EventType::SuggestionClicked,
            "widget_loaded" => EventType::WidgetLoaded,
            "cta_clicked" => EventType::CtaClicked,
            "rate_limited" => EventType::RateLimited,
            other => EventType::Other(other.to_owned()),
        }
    }

    /// True for the types only the chat backend may send (`message_sent`, `rate_limited`):
    /// ingestion accepts them only with the backend's token.
    pub fn is_backend(&self) -> bool {
        matches!(self, EventType::MessageSent | EventType::RateLimited)
    }

    /// True for the seven types of the spec.
    pub fn is_known(&self) -> bool {
        !matches!(self, EventType::Other(_))
    }

    /// The wire name, as in the spec.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::MessageSent => "message_sent",
            EventType::BubbleOpened => "bubble_opened",
            EventType::BubbleClosed => "bubble_closed",
            EventType::SuggestionClicked => "suggestion_clicked",
            EventType::WidgetLoaded => "widget_loaded",
            EventType::CtaClicked => "cta_clicked",
            EventType::RateLimited => "rate_limited",
            EventType::Other(name) => name,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One analytics event. Every field but `timestamp` and `event_type` is optional: absent and
/// `null` mean "not known", never zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// When it happened (stored in UTC; RFC 3339 on the wire).
    #[serde(serialize_with = "serialize_timestamp")]
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub event_type: EventType,
    /// Random per-browser session identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Position of the message in its session, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_number: Option<u64>,
    /// The user's question (scrubbed of PII by the worker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// Topic chosen by retrieval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Number of knowledge entries retrieved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries_retrieved: Option<u64>,
    /// Length of the answer in characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_length: Option<u64>,
    /// False when the chat request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Retrieval time in milliseconds.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_ms"
    )]
    pub rag_time_ms: Option<f64>,
    /// Model time in milliseconds.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_ms"
    )]
    pub ai_time_ms: Option<f64>,
    /// End-to-end time in milliseconds.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_ms"
    )]
    pub total_time_ms: Option<f64>,
    /// True when retrieval found nothing relevant: a knowledge gap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_rag_match: Option<bool>,
    /// Best retrieval score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rag_match_score: Option<f64>,
    /// Page the widget was on (query and fragment stripped by the worker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    /// Title of that page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_title: Option<String>,
    /// The page's referrer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// Machine-readable error kind when `success` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Human-readable error text when `success` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// The schema's field names in schema order: the CSV header.
pub const FIELDS: [&str; 19] = [
    "timestamp",
    "eventType",
    "sessionId",
    "messageNumber",
    "question",
    "topic",
    "entriesRetrieved",
    "responseLength",
    "success",
    "ragTimeMs",
    "aiTimeMs",
    "totalTimeMs",
    "noRagMatch",
    "ragMatchScore",
    "pageUrl",
    "pageTitle",
    "referrer",
    "errorType",
    "errorMessage",
];

impl Event {
    /// An event with only the two required fields set.
    pub fn new(timestamp: DateTime<Utc>, event_type: EventType) -> Event {
        Event {
            timestamp,
            event_type,
            session_id: None,
            message_number: None,
            question: None,
            topic: None,
            entries_retrieved: None,
            response_length: None,
            success: None,
            rag_time_ms: None,
            ai_time_ms: None,
            total_time_ms: None,
            no_rag_match: None,
            rag_match_score: None,
            page_url: None,
            page_title: None,
            referrer: None,
            error_type: None,
            error_message: None,
        }
    }
}

/// Formats a timestamp the way every output of this project does: RFC 3339 in UTC with `Z`,
/// fractional seconds only when present.
pub fn format_timestamp(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn serialize_timestamp<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(ts))
}

/// Durations as the spec writes them: `12`, not `12.0`; fractions only when there are some.
fn serialize_ms<S: Serializer>(ms: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => s.serialize_i64(*v as i64),
        Some(v) => s.serialize_f64(*v),
        None => s.serialize_none(),
    }
}

/// Parses an RFC 3339 timestamp with or without fractional seconds, `Z` or an offset.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
