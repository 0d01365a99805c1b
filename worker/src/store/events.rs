//! Reading a window's records from KV: the places of its [`Listing`] walked one list call at a
//! time, at a careful pace (stopping in time, with a place to resume) or an assured one (after
//! [`Store::cost`] has counted what the rest will take); each record the worker's own event or
//! another writer's, read and cleaned; what could not be read counted by reason.

use std::collections::BTreeMap;

use analytics::{
    Event, Family, Holds, Listing, Metrics, SkipReason, Spot, own_event_key, parse_json_event,
    stored_event, stored_key_time, stored_metadata_event,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{LIST_LIMIT, Store, StoreError, StoreResult};

/// Where reading events resumes: a place in the window's [`Listing`] and KV's list cursor
/// within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The prefix being listed.
    pub spot: Spot,
    /// KV's cursor within it.
    pub kv_cursor: Option<String>,
}

/// Whether a key's metadata holds its event (else its value must be read): the worker's own
/// compact event, or another writer's put there. Looked at, not parsed: counting a window's
/// cost must stay cheap.
fn holds_event(metadata: &Value) -> bool {
    metadata.get("timestamp").is_some() && metadata.get("truncated").is_none()
}

/// How boldly reading spends the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Each list call asks for no more keys than the budget less `reserve` operations could
    /// read values for, so reading stops in time, with a place to resume from.
    Careful {
        /// Operations kept back for the rest of the request.
        reserve: u32,
    },
    /// Full list calls: [`Store::cost`] has shown that the budget holds the rest.
    Assured,
}

/// The operations reading the rest of a listing takes ([`Store::cost`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// List calls.
    pub lists: u32,
    /// Values to read: records whose key's metadata does not hold the event.
    pub values: u32,
}

impl Cost {
    /// Every operation.
    pub fn total(self) -> u32 {
        self.lists + self.values
    }
}

/// A walk through a listing's places, one list call at a time.
struct Walk<'l> {
    listing: &'l Listing,
    spot: Option<Spot>,
    kv_cursor: Option<String>,
    /// The next list call uses a cursor a client handed back (a failure is then its fault).
    client_cursor: bool,
}

impl<'l> Walk<'l> {
    fn new(listing: &'l Listing, start: Option<Resume>) -> Walk<'l> {
        let (spot, kv_cursor) = match start {
            Some(at) => match listing.at_or_after(Some(at.spot)) {
                Some(spot) if spot == at.spot => (Some(spot), at.kv_cursor),
                spot => (spot, None),
            },
            None => (listing.at_or_after(None), None),
        };
        Walk {
            listing,
            spot,
            client_cursor: kv_cursor.is_some(),
            kv_cursor,
        }
    }

    /// Where the walk stands, `None` at its end.
    fn at(&self) -> Option<Resume> {
        self.spot.map(|spot| Resume {
            spot,
            kv_cursor: self.kv_cursor.clone(),
        })
    }

    /// The next (at most) `batch` keys, one list call, and the walk moved past them.
    async fn list(&mut self, store: &Store, batch: usize) -> StoreResult<Vec<worker::kv::Key>> {
        let Some(at) = self.spot else {
            return Ok(Vec::new());
        };
        let prefix = self
            .listing
            .prefix(at)
            .expect("a listed place has a prefix");
        store.charge("reading events")?;
        let client_cursor = std::mem::take(&mut self.client_cursor);
        let mut list = store.kv.list().prefix(prefix).limit(batch as u64);
        if let Some(cursor) = self.kv_cursor.take() {
            list = list.cursor(cursor);
        }
        let page = match list.execute().await {
            Ok(page) => page,
            Err(_) if client_cursor => return Err(StoreError::BadCursor),
            Err(e) => return Err(e.into()),
        };
        match (page.list_complete, page.cursor) {
            (false, Some(cursor)) if !cursor.is_empty() => self.kv_cursor = Some(cursor),
            _ => self.spot = self.listing.after(at),
        }
        Ok(page.keys)
    }
}

/// Why reading events stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Every record of the window was read.
    Done,
    /// The asked number of events was read; more may follow from here.
    Limit(Resume),
    /// The invocation's storage budget (less the reserve) ran out; the rest follows from here.
    Budget(Resume),
}

impl Stop {
    /// Where to go on, unless everything was read.
    pub fn resume(self) -> Option<Resume> {
        match self {
            Stop::Done => None,
            Stop::Limit(at) | Stop::Budget(at) => Some(at),
        }
    }
}

/// What reading events hands on: each event, and each stored record of the window that is
/// not one (a value another writer stored that cannot be read), by reason.
pub trait Records {
    /// An event of the window.
    fn event(&mut self, event: Event);
    /// A record of the window that could not be read.
    fn unreadable(&mut self, reason: SkipReason);
}

impl Records for Metrics {
    fn event(&mut self, event: Event) {
        self.add(&event);
    }
    fn unreadable(&mut self, reason: SkipReason) {
        self.skip(reason);
    }
}

/// Events and unreadable records, kept.
#[derive(Debug, Default)]
pub struct Collected {
    /// The events, in the order read.
    pub events: Vec<Event>,
    /// Unreadable records by reason.
    pub unreadable: BTreeMap<String, u64>,
}

impl Records for Collected {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn unreadable(&mut self, reason: SkipReason) {
        *self
            .unreadable
            .entry(reason.as_str().to_owned())
            .or_default() += 1;
    }
}

