//! The OTLP metrics receiver with the real binary: the OpenTelemetry Python SDK's OTLP/HTTP
//! exporter pushes a counter, an up-down counter, an observable gauge, an explicit-bucket
//! histogram and an exponential histogram (a native histogram here), and the series read back through `/api/v1/query` are exactly the ones
//! Prometheus 3 makes of them (names, label sets, values, `target_info`), with prometheus.yml's
//! `otlp` section applied; a gzip-compressed OTLP/JSON request built here is answered in
//! JSON, its exponential histogram stored as a native histogram (buckets shifted by one,
//! as upstream's translator does), and a point without a recorded value ends its series; a delta sum fails the request whole, as upstream; the
//! receiver is off unless enabled and refuses what it does not take.
//!
//! The SDK comes from PyPI into `target/otel-venv` (scripts/test makes it; this test makes
//! it too when missing).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use prost::Message;
use remote::otlp::proto;

const ENDPOINT: &str = "/api/v1/otlp/v1/metrics";

const CONFIG: &str = "scrape_configs: []
otlp:
  promote_resource_attributes: [deployment.environment]
  promote_scope_metadata: true
";

/// The venv with the OpenTelemetry SDK and its OTLP/HTTP exporter; made when missing.
fn otel_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/otel-venv");
    let python = venv.join("bin/python");
    let has_sdk = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has_sdk(&python) {
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            made,
            "python3 -m venv failed (Debian: apt-get install python3-venv; scripts/test does)"
        );
        let installed = Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "-q",
                "opentelemetry-sdk",
                "opentelemetry-exporter-otlp-proto-http",
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "pip install of the OpenTelemetry SDK failed (needs PyPI)"
        );
    }
    python
}

/// What the Python program pushes, once (and again at shutdown, the same cumulative values).
const PYTHON_PUSH: &str = r#"
import sys
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

resource = Resource.create({
    "service.name": "checkout",
    "service.namespace": "shop",
    "service.instance.id": "pod-1",
    "deployment.environment": "test",
})
reader = PeriodicExportingMetricReader(
    OTLPMetricExporter(endpoint=sys.argv[1], timeout=10),
    export_interval_millis=3_600_000,
)
provider = MeterProvider(
    resource=resource,
    metric_readers=[reader],
    views=[View(instrument_name="message.size", aggregation=ExponentialBucketHistogramAggregation(max_size=20))],
)
meter = provider.get_meter("checkout.meter", "1.2.3")

# Measurements in a sampled span carry exemplars with its trace and span ids (the SDK's
# default, trace-based exemplar filter).
tracer = TracerProvider().get_tracer("push")
span = tracer.start_span("work")
requests = meter.create_counter("http.server.requests", unit="{request}")
with trace.use_span(span):
    requests.add(5, {"http.request.method": "GET"})
requests.add(2, {"http.request.method": "POST"})
queue = meter.create_up_down_counter("queue.size", unit="{item}")
queue.add(7)
queue.add(-3)
meter.create_observable_gauge(
    "cpu.utilization",
    callbacks=[lambda options: [Observation(0.25, {"cpu": "0"})]],
    unit="1",
)
duration = meter.create_histogram(
    "http.server.request.duration",
    unit="s",
    explicit_bucket_boundaries_advisory=[0.005, 0.1, 1],
)
with trace.use_span(span):
    for v in (0.003, 0.05, 0.05, 0.5, 2.0):
        duration.record(v, {"http.request.method": "GET"})
size = meter.create_histogram("message.size", unit="By")
with trace.use_span(span):
    for v in (3, 100, 100, 5000):
        size.record(v)
span.end()

flushed = provider.force_flush(10_000)
provider.shutdown()
print(resource.attributes["telemetry.sdk.version"])
context = span.get_span_context()
print(format(context.trace_id, "032x"), format(context.span_id, "016x"))
sys.exit(0 if flushed else 1)
"#;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Every series an instant query returns, as (sorted labels, value), sorted.
fn series(port: u16, query: &str, at: f64) -> Vec<(Vec<(String, String)>, String)> {
    let result = instant_query(port, query, &format!("{at:.3}")).expect("a query answer");
    let mut out: Vec<(Vec<(String, String)>, String)> = result
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut labels: Vec<(String, String)> = s["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            labels.sort();
            (labels, s["value"][1].as_str().unwrap().to_string())
        })
        .collect();
    out.sort();
    out
}

