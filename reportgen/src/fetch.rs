//! Fetching the export from a running worker: every page of `GET /analytics/export` with Basic
//! Auth, retried on 429 (honouring `Retry-After`), 5xx and timeouts within a bounded time, and
//! failures explained in one line that says what to check. Also `PUT /analytics/report`.
//! The retrying itself is [`crate::http`]'s; what the worker's answers mean is decided here.

use std::io::IsTerminal;
use std::time::Duration;

use analytics::{Format, ReadError, Sink, Window};
use anyhow::{anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_TYPE, LOCATION};

use crate::http::{self, Failure, Peer};

/// Events asked for per page: one KV list call on the worker.
const PAGE_EVENTS: usize = 1000;

/// Where and how to talk to the worker.
#[derive(Clone)]
pub struct Remote {
    /// The worker's origin, e.g. `https://analytics.example.workers.dev`.
    pub base: reqwest::Url,
    /// The Basic Auth password (user `admin`).
    password: String,
    /// The worker as messages show it, and the run's deadline.
    peer: Peer,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("base", &self.base.as_str())
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Parses the worker URL given on the command line (any path on it is ignored). The whole
    /// run, retries included, must end within `budget`. Credentials in the URL are refused (the
    /// password belongs in the environment), and so is plain `http` to anything but this
    /// machine, which would send the password in the clear.
    pub fn new(
        url: &str,
        password: String,
        budget: Duration,
        quiet: bool,
    ) -> anyhow::Result<Remote> {
        let mut base = reqwest::Url::parse(url.trim()).map_err(|_| {
            anyhow!(
                "{} is not a URL such as https://analytics.example.workers.dev",
                without_credentials(url)
            )
        })?;
        if !base.username().is_empty() || base.password().is_some() {
            bail!(
                "{}: remove the credentials from the URL; the password goes in ANALYTICS_PASSWORD",
                without_credentials(url)
            );
        }
        match base.scheme() {
            "https" => {}
            "http" if http::is_loopback(&base) => {}
            "http" => bail!(
                "{base}: use https; plain http would send the password in the clear \
                 (only this machine's addresses may use http)"
            ),
            _ => bail!("{base} is not an http(s) URL"),
        }
        base = http::origin(&base);
        let peer = Peer::new(&base, "the worker", budget, quiet);
        Ok(Remote {
            base,
            password,
            peer,
        })
    }

    fn endpoint(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }
}

/// What fetching produced besides the events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Pages read.
    pub pages: u64,
    /// Records read (valid or not).
    pub records: u64,
    /// Records the worker found in its store and could not read, by reason (every page's).
    pub unreadable: std::collections::BTreeMap<String, u64>,
}

/// Reads every page of the export for the last `days` days into `sink`.
///
/// The window is the worker's: its first page's `from` and `to`, handed to `set_window`
/// before any event reaches `sink`, and every later page must name the same. Events are
/// stamped by the worker's clock and selected by it, so a runner whose clock is ahead of or
/// behind the worker's neither drops the newest events nor counts any twice.
///
/// Fetching overlaps parsing: a second thread downloads page N+1 (its cursor is read off page
/// N as it arrives) while this one parses page N into `sink`. At most one page waits between
/// them, and each is dropped as soon as it is parsed, so three pages at most are in memory.
/// Errors come in page order: a page that fails to parse is reported before a later page's
/// fetch failure.
pub fn fetch_export<S: Sink>(
    remote: &Remote,
    days: u32,
    quiet: bool,
    sink: &mut S,
    set_window: impl FnOnce(&mut S, Window),
) -> anyhow::Result<Fetched> {
    let mut set_window = Some(set_window);
    let mut window: Option<Window> = None;
    let client = http::client()?;
    let progress = Progress::new(quiet);
    let mut fetched = Fetched::default();
    let (pages_tx, pages) = std::sync::mpsc::sync_channel::<anyhow::Result<Page>>(1);
    std::thread::scope(|scope| {
        let client = &client;
        scope.spawn(move || fetch_pages(remote, client, days, &pages_tx));
        // Owned by this closure, so an early return drops it and the fetcher's next send fails:
        // the fetcher stops then, or after the last page.
        let pages = pages;
        for page in pages.iter() {
            let page = page?;
            let number = fetched.pages + 1;
            match (window, page.window) {
                (None, Some(first)) => {
                    window = Some(first);
                    if let Some(set) = set_window.take() {
                        set(sink, first);
                    }
                }
                (Some(first), Some(this)) if this != first => bail!(
                    "{}: page {number} covers another window than page 1 ({} instead of {}); \
                     stopping rather than mixing two windows",
                    remote.base,
                    window_text(this),
                    window_text(first),
                ),
                _ => {}
            }
            let info = analytics::read_export(&page.body[..], Some(Format::Json), sink)
                .map_err(|e| not_an_export(remote, number, e))?;
            drop(page.body);
            if !info.envelope {
                bail!(
                    "{}: page {number} is JSON but not the worker's export envelope (no \
                     schemaVersion): is this the chatbot analytics worker's URL?",
                    remote.base
                );
            }
            if page.window.is_none() {
                bail!(
                    "{}: page {number} of the export names no window (`from` and `to` \
                     timestamps, `from` before `to`): is this the chatbot analytics worker's \
                     URL, and is it up to date?",
                    remote.base
                );
            }
            if info.next_cursor != page.next_cursor {
                bail!(
                    "{}: page {number} names two different next pages; stopping",
                    remote.base
                );
            }
            fetched.pages = number;
            fetched.records += info.records;
            for (reason, n) in info.unreadable {
                *fetched.unreadable.entry(reason).or_default() += n;
            }
            progress.page(fetched.pages, fetched.records);
        }
        Ok(())
    })?;
    progress.finish(&fetched);
    Ok(fetched)
}

