//! The worker's `gaps:` records carried by an export envelope: each of the window's knowledge
//! gaps shows the record of its normalised question as `history`; a record never makes a gap,
//! a key listed twice keeps the larger count and the widest span, and inputs without records
//! (NDJSON, CSV, bare arrays, an envelope with `"gaps": []`) give the summary they always gave.

#![allow(clippy::unwrap_used)]

use analytics::{
    AggregateOptions, Event, EventType, GapHistory, GapSummary, Metrics, Summary, Window,
    aggregate, merge_gap, parse_timestamp, read_export, rollup_day,
};
use chrono::{DateTime, NaiveDate, Utc};

const NOW: &str = "2026-11-26T06:00:00Z";

fn ts(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap()
}

fn window() -> Window {
    Window::last_days(ts(NOW), 30)
}

/// The summary of `input`, read on one thread, checked against the parallel reader's (two
/// threads, blocks of a few bytes) and its JSON.
fn summarize(input: &str) -> (Summary, String) {
    let mut metrics = Metrics::new(window());
    read_export(input.as_bytes(), None, &mut metrics).unwrap();
    let sequential = metrics.finish(ts(NOW));
    let parallel = aggregate(
        input.as_bytes(),
        Metrics::new(window()),
        AggregateOptions {
            block_bytes: 64,
            ..AggregateOptions::new(2)
        },
    )
    .unwrap()
    .metrics
    .finish(ts(NOW));
    assert_eq!(parallel, sequential, "parallel and sequential reads agree");
    let json = serde_json::to_string(&sequential).unwrap();
    (sequential, json)
}

/// The window's events: "do you know go" asked three times in three phrasings, "remote work"
/// once, and a message that is not a gap.
const EVENTS: [&str; 5] = [
    r#"{"timestamp":"2026-11-20T10:00:00Z","eventType":"message_sent","question":"Do you know Go?","noRagMatch":true}"#,
    r#"{"timestamp":"2026-11-21T10:00:00Z","eventType":"message_sent","question":"do you   know go","noRagMatch":true}"#,
    r#"{"timestamp":"2026-11-22T10:00:00Z","eventType":"message_sent","question":"DO YOU KNOW GO!","noRagMatch":true}"#,
    r#"{"timestamp":"2026-11-23T10:00:00Z","eventType":"message_sent","question":"Remote work?","noRagMatch":true}"#,
    r#"{"timestamp":"2026-11-24T10:00:00Z","eventType":"message_sent","question":"Kubernetes?","noRagMatch":false}"#,
];

fn envelope(gaps: &str) -> String {
    format!(
        r#"{{"schemaVersion":1,"generatedAt":"{NOW}","from":"2026-10-27T06:00:00Z","to":"{NOW}","events":[{}],"daily":[],"gaps":{gaps},"nextCursor":null}}"#,
        EVENTS.join(",")
    )
}

fn record(normalized: &str, count: u64, first: &str, last: &str) -> String {
    format!(
        r#"{{"normalized":"{normalized}","question":"{normalized}?","count":{count},"firstSeen":"{first}","lastSeen":"{last}"}}"#
    )
}

fn history(count: u64, first: &str, last: &str) -> Option<GapHistory> {
    Some(GapHistory {
        count,
        first_seen: first.to_owned(),
        last_seen: last.to_owned(),
    })
}

/// `(normalized, count, history)` of every knowledge gap.
fn gaps(summary: &Summary) -> Vec<(&str, u64, Option<GapHistory>)> {
    summary
        .knowledge_gaps
        .iter()
        .map(|g| (g.normalized.as_str(), g.count, g.history.clone()))
        .collect()
}

#[test]
fn a_gap_with_a_record_of_its_normalised_question_carries_its_history() {
    let records = [
        record(
            "do you know go",
            17,
            "2026-08-30T09:00:00Z",
            "2026-11-22T10:00:00Z",
        ),
        // No window gap has this key (the window's kubernetes message was answered).
        record(
            "kubernetes",
            9,
            "2026-09-01T09:00:00Z",
            "2026-11-24T10:00:00Z",
        ),
        // Another producer's shape: passed over, not a reason to refuse the export.
        r#"{"hash":"abc","question":"remote work","count":2}"#.to_owned(),
    ];
    let (summary, json) = summarize(&envelope(&format!("[{}]", records.join(","))));
    assert_eq!(
        gaps(&summary),
        [
            (
                "do you know go",
                3,
                history(17, "2026-08-30T09:00:00Z", "2026-11-22T10:00:00Z")
            ),
            ("remote work", 1, None),
        ],
        "the record without a window gap makes none"
    );
    assert!(
        json.contains(
            r#""lastSeen":"2026-11-22T10:00:00Z","history":{"count":17,"firstSeen":"2026-08-30T09:00:00Z","lastSeen":"2026-11-22T10:00:00Z"}}"#
        ),
        "{json}"
    );
    assert!(
        json.contains(
            r#""normalized":"remote work","count":1,"firstSeen":"2026-11-23T10:00:00Z","lastSeen":"2026-11-23T10:00:00Z"}"#
        ),
        "no `history` key, not `null`, without a record: {json}"
    );
    assert_eq!(
        summary.conversation_volume.messages, 5,
        "records count no messages"
    );
    assert_eq!(
        summary.gap_clusters[0].count, 3,
        "clusters count the window"
    );
}

