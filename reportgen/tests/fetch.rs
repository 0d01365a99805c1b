//! `reportgen --url` against a local HTTP server that misbehaves on purpose: retries on 5xx,
//! 429 and broken bodies, clear errors for a wrong password, a non-export URL and a hang, and
//! never a partial report. (Against the real worker: worker/test/reportgen.test.mjs.)

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::only_summary;

const NOW: &str = "2026-11-26T06:00:00Z";

/// What the server does with one request.
#[derive(Clone)]
enum Reply {
    /// A complete response.
    Full(u16, Vec<(&'static str, String)>, String),
    /// Headers promising more body than is sent, then the connection closes.
    Truncated(String),
    /// Reads the request and never answers (until the client gives up).
    Hang,
    /// A 200 without Content-Length whose body stops half way, then the connection closes.
    CutShort(String),
}

fn json(status: u16, body: &str) -> Reply {
    Reply::Full(
        status,
        vec![("Content-Type", "application/json".into())],
        body.to_owned(),
    )
}

/// A server answering requests with `replies` in order (the last one repeats). Returns its
/// URL and the request lines it saw.
fn serve(replies: Vec<Reply>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, common::serve_replies(listener, replies, answer))
}

fn answer(stream: TcpStream, reply: Reply, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut auth = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("authorization:") {
            auth = line.trim().to_owned();
        }
        if let Some(n) = lower.strip_prefix("content-length:") {
            length = n.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    log.lock()
        .unwrap()
        .push(format!("{} {auth}", request_line.trim()));
    let mut stream = stream;
    match reply {
        Reply::Full(status, headers, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            let _ = stream.write_all(format!("{head}\r\n{body}").as_bytes());
        }
        Reply::Truncated(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len() * 2
            );
            let _ = stream.write_all(format!("{head}{body}").as_bytes());
        }
        Reply::Hang => thread::sleep(Duration::from_secs(30)),
        Reply::CutShort(body) => {
            let half = &body[..body.len() / 2];
            let _ = stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{half}")
                    .as_bytes(),
            );
        }
    }
}

fn envelope(events: &[&str], next: Option<&str>) -> String {
    envelope_over("2026-10-27T06:00:00Z", NOW, events, next)
}

/// A page of an export whose window is `from ≤ timestamp < to`.
fn envelope_over(from: &str, to: &str, events: &[&str], next: Option<&str>) -> String {
    let next = next.map_or("null".to_owned(), |c| format!("\"{c}\""));
    format!(
        r#"{{"schemaVersion":1,"generatedAt":"{to}","from":"{from}","to":"{to}","events":[{}],"daily":[],"gaps":[],"nextCursor":{next}}}"#,
        events.join(",")
    )
}