impl Store {
    /// The places the records of `[from, to)` are listed from: one list call per family of
    /// keys other writers may have put in the namespace ([`Holds::PROBES`]), so that a
    /// namespace holding only the worker's own events costs nothing more.
    pub async fn listing(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Listing> {
        let mut found = [false; Holds::PROBES.len()];
        for (prefix, found) in Holds::PROBES.iter().zip(&mut found) {
            self.charge("looking for other writers' records")?;
            let page = self
                .kv
                .list()
                .prefix((*prefix).to_owned())
                .limit(1)
                .execute()
                .await?;
            // An empty page that is not the last (a key just expired) still says keys follow.
            *found = !page.keys.is_empty() || !page.list_complete;
        }
        let [epoch_events, logs] = found;
        Ok(Listing::new(from, to, Holds { epoch_events, logs }))
    }

    /// Hands the records of `listing` to `sink`, place by place (day by day), starting at
    /// `start` (default: the listing's start), until `limit` events (checked between list
    /// calls), the end, or — at [`Pace::Careful`] — the budget less its reserve. Records whose
    /// value must be read (the seed's, and the rare event too large for metadata) cost one
    /// more operation each: pages shrink, nothing is skipped.
    pub async fn read_events(
        &self,
        listing: &Listing,
        start: Option<Resume>,
        limit: usize,
        pace: Pace,
        sink: &mut impl Records,
    ) -> StoreResult<Stop> {
        // Other writers' records are cleaned with the salt keying session pseudonyms: read
        // (at most two operations, once an invocation) before the budget is shared out.
        let salt = self.salt().await?;
        let mut read = 0;
        let mut walk = Walk::new(listing, start);
        while let Some(at) = walk.at() {
            if read >= limit {
                return Ok(Stop::Limit(at));
            }
            let batch = match pace {
                // One list call, then at worst one value read per key it returns: a page
                // never runs over.
                Pace::Careful { reserve } => {
                    let affordable = self.remaining().saturating_sub(reserve + 1) as usize;
                    (limit - read).min(LIST_LIMIT).min(affordable)
                }
                // The same list calls the count made.
                Pace::Assured => LIST_LIMIT,
            };
            if batch == 0 {
                return Ok(Stop::Budget(at));
            }
            for key in walk.list(self, batch).await? {
                let Some(ts) = stored_key_time(&key.name) else {
                    sink.unreadable(SkipReason::InvalidKey);
                    continue;
                };
                if !listing.contains(ts) {
                    continue;
                }
                match self
                    .stored(&key.name, ts, key.metadata.as_ref(), &salt)
                    .await?
                {
                    Some(Ok(event)) => {
                        read += 1;
                        sink.event(event);
                    }
                    Some(Err(reason)) => sink.unreadable(reason),
                    // Expired between the list and the read: no longer in the window's data.
                    None => {}
                }
            }
        }
        Ok(Stop::Done)
    }

    /// What reading the rest of `listing` from `start` at [`Pace::Assured`] will cost, found
    /// by making its list calls without reading any value: `None` when the count alone would
    /// leave less than `reserve` operations.
    pub async fn cost(
        &self,
        listing: &Listing,
        start: Option<Resume>,
        reserve: u32,
    ) -> StoreResult<Option<Cost>> {
        let mut cost = Cost::default();
        let mut walk = Walk::new(listing, start);
        while walk.at().is_some() {
            if self.remaining() <= reserve {
                return Ok(None);
            }
            for key in walk.list(self, LIST_LIMIT).await? {
                let in_window = stored_key_time(&key.name).is_some_and(|ts| listing.contains(ts));
                if in_window && !key.metadata.as_ref().is_some_and(holds_event) {
                    cost.values += 1;
                }
            }
            cost.lists += 1;
        }
        Ok(Some(cost))
    }

    /// The record at `key` (listed at `key_time`). A key of the worker's own form
    /// ([`own_event_key`]) holds an event it cleaned on ingestion: in its metadata, or — marked
    /// `truncated`, too large for metadata — in its value. Any other key holds another writer's
    /// record (the seed's): its event in its metadata, or else its value read, and either way
    /// cleaned by the worker's rules ([`stored_event`], [`stored_metadata_event`]) with `salt`.
    /// `None` when the value is gone.
    async fn stored(
        &self,
        key: &str,
        key_time: DateTime<Utc>,
        metadata: Option<&Value>,
        salt: &str,
    ) -> StoreResult<Option<Result<Event, SkipReason>>> {
        let own = own_event_key(key);
        if let Some(metadata) = metadata.filter(|m| holds_event(m)) {
            let metadata = metadata.to_string();
            let event = match own {
                true => parse_json_event(metadata.as_bytes()),
                false => stored_metadata_event(key_time, &metadata, salt),
            };
            return Ok(Some(event.map_err(|r| r.reason)));
        }
        self.charge("reading a stored value")?;
        let Some(json) = self.kv.get(key).text().await? else {
            return Ok(None);
        };
        let truncated = metadata.and_then(|m| m.get("truncated")) == Some(&Value::Bool(true));
        let family = Family::of_key(key).unwrap_or(Family::Event);
        Ok(Some(if own && truncated {
            parse_json_event(json.as_bytes()).map_err(|r| r.reason)
        } else {
            stored_event(family, key_time, &json, salt).map_err(|r| r.reason)
        }))
    }
}
