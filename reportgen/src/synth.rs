//! Deterministic synthetic analytics data: the demo dataset and `reportgen generate`.
//!
//! The data imitates a month of the chatbot on a personal portfolio site: a weekly rhythm with
//! mild growth and one day when a blog post was shared, a daytime curve, visitors who mostly
//! just load the widget, and the chats of those who open it — answered questions, knowledge
//! gaps asked in several phrasings, slow answers and the occasional error.
//!
//! Everything comes from one `ChaCha8Rng` seeded with the configured seed (its output is
//! stable across versions) and nothing depends on the clock or on hash order, so the same
//! config gives the same events, byte for byte.
//!
//! Memory: the window is generated in 15-minute slices. After a slice's sessions are made, every
//! pending event before the slice's end is emitted, because later sessions all start after it.
//! Only the events of one slice plus the sessions still in progress are held: under 15,000
//! events (about 10 MB) at the busiest moment of a ten-million-event month.

use std::io;

use analytics::{Event, EventType};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Zipf};

mod calendar;
mod data;

use calendar::Calendar;
use data::{
    GAP_REWORDINGS, GAPS, PAGES, Page, REFERRERS, SHARED_POST, SHARED_REFERRER, SMALL_TALK,
    SUGGESTIONS, Suggestion, TOPICS, TRENDING_GAPS,
};

/// Parameters of a synthetic dataset.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Exactly this many events are produced.
    pub events: u64,
    /// Same seed, same events, byte for byte.
    pub seed: u64,
    /// The events span the `days` days before `end`.
    pub days: u32,
    /// Exclusive end of the data.
    pub end: DateTime<Utc>,
}

impl SynthConfig {
    /// The demo dataset: 80,000 events over the 60 days before 2026-11-26T00:00:00Z, seed 42.
    /// Every value is fixed so that the demo report is reproducible byte for byte.
    pub fn demo() -> SynthConfig {
        SynthConfig {
            events: 80_000,
            seed: 42,
            days: 60,
            end: Utc
                .with_ymd_and_hms(2026, 11, 26, 0, 0, 0)
                .single()
                .expect("a valid UTC date"),
        }
    }
}

/// Produces the dataset, calling `emit` once per event in timestamp order.
///
/// Every event lies in `end - days ≤ timestamp < end`. Fails with `InvalidInput` when events
/// are asked for but the window is empty or out of the representable range, and passes on the
/// first error `emit` returns.
pub fn generate<F: FnMut(&Event) -> io::Result<()>>(
    config: &SynthConfig,
    mut emit: F,
) -> io::Result<()> {
    if config.events == 0 {
        return Ok(());
    }
    let start = window_start(config)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let calendar = Calendar::new(&mut rng, start, config.days);
    let gaps = Zipf::new(GAPS.len() as f64, GAP_ZIPF_EXPONENT).expect("constant Zipf parameters");

    let slices = i64::from(config.days) * SLICES_PER_DAY;
    let slice_start = |i: i64| start + TimeDelta::minutes(i * SLICE_MINUTES);
    let total_weight: f64 = (0..slices).map(|i| calendar.weight(slice_start(i))).sum();

    let mut pending: Vec<Event> = Vec::new();
    let mut order: Vec<((i64, u32), usize)> = Vec::new();
    let mut produced = 0u64;
    let mut cumulative_weight = 0.0;
    for i in 0..slices {
        let from = slice_start(i);
        let to = from + TimeDelta::minutes(SLICE_MINUTES);
        cumulative_weight += calendar.weight(from);
        // The events due by the end of this slice follow the cumulative weight; the last slice
        // absorbs the rounding so that the total is exact.
        let due = if i + 1 == slices {
            config.events
        } else {
            ((config.events as f64 * cumulative_weight / total_weight) as u64).min(config.events)
        };
        while produced < due {
            let begin = from + TimeDelta::milliseconds(rng.random_range(0..SLICE_MINUTES * 60_000));
            let before = pending.len();
            session(&mut rng, &calendar, &gaps, begin, config.end, &mut pending);
            // A session overshooting the due count is fine (the next slices make fewer), except
            // at the very end, where the last session is cut short: its visitor just left.
            let remaining = config.events - produced;
            let made = (pending.len() - before) as u64;
            if made > remaining {
                pending.truncate(before + remaining as usize);
            }
            produced += made.min(remaining);
        }
        // Sorting integer keys with positions is much cheaper than sorting the events; the
        // position keeps equal timestamps in generation order, which within a session is the
        // order things happened.
        order.clear();
        order.extend(
            pending
                .iter()
                .enumerate()
                .map(|(i, event)| (sort_key(event.timestamp), i)),
        );
        order.sort_unstable();
        let to = sort_key(to);
        for &(key, i) in &order {
            if key >= to {
                break;
            }
            emit(&pending[i])?;
        }
        pending.retain(|event| sort_key(event.timestamp) >= to);
    }
    // The last slice ends at `end` and sessions never run past it, so nothing is left over.
    debug_assert!(pending.is_empty());
    Ok(())
}

