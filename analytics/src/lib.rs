//! The chatbot analytics model, shared by the Cloudflare Worker and `reportgen` so that the two
//! can never disagree: the event schema, record validation, the export formats, and the seven
//! metric categories computed in one streaming pass, plus what the worker needs to store them:
//! ingestion validation and scrubbing, the KV key scheme, export pages and the daily rollup.
//!
//! Pure: no I/O beyond the `Read`/`Write` handed in, no clock (`now` is always a parameter),
//! and it builds for `wasm32-unknown-unknown`.
//!
//! ```
//! use analytics::{Metrics, Window, read_export};
//!
//! let ndjson = br#"{"timestamp":"2026-11-01T10:00:00Z","eventType":"message_sent","sessionId":"s1"}"#;
//! // `Metrics` is a `Sink`: what `read_export` reads goes straight into it.
//! let mut metrics = Metrics::new(Window::All);
//! read_export(&ndjson[..], None, &mut metrics).unwrap();
//! let summary = metrics.finish("2026-11-02T00:00:00Z".parse().unwrap());
//! assert_eq!(summary.conversation_volume.messages, 1);
//! ```

mod alerts;
mod arrivals;
mod body;
mod clusters;
mod daily;
mod event;
mod export;
mod gap_history;
mod hash;
mod ingest;
mod insights;
mod keys;
mod metrics;
mod parallel;
mod phrasings;
mod published;
mod read;
mod record;
mod retention;
mod rollup;
mod schema;
mod scrub;
mod session;
mod stats;
mod stored;
mod summary;
mod text;
mod window;
mod zone;

pub use alerts::*;
pub use body::{BodyTooLarge, BoundedBody};
pub use clusters::{CLUSTER_SIMILARITY, jaccard, question_tokens};
pub use daily::DailyAggregate;
pub use event::{Event, EventRef, EventType, format_timestamp, parse_timestamp};
pub use export::{CsvWriter, Envelope, ExportCursor, write_ndjson_line};
pub use gap_history::GapSummary;
pub use ingest::{
    IngestError, MAX_BODY_BYTES, PageContext, parse_ingest, strip_query, tracker_session,
};
pub use insights::{FUNNEL_STEPS, TOP_SUGGESTIONS};
pub use keys::*;
pub use metrics::{
    HISTOGRAM_BOUNDS_MS, Metrics, RECENT_ERRORS, SUMMARY_SCHEMA_VERSION, TOP_GAPS, TOP_PAGES,
    normalize_question, referrer_source,
};
pub use parallel::{Aggregate, AggregateOptions, BLOCK_BYTES, aggregate};
pub use published::{body_insertion_point, refused_markup};
pub use read::{Format, Location, ReadError, ReadInfo, SCHEMA_VERSION, Sink, Skipped, read_export};
pub use record::{Rejection, SkipReason, parse_json_event, with_json_event};
pub use retention::{REMOVED, VISITOR_TEXT, remove_visitor_text, visitor_text_fields};
pub use rollup::{DayRollup, GapRecord, merge_gap, rollup_day};
pub use schema::FIELDS;
pub use schema::kinds::MAX_DURATION_MS;
pub use scrub::{EMAIL_MARK, PHONE_MARK, scrub_pii};
pub use stats::{nearest_rank, ratio};
pub use stored::{
    Family, Holds, LOG_PREFIX, Listing, Spot, own_event_key, stored_event, stored_key_time,
    stored_metadata_event,
};
pub use summary::*;
pub use text::{clean_text, escape_html, neutralise_csv, truncate_chars, unneutralise_csv};
pub use window::{Window, days_between};
pub use zone::Zone;
