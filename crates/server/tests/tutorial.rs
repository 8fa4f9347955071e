//! The "Securing Prometheus API and UI endpoints using basic auth" tutorial, replayed with
//! the real `pmtool` and `promethium` binaries on a loopback port.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn tutorial_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    tutorial_web_yml(dir.path(), "test");
    let server = Server::start(dir.path(), &["--web.config.file=web.yml"]);

    // Every endpoint is behind the door.
    let head = server.request("HEAD", "/graph", &[]);
    assert_eq!(head.status, 401);
    assert_eq!(head.header("WWW-Authenticate"), Some("Basic"));
    for path in [
        "/",
        "/graph",
        "/query",
        "/metrics",
        "/api/v1/status/buildinfo",
        "/-/healthy",
        "/-/ready",
        "/targets",
        "/assets/app.js",
        "/nope",
    ] {
        let reply = server.get(path, &[]);
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.text(), "Unauthorized\n");
    }
    let wrong = server.get("/metrics", &[("Authorization", &basic("admin", "nope"))]);
    assert_eq!(wrong.status, 401);

    // With credentials everything serves.
    let auth = basic("admin", "test");
    let creds = [("Authorization", auth.as_str())];
    let graph = server.get("/graph", &creds);
    assert_eq!(graph.status, 200);
    assert!(graph
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    let root = server.get("/", &creds);
    assert_eq!(
        (root.status, root.header("Location")),
        (302, Some("/query"))
    );
    assert_eq!(
        server.get("/-/healthy", &creds).text(),
        "Prometheus Server is Healthy.\n"
    );
    assert_eq!(
        server.get("/-/ready", &creds).text(),
        "Prometheus Server is Ready.\n"
    );

    let metrics = server.get("/metrics", &creds);
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = metrics.text();
    for needle in [
        "\nprocess_cpu_seconds_total ",
        "\nprocess_resident_memory_bytes ",
        "\nprocess_open_fds ",
        "\nprocess_start_time_seconds ",
        "\nprocess_max_fds ",
        "\nprometheus_build_info{",
        "prometheus_http_requests_total{code=\"401\",handler=\"/graph\"} 2",
        "prometheus_http_requests_total{code=\"200\",handler=\"/graph\"} 1",
        "prometheus_http_auth_failures_total{reason=\"missing_credentials\"} 11",
        "prometheus_http_auth_failures_total{reason=\"wrong_password\"} 1",
        "\nprometheus_ready 1",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let rss: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss > 1e6, "{rss}");

    let build = server.get("/api/v1/status/buildinfo", &creds);
    let json: serde_json::Value = serde_json::from_slice(&build.body).unwrap();
    assert_eq!(json["status"], "success");
    assert_eq!(json["data"]["version"], env!("CARGO_PKG_VERSION"));
    let flags: serde_json::Value =
        serde_json::from_slice(&server.get("/api/v1/status/flags", &creds).body).unwrap();
    assert_eq!(flags["data"]["web.config.file"], "web.yml");
    assert_eq!(
        flags["data"]["storage.tsdb.path"],
        format!("data-{}", server.addr.port())
    );
    let runtime: serde_json::Value =
        serde_json::from_slice(&server.get("/api/v1/status/runtimeinfo", &creds).body).unwrap();
    assert!(runtime["data"]["startTime"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // The failed logins were logged with user and address, never the password or hash.
    let log = server.log_text();
    assert!(
        log.contains("authentication failed")
            && log.contains("user=admin")
            && log.contains("address=127.0.0.1"),
        "{log}"
    );
    assert!(!log.contains("nope") && !log.contains("$2b$"), "{log}");
}

#[test]
fn metrics_negotiation_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let om = server.get(
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        )],
    );
    assert_eq!(
        om.header("Content-Type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(om.text().ends_with("# EOF\n"));
    // Both renderings parse with our own scrape parser.
    let om_text = om.text();
    let om_samples = exposition::Parser::new(om_text.as_bytes(), exposition::Format::OpenMetrics)
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{e}\n{om_text}"));
    let plain = server.get("/metrics", &[]);
    let plain_text = plain.text();
    let text_samples =
        exposition::Parser::new(plain_text.as_bytes(), exposition::Format::PrometheusText)
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{e}\n{plain_text}"));
    for entries in [&om_samples, &text_samples] {
        let names: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e {
                exposition::Entry::Sample(s) => Some(s.name.as_ref()),
                _ => None,
            })
            .collect();
        assert!(names.contains(&"process_cpu_seconds_total"), "{names:?}");
        assert!(names.contains(&"prometheus_build_info"), "{names:?}");
    }
    let gz = server.get("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("Content-Encoding"), Some("gzip"));
    assert_eq!(&gz.body[..2], &[0x1f, 0x8b]);
    // Without a web config everything is open, and the log says so.
    assert_eq!(server.get("/api/v1/status/buildinfo", &[]).status, 200);
    assert!(
        server.log_text().contains("every endpoint"),
        "{}",
        server.log_text()
    );
}

#[test]
fn health_without_auth_is_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    tutorial_web_yml(dir.path(), "secret");
    let open = Server::start(
        dir.path(),
        &["--web.config.file=web.yml", "--web.health-without-auth"],
    );
    assert_eq!(open.get("/-/healthy", &[]).status, 200);
    assert_eq!(open.get("/-/ready", &[]).status, 200);
    assert_eq!(open.get("/metrics", &[]).status, 401);
    let closed = Server::start(dir.path(), &["--web.config.file=web.yml"]);
    assert_eq!(closed.get("/-/healthy", &[]).status, 401);
}

