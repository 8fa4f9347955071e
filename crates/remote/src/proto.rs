//! The protobuf messages of remote write, as `prost` structs written from upstream's
//! `prompb/types.proto`, `remote.proto` (1.0, `prometheus.WriteRequest`) and
//! `prompb/io/prometheus/write/v2/types.proto` (2.0, `io.prometheus.write.v2.Request`).
//! Native histograms convert to and from the model's (`Histogram::to_model`).

/// `prometheus.WriteRequest` (1.0).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// A native histogram sample (the same message in 1.0 and 2.0): integer counts with
/// bucket deltas, or float counts with absolute buckets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    #[prost(oneof = "HistogramCount", tags = "1, 2")]
    pub count: Option<HistogramCount>,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(oneof = "HistogramZeroCount", tags = "6, 7")]
    pub zero_count: Option<HistogramZeroCount>,
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    /// 0 unknown, 1 reset, 2 no reset, 3 gauge.
    #[prost(int32, tag = "14")]
    pub reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
}

#[derive(Clone, Copy, PartialEq, prost::Oneof)]
pub enum HistogramCount {
    #[prost(uint64, tag = "1")]
    Int(u64),
    #[prost(double, tag = "2")]
    Float(f64),
}

#[derive(Clone, Copy, PartialEq, prost::Oneof)]
pub enum HistogramZeroCount {
    #[prost(uint64, tag = "6")]
    Int(u64),
    #[prost(double, tag = "7")]
    Float(f64),
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

pub use model::histogram::HistogramValue;

impl Histogram {
    /// Whether this is a float histogram (upstream's `IsFloatHistogram`: the count is a
    /// float).
    pub fn is_float(&self) -> bool {
        matches!(self.count, Some(HistogramCount::Float(_)))
    }

    /// The model histogram this message carries.
    pub fn to_model(&self) -> HistogramValue {
        use model::histogram::{CounterResetHint, FloatHistogram, Histogram as IntHistogram};
        let hint = match self.reset_hint {
            1 => CounterResetHint::CounterReset,
            2 => CounterResetHint::NotCounterReset,
            3 => CounterResetHint::Gauge,
            _ => CounterResetHint::Unknown,
        };
        let spans = |s: &[BucketSpan]| -> Vec<model::histogram::Span> {
            s.iter()
                .map(|s| model::histogram::Span::new(s.offset, s.length))
                .collect()
        };
        if self.is_float() {
            let count = match self.count {
                Some(HistogramCount::Float(c)) => c,
                Some(HistogramCount::Int(c)) => c as f64,
                None => 0.0,
            };
            let zero_count = match self.zero_count {
                Some(HistogramZeroCount::Float(c)) => c,
                Some(HistogramZeroCount::Int(c)) => c as f64,
                None => 0.0,
            };
            return HistogramValue::Float(FloatHistogram {
                counter_reset_hint: hint,
                schema: self.schema,
                zero_threshold: self.zero_threshold,
                zero_count,
                count,
                sum: self.sum,
                positive_spans: spans(&self.positive_spans),
                negative_spans: spans(&self.negative_spans),
                positive_buckets: self.positive_counts.clone(),
                negative_buckets: self.negative_counts.clone(),
                custom_values: self.custom_values.clone(),
            });
        }
        let count = match self.count {
            Some(HistogramCount::Int(c)) => c,
            _ => 0,
        };
        let zero_count = match self.zero_count {
            Some(HistogramZeroCount::Int(c)) => c,
            _ => 0,
        };
        HistogramValue::Int(IntHistogram {
            counter_reset_hint: hint,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count,
            count,
            sum: self.sum,
            positive_spans: spans(&self.positive_spans),
            negative_spans: spans(&self.negative_spans),
            positive_buckets: self.positive_deltas.clone(),
            negative_buckets: self.negative_deltas.clone(),
            custom_values: self.custom_values.clone(),
        })
    }

