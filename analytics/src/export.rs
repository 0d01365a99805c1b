//! Writing events in the export formats (NDJSON and CSV). The JSON envelope is assembled by
//! the worker around the same per-event JSON.

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Serialize, Serializer};

use crate::daily::DailyAggregate;
use crate::event::{Event, format_timestamp};
use crate::gap_history::GapSummary;
use crate::schema::kinds;
use crate::schema::{FIELD_COUNT, FIELDS, fields};
use crate::text::neutralise_csv;

/// Writes one event as a line of NDJSON.
pub fn write_ndjson_line<W: Write>(mut out: W, event: &Event) -> io::Result<()> {
    serde_json::to_writer(&mut out, event)?;
    out.write_all(b"\n")
}

/// Writes events as CSV: a header in schema field order, then one row per event. Text cells
/// that a spreadsheet would run as a formula are neutralised (see [`neutralise_csv`]); the
/// readers undo it, so nothing is lost.
pub struct CsvWriter<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Starts the CSV and writes the header row.
    pub fn new(out: W) -> io::Result<CsvWriter<W>> {
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(FIELDS).map_err(io::Error::other)?;
        Ok(CsvWriter { csv })
    }

    /// Goes on with a CSV whose header was already written: a download written in pieces.
    pub fn continuing(out: W) -> CsvWriter<W> {
        CsvWriter {
            csv: csv::Writer::from_writer(out),
        }
    }

    /// Writes one event.
    pub fn write(&mut self, e: &Event) -> io::Result<()> {
        self.csv
            .write_record(csv_cells(e))
            .map_err(io::Error::other)
    }

    /// Writes a row that is no event: `text` in the first cell (where the timestamp goes),
    /// the others empty. Every reader skips it as malformed, and says so.
    pub fn write_note(&mut self, text: &str) -> io::Result<()> {
        let mut row: [&str; FIELD_COUNT] = [""; FIELD_COUNT];
        row[0] = text;
        self.csv.write_record(row).map_err(io::Error::other)
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}

macro_rules! csv_cells {
    ($( $(#[$doc:meta])* $field:ident $variant:ident $name:literal : $kind:ident $(($($rule:tt)*))?, )*) => {
        /// One event's CSV cells, in the order of [`FIELDS`]; an absent field is an empty cell.
        fn csv_cells(e: &Event) -> [String; FIELD_COUNT] {
            [
                format_timestamp(&e.timestamp),
                neutralise_csv(e.event_type.as_str()).into_owned(),
                $( e.$field.as_ref().map_or(String::new(), <kinds::$kind as kinds::Kind>::csv_cell), )*
            ]
        }
    };
}
fields!(csv_cells);

/// The worker's JSON export (`?format=json`): one page, or a whole window. The events come
/// after the daily aggregates and gap records, so that a download streamed event by event can
/// write everything it knows first; what it learns while reading (records it could not read,
/// whether it had to stop short) comes after them ([`Envelope::around_events`]).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<'a> {
    /// Always [`crate::SCHEMA_VERSION`].
    pub schema_version: u64,
    /// When the page was produced.
    #[serde(serialize_with = "rfc3339")]
    pub generated_at: DateTime<Utc>,
    /// Start of the exported window.
    #[serde(serialize_with = "rfc3339")]
    pub from: DateTime<Utc>,
    /// End of the exported window.
    #[serde(serialize_with = "rfc3339")]
    pub to: DateTime<Utc>,
    /// Daily aggregates of the window (first page only).
    pub daily: &'a [DailyAggregate],
    /// Knowledge-gap records (first page only).
    pub gaps: &'a [GapSummary],
    /// The page's events, day by day (within a day, the worker's own keys first, then other
    /// writers' epoch-keyed and `log:` records: see [`crate::Listing`]).
    pub events: &'a [Event],
    /// Stored records of the window that could not be read as events, by reason
    /// ([`crate::SkipReason`] names): values another writer put in the namespace.
    pub unreadable: BTreeMap<String, u64>,
    /// True when the answer holds less than was asked: a whole-window download that ran out
    /// of the invocation's storage budget. `message` says why, `next_cursor` where to go on.
    pub partial: bool,
    /// Why the answer is partial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The cursor of the next page, `null` on the last.
    pub next_cursor: Option<&'a str>,
}

impl<'a> Envelope<'a> {
    /// A complete envelope of the window `[from, to)` with nothing in it yet.
    pub fn new(generated_at: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Envelope {
            schema_version: crate::SCHEMA_VERSION,
            generated_at,
            from,
            to,
            daily: &[],
            gaps: &[],
            events: &[],
            unreadable: BTreeMap::new(),
            partial: false,
            message: None,
            next_cursor: None,
        }
    }

    /// The envelope's JSON around its events: what comes before the first event and what comes
    /// after the last, so that events can be written in between as they are read, separated by
    /// commas. The envelope's own `events` are left out.
    pub fn around_events(self) -> (String, String) {
        let empty = Envelope {
            events: &[],
            ..self
        };
        let json = serde_json::to_string(&empty).expect("an envelope always serialises");
        const EVENTS: &str = "\"events\":[]";
        let at = json.find(EVENTS).expect("the envelope has an events array") + EVENTS.len() - 1;
        (json[..at].to_owned(), json[at..].to_owned())
    }
}

fn rfc3339<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_timestamp(ts))
}

