//! Response helpers: one error type with its status, and the headers every response carries.

use worker::{Headers, Response};

/// Content-Security-Policy of HTML responses: inline styles only (the report's), nothing
/// loaded, never framed.
pub const CSP_HTML: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                            base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// Content-Security-Policy of every other response.
pub const CSP_DATA: &str = "default-src 'none'; frame-ancestors 'none'";

/// An error answer: status and a one-line message naming what is wrong.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Said in the body.
    pub message: String,
    /// Extra headers (`WWW-Authenticate`, `Allow`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error with no extra headers.
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if matches!(e, crate::store::StoreError::BadCursor) {
            return ApiError::new(400, e.to_string());
        }
        // The whole error goes to the log; the client gets one line without the JS stack,
        // file paths or other internals of the failure.
        worker::console_error!("{e}");
        let message = match &e {
            crate::store::StoreError::Kv(_) | crate::store::StoreError::Encode(_) => {
                "the analytics store is unavailable right now; the worker's log has the details"
                    .to_owned()
            }
            _ => e.to_string(),
        };
        ApiError::new(503, message).with("Retry-After", "30")
    }
}

/// The kind of body, for its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `text/html`.
    Html,
    /// `application/json`.
    Json,
    /// `application/x-ndjson`.
    Ndjson,
    /// `text/csv`.
    Csv,
    /// `text/plain`.
    Text,
    /// `text/javascript`.
    JavaScript,
}

impl Kind {
    fn content_type(self) -> &'static str {
        match self {
            Kind::Html => "text/html; charset=utf-8",
            Kind::Json => "application/json; charset=utf-8",
            Kind::Ndjson => "application/x-ndjson; charset=utf-8",
            Kind::Csv => "text/csv; charset=utf-8",
            Kind::Text => "text/plain; charset=utf-8",
            Kind::JavaScript => "text/javascript; charset=utf-8",
        }
    }
}

/// A response with a body and the security headers.
pub fn body(status: u16, kind: Kind, bytes: Vec<u8>) -> Response {
    let headers = security_headers(kind);
    let _ = headers.set("Content-Type", kind.content_type());
    match Response::from_bytes(bytes) {
        Ok(r) => r.with_status(status).with_headers(headers),
        Err(e) => fallback(&e.to_string()),
    }
}

/// A `200` whose body is streamed as `chunks` yields it; an `Err` chunk aborts the body, so the
/// client sees a failed download, never a complete-looking one.
pub fn stream<S>(kind: Kind, chunks: S) -> Response
where
    S: futures_util::TryStream<Ok = Vec<u8>, Error = worker::Error> + 'static,
{
    let headers = security_headers(kind);
    let _ = headers.set("Content-Type", kind.content_type());
    match Response::from_stream(chunks) {
        Ok(r) => r.with_status(200).with_headers(headers),
        Err(e) => fallback(&e.to_string()),
    }
}

/// A response without a body (204, 405 to a preflight, …).
pub fn empty(status: u16) -> Response {
    match Response::empty() {
        Ok(r) => r
            .with_status(status)
            .with_headers(security_headers(Kind::Text)),
        Err(e) => fallback(&e.to_string()),
    }
}

/// The answer for an error: `{"error": message, "status": status}`.
pub fn error(e: ApiError) -> Response {
    let json = serde_json::json!({ "error": e.message, "status": e.status });
    let response = body(e.status, Kind::Json, json.to_string().into_bytes());
    for (name, value) in e.headers {
        let _ = response.headers().set(name, &value);
    }
    response
}

fn security_headers(kind: Kind) -> Headers {
    let headers = Headers::new();
    let csp = if kind == Kind::Html {
        CSP_HTML
    } else {
        CSP_DATA
    };
    for (name, value) in [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-store"),
    ] {
        let _ = headers.set(name, value);
    }
    headers
}

fn fallback(message: &str) -> Response {
    worker::console_error!("building a response failed: {message}");
    Response::error("internal error", 500).unwrap_or_else(|_| Response::ok("").expect("empty"))
}
