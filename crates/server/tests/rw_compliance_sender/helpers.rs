//! Go's `helpers_test.go`: the mock receiver (`MockReceiver`, with the request-timestamp
//! tracking of `backoff_test.go` and the version tracking of `fallback_test.go` built in),
//! the mock scrape target (`MockScrapeTarget`), the look-ups of series and labels in a
//! captured request, and the RFC-level assertions (`must`, `should`, `may`, `recommended`).
//!
//! The protobuf messages are written here from the specs (`remote_write_spec.md`,
//! `remote_write_spec_2_0.md` and upstream's `types.proto`), complete, rather than taken
//! from the sender's own `remote::proto`: a request is checked against the protocol, not
//! against the structs the sender encoded it with (which, for one, read no histogram
//! field but the timestamp).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;

/// The messages of `io.prometheus.write.v2.Request` (2.0).
pub mod v2 {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Request {
        #[prost(string, repeated, tag = "4")]
        pub symbols: Vec<String>,
        #[prost(message, repeated, tag = "5")]
        pub timeseries: Vec<TimeSeries>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub histograms: Vec<Histogram>,
        #[prost(message, repeated, tag = "4")]
        pub exemplars: Vec<Exemplar>,
        #[prost(message, optional, tag = "5")]
        pub metadata: Option<Metadata>,
    }

