//! What a report published to the worker may not hold: markup that sends whoever opens
//! `/analytics` elsewhere without the Content-Security-Policy having a say — a
//! `<meta http-equiv>` other than the policy itself or the content type (`refresh` above all)
//! and a `<base>` element, which redirects every relative link of the page; and where in it
//! the worker may add a line of its own at the top of the page.

/// The `http-equiv` values a report may carry: the report's own policy and its content type.
const ALLOWED_HTTP_EQUIV: [&str; 2] = ["content-security-policy", "content-type"];

/// Why the worker refuses to serve `html` as the published report, or `None` when it may.
/// Tags are read as an HTML tokenizer reads them: names case-insensitive, attribute values
/// quoted or not, a `>` inside quotes not ending the tag. A `<meta` or `<base` is found
/// wherever it stands (inside a comment or another tag too: a report this project renders never
/// has one there, since every text it shows is escaped), and a `<meta` tag that does not end
/// before the next one is refused. One pass: a report of 10 MiB of `<` costs no more than its
/// length.
pub fn refused_markup(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    if find_tag(&lower, 0, "base").is_some() {
        return Some(
            "the report holds a <base> element, which would send its links elsewhere".to_owned(),
        );
    }
    let mut next = find_tag(&lower, 0, "meta");
    while let Some(start) = next {
        let attributes_start = start + "<meta".len();
        next = find_tag(&lower, attributes_start, "meta");
        let region = &lower[attributes_start..next.unwrap_or(lower.len())];
        let Some((attributes, _)) = attributes(region) else {
            return Some(
                "the report holds a <meta> tag that does not end before the next one".to_owned(),
            );
        };
        for (attribute, value) in attributes {
            let value = value.trim();
            if attribute == "http-equiv" && !ALLOWED_HTTP_EQUIV.contains(&value) {
                return Some(format!(
                    "the report holds <meta http-equiv=\"{}\">: only {} may be set that way \
                     (a refresh would send whoever opens /analytics elsewhere)",
                    crate::truncate_chars(value, 40),
                    ALLOWED_HTTP_EQUIV.join(" and ")
                ));
            }
        }
    }
    None
}