fn expected(rows: &[(&[(&str, &str)], &str)]) -> Vec<(Vec<(String, String)>, String)> {
    let mut out: Vec<_> = rows
        .iter()
        .map(|(labels, value)| {
            let mut l: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            l.sort();
            (l, value.to_string())
        })
        .collect();
    out.sort();
    out
}

fn start_receiver(dir: &Path) -> Server {
    std::fs::write(dir.join("prometheus.yml"), CONFIG).unwrap();
    Server::start(
        dir,
        &[
            "--config.file=prometheus.yml",
            "--web.enable-otlp-receiver",
            "--enable-feature=exemplar-storage",
        ],
    )
}

fn post(server: &Server, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    server.request_with_body("POST", ENDPOINT, headers, body)
}

#[test]
fn the_python_sdk_pushes_and_we_store_what_prometheus_would() {
    let python = otel_python();
    let dir = tempfile::tempdir().unwrap();
    let server = start_receiver(dir.path());
    let port = server.addr.port();
    let script = dir.path().join("push.py");
    std::fs::write(&script, PYTHON_PUSH).unwrap();
    let out = Command::new(&python)
        .arg(&script)
        .arg(format!("http://127.0.0.1:{port}{ENDPOINT}"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{}", server.log_text());
    assert!(!stderr.contains("Failed to export"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = stdout.lines();
    let sdk_version = lines.next().unwrap_or_default().trim().to_string();
    let (trace_id, span_id) = lines
        .next()
        .and_then(|l| l.split_once(' '))
        .map(|(t, s)| (t.to_string(), s.to_string()))
        .unwrap_or_default();
    assert_eq!((trace_id.len(), span_id.len()), (32, 16), "{stdout}");

    let common: &[(&str, &str)] = &[
        ("deployment_environment", "test"),
        ("instance", "pod-1"),
        ("job", "shop/checkout"),
        ("otel_scope_name", "checkout.meter"),
        ("otel_scope_version", "1.2.3"),
    ];
    let with = |name: &'static str, more: &[(&'static str, &'static str)]| {
        let mut l: Vec<(&str, &str)> = vec![("__name__", name)];
        l.extend_from_slice(common);
        l.extend_from_slice(more);
        l
    };
    let get = [("http_request_method", "GET")];
    let bucket = |le: &'static str| {
        with(
            "http_server_request_duration_seconds_bucket",
            &[get[0], ("le", le)],
        )
    };
    let rows: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with("http_server_requests_total", &get), "5"),
        (
            with(
                "http_server_requests_total",
                &[("http_request_method", "POST")],
            ),
            "2",
        ),
        (with("queue_size", &[]), "4"),
        (with("cpu_utilization_ratio", &[("cpu", "0")]), "0.25"),
        (bucket("0.005"), "1"),
        (bucket("0.1"), "3"),
        (bucket("1"), "4"),
        (bucket("+Inf"), "5"),
        // 0.003 + 0.05 + 0.05 + 0.5 + 2.0, added in that order in binary floating point.
        (
            with("http_server_request_duration_seconds_sum", &get),
            "2.6029999999999998",
        ),
        (
            with("http_server_request_duration_seconds_count", &get),
            "5",
        ),
        (
            vec![
                ("__name__", "target_info"),
                ("deployment_environment", "test"),
                ("instance", "pod-1"),
                ("job", "shop/checkout"),
                ("telemetry_sdk_language", "python"),
                ("telemetry_sdk_name", "opentelemetry"),
                ("telemetry_sdk_version", sdk_version.as_str()),
            ],
            "1",
        ),
    ];
    let rows: Vec<(&[(&str, &str)], &str)> = rows.iter().map(|(l, v)| (l.as_slice(), *v)).collect();
    let at = now_s();
    assert_eq!(
        series(
            port,
            "{job=\"shop/checkout\",__name__!=\"message_size_bytes\"}",
            at
        ),
        expected(&rows),
        "{}",
        server.log_text()
    );
    // The exponential histogram (the SDK picks the scale that fits 20 buckets) is a native
    // histogram with the SDK's count and sum, and its observations in the right buckets.
    for (q, want) in [
        ("histogram_count(message_size_bytes)", 4.0),
        ("histogram_sum(message_size_bytes)", 5203.0),
        ("histogram_fraction(0, 64, message_size_bytes)", 0.25),
        ("histogram_fraction(4096, 8192, message_size_bytes)", 0.25),
    ] {
        let got = query_value(port, q, at);
        assert!(
            got.is_some_and(|v| (v - want).abs() < 1e-9),
            "{q}: {got:?}, want {want}; {}",
            server.log_text()
        );
    }
    // Exemplars, as upstream's translator makes them: the span's ids as `trace_id` and
    // `span_id`; a sum's with its series (none for the POSTs, outside the span); a
    // classic histogram's with the first bucket whose bound holds its value; an
    // exponential histogram's with the native histogram.
    let exemplars = |q: &str| -> Vec<(String, f64)> {
        let reply = server.get(
            &format!(
                "/api/v1/query_exemplars?query={}&start=0&end={}",
                urlencode(q),
                at + 60.0
            ),
            &[],
        );
        let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        let mut out = Vec::new();
        for series in answer["data"].as_array().into_iter().flatten() {
            let le = series["seriesLabels"]["le"]
                .as_str()
                .unwrap_or("")
                .to_string();
            for e in series["exemplars"].as_array().into_iter().flatten() {
                assert_eq!(e["labels"]["trace_id"], trace_id.as_str(), "{e}");
                assert_eq!(e["labels"]["span_id"], span_id.as_str(), "{e}");
                let value: f64 = e["value"].as_str().unwrap().parse().unwrap();
                out.push((le.clone(), value));
            }
        }
        out.sort_by(|a, b| a.1.total_cmp(&b.1));
        out
    };
    assert_eq!(
        exemplars("http_server_requests_total"),
        vec![(String::new(), 5.0)]
    );
    assert_eq!(
        exemplars("http_server_request_duration_seconds_bucket"),
        vec![
            ("0.005".into(), 0.003),
            ("0.1".into(), 0.05),
            ("1".into(), 0.5),
            ("+Inf".into(), 2.0)
        ]
    );
    let sizes = exemplars("message_size_bytes");
    assert!(!sizes.is_empty(), "no exemplar of message_size_bytes");
    assert!(
        sizes.iter().all(|(_, v)| [3.0, 100.0, 5000.0].contains(v)),
        "{sizes:?}"
    );
}

