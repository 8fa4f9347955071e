//! The notifier against small Alertmanager stand-ins on loopback that record every request.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use model::Labels;
use notifier::{Alert, Manager, Options};
use promconfig::Config;

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    headers: HeaderMap,
    raw: String,
}

impl Recorded {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.raw).unwrap()
    }
    fn alertnames(&self) -> Vec<String> {
        self.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
            .collect()
    }
}

#[derive(Clone, Default)]
struct Stand {
    log: Arc<Mutex<Vec<Recorded>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
}

struct Recorder {
    addr: SocketAddr,
    stand: Stand,
}

impl Recorder {
    async fn start() -> Self {
        let stand = Stand::default();
        stand.status.store(200, Ordering::SeqCst);
        let app = axum::Router::new()
            .fallback(record)
            .with_state(stand.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, stand }
    }
    fn requests(&self) -> Vec<Recorded> {
        self.stand.log.lock().unwrap().clone()
    }
    fn set_status(&self, s: u16) {
        self.stand.status.store(s, Ordering::SeqCst);
    }
    fn set_delay(&self, d: Duration) {
        self.stand
            .delay_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }
}

async fn record(
    State(stand): State<Stand>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    stand.log.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers,
        raw: String::from_utf8(body.to_vec()).unwrap(),
    });
    let delay = stand.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    StatusCode::from_u16(stand.status.load(Ordering::SeqCst)).unwrap()
}

fn config(yaml: &str, dir: &std::path::Path) -> Config {
    Config::parse(yaml, "prometheus.yml", dir).unwrap()
}

fn alert(name: &str, extra: &[(&str, &str)]) -> Alert {
    let mut pairs = vec![("alertname", name)];
    pairs.extend_from_slice(extra);
    Alert::new(
        Labels::from_pairs(pairs),
        BTreeMap::new(),
        Some(1_700_000_000_000),
        Some(1_700_000_240_000),
        String::new(),
    )
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn am_metrics(m: &Manager, url: &str) -> notifier::AlertmanagerMetrics {
    m.metrics()
        .alertmanagers
        .into_iter()
        .find(|a| a.alertmanager == url)
        .unwrap_or_else(|| panic!("no metrics for {url}"))
}

#[tokio::test]
async fn body_headers_external_labels_and_path_prefix() {
    let am = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!(
            r#"
global:
  external_labels:
    region: eu
    severity: from-external
alerting:
  alertmanagers:
  - path_prefix: /prefix/
    static_configs:
    - targets: ['{}']
"#,
            am.addr
        ),
        dir.path(),
    );
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();
    let url = format!("http://{}/prefix/api/v2/alerts", am.addr);
    assert_eq!(m.alertmanagers().active, vec![url.clone()]);
    assert!(m.alertmanagers().dropped.is_empty());

    let mut a = alert("HighLatency", &[("severity", "page")]);
    a.annotations
        .insert("summary".into(), "p99 > 1s on <api> & \"web\"".into());
    a.generator_url = "http://prom:9090/graph?g0.expr=up&g0.tab=1".into();
    a.starts_at = Some(1_435_781_451_781);
    a.ends_at = Some(1_435_781_511_000);
    let mut b = alert("Bare", &[]);
    b.starts_at = None;
    b.ends_at = None;
    m.send(vec![a, b]);
    wait_for("the POST", || !am.requests().is_empty()).await;

    let r = &am.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/prefix/api/v2/alerts");
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("Promethium/"));
    assert!(r.headers.get("authorization").is_none());
    // Byte for byte what Prometheus (Go's encoding/json over Alertmanager's models) sends.
    assert_eq!(
        r.raw,
        concat!(
            r#"[{"annotations":{"summary":"p99 \u003e 1s on \u003capi\u003e \u0026 \"web\""},"#,
            r#""endsAt":"2015-07-01T20:11:51.000Z","startsAt":"2015-07-01T20:10:51.781Z","#,
            r#""generatorURL":"http://prom:9090/graph?g0.expr=up\u0026g0.tab=1","#,
            r#""labels":{"alertname":"HighLatency","region":"eu","severity":"page"}},"#,
            r#"{"endsAt":"0001-01-01T00:00:00.000Z","startsAt":"0001-01-01T00:00:00.000Z","#,
            r#""labels":{"alertname":"Bare","region":"eu","severity":"from-external"}}]"#
        )
    );
    let v = r.json();
    assert_eq!(
        v[0]["annotations"]["summary"],
        "p99 > 1s on <api> & \"web\""
    );
    assert_eq!(
        v[0]["generatorURL"],
        "http://prom:9090/graph?g0.expr=up&g0.tab=1"
    );

    wait_for("sent_total", || am_metrics(&m, &url).sent_total == 2).await;
    let metrics = m.metrics();
    assert_eq!(metrics.queue_capacity, 10_000);
    assert_eq!(metrics.alertmanagers_discovered, 1);
    let mm = am_metrics(&m, &url);
    assert_eq!(
        (mm.errors_total, mm.dropped_total, mm.queue_length),
        (0, 0, 0)
    );
    assert_eq!(mm.latency.count, 1);
    assert_eq!(mm.latency.buckets.len(), 4);
    assert_eq!(mm.latency.quantiles.len(), 3);
    m.stop().await;
}

