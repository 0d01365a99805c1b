//! Routing and the request handlers: each turns a request into calls of the store and of
//! `analytics`, and the outcome into a response.

use analytics::{
    AUTH_LOCK_SECS, CsvWriter, Envelope, Event, EventType, ExportCursor, Format, MAX_BODY_BYTES,
    Metrics, PageContext, SCHEMA_VERSION, Summary, Window, auth_lock_key, ip_key, parse_ingest,
    session_key, write_ndjson_line,
};
use chrono::{DateTime, TimeDelta, Utc};
use worker::{Env, Method, Request, Response};

use crate::auth::{self, Verdict};
use crate::frontend;
use crate::http::{self, ApiError, Kind};
use crate::now;
use crate::page;
use crate::params::{self, Query};
use crate::store::{Resume, Store};

/// Where the published report is kept.
const REPORT_KEY: &str = "report:latest";
/// The largest report `PUT /analytics/report` accepts.
pub const MAX_REPORT_BYTES: usize = 10 * 1024 * 1024;
/// Operations an export page keeps in hand for reading events too large for metadata.
const EXPORT_RESERVE: u32 = 50;

type Handled = Result<Response, ApiError>;

/// Answers one request.
pub async fn route(req: Request, env: &Env) -> Response {
    let path = req.path();
    let method = req.method();
    let origin = header(&req, "Origin");
    let allowed = env
        .var("ALLOWED_ORIGINS")
        .map(|v| v.to_string())
        .unwrap_or_else(|_| "*".to_owned());
    let result = match path.as_str() {
        "/analytics-event" => match method {
            Method::Post => ingest(req, env, &allowed).await,
            Method::Options => Ok(http::empty(204)),
            _ => Err(not_allowed("POST, OPTIONS")),
        },
        "/analytics" | "/analytics/" => match method {
            Method::Get | Method::Head => admin(&req, env, Admin::Dashboard).await,
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/analytics/data" => match method {
            Method::Get | Method::Head => admin(&req, env, Admin::Data).await,
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/analytics/export" => match method {
            Method::Get | Method::Head => admin(&req, env, Admin::Export).await,
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/analytics.js" => match method {
            Method::Get | Method::Head => Ok(frontend::tracker(&req)),
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/demo" | "/demo/" | "/demo/demo.js" | "/demo/chat" if frontend::demo_enabled(env) => {
            match (path.as_str(), method) {
                ("/demo/chat", Method::Post) => demo_chat(req, env).await,
                ("/demo/chat", _) => Err(not_allowed("POST")),
                ("/demo/demo.js", Method::Get | Method::Head) => Ok(frontend::demo_script()),
                (_, Method::Get | Method::Head) => Ok(frontend::demo_page()),
                _ => Err(not_allowed("GET, HEAD")),
            }
        }
        "/analytics/report" => match method {
            Method::Put => publish(req, env).await,
            _ => Err(not_allowed("PUT")),
        },
        _ => Err(ApiError::new(
            404,
            format!("no such route: {}", truncate(&path, 200)),
        )),
    };
    let response = result.unwrap_or_else(http::error);
    if path == "/analytics-event" {
        cors(&response, &allowed, origin.as_deref());
    }
    response
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The page-context headers (`X-Page-URL`, `X-Page-Title`, `X-Referrer`, `X-Session-ID`),
/// percent-decoded: `chatHeaders()` encodes them, as header values cannot hold every title.
struct ContextHeaders([Option<String>; 4]);

impl ContextHeaders {
    fn read(req: &Request) -> ContextHeaders {
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

    fn context(&self) -> PageContext<'_> {
        let [url, title, referrer, session] = &self.0;
        PageContext {
            page_url: url.as_deref(),
            page_title: title.as_deref(),
            referrer: referrer.as_deref(),
            session_id: session.as_deref(),
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    analytics::truncate_chars(text, max).into_owned()
}

fn not_allowed(allow: &'static str) -> ApiError {
    ApiError::new(405, format!("method not allowed here; use {allow}")).with("Allow", allow)
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

/// CORS on the ingestion route: the allowed origin echoed, preflight answered.
fn cors(response: &Response, allowed: &str, origin: Option<&str>) {
    let headers = response.headers();
    let _ = headers.set("Vary", "Origin");
    let Some(origin) = origin else { return };
    if !params::origin_allowed(allowed, Some(origin)) {
        return;
    }
    let value = if allowed.trim() == "*" { "*" } else { origin };
    for (name, value) in [
        ("Access-Control-Allow-Origin", value),
        ("Access-Control-Allow-Methods", "POST, OPTIONS"),
        (
            "Access-Control-Allow-Headers",
            "Content-Type, Authorization, X-Page-URL, X-Page-Title, X-Referrer, X-Session-ID",
        ),
        ("Access-Control-Expose-Headers", "Retry-After"),
        ("Access-Control-Max-Age", "86400"),
    ] {
        let _ = headers.set(name, value);
    }
}

/// `POST /analytics-event`.
async fn ingest(mut req: Request, env: &Env, allowed: &str) -> Handled {
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
    if let Some(length) = header(&req, "Content-Length").and_then(|l| l.parse::<usize>().ok())
        && length > MAX_BODY_BYTES
    {
        return Err(ApiError::new(
            413,
            format!("the request body is {length} bytes; at most {MAX_BODY_BYTES} are accepted"),
        ));
    }
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::new(400, format!("cannot read the request body: {e}")))?;
    let headers = ContextHeaders::read(&req);
    let context = headers.context();
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
    let store = store(env)?;
    rate_limit(&req, env, &store, &event, from_backend).await?;
    store.put_event(&event, &random_suffix()).await?;
    Ok(http::empty(204))
}

/// `POST /demo/chat` (development only): the demo's fake chat backend. It answers from a tiny
/// knowledge base and records `message_sent` with the page context of `chatHeaders()` and its
/// timings, as a real chat backend does through the authenticated ingestion route.
async fn demo_chat(mut req: Request, env: &Env) -> Handled {
    let started = now();
    let body: serde_json::Value = req
        .json()
        .await
        .map_err(|_| ApiError::new(400, "send {\"question\": \"…\"} as JSON"))?;
    let question = body["question"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if question.is_empty() {
        return Err(ApiError::new(400, "`question` is required"));
    }
    let (answer, topic, found) = frontend::demo_answer(&question);
    let random = || worker::js_sys::Math::random();
    let rag = 8.0 + (random() * 40.0).round();
    let ai = 350.0 + (random() * 900.0).round();
    let event = serde_json::json!({
        "eventType": "message_sent",
        "question": question,
        "topic": topic,
        "noRagMatch": !found,
        "success": true,
        "ragTimeMs": rag,
        "aiTimeMs": ai,
        "totalTimeMs": rag + ai + (now() - started).num_milliseconds() as f64,
        "responseLength": answer.len(),
    });
    let headers = ContextHeaders::read(&req);
    let context = headers.context();
    let event = parse_ingest(event.to_string().as_bytes(), &context, now())
        .map_err(|e| ApiError::new(e.status(), e.to_string()))?;
    store(env)?.put_event(&event, &random_suffix()).await?;
    let json = serde_json::json!({ "answer": answer }).to_string();
    Ok(http::body(200, Kind::Json, json.into_bytes()))
}

/// Per-session and per-IP limits through Cloudflare's rate-limiting bindings. The IP is only
/// ever used as a salted hash, and only here: it is never stored. The chat backend (events
/// that carried its token) sends from one server IP, so only its sessions are limited. A
/// session (or IP) over its limit gets 429, and one `rate_limited` event per limiter period is
/// recorded for it.
async fn rate_limit(
    req: &Request,
    env: &Env,
    store: &Store,
    event: &Event,
    from_backend: bool,
) -> Result<(), ApiError> {
    let ip = if from_backend {
        None
    } else {
        client_key(req, env)
    };
    let keys = [
        (
            "SESSION_LIMITER",
            event.session_id.as_deref().map(session_key),
        ),
        ("IP_LIMITER", ip),
    ];
    for (binding, key) in keys {
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
            note_rate_limited(env, store, event, key).await;
            return Err(ApiError::new(429, "too many events; slow down").with("Retry-After", "60"));
        }
    }
    Ok(())
}

/// Records a `rate_limited` event, at most once per key per `LIMIT_NOTES` period.
async fn note_rate_limited(env: &Env, store: &Store, event: &Event, key: String) {
    let Ok(notes) = env.rate_limiter("LIMIT_NOTES") else {
        return;
    };
    if !notes.limit(key).await.is_ok_and(|o| o.success) {
        return;
    }
    let mut note = Event::new(event.timestamp, EventType::RateLimited);
    note.session_id.clone_from(&event.session_id);
    note.page_url.clone_from(&event.page_url);
    note.page_title.clone_from(&event.page_title);
    note.referrer.clone_from(&event.referrer);
    if let Err(e) = store.put_event(&note, &random_suffix()).await {
        worker::console_error!("recording a rate_limited event failed: {e}");
    }
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

/// Checks Basic Auth for the admin routes. A client (IP hash) that fails more often than the
/// `AUTH_FAILURES` limiter allows is locked out for [`AUTH_LOCK_SECS`]: 429 before its
/// credentials are even looked at, so that guessing on cannot tell a right password.
async fn require_admin(req: &Request, env: &Env, store: &Store) -> Result<(), ApiError> {
    let locked_out = || {
        ApiError::new(
            429,
            format!(
                "too many failed logins from this address; try again in {} minutes",
                AUTH_LOCK_SECS / 60
            ),
        )
        .with("Retry-After", AUTH_LOCK_SECS.to_string())
    };
    let client = client_key(req, env);
    let lock = client.as_deref().map(auth_lock_key);
    if let Some(lock) = &lock {
        let (value, _) = store.get_with_metadata(lock).await?;
        if value.is_some() {
            return Err(locked_out());
        }
    }
    match auth::check_basic(
        header(req, "Authorization").as_deref(),
        secret(env, "ANALYTICS_PASSWORD").as_deref(),
    ) {
        Verdict::Granted => Ok(()),
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

enum Admin {
    Dashboard,
    Data,
    Export,
}

async fn admin(req: &Request, env: &Env, route: Admin) -> Handled {
    // One store for the request: the lockout check counts against its KV budget too.
    let store = store(env)?;
    require_admin(req, env, &store).await?;
    let url = req
        .url()
        .map_err(|e| ApiError::new(400, format!("bad URL: {e}")))?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let query = params::parse_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|message| ApiError::new(400, message))?;
    let now = now();
    let response = match route {
        Admin::Dashboard => dashboard(&store, now).await?,
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
    Ok(response)
}

/// The live summary over the last `days` days.
async fn summary(store: &Store, now: DateTime<Utc>, days: u32) -> Result<Summary, ApiError> {
    // Every event stamped up to the millisecond of the request counts.
    let to = Window::end_after(now);
    let from = to - TimeDelta::days(i64::from(days));
    let mut metrics = Metrics::new(Window::last_days(to, days));
    for day in store.daily_aggregates(from, to).await? {
        metrics.add_daily(&day);
    }
    let rest = store
        .read_events(from, to, None, usize::MAX, 0, &mut |e| metrics.add(&e))
        .await?;
    if rest.is_some() {
        return Err(ApiError::new(
            503,
            "too many events for a live summary within one request's storage budget; \
             use `reportgen --url`, which pages through the export",
        ));
    }
    Ok(metrics.finish(now))
}

/// `GET /analytics`: the published report, else the live page.
async fn dashboard(store: &Store, now: DateTime<Utc>) -> Handled {
    if let (Some(html), metadata) = store.get_with_metadata(REPORT_KEY).await? {
        let response = http::body(200, Kind::Html, html.into_bytes());
        for (field, name) in [
            ("publishedAt", "X-Report-Published-At"),
            ("generatedAt", "X-Report-Generated-At"),
        ] {
            if let Some(at) = metadata.as_ref().and_then(|m| m.get(field)?.as_str()) {
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

/// `GET /analytics/export`: one page of events in the requested format. The first page fixes
/// the window's end, just after the millisecond the request arrived (every event stamped up to
/// then is in); its cursor carries it, so every page covers the same window.
async fn export(store: &Store, now: DateTime<Utc>, query: &Query) -> Handled {
    let to = query
        .cursor
        .as_ref()
        .map_or_else(|| Window::end_after(now), |c| c.window_end);
    let from = to - TimeDelta::days(i64::from(query.days));
    let first_page = query.cursor.is_none();
    let (daily, gaps) = if first_page && query.format == Format::Json {
        (
            store.daily_aggregates(from, to).await?,
            store.gap_summaries().await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let start = query.cursor.as_ref().map(|c| Resume {
        day: c.day,
        kv_cursor: c.kv_cursor.clone(),
    });
    let mut events = Vec::new();
    let next = store
        .read_events(from, to, start, query.limit, EXPORT_RESERVE, &mut |e| {
            events.push(e)
        })
        .await?;
    let next = next.map(|r| {
        ExportCursor {
            window_end: to,
            day: r.day,
            kv_cursor: r.kv_cursor,
        }
        .encode()
    });
    let io = |e: std::io::Error| ApiError::new(500, e.to_string());
    let (kind, bytes) = match query.format {
        Format::Json => {
            let envelope = Envelope {
                schema_version: SCHEMA_VERSION,
                generated_at: now,
                from,
                to,
                events: &events,
                daily: &daily,
                gaps: &gaps,
                next_cursor: next.as_deref(),
            };
            let json =
                serde_json::to_vec(&envelope).map_err(|e| ApiError::new(500, e.to_string()))?;
            (Kind::Json, json)
        }
        Format::Ndjson => {
            let mut out = Vec::new();
            for e in &events {
                write_ndjson_line(&mut out, e).map_err(io)?;
            }
            (Kind::Ndjson, out)
        }
        Format::Csv => {
            let mut csv = CsvWriter::new(Vec::new()).map_err(io)?;
            for e in &events {
                csv.write(e).map_err(io)?;
            }
            (Kind::Csv, csv.finish().map_err(io)?)
        }
    };
    let response = http::body(200, kind, bytes);
    if let Some(cursor) = next {
        let mut link = worker::Url::parse("http://worker/analytics/export")
            .map_err(|e| ApiError::new(500, e.to_string()))?;
        link.query_pairs_mut()
            .append_pair("format", query.format.as_str())
            .append_pair("days", &query.days.to_string())
            .append_pair("limit", &query.limit.to_string())
            .append_pair("cursor", &cursor);
        let target = format!("{}?{}", link.path(), link.query().unwrap_or_default());
        let _ = response
            .headers()
            .set("Link", &format!("<{target}>; rel=\"next\""));
    }
    let _ = response
        .headers()
        .set("X-Export-Events", &events.len().to_string());
    Ok(response)
}

/// `PUT /analytics/report`: stores the report `reportgen --publish` uploads.
async fn publish(mut req: Request, env: &Env) -> Handled {
    let store = store(env)?;
    require_admin(&req, env, &store).await?;
    let too_large = |n: usize| {
        ApiError::new(
            413,
            format!("the report is {n} bytes; at most {MAX_REPORT_BYTES} are accepted"),
        )
    };
    if let Some(length) = header(&req, "Content-Length").and_then(|l| l.parse::<usize>().ok())
        && length > MAX_REPORT_BYTES
    {
        return Err(too_large(length));
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|e| ApiError::new(400, format!("cannot read the report: {e}")))?;
    if bytes.len() > MAX_REPORT_BYTES {
        return Err(too_large(bytes.len()));
    }
    let html =
        String::from_utf8(bytes).map_err(|_| ApiError::new(400, "the report is not UTF-8 text"))?;
    let start = html
        .trim_start()
        .get(..15)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(start.starts_with("<!doctype html") || start.starts_with("<html")) {
        return Err(ApiError::new(
            415,
            "the body is not an HTML report (it must start with <!DOCTYPE html>)",
        ));
    }
    let generated_at = header(&req, "X-Report-Generated-At")
        .and_then(|t| analytics::parse_timestamp(&t))
        .map(|t| analytics::format_timestamp(&t));
    let size = html.len();
    let published_at = analytics::format_timestamp(&now());
    store
        .put_with_metadata(
            REPORT_KEY,
            html,
            serde_json::json!({
                "publishedAt": published_at,
                "generatedAt": generated_at,
                "bytes": size,
            }),
            analytics::AGGREGATE_TTL_SECS,
        )
        .await?;
    let json = serde_json::json!({
        "published": true,
        "bytes": size,
        "publishedAt": published_at,
        "generatedAt": generated_at,
    });
    Ok(http::body(201, Kind::Json, json.to_string().into_bytes()))
}