#[test]
fn lifecycle_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let off = Server::start(dir.path(), &[]);
    assert_eq!(off.request("POST", "/-/reload", &[]).status, 403);
    assert_eq!(off.request("POST", "/-/quit", &[]).status, 403);
    assert_eq!(off.get("/-/quit", &[]).status, 405);

    let mut on = Server::start(dir.path(), &["--web.enable-lifecycle"]);
    assert_eq!(on.request("POST", "/-/reload", &[]).status, 200);
    let quit = on.request("PUT", "/-/quit", &[]);
    assert_eq!(quit.status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = on.child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn route_prefix_from_external_url() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--web.external-url=http://example.com/prom/"]);
    assert_eq!(server.get("/prom/-/healthy", &[]).status, 200);
    assert_eq!(server.get("/-/healthy", &[]).status, 404);
    let root = server.get("/", &[]);
    assert_eq!(root.header("Location"), Some("/prom/"));
    assert_eq!(
        server.get("/prom/", &[]).header("Location"),
        Some("/prom/query")
    );
    // The UI's page and assets live under the prefix too, and the page says so.
    for page in [
        "/prom/query",
        "/prom/graph",
        "/prom/targets",
        "/prom/tsdb-status",
    ] {
        let reply = server.get(page, &[]);
        assert_eq!(reply.status, 200, "{page}");
        assert_eq!(reply.header("Cache-Control"), Some("no-cache"));
        assert!(reply
            .text()
            .contains(r#"<meta name="route-prefix" content="/prom">"#));
    }
    let html = server.get("/prom/query", &[]).text();
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page loads a script");
    assert!(
        script.starts_with("/prom/assets/app-") && script.ends_with(".js"),
        "{script}"
    );
    let asset = server.get(script, &[]);
    assert_eq!(asset.status, 200);
    assert_eq!(
        asset.header("Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        asset.header("Cache-Control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        asset.body.len() > 100_000,
        "the bundle holds the editor and charts"
    );
    assert_eq!(server.get("/prom/assets/nope.js", &[]).status, 404);
    assert_eq!(server.get(&script.replace("/prom", ""), &[]).status, 404);
}

#[test]
fn bad_web_config_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        "basic_auth_users:\n  admin: plaintext\n",
    )
    .unwrap();
    let out = Command::new(promethium_bin())
        .current_dir(dir.path())
        .args([
            "--web.config.file=web.yml",
            "--web.listen-address=127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("Unable to validate web configuration file"),
        "{log}"
    );
    assert!(
        log.contains("hashedSecret too short to be a bcrypted password"),
        "{log}"
    );
    assert!(
        !log.contains("plaintext"),
        "the configured secret must not be logged: {log}"
    );
}

#[test]
fn flags_are_strict_and_version_prints() {
    let out = Command::new(promethium_bin())
        .arg("--web.no-such-flag")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--web.no-such-flag"));
    let version = Command::new(promethium_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("promethium, version "));
}

#[test]
fn json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--log.format=json"]);
    assert_eq!(server.get("/-/healthy", &[]).status, 200);
    let log = server.log_text();
    let first = log.lines().next().unwrap();
    let parsed: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(parsed["level"], "INFO");
}

fn metric_value(server: &Server, name: &str) -> Option<f64> {
    let text = server.get("/metrics", &[]).text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
}

#[test]
fn config_file_reload_keeps_the_old_one_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    let good = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['localhost:9100']\n";
    std::fs::write(&config, good).unwrap();
    let server = Server::start(
        dir.path(),
        &["--config.file=prometheus.yml", "--web.enable-lifecycle"],
    );
    assert_eq!(
        metric_value(&server, "prometheus_config_last_reload_successful"),
        Some(1.0)
    );

    std::fs::write(
        &config,
        "scrape_configs:\n  - job_name: node\n    scrape_intervall: 1m\n",
    )
    .unwrap();
    let refused = server.request("POST", "/-/reload", &[]);
    assert_eq!(refused.status, 500);
    assert!(
        refused
            .text()
            .contains("line 3: field scrape_intervall not found in type config.ScrapeConfig"),
        "{}",
        refused.text()
    );
    assert_eq!(
        metric_value(&server, "prometheus_config_last_reload_successful"),
        Some(0.0)
    );
    let runtime: serde_json::Value =
        serde_json::from_slice(&server.get("/api/v1/status/runtimeinfo", &[]).body).unwrap();
    assert_eq!(runtime["data"]["reloadConfigSuccess"], false);

    // SIGHUP reloads too.
    std::fs::write(&config, good).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric_value(&server, "prometheus_config_last_reload_successful") != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.log_text().contains("Received SIGHUP"));
    assert_eq!(server.request("POST", "/-/reload", &[]).status, 200);
}

