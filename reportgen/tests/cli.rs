//! End-to-end tests of the `reportgen` binary: every input format, the demo, bad input, the
//! golden summary and report, and escaping of hostile text.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::{only_summary, reportgen};

const NOW: &str = "2026-11-26T06:00:00Z";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// A fresh, empty output folder for one test.
fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs a report over the fixture window and returns (summary, html).
fn report(input: &Path, out: &Path, extra: &[&str]) -> (Value, String) {
    let mut args = vec!["--now", NOW, "--days", "30"];
    args.extend_from_slice(extra);
    let o = reportgen_on(input, out, &args);
    assert!(o.status.success(), "reportgen failed: {}", stderr(&o));
    let printed = stdout(&o).trim().to_owned();
    let expected = out.join("2026-11-26").join("index.html");
    assert_eq!(Path::new(&printed), expected, "prints the report path");
    (
        summary_at(out, "2026-11-26"),
        fs::read_to_string(expected).unwrap(),
    )
}

/// Runs reportgen on `input`, writing under `out`, with more arguments.
fn reportgen_on(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    reportgen(&args)
}

/// The `summary.json` of the snapshot `date` under `out`.
fn summary_at(out: &Path, date: &str) -> Value {
    let path = out.join(date).join("summary.json");
    serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap()
}

