//! `PUT /analytics/report`: the report `reportgen --publish` uploads, kept for `GET /analytics`.

use analytics::REPORT_KEY;
use worker::{Env, Request};

use super::admin::{require_admin, with_device_cookie};
use super::{Handled, header, read_body, store};
use crate::http::{self, ApiError, Kind};
use crate::now;

/// The largest report `PUT /analytics/report` accepts.
pub const MAX_REPORT_BYTES: usize = 10 * 1024 * 1024;

/// `PUT /analytics/report`: stores the report `reportgen --publish` uploads.
pub(crate) async fn publish(mut req: Request, env: &Env) -> Handled {
    let store = store(env)?;
    let cookie = require_admin(&req, env, &store).await?;
    let bytes = read_body(&mut req, MAX_REPORT_BYTES, "the report").await?;
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
    if let Some(problem) = analytics::refused_markup(&html) {
        return Err(ApiError::new(400, problem));
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
    Ok(with_device_cookie(
        http::body(201, Kind::Json, json.to_string().into_bytes()),
        cookie,
    ))
}