/// A timestamp as integers, which order the same way and compare faster.
fn sort_key(at: DateTime<Utc>) -> (i64, u32) {
    (at.timestamp(), at.timestamp_subsec_nanos())
}

fn window_start(config: &SynthConfig) -> io::Result<DateTime<Utc>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
    if config.days == 0 {
        return Err(invalid("cannot generate events in a window of 0 days"));
    }
    config
        .end
        .checked_sub_signed(TimeDelta::days(i64::from(config.days)))
        .ok_or_else(|| invalid("the window starts before the earliest representable date"))
}

const SLICE_MINUTES: i64 = 15;
const SLICES_PER_DAY: i64 = 24 * 60 / SLICE_MINUTES;

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

const OPEN_SHARE: f64 = 0.45;
const MESSAGING_SHARE_OF_OPENERS: f64 = 0.78;
/// Messages in a messaging session, 1 to 6, each count rarer than the last.
const MESSAGE_COUNTS: [(u64, u32); 6] = [(1, 40), (2, 24), (3, 15), (4, 10), (5, 6), (6, 5)];
const SUGGESTION_SHARE: f64 = 0.35;
const CTA_SHARE_OF_OPENERS: f64 = 0.08;
const RATE_LIMITED_SHARE: f64 = 0.015;
/// A widget that failed to render: a type this schema does not know, to exercise that path.
const WIDGET_ERROR_SHARE: f64 = 0.001;

/// The context copied onto every event of one session.
struct Visit<'a> {
    id: String,
    page: Page,
    referrer: Option<&'static str>,
    at: DateTime<Utc>,
    end: DateTime<Utc>,
    out: &'a mut Vec<Event>,
}

impl Visit<'_> {
    /// Moves the session's clock on. Near the end of the window the step shrinks so that the
    /// session stays inside it (at millisecond resolution, possibly repeating a timestamp).
    fn wait(&mut self, gap: TimeDelta) {
        let next = self.at + gap;
        self.at = if next < self.end {
            next
        } else {
            self.at + TimeDelta::milliseconds((self.end - self.at).num_milliseconds() / 2)
        };
    }

    /// An event at the current time carrying the session's context.
    fn event(&self, event_type: EventType) -> Event {
        let mut event = Event::new(self.at, event_type);
        event.session_id = Some(self.id.clone());
        event.page_url = Some(self.page.url.to_owned());
        event.page_title = Some(self.page.title.to_owned());
        event.referrer = self.referrer.map(str::to_owned);
        event
    }

    fn push(&mut self, event_type: EventType) {
        let event = self.event(event_type);
        self.out.push(event);
    }
}

