//! The KV adapter. Every operation is counted against the per-invocation budget Workers
//! impose (1,000 KV operations, a `list` being one), so no request or scheduled run can fail
//! half way by running over: callers stop early and hand back a cursor instead.

use std::cell::Cell;
use std::rc::Rc;

use analytics::{
    AGGREGATE_TTL_SECS, DAILY_PREFIX, DailyAggregate, EVENT_TTL_SECS, Event, GAP_PREFIX, GapRecord,
    GapSummary, SALT_KEY, event_json, event_key, event_metadata,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use worker::KvStore;

pub mod events;

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

pub(crate) type StoreResult<T> = Result<T, StoreError>;

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

    pub(crate) fn charge(&self, what: &'static str) -> StoreResult<()> {
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
