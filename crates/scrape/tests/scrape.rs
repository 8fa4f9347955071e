//! Scraping real HTTP targets on loopback into a real database in a temp dir.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use model::{MatchOp, Matcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the fake exporter answers: content type and body, changeable while it runs.
#[derive(Clone)]
struct Exporter {
    addr: std::net::SocketAddr,
    reply: Arc<Mutex<(Option<String>, String)>>,
    seen_headers: Arc<Mutex<String>>,
}

/// A minimal HTTP/1.1 server: requires `Authorization: Basic dXNlcjpwYXNz` (user:pass)
/// when `auth` is set, answers 401 otherwise.
async fn exporter(auth: bool) -> Exporter {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reply = Arc::new(Mutex::new((
        Some("text/plain; version=0.0.4".to_string()),
        String::new(),
    )));
    let seen_headers = Arc::new(Mutex::new(String::new()));
    let (r, s) = (Arc::clone(&reply), Arc::clone(&seen_headers));
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (r, s) = (Arc::clone(&r), Arc::clone(&s));
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = 0;
                loop {
                    let Ok(n) = stream.read(&mut buf[got..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got += n;
                    let text = String::from_utf8_lossy(&buf[..got]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_string();
                        *s.lock().unwrap() = head.clone();
                        let authorized = !auth
                            || head.contains("Authorization: Basic dXNlcjpwYXNz")
                            || head.contains("authorization: Basic dXNlcjpwYXNz");
                        let (ctype, body) = r.lock().unwrap().clone();
                        let response = if authorized {
                            let ct = ctype
                                .map(|c| format!("Content-Type: {c}\r\n"))
                                .unwrap_or_default();
                            format!(
                                "HTTP/1.1 200 OK\r\n{ct}Content-Length: {}\r\n\r\n{body}",
                                body.len()
                            )
                        } else {
                            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_string()
                        };
                        let _ = stream.write_all(response.as_bytes()).await;
                        buf.drain(..end + 4);
                        got -= end + 4;
                    }
                }
            });
        }
    });
    Exporter {
        addr,
        reply,
        seen_headers,
    }
}

impl Exporter {
    fn serve(&self, content_type: Option<&str>, body: &str) {
        *self.reply.lock().unwrap() = (content_type.map(str::to_string), body.to_string());
    }
}

fn config(yaml: &str, dir: &Path) -> promconfig::Config {
    promconfig::Config::parse(yaml, "test.yml", dir).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn eq(name: &str, value: &str) -> Matcher {
    Matcher::new(MatchOp::Equal, name, value).unwrap()
}

/// Waits until `check` holds (scrapes run every 100 ms in these tests).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn last_value(db: &tsdb::Db, matchers: &[Matcher]) -> Option<f64> {
    db.select(matchers, 0, i64::MAX)
        .first()
        .and_then(|s| s.samples.last().map(|x| x.1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_store_and_mark_stale() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(dir.path()).unwrap());
    let target = exporter(false).await;
    target.serve(
        Some("text/plain; version=0.0.4"),
        "# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\",job=\"mine\"} 7\nhttp_requests_total{code=\"500\"} 1\ntemp 21.5\n",
    );
    let manager = scrape::Manager::new(Arc::clone(&db));
    let yaml = format!(
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{}']\n        labels:\n          env: test\n",
        target.addr
    );
    manager.apply(&config(&yaml, dir.path()));
    let instance = target.addr.to_string();
    eventually("up == 1", || {
        last_value(&db, &[eq("__name__", "up"), eq("job", "app")]) == Some(1.0)
    })
    .await;
    let requests = db.select(&[eq("__name__", "http_requests_total")], 0, i64::MAX);
    assert_eq!(requests.len(), 2);
    let with_conflict = &requests[0].labels;
    assert_eq!(with_conflict.get("job"), Some("app"), "target labels win");
    assert_eq!(with_conflict.get("exported_job"), Some("mine"));
    assert_eq!(with_conflict.get("instance"), Some(instance.as_str()));
    assert_eq!(with_conflict.get("env"), Some("test"));
    assert_eq!(
        last_value(&db, &[eq("__name__", "scrape_samples_scraped")]),
        Some(3.0)
    );
    let headers = target.seen_headers.lock().unwrap().clone();
    assert!(
        headers.contains("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6"),
        "{headers}"
    );
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("x-prometheus-scrape-timeout-seconds: 0.1\r\n"),
        "the timeout (the interval, as none is set) in seconds, as Go formats it: {headers}"
    );

    // A series that disappears gets a staleness marker.
    target.serve(Some("text/plain; version=0.0.4"), "temp 22\n");
    eventually("temp series stale", || {
        let s = db.select(
            &[eq("__name__", "http_requests_total"), eq("code", "500")],
            0,
            i64::MAX,
        );
        s.first()
            .is_some_and(|s| s.samples.last().is_some_and(|x| model::is_stale_nan(x.1)))
    })
    .await;

    // An unsupported Content-Type fails the scrape (Prometheus 3), visibly.
    target.serve(None, "temp 1\n");
    eventually("up == 0", || {
        last_value(&db, &[eq("__name__", "up")]) == Some(0.0)
    })
    .await;
    let t = manager.active_targets();
    assert_eq!(t[0].status.health, "down");
    assert!(
        t[0].status.last_error.contains("unsupported Content-Type"),
        "{}",
        t[0].status.last_error
    );
    assert!(model::is_stale_nan(
        last_value(&db, &[eq("__name__", "temp")]).unwrap()
    ));

    // Removing the job stops it; its report series go stale.
    manager.apply(&config("scrape_configs: []\n", dir.path()));
    eventually("up stale", || {
        last_value(&db, &[eq("__name__", "up")]).is_some_and(model::is_stale_nan)
    })
    .await;
    assert!(manager.active_targets().is_empty());
}

