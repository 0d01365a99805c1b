//! Partial accumulators merge into exactly the sequential result: however the events (each with
//! its position in the input) are dealt to partials — contiguous chunks or interleaved — and in
//! whatever order the partials are merged, [`Metrics::finish`] gives the [`Summary`] of one
//! accumulator fed every event in input order, down to the last bit of every float.

use analytics::{
    DailyAggregate, Event, EventType, Metrics, RECENT_ERRORS, SkipReason, Summary, Window, Zone,
};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::sample::select;

/// The end of the range windows (2027-01-15T08:00:00Z).
const TO: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn at(secs: i64, millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("in range") + TimeDelta::milliseconds(millis)
}

/// Ids kept as strings, and tracker ids (packed) that differ only in a leading zero or a length.
const SESSIONS: &[&str] = &[
    "s1",
    "s2",
    "s3",
    "",
    "session-1764115203123-rkb35nhp4",
    "session-1764115203123-rkb35nhp",
    "session-01764115203-0rkb35nhp",
    "session-1764115203-0rkb35nhp",
    "session-1764115203-",
];
const PAGES: &[&str] = &["https://example.dev/", "https://example.dev/a", "/b"];
const TITLES: &[&str] = &["Home", "A", "B"];
const REFERRERS: &[&str] = &[
    "https://www.google.com/",
    "https://google.com/search?q=x",
    "https://WWW.LinkedIn.com/feed",
    "not a url",
    "",
];
const TOPICS: &[&str] = &["skills", "projects", ""];
const QUESTIONS: &[&str] = &[
    "How much?",
    "how   much",
    "HOW MUCH!",
    "Where are you",
    "where are you?",
    "Do you know Rust",
    "do you know rust lang",
    "  ",
    "Straße?",
];
const ERRORS: &[&str] = &["timeout", "rate", "upstream"];
/// Durations whose sums depend on the order they are added in (0.1 + 0.2 + 0.3), bucket
/// bounds, the largest valid value and a long fraction.
const DURATIONS: &[f64] = &[
    0.0,
    0.1,
    0.2,
    0.3,
    12.5,
    49.999,
    50.0,
    100.0,
    777.7,
    3940.0139999999956,
    12800.0,
    1e9,
];

fn kind() -> impl Strategy<Value = EventType> {
    prop_oneof![
        4 => Just(EventType::MessageSent),
        6 => select(EventType::KNOWN.to_vec()),
        1 => Just(EventType::Other("custom_thing".to_owned())),
    ]
}

/// An instant: a few days of the window (with ties), the previous period, before both, and
/// at or after the window's end.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        6 => (1i64..6, 0i64..3).prop_map(|(d, s)| at(TO - d * DAY + s * 3600, 0)),
        2 => (1i64..6, 0i64..1000).prop_map(|(d, ms)| at(TO - d * DAY, ms)),
        3 => (1i64..4).prop_map(|d| at(TO - 30 * DAY - d * DAY, 0)),
        1 => Just(at(TO - 60 * DAY, 0)),
        1 => Just(at(TO - 500 * DAY, 0)),
        1 => Just(at(TO, 0)),
    ]
}

fn opt<T: Clone + std::fmt::Debug + 'static>(
    values: &'static [T],
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(select(values))
}

fn event() -> impl Strategy<Value = Event> {
    (
        (instant(), kind(), opt(SESSIONS), opt(PAGES), opt(TITLES)),
        (opt(REFERRERS), opt(TOPICS), opt(QUESTIONS)),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(prop_oneof![3 => Just(false), 1 => Just(true)]),
            opt(ERRORS),
            prop::option::of("[a-c]{0,2}"),
        ),
        (opt(DURATIONS), opt(DURATIONS), opt(DURATIONS)),
    )
        .prop_map(
            |(
                (ts, kind, session, page, title),
                (referrer, topic, question),
                (gap, success, error_type, error_message),
                (rag, ai, total),
            )| {
                let own = |s: Option<&str>| s.map(str::to_owned);
                Event {
                    session_id: own(session),
                    page_url: own(page),
                    page_title: own(title),
                    referrer: own(referrer),
                    topic: own(topic),
                    question: own(question),
                    no_rag_match: gap,
                    success,
                    error_type: own(error_type),
                    error_message: error_message.filter(|m| !m.is_empty()),
                    rag_time_ms: rag,
                    ai_time_ms: ai,
                    total_time_ms: total,
                    ..Event::new(ts, kind)
                }
            },
        )
}

