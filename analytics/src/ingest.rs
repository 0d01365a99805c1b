//! Validation and privacy for events arriving at the worker's `POST /analytics-event`: the
//! server sets the time, strings are capped, URLs lose their query and fragment, and e-mail
//! addresses and phone numbers in free text are replaced before anything is stored.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::event::{Event, EventType};
use crate::keys::short_hash;
use crate::record::RecordBuilder;
use crate::schema::scalar::Scalar;
use crate::schema::{Field, fields};
use crate::scrub::scrub_pii;
use crate::text::{one_line, truncate_chars};

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// Page context sent as request headers (`X-Page-URL`, `X-Page-Title`, `X-Referrer`,
/// `X-Session-ID`), each filling its field when the body does not set it; and the worker's key
/// for the pseudonyms of session ids not of the tracker's form.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageContext<'a> {
    /// `X-Page-URL`.
    pub page_url: Option<&'a str>,
    /// `X-Page-Title`.
    pub page_title: Option<&'a str>,
    /// `X-Referrer`.
    pub referrer: Option<&'a str>,
    /// `X-Session-ID`.
    pub session_id: Option<&'a str>,
    /// The secret that keys the hash replacing a session id not of the tracker's form
    /// (`IP_HASH_SALT`, or the random salt the worker keeps); without one the hash is unkeyed.
    pub hash_key: Option<&'a str>,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The body is over [`MAX_BODY_BYTES`].
    #[error("the request body is {0} bytes; at most {MAX_BODY_BYTES} are accepted")]
    TooLarge(usize),
    /// The body is not a valid event; the message names the field.
    #[error("{0}")]
    Invalid(String),
}

impl IngestError {
    /// The HTTP status for this error: 413 or 400.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::TooLarge(_) => 413,
            IngestError::Invalid(_) => 400,
        }
    }
}

/// Parses and cleans one ingested event. `now` becomes its timestamp: a client's clock is not
/// trusted, and a `timestamp` in the body is ignored.
pub fn parse_ingest(
    body: &[u8],
    context: &PageContext<'_>,
    now: DateTime<Utc>,
) -> Result<Event, IngestError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(IngestError::TooLarge(body.len()));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| IngestError::Invalid(format!("the body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(object) = value else {
        return Err(IngestError::Invalid(
            "the body must be a JSON object such as {\"eventType\":\"bubble_opened\"}".into(),
        ));
    };
    let mut builder = RecordBuilder::default();
    for (key, value) in &object {
        match Field::from_name(key) {
            Some(Field::Timestamp) | None => {}
            Some(field) => builder.set_json(field, Scalar::from_value(value)),
        }
    }
    if let Some(error) = builder.field_error() {
        return Err(IngestError::Invalid(error.detail.clone()));
    }
    let event_type = match builder.event_type().map(str::trim) {
        Some(name) if !name.is_empty() => EventType::parse(name),
        _ => {
            return Err(IngestError::Invalid(
                "`eventType` is required (e.g. \"bubble_opened\")".into(),
            ));
        }
    };
    if !event_type.is_known() {
        return Err(IngestError::Invalid(format!(
            "`eventType` {:?} is not one of {}",
            truncate_chars(event_type.as_str(), 40),
            EventType::KNOWN.map(|t| t.as_str().to_owned()).join(", ")
        )));
    }
    let mut event = builder.into_event(now, event_type);
    fill(&mut event.page_url, context.page_url);
    fill(&mut event.page_title, context.page_title);
    fill(&mut event.referrer, context.referrer);
    fill(&mut event.session_id, context.session_id);
    clean(&mut event, context.hash_key.unwrap_or_default());
    Ok(event)
}

/// Cleans an event another writer stored straight into KV (the seed's backend), by the rules
/// ingestion applies: its text is held to the worker's rules whoever wrote it. `hash_key` keys
/// the pseudonym of a session id not in the tracker's form. Not for the worker's own events:
/// their session pseudonyms would be hashed again.
pub(crate) fn clean_stored(event: &mut Event, hash_key: &str) {
    clean(event, hash_key);
}

fn fill(field: &mut Option<String>, header: Option<&str>) {
    if field.is_none() {
        *field = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned);
    }
}

/// What ingestion does to a text field before it is stored, besides making it one line and
/// capping it at the length the schema's table gives. Each text field names its rule there.
#[derive(Debug, Clone, Copy)]
enum TextRule {
    /// A page URL or referrer: only `http(s)` URLs and paths, without query, fragment or
    /// credentials, e-mail addresses and phone numbers in the path (percent-decoded) scrubbed.
    Url,
    /// Free text, whoever wrote it (the visitor, the site, the chat backend): e-mail addresses
    /// and phone numbers scrubbed.
    Prose,
    /// A session id: kept in the tracker's form (`session-<epoch>-<random>`), anything else
    /// (an e-mail address, a customer number) replaced by a keyed hash that still tells
    /// sessions apart.
    Session,
}

