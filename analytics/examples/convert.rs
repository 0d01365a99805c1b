//! Rewrites an NDJSON export in another export shape, for `bench/run`: the same events as a
//! bare JSON array, as the worker's JSON envelope ([`analytics::Envelope`]) or as CSV
//! ([`analytics::CsvWriter`]). Reads with [`analytics::read_export`] and writes with the
//! crate's own serialisation, streaming (no more than one event in memory), to stdout.
//!
//! ```text
//! convert array    events.ndjson                  > events.json
//! convert envelope events.ndjson FROM TO          > events.envelope.json
//! convert csv      events.ndjson                  > events.csv
//! ```
//!
//! FROM and TO (RFC 3339) are the envelope's window; its `generatedAt` is TO. Any malformed
//! record is an error: the converted files must hold exactly the events of the input.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use analytics::{
    CsvWriter, Envelope, Event, Format, ReadError, Sink, Skipped, parse_timestamp, read_export,
};

const USAGE: &str = "usage: convert array|envelope|csv FILE|- [FROM TO]";

/// Where the events go.
enum Out<W: Write> {
    /// `[e1,e2,…]`.
    Array { out: W, first: bool },
    /// The envelope's head and tail, with the events streamed in between.
    Envelope { out: W, first: bool, tail: String },
    /// CSV with the export's header (boxed: the csv writer holds its own buffer).
    Csv(Box<CsvWriter<W>>),
}

struct Writer<W: Write> {
    out: Out<W>,
    error: Option<io::Error>,
}

impl<W: Write> Writer<W> {
    fn write(&mut self, event: &Event) -> io::Result<()> {
        match &mut self.out {
            Out::Array { out, first } | Out::Envelope { out, first, .. } => {
                if !std::mem::take(first) {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(out, event).map_err(io::Error::other)
            }
            Out::Csv(csv) => csv.write(event),
        }
    }

    fn finish(self) -> io::Result<()> {
        let mut out = match self.out {
            Out::Array { mut out, .. } => {
                out.write_all(b"]\n")?;
                out
            }
            Out::Envelope { mut out, tail, .. } => {
                out.write_all(tail.as_bytes())?;
                out.write_all(b"\n")?;
                out
            }
            Out::Csv(csv) => csv.finish()?,
        };
        out.flush()
    }
}

impl<W: Write> Sink for Writer<W> {
    fn event(&mut self, event: Event) {
        if self.error.is_none()
            && let Err(e) = self.write(&event)
        {
            self.error = Some(e);
        }
    }

    fn skipped(&mut self, skipped: Skipped) -> Result<(), ReadError> {
        Err(ReadError::Rejected(skipped))
    }
}

/// The envelope of the window FROM–TO around its events ([`Envelope::around_events`]).
fn envelope_parts(from: &str, to: &str) -> Result<(String, String), String> {
    let parse = |t: &str| parse_timestamp(t).ok_or_else(|| format!("{t:?} is not RFC 3339"));
    let (from, to) = (parse(from)?, parse(to)?);
    Ok(Envelope::new(to, from, to).around_events())
}

fn run(args: &[String]) -> Result<(), String> {
    let (kind, path) = match args {
        [kind, path, ..] => (kind.as_str(), path.as_str()),
        _ => return Err(USAGE.to_owned()),
    };
    let input: Box<dyn Read> = if path == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(path).map_err(|e| format!("{path}: {e}"))?)
    };
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let out = match (kind, &args[2..]) {
        ("array", []) => {
            out.write_all(b"[").map_err(|e| e.to_string())?;
            Out::Array { out, first: true }
        }
        ("envelope", [from, to]) => {
            let (head, tail) = envelope_parts(from, to)?;
            out.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
            Out::Envelope {
                out,
                first: true,
                tail,
            }
        }
        ("csv", []) => Out::Csv(Box::new(CsvWriter::new(out).map_err(|e| e.to_string())?)),
        _ => return Err(USAGE.to_owned()),
    };
    let mut writer = Writer { out, error: None };
    read_export(input, Some(Format::Ndjson), &mut writer).map_err(|e| format!("{path}: {e}"))?;
    if let Some(e) = writer.error.take() {
        return Err(e.to_string());
    }
    writer.finish().map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("convert: {e}");
            ExitCode::from(2)
        }
    }
}
