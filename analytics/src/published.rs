//! What a report published to the worker may not hold: markup that sends whoever opens
//! `/analytics` elsewhere without the Content-Security-Policy having a say — a
//! `<meta http-equiv>` other than the policy itself or the content type (`refresh` above all)
//! and a `<base>` element, which redirects every relative link of the page.

/// The `http-equiv` values a report may carry: the report's own policy and its content type.
const ALLOWED_HTTP_EQUIV: [&str; 2] = ["content-security-policy", "content-type"];

/// Why the worker refuses to serve `html` as the published report, or `None` when it may.
/// Tags are found case-insensitively wherever they stand (a `<meta` inside a comment is
/// refused too: a report that this project renders never has one, since every text it shows
/// is escaped).
pub fn refused_markup(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower[at..].find('<') {
        let start = at + found;
        at = start + 1;
        let rest = &lower[at..];
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .unwrap_or(rest.len());
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[name_end.min(tag_end)..tag_end];
        match &rest[..name_end] {
            "base" => {
                return Some(
                    "the report holds a <base> element, which would send its links elsewhere"
                        .to_owned(),
                );
            }
            "meta" => {
                if let Some(value) = http_equiv(tag)
                    && !ALLOWED_HTTP_EQUIV.contains(&value)
                {
                    return Some(format!(
                        "the report holds <meta http-equiv=\"{}\">: only {} may be set that way \
                         (a refresh would send whoever opens /analytics elsewhere)",
                        crate::truncate_chars(value, 40),
                        ALLOWED_HTTP_EQUIV.join(" and ")
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// The value of the `http-equiv` attribute in a tag's lowercased attribute text, trimmed.
fn http_equiv(attributes: &str) -> Option<&str> {
    let mut rest = attributes;
    loop {
        let found = rest.find("http-equiv")?;
        let before = rest[..found].chars().next_back();
        rest = &rest[found + "http-equiv".len()..];
        // The attribute's name, not the end of another one (`data-http-equiv`).
        if before.is_some_and(|c| !(c.is_ascii_whitespace() || c == '/' || c == '"' || c == '\'')) {
            continue;
        }
        let value = rest.trim_start().strip_prefix('=')?.trim_start();
        let value = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &value[1..];
                &inner[..inner.find(quote).unwrap_or(inner.len())]
            }
            _ => {
                let end = value
                    .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
                    .unwrap_or(value.len());
                &value[..end]
            }
        };
        return Some(value.trim());
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
