//! The hash maps of the metrics: foldhash, a fast hasher with a per-process random seed, in
//! place of std's SipHash. The keys (session ids, pages, questions) come from visitors, so the
//! seed stays random; the speed matters because every event costs several lookups.

/// A `HashMap` with foldhash.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A `HashSet` with foldhash.
pub(crate) type Set<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