/// Appends one visitor's session, starting at `begin`, to `out`, in time order.
fn session(
    rng: &mut impl Rng,
    calendar: &Calendar,
    gaps: &Zipf<f64>,
    begin: DateTime<Utc>,
    end: DateTime<Utc>,
    out: &mut Vec<Event>,
) {
    let boost = calendar.boost(begin);
    let from_shared_post = boost > 1.0 && rng.random_bool(1.0 - 1.0 / boost);
    let (page, referrer) = if from_shared_post {
        let page = if rng.random_bool(0.8) {
            SHARED_POST
        } else {
            *pick(rng, &PAGES)
        };
        (page, Some(SHARED_REFERRER))
    } else {
        (*pick(rng, &PAGES), *pick(rng, &REFERRERS))
    };
    let mut visit = Visit {
        id: session_id(rng, begin),
        page,
        referrer,
        at: begin,
        end,
        out,
    };

    visit.push(EventType::WidgetLoaded);
    if rng.random_bool(WIDGET_ERROR_SHARE) {
        visit.wait(seconds(rng, 0.8, 0.6, 0.1, 5.0));
        let mut event = visit.event(EventType::Other("widget_error".to_owned()));
        event.error_message = Some("Chat widget failed to render".to_owned());
        visit.out.push(event);
    }
    if !rng.random_bool(OPEN_SHARE) {
        return;
    }

    visit.wait(seconds(rng, 15.0, 0.8, 2.0, 300.0));
    visit.push(EventType::BubbleOpened);

    let mut messages = if rng.random_bool(MESSAGING_SHARE_OF_OPENERS) {
        *pick(rng, &MESSAGE_COUNTS)
    } else {
        0
    };
    // Hitting the limit takes a burst of messages.
    let rate_limited = messages > 0 && rng.random_bool(RATE_LIMITED_SHARE);
    if rate_limited {
        messages = messages.max(rng.random_range(5..=6));
    }
    let suggestion =
        (messages > 0 && rng.random_bool(SUGGESTION_SHARE)).then(|| *pick(rng, &SUGGESTIONS));
    if let Some(suggestion) = suggestion {
        visit.wait(seconds(rng, 5.0, 0.5, 1.0, 30.0));
        let mut event = visit.event(EventType::SuggestionClicked);
        event.question = Some(suggestion.question.to_owned());
        visit.out.push(event);
    }
    for number in 1..=messages {
        let gap = match (number, suggestion) {
            // A clicked suggestion is sent at once.
            (1, Some(_)) => seconds(rng, 0.3, 0.3, 0.1, 1.0),
            // Typing the first question.
            (1, None) => seconds(rng, 18.0, 0.6, 3.0, 180.0),
            // Waiting for and reading the answer, then typing the next question.
            _ => seconds(rng, 40.0, 0.6, 8.0, 600.0),
        };
        visit.wait(gap);
        let chosen = if number == 1 { suggestion } else { None };
        let event = message(rng, gaps, &visit, number, chosen);
        visit.out.push(event);
    }
    if rate_limited {
        visit.wait(seconds(rng, 6.0, 0.5, 1.0, 60.0));
        visit.push(EventType::RateLimited);
    }
    let cta = rng.random_bool(CTA_SHARE_OF_OPENERS);
    if cta {
        visit.wait(seconds(rng, 20.0, 0.7, 2.0, 300.0));
        visit.push(EventType::CtaClicked);
    }
    // A CTA usually navigates away, leaving the window open.
    if rng.random_bool(if cta { 0.5 } else { 0.85 }) {
        visit.wait(seconds(rng, 20.0, 0.8, 1.0, 600.0));
        visit.push(EventType::BubbleClosed);
    }
}

/// `session-<unix seconds>-<9 lowercase alphanumerics>`, as the widget makes them.
fn session_id(rng: &mut impl Rng, begin: DateTime<Utc>) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // One draw for all nine digits: the generator is the cost in debug builds.
    let mut n = rng.random_range(0..36u64.pow(9));
    let suffix: String = (0..9)
        .map(|_| {
            let digit = ALPHABET[(n % 36) as usize];
            n /= 36;
            char::from(digit)
        })
        .collect();
    format!("session-{}-{suffix}", begin.timestamp())
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// The last days of the data, when [`TRENDING_GAPS`] are asked.
const TRENDING_DAYS: i64 = 12;
/// Share of messages in those days that ask one of them.
const TRENDING_GAP_SHARE: f64 = 0.02;
/// Share of the gap questions with other wordings that are asked in one of those.
const GAP_REWORDED_SHARE: f64 = 0.3;

