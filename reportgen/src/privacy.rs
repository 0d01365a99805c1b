//! The report's privacy section: what is stored where and for how long, what the worker strips
//! before anything is stored, which of the report's fields came from visitors — each stated
//! from the constants and lists the code itself uses — and, in a snapshot whose visitors' text
//! the archive has removed, when and after how long.

use analytics::{
    AGGREGATE_TTL_SECS, EMAIL_MARK, EVENT_TTL_SECS, PHONE_MARK, Summary, VISITOR_TEXT,
};
use serde::Serialize;

use crate::view::Time;

/// What the privacy section says.
#[derive(Debug, Serialize)]
pub(crate) struct PrivacyView {
    /// Days the worker keeps raw events.
    event_days: u64,
    /// Days it keeps daily aggregates and knowledge-gap records.
    aggregate_days: u64,
    /// Days after a window's end this archive keeps visitors' text.
    text_days: u32,
    /// What e-mail addresses and phone numbers become.
    email_mark: &'static str,
    phone_mark: &'static str,
    /// What of this report came from visitors as free text, as readers know it.
    visitor_fields: Vec<&'static str>,
    /// When the text was removed from this snapshot, and after how many days.
    removed: Option<Removed>,
}

#[derive(Debug, Serialize)]
struct Removed {
    at: Time,
    after_days: u32,
}

impl PrivacyView {
    /// The section for `summary` in an archive that keeps visitors' text `text_days` days.
    pub(crate) fn new(summary: &Summary, text_days: u32) -> PrivacyView {
        let mut visitor_fields: Vec<&'static str> = Vec::new();
        for (_, label) in VISITOR_TEXT {
            if !visitor_fields.contains(&label) {
                visitor_fields.push(label);
            }
        }
        PrivacyView {
            event_days: EVENT_TTL_SECS / 86_400,
            aggregate_days: AGGREGATE_TTL_SECS / 86_400,
            text_days,
            email_mark: EMAIL_MARK,
            phone_mark: PHONE_MARK,
            visitor_fields,
            removed: summary.text_removed.as_ref().map(|r| Removed {
                at: Time::new(&r.at),
                after_days: r.after_days,
            }),
        }
    }
}