#[test]
fn bad_or_missing_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  scrape_interval: soon\n",
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
        log.contains("error loading config (--config.file=prometheus.yml)"),
        "{log}"
    );
    assert!(
        log.contains("not a valid duration string: \\\"soon\\\""),
        "{log}"
    );

    let empty = tempfile::tempdir().unwrap();
    let server = Server::start(empty.path(), &[]);
    assert_eq!(server.get("/-/healthy", &[]).status, 200);
    assert!(
        server.log_text().contains("using the built-in default"),
        "{}",
        server.log_text()
    );
}

#[test]
fn built_in_default_scrapes_itself_behind_auth() {
    // No prometheus.yml: the server scrapes itself, even though every HTTP client needs
    // credentials; the series are then readable through the API.
    let dir = tempfile::tempdir().unwrap();
    tutorial_web_yml(dir.path(), "pw");
    let server = Server::start(dir.path(), &["--web.config.file=web.yml"]);
    let auth = basic("admin", "pw");
    let creds = [("Authorization", auth.as_str())];
    let deadline = Instant::now() + Duration::from_secs(40);
    let series = loop {
        let reply = server.get(
            "/api/v1/series?match[]=up%7Bjob%3D%22prometheus%22%7D",
            &creds,
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        if json["data"].as_array().is_some_and(|a| !a.is_empty()) {
            break json;
        }
        assert!(
            Instant::now() < deadline,
            "no self-scrape: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let up = &series["data"][0];
    assert_eq!(up["__name__"], "up");
    assert_eq!(up["instance"], server.addr.to_string());
    let targets: serde_json::Value =
        serde_json::from_slice(&server.get("/api/v1/targets", &creds).body).unwrap();
    let active = &targets["data"]["activeTargets"][0];
    assert_eq!(active["health"], "up", "{targets}");
    assert_eq!(active["scrapePool"], "prometheus");
    assert_eq!(active["scrapeInterval"], "15s");
    let names: serde_json::Value =
        serde_json::from_slice(&server.get("/api/v1/label/__name__/values", &creds).body).unwrap();
    let names: Vec<&str> = names["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(names.contains(&"process_cpu_seconds_total"), "{names:?}");
    assert!(names.contains(&"scrape_duration_seconds"), "{names:?}");
    let bad = server.get("/api/v1/series?match[]=up%7B", &creds);
    assert_eq!(bad.status, 400);
    let err: serde_json::Value = serde_json::from_slice(&bad.body).unwrap();
    assert_eq!(err["errorType"], "bad_data");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid parameter \"match[]\""),
        "{err}"
    );
    assert!(server.log_text().contains("using the built-in default"));
}

#[test]
fn scrapes_a_configured_target_and_survives_restart() {
    // The server scrapes another promethium (open, no web config) and keeps the data across
    // a restart (WAL replay).
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let target = Server::start(other.path(), &[]);
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "scrape_configs:\n  - job_name: other\n    scrape_interval: 200ms\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        ),
    )
    .unwrap();
    let args = ["--config.file=prometheus.yml", "--storage.tsdb.path=data"];
    let count = |server: &Server| -> usize {
        let reply = server.get("/api/v1/series?match[]=prometheus_build_info", &[]);
        let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        json["data"].as_array().map_or(0, Vec::len)
    };
    {
        let server = Server::start(dir.path(), &args);
        let deadline = Instant::now() + Duration::from_secs(20);
        while count(&server) == 0 {
            assert!(
                Instant::now() < deadline,
                "target not scraped: {}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    drop(target);
    let server = Server::start(dir.path(), &args);
    assert_eq!(
        count(&server),
        1,
        "data survived the restart: {}",
        server.log_text()
    );
    assert!(server.log_text().contains("TSDB started"));
}

fn block_dirs(data: &Path) -> Vec<String> {
    std::fs::read_dir(data)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 26 && data.join(n).join("meta.json").exists())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn head_is_cut_into_blocks_that_serve_after_restart() {
    // One-second blocks (Prometheus's hidden flag) so that cutting, listing and reading
    // blocks happen within the test.
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let target = Server::start(other.path(), &[]);
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "scrape_configs:\n  - job_name: other\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{}']\n",
            target.addr
        ),
    )
    .unwrap();
    let args = [
        "--config.file=prometheus.yml",
        "--storage.tsdb.path=data",
        "--storage.tsdb.min-block-duration=1s",
        "--storage.tsdb.retention.time=1h",
    ];
    let data = dir.path().join("data");
    let server = Server::start(dir.path(), &args);
    let deadline = Instant::now() + Duration::from_secs(30);
    while block_dirs(&data).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no blocks were cut: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.log_text().contains("wrote a block from the head"));
    drop(server);
    drop(target);

    // pmtool lists them (no lock needed), promtool's columns.
    let out = Command::new(pmtool_bin())
        .args(["tsdb", "list"])
        .arg(&data)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{listed}");
    assert!(listed.starts_with("BLOCK ULID"), "{listed}");
    let first_block: Vec<&str> = listed.lines().nth(1).unwrap().split_whitespace().collect();
    let (min, max): (i64, i64) = (
        first_block[1].parse().unwrap(),
        first_block[2].parse().unwrap(),
    );
    assert_eq!(max - min, 1000, "{listed}");
    assert_eq!(first_block[3], "1s");

    // After a restart the oldest block's range is served from the block alone (the head
    // was truncated past it).
    let server = Server::start(dir.path(), &args);
    let path = format!(
        "/api/v1/series?match[]=up&start={}&end={}",
        min as f64 / 1000.0,
        (max - 1) as f64 / 1000.0
    );
    let reply = server.get(&path, &[]);
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        json["data"][0]["job"],
        "other",
        "{json} {}",
        server.log_text()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric_value(&server, "prometheus_tsdb_blocks_loaded").unwrap_or(0.0) < 1.0 {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn runtime_info_reports_the_retention_in_force() {
    let retention = |args: &[&str]| -> String {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), args);
        let v: serde_json::Value =
            serde_json::from_slice(&server.get("/api/v1/status/runtimeinfo", &[]).body).unwrap();
        v["data"]["storageRetention"].as_str().unwrap().to_string()
    };
    assert_eq!(retention(&[]), "15d");
    assert_eq!(
        retention(&[
            "--storage.tsdb.retention.time=30d",
            "--storage.tsdb.retention.size=1536MB"
        ]),
        "30d or 1GiB512MiB"
    );
    assert_eq!(
        retention(&["--storage.tsdb.retention.size=512MB"]),
        "512MiB"
    );
}
