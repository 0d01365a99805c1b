//! Archive retention end to end: six daily-report runs with `--now` spread over five months.
//! The snapshots whose window ended more than `--keep-text-days` (90) before the last run lose
//! every piece of free text that came from a visitor or a request, in every file of their
//! folders, and keep every number; the recent ones keep theirs. The report's privacy section
//! states what the code does: the TTLs, the retention, what ingestion strips, and exactly the
//! fields retention removes.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::reportgen;

use analytics::{
    AGGREGATE_TTL_SECS, EVENT_TTL_SECS, PageContext, Summary, VISITOR_TEXT, escape_html,
    parse_ingest, parse_timestamp, remove_visitor_text,
};

/// The runs' `--now`, a month apart: the snapshots are named by these dates.
const RUNS: [&str; 6] = [
    "2026-07-01T00:00:00Z",
    "2026-08-01T00:00:00Z",
    "2026-09-01T00:00:00Z",
    "2026-10-01T00:00:00Z",
    "2026-11-01T00:00:00Z",
    "2026-12-01T00:00:00Z",
];

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "reportgen failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn summary(path: &Path) -> Summary {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// Every piece of visitor text `s` holds (and its previous period's), as written.
fn visitor_text(s: &Summary) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    texts.extend(s.knowledge_gaps.iter().map(|g| g.question.clone()));
    texts.extend(s.knowledge_gaps.iter().map(|g| g.normalized.clone()));
    for c in &s.gap_clusters {
        texts.push(c.label.clone());
        texts.extend(c.samples.iter().cloned());
    }
    texts.extend(
        s.errors
            .recent
            .iter()
            .filter_map(|e| e.error_message.clone()),
    );
    texts.extend(
        s.pages_and_sources
            .top_pages
            .iter()
            .filter_map(|p| p.page_title.clone()),
    );
    texts.extend(s.alerts.iter().filter_map(|a| a.subject.clone()));
    if let Some(previous) = &s.previous_period {
        texts.extend(visitor_text(previous));
    }
    texts.retain(|t| t.len() >= 8);
    texts.sort();
    texts.dedup();
    texts
}

/// Runs the six reports into `out` (each on a month of generated events up to its `--now`),
/// keeping visitors' text `keep` days; returns each run's summary as first written.
fn six_runs(out: &Path, inputs: &Path, keep: &str) -> Vec<(String, Summary)> {
    let mut written = Vec::new();
    for (n, now) in RUNS.iter().enumerate() {
        let input = inputs.join(format!("run{n}.ndjson"));
        if !input.exists() {
            let o = ok(reportgen(&[
                "generate",
                "--events",
                "4000",
                "--days",
                "60",
                "--end",
                now,
                "--seed",
                &n.to_string(),
            ]));
            fs::write(&input, o.stdout).unwrap();
        }
        let o = ok(reportgen(&[
            "--input",
            input.to_str().unwrap(),
            "--now",
            now,
            "--days",
            "30",
            "--out",
            out.to_str().unwrap(),
            "--keep-text-days",
            keep,
            "--quiet",
        ]));
        let snapshot = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        let folder = snapshot.parent().unwrap();
        let date = folder.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(date, &now[..10]);
        written.push((date, summary(&folder.join("summary.json"))));
    }
    written
}

/// Every file under `folder`, as text.
fn files(folder: &Path) -> Vec<(PathBuf, String)> {
    fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let text = String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned();
            (p, text)
        })
        .collect()
}

/// The SVG charts of an archive page: its numbers.
fn charts(html: &str) -> Vec<&str> {
    html.match_indices("<svg")
        .map(|(at, _)| &html[at..at + html[at..].find("</svg>").unwrap()])
        .collect()
}

