//! Query parameters and request facts, parsed with a message that names what is wrong.

use analytics::{ExportCursor, Format};

/// Days a summary or export covers by default.
pub const DEFAULT_DAYS: u32 = 30;
/// The most days: aggregates live 90 days.
pub const MAX_DAYS: u32 = 90;
/// Events per export page by default: one KV list call.
pub const DEFAULT_PAGE: usize = 1000;
/// The most events per export page.
pub const MAX_PAGE: usize = 5000;

/// What `GET /analytics` shows (`view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The published report when there is one, else the live page (no `view`).
    Report,
    /// The live page, published report or not (`view=live`).
    Live,
}

/// The query of `/analytics`, `/analytics/data` and `/analytics/export`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Whether `limit` was given.
    pub limit_given: bool,
    /// `days`.
    pub days: u32,
    /// `format` (export only).
    pub format: Format,
    /// `cursor` (export only).
    pub cursor: Option<ExportCursor>,
    /// `limit`: events per page (export only).
    pub limit: usize,
    /// `view` (`/analytics` only).
    pub view: View,
}

/// Parses the query pairs; unknown parameters are ignored.
pub fn parse_query<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Query, String> {
    let mut query = Query {
        limit_given: false,
        days: DEFAULT_DAYS,
        format: Format::Json,
        cursor: None,
        limit: DEFAULT_PAGE,
        view: View::Report,
    };
    for (key, value) in pairs {
        match key {
            "days" => {
                query.days = value
                    .parse()
                    .ok()
                    .filter(|d| (1..=MAX_DAYS).contains(d))
                    .ok_or_else(|| {
                        format!("`days` must be a whole number from 1 to {MAX_DAYS}, not {value:?}")
                    })?;
            }
            "format" => {
                query.format = value
                    .parse()
                    .map_err(|e: String| format!("`format`: {e}"))?;
            }
            "cursor" if !value.is_empty() => {
                query.cursor = Some(ExportCursor::decode(value)?);
            }
            "limit" => {
                query.limit_given = true;
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "`limit` must be a whole number from 1 to {MAX_PAGE}, not {value:?}"
                        )
                    })?;
            }
            "view" => {
                query.view = match value {
                    "live" => View::Live,
                    _ => {
                        return Err(format!(
                            "`view` must be `live` (the live numbers), not {value:?}"
                        ));
                    }
                };
            }
            _ => {}
        }
    }
    Ok(query)
}

impl Query {
    /// Whether an export is asked for page by page (`limit` or `cursor` given), not as one
    /// download of the whole window.
    pub fn paged(&self) -> bool {
        self.limit_given || self.cursor.is_some()
    }
}

/// Whether `origin` may call the ingestion route, given `ALLOWED_ORIGINS` (comma-separated
/// origins, or `*` for any). A request without `Origin` (a server, curl) is not a browser's
/// and is allowed.
pub fn origin_allowed(allowed: &str, origin: Option<&str>) -> bool {
    let Some(origin) = origin else { return true };
    allowed
        .split(',')
        .map(str::trim)
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<Query, String> {
        parse_query(
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap_or((p, ""))),
        )
    }

    #[test]
    fn defaults() {
        let q = parse("").expect("valid");
        assert_eq!((q.days, q.format, q.limit), (30, Format::Json, 1000));
        assert_eq!(q.cursor, None);
        assert_eq!(q.view, View::Report);
    }

    #[test]
    fn view_is_live_or_absent() {
        assert_eq!(parse("view=live").expect("live").view, View::Live);
        for bad in ["view=", "view=report", "view=LIVE", "view=live%20"] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains("`view`"), "{err}");
        }
    }

    #[test]
    fn days_must_be_1_to_90() {
        assert_eq!(parse("days=90").expect("valid").days, 90);
        for bad in [
            "days=0", "days=91", "days=-1", "days=abc", "days=", "days=1.5",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains("`days`"), "{err}");
        }
    }

    #[test]
    fn formats_cursors_and_limits() {
        assert_eq!(parse("format=csv").expect("csv").format, Format::Csv);
        assert_eq!(
            parse("format=ndjson").expect("ndjson").format,
            Format::Ndjson
        );
        assert!(parse("format=xml").expect_err("xml").contains("`format`"));
        assert!(
            parse("cursor=2026-11-25~1764136800000~abc")
                .expect("cursor")
                .cursor
                .is_some()
        );
        assert!(parse("cursor=nonsense").is_err());
        assert!(parse("limit=0").is_err());
        assert_eq!(parse("limit=250").expect("limit").limit, 250);
    }

    #[test]
    fn origins() {
        assert!(origin_allowed("*", Some("https://evil.example")));
        assert!(origin_allowed(
            "https://a.dev, https://b.dev/",
            Some("https://b.dev")
        ));
        assert!(!origin_allowed(
            "https://a.dev",
            Some("https://a.dev.evil.example")
        ));
        assert!(origin_allowed("https://a.dev", None));
    }
}
