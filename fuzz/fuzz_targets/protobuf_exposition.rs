//! Any protobuf scrape body (`application/vnd.google.protobuf`, delimited MetricFamily
//! messages) converts to text and native histograms or to an error, never a panic, within
//! its size bound; the text it gives parses as the text format, and every native
//! histogram either validates or is reported invalid.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = exposition::ProtobufOptions {
        native_histograms: data.first().is_some_and(|b| b & 1 == 1),
        classic_too: data.first().is_some_and(|b| b & 2 == 2),
    };
    let Ok((text, histograms)) = exposition::decode_protobuf(data, opts) else {
        return;
    };
    for entry in exposition::Parser::new(text.as_bytes(), exposition::Format::PrometheusText) {
        if entry.is_err() {
            break;
        }
    }
    for h in histograms {
        if let model::histogram::HistogramValue::Int(h) = h.value {
            if h.validate().is_ok() {
                let _ = h.to_float();
            }
        }
    }
});
