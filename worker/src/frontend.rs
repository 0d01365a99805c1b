//! The site's side: the tracker script a site embeds with one `<script>` tag, and, in
//! development only (`DEMO_PAGE=on`, set by `npm run dev`), a demo page with a chat bubble and
//! a fake chat backend that records `message_sent` the way a real one does.

use worker::{Env, Request, Response};

use crate::http::{self, Kind};

/// `GET /analytics.js`: `trackEvent()` and `chatHeaders()` (source: `worker/assets/`).
pub const TRACKER_JS: &str = include_str!("../assets/analytics.js");
const DEMO_HTML: &str = include_str!("../demo/index.html");
const DEMO_JS: &str = include_str!("../demo/demo.js");

/// The demo page may run its own scripts and talk to its own origin; nothing else.
const CSP_DEMO: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                        style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
                        form-action 'none'; frame-ancestors 'none'";

/// A strong validator of `bytes`: the first 16 hex digits of their SHA-256, quoted.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", analytics::short_hash(bytes))
}

/// Whether `If-None-Match` names `tag` (or is `*`).
pub fn matches(if_none_match: Option<&str>, tag: &str) -> bool {
    if_none_match.is_some_and(|header| {
        header
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag || t == "*")
    })
}

/// The tracker script: cacheable for an hour, revalidated by its `ETag` (304 when unchanged),
/// loadable from any site.
pub fn tracker(req: &Request) -> Response {
    let tag = etag(TRACKER_JS.as_bytes());
    let not_modified = matches(
        req.headers().get("If-None-Match").ok().flatten().as_deref(),
        &tag,
    );
    let response = if not_modified {
        http::empty(304)
    } else {
        http::body(200, Kind::JavaScript, TRACKER_JS.as_bytes().to_vec())
    };
    let headers = response.headers();
    let _ = headers.set("ETag", &tag);
    let _ = headers.set("Cache-Control", "public, max-age=3600, must-revalidate");
    let _ = headers.set("Cross-Origin-Resource-Policy", "cross-origin");
    let _ = headers.set("Access-Control-Allow-Origin", "*");
    response
}

/// Whether the demo routes are served: only with the variable `DEMO_PAGE=on`.
pub fn demo_enabled(env: &Env) -> bool {
    env.var("DEMO_PAGE").is_ok_and(|v| v.to_string() == "on")
}

/// `GET /demo`.
pub fn demo_page() -> Response {
    let response = http::body(200, Kind::Html, DEMO_HTML.as_bytes().to_vec());
    let _ = response.headers().set("Content-Security-Policy", CSP_DEMO);
    response
}

/// `GET /demo/demo.js`.
pub fn demo_script() -> Response {
    http::body(200, Kind::JavaScript, DEMO_JS.as_bytes().to_vec())
}

/// The fake chat backend's answer to `question`: (answer, topic, found in the knowledge base).
pub fn demo_answer(question: &str) -> (&'static str, Option<&'static str>, bool) {
    let q = question.to_lowercase();
    let known: [(&[&str], &str, &str); 3] = [
        (
            &["commute", "bike", "suit"],
            "For up to 10 km on city streets the Acme Urban is the usual choice; for hills, the Urban E.",
            "bikes",
        ),
        (
            &["deliver", "shipping", "ship"],
            "Delivery takes 3 to 5 working days within the EU.",
            "delivery",
        ),
        (
            &["warranty", "guarantee", "repair"],
            "Every frame has a 10-year warranty; parts have 2 years.",
            "warranty",
        ),
    ];
    for (words, answer, topic) in known {
        if words.iter().any(|w| q.contains(w)) {
            return (answer, Some(topic), true);
        }
    }
    (
        "I don't know that yet. Someone from Acme will add it to my knowledge base.",
        None,
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_stable_quoted_and_matched() {
        let tag = etag(TRACKER_JS.as_bytes());
        assert_eq!(tag, etag(TRACKER_JS.as_bytes()));
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 18);
        assert!(matches(Some(&tag), &tag));
        assert!(matches(Some(&format!("\"x\", W/{tag}")), &tag));
        assert!(matches(Some("*"), &tag));
        assert!(!matches(Some("\"other\""), &tag));
        assert!(!matches(None, &tag));
    }

    #[test]
    fn the_fake_backend_answers_known_questions_and_marks_gaps() {
        assert_eq!(
            demo_answer("How long does delivery take?").1,
            Some("delivery")
        );
        assert!(demo_answer("Do you offer a warranty?").2);
        let (_, topic, found) = demo_answer("Can I pay in bitcoin?");
        assert_eq!((topic, found), (None, false));
    }
}
