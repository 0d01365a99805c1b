//! Helpers shared by the integration tests of `reportgen`.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs the `reportgen` binary under test with `args` and no stdin.
pub fn reportgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reportgen"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The `summary.json` of the one snapshot under `out`, whatever its date (a run that reads the
/// clock, or takes a worker's window, names its folder after that window's end).
pub fn only_summary(out: &Path) -> serde_json::Value {
    let dates: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("20"))
        .collect();
    assert_eq!(dates.len(), 1, "{dates:?}");
    let text = std::fs::read_to_string(out.join(&dates[0]).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}
