//! Turning one untrusted record (a JSON object or a CSV row) into an [`Event`], or into the
//! reason it was rejected. Every export reader and the worker's ingestion go through here, so
//! a record means the same thing whatever its format.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use chrono::{DateTime, Utc};

use crate::event::{Event, EventRef, EventType, parse_timestamp};
use crate::schema::kinds;
use crate::schema::scalar::Scalar;
use crate::schema::{Field, fields};
use crate::text::unneutralise_csv;

mod fast;

pub(crate) use fast::{fast_csv_event, fast_json_event};

macro_rules! builder_setters {
    ($( $(#[$doc:meta])* $field:ident $variant:ident $name:literal : $kind:ident $(($($rule:tt)*))?, )*) => {
        /// The general path's check of one optional field: its kind's rule, on JSON or on text.
        fn set_field(event: &mut Event, field: Field, value: Raw<'_>) -> Result<(), String> {
            match field {
                $(
                    Field::$variant => {
                        event.$field = match value {
                            Raw::Json(value) => <kinds::$kind as kinds::Kind>::from_json($name, value)?,
                            Raw::Text(cell) => Some(<kinds::$kind as kinds::Kind>::from_text($name, cell)?),
                        }
                    }
                )*
                Field::Timestamp | Field::EventType => unreachable!("handled by set"),
            }
            Ok(())
        }
    };
}
fields!(builder_setters);

/// Why a record was skipped. The `as_str` names are the keys of `dataQuality.skippedByReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Not parseable as JSON (NDJSON line).
    InvalidJson,
    /// Valid JSON, but not an object.
    NotAnObject,
    /// No `timestamp`, or `null`.
    MissingTimestamp,
    /// A `timestamp` that is not RFC 3339.
    InvalidTimestamp,
    /// No `eventType`, `null` or empty.
    MissingEventType,
    /// A known field with a value of the wrong type or out of range.
    InvalidField,
    /// A CSV row that cannot be read (wrong number of cells, invalid UTF-8).
    InvalidCsvRow,
    /// A KV key among a window's records whose time cannot be read (counted by the worker).
    InvalidKey,
}

impl SkipReason {
    /// Every reason.
    pub const ALL: [SkipReason; 8] = [
        SkipReason::InvalidJson,
        SkipReason::NotAnObject,
        SkipReason::MissingTimestamp,
        SkipReason::InvalidTimestamp,
        SkipReason::MissingEventType,
        SkipReason::InvalidField,
        SkipReason::InvalidCsvRow,
        SkipReason::InvalidKey,
    ];

    /// The reason named `name` ([`SkipReason::as_str`]).
    pub fn from_name(name: &str) -> Option<SkipReason> {
        SkipReason::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The snake_case name used in `summary.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::InvalidJson => "invalid_json",
            SkipReason::NotAnObject => "not_an_object",
            SkipReason::MissingTimestamp => "missing_timestamp",
            SkipReason::InvalidTimestamp => "invalid_timestamp",
            SkipReason::MissingEventType => "missing_event_type",
            SkipReason::InvalidField => "invalid_field",
            SkipReason::InvalidCsvRow => "invalid_csv_row",
            SkipReason::InvalidKey => "invalid_key",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected record: the reason and a human-readable detail naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The category.
    pub reason: SkipReason,
    /// What exactly was wrong, e.g. "`ragTimeMs` must be a non-negative number".
    pub detail: String,
}

impl Rejection {
    pub(crate) fn new(reason: SkipReason, detail: impl Into<String>) -> Rejection {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.reason)
    }
}

/// Collects the fields of one record, then checks them in [`RecordBuilder::finish`].
#[derive(Debug, Default)]
pub(crate) struct RecordBuilder {
    timestamp: Option<String>,
    event_type: Option<String>,
    event: Option<Event>,
    first_error: Option<Rejection>,
}

/// The value of a field in a form the builder can check, from JSON or from CSV text.
enum Raw<'a> {
    Json(Scalar<'a>),
    Text(&'a str),
}

impl RecordBuilder {
    /// Sets a field from a JSON value.
    pub(crate) fn set_json(&mut self, field: Field, value: Scalar<'_>) {
        self.set(field, Raw::Json(value));
    }

    /// Sets a field from CSV text; an empty cell is an absent field.
    pub(crate) fn set_text(&mut self, field: Field, value: &str) {
        let value = unneutralise_csv(value);
        if !value.is_empty() {
            self.set(field, Raw::Text(value));
        }
    }

    fn reject(&mut self, rejection: Rejection) {
        if self.first_error.is_none() {
            self.first_error = Some(rejection);
        }
    }

    fn set(&mut self, field: Field, value: Raw<'_>) {
        match field {
            Field::Timestamp => match value {
                Raw::Json(Scalar::Null) => self.timestamp = None,
                Raw::Json(Scalar::Str(s)) => self.timestamp = Some(s.into_owned()),
                Raw::Text(s) => self.timestamp = Some(s.to_owned()),
                Raw::Json(other) => self.reject(Rejection::new(
                    SkipReason::InvalidTimestamp,
                    format!(
                        "`timestamp` must be an RFC 3339 string, not {}",
                        other.kind()
                    ),
                )),
            },
            Field::EventType => match value {
                Raw::Json(Scalar::Null) => self.event_type = None,
                Raw::Json(Scalar::Str(s)) => self.event_type = Some(s.into_owned()),
                Raw::Text(s) => self.event_type = Some(s.to_owned()),
                Raw::Json(other) => self.reject(Rejection::new(
                    SkipReason::MissingEventType,
                    format!("`eventType` must be a string, not {}", other.kind()),
                )),
            },
            _ => {
                if let Err(detail) = self.set_optional(field, value) {
                    self.reject(Rejection::new(SkipReason::InvalidField, detail));
                }
            }
        }
    }

    fn set_optional(&mut self, field: Field, value: Raw<'_>) -> Result<(), String> {
        let event = self
            .event
            .get_or_insert_with(|| Event::new(DateTime::UNIX_EPOCH, EventType::MessageSent));
        set_field(event, field, value)
    }

    /// The first field error, if any: for ingestion, where the server sets the time.
    pub(crate) fn field_error(&self) -> Option<&Rejection> {
        self.first_error.as_ref()
    }

    /// The `eventType` as given, if any.
    pub(crate) fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The optional fields collected so far, on an event at `timestamp` of `event_type`.
    pub(crate) fn into_event(self, timestamp: DateTime<Utc>, event_type: EventType) -> Event {
        let mut event = self
            .event
            .unwrap_or_else(|| Event::new(timestamp, event_type.clone()));
        event.timestamp = timestamp;
        event.event_type = event_type;
        event
    }

    /// Checks the required fields and returns the event or why it is rejected.
    pub(crate) fn finish(mut self) -> Result<Event, Rejection> {
        if let Some(rejection) = self.first_error.take() {
            return Err(rejection);
        }
        let Some(ts_text) = self.timestamp.take() else {
            return Err(Rejection::new(
                SkipReason::MissingTimestamp,
                "no `timestamp` field",
            ));
        };
        let Some(timestamp) = parse_timestamp(&ts_text) else {
            return Err(Rejection::new(
                SkipReason::InvalidTimestamp,
                format!("`timestamp` {:?} is not RFC 3339", truncate(&ts_text, 60)),
            ));
        };
        let event_type = match self.event_type.as_deref() {
            Some(name) if !name.trim().is_empty() => EventType::parse(name.trim()),
            _ => {
                return Err(Rejection::new(
                    SkipReason::MissingEventType,
                    "no `eventType` field",
                ));
            }
        };
        Ok(self.into_event(timestamp, event_type))
    }
}

fn truncate(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
        None => Cow::Borrowed(s),
    }
}

/// A JSON record: an object becomes an event or a rejection; anything else is `NotAnObject`.
pub(crate) struct JsonRecord(pub(crate) Result<Event, Rejection>);

impl<'de> Deserialize<'de> for JsonRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RecordVisitor)
    }
}

struct RecordVisitor;

fn not_object<E>(kind: &str) -> Result<JsonRecord, E> {
    Ok(JsonRecord(Err(Rejection::new(
        SkipReason::NotAnObject,
        format!("record is {kind}, not an object"),
    ))))
}

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = JsonRecord;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonRecord, A::Error> {
        let mut builder = RecordBuilder::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match Field::from_name(&key) {
                Some(field) => builder.set_json(field, map.next_value::<Scalar<'de>>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(JsonRecord(builder.finish()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonRecord, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        not_object("an array")
    }
    fn visit_unit<E: de::Error>(self) -> Result<JsonRecord, E> {
        not_object("null")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonRecord, E> {
        not_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<JsonRecord, E> {
        not_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<JsonRecord, E> {
        not_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonRecord, E> {
        not_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<JsonRecord, E> {
        not_object("a string")
    }
}

/// Parses one JSON event object (a whole NDJSON line, or a request body).
pub fn parse_json_event(bytes: &[u8]) -> Result<Event, Rejection> {
    match serde_json::from_slice::<JsonRecord>(bytes) {
        Ok(JsonRecord(result)) => result,
        Err(e) => Err(Rejection::new(
            SkipReason::InvalidJson,
            format!("{} at column {}", without_position(&e), e.column()),
        )),
    }
}

/// Parses one JSON event object and hands its borrowed view to `consume`: the outcome,
/// accepted event or rejection, is always the one [`parse_json_event`] gives, but a record
/// the fast path takes is not copied.
pub fn with_json_event<T>(
    text: &str,
    consume: impl FnOnce(&EventRef<'_>) -> T,
) -> Result<T, Rejection> {
    let mut slot = EventType::MessageSent;
    if let Some(view) = fast_json_event(text, &mut slot) {
        return Ok(consume(&view));
    }
    parse_json_event(text.as_bytes()).map(|event| consume(&event.view()))
}

/// serde_json's message without its " at line L column C" suffix, for messages that state the
/// position their own way.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::kinds::MAX_DURATION_MS;

    fn parse(s: &str) -> Result<Event, Rejection> {
        parse_json_event(s.as_bytes())
    }

    #[test]
    fn minimal_event_needs_only_timestamp_and_type() {
        let e = parse(r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"bubble_opened"}"#)
            .expect("valid");
        assert_eq!(e.event_type, EventType::BubbleOpened);
        assert_eq!(e.session_id, None);
    }

    #[test]
    fn offsets_and_fractions_are_normalised_to_utc() {
        let e = parse(r#"{"timestamp":"2026-11-01T10:00:00.250+02:00","eventType":"x"}"#)
            .expect("valid");
        assert_eq!(
            crate::event::format_timestamp(&e.timestamp),
            "2026-11-01T08:00:00.250Z"
        );
        assert_eq!(e.event_type, EventType::Other("x".into()));
    }

    #[test]
    fn each_missing_required_field_has_its_reason() {
        let cases = [
            (r#"{"eventType":"x"}"#, SkipReason::MissingTimestamp),
            (
                r#"{"timestamp":null,"eventType":"x"}"#,
                SkipReason::MissingTimestamp,
            ),
            (
                r#"{"timestamp":"yesterday","eventType":"x"}"#,
                SkipReason::InvalidTimestamp,
            ),
            (
                r#"{"timestamp":17,"eventType":"x"}"#,
                SkipReason::InvalidTimestamp,
            ),
            (
                r#"{"timestamp":"2026-11-01T10:00:00Z"}"#,
                SkipReason::MissingEventType,
            ),
            (
                r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":""}"#,
                SkipReason::MissingEventType,
            ),
            ("[1,2]", SkipReason::NotAnObject),
            ("\"text\"", SkipReason::NotAnObject),
            ("{\"timestamp\":", SkipReason::InvalidJson),
        ];
        for (input, reason) in cases {
            assert_eq!(parse(input).expect_err(input).reason, reason, "{input}");
        }
    }

    #[test]
    fn wrong_typed_optional_fields_are_rejected_naming_the_field() {
        for (field, value) in [
            ("ragTimeMs", "\"12\""),
            ("ragTimeMs", "-1"),
            ("totalTimeMs", "1.7e308"),
            ("messageNumber", "1.5"),
            ("success", "\"yes\""),
            ("question", "{\"a\":1}"),
            ("topic", "[1]"),
        ] {
            let input = format!(
                r#"{{"timestamp":"2026-11-01T10:00:00Z","eventType":"x","{field}":{value}}}"#
            );
            let err = parse(&input).expect_err(&input);
            assert_eq!(err.reason, SkipReason::InvalidField, "{input}");
            assert!(err.detail.contains(field), "{}", err.detail);
        }
    }

    #[test]
    fn null_and_empty_strings_are_absent() {
        let e = parse(
            r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","topic":"","sessionId":null,"ragTimeMs":null}"#,
        )
        .expect("valid");
        assert_eq!(e.topic, None);
        assert_eq!(e.session_id, None);
        assert_eq!(e.rag_time_ms, None);
    }

    #[test]
    fn unknown_fields_are_ignored_even_when_nested() {
        let e = parse(
            r#"{"extra":{"deep":[1,{"x":null}]},"timestamp":"2026-11-01T10:00:00Z","eventType":"cta_clicked"}"#,
        )
        .expect("valid");
        assert_eq!(e.event_type, EventType::CtaClicked);
    }

    #[test]
    fn json_numbers_read_back_exactly() {
        // Found by the property tests: serde_json's default float parser is not correctly
        // rounded, so about one duration in ten as a browser measures it (and scores such as
        // 8.661578751212179e161) read back one unit in the last place off from what was
        // written. The `float_roundtrip` feature of serde_json makes the JSON readers exact.
        for n in [
            3940.0139999999956_f64,
            1904.6559999999954,
            182.60899999999674,
            8.661578751212179e161,
            -9.471287951090391e-67,
            0.30000000000000004,
        ] {
            let e = parse(&format!(
                r#"{{"timestamp":"2026-11-01T10:00:00Z","eventType":"x","ragMatchScore":{n:?},"aiTimeMs":{}}}"#,
                n.abs().min(MAX_DURATION_MS)
            ))
            .expect("valid");
            assert_eq!(e.rag_match_score, Some(n), "{n:?}");
            assert_eq!(e.ai_time_ms, Some(n.abs().min(MAX_DURATION_MS)), "{n:?}");
        }
    }

    #[test]
    fn the_fast_path_takes_what_this_project_writes() {
        // What the generator, the worker's export and pretty-printed exports look like: none of
        // it may fall back to the general path (a silent fallback costs twice the time).
        let message = r#"{"timestamp":"2025-11-26T00:03:56.702Z","eventType":"message_sent","sessionId":"session-1764115382-5bys017z0","messageNumber":1,"question":"What projects have you built","topic":"projects","entriesRetrieved":3,"responseLength":395,"success":true,"ragTimeMs":14,"aiTimeMs":1281.5,"totalTimeMs":1299,"noRagMatch":false,"ragMatchScore":0.812,"pageUrl":"https://example.dev/","pageTitle":"Example Dev","referrer":null,"errorType":null,"errorMessage":null}"#;
        let pretty = "{\n  \"timestamp\": \"2025-11-26T00:00:03Z\",\r\n\t\"eventType\" : \"widget_loaded\" ,\n  \"extra\": -12.5, \"flag\": true, \"none\": null, \"id\": \"x\"\n}\n";
        for text in [message, pretty] {
            let mut slot = EventType::MessageSent;
            let fast = fast_json_event(text, &mut slot).map(|e| e.to_event());
            assert_eq!(fast, Some(parse(text).expect("valid")), "{text}");
        }
    }
}
