//! The checks the fuzz targets run: each calls a parser of `analytics` on the fuzzer's bytes
//! and asserts what must hold for any input. A panic, in the parser or in these assertions, is
//! what libFuzzer reports as a crash.

#![forbid(unsafe_code)]

use analytics::{
    BodyTooLarge, BoundedBody, CsvWriter, Event, Format, IngestError, MAX_BODY_BYTES, PageContext,
    ReadError, ReadInfo, SCHEMA_VERSION, Sink, Skipped, parse_ingest, parse_json_event,
    read_export, scrub_pii, strip_query, write_ndjson_line,
};
use chrono::{DateTime, Utc};

/// Everything a read reported, in order.
#[derive(Debug, Default)]
struct Collect {
    items: Vec<Result<Event, Skipped>>,
    strict: bool,
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
    data: &[u8],
    format: Option<Format>,
    strict: bool,
) -> (Result<ReadInfo, ReadError>, Collect) {
    let mut sink = Collect {
        strict,
        ..Collect::default()
    };
    let result = read_export(data, format, &mut sink);
    (result, sink)
}

/// Reads `data` leniently and strictly: every skip and syntax error is located on a line of
/// the input, records are numbered 1, 2, 3…, an in-memory read never fails with an I/O error,
/// a strict read stops at the lenient read's first skip, and reading with the detected format
/// forced reads the same as detection.
pub fn check_read(data: &[u8], format: Option<Format>) {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let (result, lenient) = read(data, format, false);
    let mut last_record = 0;
    for skipped in lenient.items.iter().filter_map(|i| i.as_ref().err()) {
        let at = skipped.location;
        assert!(at.record > last_record, "records out of order: {skipped}");
        last_record = at.record;
        assert!(
            (1..=lines).contains(&at.line),
            "{skipped}: not one of the {lines} lines"
        );
        assert!(!skipped.rejection.detail.is_empty(), "{skipped}: no detail");
    }
    match &result {
        Ok(info) => {
            assert_eq!(info.records, lenient.items.len() as u64, "records counted");
            assert!(info.format.is_some(), "no format reported");
            if format.is_some() {
                assert_eq!(info.format, format, "not the forced format");
            }
        }
        Err(ReadError::Syntax { line, message, .. }) => {
            assert!(
                (1..=lines).contains(&(*line as u64)),
                "syntax error on line {line} of {lines}"
            );
            assert!(!message.is_empty(), "a syntax error without a message");
        }
        Err(ReadError::NotAnExport(message)) => assert!(!message.is_empty(), "no message"),
        Err(ReadError::SchemaVersion(version)) => assert_ne!(*version, SCHEMA_VERSION),
        Err(e @ (ReadError::Io(_) | ReadError::Rejected(_))) => {
            panic!("a lenient in-memory read failed with {e:?}")
        }
    }

    let (strict_result, strict) = read(data, format, true);
    match lenient.items.iter().position(Result::is_err) {
        Some(first) => {
            let Err(ReadError::Rejected(stopped)) = &strict_result else {
                panic!("the strict read ended with {strict_result:?}, not the first skip");
            };
            assert_eq!(
                Some(stopped),
                lenient.items[first].as_ref().err(),
                "strict stop"
            );
            assert_eq!(strict.items[..], lenient.items[..first], "strict events");
        }
        None => {
            assert_eq!(strict.items, lenient.items, "strict events");
            assert_eq!(
                strict_result.as_ref().map_err(ToString::to_string),
                result.as_ref().map_err(ToString::to_string),
                "strict outcome"
            );
        }
    }

    if format.is_none()
        && let Ok(info) = &result
    {
        let (forced, sink) = read(data, info.format, false);
        assert_eq!(
            forced.as_ref().map_err(ToString::to_string),
            Ok(info),
            "forced format"
        );
        assert_eq!(sink.items, lenient.items, "forced format events");
    }
}

/// Parses one JSON record; an accepted event reads back unchanged from an NDJSON line and from
/// a CSV row.
pub fn check_record(data: &[u8]) {
    let Ok(event) = parse_json_event(data) else {
        return;
    };
    let mut line = Vec::new();
    write_ndjson_line(&mut line, &event).expect("write to a Vec");
    assert_eq!(
        parse_json_event(&line).as_ref(),
        Ok(&event),
        "NDJSON round trip"
    );

    let mut csv = CsvWriter::new(Vec::new()).expect("write to a Vec");
    csv.write(&event).expect("write to a Vec");
    let csv = csv.finish().expect("write to a Vec");
    let (result, sink) = read(&csv, Some(Format::Csv), false);
    assert!(result.is_ok(), "CSV read failed: {result:?}");
    assert_eq!(sink.items, [Ok(event)], "CSV round trip");
}

