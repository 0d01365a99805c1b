//! The request handlers, one module per route family; each turns a request into calls of the
//! store and of `analytics`, and the outcome into a response. Here: what they share (reading
//! headers and secrets, opening the store, the client's key).

use analytics::{BoundedBody, PageContext, ip_key};
use futures_util::StreamExt;
use worker::{Env, Request, Response};

use crate::http::ApiError;
use crate::store::Store;

pub(crate) mod admin;
pub(crate) mod demo;
pub(crate) mod export;
pub(crate) mod ingest;
pub(crate) mod publish;

pub(crate) type Handled = Result<Response, ApiError>;

pub(crate) fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The page-context headers (`X-Page-URL`, `X-Page-Title`, `X-Referrer`, `X-Session-ID`),
/// percent-decoded: `chatHeaders()` encodes them, as header values cannot hold every title.
struct ContextHeaders([Option<String>; 4]);

impl ContextHeaders {
    pub(crate) fn read(req: &Request) -> ContextHeaders {
        ContextHeaders(
            ["X-Page-URL", "X-Page-Title", "X-Referrer", "X-Session-ID"].map(|name| {
                header(req, name).map(|value| {
                    percent_encoding::percent_decode_str(&value)
                        .decode_utf8_lossy()
                        .into_owned()
                })
            }),
        )
    }

    /// The context of an event, with `hash_key` keying the pseudonyms of session ids.
    pub(crate) fn context<'a>(&'a self, hash_key: Option<&'a str>) -> PageContext<'a> {
        let [url, title, referrer, session] = &self.0;
        PageContext {
            page_url: url.as_deref(),
            page_title: title.as_deref(),
            referrer: referrer.as_deref(),
            session_id: session.as_deref(),
            hash_key,
        }
    }
}

/// The request's body (`what`, in messages: "the request body", "the report"), read as it
/// arrives and cut one byte past `limit`: a body over the limit is a 413 however it was sent —
/// before reading anything when its `Content-Length` says so, else once one byte too many has
/// arrived — and no more than the limit is ever held in memory.
pub(crate) async fn read_body(
    req: &mut Request,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, ApiError> {
    let announced = header(req, "Content-Length").and_then(|l| l.trim().parse::<usize>().ok());
    if let Some(length) = announced
        && length > limit
    {
        return Err(ApiError::new(
            413,
            format!("{what} is {length} bytes; at most {limit} are accepted"),
        ));
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let unreadable =
        |e: worker::Error| ApiError::new(400, format!("cannot read the request body: {e}"));
    let mut stream = req.stream().map_err(unreadable)?;
    let mut body = BoundedBody::new(limit);
    while let Some(chunk) = stream.next().await {
        body.push(&chunk.map_err(unreadable)?)
            .map_err(|e| ApiError::new(413, e.to_string()))?;
    }
    let body = body.into_bytes();
    // The runtime ends an aborted upload as if it were complete: a body shorter than its
    // `Content-Length` was cut short, and is not taken for the whole.
    if let Some(length) = announced
        && body.len() != length
    {
        return Err(ApiError::new(
            400,
            format!(
                "the request body ended after {} of the {length} bytes its Content-Length announced",
                body.len()
            ),
        ));
    }
    Ok(body)
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    analytics::truncate_chars(text, max).into_owned()
}

fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
}

fn store(env: &Env) -> Result<Store, ApiError> {
    Store::open(env).map_err(|message| {
        worker::console_error!("{message}");
        ApiError::new(503, message)
    })
}

/// A random suffix that keeps keys of the same millisecond apart.
fn random_suffix() -> String {
    let a = (worker::js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    let b = (worker::js_sys::Math::random() * f64::from(u16::MAX)) as u16;
    format!("{a:08x}{b:04x}")
}

/// The salted hash of the client's network (its IPv4 address or IPv6 /64, `ip:{hash}`): the
/// key of its rate limits and of its login lockout. The IP itself is never stored.
fn client_key(req: &Request, salt: &str) -> Option<String> {
    header(req, "CF-Connecting-IP").map(|ip| ip_key(salt, &ip))
}
