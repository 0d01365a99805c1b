//! One analytics event as stored and exported: its type, its timestamps, and the `Event` and
//! `EventRef` structs expanded from the schema's field table.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::schema::fields;
use crate::schema::kinds::{self, borrowed, owned};

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

macro_rules! event_types {
    ($( $(#[$doc:meta])* $field:ident $variant:ident $name:literal : $kind:ident $(($($rule:tt)*))?, )*) => {
        /// One analytics event. Every field but `timestamp` and `event_type` is optional: absent
        /// and `null` mean "not known", never zero. The optional fields are declared once, in
        /// the crate's schema table (`schema.rs`).
        #[derive(Debug, Clone, PartialEq)]
        pub struct Event {
            /// When it happened (stored in UTC; RFC 3339 on the wire).
            pub timestamp: DateTime<Utc>,
            /// What happened.
            pub event_type: EventType,
            $( $(#[$doc])* pub $field: Option<owned!($kind)>, )*
        }

        /// A borrowed view of one event: what the metrics read. The fast paths build it straight
        /// from the input's bytes, without copying a string; [`Event::view`] gives one of an
        /// owned event.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct EventRef<'a> {
            /// When it happened, in UTC.
            pub timestamp: DateTime<Utc>,
            /// What happened.
            pub event_type: &'a EventType,
            $( $(#[$doc])* pub $field: Option<borrowed!($kind, 'a)>, )*
        }

        impl Event {
            /// An event with only the two required fields set.
            pub fn new(timestamp: DateTime<Utc>, event_type: EventType) -> Event {
                Event { timestamp, event_type, $( $field: None, )* }
            }

            /// The borrowed view of this event.
            pub fn view(&self) -> EventRef<'_> {
                EventRef {
                    timestamp: self.timestamp,
                    event_type: &self.event_type,
                    $( $field: self.$field.as_ref().map(<kinds::$kind as kinds::Kind>::view), )*
                }
            }
        }

        impl EventRef<'_> {
            /// An owned copy.
            pub fn to_event(&self) -> Event {
                Event {
                    timestamp: self.timestamp,
                    event_type: self.event_type.clone(),
                    $( $field: self.$field.map(<kinds::$kind as kinds::Kind>::own), )*
                }
            }
        }

        /// The event's JSON: the schema's names in schema order, absent fields left out.
        impl Serialize for Event {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let present = 2 $( + usize::from(self.$field.is_some()) )*;
                let mut out = serializer.serialize_struct("Event", present)?;
                out.serialize_field("timestamp", &format_timestamp(&self.timestamp))?;
                out.serialize_field("eventType", &self.event_type)?;
                $(
                    match &self.$field {
                        Some(value) => <kinds::$kind as kinds::Kind>::serialize_field(&mut out, $name, value)?,
                        None => out.skip_field($name)?,
                    }
                )*
                out.end()
            }
        }
    };
}
fields!(event_types);

/// Formats a timestamp the way every output of this project does: RFC 3339 in UTC with `Z`,
/// fractional seconds only when present.
pub fn format_timestamp(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 timestamp with or without fractional seconds, `Z` or an offset.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
