//! The receiving side of remote write, as Prometheus's `/api/v1/write` (client_golang's
//! `remoteapi` handler and Prometheus's `writeHandler`): the encoding and message type from
//! the request headers (415 when unsupported), the snappy block body decompressed under a
//! size limit and decoded (400 when broken), then each series checked and turned into
//! samples to append. Series with invalid labels are skipped: silently counted for 1.0, an
//! error in the answer for 2.0 (a partial write), as upstream.

use model::histogram::HistogramValue;
use model::Labels;
use prost::Message;

use crate::proto;

/// The protobuf message of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// `prometheus.WriteRequest` (remote write 1.0).
    V1,
    /// `io.prometheus.write.v2.Request` (remote write 2.0).
    V2,
}

impl MessageType {
    pub fn name(self) -> &'static str {
        match self {
            MessageType::V1 => "prometheus.WriteRequest",
            MessageType::V2 => "io.prometheus.write.v2.Request",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [MessageType::V1, MessageType::V2]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

/// Joins message names as upstream lists them (`MessageTypes.String()`).
pub fn names(types: &[MessageType]) -> String {
    types
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A request refused before anything was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// 415: an encoding or message type this server does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 400: a body that does not decompress or decode.
    #[error("{0}")]
    BadRequest(String),
    /// 413: a body over the size limit.
    #[error("{0}")]
    TooLarge(String),
}

impl Refused {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Refused::UnsupportedMediaType(_) => 415,
            Refused::BadRequest(_) => 400,
            Refused::TooLarge(_) => 413,
        }
    }
}

/// Largest decompressed body taken (a 1.0 batch of Prometheus's default 2,000 samples is a
/// few hundred KiB; the cap leaves room for large batches and bounds the allocation).
pub const MAX_DECOMPRESSED_BYTES: usize = 128 << 20;

/// Samples written later than this after the receiver's clock are refused, as upstream's
/// `maxAheadTime`.
pub const MAX_AHEAD_MS: i64 = 10 * 60 * 1000;

/// The message type of a request from its `Content-Encoding` and `Content-Type` headers,
/// checked in upstream's order: the encoding (only snappy, or none), the media type
/// (`application/x-protobuf`, 1.0 without a `proto` parameter), then whether this server
/// accepts that message.
pub fn negotiate(
    content_encoding: Option<&str>,
    content_type: Option<&str>,
    accepted: &[MessageType],
) -> Result<MessageType, Refused> {
    if let Some(enc) = content_encoding.filter(|e| !e.is_empty() && *e != "snappy") {
        return Err(Refused::UnsupportedMediaType(format!(
            "{enc} encoding (compression) is not accepted by this server; only snappy is acceptable"
        )));
    }
    let content_type = content_type
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("application/x-protobuf");
    let mut parts = content_type.split(';');
    if parts.next() != Some("application/x-protobuf") {
        return Err(Refused::UnsupportedMediaType(format!(
            "expected application/x-protobuf as the first (media) part, got {content_type} content-type"
        )));
    }
    let mut message = MessageType::V1;
    for p in parts {
        let Some((k, v)) = p.split_once('=').filter(|(_, v)| !v.contains('=')) else {
            return Err(Refused::UnsupportedMediaType(format!(
                "as per https://www.rfc-editor.org/rfc/rfc9110#parameter expected parameters to be key-values, got {p} in {content_type} content-type"
            )));
        };
        if k.trim() == "proto" {
            message = MessageType::from_name(v.trim()).ok_or_else(|| {
                Refused::UnsupportedMediaType(format!(
                    "got {content_type} content type; unknown type for remote write protobuf message {}, supported: {}",
                    v.trim(),
                    names(&[MessageType::V1, MessageType::V2])
                ))
            })?;
            break;
        }
    }
    if !accepted.contains(&message) {
        return Err(Refused::UnsupportedMediaType(format!(
            "{} protobuf message is not accepted by this server; only accepts {}",
            message.name(),
            names(accepted)
        )));
    }
    Ok(message)
}

/// Decompresses a snappy block body, refusing one that would decompress past `max` bytes
/// before allocating for it.
pub fn decompress(body: &[u8], max: usize) -> Result<Vec<u8>, Refused> {
    let len = snap::raw::decompress_len(body).map_err(|e| Refused::BadRequest(e.to_string()))?;
    if len > max {
        return Err(Refused::TooLarge(format!(
            "the request decompresses to {len} bytes, over this server's limit of {max}"
        )));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| Refused::BadRequest(e.to_string()))
}

/// A decoded request: what to append, and what was refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    /// Float samples to append, series after series in request order.
    pub samples: Vec<(Labels, i64, f64)>,
    /// Native histogram samples to append, series after series in request order.
    pub histograms: Vec<(Labels, i64, HistogramValue)>,
    /// Exemplars to append, with their series, in request order.
    pub exemplars: Vec<(Labels, model::Exemplar)>,
    /// Samples of series refused for their labels
    /// (`prometheus_api_remote_write_invalid_labels_samples_total`).
    pub invalid_label_samples: usize,
    /// Samples (floats and histograms) refused before appending (too far in the future).
    pub refused_samples: usize,
    /// Why parts of the request were refused, in upstream's words; the answer is 400 with
    /// these when any (the rest is written).
    pub errors: Vec<String>,
}