    /// The message for a model histogram at `timestamp`.
    pub fn from_model(value: &HistogramValue, timestamp: i64) -> Self {
        use model::histogram::CounterResetHint;
        let hint = |h: CounterResetHint| match h {
            CounterResetHint::Unknown => 0,
            CounterResetHint::CounterReset => 1,
            CounterResetHint::NotCounterReset => 2,
            CounterResetHint::Gauge => 3,
        };
        let spans = |s: &[model::histogram::Span]| -> Vec<BucketSpan> {
            s.iter()
                .map(|s| BucketSpan {
                    offset: s.offset,
                    length: s.length,
                })
                .collect()
        };
        match value {
            HistogramValue::Int(h) => Self {
                count: Some(HistogramCount::Int(h.count)),
                sum: h.sum,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: Some(HistogramZeroCount::Int(h.zero_count)),
                negative_spans: spans(&h.negative_spans),
                negative_deltas: h.negative_buckets.clone(),
                negative_counts: Vec::new(),
                positive_spans: spans(&h.positive_spans),
                positive_deltas: h.positive_buckets.clone(),
                positive_counts: Vec::new(),
                reset_hint: hint(h.counter_reset_hint),
                timestamp,
                custom_values: h.custom_values.clone(),
            },
            HistogramValue::Float(h) => Self {
                count: Some(HistogramCount::Float(h.count)),
                sum: h.sum,
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                zero_count: Some(HistogramZeroCount::Float(h.zero_count)),
                negative_spans: spans(&h.negative_spans),
                negative_deltas: Vec::new(),
                negative_counts: h.negative_buckets.clone(),
                positive_spans: spans(&h.positive_spans),
                positive_deltas: Vec::new(),
                positive_counts: h.positive_buckets.clone(),
                reset_hint: hint(h.counter_reset_hint),
                timestamp,
                custom_values: h.custom_values.clone(),
            },
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// `io.prometheus.write.v2.Request` (2.0).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestV2 {
    #[prost(string, repeated, tag = "4")]
    pub symbols: Vec<String>,
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeriesV2>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeriesV2 {
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<SampleV2>,
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<Histogram>,
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<ExemplarV2>,
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<MetadataV2>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SampleV2 {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
    #[prost(int64, tag = "3")]
    pub start_timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExemplarV2 {
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetadataV2 {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}

/// `prometheus.ReadRequest` (remote read).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadRequest {
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// [`RESPONSE_SAMPLES`] or [`RESPONSE_STREAMED_XOR_CHUNKS`], in the client's order of
    /// preference.
    #[prost(int32, repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

/// `ReadRequest.ResponseType.SAMPLES`: one snappy-compressed `ReadResponse`.
pub const RESPONSE_SAMPLES: i32 = 0;
/// `ReadRequest.ResponseType.STREAMED_XOR_CHUNKS`: framed `ChunkedReadResponse`s.
pub const RESPONSE_STREAMED_XOR_CHUNKS: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Query {
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
    #[prost(message, optional, tag = "4")]
    pub hints: Option<ReadHints>,
}

/// A matcher: `type` 0 `=`, 1 `!=`, 2 `=~`, 3 `!~`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelMatcher {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadHints {
    #[prost(int64, tag = "1")]
    pub step_ms: i64,
    #[prost(string, tag = "2")]
    pub func: String,
    #[prost(int64, tag = "3")]
    pub start_ms: i64,
    #[prost(int64, tag = "4")]
    pub end_ms: i64,
    #[prost(string, repeated, tag = "5")]
    pub grouping: Vec<String>,
    #[prost(bool, tag = "6")]
    pub by: bool,
    #[prost(int64, tag = "7")]
    pub range_ms: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadResponse {
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryResult {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChunkedReadResponse {
    #[prost(message, repeated, tag = "1")]
    pub chunked_series: Vec<ChunkedSeries>,
    #[prost(int64, tag = "2")]
    pub query_index: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChunkedSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub chunks: Vec<Chunk>,
}

/// A TSDB chunk; `type` 1 is XOR (the only one promethium reads or writes).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Chunk {
    #[prost(int64, tag = "1")]
    pub min_time_ms: i64,
    #[prost(int64, tag = "2")]
    pub max_time_ms: i64,
    #[prost(int32, tag = "3")]
    pub r#type: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
}

/// `Chunk.Encoding.XOR`.
pub const CHUNK_XOR: i32 = 1;