/// Where an export page resumes: the window end the first page fixed (so every page covers
/// the same window), a UTC day and, within it, KV's own list cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCursor {
    /// The exclusive end of the export's window, fixed by its first page.
    pub window_end: DateTime<Utc>,
    /// The day being listed.
    pub day: NaiveDate,
    /// Which of the day's key prefixes ([`crate::Spot`]), 0 for the day's own keys.
    pub part: u8,
    /// KV's cursor within that prefix, `None` at its start.
    pub kv_cursor: Option<String>,
}

impl ExportCursor {
    /// `YYYY-MM-DD[.part]~<window end, epoch ms>[~<kv cursor>]`: opaque to clients, who pass
    /// it back. Part 0 is written without its number, as every cursor was before there were
    /// parts.
    pub fn encode(&self) -> String {
        let part = match self.part {
            0 => String::new(),
            n => format!(".{n}"),
        };
        let head = format!(
            "{}{part}~{}",
            self.day.format("%Y-%m-%d"),
            self.window_end.timestamp_millis()
        );
        match &self.kv_cursor {
            Some(kv) => format!("{head}~{kv}"),
            None => head,
        }
    }

    /// Reads a cursor made by [`ExportCursor::encode`].
    pub fn decode(text: &str) -> Result<ExportCursor, String> {
        let bad = || format!("cursor {text:?} is not one this export handed out");
        let mut parts = text.splitn(3, '~');
        let (day, part) = parts
            .next()
            .map(|spot| spot.split_once('.').unwrap_or((spot, "0")))
            .ok_or_else(bad)?;
        let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad())?;
        let part = part
            .parse::<u8>()
            .ok()
            .filter(|p| *p < crate::Spot::PARTS && part.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)?;
        let window_end = parts
            .next()
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(bad)?;
        let kv_cursor = parts.next().filter(|k| !k.is_empty()).map(str::to_owned);
        Ok(ExportCursor {
            window_end,
            day,
            part,
            kv_cursor,
        })
    }
}

/// How far a cursor's window end may be ahead of the clock that checks it: the first page's
/// clock and a later page's may be different machines' clocks.
pub const CURSOR_CLOCK_SLACK: TimeDelta = TimeDelta::minutes(5);