/// Decodes a decompressed 1.0 `WriteRequest`. `now_ms` is the receiver's clock, for the
/// refusal of samples too far in the future.
pub fn decode_v1(body: &[u8], now_ms: i64) -> Result<WriteBatch, Refused> {
    let req = proto::WriteRequest::decode(body).map_err(|e| Refused::BadRequest(e.to_string()))?;
    let mut batch = WriteBatch::default();
    for ts in req.timeseries {
        let pairs: Vec<(String, String)> =
            ts.labels.into_iter().map(|l| (l.name, l.value)).collect();
        let samples = ts.samples.len() + ts.histograms.len();
        let labels = match checked_labels(&pairs) {
            Ok(l) => l,
            // 1.0: logged and counted by upstream, the request still succeeds.
            Err(_) => {
                batch.invalid_label_samples += samples;
                continue;
            }
        };
        push_samples(
            &mut batch,
            &labels,
            ts.samples.iter().map(|s| (s.timestamp, s.value)),
            now_ms,
        );
        push_histograms(&mut batch, &labels, &ts.histograms, now_ms);
        for e in ts.exemplars {
            let pairs = e.labels.into_iter().map(|l| (l.name, l.value));
            batch.exemplars.push((
                labels.clone(),
                exemplar(Labels::from_pairs(pairs), e.value, e.timestamp),
            ));
        }
    }
    Ok(batch)
}

/// Decodes a decompressed 2.0 `Request`: labels from the symbols table.
pub fn decode_v2(body: &[u8], now_ms: i64) -> Result<WriteBatch, Refused> {
    let req = proto::RequestV2::decode(body).map_err(|e| Refused::BadRequest(e.to_string()))?;
    let mut batch = WriteBatch::default();
    for ts in req.timeseries {
        let samples = ts.samples.len() + ts.histograms.len();
        let pairs = match resolve_refs(&ts.labels_refs, &req.symbols) {
            Ok(p) => p,
            Err(e) => {
                batch.errors.push(format!(
                    "parsing labels for series {:?}: {e}",
                    ts.labels_refs
                ));
                batch.invalid_label_samples += samples;
                continue;
            }
        };
        let labels = match checked_labels(&pairs) {
            Ok(l) => l,
            Err(e) => {
                batch.errors.push(e);
                batch.invalid_label_samples += samples;
                continue;
            }
        };
        if ts.samples.is_empty() && ts.histograms.is_empty() {
            batch.errors.push(format!(
                "TimeSeries must contain at least one sample or histogram for series {labels}"
            ));
            continue;
        }
        push_samples(
            &mut batch,
            &labels,
            ts.samples.iter().map(|s| (s.timestamp, s.value)),
            now_ms,
        );
        push_histograms(&mut batch, &labels, &ts.histograms, now_ms);
        for e in &ts.exemplars {
            match resolve_refs(&e.labels_refs, &req.symbols) {
                Ok(pairs) => batch.exemplars.push((
                    labels.clone(),
                    exemplar(Labels::from_pairs(pairs), e.value, e.timestamp),
                )),
                Err(err) => batch
                    .errors
                    .push(format!("parsing exemplar for series {labels}: {err}")),
            }
        }
    }
    Ok(batch)
}

/// Upstream's `ToExemplar`: a timestamp of 0 means none was given.
fn exemplar(labels: Labels, value: f64, timestamp_ms: i64) -> model::Exemplar {
    model::Exemplar {
        labels,
        value,
        timestamp_ms,
        has_timestamp: timestamp_ms != 0,
    }
}

fn push_samples(
    batch: &mut WriteBatch,
    labels: &Labels,
    samples: impl Iterator<Item = (i64, f64)>,
    now_ms: i64,
) {
    let limit = now_ms.saturating_add(MAX_AHEAD_MS);
    let mut too_new = 0;
    for (t, v) in samples {
        if t > limit {
            too_new += 1;
            continue;
        }
        batch.samples.push((labels.clone(), t, v));
    }
    if too_new > 0 {
        batch.refused_samples += too_new;
        batch.errors.push(format!(
            "out of bounds: timestamp is too far in the future for series {labels}"
        ));
    }
}

fn push_histograms(
    batch: &mut WriteBatch,
    labels: &Labels,
    histograms: &[proto::Histogram],
    now_ms: i64,
) {
    let limit = now_ms.saturating_add(MAX_AHEAD_MS);
    let mut too_new = 0;
    for h in histograms {
        if h.timestamp > limit {
            too_new += 1;
            continue;
        }
        batch
            .histograms
            .push((labels.clone(), h.timestamp, h.to_model()));
    }
    if too_new > 0 {
        batch.refused_samples += too_new;
        batch.errors.push(format!(
            "out of bounds: timestamp is too far in the future for series {labels}"
        ));
    }
}

/// The label pairs a 2.0 series or exemplar refers to in the symbols table.
fn resolve_refs(refs: &[u32], symbols: &[String]) -> Result<Vec<(String, String)>, String> {
    if !refs.len().is_multiple_of(2) {
        return Err(format!(
            "invalid labels_refs: an odd number of references ({})",
            refs.len()
        ));
    }
    let symbol = |r: u32| {
        symbols.get(r as usize).cloned().ok_or_else(|| {
            format!(
                "labels_refs {r} is outside of symbols table (size {})",
                symbols.len()
            )
        })
    };
    refs.chunks_exact(2)
        .map(|pair| Ok((symbol(pair[0])?, symbol(pair[1])?)))
        .collect()
}

/// Upstream's checks of a series' labels: a metric name, valid label names, no name twice.
fn checked_labels(pairs: &[(String, String)]) -> Result<Labels, String> {
    let labels = Labels::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let has_name = pairs.iter().any(|(k, v)| k == "__name__" && !v.is_empty());
    if !has_name || pairs.iter().any(|(k, _)| k.is_empty()) {
        return Err(format!("invalid metric name or labels, got {labels}"));
    }
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!(
            "invalid labels for series, labels {labels}, duplicated label {}",
            w[0]
        ));
    }
    Ok(labels)
}
