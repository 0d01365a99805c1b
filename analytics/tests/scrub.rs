//! The scrubber against generated personal data in the forms people type, and against
//! generated text that must be left alone: no address or number survives, and nothing of the
//! must-not-scrub table is touched.

use analytics::{EMAIL_MARK, PHONE_MARK, scrub_pii, strip_query};
use proptest::prelude::*;
use proptest::sample::select;

/// Invisible characters that can be slipped into an address or a number.
const INVISIBLE: [char; 10] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{034F}', '\u{2060}', '\u{2063}', '\u{FE0F}',
    '\u{180B}', '\u{FEFF}',
];

/// `text` with invisible characters inserted at the positions `at` (taken modulo its length).
fn with_invisible(text: &str, at: &[(usize, usize)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(pos, which) in at {
        let pos = pos % (chars.len() + 1);
        chars.insert(pos, INVISIBLE[which % INVISIBLE.len()]);
    }
    chars.into_iter().collect()
}

/// Letters of several scripts, digits and the local part's punctuation.
fn local_part() -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(vec![
            'a', 'j', 'o', 'z', 'A', 'Q', '0', '7', 'ä', 'ö', 'ü', 'ß', 'é', 'ñ', 'и', 'ж', '漢',
            'δ', '.', '_', '+', '-', '\'', '&', 'क', '\u{094D}', 'ष', 'น', '\u{0E49}',
        ]),
        1..12,
    )
    .prop_map(|chars| {
        let local: String = chars.into_iter().collect();
        // A local part does not start with a dot (a dot is punctuation before it).
        format!("x{}", local.trim_start_matches('.'))
    })
}

fn label() -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(vec![
            'a', 'm', 'x', '0', '9', 'ü', 'ö', 'п', 'р', '例', '-', 'ह', '\u{094D}', 'द',
        ]),
        1..10,
    )
    .prop_map(|chars| format!("d{}", chars.into_iter().collect::<String>()))
}

/// An e-mail address: ASCII or internationalised, `@` or fullwidth `＠`, one to three
/// subdomains, a top-level domain of letters.
fn email() -> impl Strategy<Value = String> {
    (
        local_part(),
        select(vec!["@", "＠"]),
        prop::collection::vec(label(), 1..4),
        select(vec!["com", "de", "co", "рф", "info", "xn--p1ai"]),
    )
        .prop_map(|(local, at, labels, tld)| format!("{local}{at}{}.{tld}", labels.join(".")))
}

/// A phone number: 9 or more digits in groups (7 or more after a `+`), ASCII, fullwidth,
/// Bengali or Thai digits, with the separators people type between the groups.
fn phone() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(prop::collection::vec(0u32..10, 1..6), 2..6),
        prop::collection::vec(
            select(vec![
                " ", "\u{00A0}", "\u{2009}", "\u{202F}", "\u{3000}", "-", "–", "—", "‐", "−", ".",
                "/", " / ", " – ", "(", ")", ") ", " (",
            ]),
            6,
        ),
        0u32..4,
    )
        .prop_filter_map(
            "enough digits",
            |(international, groups, separators, script)| {
                let digits: usize = groups.iter().map(Vec::len).sum();
                if digits < 9 && !(international && digits >= 7) {
                    return None;
                }
                // What the scrubber leaves alone on purpose (see the must-not-scrub test):
                // groups that are all years, and an ISO date inside the number.
                let year = |g: &Vec<u32>| g.len() == 4 && matches!(g[..2], [1, 9] | [2, 0]);
                if groups.iter().all(year) {
                    return None;
                }
                // ASCII, fullwidth, Bengali or Thai digits.
                let zero = [u32::from('0'), 0xFF10, 0x09E6, 0x0E50][script as usize];
                let digit = |d: u32| char::from_u32(zero + d).expect("a digit");
                let mut text = if international {
                    "+".to_owned()
                } else {
                    String::new()
                };
                for (i, group) in groups.iter().enumerate() {
                    if i > 0 {
                        text.push_str(separators[i % separators.len()]);
                    }
                    text.extend(group.iter().map(|&d| digit(d)));
                }
                let ascii: String = text
                    .chars()
                    .map(|c| match c {
                        '\u{FF10}'..='\u{FF19}' => {
                            char::from_u32(c as u32 - 0xFF10 + '0' as u32).expect("digit")
                        }
                        c => c,
                    })
                    .collect();
                (!holds_date(&ascii)).then_some(text)
            },
        )
}

