//! `http_sd_configs` end to end: a discovery endpoint and a target, both real HTTP servers
//! on loopback, scraped into a real database; the targets follow the endpoint's answers
//! and stay as last known while it fails.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use model::{MatchOp, Matcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers every request with the current (status, content type, body).
async fn server(answer: Arc<Mutex<(u16, String, String)>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let (status, content_type, body) = answer.lock().unwrap().clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(response.as_bytes()).await;
            });
        }
    });
    addr
}

async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sd_targets_follow_the_endpoint_and_survive_its_failures() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let metrics = |v: &str| (200, "text/plain".to_string(), format!("up_value {v}\n"));
    let one = server(Arc::new(Mutex::new(metrics("1")))).await;
    let two = server(Arc::new(Mutex::new(metrics("2")))).await;
    let groups = |targets: &[std::net::SocketAddr], team: &str| {
        let list: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        format!(
            r#"[{{"targets": [{}], "labels": {{"team": "{team}", "__meta_zone": "z1"}}}}]"#,
            list.join(", ")
        )
    };
    let sd_answer = Arc::new(Mutex::new((
        200,
        "application/json".to_string(),
        groups(&[one], "a"),
    )));
    let sd = server(Arc::clone(&sd_answer)).await;
    let yaml = format!(
        "scrape_configs:\n  - job_name: sd\n    scrape_interval: 100ms\n    scrape_timeout: 100ms\n    http_sd_configs:\n      - url: http://{sd}/targets\n        refresh_interval: 200ms\n    relabel_configs:\n      - source_labels: [__meta_zone]\n        target_label: zone\n"
    );
    let config = promconfig::Config::parse(&yaml, "test.yml", dir.path()).unwrap();
    let manager = scrape::Manager::new(Arc::clone(&db));
    manager.apply(&config);

    let first = wait_for("the discovered target", || {
        manager.active_targets().into_iter().next()
    })
    .await;
    assert_eq!(first.labels.get("instance"), Some(one.to_string().as_str()));
    assert_eq!(first.labels.get("team"), Some("a"));
    // The meta label is there to relabel from, and gone from the target's labels.
    assert_eq!(first.labels.get("zone"), Some("z1"));
    assert_eq!(first.labels.get("__meta_zone"), None);
    assert_eq!(
        first.discovered_labels.get("__meta_url"),
        Some(format!("http://{sd}/targets").as_str())
    );
    let up_value = |instance: String| {
        let db = Arc::clone(&db);
        move || {
            let m = [
                Matcher::new(MatchOp::Equal, "__name__", "up_value").unwrap(),
                Matcher::new(MatchOp::Equal, "instance", &instance).unwrap(),
            ];
            (!db.select(&m, 0, i64::MAX).is_empty()).then_some(())
        }
    };
    wait_for("a scrape of the first target", up_value(one.to_string())).await;

    // The endpoint fails: the targets last known stay.
    sd_answer.lock().unwrap().0 = 500;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(manager.active_targets().len(), 1);
    let failures = discovery::metrics_snapshot()
        .into_iter()
        .find(|s| {
            s.name == "prometheus_sd_refresh_failures_total"
                && s.labels.contains(&("config", "sd".to_string()))
        })
        .map_or(0.0, |s| s.value);
    assert!(failures >= 1.0, "refresh failures not counted");

    // It answers again with both targets for another team.
    *sd_answer.lock().unwrap() = (
        200,
        "application/json".to_string(),
        groups(&[one, two], "b"),
    );
    wait_for("both targets of team b", || {
        let t = manager.active_targets();
        (t.len() == 2 && t.iter().all(|t| t.labels.get("team") == Some("b"))).then_some(())
    })
    .await;
    wait_for("a scrape of the second target", up_value(two.to_string())).await;

    // An empty list: no targets.
    sd_answer.lock().unwrap().2 = "[]".into();
    wait_for("no targets", || {
        manager.active_targets().is_empty().then_some(())
    })
    .await;
    manager.stop().await;
}
