//! Records as KV holds them, whoever wrote them. The worker keeps each event whole in its key's
//! metadata (`event:{RFC 3339 ms}:{random}`); the seed's backend writes straight into the same
//! namespace: `event:` keys whose *value* is the event's JSON, the key's time in RFC 3339 with
//! or without milliseconds or in epoch milliseconds, and legacy `log:` records. Here: how a
//! key's time is read, how such a value becomes an event, and which key prefixes a reader
//! lists, in what order, to see every record of a window exactly once ([`Listing`]).

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde_json::Value;

use crate::event::{Event, EventType, format_timestamp, parse_timestamp};
use crate::ingest::clean_stored;
use crate::keys::EVENT_PREFIX;
use crate::record::{Rejection, SkipReason, parse_json_event};

/// Prefix of the seed's legacy log records (`log:{timestamp}:{random}`).
pub const LOG_PREFIX: &str = "log:";

/// The key families that hold events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `event:` keys: the worker's own, and the seed's.
    Event,
    /// `log:` keys: the seed's legacy records.
    Log,
}

impl Family {
    /// The family's key prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Family::Event => EVENT_PREFIX,
            Family::Log => LOG_PREFIX,
        }
    }

    /// The family of a key, if it is one of them.
    pub fn of_key(key: &str) -> Option<Family> {
        [Family::Event, Family::Log]
            .into_iter()
            .find(|f| key.starts_with(f.prefix()))
    }
}

/// The time in a key `{prefix}{time}:{random}`: RFC 3339 in UTC (`Z`), with or without a
/// fraction of a second, or epoch milliseconds (13 digits, as `Date.now()` gives).
pub fn stored_key_time(key: &str) -> Option<DateTime<Utc>> {
    let rest = key.strip_prefix(Family::of_key(key)?.prefix())?;
    if rest.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && let Some((digits, _)) = rest.split_once(':')
        && digits.len() == EPOCH_DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return DateTime::from_timestamp_millis(digits.parse().ok()?);
    }
    // RFC 3339 holds colons itself: the time ends at its `Z`.
    let end = rest.find('Z')?;
    rest.get(end + 1..)?.strip_prefix(':')?;
    parse_timestamp(&rest[..=end])
}

/// Digits of an epoch-millisecond key time (from 2001-09-09 to 2286-11-20).
const EPOCH_DIGITS: usize = 13;

/// Whether `key` has exactly the form the worker gives its own events' keys
/// ([`crate::event_key`]: fixed-width RFC 3339 with milliseconds, then 12 lowercase hex
/// digits): only such a key's metadata is taken as an event the worker already cleaned. Every
/// other record, another writer's even when it puts its event in metadata too, is cleaned on
/// the way out ([`stored_event`], [`stored_metadata_event`]).
pub fn own_event_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix(EVENT_PREFIX) else {
        return false;
    };
    let time = rest.get(..24).filter(|t| t.ends_with('Z'));
    let random = rest.get(24..).and_then(|r| r.strip_prefix(':'));
    time.is_some_and(|t| parse_timestamp(t).is_some())
        && random.is_some_and(|r| {
            r.len() == 12
                && r.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// The event in a value another writer stored (the seed's backend): its JSON, read like any
/// export record, then cleaned as ingestion cleans (e-mail addresses and phone numbers
/// scrubbed, query strings cut, a session id not in the tracker's form replaced by a keyed
/// hash made with `hash_key`): what the worker serves is held to its own rules, whoever wrote
/// it. A `log:` record is read when it is a JSON object with a valid `timestamp`; its
/// `eventType` is `message_sent` when it has none. A `timestamp` in epoch milliseconds is
/// taken too. The event's time is then its key's, `key_time`: the time that decides which
/// window and which day's rollup the record is listed in, so that it counts in exactly one.
pub fn stored_event(
    family: Family,
    key_time: DateTime<Utc>,
    value: &str,
    hash_key: &str,
) -> Result<Event, Rejection> {
    let mut object = match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(object)) => object,
        Ok(other) => {
            return Err(Rejection::new(
                SkipReason::NotAnObject,
                format!("the stored value is a JSON {}, not an object", kind(&other)),
            ));
        }
        Err(e) => {
            return Err(Rejection::new(
                SkipReason::InvalidJson,
                format!("the stored value is not JSON: {e}"),
            ));
        }
    };
    if let Some(ms) = object.get("timestamp").and_then(Value::as_i64)
        && let Some(at) = DateTime::from_timestamp_millis(ms)
    {
        object.insert("timestamp".into(), format_timestamp(&at).into());
    }
    if family == Family::Log && object.get("eventType").is_none_or(Value::is_null) {
        object.insert("eventType".into(), EventType::MessageSent.as_str().into());
    }
    let json = serde_json::to_vec(&object)
        .map_err(|e| Rejection::new(SkipReason::InvalidJson, format!("re-encoding failed: {e}")))?;
    let mut event = parse_json_event(&json)?;
    event.timestamp = key_time;
    clean_stored(&mut event, hash_key);
    Ok(event)
}

