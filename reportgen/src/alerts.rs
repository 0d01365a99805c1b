//! The report's view of the summary's alerts: the rows of its Alerts section, and the marks
//! (with their text for screen readers) that put alert days on its daily charts.

use analytics::{AlertKind, Summary, clean_text};
use serde::Serialize;

/// One alert as the report lists it.
#[derive(Debug, Serialize)]
pub(crate) struct AlertRow {
    /// `critical`, `warning` or `info`: the row's class and its first word.
    severity: &'static str,
    /// What fired: "Error-rate spike", …
    title: &'static str,
    /// The day it concerns.
    day: Option<String>,
    /// The gap group it concerns (a visitor's question).
    subject: Option<String>,
    message: String,
}

/// The Alerts section's rows, most severe first (the summary's order).
pub(crate) fn rows(s: &Summary) -> Vec<AlertRow> {
    s.alerts
        .iter()
        .map(|a| AlertRow {
            severity: a.severity.as_str(),
            title: a.kind.title(),
            day: a.day.clone(),
            subject: a.subject.as_deref().map(clean_text),
            message: clean_text(&a.message),
        })
        .collect()
}

/// A daily chart's alert marks: x position and text, and the sentence that says the same.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    /// (x position, text drawn at the top of the line).
    pub(crate) at: Vec<(usize, String)>,
    /// "Alert days marked: 2026-11-20 (error-rate spike)." or empty.
    pub(crate) text: String,
}

/// The marks of the alerts of `kinds` on a chart whose x positions are the days `dates`
/// (`YYYY-MM-DD`); an alert of a day the chart does not show is not marked.
pub(crate) fn marks<'a>(
    s: &Summary,
    dates: impl Iterator<Item = &'a str> + Clone,
    kinds: &[AlertKind],
) -> Marks {
    let mut marks = Marks::default();
    let mut said = Vec::new();
    for alert in s.alerts.iter().filter(|a| kinds.contains(&a.kind)) {
        let Some(day) = alert.day.as_deref() else {
            continue;
        };
        let Some(x) = dates.clone().position(|d| d == day) else {
            continue;
        };
        marks.at.push((x, mark_text(alert.kind).to_owned()));
        said.push(format!("{day} ({})", alert.kind.title().to_lowercase()));
    }
    if !said.is_empty() {
        marks.text = format!("Alert days marked: {}.", said.join(", "));
    }
    marks
}

/// The short text at the top of a mark.
fn mark_text(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::ErrorRateSpike => "errors",
        AlertKind::NoEvents => "silent",
        AlertKind::LatencyRegression => "slower",
        AlertKind::VolumeDrop => "low",
        AlertKind::SurgingGap => "gap",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use analytics::{Alert, Severity};

    fn alert(kind: AlertKind, day: Option<&str>) -> Alert {
        Alert {
            kind,
            severity: Severity::Warning,
            day: day.map(str::to_owned),
            metric: "m".to_owned(),
            value: 1.0,
            baseline: 0.0,
            message: "m".to_owned(),
            subject: None,
        }
    }

    #[test]
    fn marks_fall_on_the_alert_days_the_chart_shows_and_are_said_in_words() {
        let now = analytics::parse_timestamp("2026-11-26T00:00:00Z").expect("time");
        let mut s = analytics::Metrics::new(analytics::Window::last_days(now, 3)).finish(now);
        s.alerts = vec![
            alert(AlertKind::ErrorRateSpike, Some("2026-11-24")),
            alert(AlertKind::VolumeDrop, Some("2026-10-01")),
            alert(AlertKind::LatencyRegression, Some("2026-11-25")),
            alert(AlertKind::SurgingGap, None),
        ];
        let dates = ["2026-11-23", "2026-11-24", "2026-11-25"];
        let kinds = [AlertKind::ErrorRateSpike, AlertKind::VolumeDrop];
        let marks = marks(&s, dates.iter().copied(), &kinds);
        assert_eq!(marks.at, [(1, "errors".to_owned())]);
        assert_eq!(
            marks.text,
            "Alert days marked: 2026-11-24 (error-rate spike)."
        );
        let none = super::marks(&s, dates.iter().copied(), &[AlertKind::NoEvents]);
        assert!(none.at.is_empty() && none.text.is_empty());
    }
}
