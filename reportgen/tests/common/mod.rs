//! Helpers shared by the integration tests of `reportgen`.

#![allow(clippy::unwrap_used, dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

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

/// Serves `listener` on a thread: the n-th connection gets `replies[n]` (the last one
/// repeats), handed with the stream to `answer`, which records what it read in the log it is
/// given. Returns that log.
pub fn serve_replies<R, L>(
    listener: TcpListener,
    replies: Vec<R>,
    answer: fn(TcpStream, R, &Mutex<Vec<L>>),
) -> Arc<Mutex<Vec<L>>>
where
    R: Clone + Send + 'static,
    L: Send + 'static,
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { break };
            let reply = replies[i.min(replies.len() - 1)].clone();
            let log = Arc::clone(&log);
            thread::spawn(move || answer(stream, reply, &log));
        }
    });
    seen
}
