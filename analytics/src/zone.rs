//! The time zone of local days and hours: UTC, a fixed offset, or (with the `tz` feature) a
//! named IANA zone whose daylight-saving rules are applied event by event.

#[cfg(feature = "tz")]
use chrono::TimeZone;
use chrono::{DateTime, FixedOffset, Offset, Utc};

/// Where the weekday × hour activity is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Zone {
    /// Coordinated Universal Time.
    #[default]
    Utc,
    /// A fixed offset from UTC, such as `+02:00`.
    Fixed(FixedOffset),
    /// A named zone such as `Europe/Berlin`, with its daylight-saving rules.
    #[cfg(feature = "tz")]
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Parses `UTC`, `Z`, an offset such as `+02:00`, or (with the `tz` feature) an IANA name.
    pub fn parse(text: &str) -> Result<Zone, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("utc") || text == "Z" {
            return Ok(Zone::Utc);
        }
        if let Ok(offset) = text.parse::<FixedOffset>() {
            return Ok(if offset.local_minus_utc() == 0 {
                Zone::Utc
            } else {
                Zone::Fixed(offset)
            });
        }
        #[cfg(feature = "tz")]
        if let Ok(tz) = text.parse::<chrono_tz::Tz>() {
            return Ok(Zone::Named(tz));
        }
        Err(format!(
            "{text:?} is not UTC, an offset such as +02:00 or -05:30{}",
            if cfg!(feature = "tz") {
                ", or a zone name such as Europe/Berlin"
            } else {
                ""
            }
        ))
    }

    /// The offset from UTC in effect at `at`.
    #[cfg_attr(not(feature = "tz"), allow(unused_variables))]
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        match self {
            Zone::Utc => Utc.fix(),
            Zone::Fixed(offset) => *offset,
            #[cfg(feature = "tz")]
            Zone::Named(tz) => tz.offset_from_utc_datetime(&at.naive_utc()).fix(),
        }
    }

    /// `at` as a local time in this zone.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&self.offset_at(at))
    }

    /// `"UTC"`, the offset as `+02:00`, or the zone's name.
    pub fn name(&self) -> String {
        match self {
            Zone::Utc => "UTC".to_owned(),
            Zone::Fixed(offset) => offset.to_string(),
            #[cfg(feature = "tz")]
            Zone::Named(tz) => tz.name().to_owned(),
        }
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    #[test]
    fn parses_utc_offsets_and_rejects_nonsense() {
        assert_eq!(Zone::parse("utc"), Ok(Zone::Utc));
        assert_eq!(Zone::parse("Z"), Ok(Zone::Utc));
        assert_eq!(Zone::parse("+00:00"), Ok(Zone::Utc));
        let plus2 = Zone::parse("+02:00").expect("offset");
        assert_eq!(plus2.name(), "+02:00");
        assert_eq!(
            plus2.local(at("2026-11-02T09:30:00Z")).to_rfc3339(),
            "2026-11-02T11:30:00+02:00"
        );
        let err = Zone::parse("Mars/Olympus").expect_err("no such zone");
        assert!(
            err.contains("Mars/Olympus") && err.contains("+02:00"),
            "{err}"
        );
        assert!(Zone::parse("+25:00").is_err());
    }

    #[cfg(feature = "tz")]
    #[test]
    fn a_named_zone_follows_daylight_saving() {
        let berlin = Zone::parse("Europe/Berlin").expect("zone");
        assert_eq!(berlin.name(), "Europe/Berlin");
        // Summer time (UTC+2) until 25 October 2026, winter time (UTC+1) after.
        assert_eq!(
            berlin.local(at("2026-10-24T10:00:00Z")).to_rfc3339(),
            "2026-10-24T12:00:00+02:00"
        );
        assert_eq!(
            berlin.local(at("2026-10-26T10:00:00Z")).to_rfc3339(),
            "2026-10-26T11:00:00+01:00"
        );
        let new_york = Zone::parse("America/New_York").expect("zone");
        // US daylight saving ends on 1 November 2026.
        assert_eq!(
            new_york.local(at("2026-10-31T16:00:00Z")).to_rfc3339(),
            "2026-10-31T12:00:00-04:00"
        );
        assert_eq!(
            new_york.local(at("2026-11-02T17:00:00Z")).to_rfc3339(),
            "2026-11-02T12:00:00-05:00"
        );
    }
}
