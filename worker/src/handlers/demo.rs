//! `POST /demo/chat` (development only): the demo's fake chat backend.

use analytics::{MAX_BODY_BYTES, parse_ingest};
use worker::{Env, Request};

use super::{ContextHeaders, Handled, random_suffix, read_body, store};
use crate::frontend;
use crate::http::{self, ApiError, Kind};
use crate::now;

/// `POST /demo/chat` (development only): the demo's fake chat backend. It answers from a tiny
/// knowledge base and records `message_sent` with the page context of `chatHeaders()` and its
/// timings, as a real chat backend does through the authenticated ingestion route.
pub(crate) async fn demo_chat(mut req: Request, env: &Env) -> Handled {
    let started = now();
    let bytes = read_body(&mut req, MAX_BODY_BYTES, "the request body").await?;
    let body: serde_json::Value = serde_json::from_slice(&bytes)
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
    let store = store(env)?;
    let salt = store.salt().await?;
    let context = headers.context(Some(&salt));
    let event = parse_ingest(event.to_string().as_bytes(), &context, now())
        .map_err(|e| ApiError::new(e.status(), e.to_string()))?;
    store.put_event(&event, &random_suffix()).await?;
    let json = serde_json::json!({ "answer": answer }).to_string();
    Ok(http::body(200, Kind::Json, json.into_bytes()))
}
