//! Property tests: the parsers never panic on any input, whatever they accept keeps the
//! contracts stated in their docs, and every export format round-trips arbitrary events,
//! hostile text included. Each property runs proptest's default 256 cases (`PROPTEST_CASES`
//! overrides it); the fuzz targets under `fuzz/` push the same parsers much further.

use analytics::{
    CsvWriter, Envelope, Event, EventType, ExportCursor, FIELDS, Format, IngestError,
    MAX_BODY_BYTES, PageContext, ReadError, ReadInfo, SCHEMA_VERSION, Sink, Skipped, Zone,
    clean_text, escape_html, neutralise_csv, normalize_question, parse_ingest, parse_json_event,
    read_export, scrub_pii, strip_query, unneutralise_csv, write_ndjson_line,
};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::sample::{Index, select};

// ---------------------------------------------------------------------------------------------
// Strategies

/// Pieces of text that break naive CSV, JSON, HTML and spreadsheet handling.
const FRAGMENTS: &[&str] = &[
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\r\n",
    "\"",
    "\"\"",
    ",",
    ";",
    "'",
    "''",
    " ",
    "  ",
    "a",
    "Z",
    "0",
    "42",
    "1.5",
    "é",
    "ß",
    "İ",
    "💥",
    "漢字",
    "\u{202e}",
    "\u{2066}",
    "\u{200f}",
    "\u{0}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{feff}",
    "\u{2028}",
    "<",
    ">",
    "&",
    "&amp;",
    "~",
    "?",
    "#",
    "%",
    "\\",
    "/",
    "{",
    "}",
    "[",
    "]",
    ":",
    "null",
    "true",
    "timestamp",
    "eventType",
    "=HYPERLINK(\"https://evil.example\")",
    "@SUM(A1)",
    "<script>",
    "jane@example.com",
    "+44 20 7946 0958",
];

/// Non-empty text: hostile fragments, printable Unicode or anything at all.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(select(FRAGMENTS), 1..10).prop_map(|parts| parts.concat()),
        1 => "\\PC{1,24}",
        1 => "(?s).{1,24}",
    ]
}

/// Timestamps across the whole RFC 3339 range (years 1 to 9999), with any sub-second part.
fn timestamp() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (-62_135_596_800i64..=253_402_300_799, 0u32..1_000_000_000),
        (
            1_700_000_000i64..1_900_000_000,
            (0u32..1000).prop_map(|ms| ms * 1_000_000)
        ),
    ]
    .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).expect("in chrono's range"))
}

/// A known type, or an unknown name as the readers keep it (trimmed, not empty).
fn event_type() -> impl Strategy<Value = EventType> {
    prop_oneof![
        3 => select(EventType::KNOWN.to_vec()),
        1 => hostile_text().prop_filter_map("an unknown, trimmed, non-empty name", |name| {
            match EventType::parse(name.trim()) {
                other @ EventType::Other(_) if !name.trim().is_empty() => Some(other),
                _ => None,
            }
        }),
    ]
}

/// Counts as JSON carries them exactly (below 2^53).
fn count() -> impl Strategy<Value = Option<u64>> {
    prop::option::of(prop_oneof![0u64..10, 0u64..(1 << 53)])
}

/// Durations within the accepted range, whole or with any fraction.
fn duration() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop_oneof![
        (0u32..100_000).prop_map(f64::from),
        0.0..=analytics::MAX_DURATION_MS,
        Just(analytics::MAX_DURATION_MS),
    ])
}

/// Any finite number.
fn finite() -> impl Strategy<Value = Option<f64>> {
    use prop::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop::option::of(POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO)
}

fn text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(hostile_text())
}

/// A valid event: what the readers can produce. Text fields are absent or non-empty (an empty
/// string reads as absent), numbers are in range.
fn event() -> impl Strategy<Value = Event> {
    let required = (timestamp(), event_type());
    let numbers = (
        count(),
        count(),
        count(),
        prop::option::of(any::<bool>()),
        duration(),
        duration(),
        duration(),
        prop::option::of(any::<bool>()),
        finite(),
    );
    let texts = (
        text(),
        text(),
        text(),
        text(),
        text(),
        text(),
        text(),
        text(),
    );
    (required, numbers, texts).prop_map(
        |(
            (timestamp, event_type),
            (
                message_number,
                entries_retrieved,
                response_length,
                success,
                rag,
                ai,
                total,
                no_match,
                score,
            ),
            (
                session_id,
                question,
                topic,
                page_url,
                page_title,
                referrer,
                error_type,
                error_message,
            ),
        )| Event {
            session_id,
            message_number,
            question,
            topic,
            entries_retrieved,
            response_length,
            success,
            rag_time_ms: rag,
            ai_time_ms: ai,
            total_time_ms: total,
            no_rag_match: no_match,
            rag_match_score: score,
            page_url,
            page_title,
            referrer,
            error_type,
            error_message,
            ..Event::new(timestamp, event_type)
        },
    )
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(event(), 0..6)
}

