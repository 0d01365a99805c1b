//! Integration tests of the seven metric categories against small hand-built fixtures.
//!
//! Every expected value is worked out by hand from `docs/metrics.md`, never copied from the
//! code's output; the reasoning is in a comment where it is not obvious.

#![allow(clippy::unwrap_used)]

use analytics::{
    DailyAggregate, Event, EventType, HISTOGRAM_BOUNDS_MS, Metrics, Summary, Window, nearest_rank,
    normalize_question, parse_timestamp, read_export, referrer_source,
};
use chrono::{DateTime, NaiveDate, Utc};

/// The `generatedAt` of every summary here.
const NOW: &str = "2026-11-26T06:00:00Z";

fn ts(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap_or_else(|| panic!("bad fixture timestamp {text}"))
}

fn event(at: &str, kind: EventType) -> Event {
    Event::new(ts(at), kind)
}

fn msg(at: &str) -> Event {
    event(at, EventType::MessageSent)
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

fn summarize(window: Window, events: &[Event]) -> Summary {
    let mut metrics = Metrics::new(window);
    for e in events {
        metrics.add(e);
    }
    metrics.finish(ts(NOW))
}

fn summarize_export(window: Window, export: &str) -> Summary {
    let mut metrics = Metrics::new(window);
    read_export(export.as_bytes(), None, &mut metrics).unwrap();
    metrics.finish(ts(NOW))
}

fn range(from: &str, to: &str) -> Window {
    Window::Range {
        from: ts(from),
        to: ts(to),
    }
}

/// `(date, messages, bubbleOpens, source)` of every `messagesOverTime` row.
fn over_time(summary: &Summary) -> Vec<(String, u64, u64, String)> {
    summary
        .messages_over_time
        .iter()
        .map(|d| (d.date.clone(), d.messages, d.bubble_opens, d.source.clone()))
        .collect()
}

fn day(date: &str, messages: u64, bubble_opens: u64, source: &str) -> (String, u64, u64, String) {
    (date.to_owned(), messages, bubble_opens, source.to_owned())
}

fn topics(summary: &Summary) -> Vec<(&str, u64)> {
    summary
        .topic_distribution
        .iter()
        .map(|t| (t.topic.as_str(), t.count))
        .collect()
}

fn gaps(summary: &Summary) -> Vec<(&str, u64)> {
    summary
        .knowledge_gaps
        .iter()
        .map(|g| (g.normalized.as_str(), g.count))
        .collect()
}

fn sources(summary: &Summary) -> Vec<(&str, u64)> {
    summary
        .pages_and_sources
        .top_sources
        .iter()
        .map(|s| (s.source.as_str(), s.sessions))
        .collect()
}

/// Asserts that no number anywhere in the serialised summary is NaN or infinite. serde_json
/// writes a non-finite float as `null`, so the places where a number (not `null`) is required
/// are also checked explicitly.
fn assert_json_is_finite(summary: &Summary) -> serde_json::Value {
    let text = serde_json::to_string(summary).unwrap();
    for bad in ["NaN", "nan", "inf", "Infinity"] {
        assert!(!text.contains(bad), "{bad} in {text}");
    }
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let volume = &json["conversationVolume"];
    assert!(volume["messagesPerSession"].is_f64(), "{volume}");
    assert!(json["errors"]["errorRate"].is_f64(), "{json}");
    for topic in json["topicDistribution"].as_array().unwrap() {
        assert!(topic["share"].is_f64(), "{topic}");
    }
    json
}

fn assert_empty_summary(summary: &Summary) {
    let volume = &summary.conversation_volume;
    assert_eq!(volume.messages, 0);
    assert_eq!(volume.sessions, 0);
    assert_eq!(volume.messaging_sessions, 0);
    assert_eq!(volume.messages_per_session, 0.0);
    assert_eq!(volume.bubble_opens, 0);
    assert!(volume.events_by_type.is_empty());
    assert!(summary.topic_distribution.is_empty());
    assert!(summary.knowledge_gaps.is_empty());
    let perf = &summary.performance;
    assert_eq!(perf.avg_rag_time_ms, None);
    assert_eq!(perf.avg_ai_time_ms, None);
    assert_eq!(perf.avg_total_time_ms, None);
    for p in [&perf.rag_time_ms, &perf.ai_time_ms, &perf.total_time_ms] {
        assert_eq!((p.samples, p.p50, p.p95, p.p99), (0, None, None, None));
    }
    assert_eq!(summary.errors.error_count, 0);
    assert_eq!(summary.errors.error_rate, 0.0);
    assert!(summary.errors.by_type.is_empty());
    assert!(summary.errors.recent.is_empty());
    assert_eq!(summary.errors.rate_limited, 0);
    assert!(summary.pages_and_sources.top_pages.is_empty());
    assert!(summary.pages_and_sources.top_sources.is_empty());
    for row in &summary.messages_over_time {
        assert_eq!((row.messages, row.bubble_opens), (0, 0), "{row:?}");
    }

    let json = assert_json_is_finite(summary);
    let perf = &json["performance"];
    for field in ["avgRagTimeMs", "avgAiTimeMs", "avgTotalTimeMs"] {
        assert!(perf[field].is_null(), "{field}: {perf}");
    }
    for field in ["ragTimeMs", "aiTimeMs", "totalTimeMs"] {
        for p in ["p50", "p95", "p99"] {
            assert!(perf[field][p].is_null(), "{field}.{p}: {perf}");
        }
        assert_eq!(perf[field]["samples"], 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Empty input and a single event

#[test]
fn empty_input_with_all_window_has_null_percentiles_zero_rates_and_no_nan() {
    let summary = summarize(Window::All, &[]);
    assert_empty_summary(&summary);
    assert_eq!(summary.data_quality.events_read, 0);
    assert_eq!(summary.data_quality.events_in_window, 0);
}

#[test]
fn empty_input_with_range_window_zero_fills_every_day_from_from_to_to() {
    // 1 Nov 00:00 .. 4 Nov 12:00: the days 1, 2, 3 and 4 Nov, `to`'s day included.
    let summary = summarize(range("2026-11-01T00:00:00Z", "2026-11-04T12:00:00Z"), &[]);
    assert_empty_summary(&summary);
    assert_eq!(
        over_time(&summary),
        [
            day("2026-11-01", 0, 0, "events"),
            day("2026-11-02", 0, 0, "events"),
            day("2026-11-03", 0, 0, "events"),
            day("2026-11-04", 0, 0, "events"),
        ]
    );
}

#[test]
fn empty_input_with_last_30_days_has_31_zero_rows() {
    // to = 26 Nov 06:00, from = 27 Oct 06:00: 27..31 Oct (5 days) + 1..26 Nov (26 days).
    let summary = summarize(Window::last_days(ts(NOW), 30), &[]);
    assert_empty_summary(&summary);
    assert_eq!(summary.window.from, "2026-10-27T06:00:00Z");
    assert_eq!(summary.window.to, "2026-11-26T06:00:00Z");
    assert_eq!(summary.window.days, 30);
    let rows = over_time(&summary);
    assert_eq!(rows.len(), 31);
    assert_eq!(rows[0], day("2026-10-27", 0, 0, "events"));
    assert_eq!(rows[4], day("2026-10-31", 0, 0, "events"));
    assert_eq!(rows[5], day("2026-11-01", 0, 0, "events"));
    assert_eq!(rows[30], day("2026-11-26", 0, 0, "events"));
}

#[test]
fn one_message_fills_every_category_once() {
    let e = Event {
        session_id: some("s1"),
        topic: some("skills"),
        question: some("Do you know Rust?"),
        no_rag_match: Some(true),
        success: Some(true),
        rag_time_ms: Some(12.0),
        ai_time_ms: Some(340.0),
        total_time_ms: Some(360.0),
        page_url: some("https://example.com/cv"),
        page_title: some("CV"),
        referrer: some("https://www.Google.com/search"),
        ..msg("2026-11-01T10:00:00Z")
    };
    let summary = summarize(Window::All, &[e]);

    let volume = &summary.conversation_volume;
    assert_eq!(
        (
            volume.messages,
            volume.sessions,
            volume.messaging_sessions,
            volume.bubble_opens
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(volume.messages_per_session, 1.0);
    assert_eq!(volume.events_by_type.len(), 1);
    assert_eq!(volume.events_by_type["message_sent"], 1);
    // Window::All: from = to = the only event.
    assert_eq!(summary.window.from, "2026-11-01T10:00:00Z");
    assert_eq!(summary.window.to, "2026-11-01T10:00:00Z");
    assert_eq!(over_time(&summary), [day("2026-11-01", 1, 0, "events")]);
    assert_eq!(topics(&summary), [("skills", 1)]);
    assert_eq!(summary.topic_distribution[0].share, 1.0);
    let gap = &summary.knowledge_gaps[0];
    assert_eq!(summary.knowledge_gaps.len(), 1);
    assert_eq!(gap.question, "Do you know Rust?");
    assert_eq!(gap.normalized, "do you know rust");
    assert_eq!(gap.count, 1);
    assert_eq!(gap.first_seen, "2026-11-01T10:00:00Z");
    assert_eq!(gap.last_seen, "2026-11-01T10:00:00Z");
    let perf = &summary.performance;
    assert_eq!(perf.avg_rag_time_ms, Some(12.0));
    assert_eq!(perf.avg_ai_time_ms, Some(340.0));
    assert_eq!(perf.avg_total_time_ms, Some(360.0));
    let total = &perf.total_time_ms;
    assert_eq!(
        (total.samples, total.p50, total.p95, total.p99),
        (1, Some(360.0), Some(360.0), Some(360.0))
    );
    assert_eq!(summary.errors.error_count, 0);
    assert_eq!(summary.errors.error_rate, 0.0);
    let page = &summary.pages_and_sources.top_pages[0];
    assert_eq!(summary.pages_and_sources.top_pages.len(), 1);
    assert_eq!(page.page_url, "https://example.com/cv");
    assert_eq!(page.page_title.as_deref(), Some("CV"));
    assert_eq!((page.messages, page.sessions), (1, 1));
    assert_eq!(sources(&summary), [("google.com", 1)]);
    assert_eq!(summary.data_quality.events_read, 1);
    assert_eq!(summary.data_quality.events_in_window, 1);
    assert_json_is_finite(&summary);
}

#[test]
fn all_window_spans_first_to_last_event_whatever_the_input_order() {
    let summary = summarize(
        Window::All,
        &[
            msg("2026-11-03T09:00:00Z"),
            event("2026-11-01T10:00:00Z", EventType::BubbleOpened),
            msg("2026-11-02T12:00:00Z"),
        ],
    );
    assert_eq!(summary.window.from, "2026-11-01T10:00:00Z");
    assert_eq!(summary.window.to, "2026-11-03T09:00:00Z");
    assert_eq!(
        over_time(&summary),
        [
            day("2026-11-01", 0, 1, "events"),
            day("2026-11-02", 1, 0, "events"),
            day("2026-11-03", 1, 0, "events"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Orderings and their ties

#[test]
fn topics_with_equal_counts_are_ordered_by_name() {
    let with_topic = |at: &str, topic: &str| Event {
        topic: some(topic),
        ..msg(at)
    };
    let summary = summarize(
        Window::All,
        &[
            with_topic("2026-11-01T10:00:00Z", "beta"),
            with_topic("2026-11-01T10:01:00Z", "beta"),
            with_topic("2026-11-01T10:02:00Z", "alpha"),
            with_topic("2026-11-01T10:03:00Z", "gamma"),
            with_topic("2026-11-01T10:04:00Z", "gamma"),
            with_topic("2026-11-01T10:05:00Z", "gamma"),
            with_topic("2026-11-01T10:06:00Z", "alpha"),
            msg("2026-11-01T10:07:00Z"),
        ],
    );
    // gamma 3, then alpha and beta tied at 2 (name asc), then (none) 1. Shares over 8.
    assert_eq!(
        topics(&summary),
        [("gamma", 3), ("alpha", 2), ("beta", 2), ("(none)", 1)]
    );
    let shares: Vec<f64> = summary.topic_distribution.iter().map(|t| t.share).collect();
    assert_eq!(shares, [0.375, 0.25, 0.25, 0.125]);
}

fn gap_event(at: &str, question: &str) -> Event {
    Event {
        question: some(question),
        no_rag_match: Some(true),
        ..msg(at)
    }
}

#[test]
fn gaps_with_equal_counts_are_ordered_by_normalized_question() {
    let summary = summarize(
        Window::All,
        &[
            gap_event("2026-11-01T10:00:00Z", "zebra?"),
            gap_event("2026-11-01T10:01:00Z", "Zebra"),
            gap_event("2026-11-01T10:02:00Z", "mango"),
            gap_event("2026-11-01T10:03:00Z", "Apple!"),
            gap_event("2026-11-01T10:04:00Z", "mango."),
            gap_event("2026-11-01T10:05:00Z", "apple"),
            gap_event("2026-11-01T10:06:00Z", "MANGO"),
        ],
    );
    assert_eq!(gaps(&summary), [("mango", 3), ("apple", 2), ("zebra", 2)]);
}

#[test]
fn gap_phrasing_tie_goes_to_the_earliest_phrasing() {
    // Each phrasing once: the earliest (09:00) wins, although it was added last and is not
    // the smallest string ("W" < "w").
    let summary = summarize(
        Window::All,
        &[
            gap_event("2026-11-01T10:00:00Z", "What is Rust?"),
            gap_event("2026-11-01T09:00:00Z", "what is rust"),
        ],
    );
    let gap = &summary.knowledge_gaps[0];
    assert_eq!(gap.question, "what is rust");
    assert_eq!(gap.normalized, "what is rust");
    assert_eq!(gap.count, 2);
    assert_eq!(gap.first_seen, "2026-11-01T09:00:00Z");
    assert_eq!(gap.last_seen, "2026-11-01T10:00:00Z");
}

#[test]
fn gap_phrasing_most_frequent_beats_earliest() {
    let summary = summarize(
        Window::All,
        &[
            gap_event("2026-11-01T08:00:00Z", "What is Rust"),
            gap_event("2026-11-01T11:00:00Z", "what is rust?"),
            gap_event("2026-11-01T09:00:00Z", "what is rust?"),
        ],
    );
    let gap = &summary.knowledge_gaps[0];
    assert_eq!(gap.question, "what is rust?");
    assert_eq!(gap.count, 3);
    assert_eq!(gap.first_seen, "2026-11-01T08:00:00Z");
    assert_eq!(gap.last_seen, "2026-11-01T11:00:00Z");
}

fn page_event(at: &str, url: &str, title: Option<&str>, session: &str) -> Event {
    Event {
        page_url: some(url),
        page_title: title.map(str::to_owned),
        session_id: some(session),
        ..msg(at)
    }
}

#[test]
fn page_title_tie_goes_to_the_earliest() {
    let summary = summarize(
        Window::All,
        &[
            page_event("2026-11-01T10:00:00Z", "/a", Some("Alpha"), "s1"),
            page_event("2026-11-01T09:00:00Z", "/a", Some("Zeta"), "s1"),
            page_event("2026-11-01T11:00:00Z", "/a", None, "s2"),
        ],
    );
    let page = &summary.pages_and_sources.top_pages[0];
    assert_eq!(page.page_title.as_deref(), Some("Zeta"));
    // 3 messages from 2 distinct sessions.
    assert_eq!((page.messages, page.sessions), (3, 2));
}

#[test]
fn page_title_most_frequent_beats_earliest() {
    let summary = summarize(
        Window::All,
        &[
            page_event("2026-11-01T08:00:00Z", "/a", Some("Welcome"), "s1"),
            page_event("2026-11-01T10:00:00Z", "/a", Some("Home"), "s1"),
            page_event("2026-11-01T11:00:00Z", "/a", Some("Home"), "s1"),
        ],
    );
    let page = &summary.pages_and_sources.top_pages[0];
    assert_eq!(page.page_title.as_deref(), Some("Home"));
}

#[test]
fn pages_are_ordered_by_messages_then_url() {
    let summary = summarize(
        Window::All,
        &[
            page_event("2026-11-01T10:00:00Z", "/b", None, "s1"),
            page_event("2026-11-01T10:01:00Z", "/b", None, "s2"),
            page_event("2026-11-01T10:02:00Z", "/a", None, "s1"),
            page_event("2026-11-01T10:03:00Z", "/c", None, "s1"),
            page_event("2026-11-01T10:04:00Z", "/c", None, "s1"),
            page_event("2026-11-01T10:05:00Z", "/a", None, "s1"),
            page_event("2026-11-01T10:06:00Z", "/c", None, "s3"),
        ],
    );
    let pages: Vec<(&str, u64, u64)> = summary
        .pages_and_sources
        .top_pages
        .iter()
        .map(|p| (p.page_url.as_str(), p.messages, p.sessions))
        .collect();
    // /c 3 messages (s1, s3), then /a and /b tied at 2 (url asc).
    assert_eq!(pages, [("/c", 3, 2), ("/a", 2, 1), ("/b", 2, 2)]);
    assert!(
        summary.pages_and_sources.top_pages[0].page_title.is_none(),
        "no title was ever seen"
    );
}

fn from_referrer(
    at: &str,
    kind: EventType,
    session: Option<&str>,
    referrer: Option<&str>,
) -> Event {
    Event {
        session_id: session.map(str::to_owned),
        referrer: referrer.map(str::to_owned),
        ..event(at, kind)
    }
}

#[test]
fn sources_are_ordered_by_sessions_then_source() {
    let t = "2026-11-01T10:00:00Z";
    let summary = summarize(
        Window::All,
        &[
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s1"),
                Some("https://zeta.example/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s2"),
                Some("https://zeta.example/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s3"),
                Some("https://alpha.example/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s4"),
                Some("https://alpha.example/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s5"),
                Some("https://mid.example/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s6"),
                Some("https://mid.example/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s7"),
                Some("https://mid.example/"),
            ),
        ],
    );
    assert_eq!(
        sources(&summary),
        [
            ("mid.example", 3),
            ("alpha.example", 2),
            ("zeta.example", 2)
        ]
    );
}

#[test]
fn a_session_from_several_sources_counts_once_under_each() {
    let t = "2026-11-01T10:00:00Z";
    let google = Some("https://www.google.com/");
    let bing = Some("https://bing.com/");
    let summary = summarize(
        Window::All,
        &[
            from_referrer(t, EventType::WidgetLoaded, Some("s1"), google),
            from_referrer(t, EventType::MessageSent, Some("s1"), bing),
            from_referrer(t, EventType::MessageSent, Some("s1"), google),
            from_referrer(t, EventType::MessageSent, Some("s1"), bing),
            from_referrer(t, EventType::BubbleOpened, Some("s1"), None),
            from_referrer(t, EventType::WidgetLoaded, Some("s2"), bing),
            from_referrer(t, EventType::WidgetLoaded, Some("s2"), bing),
        ],
    );
    // google.com {s1}; bing.com {s1, s2}; (direct) {s1}.
    assert_eq!(
        sources(&summary),
        [("bing.com", 2), ("(direct)", 1), ("google.com", 1)]
    );
    assert_eq!(summary.conversation_volume.sessions, 2);
}

fn error_event(at: &str, error_type: Option<&str>) -> Event {
    Event {
        success: Some(false),
        error_type: error_type.map(str::to_owned),
        error_message: some(&format!("failed at {at}")),
        ..msg(at)
    }
}

#[test]
fn error_types_are_ordered_by_count_then_type() {
    let summary = summarize(
        Window::All,
        &[
            error_event("2026-11-01T10:00:00Z", Some("timeout")),
            error_event("2026-11-01T10:01:00Z", Some("model_error")),
            error_event("2026-11-01T10:02:00Z", Some("timeout")),
            error_event("2026-11-01T10:03:00Z", None),
            error_event("2026-11-01T10:04:00Z", Some("model_error")),
            error_event("2026-11-01T10:05:00Z", Some("bad_gateway")),
            error_event("2026-11-01T10:06:00Z", Some("rag_error")),
        ],
    );
    let by_type: Vec<(&str, u64)> = summary
        .errors
        .by_type
        .iter()
        .map(|t| (t.error_type.as_str(), t.count))
        .collect();
    // 2 each for model_error and timeout (type asc), then the 1s in byte order:
    // "(unknown)" sorts before letters because '(' < 'a'.
    assert_eq!(
        by_type,
        [
            ("model_error", 2),
            ("timeout", 2),
            ("(unknown)", 1),
            ("bad_gateway", 1),
            ("rag_error", 1),
        ]
    );
}

#[test]
fn recent_errors_are_the_20_newest_newest_first() {
    // 25 errors at minutes 0..=24, added in a scrambled order (7·i mod 25 visits every minute
    // once), plus newer successful messages that are not errors.
    let mut events = Vec::new();
    for i in 0..25u32 {
        let minute = (7 * i) % 25;
        let mut e = error_event(&format!("2026-11-01T10:{minute:02}:00Z"), Some("timeout"));
        e.topic = some(&format!("t{minute}"));
        e.page_url = some(&format!("/p{minute}"));
        events.push(e);
    }
    events.push(Event {
        success: Some(true),
        ..msg("2026-11-01T11:00:00Z")
    });
    events.push(msg("2026-11-01T11:01:00Z"));
    let summary = summarize(Window::All, &events);

    assert_eq!(summary.errors.error_count, 25);
    let recent = &summary.errors.recent;
    // The 20 newest are minutes 24 down to 5.
    let minutes: Vec<String> = recent.iter().map(|r| r.timestamp.clone()).collect();
    let expected: Vec<String> = (5..25)
        .rev()
        .map(|m| format!("2026-11-01T10:{m:02}:00Z"))
        .collect();
    assert_eq!(minutes, expected);
    let newest = &recent[0];
    assert_eq!(newest.error_type.as_deref(), Some("timeout"));
    assert_eq!(
        newest.error_message.as_deref(),
        Some("failed at 2026-11-01T10:24:00Z")
    );
    assert_eq!(newest.topic.as_deref(), Some("t24"));
    assert_eq!(newest.page_url.as_deref(), Some("/p24"));
}

#[test]
fn recent_errors_keep_null_fields_as_null() {
    let summary = summarize(
        Window::All,
        &[Event {
            success: Some(false),
            ..msg("2026-11-01T10:00:00Z")
        }],
    );
    let json = serde_json::to_value(&summary).unwrap();
    let recent = &json["errors"]["recent"][0];
    assert_eq!(recent["timestamp"], "2026-11-01T10:00:00Z");
    for field in ["errorType", "errorMessage", "topic", "pageUrl"] {
        assert!(recent[field].is_null(), "{field}: {recent}");
    }
    assert_eq!(json["errors"]["byType"][0]["errorType"], "(unknown)");
}

// ---------------------------------------------------------------------------------------------
// Missing fields and unknown types

#[test]
fn missing_timing_fields_give_each_field_its_own_sample_count() {
    let timed = |at: &str, rag: Option<f64>, ai: Option<f64>, total: Option<f64>| Event {
        rag_time_ms: rag,
        ai_time_ms: ai,
        total_time_ms: total,
        ..msg(at)
    };
    let summary = summarize(
        Window::All,
        &[
            timed("2026-11-01T10:00:00Z", Some(10.0), Some(100.0), Some(200.0)),
            timed("2026-11-01T10:01:00Z", Some(20.0), None, Some(300.0)),
            timed("2026-11-01T10:02:00Z", None, None, Some(400.0)),
            timed("2026-11-01T10:03:00Z", None, None, None),
            // Not a message: its timings do not count.
            Event {
                rag_time_ms: Some(9999.0),
                total_time_ms: Some(9999.0),
                ..event("2026-11-01T10:04:00Z", EventType::RateLimited)
            },
        ],
    );
    let perf = &summary.performance;
    // rag: [10, 20], n = 2: mean 15; p50 rank ⌈1⌉ = 1 → 10; p95 ⌈1.9⌉ = 2 → 20; p99 → 20.
    assert_eq!(perf.avg_rag_time_ms, Some(15.0));
    let rag = &perf.rag_time_ms;
    assert_eq!(
        (rag.samples, rag.p50, rag.p95, rag.p99),
        (2, Some(10.0), Some(20.0), Some(20.0))
    );
    // ai: [100], n = 1.
    assert_eq!(perf.avg_ai_time_ms, Some(100.0));
    let ai = &perf.ai_time_ms;
    assert_eq!(
        (ai.samples, ai.p50, ai.p95, ai.p99),
        (1, Some(100.0), Some(100.0), Some(100.0))
    );
    // total: [200, 300, 400], n = 3: mean 300; p50 ⌈1.5⌉ = 2 → 300; p95 ⌈2.85⌉ = 3 → 400.
    assert_eq!(perf.avg_total_time_ms, Some(300.0));
    let total = &perf.total_time_ms;
    assert_eq!(
        (total.samples, total.p50, total.p95, total.p99),
        (3, Some(300.0), Some(400.0), Some(400.0))
    );
    assert_eq!(summary.conversation_volume.messages, 4);
}

#[test]
fn null_timing_fields_in_ndjson_are_absent_not_zero() {
    let summary = summarize_export(
        Window::All,
        r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","ragTimeMs":null,"aiTimeMs":50,"totalTimeMs":0}
{"timestamp":"2026-11-01T10:01:00Z","eventType":"message_sent","ragTimeMs":30,"aiTimeMs":null}
"#,
    );
    let perf = &summary.performance;
    // rag: [30]; ai: [50]; total: [0] (an explicit 0 is a sample).
    assert_eq!(perf.rag_time_ms.samples, 1);
    assert_eq!(perf.avg_rag_time_ms, Some(30.0));
    assert_eq!(perf.ai_time_ms.samples, 1);
    assert_eq!(perf.avg_ai_time_ms, Some(50.0));
    assert_eq!(perf.total_time_ms.samples, 1);
    assert_eq!(perf.avg_total_time_ms, Some(0.0));
    assert_eq!(perf.total_time_ms.p99, Some(0.0));
}

#[test]
fn unknown_event_types_count_in_events_by_type_and_nowhere_else() {
    let unknown = |at: &str, session: &str, referrer: &str| Event {
        session_id: some(session),
        referrer: some(referrer),
        page_url: some("/unknown"),
        topic: some("unknown-topic"),
        success: Some(false),
        total_time_ms: Some(5.0),
        ..event(at, EventType::parse("page_scrolled"))
    };
    let summary = summarize(
        range("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        &[
            Event {
                session_id: some("s1"),
                ..msg("2026-11-01T10:00:00Z")
            },
            unknown("2026-11-01T10:01:00Z", "s2", "https://news.example.org/a"),
            unknown("2026-11-01T10:02:00Z", "s3", "https://news.example.org/b"),
            event("2026-11-01T10:03:00Z", EventType::parse("future_type")),
        ],
    );
    let volume = &summary.conversation_volume;
    assert_eq!(volume.events_by_type.len(), 3);
    assert_eq!(volume.events_by_type["message_sent"], 1);
    assert_eq!(volume.events_by_type["page_scrolled"], 2);
    assert_eq!(volume.events_by_type["future_type"], 1);
    // Only s1 (from the message) is a session; only the message's "(direct)" is a source.
    assert_eq!(
        (volume.messages, volume.sessions, volume.messaging_sessions),
        (1, 1, 1)
    );
    assert_eq!(sources(&summary), [("(direct)", 1)]);
    assert_eq!(topics(&summary), [("(none)", 1)]);
    assert_eq!(summary.errors.error_count, 0);
    assert_eq!(summary.performance.total_time_ms.samples, 0);
    assert_eq!(summary.pages_and_sources.top_pages.len(), 1);
    assert_eq!(summary.pages_and_sources.top_pages[0].messages, 1);
    assert_eq!(
        over_time(&summary),
        // The range ends at midnight on 2 Nov: that day holds no instant of it.
        [day("2026-11-01", 1, 0, "events")]
    );
    // They are still valid events in the window.
    assert_eq!(summary.data_quality.events_read, 4);
    assert_eq!(summary.data_quality.events_in_window, 4);
    assert_eq!(summary.data_quality.skipped, 0);
}

// ---------------------------------------------------------------------------------------------
// Question normalisation

#[test]
fn normalize_question_lowercases_collapses_whitespace_and_strips_trailing_punctuation() {
    let cases = [
        ("WHAT is  Rust?", "what is rust"),
        ("what is rust", "what is rust"),
        ("What\u{00A0}is Rust!!", "what is rust"),
        ("  what\tis\r\nrust . ?! ", "what is rust"),
        ("what\u{3000}is\u{2003}rust", "what is rust"),
        ("ÉTÉ", "été"),
        ("été", "été"),
        // Only trailing punctuation goes; inner `?`, `.` and other marks stay.
        ("Is 3.5 > 3? Really?", "is 3.5 > 3? really"),
        ("¿Qué tal?", "¿qué tal"),
        ("why,", "why,"),
        ("...", ""),
        ("   ", ""),
        ("", ""),
    ];
    for (question, expected) in cases {
        assert_eq!(normalize_question(question), expected, "{question:?}");
    }
}

#[test]
fn gap_questions_differing_only_in_case_whitespace_and_punctuation_merge() {
    let summary = summarize(
        Window::All,
        &[
            gap_event("2026-11-01T10:00:00Z", "WHAT is  Rust?"),
            gap_event("2026-11-01T10:01:00Z", "what is rust"),
            gap_event("2026-11-01T10:02:00Z", "What\u{00A0}is Rust!!"),
            gap_event("2026-11-01T10:03:00Z", "  what\tis\nrust . "),
            gap_event("2026-11-01T10:04:00Z", "ÉTÉ"),
            gap_event("2026-11-01T10:05:00Z", "été"),
            gap_event("2026-11-01T10:06:00Z", "Été?"),
        ],
    );
    assert_eq!(gaps(&summary), [("what is rust", 4), ("été", 3)]);
    // Every phrasing once: the earliest is the question shown.
    assert_eq!(summary.knowledge_gaps[0].question, "WHAT is  Rust?");
    assert_eq!(summary.knowledge_gaps[1].question, "ÉTÉ");
}

#[test]
fn only_messages_with_no_rag_match_true_and_a_question_are_gaps() {
    let t = "2026-11-01T10:00:00Z";
    let summary = summarize(
        Window::All,
        &[
            gap_event(t, "counted"),
            Event {
                no_rag_match: Some(false),
                ..gap_event(t, "matched")
            },
            Event {
                no_rag_match: None,
                ..gap_event(t, "unknown match")
            },
            Event {
                question: None,
                ..gap_event(t, "")
            },
            gap_event(t, ""),
            Event {
                event_type: EventType::BubbleOpened,
                ..gap_event(t, "not a message")
            },
        ],
    );
    assert_eq!(gaps(&summary), [("counted", 1)]);
}

// ---------------------------------------------------------------------------------------------
// Timestamps, days and the window

#[test]
fn offset_timestamps_belong_to_their_utc_day() {
    // 01:00 at +02:00 is 23:00 UTC the day before; 23:30:00.123456 at −01:00 is 00:30 UTC the
    // day after; the `Z` event has fractional seconds.
    let summary = summarize_export(
        range("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z"),
        r#"{"timestamp":"2026-11-02T01:00:00+02:00","eventType":"message_sent","question":"Late?","noRagMatch":true,"success":false}
{"timestamp":"2026-11-01T23:30:00.123456-01:00","eventType":"message_sent","question":"late","noRagMatch":true}
{"timestamp":"2026-11-01T12:00:00.5Z","eventType":"bubble_opened"}
"#,
    );
    assert_eq!(
        over_time(&summary),
        [
            day("2026-11-01", 1, 1, "events"),
            day("2026-11-02", 1, 0, "events"),
        ]
    );
    let gap = &summary.knowledge_gaps[0];
    assert_eq!(gap.count, 2);
    assert_eq!(gap.first_seen, "2026-11-01T23:00:00Z");
    assert_eq!(gap.last_seen, "2026-11-02T00:30:00.123456Z");
    assert_eq!(summary.errors.recent[0].timestamp, "2026-11-01T23:00:00Z");
}

#[test]
fn window_includes_events_at_from_and_excludes_events_at_to() {
    // to = 26 Nov 06:00, 7 days: from = 19 Nov 06:00.
    let window = Window::last_days(ts(NOW), 7);
    assert_eq!(
        window,
        range("2026-11-19T06:00:00Z", "2026-11-26T06:00:00Z")
    );
    assert!(window.contains(ts("2026-11-19T06:00:00Z")));
    assert!(!window.contains(ts("2026-11-19T05:59:59.999999999Z")));
    assert!(window.contains(ts("2026-11-26T05:59:59.999999999Z")));
    assert!(!window.contains(ts("2026-11-26T06:00:00Z")));
    // The same instants written with an offset.
    assert!(window.contains(ts("2026-11-19T08:00:00+02:00")));
    assert!(!window.contains(ts("2026-11-26T08:00:00+02:00")));

    let summary = summarize(
        window,
        &[
            msg("2026-11-19T05:59:59.999Z"),
            msg("2026-11-19T06:00:00Z"),
            msg("2026-11-26T05:59:59.999Z"),
            msg("2026-11-26T06:00:00Z"),
            msg("2026-11-26T08:00:00+02:00"),
        ],
    );
    assert_eq!(summary.conversation_volume.messages, 2);
    assert_eq!(summary.data_quality.events_read, 5);
    assert_eq!(summary.data_quality.events_in_window, 2);
    assert_eq!(summary.window.from, "2026-11-19T06:00:00Z");
    assert_eq!(summary.window.to, "2026-11-26T06:00:00Z");
    assert_eq!(summary.window.days, 7);
    let rows = over_time(&summary);
    // 19..=26 Nov: 8 rows.
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[0], day("2026-11-19", 1, 0, "events"));
    assert_eq!(rows[7], day("2026-11-26", 1, 0, "events"));
    assert!(rows[1..7].iter().all(|r| r.1 == 0));
}

// ---------------------------------------------------------------------------------------------
// Percentiles and the histogram

/// (n, p50, p95, p99) for the values 1..=n: the value at rank ⌈p·n⌉ is that rank itself.
/// n = 1: 1, 1, 1. n = 2: ⌈1⌉ = 1, ⌈1.9⌉ = 2, ⌈1.98⌉ = 2.
/// n = 20: ⌈10⌉ = 10, ⌈19⌉ = 19, ⌈19.8⌉ = 20. n = 21: ⌈10.5⌉ = 11, ⌈19.95⌉ = 20, ⌈20.79⌉ = 21.
const RANKS: [(u32, f64, f64, f64); 4] = [
    (1, 1.0, 1.0, 1.0),
    (2, 1.0, 2.0, 2.0),
    (20, 10.0, 19.0, 20.0),
    (21, 11.0, 20.0, 21.0),
];

#[test]
fn nearest_rank_takes_the_value_at_rank_ceil_p_times_n() {
    for (n, p50, p95, p99) in RANKS {
        let sorted: Vec<f64> = (1..=n).map(f64::from).collect();
        assert_eq!(nearest_rank(&sorted, 50), Some(p50), "p50, n = {n}");
        assert_eq!(nearest_rank(&sorted, 95), Some(p95), "p95, n = {n}");
        assert_eq!(nearest_rank(&sorted, 99), Some(p99), "p99, n = {n}");
        assert_eq!(
            nearest_rank(&sorted, 100),
            Some(f64::from(n)),
            "p100, n = {n}"
        );
    }
    assert_eq!(nearest_rank(&[], 50), None);
}

#[test]
fn percentiles_through_metrics_use_nearest_rank_on_unsorted_input() {
    for (n, p50, p95, p99) in RANKS {
        // Feed the values 1..=n in a scrambled order (descending, odd values first) as ms on
        // every timing field.
        let mut values: Vec<u32> = (1..=n).rev().filter(|v| v % 2 == 1).collect();
        values.extend((1..=n).rev().filter(|v| v % 2 == 0));
        let events: Vec<Event> = values
            .iter()
            .map(|&v| Event {
                rag_time_ms: Some(f64::from(v)),
                ai_time_ms: Some(f64::from(v)),
                total_time_ms: Some(f64::from(v)),
                ..msg("2026-11-01T10:00:00Z")
            })
            .collect();
        let summary = summarize(Window::All, &events);
        let perf = &summary.performance;
        for p in [&perf.rag_time_ms, &perf.ai_time_ms, &perf.total_time_ms] {
            assert_eq!(u64::from(n), p.samples, "n = {n}");
            assert_eq!(
                (p.p50, p.p95, p.p99),
                (Some(p50), Some(p95), Some(p99)),
                "n = {n}"
            );
        }
        // The mean of 1..=n is (n + 1) / 2.
        let mean = f64::from(n + 1) / 2.0;
        assert_eq!(perf.avg_total_time_ms, Some(mean), "n = {n}");
        assert_eq!(perf.avg_rag_time_ms, Some(mean), "n = {n}");
    }
}

#[test]
fn latency_histogram_buckets_are_lower_inclusive_upper_exclusive() {
    let totals = [
        0.0,
        49.999,
        50.0,
        99.9,
        100.0,
        12_799.0,
        12_800.0,
        1_000_000.0,
    ];
    let events: Vec<Event> = totals
        .iter()
        .map(|&ms| Event {
            total_time_ms: Some(ms),
            ..msg("2026-11-01T10:00:00Z")
        })
        .collect();
    let summary = summarize(Window::All, &events);
    let buckets: Vec<(f64, Option<f64>, u64)> = summary
        .performance
        .total_time_histogram
        .iter()
        .map(|b| (b.from_ms, b.to_ms, b.count))
        .collect();
    assert_eq!(
        buckets,
        [
            (0.0, Some(50.0), 2),    // 0, 49.999
            (50.0, Some(100.0), 2),  // 50, 99.9
            (100.0, Some(200.0), 1), // 100
            (200.0, Some(400.0), 0),
            (400.0, Some(800.0), 0),
            (800.0, Some(1600.0), 0),
            (1600.0, Some(3200.0), 0),
            (3200.0, Some(6400.0), 0),
            (6400.0, Some(12_800.0), 1), // 12799
            (12_800.0, None, 2),         // 12800, 1e6
        ]
    );
    assert_eq!(HISTOGRAM_BOUNDS_MS.len(), buckets.len());
}

// ---------------------------------------------------------------------------------------------
// Sessions, topics, errors

#[test]
fn sessions_count_every_event_and_messaging_sessions_only_messages() {
    let with_session = |at: &str, kind: EventType, session: Option<&str>| Event {
        session_id: session.map(str::to_owned),
        ..event(at, kind)
    };
    let t = "2026-11-01T10:00:00Z";
    let summary = summarize(
        Window::All,
        &[
            with_session(t, EventType::BubbleOpened, Some("s1")),
            with_session(t, EventType::MessageSent, Some("s1")),
            with_session(t, EventType::MessageSent, Some("s1")),
            with_session(t, EventType::MessageSent, Some("s2")),
            with_session(t, EventType::WidgetLoaded, Some("s3")),
            with_session(t, EventType::MessageSent, Some("")),
            with_session(t, EventType::MessageSent, None),
            with_session(t, EventType::BubbleOpened, Some("")),
        ],
    );
    let volume = &summary.conversation_volume;
    // sessions {s1, s2, s3}; messagingSessions {s1, s2}; 5 messages / 2 = 2.5.
    assert_eq!(volume.messages, 5);
    assert_eq!(volume.sessions, 3);
    assert_eq!(volume.messaging_sessions, 2);
    assert_eq!(volume.messages_per_session, 2.5);
    assert_eq!(volume.bubble_opens, 2);
}

#[test]
fn tracker_session_ids_differing_in_a_leading_zero_or_a_length_are_distinct() {
    let t = "2026-11-01T10:00:00Z";
    let ids = [
        "session-1764115203123-rkb35nhp4",
        "session-1764115203123-rkb35nhp4",
        "session-01764115203-rkb35nhp4",
        "session-1764115203123-rkb35nhp",
        "session-1764115203123-0rkb35nhp",
        "session-1764115203123-",
        "session-1764115203123",
        "Session-1764115203123-rkb35nhp4",
        "session-1764115203-rkb35nhp4",
    ];
    let events: Vec<Event> = ids
        .iter()
        .map(|id| Event {
            session_id: some(id),
            ..msg(t)
        })
        .collect();
    let volume = summarize(Window::All, &events).conversation_volume;
    // Nine ids, the first two equal: eight sessions, all of them messaging.
    assert_eq!((volume.sessions, volume.messaging_sessions), (8, 8));
}

#[test]
fn messages_without_any_session_give_zero_messages_per_session() {
    let summary = summarize(
        Window::All,
        &[msg("2026-11-01T10:00:00Z"), msg("2026-11-01T10:01:00Z")],
    );
    assert_eq!(summary.conversation_volume.messages, 2);
    assert_eq!(summary.conversation_volume.messaging_sessions, 0);
    assert_eq!(summary.conversation_volume.messages_per_session, 0.0);
    assert_json_is_finite(&summary);
}

#[test]
fn null_and_empty_topics_count_as_none() {
    let t = "2026-11-01T10:00:00Z";
    let summary = summarize(
        Window::All,
        &[
            msg(t),
            Event {
                topic: some(""),
                ..msg(t)
            },
            Event {
                topic: some("pricing"),
                ..msg(t)
            },
        ],
    );
    assert_eq!(topics(&summary), [("(none)", 2), ("pricing", 1)]);

    // The same through the reader: `null`, `""` and an absent topic.
    let summary = summarize_export(
        Window::All,
        r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","topic":null}
{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","topic":""}
{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent"}
{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","topic":"pricing"}
"#,
    );
    assert_eq!(topics(&summary), [("(none)", 3), ("pricing", 1)]);
    assert_eq!(summary.topic_distribution[0].share, 0.75);
}

#[test]
fn error_rate_is_failed_messages_over_messages_and_rate_limited_is_counted_apart() {
    let t = "2026-11-01T10:00:00Z";
    let summary = summarize(
        Window::All,
        &[
            error_event(t, Some("timeout")),
            error_event(t, None),
            Event {
                success: Some(true),
                ..msg(t)
            },
            // success unknown: not an error.
            msg(t),
            // Not messages: never errors, whatever `success` says.
            Event {
                success: Some(false),
                ..event(t, EventType::RateLimited)
            },
            event(t, EventType::RateLimited),
            Event {
                success: Some(false),
                ..event(t, EventType::BubbleOpened)
            },
        ],
    );
    let errors = &summary.errors;
    // 2 errors over 4 messages.
    assert_eq!(errors.error_count, 2);
    assert_eq!(errors.error_rate, 0.5);
    assert_eq!(errors.rate_limited, 2);
    assert_eq!(errors.recent.len(), 2);
    let by_type: Vec<(&str, u64)> = errors
        .by_type
        .iter()
        .map(|t| (t.error_type.as_str(), t.count))
        .collect();
    assert_eq!(by_type, [("(unknown)", 1), ("timeout", 1)]);
}

#[test]
fn rate_limited_without_messages_leaves_error_rate_zero() {
    let summary = summarize(
        Window::All,
        &[event("2026-11-01T10:00:00Z", EventType::RateLimited)],
    );
    assert_eq!(summary.errors.rate_limited, 1);
    assert_eq!(summary.errors.error_rate, 0.0);
    assert_json_is_finite(&summary);
}

// ---------------------------------------------------------------------------------------------
// Pages and sources

#[test]
fn referrer_source_is_the_lowercased_host_without_leading_www() {
    let cases = [
        (Some("https://WWW.Example.COM/path?q=1#x"), "example.com"),
        (Some("http://www.blog.example.com"), "blog.example.com"),
        (Some("https://www.google.com:8443/"), "google.com"),
        (Some("https://sub.www.example.com/"), "sub.www.example.com"),
        (Some("https://wwwexample.com/"), "wwwexample.com"),
        (Some("  https://Bing.com/search  "), "bing.com"),
        (
            Some("android-app://com.google.android.gm/"),
            "com.google.android.gm",
        ),
        (Some("not a url"), "(direct)"),
        (Some("www.example.com"), "(direct)"),
        (Some(""), "(direct)"),
        (None, "(direct)"),
    ];
    for (referrer, expected) in cases {
        assert_eq!(referrer_source(referrer), expected, "{referrer:?}");
    }
}

#[test]
fn top_sources_count_distinct_sessions_over_all_event_types() {
    let t = "2026-11-01T10:00:00Z";
    let summary = summarize(
        Window::All,
        &[
            // s1: two events from Google, one session.
            from_referrer(
                t,
                EventType::BubbleOpened,
                Some("s1"),
                Some("https://www.google.com/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s1"),
                Some("https://Google.com/search"),
            ),
            // s2: a widget load from Google, no message at all.
            from_referrer(
                t,
                EventType::WidgetLoaded,
                Some("s2"),
                Some("https://google.com/"),
            ),
            from_referrer(
                t,
                EventType::MessageSent,
                Some("s3"),
                Some("https://www.bing.com/"),
            ),
            from_referrer(t, EventType::CtaClicked, Some("s4"), None),
            from_referrer(t, EventType::MessageSent, Some("s5"), Some("garbage")),
            from_referrer(t, EventType::MessageSent, Some("s5"), Some("")),
        ],
    );
    // google.com {s1, s2}; (direct) {s4, s5}; bing.com {s3}. Ties: "(direct)" < "google.com".
    assert_eq!(
        sources(&summary),
        [("(direct)", 2), ("google.com", 2), ("bing.com", 1)]
    );
}

#[test]
fn top_sources_are_capped_at_20() {
    // 25 hosts with one session each, added in reverse: the tie order (source asc) keeps
    // h00..h19.
    let events: Vec<Event> = (0..25)
        .rev()
        .map(|i| {
            from_referrer(
                "2026-11-01T10:00:00Z",
                EventType::WidgetLoaded,
                Some(&format!("s{i}")),
                Some(&format!("https://h{i:02}.example/")),
            )
        })
        .collect();
    let summary = summarize(Window::All, &events);
    let expected: Vec<String> = (0..20).map(|i| format!("h{i:02}.example")).collect();
    let got: Vec<String> = summary
        .pages_and_sources
        .top_sources
        .iter()
        .map(|s| s.source.clone())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(summary.conversation_volume.sessions, 25);
}

#[test]
fn top_pages_are_capped_at_20() {
    // Page i gets i + 1 messages: the top 20 are p24 (25 messages) down to p05 (6).
    let mut events = Vec::new();
    for i in 0..25u64 {
        for _ in 0..=i {
            events.push(page_event(
                "2026-11-01T10:00:00Z",
                &format!("/p{i:02}"),
                None,
                "s1",
            ));
        }
    }
    let summary = summarize(Window::All, &events);
    let got: Vec<(String, u64)> = summary
        .pages_and_sources
        .top_pages
        .iter()
        .map(|p| (p.page_url.clone(), p.messages))
        .collect();
    let expected: Vec<(String, u64)> = (5..25)
        .rev()
        .map(|i| (format!("/p{i:02}"), i + 1))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn knowledge_gaps_are_capped_at_100() {
    // 105 distinct questions once each, q104 once more: q104 (2) first, then q000..q098 by
    // normalized question; q099..q103 fall off.
    let mut events: Vec<Event> = (0..105)
        .map(|i| gap_event("2026-11-01T10:00:00Z", &format!("Q{i:03}?")))
        .collect();
    events.push(gap_event("2026-11-01T11:00:00Z", "q104"));
    let summary = summarize(Window::All, &events);
    let got: Vec<String> = summary
        .knowledge_gaps
        .iter()
        .map(|g| g.normalized.clone())
        .collect();
    let mut expected = vec!["q104".to_owned()];
    expected.extend((0..99).map(|i| format!("q{i:03}")));
    assert_eq!(got, expected);
    assert_eq!(summary.knowledge_gaps[0].count, 2);
}

// ---------------------------------------------------------------------------------------------
// Daily aggregates

fn aggregate(date: &str, counts: &[(&str, u64)]) -> DailyAggregate {
    DailyAggregate {
        date: date.parse::<NaiveDate>().unwrap(),
        events_by_type: counts.iter().map(|&(k, n)| (k.to_owned(), n)).collect(),
    }
}

#[test]
fn daily_aggregates_fill_days_without_raw_events_and_never_override_complete_days() {
    let mut metrics = Metrics::new(range("2026-11-01T00:00:00Z", "2026-11-05T00:00:00Z"));
    // 1 Nov: no raw events left; the aggregate fills it.
    metrics.add_daily(&aggregate(
        "2026-11-01",
        &[
            ("message_sent", 5),
            ("bubble_opened", 7),
            ("widget_loaded", 9),
        ],
    ));
    // 2 Nov: the aggregate equals the raw events: they are complete.
    metrics.add_daily(&aggregate(
        "2026-11-02",
        &[("message_sent", 2), ("bubble_opened", 1)],
    ));
    // 3 Nov: an aggregate taken before the day ended holds less than the raw events.
    metrics.add_daily(&aggregate("2026-11-03", &[("message_sent", 1)]));
    // Outside the window: ignored.
    metrics.add_daily(&aggregate("2026-10-31", &[("message_sent", 100)]));
    for e in [
        msg("2026-11-02T08:00:00Z"),
        msg("2026-11-02T09:00:00Z"),
        event("2026-11-02T10:00:00Z", EventType::BubbleOpened),
        msg("2026-11-03T08:00:00Z"),
        msg("2026-11-03T09:00:00Z"),
        msg("2026-11-03T10:00:00Z"),
    ] {
        metrics.add(&e);
    }
    let summary = metrics.finish(ts(NOW));
    assert_eq!(
        over_time(&summary),
        [
            day("2026-11-01", 5, 7, "daily"),
            day("2026-11-02", 2, 1, "events"),
            day("2026-11-03", 3, 0, "events"),
            day("2026-11-04", 0, 0, "events"),
        ]
    );
    // `messages` counts raw message_sent events only.
    assert_eq!(summary.conversation_volume.messages, 5);
}

#[test]
fn daily_aggregates_from_an_envelope_reach_messages_over_time() {
    let envelope = r#"{"schemaVersion":1,"events":[{"timestamp":"2026-11-02T10:00:00Z","eventType":"message_sent"}],"daily":[{"date":"2026-11-01","eventsByType":{"message_sent":4}}],"nextCursor":null}"#;
    let summary = summarize_export(
        range("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z"),
        envelope,
    );
    assert_eq!(
        over_time(&summary),
        [
            day("2026-11-01", 4, 0, "daily"),
            day("2026-11-02", 1, 0, "events"),
        ]
    );
}

#[test]
fn daily_aggregates_never_replace_the_partial_first_and_last_days() {
    // 06:00 to 06:00: 1 Nov and 3 Nov are only partly inside, 2 Nov wholly.
    let mut metrics = Metrics::new(range("2026-11-01T06:00:00Z", "2026-11-03T06:00:00Z"));
    for date in ["2026-11-01", "2026-11-02", "2026-11-03"] {
        metrics.add_daily(&aggregate(date, &[("message_sent", 50)]));
    }
    metrics.add(&msg("2026-11-01T07:00:00Z"));
    metrics.add(&msg("2026-11-03T05:00:00Z"));
    let summary = metrics.finish(ts(NOW));
    assert_eq!(
        over_time(&summary),
        [
            day("2026-11-01", 1, 0, "events"),
            day("2026-11-02", 50, 0, "daily"),
            day("2026-11-03", 1, 0, "events"),
        ]
    );
}

#[test]
fn all_events_window_ends_on_the_last_event_day_even_at_midnight() {
    let summary = summarize(
        Window::All,
        &[msg("2026-11-01T10:00:00Z"), msg("2026-11-03T00:00:00Z")],
    );
    let dates: Vec<String> = over_time(&summary).into_iter().map(|d| d.0).collect();
    assert_eq!(dates, ["2026-11-01", "2026-11-02", "2026-11-03"]);
}

// ---------------------------------------------------------------------------------------------
// dataQuality and the JSON contract

#[test]
fn data_quality_counts_events_read_in_window_and_skipped_by_reason() {
    let ndjson = r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent"}
{"timestamp":"2026-11-01T11:00:00Z","eventType":"bubble_opened"}
{"timestamp":"2026-11-01T12:00:00Z","eventType":"mystery"}
{"timestamp":"2026-10-01T12:00:00Z","eventType":"message_sent"}
{"timestamp":"2026-11-01T10:00:00Z","eventType":
{"eventType":"message_sent"}
{"timestamp":null,"eventType":"message_sent"}
[1,2,3]
{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","success":"no"}
"#;
    let summary = summarize_export(
        range("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ndjson,
    );
    let quality = &summary.data_quality;
    // 4 valid events, one of them (1 Oct) outside the window; 5 skipped.
    assert_eq!(quality.events_read, 4);
    assert_eq!(quality.events_in_window, 3);
    assert_eq!(quality.skipped, 5);
    let by_reason: Vec<(&str, u64)> = quality
        .skipped_by_reason
        .iter()
        .map(|(k, &n)| (k.as_str(), n))
        .collect();
    assert_eq!(
        by_reason,
        [
            ("invalid_field", 1),
            ("invalid_json", 1),
            ("missing_timestamp", 2),
            ("not_an_object", 1),
        ]
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(
        json["dataQuality"]["skippedByReason"]["missing_timestamp"],
        2
    );
}

#[test]
fn summary_json_uses_the_contract_names() {
    let summary = summarize(
        Window::last_days(ts(NOW), 1),
        &[Event {
            success: Some(false),
            session_id: some("s1"),
            ..msg("2026-11-26T01:00:00Z")
        }],
    );
    let json = assert_json_is_finite(&summary);
    assert_eq!(json["schemaVersion"], 1);
    assert_eq!(json["generatedAt"], NOW);
    assert_eq!(json["window"]["from"], "2026-11-25T06:00:00Z");
    assert_eq!(json["window"]["to"], NOW);
    assert_eq!(json["window"]["days"], 1);
    let paths: [(&str, &[&str]); 9] = [
        (
            "conversationVolume",
            &[
                "messages",
                "sessions",
                "messagingSessions",
                "messagesPerSession",
                "bubbleOpens",
                "eventsByType",
            ],
        ),
        (
            "messagesOverTime/0",
            &["date", "messages", "bubbleOpens", "source"],
        ),
        ("topicDistribution/0", &["topic", "count", "share"]),
        (
            "performance",
            &[
                "avgRagTimeMs",
                "avgAiTimeMs",
                "avgTotalTimeMs",
                "ragTimeMs",
                "aiTimeMs",
                "totalTimeMs",
            ],
        ),
        ("performance/ragTimeMs", &["samples", "p50", "p95", "p99"]),
        (
            "errors",
            &["errorCount", "errorRate", "byType", "recent", "rateLimited"],
        ),
        (
            "errors/recent/0",
            &["timestamp", "errorType", "errorMessage", "topic", "pageUrl"],
        ),
        (
            "pagesAndSources/topPages/0",
            &["pageUrl", "pageTitle", "messages", "sessions"],
        ),
        (
            "dataQuality",
            &["eventsRead", "eventsInWindow", "skipped", "skippedByReason"],
        ),
    ];
    for (path, keys) in paths {
        let node = json
            .pointer(&format!("/{path}"))
            .unwrap_or_else(|| panic!("no {path} in {json}"));
        for key in keys {
            assert!(node.get(key).is_some(), "no {path}/{key} in {node}");
        }
    }
    assert_eq!(
        json["pagesAndSources"]["topSources"][0]["source"],
        "(direct)"
    );
    assert_eq!(json["pagesAndSources"]["topSources"][0]["sessions"], 1);
    assert_eq!(json["knowledgeGaps"], serde_json::json!([]));
}

#[test]
fn recent_errors_with_equal_timestamps_keep_input_order() {
    let failed = |at: &str, kind: &str| Event {
        success: Some(false),
        error_type: some(kind),
        ..msg(at)
    };
    let summary = summarize(
        Window::All,
        &[
            failed("2026-11-01T10:00:00Z", "first"),
            failed("2026-11-01T10:00:00Z", "second"),
            failed("2026-11-01T09:00:00Z", "older"),
        ],
    );
    let kinds: Vec<&str> = summary
        .errors
        .recent
        .iter()
        .map(|r| r.error_type.as_deref().unwrap())
        .collect();
    assert_eq!(kinds, ["first", "second", "older"]);
}

#[test]
fn the_previous_period_is_summarised_when_the_input_reaches_back_to_it() {
    // Window 24–26 Nov 06:00 (2 days); previous period 22–24 Nov 06:00.
    let window = Window::last_days(ts("2026-11-26T06:00:00Z"), 2);
    let events = [
        msg("2026-11-22T07:00:00Z"), // first day of the previous period: it reaches back
        msg("2026-11-23T10:00:00Z"),
        msg("2026-11-25T10:00:00Z"),
    ];
    let summary = summarize(window, &events);
    assert_eq!(summary.conversation_volume.messages, 1);
    let previous = summary.previous_period.as_ref().expect("a baseline");
    assert_eq!(previous.conversation_volume.messages, 2);
    assert_eq!(previous.window.from, "2026-11-22T06:00:00Z");
    assert_eq!(previous.window.to, "2026-11-24T06:00:00Z");
    assert!(previous.previous_period.is_none());

    // Only a day into the previous period: it does not reach back, no baseline.
    let late = summarize(
        window,
        &[msg("2026-11-23T10:00:00Z"), msg("2026-11-25T10:00:00Z")],
    );
    assert!(late.previous_period.is_none());
    // A window taken from the data has no previous period.
    assert!(summarize(Window::All, &events).previous_period.is_none());
}
