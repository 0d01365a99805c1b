//! Counting the phrasings of one thing (a gap's question, a page's title) so that "the most
//! frequent, tie: the earliest" can be decided at the end without keeping the events.

use chrono::{DateTime, Utc};

use crate::hash::Map;

/// Counts a string value, remembering when it was first seen, so "the most frequent, tie: the
/// earliest" can be decided at the end without keeping events.
#[derive(Debug, Default)]
pub(crate) struct Phrasings(Map<String, (u64, DateTime<Utc>)>);

impl Phrasings {
    pub(crate) fn add(&mut self, text: &str, ts: DateTime<Utc>) {
        match self.0.get_mut(text) {
            Some((count, first)) => {
                *count += 1;
                *first = (*first).min(ts);
            }
            None => {
                self.0.insert(text.to_owned(), (1, ts));
            }
        }
    }

    /// Folds in the counts of another part of the input.
    pub(crate) fn merge(&mut self, other: Phrasings) {
        for (text, (count, first)) in other.0 {
            let entry = self.0.entry(text).or_insert((0, first));
            entry.0 += count;
            entry.1 = entry.1.min(first);
        }
    }

    /// Most frequent, then earliest, then smallest text.
    pub(crate) fn best(&self) -> Option<&str> {
        self.0
            .iter()
            .min_by(|(a, (ca, fa)), (b, (cb, fb))| cb.cmp(ca).then(fa.cmp(fb)).then(a.cmp(b)))
            .map(|(text, _)| text.as_str())
    }
}