/// Gzip of `data`.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn json_gzip_exponential_histogram_and_staleness() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_receiver(dir.path());
    let port = server.addr.port();
    let t_ms = (now_s() * 1000.0) as i64 - 2000;
    let t = format!("{}", t_ms * 1_000_000);
    let st = format!("{}", (t_ms - 60_000) * 1_000_000);
    let resource = r#"{"attributes":[
        {"key":"service.name","value":{"stringValue":"json-svc"}},
        {"key":"service.instance.id","value":{"stringValue":"i-1"}},
        {"key":"deployment.environment","value":{"stringValue":"prod"}},
        {"key":"host.name","value":{"stringValue":"h1"}}]}"#;
    let body = format!(
        r#"{{"resourceMetrics":[{{"resource":{resource},"scopeMetrics":[{{"scope":{{"name":"json.scope"}},"metrics":[
          {{"name":"jobs.done","unit":"1","sum":{{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[
            {{"attributes":[{{"key":"queue","value":{{"stringValue":"a"}}}}],"startTimeUnixNano":"{st}","timeUnixNano":"{t}","asInt":"42",
              "exemplars":[{{"timeUnixNano":"{t}","asInt":"7","traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174",
                "filteredAttributes":[{{"key":"user.id","value":{{"stringValue":"u1"}}}}]}}]}}]}}}},
          {{"name":"temperature","unit":"Cel","gauge":{{"dataPoints":[{{"timeUnixNano":{t},"asDouble":21.5}}]}}}},
          {{"name":"rpc.latency","unit":"ms","summary":{{"dataPoints":[{{"timeUnixNano":"{t}","count":"10","sum":123.5,
            "quantileValues":[{{"quantile":0.5,"value":9}},{{"quantile":0.99,"value":40}}]}}]}}}},
          {{"name":"payload.size","unit":"By","exponentialHistogram":{{"aggregationTemporality":2,"dataPoints":[
            {{"timeUnixNano":"{t}","count":"1","scale":2,"positive":{{"offset":0,"bucketCounts":["1"]}}}}]}}}}
        ]}}]}}]}}"#
    );
    let reply = post(
        &server,
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        &gzip(body.as_bytes()),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(answer, serde_json::json!({}));

    let common: &[(&str, &str)] = &[
        ("deployment_environment", "prod"),
        ("instance", "i-1"),
        ("job", "json-svc"),
        ("otel_scope_name", "json.scope"),
    ];
    let with = |name: &'static str, more: &[(&'static str, &'static str)]| {
        let mut l: Vec<(&str, &str)> = vec![("__name__", name)];
        l.extend_from_slice(common);
        l.extend_from_slice(more);
        l
    };
    let rows: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with("jobs_done_total", &[("queue", "a")]), "42"),
        (with("temperature_celsius", &[]), "21.5"),
        (
            with("rpc_latency_milliseconds", &[("quantile", "0.5")]),
            "9",
        ),
        (
            with("rpc_latency_milliseconds", &[("quantile", "0.99")]),
            "40",
        ),
        (with("rpc_latency_milliseconds_sum", &[]), "123.5"),
        (with("rpc_latency_milliseconds_count", &[]), "10"),
        (
            vec![
                ("__name__", "target_info"),
                ("deployment_environment", "prod"),
                ("host_name", "h1"),
                ("instance", "i-1"),
                ("job", "json-svc"),
            ],
            "1",
        ),
    ];
    let rows: Vec<(&[(&str, &str)], &str)> = rows.iter().map(|(l, v)| (l.as_slice(), *v)).collect();
    let at = (t_ms as f64 + 500.0) / 1000.0;
    assert_eq!(
        series(
            port,
            "{job=\"json-svc\",__name__!=\"payload_size_bytes\"}",
            at
        ),
        expected(&rows)
    );
    // The exponential histogram: scale 2, OTLP bucket 0 (1, 2^¼] is Prometheus's bucket 1.
    let h = instant_query(port, "payload_size_bytes", &at.to_string()).unwrap();
    assert_eq!(h.as_array().map(Vec::len), Some(1), "{h}");
    assert_eq!(h[0]["metric"]["job"], "json-svc", "{h}");
    assert_eq!(
        h[0]["histogram"][1],
        serde_json::json!({"count": "1", "sum": "0", "buckets": [[0, "1", "1.189207115002721", "1"]]}),
        "{h}"
    );
    // The sum's exemplar: ids in lower-case hex, the filtered attribute under its own name.
    let reply = server.get(
        "/api/v1/query_exemplars?query=jobs_done_total&start=0&end=9999999999",
        &[],
    );
    let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let exemplar = &answer["data"][0]["exemplars"][0];
    assert_eq!(
        (&exemplar["labels"], &exemplar["value"]),
        (
            &serde_json::json!({
                "span_id": "eee19b7ec3c1b174",
                "trace_id": "5b8efff798038103d269b633813fc60c",
                "user.id": "u1"
            }),
            &serde_json::json!("7")
        ),
        "{answer}"
    );
    assert_eq!(
        exemplar["timestamp"].as_f64(),
        Some(t_ms as f64 / 1000.0),
        "{answer}"
    );

    // A point without a recorded value a second later: the series ends there.
    let later = format!("{}", (t_ms + 1000) * 1_000_000);
    let stale = format!(
        r#"{{"resourceMetrics":[{{"resource":{resource},"scopeMetrics":[{{"scope":{{"name":"json.scope"}},"metrics":[
          {{"name":"temperature","unit":"Cel","gauge":{{"dataPoints":[{{"timeUnixNano":"{later}","flags":1}}]}}}}]}}]}}]}}"#
    );
    let reply = post(
        &server,
        &[("Content-Type", "application/json")],
        stale.as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.body, b"{}");
    let after = (t_ms as f64 + 1500.0) / 1000.0;
    assert!(series(port, "temperature_celsius", after).is_empty());
    assert_eq!(series(port, "temperature_celsius", at).len(), 1);
}

