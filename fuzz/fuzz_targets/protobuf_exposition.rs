//! Any protobuf scrape body (`application/vnd.google.protobuf`, delimited MetricFamily
//! messages) converts to text or to an error, never a panic, within its size bound; the
//! text it gives parses as the text format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = exposition::protobuf_to_text(data) else {
        return;
    };
    for entry in exposition::Parser::new(text.as_bytes(), exposition::Format::PrometheusText) {
        if entry.is_err() {
            break;
        }
    }
});
