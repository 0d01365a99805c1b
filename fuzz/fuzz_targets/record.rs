//! One JSON record through `parse_json_event` (the NDJSON line and request-body parser and its
//! record validation); an accepted event must survive the NDJSON and CSV writers unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    analytics_fuzz::check_record(data);
});
