//! client_model's metrics.proto messages (the parts the exposition uses), decoded with
//! prost, and the native histogram a `Histogram` message holds.

use model::histogram::HistogramValue;

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct LabelPair {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Gauge {
    #[prost(double, tag = "1")]
    pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Counter {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(message, optional, tag = "2")]
    pub exemplar: Option<Exemplar>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

impl Exemplar {
    /// The exemplar as stored; without a timestamp of its own it gets `default_ms` (the
    /// sample's time), as Prometheus gives it.
    pub(crate) fn to_model(&self, default_ms: i64) -> model::Exemplar {
        let ts = self.timestamp.as_ref().map(|t| {
            t.seconds
                .saturating_mul(1000)
                .saturating_add(i64::from(t.nanos / 1_000_000))
        });
        model::Exemplar {
            labels: model::Labels::from_pairs(
                self.label
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str())),
            ),
            value: self.value,
            timestamp_ms: ts.unwrap_or(default_ms),
            has_timestamp: ts.is_some(),
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Quantile {
    #[prost(double, tag = "1")]
    pub quantile: f64,
    #[prost(double, tag = "2")]
    pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Summary {
    #[prost(uint64, tag = "1")]
    pub sample_count: u64,
    #[prost(double, tag = "2")]
    pub sample_sum: f64,
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Untyped {
    /// proto2's optional field: written even when zero, so that a negative zero keeps its
    /// sign on the way out (federation), as Go writes it.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Bucket {
    #[prost(uint64, tag = "1")]
    pub cumulative_count: u64,
    #[prost(double, tag = "4")]
    pub cumulative_count_float: f64,
    #[prost(double, tag = "2")]
    pub upper_bound: f64,
    #[prost(message, optional, tag = "3")]
    pub exemplar: Option<Exemplar>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Histogram {
    #[prost(uint64, tag = "1")]
    pub sample_count: u64,
    #[prost(double, tag = "4")]
    pub sample_count_float: f64,
    #[prost(double, tag = "2")]
    pub sample_sum: f64,
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    #[prost(sint32, tag = "5")]
    pub schema: i32,
    #[prost(double, tag = "6")]
    pub zero_threshold: f64,
    #[prost(uint64, tag = "7")]
    pub zero_count: u64,
    #[prost(double, tag = "8")]
    pub zero_count_float: f64,
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "10")]
    pub negative_delta: Vec<i64>,
    #[prost(double, repeated, tag = "11")]
    pub negative_count: Vec<f64>,
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "13")]
    pub positive_delta: Vec<i64>,
    #[prost(double, repeated, tag = "14")]
    pub positive_count: Vec<f64>,
    /// Native histograms' exemplars (each with a timestamp).
    #[prost(message, repeated, tag = "16")]
    pub exemplars: Vec<Exemplar>,
}

impl Histogram {
    /// Whether it has native buckets (upstream's `isNativeHistogram`).
    pub(crate) fn is_native(&self) -> bool {
        !self.positive_span.is_empty()
            || !self.negative_span.is_empty()
            || self.zero_threshold > 0.0
            || self.zero_count > 0
            || self.zero_count_float > 0.0
    }

    /// The native histogram (float when its counts are floats).
    pub(crate) fn into_native(self, gauge: bool) -> HistogramValue {
        use model::histogram::{CounterResetHint, FloatHistogram, Histogram as IntHistogram, Span};
        let hint = if gauge {
            CounterResetHint::Gauge
        } else {
            CounterResetHint::Unknown
        };
        let spans = |s: &[BucketSpan]| -> Vec<Span> {
            s.iter().map(|s| Span::new(s.offset, s.length)).collect()
        };
        if self.sample_count_float > 0.0 || self.zero_count_float > 0.0 {
            return HistogramValue::Float(FloatHistogram {
                counter_reset_hint: hint,
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count: self.zero_count_float,
                count: self.sample_count_float,
                sum: self.sample_sum,
                positive_spans: spans(&self.positive_span),
                negative_spans: spans(&self.negative_span),
                positive_buckets: self.positive_count,
                negative_buckets: self.negative_count,
                custom_values: Vec::new(),
            });
        }
        HistogramValue::Int(IntHistogram {
            counter_reset_hint: hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            count: self.sample_count,
            sum: self.sample_sum,
            positive_spans: spans(&self.positive_span),
            negative_spans: spans(&self.negative_span),
            positive_buckets: self.positive_delta,
            negative_buckets: self.negative_delta,
            custom_values: Vec::new(),
        })
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Metric {
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Gauge>,
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Counter>,
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Untyped>,
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
    #[prost(int64, tag = "6")]
    pub timestamp_ms: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct MetricFamily {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub help: String,
    #[prost(int32, tag = "3")]
    pub kind: i32,
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
    #[prost(string, tag = "5")]
    pub unit: String,
}

pub(crate) const COUNTER: i32 = 0;
pub(crate) const GAUGE: i32 = 1;
pub(crate) const SUMMARY: i32 = 2;
pub(crate) const UNTYPED: i32 = 3;
pub(crate) const HISTOGRAM: i32 = 4;
pub(crate) const GAUGE_HISTOGRAM: i32 = 5;