/// `(label, count)` pairs of a summary table.
fn pairs(rows: &Value, label: &str, count: &str) -> Vec<(String, u64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[label].as_str().unwrap().to_owned(),
                r[count].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The CSV downloads of a report, in page order: the file name and the CSV the `data:` link holds.
fn csv_downloads(html: &str) -> Vec<(String, String)> {
    html.split(r#"<p class="download"><a download=""#)
        .skip(1)
        .map(|link| {
            let file = &link[..link.find('"').unwrap()];
            let href = &link[link.find(r#"href=""#).unwrap() + 6..];
            let href = &href[..href.find('"').unwrap()];
            // Autoescape turns the `/` of `text/csv` into an entity; the data is percent-encoded.
            let body = href
                .strip_prefix("data:text&#x2F;csv;charset=utf-8,")
                .unwrap_or_else(|| panic!("{file}: not a CSV data: URI: {href:.80}"));
            assert!(
                body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%'),
                "{file}: only letters, digits and escapes in the attribute"
            );
            let csv = percent_encoding::percent_decode_str(body)
                .decode_utf8()
                .unwrap()
                .into_owned();
            (file.to_owned(), csv)
        })
        .collect()
}

/// The records of a CSV text, header first.
fn csv_records(csv: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The body rows of an HTML table whose cells hold plain text: each cell's text.
fn html_rows(table: &str) -> Vec<Vec<String>> {
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let mut cells = Vec::new();
            let mut rest = row;
            while let Some(end) = [rest.find("</td>"), rest.find("</th>")]
                .into_iter()
                .flatten()
                .min()
            {
                let start = rest[..end].rfind('>').unwrap() + 1;
                cells.push(rest[start..end].to_owned());
                rest = &rest[end + "</td>".len()..];
            }
            cells
        })
        .collect()
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it (review the diff!).
fn assert_golden(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run UPDATE_GOLDEN=1",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or(expected.lines().count().min(actual.lines().count()), |i| i);
        panic!(
            "{name} differs from the golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             (UPDATE_GOLDEN=1 ./scripts/test regenerates it; review the diff)",
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

#[test]
fn fixture_summary_matches_hand_computed_numbers() {
    let out = out_dir("hand");
    let (s, _) = report(&fixture("events.ndjson"), &out, &[]);
    // Window: 30 days before --now; the event exactly at `from` counts, the ones before `from`
    // and exactly at `to` do not: 20 read, 18 in the window.
    assert_eq!(s["window"]["from"], "2026-10-27T06:00:00Z");
    assert_eq!(s["window"]["to"], NOW);
    assert_eq!(s["window"]["days"], 30);
    assert_eq!(s["dataQuality"]["eventsRead"], 20);
    assert_eq!(s["dataQuality"]["eventsInWindow"], 18);
    assert_eq!(s["dataQuality"]["skipped"], 0);

    let v = &s["conversationVolume"];
    assert_eq!(v["messages"], 9);
    assert_eq!(v["bubbleOpens"], 3);
    // s1..s4: the empty sessionId and the event without one do not count, and s5 appears
    // only on an unknown event type, which counts in eventsByType and is otherwise ignored.
    assert_eq!(v["sessions"], 4);
    // s1, s2, s3, s4 sent messages: 9 / 4.
    assert_eq!(v["messagingSessions"], 4);
    assert_eq!(v["messagesPerSession"], 2.25);
    assert_eq!(v["eventsByType"]["widget_error"], 1);
    assert_eq!(v["eventsByType"]["message_sent"], 9);

    let days = s["messagesOverTime"].as_array().unwrap();
    assert_eq!(days.len(), 31, "2026-10-27 to 2026-11-26 inclusive");
    let day = |d: &str| days.iter().find(|r| r["date"] == d).unwrap().clone();
    // 12:00+02:00 is 10:00 UTC on 11-01.
    assert_eq!(
        (
            day("2026-11-01")["messages"].clone(),
            day("2026-11-01")["bubbleOpens"].clone()
        ),
        (3.into(), 1.into())
    );
    assert_eq!(day("2026-11-02")["messages"], 3);
    assert_eq!(day("2026-11-05")["bubbleOpens"], 1);
    assert_eq!(
        day("2026-11-26")["messages"],
        0,
        "the event at `to` is outside"
    );

    let topics = pairs(&s["topicDistribution"], "topic", "count");
    assert_eq!(
        topics,
        [
            ("projects", 3),
            ("skills", 3),
            ("(none)", 2),
            ("experience", 1)
        ]
        .map(|(t, n)| (t.to_owned(), n))
    );
    assert_eq!(s["topicDistribution"][3]["share"], 1.0 / 9.0);

    let gaps = &s["knowledgeGaps"];
    assert_eq!(gaps.as_array().unwrap().len(), 2);
    assert_eq!(gaps[0]["normalized"], "do you know kubernetes");
    assert_eq!(
        gaps[0]["question"], "Do you know Kubernetes?",
        "tie: earliest phrasing"
    );
    assert_eq!(gaps[0]["count"], 3);
    assert_eq!(gaps[0]["firstSeen"], "2026-11-01T10:00:00Z");
    assert_eq!(gaps[0]["lastSeen"], "2026-11-02T09:05:00Z");
    assert_eq!(gaps[1]["normalized"], "salary expectations");
    assert_eq!(gaps[1]["question"], "Salary expectations?");

    // rag: 5,10,15,20,25,30,40 → mean 145/7, p50 rank 4, p95/p99 rank 7.
    let p = &s["performance"];
    assert_eq!(p["avgRagTimeMs"], 145.0 / 7.0);
    assert_eq!(p["ragTimeMs"]["samples"], 7);
    assert_eq!(p["ragTimeMs"]["p50"], 20.0);
    assert_eq!(p["ragTimeMs"]["p95"], 40.0);
    // ai: 600,700,800,900,1000,1200,5000,30000 → mean 5025, p50 rank 4 = 900, p95 rank 8.
    assert_eq!(p["avgAiTimeMs"], 5025.0);
    assert_eq!(p["aiTimeMs"]["p50"], 900.0);
    assert_eq!(p["aiTimeMs"]["p95"], 30000.0);
    // total: 300,610,720,815,925,1040,1250,30030 → mean 4461.25, p50 815.
    assert_eq!(p["avgTotalTimeMs"], 4461.25);
    assert_eq!(p["totalTimeMs"]["p50"], 815.0);
    assert_eq!(p["totalTimeMs"]["p99"], 30030.0);
    let hist: Vec<u64> = p["totalTimeHistogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    assert_eq!(hist, [0, 0, 0, 1, 2, 4, 0, 0, 0, 1]);

    let e = &s["errors"];
    assert_eq!(e["errorCount"], 3);
    assert_eq!(e["errorRate"], 3.0 / 9.0);
    assert_eq!(e["byType"][0]["errorType"], "ai_timeout");
    assert_eq!(e["byType"][0]["count"], 2);
    assert_eq!(e["byType"][1]["errorType"], "(unknown)");
    let recent: Vec<&str> = e["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(
        recent,
        [
            "2026-11-05T07:00:00Z",
            "2026-11-02T09:06:00Z",
            "2026-11-02T09:05:00Z"
        ]
    );
    assert_eq!(e["recent"][1]["errorType"], Value::Null);
    assert_eq!(e["rateLimited"], 1);

    let pages = &s["pagesAndSources"]["topPages"];
    assert_eq!(pages[0]["pageUrl"], "https://example.dev/");
    assert_eq!(pages[0]["pageTitle"], "Home");
    assert_eq!(pages[0]["messages"], 4);
    assert_eq!(pages[0]["sessions"], 2);
    assert_eq!(pages[1]["pageUrl"], "https://example.dev/projects");
    assert_eq!(pages[1]["pageTitle"], "Projects");
    assert_eq!(pages[2]["pageUrl"], "https://example.dev/contact");
    let sources = pairs(&s["pagesAndSources"]["topSources"], "source", "sessions");
    // Funnel: only s1 loaded the widget, opened it and sent messages; nobody then clicked a
    // call to action (s4 clicked one, but its widget_loaded is not in the export).
    let funnel: Vec<u64> = s["funnel"]["overall"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["sessions"].as_u64().unwrap())
        .collect();
    assert_eq!(funnel, [1, 1, 1, 0]);
    assert_eq!(
        pairs(&s["suggestions"], "question", "clicks"),
        [("What are Mike's skills?".to_owned(), 1)]
    );
    // 2 Nov 2026 is a Monday: E8, E9 and E10 at 09:xx UTC.
    assert_eq!(s["activity"]["cells"][0][9], 3);
    assert_eq!(
        s["previousPeriod"],
        Value::Null,
        "the export starts inside the window"
    );

    // (direct): s3 (empty, unparseable and missing referrers) and s2's last message; s5's
    // only event has an unknown type and is ignored.
    assert_eq!(
        sources,
        [
            ("(direct)", 2),
            ("google.com", 1),
            ("linkedin.com", 1),
            ("news.ycombinator.com", 1)
        ]
        .map(|(t, n)| (t.to_owned(), n))
    );
}

#[test]
fn every_input_format_gives_the_same_summary() {
    let out = out_dir("formats");
    let (reference, _) = report(&fixture("events.ndjson"), &out.join("ndjson"), &[]);
    for name in ["events.csv", "events-array.json", "export.json"] {
        let (summary, _) = report(&fixture(name), &out.join(name), &[]);
        assert_eq!(summary, reference, "{name}");
    }
}

#[test]
fn golden_summary_and_report() {
    let out = out_dir("golden");
    let (_, html) = report(
        &fixture("export.json"),
        &out,
        &["--title", "Fixture report"],
    );
    let summary = fs::read_to_string(out.join("2026-11-26/summary.json")).unwrap();
    assert_golden("summary.json", &summary);
    assert_golden("report.html", &html);
    let digest = fs::read_to_string(out.join("2026-11-26/digest.md")).unwrap();
    assert_golden("digest.md", &digest);
}

#[test]
fn stdin_is_read_with_a_dash() {
    let out = out_dir("stdin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_reportgen"))
        .args([
            "--input",
            "-",
            "--out",
            out.to_str().unwrap(),
            "--now",
            NOW,
            "--days",
            "30",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&fs::read(fixture("events.csv")).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let s: Value = summary_at(&out, "2026-11-26");
    assert_eq!(s["conversationVolume"]["messages"], 9);
}

#[test]
fn demo_report_is_complete_and_self_contained() {
    let out = out_dir("demo");
    let o = reportgen(&["--demo", "--out", out.to_str().unwrap(), "--now", NOW]);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = PathBuf::from(stdout(&o).trim());
    assert_eq!(path, out.join("2026-11-26/index.html"));
    let html = fs::read_to_string(&path).unwrap();
    for heading in [
        "1. Conversation volume",
        "2. Messages over time",
        "3. Topic distribution",
        "4. Knowledge gaps",
        "5. Performance",
        "6. Errors",
        "7. Pages &amp; sources",
    ] {
        assert!(
            html.contains(&format!(">{heading}</h2>")),
            "section {heading}"
        );
    }
    for heading in [
        "Widget funnel",
        "When people chat",
        "Suggested questions clicked",
        "Gap clusters",
        "Daily P95",
    ] {
        assert!(html.contains(&format!("<h3>{heading}</h3>")), "{heading}");
    }
    // Volume over time, heatmap, topics, funnel, latency, daily P95, errors: each drawn wide
    // and for phones.
    assert_eq!(html.matches("<svg ").count(), 14, "seven charts, twice");
    assert_eq!(html.matches(r#"class="chart wide""#).count(), 7);
    assert_eq!(html.matches(r#"class="chart narrow""#).count(), 7);
    assert_eq!(
        html.matches("<title>").count(),
        15,
        "page title + one per drawing"
    );
    assert!(
        html.len() < 300 * 1024,
        "the demo report is {} bytes",
        html.len()
    );
    // The one script is data: a copy of summary.json, without the previous period.
    assert_eq!(html.matches("<script").count(), 1);
    let start = html
        .find("<script type=\"application/json\" id=\"summary-data\">")
        .unwrap();
    let body = &html[start..];
    let json = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let mut embedded: Value = serde_json::from_str(json).unwrap();
    let mut written = summary_at(&out, "2026-11-26");
    embedded["previousPeriod"] = Value::Null;
    written["previousPeriod"] = Value::Null;
    assert_eq!(embedded, written);
    assert!(out.join("2026-11-26/gaps.csv").exists());
    // Nothing is loaded from anywhere: no src/href to a resource, no CSS url() or @import.
    for forbidden in ["src=", "<link", "url(", "@import", "<img", "<iframe"] {
        assert!(
            !html.contains(forbidden),
            "self-contained: found {forbidden}"
        );
    }
    let s: Value = summary_at(&out, "2026-11-26");
    assert_eq!(s["window"]["from"], "2026-10-27T00:00:00Z");
    assert_eq!(s["window"]["to"], "2026-11-26T00:00:00Z");
    assert_eq!(s["dataQuality"]["eventsRead"], 80_000);
    let in_window = s["dataQuality"]["eventsInWindow"].as_u64().unwrap();
    assert!((35_000..45_000).contains(&in_window), "{in_window}");
    // The demo reaches back 60 days: the report compares with the previous 30.
    assert!(s["previousPeriod"].is_object());
    assert!(html.contains("changes are against the previous 30 days"));
    assert!(html.contains("class=\"sr-only\">up ") || html.contains("class=\"sr-only\">down "));
    // Each top table has a change column: topics, suggestions, gaps, errors, pages, sources.
    let change_columns = html
        .matches(r#"<th scope="col" class="num">Change</th>"#)
        .count();
    assert_eq!(change_columns, 6);
    assert!(s["conversationVolume"]["messages"].as_u64().unwrap() > 3_000);
    assert!(s["knowledgeGaps"].as_array().unwrap().len() >= 10);
    assert!(s["errors"]["byType"].as_array().unwrap().len() >= 3);
    assert!(s["pagesAndSources"]["topSources"].as_array().unwrap().len() >= 5);
    for kind in [
        "message_sent",
        "bubble_opened",
        "bubble_closed",
        "suggestion_clicked",
        "widget_loaded",
        "cta_clicked",
        "rate_limited",
    ] {
        assert!(
            s["conversationVolume"]["eventsByType"][kind]
                .as_u64()
                .unwrap()
                > 0,
            "{kind}"
        );
    }
}

#[test]
fn demo_is_deterministic() {
    let a = out_dir("demo-a");
    let b = out_dir("demo-b");
    for out in [&a, &b] {
        let o = reportgen(&["--demo", "--out", out.to_str().unwrap(), "--now", NOW]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for file in ["index.html", "summary.json"] {
        assert_eq!(
            fs::read(a.join("2026-11-26").join(file)).unwrap(),
            fs::read(b.join("2026-11-26").join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn generate_writes_exactly_n_reproducible_ndjson_events() {
    let run = |seed: &str| {
        let o = reportgen(&["generate", "--events", "500", "--seed", seed, "--days", "7"]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let first = run("7");
    assert_eq!(first.lines().count(), 500);
    assert_eq!(first, run("7"));
    assert_ne!(first, run("8"));
    for line in first.lines() {
        analytics::parse_json_event(line.as_bytes()).unwrap();
    }
}

#[test]
fn missing_input_file_is_a_one_line_error_naming_it() {
    let out = out_dir("missing");
    let o = reportgen(&[
        "--input",
        "no/such/export.json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("no/such/export.json"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_worker_url_in_the_environment_does_not_get_in_the_way_of_a_file() {
    let out = out_dir("env-url");
    let o = Command::new(env!("CARGO_BIN_EXE_reportgen"))
        .args([
            "--input",
            fixture("events.ndjson").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .env("ANALYTICS_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn no_input_at_all_explains_what_to_give() {
    let o = reportgen(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--input"), "{}", stderr(&o));
}

#[test]
fn malformed_records_are_skipped_counted_and_named() {
    let out = out_dir("skip");
    let o = reportgen_on(&fixture("bad.ndjson"), &out, &["--now", NOW]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("skipped 4 malformed records"), "{err}");
    assert!(err.contains("first at line 2, 4, 6, 7"), "{err}");
    let s: Value = summary_at(&out, "2026-11-01");
    let q = &s["dataQuality"];
    assert_eq!(q["eventsRead"], 2);
    assert_eq!(q["skipped"], 4);
    assert_eq!(q["skippedByReason"]["invalid_json"], 1);
    assert_eq!(q["skippedByReason"]["missing_timestamp"], 1);
    assert_eq!(q["skippedByReason"]["not_an_object"], 1);
    assert_eq!(q["skippedByReason"]["invalid_field"], 1);
    let html = fs::read_to_string(out.join("2026-11-01/index.html")).unwrap();
    assert!(html.contains("4 malformed records skipped (invalid_field: 1, invalid_json: 1, missing_timestamp: 1, not_an_object: 1)"));
}

#[test]
fn strict_mode_stops_at_the_first_bad_record_with_its_line() {
    let out = out_dir("strict");
    let o = reportgen_on(&fixture("bad.ndjson"), &out, &["--strict"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.ndjson"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("invalid_json"), "{err}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn truncated_json_is_an_error_with_its_position_and_keeps_the_previous_report() {
    let out = out_dir("truncated");
    report(&fixture("export.json"), &out, &[]);
    let before = fs::read(out.join("2026-11-26/index.html")).unwrap();
    let cut = out.join("cut.json");
    let text = fs::read_to_string(fixture("export.json")).unwrap();
    fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let o = reportgen_on(&cut, &out, &["--now", NOW, "--days", "30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cut.json"), "{}", stderr(&o));
    assert!(stderr(&o).contains("line "), "{}", stderr(&o));
    assert_eq!(fs::read(out.join("2026-11-26/index.html")).unwrap(), before);
}

#[test]
fn empty_input_gives_a_valid_report_that_says_so() {
    let out = out_dir("empty");
    let empty = out_dir("empty-input").with_extension("ndjson");
    fs::write(&empty, "").unwrap();
    let (s, html) = report(&empty, &out, &[]);
    assert_eq!(s["conversationVolume"]["messages"], 0);
    assert_eq!(s["conversationVolume"]["messagesPerSession"], 0.0);
    assert_eq!(s["errors"]["errorRate"], 0.0);
    assert_eq!(s["performance"]["totalTimeMs"]["p95"], Value::Null);
    assert_eq!(s["performance"]["avgAiTimeMs"], Value::Null);
    assert!(html.contains("No events in this window"));
    assert!(
        !html
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word == "NaN" || word == "inf"),
        "no non-finite number shown"
    );
}

#[test]
fn a_window_with_no_events_says_so() {
    let out = out_dir("nowindow");
    let o = reportgen_on(
        &fixture("events.ndjson"),
        &out,
        &["--now", "2030-01-01T00:00:00Z", "--days", "7"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = fs::read_to_string(out.join("2030-01-01/index.html")).unwrap();
    assert!(html.contains("No events in this window"));
}

#[test]
fn forced_format_overrides_detection() {
    let out = out_dir("forced");
    let o = reportgen(&[
        "--input",
        fixture("events.csv").to_str().unwrap(),
        "--format",
        "ndjson",
        "--out",
        out.to_str().unwrap(),
        "--now",
        NOW,
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "--quiet: {}", stderr(&o));
    // Every CSV line is invalid JSON.
    let s: Value = summary_at(&out, "2026-11-26");
    assert_eq!(s["dataQuality"]["skippedByReason"]["invalid_json"], 21);
}

#[test]
fn templates_can_be_overridden() {
    let out = out_dir("templates");
    let dir = out_dir("templates-src");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("report.html"),
        "<p>{{ title }}: {{ kpis.0.value }} messages</p>",
    )
    .unwrap();
    let (_, html) = report(
        &fixture("events.ndjson"),
        &out,
        &["--templates", dir.to_str().unwrap(), "--title", "<Custom>"],
    );
    assert_eq!(html, "<p>&lt;Custom&gt;: 9 messages</p>");
}

#[test]
fn hostile_text_appears_only_escaped() {
    let out = out_dir("hostile");
    let o = reportgen_on(&fixture("hostile.ndjson"), &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = fs::read_to_string(PathBuf::from(stdout(&o).trim())).unwrap();
    for raw in [
        "<script>alert(1)</script>",
        "\"><svg onload=alert(1)>",
        "<svg onload",
        "<img src=x",
        "</script><script>",
        "<b>bold</b>",
        "href=\"javascript:",
    ] {
        assert!(!html.contains(raw), "unescaped {raw:?}");
    }
    // The embedded JSON copy cannot be closed early by a question.
    assert_eq!(html.matches("</script>").count(), 1);
    assert!(html.contains("\\u003cscript>alert(1)\\u003c/script>"));
    // The question is in the gap table, escaped by the template.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
    // The topic is in the doughnut's SVG legend, escaped by the SVG backend.
    let svg_start = html.find("<title>Messages by topic</title>").unwrap();
    let svg = &html[svg_start..svg_start + html[svg_start..].find("</svg>").unwrap()];
    assert!(
        svg.contains("&quot;&gt;&lt;svg onload=alert(1)&gt;"),
        "{svg}"
    );
    // The javascript: page is shown as text, not as a link; the https page is a link.
    assert!(html.contains("<a href=\"https:&#x2F;&#x2F;ok.example&#x2F;page?x=&quot;&gt;&lt;svg&gt;\" rel=\"noopener noreferrer\">"));
}

#[test]
fn every_table_is_followed_by_its_own_csv_download() {
    let out = out_dir("downloads");
    let o = reportgen(&["--demo", "--out", out.to_str().unwrap(), "--now", NOW]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = fs::read_to_string(out.join("2026-11-26/index.html")).unwrap();
    // Each piece is one table and what follows it, up to the next table.
    let tables: Vec<&str> = html.split("<table").skip(1).collect();
    assert_eq!(tables.len(), 16, "the demo shows every table");
    for table in &tables {
        let end = table.find("</table></div>").unwrap() + "</table></div>".len();
        assert!(
            table[end..]
                .trim_start()
                .starts_with(r#"<p class="download"><a download=""#),
            "no CSV download right after <table{}",
            &table[..table.find("</thead>").unwrap()]
        );
    }
    let downloads = csv_downloads(&html);
    assert_eq!(downloads.len(), tables.len(), "no download without a table");
    let names: std::collections::BTreeSet<&str> =
        downloads.iter().map(|(file, _)| file.as_str()).collect();
    assert_eq!(
        names.len(),
        downloads.len(),
        "distinct file names: {names:?}"
    );
    assert!(names.iter().all(|n| n.ends_with(".csv")), "{names:?}");
    let download = |file: &str| {
        let (_, csv) = downloads.iter().find(|(f, _)| f == file).unwrap();
        csv_records(csv)
    };
    let table = |marker: &str| {
        let table = tables.iter().find(|t| t.contains(marker)).unwrap();
        html_rows(&table[..table.find("</table>").unwrap()])
    };
    let s = summary_at(&out, "2026-11-26");

    // The heatmap: a row per weekday and a column per hour, as the table shows it, and the
    // numbers of summary.json.
    let heat = download("messages-by-weekday-and-hour.csv");
    let hours: Vec<String> = (0..24).map(|h| h.to_string()).collect();
    assert_eq!(heat[0][0], "weekday (UTC)");
    assert_eq!(heat[0][1..], hours);
    assert_eq!(heat[1..], table(r#"<th scope="col">Day</th>"#));
    let cells: Vec<Vec<u64>> = heat[1..]
        .iter()
        .map(|row| row[1..].iter().map(|n| n.parse().unwrap()).collect())
        .collect();
    assert_eq!(serde_json::json!(cells), s["activity"]["cells"]);
    assert!(cells.iter().flatten().sum::<u64>() > 3_000);

    // Messages per day: the table's rows, numbers without thousands separators.
    let days = download("messages-per-day.csv");
    assert_eq!(
        days[0],
        ["date", "messages", "bubbleOpens", "errors", "source"]
    );
    let shown: Vec<Vec<String>> = table(">Bubble opens</th>")
        .into_iter()
        .map(|row| row.into_iter().map(|c| c.replace(',', "")).collect())
        .collect();
    assert_eq!(days[1..], shown);
    assert_eq!(days.len(), 31, "a row per day of the 30-day window");
}

#[test]
fn csv_downloads_neutralise_formulas_in_every_text_column() {
    let out = out_dir("downloads-hostile");
    fs::create_dir_all(&out).unwrap();
    let input = out.join("formulas.ndjson");
    let mut events = String::new();
    for (i, question) in ["=1+1", "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3"]
        .iter()
        .enumerate()
    {
        let event = serde_json::json!({
            "timestamp": format!("2026-11-0{}T10:00:00Z", i + 1),
            "sessionId": format!("f{i}"),
            "referrer": "https://evil.example/",
            "pageUrl": "=HYPERLINK(\"https://evil.example\")",
            "pageTitle": "@title",
        });
        for (kind, extra) in [
            ("widget_loaded", serde_json::json!({})),
            ("bubble_opened", serde_json::json!({})),
            (
                "suggestion_clicked",
                serde_json::json!({ "question": question }),
            ),
            (
                "message_sent",
                serde_json::json!({
                    "question": question, "topic": "-topic", "noRagMatch": true,
                    "success": false, "errorType": "=err", "errorMessage": "+boom",
                    "ragTimeMs": 10, "aiTimeMs": 90, "totalTimeMs": 100,
                }),
            ),
        ] {
            let mut e = event.clone();
            e["eventType"] = kind.into();
            e.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            events.push_str(&format!("{e}\n"));
        }
    }
    fs::write(&input, events).unwrap();
    let (_, html) = report(&input, &out, &[]);
    let downloads = csv_downloads(&html);
    assert_eq!(downloads.len(), html.matches("<table").count());
    let number = |cell: &str| cell.trim_start_matches('-').parse::<f64>().is_ok();
    let mut seen = Vec::new();
    for (file, csv) in &downloads {
        for cell in csv_records(csv).into_iter().flatten() {
            assert!(
                number(&cell) || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{file}: {cell:?} would run as a formula"
            );
            if cell.starts_with('\'') {
                seen.push(format!("{file}: {cell}"));
            }
        }
    }
    for expected in [
        "gaps.csv: '=1+1",
        "gap-clusters.csv: '@SUM(A1)",
        "suggestions.csv: '+cmd|' /C calc'!A0",
        "topics.csv: '-topic",
        "error-types.csv: '=err",
        "recent-errors.csv: '+boom",
        "recent-errors.csv: '-topic",
        "pages.csv: '@title",
        "funnel-by-page.csv: '=HYPERLINK(\"https://evil.example\")",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} in {seen:#?}"
        );
    }
}

#[test]
fn strict_mode_names_the_line_in_csv_and_json_arrays_too() {
    for (name, line, reason) in [
        ("bad.csv", "line 3", "invalid_csv_row"),
        ("bad-array.json", "line 3", "not_an_object"),
    ] {
        let out = out_dir(&format!("strict-{name}"));
        let o = reportgen_on(&fixture(name), &out, &["--strict"]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = stderr(&o);
        assert!(
            err.contains(name) && err.contains(line) && err.contains(reason),
            "{err}"
        );
        assert!(!out.exists(), "nothing written for {name}");
    }
}

#[test]
fn a_directory_as_input_is_a_one_line_error() {
    let out = out_dir("dir-input");
    let dir = fixture("");
    let o = reportgen_on(&dir, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("fixtures"), "{err}");
    assert!(err.contains("Is a directory"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        err.matches("Is a directory").count(),
        1,
        "cause said once: {err}"
    );
}

#[test]
fn ndjson_whose_first_line_is_malformed_skips_only_that_line() {
    let out = out_dir("first-line");
    let input = out_dir("first-line-input").with_extension("ndjson");
    fs::write(
        &input,
        "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventTy\n\
         {\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"message_sent\"}\n",
    )
    .unwrap();
    let o = reportgen_on(&input, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("first at line 1"), "{}", stderr(&o));
    let s: Value = summary_at(&out, "2026-11-01");
    assert_eq!(s["conversationVolume"]["messages"], 1);
}

#[test]
fn a_stray_timestamp_decades_away_is_refused_with_advice() {
    let out = out_dir("span");
    let input = out_dir("span-input").with_extension("ndjson");
    fs::write(
        &input,
        "{\"timestamp\":\"1970-01-01T00:00:00Z\",\"eventType\":\"widget_loaded\"}\n\
         {\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"message_sent\"}\n",
    )
    .unwrap();
    let o = reportgen_on(&input, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("1970-01-01T00:00:00Z") && err.contains("--days"),
        "{err}"
    );
    assert!(!out.exists());
    // With a window the same file reports fine: the stray event is outside it.
    let o = reportgen_on(&input, &out, &["--now", NOW, "--days", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn absurd_durations_are_skipped_not_summed_to_infinity() {
    let out = out_dir("huge");
    let input = out_dir("huge-input").with_extension("ndjson");
    let line = "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"eventType\":\"message_sent\",\"ragTimeMs\":1.7e308}\n";
    fs::write(&input, line.repeat(2)).unwrap();
    let o = reportgen_on(&input, &out, &["--now", NOW, "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: Value = summary_at(&out, "2026-11-26");
    assert_eq!(s["dataQuality"]["skippedByReason"]["invalid_field"], 2);
    assert_eq!(s["performance"]["ragTimeMs"]["samples"], 0);
}

#[test]
fn daily_aggregates_fill_expired_days_and_a_partial_export_is_flagged() {
    let input = fixture("export-daily.json");
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec!["--now", NOW, "--days", "30"];
        args.extend_from_slice(extra);
        reportgen_on(&input, out, &args)
    };
    let out = out_dir("daily");
    let o = run(&out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("one page of several"), "{}", stderr(&o));
    let s: Value = summary_at(&out, "2026-11-26");
    let days = s["messagesOverTime"].as_array().unwrap();
    let day = |d: &str| days.iter().find(|r| r["date"] == d).unwrap().clone();
    assert_eq!(day("2026-10-28")["source"], "daily");
    assert_eq!(day("2026-10-28")["messages"], 40);
    assert_eq!(
        day("2026-11-25")["source"],
        "events",
        "raw events are complete"
    );
    assert_eq!(
        s["conversationVolume"]["messages"], 1,
        "aggregates feed only the series"
    );
    let html = fs::read_to_string(out.join("2026-11-26/index.html")).unwrap();
    assert!(html.contains("come from the 90-day aggregates"));

    let strict_out = out_dir("daily-strict");
    let o = run(&strict_out, &["--strict"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("one page of several"), "{}", stderr(&o));
    assert!(!strict_out.exists());
}

#[test]
fn gap_records_of_the_export_show_beside_the_window_counts() {
    let out = out_dir("gap-history");
    let (s, html) = report(&fixture("export-gaps.json"), &out, &[]);

    // summary.json: the record of the same normalised question, and nothing for a gap without
    // one; the record without a window gap (kubernetes was answered) makes no gap.
    let gaps = s["knowledgeGaps"].as_array().unwrap();
    let normalized: Vec<&str> = gaps
        .iter()
        .map(|g| g["normalized"].as_str().unwrap())
        .collect();
    assert_eq!(
        normalized,
        [
            "do you know go",
            "<script>alert(1)</script> pricing",
            "remote work"
        ]
    );
    assert_eq!(gaps[0]["count"], 3);
    assert_eq!(
        gaps[0]["history"],
        serde_json::json!({"count": 17, "firstSeen": "2026-08-30T09:00:00Z",
                           "lastSeen": "2026-11-22T10:00:00Z"})
    );
    assert!(gaps[1].get("history").is_none(), "absent, not null");
    assert_eq!(gaps[2]["history"]["count"], 4);

    // The table: a column with the record's count, a dash without one, text escaped.
    let start = html.find(r#"<section id="gaps""#).unwrap();
    let section = &html[start..start + html[start..].find("</section>").unwrap()];
    let table = &section[section.find("<table").unwrap()..section.find("</table>").unwrap()];
    assert!(table.contains(r#"<th scope="col" class="num">90-day record</th>"#));
    let rows: Vec<Vec<String>> = html_rows(table)
        .into_iter()
        .map(|row| row[..3].to_vec())
        .collect();
    assert_eq!(
        rows,
        [
            ["Do you know Go?", "3", "17"],
            [
                "&lt;script&gt;alert(1)&lt;&#x2F;script&gt; pricing?",
                "1",
                "—"
            ],
            ["Remote work?", "1", "4"],
        ]
    );
    assert!(
        !html.contains("<script>alert"),
        "escaped as everything else"
    );
    assert!(
        section.contains("90-day record: times asked as the worker"),
        "the column is explained"
    );
    assert!(
        section[section.find("</table></div>").unwrap() + "</table></div>".len()..]
            .trim_start()
            .starts_with(r#"<p class="download"><a download="gaps.csv""#),
        "the table is still followed by its download"
    );

    // The download and gaps.csv beside the report: the record's columns, empty without one.
    let expected = vec![
        vec![
            "question",
            "normalized",
            "count",
            "firstSeen",
            "lastSeen",
            "historyCount",
            "historyFirstSeen",
            "historyLastSeen",
        ],
        vec![
            "Do you know Go?",
            "do you know go",
            "3",
            "2026-11-20T10:00:00Z",
            "2026-11-22T10:00:00Z",
            "17",
            "2026-08-30T09:00:00Z",
            "2026-11-22T10:00:00Z",
        ],
        vec![
            "<script>alert(1)</script> pricing?",
            "<script>alert(1)</script> pricing",
            "1",
            "2026-11-23T10:00:00Z",
            "2026-11-23T10:00:00Z",
            "",
            "",
            "",
        ],
        vec![
            "Remote work?",
            "remote work",
            "1",
            "2026-11-24T10:00:00Z",
            "2026-11-24T10:00:00Z",
            "4",
            "2026-09-14T08:30:00Z",
            "2026-11-24T10:00:00Z",
        ],
    ];
    let (_, download) = csv_downloads(&html)
        .into_iter()
        .find(|(file, _)| file == "gaps.csv")
        .unwrap();
    assert_eq!(csv_records(&download), expected);
    let beside = fs::read_to_string(out.join("2026-11-26/gaps.csv")).unwrap();
    assert_eq!(csv_records(&beside), expected);

    // `--strict` reads on one thread through the sink `--url` also uses: the same gaps.
    let strict_out = out_dir("gap-history-strict");
    let (strict, _) = report(&fixture("export-gaps.json"), &strict_out, &["--strict"]);
    assert_eq!(strict["knowledgeGaps"], s["knowledgeGaps"]);

    // The same events without records: no column, no note, no field.
    let plain_out = out_dir("gap-history-plain");
    let plain = out.join("plain.ndjson");
    let events = fs::read_to_string(fixture("export-gaps.json")).unwrap();
    let lines: Vec<&str> = events
        .lines()
        .filter(|l| l.trim_start().starts_with(r#"{"timestamp""#))
        .map(|l| l.trim().trim_end_matches(','))
        .collect();
    fs::write(&plain, lines.join("\n")).unwrap();
    let (s, html) = report(&plain, &plain_out, &[]);
    assert_eq!(s["knowledgeGaps"].as_array().unwrap().len(), 3);
    assert!(!serde_json::to_string(&s).unwrap().contains("history"));
    assert!(!html.contains("90-day record"));
    let beside = fs::read_to_string(plain_out.join("2026-11-26/gaps.csv")).unwrap();
    assert_eq!(
        csv_records(&beside)[0],
        ["question", "normalized", "count", "firstSeen", "lastSeen"]
    );
}

#[test]
fn the_archive_lists_every_snapshot_with_trends_and_survives_a_failed_run() {
    let out = out_dir("archive");
    for now in [
        "2026-11-24T06:00:00Z",
        "2026-11-25T06:00:00Z",
        "2026-11-26T06:00:00Z",
    ] {
        let o = reportgen_on(
            &fixture("events.ndjson"),
            &out,
            &["--now", now, "--days", "30"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let index = fs::read_to_string(out.join("index.html")).unwrap();
    for date in ["2026-11-24", "2026-11-25", "2026-11-26"] {
        assert!(
            index.contains(&format!("href=\"{date}&#x2F;index.html\"")),
            "{date}"
        );
    }
    let newest_first =
        index.find("2026-11-26&#x2F;").unwrap() < index.find("2026-11-24&#x2F;").unwrap();
    assert!(newest_first, "snapshots newest first");
    // The per-snapshot sessions chart has one point per snapshot.
    let chart = &index[index.find("<title>Sessions per snapshot</title>").unwrap()..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    let series = chart
        .lines()
        .find(|l| l.contains("stroke=\"#0072B2\" stroke-width=\"2\""))
        .unwrap();
    let points = series
        .split("points=\"")
        .nth(1)
        .map(|p| p[..p.find('"').unwrap()].split_whitespace().count());
    assert_eq!(points, Some(3), "{chart}");
    assert!(index.contains("Do you know Kubernetes?"), "gaps over time");
    assert_eq!(
        fs::read(out.join("latest/summary.json")).unwrap(),
        fs::read(out.join("2026-11-26/summary.json")).unwrap(),
        "latest/ is the newest snapshot"
    );

    // A failed run changes nothing.
    let o = reportgen(&["--input", "missing.ndjson", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(fs::read_to_string(out.join("index.html")).unwrap(), index);

    // `reportgen archive` rebuilds the page and latest/ from the snapshots alone.
    fs::remove_file(out.join("index.html")).unwrap();
    fs::remove_dir_all(out.join("latest")).unwrap();
    let o = reportgen(&["archive", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), out.join("index.html").to_str().unwrap());
    assert_eq!(fs::read_to_string(out.join("index.html")).unwrap(), index);
    assert!(out.join("latest/index.html").exists());
}

#[test]
fn a_damaged_snapshot_is_named_and_left_out_without_stopping_the_archive() {
    let out = out_dir("archive-bad");
    fs::create_dir_all(out.join("2026-11-20")).unwrap();
    fs::write(out.join("2026-11-20/summary.json"), "{not json").unwrap();
    let o = reportgen_on(
        &fixture("events.ndjson"),
        &out,
        &["--now", NOW, "--days", "30"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2026-11-20"), "{}", stderr(&o));
    let index = fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("2026-11-26&#x2F;index.html"));
    assert!(!index.contains("2026-11-20&#x2F;index.html"));
    let o = reportgen(&["archive", "--out", out.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("2026-11-20"), "{}", stderr(&o));
}

#[test]
fn the_heatmap_can_use_another_time_zone() {
    let out = out_dir("tz");
    let o = reportgen_on(
        &fixture("events.ndjson"),
        &out,
        &["--now", NOW, "--days", "30", "--tz", "+02:00"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary_at(&out, "2026-11-26");
    assert_eq!(s["activity"]["timezone"], "+02:00");
    // Monday 2 Nov 09:xx UTC is 11:xx at +02:00.
    assert_eq!(s["activity"]["cells"][0][11], 3);
    assert_eq!(s["activity"]["cells"][0][9], 0);
    let html = fs::read_to_string(out.join("2026-11-26/index.html")).unwrap();
    assert!(html.contains("Messages by weekday and hour, +02:00."));
    // A named zone: Berlin is on winter time (+01:00) in November.
    let o = reportgen_on(
        &fixture("events.ndjson"),
        &out,
        &["--now", NOW, "--days", "30", "--tz", "Europe/Berlin"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary_at(&out, "2026-11-26");
    assert_eq!(s["activity"]["timezone"], "Europe/Berlin");
    assert_eq!(s["activity"]["cells"][0][10], 3);
    assert_eq!(s["activity"]["cells"][0][11], 0);
    let html = fs::read_to_string(out.join("2026-11-26/index.html")).unwrap();
    assert!(
        html.contains(":59 Europe&#x2F;Berlin ("),
        "the busiest hour is named in the zone"
    );
    let o = reportgen_on(&fixture("events.ndjson"), &out, &["--tz", "Mars/Olympus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("+02:00"), "{}", stderr(&o));
    assert!(stderr(&o).contains("Europe/Berlin"), "{}", stderr(&o));
}

#[test]
fn events_stamped_just_before_a_run_without_now_are_in_its_window() {
    // Events stamped by a clock a moment ago (with milliseconds, as the worker stamps them),
    // reported at once: none may fall after the window's end, in any round.
    for round in 0..5 {
        let stamp = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        let now = chrono::Utc::now();
        let lines = [
            now - chrono::TimeDelta::milliseconds(900),
            now - chrono::TimeDelta::milliseconds(1),
            now,
        ]
        .map(|t| {
            format!(
                r#"{{"timestamp":"{}","eventType":"message_sent"}}"#,
                stamp(t)
            )
        });
        let input = Path::new(env!("CARGO_TARGET_TMPDIR")).join("just-now.ndjson");
        fs::write(&input, lines.join("\n")).unwrap();
        let out = out_dir("just-now");
        let o = reportgen_on(&input, &out, &["--days", "1", "-q"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let s = only_summary(&out);
        assert_eq!(
            s["dataQuality"]["eventsInWindow"], 3,
            "round {round}: {s:#}"
        );
        // The window ends one millisecond after the moment of the run, which is the
        // generation time: one clock reading for both.
        let at = |v: &Value| analytics::parse_timestamp(v.as_str().unwrap()).unwrap();
        assert_eq!(
            at(&s["window"]["to"]) - at(&s["generatedAt"]),
            chrono::TimeDelta::milliseconds(1),
            "{s:#}"
        );
    }
}

#[test]
fn now_with_milliseconds_keeps_them_and_ends_the_window_exactly_there() {
    let input = Path::new(env!("CARGO_TARGET_TMPDIR")).join("now-ms.ndjson");
    fs::write(
        &input,
        concat!(
            r#"{"timestamp":"2026-11-26T05:59:59.249Z","eventType":"message_sent"}"#,
            "\n",
            r#"{"timestamp":"2026-11-26T05:59:59.250Z","eventType":"message_sent"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = out_dir("now-ms");
    let o = reportgen_on(
        &input,
        &out,
        &["--now", "2026-11-26T05:59:59.250Z", "--days", "1", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary_at(&out, "2026-11-26");
    assert_eq!(s["window"]["to"], "2026-11-26T05:59:59.250Z");
    assert_eq!(s["window"]["from"], "2026-11-25T05:59:59.250Z");
    assert_eq!(s["generatedAt"], "2026-11-26T05:59:59.250Z");
    assert_eq!(
        s["dataQuality"]["eventsInWindow"], 1,
        "the end is exclusive"
    );
}

#[test]
fn each_topic_row_shows_the_change_of_its_own_topic() {
    // Topics rank differently in the two periods (previous: b 5, c 2, a 1; now: a 4, b 2,
    // c 2), so a change taken from another row shows the wrong direction.
    let mut lines = Vec::new();
    let mut add = |day: &str, topic: &str, n: usize| {
        for i in 0..n {
            lines.push(format!(
                r#"{{"timestamp":"{day}T10:{i:02}:00Z","eventType":"message_sent","topic":"{topic}"}}"#
            ));
        }
    };
    // The previous period is 2026-09-27T06:00 to 2026-10-27T06:00; the input reaches its start.
    add("2026-09-27", "b", 5);
    add("2026-10-01", "c", 2);
    add("2026-10-02", "a", 1);
    add("2026-11-01", "a", 4);
    add("2026-11-02", "b", 2);
    add("2026-11-03", "c", 2);
    let input = Path::new(env!("CARGO_TARGET_TMPDIR")).join("topic-changes.ndjson");
    fs::write(&input, lines.join("\n")).unwrap();
    let out = out_dir("topic-changes");
    let (s, html) = report(&input, &out, &["-q"]);
    assert!(s["previousPeriod"].is_object(), "{s:#}");
    let row = |topic: &str| {
        let start = html
            .find(&format!("<tr><td>{topic}</td>"))
            .unwrap_or_else(|| panic!("no row for {topic}"));
        html[start..start + html[start..].find("</tr>").unwrap()].to_owned()
    };
    assert!(row("a").contains("\">▲ 300%"), "{}", row("a"));
    assert!(row("b").contains("\">▼ 60%"), "{}", row("b"));
    assert!(row("c").contains("\">= 0.0%"), "{}", row("c"));
}
