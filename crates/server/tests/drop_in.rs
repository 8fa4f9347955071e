//! The files real installs already have: the prometheus.yml that ships with Prometheus,
//! Debian's /etc/prometheus/prometheus.yml, a short global interval alone, and Debian's
//! node exporter behind a self-signed certificate and basic auth.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The prometheus.yml in Prometheus's release tarballs (documentation/examples), with the
/// target pointed at this test's port.
fn prometheus_shipped_yml(port: u16) -> String {
    format!(
        r#"# my global config
global:
  scrape_interval: 15s # Set the scrape interval to every 15 seconds. Default is every 1 minute.
  evaluation_interval: 15s # Evaluate rules every 15 seconds. The default is every 1 minute.
  # scrape_timeout is set to the global default (10s).

# Alertmanager configuration
alerting:
  alertmanagers:
    - static_configs:
        - targets:
          # - alertmanager:9093

# Load rules once and periodically evaluate them according to the global 'evaluation_interval'.
rule_files:
  # - "first_rules.yml"
  # - "second_rules.yml"

# A scrape configuration containing exactly one endpoint to scrape:
# Here it's Prometheus itself.
scrape_configs:
  # The job name is added as a label `job=<job_name>` to any timeseries scraped from this config.
  - job_name: "prometheus"

    # metrics_path defaults to '/metrics'
    # scheme defaults to 'http'.

    static_configs:
      - targets: ["localhost:{port}"]
       # The label name is added as a label `app=<label_name>` to any timeseries scraped from this config.
        labels:
          app: "prometheus"
"#
    )
}

/// Debian's /etc/prometheus/prometheus.yml (package prometheus), target ports adjusted.
fn debian_yml(port: u16, node_port: u16) -> String {
    format!(
        r#"# Sample config for Prometheus.

global:
  scrape_interval:     15s # Set the scrape interval to every 15 seconds. Default is every 1 minute.
  evaluation_interval: 15s # Evaluate rules every 15 seconds. The default is every 1 minute.
  # scrape_timeout is set to the global default (10s).

  # Attach these labels to any time series or alerts when communicating with
  # external systems (federation, remote storage, Alertmanager).
  external_labels:
      monitor: 'example'

# Alertmanager configuration
alerting:
  alertmanagers:
  - static_configs:
    - targets: ['localhost:9093']

# Load rules once and periodically evaluate them according to the global 'evaluation_interval'.
rule_files:
  # - "first_rules.yml"
  # - "second_rules.yml"

# A scrape configuration containing exactly one endpoint to scrape:
# Here it's Prometheus itself.
scrape_configs:
  # The job name is added as a label `job=<job_name>` to any timeseries scraped from this config.
  - job_name: 'prometheus'

    # Override the global default and scrape targets from this job every 5 seconds.
    scrape_interval: 5s
    scrape_timeout: 5s

    # metrics_path defaults to '/metrics'
    # scheme defaults to 'http'.

    static_configs:
      - targets: ['localhost:{port}']

  - job_name: node
    # If prometheus-node-exporter is installed, grab stats about the local
    # machine by default.
    static_configs:
      - targets: ['localhost:{node_port}']
"#
    )
}

/// Waits until `query` returns a sample with value `want`.
fn wait_for_value(server: &Server, query: &str, want: f64, within: Duration) {
    let deadline = Instant::now() + within;
    let path = format!("/api/v1/query?query={}", urlencode(query));
    loop {
        let reply = server.get(&path, &[]);
        let text = reply.text();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let got = value["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok());
        if got == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{query} never became {want}: {text}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn prometheus_shipped_config_starts_and_scrapes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        prometheus_shipped_yml(port),
    )
    .unwrap();
    let server = Server::start_on(dir.path(), port, &[]);
    wait_for_value(
        &server,
        r#"up{job="prometheus",app="prometheus"}"#,
        1.0,
        Duration::from_secs(40),
    );
}

#[test]
fn a_short_global_interval_alone_is_enough() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    )
    .unwrap();
    let server = Server::start_on(dir.path(), port, &[]);
    wait_for_value(&server, r#"up{job="self"}"#, 1.0, Duration::from_secs(20));
    // The timeout in force is the interval (Prometheus: min(10s, interval)).
    let config = server.get("/api/v1/status/config", &[]).text();
    assert!(config.contains("scrape_timeout: 1s"), "{config}");
    let metrics = server.get("/metrics", &[]).text();
    assert!(
        metrics.contains("prometheus_target_scrape_pool_exceeded_target_limit_total 0"),
        "{metrics}"
    );
}

