//! Building request bodies from a batch of samples: `prometheus.WriteRequest` (1.0) or
//! `io.prometheus.write.v2.Request` (2.0), protobuf then Snappy's block format.
//!
//! The protobuf is written directly, not through owned message structs: a batch is
//! thousands of series with one sample each, and building `String`s for every label of
//! every series, only to drop them after encoding, was most of the sender's CPU. A series'
//! 1.0 labels are encoded once, when the queue first sees the series ([`SentSeries`]);
//! 2.0's symbol table borrows the batch's strings.

use std::sync::Arc;

use model::histogram::HistogramValue;
use model::Labels;
use rustc_hash::FxHashMap;

use prost::Message;

use super::metadata::{lookup, FamilyMap};

/// A series as sent (labels after external labels and `write_relabel_configs`), in the form
/// its queue's message needs, made once: a 1.0 queue keeps only the labels' 1.0 encoding
/// (the `TimeSeries.labels` fields; a queue holds every series, so one copy matters), a
/// 2.0 queue the labels (its symbol table is per request).
#[derive(Debug)]
pub(crate) enum SentSeries {
    V1(Box<[u8]>),
    V2(Labels),
}

fn v1_labels(labels: &Labels) -> Vec<u8> {
    let mut v1 = Vec::new();
    for l in labels.iter() {
        // Label { string name = 1; string value = 2; } as TimeSeries field 1.
        let len = field_len(l.name.len()) + field_len(l.value.len());
        v1.push(0x0a);
        put_varint(&mut v1, len as u64);
        put_bytes_field(&mut v1, 0x0a, l.name.as_bytes());
        put_bytes_field(&mut v1, 0x12, l.value.as_bytes());
    }
    v1
}

impl SentSeries {
    pub fn new(labels: Labels, v2: bool) -> Self {
        if v2 {
            SentSeries::V2(labels)
        } else {
            SentSeries::V1(v1_labels(&labels).into_boxed_slice())
        }
    }

