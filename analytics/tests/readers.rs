//! Integration tests of `read_export`: format detection, the four export shapes, malformed
//! records and their locations, fatal errors, strict mode and streaming.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use analytics::{
    CsvWriter, DailyAggregate, Event, EventType, Format, GapSummary, Location, ReadError, ReadInfo,
    Sink, SkipReason, Skipped, format_timestamp, parse_timestamp, read_export, write_ndjson_line,
};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn ts(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap_or_else(|| panic!("bad fixture timestamp {text}"))
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// Collects everything the reader reports; in strict mode the first skip stops reading.
#[derive(Debug, Default)]
struct Collect {
    events: Vec<Event>,
    daily: Vec<DailyAggregate>,
    gaps: Vec<GapSummary>,
    skipped: Vec<Skipped>,
    strict: bool,
}

impl Sink for Collect {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn daily(&mut self, day: DailyAggregate) {
        self.daily.push(day);
    }
    fn gap_record(&mut self, gap: GapSummary) {
        self.gaps.push(gap);
    }
    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        if self.strict {
            return Err(ReadError::Rejected(skipped));
        }
        self.skipped.push(skipped);
        Ok(())
    }
}

fn read_as(input: &[u8], format: Option<Format>) -> (Result<ReadInfo, ReadError>, Collect) {
    let mut sink = Collect::default();
    let result = read_export(input, format, &mut sink);
    (result, sink)
}

fn read_ok(input: &[u8]) -> (ReadInfo, Collect) {
    let (result, sink) = read_as(input, None);
    match result {
        Ok(info) => (info, sink),
        Err(e) => panic!("read failed: {e}\n{}", String::from_utf8_lossy(input)),
    }
}

fn read_err(input: &[u8], format: Option<Format>) -> (ReadError, Collect) {
    let (result, sink) = read_as(input, format);
    match result {
        Ok(info) => panic!(
            "expected an error, read {info:?}\n{}",
            String::from_utf8_lossy(input)
        ),
        Err(e) => (e, sink),
    }
}

/// `(line, record, reason)` of a skip.
type Skip = (u64, u64, SkipReason);

/// `(line, record, reason)` of every skip.
fn skips(sink: &Collect) -> Vec<Skip> {
    sink.skipped
        .iter()
        .map(|s| (s.location.line, s.location.record, s.rejection.reason))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The four shapes

/// Four events covering every field, a fractional and a nanosecond timestamp, an unknown type
/// and non-ASCII text.
fn fixture() -> Vec<Event> {
    vec![
        Event {
            session_id: some("s1"),
            message_number: Some(1),
            question: some("What is Rust?"),
            topic: some("skills"),
            entries_retrieved: Some(3),
            response_length: Some(420),
            success: Some(true),
            rag_time_ms: Some(12.5),
            ai_time_ms: Some(0.1 + 0.2),
            total_time_ms: Some(845.0),
            no_rag_match: Some(false),
            rag_match_score: Some(0.87),
            page_url: some("https://example.com/cv"),
            page_title: some("CV — Jane"),
            referrer: some("https://www.google.com/"),
            ..Event::new(ts("2026-11-01T10:00:00.250Z"), EventType::MessageSent)
        },
        Event {
            session_id: some("s1"),
            page_url: some("https://example.com/cv"),
            ..Event::new(ts("2026-11-01T09:59:00Z"), EventType::BubbleOpened)
        },
        Event {
            session_id: some("s2"),
            ..Event::new(
                ts("2026-11-01T11:00:00Z"),
                EventType::parse("page_scrolled"),
            )
        },
        Event {
            session_id: some("s2"),
            message_number: Some(2),
            question: some("ünïcödé ✓ 日本語?"),
            success: Some(false),
            no_rag_match: Some(true),
            rag_match_score: Some(-0.5),
            error_type: some("timeout"),
            error_message: some("upstream \"model\" timed out, retry"),
            ..Event::new(
                ts("2026-11-02T00:00:00.123456789+00:00"),
                EventType::MessageSent,
            )
        },
    ]
}

fn ndjson(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        write_ndjson_line(&mut out, e).unwrap();
    }
    out
}

fn csv(events: &[Event]) -> Vec<u8> {
    let mut writer = CsvWriter::new(Vec::new()).unwrap();
    for e in events {
        writer.write(e).unwrap();
    }
    writer.finish().unwrap()
}