#[test]
fn six_runs_over_five_months_leave_the_old_snapshots_numbers_without_visitors_words() {
    let inputs = dir("retention-inputs");
    let out = dir("retention-archive");
    let written = six_runs(&out, &inputs, "90");

    let last = parse_timestamp(RUNS[5]).unwrap();
    for (date, original) in &written {
        let folder = out.join(date);
        let now = summary(&folder.join("summary.json"));
        let texts = visitor_text(original);
        assert!(
            texts.len() >= 10,
            "{date}: the data has visitor text to remove"
        );
        let ended = parse_timestamp(&original.window.to).unwrap();
        if last - ended > chrono::TimeDelta::days(90) {
            // Numbers intact: the first summary with exactly the visitor text removed.
            let removed = now.text_removed.clone().expect("text removed");
            assert_eq!(removed.after_days, 90);
            let mut expected = original.clone();
            remove_visitor_text(&mut expected, &removed.at, 90);
            assert_eq!(now, expected, "{date}: every number as it was");
            assert!(!folder.join("gaps.csv").exists(), "{date}: gaps.csv goes");
            for (path, text) in files(&folder) {
                for t in &texts {
                    for form in [
                        t.clone(),
                        escape_html(t),
                        serde_json::to_string(t).unwrap(),
                        // The digest's form, its first 25 characters (it cuts at 80).
                        reportgen::digest::markdown(t, 25)
                            .trim_end_matches('…')
                            .to_owned(),
                    ] {
                        let form = form.trim_matches('"');
                        assert!(
                            !text.contains(form),
                            "{}: still holds {form:?}",
                            path.display()
                        );
                    }
                }
            }
            let html = fs::read_to_string(folder.join("index.html")).unwrap();
            assert!(
                html.contains("Visitors&#x27; text removed on")
                    || html.contains("Visitors' text removed on"),
                "{date}: the report says so"
            );
            // Gaps are matched by their text: without it, no change column made up for them.
            let start = html.find("<section id=\"gaps\"").unwrap();
            let gaps = &html[start..start + html[start..].find("</section>").unwrap()];
            assert!(
                !gaps.contains("class=\"delta")
                    && !gaps.contains("<span class=\"badge\">new</span>"),
                "{date}: {gaps}"
            );
        } else {
            assert_eq!(&now, original, "{date}: a recent snapshot keeps its text");
            assert!(folder.join("gaps.csv").exists());
            let html = fs::read_to_string(folder.join("index.html")).unwrap();
            let shown = texts
                .iter()
                .filter(|t| html.contains(&escape_html(t)))
                .count();
            assert!(shown > 0, "{date}: its report still shows visitors' text");
        }
    }
    let pruned: Vec<&str> = written
        .iter()
        .filter(|(date, _)| {
            summary(&out.join(date).join("summary.json"))
                .text_removed
                .is_some()
        })
        .map(|(date, _)| date.as_str())
        .collect();
    assert_eq!(pruned, ["2026-07-01", "2026-08-01", "2026-09-01"]);

    // Idempotent: the same retention again changes no byte of any snapshot.
    let before: Vec<_> = written
        .iter()
        .flat_map(|(d, _)| files(&out.join(d)))
        .collect();
    ok(reportgen(&[
        "archive",
        "--out",
        out.to_str().unwrap(),
        "--now",
        RUNS[5],
    ]));
    let after: Vec<_> = written
        .iter()
        .flat_map(|(d, _)| files(&out.join(d)))
        .collect();
    assert_eq!(before, after);

    // The archive page's numbers are those of an archive that removed nothing.
    let kept = dir("retention-archive-kept");
    six_runs(&kept, &inputs, "36500");
    let page = fs::read_to_string(out.join("index.html")).unwrap();
    let page_kept = fs::read_to_string(kept.join("index.html")).unwrap();
    assert!(!charts(&page).is_empty());
    assert_eq!(charts(&page), charts(&page_kept));
}