#[tokio::test]
async fn alert_relabeling_global_and_per_set() {
    let a1 = Recorder::start().await;
    let a2 = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!(
            r#"
global:
  external_labels:
    region: eu
alerting:
  alert_relabel_configs:
  - source_labels: [severity]
    regex: info
    action: drop
  - source_labels: [region]
    target_label: from_region
  - target_label: via
    replacement: global
  alertmanagers:
  - static_configs:
    - targets: ['{}']
  - static_configs:
    - targets: ['{}']
    alert_relabel_configs:
    - source_labels: [team]
      regex: db
      action: keep
    - target_label: set
      replacement: second
  - static_configs:
    - targets: ['{}']
    alert_relabel_configs:
    - regex: .*
      action: labeldrop
"#,
            a1.addr, a2.addr, a1.addr
        ),
        dir.path(),
    );
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();
    m.send(vec![
        alert("Info", &[("severity", "info"), ("team", "db")]),
        alert("Web", &[("team", "web")]),
        alert("Db", &[("team", "db")]),
    ]);
    wait_for("both", || {
        !a1.requests().is_empty() && !a2.requests().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The third set drops every label, so its alerts are dropped: a1 hears from the first
    // set only.
    let r1 = a1.requests();
    assert_eq!(r1.len(), 1);
    assert_eq!(r1[0].alertnames(), vec!["Web", "Db"]);
    assert_eq!(r1[0].json()[0]["labels"]["via"], "global");
    // External labels are there before relabeling.
    assert_eq!(r1[0].json()[0]["labels"]["from_region"], "eu");
    assert!(r1[0].json()[0]["labels"].get("set").is_none());
    let r2 = a2.requests();
    assert_eq!(r2.len(), 1);
    assert_eq!(r2[0].alertnames(), vec!["Db"]);
    assert_eq!(r2[0].json()[0]["labels"]["set"], "second");
    m.stop().await;
}

#[tokio::test]
async fn every_alertmanager_receives_and_a_failing_one_is_counted() {
    let ok1 = Recorder::start().await;
    let ok2 = Recorder::start().await;
    let bad = Recorder::start().await;
    bad.set_status(500);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!(
            r#"
alerting:
  alertmanagers:
  - static_configs:
    - targets: ['{}', '{}', '{}']
  - static_configs:
    - targets: ['{}']
"#,
            ok1.addr, bad.addr, ok1.addr, ok2.addr
        ),
        dir.path(),
    );
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();
    // Duplicates within a set are one Alertmanager.
    assert_eq!(m.alertmanagers().active.len(), 3);
    assert_eq!(m.metrics().alertmanagers_discovered, 3);
    m.send(vec![alert("A", &[]), alert("B", &[])]);
    let bad_url = format!("http://{}/api/v2/alerts", bad.addr);
    wait_for("deliveries", || {
        ok1.requests().len() == 1
            && ok2.requests().len() == 1
            && am_metrics(&m, &bad_url).errors_total == 2
    })
    .await;
    assert_eq!(ok1.requests()[0].alertnames(), vec!["A", "B"]);
    assert_eq!(ok2.requests()[0].alertnames(), vec!["A", "B"]);
    let b = am_metrics(&m, &bad_url);
    assert_eq!((b.sent_total, b.errors_total, b.dropped_total), (0, 2, 2));
    let good = am_metrics(&m, &format!("http://{}/api/v2/alerts", ok2.addr));
    assert_eq!((good.sent_total, good.errors_total), (2, 0));
    m.stop().await;
}

