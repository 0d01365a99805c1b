//! Personal data taken out of free text before the worker stores it: e-mail addresses become
//! `[email]` and phone numbers `[phone]`, found in every spelling people type — on the text
//! normalised (NFKC, so fullwidth digits and `＠` count; invisible characters removed, so a
//! zero-width space cannot split an address), with internationalised addresses, and with the
//! separators phone numbers are written with (spaces of every kind, dashes of every kind,
//! dots, slashes, brackets).
//!
//! False positives are kept low on purpose: a phone number needs 9 digits or more (7 after a
//! leading `+`), a date or a time stops a run of digits, and runs that are only years are left
//! alone, so years, dates, times, prices and version numbers stay as they were written.
//! Text without personal data is returned exactly as given; text with some is returned
//! normalised, with the data replaced.

use std::borrow::Cow;

use icu_normalizer::ComposingNormalizerBorrowed;

/// What replaces an e-mail address.
pub const EMAIL_MARK: &str = "[email]";
/// What replaces a phone number.
pub const PHONE_MARK: &str = "[phone]";

/// Replaces e-mail addresses with `[email]` and phone numbers with `[phone]`. A phone number
/// is a run of 9 or more digits (7 or more after a leading `+`) with the separators people type
/// between them; two numbers side by side are one run and scrubbed together. Card numbers go
/// too. Idempotent: scrubbing scrubbed text changes nothing.
pub fn scrub_pii(text: &str) -> Cow<'_, str> {
    let normalized = normalize(text);
    let without_email = replace_emails(&normalized);
    let scrubbed = replace_phones(&without_email);
    match (&without_email, scrubbed) {
        (Cow::Borrowed(_), Cow::Borrowed(_)) => Cow::Borrowed(text),
        (_, scrubbed) => Cow::Owned(scrubbed.into_owned()),
    }
}

/// NFKC, then without the invisible characters that can split an address or a number.
fn normalize(text: &str) -> Cow<'_, str> {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc().normalize(text);
    if nfkc.chars().any(invisible) {
        Cow::Owned(nfkc.chars().filter(|&c| !invisible(c)).collect())
    } else {
        nfkc
    }
}