/// Bytes that look a little like the export formats, so the readers get past their first byte.
fn exportish_bytes() -> impl Strategy<Value = Vec<u8>> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\n",
        "\r\n",
        " ",
        "\u{feff}",
        "null",
        "true",
        "1",
        "-0.5e3",
        "1e999",
        "\"timestamp\"",
        "\"eventType\"",
        "\"events\"",
        "\"schemaVersion\"",
        "\"daily\"",
        "\"nextCursor\"",
        "\"2026-11-01T10:00:00Z\"",
        "\"message_sent\"",
        "\"ragTimeMs\"",
        "\"question\"",
        "timestamp,eventType",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "'=",
        "\u{ff}",
    ];
    prop::collection::vec(
        prop_oneof![
            3 => select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 1..4),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// The export shapes a valid export can have.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Envelope,
    StreamedEnvelope,
    PrettyEnvelope,
    Array,
    Ndjson,
    Csv,
}

impl Shape {
    const ALL: [Shape; 6] = [
        Shape::Envelope,
        Shape::StreamedEnvelope,
        Shape::PrettyEnvelope,
        Shape::Array,
        Shape::Ndjson,
        Shape::Csv,
    ];

    fn format(self) -> Format {
        match self {
            Shape::Envelope | Shape::StreamedEnvelope | Shape::PrettyEnvelope | Shape::Array => {
                Format::Json
            }
            Shape::Ndjson => Format::Ndjson,
            Shape::Csv => Format::Csv,
        }
    }

    fn write(self, events: &[Event]) -> Vec<u8> {
        let envelope = Envelope {
            events,
            next_cursor: Some("2026-11-25~1764136800123"),
            ..Envelope::new(
                DateTime::UNIX_EPOCH,
                DateTime::UNIX_EPOCH,
                DateTime::UNIX_EPOCH,
            )
        };
        match self {
            Shape::Envelope => serde_json::to_vec(&envelope).expect("serialise envelope"),
            Shape::StreamedEnvelope => {
                // As the worker streams a whole window: the events written between the rest.
                let (head, tail) = envelope.around_events();
                let mut out = head.into_bytes();
                for (i, e) in events.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut out, e).expect("serialise event");
                }
                out.extend_from_slice(tail.as_bytes());
                out
            }
            Shape::PrettyEnvelope => {
                serde_json::to_vec_pretty(&envelope).expect("serialise envelope")
            }
            Shape::Array => serde_json::to_vec(events).expect("serialise array"),
            Shape::Ndjson => {
                let mut out = Vec::new();
                for e in events {
                    write_ndjson_line(&mut out, e).expect("write to a Vec");
                }
                out
            }
            Shape::Csv => {
                let mut writer = CsvWriter::new(Vec::new()).expect("write to a Vec");
                for e in events {
                    writer.write(e).expect("write to a Vec");
                }
                writer.finish().expect("write to a Vec")
            }
        }
    }
}

/// A small edit of a valid export.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    Insert(Index, u8),
    Remove(Index),
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
        match self {
            Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len())),
            Mutation::Flip(i, mask) if !bytes.is_empty() => {
                let i = at(i, bytes.len());
                bytes[i] ^= mask;
            }
            Mutation::Insert(i, byte) => bytes.insert(at(i, bytes.len() + 1), *byte),
            Mutation::Remove(i) if !bytes.is_empty() => {
                bytes.remove(at(i, bytes.len()));
            }
            Mutation::Flip(..) | Mutation::Remove(_) => {}
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    const BYTES: &[u8] = b"{}[],:\"\\\n\r 0-'=\x00\xff\xc3";
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<Index>(), prop_oneof![select(BYTES), any::<u8>()])
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Remove),
    ]
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Everything a read reported, in order.
#[derive(Debug, Default)]
struct Collect {
    items: Vec<Result<Event, Skipped>>,
    strict: bool,
}

impl Collect {
    fn events(&self) -> Vec<&Event> {
        self.items.iter().filter_map(|i| i.as_ref().ok()).collect()
    }
    fn skipped(&self) -> Vec<&Skipped> {
        self.items.iter().filter_map(|i| i.as_ref().err()).collect()
    }
}

impl Sink for Collect {
    fn event(&mut self, event: Event) {
        self.items.push(Ok(event));
    }
    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        if self.strict {
            return Err(ReadError::Rejected(skipped));
        }
        self.items.push(Err(skipped));
        Ok(())
    }
}

fn read(
    input: &[u8],
    format: Option<Format>,
    strict: bool,
) -> (Result<ReadInfo, ReadError>, Collect) {
    let mut sink = Collect {
        strict,
        ..Collect::default()
    };
    let result = read_export(input, format, &mut sink);
    (result, sink)
}

