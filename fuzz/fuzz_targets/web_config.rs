//! Any text given to the web.yml parser and validator gives a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = webconfig::WebConfig::parse(text) {
            let _ = config.validate();
        }
    }
});
