//! The Cloudflare Worker (stub while the routes are written).

use worker::{Context, Env, Request, Response, Result, event};

/// Entry point for HTTP requests.
#[event(fetch)]
pub async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("analytics worker")
}
