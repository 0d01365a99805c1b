//! The seven metric categories as one-pass accumulators. Feed every event to
//! [`Metrics::add`] (or [`Metrics::add_ref`]), then call [`Metrics::finish`] for the
//! [`Summary`]; partial accumulators of one input [merge](Metrics::merge) exactly. Memory grows
//! only with the distinct keys (sessions, topics, questions, pages, sources, and durations per
//! day, counted for exact percentiles), never with the raw events.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use crate::alerts::Earlier;
use crate::arrivals::Arrivals;
use crate::clusters::{GapItem, cluster_gaps};
use crate::daily::DailyAggregate;
use crate::event::{Event, EventRef, EventType, format_timestamp};
use crate::gap_history::{GapRecords, GapSummary};
use crate::hash::{Map, Set};
use crate::insights::Insights;
use crate::phrasings::Phrasings;
use crate::record::SkipReason;
use crate::session::Sessions;
use crate::stats::{nearest_rank_counted, ratio};
use crate::summary::{
    ConversationVolume, DataQuality, DayCount, ErrorTypeCount, Errors, HistogramBucket,
    KnowledgeGap, PageCount, PagesAndSources, Percentiles, Performance, RecentError, SourceCount,
    Summary, TopicCount, WindowInfo,
};
use crate::window::Window;

mod finish;
mod sink;

/// `summary.json`'s `schemaVersion`.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;
/// Knowledge gaps kept in the summary.
pub const TOP_GAPS: usize = 100;
/// Pages and sources kept in the summary.
pub const TOP_PAGES: usize = 20;
/// Recent errors kept in the summary.
pub const RECENT_ERRORS: usize = 20;
/// Lower bounds of the latency histogram's buckets, in ms; each doubles the last.
pub const HISTOGRAM_BOUNDS_MS: [f64; 10] = [
    0.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0, 12800.0,
];

/// Lowercases, collapses every run of whitespace to one space, trims, then strips trailing
/// `?`, `!`, `.` and whitespace: the key that groups knowledge-gap questions.
pub fn normalize_question(question: &str) -> String {
    let lower = question.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for word in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let kept = out
        .trim_end_matches(|c: char| matches!(c, '?' | '!' | '.') || c.is_whitespace())
        .len();
    out.truncate(kept);
    out
}

/// The traffic source of a referrer: its host, lowercased, without a leading `www.`;
/// `"(direct)"` when absent or unparseable.
pub fn referrer_source(referrer: Option<&str>) -> String {
    referrer
        .and_then(|r| url::Url::parse(r.trim()).ok())
        .and_then(|u| u.host_str().map(str::to_lowercase))
        .map(|host| host.strip_prefix("www.").map(str::to_owned).unwrap_or(host))
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| DIRECT.to_owned())
}

const DIRECT: &str = "(direct)";
const NO_TOPIC: &str = "(none)";
const NO_PAGE: &str = "(none)";
const UNKNOWN_ERROR: &str = "(unknown)";

#[derive(Debug)]
struct GapAcc {
    count: u64,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    phrasings: Phrasings,
}

#[derive(Debug, Default)]
struct PageAcc {
    messages: u64,
    sessions: Set<u32>,
    titles: Phrasings,
}

/// A recent error, ordered so that the heap's minimum is the first to drop: oldest first,
/// and among equal timestamps the one read last (the highest position in the input).
#[derive(Debug)]
struct Recent {
    ts: DateTime<Utc>,
    pos: u64,
    error: RecentError,
}

impl Recent {
    fn key(&self) -> (DateTime<Utc>, Reverse<u64>) {
        (self.ts, Reverse(self.pos))
    }
}

