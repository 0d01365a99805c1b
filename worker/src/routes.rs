//! Which handler answers which path and method, and CORS on the ingestion route.

use worker::{Env, Method, Request, Response};

use crate::frontend;
use crate::handlers::{
    admin::{self, Admin},
    demo, header, ingest, publish, truncate,
};
use crate::http::{self, ApiError};
use crate::params;

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
            Method::Post => ingest::ingest(req, env, &allowed).await,
            Method::Options => Ok(http::empty(204)),
            _ => Err(not_allowed("POST, OPTIONS")),
        },
        "/analytics" | "/analytics/" => match method {
            Method::Get | Method::Head => admin::admin(&req, env, Admin::Dashboard).await,
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/analytics/data" => match method {
            Method::Get | Method::Head => admin::admin(&req, env, Admin::Data).await,
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/analytics/export" => match method {
            Method::Get | Method::Head => admin::admin(&req, env, Admin::Export).await,
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/analytics.js" => match method {
            Method::Get | Method::Head => Ok(frontend::tracker(&req)),
            _ => Err(not_allowed("GET, HEAD")),
        },
        "/demo" | "/demo/" | "/demo/demo.js" | "/demo/chat" if frontend::demo_enabled(env) => {
            match (path.as_str(), method) {
                ("/demo/chat", Method::Post) => demo::demo_chat(req, env).await,
                ("/demo/chat", _) => Err(not_allowed("POST")),
                ("/demo/demo.js", Method::Get | Method::Head) => Ok(frontend::demo_script()),
                (_, Method::Get | Method::Head) => Ok(frontend::demo_page()),
                _ => Err(not_allowed("GET, HEAD")),
            }
        }
        "/analytics/report" => match method {
            Method::Put => publish::publish(req, env).await,
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

fn not_allowed(allow: &'static str) -> ApiError {
    ApiError::new(405, format!("method not allowed here; use {allow}")).with("Allow", allow)
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
