//! Per-session and per-day accumulators, in the same single pass: the per-day message and
//! bubble counts and durations that messages over time (category 2), performance (category 5)
//! and the daily P95 trend read, and what admins ask beyond the seven categories (the widget
//! funnel, the most clicked suggestions, when people chat). Gap clusters are in `clusters.rs`.

use chrono::{Datelike, NaiveDate, Timelike};

use crate::event::{EventRef, EventType};
use crate::hash::Map;
use crate::stats::{nearest_rank_counted, ratio};
use crate::summary::{Activity, Funnel, FunnelStep, LatencyDay, PageFunnel, SuggestionCount};
use crate::zone::Zone;

/// The funnel's steps, in order.
pub const FUNNEL_STEPS: [EventType; 4] = [
    EventType::WidgetLoaded,
    EventType::BubbleOpened,
    EventType::MessageSent,
    EventType::CtaClicked,
];
/// Pages with a funnel of their own.
pub const FUNNEL_PAGES: usize = 5;
/// Suggestions listed.
pub const TOP_SUGGESTIONS: usize = 20;
/// A session's way through the funnel, in 12 bytes: `u32`s only, so nothing is padding (a
/// `u64`, a `u32` and a `u8` took 16).
#[derive(Debug, Clone, Copy)]
struct Steps {
    /// The input position of the `widget_loaded` that gave the page, which decides between
    /// partial reads: its low and high halves.
    pos_low: u32,
    pos_high: u32,
    /// The funnel steps reached, as bits, in the top [`STEP_BITS`] bits; below them, the page
    /// its widget loaded on (a number in `pages`, [`NO_PAGE`] for none yet): that of its first
    /// `widget_loaded` with a page, in input order.
    steps_and_page: u32,
}

/// Bits of [`Steps::steps_and_page`] that hold the funnel steps.
const STEP_BITS: u32 = 4;
const _: () = assert!(FUNNEL_STEPS.len() <= STEP_BITS as usize);
/// The page of a session without one, and the bound of page numbers (2²⁸ − 1 distinct pages:
/// their table would need tens of gigabytes first).
const NO_PAGE: u32 = (1 << (32 - STEP_BITS)) - 1;

impl Steps {
    /// The funnel steps reached, as bits.
    fn mask(self) -> u8 {
        (self.steps_and_page >> (32 - STEP_BITS)) as u8
    }

    /// Marks the steps of `mask` reached.
    fn reach(&mut self, mask: u8) {
        self.steps_and_page |= u32::from(mask) << (32 - STEP_BITS);
    }

    /// The page its widget loaded on, [`NO_PAGE`] for none yet.
    fn page(self) -> u32 {
        self.steps_and_page & NO_PAGE
    }

    /// The input position of the `widget_loaded` that gave the page.
    fn page_pos(self) -> u64 {
        (u64::from(self.pos_high) << 32) | u64::from(self.pos_low)
    }

    /// Sets the page (below [`NO_PAGE`]), loaded at input position `pos`.
    fn set_page(&mut self, page: u32, pos: u64) {
        debug_assert!(
            page < NO_PAGE,
            "page numbers are bounded where they are given"
        );
        self.steps_and_page = (self.steps_and_page & !NO_PAGE) | page;
        self.pos_low = pos as u32;
        self.pos_high = (pos >> 32) as u32;
    }
}

/// The sessions' steps of another part of the input, and what its page numbers are here.
pub(crate) struct TheirSteps {
    sessions: Vec<Steps>,
    pages: Vec<u32>,
}

impl Default for Steps {
    fn default() -> Self {
        Steps {
            pos_low: 0,
            pos_high: 0,
            steps_and_page: NO_PAGE,
        }
    }
}

/// The funnel's row for sessions whose widget loaded on no known page.
const NO_PAGE_NAME: &str = "(none)";

/// One UTC day of the window: its counts and its durations.
#[derive(Debug, Default)]
struct Day {
    messages: u64,
    bubble_opens: u64,
    /// Failed messages.
    errors: u64,
    /// Retrieval, model and total times: how often each distinct duration (by its number in
    /// [`Insights::durations`]) occurred. Memory grows with the distinct durations of a day,
    /// not with its messages.
    times: [Map<u32, u32>; 3],
}

