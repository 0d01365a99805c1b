//! What a report published to the worker may not hold: markup that sends whoever opens
//! `/analytics` elsewhere without the Content-Security-Policy having a say — a
//! `<meta http-equiv>` other than the policy itself or the content type (`refresh` above all)
//! and a `<base>` element, which redirects every relative link of the page.

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
        let Some(attributes) = attributes(region) else {
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

/// The attributes of a tag whose name has been read, up to its `>` (a `>` inside a quoted
/// value does not end it): `(name, value)` each, an attribute without a value having an empty
/// one. `None` when `rest` ends before the tag does.
fn attributes(rest: &str) -> Option<Vec<(&str, &str)>> {
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
            Some(b'>') => return Some(found),
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
        ] {
            let html = format!(
                "<!doctype html>{}",
                unit.repeat(10 * 1024 * 1024 / unit.len())
            );
            assert_eq!(refused_markup(&html).is_some(), refused, "{unit:?}");
        }
    }
}
