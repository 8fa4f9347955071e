//! Any protobuf scrape body (`application/vnd.google.protobuf`, delimited MetricFamily
//! messages) converts to text and native histograms or to an error, never a panic, within
//! its size bound; the text it gives parses as the text format, and every native
//! histogram either validates or is reported invalid; every exemplar refers to a sample
//! of the text; and the hand-written path for native histogram families gives exactly
//! what prost's decoding gives.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = exposition::ProtobufOptions {
        native_histograms: data.first().is_some_and(|b| b & 1 == 1),
        classic_too: data.first().is_some_and(|b| b & 2 == 2),
        histograms_hint: usize::from(data.get(1).copied().unwrap_or(0)),
    };
    let decoded = exposition::decode_protobuf(data, opts);
    // Compared as text: a NaN sum is equal to itself there.
    assert_eq!(
        format!("{decoded:?}"),
        format!(
            "{:?}",
            exposition::decode_protobuf_with_prost_only(data, opts)
        )
    );
    let Ok(decoded) = decoded else {
        return;
    };
    let mut samples = 0;
    let mut failed = false;
    for entry in
        exposition::Parser::new(decoded.text.as_bytes(), exposition::Format::PrometheusText)
    {
        match entry {
            Ok(exposition::Entry::Sample(_)) => samples += 1,
            Ok(_) => {}
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if !failed {
        assert!(decoded.exemplars.iter().all(|(n, _)| *n < samples));
    }
    for h in decoded.histograms {
        if let model::histogram::HistogramValue::Int(h) = h.value {
            if h.validate().is_ok() {
                let _ = h.to_float();
            }
        }
    }
});
