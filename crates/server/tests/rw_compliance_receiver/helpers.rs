//! Go's `helpers_test.go`: the requests as upstream builds them (`generateRequest`,
//! `histogram`), the check of the answer (`validateResponse`), and `runComplianceTest`.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use remote::proto;

use crate::common::{self, Reply};

/// Go's `value.StaleNaN`: the stale marker.
pub const STALE_NAN: f64 = f64::from_bits(0x7ff0_0000_0000_0002);
/// Go's `value.NormalNaN`: the NaN Prometheus writes for a NaN value.
pub const NORMAL_NAN: f64 = f64::from_bits(0x7ff8_0000_0000_0001);

/// A label set in the order the Go test's map literal lists it. Go sends its maps in random
/// order; the order of the source, often unsorted (`__name__`, `job`, `instance`), is one of
/// those and makes the receiver sort as Go's random order does.
pub type LabelPairs = Vec<(String, String)>;

pub fn labels(pairs: &[(&str, &str)]) -> LabelPairs {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Go's `basicMetric`: just the metric name.
pub fn basic_metric(name: &str) -> LabelPairs {
    labels(&[("__name__", name)])
}

/// Go's `testJobInstanceLabels`.
pub fn test_job_instance_labels() -> LabelPairs {
    labels(&[
        ("__name__", "up"),
        ("job", "testjob"),
        ("instance", "localhost:9090"),
    ])
}

/// Go's `traceExemplar`: exemplar labels with a trace ID.
pub fn trace_exemplar(trace_id: &str) -> LabelPairs {
    labels(&[("trace_id", trace_id)])
}

/// A label set as a Go map compares: by content, not order.
fn label_map(labels: &LabelPairs) -> BTreeMap<&str, &str> {
    labels
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// Go's `labelsMatch`.
fn labels_match(a: &LabelPairs, b: &LabelPairs) -> bool {
    label_map(a) == label_map(b)
}

/// Go's `labels["__name__"]`: empty when there is none.
pub fn metric_name(labels: &LabelPairs) -> &str {
    labels
        .iter()
        .find(|(name, _)| name == "__name__")
        .map_or("", |(_, value)| value.as_str())
}

/// Go's `SampleWithLabels`; offsets are from the moment the request is built.
#[derive(Clone, Debug, Default)]
pub struct SampleWithLabels {
    pub labels: LabelPairs,
    pub value: f64,
    pub offset_ms: i64,
    pub created_offset_ms: Option<i64>,
}

pub fn sample(labels: LabelPairs, value: f64) -> SampleWithLabels {
    SampleWithLabels {
        labels,
        value,
        ..Default::default()
    }
}

/// Go's `HistogramWithLabels`.
#[derive(Clone, Debug, Default)]
pub struct HistogramWithLabels {
    pub labels: LabelPairs,
    pub histogram: HistogramV2,
    pub offset_ms: i64,
    pub created_offset_ms: Option<i64>,
}

pub fn histogram_sample(labels: LabelPairs, histogram: HistogramV2) -> HistogramWithLabels {
    HistogramWithLabels {
        labels,
        histogram,
        ..Default::default()
    }
}

/// Go's `ExemplarWithLabels`: the series' labels and the exemplar's own.
#[derive(Clone, Debug, Default)]
pub struct ExemplarWithLabels {
    pub labels: LabelPairs,
    pub exemplar_labels: LabelPairs,
    pub value: f64,
    pub offset_ms: i64,
}

pub fn exemplar(labels: LabelPairs, exemplar_labels: LabelPairs, value: f64) -> ExemplarWithLabels {
    ExemplarWithLabels {
        labels,
        exemplar_labels,
        value,
        ..Default::default()
    }
}

/// 2.0's `Metadata.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Unspecified = 0,
    Counter = 1,
    Gauge = 2,
    Histogram = 3,
    GaugeHistogram = 4,
    Summary = 5,
    Info = 6,
    StateSet = 7,
}

/// Go's `MetadataWithLabels`.
#[derive(Clone, Debug)]
pub struct MetadataWithLabels {
    pub labels: LabelPairs,
    pub metric_type: MetricType,
    pub help: String,
    pub unit: String,
}

pub fn metadata(
    labels: LabelPairs,
    metric_type: MetricType,
    help: &str,
    unit: &str,
) -> MetadataWithLabels {
    MetadataWithLabels {
        labels,
        metric_type,
        help: help.to_string(),
        unit: unit.to_string(),
    }
}

/// Go's `RequestOpts`: what a request carries.
#[derive(Clone, Debug, Default)]
pub struct RequestOpts {
    pub samples: Vec<SampleWithLabels>,
    pub exemplars: Vec<ExemplarWithLabels>,
    pub metadata: Vec<MetadataWithLabels>,
    pub histograms: Vec<HistogramWithLabels>,
    /// Skips the checks that every exemplar and metadata belongs to a sample or histogram
    /// sent, for requests that test exactly that.
    pub unsafe_request: bool,
}

/// 2.0's `Histogram` in full, as a sender encodes it: `remote::proto::Histogram` decodes only
/// its timestamp (what the receiver reads). Only the integer forms of the `count` and
/// `zero_count` oneofs are used, so they are optional fields here (a set oneof is encoded
/// even when zero).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramV2 {
    #[prost(uint64, optional, tag = "1")]
    pub count_int: Option<u64>,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(uint64, optional, tag = "6")]
    pub zero_count_int: Option<u64>,
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
    #[prost(int64, tag = "17")]
    pub start_timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// 2.0's `TimeSeries` with full histograms: `remote::proto::TimeSeriesV2` but for the type of
