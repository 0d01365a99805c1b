//! The KV key scheme and TTLs, and the compact copy of an event kept in its key's metadata so
//! that one `list` call returns up to 1,000 events without a `get` each.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::event::Event;

const DAY_SECS: u64 = 86_400;
/// Raw events live 30 days.
pub const EVENT_TTL_SECS: u64 = 30 * DAY_SECS;
/// Daily aggregates and gap records live 90 days.
pub const AGGREGATE_TTL_SECS: u64 = 90 * DAY_SECS;
/// How long a client is locked out of the dashboard after too many failed logins.
pub const AUTH_LOCK_SECS: u64 = 5 * 60;

/// Prefix of raw event keys.
pub const EVENT_PREFIX: &str = "event:";
/// Prefix of daily aggregate keys.
pub const DAILY_PREFIX: &str = "daily:";
/// Prefix of knowledge-gap records.
pub const GAP_PREFIX: &str = "gaps:";
/// Where the report `reportgen --publish` uploaded is kept (no TTL: the latest replaces it).
pub const REPORT_KEY: &str = "report:latest";
/// Largest metadata KV stores with a key, in bytes of JSON.
pub const METADATA_LIMIT: usize = 1024;

/// `event:{timestamp}:{random}`: the timestamp in fixed-width RFC 3339 with milliseconds, so
/// that keys sort by time and a day's keys share the prefix [`event_day_prefix`].
pub fn event_key(timestamp: &DateTime<Utc>, random: &str) -> String {
    format!(
        "{EVENT_PREFIX}{}:{random}",
        timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

/// The prefix shared by every event key of one UTC day.
pub fn event_day_prefix(day: NaiveDate) -> String {
    format!("{EVENT_PREFIX}{}T", day.format("%Y-%m-%d"))
}

/// The time encoded in an event key.
pub fn event_key_time(key: &str) -> Option<DateTime<Utc>> {
    let rest = key.strip_prefix(EVENT_PREFIX)?;
    // The timestamp is 24 characters: 2026-11-26T06:00:00.123Z.
    crate::event::parse_timestamp(rest.get(..24)?)
}

/// `daily:{YYYY-MM-DD}`.
pub fn daily_key(day: NaiveDate) -> String {
    format!("{DAILY_PREFIX}{}", day.format("%Y-%m-%d"))
}

/// `gaps:{hash}` of a normalised question.
pub fn gap_key(normalized: &str) -> String {
    format!("{GAP_PREFIX}{}", short_hash(normalized.as_bytes()))
}

/// `ip:{hash}`: the rate-limit key of a client, salted so the address cannot be recovered
/// from it. The address itself is never stored anywhere. An IPv6 client is keyed by its /64
/// ([`client_network`]): one subscriber line holds 2^64 addresses.
pub fn ip_key(salt: &str, ip: &str) -> String {
    let network = client_network(ip);
    format!(
        "ip:{}",
        short_hash(format!("{salt}\u{0}{network}").as_bytes())
    )
}

/// The network a client address stands for: an IPv4 address itself (an IPv4-mapped IPv6
/// address too), an IPv6 address's /64, and anything unparsable as given, trimmed.
pub fn client_network(ip: &str) -> String {
    match ip.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
        Err(_) => ip.trim().to_owned(),
    }
}

/// Where the worker keeps the salt it made for itself when `IP_HASH_SALT` is not set: 32
/// random bytes as hex, no TTL. Client keys, session pseudonyms and device cookies are keyed by
/// it, so they reveal nothing (not even a guess of a secret) to anyone without KV access.
pub const SALT_KEY: &str = "secret:salt";

/// `authlock:{ip key}`: present while a client that failed Basic Auth too often is locked out
/// of the dashboard. Holds nothing but its TTL ([`AUTH_LOCK_SECS`]).
pub fn auth_lock_key(ip_key: &str) -> String {
    format!("authlock:{ip_key}")
}

/// `session:{id}`: the rate-limit key of a session.
pub fn session_key(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
pub fn short_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)[..8])
}