const GAP_ZIPF_EXPONENT: f64 = 1.05;
/// A little above the target 12% because the first message of a suggestion click is never a
/// gap.
const GAP_SHARE: f64 = 0.13;
const SMALL_TALK_SHARE: f64 = 0.05;
const ERROR_SHARE: f64 = 0.025;
const SLOW_AI_SHARE: f64 = 0.02;

#[derive(Clone, Copy, PartialEq)]
enum Retrieval {
    Answered,
    SmallTalk,
    Gap,
}

#[derive(Clone, Copy)]
enum Failure {
    AiTimeout,
    Upstream,
    AiRateLimited,
    RagUnavailable,
}

const FAILURES: [(Failure, u32); 4] = [
    (Failure::AiTimeout, 40),
    (Failure::Upstream, 25),
    (Failure::AiRateLimited, 20),
    (Failure::RagUnavailable, 15),
];

/// Builds one `message_sent` event for the visit's current time.
fn message(
    rng: &mut impl Rng,
    gaps: &Zipf<f64>,
    visit: &Visit<'_>,
    number: u64,
    suggestion: Option<Suggestion>,
) -> Event {
    let (question, topic, retrieval) = if let Some(suggestion) = suggestion {
        (
            suggestion.question.to_owned(),
            Some(suggestion.topic),
            Retrieval::Answered,
        )
    } else if visit.end - visit.at < TimeDelta::days(TRENDING_DAYS)
        && rng.random_bool(TRENDING_GAP_SHARE)
    {
        // A question that only started to be asked lately: "new this period" in the report.
        let question = TRENDING_GAPS[rng.random_range(0..TRENDING_GAPS.len())];
        (rephrase(rng, question), Some("ai"), Retrieval::Gap)
    } else if rng.random_bool(GAP_SHARE) {
        // Zipf samples are whole numbers from 1 to the list length.
        let rank = (gaps.sample(rng) as usize).clamp(1, GAPS.len());
        let (mut question, topic) = GAPS[rank - 1];
        // Some visitors word the same question differently: gap clusters group them.
        let rewordings: Vec<&str> = GAP_REWORDINGS
            .iter()
            .filter(|(of, _)| *of == question)
            .map(|(_, other)| *other)
            .collect();
        if !rewordings.is_empty() && rng.random_bool(GAP_REWORDED_SHARE) {
            question = rewordings[rng.random_range(0..rewordings.len())];
        }
        (rephrase(rng, question), topic, Retrieval::Gap)
    } else if rng.random_bool(SMALL_TALK_SHARE) {
        let question = SMALL_TALK[rng.random_range(0..SMALL_TALK.len())];
        (rephrase(rng, question), None, Retrieval::SmallTalk)
    } else {
        let topic = pick(rng, &TOPICS);
        let question = topic.questions[rng.random_range(0..topic.questions.len())];
        (
            rephrase(rng, question),
            Some(topic.name),
            Retrieval::Answered,
        )
    };

    let mut event = visit.event(EventType::MessageSent);
    event.message_number = Some(number);
    event.question = Some(question);
    event.topic = topic.map(str::to_owned);

    let failure = rng.random_bool(ERROR_SHARE).then(|| *pick(rng, &FAILURES));
    let rag = millis(lognormal(rng, 15.0, 0.45));
    let overhead = f64::from(rng.random_range(1..=6u32));
    if !matches!(failure, Some(Failure::RagUnavailable)) {
        let (entries, score) = match retrieval {
            Retrieval::Answered => (*pick(rng, &ENTRIES), 0.55 + 0.43 * triangular(rng)),
            Retrieval::SmallTalk => (rng.random_range(1..=2), rng.random_range(0.50..0.62)),
            Retrieval::Gap => (0, rng.random_range(0.05..0.42)),
        };
        event.entries_retrieved = Some(entries);
        event.rag_match_score = Some((score * 1000.0).round() / 1000.0);
        event.no_rag_match = Some(retrieval == Retrieval::Gap);
    }

    match failure {
        None => {
            let mut ai = lognormal(rng, 900.0, 0.5);
            if rng.random_bool(SLOW_AI_SHARE) {
                ai *= rng.random_range(5.0..10.0);
            }
            let ai = millis(ai);
            let length = match retrieval {
                Retrieval::Answered => lognormal(rng, 380.0, 0.4).clamp(80.0, 1600.0),
                Retrieval::SmallTalk => rng.random_range(40.0..140.0),
                // "I don't know that yet; the contact page is the best way to ask."
                Retrieval::Gap => rng.random_range(110.0..240.0),
            };
            event.success = Some(true);
            event.response_length = Some(length.round() as u64);
            event.rag_time_ms = Some(rag);
            event.ai_time_ms = Some(ai);
            event.total_time_ms = Some(rag + ai + overhead);
        }
        Some(failure) => {
            let (error_type, message, rag, ai) = match failure {
                Failure::AiTimeout => (
                    "ai_timeout",
                    "Model did not answer within 30 s",
                    rag,
                    Some(30_000.0 + f64::from(rng.random_range(0..250u32))),
                ),
                Failure::AiRateLimited => (
                    "ai_rate_limited",
                    "AI provider rate limit reached (HTTP 429)",
                    rag,
                    Some(millis(lognormal(rng, 120.0, 0.4))),
                ),
                Failure::Upstream => (
                    "upstream_error",
                    if rng.random_bool(0.6) {
                        "Upstream returned HTTP 502"
                    } else {
                        "Upstream returned HTTP 503"
                    },
                    rag,
                    Some(millis(lognormal(rng, 700.0, 0.7))),
                ),
                // Retrieval failed, so the model was never asked. The index mostly refuses
                // at once and only now and then hangs until the worker gives up.
                Failure::RagUnavailable if rng.random_bool(0.7) => (
                    "rag_unavailable",
                    "Vector index unavailable (HTTP 503)",
                    millis(lognormal(rng, 25.0, 0.5)),
                    None,
                ),
                Failure::RagUnavailable => (
                    "rag_unavailable",
                    "Vector search did not answer within 2 s",
                    2_000.0 + f64::from(rng.random_range(0..40u32)),
                    None,
                ),
            };
            event.success = Some(false);
            event.error_type = Some(error_type.to_owned());
            event.error_message = Some(message.to_owned());
            event.rag_time_ms = Some(rag);
            event.ai_time_ms = ai;
            event.total_time_ms = Some(rag + ai.unwrap_or(0.0) + overhead);
        }
    }
    event
}

