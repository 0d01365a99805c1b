//! `GET /analytics/export`: the events of a window as JSON, NDJSON or CSV. Without `limit` or
//! `cursor`, the whole window in one download, streamed as it is read; with them, one page and
//! the cursor of the next. A download never ends cleanly with fewer events than the window
//! holds: when the invocation's storage budget cannot hold the window, it is an error before
//! the first byte, or, once the download has begun, an aborted body (NDJSON, CSV) or an
//! envelope that says it is partial (JSON).

use std::collections::BTreeMap;

use analytics::{CsvWriter, DailyAggregate, Envelope, ExportCursor, Format, GapSummary, Window};
use analytics::{Event, write_ndjson_line};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::stream;

use super::Handled;
use crate::http::{self, ApiError, Kind};
use crate::params::{MAX_DAYS, Query};
use crate::store::Store;
use crate::store::events::{Collected, Pace, Resume, Stop};

/// Operations an export keeps in hand: for keys written while a download is streamed (today's
/// prefix lists them too, so the list calls counted before its first byte may grow), and a
/// margin for a page.
const EXPORT_RESERVE: u32 = 50;

/// Events read per step of a download: one list call's worth.
const STEP_EVENTS: usize = 1000;

/// Bytes a download gathers before it commits to `200`: a window that fits is answered whole
/// (with its length), and one that runs out of budget this early gets an error status.
const COMMIT_BYTES: usize = 512 * 1024;