/// Reads `input` leniently and strictly and checks what any read must satisfy, whatever the
/// input: every skip and every syntax error is located on a line of the input, records are
/// numbered 1, 2, 3…, an in-memory read never fails with an I/O error, and a strict read stops
/// with the lenient read's first skip (or ends as the lenient read did when nothing is skipped).
fn check_read(input: &[u8], format: Option<Format>) -> Result<(), TestCaseError> {
    let lines = input.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let (result, lenient) = read(input, format, false);
    let mut last_record = 0;
    for skipped in lenient.skipped() {
        let at = skipped.location;
        prop_assert!(at.record > last_record, "records out of order: {skipped}");
        last_record = at.record;
        prop_assert!(
            (1..=lines).contains(&at.line),
            "{skipped}: line outside the input's {lines} lines"
        );
        prop_assert!(!skipped.rejection.detail.is_empty(), "{skipped}: no detail");
    }
    match &result {
        Ok(info) => {
            prop_assert_eq!(info.records, lenient.items.len() as u64);
            prop_assert!(info.format.is_some());
            if let Some(format) = format {
                prop_assert_eq!(info.format, Some(format));
            }
            if info.envelope || info.next_cursor.is_some() {
                prop_assert_eq!(info.format, Some(Format::Json));
            }
        }
        Err(ReadError::Syntax {
            line,
            column: _,
            message,
        }) => {
            prop_assert!(
                (1..=lines).contains(&(*line as u64)),
                "syntax error on line {line}, outside the input's {lines} lines"
            );
            prop_assert!(!message.is_empty(), "a syntax error without a message");
        }
        Err(ReadError::NotAnExport(message)) => {
            prop_assert!(!message.is_empty(), "NotAnExport without a message");
        }
        Err(ReadError::SchemaVersion(version)) => prop_assert_ne!(*version, SCHEMA_VERSION),
        Err(e @ (ReadError::Io(_) | ReadError::Rejected(_))) => {
            prop_assert!(false, "a lenient in-memory read failed with {e:?}");
        }
    }

    let (strict_result, strict) = read(input, format, true);
    match lenient.skipped().first() {
        Some(first) => {
            match &strict_result {
                Err(ReadError::Rejected(s)) => prop_assert_eq!(s, *first),
                other => prop_assert!(false, "strict read ended with {other:?}, not {first}"),
            }
            let before = lenient.items.iter().take_while(|i| i.is_ok()).count();
            prop_assert_eq!(&strict.items[..], &lenient.items[..before]);
        }
        None => {
            prop_assert_eq!(&strict.items, &lenient.items);
            prop_assert_eq!(
                strict_result.as_ref().map_err(ToString::to_string),
                result.as_ref().map_err(ToString::to_string)
            );
        }
    }

    // Detection picks a format; forcing that format reads exactly the same.
    if format.is_none()
        && let Ok(info) = &result
    {
        let (forced, sink) = read(input, info.format, false);
        prop_assert_eq!(forced.as_ref().map_err(ToString::to_string), Ok(info));
        prop_assert_eq!(&sink.items, &lenient.items);
    }
    Ok(())
}

const FORMATS: [Option<Format>; 4] = [
    None,
    Some(Format::Json),
    Some(Format::Ndjson),
    Some(Format::Csv),
];