/// Knowledge entries retrieved for an answered question.
const ENTRIES: [(u64, u32); 8] = [
    (1, 4),
    (2, 9),
    (3, 18),
    (4, 22),
    (5, 20),
    (6, 13),
    (7, 8),
    (8, 6),
];

/// The question as a visitor might type it: case, spacing and the trailing `?`/`!`/`.` vary,
/// which is exactly what question normalisation folds together.
fn rephrase(rng: &mut impl Rng, question: &str) -> String {
    let stem = question.trim_end_matches(['?', '!', '.']);
    let ending = &question[stem.len()..];
    let ending = match rng.random_range(0..100) {
        0..70 => ending,
        70..88 => "",
        88..93 => "??",
        93..96 => " ?",
        96..98 => "?!",
        _ => ".",
    };
    let mut text = match rng.random_range(0..100) {
        0..68 => stem.to_owned(),
        68..90 => stem.to_lowercase(),
        90..97 => {
            let mut chars = stem.chars();
            chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
        _ => stem.to_uppercase(),
    };
    if rng.random_bool(0.08) {
        // A doubled space somewhere in the middle.
        let spaces: Vec<usize> = text.match_indices(' ').map(|(i, _)| i).collect();
        if !spaces.is_empty() {
            let at = spaces[rng.random_range(0..spaces.len())];
            text.insert(at, ' ');
        }
    }
    text.push_str(ending);
    if rng.random_bool(0.03) {
        text.push(' ');
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Random helpers
// ---------------------------------------------------------------------------------------------

/// Picks an item with probability proportional to its weight. The tables are constants with
/// positive weights (checked by a test).
fn pick<'t, T>(rng: &mut impl Rng, table: &'t [(T, u32)]) -> &'t T {
    let total: u32 = table.iter().map(|(_, weight)| weight).sum();
    let mut ticket = rng.random_range(0..total);
    for (item, weight) in table {
        if ticket < *weight {
            return item;
        }
        ticket -= weight;
    }
    unreachable!("the ticket is below the total weight")
}

/// Log-normal around `median`: most values near it, a long tail above, as latencies and
/// human pauses are.
fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    median * (sigma * z).exp()
}