/// `GET /analytics/export`. The first page (or the download) fixes the window's end, just after
/// the millisecond the request arrived (every event stamped up to then is in); a cursor
/// carries it, so every page covers the same window.
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
    let first = query.cursor.is_none();
    let (daily, gaps) = if first && query.format == Format::Json {
        (
            store.daily_aggregates(from, to).await?,
            store.gap_summaries().await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let export = Export {
        store: store.clone(),
        listing: store.listing(from, to).await?,
        now,
        from,
        to,
        query: query.clone(),
        daily,
        gaps,
    };
    let name = export.file_name();
    let response = match query.paged() {
        true => export.page().await?,
        false => export.download().await?,
    };
    let _ = response.headers().set(
        "Content-Disposition",
        &format!("attachment; filename=\"{name}\""),
    );
    Ok(response)
}

/// An export of one window.
struct Export {
    store: Store,
    listing: analytics::Listing,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    query: Query,
    daily: Vec<DailyAggregate>,
    gaps: Vec<GapSummary>,
}

impl Export {
    /// `chatbot-events_<from>_<to>.<format>`, the window's ends to the second (UTC).
    fn file_name(&self) -> String {
        let stamp = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H%M%SZ").to_string();
        format!(
            "chatbot-events_{}_{}.{}",
            stamp(&self.from),
            stamp(&self.to),
            self.query.format.as_str()
        )
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            daily: &self.daily,
            gaps: &self.gaps,
            ..Envelope::new(self.now, self.from, self.to)
        }
    }

    fn kind(&self) -> Kind {
        match self.query.format {
            Format::Json => Kind::Json,
            Format::Ndjson => Kind::Ndjson,
            Format::Csv => Kind::Csv,
        }
    }

    /// One page of `limit` events from the cursor, with the next page's cursor.
    async fn page(self) -> Handled {
        let start = self.query.cursor.as_ref().map(|c| Resume {
            spot: analytics::Spot {
                day: c.day,
                part: c.part,
            },
            kv_cursor: c.kv_cursor.clone(),
        });
        let mut records = Collected::default();
        let stop = self
            .store
            .read_events(
                &self.listing,
                start,
                self.query.limit,
                Pace::Careful {
                    reserve: EXPORT_RESERVE,
                },
                &mut records,
            )
            .await?;
        if let Stop::Budget(_) = stop
            && records.events.is_empty()
        {
            // No event and the same place again: a client following the cursor would loop.
            return Err(ApiError::new(
                503,
                format!(
                    "this page cannot read one event within the {} storage operations a request \
                     may make",
                    self.store.budget()
                ),
            ));
        }
        let next = stop.resume().map(|r| self.cursor(r));
        let mut encoder = Encoder::new(self.query.format, self.envelope_head());
        let mut bytes = encoder.head();
        bytes.extend(encoder.events(&records.events).map_err(io)?);
        bytes.extend(self.envelope_tail(&records.unreadable, next.as_deref(), None));
        let response = http::body(200, self.kind(), bytes);
        if let Some(cursor) = next {
            let _ = response.headers().set(
                "Link",
                &format!("<{}>; rel=\"next\"", self.next_link(&cursor)?),
            );
        }
        let _ = response
            .headers()
            .set("X-Export-Events", &records.events.len().to_string());
        set_unreadable(&response, &records.unreadable);
        Ok(response)
    }

    fn cursor(&self, at: Resume) -> String {
        ExportCursor {
            window_end: self.to,
            day: at.spot.day,
            part: at.spot.part,
            kv_cursor: at.kv_cursor,
        }
        .encode()
    }

    fn next_link(&self, cursor: &str) -> Result<String, ApiError> {
        let mut link = worker::Url::parse("http://worker/analytics/export")
            .map_err(|e| ApiError::new(500, e.to_string()))?;
        link.query_pairs_mut()
            .append_pair("format", self.query.format.as_str())
            .append_pair("days", &self.query.days.to_string())
            .append_pair("limit", &self.query.limit.to_string())
            .append_pair("cursor", cursor);
        Ok(format!(
            "{}?{}",
            link.path(),
            link.query().unwrap_or_default()
        ))
    }

    /// The JSON envelope before its events (empty for the other formats).
    fn envelope_head(&self) -> Vec<u8> {
        match self.query.format {
            Format::Json => self.envelope().around_events().0.into_bytes(),
            _ => Vec::new(),
        }
    }

    /// The JSON envelope after its events (empty for the other formats).
    fn envelope_tail(
        &self,
        unreadable: &BTreeMap<String, u64>,
        next_cursor: Option<&str>,
        partial: Option<String>,
    ) -> Vec<u8> {
        if self.query.format != Format::Json {
            return Vec::new();
        }
        let envelope = Envelope {
            unreadable: unreadable.clone(),
            partial: partial.is_some(),
            message: partial,
            next_cursor,
            ..self.envelope()
        };
        envelope.around_events().1.into_bytes()
    }

    /// The whole window. Read until it is complete or [`COMMIT_BYTES`] are ready: a window
    /// that fits is one complete answer. Otherwise, before the first byte, the rest is counted
    /// ([`Store::cost`]): a window the budget cannot hold is a `503` naming paging, and one it
    /// can is streamed, step by step, at [`Pace::Assured`].
    async fn download(self) -> Handled {
        let mut encoder = Encoder::new(self.query.format, self.envelope_head());
        let mut ready = encoder.head();
        let mut state = Download {
            export: self,
            encoder,
            at: None,
            pace: Pace::Careful {
                reserve: EXPORT_RESERVE,
            },
            unreadable: BTreeMap::new(),
            events: 0,
            end: End::Open,
        };
        while ready.len() < COMMIT_BYTES {
            match state.step().await? {
                Step::Events(bytes) => ready.extend(bytes),
                Step::Done(bytes) => {
                    ready.extend(bytes);
                    let response = http::body(200, state.export.kind(), ready);
                    let _ = response
                        .headers()
                        .set("X-Export-Events", &state.events.to_string());
                    set_unreadable(&response, &state.unreadable);
                    return Ok(response);
                }
                Step::Short => return Err(state.too_large()),
            }
        }
        let store = &state.export.store;
        let cost = store
            .cost(&state.export.listing, state.at.clone(), EXPORT_RESERVE)
            .await?;
        match cost {
            Some(cost) if cost.total() + EXPORT_RESERVE <= store.remaining() => {
                state.pace = Pace::Assured;
            }
            _ => return Err(state.too_large()),
        }
        let kind = state.export.kind();
        let first = stream::once(async move { Ok::<_, worker::Error>(ready) });
        let rest = stream::try_unfold(state, |mut state| async move {
            match std::mem::replace(&mut state.end, End::Closed) {
                End::Closed => return Ok(None),
                End::Failed(message) => return Err(worker::Error::RustError(message)),
                End::Open => state.end = End::Open,
            }
            let chunk = match state.step().await {
                Ok(Step::Events(bytes)) => bytes,
                Ok(Step::Done(bytes)) => {
                    state.end = End::Closed;
                    bytes
                }
                Ok(Step::Short) => state.fail(state.too_large().message),
                Err(e) => state.fail(e.message),
            };
            Ok(Some((chunk, state)))
        });
        Ok(http::stream(
            kind,
            futures_util::StreamExt::chain(first, rest),
        ))
    }
}

