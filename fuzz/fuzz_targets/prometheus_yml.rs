//! Any text given to the prometheus.yml reader gives a verdict, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = promconfig::Config::parse(text, "fuzz.yml", std::path::Path::new("/nonexistent"));
    }
});
