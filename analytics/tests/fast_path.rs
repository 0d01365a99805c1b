//! The readers' fast path (`with_json_event`: a typed, borrowed parse) must decide every record
//! exactly as the general path (`parse_json_event`) does: the same event, or the same
//! rejection. Records are generated from the schema's fields with every awkward value the two
//! could disagree on: escapes, wrong types, `null`, empty text, duplicate keys, numbers at the
//! edges of each range and timestamps in and out of the canonical shape.

use analytics::{FIELDS, parse_json_event, with_json_event};
use proptest::prelude::*;

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("2026-11-01T10:00:00Z".to_owned()),
        Just("2026-11-01T10:00:00.250Z".to_owned()),
        Just("2026-11-01T10:00:00.123456789Z".to_owned()),
        Just("2026-11-01T10:00:00.1234567891Z".to_owned()),
        Just("2026-11-01T10:00:00.Z".to_owned()),
        Just("2026-11-01T10:00:60Z".to_owned()),
        Just("2026-11-01T24:00:00Z".to_owned()),
        Just("2026-02-30T10:00:00Z".to_owned()),
        Just("0000-01-01T00:00:00Z".to_owned()),
        Just("2026-11-01t10:00:00z".to_owned()),
        Just("2026-11-01 10:00:00Z".to_owned()),
        Just(" 2026-11-01T10:00:00Z ".to_owned()),
        Just("2026-11-01T10:00:00+02:00".to_owned()),
        Just("2026-11-01T10:00:00.5-00:30".to_owned()),
        Just("2026-1a-01T10:00:00Z".to_owned()),
        Just("yesterday".to_owned()),
        (
            1970i32..2100,
            1u32..13,
            1u32..32,
            0u32..25,
            0u32..61,
            0u32..61,
            0usize..11
        )
            .prop_map(|(y, mo, d, h, mi, s, frac)| {
                let fraction = if frac == 0 {
                    String::new()
                } else {
                    format!(".{}", "7".repeat(frac))
                };
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}Z")
            }),
    ]
}

fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_owned()),
        Just("\"  \"".to_owned()),
        Just("\"message_sent\"".to_owned()),
        Just("\" bubble_opened \"".to_owned()),
        Just("\"say \\\"hi\\\"\"".to_owned()),
        Just("\"caf\\u00e9\"".to_owned()),
        Just("\"café ☕\"".to_owned()),
        Just("\"https://www.Example.com/a?b=1\"".to_owned()),
        "[a-z ]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => string_literal(),
        1 => timestamp().prop_map(|t| format!("\"{t}\"")),
        1 => Just("null".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("false".to_owned()),
        1 => Just("0".to_owned()),
        1 => Just("-0".to_owned()),
        1 => Just("-0.0".to_owned()),
        1 => Just("-1".to_owned()),
        1 => Just("3.0".to_owned()),
        1 => Just("1e2".to_owned()),
        1 => Just("9007199254740992".to_owned()),
        1 => Just("9007199254740991".to_owned()),
        1 => Just("18446744073709551616".to_owned()),
        1 => Just("1000000000".to_owned()),
        1 => Just("1000000000.5".to_owned()),
        1 => Just("1e400".to_owned()),
        1 => Just("3940.0139999999956".to_owned()),
        1 => (0u64..100_000).prop_map(|n| n.to_string()),
        1 => (0.0f64..1e6).prop_map(|n| format!("{n:?}")),
        1 => Just("{\"a\":[1,{\"b\":null}]}".to_owned()),
        1 => odd_spelling(),
        1 => Just("[1,2]".to_owned()),
    ]
}

/// Spellings at the edges of JSON's grammar, which the fast path reads itself or must hand on.
fn odd_spelling() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "01",
        "1.",
        ".5",
        "-",
        "--1",
        "+1",
        "1E2",
        "1e-7",
        "-0",
        "-0.5",
        "-12.5",
        "0.0",
        "00",
        "123456789012345",
        "1234567890123456",
        "123456789012345678",
        "1.5x",
        "tru",
        "nul",
        "truex",
        "nulll",
        "nulx",
        "fals",
        "\"a\u{1}b\"",
        "\"a\u{1f}\"",
        "\"tab\\there\"",
        "\"unterminated",
        "\"\\\"",
        "\"\\\"\"",
        "\"\"",
        "\"é\"",
        "{}",
        "[]",
    ])
    .prop_map(str::to_owned)
}

