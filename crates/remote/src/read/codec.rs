//! Remote read's wire format, both ends: the snappy-compressed `ReadRequest` (bounded),
//! response type negotiation, matchers to and from protobuf (with Prometheus's handling
//! of external labels), the `SAMPLES` response, and the `STREAMED_XOR_CHUNKS` frames
//! (`uvarint length`, big-endian CRC-32C of the message, the `ChunkedReadResponse`).

use model::{Label, Labels, MatchOp, Matcher};
use prost::Message;

use crate::proto;

/// The most a read request may take, compressed or not (upstream's `decodeReadLimit`).
pub const MAX_READ_REQUEST_BYTES: usize = 32 << 20;

/// The most one streamed frame may hold when reading one: a client's guard against a
/// broken or hostile server (upstream's default chunked read limit is 50 MB).
pub const MAX_FRAME_BYTES: usize = 50 << 20;

/// Decodes a request body.
pub fn decode_read_request(body: &[u8]) -> Result<proto::ReadRequest, String> {
    if body.len() > MAX_READ_REQUEST_BYTES {
        return Err(format!(
            "read request of {} bytes exceeds limit {MAX_READ_REQUEST_BYTES}",
            body.len()
        ));
    }
    let plain = decompress(body, MAX_READ_REQUEST_BYTES, |len| {
        format!("snappy: decoded length {len} exceeds limit {MAX_READ_REQUEST_BYTES}")
    })?;
    proto::ReadRequest::decode(plain.as_slice()).map_err(|e| e.to_string())
}

/// A snappy block body, refused (with `too_large`'s words) before allocating when it
/// would decompress past `max` bytes.
fn decompress(
    body: &[u8],
    max: usize,
    too_large: impl Fn(usize) -> String,
) -> Result<Vec<u8>, String> {
    let len = snap::raw::decompress_len(body).map_err(|e| format!("snappy: {e}"))?;
    if len > max {
        return Err(too_large(len));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))
}

/// Encodes a request body.
pub fn encode_read_request(request: &proto::ReadRequest) -> Vec<u8> {
    crate::compress(&request.encode_to_vec())
}

/// The response type to answer with: the first accepted one this server has (`SAMPLES`
/// when the client lists none).
pub fn negotiate_response_type(accepted: &[i32]) -> Result<i32, String> {
    if accepted.is_empty() {
        return Ok(proto::RESPONSE_SAMPLES);
    }
    accepted
        .iter()
        .copied()
        .find(|t| *t == proto::RESPONSE_SAMPLES || *t == proto::RESPONSE_STREAMED_XOR_CHUNKS)
        .ok_or_else(|| {
            format!(
                "server does not support any of the requested response types: {accepted:?}; supported: [SAMPLES STREAMED_XOR_CHUNKS]"
            )
        })
}

/// A query's matchers for the local storage: an equality matcher on an external label
/// with its value asks for `name=""` instead (local series do not carry external labels;
/// they are added to the answer).
pub fn local_matchers(query: &proto::Query, external: &Labels) -> Result<Vec<Matcher>, String> {
    query
        .matchers
        .iter()
        .map(|m| {
            let op = match m.r#type {
                0 => MatchOp::Equal,
                1 => MatchOp::NotEqual,
                2 => MatchOp::Regex,
                3 => MatchOp::NotRegex,
                other => return Err(format!("invalid matcher type {other}")),
            };
            if op == MatchOp::Equal && external.get(&m.name) == Some(m.value.as_str()) {
                return Matcher::new(MatchOp::Equal, m.name.clone(), "");
            }
            Matcher::new(op, m.name.clone(), m.value.clone())
        })
        .collect()
}

/// Matchers as protobuf.
pub fn to_proto_matchers(matchers: &[Matcher]) -> Vec<proto::LabelMatcher> {
    matchers
        .iter()
        .map(|m| proto::LabelMatcher {
            r#type: match m.op {
                MatchOp::Equal => 0,
                MatchOp::NotEqual => 1,
                MatchOp::Regex => 2,
                MatchOp::NotRegex => 3,
            },
            name: m.name.clone(),
            value: m.value.clone(),
        })
        .collect()
}