    impl TimeSeries {
        /// Go's `ts.Metadata`: a message field that is never nil in gogo's generated code.
        pub fn metadata(&self) -> Metadata {
            self.metadata.clone().unwrap_or_default()
        }
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
        #[prost(int64, tag = "3")]
        pub start_timestamp: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Exemplar {
        #[prost(uint32, repeated, tag = "1")]
        pub labels_refs: Vec<u32>,
        #[prost(double, tag = "2")]
        pub value: f64,
        #[prost(int64, tag = "3")]
        pub timestamp: i64,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
    #[repr(i32)]
    pub enum MetricType {
        Unspecified = 0,
        Counter = 1,
        Gauge = 2,
        Histogram = 3,
        Gaugehistogram = 4,
        Summary = 5,
        Info = 6,
        Stateset = 7,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Metadata {
        #[prost(enumeration = "MetricType", tag = "1")]
        pub r#type: i32,
        #[prost(uint32, tag = "3")]
        pub help_ref: u32,
        #[prost(uint32, tag = "4")]
        pub unit_ref: u32,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Count {
        #[prost(uint64, tag = "1")]
        CountInt(u64),
        #[prost(double, tag = "2")]
        CountFloat(f64),
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum ZeroCount {
        #[prost(uint64, tag = "6")]
        ZeroCountInt(u64),
        #[prost(double, tag = "7")]
        ZeroCountFloat(f64),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BucketSpan {
        #[prost(sint32, tag = "1")]
        pub offset: i32,
        #[prost(uint32, tag = "2")]
        pub length: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Histogram {
        #[prost(oneof = "Count", tags = "1, 2")]
        pub count: Option<Count>,
        #[prost(double, tag = "3")]
        pub sum: f64,
        #[prost(sint32, tag = "4")]
        pub schema: i32,
        #[prost(double, tag = "5")]
        pub zero_threshold: f64,
        #[prost(oneof = "ZeroCount", tags = "6, 7")]
        pub zero_count: Option<ZeroCount>,
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
        #[prost(int32, tag = "14")]
        pub reset_hint: i32,
        #[prost(int64, tag = "15")]
        pub timestamp: i64,
        #[prost(double, repeated, tag = "16")]
        pub custom_values: Vec<f64>,
        #[prost(int64, tag = "17")]
        pub start_timestamp: i64,
    }
}

/// The messages of `prometheus.WriteRequest` (1.0, with the metadata and the exemplar and
/// native histogram fields Prometheus added to it).
pub mod v1 {
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
        pub histograms: Vec<super::v2::Histogram>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    /// A 1.0 sample; field 3 is not in 1.0 (2.0's `start_timestamp` is), so a value there
    /// would be a 2.0 field leaking into a 1.0 message.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
        #[prost(int64, tag = "3")]
        pub not_in_v1: i64,
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

    impl TimeSeries {
        pub fn label(&self, name: &str) -> Option<&str> {
            self.labels
                .iter()
                .find(|l| l.name == name)
                .map(|l| l.value.as_str())
        }
    }
}

/// The 2.0 `Content-Type`.
pub const V2_CONTENT_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

// ---------------------------------------------------------------------------------------
// RFC levels. Upstream's `must` fails the test; its `should`, `may` and `recommended` call
// `t.Errorf`, which fails it too (they only tag the level), so all four assert here.

/// An RFC compliance level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Must,
    Should,
    May,
    Recommended,
}

impl Level {
    #[track_caller]
    pub fn check(self, condition: bool, message: impl Display) {
        let what = match self {
            Level::Must => "MUST level requirement not met",
            Level::Should => "SHOULD level requirement not met",
            Level::May => "MAY level feature not present",
            Level::Recommended => "RECOMMENDED not implemented",
        };
        assert!(condition, "{what}: {message}");
    }
}

#[track_caller]
pub fn must(condition: bool, message: impl Display) {
    Level::Must.check(condition, message);
}

#[track_caller]
pub fn should(condition: bool, message: impl Display) {
    Level::Should.check(condition, message);
}

#[track_caller]
pub fn may(condition: bool, message: impl Display) {
    Level::May.check(condition, message);
}

#[track_caller]
pub fn recommended(condition: bool, message: impl Display) {
    Level::Recommended.check(condition, message);
}

// ---------------------------------------------------------------------------------------
// A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) for the scrape target and
// the receiver: std only, so what is on the wire is exactly what the test wrote.

/// One request as read off the wire.
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An answer; `delay` is waited before it is written (a slow or hanging receiver).
#[derive(Clone, Debug, Default)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

type Handler = Arc<dyn Fn(HttpRequest) -> HttpAnswer + Send + Sync>;

pub struct HttpServer {
    pub port: u16,
    open: Arc<AtomicBool>,
    accept_thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(handler: Handler) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let accepting = Arc::clone(&open);
        let accept_thread = std::thread::spawn(move || {
            while accepting.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (open, handler) = (Arc::clone(&accepting), Arc::clone(&handler));
                        std::thread::spawn(move || serve_connection(stream, &open, &handler));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            port,
            open,
            accept_thread: Some(accept_thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.open.store(false, Ordering::Relaxed);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads requests off one connection and answers them until the client closes it or the
/// server is dropped.
fn serve_connection(stream: TcpStream, open: &AtomicBool, handler: &Handler) {
    let Ok(reading) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reading);
    let mut out = stream;
    while open.load(Ordering::Relaxed) {
        // Waits for the next request in short steps, so that a dropped server lets go.
        let _ = reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(100)));
        match reader.fill_buf() {
            Ok([]) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        // A request has begun: the rest of it comes at the client's pace.
        let _ = reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)));
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        let answer = handler(request);
        let waited_until = Instant::now() + answer.delay;
        while Instant::now() < waited_until {
            if !open.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if out.write_all(&encode_answer(&answer)).is_err() {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest {
        method,
        path,
        headers,
        body,
    })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// The answer as Go's `net/http` writes it: no body (and no length) for 204, whatever the
/// handler wrote (Go refuses it with `ErrBodyNotAllowed`); a length otherwise.
fn encode_answer(answer: &HttpAnswer) -> Vec<u8> {
    let bodiless = answer.status == 204 || answer.status == 304 || answer.status < 200;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        answer.status,
        reason_phrase(answer.status)
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !bodiless {
        if !answer.body.is_empty()
            && !answer
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            head.push_str("Content-Type: text/plain; charset=utf-8\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n", answer.body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if !bodiless {
        bytes.extend_from_slice(&answer.body);
    }
    bytes
}

// ---------------------------------------------------------------------------------------
// The scrape target.

/// Go's `MockScrapeTarget` (no test changes its text, so it is fixed): serves it, as OpenMetrics (with
/// `# EOF` added) when it has exemplars (`# {`), else as the text format 0.0.4.
pub struct MockScrapeTarget {
    server: HttpServer,
}

impl MockScrapeTarget {
    pub fn new(initial_metrics: &str) -> Self {
        let metrics = initial_metrics.to_string();
        let server = HttpServer::start(Arc::new(move |_request| {
            let mut text = metrics.clone();
            let content_type = if contains_exemplars(&text) {
                if !text.ends_with("# EOF\n") {
                    text.push_str("# EOF\n");
                }
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            } else {
                "text/plain; version=0.0.4; charset=utf-8"
            };
            HttpAnswer {
                status: 200,
                headers: vec![("Content-Type".into(), content_type.into())],
                body: text.into_bytes(),
                delay: Duration::ZERO,
            }
        }));
        Self { server }
    }

    /// `host:port`, as a static config's target.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }
}

/// Go's `containsExemplars`.
pub fn contains_exemplars(metrics: &str) -> bool {
    metrics.contains("# {")
}

// ---------------------------------------------------------------------------------------
// The receiver.

/// The decoded body of a request.
#[derive(Clone, Debug)]
pub enum WriteMessage {
    V1(v1::WriteRequest),
    V2(v2::Request),
}

/// Go's `CapturedRequest`, with the moment it arrived (Go's `TimestampTrackingReceiver`).
#[derive(Clone)]
pub struct CapturedRequest {
    /// 0 for the first request the receiver saw.
    pub index: usize,
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// As sent (compressed).
    pub body: Vec<u8>,
    /// The body decoded as its `Content-Type` says (2.0 when it names
    /// `io.prometheus.write.v2.Request`, else 1.0), or why it could not be.
    pub message: Result<WriteMessage, String>,
}

impl CapturedRequest {
    /// Go's `Headers.Get`: the first value, empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn version(&self) -> &str {
        self.header("X-Prometheus-Remote-Write-Version")
    }

    /// Go's `req.Request`: the 2.0 message (the test fails when the request is not one).
    #[track_caller]
    pub fn v2(&self) -> &v2::Request {
        match &self.message {
            Ok(WriteMessage::V2(request)) => request,
            Ok(WriteMessage::V1(_)) => panic!(
                "request {} is remote write 1.0 (Content-Type {:?}), a 2.0 request was expected",
                self.index,
                self.header("Content-Type")
            ),
            Err(e) => panic!("request {} could not be decoded: {e}", self.index),
        }
    }

    #[track_caller]
    pub fn v1(&self) -> &v1::WriteRequest {
        match &self.message {
            Ok(WriteMessage::V1(request)) => request,
            Ok(WriteMessage::V2(_)) => panic!(
                "request {} is remote write 2.0, a 1.0 request was expected",
                self.index
            ),
            Err(e) => panic!("request {} could not be decoded: {e}", self.index),
        }
    }

    /// Every float sample, either version, as (series, timestamp): what a retry sends again.
    pub fn sample_keys(&self) -> Vec<(String, i64)> {
        match &self.message {
            Ok(WriteMessage::V2(request)) => request
                .timeseries
                .iter()
                .flat_map(|ts| {
                    let series = series_text(&extract_labels(ts, &request.symbols));
                    ts.samples
                        .iter()
                        .map(move |s| (series.clone(), s.timestamp))
                })
                .collect(),
            Ok(WriteMessage::V1(request)) => request
                .timeseries
                .iter()
                .flat_map(|ts| {
                    let labels = ts
                        .labels
                        .iter()
                        .map(|l| (l.name.clone(), l.value.clone()))
                        .collect();
                    let series = series_text(&labels);
                    ts.samples
                        .iter()
                        .map(move |s| (series.clone(), s.timestamp))
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The metric names of the series, either version.
    pub fn metric_names(&self) -> Vec<String> {
        match &self.message {
            Ok(WriteMessage::V2(request)) => request
                .timeseries
                .iter()
                .map(|ts| {
                    extract_labels(ts, &request.symbols)
                        .remove("__name__")
                        .unwrap_or_default()
                })
                .collect(),
            Ok(WriteMessage::V1(request)) => request
                .timeseries
                .iter()
                .map(|ts| ts.label("__name__").unwrap_or_default().to_string())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A line for failure messages.
    pub fn summary(&self) -> String {
        let names = self.metric_names();
        format!(
            "#{} {} {} version={:?} content-type={:?} retry-attempt={:?} {} series {:?}",
            self.index,
            self.method,
            self.path,
            self.version(),
            self.header("Content-Type"),
            self.header("Retry-Attempt"),
            names.len(),
            &names[..names.len().min(8)]
        )
    }
}

fn series_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Go's `MockReceiverResponse`: the status, headers and body of the answers. As in Go, a 2xx
/// carries the `X-Prometheus-Remote-Write-*-Written` headers: the counts given, or when all
/// three are 0 the counts of what the request held.
#[derive(Clone, Debug, Default)]
pub struct MockReceiverResponse {
    pub status_code: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub samples_written: u64,
    pub exemplars_written: u64,
    pub histograms_written: u64,
    /// Not in Go (its `handle_timeout` case is a handler that sleeps): waited before answering.
    pub delay: Duration,
}

impl MockReceiverResponse {
    pub fn status(status_code: u16, body: &str) -> Self {
        Self {
            status_code,
            body: body.to_string(),
            ..Default::default()
        }
    }

    /// A 2xx with fixed `-Written` counts.
    pub fn written(status_code: u16, samples_written: u64) -> Self {
        Self {
            status_code,
            samples_written,
            ..Default::default()
        }
    }
}

/// Chooses the answer to one request (`None`: the receiver's set response); the
/// custom handlers of Go's fallback and error-handling tests.
pub type Responder = Arc<dyn Fn(&CapturedRequest) -> Option<MockReceiverResponse> + Send + Sync>;

#[derive(Default)]
struct ReceiverState {
    requests: Vec<CapturedRequest>,
    response: MockReceiverResponse,
    responder: Option<Responder>,
}

/// Go's `MockReceiver`: records every request and answers as told.
pub struct MockReceiver {
    server: HttpServer,
    state: Arc<Mutex<ReceiverState>>,
}

impl Default for MockReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl MockReceiver {
    pub fn new() -> Self {
        let state = Arc::new(Mutex::new(ReceiverState {
            response: MockReceiverResponse::status(204, ""),
            ..Default::default()
        }));
        let shared = Arc::clone(&state);
        let server = HttpServer::start(Arc::new(move |request| handle_write(&shared, request)));
        Self { server, state }
    }

    /// The write endpoint's URL.
    pub fn url(&self) -> String {
        format!("{}/api/v1/write", self.server.url())
    }

    pub fn set_response(&self, response: MockReceiverResponse) {
        self.state.lock().unwrap().response = response;
    }

    pub fn set_responder(&self, responder: Responder) {
        self.state.lock().unwrap().responder = Some(responder);
    }

    pub fn get_requests(&self) -> Vec<CapturedRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Polls the requests until `found` finds what it looks for; fails the test with what
    /// arrived (and the sender's log) at the deadline.
    #[track_caller]
    pub fn wait_for<T>(
        &self,
        timeout: Duration,
        sender: &Sender,
        what: &str,
        mut found: impl FnMut(&[CapturedRequest]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.get_requests();
            if let Some(t) = found(&requests) {
                return t;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {timeout:?} for {what}; {} requests arrived:\n{}\nsender log:\n{}",
                    requests.len(),
                    requests
                        .iter()
                        .map(CapturedRequest::summary)
                        .collect::<Vec<_>>()
                        .join("\n"),
                    sender.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The first request holding a series named `metric_name` (see `main.rs` on why not
    /// Go's last request).
    #[track_caller]
    pub fn wait_for_metric(&self, sender: &Sender, metric_name: &str) -> CapturedRequest {
        self.wait_for(
            Duration::from_secs(30),
            sender,
            &format!("a request with a {metric_name} series"),
            |requests| {
                requests
                    .iter()
                    .find(|r| r.metric_names().iter().any(|n| n == metric_name))
                    .cloned()
            },
        )
    }

    /// Waits until `n` requests arrived; all of them.
    #[track_caller]
    pub fn wait_for_requests(
        &self,
        sender: &Sender,
        n: usize,
        timeout: Duration,
    ) -> Vec<CapturedRequest> {
        self.wait_for(timeout, sender, &format!("{n} requests"), |requests| {
            (requests.len() >= n).then(|| requests.to_vec())
        })
    }
}

fn decode(request: &HttpRequest) -> Result<WriteMessage, String> {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    };
    let plain = if header("Content-Encoding") == "snappy" {
        snap::raw::Decoder::new()
            .decompress_vec(&request.body)
            .map_err(|e| format!("Failed to decode snappy: {e}"))?
    } else {
        request.body.clone()
    };
    use prost::Message;
    if header("Content-Type").contains("proto=io.prometheus.write.v2.Request") {
        v2::Request::decode(plain.as_slice())
            .map(WriteMessage::V2)
            .map_err(|e| format!("Failed to unmarshal protobuf (2.0): {e}"))
    } else {
        v1::WriteRequest::decode(plain.as_slice())
            .map(WriteMessage::V1)
            .map_err(|e| format!("Failed to unmarshal protobuf (1.0): {e}"))
    }
}

/// Go's `handleRequest`.
fn handle_write(state: &Mutex<ReceiverState>, request: HttpRequest) -> HttpAnswer {
    let message = decode(&request);
    let (response, decoded) = {
        let mut state = state.lock().unwrap();
        let captured = CapturedRequest {
            index: state.requests.len(),
            at: Instant::now(),
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
            message,
        };
        let decoded = captured.message.clone();
        let response = state
            .responder
            .as_ref()
            .and_then(|choose| choose(&captured))
            .unwrap_or_else(|| state.response.clone());
        state.requests.push(captured);
        (response, decoded)
    };
    let decoded = match decoded {
        Ok(decoded) => decoded,
        // Go answers 400 (and records nothing; here the request is kept, so that a test
        // can say what was wrong with it).
        Err(e) => {
            return HttpAnswer {
                status: 400,
                body: e.into_bytes(),
                ..Default::default()
            }
        }
    };
    let mut headers = response.headers.clone();
    if (200..300).contains(&response.status_code) {
        let (mut samples, mut exemplars, mut histograms) = (
            response.samples_written,
            response.exemplars_written,
            response.histograms_written,
        );
        if samples == 0 && exemplars == 0 && histograms == 0 {
            match &decoded {
                WriteMessage::V2(r) => {
                    for ts in &r.timeseries {
                        samples += ts.samples.len() as u64;
                        exemplars += ts.exemplars.len() as u64;
                        histograms += ts.histograms.len() as u64;
                    }
                }
                WriteMessage::V1(r) => {
                    for ts in &r.timeseries {
                        samples += ts.samples.len() as u64;
                        exemplars += ts.exemplars.len() as u64;
                        histograms += ts.histograms.len() as u64;
                    }
                }
            }
        }
        headers.push((
            "X-Prometheus-Remote-Write-Samples-Written".into(),
            samples.to_string(),
        ));
        headers.push((
            "X-Prometheus-Remote-Write-Exemplars-Written".into(),
            exemplars.to_string(),
        ));
        headers.push((
            "X-Prometheus-Remote-Write-Histograms-Written".into(),
            histograms.to_string(),
        ));
    }
    HttpAnswer {
        status: response.status_code,
        headers,
        body: response.body.into_bytes(),
        delay: response.delay,
    }
}

/// A receiver that answers every request with one fixed HTTP answer (Go's bare
/// `httptest.NewServer` handlers of `error_handling_test.go`), recording the version
/// header of each request.
pub struct BareReceiver {
    server: HttpServer,
    versions: Arc<Mutex<Vec<String>>>,
}

impl BareReceiver {
    pub fn new(answer: HttpAnswer) -> Self {
        let versions = Arc::new(Mutex::new(Vec::new()));
        let recording = Arc::clone(&versions);
        let server = HttpServer::start(Arc::new(move |request: HttpRequest| {
            let version = request
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("X-Prometheus-Remote-Write-Version"))
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            recording.lock().unwrap().push(version);
            answer.clone()
        }));
        Self { server, versions }
    }

    pub fn url(&self) -> String {
        format!("{}/api/v1/write", self.server.url())
    }

    /// The version header of each request so far.
    pub fn versions(&self) -> Vec<String> {
        self.versions.lock().unwrap().clone()
    }

    /// Polls until `found` holds for the versions seen; fails the test at the deadline.
    #[track_caller]
    pub fn wait_for(&self, sender: &Sender, what: &str, found: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let versions = self.versions();
            if found(&versions) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {what}; request versions: {versions:?}\nsender log:\n{}",
                sender.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---------------------------------------------------------------------------------------
// The sender: promethium scraping the target and writing to the receiver.

/// The `remote_write` entry's settings. The defaults are upstream's Prometheus target's
/// (`targets/prometheus.go`: 2.0, `send_exemplars`, `retry_on_http_429`, metadata sent) but
/// for a short `batch_send_deadline`, so that a scrape's samples leave within a fraction of
/// a second rather than Prometheus's default 5 s.
#[derive(Clone, Debug)]
pub struct SenderSettings {
    pub protobuf_message: &'static str,
    pub batch_send_deadline: &'static str,
    pub min_backoff: &'static str,
    pub max_backoff: &'static str,
    pub remote_timeout: &'static str,
    pub retry_on_http_429: bool,
    /// `metadata_config.send_interval`: how often 1.0 sends metadata.
    pub metadata_send_interval: &'static str,
    /// Further keys of the entry, as YAML lines indented by four spaces (e.g.
    /// `    headers: {X-Tenant: a}\n`).
    pub extra_entry_yaml: &'static str,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            protobuf_message: "io.prometheus.write.v2.Request",
            batch_send_deadline: "200ms",
            // Prometheus's defaults.
            min_backoff: "30ms",
            max_backoff: "5s",
            remote_timeout: "30s",
            retry_on_http_429: true,
            metadata_send_interval: "1m",
            extra_entry_yaml: "",
        }
    }
}

impl SenderSettings {
    /// Remote write 1.0 (`prometheus.WriteRequest`).
    pub fn v1() -> Self {
        Self {
            protobuf_message: "prometheus.WriteRequest",
            ..Self::default()
        }
    }
}

/// The entry's `remote_name`.
pub const REMOTE_NAME: &str = "compliance";

/// The configuration file: one scrape job `test` every second, one `remote_write` entry.
pub fn sender_config(target: &str, receiver_url: &str, settings: &SenderSettings) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n\
         remote_write:\n\
         \x20 - url: \"{receiver_url}\"\n\
         \x20   name: {REMOTE_NAME}\n\
         \x20   protobuf_message: \"{}\"\n\
         \x20   remote_timeout: {}\n\
         \x20   send_exemplars: true\n\
         \x20   queue_config:\n\
         \x20     retry_on_http_429: {}\n\
         \x20     batch_send_deadline: {}\n\
         \x20     min_backoff: {}\n\
         \x20     max_backoff: {}\n\
         \x20   metadata_config:\n\
         \x20     send: true\n\
         \x20     send_interval: {}\n\
         {}\
         scrape_configs:\n\
         \x20 - job_name: \"test\"\n\
         \x20   scrape_interval: 1s\n\
         \x20   static_configs:\n\
         \x20     - targets: [\"{target}\"]\n",
        settings.protobuf_message,
        settings.remote_timeout,
        settings.retry_on_http_429,
        settings.batch_send_deadline,
        settings.min_backoff,
        settings.max_backoff,
        settings.metadata_send_interval,
        settings.extra_entry_yaml,
    )
}

/// A running promethium (killed when dropped) in a directory of its own.
pub struct Sender {
    pub server: common::Server,
    _dir: tempfile::TempDir,
}

impl Sender {
    pub fn start(target: &MockScrapeTarget, receiver_url: &str, settings: &SenderSettings) -> Self {
        Self::start_with_config(&sender_config(&target.host_port(), receiver_url, settings))
    }

    pub fn start_with_config(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        // Exemplars are stored (and so sent with `send_exemplars`) only with this feature,
        // in Prometheus as here.
        let server = common::Server::start(
            dir.path(),
            &[
                "--config.file=prometheus.yml",
                "--enable-feature=exemplar-storage",
            ],
        );
        Self { server, _dir: dir }
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.server.child.try_wait(), Ok(None))
    }

    pub fn log(&self) -> String {
        self.server.log_text()
    }

    /// The end of the log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The value of the queue's `name` metric (`prometheus_remote_storage_*`).
    pub fn queue_metric(&self, name: &str) -> Option<f64> {
        self.queue_metrics(&[name])[0]
    }

    /// The values of the queue's metrics `names`, from one scrape of `/metrics`.
    pub fn queue_metrics(&self, names: &[&str]) -> Vec<Option<f64>> {
        let metrics = self.server.get("/metrics", &[]).text();
        names
            .iter()
            .map(|name| {
                metrics
                    .lines()
                    .find(|line| {
                        line.starts_with(&format!("{name}{{"))
                            && line.contains(&format!("remote_name=\"{REMOTE_NAME}\""))
                    })
                    .and_then(|line| line.rsplit(' ').next())
                    .and_then(|value| value.parse().ok())
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Look-ups in a captured 2.0 request.

/// Go's `extractLabels`: the series' labels through the symbol table (references out of the
/// table and an odd last reference are skipped, as in Go).
pub fn extract_labels(ts: &v2::TimeSeries, symbols: &[String]) -> BTreeMap<String, String> {
    refs_to_labels(&ts.labels_refs, symbols)
}

/// Go's `extractExemplarLabels`.
pub fn extract_exemplar_labels(ex: &v2::Exemplar, symbols: &[String]) -> BTreeMap<String, String> {
    refs_to_labels(&ex.labels_refs, symbols)
}

fn refs_to_labels(refs: &[u32], symbols: &[String]) -> BTreeMap<String, String> {
    refs.chunks_exact(2)
        .filter_map(|pair| {
            let name = symbols.get(pair[0] as usize)?;
            let value = symbols.get(pair[1] as usize)?;
            Some((name.clone(), value.clone()))
        })
        .collect()
}

/// Go's `isSorted`: the label names of `refs` strictly increase.
pub fn is_sorted(symbols: &[String], refs: &[u32]) -> bool {
    let mut previous: Option<&str> = None;
    for pair in refs.chunks_exact(2) {
        let Some(name) = symbols.get(pair[0] as usize) else {
            return false;
        };
        if previous.is_some_and(|p| name.as_str() <= p) {
            return false;
        }
        previous = Some(name);
    }
    true
}

/// Go's `findTimeseriesByMetricName`.
pub fn find_timeseries_by_metric_name<'a>(
    req: &'a CapturedRequest,
    metric_name: &str,
) -> Option<(&'a v2::TimeSeries, BTreeMap<String, String>)> {
    let request = req.v2();
    request.timeseries.iter().find_map(|ts| {
        let labels = extract_labels(ts, &request.symbols);
        (labels.get("__name__").map(String::as_str) == Some(metric_name)).then_some((ts, labels))
    })
}

/// Go's `requireTimeseriesByMetricName`.
#[track_caller]
pub fn require_timeseries_by_metric_name<'a>(
    req: &'a CapturedRequest,
    metric_name: &str,
) -> (&'a v2::TimeSeries, BTreeMap<String, String>) {
    let found = find_timeseries_by_metric_name(req, metric_name);
    must(
        found.is_some(),
        format!("Timeseries with metric name {metric_name:?} must be present"),
    );
    found.unwrap()
}

/// Go's `findHistogramData`: whether classic histogram series of `base_name` are there, and
/// the native histogram series if one is.
pub fn find_histogram_data<'a>(
    req: &'a CapturedRequest,
    base_name: &str,
) -> (bool, Option<&'a v2::TimeSeries>) {
    let request = req.v2();
    let mut classic_found = false;
    let mut native = None;
    for ts in &request.timeseries {
        let labels = extract_labels(ts, &request.symbols);
        let name = labels.get("__name__").map_or("", String::as_str);
        if [
            format!("{base_name}_count"),
            format!("{base_name}_sum"),
            format!("{base_name}_bucket"),
        ]
        .iter()
        .any(|n| n == name)
        {
            classic_found = true;
        }
        if name == base_name && !ts.histograms.is_empty() {
            native = Some(ts);
        }
    }
    (classic_found, native)
}

/// Go's `extractHistogramCount`: from `_count`, else from a native histogram.
pub fn extract_histogram_count(req: &CapturedRequest, base_name: &str) -> Option<f64> {
    if let Some((ts, _)) = find_timeseries_by_metric_name(req, &format!("{base_name}_count")) {
        if let Some(sample) = ts.samples.first() {
            return Some(sample.value);
        }
    }
    let (ts, _) = find_timeseries_by_metric_name(req, base_name)?;
    match ts.histograms.first()?.count.as_ref()? {
        v2::Count::CountInt(n) => Some(*n as f64),
        v2::Count::CountFloat(n) => Some(*n),
    }
}

/// Go's `extractHistogramSum`.
pub fn extract_histogram_sum(req: &CapturedRequest, base_name: &str) -> Option<f64> {
    if let Some((ts, _)) = find_timeseries_by_metric_name(req, &format!("{base_name}_sum")) {
        if let Some(sample) = ts.samples.first() {
            return Some(sample.value);
        }
    }
    let (ts, _) = find_timeseries_by_metric_name(req, base_name)?;
    Some(ts.histograms.first()?.sum)
}

/// The samples sent more than once over `requests`: retries of a batch (a new scrape has
/// new timestamps, so only a resend repeats a series' timestamp).
pub fn resent_samples(requests: &[CapturedRequest]) -> Vec<(String, i64)> {
    let mut seen = std::collections::HashSet::new();
    let mut resent = Vec::new();
    for request in requests {
        let mut in_this = std::collections::HashSet::new();
        for key in request.sample_keys() {
            if !in_this.insert(key.clone()) {
                continue;
            }
            if !seen.insert(key.clone()) {
                resent.push(key);
            }
        }
    }
    resent
}
