//! The admin routes behind Basic Auth: the login check and lockout, `/analytics` (the published
//! report or the live page) and `/analytics/data`, and dispatch to the export.

use analytics::{AUTH_LOCK_SECS, Metrics, REPORT_KEY, Summary, Window, auth_lock_key};
use chrono::{DateTime, TimeDelta, Utc};
use worker::{Env, Request};

use super::export::export;
use super::{Handled, client_key, header, random_suffix, secret, store};
use crate::auth::{self, Verdict};
use crate::http::{self, ApiError, Kind};
use crate::now;
use crate::page;
use crate::params::{self, View};
use crate::store::Store;
use crate::store::events::{Pace, Stop};

/// Checks Basic Auth for the admin routes. A client that fails more often than the
/// `AUTH_FAILURES` limiter allows is locked out for [`AUTH_LOCK_SECS`]: 429 before its
/// credentials are even looked at, so that guessing on cannot tell a right password. The
/// client is the browser when it carries a valid device cookie (set at its first successful
/// login), else its network (IPv4 address or IPv6 /64): failures from the admin's network do
/// not lock out the admin's browser. On success, the device cookie to set, if the browser has
/// none yet.
pub(crate) async fn require_admin(
    req: &Request,
    env: &Env,
    store: &Store,
) -> Result<Option<String>, ApiError> {
    let password = secret(env, "ANALYTICS_PASSWORD");
    let salt = store.salt().await?;
    let device = password
        .as_deref()
        .and_then(|p| auth::known_device(header(req, "Cookie").as_deref(), &salt, p));
    let locked_out = || {
        let from = if device.is_some() {
            "this browser"
        } else {
            "this address"
        };
        ApiError::new(
            429,
            format!(
                "too many failed logins from {from}; try again in {} minutes",
                AUTH_LOCK_SECS / 60
            ),
        )
        .with("Retry-After", AUTH_LOCK_SECS.to_string())
    };
    let client = match &device {
        Some(id) => Some(format!("device:{id}")),
        None => client_key(req, &salt),
    };
    let lock = client.as_deref().map(auth_lock_key);
    if let Some(lock) = &lock {
        let (value, _) = store.get_with_metadata(lock).await?;
        if value.is_some() {
            return Err(locked_out());
        }
    }
    match auth::check_basic(header(req, "Authorization").as_deref(), password.as_deref()) {
        Verdict::Granted => Ok(match (&device, &password) {
            (None, Some(password)) => Some(auth::device_cookie(&salt, password, &random_suffix())),
            _ => None,
        }),
        Verdict::NotConfigured => Err(ApiError::new(
            503,
            "the dashboard is closed: ANALYTICS_PASSWORD is not set \
             (npx wrangler secret put ANALYTICS_PASSWORD)",
        )),
        Verdict::Denied => {
            // Only a request that tried a password counts as a failure: a browser's first
            // request, without credentials, is not a guess.
            let tried = header(req, "Authorization").is_some();
            if tried
                && let (Some(client), Some(lock)) = (client, lock)
                && let Ok(limiter) = env.rate_limiter("AUTH_FAILURES")
                && limiter.limit(client).await.is_ok_and(|o| !o.success)
            {
                worker::console_warn!("locking a client out of the dashboard after failed logins");
                store
                    .put_with_metadata(&lock, String::new(), serde_json::json!({}), AUTH_LOCK_SECS)
                    .await?;
                return Err(locked_out());
            }
            Err(
                ApiError::new(401, "authentication required (user admin)").with(
                    "WWW-Authenticate",
                    "Basic realm=\"Chatbot Analytics\", charset=\"UTF-8\"",
                ),
            )
        }
    }
}

/// Adds the device cookie `require_admin` asked for, if any, to a successful answer.
pub(crate) fn with_device_cookie(
    response: worker::Response,
    cookie: Option<String>,
) -> worker::Response {
    if let Some(cookie) = cookie {
        let _ = response.headers().append("Set-Cookie", &cookie);
    }
    response
}

pub(crate) enum Admin {
    Dashboard,
    Data,
    Export,
}

pub(crate) async fn admin(req: &Request, env: &Env, route: Admin) -> Handled {
    // One store for the request: the lockout check counts against its KV budget too.
    let store = store(env)?;
    let cookie = require_admin(req, env, &store).await?;
    let url = req
        .url()
        .map_err(|e| ApiError::new(400, format!("bad URL: {e}")))?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let query = params::parse_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|message| ApiError::new(400, message))?;
    let now = now();
    let response = match route {
        Admin::Dashboard => dashboard(&store, now, query.view).await?,
        Admin::Data => {
            let summary = summary(&store, now, query.days).await?;
            let json =
                serde_json::to_vec(&summary).map_err(|e| ApiError::new(500, e.to_string()))?;
            http::body(200, Kind::Json, json)
        }
        Admin::Export => export(&store, now, &query).await?,
    };
    let _ = response
        .headers()
        .set("X-KV-Operations", &store.ops().to_string());
    Ok(with_device_cookie(response, cookie))
}

/// The live summary over the last `days` days.
async fn summary(store: &Store, now: DateTime<Utc>, days: u32) -> Result<Summary, ApiError> {
    // Every event stamped up to the millisecond of the request counts.
    let to = Window::end_after(now);
    let from = to - TimeDelta::days(i64::from(days));
    let mut metrics = Metrics::new(Window::Range { from, to });
    for day in store.daily_aggregates(from, to).await? {
        metrics.add_daily(&day);
    }
    for gap in store.gap_summaries().await? {
        metrics.add_gap_record(&gap);
    }
    let listing = store.listing(from, to).await?;
    let stop = store
        .read_events(
            &listing,
            None,
            usize::MAX,
            Pace::Careful { reserve: 0 },
            &mut metrics,
        )
        .await?;
    if stop != Stop::Done {
        return Err(ApiError::new(
            503,
            "too many events for a live summary within one request's storage budget; \
             use `reportgen --url`, which pages through the export",
        ));
    }
    Ok(metrics.finish(now))
}

/// `GET /analytics`: the published report with a line about it, else (and with `view=live`)
/// the live page.
async fn dashboard(store: &Store, now: DateTime<Utc>, view: View) -> Handled {
    if view == View::Report
        && let (Some(report), metadata) = store.get_with_metadata(REPORT_KEY).await?
    {
        let at = |field: &str| metadata.as_ref().and_then(|m| m.get(field)?.as_str());
        let (generated_at, published_at) = (at("generatedAt"), at("publishedAt"));
        let html = page::with_published_note(&report, generated_at, published_at);
        let response = http::body(200, Kind::Html, html.into_bytes());
        for (at, name) in [
            (published_at, "X-Report-Published-At"),
            (generated_at, "X-Report-Generated-At"),
        ] {
            if let Some(at) = at {
                let _ = response.headers().set(name, at);
            }
        }
        return Ok(response);
    }
    let summary = summary(store, now, params::DEFAULT_DAYS).await?;
    Ok(http::body(
        200,
        Kind::Html,
        page::live_page(&summary).into_bytes(),
    ))
}
