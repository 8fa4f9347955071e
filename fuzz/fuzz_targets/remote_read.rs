//! Remote read's untrusted inputs: a request body (the server's side), and a response in
//! either form (the client's side: snappy `SAMPLES`, or streamed frames whose chunks are
//! decoded), each decodes or fails with an error, never a panic; matchers convert or fail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remote::read::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = codec::decode_read_request(data) {
        let external = model::Labels::from_pairs([("site", "a")]);
        for q in &request.queries {
            let _ = codec::local_matchers(q, &external);
        }
        let _ = codec::negotiate_response_type(&request.accepted_response_types);
    }
    let _ = codec::decode_samples_response(data, 1 << 20);
    if let Ok(frames) = codec::read_frames(data) {
        for frame in frames {
            for series in frame.chunked_series {
                let _ = codec::chunk_samples(&series.chunks, i64::MIN, i64::MAX);
            }
        }
    }
});