#[tokio::test]
async fn basic_auth_and_authorization_headers() {
    let a = Recorder::start().await;
    let b = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
    let cfg = config(
        &format!(
            r#"
alerting:
  alertmanagers:
  - basic_auth:
      username: alice
      password: wonder land
    static_configs:
    - targets: ['{}']
  - authorization:
      credentials_file: token
    http_headers:
      X-Tenant:
        values: [t1]
    static_configs:
    - targets: ['{}']
"#,
            a.addr, b.addr
        ),
        dir.path(),
    );
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();
    m.send(vec![alert("A", &[])]);
    wait_for("both", || {
        a.requests().len() == 1 && b.requests().len() == 1
    })
    .await;
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:wonder land")
    );
    assert_eq!(a.requests()[0].headers["authorization"], expected.as_str());
    assert_eq!(b.requests()[0].headers["authorization"], "Bearer s3cret");
    assert_eq!(b.requests()[0].headers["x-tenant"], "t1");
    m.stop().await;
}

#[tokio::test]
async fn full_queue_drops_the_oldest() {
    let am = Recorder::start().await;
    am.set_delay(Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!(
            "alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['{}']\n",
            am.addr
        ),
        dir.path(),
    );
    let m = Manager::new(Options {
        queue_capacity: 3,
        max_batch_size: 2,
        ..Options::default()
    });
    m.apply_config(&cfg).unwrap();
    let url = format!("http://{}/api/v2/alerts", am.addr);
    m.send(vec![alert("a1", &[])]);
    // The loop holds a1 in flight while the stand-in sleeps.
    wait_for("first request", || am.requests().len() == 1).await;
    m.send(vec![alert("a2", &[]), alert("a3", &[]), alert("a4", &[])]);
    assert_eq!(am_metrics(&m, &url).queue_length, 3);
    m.send(vec![alert("a5", &[])]);
    // A batch larger than the queue keeps its newest alerts only.
    m.send((6..=10).map(|i| alert(&format!("a{i}"), &[])).collect());
    let mm = am_metrics(&m, &url);
    assert_eq!(mm.queue_length, 3);
    assert_eq!(mm.dropped_total, 1 + 2 + 3);
    wait_for("all sent", || am_metrics(&m, &url).sent_total == 4).await;
    let names: Vec<Vec<String>> = am.requests().iter().map(Recorded::alertnames).collect();
    assert_eq!(names, vec![vec!["a1"], vec!["a8", "a9"], vec!["a10"]]);
    m.stop().await;
}

#[tokio::test]
async fn timeout_is_honoured() {
    let slow = Recorder::start().await;
    slow.set_delay(Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!(
            "alerting:\n  alertmanagers:\n  - timeout: 300ms\n    static_configs:\n    - targets: ['{}']\n",
            slow.addr
        ),
        dir.path(),
    );
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();
    let url = format!("http://{}/api/v2/alerts", slow.addr);
    let start = Instant::now();
    m.send(vec![alert("A", &[])]);
    wait_for("the error", || am_metrics(&m, &url).errors_total == 1).await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(am_metrics(&m, &url).dropped_total, 1);
    m.stop().await;
}