/// One page as fetched, with the next page's cursor and the window read off it.
struct Page {
    body: Vec<u8>,
    next_cursor: Option<String>,
    window: Option<Window>,
}

/// The envelope's `nextCursor` and window, read without building the events.
#[derive(serde::Deserialize)]
struct Peek {
    #[serde(rename = "nextCursor")]
    next_cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl Peek {
    /// The window the worker applied: `from ≤ timestamp < to`, when both parse and
    /// `from < to`.
    fn window(&self) -> Option<Window> {
        let from = analytics::parse_timestamp(self.from.as_deref()?)?;
        let to = analytics::parse_timestamp(self.to.as_deref()?)?;
        (from < to).then_some(Window::Range { from, to })
    }
}

fn window_text(window: Window) -> String {
    match window {
        Window::Range { from, to } => format!(
            "{} to {}",
            analytics::format_timestamp(&from),
            analytics::format_timestamp(&to)
        ),
        Window::All => "every event".to_owned(),
    }
}

/// The fetching thread: every page in order into `pages`, then ends. A page whose cursor
/// cannot be read (not an envelope) is sent and ends the run: its parse says what is wrong.
fn fetch_pages(
    remote: &Remote,
    client: &Client,
    days: u32,
    pages: &std::sync::mpsc::SyncSender<anyhow::Result<Page>>,
) {
    let mut cursor: Option<String> = None;
    loop {
        let mut url = remote.endpoint("/analytics/export");
        url.query_pairs_mut()
            .append_pair("format", "json")
            .append_pair("days", &days.to_string())
            .append_pair("limit", &PAGE_EVENTS.to_string());
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let body = match http::send_with_retry(
            &remote.peer,
            || {
                client
                    .get(url.clone())
                    .basic_auth("admin", Some(&remote.password))
            },
            complete_json,
            |response| classify(remote, response),
        ) {
            Ok(body) => body,
            Err(e) => {
                let _ = pages.send(Err(e));
                return;
            }
        };
        let (next_cursor, window) = match serde_json::from_slice::<Peek>(&body) {
            Ok(peek) => {
                let window = peek.window();
                (peek.next_cursor, window)
            }
            Err(_) => {
                let _ = pages.send(Ok(Page {
                    body,
                    next_cursor: None,
                    window: None,
                }));
                return;
            }
        };
        let repeated = next_cursor.is_some() && next_cursor == cursor;
        let page = Page {
            body,
            next_cursor: next_cursor.clone(),
            window,
        };
        if pages.send(Ok(page)).is_err() {
            return;
        }
        match next_cursor {
            _ if repeated => {
                let _ = pages.send(Err(anyhow!(
                    "{}: the export handed back the same cursor twice; stopping rather than \
                     looping",
                    remote.base
                )));
                return;
            }
            Some(next) => cursor = Some(next),
            None => return,
        }
    }
}

/// Uploads the report so `GET /analytics` serves it; `generated_at` is its generation time.
pub fn publish(remote: &Remote, html: &str, generated_at: &str) -> anyhow::Result<()> {
    let client = http::client()?;
    let url = remote.endpoint("/analytics/report");
    http::send_with_retry(
        &remote.peer,
        || {
            client
                .put(url.clone())
                .basic_auth("admin", Some(&remote.password))
                .header(CONTENT_TYPE, "text/html; charset=utf-8")
                .header("X-Report-Generated-At", generated_at)
                .body(html.to_owned())
        },
        |_| Ok(()),
        |response| classify(remote, response),
    )
    .map(drop)
}

fn not_an_export(remote: &Remote, page: u64, e: ReadError) -> anyhow::Error {
    match e {
        ReadError::Syntax { .. } => anyhow!(
            "{}: page {page} of the export is not JSON ({e}): is this the chatbot analytics \
             worker's URL?",
            remote.base
        ),
        other => anyhow!(
            "{}: page {page} is not a chatbot analytics export: {other}",
            remote.base
        ),
    }
}

/// A body that ends before its JSON does broke off on the way: worth a retry.
fn complete_json(body: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Err(e) if e.is_eof() => Err("the response broke off before its end".to_owned()),
        _ => Ok(()),
    }
}