/// Another writer's event carried in its key's metadata (a common way to write KV), read and
/// cleaned as [`stored_event`] reads and cleans a value.
pub fn stored_metadata_event(
    key_time: DateTime<Utc>,
    metadata: &str,
    hash_key: &str,
) -> Result<Event, Rejection> {
    let mut event = parse_json_event(metadata.as_bytes())?;
    event.timestamp = key_time;
    clean_stored(&mut event, hash_key);
    Ok(event)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Milliseconds of the blocks epoch-keyed records are listed in: `event:17405` lists the keys
/// of 100,000,000 ms (27.8 hours), as 13-digit keys sort by time.
const BLOCK_MS: i64 = 100_000_000;
const DAY_MS: i64 = 86_400_000;

/// The places a window's records are listed from, in order. For each UTC day: the day's RFC
/// 3339 `event:` keys (`event:2026-11-25T`, with or without milliseconds), then epoch-keyed
/// `event:` keys in the block that starts that day (and, on the first day, the block already
/// under way), then the same for `log:`. Every key of the window is in exactly one place, and
/// the places come day by day; an epoch block runs 27.8 hours, so its records reach into the
/// next day or two. Families the namespace holds no key of are left out, so the worker's own
/// data costs one list call a day, as before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    first_day: NaiveDate,
    last_day: NaiveDate,
    epoch_events: bool,
    logs: bool,
}

/// A place in a [`Listing`]: a UTC day and which of its prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Spot {
    /// The day.
    pub day: NaiveDate,
    /// The prefix within the day, below [`Spot::PARTS`].
    pub part: u8,
}

impl Spot {
    /// Prefixes a day can have.
    pub const PARTS: u8 = 6;

    /// The place after this one, whether or not it has anything to list.
    fn next(self) -> Option<Spot> {
        Some(if self.part + 1 < Spot::PARTS {
            Spot {
                part: self.part + 1,
                ..self
            }
        } else {
            Spot {
                day: self.day.checked_add_days(Days::new(1))?,
                part: 0,
            }
        })
    }
}

/// What a namespace holds besides the worker's own keys, learnt by one list call a family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holds {
    /// Some `event:` key has an epoch-millisecond time.
    pub epoch_events: bool,
    /// Some `log:` key exists.
    pub logs: bool,
}

impl Holds {
    /// The prefixes whose (one-key) listings tell what the namespace holds: epoch-keyed
    /// events, and logs.
    pub const PROBES: [&'static str; 2] = ["event:1", LOG_PREFIX];
}

impl Listing {
    /// The listing of `[from, to)`, without the families `holds` says are absent. Every day
    /// of the window is listed: records expire by the TTL their writer gave them, not by the
    /// worker's 30 days.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>, holds: Holds) -> Listing {
        Listing {
            from,
            to,
            first_day: from.date_naive(),
            last_day: (to - TimeDelta::nanoseconds(1)).date_naive(),
            epoch_events: holds.epoch_events,
            logs: holds.logs,
        }
    }

    /// Whether the namespace holds records of other writers' forms.
    pub fn has_other_writers(&self) -> bool {
        self.epoch_events || self.logs
    }

    /// Whether a key's time lies in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }

    /// The first place to list at or after `spot` (the listing's start when `None` or
    /// earlier), or `None` when nothing is left.
    pub fn at_or_after(&self, spot: Option<Spot>) -> Option<Spot> {
        let start = Spot {
            day: self.first_day,
            part: 0,
        };
        let mut spot = spot.map_or(start, |s| s.max(start));
        while spot.day <= self.last_day {
            if self.prefix(spot).is_some() {
                return Some(spot);
            }
            spot = spot.next()?;
        }
        None
    }

    /// The next place after `spot`.
    pub fn after(&self, spot: Spot) -> Option<Spot> {
        self.at_or_after(Some(spot.next()?))
    }

