//! The fast paths of the readers: a JSON object or a CSV row of the shape every writer of this
//! project produces becomes an [`EventRef`] borrowed straight from the input, without a copy.
//! Anything else (an escaped string, a wrong type, a duplicate key, a nested value, a number
//! out of range or in an unusual spelling, `null` where a value is required) makes them answer
//! `None`, and the general path ([`super::parse_json_event`], [`super::RecordBuilder`]) decides
//! exactly as it would have: accepted the same, or rejected and why.

use chrono::{DateTime, Utc};

use crate::event::{EventRef, EventType, parse_timestamp};
use crate::schema::flat::Flat;
use crate::schema::kinds;
use crate::schema::{FIELD_COUNT, FIELDS, Field, fields};
use crate::text::unneutralise_csv;

macro_rules! fast_paths {
    ($( $(#[$doc:meta])* $field:ident $variant:ident $name:literal : $kind:ident $(($($rule:tt)*))?, )*) => {
        /// One record as [`scan_flat`] reads it: every field typed, checked by its kind's fast
        /// rule and borrowed from the input.
        #[derive(Default)]
        struct Typed<'a> {
            timestamp: Option<&'a str>,
            event_type: Option<&'a str>,
            $( $field: Option<<kinds::$kind as kinds::Kind>::Borrowed<'a>>, )*
        }

        impl<'a> Typed<'a> {
            /// Reads the value of `field` at the cursor.
            fn read(&mut self, scan: &mut Flat<'a>, field: Field) -> Option<()> {
                match field {
                    // Required: `null` is the general path's to name.
                    Field::Timestamp => self.timestamp = Some(scan.string()?),
                    Field::EventType => self.event_type = Some(scan.string()?),
                    $( Field::$variant => self.$field = <kinds::$kind as kinds::Kind>::fast_json(scan)?, )*
                }
                Some(())
            }

            /// The view, with `event_type` as the record's type.
            fn view(&self, event_type: &'a EventType) -> Option<EventRef<'a>> {
                Some(EventRef {
                    timestamp: fast_timestamp(self.timestamp?)?,
                    event_type,
                    $( $field: self.$field, )*
                })
            }
        }

        /// The fast path for a CSV row: its borrowed view, when every cell of the schema's
        /// columns is one the general path ([`super::RecordBuilder::set_text`], then `finish`)
        /// takes as is; `None` means ask the general path, which decides exactly as before.
        /// `columns` must name each field at most once (with a repeated column the last one
        /// wins, which only the general path knows).
        pub(crate) fn fast_csv_event<'a>(
            columns: &[Option<Field>],
            row: &'a csv::ByteRecord,
            slot: &'a mut EventType,
        ) -> Option<EventRef<'a>> {
            if row.len() != columns.len() {
                return None;
            }
            // The row's text checked once; a cell that does not end on a character boundary
            // (so is not UTF-8 itself) goes to the general path.
            let text = std::str::from_utf8(row.as_slice()).ok()?;
            let mut cells: [&'a str; FIELD_COUNT] = [""; FIELD_COUNT];
            for (i, field) in columns.iter().enumerate() {
                if let Some(field) = field {
                    cells[*field as usize] = unneutralise_csv(text.get(row.range(i)?)?);
                }
            }
            let cell = |f: Field| Some(cells[f as usize]).filter(|c| !c.is_empty());
            let timestamp = fast_timestamp(cell(Field::Timestamp)?)?;
            let name = cell(Field::EventType)?.trim();
            if name.is_empty() {
                return None;
            }
            *slot = EventType::parse(name);
            let event_type: &'a EventType = slot;
            Some(EventRef {
                timestamp,
                event_type,
                $(
                    $field: match cell(Field::$variant) {
                        None => None,
                        Some(c) => Some(<kinds::$kind as kinds::Kind>::fast_text(c)?),
                    },
                )*
            })
        }
    };
}
fields!(fast_paths);

/// Reads one flat JSON object of the schema's fields into [`Typed`], borrowing every string
/// from `text`. `None` for anything outside the shape every writer of this project produces:
/// the general path decides those records.
fn scan_flat(text: &str) -> Option<Typed<'_>> {
    let mut scan = Flat::new(text);
    let mut typed = Typed::default();
    let mut seen = 0u32;
    scan.skip_space();
    scan.expect(b'{')?;
    scan.skip_space();
    if scan.peek() == Some(b'}') {
        return None; // no timestamp: the general path names the reason
    }
    // Writers keep the schema's order: the next key is most likely a field after the last.
    let mut expected = 0;
    loop {
        let key = match scan.key(&FIELDS, expected)? {
            Ok(i) => Some(Field::ALL[i]),
            Err(name) => Field::from_name(name),
        };
        scan.skip_space();
        scan.expect(b':')?;
        scan.skip_space();
        match key {
            Some(field) => {
                expected = field as usize + 1;
                let bit = 1u32 << field as u32;
                if seen & bit != 0 {
                    return None; // a repeated key: the general path keeps the last
                }
                seen |= bit;
                typed.read(&mut scan, field)?;
            }
            None => scan.skip_scalar()?,
        }
        scan.skip_space();
        match scan.next()? {
            b',' => scan.skip_space(),
            b'}' => break,
            _ => return None,
        }
    }
    scan.skip_space();
    scan.at_end().then_some(typed)
}

/// Parses the canonical timestamp shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (what every writer
/// of this project produces) without chrono's general RFC 3339 parser; any other shape goes to
/// [`parse_timestamp`], so both always agree.
fn fast_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let canonical = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[b.len() - 1] == b'Z';
    if !canonical {
        return parse_timestamp(text);
    }
    let digits = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let fraction = &b[19..b.len() - 1];
    let nanos = match fraction {
        [] => Some(0),
        [b'.', rest @ ..] if (1..=9).contains(&rest.len()) => {
            digits(20, b.len() - 1).map(|n| n * 10u32.pow(9 - rest.len() as u32))
        }
        _ => None,
    };
    let parsed = (|| {
        let date = chrono::NaiveDate::from_ymd_opt(
            i32::try_from(digits(0, 4)?).ok()?,
            digits(5, 7)?,
            digits(8, 10)?,
        )?;
        let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
        if second > 59 {
            return None;
        }
        let time = chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nanos?)?;
        Some(date.and_time(time).and_utc())
    })();
    parsed.or_else(|| parse_timestamp(text))
}

