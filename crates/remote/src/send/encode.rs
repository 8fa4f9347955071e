//! Building request bodies from a batch of samples: `prometheus.WriteRequest` (1.0) or
//! `io.prometheus.write.v2.Request` (2.0), protobuf then Snappy's block format.

use std::sync::Arc;

use model::Labels;
use prost::Message;
use rustc_hash::FxHashMap;

use super::metadata::{lookup, FamilyMap};
use crate::proto;

/// One sample waiting in a shard.
#[derive(Debug, Clone)]
pub(crate) struct QueuedSample {
    /// The series' labels as sent (after external labels and `write_relabel_configs`).
    pub series: Arc<Labels>,
    pub t: i64,
    pub v: f64,
    /// Start (created) timestamp, 0 when none: sent by 2.0 only.
    pub st: i64,
    /// The WAL record it came from (see `ledger`), and that record's segment.
    pub record: u64,
    pub segment: u64,
}

/// An encoded request.
pub(crate) struct Body {
    pub bytes: Vec<u8>,
    /// The highest sample timestamp in it (ms).
    pub highest: i64,
}

/// The batch's samples grouped by series, in order of first appearance, each series'
/// samples in batch order.
fn by_series(samples: &[QueuedSample]) -> Vec<(&Arc<Labels>, Vec<&QueuedSample>)> {
    let mut index: FxHashMap<*const Labels, usize> = FxHashMap::default();
    let mut out: Vec<(&Arc<Labels>, Vec<&QueuedSample>)> = Vec::new();
    for s in samples {
        let at = *index.entry(Arc::as_ptr(&s.series)).or_insert_with(|| {
            out.push((&s.series, Vec::new()));
            out.len() - 1
        });
        out[at].1.push(s);
    }
    out
}

fn compress(plain: &[u8]) -> Vec<u8> {
    // Snappy of a buffer we built cannot fail (only inputs over 4 GiB do); an empty body
    // is sent if it somehow does, which the receiver refuses and the batch is counted.
    snap::raw::Encoder::new()
        .compress_vec(plain)
        .unwrap_or_default()
}

/// A 1.0 request: series with their samples.
pub(crate) fn encode_v1(samples: &[QueuedSample]) -> Body {
    let mut highest = i64::MIN;
    let timeseries = by_series(samples)
        .into_iter()
        .map(|(labels, samples)| proto::TimeSeries {
            labels: labels
                .iter()
                .map(|l| proto::Label {
                    name: l.name.to_string(),
                    value: l.value.to_string(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|s| {
                    highest = highest.max(s.t);
                    proto::Sample {
                        value: s.v,
                        timestamp: s.t,
                    }
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let request = proto::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    };
    Body {
        bytes: compress(&request.encode_to_vec()),
        highest,
    }
}

/// A 2.0 request: a symbol table (`""` first) and series referring to it, each with the
/// metadata of its family when `families` has it.
pub(crate) fn encode_v2(samples: &[QueuedSample], families: Option<&FamilyMap>) -> Body {
    let mut symbols: Vec<String> = vec![String::new()];
    let mut refs: FxHashMap<String, u32> = FxHashMap::default();
    refs.insert(String::new(), 0);
    let mut symbol = |s: &str| -> u32 {
        if let Some(r) = refs.get(s) {
            return *r;
        }
        let r = symbols.len() as u32;
        symbols.push(s.to_string());
        refs.insert(s.to_string(), r);
        r
    };
    let mut highest = i64::MIN;
    let timeseries = by_series(samples)
        .into_iter()
        .map(|(labels, samples)| proto::TimeSeriesV2 {
            labels_refs: labels
                .iter()
                .flat_map(|l| [symbol(&l.name), symbol(&l.value)])
                .collect(),
            samples: samples
                .iter()
                .map(|s| {
                    highest = highest.max(s.t);
                    proto::SampleV2 {
                        value: s.v,
                        timestamp: s.t,
                        start_timestamp: s.st,
                    }
                })
                .collect(),
            metadata: Some(
                families
                    .and_then(|f| lookup(f, labels.get(model::METRIC_NAME).unwrap_or("")))
                    .map_or_else(proto::MetadataV2::default, |(kind, help, unit)| {
                        proto::MetadataV2 {
                            r#type: *kind,
                            help_ref: symbol(help),
                            unit_ref: symbol(unit),
                        }
                    }),
            ),
            ..Default::default()
        })
        .collect();
    let request = proto::RequestV2 {
        symbols,
        timeseries,
    };
    Body {
        bytes: compress(&request.encode_to_vec()),
        highest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(series: &Arc<Labels>, t: i64, v: f64) -> QueuedSample {
        QueuedSample {
            series: Arc::clone(series),
            t,
            v,
            st: 0,
            record: 0,
            segment: 0,
        }
    }

    fn batch() -> Vec<QueuedSample> {
        let a = Arc::new(Labels::from_pairs([("__name__", "a"), ("job", "x")]));
        let b = Arc::new(Labels::from_pairs([("__name__", "b"), ("job", "x")]));
        vec![sample(&a, 1, 1.0), sample(&b, 1, 2.0), sample(&a, 2, 3.0)]
    }

    #[test]
    fn v1_groups_samples_by_series_in_order() {
        let body = encode_v1(&batch());
        assert_eq!(body.highest, 2);
        let plain = snap::raw::Decoder::new()
            .decompress_vec(&body.bytes)
            .unwrap();
        let request = proto::WriteRequest::decode(plain.as_slice()).unwrap();
        assert_eq!(request.timeseries.len(), 2);
        let a = &request.timeseries[0];
        assert_eq!(a.labels[0].value, "a");
        assert_eq!(
            a.samples.iter().map(|s| s.timestamp).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn v2_shares_symbols_and_starts_with_the_empty_string() {
        let body = encode_v2(&batch(), None);
        let plain = snap::raw::Decoder::new()
            .decompress_vec(&body.bytes)
            .unwrap();
        let request = proto::RequestV2::decode(plain.as_slice()).unwrap();
        assert_eq!(request.symbols, vec!["", "__name__", "a", "job", "x", "b"]);
        assert_eq!(request.timeseries[1].labels_refs, vec![1, 5, 3, 4]);
        assert_eq!(request.timeseries[0].samples.len(), 2);
    }
}
