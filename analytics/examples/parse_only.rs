//! The parse-only baseline of `bench/run`: reads NDJSON (a path, or `-` for stdin) line by line,
//! on one thread, and parses each line into the event view [`analytics::EventRef`] with
//! [`analytics::with_json_event`], the parser `reportgen` uses for every NDJSON record (the
//! typed, borrowed fast path, and the general path for what it cannot take), then prints how
//! many events were valid. No metrics, no output files: the cost of reading and parsing alone.
//!
//! ```text
//! cargo run --release -p analytics --example parse_only -- events.ndjson
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::process::ExitCode;

/// The read buffer: large, so that the cost is parsing, not system calls.
const BUFFER_BYTES: usize = 1 << 20;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_only FILE|-");
        return ExitCode::from(2);
    };
    let input: Box<dyn Read> = if path == "-" {
        Box::new(io::stdin().lock())
    } else {
        match File::open(&path) {
            Ok(file) => Box::new(file),
            Err(e) => {
                eprintln!("parse_only: {path}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    match count_events(BufReader::with_capacity(BUFFER_BYTES, input)) {
        Ok(valid) => {
            println!("{valid}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parse_only: {path}: {e}");
            ExitCode::from(2)
        }
    }
}

/// Parses every non-blank line (trimmed, as the NDJSON reader does) and counts the valid events.
fn count_events<R: BufRead>(mut reader: R) -> io::Result<u64> {
    let mut line = Vec::new();
    let mut valid = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(valid);
        }
        let bytes = line.trim_ascii();
        if bytes.is_empty() {
            continue;
        }
        // black_box keeps the optimiser from skipping any part of building the event.
        let parsed = match std::str::from_utf8(bytes) {
            Ok(text) => analytics::with_json_event(text, |event| {
                std::hint::black_box(event);
            }),
            Err(_) => analytics::parse_json_event(bytes).map(|event| {
                std::hint::black_box(&event);
            }),
        };
        if parsed.is_ok() {
            valid += 1;
        }
    }
}