#[tokio::test]
async fn file_discovery_and_target_relabeling() {
    let am = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sd = dir.path().join("ams.yml");
    std::fs::write(
        &sd,
        format!(
            "- targets: ['{}', 'dropme:9093']\n  labels:\n    prefix: /custom\n",
            am.addr
        ),
    )
    .unwrap();
    let cfg = config(
        r#"
alerting:
  alertmanagers:
  - scheme: https
    file_sd_configs:
    - files: ['ams.yml']
    relabel_configs:
    - source_labels: [__address__]
      regex: dropme.*
      action: drop
    - target_label: __scheme__
      replacement: http
    - source_labels: [prefix]
      target_label: __alerts_path__
      replacement: $1/api/v2/alerts
"#,
        dir.path(),
    );
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();
    let list = m.alertmanagers();
    assert_eq!(
        list.active,
        vec![format!("http://{}/custom/api/v2/alerts", am.addr)]
    );
    assert_eq!(list.dropped, vec!["https://dropme:9093/api/v2/alerts"]);
    m.send(vec![alert("A", &[])]);
    wait_for("the POST", || am.requests().len() == 1).await;
    assert_eq!(am.requests()[0].path, "/custom/api/v2/alerts");

    // The file changes: the Alertmanager goes away.
    std::fs::write(&sd, "- targets: ['dropme:1']\n").unwrap();
    wait_for("rediscovery", || m.alertmanagers().active.is_empty()).await;
    assert_eq!(m.metrics().alertmanagers_discovered, 0);
    m.stop().await;
}

