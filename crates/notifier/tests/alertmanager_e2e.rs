//! End to end with Debian's `prometheus-alertmanager` (0.25): an alert sent by the notifier
//! arrives with its labels and annotations (in Alertmanager's API and at a webhook receiver
//! it notifies), then its resolution arrives. Skipped, saying so, only when the binary is
//! not installed (`apt-get install prometheus-alertmanager`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use model::Labels;
use notifier::{Alert, Manager, Options};
use promconfig::Config;

const BINARY: &str = "/usr/bin/prometheus-alertmanager";

/// Kills the Alertmanager this test started.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

type Hooks = Arc<Mutex<Vec<serde_json::Value>>>;

async fn webhook(State(hooks): State<Hooks>, body: Bytes) -> &'static str {
    hooks
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    "ok"
}

async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn real_alertmanager_receives_and_resolves() {
    // scripts/test installs it; a run without it must not pass as if it had compared.
    assert!(
        Path::new(BINARY).exists(),
        "{BINARY} is not installed (apt-get install prometheus-alertmanager, as scripts/test does)"
    );
    // The receiver Alertmanager notifies.
    let hooks: Hooks = Arc::default();
    let app = axum::Router::new()
        .fallback(webhook)
        .with_state(Arc::clone(&hooks));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("alertmanager.yml"),
        format!(
            "route:\n  receiver: x\n  group_wait: 100ms\n  group_interval: 1s\n\
             receivers:\n- name: x\n  webhook_configs:\n  - url: http://{hook_addr}/hook\n    send_resolved: true\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let _am = Running(
        Command::new(BINARY)
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    eventually("Alertmanager to be ready", async || {
        let r = http.get(format!("{base}/-/ready")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;

    let cfg = Config::parse(
        &format!(
            "global:\n  external_labels:\n    cluster: e2e\n\
             alerting:\n  alertmanagers:\n  - static_configs:\n    - targets: ['127.0.0.1:{port}']\n"
        ),
        "prometheus.yml",
        dir.path(),
    )
    .unwrap();
    let m = Manager::new(Options::default());
    m.apply_config(&cfg).unwrap();

    let started = now_ms() - 60_000;
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), "disk <full> & slow".to_string());
    let firing = Alert::new(
        Labels::from_pairs([("alertname", "DiskFull"), ("severity", "page")]),
        annotations,
        Some(started),
        Some(now_ms() + 3_600_000),
        "http://prom.example:9090/graph?g0.expr=up&g0.tab=1".to_string(),
    );
    m.send(vec![firing.clone()]);

    let got = eventually("the alert in Alertmanager's API", async || {
        let r = http
            .get(format!("{base}/api/v2/alerts"))
            .send()
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.ok()?).ok()?;
        v.as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "DiskFull")
            .cloned()
    })
    .await;
    assert_eq!(got["labels"]["severity"], "page");
    assert_eq!(got["labels"]["cluster"], "e2e");
    assert_eq!(got["annotations"]["summary"], "disk <full> & slow");
    assert_eq!(
        got["generatorURL"],
        "http://prom.example:9090/graph?g0.expr=up&g0.tab=1"
    );
    assert_eq!(got["status"]["state"], "active");
    let starts = got["startsAt"].as_str().unwrap();
    assert_eq!(
        model::time::parse_api_time(starts),
        Some(started),
        "{starts}"
    );
    assert_eq!(got["receivers"][0]["name"], "x");

    let hook = eventually("the firing notification", async || {
        hooks
            .lock()
            .unwrap()
            .iter()
            .find(|h| h["status"] == "firing")
            .cloned()
    })
    .await;
    assert_eq!(hook["alerts"][0]["labels"]["alertname"], "DiskFull");
    assert_eq!(
        hook["alerts"][0]["annotations"]["summary"],
        "disk <full> & slow"
    );

    // Resolved: ends in the past.
    let resolved_at = now_ms() - 1_000;
    m.send(vec![Alert {
        ends_at: Some(resolved_at),
        ..firing
    }]);
    let hook = eventually("the resolved notification", async || {
        hooks
            .lock()
            .unwrap()
            .iter()
            .find(|h| h["status"] == "resolved")
            .cloned()
    })
    .await;
    let a = &hook["alerts"][0];
    assert_eq!(a["status"], "resolved");
    assert_eq!(a["labels"]["alertname"], "DiskFull");
    assert_eq!(a["labels"]["cluster"], "e2e");
    let ends = a["endsAt"].as_str().unwrap();
    assert_eq!(
        model::time::parse_api_time(ends),
        Some(resolved_at),
        "{ends}"
    );
    // A resolved alert is no longer listed.
    eventually("the alert to leave the API", async || {
        let r = http
            .get(format!("{base}/api/v2/alerts"))
            .send()
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.ok()?).ok()?;
        (!v.as_array()?
            .iter()
            .any(|a| a["labels"]["alertname"] == "DiskFull"))
        .then_some(())
    })
    .await;
    let metrics = m.metrics();
    assert_eq!(metrics.alertmanagers[0].sent_total, 2);
    assert_eq!(metrics.alertmanagers[0].errors_total, 0);
    m.stop().await;
}