/// A record every writer of this project could produce, as (key, value) pairs.
const VALID: [(&str, &str); 8] = [
    ("timestamp", "\"2026-11-01T10:00:00.125Z\""),
    ("eventType", "\"message_sent\""),
    ("sessionId", "\"session-1764115382-5bys017z0\""),
    ("messageNumber", "2"),
    ("ragTimeMs", "14.5"),
    ("ragMatchScore", "0.25"),
    ("success", "false"),
    ("topic", "null"),
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0..FIELDS.len()).prop_map(|i| FIELDS[i].to_owned()),
        1 => Just("extra".to_owned()),
        1 => Just("time\\u0073tamp".to_owned()),
        1 => Just("Timestamp".to_owned()),
    ]
}

fn record() -> impl Strategy<Value = String> {
    (
        prop::option::weighted(0.9, timestamp()),
        prop::option::weighted(0.9, string_literal()),
        prop::collection::vec((key(), value()), 0..8),
        prop::sample::select(vec!["", " ", "\t", "\r\n", "\u{b}", "x"]),
    )
        .prop_map(|(ts, kind, fields, space)| {
            let mut parts = Vec::new();
            if let Some(ts) = ts {
                parts.push(format!("\"timestamp\":\"{ts}\""));
            }
            if let Some(kind) = kind {
                parts.push(format!("\"eventType\":{kind}"));
            }
            for (k, v) in fields {
                parts.push(format!("\"{k}\":{v}"));
            }
            // Whitespace (and, for "x", junk) around every token the fast path steps over.
            let parts: Vec<String> = parts
                .iter()
                .map(|p| p.replacen("\":", &format!("\"{space}:{space}"), 1))
                .collect();
            format!(
                "{space}{{{space}{}{space}}}{space}",
                parts.join(&format!("{space},{space}"))
            )
        })
}

/// A valid record with one (key, value) put in at some place: the odd value is the only thing
/// that can make the two paths differ.
fn valid_but_one() -> impl Strategy<Value = String> {
    (
        0..=VALID.len(),
        key(),
        prop_oneof![3 => odd_spelling(), 1 => value()],
        prop::sample::select(vec!["", " ", "\n\t"]),
        prop::sample::select(vec!["", "", "", " \r\n", " x", "}", ",", "\u{0}"]),
    )
        .prop_map(|(at, key, value, space, end)| {
            let mut parts: Vec<String> = VALID
                .iter()
                .map(|(k, v)| format!("\"{k}\"{space}:{space}{v}"))
                .collect();
            parts.insert(at, format!("\"{key}\":{value}"));
            format!("{{{}}}{end}", parts.join(","))
        })
}

fn both(text: &str) {
    let fast = with_json_event(text, |e| e.to_event());
    let general = parse_json_event(text.as_bytes());
    assert_eq!(fast, general, "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn fast_path_decides_as_the_general_path(text in record()) {
        both(&text);
    }

    #[test]
    fn fast_path_decides_as_the_general_path_on_one_odd_value(text in valid_but_one()) {
        both(&text);
    }

    #[test]
    fn fast_path_agrees_on_any_text(text in ".{0,80}") {
        both(&text);
    }
}

#[test]
fn canonical_timestamps_of_every_fraction_length_agree() {
    for digits in 0..=12 {
        let fraction = if digits == 0 {
            String::new()
        } else {
            format!(".{}", "123456789012"[..digits].to_owned())
        };
        both(&format!(
            r#"{{"timestamp":"2024-02-29T23:59:59{fraction}Z","eventType":"cta_clicked"}}"#
        ));
    }
}

#[test]
fn records_the_fast_path_hands_on_still_parse() {
    // An escaped string and a duplicate key take the general path; both are still accepted.
    let escaped =
        r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","question":"a \"b\""}"#;
    let event = with_json_event(escaped, |e| e.to_event()).expect("valid");
    assert_eq!(event.question.as_deref(), Some("a \"b\""));
    let duplicate =
        r#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"x","topic":"a","topic":"b"}"#;
    let event = with_json_event(duplicate, |e| e.to_event()).expect("valid");
    assert_eq!(event.topic.as_deref(), Some("b"));
}

#[test]
fn a_key_is_a_whole_name() {
    // A schema name followed by anything but the closing quote is another key, or no JSON.
    for key in [
        "\"topic_:\"a\"",
        "\"topicX\":\"a\"",
        "\"topi\":\"a\"",
        "\"topic\\\"\":\"a\"",
    ] {
        both(&format!(
            r#"{{"timestamp":"2026-11-01T10:00:00Z","eventType":"x",{key}}}"#
        ));
    }
}
