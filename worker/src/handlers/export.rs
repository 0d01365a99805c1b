//! `GET /analytics/export`: one page of events as JSON, NDJSON or CSV, with its cursor.

use analytics::{
    CsvWriter, Envelope, ExportCursor, Format, SCHEMA_VERSION, Window, write_ndjson_line,
};
use chrono::{DateTime, TimeDelta, Utc};

use super::Handled;
use crate::http::{self, ApiError, Kind};
use crate::params::{MAX_DAYS, Query};
use crate::store::{Resume, Store};

/// Operations an export page keeps in hand for reading events too large for metadata.
const EXPORT_RESERVE: u32 = 50;

/// `GET /analytics/export`: one page of events in the requested format. The first page fixes
/// the window's end, just after the millisecond the request arrived (every event stamped up to
/// then is in); its cursor carries it, so every page covers the same window.
pub(crate) async fn export(store: &Store, now: DateTime<Utc>, query: &Query) -> Handled {
    let (from, to) = match &query.cursor {
        Some(cursor) => cursor
            .window(query.days, MAX_DAYS, now)
            .map_err(|message| ApiError::new(400, message))?,
        None => {
            let to = Window::end_after(now);
            (to - TimeDelta::days(i64::from(query.days)), to)
        }
    };
    let first_page = query.cursor.is_none();
    let (daily, gaps) = if first_page && query.format == Format::Json {
        (
            store.daily_aggregates(from, to).await?,
            store.gap_summaries().await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let start = query.cursor.as_ref().map(|c| Resume {
        day: c.day,
        kv_cursor: c.kv_cursor.clone(),
    });
    let mut events = Vec::new();
    let next = store
        .read_events(from, to, start, query.limit, EXPORT_RESERVE, &mut |e| {
            events.push(e)
        })
        .await?;
    let next = next.map(|r| {
        ExportCursor {
            window_end: to,
            day: r.day,
            kv_cursor: r.kv_cursor,
        }
        .encode()
    });
    let io = |e: std::io::Error| ApiError::new(500, e.to_string());
    let (kind, bytes) = match query.format {
        Format::Json => {
            let envelope = Envelope {
                schema_version: SCHEMA_VERSION,
                generated_at: now,
                from,
                to,
                events: &events,
                daily: &daily,
                gaps: &gaps,
                next_cursor: next.as_deref(),
            };
            let json =
                serde_json::to_vec(&envelope).map_err(|e| ApiError::new(500, e.to_string()))?;
            (Kind::Json, json)
        }
        Format::Ndjson => {
            let mut out = Vec::new();
            for e in &events {
                write_ndjson_line(&mut out, e).map_err(io)?;
            }
            (Kind::Ndjson, out)
        }
        Format::Csv => {
            let mut csv = CsvWriter::new(Vec::new()).map_err(io)?;
            for e in &events {
                csv.write(e).map_err(io)?;
            }
            (Kind::Csv, csv.finish().map_err(io)?)
        }
    };
    let response = http::body(200, kind, bytes);
    if let Some(cursor) = next {
        let mut link = worker::Url::parse("http://worker/analytics/export")
            .map_err(|e| ApiError::new(500, e.to_string()))?;
        link.query_pairs_mut()
            .append_pair("format", query.format.as_str())
            .append_pair("days", &query.days.to_string())
            .append_pair("limit", &query.limit.to_string())
            .append_pair("cursor", &cursor);
        let target = format!("{}?{}", link.path(), link.query().unwrap_or_default());
        let _ = response
            .headers()
            .set("Link", &format!("<{target}>; rel=\"next\""));
    }
    let _ = response
        .headers()
        .set("X-Export-Events", &events.len().to_string());
    Ok(response)
}