/// A log-normal pause in seconds, clamped to `min..=max`, at millisecond resolution.
fn seconds(rng: &mut impl Rng, median: f64, sigma: f64, min: f64, max: f64) -> TimeDelta {
    let secs = lognormal(rng, median, sigma).clamp(min, max);
    TimeDelta::milliseconds((secs * 1000.0).round() as i64)
}

/// Whole milliseconds, as the worker measures them with `Date.now()`; never 0.
fn millis(ms: f64) -> f64 {
    ms.round().max(1.0)
}

/// Mean of two uniforms: 0..1, peaked in the middle.
fn triangular(rng: &mut impl Rng) -> f64 {
    (rng.random::<f64>() + rng.random::<f64>()) / 2.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use analytics::{normalize_question, write_ndjson_line};

    use super::*;

    fn config(events: u64, seed: u64) -> SynthConfig {
        SynthConfig {
            events,
            seed,
            ..SynthConfig::demo()
        }
    }

    fn collect(config: &SynthConfig) -> Vec<Event> {
        let mut events = Vec::new();
        generate(config, |event| {
            events.push(event.clone());
            Ok(())
        })
        .expect("collecting into a Vec cannot fail");
        events
    }

    fn ndjson(config: &SynthConfig) -> Vec<u8> {
        let mut out = Vec::new();
        generate(config, |event| write_ndjson_line(&mut out, event))
            .expect("writing to a Vec cannot fail");
        out
    }

    fn count(events: &[Event], event_type: &EventType) -> usize {
        events
            .iter()
            .filter(|e| &e.event_type == event_type)
            .count()
    }

    #[test]
    fn same_seed_gives_identical_output() {
        let first = ndjson(&config(5_000, 7));
        assert!(!first.is_empty());
        assert_eq!(first, ndjson(&config(5_000, 7)));
    }

    #[test]
    fn different_seed_gives_different_output() {
        assert_ne!(ndjson(&config(5_000, 7)), ndjson(&config(5_000, 8)));
    }

    #[test]
    fn produces_exactly_the_requested_count() {
        for events in [0, 1, 7, 5_000] {
            assert_eq!(
                collect(&config(events, 1)).len() as u64,
                events,
                "{events} events"
            );
        }
    }

    #[test]
    fn timestamps_are_sorted_and_inside_the_window() {
        // An end that is not on a slice boundary, and a window with no shared-post day.
        let end = Utc
            .with_ymd_and_hms(2026, 3, 5, 13, 37, 21)
            .single()
            .expect("a valid UTC date")
            + TimeDelta::milliseconds(123);
        for config in [
            config(5_000, 3),
            SynthConfig {
                events: 3_000,
                seed: 3,
                days: 2,
                end,
            },
        ] {
            let events = collect(&config);
            let start = config.end - TimeDelta::days(i64::from(config.days));
            assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
            assert!(
                events
                    .iter()
                    .all(|e| start <= e.timestamp && e.timestamp < config.end)
            );
        }
    }

    #[test]
    fn every_known_event_type_appears() {
        let events = collect(&config(5_000, 42));
        for event_type in &EventType::KNOWN {
            assert!(count(&events, event_type) > 0, "no {event_type} events");
        }
    }

    #[test]
    fn sessions_start_with_widget_loaded_and_share_their_context() {
        let events = collect(&config(5_000, 42));
        let mut sessions: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
        for event in &events {
            let id = event
                .session_id
                .as_deref()
                .expect("every event has a session");
            sessions.entry(id).or_default().push(event);
        }
        for (id, session) in &sessions {
            assert_eq!(session[0].event_type, EventType::WidgetLoaded, "{id}");
            assert!(session.iter().all(|e| e.page_url == session[0].page_url
                && e.page_title == session[0].page_title
                && e.referrer == session[0].referrer));
            let numbers: Vec<u64> = session.iter().filter_map(|e| e.message_number).collect();
            assert!(numbers.iter().copied().eq(1..=numbers.len() as u64), "{id}");
        }
        let (prefix, rest) = sessions
            .keys()
            .next()
            .and_then(|id| id.rsplit_once('-'))
            .expect("a session id with a suffix");
        let unix = prefix
            .strip_prefix("session-")
            .expect("the session- prefix");
        assert!(unix.parse::<i64>().is_ok(), "{prefix}");
        assert_eq!(rest.len(), 9);
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn message_fields_are_consistent() {
        let events = collect(&config(20_000, 5));
        let messages: Vec<&Event> = events
            .iter()
            .filter(|e| e.event_type == EventType::MessageSent)
            .collect();
        let gaps = messages
            .iter()
            .filter(|m| m.no_rag_match == Some(true))
            .count();
        let failed = messages.iter().filter(|m| m.success == Some(false)).count();
        let share = |n: usize| n as f64 / messages.len() as f64;
        assert!(
            (0.08..0.16).contains(&share(gaps)),
            "gap share {}",
            share(gaps)
        );
        assert!(
            (0.01..0.05).contains(&share(failed)),
            "error share {}",
            share(failed)
        );
        for m in &messages {
            assert!(m.question.as_deref().is_some_and(|q| !q.trim().is_empty()));
            if m.no_rag_match == Some(true) {
                assert_eq!(m.entries_retrieved, Some(0));
                assert!(m.rag_match_score.is_some_and(|s| s < 0.45));
            }
            match m.success {
                Some(true) => assert!(m.response_length.is_some() && m.error_type.is_none()),
                _ => assert!(m.response_length.is_none() && m.error_message.is_some()),
            }
            let parts = m.rag_time_ms.unwrap_or(0.0) + m.ai_time_ms.unwrap_or(0.0);
            let total = m.total_time_ms.expect("every message is timed");
            assert!((1.0..=6.0).contains(&(total - parts)));
        }
    }

    #[test]
    fn gap_questions_recur_in_different_phrasings() {
        let events = collect(&config(5_000, 42));
        let mut phrasings: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for event in events.iter().filter(|e| e.no_rag_match == Some(true)) {
            let question = event.question.as_deref().expect("gaps have a question");
            phrasings
                .entry(normalize_question(question))
                .or_default()
                .push(question);
        }
        let varied = phrasings
            .values()
            .filter(|raw| raw.iter().any(|q| q != &raw[0]))
            .count();
        assert!(varied >= 3, "only {varied} gap questions were rephrased");
    }

    #[test]
    fn unknown_event_types_are_rare_but_present() {
        let events = collect(&config(40_000, 42));
        let unknown = count(&events, &EventType::Other("widget_error".to_owned()));
        assert!((1..=40).contains(&unknown), "{unknown} widget errors");
    }

    #[test]
    fn large_datasets_stream() {
        let mut count = 0u64;
        generate(&config(200_000, 9), |_| {
            count += 1;
            Ok(())
        })
        .expect("counting cannot fail");
        assert_eq!(count, 200_000);
    }

    #[test]
    fn an_empty_window_is_rejected() {
        let empty = SynthConfig {
            days: 0,
            ..config(10, 1)
        };
        let error = generate(&empty, |_| Ok(())).expect_err("no room for events");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(generate(&config(0, 1), |_| Ok(())).is_ok());
    }

    #[test]
    fn emit_errors_stop_generation() {
        let mut calls = 0;
        let result = generate(&config(100, 1), |_| {
            calls += 1;
            Err(io::Error::other("disk full"))
        });
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn weight_tables_are_positive() {
        fn positive<T>(table: &[(T, u32)]) -> bool {
            !table.is_empty() && table.iter().all(|(_, w)| *w > 0)
        }
        assert!(positive(&PAGES) && positive(&REFERRERS) && positive(&MESSAGE_COUNTS));
        assert!(positive(&SUGGESTIONS) && positive(&TOPICS) && positive(&FAILURES));
        assert!(positive(&ENTRIES));
        assert!(TOPICS.iter().all(|(topic, _)| !topic.questions.is_empty()));
    }
}