/// `X-Export-Unreadable: {"reason": n, …}` on an answer that is whole when its headers are
/// sent: how CSV and NDJSON say which stored records could not be read (JSON says it in
/// `unreadable`; a streamed CSV or NDJSON download cannot).
fn set_unreadable(response: &worker::Response, unreadable: &BTreeMap<String, u64>) {
    if !unreadable.is_empty() {
        let _ = response.headers().set(
            "X-Export-Unreadable",
            &serde_json::to_string(unreadable).unwrap_or_default(),
        );
    }
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::new(500, e.to_string())
}

/// A whole-window download under way.
struct Download {
    export: Export,
    encoder: Encoder,
    at: Option<Resume>,
    pace: Pace,
    unreadable: BTreeMap<String, u64>,
    events: usize,
    end: End,
}

/// Whether a streamed download goes on.
enum End {
    Open,
    /// Its last bytes are sent.
    Closed,
    /// It stopped short: the marker saying so is sent, the body is aborted next.
    Failed(String),
}

/// What one step of a download produced.
enum Step {
    /// The next events' bytes; more follow.
    Events(Vec<u8>),
    /// The last events' bytes and the end of the download.
    Done(Vec<u8>),
    /// The budget ran out before the window did.
    Short,
}

impl Download {
    /// Reads the next [`STEP_EVENTS`] events or so and encodes them.
    async fn step(&mut self) -> Result<Step, ApiError> {
        let mut records = Collected::default();
        // Kept until the step has read: a step that fails is resumed from where it began.
        let stop = self
            .export
            .store
            .read_events(
                &self.export.listing,
                self.at.clone(),
                STEP_EVENTS,
                self.pace,
                &mut records,
            )
            .await?;
        let got = records.events.len();
        self.events += got;
        for (reason, n) in records.unreadable {
            *self.unreadable.entry(reason).or_default() += n;
        }
        let bytes = self.encoder.events(&records.events).map_err(io)?;
        Ok(match stop {
            Stop::Done => {
                let tail = self.export.envelope_tail(&self.unreadable, None, None);
                Step::Done([bytes, tail].concat())
            }
            Stop::Limit(at) => {
                self.at = Some(at);
                Step::Events(bytes)
            }
            Stop::Budget(at) if got == 0 => {
                self.at = Some(at);
                Step::Short
            }
            Stop::Budget(at) => {
                // What was read is sent; the next step finds the budget spent.
                self.at = Some(at);
                Step::Events(bytes)
            }
        })
    }

    /// The download stops short after it has begun (KV failed, or writes during it outgrew
    /// the reserve): the bytes that say so in the format itself — for JSON the envelope's end
    /// with `partial`, why, and the cursor to go on from; for NDJSON a last line that is no
    /// event, and for CSV a last row that is none — and the body is aborted after them.
    fn fail(&mut self, message: String) -> Vec<u8> {
        let cursor = self.at.clone().map(|at| self.export.cursor(at));
        let marker = match self.export.query.format {
            Format::Json => self.export.envelope_tail(
                &self.unreadable,
                cursor.as_deref(),
                Some(message.clone()),
            ),
            _ => self.encoder.failure(&message, cursor.as_deref()),
        };
        self.end = End::Failed(message);
        marker
    }