/// The fixed "now" of the ingestion target.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_764_136_800_123).expect("a valid time")
}

/// Bidi embeddings, overrides and isolates.
fn reorders(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Splits the input into a body and four headers, ingests it, and checks what may be stored.
pub fn check_ingest(data: &[u8]) {
    let mut parts = data.split(|&b| b == 0x1E);
    let body = parts.next().unwrap_or_default();
    let headers: Vec<String> = parts
        .take(4)
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let header = |i: usize| headers.get(i).map(String::as_str);
    let context = PageContext {
        page_url: header(0),
        page_title: header(1),
        referrer: header(2),
        session_id: header(3),
        hash_key: Some("fuzz key"),
    };
    let event = match parse_ingest(body, &context, now()) {
        Ok(event) => event,
        Err(IngestError::TooLarge(len)) => {
            assert!(len == body.len() && len > MAX_BODY_BYTES, "TooLarge({len})");
            return;
        }
        Err(e @ IngestError::Invalid(_)) => {
            assert!(body.len() <= MAX_BODY_BYTES && !e.to_string().is_empty());
            return;
        }
    };
    assert_eq!(event.timestamp, now(), "the server sets the time");
    assert!(
        event.event_type.is_known(),
        "{:?} accepted",
        event.event_type
    );
    for (name, value, cap) in [
        ("sessionId", &event.session_id, 128),
        ("question", &event.question, 500),
        ("topic", &event.topic, 100),
        ("pageUrl", &event.page_url, 2048),
        ("pageTitle", &event.page_title, 300),
        ("referrer", &event.referrer, 2048),
        ("errorType", &event.error_type, 100),
        ("errorMessage", &event.error_message, 500),
    ] {
        let Some(value) = value else { continue };
        assert!(
            value.chars().count() <= cap,
            "{name} over {cap} chars: {value:?}"
        );
        assert!(!value.is_empty(), "{name} stored empty");
        assert!(
            !value.chars().any(|c| c.is_control() || reorders(c)),
            "{name} keeps a control or bidi character: {value:?}"
        );
    }
    for (name, url) in [("pageUrl", &event.page_url), ("referrer", &event.referrer)] {
        let Some(url) = url else { continue };
        assert!(
            !url.contains(['?', '#']),
            "{name} keeps a query or fragment: {url:?}"
        );
        assert!(
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
        assert_eq!(scrub_pii(text), text.as_str(), "{name} keeps PII");
    }
    // A stored URL is what cleaning makes of it: its path scrubbed segment by segment.
    for (name, url) in [("pageUrl", &event.page_url), ("referrer", &event.referrer)] {
        let Some(url) = url else { continue };
        assert_eq!(
            &strip_query(url),
            url,
            "{name} is not what cleaning makes of it"
        );
    }
    let mut stored = Vec::new();
    write_ndjson_line(&mut stored, &event).expect("write to a Vec");
    assert_eq!(
        parse_json_event(&stored).as_ref(),
        Ok(&event),
        "stored and read back"
    );
}

/// A request body cut into chunks: the first byte sets the limit (0 to 255 bytes, so that the
/// limit is often crossed), each following byte the length of the next chunk of the rest. The
/// reader keeps exactly the body while it is within the limit, answers "too large" exactly
/// when it is not, and never holds more than the limit.
pub fn check_body(data: &[u8]) {
    let Some((&limit, rest)) = data.split_first() else {
        return;
    };
    let limit = usize::from(limit);
    let (lengths, body) = rest.split_at(rest.len() / 2);
    let mut reader = BoundedBody::new(limit);
    let mut fed = 0;
    let mut outcome = Ok(());
    for &length in lengths.iter().chain(std::iter::once(&u8::MAX)) {
        if fed == body.len() {
            break;
        }
        let chunk = &body[fed..(fed + usize::from(length)).min(body.len())];
        fed += chunk.len();
        outcome = reader.push(chunk);
        if outcome.is_err() {
            break;
        }
    }
    // The last chunk feeds the rest, so a body within the limit is always read whole.
    if fed < body.len() && outcome.is_ok() {
        outcome = reader.push(&body[fed..]);
        fed = body.len();
    }
    match outcome {
        Ok(()) => {
            assert_eq!(fed, body.len());
            assert!(
                body.len() <= limit,
                "{} bytes accepted over {limit}",
                body.len()
            );
            assert_eq!(reader.into_bytes(), body);
        }
        Err(BodyTooLarge { limit: reported }) => {
            assert_eq!(reported, limit);
            assert!(
                fed > limit,
                "refused at {fed} bytes with a limit of {limit}"
            );
            let kept = reader.into_bytes();
            assert!(kept.len() <= limit && body.starts_with(&kept));
        }
    }
}