/// The fast path of the readers: the borrowed view of one JSON event object, when the typed
/// parse can take it as is (`slot` holds its event type). `None` means: ask the general path
/// ([`super::parse_json_event`], or the array reader's element parser), which decides exactly as
/// before, whether the record is accepted or why not.
pub(crate) fn fast_json_event<'a>(text: &'a str, slot: &'a mut EventType) -> Option<EventRef<'a>> {
    let typed = scan_flat(text)?;
    let name = typed.event_type?.trim();
    if name.is_empty() {
        return None;
    }
    *slot = EventType::parse(name);
    typed.view(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{CsvColumns, csv_row};
    use proptest::prelude::*;

    /// Cells that each field's parser may take or refuse, and formula-escaped text.
    fn cell() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "",
            " ",
            "2026-11-01T10:00:00Z",
            "2026-11-01T10:00:00.5Z",
            " 2026-11-01T10:00:00+01:00",
            "2026-02-30T10:00:00Z",
            "message_sent",
            " widget_loaded ",
            "'=1+1",
            "'Sup",
            "x",
            "0",
            " 7 ",
            "-1",
            "3.5",
            "1e3",
            "NaN",
            "inf",
            "1000000001",
            "18446744073709551615",
            "18446744073709551616",
            "true",
            "FALSE",
            " True ",
            "yes",
        ])
        .prop_map(str::to_owned)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The CSV fast path takes a row only as the general path would.
        #[test]
        fn fast_csv_rows_equal_the_general_path(
            header in prop::collection::vec(0..FIELDS.len() + 1, 2..8),
            cells in prop::collection::vec(cell(), 8),
            extra in 0usize..2,
        ) {
            let mut names: Vec<&str> = vec!["timestamp", "eventType"];
            names.extend(header.iter().map(|&i| FIELDS.get(i).copied().unwrap_or("other")));
            let mut text = names.join(",");
            text.push('\n');
            let mut row: Vec<String> = vec![cells[0].clone(), cells[1].clone()];
            row.extend(cells.iter().cycle().skip(2).take(names.len() - 2 + extra).cloned());
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(&row).expect("write");
            text.push_str(&String::from_utf8(writer.into_inner().expect("flush")).expect("utf-8"));
            let header = text.lines().next().expect("header").as_bytes();
            let (columns, _) = CsvColumns::from_header(header).expect("has both columns");
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
            let mut record = csv::ByteRecord::new();
            prop_assert!(reader.read_byte_record(&mut record).expect("read"));
            let general = csv_row(&columns, &record);
            if let Some(fields) = columns.distinct() {
                let mut slot = EventType::MessageSent;
                if let Some(view) = fast_csv_event(fields, &record, &mut slot) {
                    prop_assert_eq!(Ok(view.to_event()), general, "{}", text);
                }
            }
        }
    }
}
