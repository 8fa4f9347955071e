//! Block chunks as read from disk: the first byte is the encoding byte, the rest the chunk
//! data; every encoding decodes or fails, never panics. The same bytes read as samples
//! (16 bytes each: time, value bits) must pack and unpack bit for bit, or not pack at all.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsdb::{packed, Encoding, SampleBuf};

fuzz_target!(|data: &[u8]| {
    let Some((&byte, chunk)) = data.split_first() else {
        return;
    };
    if let Some(encoding) = Encoding::from_byte(byte) {
        let mut buf = SampleBuf::default();
        let _ = buf.extend_from_encoded(encoding, chunk, i64::MIN, i64::MAX);
        let _ = encoding.sample_count(chunk);
    }

    let mut samples: Vec<(i64, f64)> = data
        .chunks_exact(16)
        .map(|c| {
            let (t, v) = c.split_at(8);
            (
                i64::from_le_bytes(t.try_into().unwrap_or([0; 8])),
                f64::from_bits(u64::from_le_bytes(v.try_into().unwrap_or([0; 8]))),
            )
        })
        .collect();
    samples.sort_by_key(|s| s.0);
    samples.dedup_by_key(|s| s.0);
    if let Some(bytes) = packed::encode(&samples) {
        let mut back = Vec::new();
        assert!(packed::decode_into(&bytes, &mut back).is_some());
        assert_eq!(back.len(), samples.len());
        for (a, b) in samples.iter().zip(&back) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits());
        }
    }
});