/// The worker's envelope, fields in the order the worker writes them
/// (`analytics::export::Envelope`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    schema_version: u64,
    generated_at: &'a str,
    from: &'a str,
    to: &'a str,
    events: &'a [Event],
    daily: Vec<DailyAggregate>,
    gaps: Vec<serde_json::Value>,
    next_cursor: Option<&'a str>,
}

fn envelope(events: &[Event]) -> Envelope<'_> {
    Envelope {
        schema_version: 1,
        generated_at: "2026-11-26T06:00:00Z",
        from: "2026-10-27T06:00:00Z",
        to: "2026-11-26T06:00:00Z",
        events,
        daily: Vec::new(),
        gaps: Vec::new(),
        next_cursor: None,
    }
}

/// Every shape of the same events, with the format it must be detected as.
fn shapes(events: &[Event]) -> Vec<(&'static str, Vec<u8>, Format)> {
    vec![
        (
            "pretty envelope",
            serde_json::to_vec_pretty(&envelope(events)).unwrap(),
            Format::Json,
        ),
        (
            "single-line envelope",
            serde_json::to_vec(&envelope(events)).unwrap(),
            Format::Json,
        ),
        (
            "pretty bare array",
            serde_json::to_vec_pretty(events).unwrap(),
            Format::Json,
        ),
        (
            "single-line bare array",
            serde_json::to_vec(events).unwrap(),
            Format::Json,
        ),
        ("ndjson", ndjson(events), Format::Ndjson),
        ("csv", csv(events), Format::Csv),
    ]
}

#[test]
fn every_shape_of_the_same_events_reads_back_identical_events() {
    let events = fixture();
    for (name, bytes, format) in shapes(&events) {
        let (info, sink) = read_ok(&bytes);
        assert_eq!(info.format, Some(format), "{name}");
        assert_eq!(info.records, 4, "{name}");
        assert_eq!(info.next_cursor, None, "{name}");
        assert!(sink.skipped.is_empty(), "{name}: {:?}", sink.skipped);
        assert_eq!(sink.events, events, "{name}");
    }
}

#[test]
fn utf8_bom_is_ignored_in_every_shape() {
    let events = fixture();
    for (name, bytes, format) in shapes(&events) {
        let input = [BOM, &bytes].concat();
        let (info, sink) = read_ok(&input);
        assert_eq!(info.format, Some(format), "{name}");
        assert_eq!(sink.events, events, "{name}");
        assert!(sink.skipped.is_empty(), "{name}: {:?}", sink.skipped);
    }
}

#[test]
fn forced_format_reads_the_same_as_detection() {
    let events = fixture();
    for (name, bytes, format) in shapes(&events) {
        let (result, sink) = read_as(&bytes, Some(format));
        assert_eq!(result.unwrap().format, Some(format), "{name}");
        assert_eq!(sink.events, events, "{name}");
    }
}

#[test]
fn ndjson_with_crlf_line_endings_and_leading_blank_lines_reads_the_same() {
    let events = fixture();
    let text = String::from_utf8(ndjson(&events)).unwrap();
    let input = format!("\r\n\n{}", text.replace('\n', "\r\n"));
    let (info, sink) = read_ok(input.as_bytes());
    assert_eq!(info.format, Some(Format::Ndjson));
    assert_eq!(sink.events, events);
}

#[test]
fn empty_input_reads_no_records() {
    for input in [&b""[..], b"\n", b"  \n\t\n", BOM] {
        let (info, sink) = read_ok(input);
        assert_eq!(info.records, 0, "{input:?}");
        assert!(sink.events.is_empty(), "{input:?}");
        assert!(sink.skipped.is_empty(), "{input:?}");
    }
}

