//! The five kinds of an optional field's value, and every rule for one: how the general path
//! reads it from JSON or CSV text (and what it says when it cannot), how the fast paths read
//! it straight from the input's bytes, how it is written to JSON and to CSV.
//!
//! The fast paths take exactly what the general path would accept unchanged and answer `None`
//! for anything else, which the general path then decides: both must agree, and the property
//! tests check that they do.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::flat::Flat;
use super::scalar::Scalar;
use crate::text::neutralise_csv;

/// Free text: a string; an empty one is absent.
pub(crate) struct Text;
/// A count: a non-negative integer.
pub(crate) struct Count;
/// A flag: `true` or `false`.
pub(crate) struct Flag;
/// A duration in milliseconds, from 0 to [`MAX_DURATION_MS`]; written without `.0`.
pub(crate) struct Duration;
/// A score: any finite number.
pub(crate) struct Score;

/// The Rust type of a value of each kind, as [`crate::Event`] holds it. It says again what
/// [`Kind::Owned`] says because a public field cannot name the crate's own trait; where the
/// two disagree, `Event::view` does not compile.
macro_rules! owned {
    (Text) => {
        String
    };
    (Count) => {
        u64
    };
    (Flag) => {
        bool
    };
    (Duration) => {
        f64
    };
    (Score) => {
        f64
    };
}
pub(crate) use owned;

/// The type of a value of each kind as [`crate::EventRef`] borrows it ([`Kind::Borrowed`],
/// for the same reason as [`owned!`]).
macro_rules! borrowed {
    (Text, $life:lifetime) => { &$life str };
    ($kind:ident, $life:lifetime) => { $crate::schema::kinds::owned!($kind) };
}
pub(crate) use borrowed;

/// The longest duration accepted, in ms (about 11.6 days): anything longer is a broken clock,
/// and sums of accepted values stay exact enough and finite.
pub const MAX_DURATION_MS: f64 = 1e9;

/// The largest count the general path accepts from JSON (it reads numbers as `f64`).
const MAX_COUNT: u64 = 1 << 53;

/// The rules of one kind of value.
pub(crate) trait Kind {
    /// The value as an event owns it.
    type Owned: Serialize + std::fmt::Display;
    /// The value as a view borrows it.
    type Borrowed<'a>: Copy;

    /// The borrowed view of an owned value.
    fn view(value: &Self::Owned) -> Self::Borrowed<'_>;
    /// An owned copy of a borrowed value.
    fn own(value: Self::Borrowed<'_>) -> Self::Owned;

    /// The general path, from a JSON value: `None` when absent, or what is wrong, naming the
    /// field `name`.
    fn from_json(name: &str, value: Scalar<'_>) -> Result<Option<Self::Owned>, String>;
    /// The general path, from a non-empty CSV cell.
    fn from_text(name: &str, cell: &str) -> Result<Self::Owned, String>;

    /// The fast JSON path, at the value in `flat`: the value (`None` for absent) when the
    /// general path would take it unchanged, else `None`.
    fn fast_json<'a>(flat: &mut Flat<'a>) -> Option<Option<Self::Borrowed<'a>>>;
    /// The fast CSV path, from a non-empty cell: the value when the general path would take it
    /// unchanged, else `None`.
    fn fast_text(cell: &str) -> Option<Self::Borrowed<'_>>;

    /// The value as an export's CSV cell: as Rust displays it, unless the kind says otherwise.
    fn csv_cell(value: &Self::Owned) -> String {
        value.to_string()
    }
    /// Writes the value as the field `name` of an event's JSON: as serde writes it, unless the
    /// kind says otherwise.
    fn serialize_field<S: SerializeStruct>(
        out: &mut S,
        name: &'static str,
        value: &Self::Owned,
    ) -> Result<(), S::Error> {
        out.serialize_field(name, value)
    }
}

/// The types, `view` and `own` of a kind whose value is `Copy`: the value itself, borrowed or
/// not.
macro_rules! copied {
    ($ty:ty) => {
        type Owned = $ty;
        type Borrowed<'a> = $ty;

        fn view(value: &$ty) -> $ty {
            *value
        }
        fn own(value: $ty) -> $ty {
            value
        }
    };
}

impl Kind for Text {
    type Owned = String;
    type Borrowed<'a> = &'a str;

    fn view(value: &String) -> &str {
        value
    }
    fn own(value: &str) -> String {
        value.to_owned()
    }

    fn from_json(name: &str, value: Scalar<'_>) -> Result<Option<String>, String> {
        match value {
            Scalar::Null => Ok(None),
            Scalar::Str(s) if s.is_empty() => Ok(None),
            Scalar::Str(s) => Ok(Some(s.into_owned())),
            other => Err(format!("`{name}` must be a string, not {}", other.kind())),
        }
    }
    fn from_text(_: &str, cell: &str) -> Result<String, String> {
        Ok(cell.to_owned())
    }