/// Known series are not read again (their labels are not parsed), yet every body is
/// checked as a whole: a bad line fails the scrape whether its series is known or new,
/// and a body in another format is read by that format's rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_line_fails_the_scrape_whether_its_series_is_known_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(dir.path()).unwrap());
    let target = exporter(false).await;
    let text = Some("text/plain; version=0.0.4");
    target.serve(text, "temp {room=\"a\"} 21.5\nhumidity 40\n");
    let yaml = format!(
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{}']\n",
        target.addr
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let status = || status_of(&manager, "app");
    let temp = || last_value(&db, &[eq("__name__", "temp"), eq("room", "a")]);
    eventually("the first scrape", || temp() == Some(21.5)).await;

    let failing = [
        // A known series with a bad value.
        (
            text,
            "temp {room=\"a\"} warm\nhumidity 40\n",
            "invalid sample value",
        ),
        // A new series with a bad label name, after known ones.
        (
            text,
            "temp {room=\"a\"} 22\nhumidity 40\nnew{0a=\"b\"} 1\n",
            "line 3",
        ),
        // Known text with a bad timestamp after it.
        (text, "temp {room=\"a\"} 22 -5\nhumidity 40\n", "line 1"),
        // The same series in OpenMetrics, which allows no blank before the labels.
        (
            Some("application/openmetrics-text; version=1.0.0"),
            "temp {room=\"a\"} 22\nhumidity 40\n# EOF\n",
            "line 1",
        ),
    ];
    for (content_type, body, error) in failing {
        target.serve(content_type, body);
        eventually(&format!("{body:?} failing"), || {
            let s = status();
            s.health == "down" && s.last_error.contains(error)
        })
        .await;
        // A good body brings the target back before the next case.
        target.serve(text, "temp {room=\"a\"} 21.5\nhumidity 40\n");
        eventually("up again", || status().health == "up").await;
    }
    target.serve(text, "temp {room=\"a\"} 23\nhumidity 41\n");
    eventually("known series scraped again", || temp() == Some(23.0)).await;
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(dir.path()).unwrap());
    let target = exporter(true).await;
    target.serve(Some("text/plain; version=0.0.4"), "a 1\nb 2\nc 3\n");
    std::fs::write(dir.path().join("pass"), "pass\n").unwrap();
    let yaml = format!(
        "scrape_configs:\n  - job_name: good\n    scrape_interval: 100ms\n    basic_auth:\n      username: user\n      password_file: pass\n    static_configs:\n      - targets: ['{0}']\n  - job_name: bad\n    scrape_interval: 100ms\n    basic_auth:\n      username: user\n      password: wrong\n    static_configs:\n      - targets: ['{0}']\n  - job_name: limited\n    scrape_interval: 100ms\n    sample_limit: 2\n    basic_auth:\n      username: user\n      password: pass\n    static_configs:\n      - targets: ['{0}']\n",
        target.addr
    );
    let manager = scrape::Manager::new(Arc::clone(&db));
    manager.apply(&config(&yaml, dir.path()));
    eventually("every job scraped", || {
        manager
            .active_targets()
            .iter()
            .all(|t| t.status.last_scrape.is_some())
    })
    .await;
    let status = |job: &str| {
        manager
            .active_targets()
            .into_iter()
            .find(|t| t.scrape_pool == job)
            .unwrap()
            .status
    };
    assert_eq!(status("good").health, "up");
    assert_eq!(status("bad").health, "down");
    assert!(
        status("bad").last_error.contains("401"),
        "{}",
        status("bad").last_error
    );
    assert_eq!(status("limited").health, "down");
    assert!(
        status("limited")
            .last_error
            .contains("sample limit exceeded"),
        "{}",
        status("limited").last_error
    );
    // Nothing of the over-limit scrape is stored.
    assert!(db
        .select(&[eq("__name__", "a"), eq("job", "limited")], 0, i64::MAX)
        .is_empty());
    assert_eq!(
        db.select(&[eq("__name__", "a"), eq("job", "good")], 0, i64::MAX)
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sd_follows_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let one = exporter(false).await;
    let two = exporter(false).await;
    one.serve(Some("text/plain"), "x 1\n");
    two.serve(
        Some("application/openmetrics-text; version=1.0.0"),
        "x 2\n# EOF\n",
    );
    let targets = dir.path().join("targets.json");
    std::fs::write(
        &targets,
        format!(
            "[{{\"targets\": [\"{}\"], \"labels\": {{\"team\": \"a\"}}}}]",
            one.addr
        ),
    )
    .unwrap();
    let yaml = "scrape_configs:\n  - job_name: sd\n    scrape_interval: 100ms\n    file_sd_configs:\n      - files: ['*.json']\n";
    let manager = scrape::Manager::new(Arc::clone(&db));
    manager.apply(&config(yaml, dir.path()));
    eventually("first target", || manager.active_targets().len() == 1).await;
    assert_eq!(manager.active_targets()[0].labels.get("team"), Some("a"));
    std::fs::write(
        &targets,
        format!(
            "- targets: ['{}', '{}']\n  labels:\n    team: b\n",
            one.addr, two.addr
        ),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = manager.active_targets();
        if t.len() == 2 && t.iter().all(|t| t.labels.get("team") == Some("b")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "targets did not follow the file: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eventually("OpenMetrics target scraped", || {
        db.select(
            &[eq("__name__", "x"), eq("instance", &two.addr.to_string())],
            0,
            i64::MAX,
        )
        .len()
            == 1
    })
    .await;
    manager.stop().await;
}

/// A TLS target: webconfig's own server with the conformance certificate (CN localhost,
/// issued by "Prometheus TLS CA"), optionally requiring basic auth.
async fn tls_exporter(dir: &Path) -> std::net::SocketAddr {
    let conformance =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/web-config");
    for f in ["server.crt", "server.key"] {
        std::fs::copy(conformance.join(f), dir.join(f)).unwrap();
    }
    tls_exporter_with(dir, &dir.join("server.crt"), &dir.join("server.key")).await
}