    /// The labels as text, for logs.
    pub fn describe(&self) -> String {
        match self {
            SentSeries::V2(labels) => labels.to_string(),
            SentSeries::V1(bytes) => match crate::proto::TimeSeries::decode(bytes.as_ref()) {
                Ok(ts) => format!(
                    "{{{}}}",
                    ts.labels
                        .iter()
                        .map(|l| format!("{}={:?}", l.name, l.value))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(_) => String::new(),
            },
        }
    }
}

/// One sample waiting in a shard.
#[derive(Debug, Clone)]
pub(crate) struct QueuedSample {
    pub series: Arc<SentSeries>,
    pub t: i64,
    pub v: f64,
    /// A native histogram sample (then `v` is not used).
    pub histogram: Option<Arc<HistogramValue>>,
    /// An exemplar of the series instead of a sample (then `v` and `histogram` are not
    /// used; `t` is the exemplar's time).
    pub exemplar: Option<Arc<model::Exemplar>>,
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

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a length-delimited field (one-byte tag) holding `len` bytes.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

fn put_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The batch's sample indexes grouped by series (series in order of first appearance,
/// samples in batch order within each).
fn by_series(samples: &[QueuedSample]) -> Vec<(usize, Vec<usize>)> {
    let mut index: FxHashMap<*const SentSeries, usize> = FxHashMap::default();
    index.reserve(samples.len());
    let mut out: Vec<(usize, Vec<usize>)> = Vec::with_capacity(samples.len());
    for (i, s) in samples.iter().enumerate() {
        let at = *index.entry(Arc::as_ptr(&s.series)).or_insert_with(|| {
            out.push((i, Vec::with_capacity(1)));
            out.len() - 1
        });
        out[at].1.push(i);
    }
    out
}

/// `Sample { double value = 1; int64 timestamp = 2; }` (and 2.0's `int64
/// start_timestamp = 3` when not zero), as a length-delimited field `tag`.
fn put_sample(out: &mut Vec<u8>, tag: u8, v: f64, t: i64, st: Option<i64>) {
    let st = st.filter(|st| *st != 0);
    let len = 9 + 1 + varint_len(t as u64) + st.map_or(0, |st| 1 + varint_len(st as u64));
    out.push(tag);
    put_varint(out, len as u64);
    out.push(0x09);
    out.extend_from_slice(&v.to_le_bytes());
    out.push(0x10);
    put_varint(out, t as u64);
    if let Some(st) = st {
        out.push(0x18);
        put_varint(out, st as u64);
    }
}

/// A 1.0 request: series with their samples.
pub(crate) fn encode_v1(samples: &[QueuedSample]) -> Body {
    let mut highest = i64::MIN;
    let mut plain = Vec::with_capacity(samples.len() * 96);
    for (first, members) in by_series(samples) {
        let owned;
        let labels: &[u8] = match &*samples[first].series {
            SentSeries::V1(bytes) => bytes,
            // A 2.0 queue that fell back to 1.0.
            SentSeries::V2(labels) => {
                owned = v1_labels(labels);
                &owned
            }
        };
        let exemplars: Vec<Option<Vec<u8>>> = members
            .iter()
            .map(|&i| samples[i].exemplar.as_deref().map(exemplar_v1))
            .collect();
        let samples_len: usize = members
            .iter()
            .zip(&exemplars)
            .map(|(&i, exemplar)| match (exemplar, &samples[i].histogram) {
                (Some(e), _) => field_len(e.len()),
                (None, None) => field_len(9 + 1 + varint_len(samples[i].t as u64)),
                (None, Some(h)) => field_len(histogram_message(h, samples[i].t).encoded_len()),
            })
            .sum();
        // TimeSeries as WriteRequest field 1.
        plain.push(0x0a);
        put_varint(&mut plain, (labels.len() + samples_len) as u64);
        plain.extend_from_slice(labels);
        for (i, exemplar) in members.into_iter().zip(exemplars) {
            let s = &samples[i];
            if let Some(e) = exemplar {
                // TimeSeries.exemplars, field 3.
                put_bytes_field(&mut plain, 0x1a, &e);
                continue;
            }
            highest = highest.max(s.t);
            match &s.histogram {
                None => put_sample(&mut plain, 0x12, s.v, s.t, None),
                // TimeSeries.histograms, field 4.
                Some(h) => {
                    put_bytes_field(&mut plain, 0x22, &histogram_message(h, s.t).encode_to_vec())
                }
            }
        }
    }
    Body {
        bytes: crate::compress(&plain),
        highest,
    }
}

/// A 2.0 request: a symbol table (`""` first) and series referring to it, each with the
/// metadata of its family when `families` has it.
pub(crate) fn encode_v2(samples: &[QueuedSample], families: Option<&FamilyMap>) -> Body {
    let mut symbols: Vec<&str> = vec![""];
    let mut refs: FxHashMap<&str, u32> = FxHashMap::default();
    refs.insert("", 0);
    // Symbols are referenced before the table is complete: series are written to their
    // own buffer, the table goes first in the request.
    let mut series_out = Vec::with_capacity(samples.len() * 48);
    let mut refs_buf: Vec<u32> = Vec::new();
    let mut highest = i64::MIN;
    let mut body = Vec::new();
    let none = Labels::default();
    for (first, members) in by_series(samples) {
        // A 1.0 queue never encodes 2.0.
        let labels = match &*samples[first].series {
            SentSeries::V2(labels) => labels,
            SentSeries::V1(_) => &none,
        };
        refs_buf.clear();
        for l in labels.iter() {
            refs_buf.push(refs_of(&mut refs, &mut symbols, &l.name));
            refs_buf.push(refs_of(&mut refs, &mut symbols, &l.value));
        }
        let metadata = families
            .and_then(|f| lookup(f, labels.get(model::METRIC_NAME).unwrap_or("")))
            .map(|(kind, help, unit)| {
                (
                    *kind,
                    refs_of(&mut refs, &mut symbols, help),
                    refs_of(&mut refs, &mut symbols, unit),
                )
            });
        body.clear();
        // labels_refs: packed uint32, field 1.
        let packed: usize = refs_buf.iter().map(|r| varint_len(u64::from(*r))).sum();
        body.push(0x0a);
        put_varint(&mut body, packed as u64);
        for r in &refs_buf {
            put_varint(&mut body, u64::from(*r));
        }
        for &i in &members {
            let s = &samples[i];
            if let Some(e) = &s.exemplar {
                // TimeSeries.exemplars, field 4.
                let message = exemplar_v2(e, &mut refs, &mut symbols);
                put_bytes_field(&mut body, 0x22, &message);
                continue;
            }
            highest = highest.max(s.t);
            match &s.histogram {
                None => put_sample(&mut body, 0x12, s.v, s.t, Some(s.st)),
                // TimeSeries.histograms, field 3.
                Some(h) => {
                    put_bytes_field(&mut body, 0x1a, &histogram_message(h, s.t).encode_to_vec())
                }
            }
        }
        // metadata, field 5: type 1, help_ref 3, unit_ref 4 (zeros left out; an empty
        // message when nothing is known, as Prometheus sends).
        let (kind, help, unit) = metadata.unwrap_or((0, 0, 0));
        let mut meta = Vec::with_capacity(12);
        for (tag, v) in [
            (0x08u8, kind as u64),
            (0x18, u64::from(help)),
            (0x20, u64::from(unit)),
        ] {
            if v != 0 {
                meta.push(tag);
                put_varint(&mut meta, v);
            }
        }
        put_bytes_field(&mut body, 0x2a, &meta);
        // The series, field 5 of the request.
        put_bytes_field(&mut series_out, 0x2a, &body);
    }
    let mut plain =
        Vec::with_capacity(series_out.len() + symbols.iter().map(|s| s.len() + 3).sum::<usize>());
    for s in &symbols {
        put_bytes_field(&mut plain, 0x22, s.as_bytes());
    }
    plain.extend_from_slice(&series_out);
    Body {
        bytes: crate::compress(&plain),
        highest,
    }
}

/// 1.0's `Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }`.
fn exemplar_v1(e: &model::Exemplar) -> Vec<u8> {
    let mut out = v1_labels(&e.labels);
    out.push(0x11);
    out.extend_from_slice(&e.value.to_le_bytes());
    out.push(0x18);
    put_varint(&mut out, e.timestamp_ms as u64);
    out
}

/// 2.0's `Exemplar { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp =
/// 3; }`, its label strings added to the request's symbols.
fn exemplar_v2<'a>(
    e: &'a model::Exemplar,
    refs: &mut FxHashMap<&'a str, u32>,
    symbols: &mut Vec<&'a str>,
) -> Vec<u8> {
    let mut packed = Vec::new();
    for l in e.labels.iter() {
        put_varint(&mut packed, u64::from(refs_of(refs, symbols, &l.name)));
        put_varint(&mut packed, u64::from(refs_of(refs, symbols, &l.value)));
    }
    let mut out = Vec::with_capacity(packed.len() + 24);
    if !packed.is_empty() {
        put_bytes_field(&mut out, 0x0a, &packed);
    }
    out.push(0x11);
    out.extend_from_slice(&e.value.to_le_bytes());
    out.push(0x18);
    put_varint(&mut out, e.timestamp_ms as u64);
    out
}

/// The `Histogram` message (the same in 1.0 and 2.0).
fn histogram_message(h: &HistogramValue, t: i64) -> crate::proto::Histogram {
    crate::proto::Histogram::from_model(h, t)
}

/// The symbol's reference, adding it to the table when new.
fn refs_of<'a>(refs: &mut FxHashMap<&'a str, u32>, symbols: &mut Vec<&'a str>, s: &'a str) -> u32 {
    *refs.entry(s).or_insert_with(|| {
        symbols.push(s);
        (symbols.len() - 1) as u32
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;

    fn sample(series: &Arc<SentSeries>, t: i64, v: f64, st: i64) -> QueuedSample {
        QueuedSample {
            series: Arc::clone(series),
            t,
            v,
            histogram: None,
            exemplar: None,
            st,
            record: 0,
            segment: 0,
        }
    }

    #[test]
    fn histograms_go_in_their_own_field_in_both_versions() {
        use model::histogram::{FloatHistogram, Histogram, Span};
        let int = HistogramValue::Int(Histogram {
            count: 3,
            sum: 1.5,
            positive_spans: vec![Span::new(0, 2)],
            positive_buckets: vec![1, 1],
            ..Histogram::default()
        });
        let float = HistogramValue::Float(FloatHistogram {
            count: 2.5,
            positive_spans: vec![Span::new(-1, 1)],
            positive_buckets: vec![2.5],
            ..FloatHistogram::default()
        });
        for v2 in [false, true] {
            let a = Arc::new(SentSeries::new(Labels::from_pairs([("__name__", "h")]), v2));
            let mut batch = vec![
                sample(&a, 5, 7.0, 0),
                sample(&a, 10, 0.0, 0),
                sample(&a, 20, 0.0, 0),
            ];
            batch[1].histogram = Some(Arc::new(int.clone()));
            batch[2].histogram = Some(Arc::new(float.clone()));
            let (samples, histograms) = if v2 {
                let body = encode_v2(&batch, None);
                let mut req = proto::RequestV2::decode(plain(&body).as_slice()).unwrap();
                let ts = req.timeseries.remove(0);
                (ts.samples.len(), ts.histograms)
            } else {
                let body = encode_v1(&batch);
                let mut req = proto::WriteRequest::decode(plain(&body).as_slice()).unwrap();
                let ts = req.timeseries.remove(0);
                (ts.samples.len(), ts.histograms)
            };
            assert_eq!(samples, 1, "v2: {v2}");
            assert_eq!(histograms.len(), 2);
            assert_eq!(histograms[0].timestamp, 10);
            assert_eq!(histograms[0].to_model(), int);
            assert_eq!(histograms[1].to_model(), float);
        }
    }

    fn batch(v2: bool) -> Vec<QueuedSample> {
        let a = Arc::new(SentSeries::new(
            Labels::from_pairs([("__name__", "a"), ("job", "x")]),
            v2,
        ));
        let b = Arc::new(SentSeries::new(
            Labels::from_pairs([("__name__", "b"), ("job", "x")]),
            v2,
        ));
        vec![
            sample(&a, 1, 1.0, 0),
            sample(&b, 1, 2.0, 0),
            sample(&a, 2, 3.0, 1),
            sample(&b, -5, 0.0, 0),
        ]
    }

    fn plain(body: &Body) -> Vec<u8> {
        snap::raw::Decoder::new()
            .decompress_vec(&body.bytes)
            .unwrap()
    }

    #[test]
    fn v1_decodes_as_the_messages_with_samples_grouped_by_series() {
        let body = encode_v1(&batch(false));
        // A 2.0 queue's series encode the same (after a fallback).
        assert_eq!(plain(&encode_v1(&batch(true))), plain(&body));
        assert_eq!(body.highest, 2);
        let request = proto::WriteRequest::decode(plain(&body).as_slice()).unwrap();
        let want = proto::WriteRequest {
            timeseries: vec![
                proto::TimeSeries {
                    labels: vec![
                        proto::Label {
                            name: "__name__".into(),
                            value: "a".into(),
                        },
                        proto::Label {
                            name: "job".into(),
                            value: "x".into(),
                        },
                    ],
                    samples: vec![
                        proto::Sample {
                            value: 1.0,
                            timestamp: 1,
                        },
                        proto::Sample {
                            value: 3.0,
                            timestamp: 2,
                        },
                    ],
                    ..Default::default()
                },
                proto::TimeSeries {
                    labels: vec![
                        proto::Label {
                            name: "__name__".into(),
                            value: "b".into(),
                        },
                        proto::Label {
                            name: "job".into(),
                            value: "x".into(),
                        },
                    ],
                    samples: vec![
                        proto::Sample {
                            value: 2.0,
                            timestamp: 1,
                        },
                        proto::Sample {
                            value: 0.0,
                            timestamp: -5,
                        },
                    ],
                    ..Default::default()
                },
            ],
            metadata: vec![],
        };
        assert_eq!(request, want);
    }

    #[test]
    fn v2_shares_symbols_and_starts_with_the_empty_string() {
        let mut families = FamilyMap::default();
        families.insert("a".into(), (2, "help a".into(), String::new()));
        let body = encode_v2(&batch(true), Some(&families));
        let request = proto::RequestV2::decode(plain(&body).as_slice()).unwrap();
        assert_eq!(
            request.symbols,
            vec!["", "__name__", "a", "job", "x", "help a", "b"]
        );
        let a = &request.timeseries[0];
        assert_eq!(a.labels_refs, vec![1, 2, 3, 4]);
        assert_eq!(
            a.samples,
            vec![
                proto::SampleV2 {
                    value: 1.0,
                    timestamp: 1,
                    start_timestamp: 0
                },
                proto::SampleV2 {
                    value: 3.0,
                    timestamp: 2,
                    start_timestamp: 1
                }
            ]
        );
        assert_eq!(
            a.metadata,
            Some(proto::MetadataV2 {
                r#type: 2,
                help_ref: 5,
                unit_ref: 0
            })
        );
        let b = &request.timeseries[1];
        assert_eq!(b.labels_refs, vec![1, 6, 3, 4]);
        assert_eq!(b.metadata, Some(proto::MetadataV2::default()));
        assert_eq!(b.samples[1].timestamp, -5);
    }
}