/// A URL as it may be shown: without user name and password.
pub fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "the --url value".to_owned(),
    }
}

/// The worker's one-line error message from a JSON error body, if there is one.
fn worker_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value
        .get("error")?
        .as_str()
        .map(|m| analytics::truncate_chars(m, 300).into_owned())
}

fn classify(remote: &Remote, response: Response) -> Failure {
    let status = response.status();
    let retry_after = http::retry_after(&response);
    let location = response
        .headers()
        .get(LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = response.text().unwrap_or_default();
    let said = worker_message(&body);
    let url = &remote.base;
    match status {
        s if s.is_redirection() => Failure::Fatal(anyhow!(
            "{url}: the worker answered {s}, redirecting to {}; reportgen follows no redirect \
             (the export is read from, and the report sent to, the URL given): if that is the \
             worker, give its URL with --url",
            location.map_or_else(
                || "nowhere (no Location header)".to_owned(),
                |l| format!(
                    "{:?}",
                    analytics::truncate_chars(&analytics::clean_text(&l), 200)
                )
            )
        )),
        StatusCode::UNAUTHORIZED => Failure::Fatal(anyhow!(
            "{url}: the worker refused the password (401): check ANALYTICS_PASSWORD \
             (or the variable named by --password-env)"
        )),
        StatusCode::NOT_FOUND => Failure::Fatal(anyhow!(
            "{url}: no analytics export here (404): is this the chatbot analytics worker's URL?"
        )),
        StatusCode::TOO_MANY_REQUESTS => Failure::Retry(
            match said {
                Some(message) => format!("rate limited (429): {message}"),
                None => "rate limited (429)".into(),
            },
            retry_after,
        ),
        s if s.is_server_error() => {
            let code = s.as_u16();
            let message = said.unwrap_or_else(|| format!("HTTP {s}"));
            if message.contains("is not set") {
                Failure::Fatal(anyhow!("{url}: {message} ({code})"))
            } else {
                Failure::Retry(
                    format!("the worker failed ({code}): {message}"),
                    retry_after,
                )
            }
        }
        s => Failure::Fatal(anyhow!(
            "{url}: unexpected answer {s}: {}",
            said.unwrap_or_else(|| analytics::truncate_chars(body.trim(), 200).into_owned())
        )),
    }
}

/// Progress on stderr: a bar on a terminal, a line per page otherwise, nothing with `--quiet`.
struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} fetching export: {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            lines: !quiet && !terminal,
        }
    }

    fn page(&self, pages: u64, records: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{pages} pages, {records} events"));
        } else if self.lines {
            eprintln!("reportgen: fetched page {pages} ({records} events so far)");
        }
    }

    fn finish(&self, fetched: &Fetched) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(format!(
                "{} pages, {} events",
                fetched.pages, fetched.records
            ));
        }
    }
}
