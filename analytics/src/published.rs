//! What a report published to the worker may not hold: markup that sends whoever opens
//! `/analytics` elsewhere without the Content-Security-Policy having a say — a
//! `<meta http-equiv>` other than the policy itself or the content type (`refresh` above all)
//! and a `<base>` element, which redirects every relative link of the page.

/// The `http-equiv` values a report may carry: the report's own policy and its content type.
const ALLOWED_HTTP_EQUIV: [&str; 2] = ["content-security-policy", "content-type"];

/// Why the worker refuses to serve `html` as the published report, or `None` when it may.
/// Tags are read as an HTML tokenizer reads them: names case-insensitive, attribute values
/// quoted or not, a `>` inside quotes not ending the tag. A `<meta` or `<base` is found
/// wherever it stands (inside a comment too: a report this project renders never has one,
/// since every text it shows is escaped).
pub fn refused_markup(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower[at..].find('<') {
        let start = at + found + 1;
        let name_len = lower[start..]
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .unwrap_or(lower.len() - start);
        let name = &lower[start..start + name_len];
        let attributes = attributes(&lower[start + name_len..]);
        // Every `<` is looked at, also one inside another tag or a comment.
        at = start;
        match name {
            "base" => {
                return Some(
                    "the report holds a <base> element, which would send its links elsewhere"
                        .to_owned(),
                );
            }
            "meta" => {
                for (attribute, value) in attributes {
                    let value = value.trim();
                    if attribute == "http-equiv" && !ALLOWED_HTTP_EQUIV.contains(&value) {
                        return Some(format!(
                            "the report holds <meta http-equiv=\"{}\">: only {} may be set that \
                             way (a refresh would send whoever opens /analytics elsewhere)",
                            crate::truncate_chars(value, 40),
                            ALLOWED_HTTP_EQUIV.join(" and ")
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The attributes of a tag whose name has been read, up to its `>` (a `>` inside a quoted
/// value does not end it): `(name, value)` each, an attribute without a value having an empty
/// one.
fn attributes(rest: &str) -> Vec<(&str, &str)> {
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
        if i >= bytes.len() || bytes[i] == b'>' {
            return found;
        }
        let name_start = i;
        skip(&mut i, |b| {
            b.is_ascii_whitespace() || matches!(b, b'=' | b'>' | b'/')
        });
        // A lone `=` or other oddity still moves on.
        let name = &rest[name_start..i.max(name_start + 1).min(bytes.len())];
        i = i.max(name_start + 1);
        skip(&mut i, |b| !b.is_ascii_whitespace());
        let mut value = "";
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            skip(&mut i, |b| !b.is_ascii_whitespace());
            match bytes.get(i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let value_start = i + 1;
                    let close = rest[value_start..]
                        .find(quote as char)
                        .map_or(bytes.len(), |k| value_start + k);
                    value = &rest[value_start..close];
                    i = (close + 1).min(bytes.len());
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
            "<!doctype html><p>a < b and <meta",
        ] {
            assert_eq!(refused_markup(html), None, "{html}");
        }
    }
}
