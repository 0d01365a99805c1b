//! Alerts end to end: the demo month raises no error, latency, volume or silence alert; the
//! same month with 400 failed messages added on one day raises exactly one error-rate alert,
//! naming that day, in `summary.json`, the report (its Alerts section and the marked chart) and
//! `digest.md`, and `--fail-on-alert` then exits 3 with everything written.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::reportgen;
use serde_json::Value;

/// The demo's end: the exclusive end of its 30 days.
const DEMO_END: &str = "2026-11-26T00:00:00Z";
/// The day the failures are added on.
const FAILING_DAY: &str = "2026-11-18";

/// The demo's data as NDJSON (`reportgen --demo` reads the same: 80,000 events over the 60
/// days before its end, seed 42), so its 30-day window has a previous period.
fn demo_ndjson() -> String {
    let o = reportgen(&["generate", "--events", "80000", "--days", "60"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// A fresh folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A report of `input` over the demo's 30 days into `out`, with `extra` options.
fn run(input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--input",
        input.to_str().unwrap(),
        "--days",
        "30",
        "--now",
        DEMO_END,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    reportgen(&args)
}

fn alerts(summary: &Value) -> Vec<(String, Option<String>)> {
    summary["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_owned(),
                a["day"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn the_demo_month_raises_no_error_latency_volume_or_silence_alert() {
    let dir = folder("alerts-demo");
    let input = dir.join("demo.ndjson");
    fs::write(&input, demo_ndjson()).unwrap();
    let out = dir.join("out");
    let o = run(&input, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = common::only_summary(&out);
    assert!(
        summary["previousPeriod"].is_object(),
        "every alert has its baseline"
    );
    // Its question that trends in the last 12 days (in two clusters: no stemming), and one
    // more, rightly surge; nothing else fires.
    let subjects: Vec<(&str, &str)> = summary["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["subject"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        subjects,
        [
            ("surging_gap", "Have you built an MCP server?"),
            ("surging_gap", "Can you build MCP servers?"),
            ("surging_gap", "Do you work weekends?"),
        ]
    );
    // The embedded demo is the same data.
    let demo = dir.join("demo-out");
    let o = reportgen(&["--demo", "--out", demo.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success());
    assert_eq!(common::only_summary(&demo)["alerts"], summary["alerts"]);
}

/// `days` days of 50 messages a day taking `ms` each, the last day ending at `end` (a
/// midnight, RFC 3339).
fn timed_days(end: &str, days: i64, ms: u32) -> String {
    let end = chrono::DateTime::parse_from_rfc3339(end).unwrap();
    let mut lines = String::new();
    for d in 1..=days {
        for n in 0..50 {
            let at = end - chrono::TimeDelta::days(d) + chrono::TimeDelta::minutes(n * 25);
            lines.push_str(&format!(
                "{{\"timestamp\":\"{}\",\"eventType\":\"message_sent\",\"sessionId\":\"s{d}-{n}\",\
                 \"success\":true,\"totalTimeMs\":{ms}}}\n",
                at.format("%Y-%m-%dT%H:%M:%S%.3fZ")
            ));
        }
    }
    lines
}

#[test]
fn a_scheduled_run_compares_with_the_archived_report_of_the_period_before() {
    // As the daily workflow runs: each run's input holds its own 7 days only (the worker's
    // raw events expire), so the report of the week before is the baseline.
    let dir = folder("alerts-archive-baseline");
    let out = dir.join("out");
    let week_before = dir.join("before.ndjson");
    fs::write(&week_before, timed_days("2026-11-19T00:00:00Z", 7, 1000)).unwrap();
    let this_week = dir.join("now.ndjson");
    fs::write(&this_week, timed_days("2026-11-26T00:00:00Z", 7, 3000)).unwrap();
    let run = |input: &Path, now: &str| {
        let o = reportgen(&[
            "--input",
            input.to_str().unwrap(),
            "--days",
            "7",
            "--now",
            now,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&week_before, "2026-11-19T00:00:00Z");
    // A report of an overlapping window is not the period before.
    run(&week_before, "2026-11-22T00:00:00Z");
    run(&this_week, "2026-11-26T00:00:00Z");
    let text = fs::read_to_string(out.join("2026-11-26").join("summary.json")).unwrap();
    let summary: Value = serde_json::from_str(&text).unwrap();
    assert!(summary["previousPeriod"].is_null());
    assert_eq!(alerts(&summary), [("latency_regression".to_owned(), None)]);
    let message = summary["alerts"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("against 1000 ms in the report of 2026-11-19"),
        "{message}"
    );
    // The headline changes compare with the same report, not with the newer overlapping one.
    let html = fs::read_to_string(out.join("2026-11-26").join("index.html")).unwrap();
    assert!(
        html.contains("changes are against the report of 2026-11-19"),
        "the report's baseline"
    );
    let digest = fs::read_to_string(out.join("2026-11-26").join("digest.md")).unwrap();
    assert!(
        digest.contains("| Change on the report of 2026-11-19 |"),
        "{digest}"
    );
}

#[test]
fn four_hundred_failures_on_one_day_are_one_error_spike_everywhere_and_exit_3() {
    let dir = folder("alerts-spike");
    let mut ndjson = demo_ndjson();
    for n in 0..400 {
        let (hour, minute) = (n / 20, n % 20 * 3);
        ndjson.push_str(&format!(
            "{{\"timestamp\":\"{FAILING_DAY}T{hour:02}:{minute:02}:00.000Z\",\
             \"eventType\":\"message_sent\",\"sessionId\":\"failing-{n}\",\"success\":false,\
             \"errorType\":\"ai_timeout\",\"errorMessage\":\"The model did not answer\"}}\n"
        ));
    }
    let input = dir.join("failing.ndjson");
    fs::write(&input, ndjson).unwrap();
    let out = dir.join("out");

    let o = run(&input, &out, &["--fail-on-alert"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("(--fail-on-alert)"), "{stderr}");
    // Everything was written before the exit: the snapshot, its digest, latest/.
    let index = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    assert!(index.is_file(), "{}", index.display());
    for file in ["index.html", "summary.json", "digest.md"] {
        assert!(out.join("latest").join(file).is_file(), "latest/{file}");
    }

    let summary = common::only_summary(&out);
    let spikes: Vec<_> = alerts(&summary)
        .into_iter()
        .filter(|(kind, _)| kind != "surging_gap")
        .collect();
    assert_eq!(
        spikes,
        [("error_rate_spike".to_owned(), Some(FAILING_DAY.to_owned()))]
    );
    let spike = summary["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "error_rate_spike")
        .unwrap();
    assert_eq!(spike["severity"], "critical");
    assert_eq!(spike["metric"], "messagesOverTime.errors");
    // The evidence: the day's own rate, against the other days' median.
    let row = summary["messagesOverTime"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == FAILING_DAY)
        .unwrap();
    let (errors, messages) = (
        row["errors"].as_u64().unwrap(),
        row["messages"].as_u64().unwrap(),
    );
    assert!(errors >= 400, "{row}");
    assert_eq!(
        spike["value"].as_f64().unwrap(),
        errors as f64 / messages as f64
    );
    assert!(spike["baseline"].as_f64().unwrap() < 0.05, "{spike}");

    let html = fs::read_to_string(&index).unwrap();
    let start = html
        .find("<section id=\"alerts\"")
        .expect("an Alerts section");
    assert!(
        start < html.find("<section id=\"volume\"").unwrap(),
        "the Alerts section comes first"
    );
    let section = &html[start..start + html[start..].find("</section>").unwrap()];
    assert_eq!(section.matches("Error-rate spike").count(), 1, "{section}");
    assert!(section.contains(&format!("<time datetime=\"{FAILING_DAY}\">")));
    assert!(
        html.contains(&format!(
            "Alert days marked: {FAILING_DAY} (error-rate spike)."
        )),
        "the messages chart marks the day, in words too"
    );

    let digest = fs::read_to_string(index.with_file_name("digest.md")).unwrap();
    assert_eq!(digest.matches("Error-rate spike").count(), 1, "{digest}");
    assert!(
        digest.contains(&format!(
            "- **critical · Error-rate spike** · {FAILING_DAY}: On {FAILING_DAY}, "
        )),
        "{digest}"
    );
    assert!(
        digest.lines().count() < 40,
        "short enough for a notification:\n{digest}"
    );

    // Without the flag the same run succeeds.
    let again = run(&input, &dir.join("out2"), &["--quiet"]);
    assert_eq!(again.status.code(), Some(0));
}