/// Accumulates the insights, one event at a time, and the per-day counts and durations that
/// the messages over time and the performance category read too.
#[derive(Debug, Default)]
pub(crate) struct Insights {
    /// Per session, by its interned number.
    sessions: Vec<Steps>,
    /// The pages widgets loaded on, interned: a session holds a number, not a copy.
    pages: Map<Box<str>, u32>,
    suggestions: Map<String, u64>,
    heat: [[u64; 24]; 7],
    /// The zone of the heatmap's days and hours.
    pub(crate) zone: Zone,
    /// Every distinct duration (by its bits: `-0.0` is not `0.0`), numbered on first sight.
    durations: Map<u64, u32>,
    /// The durations by number.
    duration_values: Vec<f64>,
    /// The days with a message or a bubble opening, in no particular order.
    days: Vec<(NaiveDate, Day)>,
    /// Where each day is in `days`.
    day_index: Map<NaiveDate, u32>,
    /// The index in `days` of the last day used: events mostly come in time order, so most
    /// need no lookup.
    last_day: usize,
}

impl Insights {
    /// Adds `event` at input position `pos`; `session` is its session's interned number
    /// (dense, from 0).
    pub(crate) fn add(&mut self, event: &EventRef<'_>, session: Option<u32>, pos: u64) {
        if let Some(id) = session
            && let Some(step) = FUNNEL_STEPS.iter().position(|s| s == event.event_type)
        {
            let id = id as usize;
            if id >= self.sessions.len() {
                self.sessions.resize(id + 1, Steps::default());
            }
            if let (EventType::WidgetLoaded, NO_PAGE, Some(url)) =
                (event.event_type, self.sessions[id].page(), event.page_url)
            {
                let page = match self.pages.get(url) {
                    Some(&page) => page,
                    None => {
                        let next = self.next_page();
                        self.pages.insert(url.into(), next);
                        next
                    }
                };
                self.sessions[id].set_page(page, pos);
            }
            self.sessions[id].reach(1 << step);
        }
        match event.event_type {
            EventType::SuggestionClicked => {
                if let Some(q) = event.question {
                    let q = q.trim();
                    match self.suggestions.get_mut(q) {
                        Some(n) => *n += 1,
                        None => {
                            self.suggestions.insert(q.to_owned(), 1);
                        }
                    }
                }
            }
            EventType::BubbleOpened => self.day(event.timestamp.date_naive()).bubble_opens += 1,
            EventType::MessageSent => {
                let ts = event.timestamp;
                let local = self.zone.local(ts);
                let weekday = local.weekday().num_days_from_monday() as usize;
                self.heat[weekday][local.hour() as usize] += 1;
                let numbers = [event.rag_time_ms, event.ai_time_ms, event.total_time_ms]
                    .map(|ms| ms.map(|ms| self.duration_number(ms)));
                let day = self.day(ts.date_naive());
                day.messages += 1;
                day.errors += u64::from(event.success == Some(false));
                for (counts, number) in day.times.iter_mut().zip(numbers) {
                    if let Some(number) = number {
                        count(counts, number, 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// The number the next new page gets.
    fn next_page(&self) -> u32 {
        let next = self.pages.len();
        assert!(
            next < NO_PAGE as usize,
            "fewer than 2^28 - 1 distinct pages widgets loaded on"
        );
        next as u32
    }

    /// The number of a duration, given on first sight.
    fn duration_number(&mut self, ms: f64) -> u32 {
        match self.durations.get(&ms.to_bits()) {
            Some(&n) => n,
            None => {
                let n = self.duration_values.len() as u32;
                self.durations.insert(ms.to_bits(), n);
                self.duration_values.push(ms);
                n
            }
        }
    }

    /// The accumulator of `date`, created empty on first use.
    fn day(&mut self, date: NaiveDate) -> &mut Day {
        if self.days.get(self.last_day).is_none_or(|(d, _)| *d != date) {
            self.last_day = match self.day_index.get(&date) {
                Some(&i) => i as usize,
                None => {
                    self.day_index.insert(date, self.days.len() as u32);
                    self.days.push((date, Day::default()));
                    self.days.len() - 1
                }
            };
        }
        &mut self.days[self.last_day].1
    }

    /// Messages, bubble openings and failed messages on `date`.
    pub(crate) fn day_counts(&self, date: NaiveDate) -> (u64, u64, u64) {
        self.day_index.get(&date).map_or((0, 0, 0), |&i| {
            let day = &self.days[i as usize].1;
            (day.messages, day.bubble_opens, day.errors)
        })
    }

    /// Folds in the insights of another part of the input but its sessions' steps, which come
    /// back for [`Insights::merge_sessions`] once the session numbers are known.
    pub(crate) fn merge(&mut self, other: Insights) -> TheirSteps {
        let mut pages = vec![0u32; other.pages.len()];
        for (url, page) in other.pages {
            let next = self.next_page();
            pages[page as usize] = *self.pages.entry(url).or_insert(next);
        }
        for (question, n) in other.suggestions {
            *self.suggestions.entry(question).or_default() += n;
        }
        for (mine, theirs) in self.heat.iter_mut().zip(other.heat) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
        let durations: Vec<u32> = other
            .duration_values
            .iter()
            .map(|&ms| self.duration_number(ms))
            .collect();
        for (date, theirs) in other.days {
            let mine = self.day(date);
            mine.messages += theirs.messages;
            mine.bubble_opens += theirs.bubble_opens;
            mine.errors += theirs.errors;
            for (m, t) in mine.times.iter_mut().zip(theirs.times) {
                for (number, n) in t {
                    count(m, durations[number as usize], n);
                }
            }
        }
        TheirSteps {
            sessions: other.sessions,
            pages,
        }
    }

    /// Folds in the steps of another part's sessions; `sessions` maps its session numbers to
    /// this one's, of which there are `total`.
    pub(crate) fn merge_sessions(&mut self, theirs: TheirSteps, sessions: &[u32], total: usize) {
        self.sessions
            .reserve_exact(total.saturating_sub(self.sessions.len()));
        for (id, theirs_steps) in theirs.sessions.into_iter().enumerate() {
            if theirs_steps.mask() == 0 {
                continue;
            }
            let id = sessions[id] as usize;
            if id >= self.sessions.len() {
                self.sessions.resize(id + 1, Steps::default());
            }
            let mine = &mut self.sessions[id];
            mine.reach(theirs_steps.mask());
            if theirs_steps.page() != NO_PAGE
                && (mine.page() == NO_PAGE || theirs_steps.page_pos() < mine.page_pos())
            {
                mine.set_page(
                    theirs.pages[theirs_steps.page() as usize],
                    theirs_steps.page_pos(),
                );
            }
        }
    }

    /// `counts` (indexed by duration number) as distinct durations with their counts, in
    /// ascending order (`f64::total_cmp`), without the zero counts.
    fn ascending(&self, counts: impl Iterator<Item = (u32, u64)>) -> Vec<(f64, u64)> {
        let mut list: Vec<(f64, u64)> = counts
            .filter(|&(_, n)| n > 0)
            .map(|(number, n)| (self.duration_values[number as usize], n))
            .collect();
        list.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        list
    }

    /// Every retrieval, model and total time of the window: each distinct duration with its
    /// count, in ascending order.
    pub(crate) fn all_times(&self) -> [Vec<(f64, u64)>; 3] {
        let mut all = [(); 3].map(|()| vec![0u64; self.duration_values.len()]);
        for (_, day) in &self.days {
            for (a, times) in all.iter_mut().zip(&day.times) {
                for (&number, &n) in times {
                    a[number as usize] += u64::from(n);
                }
            }
        }
        all.map(|counts| {
            self.ascending(
                counts
                    .into_iter()
                    .enumerate()
                    .map(|(number, n)| (number as u32, n)),
            )
        })
    }

    /// Sessions that sent a message: those whose steps include `message_sent`.
    pub(crate) fn messaging_sessions(&self) -> u64 {
        let message = FUNNEL_STEPS
            .iter()
            .position(|s| *s == EventType::MessageSent)
            .expect("message_sent is a funnel step");
        self.sessions
            .iter()
            .filter(|s| s.mask() & (1 << message) != 0)
            .count() as u64
    }

    pub(crate) fn funnel(&self) -> Funnel {
        let overall = steps(self.sessions.iter().map(|s| s.mask()));
        let mut names: Vec<&str> = vec![""; self.pages.len()];
        for (name, &i) in &self.pages {
            names[i as usize] = name;
        }
        // A session's page is where its widget loaded: sessions without one have no page,
        // and count under "(none)" (with a page of that name, if there is one).
        let none = names
            .iter()
            .position(|name| *name == NO_PAGE_NAME)
            .unwrap_or(names.len());
        let mut masks: Vec<Vec<u8>> = vec![Vec::new(); names.len() + 1];
        for session in self.sessions.iter().filter(|s| s.mask() & 1 == 1) {
            let group = match session.page() {
                NO_PAGE => none,
                i => i as usize,
            };
            masks[group].push(session.mask());
        }
        let mut pages: Vec<(&str, Vec<u8>)> = masks
            .into_iter()
            .enumerate()
            .filter(|(_, masks)| !masks.is_empty())
            .map(|(i, masks)| (names.get(i).copied().unwrap_or(NO_PAGE_NAME), masks))
            .collect();
        pages.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        Funnel {
            overall,
            by_page: pages
                .into_iter()
                .take(FUNNEL_PAGES)
                .map(|(page, masks)| PageFunnel {
                    page_url: page.to_owned(),
                    steps: steps(masks.into_iter()),
                })
                .collect(),
        }
    }

    pub(crate) fn suggestions(&self) -> Vec<SuggestionCount> {
        let total: u64 = self.suggestions.values().sum();
        let mut list: Vec<SuggestionCount> = self
            .suggestions
            .iter()
            .map(|(q, &n)| SuggestionCount {
                question: q.clone(),
                clicks: n,
                share: ratio(n, total),
            })
            .collect();
        list.sort_by(|a, b| b.clicks.cmp(&a.clicks).then(a.question.cmp(&b.question)));
        list.truncate(TOP_SUGGESTIONS);
        list
    }

    pub(crate) fn activity(&self) -> Activity {
        Activity {
            timezone: self.zone.name(),
            cells: self.heat.iter().map(|row| row.to_vec()).collect(),
        }
    }

    /// The daily P95s, one row per day with a message, in date order.
    pub(crate) fn latency_trend(&self) -> Vec<LatencyDay> {
        let mut days: Vec<&(NaiveDate, Day)> = self
            .days
            .iter()
            .filter(|(_, day)| day.messages > 0)
            .collect();
        days.sort_unstable_by_key(|(date, _)| *date);
        days.into_iter()
            .map(|(date, day)| {
                let p95 = |i: usize| {
                    let times =
                        self.ascending(day.times[i].iter().map(|(&k, &n)| (k, u64::from(n))));
                    nearest_rank_counted(&times, 95)
                };
                LatencyDay {
                    date: date.format("%Y-%m-%d").to_string(),
                    rag_p95: p95(0),
                    ai_p95: p95(1),
                    total_p95: p95(2),
                }
            })
            .collect()
    }
}

/// Adds `n` to the count of `number`. A count is 32 bits to keep a day's table small: more
/// than 4 294 967 295 equal durations in one day is beyond any chatbot.
fn count(counts: &mut Map<u32, u32>, number: u32, n: u32) {
    let slot = counts.entry(number).or_insert(0);
    *slot = slot
        .checked_add(n)
        .expect("fewer than 2^32 equal durations in one day");
}

/// The funnel steps over sessions given by their bit masks of steps reached.
fn steps(masks: impl Iterator<Item = u8>) -> Vec<FunnelStep> {
    let mut reached = [0u64; FUNNEL_STEPS.len()];
    for mask in masks {
        // A session counts for a step only if it reached every step before it too.
        for (i, count) in reached.iter_mut().enumerate() {
            let needed = (1u8 << (i + 1)) - 1;
            if mask & needed == needed {
                *count += 1;
            }
        }
    }
    reached
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let conversion = if i == 0 {
                if n > 0 { 1.0 } else { 0.0 }
            } else {
                ratio(n, reached[i - 1])
            };
            let before = if i == 0 { 0 } else { reached[i - 1] };
            FunnelStep {
                step: FUNNEL_STEPS[i].as_str().to_owned(),
                sessions: n,
                conversion,
                // Nothing can drop off a step nobody reached.
                drop_off: if before == 0 { 0.0 } else { 1.0 - conversion },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> DateTime<Utc> {
        crate::parse_timestamp(text).expect("time")
    }

    #[test]
    fn the_funnel_counts_sessions_that_reached_every_step_before() {
        // s1: all four; s2: loaded, opened, messaged; s3: loaded only; s4: a CTA click without
        // opening (does not count past step 1); s5: opened without a widget_loaded (counts
        // nowhere).
        let mut insights = Insights::default();
        let mut add = |session: &str, kind: EventType, page: Option<&str>| {
            let mut e = Event::new(at("2026-11-02T10:00:00Z"), kind);
            e.page_url = page.map(str::to_owned);
            // "s1" is session number 1, and so on (numbers as Metrics interns them).
            let id = session[1..].parse::<u32>().expect("s<n>");
            insights.add(&e.view(), Some(id), 0);
        };
        for kind in FUNNEL_STEPS {
            add("s1", kind, Some("/a"));
        }
        for kind in &FUNNEL_STEPS[..3] {
            add("s2", kind.clone(), Some("/b"));
        }
        add("s3", EventType::WidgetLoaded, Some("/a"));
        add("s4", EventType::WidgetLoaded, Some("/a"));
        add("s4", EventType::CtaClicked, None);
        add("s5", EventType::BubbleOpened, None);
        let funnel = insights.funnel();
        let counts: Vec<u64> = funnel.overall.iter().map(|s| s.sessions).collect();
        assert_eq!(counts, [4, 2, 2, 1]);
        assert_eq!(funnel.overall[1].conversion, 0.5);
        assert_eq!(funnel.overall[1].drop_off, 0.5);
        assert_eq!(funnel.overall[3].conversion, 0.5);
        assert_eq!(funnel.by_page[0].page_url, "/a", "most sessions first");
        assert_eq!(funnel.by_page[0].steps[0].sessions, 3);
    }

    #[test]
    fn the_funnel_groups_sessions_without_a_page_under_none() {
        // s1 and s2 loaded without a page; s3 on a page that is literally "(none)": one row.
        let mut insights = Insights::default();
        for (id, page) in [(1, None), (2, None), (3, Some("(none)")), (4, Some("/b"))] {
            let mut e = Event::new(at("2026-11-02T10:00:00Z"), EventType::WidgetLoaded);
            e.page_url = page.map(str::to_owned);
            insights.add(&e.view(), Some(id), 0);
        }
        let funnel = insights.funnel();
        let rows: Vec<(&str, u64)> = funnel
            .by_page
            .iter()
            .map(|p| (p.page_url.as_str(), p.steps[0].sessions))
            .collect();
        assert_eq!(rows, [("(none)", 3), ("/b", 1)]);
    }

    #[test]
    fn a_sessions_steps_keep_the_page_its_position_and_the_steps_apart() {
        let mut steps = Steps::default();
        assert_eq!(
            (steps.page(), steps.page_pos(), steps.mask()),
            (NO_PAGE, 0, 0)
        );
        steps.reach(0b1010);
        for (page, pos) in [
            (NO_PAGE - 1, 1),
            (0, u64::from(u32::MAX)),
            (7, 1 << 32),
            (NO_PAGE - 1, u64::MAX),
            (3, 5),
        ] {
            steps.set_page(page, pos);
            assert_eq!(
                (steps.page(), steps.page_pos(), steps.mask()),
                (page, pos, 0b1010)
            );
        }
        steps.reach(0b0101);
        assert_eq!(
            (steps.page(), steps.page_pos(), steps.mask()),
            (3, 5, 0b1111)
        );
        assert_eq!(std::mem::size_of::<Steps>(), 12);
    }

    #[test]
    fn an_empty_funnel_divides_by_nothing() {
        let funnel = Insights::default().funnel();
        assert!(
            funnel
                .overall
                .iter()
                .all(|s| s.sessions == 0 && s.conversion == 0.0)
        );
        assert!(funnel.by_page.is_empty());
    }

    #[test]
    fn the_heatmap_follows_a_fixed_offset() {
        let mut insights = Insights {
            zone: Zone::parse("+02:00").expect("offset"),
            ..Insights::default()
        };
        // Sunday 23:30 UTC is Monday 01:30 at +02:00.
        insights.add(
            &Event::new(at("2026-11-08T23:30:00Z"), EventType::MessageSent).view(),
            None,
            0,
        );
        let activity = insights.activity();
        assert_eq!(activity.timezone, "+02:00");
        assert_eq!(activity.cells[0][1], 1);
        assert_eq!(activity.cells[6][23], 0);
    }

    #[test]
    fn the_heatmap_and_daily_p95() {
        let mut insights = Insights::default();
        for (ts, total) in [
            ("2026-11-02T10:15:00Z", 100.0), // a Monday
            ("2026-11-02T10:45:00Z", 300.0),
            ("2026-11-08T23:00:00Z", 50.0), // a Sunday
        ] {
            let mut e = Event::new(at(ts), EventType::MessageSent);
            e.total_time_ms = Some(total);
            insights.add(&e.view(), None, 0);
        }
        let activity = insights.activity();
        assert_eq!(activity.cells[0][10], 2);
        assert_eq!(activity.cells[6][23], 1);
        let trend = insights.latency_trend();
        assert_eq!(trend[0].date, "2026-11-02");
        assert_eq!(trend[0].total_p95, Some(300.0));
        assert_eq!(trend[0].rag_p95, None);
    }
}