/// `histograms`; the samples, exemplars and metadata are the crate's messages.
#[derive(Clone, PartialEq, prost::Message)]
struct TimeSeriesWithHistograms {
    #[prost(uint32, repeated, tag = "1")]
    labels_refs: Vec<u32>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<proto::SampleV2>,
    #[prost(message, repeated, tag = "3")]
    histograms: Vec<HistogramV2>,
    #[prost(message, repeated, tag = "4")]
    exemplars: Vec<proto::ExemplarV2>,
    #[prost(message, optional, tag = "5")]
    metadata: Option<proto::MetadataV2>,
}

/// 2.0's `Request` of those series.
#[derive(Clone, PartialEq, prost::Message)]
struct RequestWithHistograms {
    #[prost(string, repeated, tag = "4")]
    symbols: Vec<String>,
    #[prost(message, repeated, tag = "5")]
    timeseries: Vec<TimeSeriesWithHistograms>,
}

/// Which buckets Go's `histogram` fills (its boolean parameters, named).
#[derive(Clone, Copy, Debug, Default)]
pub struct Buckets {
    pub positive: bool,
    pub negative: bool,
    pub zero: bool,
    pub custom: bool,
    /// A count that does not add up (99).
    pub bad_count: bool,
}

/// Go's `histogram`: a native histogram with the buckets asked for and the count they add up
/// to.
pub fn histogram(sum: f64, buckets: Buckets) -> HistogramV2 {
    let mut hist = HistogramV2 {
        sum,
        ..Default::default()
    };
    let mut count = 0;
    if buckets.positive {
        hist.positive_spans = vec![span(0, 3), span(2, 2)];
        // Deltas decode to [1, 3, 4, 7, 8], which sum to 23.
        hist.positive_deltas = vec![1, 2, 1, 3, 1];
        count += 23;
    }
    if buckets.negative {
        hist.negative_spans = vec![span(0, 2)];
        // Deltas decode to [1, 2], which sum to 3.
        hist.negative_deltas = vec![1, 1];
        count += 3;
    }
    if buckets.zero {
        hist.zero_count_int = Some(1);
        count += 1;
    }
    if buckets.custom {
        // Custom buckets replace the exponential positive ones: 6 buckets of counts
        // [2, 3, 5, 8, 7, 5], 30 in all.
        hist.schema = -53;
        hist.custom_values = vec![0.1, 0.5, 1.0, 2.5, 5.0, 10.0];
        hist.positive_spans = vec![span(0, 6)];
        hist.positive_deltas = vec![2, 1, 2, 3, -1, -2];
        count = 30;
    }
    if buckets.bad_count {
        count = 99;
    }
    hist.count_int = Some(count);
    hist
}

