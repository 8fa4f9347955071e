//! Any remote-write body, compressed or not, of either message type, decompresses and
//! decodes to a batch or to an error naming its HTTP status (never a panic), within the
//! decompressed size bound; every sample it yields has labels with a metric name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    const NOW: i64 = 1_700_000_000_000;
    // The raw bytes as a snappy body (a tight limit keeps runs fast), then as the
    // decompressed message of either type.
    if let Ok(raw) = remote::decompress(data, 1 << 20) {
        let _ = remote::decode_v1(&raw, NOW);
    }
    for batch in [remote::decode_v1(data, NOW), remote::decode_v2(data, NOW)]
        .into_iter()
        .flatten()
    {
        for (labels, t, _) in &batch.samples {
            assert!(labels.get("__name__").is_some_and(|n| !n.is_empty()));
            assert!(*t <= NOW + remote::MAX_AHEAD_MS);
        }
    }
});