/// Alertmanager pods found by Kubernetes discovery (upstream's usual setup: `role: pod`,
/// kept by label), through a fake API server: alerts go to the pod, and when the pod is
/// deleted the Alertmanager goes with it.
#[tokio::test]
async fn kubernetes_discovery_of_alertmanager_pods() {
    let am = Recorder::start().await;
    let api = kubefake::FakeApi::start().await;
    let pod = |name: &str, app: &str, port: u16| {
        serde_json::json!({
            "metadata": {"name": name, "namespace": "monitoring", "labels": {"app": app}},
            "spec": {"containers": [{"name": "am", "image": "alertmanager",
                "ports": [{"name": "web", "containerPort": port, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1"}
        })
    };
    api.apply(
        "pods",
        pod("alertmanager-0", "alertmanager", am.addr.port()),
    );
    api.apply("pods", pod("web-0", "web", 8080));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!(
            r#"
alerting:
  alertmanagers:
  - kubernetes_sd_configs:
    - role: pod
      api_server: {}
    relabel_configs:
    - source_labels: [__meta_kubernetes_pod_label_app]
      regex: alertmanager
      action: keep
"#,
            api.url()
        ),
        dir.path(),
    );
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();
    let url = format!("http://{}/api/v2/alerts", am.addr);
    wait_for("the discovered Alertmanager", || {
        m.alertmanagers().active == vec![url.clone()]
    })
    .await;
    assert_eq!(
        m.alertmanagers().dropped,
        vec!["http://127.0.0.1:8080/api/v2/alerts"]
    );
    m.send(vec![alert("A", &[])]);
    wait_for("the POST", || am.requests().len() == 1).await;
    // Counted under the notify discovery manager, as Prometheus names it.
    let discovered = discovery::metrics_snapshot().into_iter().find(|s| {
        s.name == "prometheus_sd_discovered_targets"
            && s.labels.contains(&("name", "notify".to_string()))
            && s.labels.contains(&("config", "config-0".to_string()))
    });
    assert_eq!(discovered.map(|s| s.value), Some(2.0));
    api.delete("pods", "monitoring", "alertmanager-0");
    wait_for("the deleted pod's Alertmanager gone", || {
        m.alertmanagers().active.is_empty()
    })
    .await;
    m.stop().await;
}

#[tokio::test]
async fn stop_drains_or_drops() {
    for drain in [true, false] {
        let am = Recorder::start().await;
        am.set_delay(Duration::from_millis(300));
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(
            &format!(
                "alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['{}']\n",
                am.addr
            ),
            dir.path(),
        );
        let m = Manager::new(Options {
            drain_on_shutdown: drain,
            max_batch_size: 1,
            ..Options::default()
        });
        m.apply_config(&cfg).unwrap();
        m.send(vec![alert("a1", &[]), alert("a2", &[]), alert("a3", &[])]);
        wait_for("first request", || am.requests().len() == 1).await;
        m.stop().await;
        let got: Vec<Vec<String>> = am.requests().iter().map(Recorded::alertnames).collect();
        if drain {
            assert_eq!(got, vec![vec!["a1"], vec!["a2"], vec!["a3"]]);
        } else {
            assert_eq!(got, vec![vec!["a1"]]);
        }
        // Nothing is accepted after stopping.
        m.send(vec![alert("late", &[])]);
        assert!(m.metrics().alertmanagers.is_empty());
    }
}

#[tokio::test]
async fn reload_keeps_unchanged_sets_and_refuses_what_is_unsupported() {
    let am = Recorder::start().await;
    am.set_delay(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['{}']\n",
        am.addr
    );
    let m = Manager::new(Options::default());
    m.apply_config(&config(&yaml, dir.path())).unwrap();
    let url = format!("http://{}/api/v2/alerts", am.addr);
    m.send(vec![alert("a1", &[])]);
    wait_for("first", || am.requests().len() == 1).await;
    m.send(vec![alert("a2", &[])]);
    // Same entry, new external labels: the queue (a2) survives the reload.
    let with_ext = format!("global:\n  external_labels:\n    dc: x\n{yaml}");
    m.apply_config(&config(&with_ext, dir.path())).unwrap();
    assert_eq!(am_metrics(&m, &url).queue_length, 1);
    m.send(vec![alert("a3", &[])]);
    wait_for("all", || am_metrics(&m, &url).sent_total == 3).await;
    let all: Vec<serde_json::Value> = am
        .requests()
        .iter()
        .flat_map(|r| r.json().as_array().unwrap().clone())
        .collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1]["labels"]["alertname"], "a2");
    assert!(all[1]["labels"].get("dc").is_none());
    assert_eq!(all[2]["labels"]["alertname"], "a3");
    assert_eq!(all[2]["labels"]["dc"], "x");

    let eureka = "alerting:\n  alertmanagers:\n  - eureka_sd_configs:\n    - server: 'http://eureka.example:8761/eureka'\n";
    let err = m.apply_config(&config(eureka, dir.path())).unwrap_err();
    assert!(err.contains("eureka_sd_configs"), "{err}");
    // A refused configuration changes nothing.
    assert_eq!(m.alertmanagers().active, vec![url]);
    m.stop().await;
}

#[test]
fn api_v1_is_refused_as_in_prometheus_3() {
    let err = Config::parse(
        "alerting:\n  alertmanagers:\n  - api_version: v1\n    static_configs:\n    - targets: ['a:1']\n",
        "prometheus.yml",
        std::path::Path::new("."),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("expected Alertmanager api version to be one of [v2] but got v1"),
        "{err}"
    );
}

#[tokio::test]
async fn drain_deadline_bounds_stop() {
    let am = Recorder::start().await;
    am.set_delay(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!(
            "alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['{}']\n",
            am.addr
        ),
        dir.path(),
    );
    let m = Manager::new(Options {
        max_batch_size: 1,
        drain_deadline: Some(Duration::from_millis(400)),
        ..Options::default()
    });
    m.apply_config(&cfg).unwrap();
    m.send((1..=10).map(|i| alert(&format!("a{i}"), &[])).collect());
    wait_for("first request", || am.requests().len() == 1).await;
    let start = Instant::now();
    m.stop().await;
    let took = start.elapsed();
    assert!(took < Duration::from_millis(900), "{took:?}");
    assert!(am.requests().len() <= 3, "{}", am.requests().len());
}
