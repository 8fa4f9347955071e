//! Writing protobuf families (federation's protobuf answer): untyped samples, and native
//! histograms with their classic buckets.

use super::messages::*;

/// One untyped sample of [`encode_untyped_family`]: labels in the order to write them (the
/// metric name not among them), value and timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct UntypedSample {
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub timestamp_ms: i64,
}

/// Appends one `MetricFamily` of untyped samples to `out`, length-delimited as the
/// protobuf exposition (`encoding=delimited`) carries it: what federation answers.
pub fn encode_untyped_family(out: &mut Vec<u8>, name: &str, samples: &[UntypedSample]) {
    let family = MetricFamily {
        name: name.to_string(),
        kind: UNTYPED,
        metric: samples
            .iter()
            .map(|s| Metric {
                label: s
                    .labels
                    .iter()
                    .map(|(name, value)| LabelPair {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                untyped: Some(Untyped {
                    value: Some(s.value),
                }),
                timestamp_ms: s.timestamp_ms,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    // Writing to a Vec cannot fail.
    let _ = prost::Message::encode_length_delimited(&family, out);
}

/// One histogram sample of [`encode_histogram_family`]: labels in the order to write them
/// (the metric name not among them), the histogram and its timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramFamilySample {
    pub labels: Vec<(String, String)>,
    pub value: model::histogram::FloatHistogram,
    pub timestamp_ms: i64,
}

/// Appends one histogram `MetricFamily` (a gauge histogram with `gauge`) to `out`,
/// length-delimited, as federation answers native histograms: standard schemas with their
/// native buckets (float counts), custom bucket histograms (NHCB) as classic buckets.
pub fn encode_histogram_family(
    out: &mut Vec<u8>,
    name: &str,
    gauge: bool,
    samples: &[HistogramFamilySample],
) {
    let family = MetricFamily {
        name: name.to_string(),
        kind: if gauge { GAUGE_HISTOGRAM } else { HISTOGRAM },
        metric: samples
            .iter()
            .map(|s| Metric {
                label: s
                    .labels
                    .iter()
                    .map(|(name, value)| LabelPair {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                histogram: Some(histogram_message(&s.value)),
                timestamp_ms: s.timestamp_ms,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    // Writing to a Vec cannot fail.
    let _ = prost::Message::encode_length_delimited(&family, out);
}

/// Upstream's `makeNativeHistogram`, or `makeClassicHistogram` for custom buckets.
fn histogram_message(h: &model::histogram::FloatHistogram) -> Histogram {
    let spans = |spans: &[model::histogram::Span]| -> Vec<BucketSpan> {
        spans
            .iter()
            .map(|s| BucketSpan {
                offset: s.offset,
                length: s.length,
            })
            .collect()
    };
    if h.uses_custom_buckets() {
        return Histogram {
            sample_count_float: h.count,
            sample_sum: h.sum,
            bucket: classic_buckets(h)
                .into_iter()
                .map(|(upper_bound, cumulative)| Bucket {
                    cumulative_count: 0,
                    cumulative_count_float: cumulative,
                    upper_bound,
                    exemplar: None,
                })
                .collect(),
            ..Histogram::default()
        };
    }
    Histogram {
        sample_count_float: h.count,
        sample_sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count_float: h.zero_count,
        negative_span: spans(&h.negative_spans),
        negative_count: h.negative_buckets.clone(),
        positive_span: spans(&h.positive_spans),
        positive_count: h.positive_buckets.clone(),
        ..Histogram::default()
    }
}

/// A custom bucket histogram's classic buckets: (upper bound, cumulative count) for every
/// custom bound, the `+Inf` bucket left for the reader to add from the count.
pub fn classic_buckets(h: &model::histogram::FloatHistogram) -> Vec<(f64, f64)> {
    let mut counts = vec![0.0; h.custom_values.len()];
    let mut index: i64 = 0;
    let mut next = h.positive_buckets.iter();
    for span in &h.positive_spans {
        index += i64::from(span.offset);
        for _ in 0..span.length {
            let c = next.next().copied().unwrap_or(0.0);
            if let Some(slot) = usize::try_from(index).ok().and_then(|i| counts.get_mut(i)) {
                *slot = c;
            }
            index += 1;
        }
    }
    let mut cumulative = 0.0;
    h.custom_values
        .iter()
        .zip(counts)
        .map(|(&le, c)| {
            cumulative += c;
            (le, cumulative)
        })
        .collect()
}
