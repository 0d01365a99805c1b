//! `read_export` detecting the format of arbitrary bytes; also checks that forcing the
//! detected format reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    analytics_fuzz::check_read(data, None);
});
