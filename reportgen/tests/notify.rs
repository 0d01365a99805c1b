//! `reportgen notify` against a local HTTP server: the digest arrives as `{"text": <file>}`
//! byte for byte, 5xx is retried, a webhook that keeps failing is given up on within
//! `--timeout`, and no message ever shows the URL's path (the webhook's token).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The webhook's token, in the URL's path as Slack puts it.
const TOKEN: &str = "tokenXq7Z9secretPATH";

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Header names in lower case.
    headers: BTreeMap<String, String>,
    body: String,
}

/// One answer: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, String)>, String);

fn reply(status: u16, body: &str) -> Reply {
    (status, Vec::new(), body.to_owned())
}

/// A server answering requests with `replies` in order (the last one repeats). Returns the
/// webhook URL, token in its path, and the requests it read.
fn serve(replies: Vec<Reply>) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T0001/B0002/{TOKEN}",
        listener.local_addr().unwrap()
    );
    (url, common::serve_replies(listener, replies, answer))
}

fn answer(stream: TcpStream, (status, headers, body): Reply, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut seen_headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            seen_headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = seen_headers
        .get("content-length")
        .map_or(0, |n| n.parse().unwrap());
    let mut request_body = vec![0; length];
    reader.read_exact(&mut request_body).unwrap();
    log.lock().unwrap().push(Request {
        method,
        path,
        headers: seen_headers,
        body: String::from_utf8(request_body).unwrap(),
    });
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut stream = stream;
    let _ = stream.write_all(format!("{head}\r\n{body}").as_bytes());
}