fn span(offset: i32, length: u32) -> BucketSpan {
    BucketSpan { offset, length }
}

/// Go's `writev2.SymbolTable`: each string once, the empty string first.
struct SymbolTable {
    symbols: Vec<String>,
    refs: HashMap<String, u32>,
}

impl SymbolTable {
    fn new() -> Self {
        let mut table = SymbolTable {
            symbols: Vec::new(),
            refs: HashMap::new(),
        };
        table.symbolize("");
        table
    }

    fn symbolize(&mut self, s: &str) -> u32 {
        if let Some(r) = self.refs.get(s) {
            return *r;
        }
        let r = self.symbols.len() as u32;
        self.symbols.push(s.to_string());
        self.refs.insert(s.to_string(), r);
        r
    }

    fn symbolize_labels(&mut self, labels: &LabelPairs) -> Vec<u32> {
        labels
            .iter()
            .flat_map(|(name, value)| [self.symbolize(name), self.symbolize(value)])
            .collect()
    }
}

/// A float sample a request carries, to read back once the receiver says it wrote it.
#[derive(Clone, Debug)]
pub struct SentSample {
    pub labels: LabelPairs,
    pub timestamp_ms: i64,
    pub value: f64,
}

/// A remote-write request: its headers and its (compressed) body.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub float_samples: Vec<SentSample>,
    /// Exemplars sent: (series labels, exemplar labels, value, timestamp ms).
    pub exemplars: Vec<(LabelPairs, LabelPairs, f64, i64)>,
}

