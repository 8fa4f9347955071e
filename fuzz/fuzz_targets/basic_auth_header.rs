//! Any Authorization header value parses to credentials or to nothing, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((user, password)) = webconfig::parse_basic_credentials(data) {
        assert!(!user.contains(&b':'));
        let _ = password;
    }
});
