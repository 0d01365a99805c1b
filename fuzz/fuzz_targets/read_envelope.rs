//! `read_export` with `Format::Json` forced, on arbitrary bytes; the seeds are the worker's
//! envelopes (`read_array` fuzzes the same reader from bare arrays).
#![no_main]

use analytics::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    analytics_fuzz::check_read(data, Some(Format::Json));
});
