//! `read_export` with `Format::Ndjson` forced, on arbitrary bytes.
#![no_main]

use analytics::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    analytics_fuzz::check_read(data, Some(Format::Ndjson));
});