fn event(ts: &str, kind: &str) -> String {
    format!(r#"{{"timestamp":"{ts}","eventType":"{kind}","sessionId":"s-{ts}"}}"#)
}

fn out_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fetch-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(url: &str, out: &Path, extra: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reportgen"));
    cmd.args([
        "--url",
        url,
        "--out",
        out.to_str().unwrap(),
        "--now",
        NOW,
        "--days",
        "30",
    ])
    .args(extra)
    .env_remove("ANALYTICS_URL")
    .env_remove("ANALYTICS_PASSWORD");
    if let Some(p) = password {
        cmd.env("ANALYTICS_PASSWORD", p);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn messages(out: &Path) -> u64 {
    let text = std::fs::read_to_string(out.join("2026-11-26/summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["conversationVolume"]["messages"].as_u64().unwrap()
}

#[test]
fn every_page_is_followed_with_basic_auth() {
    let (url, seen) = serve(vec![
        json(
            200,
            &envelope(
                &[&event("2026-11-01T10:00:00Z", "message_sent")],
                Some("p2"),
            ),
        ),
        json(
            200,
            &envelope(
                &[&event("2026-11-02T10:00:00Z", "message_sent")],
                Some("p3"),
            ),
        ),
        json(
            200,
            &envelope(&[&event("2026-11-03T10:00:00Z", "message_sent")], None),
        ),
    ]);
    let out = out_dir("pages");
    let o = run(&url, &out, &["-q"], Some("s3cret"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(messages(&out), 3);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[0].starts_with("GET /analytics/export?format=json&days=30&limit=1000 "),
        "{}",
        seen[0]
    );
    assert!(seen[1].contains("&cursor=p2 "), "{}", seen[1]);
    assert!(seen[2].contains("&cursor=p3 "), "{}", seen[2]);
    // admin:s3cret
    assert!(
        seen.iter().all(|r| r.ends_with("Basic YWRtaW46czNjcmV0")),
        "{seen:?}"
    );
}

#[test]
fn server_errors_and_broken_bodies_are_retried() {
    let page = envelope(&[&event("2026-11-01T10:00:00Z", "message_sent")], None);
    let (url, seen) = serve(vec![
        json(500, r#"{"error":"boom","status":500}"#),
        Reply::Truncated(page.clone()),
        Reply::CutShort(page.clone()),
        json(
            503,
            r#"{"error":"the analytics store failed","status":503}"#,
        ),
        json(200, &page),
    ]);
    let out = out_dir("retry");
    let o = run(&url, &out, &[], Some("pw"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(seen.lock().unwrap().len(), 5);
    let retries = stderr(&o).matches("retrying in").count();
    assert_eq!(retries, 4, "each retry is said: {}", stderr(&o));
    assert_eq!(messages(&out), 1, "counted once despite the retries");
}

#[test]
fn too_many_requests_waits_for_retry_after() {
    let page = envelope(&[&event("2026-11-01T10:00:00Z", "message_sent")], None);
    let (url, _) = serve(vec![
        Reply::Full(429, vec![("Retry-After", "1".into())], "slow down".into()),
        json(200, &page),
    ]);
    let out = out_dir("429");
    let started = Instant::now();
    let o = run(&url, &out, &["-q"], Some("pw"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

#[test]
fn a_wrong_password_is_one_clear_line_and_no_report() {
    let (url, seen) = serve(vec![json(
        401,
        r#"{"error":"authentication required","status":401}"#,
    )]);
    let out = out_dir("401");
    let o = run(&url, &out, &[], Some("wrong"));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("401") && err.contains("ANALYTICS_PASSWORD"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1, "not retried");
    assert!(!out.exists());
}

#[test]
fn the_password_comes_only_from_the_environment() {
    let out = out_dir("nopw");
    let o = run("http://127.0.0.1:9", &out, &[], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ANALYTICS_PASSWORD"), "{}", stderr(&o));
    let o = run(
        "http://127.0.0.1:9",
        &out,
        &["--password-env", "MY_PW"],
        None,
    );
    assert!(stderr(&o).contains("MY_PW"), "{}", stderr(&o));
    // There is no option that takes the password itself.
    let o = run("http://127.0.0.1:9", &out, &["--password", "x"], Some("pw"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--password"), "{}", stderr(&o));
}

#[test]
fn a_url_that_is_not_a_worker_export_says_so() {
    for (reply, needle) in [
        (
            Reply::Full(
                200,
                vec![("Content-Type", "text/html".into())],
                "<html>Login</html>".into(),
            ),
            "not JSON",
        ),
        (
            json(200, r#"{"schemaVersion":2,"events":[]}"#),
            "schemaVersion 2",
        ),
        (
            json(
                200,
                &format!("[{}]", event("2026-11-01T10:00:00Z", "cta_clicked")),
            ),
            "export envelope",
        ),
        (
            json(
                404,
                r#"{"error":"no such route: /analytics/export","status":404}"#,
            ),
            "404",
        ),
    ] {
        let (url, _) = serve(vec![reply]);
        let out = out_dir("notexport");
        let o = run(&url, &out, &[], Some("pw"));
        assert_eq!(o.status.code(), Some(2), "{needle}");
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

#[test]
fn credentials_in_the_url_and_plain_http_to_another_host_are_refused() {
    let out = out_dir("creds");
    let o = run(
        "https://admin:hunter2@analytics.example",
        &out,
        &[],
        Some("pw"),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("remove the credentials") && !err.contains("hunter2"),
        "{err}"
    );
    let o = run("http://analytics.example", &out, &[], Some("pw"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("use https"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn a_hanging_worker_is_given_up_on_within_the_timeout() {
    let (url, _) = serve(vec![Reply::Hang]);
    let out = out_dir("hang");
    let o = run(&url, &out, &["--timeout", "2"], Some("pw"));
    assert_eq!(o.status.code(), Some(2));
    // Given up by the run's deadline, not by the 30 s a single request may take (the server
    // hangs for 30 s): the message names the time the request was given.
    let err = stderr(&o);
    assert!(
        err.contains("giving up") && err.contains("(--timeout 2 s)"),
        "{err}"
    );
    let within: f64 = err
        .split("no answer from ")
        .nth(1)
        .and_then(|rest| rest.split(" within ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no \"no answer … within N s\" in {err}"));
    assert!(within <= 2.0, "the request was given {within} s: {err}");
    assert!(!out.exists());
}

#[test]
fn a_failure_on_a_later_page_leaves_the_previous_snapshot_untouched() {
    let out = out_dir("keep");
    let first = envelope(&[&event("2026-11-01T10:00:00Z", "message_sent")], None);
    let (url, _) = serve(vec![json(200, &first)]);
    assert!(run(&url, &out, &["-q"], Some("pw")).status.success());
    let before = std::fs::read(out.join("2026-11-26/index.html")).unwrap();
    let index_before = std::fs::read(out.join("index.html")).unwrap();
    let (url, _) = serve(vec![
        json(
            200,
            &envelope(
                &[&event("2026-11-01T10:00:00Z", "message_sent")],
                Some("p2"),
            ),
        ),
        json(401, r#"{"error":"authentication required","status":401}"#),
    ]);
    let o = run(&url, &out, &["-q"], Some("pw"));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read(out.join("2026-11-26/index.html")).unwrap(),
        before
    );
    assert_eq!(std::fs::read(out.join("index.html")).unwrap(), index_before);
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn an_interrupted_run_leaves_the_archive_as_it_was_and_no_temporary_file() {
    for signal in ["INT", "TERM"] {
        let out = out_dir(&format!("signal-{signal}"));
        let page = envelope(&[&event("2026-11-01T10:00:00Z", "message_sent")], None);
        let (url, _) = serve(vec![json(200, &page)]);
        assert!(run(&url, &out, &["-q"], Some("pw")).status.success());
        let saved = out.join("export.ndjson");
        std::fs::write(&saved, "previous export\n").unwrap();
        let before = tree(&out);

        // The first page arrives (the export copy has started), the second never does.
        let first = envelope(
            &[&event("2026-11-02T10:00:00Z", "message_sent")],
            Some("p2"),
        );
        let (url, seen) = serve(vec![json(200, &first), Reply::Hang]);
        let child = Command::new(env!("CARGO_BIN_EXE_reportgen"))
            .args(["--url", &url, "--out", out.to_str().unwrap(), "--now", NOW])
            .args([
                "--save-export",
                saved.to_str().unwrap(),
                "--timeout",
                "60",
                "-q",
            ])
            .env("ANALYTICS_PASSWORD", "pw")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let waiting = Instant::now();
        while seen.lock().unwrap().len() < 2 {
            assert!(
                waiting.elapsed() < Duration::from_secs(20),
                "no second request"
            );
            thread::sleep(Duration::from_millis(20));
        }
        // The export copy is under way: its temporary file is there to be cleaned up.
        let tmp = out.join(format!(".export.ndjson.tmp-{}", child.id()));
        assert!(tmp.exists(), "no temporary export file {}", tmp.display());
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "SIG{signal}: {}", stderr(&o));
        assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
        assert!(
            tree(&out) == before,
            "SIG{signal}: the archive changed or a temporary file stayed: {:?}",
            tree(&out).keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn publish_uploads_the_report_and_a_failed_publish_keeps_the_snapshot() {
    let page = envelope(&[&event("2026-11-01T10:00:00Z", "message_sent")], None);
    let (url, seen) = serve(vec![json(200, &page), json(201, r#"{"published":true}"#)]);
    let out = out_dir("publish");
    let o = run(&url, &out, &["--publish", "-q"], Some("pw"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(seen.lock().unwrap()[1].starts_with("PUT /analytics/report "));

    let (url, _) = serve(vec![
        json(200, &page),
        json(413, r#"{"error":"the report is too large","status":413}"#),
    ]);
    let out = out_dir("publish-fail");
    let o = run(&url, &out, &["--publish", "-q"], Some("pw"));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("publishing") && err.contains("too large") && err.contains("kept at"),
        "{err}"
    );
    assert!(
        out.join("2026-11-26/index.html").exists(),
        "the snapshot stays"
    );
}

#[test]
fn the_raw_export_can_be_kept_as_gzip_ndjson() {
    let page = envelope(
        &[
            &event("2026-11-01T10:00:00Z", "message_sent"),
            &event("2026-11-02T10:00:00Z", "bubble_opened"),
        ],
        None,
    );
    let (url, _) = serve(vec![json(200, &page)]);
    let out = out_dir("save");
    std::fs::create_dir_all(&out).unwrap();
    let saved = out.join("export.ndjson.gz");
    let o = run(
        &url,
        &out,
        &["-q", "--save-export", saved.to_str().unwrap()],
        Some("pw"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&saved).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.lines().count(), 2);
    // The saved export reports the same numbers as the fetch did.
    let again = out_dir("save-again");
    let o = Command::new(env!("CARGO_BIN_EXE_reportgen"))
        .args([
            "--input",
            "-",
            "--out",
            again.to_str().unwrap(),
            "--now",
            NOW,
            "--days",
            "30",
            "-q",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success());
    let a = std::fs::read_to_string(out.join("2026-11-26/summary.json")).unwrap();
    let b = std::fs::read_to_string(again.join("2026-11-26/summary.json")).unwrap();
    assert_eq!(a, b);
}

/// Counts events, and on the first one of page 1 waits until the server has been asked for
/// page 2: that only happens if fetching runs ahead of parsing.
struct WaitForPrefetch {
    seen: Arc<Mutex<Vec<String>>>,
    events: u64,
    overlapped: bool,
}

impl analytics::Sink for WaitForPrefetch {
    fn event(&mut self, _event: analytics::Event) {
        if self.events == 0 {
            let until = Instant::now() + Duration::from_secs(20);
            while Instant::now() < until {
                if self.seen.lock().unwrap().len() >= 2 {
                    self.overlapped = true;
                    break;
                }
                thread::sleep(Duration::from_millis(5));
            }
        }
        self.events += 1;
    }
    fn skipped(&mut self, _: analytics::Skipped) -> Result<(), analytics::ReadError> {
        Ok(())
    }
}

#[test]
fn the_next_page_is_fetched_while_this_one_is_parsed() {
    let (url, seen) = serve(vec![
        json(
            200,
            &envelope(
                &[
                    &event("2026-11-01T10:00:00Z", "message_sent"),
                    &event("2026-11-01T11:00:00Z", "message_sent"),
                ],
                Some("p2"),
            ),
        ),
        json(
            200,
            &envelope(&[&event("2026-11-02T10:00:00Z", "message_sent")], None),
        ),
    ]);
    let remote =
        reportgen::fetch::Remote::new(&url, "pw".into(), Duration::from_secs(60), true).unwrap();
    let mut sink = WaitForPrefetch {
        seen: Arc::clone(&seen),
        events: 0,
        overlapped: false,
    };
    let fetched = reportgen::fetch::fetch_export(&remote, 30, true, &mut sink, |_, _| {}).unwrap();
    assert!(
        sink.overlapped,
        "page 2 was not requested while page 1 was being parsed"
    );
    assert_eq!((fetched.pages, fetched.records, sink.events), (2, 3, 3));
    assert_eq!(seen.lock().unwrap().len(), 2, "each page is fetched once");
}

#[test]
fn a_page_that_fails_to_parse_is_reported_before_a_later_fetch_failure() {
    // Page 1 names a next page but its events are not an array; page 2 is a 401. Fetching runs
    // ahead, yet the error is page 1's, as a run that fetched one page at a time would say.
    let (url, _seen) = serve(vec![
        json(
            200,
            r#"{"schemaVersion":1,"events":{"not":"an array"},"nextCursor":"p2"}"#,
        ),
        json(401, r#"{"error":"unauthorized"}"#),
    ]);
    let out = out_dir("order");
    let o = run(&url, &out, &["-q"], Some("pw"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("page 1"), "{err}");
    assert!(err.contains("`events` is not an array"), "{err}");
    assert!(!out.join("2026-11-26").exists());
}

#[test]
fn the_report_has_the_window_the_worker_applied_whatever_the_local_clock_says() {
    // The worker's window ends a millisecond after its clock read 10:15:30.499; its newest
    // event was stamped in that very millisecond. The runner's clock (--now) is far ahead of
    // the worker's, then far behind it, then none is given: every time the report counts
    // every event the worker sent, over the worker's window.
    let (from, to) = ("2026-10-01T10:15:30.500Z", "2026-10-31T10:15:30.500Z");
    let page = envelope_over(
        from,
        to,
        &[
            &event("2026-10-01T10:15:30.500Z", "message_sent"),
            &event("2026-10-20T08:00:00Z", "message_sent"),
            &event("2026-10-31T10:15:30.499Z", "message_sent"),
        ],
        None,
    );
    for now in [
        Some("2026-12-31T00:00:00Z"),
        Some("2026-09-01T00:00:00Z"),
        None,
    ] {
        let (url, _) = serve(vec![json(200, &page)]);
        let out = out_dir(&format!("worker-window-{}", now.unwrap_or("clock")));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reportgen"));
        cmd.args(["--url", &url, "--out", out.to_str().unwrap(), "-q"])
            .env("ANALYTICS_PASSWORD", "pw");
        if let Some(now) = now {
            cmd.args(["--now", now]);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{now:?}: {}", stderr(&o));
        let summary = only_summary(&out);
        assert_eq!(summary["window"]["from"], from, "{now:?}");
        assert_eq!(summary["window"]["to"], to, "{now:?}");
        assert_eq!(summary["window"]["days"], 30, "{now:?}");
        assert_eq!(summary["window"]["fromData"], false, "{now:?}");
        assert_eq!(summary["conversationVolume"]["messages"], 3, "{now:?}");
        assert_eq!(summary["dataQuality"]["eventsInWindow"], 3, "{now:?}");
        // The snapshot is named after the window's end, not the runner's date.
        assert!(out.join("2026-10-31/index.html").exists(), "{now:?}");
        let html = std::fs::read_to_string(out.join("2026-10-31/index.html")).unwrap();
        assert!(
            html.contains(&format!(
                "{from}</time> ≤ timestamp &lt; <time datetime=\"{to}\">{to}"
            )),
            "the footer shows the window as applied"
        );
    }
}

#[test]
fn pages_that_name_different_windows_stop_the_run() {
    let (url, _) = serve(vec![
        json(
            200,
            &envelope(
                &[&event("2026-11-01T10:00:00Z", "message_sent")],
                Some("p2"),
            ),
        ),
        json(
            200,
            &envelope_over(
                "2026-10-27T06:00:01Z",
                "2026-11-26T06:00:01Z",
                &[&event("2026-11-02T10:00:00Z", "message_sent")],
                None,
            ),
        ),
    ]);
    let out = out_dir("two-windows");
    let o = run(&url, &out, &["-q"], Some("pw"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("page 2 covers another window"), "{err}");
    assert!(!out.exists());
}

#[test]
fn an_export_without_a_window_is_refused() {
    for body in [
        r#"{"schemaVersion":1,"events":[],"nextCursor":null}"#,
        r#"{"schemaVersion":1,"from":"2026-11-26T06:00:00Z","to":"2026-10-27T06:00:00Z","events":[],"nextCursor":null}"#,
        r#"{"schemaVersion":1,"from":"yesterday","to":"2026-10-27T06:00:00Z","events":[],"nextCursor":null}"#,
    ] {
        let (url, _) = serve(vec![json(200, body)]);
        let out = out_dir("no-window");
        let o = run(&url, &out, &["-q"], Some("pw"));
        assert_eq!(o.status.code(), Some(2), "{body}: {}", stderr(&o));
        assert!(stderr(&o).contains("names no window"), "{}", stderr(&o));
        assert!(!out.exists());
    }
}

#[test]
fn more_days_than_a_worker_exports_are_refused_before_any_request() {
    let (url, seen) = serve(vec![json(200, &envelope(&[], None))]);
    let out = out_dir("days-91");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reportgen"));
    cmd.args([
        "--url",
        &url,
        "--out",
        out.to_str().unwrap(),
        "--days",
        "91",
    ])
    .env("ANALYTICS_PASSWORD", "pw");
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 90 days"), "{}", stderr(&o));
    assert!(seen.lock().unwrap().is_empty(), "no request was made");
    assert!(!out.exists());
    // 90 is asked as it is.
    let o = Command::new(env!("CARGO_BIN_EXE_reportgen"))
        .args([
            "--url",
            &url,
            "--out",
            out.to_str().unwrap(),
            "--days",
            "90",
            "-q",
        ])
        .env("ANALYTICS_PASSWORD", "pw")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        seen.lock().unwrap()[0].contains("days=90&"),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[test]
fn a_redirect_is_reported_not_followed_for_the_export_and_for_publishing() {
    let page = envelope(&[&event("2026-11-01T10:00:00Z", "message_sent")], None);
    // Where a redirect would lead: it must see no request at all.
    let (elsewhere, elsewhere_seen) = serve(vec![json(200, &page), json(201, "{}")]);
    let redirect = |status: u16| {
        Reply::Full(
            status,
            vec![("Location", format!("{elsewhere}/analytics/export"))],
            String::new(),
        )
    };
    for status in [301, 302, 307, 308] {
        let (url, _) = serve(vec![redirect(status)]);
        let out = out_dir(&format!("redirect-export-{status}"));
        let o = run(&url, &out, &["-q"], Some("pw"));
        assert_eq!(o.status.code(), Some(2), "{status}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&status.to_string())
                && err.contains(&elsewhere)
                && err.contains("redirect"),
            "{status}: {err}"
        );
        assert!(
            !out.join("2026-11-26").exists(),
            "{status}: no report from a redirect"
        );
    }
    // The export is read, then publishing is redirected: the report goes nowhere else and the
    // run says so, keeping its snapshot.
    let (url, seen) = serve(vec![json(200, &page), redirect(307)]);
    let out = out_dir("redirect-publish");
    let o = run(&url, &out, &["--publish", "-q"], Some("pw"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("publishing") && err.contains(&elsewhere),
        "{err}"
    );
    assert!(!err.contains("published to"), "{err}");
    assert!(seen.lock().unwrap()[1].starts_with("PUT /analytics/report "));
    assert!(
        out.join("2026-11-26/index.html").exists(),
        "the snapshot stays"
    );
    assert!(
        elsewhere_seen.lock().unwrap().is_empty(),
        "the other host got {:?}",
        elsewhere_seen.lock().unwrap()
    );
}