#[test]
fn a_key_listed_twice_keeps_the_larger_count_and_the_widest_span() {
    let a = record(
        "do you know go",
        12,
        "2026-09-10T09:00:00Z",
        "2026-11-01T10:00:00Z",
    );
    let b = record(
        "do you know go",
        5,
        "2026-08-30T09:00:00Z",
        "2026-11-22T10:00:00Z",
    );
    let expected = history(12, "2026-08-30T09:00:00Z", "2026-11-22T10:00:00Z");
    for pair in [[&a, &b], [&b, &a], [&a, &a]] {
        let (summary, _) = summarize(&envelope(&format!("[{},{}]", pair[0], pair[1])));
        let want = if pair[0] == pair[1] {
            history(12, "2026-09-10T09:00:00Z", "2026-11-01T10:00:00Z")
        } else {
            expected.clone()
        };
        assert_eq!(summary.knowledge_gaps[0].history, want, "{pair:?}");
    }
}

#[test]
fn inputs_without_records_give_the_summary_they_always_gave() {
    let (reference, reference_json) = summarize(&envelope("[]"));
    assert!(
        !reference_json.contains("history"),
        "no record, no field: {reference_json}"
    );
    assert!(reference.knowledge_gaps.iter().all(|g| g.history.is_none()));
    let ndjson = EVENTS.join("\n");
    let array = format!("[{}]", EVENTS.join(","));
    for (name, input) in [
        ("ndjson", ndjson),
        ("bare array", array),
        ("gaps: null", envelope("null")),
        ("no gaps key", envelope("[]").replace(r#","gaps":[]"#, "")),
        ("gaps not an array", envelope(r#"{"do you know go":3}"#)),
    ] {
        let (summary, json) = summarize(&input);
        assert_eq!(json, reference_json, "{name}");
        assert_eq!(summary, reference, "{name}");
    }
}

#[test]
fn the_rollups_records_match_the_window_gaps_they_were_made_from() {
    // The worker's path: the cron rolls each day up (`rollup_day`), merges it into the
    // record (`merge_gap`) and stores `record.summary()`, which the export lists. Its keys
    // must be the window's grouping keys, whatever the phrasing.
    let events: Vec<Event> = EVENTS
        .iter()
        .map(|line| analytics::parse_json_event(line.as_bytes()).unwrap())
        .collect();
    let keep_from = NaiveDate::from_ymd_opt(2026, 8, 27).unwrap();
    let mut records: Vec<analytics::GapRecord> = Vec::new();
    for day in 20..=24 {
        let date = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        for gap in rollup_day(date, &events).gaps {
            let existing = records
                .iter()
                .position(|r| r.normalized == gap.normalized)
                .map(|i| records.remove(i));
            records.push(merge_gap(existing, date, &gap, keep_from));
        }
    }
    let summaries: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(&r.summary()).unwrap())
        .collect();
    let (summary, _) = summarize(&envelope(&format!("[{}]", summaries.join(","))));
    for gap in &summary.knowledge_gaps {
        assert_eq!(
            gap.history,
            history(gap.count, &gap.first_seen, &gap.last_seen),
            "{}",
            gap.normalized
        );
    }
    assert_eq!(summary.knowledge_gaps.len(), 2);
}

#[test]
fn records_merge_across_partial_accumulators_as_in_one() {
    let record = |count, first: &str, last: &str| GapSummary {
        normalized: "do you know go".to_owned(),
        question: "Do you know Go?".to_owned(),
        count,
        first_seen: ts(first),
        last_seen: ts(last),
    };
    let a = record(12, "2026-09-10T09:00:00Z", "2026-11-01T10:00:00Z");
    let b = record(5, "2026-08-30T09:00:00Z", "2026-11-22T10:00:00Z");
    let event = analytics::parse_json_event(EVENTS[0].as_bytes()).unwrap();
    let mut one = Metrics::new(window());
    one.add(&event);
    one.add_gap_record(&a);
    one.add_gap_record(&b);
    let expected = one.finish(ts(NOW));
    for swap in [false, true] {
        let base = Metrics::new(window());
        let (mut left, mut right) = (base.partial(), base.partial());
        left.add_ref(&event.view(), 0);
        left.add_gap_record(&a);
        right.add_gap_record(&b);
        if swap {
            std::mem::swap(&mut left, &mut right);
        }
        left.merge(right);
        assert_eq!(left.finish(ts(NOW)), expected, "swap: {swap}");
    }
    assert_eq!(
        expected.knowledge_gaps[0].history,
        history(12, "2026-08-30T09:00:00Z", "2026-11-22T10:00:00Z")
    );
}

#[test]
fn a_record_never_counts_as_an_event_of_any_kind() {
    let mut metrics = Metrics::new(window());
    metrics.add_gap_record(&GapSummary {
        normalized: "do you know go".to_owned(),
        question: "Do you know Go?".to_owned(),
        count: 40,
        first_seen: ts("2026-11-20T10:00:00Z"),
        last_seen: ts("2026-11-20T10:00:00Z"),
    });
    metrics.add(&Event::new(
        ts("2026-11-20T10:00:00Z"),
        EventType::BubbleOpened,
    ));
    let summary = metrics.finish(ts(NOW));
    assert!(summary.knowledge_gaps.is_empty());
    assert!(summary.gap_clusters.is_empty());
    assert_eq!(summary.data_quality.events_read, 1);
}
