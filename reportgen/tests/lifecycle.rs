//! The gaps' life across the archive, end to end: four daily reports where a gap disappears
//! and comes back. The third report (and its digest) lists it as resolved since the second; the
//! fourth marks it regressed, and the one asked all along steady.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::reportgen;

/// One day's unanswered questions: (question, times asked).
fn day(date: &str, asked: &[(&str, u32)]) -> String {
    let mut lines = String::new();
    for (question, times) in asked {
        for n in 0..*times {
            lines.push_str(&format!(
                "{{\"timestamp\":\"{date}T10:{n:02}:00Z\",\"eventType\":\"message_sent\",\
                 \"question\":\"{question}\",\"noRagMatch\":true}}\n"
            ));
        }
    }
    lines
}

/// One run: its report and its digest.
fn run(out: &Path, input: &Path, now: &str) -> (String, String) {
    let o = reportgen(&[
        "--input",
        input.to_str().unwrap(),
        "--now",
        now,
        "--days",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    (
        fs::read_to_string(&index).unwrap(),
        fs::read_to_string(index.with_file_name("digest.md")).unwrap(),
    )
}

/// The row of the gaps table whose question is `question`.
fn gap_row<'a>(html: &'a str, question: &str) -> &'a str {
    let start = html.find("<table class=\"gaps\">").unwrap();
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    let cell = format!("<td class=\"text\">{question}</td>");
    let at = table
        .find(&cell)
        .unwrap_or_else(|| panic!("no row for {question}: {table}"));
    &table[at..at + table[at..].find("</tr>").unwrap()]
}

#[test]
fn a_gap_that_disappears_is_resolved_and_one_that_comes_back_regressed() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lifecycle-archive");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();
    let days = [
        (
            "2026-11-20",
            vec![("Do you ship abroad?", 5), ("Can I pay by invoice?", 3)],
        ),
        (
            "2026-11-21",
            vec![("Do you ship abroad?", 5), ("Can I pay by invoice?", 3)],
        ),
        ("2026-11-22", vec![("Do you ship abroad?", 5)]),
        (
            "2026-11-23",
            vec![("Do you ship abroad?", 5), ("Can I pay by invoice?", 3)],
        ),
    ];
    let (mut reports, mut digests) = (Vec::new(), Vec::new());
    for (date, asked) in &days {
        let input = out.join(format!("{date}.ndjson"));
        fs::write(&input, day(date, asked)).unwrap();
        let now = format!("{date}T23:00:00Z");
        let (html, digest) = run(&out, &input, &now);
        reports.push(html);
        digests.push(digest);
    }
    // The digests: gaps listed once there is an earlier report, and only when they changed.
    assert!(!digests[0].contains("knowledge gaps") && !digests[0].contains("Resolved"));
    assert!(!digests[1].contains("**New") && !digests[1].contains("Resolved"));
    assert!(
        digests[2].contains(
            "**Resolved since the report of 2026-11-21**\n\n- Can I pay by invoice? (asked 3 times then)\n"
        ),
        "{}",
        digests[2]
    );
    assert!(
        digests[3].contains(
            "**Back again (regressed) since the report of 2026-11-22**\n\n- Can I pay by invoice? (asked 3 times)\n"
        ),
        "{}",
        digests[3]
    );
    assert!(!digests[3].contains("Resolved"), "{}", digests[3]);
    for digest in &digests {
        assert!(digest.ends_with("[Open the full report](index.html)\n"));
    }
    assert!(
        !reports[0].contains("Resolved since"),
        "no earlier report, no lifecycle"
    );
    assert!(
        gap_row(&reports[1], "Do you ship abroad?").contains("<span class=\"badge\">steady</span>")
    );

    let third = &reports[2];
    let start = third
        .find("Resolved since the report of 2026-11-21")
        .expect("the list");
    let list = &third[start..start + third[start..].find("</ul>").expect("a list")];
    assert!(
        list.contains("Can I pay by invoice? <small>(asked 3 times then)</small>"),
        "{list}"
    );
    assert!(!list.contains("ship abroad"));

    let fourth = &reports[3];
    assert!(
        gap_row(fourth, "Can I pay by invoice?").contains("<span class=\"badge\">regressed</span>")
    );
    assert!(gap_row(fourth, "Do you ship abroad?").contains("<span class=\"badge\">steady</span>"));
    assert!(fourth.contains("Every gap of that report is still among this one"));
}
