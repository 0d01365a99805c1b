//! The KV adapter. Every operation is counted against the per-invocation budget Workers
//! impose (1,000 KV operations, a `list` being one), so no request or scheduled run can fail
//! half way by running over: callers stop early and hand back a cursor instead.

use std::cell::Cell;

use analytics::{
    AGGREGATE_TTL_SECS, DAILY_PREFIX, DailyAggregate, EVENT_TTL_SECS, Event, GAP_PREFIX, GapRecord,
    GapSummary, SALT_KEY, event_day_prefix, event_from_metadata, event_json, event_key,
    event_key_time, event_metadata, parse_json_event,
};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use serde_json::Value;
use worker::KvStore;

/// KV operations one invocation may make.
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
    #[error("{0} needs more than the {OP_BUDGET} storage operations one request may make")]
    Budget(&'static str),
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

/// Where reading events resumes: a UTC day and KV's list cursor within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The day being listed.
    pub day: NaiveDate,
    /// KV's cursor within that day.
    pub kv_cursor: Option<String>,
}

type StoreResult<T> = Result<T, StoreError>;

/// The analytics namespace, with an operation counter.
pub struct Store {
    kv: KvStore,
    ops: Cell<u32>,
}

/// The KV binding.
pub const KV_BINDING: &str = "ANALYTICS";

impl Store {
    /// Wraps the namespace.
    pub fn new(kv: KvStore) -> Store {
        Store {
            kv,
            ops: Cell::new(0),
        }
    }

    /// The namespace bound as [`KV_BINDING`].
    pub fn open(env: &worker::Env) -> Result<Store, String> {
        env.kv(KV_BINDING)
            .map(Store::new)
            .map_err(|e| format!("the KV namespace binding `{KV_BINDING}` is not configured ({e})"))
    }

    /// Operations made so far.
    pub fn ops(&self) -> u32 {
        self.ops.get()
    }

    /// Operations left in the budget.
    pub fn remaining(&self) -> u32 {
        OP_BUDGET.saturating_sub(self.ops.get())
    }

    fn charge(&self, what: &'static str) -> StoreResult<()> {
        if self.remaining() == 0 {
            return Err(StoreError::Budget(what));
        }
        self.ops.set(self.ops.get() + 1);
        Ok(())
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

    /// Streams the events with `from ≤ timestamp < to` to `sink`, oldest first, starting at
    /// `start` (default: the first day that can still hold events), until `limit` events, the
    /// end, or the budget less `reserve` operations. Each list call asks for no more keys than
    /// the budget could then read values for, so a page never runs over. Returns where to
    /// resume, `None` when everything was read.
    pub async fn read_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        start: Option<Resume>,
        limit: usize,
        reserve: u32,
        sink: &mut impl FnMut(Event),
    ) -> StoreResult<Option<Resume>> {
        let last_day = (to - TimeDelta::nanoseconds(1)).date_naive();
        // Raw events expire after 30 days: earlier days cannot hold any.
        let retained = (to - TimeDelta::seconds(EVENT_TTL_SECS as i64)).date_naive();
        let first_day = from.date_naive().max(retained);
        let mut at = start.unwrap_or(Resume {
            day: first_day,
            kv_cursor: None,
        });
        if at.day < first_day {
            at = Resume {
                day: first_day,
                kv_cursor: None,
            };
        }
        let mut read = 0;
        while at.day <= last_day {
            // One list call, then at worst one value read per key it returns.
            let affordable = self.remaining().saturating_sub(reserve + 1) as usize;
            let batch = (limit - read).min(LIST_LIMIT).min(affordable);
            if batch == 0 {
                return Ok(Some(at));
            }
            self.charge("reading events")?;
            let client_cursor = at.kv_cursor.is_some();
            let mut list = self
                .kv
                .list()
                .prefix(event_day_prefix(at.day))
                .limit(batch as u64);
            if let Some(cursor) = at.kv_cursor.take() {
                list = list.cursor(cursor);
            }
            let page = match list.execute().await {
                Ok(page) => page,
                Err(_) if client_cursor => return Err(StoreError::BadCursor),
                Err(e) => return Err(e.into()),
            };
            for key in page.keys {
                let Some(ts) = event_key_time(&key.name) else {
                    continue;
                };
                if ts < from || ts >= to {
                    continue;
                }
                let stored = key
                    .metadata
                    .as_ref()
                    .and_then(|m| event_from_metadata(&m.to_string()));
                let event = match stored {
                    Some(event) => Some(event),
                    None => self.event_value(&key.name).await?,
                };
                if let Some(event) = event {
                    read += 1;
                    sink(event);
                }
            }
            match (page.list_complete, page.cursor) {
                (false, Some(cursor)) if !cursor.is_empty() => at.kv_cursor = Some(cursor),
                _ => match at.day.checked_add_days(Days::new(1)) {
                    Some(next) => at.day = next,
                    None => break,
                },
            }
        }
        Ok(None)
    }

    /// The full event stored as a key's value, for the rare event too large for metadata.
    async fn event_value(&self, key: &str) -> StoreResult<Option<Event>> {
        self.charge("reading a large event")?;
        Ok(self
            .kv
            .get(key)
            .text()
            .await?
            .and_then(|json| parse_json_event(json.as_bytes()).ok()))
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
