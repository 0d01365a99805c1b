//! The HTTP side shared by fetching the export ([`crate::fetch`]) and posting to a webhook
//! ([`crate::notify`]): one client set-up that follows no redirect, which addresses may use
//! plain http, and sending a request again on 429 (honouring `Retry-After`), 5xx, timeouts,
//! connection failures and broken bodies, with backoff, until the run's deadline.
//!
//! Messages show a server by its origin only (scheme, host, port): a webhook's path and query
//! are its secret, and an export's query holds a cursor nobody needs to read.

use std::error::Error as _;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use reqwest::Url;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::RETRY_AFTER;

/// The longest single request, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The first pause before a retry; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// A server as messages show it, and how long the run may keep trying it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The server's origin: its URL without credentials, path, query or fragment.
    pub origin: Url,
    /// What messages call the server: "the worker", "the webhook".
    name: &'static str,
    /// When the whole run gives up, retries included.
    deadline: Instant,
    /// How long the whole run may take.
    budget: Duration,
    /// No retry lines on stderr.
    quiet: bool,
}

impl Peer {
    /// The server of `url`, called `name` in messages; the whole run, retries included, must
    /// end within `budget` from now.
    pub fn new(url: &Url, name: &'static str, budget: Duration, quiet: bool) -> Peer {
        Peer {
            origin: origin(url),
            name,
            deadline: Instant::now() + budget,
            budget,
            quiet,
        }
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        self.origin.host_str().unwrap_or(self.name)
    }

    /// The per-request timeout: 30 s, or what is left of the run's time.
    fn request_timeout(&self) -> Duration {
        REQUEST_TIMEOUT
            .min(self.deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(100))
    }
}

/// `url` without credentials, path, query or fragment: all of it a message may show.
pub fn origin(url: &Url) -> Url {
    let mut origin = url.clone();
    let _ = origin.set_password(None);
    let _ = origin.set_username("");
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

/// Whether `url` names this machine, the one place plain http is allowed: nothing sent there
/// crosses a network.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The client for every request of a run.
pub fn client() -> anyhow::Result<Client> {
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("reportgen/", env!("CARGO_PKG_VERSION")))
        // Requests go to the URL given and nowhere else: a redirect is an answer to report, not
        // to follow.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("setting up the HTTP client")
}

/// What to do about an answer that was not a success.
pub enum Failure {
    /// Retrying cannot help.
    Fatal(anyhow::Error),
    /// Worth another try, after the server's `Retry-After` if it gave one.
    Retry(String, Option<Duration>),
}

/// The `Retry-After` of `response`, in seconds (an HTTP date is not honoured).
pub fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Sends a request, retrying 429, 5xx, timeouts, connection failures and bodies `accept`
/// finds broken, with backoff, until the run's deadline; returns the body of a 2xx answer.
/// `classify` says what any other answer means.
pub fn send_with_retry(
    peer: &Peer,
    request: impl Fn() -> RequestBuilder,
    accept: impl Fn(&[u8]) -> Result<(), String>,
    classify: impl Fn(Response) -> Failure,
) -> anyhow::Result<Vec<u8>> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let timeout = peer.request_timeout();
        // reqwest's errors name the whole URL: they are shown without it.
        let failure = match request().timeout(timeout).send() {
            Ok(response) if response.status().is_success() => match response.bytes() {
                Ok(bytes) => match accept(&bytes) {
                    Ok(()) => return Ok(bytes.to_vec()),
                    Err(reason) => Failure::Retry(reason, None),
                },
                Err(e) => {
                    Failure::Retry(format!("the response broke off: {}", e.without_url()), None)
                }
            },
            Ok(response) => classify(response),
            Err(e) => from_transport(peer, &e.without_url(), timeout),
        };
        let (reason, wait) = match failure {
            Failure::Fatal(error) => return Err(error),
            Failure::Retry(reason, retry_after) => (reason, retry_after.unwrap_or(backoff)),
        };
        if Instant::now() + wait > peer.deadline {
            bail!(
                "{}: giving up after {attempt} attempt{} (--timeout {} s): {reason}{}",
                peer.origin,
                if attempt == 1 { "" } else { "s" },
                peer.budget.as_secs(),
                if wait > backoff {
                    format!("; {} asked to wait {} s", peer.name, wait.as_secs())
                } else {
                    String::new()
                }
            );
        }
        if !peer.quiet {
            eprintln!(
                "reportgen: {reason}; retrying in {:.1} s",
                wait.as_secs_f64()
            );
        }
        sleep(wait);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A request that got no answer; `timeout` is the time it was given.
fn from_transport(peer: &Peer, e: &reqwest::Error, timeout: Duration) -> Failure {
    let host = peer.host();
    let detail = e.source().map_or_else(|| e.to_string(), error_chain);
    if e.is_timeout() {
        return Failure::Retry(
            format!(
                "no answer from {host} within {:.1} s",
                timeout.as_secs_f64()
            ),
            None,
        );
    }
    let lower = detail.to_lowercase();
    if lower.contains("dns")
        || lower.contains("failed to lookup")
        || lower.contains("name or service")
    {
        return Failure::Fatal(anyhow!(
            "{}: cannot resolve {host} ({detail}): check the URL",
            peer.origin
        ));
    }
    if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("corrupt message")
    {
        return Failure::Fatal(anyhow!(
            "{}: TLS failed with {host} ({detail}): check the URL's scheme and certificate",
            peer.origin
        ));
    }
    if e.is_connect() {
        return Failure::Retry(
            format!(
                "cannot connect to {host} ({detail}): check the URL and that {} is running",
                peer.name
            ),
            None,
        );
    }
    Failure::Retry(detail, None)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}
