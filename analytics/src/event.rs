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

/// A borrowed view of one event: what the metrics read. The fast JSON path builds it straight
/// from the input's bytes, without copying a string; [`Event::view`] gives one of an owned event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRef<'a> {
    /// When it happened, in UTC.
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub event_type: &'a EventType,
    /// See [`Event::session_id`].
    pub session_id: Option<&'a str>,
    /// See [`Event::message_number`].
    pub message_number: Option<u64>,
    /// See [`Event::question`].
    pub question: Option<&'a str>,
    /// See [`Event::topic`].
    pub topic: Option<&'a str>,
    /// See [`Event::entries_retrieved`].
    pub entries_retrieved: Option<u64>,
    /// See [`Event::response_length`].
    pub response_length: Option<u64>,
    /// See [`Event::success`].
    pub success: Option<bool>,
    /// See [`Event::rag_time_ms`].
    pub rag_time_ms: Option<f64>,
    /// See [`Event::ai_time_ms`].
    pub ai_time_ms: Option<f64>,
    /// See [`Event::total_time_ms`].
    pub total_time_ms: Option<f64>,
    /// See [`Event::no_rag_match`].
    pub no_rag_match: Option<bool>,
    /// See [`Event::rag_match_score`].
    pub rag_match_score: Option<f64>,
    /// See [`Event::page_url`].
    pub page_url: Option<&'a str>,
    /// See [`Event::page_title`].
    pub page_title: Option<&'a str>,
    /// See [`Event::referrer`].
    pub referrer: Option<&'a str>,
    /// See [`Event::error_type`].
    pub error_type: Option<&'a str>,
    /// See [`Event::error_message`].
    pub error_message: Option<&'a str>,
}

impl Event {
    /// The borrowed view of this event.
    pub fn view(&self) -> EventRef<'_> {
        EventRef {
            timestamp: self.timestamp,
            event_type: &self.event_type,
            session_id: self.session_id.as_deref(),
            message_number: self.message_number,
            question: self.question.as_deref(),
            topic: self.topic.as_deref(),
            entries_retrieved: self.entries_retrieved,
            response_length: self.response_length,
            success: self.success,
            rag_time_ms: self.rag_time_ms,
            ai_time_ms: self.ai_time_ms,
            total_time_ms: self.total_time_ms,
            no_rag_match: self.no_rag_match,
            rag_match_score: self.rag_match_score,
            page_url: self.page_url.as_deref(),
            page_title: self.page_title.as_deref(),
            referrer: self.referrer.as_deref(),
            error_type: self.error_type.as_deref(),
            error_message: self.error_message.as_deref(),
        }
    }
}

impl EventRef<'_> {
    /// An owned copy.
    pub fn to_event(&self) -> Event {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Event {
            timestamp: self.timestamp,
            event_type: self.event_type.clone(),
            session_id: own(self.session_id),
            message_number: self.message_number,
            question: own(self.question),
            topic: own(self.topic),
            entries_retrieved: self.entries_retrieved,
            response_length: self.response_length,
            success: self.success,
            rag_time_ms: self.rag_time_ms,
            ai_time_ms: self.ai_time_ms,
            total_time_ms: self.total_time_ms,
            no_rag_match: self.no_rag_match,
            rag_match_score: self.rag_match_score,
            page_url: own(self.page_url),
            page_title: own(self.page_title),
            referrer: own(self.referrer),
            error_type: own(self.error_type),
            error_message: own(self.error_message),
        }
    }
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
