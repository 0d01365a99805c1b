//! The published report as `GET /analytics` serves it: the report exactly as uploaded, with one
//! line at the top of its body saying when it was generated and published, and a link to the
//! live numbers.

use analytics::{body_insertion_point, escape_html};

/// Where the live page stays reachable once a report is published.
pub const LIVE_PATH: &str = "/analytics?view=live";

/// `report` with the line about it added just after its `<body …>` tag (see
/// [`analytics::body_insertion_point`]). `generated_at` and `published_at` are the stored
/// metadata, escaped like any other text. The line uses no `style` attribute and no script, so
/// whatever Content-Security-Policy the report carries allows it.
pub fn with_published_note(
    report: &str,
    generated_at: Option<&str>,
    published_at: Option<&str>,
) -> String {
    let at = body_insertion_point(report);
    let note = note(generated_at, published_at);
    let mut html = String::with_capacity(report.len() + note.len());
    html.push_str(&report[..at]);
    html.push_str(&note);
    html.push_str(&report[at..]);
    html
}

/// `<time>` for a stored timestamp.
fn time(at: &str) -> String {
    let at = escape_html(at);
    format!("<time datetime=\"{at}\">{at}</time>")
}

fn note(generated_at: Option<&str>, published_at: Option<&str>) -> String {
    let when = match (generated_at, published_at) {
        (Some(g), Some(p)) => format!(
            "This report was generated {} and published {}.",
            time(g),
            time(p)
        ),
        (None, Some(p)) => format!("This report was published {}.", time(p)),
        (Some(g), None) => format!("This report was generated {}.", time(g)),
        (None, None) => "This is the published report.".to_owned(),
    };
    format!(
        "<aside class=\"published-note\" aria-label=\"About this report\"><p>{when} \
         <a href=\"{LIVE_PATH}\">The live numbers</a> are computed from the stored events on \
         each visit.</p></aside>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
        <title>R</title></head><body class=\"report\"><h1>R</h1></body></html>";

    #[test]
    fn the_note_goes_just_after_the_body_tag_and_the_report_is_otherwise_unchanged() {
        let html = with_published_note(
            REPORT,
            Some("2026-11-26T06:00:00Z"),
            Some("2026-11-26T06:05:00Z"),
        );
        let (head, rest) = html.split_at(REPORT.find("<h1>").expect("h1"));
        assert_eq!(head, &REPORT[..REPORT.find("<h1>").expect("h1")]);
        let note = rest.split_at(rest.find("<h1>").expect("h1")).0;
        assert!(
            note.starts_with("<aside class=\"published-note\""),
            "{note}"
        );
        assert!(note.ends_with("</aside>"), "{note}");
        assert_eq!(html.replacen(note, "", 1), REPORT);
        assert!(note.contains(
            "generated <time datetime=\"2026-11-26T06:00:00Z\">2026-11-26T06:00:00Z</time> \
             and published <time datetime=\"2026-11-26T06:05:00Z\">"
        ));
        assert!(note.contains("<a href=\"/analytics?view=live\">"));
        assert!(!note.contains("style"), "no style attribute: {note}");
    }

    #[test]
    fn the_body_tag_is_found_in_any_case_and_without_one_the_note_still_shows() {
        let upper = with_published_note("<!doctype html><BODY\nid=x>y", None, Some("p"));
        assert!(
            upper.starts_with("<!doctype html><BODY\nid=x><aside"),
            "{upper}"
        );
        assert!(upper.ends_with("</aside>y"));
        let headless = "<!doctype html><html><head><title>T</title></head><p>y</p>";
        let html = with_published_note(headless, None, None);
        assert!(html.contains("</head><aside"), "{html}");
        assert!(html.contains("This is the published report."));
        let bare = with_published_note("<p>y</p>", Some("g"), None);
        assert!(bare.starts_with("<p>y</p><aside"), "{bare}");
        assert!(bare.contains("generated <time datetime=\"g\">g</time>."));
    }

    #[test]
    fn stored_times_are_escaped() {
        let html = with_published_note(
            REPORT,
            Some("\"><script>alert(1)</script>"),
            Some("<img src=x>"),
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
}