/// A fresh folder for one test.
fn dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("notify-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `reportgen notify --digest DIGEST EXTRA…` with REPORT_WEBHOOK_URL set to `url`, or unset.
fn notify(url: Option<&str>, digest: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reportgen"));
    cmd.args(["notify", "--digest", digest.to_str().unwrap()])
        .args(extra)
        .env_remove("REPORT_WEBHOOK_URL");
    if let Some(url) = url {
        cmd.env("REPORT_WEBHOOK_URL", url);
    }
    cmd.output().unwrap()
}

/// Stdout and stderr together: what a log would show.
fn printed(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const TRICKY: &str = "# Chatbot analytics — 2026-12-01\n\n\
    **1,234 messages** (+12 %), \"quoted\" and 'single', a back\\slash \\n not a newline\n\
    - <script>alert(1)</script> & <b>bold</b>\n\
    - unicode: café, 日本語, emoji 🚀, RTL \u{202E}txet\u{202C}, tab\there\r\n\
    ```\ncode block with `backticks` and {\"json\": [1, 2]}\n```\n\n\
    [Full report](index.html)\n";

#[test]
fn the_digest_is_posted_as_slack_json_text_exactly() {
    let (url, seen) = serve(vec![reply(200, "ok")]);
    let dir = dir("tricky");
    let digest = dir.join("digest.md");
    std::fs::write(&digest, TRICKY).unwrap();
    let o = notify(Some(&url), &digest, &[]);
    assert!(o.status.success(), "{}", printed(&o));
    assert!(o.stdout.is_empty(), "{}", printed(&o));
    assert!(stderr(&o).contains("posted the digest"), "{}", stderr(&o));
    assert!(!printed(&o).contains(TOKEN), "{}", printed(&o));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/services/T0001/B0002/{TOKEN}"));
    assert_eq!(
        request.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body, serde_json::json!({ "text": TRICKY }));
}

#[test]
fn a_server_error_is_retried_and_the_digest_delivered() {
    let (url, seen) = serve(vec![reply(503, "busy"), reply(200, "ok")]);
    let dir = dir("retry");
    let digest = dir.join("digest.md");
    std::fs::write(&digest, "Headline: 3 new gaps\n").unwrap();
    let o = notify(Some(&url), &digest, &[]);
    assert!(o.status.success(), "{}", printed(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the webhook failed (503): busy; retrying in"),
        "{err}"
    );
    assert!(!printed(&o).contains(TOKEN), "{}", printed(&o));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
}

#[test]
fn a_webhook_that_keeps_failing_is_given_up_on_and_its_token_never_shown() {
    // The server quotes the URL it was sent to, token and all, as some do.
    let (url, seen) = serve(vec![reply(
        500,
        &format!("internal error at /services/T0001/B0002/{TOKEN}"),
    )]);
    let dir = dir("fails");
    let digest = dir.join("digest.md");
    std::fs::write(&digest, "Headline\n").unwrap();
    let started = Instant::now();
    // Long enough for a second attempt on a slow machine (backoff 0.25 s, then 0.5, 1, 2, 4).
    let o = notify(Some(&url), &digest, &["--timeout", "10"]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", printed(&o));
    let err = stderr(&o);
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("reportgen: error: "), "{err}");
    assert!(last.contains(digest.to_str().unwrap()), "{err}");
    assert!(last.contains("http://127.0.0.1:"), "{err}");
    assert!(last.contains("giving up after"), "{err}");
    assert!(last.contains("(--timeout 10 s)"), "{err}");
    assert!(last.contains("the webhook failed (500)"), "{err}");
    assert!(!printed(&o).contains(TOKEN), "{}", printed(&o));
    assert!(!printed(&o).contains("/services/"), "{}", printed(&o));
    assert!(seen.lock().unwrap().len() >= 2);
}

#[test]
fn an_unset_or_empty_webhook_variable_is_an_error() {
    let dir = dir("unset");
    let digest = dir.join("digest.md");
    std::fs::write(&digest, "Headline\n").unwrap();
    for url in [None, Some(""), Some("  ")] {
        let o = notify(url, &digest, &[]);
        assert_eq!(o.status.code(), Some(2), "{}", printed(&o));
        assert!(
            stderr(&o).starts_with(
                "reportgen: error: the environment variable REPORT_WEBHOOK_URL is not set or is empty"
            ),
            "{}",
            stderr(&o)
        );
    }
    let o = notify(None, &digest, &["--url-env", "OUR_CHAT_HOOK"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("OUR_CHAT_HOOK"), "{}", stderr(&o));
}

#[test]
fn a_missing_digest_is_an_error_naming_it_and_nothing_is_sent() {
    let (url, seen) = serve(vec![reply(200, "ok")]);
    let dir = dir("missing");
    let digest = dir.join("2026-12-01").join("digest.md");
    let o = notify(Some(&url), &digest, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", printed(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("reportgen: error: reading the digest "),
        "{err}"
    );
    assert!(err.contains(digest.to_str().unwrap()), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn an_empty_or_oversized_digest_is_refused_whole() {
    let (url, seen) = serve(vec![reply(200, "ok")]);
    let dir = dir("size");
    let empty = dir.join("empty.md");
    std::fs::write(&empty, "\n  \n").unwrap();
    let o = notify(Some(&url), &empty, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is empty"), "{}", stderr(&o));
    let big = dir.join("big.md");
    std::fs::write(&big, "é".repeat(30_001)).unwrap();
    let o = notify(Some(&url), &big, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("holds 30001 characters, more than the 30000"),
        "{}",
        stderr(&o)
    );
    assert!(seen.lock().unwrap().is_empty());
    let just = dir.join("just.md");
    std::fs::write(&just, "é".repeat(30_000)).unwrap();
    let o = notify(Some(&url), &just, &["-q"]);
    assert!(o.status.success(), "{}", printed(&o));
    assert!(o.stderr.is_empty(), "{}", printed(&o));
}

#[test]
fn a_refusal_or_redirect_is_final_and_shows_no_token() {
    let (url, seen) = serve(vec![
        reply(404, "no_service"),
        (
            302,
            vec![(
                "Location",
                format!("https://elsewhere.example/hooks/{TOKEN}"),
            )],
            String::new(),
        ),
    ]);
    let dir = dir("refused");
    let digest = dir.join("digest.md");
    std::fs::write(&digest, "Headline\n").unwrap();
    let o = notify(Some(&url), &digest, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(
            "the webhook refused the message (404): no_service: check the URL in REPORT_WEBHOOK_URL"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let o = notify(Some(&url), &digest, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("answered 302, redirecting to https://elsewhere.example/"),
        "{err}"
    );
    assert!(!printed(&o).contains(TOKEN), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn plain_http_beyond_this_machine_is_refused_without_showing_the_url() {
    let dir = dir("http");
    let digest = dir.join("digest.md");
    std::fs::write(&digest, "Headline\n").unwrap();
    let url = format!("http://hooks.example.com/services/T0001/B0002/{TOKEN}");
    let o = notify(Some(&url), &digest, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("http://hooks.example.com/: use https"),
        "{err}"
    );
    assert!(!err.contains(TOKEN), "{err}");
    let o = notify(Some(&format!("hooks.example.com/{TOKEN}")), &digest, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a URL"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(TOKEN), "{}", stderr(&o));
}