/// Where the next `<name` tag starts in lowercased `html`, from `from` on: `<name` followed by
/// a space, `/`, `>` or the end (so `<basefont` is not `<base`).
fn find_tag(html: &str, from: usize, name: &str) -> Option<usize> {
    let open = format!("<{name}");
    let mut at = from;
    while let Some(found) = html[at..].find(&open) {
        let start = at + found;
        let after = html.as_bytes().get(start + open.len());
        if after.is_none_or(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>') {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// The elements whose content is text up to their end tag, however much it looks like markup.
const RAW_TEXT: [&str; 4] = ["script", "style", "title", "textarea"];

/// Where content can go at the top of the page `html` shows: just after its `<body …>` tag;
/// without one, just after its first `</head>`; without that, at the end. Never earlier: content put
/// before the head's end would move its `<meta>` policy into the body, where browsers ignore
/// it. Tags are read as a tokenizer reads them (names in any case, `>` inside quoted values),
/// and comments, the text of `<script>`, `<style>`, `<title>` and `<textarea>` and the
/// attribute values of other tags are skipped: a `<body>` written there is text. One pass.
pub fn body_insertion_point(html: &str) -> usize {
    let lower = html.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let end = lower.len();
    let mut after_head = None;
    let mut at = 0;
    while let Some(found) = lower[at..].find('<') {
        let start = at + found;
        // Bytes, not `str` patterns: a page of nothing but `<` is read in one quick pass.
        let (closing, name_start) = match (bytes.get(start + 1), bytes.get(start + 2)) {
            (Some(b'!'), _) if bytes[start..].starts_with(b"<!--") => {
                let Some(close) = lower[start + 4..].find("-->") else {
                    break;
                };
                at = start + 4 + close + 3;
                continue;
            }
            (Some(b'!' | b'?'), _) => {
                // A doctype or a bogus comment: up to the next `>`.
                let Some(close) = lower[start..].find('>') else {
                    break;
                };
                at = start + close + 1;
                continue;
            }
            (Some(b'/'), Some(c)) if c.is_ascii_alphabetic() => (true, start + 2),
            (Some(c), _) if c.is_ascii_alphabetic() => (false, start + 1),
            _ => {
                // Not a tag: text such as `a < b`.
                at = start + 1;
                continue;
            }
        };
        let name_len = bytes[name_start..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
            .unwrap_or(end - name_start);
        let name = &lower[name_start..name_start + name_len];
        let after_name = name_start + name_len;
        let Some((_, close)) = attributes(&lower[after_name..]) else {
            break;
        };
        let tag_end = after_name + close + 1;
        at = tag_end;
        match (closing, name) {
            (false, "body") => return tag_end,
            (true, "head") => after_head = after_head.or(Some(tag_end)),
            (false, raw) if RAW_TEXT.contains(&raw) => {
                let Some(close) = lower[tag_end..].find(&format!("</{raw}")) else {
                    break;
                };
                at = tag_end + close;
            }
            _ => {}
        }
    }
    after_head.unwrap_or(end)
}

/// The attributes of a tag whose name has been read, up to its `>` (a `>` inside a quoted
/// value does not end it): `(name, value)` each, an attribute without a value having an empty
/// one, and where in `rest` the `>` is. `None` when `rest` ends before the tag does.
fn attributes(rest: &str) -> Option<(Vec<(&str, &str)>, usize)> {
    let bytes = rest.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    let skip = |i: &mut usize, stop: fn(u8) -> bool| {
        while *i < bytes.len() && !stop(bytes[*i]) {
            *i += 1;
        }
    };
    loop {
        skip(&mut i, |b| !(b.is_ascii_whitespace() || b == b'/'));
        match bytes.get(i) {
            None => return None,
            Some(b'>') => return Some((found, i)),
            Some(_) => {}
        }
        let name_start = i;
        skip(&mut i, |b| {
            b.is_ascii_whitespace() || matches!(b, b'=' | b'>' | b'/')
        });
        // A lone `=` or other oddity still moves on.
        i = i.max(name_start + 1);
        let name = &rest[name_start..i];
        skip(&mut i, |b| !b.is_ascii_whitespace());
        let mut value = "";
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            skip(&mut i, |b| !b.is_ascii_whitespace());
            match bytes.get(i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let value_start = i + 1;
                    let close = rest[value_start..].find(quote as char)?;
                    value = &rest[value_start..value_start + close];
                    i = value_start + close + 1;
                }
                _ => {
                    let value_start = i;
                    skip(&mut i, |b| b.is_ascii_whitespace() || b == b'>');
                    value = &rest[value_start..i];
                }
            }
        }
        found.push((name.trim_end_matches('='), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_or_a_base_is_refused_in_every_spelling() {
        for html in [
            r#"<!DOCTYPE html><meta http-equiv="refresh" content="0;url=https://evil.example">"#,
            "<!doctype html><META HTTP-EQUIV=Refresh CONTENT='0; URL=https://evil.example'>",
            "<!doctype html><meta\n\tcontent=\"0;url=//evil.example\"\n\thttp-equiv = 'refresh' />",
            "<!doctype html><meta http-equiv=\"set-cookie\" content=\"a=b\">",
            "<!doctype html><meta http-equiv=\" refresh \" content=\"0\">",
            "<!doctype html><head><base href=\"https://evil.example/\"></head>",
            "<!doctype html><BASE\nhref=//evil.example>",
            "<!doctype html><!-- <meta http-equiv=refresh content=0> -->",
            // A `>` inside a quoted value does not end the tag.
            "<!doctype html><meta content=\"0;url=https://evil.example/?>\" http-equiv=\"refresh\">",
            // `http-equiv` inside another attribute's value is not the attribute.
            "<!doctype html><meta name=\"a http-equiv=content-type b\" http-equiv=\"refresh\" content=\"0\">",
            "<!doctype html><meta http-equiv=refresh/>",
            // A tag that does not end before the next one hides what follows it.
            "<!doctype html><meta content=\"<meta\" http-equiv=\"refresh\">",
            "<!doctype html><meta content=\"x",
        ] {
            assert!(refused_markup(html).is_some(), "{html}");
        }
    }

    #[test]
    fn the_reports_own_markup_is_served() {
        for html in [
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
             <meta name=\"viewport\" content=\"width=device-width\"></head>\
             <body><p>&lt;meta http-equiv=refresh&gt; as text</p><basefont><baseline>\
             <div data-http-equiv=\"refresh\"></div>\
             <script type=\"application/json\">{\"q\":\"\\u003cbase href=x>\"}</script></body></html>",
            "<!doctype html><meta http-equiv=content-type content=\"text/html; charset=utf-8\">",
            "<!doctype html><p>a < b and <meta> at the end",
        ] {
            assert_eq!(refused_markup(html), None, "{html}");
        }
    }

    /// The text just before the insertion point of `html`.
    fn before_insertion(html: &str) -> &str {
        &html[..body_insertion_point(html)]
    }

    #[test]
    fn the_insertion_point_is_just_after_the_body_tag_in_any_spelling() {
        for (html, before) in [
            (
                "<!DOCTYPE html><html><head><title>R</title></head><body><h1>R</h1></body></html>",
                "<body>",
            ),
            ("<!doctype html><BODY CLASS=\"x\">x", "<BODY CLASS=\"x\">"),
            (
                "<!doctype html><body\n  data-a='1>2' >x",
                "<body\n  data-a='1>2' >",
            ),
            ("<!doctype html><body/>x", "<body/>"),
        ] {
            assert!(before_insertion(html).ends_with(before), "{html}");
        }
    }

    #[test]
    fn a_body_tag_written_as_text_is_not_the_body() {
        let html = "<!DOCTYPE html><html><head><!-- <body> --><title>&lt;body&gt; <body></title>\
                    <style>/* <body> */</style><script type=\"application/json\">\"<body>\"</script>\
                    <meta name=\"description\" content=\"<body>\"><bodyguard></head>\
                    <body id=\"real\"><p>a < b</p></body></html>";
        assert!(before_insertion(html).ends_with("<body id=\"real\">"));
    }

    #[test]
    fn without_a_body_tag_after_the_head_else_at_the_end() {
        let html = "<!doctype html><html><head><meta charset=\"utf-8\"></head><p>x</p></html>";
        assert!(before_insertion(html).ends_with("</head>"));
        for html in [
            "<!doctype html><p>x</p>",
            "<!doctype html><meta content=\"x",
            "<!doctype html><!-- <body>",
            "<!doctype html><script><body>",
            "<html><head><title><body></title><style><body>",
        ] {
            assert_eq!(body_insertion_point(html), html.len(), "{html}");
        }
    }

    /// The worst inputs for a scan that restarts at every `<`: one pass reads them in about a
    /// second in a debug build; a quadratic scan would not end within CI's time limit.
    #[test]
    fn ten_mebibytes_of_openers_are_read_in_one_pass() {
        for (unit, refused) in [
            ("<", false),
            ("<meta ", true),
            ("<meta a=\"", true),
            ("<base", true),
            ("<<meta", true),
            ("<!--", false),
            ("<body ", false),
            ("<script>", false),
            ("<p title=\"<body>\">", false),
        ] {
            let html = format!(
                "<!doctype html>{}",
                unit.repeat(10 * 1024 * 1024 / unit.len())
            );
            assert_eq!(refused_markup(&html).is_some(), refused, "{unit:?}");
            assert_eq!(body_insertion_point(&html), html.len(), "{unit:?}");
        }
    }
}