impl PartialEq for Recent {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Recent {}
impl PartialOrd for Recent {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Recent {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// The one-pass accumulator of all seven categories.
#[derive(Debug)]
pub struct Metrics {
    window: Window,
    events_read: u64,
    events_in_window: u64,
    skipped: BTreeMap<SkipReason, u64>,
    first_ts: Option<DateTime<Utc>>,
    last_ts: Option<DateTime<Utc>>,
    messages: u64,
    bubble_opens: u64,
    events_by_type: Map<EventType, u64>,
    /// Every session id, once, with its number: the other sets hold numbers, not copies
    /// (a million events have a quarter of a million sessions).
    sessions: Sessions,
    /// Per session number: 1 + the number of a source it came from, the first one seen (0 for
    /// none yet). It counts under that source without an entry in a set: almost every session
    /// has one source only. (Whether it sent a message is in its funnel steps.)
    first_sources: Vec<u32>,
    daily: BTreeMap<NaiveDate, (u64, u64)>,
    topics: Map<String, u64>,
    gaps: Map<String, GapAcc>,
    /// The worker's gap records the input carried: they annotate `gaps`, never add to it.
    gap_records: GapRecords,
    error_count: u64,
    errors_by_type: Map<String, u64>,
    recent: BinaryHeap<Reverse<Recent>>,
    rate_limited: u64,
    pages: Map<String, PageAcc>,
    /// Per traffic source, by source number: its host, and the sessions that came from it
    /// besides the source in `first_sources` (never one whose entry there it is). Its sessions
    /// are these and those whose entry it is. `source_ids` numbers the hosts.
    sources: Vec<(String, Set<u32>)>,
    source_ids: Map<String, u32>,
    /// The source number of each referrer seen: a URL is parsed once, not once per event.
    referrer_sources: Map<Box<str>, u32>,
    insights: Insights,
    /// When the window's events arrived, for its silent stretches.
    arrivals: Arrivals,
    /// An earlier report of the period before, for alerts and new gaps when the input does
    /// not reach back to it (see [`Metrics::compare_with`]).
    earlier: Option<Box<Earlier>>,
    /// The window of equal length just before, for comparisons (range windows only).
    previous: Option<Box<Metrics>>,
    /// The earliest event read, in the window or not: does the input reach back far enough
    /// to compare with the previous period?
    earliest_read: Option<DateTime<Utc>>,
}

fn bump(map: &mut Map<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl Metrics {
    /// An empty accumulator for `window`.
    pub fn new(window: Window) -> Metrics {
        Metrics {
            window,
            events_read: 0,
            events_in_window: 0,
            skipped: BTreeMap::new(),
            first_ts: None,
            last_ts: None,
            messages: 0,
            bubble_opens: 0,
            events_by_type: Map::default(),
            sessions: Sessions::default(),
            first_sources: Vec::new(),
            daily: BTreeMap::new(),
            topics: Map::default(),
            gaps: Map::default(),
            gap_records: GapRecords::default(),
            error_count: 0,
            errors_by_type: Map::default(),
            recent: BinaryHeap::new(),
            rate_limited: 0,
            pages: Map::default(),
            sources: Vec::new(),
            source_ids: Map::default(),
            referrer_sources: Map::default(),
            insights: Insights::default(),
            arrivals: Arrivals::default(),
            earlier: None,
            previous: match window {
                Window::Range { from, to } => {
                    let mut previous = Metrics::new(Window::All);
                    previous.window = Window::Range {
                        from: from - (to - from),
                        to: from,
                    };
                    Some(Box::new(previous))
                }
                Window::All => None,
            },
            earliest_read: None,
        }
    }

    /// Counts the weekday × hour activity in `zone` instead of UTC.
    pub fn with_timezone(mut self, zone: crate::Zone) -> Metrics {
        self.insights.zone = zone;
        self
    }

    /// The first and last in-window event times, once there is an event.
    pub fn span(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.first_ts.zip(self.last_ts)
    }

    /// Skipped records so far, by reason.
    pub fn skipped(&self) -> &BTreeMap<SkipReason, u64> {
        &self.skipped
    }

    /// Records a skipped (malformed) record.
    pub fn skip(&mut self, reason: SkipReason) {
        self.skip_many(reason, 1);
    }

    /// Records `n` skipped records: those the worker counted in its store and could not read.
    pub fn skip_many(&mut self, reason: SkipReason, n: u64) {
        if n > 0 {
            *self.skipped.entry(reason).or_default() += n;
        }
    }

    /// Records a daily aggregate (from the export envelope).
    pub fn add_daily(&mut self, day: &DailyAggregate) {
        self.daily.insert(
            day.date,
            (
                day.count(EventType::MessageSent.as_str()),
                day.count(EventType::BubbleOpened.as_str()),
            ),
        );
    }

    /// Records a knowledge gap's record from the worker (the export envelope's `gaps`): the
    /// window's gap of the same key shows it as its history. A key listed twice keeps the
    /// larger count and the widest span (see [`GapRecords`]).
    pub fn add_gap_record(&mut self, gap: &GapSummary) {
        self.gap_records.add(gap);
    }

    /// Adds one event. Events outside the window are counted as read and otherwise ignored.
    pub fn add(&mut self, event: &Event) {
        let pos = self.events_read;
        self.add_ref(&event.view(), pos);
    }

    /// Adds one event from its borrowed view; `pos` is its position in the input, increasing
    /// from one event to the next. Partial accumulators of one input (see [`Metrics::merge`])
    /// must be given distinct positions in input order: every rule that depends on the
    /// order of the input (which of two errors at one instant is more recent, the page of a
    /// session's first `widget_loaded`) follows `pos`, so merging gives what one accumulator
    /// fed the whole input in order would.
    pub fn add_ref(&mut self, event: &EventRef<'_>, pos: u64) {
        self.events_read += 1;
        let ts = event.timestamp;
        self.earliest_read = Some(self.earliest_read.map_or(ts, |t| t.min(ts)));
        if !self.window.contains(ts) {
            if let Some(previous) = self.previous.as_mut()
                && previous.window.contains(ts)
            {
                previous.add_ref(event, pos);
            }
            return;
        }
        self.events_in_window += 1;
        self.first_ts = Some(self.first_ts.map_or(ts, |t| t.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |t| t.max(ts)));
        self.arrivals.add(ts);

        match self.events_by_type.get_mut(event.event_type) {
            Some(n) => *n += 1,
            None => {
                self.events_by_type.insert(event.event_type.clone(), 1);
            }
        }
        // docs/metrics.md: an unknown type is counted under `eventsByType` and otherwise ignored
        // (no session, no source).
        if !event.event_type.is_known() {
            return;
        }
        let session = event
            .session_id
            .filter(|s| !s.is_empty())
            .map(|id| self.sessions.number(id));
        self.add_source(event, session);
        self.insights.add(event, session, pos);

        match event.event_type {
            EventType::MessageSent => self.add_message(event, session, pos),
            EventType::BubbleOpened => self.bubble_opens += 1,
            EventType::RateLimited => self.rate_limited += 1,
            _ => {}
        }
    }

    /// An empty accumulator for the same window, time zone and previous period: one per
    /// thread of a parallel read, merged at the end with [`Metrics::merge`].
    pub fn partial(&self) -> Metrics {
        let mut partial = Metrics::new(self.window);
        partial.insights.zone = self.insights.zone;
        partial
    }

    /// Folds in `other`, an accumulator of other events of the same input (same window and
    /// zone, positions distinct from this one's). The result is exactly what one accumulator
    /// given all the events in position order would hold, whatever the order of merging.
    pub fn merge(&mut self, mut other: Metrics) {
        // The one with more sessions takes in the other: fewer ids to renumber, and its tables
        // are kept as they are instead of being copied.
        if other.sessions.len() > self.sessions.len() {
            std::mem::swap(self, &mut other);
        }
        let Metrics {
            window: _,
            events_read,
            events_in_window,
            skipped,
            first_ts,
            last_ts,
            messages,
            bubble_opens,
            events_by_type,
            sessions,
            first_sources,
            daily,
            topics,
            gaps,
            gap_records,
            error_count,
            errors_by_type,
            recent,
            rate_limited,
            pages,
            sources,
            source_ids,
            referrer_sources,
            insights,
            arrivals,
            earlier,
            previous,
            earliest_read,
        } = other;
        self.earlier = self.earlier.take().or(earlier);
        drop((source_ids, referrer_sources));
        self.events_read += events_read;
        self.events_in_window += events_in_window;
        for (reason, n) in skipped {
            *self.skipped.entry(reason).or_default() += n;
        }
        self.first_ts = min_some(self.first_ts, first_ts);
        // `None` orders before any `Some`.
        self.last_ts = self.last_ts.max(last_ts);
        self.earliest_read = min_some(self.earliest_read, earliest_read);
        self.messages += messages;
        self.bubble_opens += bubble_opens;
        self.error_count += error_count;
        self.rate_limited += rate_limited;
        for (kind, n) in events_by_type {
            *self.events_by_type.entry(kind).or_default() += n;
        }
        self.daily.extend(daily);
        for (topic, n) in topics {
            *self.topics.entry(topic).or_default() += n;
        }
        for (key, gap) in gaps {
            match self.gaps.get_mut(&key) {
                Some(mine) => {
                    mine.count += gap.count;
                    mine.first = mine.first.min(gap.first);
                    mine.last = mine.last.max(gap.last);
                    mine.phrasings.merge(gap.phrasings);
                }
                None => {
                    self.gaps.insert(key, gap);
                }
            }
        }
        self.gap_records.merge(gap_records);
        self.arrivals.merge(arrivals);
        for (kind, n) in errors_by_type {
            *self.errors_by_type.entry(kind).or_default() += n;
        }
        for error in recent {
            self.recent.push(error);
            if self.recent.len() > RECENT_ERRORS {
                self.recent.pop();
            }
        }
        // Everything but the sessions first: what is merged is freed before the session table
        // grows, the moment memory peaks.
        let steps = self.insights.merge(insights);
        // Other's session numbers, as this accumulator numbers the same ids. Its new ids join
        // the table last, when the rest of `other` is freed: the table's growth is the peak.
        let (remap, new_sessions) = self.sessions.renumber(sessions);
        let total = self.sessions.len() + new_sessions.len();
        // Other's source numbers, as this accumulator numbers the same hosts.
        let source_map: Vec<u32> = sources
            .iter()
            .map(|(host, _)| self.source_id(host))
            .collect();
        self.first_sources
            .reserve_exact(total.saturating_sub(self.first_sources.len()));
        for (id, theirs) in first_sources.into_iter().enumerate() {
            if theirs != 0 {
                self.count_source(remap[id], source_map[theirs as usize - 1]);
            }
        }
        for (url, page) in pages {
            let mine = self.pages.entry(url).or_default();
            mine.messages += page.messages;
            mine.sessions
                .extend(page.sessions.into_iter().map(|s| remap[s as usize]));
            mine.titles.merge(page.titles);
        }
        for ((_, set), source) in sources.into_iter().zip(source_map) {
            for id in set {
                self.count_source(remap[id as usize], source);
            }
        }
        self.insights.merge_sessions(steps, &remap, total);
        drop(remap);
        self.sessions.add(new_sessions);
        if let (Some(mine), Some(theirs)) = (self.previous.as_mut(), previous) {
            mine.merge(*theirs);
        }
    }

    fn add_source(&mut self, event: &EventRef<'_>, session: Option<u32>) {
        let source = match event.referrer {
            None => self.source_id(DIRECT),
            Some(referrer) => match self.referrer_sources.get(referrer) {
                Some(&source) => source,
                None => {
                    let source = self.source_id(&referrer_source(Some(referrer)));
                    self.referrer_sources.insert(referrer.into(), source);
                    source
                }
            },
        };
        if let Some(id) = session {
            self.count_source(id, source);
        }
    }

    /// Counts session `id` under `source`: as its first source, or in the source's set.
    fn count_source(&mut self, id: u32, source: u32) {
        let id = id as usize;
        if id >= self.first_sources.len() {
            self.first_sources.resize(id + 1, 0);
        }
        let first = &mut self.first_sources[id];
        if *first == 0 {
            *first = source + 1;
        } else if *first != source + 1 {
            self.sources[source as usize].1.insert(id as u32);
        }
    }

    /// The number of a traffic source (a host, or `(direct)`), given on first sight.
    fn source_id(&mut self, host: &str) -> u32 {
        match self.source_ids.get(host) {
            Some(&id) => id,
            None => {
                let id = self.sources.len() as u32;
                self.sources.push((host.to_owned(), Set::default()));
                self.source_ids.insert(host.to_owned(), id);
                id
            }
        }
    }

    fn add_message(&mut self, event: &EventRef<'_>, session: Option<u32>, pos: u64) {
        self.messages += 1;
        let ts = event.timestamp;
        // docs/metrics.md: a null or empty topic is "(none)".
        let topic = event.topic.filter(|t| !t.is_empty());
        bump(&mut self.topics, topic.unwrap_or(NO_TOPIC));

        if event.no_rag_match == Some(true)
            && let Some(question) = event.question
        {
            self.add_gap(question, ts);
        }

        if event.success == Some(false) {
            self.add_error(event, pos);
        }

        let page_url = event.page_url.unwrap_or(NO_PAGE);
        let page = match self.pages.get_mut(page_url) {
            Some(page) => page,
            None => self.pages.entry(page_url.to_owned()).or_default(),
        };
        page.messages += 1;
        if let Some(id) = session {
            page.sessions.insert(id);
        }
        if let Some(title) = event.page_title {
            page.titles.add(title, ts);
        }
    }

    fn add_gap(&mut self, question: &str, ts: DateTime<Utc>) {
        let key = normalize_question(question);
        if key.is_empty() {
            return;
        }
        let gap = self.gaps.entry(key).or_insert_with(|| GapAcc {
            count: 0,
            first: ts,
            last: ts,
            phrasings: Phrasings::default(),
        });
        gap.count += 1;
        gap.first = gap.first.min(ts);
        gap.last = gap.last.max(ts);
        gap.phrasings.add(question, ts);
    }

    fn add_error(&mut self, event: &EventRef<'_>, pos: u64) {
        self.error_count += 1;
        bump(
            &mut self.errors_by_type,
            event.error_type.unwrap_or(UNKNOWN_ERROR),
        );
        let key = (event.timestamp, Reverse(pos));
        if self.recent.len() == RECENT_ERRORS
            && self
                .recent
                .peek()
                .is_some_and(|Reverse(min)| key <= min.key())
        {
            return;
        }
        let own = |s: Option<&str>| s.map(str::to_owned);
        self.recent.push(Reverse(Recent {
            ts: event.timestamp,
            pos,
            error: RecentError {
                timestamp: format_timestamp(&event.timestamp),
                error_type: own(event.error_type),
                error_message: own(event.error_message),
                topic: own(event.topic),
                page_url: own(event.page_url),
            },
        }));
        if self.recent.len() > RECENT_ERRORS {
            self.recent.pop();
        }
    }
}

/// The earlier of two optional times.
fn min_some(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
