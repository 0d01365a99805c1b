//! `parse_ingest` on an arbitrary body and headers. The input is split at 0x1E (ASCII record
//! separator) into the body, then `X-Page-URL`, `X-Page-Title`, `X-Referrer` and
//! `X-Session-ID` (as lossy UTF-8, like the worker's header strings); missing parts are absent
//! headers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    analytics_fuzz::check_ingest(data);
});
