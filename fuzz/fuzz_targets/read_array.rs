//! `read_export` with `Format::Json` forced, on arbitrary bytes; the seeds are bare arrays of
//! events (`read_envelope` fuzzes the same reader from the worker's envelopes).
#![no_main]

use analytics::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    analytics_fuzz::check_read(data, Some(Format::Json));
});
