//! The Cloudflare Worker of Chatbot Analytics: ingests widget and backend events into Workers
//! KV (no IP address, no personal data, every key with a TTL), rolls them up daily, and serves
//! the raw export, the `summary.json` and the dashboard behind Basic Auth.
//!
//! A thin layer over the `analytics` crate, which owns validation, scrubbing, the key scheme,
//! the export formats and the metrics, so this worker and `reportgen` can never disagree. Here:
//! routing (`routes`), the handlers (`handlers`, one module per route family), credentials,
//! rate limits, and the KV adapter ([`store`]).

pub mod auth;
pub mod frontend;
pub mod page;
pub mod params;
pub mod store;

mod cron;
mod handlers;
mod http;
mod routes;

use chrono::{DateTime, Utc};
use worker::{Context, Date, Env, Request, Response, ScheduleContext, ScheduledEvent, event};

/// Entry point for HTTP requests.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(routes::route(req, &env).await)
}

/// Entry point of the cron trigger: the daily rollup, as of the scheduled time.
#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let at = DateTime::from_timestamp_millis(event.schedule() as i64).unwrap_or_else(now);
    cron::run(&env, at).await;
}

/// The current time from the runtime's clock.
pub(crate) fn now() -> DateTime<Utc> {
    i64::try_from(Date::now().as_millis())
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_default()
}
