//! The request handlers, one module per route family; each turns a request into calls of the
//! store and of `analytics`, and the outcome into a response. Here: what they share (reading
//! headers and secrets, opening the store, the client's key).

use analytics::{BoundedBody, PageContext, derived_salt, ip_key};
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

/// The request's body, read as it arrives and cut one byte past `limit`: a body over the
/// limit is a 413 however it was sent (with a `Content-Length` or chunked without one), and no
/// more than the limit is ever held in memory.
pub(crate) async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
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
    Ok(body.into_bytes())
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

/// The worker's salt: `IP_HASH_SALT`, or without it one derived from `ANALYTICS_PASSWORD` (else
/// `INGEST_TOKEN`), so that per-client keys and session pseudonyms never depend on an optional
/// secret. `None` only when no secret is set at all.
fn salt(env: &Env) -> Option<String> {
    secret(env, "IP_HASH_SALT").or_else(|| {
        ["ANALYTICS_PASSWORD", "INGEST_TOKEN"]
            .into_iter()
            .find_map(|name| secret(env, name))
            .map(|s| derived_salt(&s))
    })
}

/// The salted hash of the client's network (its IPv4 address or IPv6 /64, `ip:{hash}`): the
/// key of its rate limits and of its login lockout. The IP itself is never stored.
fn client_key(req: &Request, env: &Env) -> Option<String> {
    let ip = header(req, "CF-Connecting-IP")?;
    match salt(env) {
        Some(salt) => Some(ip_key(&salt, &ip)),
        None => {
            // No secret at all: no key that cannot be reversed, so no per-IP limits (and no
            // dashboard, which needs ANALYTICS_PASSWORD).
            worker::console_warn!(
                "no IP_HASH_SALT, ANALYTICS_PASSWORD or INGEST_TOKEN: per-IP limits are off"
            );
            None
        }
    }
}