/// A series' labels with the external labels it does not have, sorted (upstream's
/// `MergeLabels`: the series' own win).
pub fn labels_with_external(labels: &Labels, external: &Labels) -> Vec<proto::Label> {
    let mut out: Vec<proto::Label> = labels
        .iter()
        .map(|l| proto::Label {
            name: l.name.clone(),
            value: l.value.clone(),
        })
        .collect();
    for l in external.iter() {
        if labels.get(&l.name).is_none() {
            out.push(proto::Label {
                name: l.name.clone(),
                value: l.value.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Protobuf labels as a label set.
pub fn from_proto_labels(labels: Vec<proto::Label>) -> Labels {
    Labels::from_sorted(
        labels
            .into_iter()
            .map(|l| Label {
                name: l.name,
                value: l.value,
            })
            .collect(),
    )
}

/// A `SAMPLES` response body.
pub fn encode_samples_response(response: &proto::ReadResponse) -> Vec<u8> {
    crate::compress(&response.encode_to_vec())
}

/// Decodes a `SAMPLES` response body.
pub fn decode_samples_response(body: &[u8], max: usize) -> Result<proto::ReadResponse, String> {
    let plain = decompress(body, max, |len| {
        format!("read response of {len} bytes exceeds limit {max}")
    })?;
    proto::ReadResponse::decode(plain.as_slice()).map_err(|e| e.to_string())
}

/// Appends one frame holding `message` to `out`.
pub fn push_frame(out: &mut Vec<u8>, message: &[u8]) {
    let mut len = message.len() as u64;
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(&tsdb::crc32c(message).to_be_bytes());
    out.extend_from_slice(message);
}

/// The frames of one series: its samples cut into XOR chunks of up to 120 samples, as
/// many chunks per frame as fit in `max_bytes_in_frame` (at least one; upstream's rule:
/// the labels count against the frame, and a frame may go over by one chunk).
pub fn series_frames(
    out: &mut Vec<u8>,
    query_index: i64,
    labels: Vec<proto::Label>,
    samples: &[(i64, f64)],
    max_bytes_in_frame: usize,
) {
    let labels_size: usize = labels.iter().map(|l| l.encoded_len() + 2).sum();
    let budget = max_bytes_in_frame.saturating_sub(labels_size) as i64;
    let mut chunks: Vec<proto::Chunk> = Vec::new();
    let mut left = budget;
    let mut pieces = samples
        .chunks(usize::from(tsdb::SAMPLES_PER_CHUNK))
        .peekable();
    while let Some(piece) = pieces.next() {
        let mut chunk = tsdb::XorChunk::new();
        for (t, v) in piece {
            chunk.append(*t, *v);
        }
        let c = proto::Chunk {
            min_time_ms: piece.first().map_or(0, |p| p.0),
            max_time_ms: piece.last().map_or(0, |p| p.0),
            r#type: proto::CHUNK_XOR,
            data: chunk.bytes(),
        };
        left -= (c.encoded_len() + 2) as i64;
        chunks.push(c);
        if left > 0 && pieces.peek().is_some() {
            continue;
        }
        let message = proto::ChunkedReadResponse {
            chunked_series: vec![proto::ChunkedSeries {
                labels: labels.clone(),
                chunks: std::mem::take(&mut chunks),
            }],
            query_index,
        };
        push_frame(out, &message.encode_to_vec());
        left = budget;
    }
}

/// Reads the frames of a streamed response: the messages in order.
pub fn read_frames(mut body: &[u8]) -> Result<Vec<proto::ChunkedReadResponse>, String> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let mut len = 0u64;
        let mut shift = 0;
        loop {
            let (&byte, rest) = body.split_first().ok_or("truncated frame length")?;
            body = rest;
            len |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err("invalid frame length".into());
            }
        }
        let len = len as usize;
        if len > MAX_FRAME_BYTES {
            return Err(format!(
                "chunked frame of {len} bytes exceeds the limit {MAX_FRAME_BYTES}"
            ));
        }
        if body.len() < 4 + len {
            return Err("truncated frame".into());
        }
        let crc = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let message = &body[4..4 + len];
        if tsdb::crc32c(message) != crc {
            return Err("chunked frame checksum mismatch".into());
        }
        out.push(proto::ChunkedReadResponse::decode(message).map_err(|e| e.to_string())?);
        body = &body[4 + len..];
    }
    Ok(out)
}

/// The samples of XOR chunks between `mint` and `maxt`.
pub fn chunk_samples(
    chunks: &[proto::Chunk],
    mint: i64,
    maxt: i64,
) -> Result<Vec<(i64, f64)>, String> {
    let mut out = Vec::new();
    for c in chunks {
        if c.r#type != proto::CHUNK_XOR {
            return Err(format!("unsupported chunk encoding {}", c.r#type));
        }
        let mut iter = tsdb::XorIter::from_bytes(&c.data).ok_or("invalid XOR chunk")?;
        for (t, v) in iter.by_ref() {
            if t >= mint && t <= maxt {
                out.push((t, v));
            }
        }
        if iter.failed() {
            return Err("invalid XOR chunk".into());
        }
    }
    out.sort_by_key(|p| p.0);
    out.dedup_by_key(|p| p.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_label_equality_matchers_ask_for_the_empty_value() {
        let external = Labels::from_pairs([("region", "eu")]);
        let query = proto::Query {
            matchers: vec![
                proto::LabelMatcher {
                    r#type: 0,
                    name: "region".into(),
                    value: "eu".into(),
                },
                proto::LabelMatcher {
                    r#type: 2,
                    name: "job".into(),
                    value: "a.*".into(),
                },
            ],
            ..Default::default()
        };
        let m = local_matchers(&query, &external).unwrap();
        assert_eq!(m[0].to_string(), "region=\"\"");
        assert_eq!(m[1].to_string(), "job=~\"a.*\"");
        let bad = proto::Query {
            matchers: vec![proto::LabelMatcher {
                r#type: 9,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(local_matchers(&bad, &external).is_err());
    }

    #[test]
    fn frames_round_trip_and_split_by_size() {
        let samples: Vec<(i64, f64)> = (0..1000).map(|i| (i * 1000, i as f64)).collect();
        let labels = labels_with_external(
            &Labels::from_pairs([("__name__", "m")]),
            &Labels::from_pairs([("a", "b")]),
        );
        let mut body = Vec::new();
        series_frames(&mut body, 3, labels.clone(), &samples, 1 << 20);
        let frames = read_frames(&body).unwrap();
        assert_eq!(frames.len(), 1, "one frame when it fits");
        assert_eq!(frames[0].query_index, 3);
        assert_eq!(frames[0].chunked_series[0].labels, labels);
        let chunks = &frames[0].chunked_series[0].chunks;
        assert_eq!(chunks.len(), 9, "120 samples per chunk");
        assert_eq!(chunk_samples(chunks, i64::MIN, i64::MAX).unwrap(), samples);
        let mut small = Vec::new();
        series_frames(&mut small, 0, labels, &samples, 100);
        assert_eq!(read_frames(&small).unwrap().len(), 9, "a chunk per frame");
        let mut damaged = small.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(read_frames(&damaged).unwrap_err().contains("checksum"));
    }

    #[test]
    fn negotiation_takes_the_first_known_type() {
        assert_eq!(negotiate_response_type(&[]), Ok(0));
        assert_eq!(negotiate_response_type(&[7, 1, 0]), Ok(1));
        assert!(negotiate_response_type(&[7]).is_err());
    }
}