impl ExportCursor {
    /// The window `[from, to)` of `days` days this cursor continues, when it is one an export
    /// running at `now` can have handed out: its window ended no later than `now` (plus
    /// [`CURSOR_CLOCK_SLACK`]), at most `max_days` days ago, and its day lies in the window.
    /// Anything else is an error naming the parameter: never a panic, whatever the numbers.
    pub fn window(
        &self,
        days: u32,
        max_days: u32,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
        let to = self.window_end;
        let stale = || {
            format!(
                "`cursor` continues an export whose window ended at {}; a cursor is valid for \
                 {max_days} days after its first page: start again without `cursor`",
                format_timestamp(&to)
            )
        };
        let oldest = now.checked_sub_signed(TimeDelta::days(i64::from(max_days)));
        let newest = now.checked_add_signed(CURSOR_CLOCK_SLACK);
        if oldest.is_none_or(|oldest| to < oldest) || newest.is_none_or(|newest| to > newest) {
            return Err(stale());
        }
        let from = to
            .checked_sub_signed(TimeDelta::days(i64::from(days)))
            .ok_or_else(stale)?;
        if self.day < from.date_naive() || self.day > to.date_naive() {
            return Err(format!(
                "`cursor` names the day {}, outside its window {} to {}: start again without \
                 `cursor`",
                self.day,
                format_timestamp(&from),
                format_timestamp(&to)
            ));
        }
        Ok((from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventType, parse_timestamp, read_export};

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
        let window_end = parse_timestamp("2026-11-26T06:00:00.123Z").expect("time");
        for kv in [None, Some("AAAA~b==/c".to_owned())] {
            let cursor = ExportCursor {
                window_end,
                day,
                part: 2,
                kv_cursor: kv,
            };
            assert_eq!(ExportCursor::decode(&cursor.encode()), Ok(cursor));
        }
        for bad in [
            "yesterday",
            "2026-11-25",
            "2026-11-25~soon",
            "2026-13-01~0",
            "2026-11-25.6~0",
            "2026-11-25.+1~0",
            "2026-11-25.~0",
        ] {
            assert!(ExportCursor::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_envelope_reads_back_through_the_export_reader() {
        let ts = parse_timestamp("2026-11-25T10:00:00Z").expect("time");
        let events = [Event::new(ts, EventType::CtaClicked)];
        let daily = [DailyAggregate {
            date: NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
            events_by_type: [("message_sent".to_owned(), 3)].into(),
        }];
        let envelope = Envelope {
            events: &events,
            daily: &daily,
            next_cursor: Some("2026-11-25~x"),
            ..Envelope::new(ts, ts, ts)
        };
        let json = serde_json::to_string(&envelope).expect("json");
        struct Keep(Vec<Event>, Vec<DailyAggregate>);
        impl crate::Sink for Keep {
            fn event(&mut self, e: Event) {
                self.0.push(e);
            }
            fn daily(&mut self, d: DailyAggregate) {
                self.1.push(d);
            }
            fn skipped(&mut self, s: crate::Skipped) -> Result<(), crate::ReadError> {
                Err(crate::ReadError::Rejected(s))
            }
        }
        let mut keep = Keep(Vec::new(), Vec::new());
        let info = read_export(json.as_bytes(), None, &mut keep).expect("reads");
        assert_eq!(keep.0, events);
        assert_eq!(keep.1, daily);
        assert_eq!(info.next_cursor.as_deref(), Some("2026-11-25~x"));
    }

    #[test]
    fn a_cursor_continues_only_a_window_an_export_can_have_handed_out() {
        let now = parse_timestamp("2026-11-26T06:00:00.123Z").expect("time");
        let cursor = |day: &str, window_end: DateTime<Utc>| ExportCursor {
            window_end,
            day: NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("date"),
            part: 0,
            kv_cursor: None,
        };
        let ok = cursor("2026-11-20", now - TimeDelta::hours(1));
        assert_eq!(
            ok.window(30, 90, now),
            Ok((
                now - TimeDelta::hours(1) - TimeDelta::days(30),
                now - TimeDelta::hours(1)
            ))
        );
        // The crafted cursor of the hardening review: a window end 264,000 years back.
        let crafted = ExportCursor::decode("2026-01-01~-8334601228800000").expect("decodes");
        let far_future = ExportCursor::decode("2026-01-01~8000000000000000").expect("decodes");
        for (what, bad) in [
            ("crafted", crafted),
            ("far future", far_future),
            ("stale", cursor("2026-08-01", now - TimeDelta::days(91))),
            ("ahead", cursor("2026-11-26", now + TimeDelta::minutes(6))),
            ("day before", cursor("2026-10-26", now)),
            ("day after", cursor("2026-11-27", now)),
        ] {
            let err = bad.window(30, 90, now).expect_err(what);
            assert!(err.contains("`cursor`"), "{what}: {err}");
        }
        let min = DateTime::<Utc>::MIN_UTC;
        assert!(cursor("2026-11-26", now).window(30, 90, min).is_err());
        assert!(
            cursor("2026-11-26", now)
                .window(30, 90, DateTime::<Utc>::MAX_UTC)
                .is_err()
        );
    }
}