/// Whether `text` holds a date the scrubber leaves alone even inside a number, not itself inside
/// a longer run of digits: `YYYY-MM-DD` (or with `/` or `.`), or `D.M.YYYY` / `M/D/YYYY` /
/// `D-M-YYYY` with one- or two-digit day and month, the parts plausible. (A two-digit year or
/// eight digits in a row joined to more digits are part of the number.)
fn holds_date(text: &str) -> bool {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let edge = |j: Option<usize>| j.and_then(|j| b.get(j)).is_none_or(|c| !c.is_ascii_digit());
    let year = |y: Option<u32>| y.is_some_and(|y| (1900..=2099).contains(&y));
    let part = |p: Option<u32>, max: u32| p.is_some_and(|p| (1..=max).contains(&p));
    (0..b.len()).any(|i| {
        if !edge(i.checked_sub(1)) {
            return false;
        }
        let year_first = matches!(b.get(i + 4), Some(b'-' | b'/' | b'.'))
            && b.get(i + 7) == b.get(i + 4)
            && year(num(i..i + 4))
            && part(num(i + 5..i + 7), 12)
            && part(num(i + 8..i + 10), 31)
            && edge(Some(i + 10));
        let written = [(1, 1), (1, 2), (2, 1), (2, 2)].iter().any(|&(x, y)| {
            let sep = b.get(i + x).copied();
            let (first, second) = (num(i..i + x), num(i + x + 1..i + x + 1 + y));
            let end = i + x + y + 6;
            matches!(sep, Some(b'.' | b'/' | b'-'))
                && b.get(i + x + y + 1).copied() == sep
                && part(first, 31)
                && part(second, 31)
                && (part(first, 12) || part(second, 12))
                && year(num(i + x + y + 2..end))
                && edge(Some(end))
        });
        year_first || written
    })
}

/// Words around the personal data: no digit, no `@`.
fn words() -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(vec![
            "please",
            "call",
            "me",
            "at",
            "mail",
            "Grüße",
            "напишите",
            "写信",
            "or",
            "now",
        ]),
        0..4,
    )
    .prop_map(|w| w.join(" "))
}

/// Before personal data: words, then something that ends a word.
fn before() -> impl Strategy<Value = String> {
    (
        words(),
        select(vec![" ", ": ", " <", "(", "\u{00A0}", "\n"]),
    )
        .prop_map(|(w, end)| format!("{w}{end}"))
}

/// After personal data: something that ends it, then words.
fn after() -> impl Strategy<Value = String> {
    (select(vec!["", " ", ">", ", ", ". ", "!", ")"]), words())
        .prop_map(|(start, w)| format!("{start}{w}"))
}

/// Text that is not personal data: years, ISO dates, times, prices, version numbers, plain
/// small numbers, each between words as people write them.
fn harmless() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        (1900u32..2100).prop_map(|y| y.to_string()),
        (1900u32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        (1900u32..2100, 1u32..13, 1u32..29, 0u32..24, 0u32..60)
            .prop_map(|(y, m, d, h, min)| format!("{y}-{m:02}-{d:02} {h:02}:{min:02}")),
        (1u32..29, 1u32..13, 1900u32..2100).prop_map(|(d, m, y)| format!("{d:02}.{m:02}.{y}")),
        (0u32..24, 0u32..60, 0u32..60).prop_map(|(h, m, s)| format!("{h}:{m:02}:{s:02}")),
        (1u32..29, 1u32..13, 1900u32..2100, 0u32..24, 0u32..60)
            .prop_map(|(d, m, y, h, min)| format!("{d}.{m}.{y} {h:02}:{min:02}")),
        (1u32..13, 1u32..29, 1900u32..2100, 0u32..24, 0u32..60)
            .prop_map(|(m, d, y, h, min)| format!("{m}/{d}/{y} {h}:{min:02}")),
        (1900u32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y}/{m:02}/{d:02}")),
        (1900u32..2100, 1u32..13, 1u32..29, 1u32..29)
            .prop_map(|(y, m, d, e)| format!("{y}{m:02}{d:02}-{y}{m:02}{e:02}")),
        (1u32..29, 1u32..13, 0u32..100, 1u32..29)
            .prop_map(|(d, m, y, e)| format!("{d:02}.{m:02}.{y:02}-{e:02}.{m:02}.{y:02}")),
        (1u32..29, 1u32..13, 1900u32..2100)
            .prop_map(|(d, m, y)| format!("{d:02}-{m:02}-{y} - {d:02}-{m:02}-{y}")),
        (1u32..10_000, 0u32..100).prop_map(|(a, c)| format!("${a},{c:02}")),
        (1u32..1000, 0u32..1000, 0u32..100).prop_map(|(a, b, c)| format!("{a}.{b:03},{c:02} €")),
        (0u32..30, 0u32..30, 0u32..300).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
        (0u32..1_000_000).prop_map(|n| n.to_string()),
        prop::collection::vec(1900u32..2100, 2..5).prop_map(|ys| ys
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("/")),
    ];
    prop::collection::vec((words(), token), 1..5).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, t)| format!("{w} word {t}"))
            .collect::<Vec<_>>()
            .join(" and ")
    })
}

