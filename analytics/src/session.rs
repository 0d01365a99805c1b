//! Session ids, numbered densely on first sight so that the other accumulators hold a `u32`
//! per session instead of the id. The ids the widget's tracker makes,
//! `session-{time}-{random}` (a decimal time and up to ten characters of `[0-9a-z]`), are packed
//! into twelve bytes kept in the table itself: no allocation, no string compared, a 16-byte
//! bucket. Any other non-empty id is kept as a string in a second table; both share one
//! numbering, so the counts are exact whatever the ids look like.

use std::hash::{Hash, Hasher};

use crate::hash::Map;

/// The fixed start of a packed id.
const PREFIX: &[u8] = b"session-";
/// The longest time part packed: `Date.now()` has 13 digits until the year 2286.
const MAX_DIGITS: usize = 13;
/// The longest random part packed: `Math.random().toString(36).substr(2, 9)` gives at most 9.
const MAX_CHARS: usize = 10;
/// Bits of the random part's number: at most 36 + 36² + … + 36¹⁰ < 2⁵². The time part's number
/// is at most 10 + 10² + … + 10¹³ < 2⁴⁴, so the two fit in 96 bits.
const RANDOM_BITS: u32 = 52;

/// A packed id: the time part and the random part as numbers in bijective base 10 and 36
/// (each character counts as its value + 1), so that `007` and `7`, or `a` and `0a`, differ.
/// Three `u32`s rather than a `u64` and a `u32`: a 4-byte alignment keeps the bucket at 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed([u32; 3]);

impl Packed {
    /// The packed form of `id`, if it is `session-`, 1 to 13 ASCII digits, `-`, and 0 to 10
    /// characters of `[0-9a-z]`.
    fn new(id: &str) -> Option<Packed> {
        let rest = id.as_bytes().strip_prefix(PREFIX)?;
        let dash = rest.iter().take(MAX_DIGITS + 1).position(|&b| b == b'-')?;
        let (digits, random) = (&rest[..dash], &rest[dash + 1..]);
        if digits.is_empty() || random.len() > MAX_CHARS {
            return None;
        }
        let mut time = 0u64;
        for &b in digits {
            if !b.is_ascii_digit() {
                return None;
            }
            time = time * 10 + u64::from(b - b'0') + 1;
        }
        let mut number = 0u64;
        for &b in random {
            let value = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'z' => b - b'a' + 10,
                _ => return None,
            };
            number = number * 36 + u64::from(value) + 1;
        }
        let key = (u128::from(time) << RANDOM_BITS) | u128::from(number);
        Some(Packed([key as u32, (key >> 32) as u32, (key >> 64) as u32]))
    }

    fn value(self) -> u128 {
        let [a, b, c] = self.0.map(u128::from);
        a | (b << 32) | (c << 64)
    }
}

impl Hash for Packed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // One word: foldhash mixes it with a single multiplication.
        state.write_u128(self.value());
    }
}

/// Every session id seen, with its number (0, 1, 2, … in order of first sight).
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    packed: Map<Packed, u32>,
    other: Map<Box<str>, u32>,
}

impl Sessions {
    /// The number of distinct ids.
    pub(crate) fn len(&self) -> usize {
        self.packed.len() + self.other.len()
    }

    /// The number of `id`, given on first sight.
    pub(crate) fn number(&mut self, id: &str) -> u32 {
        let next = self.len() as u32;
        match Packed::new(id) {
            Some(key) => *self.packed.entry(key).or_insert(next),
            None => match self.other.get(id) {
                Some(&n) => n,
                None => {
                    self.other.insert(id.into(), next);
                    next
                }
            },
        }
    }

    /// What each number of `other` becomes here: the number of the same id, or for an id new
    /// here the next free number, in order. The new ids come back for [`Sessions::add`], so
    /// that this table grows only once the rest of the other accumulator is merged and freed;
    /// `other`'s tables are freed here.
    pub(crate) fn renumber(&self, other: Sessions) -> (Vec<u32>, NewIds) {
        let mut remap = vec![0u32; other.len()];
        let mut new = NewIds {
            first: self.len() as u32,
            // At most all of theirs: never reallocated.
            packed: Vec::with_capacity(other.packed.len()),
            other: Vec::with_capacity(other.other.len()),
        };
        for (key, n) in other.packed {
            remap[n as usize] = match self.packed.get(&key) {
                Some(&mine) => mine,
                None => {
                    new.packed.push(key);
                    new.first + new.packed.len() as u32 - 1
                }
            };
        }
        for (id, n) in other.other {
            remap[n as usize] = match self.other.get(&id) {
                Some(&mine) => mine,
                None => {
                    new.other.push(id);
                    new.first + (new.packed.len() + new.other.len()) as u32 - 1
                }
            };
        }
        (remap, new)
    }

    /// Adds the ids that [`Sessions::renumber`] found new, with the numbers it gave them.
    pub(crate) fn add(&mut self, new: NewIds) {
        debug_assert_eq!(
            new.first as usize,
            self.len(),
            "renumbered against this table"
        );
        let mut next = new.first;
        self.packed.reserve(new.packed.len());
        for key in new.packed {
            self.packed.insert(key, next);
            next += 1;
        }
        self.other.reserve(new.other.len());
        for id in new.other {
            self.other.insert(id, next);
            next += 1;
        }
    }
}

/// Ids of another accumulator not yet in this one, numbered from `first` in order: the packed
/// ones, then the others.
#[derive(Debug)]
pub(crate) struct NewIds {
    first: u32,
    packed: Vec<Packed>,
    other: Vec<Box<str>>,
}