impl HttpRequest {
    /// Go's `Header.Set`: replaces the header's value.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// Go's `corruptRequestBody`: the first byte (snappy's length varint) made `'0'`.
    pub fn corrupt_body(&mut self) {
        self.body[0] = b'0';
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Go's `generateRequest`: a 2.0 request of the samples and histograms (one each series
/// entry), the exemplars on the series with their labels (one on each entry, the rest on the
/// last entry of the series), the metadata on the series with their metric name, and
/// exemplars and metadata that match nothing as series of their own. Panics, as Go does, on
/// an exemplar or metadata without its data unless `unsafe_request`.
pub fn generate_request(opts: &RequestOpts) -> HttpRequest {
    let now = now_ms();
    if !opts.unsafe_request {
        assert!(
            opts.samples.is_empty() || opts.histograms.is_empty(),
            "cannot have both Samples and Histograms in the same request"
        );
        for e in &opts.exemplars {
            let found = opts
                .samples
                .iter()
                .any(|s| labels_match(&s.labels, &e.labels))
                || opts
                    .histograms
                    .iter()
                    .any(|h| labels_match(&h.labels, &e.labels));
            assert!(
                found,
                "exemplar has no matching sample or histogram with same label set"
            );
        }
        for m in &opts.metadata {
            let name = metric_name(&m.labels);
            let found = opts.samples.iter().any(|s| metric_name(&s.labels) == name)
                || opts
                    .histograms
                    .iter()
                    .any(|h| metric_name(&h.labels) == name);
            assert!(
                found,
                "metadata has no matching sample or histogram with same metric name"
            );
        }
    }

    let mut symbols = SymbolTable::new();
    let mut timeseries = Vec::new();

    // Metadata by metric name; with `unsafe_request` also that of an empty name.
    let mut metadata_by_name: HashMap<&str, proto::MetadataV2> = HashMap::new();
    for m in &opts.metadata {
        let name = metric_name(&m.labels);
        if !name.is_empty() || opts.unsafe_request {
            let metadata = proto::MetadataV2 {
                r#type: m.metric_type as i32,
                help_ref: symbols.symbolize(&m.help),
                unit_ref: symbols.symbolize(&m.unit),
            };
            metadata_by_name.insert(name, metadata);
        }
    }
    // Go's `Metadata` is not nullable: every series carries one, empty when none applies.
    let metadata_of = |labels: &LabelPairs| {
        let name = metric_name(labels);
        let found = (!name.is_empty() || opts.unsafe_request)
            .then(|| metadata_by_name.get(name).cloned())
            .flatten();
        Some(found.unwrap_or_default())
    };

    let mut used_exemplars = vec![false; opts.exemplars.len()];
    // An entry takes the first unused exemplar of its series; the series' last entry takes
    // them all.
    let mut attach_exemplars = |series: &LabelPairs, is_last: bool, symbols: &mut SymbolTable| {
        let mut attached = Vec::new();
        for (i, e) in opts.exemplars.iter().enumerate() {
            if used_exemplars[i] || !labels_match(series, &e.labels) {
                continue;
            }
            attached.push(proto::ExemplarV2 {
                labels_refs: symbols.symbolize_labels(&e.exemplar_labels),
                value: e.value,
                timestamp: now + e.offset_ms,
            });
            used_exemplars[i] = true;
            if !is_last {
                break;
            }
        }
        attached
    };

    let last_sample_of_series: HashMap<BTreeMap<&str, &str>, usize> = opts
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| (label_map(&s.labels), i))
        .collect();
    for (i, s) in opts.samples.iter().enumerate() {
        let labels_refs = symbols.symbolize_labels(&s.labels);
        let is_last = last_sample_of_series[&label_map(&s.labels)] == i;
        let exemplars = attach_exemplars(&s.labels, is_last, &mut symbols);
        timeseries.push(TimeSeriesWithHistograms {
            labels_refs,
            samples: vec![proto::SampleV2 {
                value: s.value,
                timestamp: now + s.offset_ms,
                // Go sets the series' `created_timestamp` of an earlier 2.0 draft; the spec
                // now has it as the sample's start timestamp.
                start_timestamp: s.created_offset_ms.map_or(0, |offset| now + offset),
            }],
            exemplars,
            metadata: metadata_of(&s.labels),
            ..Default::default()
        });
    }

    let last_histogram_of_series: HashMap<BTreeMap<&str, &str>, usize> = opts
        .histograms
        .iter()
        .enumerate()
        .map(|(i, h)| (label_map(&h.labels), i))
        .collect();
    for (i, h) in opts.histograms.iter().enumerate() {
        let labels_refs = symbols.symbolize_labels(&h.labels);
        let mut histogram = h.histogram.clone();
        histogram.timestamp = now + h.offset_ms;
        histogram.start_timestamp = h.created_offset_ms.map_or(0, |offset| now + offset);
        let is_last = last_histogram_of_series[&label_map(&h.labels)] == i;
        let exemplars = attach_exemplars(&h.labels, is_last, &mut symbols);
        timeseries.push(TimeSeriesWithHistograms {
            labels_refs,
            histograms: vec![histogram],
            exemplars,
            metadata: metadata_of(&h.labels),
            ..Default::default()
        });
    }

    // Exemplars of no series sent: a series of their own.
    for (i, e) in opts.exemplars.iter().enumerate() {
        let matched = used_exemplars[i]
            || opts
                .samples
                .iter()
                .any(|s| labels_match(&s.labels, &e.labels))
            || opts
                .histograms
                .iter()
                .any(|h| labels_match(&h.labels, &e.labels));
        if matched {
            continue;
        }
        let labels_refs = symbols.symbolize_labels(&e.labels);
        let exemplar = proto::ExemplarV2 {
            labels_refs: symbols.symbolize_labels(&e.exemplar_labels),
            value: e.value,
            timestamp: now + e.offset_ms,
        };
        timeseries.push(TimeSeriesWithHistograms {
            labels_refs,
            exemplars: vec![exemplar],
            metadata: Some(proto::MetadataV2::default()),
            ..Default::default()
        });
    }

    // Metadata of no metric sent: a series of its own.
    for m in &opts.metadata {
        let name = metric_name(&m.labels);
        if name.is_empty() {
            continue;
        }
        let matched = opts.samples.iter().any(|s| metric_name(&s.labels) == name)
            || opts
                .histograms
                .iter()
                .any(|h| metric_name(&h.labels) == name);
        if matched {
            continue;
        }
        let labels_refs = symbols.symbolize_labels(&m.labels);
        let metadata = proto::MetadataV2 {
            r#type: m.metric_type as i32,
            help_ref: symbols.symbolize(&m.help),
            unit_ref: symbols.symbolize(&m.unit),
        };
        timeseries.push(TimeSeriesWithHistograms {
            labels_refs,
            metadata: Some(metadata),
            ..Default::default()
        });
    }

    let request = RequestWithHistograms {
        symbols: symbols.symbols,
        timeseries,
    };
    HttpRequest {
        headers: vec![
            ("Content-Encoding".into(), "snappy".into()),
            (
                "Content-Type".into(),
                common::REMOTE_WRITE_V2_CONTENT_TYPE.into(),
            ),
            ("X-Prometheus-Remote-Write-Version".into(), "2.0.0".into()),
        ],
        body: common::snappy_protobuf(&request),
        float_samples: sent_samples(&opts.samples, now),
        exemplars: opts
            .exemplars
            .iter()
            .map(|e| {
                (
                    e.labels.clone(),
                    e.exemplar_labels.clone(),
                    e.value,
                    now + e.offset_ms,
                )
            })
            .collect(),
    }
}

/// Go's `generateRW1Request`: a 1.0 request of the samples, with 1.0's headers (no version).
pub fn generate_rw1_request(samples: &[SampleWithLabels]) -> HttpRequest {
    let now = now_ms();
    let request = proto::WriteRequest {
        timeseries: samples
            .iter()
            .map(|s| proto::TimeSeries {
                labels: s
                    .labels
                    .iter()
                    .map(|(name, value)| proto::Label {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                samples: vec![proto::Sample {
                    value: s.value,
                    timestamp: now + s.offset_ms,
                }],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    HttpRequest {
        headers: vec![
            ("Content-Encoding".into(), "snappy".into()),
            ("Content-Type".into(), "application/x-protobuf".into()),
        ],
        body: common::snappy_protobuf(&request),
        float_samples: sent_samples(samples, now),
        exemplars: Vec::new(),
    }
}

fn sent_samples(samples: &[SampleWithLabels], now: i64) -> Vec<SentSample> {
    samples
        .iter()
        .map(|s| SentSample {
            labels: s.labels.clone(),
            timestamp_ms: now + s.offset_ms,
            value: s.value,
        })
        .collect()
}

/// Go's `requestParams`: what the answer is expected to say.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExpectedAnswer {
    pub samples: usize,
    pub exemplars: usize,
    pub histograms: usize,
    /// A success must be 204 exactly (the SHOULD of the spec), not any 2xx.
    pub strict: bool,
    pub success: bool,
    /// A 5xx is expected rather than a 4xx (no case upstream sets it).
    pub retryable: bool,
    pub exact_status: Option<u16>,
}

/// An expected answer, to fill in: `written().samples(1).exemplars(1)`.
pub fn written() -> ExpectedAnswer {
    ExpectedAnswer::default()
}

impl ExpectedAnswer {
    pub fn samples(self, samples: usize) -> Self {
        Self { samples, ..self }
    }

    pub fn exemplars(self, exemplars: usize) -> Self {
        Self { exemplars, ..self }
    }

    pub fn histograms(self, histograms: usize) -> Self {
        Self { histograms, ..self }
    }

    pub fn success(self, success: bool) -> Self {
        Self { success, ..self }
    }

    pub fn exact_status(self, status: u16) -> Self {
        Self {
            exact_status: Some(status),
            ..self
        }
    }
}

/// Go's `getHeaderValue`: an `X-Prometheus-Remote-Write-<key>-Written` count, 0 when missing
/// (as the spec lets senders assume).
fn written_header(reply: &Reply, key: &str) -> usize {
    let name = format!("X-Prometheus-Remote-Write-{key}-Written");
    reply.header(&name).map_or(0, |v| {
        v.parse()
            .unwrap_or_else(|e| panic!("{name}: {v:?} is not a count: {e}"))
    })
}

/// Go's `validateResponse`, and the review upstream's README leaves to the reader: a request
/// expected to succeed must not get a 4xx.
pub fn validate_response(expected: &ExpectedAnswer, reply: &Reply) {
    let samples = written_header(reply, "Samples");
    let exemplars = written_header(reply, "Exemplars");
    let histograms = written_header(reply, "Histograms");
    let status = reply.status;
    let context = format!(
        "answer {status} ({samples} samples, {histograms} histograms, {exemplars} exemplars written): {:?}",
        reply.text()
    );
    if let Some(exact) = expected.exact_status {
        assert_eq!(status, exact, "status should be exactly {exact}; {context}");
    }
    let at_most_expected = || {
        assert!(samples <= expected.samples, "samples written; {context}");
        assert!(
            exemplars <= expected.exemplars,
            "exemplars written; {context}"
        );
        assert!(
            histograms <= expected.histograms,
            "histograms written; {context}"
        );
        assert!(
            samples + exemplars + histograms
                <= expected.samples + expected.exemplars + expected.histograms,
            "total written; {context}"
        );
    };
    match status / 100 {
        2 => {
            assert!(expected.success, "a success, but none expected; {context}");
            assert_eq!(samples, expected.samples, "samples written; {context}");
            assert_eq!(
                exemplars, expected.exemplars,
                "exemplars written; {context}"
            );
            assert_eq!(
                histograms, expected.histograms,
                "histograms written; {context}"
            );
            if expected.strict {
                assert_eq!(status, 204, "a success should be 204; {context}");
            }
        }
        4 => {
            assert!(
                !expected.success,
                "refused, but a success expected (upstream leaves this to review); {context}"
            );
            assert!(!expected.retryable, "a 4xx, but retryable; {context}");
            if expected.exact_status.is_none() {
                assert_eq!(status, 400, "a refusal should be 400; {context}");
            }
            at_most_expected();
        }
        5 => {
            assert!(
                !expected.success,
                "a 5xx, but a success expected; {context}"
            );
            assert!(expected.retryable, "a 5xx, but not retryable; {context}");
            at_most_expected();
        }
        _ => panic!("the status should be 2xx, 4xx or 5xx; {context}"),
    }
}

/// Go's two compliance levels of a `runComplianceTest` case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `<name> returns 204`: the spec's SHOULD, a success is 204 exactly.
    Should,
    /// `<name>`: the spec's MUST, any 2xx is a success.
    Must,
}

/// Go's `runComplianceTest`, one of its two tests (the [`compliance_test`] macro makes both).
pub fn run_compliance_test(
    level: Level,
    opts: &RequestOpts,
    expected: ExpectedAnswer,
    expect_success: bool,
) {
    let expected = ExpectedAnswer {
        success: expect_success,
        strict: level == Level::Should,
        ..expected
    };
    crate::run_request(&generate_request(opts), &expected);
}

/// Go's `runComplianceTest(t, name, ...)`: for a case expected to succeed two tests, the
/// SHOULD one (`<name>_returns_204`) and the MUST one (`<name>`); for a case expected to fail
/// the MUST one only. `$case` is `(RequestOpts, ExpectedAnswer)`; attributes (an `#[ignore]`)
/// go on both tests.
macro_rules! compliance_test {
    ($(#[$attr:meta])* $name:ident, $name_returns_204:ident, succeeds: $case:expr) => {
        #[test]
        $(#[$attr])*
        fn $name_returns_204() {
            let (opts, expected) = $case;
            $crate::helpers::run_compliance_test(
                $crate::helpers::Level::Should,
                &opts,
                expected,
                true,
            );
        }

        #[test]
        $(#[$attr])*
        fn $name() {
            let (opts, expected) = $case;
            $crate::helpers::run_compliance_test(
                $crate::helpers::Level::Must,
                &opts,
                expected,
                true,
            );
        }
    };
    ($(#[$attr:meta])* $name:ident, fails: $case:expr) => {
        #[test]
        $(#[$attr])*
        fn $name() {
            let (opts, expected) = $case;
            $crate::helpers::run_compliance_test(
                $crate::helpers::Level::Must,
                &opts,
                expected,
                false,
            );
        }
    };
}
