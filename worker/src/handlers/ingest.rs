//! `POST /analytics-event`: validate, scrub, rate-limit, and store one event.

use analytics::{Event, EventType, MAX_BODY_BYTES, parse_ingest, session_key};
use chrono::{DateTime, Utc};
use worker::{Env, Request};

use super::{ContextHeaders, Handled, client_key, header, random_suffix, read_body, secret, store};
use crate::auth::{self, Verdict};
use crate::http::{self, ApiError};
use crate::now;
use crate::params;
use crate::store::Store;

/// `POST /analytics-event`.
pub(crate) async fn ingest(mut req: Request, env: &Env, allowed: &str) -> Handled {
    if !params::origin_allowed(allowed, header(&req, "Origin").as_deref()) {
        return Err(ApiError::new(403, "this origin may not send events"));
    }
    let content_type = header(&req, "Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.is_empty()
        || content_type.starts_with("application/json")
        || content_type.starts_with("text/plain"))
    {
        return Err(ApiError::new(
            415,
            "send the event as application/json or text/plain (navigator.sendBeacon)",
        ));
    }
    let body = read_body(&mut req, MAX_BODY_BYTES, "the request body").await?;
    let headers = ContextHeaders::read(&req);
    let store = store(env)?;
    let salt = store.salt().await?;
    let context = headers.context(Some(&salt));
    let now = now();
    let event =
        parse_ingest(&body, &context, now).map_err(|e| ApiError::new(e.status(), e.to_string()))?;
    let from_backend = event.event_type.is_backend();
    if from_backend {
        match auth::check_bearer(
            header(&req, "Authorization").as_deref(),
            secret(env, "INGEST_TOKEN").as_deref(),
        ) {
            Verdict::Granted => {}
            Verdict::NotConfigured => {
                return Err(ApiError::new(
                    403,
                    format!(
                        "`{}` events come from the chat backend only, and INGEST_TOKEN is not set",
                        event.event_type
                    ),
                ));
            }
            Verdict::Denied => {
                return Err(ApiError::new(
                    401,
                    format!(
                        "`{}` events need the backend's token: Authorization: Bearer <INGEST_TOKEN>",
                        event.event_type
                    ),
                )
                .with("WWW-Authenticate", "Bearer realm=\"analytics-event\""));
            }
        }
    }
    rate_limit(&req, env, &store, &event, from_backend, &salt).await?;
    store.put_event(&event, &random_suffix()).await?;
    Ok(http::empty(204))
}

/// Per-session and per-IP limits through Cloudflare's rate-limiting bindings. The IP is only
/// ever used as a salted hash, and only here: it is never stored. The chat backend (events
/// that carried its token) sends from one server IP, so only its sessions are limited. A
/// session (or IP) over its limit gets 429, and one `rate_limited` event per limiter period is
/// recorded for it, naming the limit.
async fn rate_limit(
    req: &Request,
    env: &Env,
    store: &Store,
    event: &Event,
    from_backend: bool,
    salt: &str,
) -> Result<(), ApiError> {
    let ip = if from_backend {
        None
    } else {
        client_key(req, salt)
    };
    let keys = [
        (
            "SESSION_LIMITER",
            event.session_id.as_deref().map(session_key),
            SESSION_LIMIT_NOTE,
        ),
        ("IP_LIMITER", ip, IP_LIMIT_NOTE),
    ];
    for (binding, key, limit) in keys {
        let (Some(key), Ok(limiter)) = (key, env.rate_limiter(binding)) else {
            continue;
        };
        let over = match limiter.limit(key.clone()).await {
            Ok(outcome) => !outcome.success,
            Err(e) => {
                worker::console_warn!("rate limiter {binding} failed, not limiting: {e}");
                false
            }
        };
        if over {
            note_rate_limited(env, store, event.timestamp, key, limit).await;
            return Err(ApiError::new(429, "too many events; slow down").with("Retry-After", "60"));
        }
    }
    Ok(())
}

/// The `errorType` of the worker's own `rate_limited` note when a session went over its limit.
pub(crate) const SESSION_LIMIT_NOTE: &str = "worker_session_limit";
/// The `errorType` of the worker's own `rate_limited` note when a client IP went over its limit.
pub(crate) const IP_LIMIT_NOTE: &str = "worker_ip_limit";

/// Records a `rate_limited` event, at most once per key per `LIMIT_NOTES` period. It says
/// which limit fired (`errorType`) and carries nothing the client sent: no session id, no page
/// fields, so refused requests cannot write text of their choosing into the export.
async fn note_rate_limited(env: &Env, store: &Store, at: DateTime<Utc>, key: String, limit: &str) {
    let Ok(notes) = env.rate_limiter("LIMIT_NOTES") else {
        return;
    };
    if !notes.limit(key).await.is_ok_and(|o| o.success) {
        return;
    }
    let mut note = Event::new(at, EventType::RateLimited);
    note.error_type = Some(limit.to_owned());
    if let Err(e) = store.put_event(&note, &random_suffix()).await {
        worker::console_error!("recording a rate_limited event failed: {e}");
    }
}