/// What one input holds, in input order.
#[derive(Debug, Clone)]
enum Item {
    Event(Box<Event>),
    Skip(SkipReason),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        12 => event().prop_map(|e| Item::Event(Box::new(e))),
        1 => select(vec![SkipReason::InvalidJson, SkipReason::MissingTimestamp])
            .prop_map(Item::Skip),
    ]
}

/// Daily aggregates for distinct days, in and around the window.
fn dailies() -> impl Strategy<Value = Vec<DailyAggregate>> {
    prop::collection::btree_map(1i64..40, (0u64..20, 0u64..20), 0..4).prop_map(|days| {
        days.into_iter()
            .map(|(d, (messages, opens))| DailyAggregate {
                date: at(TO - d * DAY, 0).date_naive(),
                events_by_type: [
                    ("message_sent".to_owned(), messages),
                    ("bubble_opened".to_owned(), opens),
                ]
                .into(),
            })
            .collect()
    })
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        3 => Just(Window::last_days(at(TO, 0), 30)),
        1 => Just(Window::All),
    ]
}

fn zone() -> impl Strategy<Value = Zone> {
    select(vec!["UTC", "+02:00", "-09:30"]).prop_map(|z| Zone::parse(z).expect("zone"))
}

/// The positions of the items: strictly increasing, with gaps, as a parallel reader numbers
/// them (`block << 32 | index in block`) or plainly.
fn position(i: usize, blocky: bool) -> u64 {
    if blocky {
        ((i as u64 / 3) << 32) | (i as u64 % 3)
    } else {
        i as u64 * 5 + 1
    }
}

fn sequential(window: Window, zone: Zone, items: &[Item], daily: &[DailyAggregate]) -> Summary {
    let mut metrics = Metrics::new(window).with_timezone(zone);
    for item in items {
        match item {
            Item::Event(event) => metrics.add(event),
            Item::Skip(reason) => metrics.skip(*reason),
        }
    }
    for day in daily {
        metrics.add_daily(day);
    }
    metrics.finish(at(TO, 0))
}

/// Feeds item `i` to partial `part_of[i]` at its position, gives daily aggregate `j` to partial
/// `daily_part[j]`, then merges the partials in `order`: folded left into the first, or as a
/// balanced tree.
#[allow(clippy::too_many_arguments)]
fn merged(
    window: Window,
    zone: Zone,
    items: &[Item],
    daily: &[DailyAggregate],
    parts: usize,
    part_of: &[usize],
    daily_part: &[usize],
    order: &[usize],
    blocky: bool,
    tree: bool,
) -> Summary {
    let base = Metrics::new(window).with_timezone(zone);
    let mut partials: Vec<Metrics> = (0..parts).map(|_| base.partial()).collect();
    for (i, item) in items.iter().enumerate() {
        let partial = &mut partials[part_of[i]];
        match item {
            Item::Event(event) => partial.add_ref(&event.view(), position(i, blocky)),
            Item::Skip(reason) => partial.skip(*reason),
        }
    }
    for (day, &part) in daily.iter().zip(daily_part) {
        partials[part].add_daily(day);
    }
    let mut slots: Vec<Option<Metrics>> = partials.into_iter().map(Some).collect();
    let mut queue: Vec<Metrics> = order
        .iter()
        .map(|&i| slots[i].take().expect("each partial once"))
        .collect();
    if tree {
        while queue.len() > 1 {
            let mut next = Vec::new();
            let mut pairs = queue.into_iter();
            while let Some(mut left) = pairs.next() {
                if let Some(right) = pairs.next() {
                    left.merge(right);
                }
                next.push(left);
            }
            queue = next;
        }
    }
    let mut queue = queue.into_iter();
    let mut total = queue.next().expect("one partial at least");
    for partial in queue {
        total.merge(partial);
    }
    total.finish(at(TO, 0))
}

fn assert_same(merged: &Summary, sequential: &Summary) {
    assert_eq!(merged, sequential);
    assert_eq!(
        serde_json::to_string(merged).expect("json"),
        serde_json::to_string(sequential).expect("json")
    );
}

