//! Rule evaluation and alert notifications with the real server: recording rules written
//! to storage, an alert going pending then firing, an Alertmanager stand-in on loopback
//! receiving the firing and then the resolved alert, reloads with a bad rule file.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// An Alertmanager stand-in (or a webhook receiver): records the body of every POST.
struct FakeAlertmanager {
    port: u16,
    received: Arc<Mutex<Vec<(Instant, serde_json::Value)>>>,
}

impl FakeAlertmanager {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let store = Arc::clone(&store);
                std::thread::spawn(move || serve(stream, store));
            }
        });
        Self { port, received }
    }

    fn bodies(&self) -> Vec<(Instant, serde_json::Value)> {
        self.received.lock().unwrap().clone()
    }
}

/// HTTP/1.1 requests on one connection (kept alive), each answered 200.
fn serve(stream: std::net::TcpStream, store: Arc<Mutex<Vec<(Instant, serde_json::Value)>>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let request_line = line.trim().to_string();
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        if request_line.starts_with("POST /") {
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            store.lock().unwrap().push((Instant::now(), value));
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

fn query(server: &Server, q: &str) -> Vec<serde_json::Value> {
    let reply = server.get(&format!("/api/v1/query?query={}", urlencode(q)), &[]);
    assert_eq!(reply.status, 200, "{q}: {}", reply.text());
    let v: serde_json::Value = serde_json::from_str(&reply.text()).unwrap();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn api(server: &Server, path: &str) -> serde_json::Value {
    let reply = server.get(path, &[]);
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    let v: serde_json::Value = serde_json::from_str(&reply.text()).unwrap();
    assert_eq!(v["status"], "success");
    v["data"].clone()
}

/// How long a rule evaluation or notification may take to show.
const WAIT: Duration = Duration::from_secs(30);

const RULES: &str = r#"groups:
  - name: example
    rules:
      - record: job:up:count
        expr: count(up)
      - alert: SelfUp
        expr: count(up) > THRESHOLD
        for: 2s
        labels:
          severity: page
        annotations:
          summary: "{{ $value }} targets up in {{ $externalLabels.env }}"
"#;

#[test]
fn rules_alerts_and_notifications_end_to_end() {
    let am = FakeAlertmanager::start();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels:\n    env: test\n\
             rule_files: ['rules/*.yml']\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{}']\n\
             scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n",
            am.port
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    let rules_file = dir.path().join("rules/example.yml");
    std::fs::write(&rules_file, RULES.replace("THRESHOLD", "0")).unwrap();
    // The group's two rules read no rule's output: with concurrent evaluation on, they are
    // evaluated at the same time, with the same results.
    let server = Server::start_on(
        dir.path(),
        port,
        &[
            "--web.enable-lifecycle",
            "--config.file=prometheus.yml",
            "--enable-feature=concurrent-rule-eval",
            "--rules.max-concurrent-evals=2",
        ],
    );
    assert!(server
        .log_text()
        .contains("Experimental concurrent rule evaluation enabled."));

    // The recording rule's output is queryable.
    server.wait_until("job:up:count", WAIT, || {
        !query(&server, "job:up:count").is_empty()
    });
    assert_eq!(query(&server, "job:up:count")[0]["value"][1], "1");

    // The alert goes pending (the API shows it; ALERTS is written from the evaluation
    // after the `for` state restore, the second, as Prometheus does), then fires.
    server.wait_until("pending", WAIT, || {
        api(&server, "/api/v1/alerts")["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["state"] == "pending")
    });
    server.wait_until("firing", WAIT, || {
        !query(&server, r#"ALERTS{alertname="SelfUp",alertstate="firing"}"#).is_empty()
    });
    let firing = &query(&server, r#"ALERTS{alertstate="firing"}"#)[0]["metric"];
    assert_eq!(firing["severity"], "page");

    // The API: /api/v1/alerts, /api/v1/rules (with the type filter), /api/v1/alertmanagers.
    let alerts = api(&server, "/api/v1/alerts");
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "SelfUp");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["value"], "1e+00");
    assert_eq!(alert["annotations"]["summary"], "1 targets up in test");
    let rules = api(&server, "/api/v1/rules");
    let group = &rules["groups"][0];
    assert_eq!(group["name"], "example");
    assert!(group["file"]
        .as_str()
        .unwrap()
        .ends_with("rules/example.yml"));
    assert_eq!(group["interval"], 1.0);
    assert_eq!(group["rules"][0]["type"], "recording");
    assert_eq!(group["rules"][0]["name"], "job:up:count");
    assert_eq!(group["rules"][0]["query"], "count(up)");
    assert_eq!(group["rules"][0]["health"], "ok");
    let alerting = &group["rules"][1];
    assert_eq!(alerting["type"], "alerting");
    assert_eq!(alerting["state"], "firing");
    assert_eq!(alerting["duration"], 2.0);
    assert_eq!(alerting["labels"]["severity"], "page");
    assert_eq!(alerting["alerts"][0]["state"], "firing");
    let only_alerts = api(&server, "/api/v1/rules?type=alert");
    assert_eq!(
        only_alerts["groups"][0]["rules"].as_array().unwrap().len(),
        1
    );
    assert_eq!(only_alerts["groups"][0]["rules"][0]["name"], "SelfUp");
    let only_records = api(&server, "/api/v1/rules?type=record&exclude_alerts=true");
    assert_eq!(
        only_records["groups"][0]["rules"][0]["name"],
        "job:up:count"
    );
    assert_eq!(server.get("/api/v1/rules?type=nope", &[]).status, 400);
    let matched = api(
        &server,
        &format!(
            "/api/v1/rules?match[]={}",
            urlencode(r#"{severity="page"}"#)
        ),
    );
    assert_eq!(matched["groups"][0]["rules"].as_array().unwrap().len(), 1);
    assert_eq!(matched["groups"][0]["rules"][0]["name"], "SelfUp");
    let by_name = api(&server, "/api/v1/rules?rule_name[]=job:up:count");
    assert_eq!(by_name["groups"][0]["rules"].as_array().unwrap().len(), 1);
    assert_eq!(
        api(&server, "/api/v1/rules?rule_group[]=other")["groups"],
        serde_json::json!([])
    );
    assert_eq!(
        server
            .get(&format!("/api/v1/rules?match[]={}", urlencode("{")), &[])
            .status,
        400
    );
    let ams = api(&server, "/api/v1/alertmanagers");
    assert_eq!(
        ams["activeAlertmanagers"][0]["url"],
        format!("http://127.0.0.1:{}/api/v2/alerts", am.port)
    );

    // The Alertmanager gets it, annotations rendered, external labels added.
    server.wait_until("the firing alert at the Alertmanager", WAIT, || {
        !am.bodies().is_empty()
    });
    let (_, body) = am.bodies()[0].clone();
    let alert = &body[0];
    assert_eq!(alert["labels"]["alertname"], "SelfUp");
    assert_eq!(alert["labels"]["env"], "test");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["annotations"]["summary"], "1 targets up in test");
    assert!(alert["generatorURL"]
        .as_str()
        .unwrap()
        .contains("/graph?g0.expr="));

    // A reload with the same rules keeps the group running as it is: still firing, and its
    // iteration count goes on.
    let iterations = |server: &Server| -> f64 {
        let metrics = server.get("/metrics", &[]).text();
        let line = metrics
            .lines()
            .find(|l| l.starts_with("prometheus_rule_group_iterations_total{"))
            .unwrap()
            .to_string();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let before = iterations(&server);
    assert!(before >= 3.0, "{before}");
    assert_eq!(server.request("POST", "/-/reload", &[]).status, 200);
    assert_eq!(
        api(&server, "/api/v1/alerts")["alerts"][0]["state"],
        "firing"
    );
    assert!(iterations(&server) >= before);

    // A bad rule file fails the reload; the old rules keep running.
    std::fs::write(
        &rules_file,
        "groups:\n  - name: example\n    rules:\n      - record: x\n        expr: sum(\n",
    )
    .unwrap();
    let reload = server.request("POST", "/-/reload", &[]);
    assert_eq!(reload.status, 500, "{}", reload.text());
    assert!(
        reload.text().contains("error loading rules"),
        "{}",
        reload.text()
    );
    std::thread::sleep(Duration::from_secs(3));
    let fresh = query(&server, "time() - timestamp(job:up:count) < 2.5");
    assert_eq!(
        fresh.len(),
        1,
        "the recording rule stopped after a failed reload"
    );

    // The expression stops matching: the alert resolves and the resolution is sent.
    std::fs::write(&rules_file, RULES.replace("THRESHOLD", "100")).unwrap();
    let reloaded_at = Instant::now();
    let reload = server.request("POST", "/-/reload", &[]);
    assert_eq!(reload.status, 200, "{}", reload.text());
    server.wait_until("the resolved alert at the Alertmanager", WAIT, || {
        // A firing alert is sent as ending 4 resend delays (4m) after the send; a
        // resolved one as ended when it resolved.
        let soon = model::time::format_rfc3339_ms(now_ms() + 60_000);
        am.bodies().iter().any(|(at, body)| {
            *at > reloaded_at
                && body.as_array().unwrap().iter().any(|a| {
                    a["labels"]["alertname"] == "SelfUp"
                        && a["endsAt"].as_str().unwrap()[..19] < soon[..19]
                })
        })
    });
    server.wait_until("ALERTS gone", WAIT, || {
        query(&server, r#"ALERTS{alertname="SelfUp"}"#).is_empty()
    });

    // The group's metrics and the notifier's.
    let metrics = server.get("/metrics", &[]).text();
    let sent = format!(
        "prometheus_notifications_sent_total{{alertmanager=\"http://127.0.0.1:{}/api/v2/alerts\"}} ",
        am.port
    );
    assert!(metrics.contains(&sent), "{sent} missing:\n{metrics}");
    for name in [
        "prometheus_rule_evaluations_total{rule_group=",
        "prometheus_rule_evaluation_failures_total{rule_group=",
        "prometheus_rule_group_iterations_total{rule_group=",
        "prometheus_rule_group_iterations_missed_total{rule_group=",
        "prometheus_rule_group_last_duration_seconds{rule_group=",
        "prometheus_rule_group_interval_seconds{rule_group=",
        "prometheus_rule_group_rules{rule_group=",
        "prometheus_rule_group_last_evaluation_timestamp_seconds{rule_group=",
        "prometheus_rule_group_duration_seconds{quantile=\"0.99\"}",
        "prometheus_rule_group_duration_seconds_count ",
        "prometheus_rule_evaluation_duration_seconds_sum ",
        "prometheus_notifications_queue_capacity 10000",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }

    // A group removed by a reload stops; its series are marked stale (two intervals later).
    std::fs::write(&rules_file, "groups: []\n").unwrap();
    assert_eq!(server.request("POST", "/-/reload", &[]).status, 200);
    assert!(api(&server, "/api/v1/rules")["groups"]
        .as_array()
        .unwrap()
        .is_empty());
    server.wait_until("job:up:count stale", WAIT, || {
        query(&server, "job:up:count").is_empty()
    });

    // SIGTERM stops the groups and the notifier, and the server exits cleanly.
    terminate(server);
}

/// The HTTP status of `GET path` at `127.0.0.1:port`, if it answers.
/// `/api/v1/rules` in pages (`group_limit`, `group_next_token`: upstream's tokens, the hex
/// SHA-256 of `<file>;<group>`, and its errors) and its other parameters read as Go reads them.
#[test]
fn rules_api_pages_through_groups() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n\
         \x20 - name: g1\n    rules: [{record: one, expr: vector(1)}]\n\
         \x20 - name: g2\n    rules: [{record: two, expr: vector(2)}]\n\
         \x20 - name: empty\n    rules: []\n\
         \x20 - name: g3\n    rules: [{alert: Three, expr: vector(3)}]\n",
    )
    .unwrap();
    let server = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let names = |data: &serde_json::Value| -> Vec<String> {
        data["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    };
    // A group without rules is never listed (upstream skips groups left with no rules).
    let all = api(&server, "/api/v1/rules");
    assert_eq!(names(&all), ["g1", "g2", "g3"]);
    assert!(all.get("groupNextToken").is_none());
    let file = all["groups"][0]["file"].as_str().unwrap().to_string();
    let token = |group: &str| -> String {
        use sha2::Digest;
        sha2::Sha256::digest(format!("{file};{group}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };

    let first = api(&server, "/api/v1/rules?group_limit=2");
    assert_eq!(names(&first), ["g1", "g2"]);
    assert_eq!(first["groupNextToken"], token("g3"));
    let second = api(
        &server,
        &format!(
            "/api/v1/rules?group_limit=2&group_next_token={}",
            token("g3")
        ),
    );
    assert_eq!(names(&second), ["g3"]);
    assert!(second.get("groupNextToken").is_none());
    // The limit counts the groups listed after the other filters.
    let records = api(&server, "/api/v1/rules?group_limit=1&type=record");
    assert_eq!(names(&records), ["g1"]);
    assert_eq!(records["groupNextToken"], token("g2"));
    let exact = api(&server, "/api/v1/rules?group_limit=3");
    assert_eq!(names(&exact), ["g1", "g2", "g3"]);
    assert!(exact.get("groupNextToken").is_none());

    let error = |path: &str| -> String {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        let v: serde_json::Value = serde_json::from_str(&reply.text()).unwrap();
        assert_eq!(v["errorType"], "bad_data");
        v["error"].as_str().unwrap().to_string()
    };
    assert_eq!(
        error(&format!("/api/v1/rules?group_next_token={}", token("g2"))),
        "invalid parameter \"group_next_token\": group_limit needs to be present in order to paginate over the groups"
    );
    assert_eq!(
        error("/api/v1/rules?group_limit=0"),
        "invalid parameter \"group_limit\": group_limit needs to be greater than 0"
    );
    assert_eq!(
        error("/api/v1/rules?group_limit=x"),
        "invalid parameter \"group_limit\": group_limit needs to be a valid number: strconv.ParseInt: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        error("/api/v1/rules?group_limit=3000000000"),
        "invalid parameter \"group_limit\": group_limit needs to be a valid number: strconv.ParseInt: parsing \"3000000000\": value out of range"
    );
    assert_eq!(
        error("/api/v1/rules?group_limit=1&group_next_token=abc"),
        "invalid parameter \"group_next_token\": invalid group_next_token 'abc'. were rule groups changed?"
    );
    assert_eq!(
        error("/api/v1/rules?type=nope"),
        "invalid parameter \"type\": not supported value \"nope\""
    );
    // strconv.ParseBool after lowercasing: "T" is true.
    let excluded = api(&server, "/api/v1/rules?exclude_alerts=T&rule_group[]=g3");
    assert_eq!(
        excluded["groups"][0]["rules"][0]["alerts"],
        serde_json::json!([])
    );
    assert_eq!(
        error("/api/v1/rules?exclude_alerts=maybe"),
        "invalid parameter \"exclude_alerts\": error converting exclude_alerts: strconv.ParseBool: parsing \"maybe\": invalid syntax"
    );
    terminate(server);
}

fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.split(' ').nth(1)?.parse().ok()
}

/// Debian's `prometheus-alertmanager` between the server and a webhook: the alert arrives
/// with its rendered annotations, then its resolution.
#[test]
fn debians_alertmanager_gets_the_alert_and_its_resolution() {
    const BINARY: &str = "/usr/bin/prometheus-alertmanager";
    assert!(
        std::path::Path::new(BINARY).exists(),
        "{BINARY} is not installed (apt-get install prometheus-alertmanager, as scripts/test does)"
    );
    let hook = FakeAlertmanager::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("alertmanager.yml"),
        format!(
            "route:\n  receiver: x\n  group_wait: 100ms\n  group_interval: 1s\n\
             receivers:\n- name: x\n  webhook_configs:\n  - url: http://127.0.0.1:{}/hook\n    send_resolved: true\n",
            hook.port
        ),
    )
    .unwrap();
    let am_port = free_port();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _am = Kill(
        std::process::Command::new(BINARY)
            .current_dir(dir.path())
            .args([
                "--config.file=alertmanager.yml",
                "--storage.path=am-data",
                &format!("--web.listen-address=127.0.0.1:{am_port}"),
                "--cluster.listen-address=",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_status(am_port, "/-/ready") != Some(200) {
        assert!(Instant::now() < deadline, "Alertmanager not ready");
        std::thread::sleep(Duration::from_millis(100));
    }

    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels:\n    env: test\n\
             rule_files: ['rules.yml']\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let rules_file = dir.path().join("rules.yml");
    std::fs::write(&rules_file, RULES.replace("THRESHOLD", "0")).unwrap();
    let server = Server::start_on(
        dir.path(),
        port,
        &["--web.enable-lifecycle", "--config.file=prometheus.yml"],
    );
    let notified = |status: &str| {
        hook.bodies().iter().any(|(_, b)| {
            b["status"] == status
                && b["alerts"].as_array().unwrap().iter().any(|a| {
                    a["status"] == status
                        && a["labels"]["alertname"] == "SelfUp"
                        && a["labels"]["env"] == "test"
                        && a["annotations"]["summary"] == "1 targets up in test"
                })
        })
    };
    server.wait_until("the firing notification", WAIT, || notified("firing"));
    std::fs::write(&rules_file, RULES.replace("THRESHOLD", "100")).unwrap();
    assert_eq!(server.request("POST", "/-/reload", &[]).status, 200);
    server.wait_until("the resolved notification", WAIT, || notified("resolved"));
}

/// SIGTERM, and waits for a clean exit.
fn terminate(mut server: Server) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{}", server.log_text());
            return;
        }
        assert!(Instant::now() < deadline, "no exit: {}", server.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A pending alert's `for` state survives a restart (the issue's case: `for: 1m`, restarted
/// while pending). As in Prometheus, the state is restored from `ALERTS_FOR_STATE` and the
/// active time moved later by the downtime, so the alert fires `for` after it went pending
/// plus the downtime, not `for` after the restart. Prometheus restores only alerts whose
/// `for` is at least `--rules.alert.for-grace-period` (10m by default; a shorter `for`
/// simply starts over), so the test sets a grace period of 1s for the 1m rule.
#[test]
fn a_pending_alert_is_restored_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  evaluation_interval: 1s\nrule_files: ['rules.yml']\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: g\n    rules:\n      - alert: Always\n        expr: vector(1)\n        for: 1m\n",
    )
    .unwrap();
    let args = [
        "--config.file=prometheus.yml",
        "--storage.tsdb.path=data",
        "--rules.alert.for-grace-period=1s",
    ];
    let server = Server::start_on(dir.path(), port, &args);
    server.wait_until("ALERTS_FOR_STATE", WAIT, || {
        !query(&server, "ALERTS_FOR_STATE").is_empty()
    });
    let active_at = |server: &Server| -> Option<f64> {
        let alerts = api(server, "/api/v1/alerts");
        let at = alerts["alerts"][0]["activeAt"].as_str()?.to_string();
        Some(rfc3339_seconds(&at))
    };
    let before = active_at(&server).unwrap();
    // Pending long enough that an alert made new at the restart would fire clearly later.
    std::thread::sleep(Duration::from_secs(15));
    let stopped = now_ms() as f64 / 1000.0;
    terminate(server);
    let server = Server::start_on(dir.path(), port, &args);
    let restarted = now_ms() as f64 / 1000.0;
    let downtime = restarted - stopped;
    // Restored after the second evaluation; before that the alert is new (active now).
    // ALERTS_FOR_STATE is written again once the state was restored.
    server.wait_until("the restored alert", WAIT, || {
        !query(
            &server,
            &format!("timestamp(ALERTS_FOR_STATE) > {restarted}"),
        )
        .is_empty()
    });
    let after = active_at(&server).unwrap();
    assert!(
        after >= before + downtime - 2.0 && after <= before + downtime + 2.0,
        "active at {after}, was {before} before a downtime of {downtime:.1}s"
    );
    // It fires `for` after its restored active time: about 45 s from the restart, where
    // an alert made new would need 60 s.
    let deadline = Instant::now() + Duration::from_secs(90);
    let fired = loop {
        let alerts = api(&server, "/api/v1/alerts");
        if alerts["alerts"][0]["state"] == "firing" {
            break now_ms() as f64 / 1000.0;
        }
        assert!(
            Instant::now() < deadline,
            "never fired: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    // It fires `for` after its restored active time (checked above to be the old one moved
    // by the downtime; Prometheus measures the downtime from the last ALERTS_FOR_STATE
    // sample to the restoring evaluation, a little longer than stop to start), and well
    // before an alert made new at the restart could.
    let expected = after + 60.0;
    assert!(
        (fired - expected).abs() <= 3.0 && fired < restarted + 60.0 - 10.0,
        "fired at {fired:.1}, expected {expected:.1} (went pending at {before:.1}, restored \
         active at {after:.1}, down {downtime:.1}s; a new alert would fire at {:.1})",
        restarted + 60.0
    );
    terminate(server);
}

/// Seconds since the epoch of an RFC 3339 UTC time as the API writes it
/// (`2026-12-05T10:00:00.123Z`).
fn rfc3339_seconds(text: &str) -> f64 {
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (y, m, day) = (d[0], d[1], d[2]);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t: Vec<f64> = time.split(':').map(|p| p.parse().unwrap()).collect();
    days as f64 * 86_400.0 + t[0] * 3600.0 + t[1] * 60.0 + t[2]
}

#[test]
fn a_bad_rule_file_fails_the_start_and_an_unsupported_alertmanager_discovery_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "rule_files: ['bad.yml']\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n",
    )
    .unwrap();
    let log = failed_start(dir.path());
    assert!(log.contains("error loading rules"), "{log}");
    assert!(log.contains("bad.yml"), "{log}");

    std::fs::write(
        dir.path().join("prometheus.yml"),
        "alerting:\n  alertmanagers:\n    - eureka_sd_configs:\n        - server: 'http://eureka.example:8761/eureka'\n",
    )
    .unwrap();
    let log = failed_start(dir.path());
    assert!(log.contains("eureka_sd_configs"), "{log}");
}

/// Runs the server in `dir` with its prometheus.yml, expecting it to refuse to start;
/// returns its log.
fn failed_start(dir: &std::path::Path) -> String {
    let out = std::process::Command::new(promethium_bin())
        .current_dir(dir)
        .args([
            "--config.file=prometheus.yml",
            "--storage.tsdb.path=data",
            &format!("--web.listen-address=127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
