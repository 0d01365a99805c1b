//! Knowledge gaps asked in several phrasings, grouped: near-duplicate questions (by the
//! Jaccard similarity of their meaningful words) form one cluster, labelled by its most asked
//! member.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::hash::Map;
use crate::summary::{GapCluster, Summary};

/// The gaps of the period before, by normalised question, as a cluster's previous count reads
/// them.
#[derive(Debug, Default)]
pub(crate) struct PreviousGaps {
    counts: Map<String, u64>,
    /// The count taken for a question not among `counts`: 0 when they are every gap of the
    /// period; the smallest listed count when they are only its top gaps (it was asked at most
    /// that often, so it is not called new, nor its rise larger than it may be).
    absent: u64,
}

impl PreviousGaps {
    /// Every gap of the period before, with its count.
    pub(crate) fn exact(counts: impl Iterator<Item = (String, u64)>) -> PreviousGaps {
        PreviousGaps {
            counts: counts.collect(),
            absent: 0,
        }
    }

    /// The gaps an earlier report lists (at most `top` of them); `None` when its visitors'
    /// text was removed: its questions cannot be matched.
    pub(crate) fn listed(report: &Summary, top: usize) -> Option<PreviousGaps> {
        if report.text_removed.is_some() {
            return None;
        }
        let gaps = &report.knowledge_gaps;
        Some(PreviousGaps {
            counts: gaps
                .iter()
                .map(|g| (g.normalized.clone(), g.count))
                .collect(),
            absent: if gaps.len() >= top {
                gaps.iter().map(|g| g.count).min().unwrap_or(0)
            } else {
                0
            },
        })
    }

    fn count(&self, normalized: &str) -> u64 {
        self.counts.get(normalized).copied().unwrap_or(self.absent)
    }
}

/// Gap clusters listed, and distinct gaps considered for clustering (most asked first).
pub const TOP_CLUSTERS: usize = 50;
const CLUSTER_CANDIDATES: usize = 500;
/// Two gaps are near-duplicates when the Jaccard similarity of their token sets is at least
/// this (e.g. "do you know rust" and "do you know rust lang": 4/5 = 0.8).
pub const CLUSTER_SIMILARITY: f64 = 0.6;
/// Words ignored when comparing questions: they carry no topic.
const STOP_WORDS: [&str; 24] = [
    "a", "an", "the", "is", "are", "do", "does", "you", "your", "i", "me", "my", "to", "of", "in",
    "on", "for", "and", "or", "it", "what", "can", "be", "with",
];