/// A case: the input, how it is dealt to partials and how they are merged.
#[derive(Debug, Clone)]
struct Case {
    window: Window,
    zone: Zone,
    items: Vec<Item>,
    daily: Vec<DailyAggregate>,
    parts: usize,
    part_of: Vec<usize>,
    daily_part: Vec<usize>,
    order: Vec<usize>,
    blocky: bool,
    tree: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        window(),
        zone(),
        prop::collection::vec(item(), 0..70),
        dailies(),
        1usize..=4,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(
            |(window, zone, items, daily, parts, contiguous, blocky, tree)| {
                let n = items.len();
                let dealt = if contiguous {
                    // Cut points: partial k gets the k-th chunk (some may be empty).
                    prop::collection::vec(0..=n, parts - 1)
                        .prop_map(move |mut cuts| {
                            cuts.sort_unstable();
                            (0..n)
                                .map(|i| cuts.iter().filter(|&&c| c <= i).count())
                                .collect::<Vec<usize>>()
                        })
                        .boxed()
                } else {
                    prop::collection::vec(0..parts, n).boxed()
                };
                let order = Just((0..parts).collect::<Vec<usize>>()).prop_shuffle();
                let daily_part = prop::collection::vec(0..parts, daily.len());
                (
                    Just((window, zone, items, daily, parts, blocky, tree)),
                    dealt,
                    daily_part,
                    order,
                )
            },
        )
        .prop_map(
            |((window, zone, items, daily, parts, blocky, tree), part_of, daily_part, order)| {
                Case {
                    window,
                    zone,
                    items,
                    daily,
                    parts,
                    part_of,
                    daily_part,
                    order,
                    blocky,
                    tree,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any input, dealt to 1–4 partials in chunks or interleaved, merged in any order.
    #[test]
    fn merged_partials_equal_one_sequential_accumulator(case in case()) {
        let expected = sequential(case.window, case.zone, &case.items, &case.daily);
        let got = merged(
            case.window,
            case.zone,
            &case.items,
            &case.daily,
            case.parts,
            &case.part_of,
            &case.daily_part,
            &case.order,
            case.blocky,
            case.tree,
        );
        assert_same(&got, &expected);
    }
}

// ---------------------------------------------------------------------------------------------
// The order-dependent rules, one by one

fn error_at(secs: i64, kind: &str) -> Event {
    Event {
        session_id: Some("s1".to_owned()),
        success: Some(false),
        error_type: Some(kind.to_owned()),
        ..Event::new(at(secs, 0), EventType::MessageSent)
    }
}

fn widget(secs: i64, session: &str, page: Option<&str>) -> Event {
    Event {
        session_id: Some(session.to_owned()),
        page_url: page.map(str::to_owned),
        ..Event::new(at(secs, 0), EventType::WidgetLoaded)
    }
}

/// Runs `events` (with their positions) split by `part_of` into two partials, merged
/// second-then-first and first-then-second, against the sequential result.
fn both_orders(window: Window, events: &[Event], part_of: &[usize]) -> Summary {
    let items: Vec<Item> = events
        .iter()
        .cloned()
        .map(|e| Item::Event(Box::new(e)))
        .collect();
    let expected = sequential(window, Zone::Utc, &items, &[]);
    for order in [[0, 1], [1, 0]] {
        for blocky in [false, true] {
            let got = merged(
                window,
                Zone::Utc,
                &items,
                &[],
                2,
                part_of,
                &[],
                &order,
                blocky,
                false,
            );
            assert_same(&got, &expected);
        }
    }
    expected
}

/// Two ways to split `n` events between two partials (for [`both_orders`]): interleaved, and
/// in halves (the later half is in the partial merged first in one of the orders).
fn two_splits(n: usize) -> [Vec<usize>; 2] {
    [
        (0..n).map(|i| i % 2).collect(),
        (0..n).map(|i| usize::from(i >= n / 2)).collect(),
    ]
}

#[test]
fn recent_errors_at_one_instant_across_two_partials_drop_the_ones_read_last() {
    let window = Window::last_days(at(TO, 0), 30);
    // More errors at one instant than are kept, and one older error that must drop out.
    let mut events: Vec<Event> = (0..RECENT_ERRORS + 5)
        .map(|i| error_at(TO - DAY, &format!("e{i:02}")))
        .collect();
    events.insert(3, error_at(TO - 2 * DAY, "older"));
    for part_of in two_splits(events.len()) {
        let summary = both_orders(window, &events, &part_of);
        let kinds: Vec<&str> = summary
            .errors
            .recent
            .iter()
            .map(|e| e.error_type.as_deref().expect("type"))
            .collect();
        // Among equal timestamps the one read last is the first to drop (as in one
        // accumulator): the kept ones are the first read, listed in input order.
        let expected: Vec<String> = (0..RECENT_ERRORS).map(|i| format!("e{i:02}")).collect();
        assert_eq!(kinds, expected);
    }
}

#[test]
fn a_sessions_page_is_its_first_widget_loaded_by_position_even_in_the_partial_merged_second() {
    let window = Window::last_days(at(TO, 0), 30);
    let events = [
        // s1: the first widget_loaded has no page; the first with one is /first (position 1),
        // though /later has an earlier timestamp.
        widget(TO - 3 * DAY, "s1", None),
        widget(TO - 2 * DAY, "s1", Some("/first")),
        widget(TO - 4 * DAY, "s1", Some("/later")),
        widget(TO - 4 * DAY, "s2", Some("/later")),
    ];
    // /first sits in partial 0; partial 1 (holding /later) is merged into it first, or it is
    // merged into partial 1: the later position must lose either way.
    let summary = both_orders(window, &events, &[1, 0, 1, 1]);
    let pages: Vec<(&str, u64)> = summary
        .funnel
        .by_page
        .iter()
        .map(|p| (p.page_url.as_str(), p.steps[0].sessions))
        .collect();
    assert_eq!(pages, [("/first", 1), ("/later", 1)]);
}

#[test]
fn averages_do_not_depend_on_the_order_samples_were_merged_in() {
    let window = Window::last_days(at(TO, 0), 30);
    let events: Vec<Event> = [0.1, 0.2, 0.3, 1e9, 0.1, 3940.0139999999956, 0.7]
        .into_iter()
        .map(|ms| Event {
            total_time_ms: Some(ms),
            rag_time_ms: Some(ms / 3.0),
            ..Event::new(at(TO - DAY, 0), EventType::MessageSent)
        })
        .collect();
    let summary = both_orders(window, &events, &[1, 0, 1, 0, 0, 1, 1]);
    let mut sorted = [0.1, 0.2, 0.3, 1e9, 0.1, 3940.0139999999956, 0.7];
    sorted.sort_unstable_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    assert_eq!(summary.performance.avg_total_time_ms, Some(mean));
    assert_eq!(summary.performance.total_time_ms.samples, 7);
    assert_eq!(summary.performance.total_time_ms.p50, Some(0.3));
    assert_eq!(summary.latency_trend[0].total_p95, Some(1e9));
}

#[test]
fn a_day_split_across_partials_counts_once_and_sessions_are_counted_once() {
    let window = Window::last_days(at(TO, 0), 30);
    let message = |session: &str, referrer: Option<&str>| Event {
        session_id: Some(session.to_owned()),
        referrer: referrer.map(str::to_owned),
        page_url: Some("/p".to_owned()),
        ..Event::new(at(TO - DAY, 0), EventType::MessageSent)
    };
    let events = [
        message("a", Some("https://www.google.com/")),
        message("b", None),
        message("a", Some("https://google.com/x")),
        message("b", None),
        message("c", Some("https://google.com/")),
    ];
    let summary = both_orders(window, &events, &[0, 1, 1, 0, 1]);
    assert_eq!(summary.conversation_volume.sessions, 3);
    assert_eq!(summary.conversation_volume.messaging_sessions, 3);
    assert_eq!(summary.pages_and_sources.top_pages[0].sessions, 3);
    let sources: Vec<(&str, u64)> = summary
        .pages_and_sources
        .top_sources
        .iter()
        .map(|s| (s.source.as_str(), s.sessions))
        .collect();
    assert_eq!(sources, [("google.com", 2), ("(direct)", 1)]);
    let day = NaiveDate::from_ymd_opt(2027, 1, 14).expect("date");
    let row = summary
        .messages_over_time
        .iter()
        .find(|r| r.date == day.format("%Y-%m-%d").to_string())
        .expect("the day");
    assert_eq!(row.messages, 5);
}

#[test]
fn silences_and_error_spikes_are_the_same_alerts_however_the_input_is_split() {
    let window = Window::last_days(at(TO, 0), 14);
    // A message every 10 minutes for 14 days, none for 30 hours from day 6, and 60 of the 144
    // on day 3 failed.
    let mut events = Vec::new();
    for step in 0..14 * 144 {
        let secs = TO - 14 * DAY + step * 600;
        if (TO - 6 * DAY..TO - 6 * DAY + 30 * 3600).contains(&secs) {
            continue;
        }
        let day3 = (TO - 3 * DAY..TO - 3 * DAY + 60 * 600).contains(&secs);
        events.push(Event {
            success: Some(!day3),
            ..Event::new(at(secs, 0), EventType::MessageSent)
        });
    }
    for part_of in two_splits(events.len()) {
        let summary = both_orders(window, &events, &part_of);
        let kinds: Vec<&str> = summary
            .alerts
            .iter()
            .map(|a| match a.kind {
                analytics::AlertKind::ErrorRateSpike => "spike",
                analytics::AlertKind::NoEvents => "silence",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["silence", "spike"], "by day: {:?}", summary.alerts);
    }
}
