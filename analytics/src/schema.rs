//! The event schema's fields, declared once in [`fields!`]: every other list of fields in the
//! crate is an expansion of that table.
//!
//! `timestamp` and `eventType` are the two required fields; every consumer treats them on
//! their own (the server may set the time, the type is parsed into [`crate::EventType`]). Every
//! other field is one line of the table: its Rust name, its [`Field`] variant, its name on the
//! wire and in the CSV header, and its kind ([`kinds`]), which carries every rule for reading,
//! checking and writing a value. A text field also names what ingestion does to it and how
//! many characters it keeps.
//!
//! Each consumer passes the name of a macro of its own that receives the whole table:
//!
//! | expansion | module | what it makes |
//! |---|---|---|
//! | `event_types!` | `event.rs` | `Event`, `EventRef`, `Event::new`, `view`, `to_event`, JSON |
//! | `field_names!` | here | [`Field`], [`FIELDS`], [`Field::ALL`] |
//! | `builder_setters!` | `record.rs` | the general path's checks of each field |
//! | `fast_paths!` | `record/fast.rs` | the fast JSON and CSV paths |
//! | `csv_cells!` | `export.rs` | one CSV row of an event |
//! | `ingest_rules!` | `ingest.rs` | what ingestion does to each text field |

pub(crate) mod flat;
pub(crate) mod kinds;
pub(crate) mod scalar;

use flat::same_name;

/// The table of the schema's optional fields, in schema order (the CSV column order), handed
/// to `$expand`. One line per field: `rust_name Variant "wireName": Kind`, a text field adding
/// `(ingestion rule, most characters kept)`. Every expansion matches the table with this
/// pattern (`ingest_rules!` names the text fields' two extra tokens):
///
/// ```text
/// $( $(#[$doc:meta])* $field:ident $variant:ident $name:literal : $kind:ident $(($($rule:tt)*))?, )*
/// ```
///
/// `$kind` is the name of a type in `kinds`, which expansions write `kinds::$kind`.
macro_rules! fields {
    ($expand:ident) => {
        $expand! {
            /// Random per-browser session identifier.
            session_id SessionId "sessionId": Text(Session, 128),
            /// Position of the message in its session, from 1.
            message_number MessageNumber "messageNumber": Count,
            /// The user's question (scrubbed of PII by the worker).
            question Question "question": Text(Prose, 500),
            /// Topic chosen by retrieval.
            topic Topic "topic": Text(Prose, 100),
            /// Number of knowledge entries retrieved.
            entries_retrieved EntriesRetrieved "entriesRetrieved": Count,
            /// Length of the answer in characters.
            response_length ResponseLength "responseLength": Count,
            /// False when the chat request failed.
            success Success "success": Flag,
            /// Retrieval time in milliseconds.
            rag_time_ms RagTimeMs "ragTimeMs": Duration,
            /// Model time in milliseconds.
            ai_time_ms AiTimeMs "aiTimeMs": Duration,
            /// End-to-end time in milliseconds.
            total_time_ms TotalTimeMs "totalTimeMs": Duration,
            /// True when retrieval found nothing relevant: a knowledge gap.
            no_rag_match NoRagMatch "noRagMatch": Flag,
            /// Best retrieval score.
            rag_match_score RagMatchScore "ragMatchScore": Score,
            /// Page the widget was on (query and fragment stripped by the worker).
            page_url PageUrl "pageUrl": Text(Url, 2048),
            /// Title of that page.
            page_title PageTitle "pageTitle": Text(Prose, 300),
            /// The page's referrer.
            referrer Referrer "referrer": Text(Url, 2048),
            /// Machine-readable error kind when `success` is false.
            error_type ErrorType "errorType": Text(Prose, 100),
            /// Human-readable error text when `success` is false.
            error_message ErrorMessage "errorMessage": Text(Prose, 500),
        }
    };
}
pub(crate) use fields;

macro_rules! field_names {
    ($( $(#[$doc:meta])* $field:ident $variant:ident $name:literal : $kind:ident $(($($rule:tt)*))?, )*) => {
        /// The schema's fields, as the readers recognise them by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Field {
            Timestamp,
            EventType,
            $( $variant, )*
        }

        /// The number of the schema's fields.
        pub(crate) const FIELD_COUNT: usize = 2 + [$( $name ),*].len();

        // The fast JSON path marks the fields it has seen in a `u32`.
        const _: () = assert!(FIELD_COUNT <= 32, "the fast path's `seen` bits hold 32 fields");

        /// The schema's field names in schema order: the CSV header.
        pub const FIELDS: [&str; FIELD_COUNT] = ["timestamp", "eventType", $( $name, )*];

        impl Field {
            /// Every field, in the order of [`FIELDS`].
            pub(crate) const ALL: [Field; FIELD_COUNT] =
                [Field::Timestamp, Field::EventType, $( Field::$variant, )*];
        }
    };
}
fields!(field_names);

/// A name's length and first two bytes in one word: what tells the schema's names apart
/// before one comparison confirms the match.
const fn probe(name: &[u8]) -> u32 {
    let len = if name.len() > 0xffff {
        0xffff
    } else {
        name.len() as u32
    };
    let first = if name.is_empty() { 0 } else { name[0] as u32 };
    let second = if name.len() < 2 { 0 } else { name[1] as u32 };
    len << 16 | first << 8 | second
}

/// [`probe`] of each name of [`FIELDS`].
const PROBES: [u32; FIELD_COUNT] = {
    let mut probes = [0; FIELD_COUNT];
    let mut i = 0;
    while i < FIELD_COUNT {
        probes[i] = probe(FIELDS[i].as_bytes());
        i += 1;
    }
    probes
};

impl Field {
    /// The field named `name` (exactly, case included): every record's every key comes through
    /// here, so the names are told apart by one word each before one comparison.
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        let b = name.as_bytes();
        let key = probe(b);
        (0..FIELD_COUNT)
            .find(|&i| PROBES[i] == key && same_name(FIELDS[i].as_bytes(), b))
            .map(|i| Field::ALL[i])
    }

    /// The field's name on the wire and in the CSV header.
    pub(crate) fn name(self) -> &'static str {
        FIELDS[self as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_exactly() {
        for (i, name) in FIELDS.iter().enumerate() {
            let field = Field::from_name(name).expect(name);
            assert_eq!(field as usize, i, "{name}");
            assert_eq!(Field::ALL[i], field, "{name}");
            assert_eq!(field.name(), *name);
            // Every one-byte change, a byte more or less: another name or none.
            for at in 0..name.len() {
                for byte in [b'x', b'A', b'0', name.as_bytes()[at] ^ 0x20] {
                    let mut other = name.as_bytes().to_vec();
                    other[at] = byte;
                    let other = String::from_utf8(other).expect("ascii");
                    let expected = FIELDS.iter().position(|f| *f == other);
                    assert_eq!(
                        Field::from_name(&other).map(|f| f as usize),
                        expected,
                        "{other}"
                    );
                }
            }
            assert_eq!(Field::from_name(&name[1..]), None);
            assert_eq!(Field::from_name(&name[..name.len() - 1]), None);
            assert_eq!(Field::from_name(&format!("{name}s")), None);
        }
        assert_eq!(Field::from_name(""), None);
        assert_eq!(Field::from_name("t"), None);
    }
}