proptest! {
    /// (a) Any bytes, in any forced format or detected: no panic, located errors.
    #[test]
    fn read_export_never_panics_on_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        for format in FORMATS {
            check_read(&input, format)?;
        }
    }

    /// (a) Bytes made of the formats' own tokens reach deeper into the readers.
    #[test]
    fn read_export_never_panics_on_export_like_bytes(input in exportish_bytes()) {
        for format in FORMATS {
            check_read(&input, format)?;
        }
    }

    /// (a) A valid export, truncated or with bytes flipped, inserted or removed.
    #[test]
    fn read_export_never_panics_on_almost_valid_exports(
        events in events(),
        shape in select(Shape::ALL.to_vec()),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut input = shape.write(&events);
        for m in &mutations {
            m.apply(&mut input);
        }
        check_read(&input, None)?;
        check_read(&input, Some(shape.format()))?;
    }

    /// (c) Every shape, detected or forced, reads back exactly the events written.
    #[test]
    fn every_export_shape_round_trips_arbitrary_events(
        events in events(),
        shape in select(Shape::ALL.to_vec()),
    ) {
        let bytes = shape.write(&events);
        for format in [None, Some(shape.format())] {
            let (result, sink) = read(&bytes, format, true);
            let info = result.map_err(|e| {
                TestCaseError::fail(format!(
                    "{shape:?} read as {format:?} failed: {e}\n{}",
                    String::from_utf8_lossy(&bytes)
                ))
            })?;
            prop_assert_eq!(info.format, Some(shape.format()));
            prop_assert_eq!(info.records, events.len() as u64);
            prop_assert_eq!(sink.events(), events.iter().collect::<Vec<_>>());
            prop_assert_eq!(
                info.envelope,
                matches!(
                    shape,
                    Shape::Envelope | Shape::StreamedEnvelope | Shape::PrettyEnvelope
                )
            );
        }
    }

    /// (c) One event per NDJSON line is also what `parse_json_event` reads back.
    #[test]
    fn an_ndjson_line_parses_back_to_its_event(event in event()) {
        let mut line = Vec::new();
        write_ndjson_line(&mut line, &event).expect("write to a Vec");
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        prop_assert_eq!(parse_json_event(&line), Ok(event));
    }

    /// (c) Neutralising a CSV cell is lossless, and no neutralised cell starts a formula.
    #[test]
    fn csv_neutralisation_round_trips_and_disarms(cell in prop_oneof![hostile_text(), ".*"]) {
        let neutral = neutralise_csv(&cell);
        prop_assert_eq!(unneutralise_csv(&neutral), cell.as_str());
        prop_assert!(
            !neutral.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{neutral:?} starts a formula"
        );
    }

    /// (a) Single JSON records: no panic, and an accepted one survives a write and re-read.
    #[test]
    fn parse_json_event_never_panics(input in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        exportish_bytes(),
    ]) {
        if let Ok(event) = parse_json_event(&input) {
            let mut line = Vec::new();
            write_ndjson_line(&mut line, &event).expect("write to a Vec");
            prop_assert_eq!(parse_json_event(&line), Ok(event));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ingestion

/// URLs as browsers send them, and things that are not.
fn url() -> impl Strategy<Value = String> {
    let scheme = select(
        &[
            "http://",
            "https://",
            "HTTPS://",
            "javascript:",
            "JavaScript:",
            "data:text/html,",
            "file://",
            "ftp://",
            "//",
            "/",
            "",
            " http://",
            "java\tscript:",
            "\u{202e}https://",
        ][..],
    );
    let userinfo = select(&["", "user:pw@", "jane@example.com@", "a:b:c@"][..]);
    let host = select(
        &[
            "site.dev",
            "www.google.com",
            "0612345678.com",
            "[::1]",
            "127.0.0.1:8080",
            "例え.jp",
            "xn--bcher-kva.example",
            "a b",
            "",
            "evil.example\\@site.dev",
        ][..],
    );
    let path = prop::collection::vec(
        select(
            &[
                "/",
                "/a",
                "/u/jane@example.com",
                "/%3F",
                "/tel/+44 20 7946 0958",
                "/é",
                ";x",
                ":",
            ][..],
        ),
        0..4,
    )
    .prop_map(|p| p.concat());
    let query = select(&["", "?", "?q=me@x.com", "?utm=x&y=z", "??", "?#"][..]);
    let fragment = select(&["", "#", "#top", "#?q=1"][..]);
    prop_oneof![
        4 => (scheme, userinfo, host, path, query, fragment)
            .prop_map(|(s, u, h, p, q, f)| format!("{s}{u}{h}{p}{q}{f}")),
        1 => hostile_text(),
    ]
}

/// Free text with e-mail addresses, phone numbers and things that only look like them.
fn pii_text() -> impl Strategy<Value = String> {
    let parts = select(
        &[
            "jane.doe+cv@example.co.uk",
            "bob@corp.io",
            "+44 20 7946 0958",
            "(555) 123-4567",
            "0612345678",
            "4111 1111 1111 1111",
            "2026-09-10",
            "14:30",
            "1.2.3",
            "120000",
            " ",
            " or ",
            "\n",
            "@",
            ".",
            "+",
            "x@y",
            "a@b.c",
            "[email]",
        ][..],
    );
    prop::collection::vec(
        prop_oneof![parts.prop_map(str::to_owned), hostile_text()],
        1..6,
    )
    .prop_map(|p| p.concat())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u32..2_000_000).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_text().prop_map(Value::String),
        url().prop_map(Value::String),
        pii_text().prop_map(Value::String),
        Just(Value::String(String::new())),
        "\\PC{600,700}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value of the type `field` takes: what a real client sends.
fn typed_value(field: &'static str) -> BoxedStrategy<serde_json::Value> {
    use serde_json::Value;
    match field {
        "messageNumber" | "entriesRetrieved" | "responseLength" => {
            (0u64..1_000_000).prop_map(Value::from).boxed()
        }
        "success" | "noRagMatch" => any::<bool>().prop_map(Value::from).boxed(),
        "ragTimeMs" | "aiTimeMs" | "totalTimeMs" => (0.0..=analytics::MAX_DURATION_MS)
            .prop_map(Value::from)
            .boxed(),
        "ragMatchScore" => (-1.0..2.0f64).prop_map(Value::from).boxed(),
        "pageUrl" | "referrer" => url().prop_map(Value::String).boxed(),
        "question" | "errorMessage" | "pageTitle" => prop_oneof![
            pii_text().prop_map(Value::String),
            hostile_text().prop_map(Value::String),
            "\\PC{400,700}".prop_map(Value::String),
        ]
        .boxed(),
        _ => prop_oneof![
            hostile_text().prop_map(Value::String),
            "\\PC{90,200}".prop_map(Value::String),
        ]
        .boxed(),
    }
}

/// A JSON object with schema fields set to values of their type, or of any type, and other
/// keys.
fn ingest_object() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        6 => select(FIELDS.to_vec())
            .prop_flat_map(|name| (Just(name.to_owned()), typed_value(name))),
        1 => (select(FIELDS.to_vec()).prop_map(str::to_owned), json_value()),
        1 => (hostile_text(), json_value()),
    ];
    let event_type = prop_oneof![
        4 => select(EventType::KNOWN.to_vec()).prop_map(|t| serde_json::Value::from(t.as_str())),
        1 => select(&[" bubble_opened ", "\tcta_clicked\n", "page_scrolled", ""][..])
            .prop_map(serde_json::Value::from),
        1 => json_value(),
    ];
    (
        prop::option::weighted(0.9, event_type),
        prop::collection::vec(field, 0..8),
    )
        .prop_map(|(event_type, fields)| {
            let mut object = serde_json::Map::new();
            for (key, value) in fields {
                object.insert(key, value);
            }
            if let Some(event_type) = event_type {
                object.insert("eventType".to_owned(), event_type);
            }
            serde_json::to_vec(&serde_json::Value::Object(object)).expect("serialise object")
        })
}

fn header() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        url(),
        hostile_text(),
        pii_text(),
        Just(" ".to_owned())
    ])
}

