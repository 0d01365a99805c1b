//! What of a summary came from visitors or their requests, as free text — and its removal,
//! when an archived snapshot is older than the archive keeps such text. The worker keeps raw
//! events 30 days and aggregates 90; an archive keeps numbers for good, but visitors' words
//! only as long as its `--keep-text-days` says. Numbers, topics, error types, page paths,
//! referrer hosts and the site's own suggestion texts are not visitors' words, and stay.

use crate::summary::{Summary, TextRemoved};

/// The free text a summary holds that came from a visitor or a request: each field's
/// `summary.json` path and what a reader of the report knows it as. [`remove_visitor_text`]
/// empties exactly these; the report's privacy section lists them from here.
pub const VISITOR_TEXT: [(&str, &str); 7] = [
    ("knowledgeGaps[].question", "knowledge-gap questions"),
    ("knowledgeGaps[].normalized", "knowledge-gap questions"),
    ("gapClusters[].label", "gap cluster phrasings"),
    ("gapClusters[].samples", "gap cluster phrasings"),
    ("errors.recent[].errorMessage", "recent error messages"),
    ("pagesAndSources.topPages[].pageTitle", "page titles"),
    ("alerts[].subject", "the questions surging-gap alerts name"),
];

/// What a removed question or phrasing reads as.
pub const REMOVED: &str = "[removed]";

/// Removes every field of [`VISITOR_TEXT`] from `summary` and from its previous period's,
/// and records when (`at`) and after how many days. The numbers are untouched. Removing again
/// changes nothing but `fields`, brought up to the current list (a field added to it later is
/// removed from summaries cleaned before); the first removal's time and days stay on record.
pub fn remove_visitor_text(summary: &mut Summary, at: &str, after_days: u32) {
    strip(summary);
    let fields = visitor_text_fields();
    match &mut summary.text_removed {
        Some(removed) => removed.fields = fields,
        None => {
            summary.text_removed = Some(TextRemoved {
                at: at.to_owned(),
                after_days,
                fields,
            });
        }
    }
}

/// The paths of [`VISITOR_TEXT`].
pub fn visitor_text_fields() -> Vec<String> {
    VISITOR_TEXT
        .iter()
        .map(|(path, _)| (*path).to_owned())
        .collect()
}

fn strip(summary: &mut Summary) {
    for gap in &mut summary.knowledge_gaps {
        gap.question = REMOVED.to_owned();
        gap.normalized = String::new();
    }
    for cluster in &mut summary.gap_clusters {
        cluster.label = REMOVED.to_owned();
        cluster.samples.clear();
    }
    for error in &mut summary.errors.recent {
        error.error_message = None;
    }
    for page in &mut summary.pages_and_sources.top_pages {
        page.page_title = None;
    }
    for alert in &mut summary.alerts {
        if alert.subject.is_some() {
            alert.subject = Some(REMOVED.to_owned());
        }
    }
    if let Some(previous) = summary.previous_period.as_deref_mut() {
        strip(previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, EventType, Metrics, Window, parse_timestamp};

    fn summary() -> Summary {
        let now = parse_timestamp("2026-11-26T06:00:00Z").expect("time");
        let mut metrics = Metrics::new(Window::last_days(now, 30));
        for day in [5, 60] {
            let mut e = Event::new(now - chrono::TimeDelta::days(day), EventType::MessageSent);
            e.question = Some("Where is Ann's parcel?".into());
            e.no_rag_match = Some(true);
            e.success = Some(false);
            e.error_type = Some("ai_timeout".into());
            e.error_message = Some("timeout for Ann's parcel".into());
            e.page_url = Some("https://a.dev/orders".into());
            e.page_title = Some("Orders of Ann".into());
            e.topic = Some("shipping".into());
            metrics.add(&e);
        }
        // A question new this period, asked often enough to raise a surging-gap alert.
        for minute in 0..12 {
            let mut e = Event::new(
                now - chrono::TimeDelta::days(3) + chrono::TimeDelta::minutes(minute),
                EventType::MessageSent,
            );
            e.question = Some("Is Ann's order late?".into());
            e.no_rag_match = Some(true);
            metrics.add(&e);
        }
        metrics.finish(now)
    }

    #[test]
    fn every_visitor_text_goes_and_every_number_stays() {
        let before = summary();
        assert_eq!(
            before.alerts[0].subject.as_deref(),
            Some("Is Ann's order late?")
        );
        let mut after = before.clone();
        remove_visitor_text(&mut after, "2027-03-01T00:00:00Z", 90);
        let json = serde_json::to_string(&after).expect("json");
        assert!(!json.contains("Ann"), "{json}");
        for kept in ["shipping", "ai_timeout", "https://a.dev/orders"] {
            assert!(json.contains(kept), "{kept}");
        }
        assert_eq!(
            after.knowledge_gaps[0].count,
            before.knowledge_gaps[0].count
        );
        assert_eq!(
            after.errors,
            crate::Errors {
                recent: after.errors.recent.clone(),
                ..before.errors.clone()
            }
        );
        assert_eq!(after.errors.recent.len(), before.errors.recent.len());
        let removed = after.text_removed.clone().expect("recorded");
        assert_eq!(removed.fields.len(), VISITOR_TEXT.len());
        // Again: nothing changes, the first removal stays on record.
        let mut again = after.clone();
        remove_visitor_text(&mut again, "2027-04-01T00:00:00Z", 30);
        assert_eq!(again, after);
    }
}