/// The words of a normalised question that carry meaning: alphanumeric runs, minus stop words.
pub fn question_tokens(normalized: &str) -> Vec<String> {
    let mut tokens: Vec<String> = normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
        .map(str::to_owned)
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// Jaccard similarity of two sorted, deduplicated token lists (0 when both are empty).
pub fn jaccard(a: &[String], b: &[String]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    let union = a.len() + b.len() - both;
    if union == 0 {
        0.0
    } else {
        both as f64 / union as f64
    }
}

/// One distinct gap, as clustering sees it.
pub(crate) struct GapItem {
    pub(crate) normalized: String,
    pub(crate) question: String,
    pub(crate) count: u64,
    pub(crate) first: DateTime<Utc>,
    pub(crate) last: DateTime<Utc>,
}

/// Groups near-duplicate gaps: single linkage over the most asked [`CLUSTER_CANDIDATES`] gaps,
/// joining two when their token sets' Jaccard similarity is at least [`CLUSTER_SIMILARITY`].
/// Deterministic: gaps are taken in (count desc, normalized asc) order. `previous` holds the
/// normalised questions of the previous period with their counts, when there is one.
pub(crate) fn cluster_gaps(
    mut items: Vec<GapItem>,
    previous: Option<&PreviousGaps>,
) -> Vec<GapCluster> {
    items.sort_by(|a, b| b.count.cmp(&a.count).then(a.normalized.cmp(&b.normalized)));
    items.truncate(CLUSTER_CANDIDATES);
    let tokens: Vec<Vec<String>> = items
        .iter()
        .map(|g| question_tokens(&g.normalized))
        .collect();
    let mut parent: Vec<usize> = (0..items.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..items.len() {
        for j in (i + 1)..items.len() {
            if jaccard(&tokens[i], &tokens[j]) >= CLUSTER_SIMILARITY {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                // The earlier (more asked) item stays the root: it labels the cluster.
                let (keep, merge) = if a < b { (a, b) } else { (b, a) };
                parent[merge] = keep;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..items.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut clusters: Vec<GapCluster> = groups
        .into_values()
        .map(|members| {
            let first = members
                .iter()
                .map(|&i| items[i].first)
                .min()
                .unwrap_or_default();
            let last = members
                .iter()
                .map(|&i| items[i].last)
                .max()
                .unwrap_or_default();
            GapCluster {
                label: items[members[0]].question.clone(),
                count: members.iter().map(|&i| items[i].count).sum(),
                questions: members.len() as u64,
                first_seen: crate::event::format_timestamp(&first),
                last_seen: crate::event::format_timestamp(&last),
                samples: members
                    .iter()
                    .take(3)
                    .map(|&i| items[i].question.clone())
                    .collect(),
                new_this_period: previous.map(|prev| {
                    members
                        .iter()
                        .all(|&i| prev.count(&items[i].normalized) == 0)
                }),
                previous_count: previous.map(|prev| {
                    members
                        .iter()
                        .map(|&i| prev.count(&items[i].normalized))
                        .sum()
                }),
            }
        })
        .collect();
    clusters.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    clusters.truncate(TOP_CLUSTERS);
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::parse_timestamp(text).expect("time")
    }

    fn item(normalized: &str, count: u64) -> GapItem {
        GapItem {
            normalized: normalized.to_owned(),
            question: format!("{normalized}?"),
            count,
            first: at("2026-11-01T10:00:00Z"),
            last: at("2026-11-02T10:00:00Z"),
        }
    }

    #[test]
    fn near_duplicate_gaps_merge_and_different_ones_do_not() {
        let clusters = cluster_gaps(
            vec![
                item("do you know rust", 5),
                item("do you know rust lang", 2),
                item("are you good at rust", 1),
                item("what is your salary expectation", 4),
                item("salary expectations", 1),
                item("do you know go", 3),
            ],
            None,
        );
        let labels: Vec<(&str, u64, u64)> = clusters
            .iter()
            .map(|c| (c.label.as_str(), c.count, c.questions))
            .collect();
        // {know, rust} vs {know, lang, rust}: 2/3 ≥ 0.6, merged. {at, good, rust}: 1/4 and
        // 1/4, apart. {know, go} vs {know, rust}: 1/3, apart. {expectation, salary} vs
        // {expectations, salary}: 1/3, apart (no stemming).
        assert_eq!(labels[0], ("do you know rust?", 7, 2));
        assert!(labels.contains(&("what is your salary expectation?", 4, 1)));
        assert!(
            labels.contains(&("do you know go?", 3, 1)),
            "go is not rust"
        );
        assert!(
            labels.contains(&("salary expectations?", 1, 1)),
            "plural differs"
        );
        assert_eq!(
            clusters[0].samples,
            ["do you know rust?", "do you know rust lang?"]
        );
        assert_eq!(clusters[0].new_this_period, None);
    }

    #[test]
    fn clusters_are_new_only_without_a_member_in_the_previous_period() {
        let previous = PreviousGaps::exact([("do you know go".to_owned(), 2)].into_iter());
        let clusters = cluster_gaps(
            vec![item("do you know go", 3), item("remote work", 1)],
            Some(&previous),
        );
        assert_eq!(clusters[0].new_this_period, Some(false));
        assert_eq!(clusters[0].previous_count, Some(2));
        assert_eq!(clusters[1].new_this_period, Some(true));
        assert_eq!(clusters[1].previous_count, Some(0));
    }

    #[test]
    fn tokens_and_similarity() {
        assert_eq!(
            question_tokens("do you know rust, really?"),
            ["know", "really", "rust"]
        );
        let a = question_tokens("do you know rust");
        let b = question_tokens("do you know rust lang");
        assert!((jaccard(&a, &b) - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }
}