#[test]
fn a_run_never_cleans_its_own_snapshot_and_an_unreadable_old_one_is_cleared() {
    let out = dir("retention-own");
    // A snapshot folder from long ago whose summary cannot be read, holding text.
    let old = out.join("2020-01-01");
    fs::create_dir_all(&old).unwrap();
    fs::write(old.join("summary.json"), "{not json \"Where is Ann?\"").unwrap();
    fs::write(old.join("index.html"), "<p>Where is Ann?</p>").unwrap();
    fs::write(old.join("gaps.csv"), "question\nWhere is Ann?\n").unwrap();
    // The demo's window ended long before this --now; the run's own snapshot keeps its text.
    let o = ok(reportgen(&[
        "--demo",
        "--out",
        out.to_str().unwrap(),
        "--now",
        "2030-01-01T00:00:00Z",
        "--keep-text-days",
        "1",
    ]));
    let folder = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let folder = folder.parent().unwrap();
    let own = summary(&folder.join("summary.json"));
    assert!(own.text_removed.is_none());
    assert!(visitor_text(&own).len() >= 10);
    assert!(folder.join("gaps.csv").exists());
    // The unreadable one: every file gone but the note saying why.
    let left: Vec<String> = fs::read_dir(&old)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["REMOVED.txt"]);
    assert!(
        !fs::read_to_string(old.join("REMOVED.txt"))
            .unwrap()
            .contains("Ann")
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("removed visitors' text from the snapshot of 2020-01-01")
    );
    // A later run cleans the demo's snapshot: it is no longer the run's own.
    ok(reportgen(&[
        "archive",
        "--out",
        out.to_str().unwrap(),
        "--now",
        "2030-01-01T00:00:00Z",
        "--keep-text-days",
        "1",
    ]));
    assert!(summary(&folder.join("summary.json")).text_removed.is_some());
}

#[test]
fn the_privacy_section_states_what_the_code_does() {
    let out = dir("retention-privacy");
    let o = ok(reportgen(&[
        "--demo",
        "--out",
        out.to_str().unwrap(),
        "--keep-text-days",
        "45",
        "--quiet",
    ]));
    let html = fs::read_to_string(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    let start = html
        .find("<section id=\"privacy\"")
        .expect("a privacy section");
    let section = &html[start..start + html[start..].find("</section>").unwrap()];
    // Retention as the worker and the archive keep it.
    assert!(section.contains(&format!("each raw event {} days", EVENT_TTL_SECS / 86_400)));
    let days = AGGREGATE_TTL_SECS / 86_400;
    assert!(section.contains(&format!("daily counts {days} days")));
    assert!(section.contains(&format!(
        "knowledge-gap record until {days} days after its question was last asked"
    )));
    assert!(section.contains("keeps it 45 days after the window"));
    // The fields it names are exactly those retention removes.
    let mut labels: Vec<&str> = VISITOR_TEXT.iter().map(|(_, label)| *label).collect();
    labels.dedup();
    assert!(section.contains(&labels.join(", ")), "{section}");
    // What it says ingestion strips, ingestion strips.
    assert!(section.contains("strips query strings and fragments"));
    assert!(section.contains("[email] and [phone]"));
    let context = PageContext {
        page_url: Some("https://a.dev/p?email=ann@example.com#top"),
        page_title: None,
        referrer: None,
        session_id: Some("ann@example.com"),
        hash_key: Some("key"),
    };
    let body =
        br#"{"eventType":"bubble_opened","question":"call +1 415 555 0100 or ann@example.com"}"#;
    let event = parse_ingest(body, &context, parse_timestamp(RUNS[0]).unwrap()).unwrap();
    assert_eq!(event.page_url.as_deref(), Some("https://a.dev/p"));
    assert_eq!(event.question.as_deref(), Some("call [phone] or [email]"));
    assert!(event.session_id.unwrap().starts_with("h-"));
    assert!(section.contains("never stores an IP address"));
    let json = serde_json::to_string(&analytics::Event::new(
        parse_timestamp(RUNS[0]).unwrap(),
        analytics::EventType::BubbleOpened,
    ))
    .unwrap();
    assert!(
        !json.to_lowercase().contains("ip"),
        "the event schema has no IP field: {json}"
    );
}