fn gauge_metric(name: &str, t_ns: u64) -> proto::Metric {
    proto::Metric {
        name: name.into(),
        description: String::new(),
        unit: String::new(),
        data: Some(proto::MetricData::Gauge(proto::Gauge {
            data_points: vec![proto::NumberDataPoint {
                attributes: vec![],
                start_time_unix_nano: 0,
                time_unix_nano: t_ns,
                value: Some(proto::NumberValue::AsDouble(1.0)),
                exemplars: vec![],
                flags: 0,
            }],
        })),
    }
}

fn protobuf_request(metrics: Vec<proto::Metric>) -> Vec<u8> {
    proto::ExportMetricsServiceRequest {
        resource_metrics: vec![proto::ResourceMetrics {
            resource: Some(proto::Resource {
                attributes: vec![proto::KeyValue::string("service.name", "pb")],
            }),
            scope_metrics: vec![proto::ScopeMetrics {
                scope: None,
                metrics,
                schema_url: String::new(),
            }],
        }],
    }
    .encode_to_vec()
}

#[test]
fn refusals_and_the_delta_rule() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_receiver(dir.path());
    let port = server.addr.port();
    let t_ms = (now_s() * 1000.0) as i64 - 1000;
    let t_ns = (t_ms * 1_000_000) as u64;
    let pb = [("Content-Type", "application/x-protobuf")];

    // A protobuf request: 200 with an empty response message (zero bytes).
    let reply = post(
        &server,
        &pb,
        &protobuf_request(vec![gauge_metric("ok", t_ns)]),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/x-protobuf"));
    assert!(reply.body.is_empty());
    let at = (t_ms as f64 + 500.0) / 1000.0;
    assert_eq!(
        series(port, "ok", at),
        expected(&[(&[("__name__", "ok"), ("job", "pb")], "1")])
    );

    // A delta sum (without otlp-native-delta-ingestion) fails the whole request, as
    // Prometheus's rolled-back appender does: the gauge beside it is not stored either.
    let delta = proto::Metric {
        name: "delta.sum".into(),
        description: String::new(),
        unit: String::new(),
        data: Some(proto::MetricData::Sum(proto::Sum {
            data_points: vec![],
            aggregation_temporality: proto::AGGREGATION_TEMPORALITY_DELTA,
            is_monotonic: true,
        })),
    };
    let reply = post(
        &server,
        &pb,
        &protobuf_request(vec![gauge_metric("beside_delta", t_ns), delta]),
    );
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.text(),
        "invalid temporality and type combination for metric \"delta.sum\"\n"
    );
    assert!(series(port, "beside_delta", at).is_empty());

    // Samples storage refuses (here: older than the one stored) are a 400.
    let older = protobuf_request(vec![proto::Metric {
        name: "ok".into(),
        ..gauge_metric("ok", t_ns - 10_000_000_000)
    }]);
    let reply = post(&server, &pb, &older);
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("out of order sample: 1 samples"),
        "{}",
        reply.text()
    );

    // Unsupported content type and encoding: 415; undecodable bodies: 400.
    let reply = post(&server, &[("Content-Type", "text/plain")], b"x");
    assert_eq!(reply.status, 415);
    assert_eq!(
        reply.text(),
        "unsupported content type: text/plain, supported: [application/json, application/x-protobuf]\n"
    );
    let reply = post(
        &server,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "br"),
        ],
        b"x",
    );
    assert_eq!(reply.status, 415);
    for (headers, body) in [
        (&pb[..], &b"\xff\xff\xff\xff garbage"[..]),
        (
            &[("Content-Type", "application/json")][..],
            &b"{not json"[..],
        ),
        (
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "gzip"),
            ][..],
            &b"not gzip"[..],
        ),
    ] {
        let reply = post(&server, headers, body);
        assert_eq!(reply.status, 400, "{}", reply.text());
    }
    // A gzip bomb past the 32 MiB limit: 413.
    let bomb = gzip(&vec![0u8; 40 << 20]);
    let reply = post(
        &server,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
        &bomb,
    );
    assert_eq!(reply.status, 413, "{}", reply.text());
}

#[test]
fn off_unless_enabled() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prometheus.yml"), "scrape_configs: []\n").unwrap();
    let server = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let reply = post(
        &server,
        &[("Content-Type", "application/x-protobuf")],
        &protobuf_request(vec![]),
    );
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.text(),
        "otlp write receiver needs to be enabled with --web.enable-otlp-receiver\n"
    );
}

#[test]
fn convert_histograms_to_nhcb_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "otlp:\n  convert_histograms_to_nhcb: true\n",
    )
    .unwrap();
    let out = Command::new(promethium_bin())
        .current_dir(dir.path())
        .args([
            "--config.file=prometheus.yml",
            "--web.enable-otlp-receiver",
            &format!("--web.listen-address=127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("otlp.convert_histograms_to_nhcb: native histograms are not supported"),
        "{stderr}"
    );
}