/// `bytes` as lowercase hex digits, two a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Metadata for an event's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The JSON to store, at most [`METADATA_LIMIT`] bytes.
    pub json: String,
    /// False when the event did not fit: the metadata is only a marker, read the value.
    pub complete: bool,
}

/// The marker stored when an event is too large for metadata.
const TRUNCATED: &str = "{\"truncated\":true}";

/// The metadata for `event`: the whole event when it fits in [`METADATA_LIMIT`] bytes (nearly
/// always: text fields are capped on ingestion), else a marker telling readers to get the value.
pub fn event_metadata(event: &Event) -> Metadata {
    let full = event_json(event);
    if full.len() <= METADATA_LIMIT {
        Metadata {
            json: full,
            complete: true,
        }
    } else {
        Metadata {
            json: TRUNCATED.to_owned(),
            complete: false,
        }
    }
}

/// An event as stored: compact JSON.
pub fn event_json(event: &Event) -> String {
    serde_json::to_string(event).expect("an Event always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventType;
    use crate::record::parse_json_event;

    fn at(text: &str) -> DateTime<Utc> {
        crate::parse_timestamp(text).expect("time")
    }

    #[test]
    fn event_keys_sort_by_time_and_share_a_day_prefix() {
        let a = event_key(&at("2026-11-26T06:00:00Z"), "aaaa");
        let b = event_key(&at("2026-11-26T06:00:00.5Z"), "0000");
        let c = event_key(&at("2026-11-26T10:00:00Z"), "0000");
        assert_eq!(a, "event:2026-11-26T06:00:00.000Z:aaaa");
        assert!(a < b && b < c);
        let day = event_day_prefix(NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"));
        assert!(a.starts_with(&day) && c.starts_with(&day));
        assert_eq!(event_key_time(&b), Some(at("2026-11-26T06:00:00.5Z")));
        assert_eq!(event_key_time("event:garbage"), None);
    }

    #[test]
    fn aggregate_keys() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
        assert_eq!(daily_key(day), "daily:2026-11-26");
        let key = gap_key("do you know rust");
        assert_eq!(key.len(), "gaps:".len() + 16);
        assert_eq!(key, gap_key("do you know rust"), "stable");
        assert_ne!(key, gap_key("do you know go"));
    }

    #[test]
    fn small_events_are_stored_whole_in_metadata() {
        let mut e = Event::new(at("2026-11-26T06:00:00Z"), EventType::MessageSent);
        e.question = Some("Do you know Rust?".into());
        let m = event_metadata(&e);
        assert!(m.complete);
        assert_eq!(parse_json_event(m.json.as_bytes()), Ok(e));
    }

    #[test]
    fn ip_keys_are_salted_hashes() {
        let key = ip_key("salt", "203.0.113.7");
        assert!(key.starts_with("ip:") && !key.contains("203.0.113.7"));
        assert_ne!(key, ip_key("other salt", "203.0.113.7"));
        assert_eq!(key, ip_key("salt", "203.0.113.7"));
    }

    #[test]
    fn large_events_are_marked_for_a_value_read() {
        let mut e = Event::new(at("2026-11-26T06:00:00Z"), EventType::MessageSent);
        e.question = Some("é".repeat(500));
        e.error_message = Some("x".repeat(500));
        e.page_url = Some(format!("https://a.dev/{}", "p".repeat(2000)));
        let m = event_metadata(&e);
        assert!(!m.complete);
        assert!(m.json.len() <= METADATA_LIMIT, "{}", m.json.len());
        assert_eq!(m.json, TRUNCATED, "the value must be read");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_ipv4_by_their_address() {
        assert_eq!(client_network("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_network(" ::ffff:203.0.113.7 "), "203.0.113.7");
        assert_eq!(
            client_network("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64"
        );
        let a = ip_key("salt", "2001:db8:1:2::1");
        assert_eq!(
            a,
            ip_key("salt", "2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "one /64"
        );
        assert_ne!(a, ip_key("salt", "2001:db8:1:3::1"), "the next /64");
        assert_ne!(ip_key("salt", "203.0.113.7"), ip_key("salt", "203.0.113.8"));
        assert_eq!(client_network("not an address"), "not an address");
    }
}