impl NewIds {
    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.packed.len() + self.other.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The id `key` was packed from.
    fn unpack(key: Packed) -> String {
        fn digits(mut n: u64, base: u64) -> String {
            let mut out = Vec::new();
            while n > 0 {
                n -= 1;
                out.push(char::from_digit((n % base) as u32, base as u32).expect("digit"));
                n /= base;
            }
            out.iter().rev().collect()
        }
        let value = key.value();
        let time = (value >> RANDOM_BITS) as u64;
        let random = (value & ((1 << RANDOM_BITS) - 1)) as u64;
        format!("session-{}-{}", digits(time, 10), digits(random, 36))
    }

    /// Ids the tracker and the benchmark generator make, and the edges of what is packed.
    fn canonical() -> impl Strategy<Value = String> {
        ("[0-9]{1,13}", "[0-9a-z]{0,10}").prop_map(|(t, r)| format!("session-{t}-{r}"))
    }

    /// Tracker ids over a tiny alphabet, so that two draws often differ only in a leading zero,
    /// a length or one character.
    fn crowded() -> impl Strategy<Value = String> {
        ("[09]{1,3}|[0-9]{13}", "[0az]{0,3}|z{10}").prop_map(|(t, r)| format!("session-{t}-{r}"))
    }

    /// Near misses of the packed form, and anything else.
    fn any_id() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => canonical(),
            2 => "session-[0-9]{0,15}-[0-9a-zA-Z_-]{0,12}",
            1 => "(session|Session|sessio)[-_]?[0-9-]{0,3}[0-9a-z]{0,3}",
            1 => "\\PC{0,30}",
        ]
    }

    #[test]
    fn tracker_ids_are_packed_and_others_are_not() {
        for id in [
            "session-1764115203-rkb35nhp4",
            "session-1764115203123-rkb35nhp4",
            "session-0-",
            "session-0000000000000-zzzzzzzzzz",
            "session-9999999999999-zzzzzzzzzz",
        ] {
            assert!(Packed::new(id).is_some(), "{id}");
        }
        for id in [
            "",
            "s1",
            "session-",
            "session--abc",
            "session-123",
            "session-123abc",
            "session-12345678901234-abc",
            "session-123-zzzzzzzzzzz",
            "session-123-ABC",
            "session-123-ab-c",
            "session-１２３-abc",
            "Session-123-abc",
            "xsession-123-abc",
        ] {
            assert_eq!(Packed::new(id), None, "{id}");
        }
    }

    #[test]
    fn leading_zeros_and_lengths_are_kept() {
        let ids = [
            "session-7-",
            "session-07-",
            "session-007-",
            "session-7-0",
            "session-7-00",
            "session-70-",
            "session-7-a",
            "session-7-0a",
            "session-7-a0",
        ];
        let keys: std::collections::HashSet<Packed> =
            ids.iter().map(|id| Packed::new(id).expect(id)).collect();
        assert_eq!(keys.len(), ids.len());
    }

    #[test]
    fn packed_and_other_ids_share_one_numbering() {
        let mut sessions = Sessions::default();
        let ids = [
            "session-1-a",
            "s1",
            "session-1-b",
            "session-1-a",
            "s1",
            "session-1-",
        ];
        let numbers: Vec<u32> = ids.iter().map(|id| sessions.number(id)).collect();
        assert_eq!(numbers, [0, 1, 2, 0, 1, 3]);
        assert_eq!(sessions.len(), 4);
    }

    proptest! {
        #[test]
        fn packing_round_trips(id in canonical()) {
            let key = Packed::new(&id).expect("a tracker id packs");
            prop_assert_eq!(unpack(key), id);
        }

        #[test]
        fn what_packs_is_exactly_what_unpacks(id in any_id()) {
            if let Some(key) = Packed::new(&id) {
                prop_assert_eq!(unpack(key), id);
            }
        }

        #[test]
        fn distinct_ids_get_distinct_keys(a in crowded(), b in crowded()) {
            let (ka, kb) = (Packed::new(&a).expect("packs"), Packed::new(&b).expect("packs"));
            prop_assert_eq!(ka == kb, a == b);
        }

        #[test]
        fn numbers_are_dense_and_match_distinct_ids(ids in prop::collection::vec(any_id(), 0..40)) {
            let mut sessions = Sessions::default();
            let mut seen: Vec<&str> = Vec::new();
            for id in &ids {
                let n = sessions.number(id) as usize;
                match seen.iter().position(|s| s == id) {
                    Some(first) => prop_assert_eq!(n, first),
                    None => {
                        prop_assert_eq!(n, seen.len());
                        seen.push(id);
                    }
                }
            }
            prop_assert_eq!(sessions.len(), seen.len());
        }

        #[test]
        fn merging_numbers_each_id_once(
            left in prop::collection::vec(any_id(), 0..30),
            right in prop::collection::vec(any_id(), 0..30),
        ) {
            let distinct: std::collections::HashSet<&String> = left.iter().chain(&right).collect();
            let (mut mine, mut theirs) = (Sessions::default(), Sessions::default());
            for id in &left {
                mine.number(id);
            }
            let theirs_numbers: Vec<u32> = right.iter().map(|id| theirs.number(id)).collect();
            let (remap, new) = mine.renumber(theirs);
            prop_assert_eq!(mine.len() + new.len(), distinct.len());
            mine.add(new);
            prop_assert_eq!(mine.len(), distinct.len());
            for (id, n) in right.iter().zip(theirs_numbers) {
                // The merged table gives each of their ids the number it was remapped to.
                prop_assert_eq!(mine.number(id), remap[n as usize]);
            }
            prop_assert_eq!(mine.len(), distinct.len());
        }
    }
}