    /// The key prefix to list at `spot`, `None` when it has nothing to list.
    pub fn prefix(&self, spot: Spot) -> Option<String> {
        if spot.day < self.first_day || spot.day > self.last_day {
            return None;
        }
        let (family, form) = (spot.part / 3, spot.part % 3);
        let family = match family {
            0 => Family::Event,
            1 if self.logs => Family::Log,
            _ => return None,
        };
        if form > 0 && family == Family::Event && !self.epoch_events {
            return None;
        }
        let day_start = spot
            .day
            .and_time(NaiveTime::MIN)
            .and_utc()
            .timestamp_millis();
        let block = match form {
            0 => {
                return Some(format!(
                    "{}{}T",
                    family.prefix(),
                    spot.day.format("%Y-%m-%d")
                ));
            }
            // The block under way when the listing starts, if it began before the first day.
            1 if spot.day == self.first_day => {
                let low = self.from.timestamp_millis().max(day_start);
                let block = low.div_euclid(BLOCK_MS);
                (block * BLOCK_MS < day_start).then_some(block)?
            }
            1 => return None,
            // The block that starts this day, if one does.
            _ => {
                let block = day_start.div_euclid(BLOCK_MS) + 1;
                let block = if day_start % BLOCK_MS == 0 {
                    block - 1
                } else {
                    block
                };
                (block * BLOCK_MS < day_start + DAY_MS).then_some(block)?
            }
        };
        Some(format!("{}{block}", family.prefix()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).expect("time")
    }

    #[test]
    fn key_times_in_all_three_forms_and_both_families() {
        let t = at("2026-02-26T10:30:00Z");
        for key in [
            "event:2026-02-26T10:30:00Z:abc",
            "event:2026-02-26T10:30:00.000Z:abc",
            "log:2026-02-26T10:30:00Z:x1",
            &format!("event:{}:r4nd", t.timestamp_millis()),
            &format!("log:{}:r4nd", t.timestamp_millis()),
        ] {
            assert_eq!(stored_key_time(key), Some(t), "{key}");
        }
        assert_eq!(
            stored_key_time("event:2026-02-26T10:30:00.5Z:abc"),
            Some(at("2026-02-26T10:30:00.5Z"))
        );
        for bad in [
            "event:garbage",
            "event:2026-02-26T10:30:00Z",
            "event:1740565800:abc",
            "event:2026-02-26T10:30:00+01:00:abc",
            "daily:2026-02-26",
            "log:",
        ] {
            assert_eq!(stored_key_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn seed_values_and_logs_become_events_cleaned_like_ingestion() {
        let seed = r#"{"timestamp":"2026-02-26T10:30:00Z","eventType":"message_sent",
            "sessionId":"session-1740123456-abc123xyz","question":"mail me at ann@example.com",
            "pageUrl":"https://a.dev/about?email=ann@example.com","errorType":null,"extra":1}"#;
        let e =
            stored_event(Family::Event, at("2026-02-26T10:30:00.400Z"), seed, "key").expect("read");
        assert_eq!(
            e.timestamp,
            at("2026-02-26T10:30:00.400Z"),
            "the key's time"
        );
        assert_eq!(
            e.session_id.as_deref(),
            Some("session-1740123456-abc123xyz")
        );
        assert!(!e.question.as_deref().unwrap_or("").contains("ann@"));
        assert_eq!(e.page_url.as_deref(), Some("https://a.dev/about"));
        assert_eq!(e.error_type, None);

        let log = r#"{"timestamp":1772101800000,"question":"hi","sessionId":"ann@example.com"}"#;
        let key_time = DateTime::from_timestamp_millis(1_772_101_800_000).expect("time");
        let e = stored_event(Family::Log, key_time, log, "key").expect("log");
        assert_eq!(e.event_type, EventType::MessageSent);
        assert_eq!(e.timestamp, key_time);
        let again = stored_metadata_event(key_time, &crate::event_json(&e), "key");
        assert_eq!(
            again.as_ref(),
            Ok(&e),
            "cleaning twice changes nothing, pseudonyms kept"
        );
        let session = e.session_id.expect("pseudonym");
        assert!(
            session.starts_with("h-") && !session.contains("ann"),
            "{session}"
        );

        let reason = |family, value: &str| {
            stored_event(family, DateTime::UNIX_EPOCH, value, "k")
                .expect_err(value)
                .reason
        };
        assert_eq!(reason(Family::Log, "not json"), SkipReason::InvalidJson);
        assert_eq!(reason(Family::Log, "[1]"), SkipReason::NotAnObject);
        assert_eq!(
            reason(Family::Log, r#"{"q":1}"#),
            SkipReason::MissingTimestamp
        );
        assert_eq!(
            reason(Family::Log, r#"{"timestamp":"soon"}"#),
            SkipReason::InvalidTimestamp
        );
        assert_eq!(
            reason(Family::Event, r#"{"timestamp":"2026-02-26T10:30:00Z"}"#),
            SkipReason::MissingEventType,
            "an event: value needs its type; only a log gets message_sent"
        );
    }

    #[test]
    fn only_keys_of_the_workers_own_form_are_its_own() {
        let own = crate::event_key(&at("2026-02-26T10:30:00Z"), "0123456789ab");
        assert!(own_event_key(&own), "{own}");
        for other in [
            "event:2026-02-26T10:30:00.000Z:abc",
            "event:2026-02-26T10:30:00.000Z:0123456789AB",
            "event:2026-02-26T10:30:00Z:0123456789ab",
            "event:1772101800000:0123456789ab",
            "log:2026-02-26T10:30:00.000Z:0123456789ab",
            "event:2026-02-26T10:30:00.000Z:0123456789abc",
        ] {
            assert!(!own_event_key(other), "{other}");
        }
    }

    fn all_prefixes(listing: &Listing) -> Vec<String> {
        let mut out = Vec::new();
        let mut spot = listing.at_or_after(None);
        while let Some(s) = spot {
            out.push(listing.prefix(s).expect("a listed spot has a prefix"));
            spot = listing.after(s);
        }
        out
    }

    #[test]
    fn without_other_writers_a_listing_is_one_prefix_a_day() {
        let listing = Listing::new(
            at("2026-11-24T06:00:00Z"),
            at("2026-11-26T06:00:00Z"),
            Holds::default(),
        );
        assert_eq!(
            all_prefixes(&listing),
            [
                "event:2026-11-24T",
                "event:2026-11-25T",
                "event:2026-11-26T"
            ]
        );
    }

    #[test]
    fn every_epoch_millisecond_of_the_window_is_in_exactly_one_block() {
        for (from, to) in [
            ("2026-11-01T05:00:00Z", "2026-12-01T05:00:00.001Z"),
            ("2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"),
            ("2026-11-25T23:59:59Z", "2026-11-26T00:00:01Z"),
            ("2026-02-26T10:30:00Z", "2026-02-26T10:30:00.001Z"),
        ] {
            let (from, to) = (at(from), at(to));
            let listing = Listing::new(
                from,
                to,
                Holds {
                    epoch_events: true,
                    logs: true,
                },
            );
            let prefixes = all_prefixes(&listing);
            let blocks: Vec<i64> = prefixes
                .iter()
                .filter_map(|p| p.strip_prefix("event:")?.parse().ok())
                .collect();
            assert!(blocks.windows(2).all(|w| w[0] + 1 == w[1]), "{blocks:?}");
            assert!(blocks[0] * BLOCK_MS <= from.timestamp_millis());
            let last = blocks[blocks.len() - 1];
            assert!(
                (last + 1) * BLOCK_MS >= to.timestamp_millis(),
                "{prefixes:?}"
            );
            let logs = prefixes.iter().filter(|p| p.starts_with("log:")).count();
            assert_eq!(logs, prefixes.len() / 2, "logs mirror events: {prefixes:?}");
        }
    }

    #[test]
    fn the_listing_resumes_where_it_stopped() {
        let listing = Listing::new(
            at("2026-10-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            Holds::default(),
        );
        let first = listing.at_or_after(None).expect("first");
        assert_eq!(listing.prefix(first).as_deref(), Some("event:2026-10-01T"));
        let early = Spot {
            day: NaiveDate::from_ymd_opt(2026, 9, 5).expect("date"),
            part: 0,
        };
        assert_eq!(listing.at_or_after(Some(early)), Some(first));
        let within = Spot {
            day: NaiveDate::from_ymd_opt(2026, 11, 5).expect("date"),
            part: 1,
        };
        let next = listing.at_or_after(Some(within)).expect("the next day");
        assert_eq!(listing.prefix(next).as_deref(), Some("event:2026-11-06T"));
        let last = Spot {
            day: NaiveDate::from_ymd_opt(2026, 11, 30).expect("date"),
            part: 0,
        };
        assert_eq!(listing.after(last), None);
    }
}
