//! The small live page `GET /analytics` serves until `reportgen --publish` has uploaded a full
//! report: the headline numbers of the current summary, and how to publish. Plain HTML with
//! every piece of data escaped; no script, nothing loaded from anywhere.

use std::fmt::Write;

use analytics::{Summary, escape_html};

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.0} ms"))
}

/// The live page for `summary`.
pub fn live_page(summary: &Summary) -> String {
    let v = &summary.conversation_volume;
    let tiles = [
        ("Messages", v.messages.to_string()),
        ("Sessions", v.sessions.to_string()),
        ("Chatting sessions", v.messaging_sessions.to_string()),
        ("Bubble opens", v.bubble_opens.to_string()),
        (
            "Error rate",
            format!("{:.1}%", summary.errors.error_rate * 100.0),
        ),
        ("P95 total time", ms(summary.performance.total_time_ms.p95)),
    ];
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Chatbot analytics — live</title><style>\
         body{font-family:system-ui,sans-serif;max-width:50rem;margin:0 auto;padding:1rem;color:#1f2328}\
         ul.kpis{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.6rem}\
         .kpi{border:1px solid #d0d7de;border-radius:8px;padding:.7rem;background:#f6f8fa}\
         .kpi b{display:block;font-size:1.5rem}code,pre{background:#f6f8fa;padding:.1rem .3rem}\
         pre{padding:.6rem;overflow-x:auto}td,th{text-align:left;padding:.2rem .5rem}</style></head><body>\
         <header><h1>Chatbot analytics — live</h1>",
    );
    let _ = write!(
        html,
        "<p>The last {} days, {} to {} (UTC). No full report has been published yet: this \
         page shows the headline numbers only.</p></header><main><section \
         aria-labelledby=\"kpi-h\"><h2 id=\"kpi-h\">Headline numbers</h2><ul class=\"kpis\">",
        summary.window.days,
        escape_html(&summary.window.from),
        escape_html(&summary.window.to)
    );
    for (label, value) in tiles {
        let _ = write!(
            html,
            "<li class=\"kpi\"><b>{}</b>{}</li>",
            escape_html(&value),
            escape_html(label)
        );
    }
    html.push_str("</ul></section>");
    if !summary.knowledge_gaps.is_empty() {
        html.push_str(
            "<section aria-labelledby=\"gaps-h\"><h2 id=\"gaps-h\">Top knowledge gaps</h2>\
             <table><thead><tr><th scope=\"col\">Question</th><th scope=\"col\">Asked</th></tr>\
             </thead><tbody>",
        );
        for gap in summary.knowledge_gaps.iter().take(10) {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape_html(&gap.question),
                gap.count
            );
        }
        html.push_str("</tbody></table></section>");
    }
    html.push_str(
        "<section aria-labelledby=\"pub-h\"><h2 id=\"pub-h\">Publish the full report</h2>\
         <p>Run <code>reportgen</code> against this worker with <code>--publish</code>; the \
         report it uploads is served here from then on:</p>\
         <pre>ANALYTICS_PASSWORD=… reportgen --url https://&lt;this worker&gt; --publish</pre>\
         <p>The numbers as JSON: <a href=\"/analytics/data\">/analytics/data</a>; the raw events: \
         <a href=\"/analytics/export?format=csv\">/analytics/export</a>.</p></section></main>\
         </body></html>",
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::{Event, EventType, Metrics, Window, parse_timestamp};

    #[test]
    fn the_live_page_escapes_questions_and_shows_the_numbers() {
        let now = parse_timestamp("2026-11-26T06:00:00Z").expect("time");
        let mut metrics = Metrics::new(Window::last_days(now, 30));
        let mut e = Event::new(
            parse_timestamp("2026-11-25T06:00:00Z").expect("time"),
            EventType::MessageSent,
        );
        e.question = Some("<script>alert(1)</script>".into());
        e.no_rag_match = Some(true);
        metrics.add(&e);
        let html = live_page(&metrics.finish(now));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<b>1</b>Messages"));
        assert!(html.contains("--publish"));
    }
}
