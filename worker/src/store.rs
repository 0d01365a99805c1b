//! The KV adapter. Every operation is counted against the per-invocation budget Workers
//! impose (1,000 KV operations, a `list` being one), so no request or scheduled run can fail
//! half way by running over: callers stop early and hand back a cursor instead.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use analytics::{
    AGGREGATE_TTL_SECS, DAILY_PREFIX, DailyAggregate, EVENT_TTL_SECS, Event, Family, GAP_PREFIX,
    GapRecord, GapSummary, Holds, Listing, Metrics, SALT_KEY, SkipReason, Spot, event_json,
    event_key, event_metadata, own_event_key, parse_json_event, stored_event, stored_key_time,
    stored_metadata_event,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use worker::KvStore;

/// KV operations one invocation may make (Workers' limit).
pub const OP_BUDGET: u32 = 1000;
/// Keys one `list` call returns at most.
const LIST_LIMIT: usize = 1000;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// KV failed; the message is for the log (the 503 body says less).
    #[error("the analytics store failed: {0}")]
    Kv(String),
    /// A value could not be encoded.
    #[error("encoding a stored value failed: {0}")]
    Encode(#[from] serde_json::Error),
    /// The operation budget ran out before the work was done.
    #[error("{0} needs more than the {1} storage operations one request may make")]
    Budget(&'static str, u32),
    /// KV refused a list cursor a client handed back.
    #[error("the export cursor is not valid (it must be passed back as the export gave it)")]
    BadCursor,
}

impl From<worker::wasm_bindgen::JsValue> for StoreError {
    fn from(e: worker::wasm_bindgen::JsValue) -> Self {
        StoreError::Kv(format!("the runtime's random generator failed: {e:?}"))
    }
}

impl From<worker::KvError> for StoreError {
    fn from(e: worker::KvError) -> Self {
        StoreError::Kv(e.to_string())
    }
}

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

type StoreResult<T> = Result<T, StoreError>;

/// The analytics namespace, with an operation counter. Clones share the counter: a download
/// streamed after its handler returned still counts against the same invocation's budget.
#[derive(Clone)]
pub struct Store {
    kv: KvStore,
    ops: Rc<Cell<u32>>,
    budget: u32,
    /// `IP_HASH_SALT`, when set.
    salt: Option<String>,
    /// The salt once this invocation has it (shared by clones): read, or made, only once.
    salt_cache: Rc<std::cell::RefCell<Option<String>>>,
}

/// The KV binding.
pub const KV_BINDING: &str = "ANALYTICS";

/// The variable that lowers the operation budget below [`OP_BUDGET`] (never above): for tests
/// of what happens when it runs out, and for an account on a stricter plan.
pub const BUDGET_VAR: &str = "KV_OP_BUDGET";

impl Store {
    /// Wraps the namespace, with the whole budget and no configured salt.
    pub fn new(kv: KvStore) -> Store {
        Store {
            kv,
            ops: Rc::new(Cell::new(0)),
            budget: OP_BUDGET,
            salt: None,
            salt_cache: Rc::default(),
        }
    }

    /// The namespace bound as [`KV_BINDING`], with the budget [`BUDGET_VAR`] sets and the salt
    /// `IP_HASH_SALT` gives.
    pub fn open(env: &worker::Env) -> Result<Store, String> {
        let kv = env.kv(KV_BINDING).map_err(|e| {
            format!("the KV namespace binding `{KV_BINDING}` is not configured ({e})")
        })?;
        let budget = match env.var(BUDGET_VAR) {
            Ok(value) => {
                let value = value.to_string();
                let budget = value
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|b| (1..=OP_BUDGET).contains(b));
                if budget.is_none() {
                    // Never a reason to refuse events: the whole budget, and a line in the log.
                    worker::console_error!(
                        "`{BUDGET_VAR}` must be a whole number from 1 to {OP_BUDGET}, not \
                         {value:?}: using {OP_BUDGET}"
                    );
                }
                budget.unwrap_or(OP_BUDGET)
            }
            Err(_) => OP_BUDGET,
        };
        let salt = env
            .secret("IP_HASH_SALT")
            .ok()
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty());
        Ok(Store {
            budget,
            salt,
            ..Store::new(kv)
        })
    }

    /// Operations made so far.
    pub fn ops(&self) -> u32 {
        self.ops.get()
    }

    /// Operations left in the budget.
    pub fn remaining(&self) -> u32 {
        self.budget.saturating_sub(self.ops.get())
    }

    /// The operations one invocation may make.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    fn charge(&self, what: &'static str) -> StoreResult<()> {
        if self.remaining() == 0 {
            return Err(StoreError::Budget(what, self.budget));
        }
        self.ops.set(self.ops.get() + 1);
        Ok(())
    }

    /// The worker's salt: `IP_HASH_SALT`, or without it the random one the worker made for
    /// itself and keeps in KV ([`SALT_KEY`]), so that client keys, session pseudonyms and device
    /// cookies never depend on an optional secret, nor on a guessable one.
    pub async fn salt(&self) -> StoreResult<String> {
        if let Some(salt) = self
            .salt
            .clone()
            .or_else(|| self.salt_cache.borrow().clone())
        {
            return Ok(salt);
        }
        let salt = self.own_salt().await?;
        *self.salt_cache.borrow_mut() = Some(salt.clone());
        Ok(salt)
    }

    /// Stores one event (one write): `event:{ts}:{random}` with the event in the metadata.
    pub async fn put_event(&self, event: &Event, random: &str) -> StoreResult<String> {
        self.charge("storing an event")?;
        let key = event_key(&event.timestamp, random);
        let metadata = event_metadata(event);
        let metadata: Value = serde_json::from_str(&metadata.json)?;
        self.kv
            .put(&key, event_json(event))?
            .expiration_ttl(EVENT_TTL_SECS)
            .metadata(metadata)?
            .execute()
            .await?;
        Ok(key)
    }

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

    /// The daily aggregates of the days from `from` to `to` (one list call: at most 90 keys).
    pub async fn daily_aggregates(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<DailyAggregate>> {
        let days = from.date_naive()..=to.date_naive();
        let all: Vec<DailyAggregate> = self.list_metadata(DAILY_PREFIX).await?;
        Ok(all.into_iter().filter(|d| days.contains(&d.date)).collect())
    }

    /// Every knowledge-gap summary (one list call per 1,000).
    pub async fn gap_summaries(&self) -> StoreResult<Vec<GapSummary>> {
        self.list_metadata(GAP_PREFIX).await
    }

    async fn list_metadata<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> StoreResult<Vec<T>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            self.charge("reading aggregates")?;
            let mut list = self.kv.list().prefix(prefix.to_owned());
            if let Some(c) = cursor.take() {
                list = list.cursor(c);
            }
            let page = list.execute().await?;
            items.extend(
                page.keys
                    .into_iter()
                    .filter_map(|k| k.metadata)
                    .filter_map(|m| serde_json::from_value(m).ok()),
            );
            match (page.list_complete, page.cursor) {
                (false, Some(c)) if !c.is_empty() => cursor = Some(c),
                _ => return Ok(items),
            }
        }
    }

    /// Writes a daily aggregate (value and metadata), 90 days.
    pub async fn put_daily(&self, key: &str, day: &DailyAggregate) -> StoreResult<()> {
        let json = serde_json::to_value(day)?;
        self.put_aggregate(key, json.clone(), json).await
    }

    /// Reads a knowledge-gap record.
    pub async fn gap(&self, key: &str) -> StoreResult<Option<GapRecord>> {
        self.charge("reading a knowledge gap")?;
        Ok(self
            .kv
            .get(key)
            .text()
            .await?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Writes a knowledge-gap record (value), with its summary as metadata, 90 days.
    pub async fn put_gap(&self, key: &str, record: &GapRecord) -> StoreResult<()> {
        let value = serde_json::to_value(record)?;
        let summary = serde_json::to_value(record.summary())?;
        self.put_aggregate(key, value, summary).await
    }

    async fn put_aggregate(&self, key: &str, value: Value, metadata: Value) -> StoreResult<()> {
        self.charge("writing aggregates")?;
        self.kv
            .put(key, value.to_string())?
            .expiration_ttl(AGGREGATE_TTL_SECS)
            .metadata(metadata)?
            .execute()
            .await?;
        Ok(())
    }

    /// Reads a value with its metadata.
    pub async fn get_with_metadata(
        &self,
        key: &str,
    ) -> StoreResult<(Option<String>, Option<Value>)> {
        self.charge("reading")?;
        Ok(self.kv.get(key).text_with_metadata::<Value>().await?)
    }

    /// Writes a value with metadata and a TTL.
    pub async fn put_with_metadata(
        &self,
        key: &str,
        value: String,
        metadata: Value,
        ttl_secs: u64,
    ) -> StoreResult<()> {
        self.charge("writing")?;
        self.kv
            .put(key, value)?
            .expiration_ttl(ttl_secs)
            .metadata(metadata)?
            .execute()
            .await?;
        Ok(())
    }

    /// The worker's own salt ([`SALT_KEY`]): read, or made from 32 random bytes and kept (no
    /// TTL) when there is none yet. Two first requests at once may each make one; the last
    /// write wins, and an isolate keeps only a salt it has read back from KV, so the keys made
    /// with the other count apart only until KV has settled (about a minute).
    pub async fn own_salt(&self) -> StoreResult<String> {
        if let Some(salt) = OWN_SALT.with(|cached| cached.borrow().clone()) {
            return Ok(salt);
        }
        match self.get_with_metadata(SALT_KEY).await? {
            (Some(salt), _) => {
                // Kept only once read back: a salt this isolate made may lose to another's.
                OWN_SALT.with(|cached| *cached.borrow_mut() = Some(salt.clone()));
                Ok(salt)
            }
            (None, _) => {
                let salt = random_hex(32)?;
                self.charge("writing")?;
                self.kv.put(SALT_KEY, salt.clone())?.execute().await?;
                Ok(salt)
            }
        }
    }
}

thread_local! {
    /// The worker's own salt, once this isolate has read (or made) it.
    static OWN_SALT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// `bytes` random bytes from the runtime's cryptographic generator (`crypto.getRandomValues`),
/// as hex.
fn random_hex(bytes: u32) -> StoreResult<String> {
    use worker::js_sys::{Function, Reflect, Uint8Array, global};
    use worker::wasm_bindgen::JsCast;
    let crypto = Reflect::get(&global(), &"crypto".into())?;
    let fill: Function = Reflect::get(&crypto, &"getRandomValues".into())?.dyn_into()?;
    let array = Uint8Array::new_with_length(bytes);
    fill.call1(&crypto, &array)?;
    Ok(analytics::hex(&array.to_vec()))
}
