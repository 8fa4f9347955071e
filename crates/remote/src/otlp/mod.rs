//! The OTLP metrics receiver's protocol side, as Prometheus 3 serves
//! `/api/v1/otlp/v1/metrics` (OTLP/HTTP): the body's encoding from `Content-Type`
//! (`application/x-protobuf` or `application/json`) and `Content-Encoding` (gzip or
//! none), the body decompressed under [`MAX_DECOMPRESSED_BYTES`] and decoded
//! ([`decode`]), the metrics translated to Prometheus series by Prometheus's rules and
//! prometheus.yml's `otlp` section ([`translate`]), and the answer
//! (`ExportMetricsServiceResponse`) in the request's encoding ([`encode_response`]).
//!
//! ```text
//! negotiate(content type, encoding) ─▶ decode(body) ─▶ translate(request, settings)
//!   ─▶ samples to append │ errors (upstream: nothing written, 500) │ rejected points
//! ```

mod json;
mod names;
pub mod proto;
mod translate;
mod value_text;

use std::io::Read;

use prost::Message;

use crate::Refused;

pub use names::{LabelNamer, MetricKind, MetricNamer, UnitNamer};
pub use translate::{
    translate, PromoteResourceAttributes, Settings, TooLarge, Translation, Warning,
    WarningCategory, MAX_TARGET_INFO_SAMPLES, MAX_TRANSLATED_BYTES,
};

/// The most a request body may decompress to: Prometheus's `decodeReadLimit` (32 MiB).
/// Upstream silently stops reading there; a longer body is refused here (413, as the
/// OTLP specification asks).
pub const MAX_DECOMPRESSED_BYTES: usize = 32 << 20;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// How a request's body (and its answer) is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The `Content-Type` of this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => PROTOBUF,
            Encoding::Json => JSON,
        }
    }
}

/// How a request's body is sent: its encoding, and whether it is gzip-compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyFormat {
    pub encoding: Encoding,
    pub gzip: bool,
}

/// The body format from the request's headers, with upstream's texts. Media type
/// parameters (`; charset=utf-8`) are allowed; upstream compares the whole header.
/// Unsupported types and encodings are 415 (upstream answers 400; the OTLP specification
/// and HTTP call for 415).
pub fn negotiate(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<BodyFormat, Refused> {
    let given = content_type.unwrap_or("");
    let media = given.split(';').next().unwrap_or("").trim();
    let encoding = if media.eq_ignore_ascii_case(PROTOBUF) {
        Encoding::Protobuf
    } else if media.eq_ignore_ascii_case(JSON) {
        Encoding::Json
    } else {
        return Err(Refused::UnsupportedMediaType(format!(
            "unsupported content type: {given}, supported: [{JSON}, {PROTOBUF}]"
        )));
    };
    let gzip = match content_encoding.map(str::trim).unwrap_or("") {
        "" => false,
        e if e.eq_ignore_ascii_case("gzip") => true,
        other => {
            return Err(Refused::UnsupportedMediaType(format!(
                "unsupported compression: {other}. Only \"gzip\" or no compression supported"
            )))
        }
    };
    Ok(BodyFormat { encoding, gzip })
}

/// Decompresses (if gzip) and decodes a request body; the decompressed body may not
/// exceed `max_bytes`. Protobuf nesting is bounded by prost's recursion limit (100
/// levels), JSON's by serde_json's (128).
pub fn decode(
    format: BodyFormat,
    body: &[u8],
    max_bytes: usize,
) -> Result<proto::ExportMetricsServiceRequest, Refused> {
    let too_large = || {
        Refused::TooLarge(format!(
            "the request body is larger than this server's limit of {max_bytes} bytes"
        ))
    };
    let gunzipped;
    let raw = if format.gzip {
        gunzipped = gunzip(body, max_bytes)?.ok_or_else(too_large)?;
        &gunzipped[..]
    } else if body.len() > max_bytes {
        return Err(too_large());
    } else {
        body
    };
    match format.encoding {
        Encoding::Protobuf => proto::ExportMetricsServiceRequest::decode(raw)
            .map_err(|e| Refused::BadRequest(e.to_string())),
        Encoding::Json => json::decode(raw).map_err(Refused::BadRequest),
    }
}

/// A gzip body (one or more members) decompressed; `None` past `max_bytes`, found by
/// reading at most one byte more, so a small body that inflates enormously costs no more
/// than the limit.
fn gunzip(body: &[u8], max_bytes: usize) -> Result<Option<Vec<u8>>, Refused> {
    let mut out = Vec::new();
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    flate2::read::MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Refused::BadRequest(format!("gzip: {e}")))?;
    Ok((out.len() <= max_bytes).then_some(out))
}