    /// Why the window does not fit one download.
    fn too_large(&self) -> ApiError {
        ApiError::new(
            503,
            format!(
                "the last {} days hold more events than one download can read within the {} \
                 storage operations a request may make ({} read so far): page through them with \
                 `limit` and `cursor` (each page names the next in its Link header and \
                 `nextCursor`), or use `reportgen --url`, which does",
                self.export.query.days,
                self.export.store.budget(),
                self.events
            ),
        )
    }
}

/// Writes events in the export's format, a batch at a time.
struct Encoder {
    format: Format,
    head: Vec<u8>,
    started: bool,
}

impl Encoder {
    fn new(format: Format, head: Vec<u8>) -> Encoder {
        Encoder {
            format,
            head,
            started: false,
        }
    }

    /// What comes before the first event: the envelope's head, or the CSV header.
    fn head(&mut self) -> Vec<u8> {
        match self.format {
            Format::Csv => CsvWriter::new(Vec::new())
                .and_then(CsvWriter::finish)
                .unwrap_or_default(),
            _ => std::mem::take(&mut self.head),
        }
    }

    /// The last line (NDJSON) or row (CSV) of a download that stopped short: no event, so
    /// that every reader sees the file is not whole.
    fn failure(&mut self, message: &str, cursor: Option<&str>) -> Vec<u8> {
        let note = serde_json::json!({ "partial": true, "message": message, "nextCursor": cursor });
        match self.format {
            Format::Csv => {
                let mut out = Vec::new();
                let mut csv = CsvWriter::continuing(&mut out);
                let _ = csv
                    .write_note(&format!("#partial: {note}"))
                    .and_then(|()| csv.finish().map(drop));
                out
            }
            _ => format!("{note}\n").into_bytes(),
        }
    }

    /// A batch of events, each after the one before.
    fn events(&mut self, events: &[Event]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        match self.format {
            Format::Json => {
                for e in events {
                    if std::mem::replace(&mut self.started, true) {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut out, e)?;
                }
            }
            Format::Ndjson => {
                for e in events {
                    write_ndjson_line(&mut out, e)?;
                }
            }
            Format::Csv => {
                let mut csv = CsvWriter::continuing(&mut out);
                for e in events {
                    csv.write(e)?;
                }
                csv.finish()?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::{EventType, ReadError, Sink, Skipped, parse_timestamp, read_export};

    #[derive(Default)]
    struct Keep(Vec<Event>, Vec<Skipped>);

    impl Sink for Keep {
        fn event(&mut self, event: Event) {
            self.0.push(event);
        }
        fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
            self.1.push(skipped);
            Ok(())
        }
    }

    #[test]
    fn a_download_that_stops_short_ends_with_a_record_every_reader_refuses() {
        let at = parse_timestamp("2026-11-25T10:00:00Z").expect("time");
        let events = [
            Event::new(at, EventType::BubbleOpened),
            Event::new(at, EventType::CtaClicked),
        ];
        for format in [Format::Ndjson, Format::Csv] {
            let mut encoder = Encoder::new(format, Vec::new());
            let mut bytes = encoder.head();
            bytes.extend(encoder.events(&events[..1]).expect("encode"));
            bytes.extend(encoder.events(&events[1..]).expect("encode"));
            let whole = bytes.clone();
            bytes.extend(encoder.failure("KV failed", Some("2026-11-25~1")));
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                text.contains("KV failed") && text.contains("2026-11-25~1"),
                "{text}"
            );

            let mut keep = Keep::default();
            read_export(&whole[..], Some(format), &mut keep).expect("reads");
            assert_eq!((keep.0.len(), keep.1.len()), (2, 0), "{format}: whole");
            let mut keep = Keep::default();
            read_export(&bytes[..], Some(format), &mut keep).expect("reads");
            assert_eq!(keep.0, events, "{format}: the events before the marker");
            assert_eq!(
                keep.1.len(),
                1,
                "{format}: the marker is refused, so seen: {text}"
            );
        }
    }
}