proptest! {
    #[test]
    fn no_email_address_survives(
        (before, address, after) in (before(), email(), after()),
        invisible in prop::collection::vec((any::<usize>(), any::<usize>()), 0..3),
    ) {
        let (local, domain) = address.split_once(['@', '＠']).expect("an address");
        let (local, domain) = (local.to_owned(), domain.to_owned());
        let address = with_invisible(&address, &invisible);
        let text = format!("{before}{address}{after}");
        let scrubbed = scrub_pii(&text);
        prop_assert!(!scrubbed.contains('@'), "{text:?} → {scrubbed:?}");
        // Nothing of it is left, not a part of a name cut at a mark or a quote.
        prop_assert!(!scrubbed.contains(&local) && !scrubbed.contains(&domain), "{text:?} → {scrubbed:?}");
        prop_assert!(scrubbed.contains(EMAIL_MARK), "{text:?} → {scrubbed:?}");
        prop_assert_eq!(scrub_pii(&scrubbed), scrubbed.clone(), "idempotent");
    }

    #[test]
    fn no_phone_number_survives(
        (before, number, after) in (before(), phone(), after()),
        invisible in prop::collection::vec((any::<usize>(), any::<usize>()), 0..3),
    ) {
        let number = with_invisible(&number, &invisible);
        let text = format!("{before}{number}{after}");
        let scrubbed = scrub_pii(&text);
        prop_assert!(!scrubbed.chars().any(char::is_numeric), "{text:?} → {scrubbed:?}");
        prop_assert!(scrubbed.contains(PHONE_MARK), "{text:?} → {scrubbed:?}");
        prop_assert_eq!(scrub_pii(&scrubbed), scrubbed.clone(), "idempotent");
    }

    #[test]
    fn an_address_in_a_url_path_is_scrubbed_encoded_or_not(
        address in email(),
        encode in any::<bool>(),
    ) {
        let segment = if encode {
            address.replace('@', "%40")
        } else {
            address.clone()
        };
        for url in [format!("https://site.example/unsubscribe/{segment}?x=1"), format!("/u/{segment}")] {
            let stripped = strip_query(&url);
            prop_assert!(!stripped.contains('@') && !stripped.contains("%40"), "{url:?} → {stripped:?}");
            prop_assert!(stripped.contains(EMAIL_MARK), "{url:?} → {stripped:?}");
        }
    }

    #[test]
    fn years_dates_times_prices_and_versions_are_left_alone(text in harmless()) {
        prop_assert_eq!(scrub_pii(&text), text.as_str());
    }
}

proptest! {
    /// The published-report check reads any text without panicking (it runs on every upload),
    /// and a refresh slipped anywhere into a report is always found.
    #[test]
    fn the_published_report_check_never_panics_and_finds_a_refresh(
        text in "(<|>|\"|'|=| |/|meta|base|http-equiv|refresh|[a-zé€漢]){0,40}",
        at in any::<usize>(),
    ) {
        let _ = analytics::refused_markup(&text);
        let cut = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).nth(at % (text.chars().count() + 1)).unwrap_or(0);
        let injected = format!("{}<meta http-equiv=\"refresh\" content=\"0\">{}", &text[..cut], &text[cut..]);
        prop_assert!(analytics::refused_markup(&injected).is_some(), "{injected:?}");
    }
}