#[test]
fn unrecognisable_text_is_not_an_export() {
    for input in [
        "hello world\nthis is not an export\n",
        "<!DOCTYPE html>\n<html><body>Login</body></html>\n",
        "id,name,time\n1,x,2026-11-01T10:00:00Z\n",
        "ts;eventType\n",
        // A server's error object on one line is not mistaken for an NDJSON event.
        "{\"error\":\"unauthorized\"}\n",
        "{\"error\":\"unauthorized\"}",
    ] {
        let (error, sink) = read_err(input.as_bytes(), None);
        assert!(
            matches!(error, ReadError::NotAnExport(_)),
            "{input:?}: {error:?}"
        );
        assert!(sink.events.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// CSV: hostile text and neutralisation

fn hostile() -> Vec<Event> {
    let t = ts("2026-11-01T10:00:00Z");
    vec![
        Event {
            session_id: some("+33 6 12 34 56 78"),
            question: some("=HYPERLINK(\"https://evil.example\",\"click me\")"),
            topic: some("-1+2"),
            page_title: some("'quoted' title"),
            page_url: some("@SUM(A1:A9)"),
            referrer: some("\tTabbed"),
            error_type: some("\rreturn"),
            error_message: some("line one\nline two, with \"quotes\"\r\nand a comma,"),
            success: Some(false),
            ..Event::new(t, EventType::MessageSent)
        },
        Event {
            question: some("'"),
            topic: some("''"),
            page_title: some("  leading and trailing spaces  "),
            error_message: some("-"),
            referrer: some(","),
            ..Event::new(t, EventType::MessageSent)
        },
        Event {
            session_id: some("\"\""),
            question: some("=1+1\n=2+2"),
            ..Event::new(t, EventType::parse("=cmd|' /C calc'!A0"))
        },
    ]
}

#[test]
fn csv_round_trip_of_hostile_text_is_lossless() {
    let events = hostile();
    let (info, sink) = read_ok(&csv(&events));
    assert_eq!(info.format, Some(Format::Csv));
    assert!(sink.skipped.is_empty(), "{:?}", sink.skipped);
    assert_eq!(sink.events, events);
    // And through the JSON shapes.
    let (_, sink) = read_ok(&ndjson(&events));
    assert_eq!(sink.events, events);
    let (_, sink) = read_ok(&serde_json::to_vec(&envelope(&events)).unwrap());
    assert_eq!(sink.events, events);
}

#[test]
fn csv_export_neutralises_every_cell_a_spreadsheet_would_run_as_a_formula() {
    let bytes = csv(&hostile());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[..]);
    let mut rows = 0;
    for row in reader.records() {
        let row = row.unwrap();
        rows += 1;
        for cell in row.iter() {
            if let Some(first) = cell.chars().next() {
                assert!(
                    !matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r'),
                    "cell {cell:?} starts a formula"
                );
            }
        }
    }
    assert_eq!(rows, 3);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("'=HYPERLINK("), "{text}");
}

#[test]
fn csv_reads_columns_by_header_name_in_any_order_ignoring_unknown_ones() {
    let input = "extra, eventType ,timestamp,topic\n\
                 x,message_sent,2026-11-01T10:00:00+01:00,pricing\n\
                 y,bubble_opened,2026-11-01T10:00:00Z,\n";
    let (info, sink) = read_ok(input.as_bytes());
    assert_eq!(info.format, Some(Format::Csv));
    assert_eq!(
        sink.events,
        [
            Event {
                topic: some("pricing"),
                ..Event::new(ts("2026-11-01T09:00:00Z"), EventType::MessageSent)
            },
            Event::new(ts("2026-11-01T10:00:00Z"), EventType::BubbleOpened),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed records and their locations

const MALFORMED_NDJSON: &str = r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent"}

{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent"
   
{"eventType":"message_sent"}
{"timestamp":"yesterday","eventType":"message_sent"}
[{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent"}]
{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","ragTimeMs":"fast"}
{"timestamp":"2026-11-01T10:00:00Z","eventType":""}
"just a string"
{"timestamp":"2026-11-01T12:00:00Z","eventType":"bubble_opened"}
"#;

/// Lines 2 and 4 are blank (4 only whitespace): they count as lines, not as records, so line
/// 5 is record 3.
const MALFORMED_NDJSON_SKIPS: [Skip; 7] = [
    (3, 2, SkipReason::InvalidJson),
    (5, 3, SkipReason::MissingTimestamp),
    (6, 4, SkipReason::InvalidTimestamp),
    (7, 5, SkipReason::NotAnObject),
    (8, 6, SkipReason::InvalidField),
    (9, 7, SkipReason::MissingEventType),
    (10, 8, SkipReason::NotAnObject),
];

#[test]
fn ndjson_malformed_lines_are_skipped_with_reason_and_line_number() {
    let (info, sink) = read_ok(MALFORMED_NDJSON.as_bytes());
    assert_eq!(info.format, Some(Format::Ndjson));
    assert_eq!(info.records, 9);
    assert_eq!(skips(&sink), MALFORMED_NDJSON_SKIPS);
    assert_eq!(sink.events.len(), 2);
    assert_eq!(sink.events[1].event_type, EventType::BubbleOpened);
    let detail = &sink.skipped[4].rejection.detail;
    assert!(detail.contains("ragTimeMs"), "{detail}");
}

#[test]
fn ndjson_line_numbers_are_the_same_with_crlf_and_a_bom() {
    let input = [BOM, MALFORMED_NDJSON.replace('\n', "\r\n").as_bytes()].concat();
    let (_, sink) = read_ok(&input);
    assert_eq!(skips(&sink), MALFORMED_NDJSON_SKIPS);
    assert_eq!(sink.events.len(), 2);
}

#[test]
fn csv_rows_with_the_wrong_number_of_cells_are_skipped_with_their_line() {
    // Line 1 header; record 2 spans lines 3–4 (a quoted newline); then one row per line.
    let input = "timestamp,eventType,question\n\
                 2026-11-01T10:00:00Z,message_sent,plain\n\
                 2026-11-01T10:01:00Z,message_sent,\"two\nlines\"\n\
                 2026-11-01T10:02:00Z,message_sent\n\
                 2026-11-01T10:03:00Z,message_sent,a,extra\n\
                 not-a-time,message_sent,bad\n\
                 2026-11-01T10:04:00Z,,no type\n\
                 2026-11-01T10:05:00Z,message_sent,last\n";
    let (info, sink) = read_ok(input.as_bytes());
    assert_eq!(info.format, Some(Format::Csv));
    assert_eq!(info.records, 7);
    assert_eq!(
        skips(&sink),
        [
            (5, 3, SkipReason::InvalidCsvRow),
            (6, 4, SkipReason::InvalidCsvRow),
            (7, 5, SkipReason::InvalidTimestamp),
            (8, 6, SkipReason::MissingEventType),
        ]
    );
    let questions: Vec<&str> = sink
        .events
        .iter()
        .map(|e| e.question.as_deref().unwrap())
        .collect();
    assert_eq!(questions, ["plain", "two\nlines", "last"]);
}

#[test]
fn csv_cell_with_invalid_utf8_skips_its_row() {
    let input = b"timestamp,eventType,question\n\
                  2026-11-01T10:00:00Z,message_sent,\xFF\xFE\n\
                  2026-11-01T10:01:00Z,message_sent,ok\n";
    let (_, sink) = read_ok(input);
    assert_eq!(skips(&sink), [(2, 1, SkipReason::InvalidCsvRow)]);
    assert_eq!(sink.events.len(), 1);
}

#[test]
fn json_array_element_that_is_not_an_object_is_skipped_and_later_elements_are_read() {
    let input = r#"[
  {"timestamp":"2026-11-01T10:00:00Z","eventType":"bubble_opened"},
  "oops",
  42,
  {"timestamp":"2026-11-01T11:00:00Z","eventType":"message_sent"},
  {
    "eventType": "message_sent"
  },
  [1, {"timestamp":"2026-11-01T11:00:00Z","eventType":"message_sent"}],
  null,
  {"timestamp":"2026-11-01T12:00:00Z","eventType":"cta_clicked"}
]
"#;
    let (info, sink) = read_ok(input.as_bytes());
    assert_eq!(info.format, Some(Format::Json));
    assert_eq!(info.records, 8);
    // A record's line is the line on which it ends (the multi-line object: line 8).
    assert_eq!(
        skips(&sink),
        [
            (3, 2, SkipReason::NotAnObject),
            (4, 3, SkipReason::NotAnObject),
            (8, 5, SkipReason::MissingTimestamp),
            (9, 6, SkipReason::NotAnObject),
            (10, 7, SkipReason::NotAnObject),
        ]
    );
    let kinds: Vec<&str> = sink.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["bubble_opened", "message_sent", "cta_clicked"]);
}

#[test]
fn envelope_event_errors_are_located_by_line() {
    let input = r#"{
  "schemaVersion": 1,
  "events": [
    {"timestamp": "2026-11-01T10:00:00Z", "eventType": "message_sent"},
    {"timestamp": "2026-11-01T10:00:00Z", "eventType": "message_sent", "success": "yes"},
    {"timestamp": "2026-11-01T10:00:00Z", "eventType": "message_sent"}
  ],
  "nextCursor": null
}"#;
    let (info, sink) = read_ok(input.as_bytes());
    assert_eq!(info.format, Some(Format::Json));
    assert_eq!(skips(&sink), [(5, 2, SkipReason::InvalidField)]);
    assert_eq!(sink.events.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Errors that stop reading

#[test]
fn truncated_json_array_is_a_syntax_error_with_its_line() {
    let input = "[\n  {\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"bubble_opened\"},\n  {\"timestamp\":\"2026-11-01T11:00";
    let (error, sink) = read_err(input.as_bytes(), None);
    match error {
        ReadError::Syntax { line, .. } => assert_eq!(line, 3),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    // The complete record before the cut was delivered.
    assert_eq!(sink.events.len(), 1);
}

#[test]
fn json_syntax_error_mid_array_reports_its_line() {
    let input = "[\n{\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"x\"},\n{\"timestamp\": oops}\n]";
    let (error, _) = read_err(input.as_bytes(), None);
    assert!(
        matches!(error, ReadError::Syntax { line: 3, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("line 3"), "{error}");
}

#[test]
fn envelope_with_schema_version_2_is_rejected_before_any_event() {
    let input = r#"{"schemaVersion":2,"events":[{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent"}]}"#;
    let (error, sink) = read_err(input.as_bytes(), None);
    assert!(matches!(error, ReadError::SchemaVersion(2)), "{error:?}");
    assert!(sink.events.is_empty());
}

#[test]
fn json_object_without_events_is_not_an_export() {
    let pretty = "{\n  \"error\": \"unauthorized\",\n  \"daily\": []\n}\n";
    let (error, _) = read_err(pretty.as_bytes(), None);
    assert!(matches!(error, ReadError::NotAnExport(_)), "{error:?}");
    // A single-line object is detected as one NDJSON record; told it is JSON, it is refused.
    let single = r#"{"schemaVersion":1,"nextCursor":null}"#;
    let (error, _) = read_err(single.as_bytes(), Some(Format::Json));
    assert!(matches!(error, ReadError::NotAnExport(_)), "{error:?}");
}

#[test]
fn envelope_reports_next_cursor_daily_aggregates_and_gap_records() {
    let input = r#"{
  "schemaVersion": 1,
  "daily": [
    {"date": "2026-10-01", "eventsByType": {"message_sent": 3, "bubble_opened": 1}},
    {"date": "2026-10-02"}
  ],
  "events": [{"timestamp": "2026-11-01T10:00:00Z", "eventType": "message_sent"}],
  "gaps": [
    {"hash": "abc", "question": "x", "count": 2},
    {"normalized": "do you know go", "question": "Do you know Go?", "count": 7,
     "firstSeen": "2026-09-01T10:00:00Z", "lastSeen": "2026-11-01T10:00:00Z"}
  ],
  "nextCursor": "cursor-2"
}"#;
    let (info, sink) = read_ok(input.as_bytes());
    assert_eq!(info.next_cursor.as_deref(), Some("cursor-2"));
    assert_eq!(info.records, 1);
    assert_eq!(sink.events.len(), 1);
    assert_eq!(sink.daily.len(), 2);
    assert_eq!(sink.daily[0].date.to_string(), "2026-10-01");
    assert_eq!(sink.daily[0].count("message_sent"), 3);
    assert_eq!(sink.daily[0].count("bubble_opened"), 1);
    assert_eq!(sink.daily[0].count("rate_limited"), 0);
    assert_eq!(sink.daily[1].date.to_string(), "2026-10-02");
    assert!(sink.daily[1].events_by_type.is_empty());
    let gaps: Vec<(&str, u64)> = sink
        .gaps
        .iter()
        .map(|g| (g.normalized.as_str(), g.count))
        .collect();
    assert_eq!(
        gaps,
        [("do you know go", 7)],
        "a record in another shape is passed over"
    );

    let last_page = r#"{"schemaVersion":1,"events":[],"nextCursor":null}"#;
    let (info, _) = read_ok(last_page.as_bytes());
    assert_eq!(info.next_cursor, None);
}

#[test]
fn csv_header_without_timestamp_or_event_type_is_not_an_export() {
    let no_timestamp = "eventType,sessionId\nmessage_sent,s1\n";
    for format in [None, Some(Format::Csv)] {
        let (error, _) = read_err(no_timestamp.as_bytes(), format);
        assert!(
            matches!(error, ReadError::NotAnExport(_)),
            "{format:?}: {error:?}"
        );
    }
    let no_event_type = "timestamp,sessionId\n2026-11-01T10:00:00Z,s1\n";
    let (error, _) = read_err(no_event_type.as_bytes(), None);
    assert!(matches!(error, ReadError::NotAnExport(_)), "{error:?}");
}

// ---------------------------------------------------------------------------------------------
// Strict mode

fn strict(input: &[u8]) -> (ReadError, Collect) {
    let mut sink = Collect {
        strict: true,
        ..Collect::default()
    };
    let error = read_export(input, None, &mut sink).expect_err("strict mode must stop");
    (error, sink)
}

fn assert_rejected_at(error: &ReadError, line: u64, record: u64, reason: SkipReason) {
    match error {
        ReadError::Rejected(skipped) => {
            assert_eq!(skipped.location, Location { record, line });
            assert_eq!(skipped.rejection.reason, reason);
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains(&format!("line {line}")), "{message}");
}

#[test]
fn strict_sink_stops_ndjson_at_the_first_skip_and_the_error_carries_its_location() {
    let (error, sink) = strict(MALFORMED_NDJSON.as_bytes());
    assert_rejected_at(&error, 3, 2, SkipReason::InvalidJson);
    // Only the event before the bad line was delivered; nothing after it was read.
    assert_eq!(sink.events.len(), 1);
}

#[test]
fn strict_sink_stops_a_json_array_at_the_first_skip_with_its_location() {
    let input = "[\n{\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"x\"},\n\n{\"eventType\":\"x\"},\n{\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"x\"}\n]";
    let (error, sink) = strict(input.as_bytes());
    assert_rejected_at(&error, 4, 2, SkipReason::MissingTimestamp);
    assert_eq!(sink.events.len(), 1);
}

#[test]
fn strict_sink_stops_csv_at_the_first_skip_with_its_location() {
    let input = "timestamp,eventType\n2026-11-01T10:00:00Z,x\n2026-11-01T10:00:00Z\n2026-11-01T10:00:00Z,x\n";
    let (error, sink) = strict(input.as_bytes());
    assert_rejected_at(&error, 3, 2, SkipReason::InvalidCsvRow);
    assert_eq!(sink.events.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Streaming

/// A reader that produces its input chunk by chunk as it is read, never holding more than
/// one chunk: `make(i)` is chunk `i`, `None` ends the input.
struct Lazy<F> {
    make: F,
    next: u64,
    chunk: Vec<u8>,
    pos: usize,
    produced: u64,
    done: bool,
}

impl<F: FnMut(u64) -> Option<Vec<u8>>> Lazy<F> {
    fn new(make: F) -> Self {
        Lazy {
            make,
            next: 0,
            chunk: Vec::new(),
            pos: 0,
            produced: 0,
            done: false,
        }
    }
}

impl<F: FnMut(u64) -> Option<Vec<u8>>> Read for Lazy<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match (self.make)(self.next) {
                Some(chunk) => {
                    self.next += 1;
                    self.chunk = chunk;
                    self.pos = 0;
                }
                None => self.done = true,
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

/// Counts instead of keeping. With a `probe` (how many lines the input has generated so far),
/// it notes how far the input had been read when the first event arrived.
#[derive(Default)]
struct Count {
    events: u64,
    last: Option<DateTime<Utc>>,
    skipped: Vec<Location>,
    probe: Option<Rc<Cell<u64>>>,
    generated_at_first_event: Option<u64>,
}

impl Sink for Count {
    fn event(&mut self, event: Event) {
        if self.events == 0 {
            self.generated_at_first_event = self.probe.as_ref().map(|p| p.get());
        }
        self.events += 1;
        self.last = Some(event.timestamp);
    }
    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        self.skipped.push(skipped.location);
        Ok(())
    }
}

fn generated_event(i: u64) -> String {
    let at = ts("2026-11-01T00:00:00Z") + TimeDelta::seconds(i64::try_from(i).unwrap());
    format!(
        r#"{{"timestamp":"{}","eventType":"message_sent","sessionId":"s{}","totalTimeMs":{}}}"#,
        format_timestamp(&at),
        i % 1000,
        i % 5000
    )
}

#[test]
fn ndjson_of_200k_lines_is_streamed_from_a_lazy_reader() {
    const LINES: u64 = 200_000;
    // Every 50,000th line is garbage: lines 50,000, 100,000, 150,000 and 200,000.
    let generated = Rc::new(Cell::new(0));
    let probe = Rc::clone(&generated);
    let mut reader = Lazy::new(move |i: u64| {
        probe.set(i);
        (i < LINES).then(|| {
            let line_no = i + 1;
            if line_no.is_multiple_of(50_000) {
                b"garbage\n".to_vec()
            } else {
                format!("{}\n", generated_event(i)).into_bytes()
            }
        })
    });
    let mut sink = Count {
        probe: Some(Rc::clone(&generated)),
        ..Count::default()
    };
    let info = read_export(&mut reader, None, &mut sink).unwrap();
    assert_eq!(info.format, Some(Format::Ndjson));
    // The first event arrived after a few hundred lines (one read buffer), not after all.
    let early = sink.generated_at_first_event.unwrap();
    assert!(early < 2_000, "first event after {early} of {LINES} lines");
    assert_eq!(info.records, LINES);
    assert_eq!(sink.events, LINES - 4);
    let lines: Vec<u64> = sink.skipped.iter().map(|l| l.line).collect();
    assert_eq!(lines, [50_000, 100_000, 150_000, 200_000]);
    // The last valid line is i = 199,998: 199,998 s after the start.
    assert_eq!(
        sink.last,
        Some(ts("2026-11-01T00:00:00Z") + TimeDelta::seconds(199_998))
    );
    assert!(reader.done, "the whole input was consumed");
    assert!(reader.produced > 10_000_000, "{} bytes", reader.produced);
}

#[test]
fn json_array_of_50k_events_is_streamed_from_a_lazy_reader() {
    const EVENTS: u64 = 50_000;
    let generated = Rc::new(Cell::new(0));
    let probe = Rc::clone(&generated);
    let mut reader = Lazy::new(move |i: u64| {
        probe.set(i);
        match i {
            0 => Some(b"[\n".to_vec()),
            i if i <= EVENTS => {
                let sep = if i < EVENTS { ",\n" } else { "\n" };
                Some(format!("  {}{sep}", generated_event(i - 1)).into_bytes())
            }
            i if i == EVENTS + 1 => Some(b"]\n".to_vec()),
            _ => None,
        }
    });
    let mut sink = Count {
        probe: Some(Rc::clone(&generated)),
        ..Count::default()
    };
    let info = read_export(&mut reader, None, &mut sink).unwrap();
    assert_eq!(info.format, Some(Format::Json));
    let early = sink.generated_at_first_event.unwrap();
    assert!(early < 2_000, "first event after {early} of {EVENTS} lines");
    assert_eq!(info.records, EVENTS);
    assert_eq!(sink.events, EVENTS);
    assert!(sink.skipped.is_empty());
    assert!(reader.done);
}

#[test]
fn ndjson_with_a_malformed_first_line_is_still_ndjson() {
    for first in [
        "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":",
        "{\"sessionId\":\"s1\"}",
        "{broken",
    ] {
        let input = format!(
            "{first}\n{{\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"bubble_opened\"}}\n"
        );
        let (info, sink) = read_ok(input.as_bytes());
        assert_eq!(info.format, Some(Format::Ndjson), "{first}");
        assert_eq!(sink.events.len(), 1, "{first}");
        assert_eq!(sink.skipped[0].location.line, 1, "{first}");
    }
}

#[test]
fn json_number_element_ending_a_line_is_located_on_that_line() {
    // The parser reads one byte past a number to find its end; here that byte is the newline,
    // which must not move the record to the next line.
    let cases: [(&str, &[Skip]); 3] = [
        (
            "[\n  {\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"x\"},\n  7\n]\n",
            &[(3, 2, SkipReason::NotAnObject)],
        ),
        (
            "[\n  7 ,\n  8\n\n\n]",
            &[
                (2, 1, SkipReason::NotAnObject),
                (3, 2, SkipReason::NotAnObject),
            ],
        ),
        (
            "{\"events\":[\n1.5e3\r\n]}",
            &[(2, 1, SkipReason::NotAnObject)],
        ),
    ];
    for (input, expected) in cases {
        let (_, sink) = read_ok(input.as_bytes());
        assert_eq!(skips(&sink), expected, "{input:?}");
    }
}
