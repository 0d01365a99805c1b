//! Untrusted text made safe to show: control and bidi characters removed, HTML/XML escaped,
//! lengths capped. Shared by the worker's pages and reportgen's report and charts.

use std::borrow::Cow;

/// Removes control characters and Unicode bidi overrides and isolates, which have no place in
/// displayed text and could hide or reorder what is around them.
pub fn clean_text(text: &str) -> String {
    text.chars()
        .filter(|&c| !c.is_control() && !reorders(c))
        .collect()
}

/// Bidi embeddings, overrides and isolates: they reorder the text around them.
fn reorders(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Text as stored at ingestion: control characters (line breaks and tabs among them) become
/// spaces, so words stay apart; bidi controls go, as in [`clean_text`]; the ends are trimmed.
pub fn one_line(text: &str) -> String {
    text.chars()
        .filter(|&c| !reorders(c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// [`clean_text`], then escaped for HTML or XML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in clean_text(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Cuts `text` to at most `max` characters.
pub fn truncate_chars(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((cut, _)) => Cow::Owned(text[..cut].to_owned()),
        None => Cow::Borrowed(text),
    }
}

/// Makes a text cell safe to open in a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`,
/// tab or CR (a formula to Excel or LibreOffice), or with the escape `'` itself, gets a leading
/// `'`. [`unneutralise_csv`] reverses it, so export → import is lossless.
pub fn neutralise_csv(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Reverses [`neutralise_csv`]: a leading `'` is dropped only when what follows is something
/// `neutralise_csv` escapes, so a cell such as `'Sup` from another producer stays intact.
pub fn unneutralise_csv(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if matches!(
                rest.as_bytes().first(),
                Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'')
            ) =>
        {
            rest
        }
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_removed() {
        assert_eq!(clean_text("a\u{0}b\u{202E}c\td\u{2066}e"), "abcde");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape_html("\"><svg onload='x'>&"),
            "&quot;&gt;&lt;svg onload=&#39;x&#39;&gt;&amp;"
        );
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("ééé", 2), "éé");
        assert_eq!(truncate_chars("ab", 2), "ab");
    }

    #[test]
    fn csv_neutralisation_round_trips() {
        for cell in ["=1+1", "+x", "-3", "@SUM", "\tx", "'quoted", "plain", ""] {
            let out = neutralise_csv(cell);
            assert_eq!(unneutralise_csv(&out), cell);
        }
        assert_eq!(neutralise_csv("=HYPERLINK()"), "'=HYPERLINK()");
        assert_eq!(
            unneutralise_csv("'Sup dude"),
            "'Sup dude",
            "a plain apostrophe stays"
        );
    }
}