#[test]
fn debian_config_starts_and_exposes_external_labels() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        debian_yml(port, free_port()),
    )
    .unwrap();
    let server = Server::start_on(dir.path(), port, &[]);
    wait_for_value(
        &server,
        r#"up{job="prometheus"}"#,
        1.0,
        Duration::from_secs(20),
    );
    let config = server.get("/api/v1/status/config", &[]).text();
    assert!(config.contains("monitor: example"), "{config}");
}

#[test]
fn a_setting_it_cannot_act_on_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "scrape_configs:\n  - job_name: eureka\n    eureka_sd_configs:\n      - server: 'http://eureka.example:8761/eureka'\n",
    )
    .unwrap();
    let out = Command::new(promethium_bin())
        .current_dir(dir.path())
        .args(["--web.listen-address=127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("eureka_sd_configs is not supported by promethium yet"),
        "{log}"
    );
}

/// Debian's node exporter with a web config (self-signed certificate from `openssl req
/// -x509`, basic auth with a bcrypt hash from `pmtool hash-password`), scraped with the
/// certificate pinned in `tls_config.ca_file` and the password in `basic_auth`.
#[test]
fn scrapes_debian_node_exporter_behind_self_signed_tls_and_basic_auth() {
    let exporter_bin = Path::new("/usr/bin/prometheus-node-exporter");
    assert!(
        exporter_bin.exists(),
        "scripts/test installs Debian's prometheus-node-exporter"
    );
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("node.crt"), dir.path().join("node.key"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let hash = {
        let mut child = Command::new(pmtool_bin())
            .args(["hash-password", "--cost", "4"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"nodepass\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    std::fs::write(
        dir.path().join("node-web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  prom: {hash}\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let node_port = free_port();
    let node = Command::new(exporter_bin)
        .args([
            format!("--web.listen-address=127.0.0.1:{node_port}"),
            format!(
                "--web.config.file={}",
                dir.path().join("node-web.yml").display()
            ),
            "--collector.disable-defaults".to_string(),
            "--collector.loadavg".to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _node = Kill(node);
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    scheme: https\n    tls_config:\n      ca_file: node.crt\n    basic_auth:\n      username: prom\n      password: nodepass\n    static_configs:\n      - targets: ['localhost:{node_port}']\n  - job_name: node_wrong_password\n    scheme: https\n    tls_config:\n      ca_file: node.crt\n    basic_auth:\n      username: prom\n      password: guess\n    static_configs:\n      - targets: ['localhost:{node_port}']\n"
        ),
    )
    .unwrap();
    let server = Server::start(dir.path(), &[]);
    wait_for_value(&server, r#"up{job="node"}"#, 1.0, Duration::from_secs(30));
    wait_for_value(
        &server,
        r#"count(node_load1{job="node"})"#,
        1.0,
        Duration::from_secs(10),
    );
    wait_for_value(
        &server,
        r#"up{job="node_wrong_password"}"#,
        0.0,
        Duration::from_secs(10),
    );
}

/// Waits until the file holds a line for which `check` holds; returns that line.
fn wait_for_line(
    path: &Path,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{what}: not a JSON line ({e}): {line}"));
            if check(&value) {
                return value;
            }
        }
        assert!(Instant::now() < deadline, "{what}: no such line in {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn query_log_and_scrape_failure_log_as_json_lines_reopened_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let dead = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\n  query_log_file: queries.log\nscrape_configs:\n  - job_name: gone\n    scrape_failure_log_file: failures.log\n    static_configs:\n      - targets: ['127.0.0.1:{dead}']\n"),
    )
    .unwrap();
    let server = Server::start_on(dir.path(), port, &["--web.enable-lifecycle"]);
    let failure = wait_for_line(
        &dir.path().join("failures.log"),
        "scrape failure log",
        |v| v["job_name"] == "gone",
    );
    assert_eq!(failure["level"], "ERROR");
    assert_eq!(
        failure["target"],
        format!("http://127.0.0.1:{dead}/metrics")
    );
    assert!(
        failure["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{failure}"
    );

    let reply = server.get(
        &format!("/api/v1/query?query={}", urlencode("vector(1)")),
        &[],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let logged = wait_for_line(&dir.path().join("queries.log"), "query log", |v| {
        v["params"]["query"] == "vector(1)"
    });
    assert_eq!(logged["msg"], "promql query logged");
    assert_eq!(logged["httpRequest"]["path"], "/api/v1/query");
    assert_eq!(logged["httpRequest"]["clientIP"], "127.0.0.1");
    assert_eq!(logged["params"]["step"], 0);
    assert!(
        logged["stats"]["timings"]["evalTotalTime"].is_number(),
        "{logged}"
    );

    // Log rotation: the file is moved away; a reload opens a new one.
    std::fs::rename(
        dir.path().join("queries.log"),
        dir.path().join("queries.log.1"),
    )
    .unwrap();
    assert_eq!(server.request("POST", "/-/reload", &[]).status, 200);
    let reply = server.get(
        &format!(
            "/api/v1/query_range?query={}&start=0&end=60&step=15",
            urlencode("vector(2)")
        ),
        &[],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let logged = wait_for_line(
        &dir.path().join("queries.log"),
        "query log after reload",
        |v| v["params"]["query"] == "vector(2)",
    );
    assert_eq!(logged["params"]["step"], 15);
    assert_eq!(logged["params"]["start"], "1970-01-01T00:00:00.000Z");
}

#[test]
fn scrape_config_files_with_globs_are_scraped() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::create_dir(dir.path().join("jobs.d")).unwrap();
    std::fs::write(
        dir.path().join("jobs.d/self.yml"),
        format!("scrape_configs:\n  - job_name: from_file\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "scrape_config_files:\n  - jobs.d/*.yml\n",
    )
    .unwrap();
    let server = Server::start_on(dir.path(), port, &[]);
    wait_for_value(
        &server,
        r#"up{job="from_file"}"#,
        1.0,
        Duration::from_secs(20),
    );
}

/// A minimal exporter on loopback whose body can be changed while it runs.
struct Exporter {
    port: u16,
    body: std::sync::Arc<std::sync::Mutex<String>>,
}

fn exporter() -> Exporter {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let shared = std::sync::Arc::clone(&body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let text = shared.lock().unwrap().clone();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    Exporter { port, body }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The samples of `series` between `from` and `to` (ms) as (ms, value).
fn samples(server: &Server, series: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
    // Raw samples: a range selector at one instant returns them as stored.
    let path = format!(
        "/api/v1/query?query={}&time={}",
        urlencode(&format!("{series}[{}s]", (to - from) / 1000 + 1)),
        to as f64 / 1000.0
    );
    let text = server.get(&path, &[]).text();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["data"]["result"][0]["values"]
        .as_array()
        .map(|values| {
            values
                .iter()
                .map(|p| {
                    (
                        (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                        p[1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn out_of_order_window_and_retention_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let target = exporter();
    let now = now_ms();
    // In order first; then a sample 10 minutes back (inside the 30m window) and one 2 hours
    // back (outside), all with explicit timestamps.
    *target.body.lock().unwrap() = format!("ooo_metric 1 {now}\n");
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global:\n  scrape_interval: 1s\nstorage:\n  tsdb:\n    out_of_order_time_window: 30m\n    retention:\n      time: 400d\nscrape_configs:\n  - job_name: late\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n", target.port),
    )
    .unwrap();
    let data = "--storage.tsdb.path=ooo-data";
    let server = Server::start(dir.path(), &[data]);
    wait_for_value(&server, "ooo_metric", 1.0, Duration::from_secs(20));
    let inside = now - 10 * 60 * 1000;
    let outside = now - 2 * 3600 * 1000;
    *target.body.lock().unwrap() = format!("ooo_metric 2 {inside}\nother_metric 1\n");
    wait_for_value(&server, "other_metric", 1.0, Duration::from_secs(20));
    *target.body.lock().unwrap() = format!("ooo_metric 3 {outside}\nother_metric 2\n");
    wait_for_value(&server, "other_metric", 2.0, Duration::from_secs(20));
    let expect = vec![(inside, 2.0), (now, 1.0)];
    assert_eq!(samples(&server, "ooo_metric", outside - 1000, now), expect);
    let metrics = server.get("/metrics", &[]).text();
    assert!(
        metrics.contains("prometheus_tsdb_head_out_of_order_samples_appended_total 1"),
        "{metrics}"
    );
    let config = server.get("/api/v1/status/config", &[]).text();
    assert!(config.contains("out_of_order_time_window: 30m"), "{config}");
    assert!(config.contains("time: 400d"), "{config}");
    let runtime = server.get("/api/v1/status/runtimeinfo", &[]).text();
    assert!(runtime.contains("400d"), "{runtime}");
    drop(server);
    // After a restart (WAL replay) the late sample is still there, the refused one not.
    *target.body.lock().unwrap() = String::new();
    let server = Server::start(dir.path(), &[data]);
    assert_eq!(samples(&server, "ooo_metric", outside - 1000, now), expect);
}