/// Zero-width and other invisible formatting characters: a soft hyphen, the zero-width space,
/// joiners and non-joiner, the word joiner and invisible operators, the byte order mark, the
/// Mongolian vowel separator.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Characters of an address's local part besides letters and digits of any script.
fn local_part(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// Characters of a domain besides letters and digits of any script.
fn domain_part(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-')
}

/// A top-level domain: letters of any script, or an IDNA label (`xn--…`).
fn top_level(label: &str) -> bool {
    label.chars().count() >= 2
        && (label.chars().all(char::is_alphabetic) || label.starts_with("xn--"))
}

/// Every e-mail address replaced by [`EMAIL_MARK`].
fn replace_emails(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    for (at, _) in text.match_indices('@') {
        if at < copied {
            continue;
        }
        // The local part: the letters, digits and `._%+-` just before the `@`, without
        // leading dots.
        let local_start = text[copied..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| local_part(c))
            .last()
            .map_or(at, |(i, _)| copied + i);
        let start = at - text[local_start..at].trim_start_matches('.').len();
        let after = &text[at + 1..];
        let domain_len = after
            .char_indices()
            .find(|&(_, c)| !domain_part(c))
            .map_or(after.len(), |(i, _)| i);
        let domain = after[..domain_len].trim_end_matches(['.', '-']);
        let Some((_, tld)) = domain.rsplit_once('.') else {
            continue;
        };
        let labels_ok = domain.split('.').all(|l| !l.is_empty());
        if start == at || !labels_ok || !top_level(tld) {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(EMAIL_MARK);
        copied = at + 1 + domain.len();
    }
    if copied == 0 {
        Cow::Borrowed(text)
    } else {
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

/// A decimal digit: ASCII (fullwidth and other compatibility digits are ASCII after NFKC), or
/// Arabic-Indic, Extended Arabic-Indic or Devanagari.
fn digit(c: char) -> bool {
    c.is_ascii_digit()
        || matches!(c, '\u{0660}'..='\u{0669}' | '\u{06F0}'..='\u{06F9}' | '\u{0966}'..='\u{096F}')
}

/// What people type between the digits of a phone number: spaces of every kind, dashes of
/// every kind, dots, slashes and brackets.
fn separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '/' | '(' | ')' | '[' | ']' | '\u{00B7}' | '\u{2010}'
                ..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}'
        )
}

/// The most separator characters in a row inside one run of a phone number.
const MAX_GAP: usize = 3;

/// Every phone number replaced by [`PHONE_MARK`].
fn replace_phones(text: &str) -> Cow<'_, str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let dates = protected(&chars);
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let opens = matches!(c, '+' | '(') && chars.get(i + 1).is_some_and(|&(_, d)| digit(d));
        if !(digit(c) || opens) || dates[i] {
            i += 1;
            continue;
        }
        // The run: digits and short gaps of separators, up to its last digit, never into a date.
        let (mut end, mut last_digit, mut gap) = (i, None, 0);
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut j = i + usize::from(opens);
        while j < chars.len() && !dates[j] {
            let c = chars[j].1;
            if digit(c) {
                match groups.last_mut() {
                    Some((_, last)) if last_digit == Some(j - 1) => *last = j,
                    _ => groups.push((j, j)),
                }
                last_digit = Some(j);
                end = j;
                gap = 0;
            } else if separator(c) && gap < MAX_GAP {
                gap += 1;
            } else {
                break;
            }
            j += 1;
        }
        let digits: usize = groups.iter().map(|(a, b)| b - a + 1).sum();
        let international = c == '+';
        if (digits >= 9 || (international && digits >= 7)) && !only_years(&chars, &groups) {
            let stop = chars.get(end + 1).map_or(text.len(), |&(b, _)| b);
            out.push_str(&text[copied..at]);
            out.push_str(PHONE_MARK);
            copied = stop;
        }
        i = end.max(i) + 1;
    }
    if copied == 0 {
        Cow::Borrowed(text)
    } else {
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

/// Which characters belong to a date or a time, which no phone number runs into: an ISO date
/// (`2026-11-26`), a date written day or month first (`26.11.2026`, `11/26/2026`), a time
/// (`14:30`, `14:30:05`). Dates need a year from 1900 to 2099 and plausible day and month;
/// times a plausible hour and minute. A phone number that reads as one of these is left alone:
/// the price of leaving dates and times as written.
fn protected(chars: &[(usize, char)]) -> Vec<bool> {
    let mut marks = vec![false; chars.len()];
    for start in 0..chars.len() {
        let before_ok = start
            .checked_sub(1)
            .and_then(|k| chars.get(k))
            .is_none_or(|&(_, c)| !digit(c));
        if !before_ok {
            continue;
        }
        if let Some(len) = date_or_time_at(&chars[start..]) {
            marks[start..start + len].fill(true);
        }
    }
    marks
}

/// The length of the date or time that starts `chars`, if one does and no digit follows it.
fn date_or_time_at(chars: &[(usize, char)]) -> Option<usize> {
    // The text as ASCII shapes: digits as their value, anything else as itself.
    let number = |from: usize, len: usize| -> Option<u32> {
        let part = chars.get(from..from + len)?;
        part.iter().try_fold(0, |n, &(_, c)| {
            c.to_digit(10)
                .filter(|_| c.is_ascii_digit())
                .map(|d| n * 10 + d)
        })
    };
    let is = |at: usize, c: char| chars.get(at).is_some_and(|&(_, x)| x == c);
    let ends = |len: usize| chars.get(len).is_none_or(|&(_, c)| !digit(c));
    let year = |y: u32| (1900..=2099).contains(&y);
    // 2026-11-26
    if let (Some(y), Some(m), Some(d)) = (number(0, 4), number(5, 2), number(8, 2))
        && is(4, '-')
        && is(7, '-')
        && year(y)
        && (1..=12).contains(&m)
        && (1..=31).contains(&d)
        && ends(10)
    {
        return Some(10);
    }
    // 26.11.2026, 6.1.2026, 11/26/2026
    for first in [2, 1] {
        for second in [2, 1] {
            let (a, b, y) = (
                number(0, first),
                number(first + 1, second),
                number(first + second + 2, 4),
            );
            let len = first + second + 6;
            let sep = chars.get(first).map(|&(_, c)| c);
            if let (Some(a), Some(b), Some(y), Some('.' | '/')) = (a, b, y, sep)
                && chars.get(first + second + 1).map(|&(_, c)| c) == sep
                && (1..=31).contains(&a)
                && (1..=31).contains(&b)
                && year(y)
                && ends(len)
            {
                return Some(len);
            }
        }
    }
    // 14:30, 9:05, 14:30:05
    for hour_len in [2, 1] {
        if let (Some(h), Some(m)) = (number(0, hour_len), number(hour_len + 1, 2))
            && is(hour_len, ':')
            && h < 24
            && m < 60
        {
            let len = hour_len + 3;
            if is(len, ':') && number(len + 1, 2).is_some_and(|s| s < 60) && ends(len + 3) {
                return Some(len + 3);
            }
            if ends(len) {
                return Some(len);
            }
        }
    }
    None
}

/// A run whose digit groups are all years (four digits from 1900 to 2099): a list or a range
/// of years, not a phone number.
fn only_years(chars: &[(usize, char)], groups: &[(usize, usize)]) -> bool {
    groups.iter().all(|&(a, b)| {
        let group: String = chars[a..=b].iter().map(|&(_, c)| c).collect();
        group.len() == 4 && (group.starts_with("19") || group.starts_with("20"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubbed(text: &str) -> String {
        scrub_pii(text).into_owned()
    }

    /// Personal data in the forms the hardening review stored as sent, and more.
    const MUST_SCRUB: [(&str, &str); 16] = [
        ("call 0151/23456789", "call [phone]"),
        ("030 / 1234 5678", "[phone]"),
        ("0151–2345–6789", "[phone]"),
        ("0151\u{00A0}2345\u{00A0}6789", "[phone]"),
        ("0151\u{202F}2345\u{2009}6789", "[phone]"),
        ("０１５１２３４５６７８９", "[phone]"),
        ("+49 (0) 151.2345.6789", "[phone]"),
        ("+44 20 7946 0958", "[phone]"),
        ("(555) 123-4567 ext", "[phone] ext"),
        ("tel: 0151 – 234 567 89!", "tel: [phone]!"),
        ("john\u{200B}@example.com", "[email]"),
        ("john＠example.com wrote", "[email] wrote"),
        ("mail jürgen@müller.de now", "mail [email] now"),
        ("Писать: иван@пример.рф", "Писать: [email]"),
        ("j.doe+cv@mail.example.co.uk.", "[email]."),
        ("<anna@example.com>", "<[email]>"),
    ];

    /// What people write that is not personal data.
    const MUST_KEEP: [&str; 18] = [
        "26.11.2026 14:30 and 11/26/2026 9:05",
        "from 2026-11-26 10:30:15 to 2026-11-27 08:00",
        "Were you at RustConf 2026-09-10?",
        "On 2026-11-26 10:30 the site was down",
        "Meet at 14:30 on 26.11.2026",
        "Salary 120000 per year",
        "It costs $1,299.99 or 1.299,00 €",
        "Version 1.2.3 and v10.15.3",
        "I worked there 2019 2020 2021 2022",
        "from 2010/2015/2020 to 2026",
        "Since 1999",
        "ISO 8601 and RFC 3339",
        "12:30:45 UTC",
        "Is 3.14159 pi?",
        "an @mention at 10:30",
        "price 1 299 €",
        "room 4711, floor 3",
        "ｆｕｌｌｗｉｄｔｈ text",
    ];

    #[test]
    fn personal_data_is_scrubbed_in_every_spelling() {
        for (text, expected) in MUST_SCRUB {
            assert_eq!(scrubbed(text), expected, "{text:?}");
        }
    }

    #[test]
    fn dates_years_prices_times_and_versions_are_kept_as_written() {
        for text in MUST_KEEP {
            assert_eq!(scrub_pii(text), text, "{text:?}");
            assert!(matches!(scrub_pii(text), Cow::Borrowed(_)), "{text:?}");
        }
    }

    #[test]
    fn scrubbing_is_idempotent() {
        for (text, _) in MUST_SCRUB {
            let once = scrubbed(text);
            assert_eq!(scrubbed(&once), once, "{text:?}");
        }
    }
}
