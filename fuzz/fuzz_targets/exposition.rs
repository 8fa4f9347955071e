//! Any scrape body, in either format, parses to entries or to an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [
        exposition::Format::PrometheusText,
        exposition::Format::OpenMetrics,
    ] {
        for entry in exposition::Parser::new(data, format) {
            if entry.is_err() {
                break;
            }
        }
    }
});
