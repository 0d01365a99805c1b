//! `digest.md`: the report in a few lines of GitHub-flavoured Markdown, short enough for a
//! notification — the headline numbers with their changes, the alerts, the new, returning and
//! resolved knowledge gaps, and the relative link to the report. The workflow appends it to
//! the job summary and can post it to a chat webhook.
//!
//! Visitors' questions are untrusted: each is flattened to one line, cut, and escaped for
//! Markdown and for chat services that read `<…>` as links or mentions (Slack's `<!channel>`).

use std::fmt::Write;

use analytics::Summary;

use crate::lifecycle::{Lifecycle, Status};
use crate::view::{Baseline, Headline, Kpi, delta, ms};

/// Gaps listed per kind (new, back, resolved) before "and N more in the report".
pub const DIGEST_ITEMS: usize = 3;
/// Alerts listed before "and N more in the report".
pub const DIGEST_ALERTS: usize = 5;
/// The longest question shown, in characters.
const QUESTION_CHARS: usize = 80;

/// The digest of `summary`, compared with `baseline`, with the gaps' life across the archive.
pub fn digest(
    summary: &Summary,
    baseline: Option<&Baseline<'_>>,
    lifecycle: Option<&Lifecycle>,
    title: &str,
) -> String {
    let mut md = String::new();
    let window = &summary.window;
    let _ = writeln!(
        md,
        "### {} · {} to {} ({} day{})\n",
        markdown(title, 120),
        window.from.get(..10).unwrap_or(&window.from),
        window.to.get(..10).unwrap_or(&window.to),
        window.days,
        if window.days == 1 { "" } else { "s" }
    );
    headline_table(&mut md, summary, baseline);
    alerts(&mut md, summary);
    if let Some(lifecycle) = lifecycle {
        gaps(&mut md, summary, lifecycle);
    }
    if summary.text_removed.is_some() {
        md.push_str("Visitors' text was removed from this snapshot; its numbers are kept.\n\n");
    }
    md.push_str("[Open the full report](index.html)\n");
    md
}

fn headline_table(md: &mut String, s: &Summary, baseline: Option<&Baseline<'_>>) {
    let change_label = baseline.map_or("", |b| b.label);
    let header = match baseline {
        Some(b) => format!("Change on {}", b.label),
        None => "Change".to_owned(),
    };
    let _ = writeln!(md, "| | This window | {header} |\n|---|---:|---|");
    for headline in [Headline::Messages, Headline::Sessions, Headline::ErrorRate] {
        let kpi = Kpi::new(headline, s, baseline);
        let change = kpi.delta.map_or("—".to_owned(), |d| d.text);
        let _ = writeln!(md, "| {} | {} | {} |", kpi.label, kpi.value, change);
    }
    let p95 = s.performance.total_time_ms.p95;
    let before = baseline.and_then(|b| b.summary.performance.total_time_ms.p95);
    let change = p95
        .and_then(|now| delta(now, before, change_label))
        .map_or("—".to_owned(), |d| d.text);
    let _ = writeln!(md, "| P95 total time | {} | {change} |\n", ms(p95));
}

fn alerts(md: &mut String, s: &Summary) {
    if s.alerts.is_empty() {
        md.push_str("**No alerts.**\n\n");
        return;
    }
    let _ = writeln!(md, "**Alerts ({})**\n", s.alerts.len());
    for alert in s.alerts.iter().take(DIGEST_ALERTS) {
        let day = alert
            .day
            .as_deref()
            .map_or(String::new(), |d| format!(" · {d}"));
        let subject = alert.subject.as_deref().map_or(String::new(), |q| {
            format!(" · “{}”", markdown(q, QUESTION_CHARS))
        });
        let _ = writeln!(
            md,
            "- **{} · {}**{day}{subject}: {}",
            alert.severity.as_str(),
            alert.kind.title(),
            markdown(&alert.message, 400)
        );
    }
    more(md, s.alerts.len(), DIGEST_ALERTS, "alerts");
    md.push('\n');
}

fn gaps(md: &mut String, s: &Summary, lifecycle: &Lifecycle) {
    let with = |status: Status| -> Vec<(&str, u64)> {
        s.knowledge_gaps
            .iter()
            .filter(|g| lifecycle.status.get(&g.normalized) == Some(&status))
            .map(|g| (g.question.as_str(), g.count))
            .collect()
    };
    let resolved: Vec<(&str, u64)> = lifecycle
        .resolved
        .iter()
        .map(|r| (r.question.as_str(), r.count))
        .collect();
    let since = &lifecycle.since;
    for (heading, list, then) in [
        ("New knowledge gaps".to_owned(), with(Status::New), ""),
        (
            "Back again (regressed) since the report of ".to_owned() + since,
            with(Status::Regressed),
            "",
        ),
        (
            "Resolved since the report of ".to_owned() + since,
            resolved,
            " then",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(md, "**{heading}**\n");
        for (question, count) in list.iter().take(DIGEST_ITEMS) {
            let _ = writeln!(
                md,
                "- {} (asked {count} time{}{then})",
                markdown(question, QUESTION_CHARS),
                if *count == 1 { "" } else { "s" }
            );
        }
        more(md, list.len(), DIGEST_ITEMS, "in the report");
        md.push('\n');
    }
}

/// "- … and 4 more alerts" when `total` is over `shown`.
fn more(md: &mut String, total: usize, shown: usize, what: &str) {
    if total > shown {
        let _ = writeln!(md, "- … and {} more {what}", total - shown);
    }
}

/// Untrusted text as inline Markdown: control and bidi characters gone, every run of
/// whitespace one space, cut to `max` characters, `&`, `<` and `>` as entities (Markdown
/// renders them as the characters; Slack reads a raw `<` as a link or a mention), an
/// invisible word joiner after every `@` (no `@channel` or `@everyone` reaches anyone), and
/// every character that could open or close inline syntax escaped with a backslash.
pub fn markdown(text: &str, max: usize) -> String {
    // Whitespace first: a newline becomes a space before control characters go.
    let cut = crate::chart::label(&text.split_whitespace().collect::<Vec<_>>().join(" "), max);
    let mut out = String::with_capacity(cut.len() + 8);
    for c in cut.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Inline, after the start of a line: only these can start or end syntax (`#`,
            // `-`, `+` and `1.` only begin blocks at a line's start; `(` only follows `]`).
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // A word joiner after `@`: `@channel`, `@here`, `@all`, `@everyone` mention no one.
            '@' => out.push_str("@\u{2060}"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_stays_one_line_of_plain_text() {
        assert_eq!(
            markdown(
                "<!channel> **now**\n# [x](javascript:1) | a & b `c` 2026-11-20",
                200
            ),
            "&lt;!channel&gt; \\*\\*now\\*\\* # \\[x\\](javascript:1) \\| a &amp; b \\`c\\` 2026-11-20"
        );
        assert_eq!(markdown("abcdef", 3), "abc…");
        assert_eq!(
            markdown("@channel @here @everyone a@b", 100),
            "@\u{2060}channel @\u{2060}here @\u{2060}everyone a@\u{2060}b"
        );
        assert_eq!(markdown("a\u{202e}b\u{7}c", 10), "abc");
    }
}