    fn fast_json<'a>(flat: &mut Flat<'a>) -> Option<Option<&'a str>> {
        flat.text_or_null().map(|s| s.filter(|s| !s.is_empty()))
    }
    fn fast_text(cell: &str) -> Option<&str> {
        Some(cell)
    }

    fn csv_cell(value: &String) -> String {
        neutralise_csv(value).into_owned()
    }
}

impl Kind for Count {
    copied!(u64);

    fn from_json(name: &str, value: Scalar<'_>) -> Result<Option<u64>, String> {
        match value {
            Scalar::Null => Ok(None),
            Scalar::Number(n) if n >= 0.0 && n.fract() == 0.0 && n < MAX_COUNT as f64 => {
                Ok(Some(n as u64))
            }
            _ => Err(not_a_count(name)),
        }
    }
    fn from_text(name: &str, cell: &str) -> Result<u64, String> {
        cell.trim().parse::<u64>().map_err(|_| not_a_count(name))
    }

    fn fast_json<'a>(flat: &mut Flat<'a>) -> Option<Option<u64>> {
        flat.count().filter(|n| n.is_none_or(|n| n < MAX_COUNT))
    }
    fn fast_text(cell: &str) -> Option<u64> {
        cell.trim().parse::<u64>().ok()
    }
}

fn not_a_count(name: &str) -> String {
    format!("`{name}` must be a non-negative integer")
}

impl Kind for Flag {
    copied!(bool);

    fn from_json(name: &str, value: Scalar<'_>) -> Result<Option<bool>, String> {
        match value {
            Scalar::Null => Ok(None),
            Scalar::Bool(b) => Ok(Some(b)),
            _ => Err(not_a_flag(name)),
        }
    }
    fn from_text(name: &str, cell: &str) -> Result<bool, String> {
        Flag::fast_text(cell).ok_or_else(|| not_a_flag(name))
    }

    fn fast_json<'a>(flat: &mut Flat<'a>) -> Option<Option<bool>> {
        flat.bool_or_null()
    }
    fn fast_text(cell: &str) -> Option<bool> {
        match cell.trim() {
            t if t.eq_ignore_ascii_case("true") => Some(true),
            t if t.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

fn not_a_flag(name: &str) -> String {
    format!("`{name}` must be true or false")
}

impl Kind for Score {
    copied!(f64);

    fn from_json(name: &str, value: Scalar<'_>) -> Result<Option<f64>, String> {
        match value {
            Scalar::Null => Ok(None),
            Scalar::Number(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(not_a_number(name)),
        }
    }
    fn from_text(name: &str, cell: &str) -> Result<f64, String> {
        Score::fast_text(cell).ok_or_else(|| not_a_number(name))
    }

    fn fast_json<'a>(flat: &mut Flat<'a>) -> Option<Option<f64>> {
        flat.float().filter(|n| n.is_none_or(f64::is_finite))
    }
    fn fast_text(cell: &str) -> Option<f64> {
        cell.trim().parse::<f64>().ok().filter(|n| n.is_finite())
    }
}

fn not_a_number(name: &str) -> String {
    format!("`{name}` must be a finite number")
}

impl Kind for Duration {
    copied!(f64);

    fn from_json(name: &str, value: Scalar<'_>) -> Result<Option<f64>, String> {
        match Score::from_json(name, value) {
            Ok(n) => n.map(|n| in_range(name, n)).transpose(),
            Err(_) => Err(negative(name)),
        }
    }
    fn from_text(name: &str, cell: &str) -> Result<f64, String> {
        match Score::from_text(name, cell) {
            Ok(n) => in_range(name, n),
            Err(_) => Err(negative(name)),
        }
    }

    fn fast_json<'a>(flat: &mut Flat<'a>) -> Option<Option<f64>> {
        Score::fast_json(flat).filter(|n| n.is_none_or(|n| (0.0..=MAX_DURATION_MS).contains(&n)))
    }
    fn fast_text(cell: &str) -> Option<f64> {
        Score::fast_text(cell).filter(|n| (0.0..=MAX_DURATION_MS).contains(n))
    }

    /// `12`, not `12.0`, as the spec writes durations; fractions only when there are some.
    fn serialize_field<S: SerializeStruct>(
        out: &mut S,
        name: &'static str,
        value: &f64,
    ) -> Result<(), S::Error> {
        out.serialize_field(name, &Millis(*value))
    }
}

fn in_range(name: &str, n: f64) -> Result<f64, String> {
    if (0.0..=MAX_DURATION_MS).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "`{name}` must be a number of milliseconds from 0 to {MAX_DURATION_MS}"
        ))
    }
}

fn negative(name: &str) -> String {
    format!("`{name}` must be a non-negative number")
}

/// A duration as the spec writes it: whole milliseconds as an integer.
struct Millis(f64);

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Millis(v) = *self;
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}