macro_rules! ingest_rules {
    ($( $(#[$doc:meta])* $field:ident $variant:ident $name:literal : $kind:ident $(($rule:ident, $max:literal))?, )*) => {
        /// Applies the privacy rules and caps of the schema's table to every text field.
        fn clean(event: &mut Event, hash_key: &str) {
            $( $( clean_field(&mut event.$field, TextRule::$rule, $max, hash_key); )? )*
        }
    };
}
fields!(ingest_rules);

/// One text field cleaned: control characters become spaces, `rule` applies, the text is cut
/// at `max_chars` characters. A field that cleaning emptied (only spaces or controls, a URL
/// that was all query or fragment) is absent, as an empty string is in every reader: stored
/// as `""`, it would read back as a different event.
fn clean_field(field: &mut Option<String>, rule: TextRule, max_chars: usize, hash_key: &str) {
    let Some(text) = field.as_deref() else { return };
    let text = one_line(text);
    let cleaned = match rule {
        TextRule::Url if !web_or_relative(&text) => String::new(),
        TextRule::Url => settled(&text, max_chars, strip_query),
        // Decoding can bring back control characters: the stored text is one line again.
        TextRule::Prose => settled(&text, max_chars, |t| one_line(&scrub_pii(t))),
        TextRule::Session if text.is_empty() || tracker_session(&text) || is_pseudonym(&text) => {
            truncate_chars(&text, max_chars).into_owned()
        }
        TextRule::Session => pseudonym(&text, hash_key),
    };
    *field = (!cleaned.is_empty()).then_some(cleaned);
}

/// `text` cleaned by `clean` and cut at `max_chars`, again until cleaning changes nothing: a
/// cut can turn what cleaning left alone into something it takes (a date cut in half leaves
/// digits that join the ones before it), and what is stored must be what cleaning makes of it.
/// Text that does not settle within a few rounds (encoded over and over, each round of
/// decoding showing more) is not stored: the field is left out.
fn settled(text: &str, max_chars: usize, clean: impl Fn(&str) -> String) -> String {
    let mut out = truncate_chars(&clean(text), max_chars).into_owned();
    for _ in 0..SETTLE_ROUNDS {
        let again = truncate_chars(&clean(&out), max_chars).into_owned();
        if again == out {
            return out;
        }
        out = again;
    }
    String::new()
}

/// Rounds of cleaning a field may take to settle.
const SETTLE_ROUNDS: usize = 4;

/// A session id as the tracker makes it (`analytics.js`, and the seed's backend): `session-`,
/// epoch time in seconds (10 digits) or milliseconds (13), `-`, 9 lowercase letters or digits.
/// Little else fits that shape (a nine-digit number after a plausible epoch would).
pub fn tracker_session(id: &str) -> bool {
    let Some((epoch, random)) = id.strip_prefix("session-").and_then(|r| r.split_once('-')) else {
        return false;
    };
    matches!(epoch.len(), 10 | 13)
        && !epoch.starts_with('0')
        && epoch.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 9
        && random
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The stand-in for a session id not of the tracker's form: `h-` and 16 hex digits of a hash
/// keyed by `key`. Distinct ids stay distinct (sessions are still counted right); the id
/// itself is not kept.
/// Whether `id` is already a pseudonym [`pseudonym`] made: `h-` and 16 hex digits, which tell
/// nothing about anyone. Kept as it is, so cleaning an event twice changes nothing.
fn is_pseudonym(id: &str) -> bool {
    id.strip_prefix("h-").is_some_and(|hash| {
        hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn pseudonym(id: &str, key: &str) -> String {
    format!(
        "h-{}",
        short_hash(format!("session\u{0}{key}\u{0}{id}").as_bytes())
    )
}

/// Whether `url` is an `http(s)` URL or a path: other schemes (`javascript:`, `data:`, `file:`,
/// app referrers) are not stored.
fn web_or_relative(url: &str) -> bool {
    match url::Url::parse(url.trim()) {
        Ok(parsed) => matches!(parsed.scheme(), "http" | "https"),
        Err(_) => !url.contains(':') || url.starts_with('/'),
    }
}

/// A URL without its query string, fragment and credentials (they can carry e-mail addresses,
/// tokens and campaign ids), with any e-mail address or phone number in its path scrubbed,
/// also when percent-encoded (`/unsubscribe/john.doe%40example.com`); text that is not a URL
/// is cut at its first `?` or `#` and scrubbed the same way.
pub fn strip_query(url: &str) -> String {
    if let Ok(mut parsed) = url::Url::parse(url.trim())
        && parsed.has_host()
    {
        parsed.set_query(None);
        parsed.set_fragment(None);
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        if let Some(path) = scrub_path(parsed.path()) {
            parsed.set_path(&path);
        }
        return parsed.into();
    }
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let path = &url[..end];
    scrub_path(path).unwrap_or_else(|| path.to_owned())
}

/// What a scrubbed path segment has percent-encoded again: what a path cannot hold as is, `/`
/// (a decoded `%2F` stays inside its segment) and `%` itself, so that decoding it gives back
/// exactly the scrubbed text.
const SEGMENT_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A path with each segment scrubbed on its own (so `/blog/2024/05/12345-title` is not read as
/// a phone number), encoded again, so that a decoded `?` or `#` cannot start a query or a
/// fragment; `None` when no segment holds personal data.
fn scrub_path(path: &str) -> Option<String> {
    let mut changed = false;
    let segments: Vec<Cow<'_, str>> = path
        .split('/')
        .map(|segment| match scrub_pii(segment) {
            Cow::Owned(scrubbed) => {
                changed = true;
                Cow::Owned(utf8_percent_encode(&scrubbed, SEGMENT_ENCODE).to_string())
            }
            Cow::Borrowed(kept) => Cow::Borrowed(kept),
        })
        .collect();
    changed.then(|| segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        crate::parse_timestamp("2026-11-26T06:00:00.123Z").expect("time")
    }

    fn ingest(body: &str) -> Result<Event, IngestError> {
        parse_ingest(body.as_bytes(), &PageContext::default(), now())
    }

    #[test]
    fn text_is_stored_on_one_line_without_bidi_controls_and_urls_only_http() {
        let e = ingest(
            r#"{"eventType":"message_sent","question":"line one\nline\ttwo \u202egnp.exe\u0000",
                "pageUrl":"javascript:alert(1)","referrer":"data:text/html,<script>x</script>"}"#,
        )
        .expect("valid");
        assert_eq!(e.question.as_deref(), Some("line one line two gnp.exe"));
        assert_eq!(e.page_url, None, "javascript: is not a page");
        assert_eq!(e.referrer, None);
        for (url, kept) in [
            ("https://site.dev/a?b", Some("https://site.dev/a")),
            ("http://site.dev/", Some("http://site.dev/")),
            ("/relative/path", Some("/relative/path")),
            ("JavaScript:alert(1)", None),
            ("file:///etc/passwd", None),
            ("vbscript:msgbox", None),
        ] {
            let context = PageContext {
                page_url: Some(url),
                ..PageContext::default()
            };
            let e =
                parse_ingest(br#"{"eventType":"bubble_opened"}"#, &context, now()).expect("valid");
            assert_eq!(e.page_url.as_deref(), kept, "{url}");
        }
    }

    #[test]
    fn the_server_sets_the_time() {
        let e = ingest(r#"{"eventType":"bubble_opened","timestamp":"1999-01-01T00:00:00Z"}"#)
            .expect("valid");
        assert_eq!(e.timestamp, now());
        assert_eq!(e.event_type, EventType::BubbleOpened);
    }

    #[test]
    fn bad_bodies_are_400_naming_the_problem() {
        for (body, needle) in [
            ("not json", "not valid JSON"),
            ("[1]", "JSON object"),
            ("{}", "`eventType` is required"),
            (r#"{"eventType":"page_scrolled"}"#, "is not one of"),
            (
                r#"{"eventType":"message_sent","ragTimeMs":"fast"}"#,
                "ragTimeMs",
            ),
            (r#"{"eventType":"message_sent","success":"yes"}"#, "success"),
            (
                r#"{"eventType":"cta_clicked","question":{"a":1}}"#,
                "question",
            ),
        ] {
            let err = ingest(body).expect_err(body);
            assert_eq!(err.status(), 400, "{body}");
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
    }

    #[test]
    fn an_oversized_body_is_413() {
        let body = format!(
            r#"{{"eventType":"cta_clicked","question":"{}"}}"#,
            "a".repeat(9000)
        );
        let err = ingest(&body).expect_err("too large");
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn headers_fill_missing_page_context_but_do_not_override_the_body() {
        let context = PageContext {
            page_url: Some("https://site.dev/a?utm=x#top"),
            page_title: Some("A"),
            referrer: Some("https://www.google.com/search?q=me@x.com"),
            session_id: Some("session-1764100000000-header001"),
            hash_key: None,
        };
        let e = parse_ingest(
            br#"{"eventType":"widget_loaded","sessionId":"session-1764100000000-body00001"}"#,
            &context,
            now(),
        )
        .expect("valid");
        assert_eq!(e.page_url.as_deref(), Some("https://site.dev/a"));
        assert_eq!(e.page_title.as_deref(), Some("A"));
        assert_eq!(e.referrer.as_deref(), Some("https://www.google.com/search"));
        assert_eq!(
            e.session_id.as_deref(),
            Some("session-1764100000000-body00001")
        );
    }

    #[test]
    fn emails_and_phone_numbers_are_scrubbed_from_free_text() {
        let e = ingest(
            r#"{"eventType":"message_sent","question":"Mail jane.doe+cv@example.co.uk or call +44 20 7946 0958 / (555) 123-4567","errorMessage":"user bob@corp.io not found"}"#,
        )
        .expect("valid");
        assert_eq!(
            e.question.as_deref(),
            Some("Mail [email] or call [phone] / [phone]")
        );
        assert_eq!(e.error_message.as_deref(), Some("user [email] not found"));
    }

    #[test]
    fn numbers_side_by_side_are_scrubbed_too() {
        for text in [
            "call (555) 123-4567 (555) 987-6543",
            "Tel 06 1234 5678 06 8765 4321",
            "0612345678 0687654321",
            "card 4111 1111 1111 1111",
        ] {
            let scrubbed = scrub_pii(text);
            assert!(
                !scrubbed.chars().any(|c| c.is_ascii_digit()),
                "{text} → {scrubbed}"
            );
        }
    }

    #[test]
    fn urls_lose_credentials_and_pii_in_the_path() {
        assert_eq!(
            strip_query("https://user:pw@site.dev/u/jane@example.com/x?y=1"),
            "https://site.dev/u/[email]/x"
        );
    }

    #[test]
    fn dates_years_prices_and_times_are_not_phone_numbers() {
        for text in [
            "Were you at RustConf 2026-09-10?",
            "Salary 120000 per year",
            "Meet at 14:30 on 26.11.2026",
            "Version 1.2.3",
        ] {
            assert_eq!(scrub_pii(text), text);
        }
    }

    #[test]
    fn long_strings_are_capped() {
        let long = "x".repeat(600);
        let body =
            format!(r#"{{"eventType":"message_sent","question":"{long}","topic":"{long}"}}"#);
        let e = ingest(&body).expect("valid");
        assert_eq!(e.question.as_deref().map(|q| q.chars().count()), Some(500));
        assert_eq!(e.topic.as_deref().map(|t| t.chars().count()), Some(100));
    }

    #[test]
    fn a_field_that_cleaning_empties_is_absent() {
        // Found by the property tests: a header `X-Page-URL: ?` was stored as `pageUrl: ""`,
        // which every reader takes for an absent field, so the stored event did not read back.
        let context = PageContext {
            page_url: Some("?"),
            referrer: Some("#top"),
            ..PageContext::default()
        };
        let e = parse_ingest(br#"{"eventType":"message_sent"}"#, &context, now()).expect("valid");
        assert_eq!(e.page_url, None);
        assert_eq!(e.referrer, None);
        let e = ingest(
            r#"{"eventType":"message_sent","question":" \n\t ","topic":"\u202e","sessionId":"\u0000",
                "pageUrl":"?utm=x","pageTitle":" "}"#,
        )
        .expect("valid");
        assert_eq!(
            (e.question, e.topic, e.session_id, e.page_url, e.page_title),
            (None, None, None, None, None)
        );
    }

    #[test]
    fn query_and_fragment_are_stripped() {
        assert_eq!(strip_query("https://a.dev/p?x=1#y"), "https://a.dev/p");
        assert_eq!(strip_query("https://a.dev/p#y?x"), "https://a.dev/p");
        assert_eq!(strip_query("https://a.dev"), "https://a.dev/");
        assert_eq!(strip_query("/relative"), "/relative");
    }

    #[test]
    fn session_ids_not_of_the_trackers_form_become_keyed_hashes() {
        for kept in [
            "session-1764115382-5bys017z0",
            "session-1764115382123-abcdefgh9",
        ] {
            assert!(tracker_session(kept), "{kept}");
        }
        for hashed in [
            "anna@example.com",
            "session-4111111111111111-x",
            "session-015123456789-annamuell",
            "session-1764115382-ANNAMUELL",
            "session-1764115382-abc",
            "cust-1234567",
        ] {
            assert!(!tracker_session(hashed), "{hashed}");
            let context = PageContext {
                session_id: Some(hashed),
                hash_key: Some("key"),
                ..PageContext::default()
            };
            let e =
                parse_ingest(br#"{"eventType":"bubble_opened"}"#, &context, now()).expect("valid");
            let id = e.session_id.expect("an id");
            assert!(id.starts_with("h-") && id.len() == 18, "{hashed} → {id}");
            assert_eq!(id, pseudonym(hashed, "key"), "stable");
            assert_ne!(id, pseudonym(hashed, "other key"), "keyed");
        }
        assert_ne!(pseudonym("a", "key"), pseudonym("b", "key"));
    }
}
