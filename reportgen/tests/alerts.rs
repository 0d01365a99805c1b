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

/// The demo month as NDJSON, from `reportgen generate` (its default is the demo's data).
fn demo_ndjson() -> String {
    let o = reportgen(&["generate"]);
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
    let kinds = alerts(&summary);
    // Its question that trends in the last 12 days may rightly surge; nothing else may fire.
    assert!(
        kinds.iter().all(|(kind, _)| kind == "surging_gap"),
        "{kinds:?}"
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