/// The answer to an accepted request: an `ExportMetricsServiceResponse` in the request's
/// encoding, with `partial_success` when points were rejected (`rejected > 0`); empty
/// otherwise (for protobuf, zero bytes, as Prometheus answers).
pub fn encode_response(encoding: Encoding, rejected: usize, message: &str) -> Vec<u8> {
    let partial = (rejected > 0).then(|| proto::ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.to_string(),
    });
    match encoding {
        Encoding::Protobuf => proto::ExportMetricsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        Encoding::Json => match partial {
            // Protobuf's JSON mapping: lowerCamelCase names, int64 as a string.
            Some(p) => format!(
                r#"{{"partialSuccess":{{"rejectedDataPoints":"{}","errorMessage":{}}}}}"#,
                p.rejected_data_points,
                serde_json::Value::String(p.error_message)
            )
            .into_bytes(),
            None => b"{}".to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn negotiation_by_content_type_and_encoding() {
        let protobuf = BodyFormat {
            encoding: Encoding::Protobuf,
            gzip: false,
        };
        assert_eq!(negotiate(Some(PROTOBUF), None), Ok(protobuf));
        assert_eq!(
            negotiate(Some("application/json; charset=utf-8"), Some("gzip")),
            Ok(BodyFormat {
                encoding: Encoding::Json,
                gzip: true
            })
        );
        let refused = negotiate(Some("text/plain"), None).unwrap_err();
        assert_eq!(refused.status(), 415);
        assert_eq!(
            refused.to_string(),
            "unsupported content type: text/plain, supported: [application/json, application/x-protobuf]"
        );
        assert_eq!(negotiate(None, None).unwrap_err().status(), 415);
        let refused = negotiate(Some(PROTOBUF), Some("snappy")).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "unsupported compression: snappy. Only \"gzip\" or no compression supported"
        );
    }

    #[test]
    fn decoding_bounds_and_errors() {
        let request = proto::ExportMetricsServiceRequest {
            resource_metrics: vec![proto::ResourceMetrics::default()],
        };
        let raw = request.encode_to_vec();
        let gz = BodyFormat {
            encoding: Encoding::Protobuf,
            gzip: true,
        };
        assert_eq!(decode(gz, &gzip(&raw), 1 << 20), Ok(request));
        // A gzip bomb stops at the limit.
        let bomb = gzip(&vec![0u8; 4 << 20]);
        assert_eq!(decode(gz, &bomb, 1 << 20).unwrap_err().status(), 413);
        assert_eq!(decode(gz, b"not gzip", 1 << 20).unwrap_err().status(), 400);
        let plain = BodyFormat {
            encoding: Encoding::Protobuf,
            gzip: false,
        };
        assert_eq!(
            decode(plain, &[0xff; 16], 1 << 20).unwrap_err().status(),
            400
        );
        assert_eq!(decode(plain, &[0; 64], 32).unwrap_err().status(), 413);
        // Nesting past prost's recursion limit is an error, not a stack overflow.
        let mut value = proto::AnyValue::default();
        for _ in 0..200 {
            value = proto::AnyValue {
                value: Some(proto::Value::ArrayValue(proto::ArrayValue {
                    values: vec![value],
                })),
            };
        }
        let deep = proto::ExportMetricsServiceRequest {
            resource_metrics: vec![proto::ResourceMetrics {
                resource: Some(proto::Resource {
                    attributes: vec![proto::KeyValue {
                        key: "a".into(),
                        value: Some(value),
                    }],
                }),
                scope_metrics: vec![],
            }],
        };
        assert_eq!(
            decode(plain, &deep.encode_to_vec(), 1 << 20)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn responses_in_the_request_encoding() {
        assert!(encode_response(Encoding::Protobuf, 0, "").is_empty());
        assert_eq!(encode_response(Encoding::Json, 0, ""), b"{}");
        let pb = encode_response(Encoding::Protobuf, 3, "why");
        let decoded = proto::ExportMetricsServiceResponse::decode(&pb[..]).unwrap();
        let partial = decoded.partial_success.unwrap();
        assert_eq!(partial.rejected_data_points, 3);
        assert_eq!(partial.error_message, "why");
        assert_eq!(
            String::from_utf8(encode_response(Encoding::Json, 3, "why")).unwrap(),
            r#"{"partialSuccess":{"rejectedDataPoints":"3","errorMessage":"why"}}"#
        );
    }
}