/// A TLS target serving `secure_metric 42` with the given certificate and key.
async fn tls_exporter_with(dir: &Path, cert: &Path, key: &Path) -> std::net::SocketAddr {
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let handle =
        webconfig::WebConfigHandle::new(Some(&web), webconfig::HandleOptions::default()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = tower::service_fn(|_req: http::Request<hyper::body::Incoming>| async {
        let mut response = http::Response::new(http_body_util::Full::new(
            bytes::Bytes::from_static(b"secure_metric 42\n"),
        ));
        response.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        // A new connection (and TLS handshake) for every scrape.
        response
            .headers_mut()
            .insert("connection", http::HeaderValue::from_static("close"));
        Ok::<_, std::convert::Infallible>(response)
    });
    tokio::spawn(async move {
        let _ = webconfig::serve(
            listener,
            handle,
            service,
            webconfig::ServeOptions::default(),
            std::future::pending(),
        )
        .await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_target_verified_against_its_ca() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let addr = tls_exporter(dir.path()).await;
    let ca = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/web-config/tls-ca-chain.pem");
    let yaml = format!(
        "scrape_configs:\n  - job_name: secure\n    scheme: https\n    scrape_interval: 100ms\n    tls_config:\n      ca_file: {}\n      server_name: localhost\n    static_configs:\n      - targets: ['{addr}']\n  - job_name: untrusted\n    scheme: https\n    scrape_interval: 100ms\n    tls_config:\n      server_name: localhost\n    static_configs:\n      - targets: ['{addr}']\n",
        ca.display()
    );
    let manager = scrape::Manager::new(Arc::clone(&db));
    manager.apply(&config(&yaml, dir.path()));
    eventually("both scraped", || {
        manager
            .active_targets()
            .iter()
            .all(|t| t.status.last_scrape.is_some())
    })
    .await;
    let status = |job: &str| {
        manager
            .active_targets()
            .into_iter()
            .find(|t| t.scrape_pool == job)
            .unwrap()
            .status
    };
    assert_eq!(
        status("secure").health,
        "up",
        "{}",
        status("secure").last_error
    );
    assert_eq!(
        status("secure").scrape_url,
        format!("https://{addr}/metrics")
    );
    assert_eq!(
        last_value(&db, &[eq("__name__", "secure_metric")]),
        Some(42.0)
    );
    // Without the CA the system roots do not trust the test CA.
    assert_eq!(status("untrusted").health, "down");
    assert!(
        status("untrusted")
            .last_error
            .to_lowercase()
            .contains("certificate"),
        "{}",
        status("untrusted").last_error
    );
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_created_lines_become_start_timestamps_when_asked() {
    let body = "# TYPE requests counter\n\
        requests_total{code=\"200\"} 7\n\
        requests_created{code=\"200\"} 1700000000.5\n\
        requests_total{code=\"500\"} 1\n\
        # TYPE latency histogram\n\
        latency_bucket{le=\"1\"} 2\n\
        latency_bucket{le=\"+Inf\"} 3\n\
        latency_count 3\n\
        latency_sum 1.5\n\
        latency_created 1700000100\n\
        # HELP latency_extra not part of the histogram\n\
        latency_extra 4\n\
        # TYPE temp gauge\n\
        temp 21.5\n\
        # EOF\n";
    let run = |on: bool| async move {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(tsdb::Db::open(dir.path()).unwrap());
        let target = exporter(false).await;
        target.serve(Some("application/openmetrics-text; version=1.0.0"), body);
        let manager = scrape::Manager::new(Arc::clone(&db));
        manager.set_store_start_timestamps(on);
        let yaml = format!(
            "scrape_configs:\n  - job_name: app\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        );
        manager.apply(&config(&yaml, dir.path()));
        eventually("two scrapes", || {
            db.select(&[eq("__name__", "temp")], 0, i64::MAX)
                .first()
                .is_some_and(|s| s.samples.len() >= 2)
        })
        .await;
        manager.stop().await;
        let start_of = |name: &str, extra: Option<(&str, &str)>| -> Vec<i64> {
            let mut m = vec![eq("__name__", name)];
            if let Some((n, v)) = extra {
                m.push(eq(n, v));
            }
            let found = db.select(&m, 0, i64::MAX);
            assert_eq!(found.len(), 1, "{name}");
            let s = &found[0];
            assert!(s.starts.is_empty() || s.starts.len() == s.samples.len());
            // Staleness markers (written at stop) have no start.
            let mut starts: Vec<i64> = s
                .samples
                .iter()
                .enumerate()
                .filter(|(_, p)| !model::is_stale_nan(p.1))
                .map(|(i, _)| s.starts.get(i).copied().unwrap_or(0))
                .collect();
            starts.dedup();
            if starts == [0] {
                starts.clear();
            }
            starts
        };
        (
            start_of("requests_total", Some(("code", "200"))),
            start_of("requests_total", Some(("code", "500"))),
            start_of("latency_bucket", Some(("le", "+Inf"))),
            start_of("latency_sum", None),
            start_of("temp", None),
            // Another family that shares the prefix gets no start timestamp.
            start_of("latency_extra", None),
            // The `_created` series are still stored as ever.
            db.select(&[eq("__name__", "requests_created")], 0, i64::MAX)
                .len(),
        )
    };
    let run = |on: bool| async move {
        let r = run(on).await;
        assert!(r.5.is_empty(), "latency_extra: {:?}", r.5);
        (r.0, r.1, r.2, r.3, r.4, r.6)
    };
    let on = run(true).await;
    assert_eq!(on.0, vec![1_700_000_000_500]);
    // No `_created` line for it: unknown.
    assert!(on.1.is_empty());
    assert_eq!(on.2, vec![1_700_000_100_000]);
    assert_eq!(on.3, vec![1_700_000_100_000]);
    assert!(on.4.is_empty());
    assert_eq!(on.5, 1);
    let off = run(false).await;
    assert!(
        off.0.is_empty() && off.2.is_empty() && off.3.is_empty(),
        "{off:?}"
    );
    assert_eq!(off.5, 1);
}

/// Scrapes `yaml` until every target has been scraped once; returns the manager.
async fn scrape_all(yaml: &str, dir: &Path, db: &Arc<tsdb::Db>) -> Arc<scrape::Manager> {
    let manager = scrape::Manager::new(Arc::clone(db));
    manager.apply(&config(yaml, dir));
    eventually("every target scraped", || {
        let targets = manager.active_targets();
        !targets.is_empty() && targets.iter().all(|t| t.status.last_scrape.is_some())
    })
    .await;
    manager
}

fn status_of(manager: &scrape::Manager, job: &str) -> scrape::TargetStatus {
    manager
        .active_targets()
        .into_iter()
        .find(|t| t.scrape_pool == job)
        .unwrap_or_else(|| panic!("no target in {job}"))
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_go_through_the_configured_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    // The "proxy" answers forwarded requests itself and records what it was asked.
    let proxy = exporter(false).await;
    proxy.serve(Some("text/plain; version=0.0.4"), "via_proxy 1\n");
    let direct = exporter(false).await;
    direct.serve(Some("text/plain; version=0.0.4"), "direct 1\n");
    // Nothing listens on 127.0.0.2:9 (discard): only a proxy can make that scrape work.
    let yaml = format!(
        "scrape_configs:\n  - job_name: proxied\n    scrape_interval: 100ms\n    proxy_url: http://{proxy}\n    proxy_connect_header:\n      X-Proxy-Token: [for-connect-only]\n    static_configs:\n      - targets: ['127.0.0.2:9']\n  - job_name: bypass\n    scrape_interval: 100ms\n    proxy_url: http://127.0.0.1:9\n    no_proxy: 127.0.0.1\n    static_configs:\n      - targets: ['{direct}']\n",
        proxy = proxy.addr,
        direct = direct.addr,
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let proxied = status_of(&manager, "proxied");
    assert_eq!(proxied.health, "up", "{}", proxied.last_error);
    let head = proxy.seen_headers.lock().unwrap().clone();
    assert!(
        head.starts_with("GET http://127.0.0.2:9/metrics HTTP/1.1"),
        "the proxy saw: {head}"
    );
    // proxy_connect_header is for CONNECT (HTTPS targets) only, as Go sends it.
    assert!(
        !head.to_ascii_lowercase().contains("x-proxy-token"),
        "{head}"
    );
    assert_eq!(last_value(&db, &[eq("__name__", "via_proxy")]), Some(1.0));
    // no_proxy: the dead proxy is bypassed for 127.0.0.1.
    let bypass = status_of(&manager, "bypass");
    assert_eq!(bypass.health, "up", "{}", bypass.last_error);
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_through_a_proxy_sends_connect_with_the_configured_headers() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let proxy = exporter(false).await;
    let yaml = format!(
        "scrape_configs:\n  - job_name: tunnel\n    scheme: https\n    scrape_interval: 100ms\n    proxy_url: http://{}\n    proxy_connect_header:\n      X-Proxy-Token: [s3cret]\n    static_configs:\n      - targets: ['127.0.0.2:9443']\n",
        proxy.addr
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let head = proxy.seen_headers.lock().unwrap().clone();
    assert!(
        head.starts_with("CONNECT 127.0.0.2:9443 HTTP/1.1"),
        "the proxy saw: {head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("x-proxy-token: s3cret"),
        "the proxy saw: {head}"
    );
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_limit_fails_the_whole_pool_and_dropped_targets_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let target = exporter(false).await;
    target.serve(Some("text/plain; version=0.0.4"), "m 1\n");
    let port = target.addr.port();
    // Three targets, limit two: every target of the pool fails, none is fetched.
    // Four more are dropped by relabeling, of which two are kept for the API.
    let yaml = format!(
        "scrape_configs:\n  - job_name: limited\n    scrape_interval: 100ms\n    target_limit: 2\n    keep_dropped_targets: 2\n    static_configs:\n      - targets: ['127.0.0.1:{port}', 'localhost:{port}']\n        labels: {{copy: a}}\n      - targets: ['127.0.0.1:{port}']\n        labels: {{copy: b}}\n      - targets: ['d1:1', 'd2:1', 'd3:1', 'd4:1']\n        labels: {{drop: yes}}\n    relabel_configs:\n      - source_labels: [drop]\n        regex: 'yes'\n        action: drop\n  - job_name: fine\n    scrape_interval: 100ms\n    target_limit: 5\n    static_configs:\n      - targets: ['{}']\n",
        target.addr
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let limited: Vec<_> = manager
        .active_targets()
        .into_iter()
        .filter(|t| t.scrape_pool == "limited")
        .collect();
    assert_eq!(limited.len(), 3);
    for t in &limited {
        assert_eq!(t.status.health, "down");
        assert_eq!(
            t.status.last_error,
            "target_limit exceeded (number of targets: 3, limit: 2)"
        );
    }
    assert!(manager.target_limit_exceeded_total() >= 1);
    assert!(db
        .select(&[eq("__name__", "m"), eq("job", "limited")], 0, i64::MAX)
        .is_empty());
    assert_eq!(
        last_value(&db, &[eq("__name__", "up"), eq("job", "limited")]),
        Some(0.0)
    );
    assert_eq!(status_of(&manager, "fine").health, "up");
    let dropped: Vec<_> = manager
        .dropped_targets()
        .into_iter()
        .filter(|(pool, _)| pool == "limited")
        .collect();
    assert_eq!(dropped.len(), 2, "keep_dropped_targets caps the list");
    assert_eq!(manager.dropped_target_counts()["limited"], 4);
    manager.stop().await;
}

/// A certificate made as exporter-toolkit's docs show (`openssl req -x509`): self-signed
/// and marked as a CA, for localhost and 127.0.0.1.
fn self_signed_ca_certificate(dir: &Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key) = (dir.join("self.crt"), dir.join("self.key"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    status.status.success().then_some((cert, key))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_self_signed_ca_certificate_is_trusted_as_go_trusts_it() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let (cert, key) = self_signed_ca_certificate(dir.path())
        .expect("openssl (installed by scripts/test) makes the certificate");
    let addr = tls_exporter_with(dir.path(), &cert, &key).await;
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (other_cert, _) = self_signed_ca_certificate(&other).unwrap();
    let yaml = format!(
        "scrape_configs:\n  - job_name: pinned\n    scheme: https\n    scrape_interval: 100ms\n    tls_config:\n      ca_file: {cert}\n    static_configs:\n      - targets: ['{addr}']\n  - job_name: wrong_name\n    scheme: https\n    scrape_interval: 100ms\n    tls_config:\n      ca_file: {cert}\n      server_name: elsewhere.example\n    static_configs:\n      - targets: ['{addr}']\n  - job_name: other_pin\n    scheme: https\n    scrape_interval: 100ms\n    tls_config:\n      ca_file: {other}\n    static_configs:\n      - targets: ['{addr}']\n",
        cert = cert.display(),
        other = other_cert.display(),
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let pinned = status_of(&manager, "pinned");
    assert_eq!(pinned.health, "up", "{}", pinned.last_error);
    assert_eq!(
        last_value(&db, &[eq("__name__", "secure_metric"), eq("job", "pinned")]),
        Some(42.0)
    );
    // The pin does not excuse a name that does not match, nor another certificate.
    assert_eq!(status_of(&manager, "wrong_name").health, "down");
    assert_eq!(status_of(&manager, "other_pin").health, "down");
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_exposition_is_scraped_and_le_values_normalized() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    // One delimited MetricFamily {name: "pb_gauge", type: GAUGE, metric: [{gauge: {value: 2.5}}]},
    // encoded by hand (2.5 is 0x4004000000000000).
    let mut family = vec![0x0a, 8];
    family.extend_from_slice(b"pb_gauge");
    family.extend_from_slice(&[0x18, 1, 0x22, 11, 0x12, 9, 0x09]);
    family.extend_from_slice(&2.5f64.to_le_bytes());
    let mut body = vec![family.len() as u8];
    body.extend_from_slice(&family);
    let proto = exporter(false).await;
    proto.serve(
        Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"),
        std::str::from_utf8(&body).unwrap(),
    );
    let text = exporter(false).await;
    text.serve(
        Some("text/plain; version=0.0.4"),
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n# TYPE s summary\ns{quantile=\"0.50\"} 1\n# TYPE g gauge\ng{le=\"1\"} 1\n",
    );
    let yaml = format!(
        "scrape_configs:\n  - job_name: proto\n    scrape_interval: 100ms\n    scrape_protocols: [PrometheusProto, PrometheusText0.0.4]\n    static_configs:\n      - targets: ['{}']\n  - job_name: text\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{}']\n",
        proto.addr, text.addr
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let status = status_of(&manager, "proto");
    assert_eq!(status.health, "up", "{}", status.last_error);
    assert!(
        proto.seen_headers.lock().unwrap().contains("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6"),
        "{}",
        proto.seen_headers.lock().unwrap()
    );
    assert_eq!(last_value(&db, &[eq("__name__", "pb_gauge")]), Some(2.5));
    // Prometheus writes a histogram's le and a summary's quantile in OpenMetrics' float
    // form; other labels are left as written.
    assert_eq!(
        last_value(&db, &[eq("__name__", "h_bucket"), eq("le", "1.0")]),
        Some(1.0)
    );
    assert_eq!(
        last_value(&db, &[eq("__name__", "s"), eq("quantile", "0.5")]),
        Some(1.0)
    );
    assert_eq!(
        last_value(&db, &[eq("__name__", "g"), eq("le", "1")]),
        Some(1.0)
    );
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_scrape_metrics_and_legacy_name_validation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let plain = exporter(false).await;
    plain.serve(Some("text/plain; version=0.0.4"), "ok_metric 1\n");
    let dotted = exporter(false).await;
    dotted.serve(Some("text/plain; version=1.0.0"), "{\"http.requests\"} 1\n");
    let yaml = format!(
        "scrape_configs:\n  - job_name: extra\n    scrape_interval: 100ms\n    scrape_timeout: 50ms\n    sample_limit: 10\n    extra_scrape_metrics: true\n    metric_name_validation_scheme: legacy\n    static_configs:\n      - targets: ['{}']\n  - job_name: dotted\n    scrape_interval: 100ms\n    metric_name_validation_scheme: legacy\n    static_configs:\n      - targets: ['{}']\n",
        plain.addr, dotted.addr
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    assert_eq!(status_of(&manager, "extra").health, "up");
    let job = |name: &str, job: &str| vec![eq("__name__", name), eq("job", job)];
    assert_eq!(
        last_value(&db, &job("scrape_timeout_seconds", "extra")),
        Some(0.05)
    );
    assert_eq!(
        last_value(&db, &job("scrape_sample_limit", "extra")),
        Some(10.0)
    );
    assert_eq!(
        last_value(&db, &job("scrape_body_size_bytes", "extra")),
        Some(12.0)
    );
    // Without extra_scrape_metrics there are five report series only.
    assert!(db
        .select(&job("scrape_timeout_seconds", "dotted"), 0, i64::MAX)
        .is_empty());
    // Legacy validation asks targets to escape names, and refuses names that need UTF-8.
    let head = plain.seen_headers.lock().unwrap().clone();
    assert!(
        head.contains("text/plain;version=1.0.0;escaping=underscores;q=0.4"),
        "{head}"
    );
    let dotted = status_of(&manager, "dotted");
    assert_eq!(dotted.health, "down");
    assert!(
        dotted
            .last_error
            .starts_with("invalid metric name or label names: {__name__=\"http.requests\""),
        "{}",
        dotted.last_error
    );
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_from_environment_reads_http_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let proxy = exporter(false).await;
    proxy.serve(Some("text/plain; version=0.0.4"), "via_env_proxy 1\n");
    // Only jobs with proxy_from_environment read these; every other client of this test
    // binary is built without proxies.
    std::env::set_var("HTTP_PROXY", format!("http://{}", proxy.addr));
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    // A name the proxy is asked for (never resolved here), and a loopback address, which
    // Go's httpproxy never sends through a proxy.
    let yaml = "scrape_configs:\n  - job_name: env\n    scrape_interval: 100ms\n    proxy_from_environment: true\n    static_configs:\n      - targets: ['exporter.invalid:9']\n  - job_name: loopback\n    scrape_interval: 100ms\n    proxy_from_environment: true\n    static_configs:\n      - targets: ['127.0.0.3:9']\n";
    let manager = scrape_all(yaml, dir.path(), &db).await;
    let status = status_of(&manager, "env");
    assert_eq!(status.health, "up", "{}", status.last_error);
    let head = proxy.seen_headers.lock().unwrap().clone();
    assert!(
        head.starts_with("GET http://exporter.invalid:9/metrics HTTP/1.1"),
        "{head}"
    );
    assert_eq!(
        last_value(&db, &[eq("__name__", "via_env_proxy")]),
        Some(1.0)
    );
    assert_eq!(status_of(&manager, "loopback").health, "down");
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_restarts_the_job_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let target = exporter(true).await;
    target.serve(Some("text/plain; version=0.0.4"), "secret_metric 1\n");
    let yaml = |password: &str| {
        format!(
            "scrape_configs:\n  - job_name: auth\n    scrape_interval: 100ms\n    basic_auth:\n      username: user\n      password: {password}\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        )
    };
    let manager = scrape_all(&yaml("wrong"), dir.path(), &db).await;
    assert_eq!(status_of(&manager, "auth").health, "down");
    // Secrets print as <secret>; the comparison must still see the change.
    manager.apply(&config(&yaml("pass"), dir.path()));
    eventually("the new password in use", || {
        manager
            .active_targets()
            .iter()
            .any(|t| t.scrape_pool == "auth" && t.status.health == "up")
    })
    .await;
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_certificate_files_are_picked_up_without_a_reload() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let (cert, key) = self_signed_ca_certificate(dir.path()).unwrap();
    let addr = tls_exporter_with(dir.path(), &cert, &key).await;
    let pinned = dir.path().join("pinned.crt");
    std::fs::copy(&cert, &pinned).unwrap();
    let yaml = format!(
        "scrape_configs:\n  - job_name: rotating\n    scheme: https\n    scrape_interval: 100ms\n    tls_config:\n      ca_file: {}\n    static_configs:\n      - targets: ['{addr}']\n",
        pinned.display()
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    assert_eq!(status_of(&manager, "rotating").health, "up");
    // A new certificate on both sides, as a certificate manager would write it.
    let next = dir.path().join("next");
    std::fs::create_dir(&next).unwrap();
    let (new_cert, new_key) = self_signed_ca_certificate(&next).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_cert, &pinned).unwrap();
    let rotated = std::time::SystemTime::now() + Duration::from_millis(300);
    eventually("a scrape with the new certificate", || {
        let status = status_of(&manager, "rotating");
        status.last_scrape.is_some_and(|t| t > rotated) && status.health == "up"
    })
    .await;
    manager.stop().await;
}

/// A target that reads one request head per connection and hands the connection to
/// `respond`, which writes the whole response (the tests below need bodies the
/// [`exporter`] cannot send: binary, trickled or endless).
async fn raw_target<F, Fut>(respond: F) -> std::net::SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let respond = Arc::clone(&respond);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                respond(stream).await;
            });
        }
    });
    addr
}

/// A response head for a text exposition; `extra` holds more header lines, each ending
/// in `\r\n`. Every connection is closed after one response.
fn response_head(extra: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n{extra}\r\n"
    )
}

/// A target answering every scrape with `body` (already gzipped) as `Content-Encoding: gzip`.
async fn gzip_target(body: Vec<u8>) -> std::net::SocketAddr {
    let body = Arc::new(body);
    raw_target(move |mut stream| {
        let body = Arc::clone(&body);
        async move {
            let head = response_head(&format!(
                "Content-Encoding: gzip\r\nContent-Length: {}\r\n",
                body.len()
            ));
            if stream.write_all(head.as_bytes()).await.is_ok() {
                let _ = stream.write_all(&body).await;
            }
        }
    })
    .await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A valid gzip stream that inflates to at least `inflated` bytes of exposition lines, at
/// ~500:1 (2.2 MB for 1.1 GiB; deflate's ceiling is ~1032:1), built without compressing
/// (or holding) all of them: one ~1 MiB block of lines
/// deflated with a full flush is independent of what precedes it (the flush empties the
/// window and ends on a byte boundary), so the stream is that block's deflate output
/// repeated, then an empty final block, then the CRC (combined, not recomputed) and size.
fn gzip_bomb(inflated: u64) -> Vec<u8> {
    // 16 bytes: the period deflate sees is short, so its matches are cheap.
    let line = b"bomb_metric 1.0\n";
    let block = line.repeat((1 << 20) / line.len());
    let repeats = inflated.div_ceil(block.len() as u64);
    let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
    let mut segment = Vec::with_capacity(64 << 10);
    deflate
        .compress_vec(&block, &mut segment, flate2::FlushCompress::Full)
        .unwrap();
    assert_eq!(deflate.total_in(), block.len() as u64);
    assert!(
        segment.ends_with(&[0, 0, 0xff, 0xff]),
        "a complete full flush"
    );
    let mut finish = Vec::with_capacity(64);
    flate2::Compress::new(flate2::Compression::best(), false)
        .compress_vec(&[], &mut finish, flate2::FlushCompress::Finish)
        .unwrap();
    let mut block_crc = flate2::Crc::new();
    block_crc.update(&block);
    let mut crc = flate2::Crc::new();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    for _ in 0..repeats {
        out.extend_from_slice(&segment);
        crc.combine(&block_crc);
    }
    out.extend_from_slice(&finish);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&((repeats * block.len() as u64) as u32).to_le_bytes());
    out
}

/// The bomb is valid gzip (checked on a small one; the big one is never inflated whole).
#[test]
fn the_gzip_bomb_is_valid_gzip() {
    use std::io::Read;
    let small = gzip_bomb(3 << 20);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&small[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.len() >= 3 << 20);
    assert!(text.lines().all(|l| l == "bomb_metric 1.0"));
}

/// Tests that may buffer hundreds of MiB run one at a time, so that one's peak memory is
/// not another's.
static MEMORY_HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A line of /proc/self/status in KiB (VmHWM: the peak resident set size).
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_fails_at_the_default_cap_without_buffering_it() {
    let _heavy = MEMORY_HEAVY.lock().await;
    let bomb = gzip_bomb(1100 << 20);
    assert!(bomb.len() < 3 << 20, "{} bytes", bomb.len());
    let addr = gzip_target(bomb).await;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    // Peak RSS from here on (Linux resets the high-water mark on "5"; where it cannot,
    // the growth is measured from the peak so far, which can only make it smaller).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let peak_before = proc_status_kib("VmHWM");
    let yaml = format!(
        "scrape_configs:\n  - job_name: bomb\n    scrape_interval: 3s\n    scrape_timeout: 3s\n    static_configs:\n      - targets: ['{addr}']\n"
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let peak_growth_mib = proc_status_kib("VmHWM").saturating_sub(peak_before) >> 10;
    let status = status_of(&manager, "bomb");
    manager.stop().await;
    assert_eq!(status.health, "down");
    assert!(
        status.last_error.contains("default cap") && status.last_error.contains("body_size_limit"),
        "{}",
        status.last_error
    );
    // up 0 and nothing scraped (the staleness markers of the stop aside).
    for (name, value) in [("up", 0.0), ("scrape_samples_scraped", 0.0)] {
        let values: Vec<f64> = db
            .select(&[eq("__name__", name)], 0, i64::MAX)
            .iter()
            .flat_map(|s| s.samples.iter().map(|p| p.1))
            .filter(|v| !model::is_stale_nan(*v))
            .collect();
        assert!(
            !values.is_empty() && values.iter().all(|v| *v == value),
            "{name}: {values:?}"
        );
    }
    assert!(db
        .select(&[eq("__name__", "bomb_metric")], 0, i64::MAX)
        .is_empty());
    assert!(
        peak_growth_mib < 400,
        "peak RSS grew by {peak_growth_mib} MiB while scraping the bomb"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_size_limit_applies_to_the_decompressed_body() {
    let lines = "limited_metric 1\n".repeat(640);
    let over = gzip(lines.as_bytes());
    // The compressed body fits in 1 KiB; what it inflates to does not.
    assert!(over.len() < 1 << 10 && lines.len() > 10 << 10);
    let over = gzip_target(over).await;
    let under = gzip_target(gzip(b"small_metric 1\n")).await;
    // A body of exactly the limit is over it, one byte less is not (Prometheus's check
    // is `n >= limit`).
    let sized = |name: &str, n: usize| {
        let line = format!("{name} 1\n");
        format!("{line}#{}\n", "x".repeat(n - line.len() - 2))
    };
    let exact = sized("exact_metric", 1024);
    let below = sized("below_metric", 1023);
    assert_eq!((exact.len(), below.len()), (1024, 1023));
    let exact = gzip_target(gzip(exact.as_bytes())).await;
    let below = gzip_target(gzip(below.as_bytes())).await;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let job = |name: &str, target: &str| {
        format!("  - job_name: {name}\n    scrape_interval: 100ms\n    body_size_limit: 1KiB\n    static_configs:\n      - targets: ['{target}']\n")
    };
    let yaml = format!(
        "scrape_configs:\n  - job_name: over\n    scrape_interval: 100ms\n    body_size_limit: 1KiB\n    extra_scrape_metrics: true\n    static_configs:\n      - targets: ['{over}']\n{}{}{}",
        job("under", &under.to_string()),
        job("exact", &exact.to_string()),
        job("below", &below.to_string()),
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let status = status_of(&manager, "over");
    assert_eq!(status.health, "down");
    assert_eq!(status.last_error, "body size limit exceeded (1024 bytes)");
    assert!(db
        .select(&[eq("__name__", "limited_metric")], 0, i64::MAX)
        .is_empty());
    // As Prometheus reports a body over the limit.
    assert_eq!(
        last_value(
            &db,
            &[eq("__name__", "scrape_body_size_bytes"), eq("job", "over")]
        ),
        Some(-1.0)
    );
    let under = status_of(&manager, "under");
    assert_eq!(under.health, "up", "{}", under.last_error);
    assert_eq!(
        last_value(&db, &[eq("__name__", "small_metric")]),
        Some(1.0)
    );
    let exact = status_of(&manager, "exact");
    assert_eq!(exact.health, "down");
    assert_eq!(exact.last_error, "body size limit exceeded (1024 bytes)");
    let below = status_of(&manager, "below");
    assert_eq!(below.health, "up", "{}", below.last_error);
    assert_eq!(
        last_value(&db, &[eq("__name__", "below_metric")]),
        Some(1.0)
    );
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_fails_by_the_timeout_or_the_cap() {
    let _heavy = MEMORY_HEAVY.lock().await;
    let addr = raw_target(|mut stream| async move {
        if stream
            .write_all(response_head("").as_bytes())
            .await
            .is_err()
        {
            return;
        }
        let lines = "endless_metric 1\n".repeat(4096);
        // Until the scraper hangs up.
        while stream.write_all(lines.as_bytes()).await.is_ok() {}
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let yaml = format!(
        "scrape_configs:\n  - job_name: endless\n    scrape_interval: 2s\n    scrape_timeout: 2s\n    static_configs:\n      - targets: ['{addr}']\n"
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let status = status_of(&manager, "endless");
    manager.stop().await;
    assert_eq!(status.health, "down");
    assert!(
        status.last_error == "context deadline exceeded (scrape timeout)"
            || status.last_error.contains("default cap"),
        "{}",
        status.last_error
    );
    assert!(
        status.last_duration < Duration::from_secs(3),
        "{:?}",
        status.last_duration
    );
    assert!(db
        .select(&[eq("__name__", "endless_metric")], 0, i64::MAX)
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickling_past_the_timeout_fails_and_stores_nothing() {
    let trickle = raw_target(|mut stream| async move {
        // The headers at once, then a line every 300 ms: only the body is late.
        let head = response_head("Content-Length: 1000000\r\n");
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..20 {
            if stream.write_all(b"trickle_metric 1\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    // Headers that never come fail the same way.
    let silent = raw_target(|stream| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(stream);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let yaml = format!(
        "scrape_configs:\n  - job_name: trickle\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{trickle}']\n  - job_name: silent\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{silent}']\n"
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let statuses = [
        status_of(&manager, "trickle"),
        status_of(&manager, "silent"),
    ];
    manager.stop().await;
    for status in statuses {
        assert_eq!(status.health, "down");
        assert_eq!(
            status.last_error, "context deadline exceeded (scrape timeout)",
            "after {:?}",
            status.last_duration
        );
        assert!(
            status.last_duration >= Duration::from_millis(900)
                && status.last_duration < Duration::from_millis(1500),
            "{:?}",
            status.last_duration
        );
    }
    assert!(db
        .select(&[eq("__name__", "trickle_metric")], 0, i64::MAX)
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzipped_bodies_are_scraped_and_truncated_ones_are_not() {
    let whole = gzip(b"# TYPE zipped_metric gauge\nzipped_metric 3\n");
    // Two gzip members back to back read as one body, as Go's gzip reader reads them.
    let mut members = gzip(b"first_member 1\n");
    members.extend_from_slice(&gzip(b"second_member 2\n"));
    let text = "cut_metric 1\n".repeat(1000);
    let mut cut = gzip(text.as_bytes());
    cut.truncate(cut.len() - 12);
    let (whole, members, cut) = (
        gzip_target(whole).await,
        gzip_target(members).await,
        gzip_target(cut).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(&dir.path().join("data")).unwrap());
    let job = |name: &str, addr: std::net::SocketAddr| {
        format!("  - job_name: {name}\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{addr}']\n")
    };
    let yaml = format!(
        "scrape_configs:\n{}{}{}",
        job("whole", whole),
        job("members", members),
        job("cut", cut)
    );
    let manager = scrape_all(&yaml, dir.path(), &db).await;
    let status = status_of(&manager, "whole");
    assert_eq!(status.health, "up", "{}", status.last_error);
    assert_eq!(
        last_value(&db, &[eq("__name__", "zipped_metric")]),
        Some(3.0)
    );
    let status = status_of(&manager, "members");
    assert_eq!(status.health, "up", "{}", status.last_error);
    assert_eq!(
        last_value(&db, &[eq("__name__", "first_member")]),
        Some(1.0)
    );
    assert_eq!(
        last_value(&db, &[eq("__name__", "second_member")]),
        Some(2.0)
    );
    // A body cut short is never parsed as if it were whole.
    let status = status_of(&manager, "cut");
    assert_eq!(status.health, "down");
    assert!(status.last_error.contains("gzip"), "{}", status.last_error);
    assert!(db
        .select(&[eq("__name__", "cut_metric")], 0, i64::MAX)
        .is_empty());
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_metadata_follows_the_last_good_scrape() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(dir.path()).unwrap());
    let target = exporter(false).await;
    let text = Some("text/plain; version=0.0.4");
    target.serve(
        text,
        "# HELP a_total Requests.\n# TYPE a_total counter\na_total 1\n# TYPE b gauge\nb 2\nc 3\n",
    );
    let manager = scrape::Manager::new(Arc::clone(&db));
    let yaml = format!(
        "scrape_configs:\n  - job_name: app\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{}']\n",
        target.addr
    );
    manager.apply(&config(&yaml, dir.path()));
    let metadata = || -> Vec<String> {
        manager
            .active_targets()
            .first()
            .map(|t| {
                t.status
                    .metadata
                    .iter()
                    .map(|(n, m)| format!("{n} {} {:?} {:?}", m.kind, m.help, m.unit))
                    .collect()
            })
            .unwrap_or_default()
    };
    let first = ["a_total counter \"Requests.\" \"\"", "b gauge \"\" \"\""];
    eventually("the first metadata", || metadata() == first).await;
    // Scrapes that say the same leave it as it is.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(metadata(), first);
    // Another help text, a family gone, one new without a type.
    target.serve(
        text,
        "# HELP a_total All requests.\n# TYPE a_total counter\na_total 1\n# HELP d Dee.\nd 4\n",
    );
    eventually("the changed metadata", || {
        metadata()
            == [
                "a_total counter \"All requests.\" \"\"",
                "d unknown \"Dee.\" \"\"",
            ]
    })
    .await;
    // A body that fails to parse keeps the last good scrape's metadata.
    target.serve(text, "# HELP e Eee.\ne{ 1\n");
    eventually("up == 0", || {
        last_value(&db, &[eq("__name__", "up")]) == Some(0.0)
    })
    .await;
    assert_eq!(
        metadata(),
        [
            "a_total counter \"All requests.\" \"\"",
            "d unknown \"Dee.\" \"\""
        ]
    );
    // The first body again: its metadata again, though the failed scrape's note of `e`
    // was never published.
    target.serve(
        text,
        "# HELP a_total Requests.\n# TYPE a_total counter\na_total 1\n# TYPE b gauge\nb 2\nc 3\n",
    );
    eventually("the first metadata again", || metadata() == first).await;
}