/// Bidi embeddings, overrides and isolates (what `clean_text` and ingestion remove).
fn reorders(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// What the worker may store from `parse_ingest`, checked field by field.
fn check_ingested(event: &Event, now: DateTime<Utc>) -> Result<(), TestCaseError> {
    prop_assert_eq!(event.timestamp, now, "the server sets the time");
    prop_assert!(
        event.event_type.is_known(),
        "{:?} accepted",
        event.event_type
    );
    let fields: [(&str, &Option<String>, usize); 8] = [
        ("sessionId", &event.session_id, 128),
        ("question", &event.question, 500),
        ("topic", &event.topic, 100),
        ("pageUrl", &event.page_url, 2048),
        ("pageTitle", &event.page_title, 300),
        ("referrer", &event.referrer, 2048),
        ("errorType", &event.error_type, 100),
        ("errorMessage", &event.error_message, 500),
    ];
    for (name, value, cap) in fields {
        let Some(value) = value else { continue };
        prop_assert!(
            value.chars().count() <= cap,
            "{name} over {cap} chars: {value:?}"
        );
        prop_assert!(
            !value.chars().any(|c| c.is_control() || reorders(c)),
            "{name} keeps a control or bidi character: {value:?}"
        );
    }
    for (name, url) in [("pageUrl", &event.page_url), ("referrer", &event.referrer)] {
        let Some(url) = url else { continue };
        prop_assert!(
            !url.contains(['?', '#']),
            "{name} keeps a query or fragment: {url:?}"
        );
        prop_assert!(
            url.starts_with("http://")
                || url.starts_with("https://")
                || url.starts_with('/')
                || !url.contains(':'),
            "{name} is neither a web URL nor a path: {url:?}"
        );
    }
    for (name, text) in [
        ("question", &event.question),
        ("topic", &event.topic),
        ("errorType", &event.error_type),
        ("errorMessage", &event.error_message),
        ("pageTitle", &event.page_title),
    ] {
        let Some(text) = text else { continue };
        prop_assert_eq!(scrub_pii(text), text.as_str(), "{} keeps PII", name);
    }
    // A stored URL is what cleaning makes of it: its path scrubbed segment by segment.
    for (name, url) in [("pageUrl", &event.page_url), ("referrer", &event.referrer)] {
        let Some(url) = url else { continue };
        prop_assert_eq!(
            &strip_query(url),
            url,
            "{} is not what cleaning makes of it",
            name
        );
    }
    // The worker stores the event as JSON and reads it back with `parse_json_event`.
    let mut stored = Vec::new();
    write_ndjson_line(&mut stored, event).expect("write to a Vec");
    let read_back = parse_json_event(&stored);
    prop_assert_eq!(read_back.as_ref(), Ok(event), "stored and read back");
    Ok(())
}

proptest! {
    /// (b) Any body with any headers: an error or an event that keeps every promise.
    #[test]
    fn parse_ingest_never_panics_and_keeps_its_promises(
        body in prop_oneof![
            1 => prop::collection::vec(any::<u8>(), 0..300),
            1 => exportish_bytes(),
            4 => ingest_object(),
        ],
        page_url in header(),
        page_title in header(),
        referrer in header(),
        session_id in header(),
        now in timestamp(),
    ) {
        let context = PageContext {
            page_url: page_url.as_deref(),
            page_title: page_title.as_deref(),
            referrer: referrer.as_deref(),
            session_id: session_id.as_deref(),
            hash_key: Some("property-test key"),
        };
        match parse_ingest(&body, &context, now) {
            Ok(event) => check_ingested(&event, now)?,
            Err(IngestError::TooLarge(len)) => {
                prop_assert_eq!(len, body.len());
                prop_assert!(len > MAX_BODY_BYTES);
            }
            Err(e @ IngestError::Invalid(_)) => {
                prop_assert_eq!(e.status(), 400);
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    /// (b) Bodies over the cap are refused with 413 before being parsed.
    #[test]
    fn an_oversized_body_is_413(extra in 1usize..64, byte in any::<u8>()) {
        let body = vec![byte; MAX_BODY_BYTES + extra];
        let error = parse_ingest(&body, &PageContext::default(), DateTime::UNIX_EPOCH)
            .expect_err("over the cap");
        prop_assert_eq!(error.status(), 413);
    }
}

// ---------------------------------------------------------------------------------------------
// Text

/// Reverses `escape_html`'s five entities.
fn unescape(html: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = html;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let (entity, c) = [
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
            ("&#39;", '\''),
        ]
        .into_iter()
        .find(|(entity, _)| rest.starts_with(entity))?;
        out.push(c);
        rest = &rest[entity.len()..];
    }
    out.push_str(rest);
    Some(out)
}

proptest! {
    /// (d) Escaped text has no markup characters, `&` only as an entity, nothing `clean_text`
    /// removes, and unescapes to exactly `clean_text` of the input.
    #[test]
    fn escape_html_leaves_no_markup(text in prop_oneof![hostile_text(), ".*", "(?s).*"]) {
        let html = escape_html(&text);
        prop_assert!(!html.contains(['<', '>', '"', '\'']), "{html:?}");
        prop_assert!(!html.chars().any(|c| c.is_control() || reorders(c)), "{html:?}");
        prop_assert_eq!(unescape(&html), Some(clean_text(&text)), "{:?}", html);
    }

    /// (d) `clean_text` removes control characters and bidi embeddings, overrides and
    /// isolates, and nothing else.
    #[test]
    fn clean_text_removes_exactly_controls_and_bidi_overrides(
        text in prop_oneof![hostile_text(), "(?s).*"],
    ) {
        let clean = clean_text(&text);
        prop_assert!(!clean.chars().any(|c| c.is_control() || reorders(c)), "{clean:?}");
        let kept: String = text.chars().filter(|&c| !c.is_control() && !reorders(c)).collect();
        prop_assert_eq!(&clean, &kept);
        prop_assert_eq!(clean_text(&clean), clean, "idempotent");
    }

    /// (d) A normalised question is one lowercase line of single-spaced words without
    /// trailing `?`, `!` or `.`, and normalising it again changes nothing.
    #[test]
    fn normalize_question_is_canonical(text in prop_oneof![hostile_text(), pii_text(), "(?s).*"]) {
        let normal = normalize_question(&text);
        prop_assert_eq!(normal.trim(), normal.as_str(), "trimmed");
        prop_assert!(!normal.ends_with(['?', '!', '.']), "{normal:?}");
        let mut previous_space = false;
        for c in normal.chars() {
            prop_assert!(!(c.is_whitespace() && c != ' '), "{normal:?} keeps {c:?}");
            prop_assert!(!(previous_space && c == ' '), "{normal:?} has a double space");
            previous_space = c == ' ';
        }
        prop_assert_eq!(normalize_question(&normal), normal.clone(), "idempotent");
        prop_assert_eq!(normalize_question(&text.to_lowercase()), normal, "case-blind");
    }

    /// `Zone::parse` never panics, and a zone parses back from its name.
    #[test]
    fn zone_parse_never_panics_and_round_trips(
        text in prop_oneof![
            "[+-]?[0-9]{1,5}(:[0-9]{1,3}){0,2}",
            select(&["utc", "UTC", "Z", " z ", "+00:00", "-00:00", "+24:00", "+23:59:59", "Europe/Berlin"][..])
                .prop_map(str::to_owned),
            "(?s).{0,12}",
        ],
        at in timestamp(),
    ) {
        if let Ok(zone) = Zone::parse(&text) {
            prop_assert_eq!(Zone::parse(&zone.name()), Ok(zone), "{}", zone.name());
            let offset = zone.offset_at(at).local_minus_utc();
            prop_assert!(offset.abs() < 86_400);
            prop_assert_eq!(zone.local(at).naive_utc(), at.naive_utc());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Export cursors

fn cursor() -> impl Strategy<Value = ExportCursor> {
    let min_ms = DateTime::<Utc>::MIN_UTC.timestamp_millis();
    let max_ms = DateTime::<Utc>::MAX_UTC.timestamp_millis();
    let day = prop_oneof![
        // The days a real export lists, and every day chrono can represent.
        (0i64..30_000).prop_map(|d| {
            NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date") + TimeDelta::days(d)
        }),
        (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
            .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).expect("in range")),
    ];
    let window_end = prop_oneof![1_700_000_000_000i64..1_900_000_000_000, min_ms..=max_ms]
        .prop_map(|ms| DateTime::from_timestamp_millis(ms).expect("in range"));
    let kv = prop::option::of(prop_oneof!["[A-Za-z0-9+/=~_-]{1,40}", hostile_text()]);
    let part = 0..analytics::Spot::PARTS;
    (window_end, day, part, kv).prop_map(|(window_end, day, part, kv_cursor)| ExportCursor {
        window_end,
        day,
        part,
        kv_cursor,
    })
}

proptest! {
    /// (e) A cursor decodes to itself.
    #[test]
    fn export_cursor_round_trips(cursor in cursor()) {
        prop_assert_eq!(ExportCursor::decode(&cursor.encode()), Ok(cursor));
    }

    /// (e) Decoding any string never panics, and what decodes re-encodes to a cursor that
    /// decodes the same.
    #[test]
    fn export_cursor_decode_never_panics(
        text in prop_oneof![
            "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}(\\.[0-9+]{0,2})?~[+-]?[0-9]{1,20}(~.{0,10})?",
            "(?s).{0,40}",
        ],
    ) {
        if let Ok(cursor) = ExportCursor::decode(&text) {
            prop_assert_eq!(ExportCursor::decode(&cursor.encode()), Ok(cursor));
        }
    }
}

/// The generators reach what the properties are about: without this, a generator that only
/// ever produced refused bodies or unreadable exports would make the properties above pass
/// without checking anything.
#[test]
fn the_generators_reach_accepted_and_refused_inputs() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let mut sample = |strategy: &dyn Fn(&mut TestRunner) -> bool| {
        (0..400).filter(|_| strategy(&mut runner)).count()
    };
    let accepted = sample(&|runner| {
        let body = ingest_object().new_tree(runner).expect("a body").current();
        parse_ingest(&body, &PageContext::default(), DateTime::UNIX_EPOCH).is_ok()
    });
    let with_skips = sample(&|runner| {
        let (events, shape, mutations) = (events(), select(Shape::ALL.to_vec()), mutation())
            .new_tree(runner)
            .expect("an export")
            .current();
        let mut input = shape.write(&events);
        mutations.apply(&mut input);
        let (result, sink) = read(&input, None, false);
        result.is_ok() && !sink.skipped().is_empty()
    });
    let failed = sample(&|runner| {
        let (events, shape, mutations) = (events(), select(Shape::ALL.to_vec()), mutation())
            .new_tree(runner)
            .expect("an export")
            .current();
        let mut input = shape.write(&events);
        mutations.apply(&mut input);
        read(&input, None, false).0.is_err()
    });
    eprintln!(
        "of 400: {accepted} bodies accepted, {with_skips} mutated exports read with skips, {failed} refused"
    );
    assert!(accepted > 100, "{accepted} of 400 bodies accepted");
    assert!(
        with_skips > 20,
        "{with_skips} of 400 mutated exports read with skips"
    );
    assert!(failed > 20, "{failed} of 400 mutated exports refused");
}

// ---------------------------------------------------------------------------------------------
// The parallel reader

/// What a sequential read into `Metrics` gives, as reportgen's one-thread path does it.
struct Sequential {
    metrics: analytics::Metrics,
    first_skips: Vec<Skipped>,
}

impl Sink for Sequential {
    fn event(&mut self, event: Event) {
        self.metrics.add(&event);
    }
    fn daily(&mut self, day: analytics::DailyAggregate) {
        self.metrics.add_daily(&day);
    }
    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        self.metrics.skip(skipped.rejection.reason);
        if self.first_skips.len() < NAMED_SKIPS {
            self.first_skips.push(skipped);
        }
        Ok(())
    }
}

const NAMED_SKIPS: usize = 3;

/// The windows the parallel reader is checked with: ranges whose previous periods also receive
/// events from the generator's dense years. (Not `Window::All`: the generator's timestamps span
/// millennia, a summary of one row per day.)
fn windows() -> [analytics::Window; 2] {
    let to = DateTime::from_timestamp(1_800_000_000, 0).expect("in range");
    [
        analytics::Window::last_days(to, 900),
        analytics::Window::last_days(to, 2000),
    ]
}

/// `aggregate` on `threads` threads in blocks of `block` bytes must end exactly as a
/// sequential read: the same error, or the same summary, read info and first skips.
fn check_parallel(
    input: &[u8],
    format: Option<Format>,
    threads: usize,
    block: usize,
) -> Result<(), TestCaseError> {
    let now = DateTime::from_timestamp(1_900_000_000, 0).expect("in range");
    for window in windows() {
        let mut sequential = Sequential {
            metrics: analytics::Metrics::new(window),
            first_skips: Vec::new(),
        };
        let expected = read_export(input, format, &mut sequential);
        let actual = analytics::aggregate(
            input,
            analytics::Metrics::new(window),
            analytics::AggregateOptions {
                format,
                threads,
                block_bytes: block,
                named_skips: NAMED_SKIPS,
            },
        );
        match (expected, actual) {
            (Err(e), Err(a)) => prop_assert_eq!(e.to_string(), a.to_string()),
            (Ok(info), Ok(read)) => {
                prop_assert_eq!(&read.info, &info);
                prop_assert_eq!(&read.first_skips, &sequential.first_skips);
                let expected =
                    serde_json::to_string(&sequential.metrics.finish(now)).expect("serialise");
                let actual = serde_json::to_string(&read.metrics.finish(now)).expect("serialise");
                prop_assert_eq!(actual, expected);
            }
            (e, a) => prop_assert!(
                false,
                "sequential {:?}, parallel {:?}",
                e.map_err(|e| e.to_string()),
                a.map(|r| r.info).map_err(|e| e.to_string())
            ),
        }
    }
    Ok(())
}

/// Events crowded into few sessions, pages, referrers, questions and instants inside the
/// checked windows, so that partial reads share sessions and pages, errors tie, gaps and
/// titles repeat: what merging partial accumulators must get right.
fn dense_event() -> impl Strategy<Value = Event> {
    const SESSIONS: &[&str] = &[
        "s1",
        "s2",
        "session-1764115203-rkb35nhp4",
        "session-1764115203-rkb35nhp",
        "session-01764115203-rkb35nhp4",
    ];
    const PAGES: &[&str] = &["https://a.example/", "https://a.example/b", "/c"];
    const REFERRERS: &[&str] = &["https://www.google.com/x", "https://bing.com/", "nonsense"];
    const QUESTIONS: &[&str] = &["How much?", "how much", "Where are you", "WHERE are you?!"];
    const TITLES: &[&str] = &["A", "B"];
    let to = 1_800_000_000i64;
    (
        event(),
        prop_oneof![
            3 => select(EventType::KNOWN.to_vec()),
            3 => Just(EventType::MessageSent),
            1 => Just(EventType::Other("custom".to_owned())),
        ],
        // A few instants (ties), in this window, the previous one, or before both.
        prop_oneof![
            3 => (0i64..6).prop_map(move |i| to - 86_400 * (1 + i * 97)),
            1 => (0i64..3).prop_map(move |i| to - 86_400 * (1000 + i)),
            1 => Just(to - 86_400 * 5000),
        ],
        prop::option::of(select(SESSIONS)),
        prop::option::of(select(PAGES)),
        prop::option::of(select(REFERRERS)),
        (
            select(QUESTIONS),
            select(TITLES),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(mut e, kind, secs, session, page, referrer, (question, title, gap, failed))| {
                e.timestamp = DateTime::from_timestamp(secs, 0).expect("in range");
                e.event_type = kind;
                e.session_id = session.map(str::to_owned);
                e.page_url = page.map(str::to_owned);
                e.referrer = referrer.map(str::to_owned);
                e.question = Some(question.to_owned());
                e.page_title = Some(title.to_owned());
                e.no_rag_match = Some(gap);
                e.success = Some(!failed);
                e.error_type = failed.then(|| "timeout".to_owned());
                e
            },
        )
}

fn many_events() -> impl Strategy<Value = Vec<Event>> {
    prop_oneof![
        prop::collection::vec(event(), 0..40),
        prop::collection::vec(dense_event(), 0..60),
    ]
}

proptest! {
    // Fewer cases than the default: each one reads every input twelve times.
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every shape of a valid export, cut into blocks anywhere, on 1 to 4 threads.
    #[test]
    fn parallel_read_equals_sequential_read(
        events in many_events(),
        shape in select(Shape::ALL.to_vec()),
        threads in 1usize..5,
        block in prop_oneof![1usize..64, Just(4096)],
    ) {
        let bytes = shape.write(&events);
        check_parallel(&bytes, None, threads, block)?;
        check_parallel(&bytes, Some(shape.format()), threads, block)?;
    }

    /// Damaged exports: the same skips at the same lines and records, or the same error.
    #[test]
    fn parallel_read_of_damaged_exports_equals_sequential_read(
        events in many_events(),
        shape in select(Shape::ALL.to_vec()),
        mutations in prop::collection::vec(mutation(), 1..4),
        threads in 1usize..4,
        block in 1usize..100,
    ) {
        let mut input = shape.write(&events);
        for m in &mutations {
            m.apply(&mut input);
        }
        check_parallel(&input, None, threads, block)?;
        check_parallel(&input, Some(shape.format()), threads, block)?;
    }

    /// Export-like and arbitrary bytes in every format.
    #[test]
    fn parallel_read_of_any_bytes_equals_sequential_read(
        input in prop_oneof![exportish_bytes(), prop::collection::vec(any::<u8>(), 0..256)],
        threads in 1usize..4,
        block in 1usize..64,
    ) {
        for format in FORMATS {
            check_parallel(&input, format, threads, block)?;
        }
    }
}

#[test]
fn an_events_array_closing_where_a_read_stops_reads_as_in_one_pass() {
    // The first read stops after 8 KiB once it holds a line. When the `]` closing the events
    // came right after that, it was once taken for the start of another element.
    let element = r#"{"timestamp":"2026-01-01T00:00:00Z","eventType":"message_sent"}"#;
    for (head, tail) in [("[\n", "]"), ("{\"events\": [\n", "],\n\"daily\": []}")] {
        for at in 8180..8200 {
            let input = format!(
                "{head}{element}{:pad$}{tail}",
                "",
                pad = at - head.len() - element.len()
            );
            assert_eq!(input.find(tail), Some(at));
            check_parallel(input.as_bytes(), None, 1, 1 << 20)
                .unwrap_or_else(|e| panic!("`]` at {at}: {e}"));
        }
    }
}

#[test]
fn blank_csv_lines_stay_with_the_next_row() {
    // The csv crate skips a blank line and gives the next row the line where its read began,
    // before the blank lines: a block that started after them numbered that row further on.
    for input in [
        "timestamp,eventType\n\n\nx\ny\n\nz",
        "timestamp,eventType\r\n\n\u{feff}{\u{feff} {\u{feff}{",
        "\n\r\n\rtimestamp,eventType\r\n\r\n\r\r\nx\r\n\r\ny\r\r\n\n",
        "timestamp,eventType\nx\n\n\u{feff}y\n\r\r\n\"q\n\n\"\n\nz",
    ] {
        for block in [1, 2, 3, 5, 100] {
            for threads in 1..=2 {
                check_parallel(input.as_bytes(), Some(Format::Csv), threads, block)
                    .unwrap_or_else(|e| panic!("{input:?}, block {block}: {e}"));
            }
        }
    }
}

#[test]
fn a_byte_order_mark_or_a_crlf_at_a_block_start_reads_as_in_one_pass() {
    // The csv crate drops a byte order mark that starts its input; a block must not, the LF
    // of a CRLF belongs with the next row's line, and a lone CR ends the header. Every block size cuts at every row.
    // Past the 64 KiB the reader takes for the header, blocks end where the block size says.
    let rows = "2026-01-01T00:00:00Z,a\n".repeat(3000);
    for input in [
        format!("timestamp,eventType\n{rows}\u{feff}2026-01-01T00:00:01Z,b\nx\n"),
        format!(
            "timestamp,eventType\r\n{}\u{feff}2026-01-01T00:00:01Z,b\r\nx\r\n",
            rows.replace('\n', "\r\n")
        ),
        "timestamp,eventType\r\n\u{feff}\"timestamp\"{".to_owned(),
        // A lone CR ends the header: what follows it is the first row.
        "timestamp,eventType\r2026-01-01T00:00:00Z,a\nx\n".to_owned(),
        "timestamp\r,eventType\n".to_owned(),
    ] {
        for block in [1, 2, 5, 23, 24, 25, 100, 4096] {
            for threads in 1..=2 {
                check_parallel(input.as_bytes(), Some(Format::Csv), threads, block)
                    .unwrap_or_else(|e| panic!("block {block}: {e}"));
            }
        }
    }
}
