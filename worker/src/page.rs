//! The pages `GET /analytics` serves: the live page, with every one of the seven categories of
//! the current summary (tables, and a bar chart of messages per day drawn as inline SVG), until
//! `reportgen --publish` has uploaded a full report, and at `?view=live` after; the published
//! report with a line about it (`published`). Plain HTML with every piece of data escaped; no
//! script, nothing loaded from anywhere.

mod published;

use std::fmt::Write;

use analytics::{DayCount, Summary, escape_html};

pub use published::{LIVE_PATH, with_published_note};

/// How many knowledge gaps the live page lists (the summary holds up to 100).
const GAPS_SHOWN: usize = 25;

const HEAD: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
    <title>Chatbot analytics — live</title><style>\
    body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;\
    color:#1f2328;background:#fff;line-height:1.45}\
    h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}\
    nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}\
    a{color:#0b5cad}.muted,caption{color:#57606a}caption{text-align:left;padding:.3rem 0}\
    ul.kpis{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem}\
    .kpi{border:1px solid #d0d7de;border-radius:8px;padding:.7rem;background:#f6f8fa}\
    .kpi b{display:block;font-size:1.5rem}code,pre{background:#f6f8fa;padding:.1rem .3rem}\
    pre{padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}\
    td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top;\
    overflow-wrap:anywhere}thead th{background:#f6f8fa}.n{text-align:right;white-space:nowrap}\
    svg.bars{display:block;width:100%;height:6rem;border-bottom:1px solid #57606a}\
    svg.bars rect{fill:#0b5cad}summary{cursor:pointer;color:#0b5cad;margin:.4rem 0}@media(max-width:600px){body{padding:.5rem}td,th{padding:.2rem .3rem}}\
    </style></head><body>";

/// The seven categories: the fragment id of each section and its heading.
const SECTIONS: [(&str, &str); 7] = [
    ("volume", "Conversation volume"),
    ("over-time", "Messages over time"),
    ("topics", "Topic distribution"),
    ("gaps", "Knowledge gaps"),
    ("performance", "Performance"),
    ("errors", "Errors"),
    ("pages", "Pages &amp; sources"),
];

/// A number of milliseconds, `—` for none.
fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.0} ms"))
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Opens section `n` (0-based) of [`SECTIONS`].
fn open_section(html: &mut String, n: usize) {
    let (id, title) = SECTIONS[n];
    let _ = write!(
        html,
        "<section id=\"{id}\" aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{}. {title}</h2>",
        n + 1
    );
}

/// A paragraph saying a category has nothing in the window.
fn empty(html: &mut String, what: &str) {
    let _ = write!(html, "<p class=\"muted\">No {what} in this window.</p>");
}

/// Headline numbers as tiles; values and labels escaped.
fn tiles(html: &mut String, tiles: &[(&str, String)]) {
    html.push_str("<ul class=\"kpis\">");
    for (label, value) in tiles {
        let _ = write!(
            html,
            "<li class=\"kpi\"><b>{}</b> {}</li>",
            escape_html(value),
            escape_html(label)
        );
    }
    html.push_str("</ul>");
}

/// A table with a caption: the first `text` columns hold text (the first of them heads its
/// row), the rest numbers. Every header and cell is escaped here, so no caller can forget to.
fn table<R>(html: &mut String, caption: &str, columns: &[&str], text: usize, rows: R)
where
    R: IntoIterator<Item = Vec<String>>,
{
    let class = |i: usize| if i < text { "" } else { " class=\"n\"" };
    let _ = write!(
        html,
        "<table><caption>{}</caption><thead><tr>",
        escape_html(caption)
    );
    for (i, column) in columns.iter().enumerate() {
        let _ = write!(
            html,
            "<th scope=\"col\"{}>{}</th>",
            class(i),
            escape_html(column)
        );
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let cell = escape_html(cell);
            if i == 0 {
                let _ = write!(html, "<th scope=\"row\"{}>{cell}</th>", class(i));
            } else {
                let _ = write!(html, "<td{}>{cell}</td>", class(i));
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
}

/// Messages per day as bars, one per day, with a title that says what they show; the table
/// below the chart is its text alternative.
fn day_bars(html: &mut String, days: &[DayCount]) {
    let Some(busiest) = days.iter().max_by_key(|d| d.messages) else {
        return;
    };
    let total: u64 = days.iter().map(|d| d.messages).sum();
    let max = busiest.messages.max(1) as f64;
    let _ = write!(
        html,
        "<svg class=\"bars\" role=\"img\" aria-labelledby=\"bars-t\" viewBox=\"0 0 {} 100\" \
         preserveAspectRatio=\"none\"><title id=\"bars-t\">Messages per day: {total} in {} \
         days, most on {} ({}). The table below the chart has every day.</title>",
        days.len() * 10,
        days.len(),
        escape_html(&busiest.date),
        busiest.messages
    );
    for (i, day) in days.iter().enumerate() {
        let height = day.messages as f64 / max * 100.0;
        if height > 0.0 {
            let _ = write!(
                html,
                "<rect x=\"{}\" y=\"{:.1}\" width=\"8\" height=\"{height:.1}\"/>",
                i * 10 + 1,
                100.0 - height
            );
        }
    }
    html.push_str("</svg>");
}

fn volume(html: &mut String, summary: &Summary) {
    let v = &summary.conversation_volume;
    open_section(html, 0);
    tiles(
        html,
        &[
            ("Messages", v.messages.to_string()),
            ("Sessions", v.sessions.to_string()),
            ("Chatting sessions", v.messaging_sessions.to_string()),
            (
                "Messages per chatting session",
                format!("{:.2}", v.messages_per_session),
            ),
            ("Bubble opens", v.bubble_opens.to_string()),
        ],
    );
    if v.events_by_type.is_empty() {
        empty(html, "events");
    } else {
        table(
            html,
            "Events by type",
            &["Event type", "Events"],
            1,
            v.events_by_type
                .iter()
                .map(|(kind, n)| vec![kind.clone(), n.to_string()]),
        );
    }
    html.push_str("</section>");
}

fn over_time(html: &mut String, summary: &Summary) {
    let days = &summary.messages_over_time;
    open_section(html, 1);
    if days.iter().all(|d| d.messages == 0 && d.bubble_opens == 0) {
        empty(html, "messages or bubble opens");
    } else {
        day_bars(html, days);
        html.push_str("<details><summary>Every day as a table</summary>");
        table(
            html,
            "Messages and bubble opens per UTC day",
            &["Day", "Messages", "Bubble opens"],
            1,
            days.iter().map(|d| {
                vec![
                    d.date.clone(),
                    d.messages.to_string(),
                    d.bubble_opens.to_string(),
                ]
            }),
        );
        html.push_str("</details>");
    }
    html.push_str("</section>");
}

fn topics(html: &mut String, summary: &Summary) {
    open_section(html, 2);
    if summary.topic_distribution.is_empty() {
        empty(html, "messages");
    } else {
        table(
            html,
            "Messages by topic",
            &["Topic", "Messages", "Share"],
            1,
            summary
                .topic_distribution
                .iter()
                .map(|t| vec![t.topic.clone(), t.count.to_string(), percent(t.share)]),
        );
    }
    html.push_str("</section>");
}

fn gaps(html: &mut String, summary: &Summary) {
    let gaps = &summary.knowledge_gaps;
    open_section(html, 3);
    if gaps.is_empty() {
        empty(html, "questions without a retrieval match");
    } else {
        table(
            html,
            "Questions asked without a retrieval match, most asked first",
            &["Question", "Last asked", "Asked"],
            2,
            gaps.iter()
                .take(GAPS_SHOWN)
                .map(|g| vec![g.question.clone(), g.last_seen.clone(), g.count.to_string()]),
        );
        if gaps.len() > GAPS_SHOWN {
            let _ = write!(
                html,
                "<p class=\"muted\">The first {GAPS_SHOWN} of {} are shown; \
                 <a href=\"/analytics/data\">/analytics/data</a> has them all.</p>",
                gaps.len()
            );
        }
    }
    html.push_str("</section>");
}

fn performance(html: &mut String, summary: &Summary) {
    let p = &summary.performance;
    open_section(html, 4);
    let timings = [&p.rag_time_ms, &p.ai_time_ms, &p.total_time_ms];
    if timings.iter().all(|t| t.samples == 0) {
        empty(html, "timed messages");
    } else {
        // One column per timing, so that the table fits a phone.
        let ms_row = |name: &str, values: [Option<f64>; 3]| {
            vec![name.to_owned(), ms(values[0]), ms(values[1]), ms(values[2])]
        };
        let [rag, ai, total] = timings;
        table(
            html,
            "Response times (percentiles by nearest rank)",
            &["Statistic", "Retrieval (RAG)", "Model (AI)", "Total"],
            1,
            [
                ms_row(
                    "Average",
                    [p.avg_rag_time_ms, p.avg_ai_time_ms, p.avg_total_time_ms],
                ),
                ms_row("P50", [rag.p50, ai.p50, total.p50]),
                ms_row("P95", [rag.p95, ai.p95, total.p95]),
                ms_row("P99", [rag.p99, ai.p99, total.p99]),
                vec![
                    "Messages timed".to_owned(),
                    rag.samples.to_string(),
                    ai.samples.to_string(),
                    total.samples.to_string(),
                ],
            ],
        );
    }
    html.push_str("</section>");
}

fn errors(html: &mut String, summary: &Summary) {
    let e = &summary.errors;
    open_section(html, 5);
    tiles(
        html,
        &[
            ("Error rate", percent(e.error_rate)),
            ("Failed messages", e.error_count.to_string()),
            ("Rate-limited requests", e.rate_limited.to_string()),
        ],
    );
    if e.by_type.is_empty() {
        empty(html, "failed messages");
    } else {
        table(
            html,
            "Failed messages by error type",
            &["Error type", "Errors"],
            1,
            e.by_type
                .iter()
                .map(|t| vec![t.error_type.clone(), t.count.to_string()]),
        );
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
        table(
            html,
            "The latest failed messages, newest first",
            &["When", "Error type", "Message", "Topic", "Page"],
            5,
            e.recent.iter().map(|r| {
                vec![
                    r.timestamp.clone(),
                    or_dash(&r.error_type),
                    or_dash(&r.error_message),
                    or_dash(&r.topic),
                    or_dash(&r.page_url),
                ]
            }),
        );
    }
    html.push_str("</section>");
}

fn pages(html: &mut String, summary: &Summary) {
    let p = &summary.pages_and_sources;
    open_section(html, 6);
    if p.top_pages.is_empty() {
        empty(html, "messages on any page");
    } else {
        table(
            html,
            "Pages the chatbot is used on, by messages",
            &["Page", "Title", "Messages", "Sessions"],
            2,
            p.top_pages.iter().map(|page| {
                vec![
                    page.page_url.clone(),
                    page.page_title.clone().unwrap_or_else(|| "—".to_owned()),
                    page.messages.to_string(),
                    page.sessions.to_string(),
                ]
            }),
        );
    }
    if p.top_sources.is_empty() {
        empty(html, "visits");
    } else {
        table(
            html,
            "Where visitors came from (referrer host), by sessions",
            &["Source", "Sessions"],
            1,
            p.top_sources
                .iter()
                .map(|s| vec![s.source.clone(), s.sessions.to_string()]),
        );
    }
    html.push_str("</section>");
}

/// The live page for `summary`: a section for each of the seven categories, each saying so
/// when it has nothing in the window.
pub fn live_page(summary: &Summary) -> String {
    let mut html = String::from(HEAD);
    let _ = write!(
        html,
        "<header><h1>Chatbot analytics — live</h1><p>The last {} days, {} to {} (UTC), \
         computed from the stored events on this visit.</p><nav aria-label=\"Sections\"><ul>",
        summary.window.days,
        escape_html(&summary.window.from),
        escape_html(&summary.window.to)
    );
    for (id, title) in SECTIONS {
        let _ = write!(html, "<li><a href=\"#{id}\">{title}</a></li>");
    }
    html.push_str("</ul></nav></header><main>");
    volume(&mut html, summary);
    over_time(&mut html, summary);
    topics(&mut html, summary);
    gaps(&mut html, summary);
    performance(&mut html, summary);
    errors(&mut html, summary);
    pages(&mut html, summary);
    let _ = write!(
        html,
        "<section aria-labelledby=\"pub-h\"><h2 id=\"pub-h\">The full report</h2>\
         <p>Once <code>reportgen</code> has published a report, <code>/analytics</code> serves \
         it, with its charts, comparisons and insights; this page stays at \
         <a href=\"{LIVE_PATH}\">{}</a>. To publish (again):</p>\
         <pre>ANALYTICS_PASSWORD=… reportgen --url https://&lt;this worker&gt; --publish</pre>\
         <p>The numbers as JSON: <a href=\"/analytics/data\">/analytics/data</a>; the raw events: \
         <a href=\"/analytics/export?format=csv\">/analytics/export</a>.</p></section></main>\
         </body></html>",
        escape_html(LIVE_PATH)
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::{Event, EventType, Metrics, Window, parse_timestamp};

    const HOSTILE: &str = "<script>alert(1)</script>";
    const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";

    fn at(t: &str) -> chrono::DateTime<chrono::Utc> {
        parse_timestamp(t).expect("time")
    }

    /// A summary with something in every category, `text` in every free-text field.
    fn summary_with(text: &str) -> Summary {
        let now = at("2026-11-26T06:00:00Z");
        let mut metrics = Metrics::new(Window::last_days(now, 30));
        let mut message = Event::new(at("2026-11-25T06:00:00Z"), EventType::MessageSent);
        message.session_id = Some("session-1764000000000-abcdefghi".into());
        message.question = Some(format!("Question {text}"));
        message.no_rag_match = Some(true);
        message.topic = Some(format!("topic {text}"));
        message.page_url = Some(format!("https://site.example/{text}"));
        message.page_title = Some(format!("Title {text}"));
        message.referrer = Some(format!("https://ref.example/{text}"));
        message.rag_time_ms = Some(40.0);
        message.ai_time_ms = Some(900.0);
        message.total_time_ms = Some(950.0);
        metrics.add(&message);
        let mut failed = message.clone();
        failed.timestamp = at("2026-11-24T06:00:00Z");
        failed.success = Some(false);
        failed.error_type = Some(format!("type {text}"));
        failed.error_message = Some(format!("message {text}"));
        metrics.add(&failed);
        let mut open = Event::new(at("2026-11-24T05:00:00Z"), EventType::BubbleOpened);
        open.session_id = message.session_id.clone();
        metrics.add(&open);
        metrics.finish(now)
    }

    #[test]
    fn every_category_has_its_section_and_heading() {
        let html = live_page(&summary_with("x"));
        for (n, (id, title)) in SECTIONS.iter().enumerate() {
            assert!(
                html.contains(&format!(
                    "<section id=\"{id}\" aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{}. {title}</h2>",
                    n + 1
                )),
                "{title}"
            );
        }
        assert_eq!(
            html.matches("<section").count(),
            8,
            "seven and the report's"
        );
        assert!(html.contains("<b>2</b> Messages"));
        assert!(html.contains("<b>50.0%</b> Error rate"));
        assert!(html.contains(
            "<th scope=\"row\">Average</th><td class=\"n\">40 ms</td><td class=\"n\">900 ms</td>\
             <td class=\"n\">950 ms</td>"
        ));
        assert!(html.contains("<svg class=\"bars\" role=\"img\""));
        assert!(html.contains("<th scope=\"col\">Question</th>"));
        assert!(html.contains("<caption>"));
        assert!(!html.contains("No messages"), "nothing is empty here");
        assert!(html.contains("--publish"));
    }

    #[test]
    fn hostile_text_is_escaped_in_every_category() {
        let html = live_page(&summary_with(HOSTILE));
        assert!(!html.contains("<script"), "{html}");
        for shown in [
            format!("Question {ESCAPED}"),
            format!("topic {ESCAPED}"),
            format!("https://site.example/{ESCAPED}"),
            format!("Title {ESCAPED}"),
            format!("type {ESCAPED}"),
            format!("message {ESCAPED}"),
        ] {
            assert!(html.contains(&shown), "{shown} is shown escaped");
        }
        // A referrer counts by its host, which cannot hold markup; a hostile host is escaped.
        let mut summary = summary_with("x");
        summary.pages_and_sources.top_sources[0].source = HOSTILE.to_owned();
        summary.window.from = HOSTILE.to_owned();
        let html = live_page(&summary);
        assert!(!html.contains("<script"), "{html}");
        assert_eq!(html.matches(ESCAPED).count(), 2);
    }

    #[test]
    fn empty_categories_say_so() {
        let now = at("2026-11-26T06:00:00Z");
        let html = live_page(&Metrics::new(Window::last_days(now, 30)).finish(now));
        for said in [
            "No events in this window.",
            "No messages or bubble opens in this window.",
            "No messages in this window.",
            "No questions without a retrieval match in this window.",
            "No timed messages in this window.",
            "No failed messages in this window.",
            "No messages on any page in this window.",
            "No visits in this window.",
        ] {
            assert!(html.contains(said), "{said}");
        }
        assert_eq!(html.matches("<h2 id=").count(), 8);
        assert!(!html.contains("<svg"));
    }
}
