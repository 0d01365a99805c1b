//! `BoundedBody` on a body cut into chunks of arbitrary sizes against an arbitrary limit: see
//! `check_body` for how the input is read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    analytics_fuzz::check_body(data);
});
