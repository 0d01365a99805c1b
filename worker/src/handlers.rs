//! The request handlers, one module per route family; each turns a request into calls of the
//! store and of `analytics`, and the outcome into a response. Here: what they share (reading
//! headers and secrets, opening the store, the client's key).

use analytics::{PageContext, ip_key};
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

    pub(crate) fn context(&self) -> PageContext<'_> {
        let [url, title, referrer, session] = &self.0;
        PageContext {
            page_url: url.as_deref(),
            page_title: title.as_deref(),
            referrer: referrer.as_deref(),
            session_id: session.as_deref(),
        }
    }
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

/// The salted hash of the client's IP (`ip:{hash}`), when there is an IP and a salt: the key
/// of its rate limits and of its login lockout. The IP itself is never stored.
fn client_key(req: &Request, env: &Env) -> Option<String> {
    match (header(req, "CF-Connecting-IP"), secret(env, "IP_HASH_SALT")) {
        (Some(ip), Some(salt)) => Some(ip_key(&salt, &ip)),
        (Some(_), None) => {
            // Without a salt the hash of an IPv4 address is easy to reverse: no per-IP limits.
            worker::console_warn!("IP_HASH_SALT is not set: per-IP limits are off");
            None
        }
        (None, _) => None,
    }
}
