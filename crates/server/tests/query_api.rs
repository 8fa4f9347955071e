//! The query API behind basic auth, as clients use it: raw HTTP, `pmtool query`, and
//! Debian's own `promtool query` against a real `promethium` on loopback with backfilled
//! data.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const PASSWORD: &str = "query-test";

fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", reply.text()))
}

fn start(dir: &Path, extra: &[&str]) -> Server {
    let data = dir.join("data");
    if !data.exists() {
        backfill(dir, &data, 60);
    }
    tutorial_web_yml(dir, PASSWORD);
    let mut args = vec!["--web.config.file=web.yml", "--storage.tsdb.path=data"];
    args.extend_from_slice(extra);
    Server::start(dir, &args)
}

fn creds() -> String {
    basic("admin", PASSWORD)
}

fn get(server: &Server, path: &str) -> Reply {
    let auth = creds();
    server.get(path, &[("Authorization", auth.as_str())])
}

fn query_path(expr: &str, time_s: f64) -> String {
    format!("/api/v1/query?query={}&time={time_s}", urlencode(expr))
}

fn at(minutes: i64) -> f64 {
    (DATA_START_MS + minutes * 60_000) as f64 / 1000.0
}

#[test]
fn query_endpoints_answer_like_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);

    // Behind the door like everything else.
    let path = query_path("up", at(30));
    assert_eq!(server.get(&path, &[]).status, 401);
    let bad = basic("admin", "wrong");
    assert_eq!(
        server.get(&path, &[("Authorization", bad.as_str())]).status,
        401
    );

    // An instant vector.
    let reply = get(
        &server,
        &query_path("sum by (job) (rate(http_requests_total[5m]))", at(30)),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    let v = json(&reply);
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "vector");
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    for r in result {
        assert!(r["metric"]["job"].is_string(), "{r}");
        assert!(r["metric"].get("__name__").is_none());
        assert_eq!(r["value"][0].as_f64().unwrap(), at(30));
        let rate: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
        assert!(rate > 1.0, "{rate}");
    }
    // The JSON text itself: timestamps as numbers, values as strings.
    assert!(
        reply
            .text()
            .contains(&format!("\"value\":[{},\"", at(30) as i64)),
        "{}",
        reply.text()
    );

    // A scalar, a string, NaN and infinities.
    let v = json(&get(&server, &query_path("1 / 0", at(30))));
    assert_eq!(v["data"]["resultType"], "scalar");
    assert_eq!(v["data"]["result"][1], "+Inf");
    let v = json(&get(&server, &query_path("-1 / 0", at(30))));
    assert_eq!(v["data"]["result"][1], "-Inf");
    let v = json(&get(&server, &query_path("0 / 0", at(30))));
    assert_eq!(v["data"]["result"][1], "NaN");
    let v = json(&get(&server, &query_path("\"hello\"", at(30))));
    assert_eq!(v["data"]["resultType"], "string");
    assert_eq!(v["data"]["result"][1], "hello");

    // A range vector at an instant: the raw samples.
    let v = json(&get(
        &server,
        &query_path("temperature{room=\"a\"}[1m]", at(30)),
    ));
    assert_eq!(v["data"]["resultType"], "matrix");
    assert_eq!(
        v["data"]["result"][0]["values"].as_array().unwrap().len(),
        4
    );

    // A range query, by GET and by POST form.
    let range = format!(
        "query={}&start={}&end={}&step=60",
        urlencode("max(temperature)"),
        at(10),
        at(20)
    );
    let v = json(&get(&server, &format!("/api/v1/query_range?{range}")));
    assert_eq!(v["data"]["resultType"], "matrix");
    let values = v["data"]["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 11);
    assert_eq!(values[0][0].as_f64().unwrap(), at(10));
    let auth = creds();
    let posted = server.request_with_body(
        "POST",
        "/api/v1/query_range",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        range.as_bytes(),
    );
    assert_eq!(json(&posted), v);

    // Infos and warnings carry the position of the expression they are about.
    let v = json(&get(&server, &query_path("rate(temperature[5m])", at(30))));
    assert_eq!(
        v["infos"][0],
        "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"temperature\" (1:6)"
    );
    let v = json(&get(
        &server,
        &query_path("quantile(2, temperature)", at(30)),
    ));
    assert_eq!(
        v["warnings"][0],
        "PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)"
    );

    // `limit` truncates, with a warning.
    let v = json(&get(
        &server,
        &format!("{}&limit=2", query_path("temperature", at(30))),
    ));
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 2);
    assert_eq!(v["warnings"][0], "results truncated due to limit");

    // `stats` adds timings and sample counts.
    let v = json(&get(
        &server,
        &format!("{}&stats=all", query_path("sum(temperature)", at(30))),
    ));
    assert!(v["data"]["stats"]["timings"]["evalTotalTime"].is_number());
    assert!(
        v["data"]["stats"]["samples"]["totalQueryableSamples"]
            .as_u64()
            .unwrap()
            > 0
    );

    // Errors: type, HTTP status and text as Prometheus.
    let reply = get(&server, &query_path("sum(", at(30)));
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.text(),
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}"#
    );
    let reply = get(&server, &query_path("rate(temperature)", at(30)));
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains(
            "expected type range vector in call to function \\\"rate\\\", got instant vector"
        ),
        "{}",
        reply.text()
    );
    let reply = get(
        &server,
        &format!(
            "/api/v1/query_range?query=up&start={}&end={}&step=0",
            at(10),
            at(20)
        ),
    );
    assert_eq!(reply.status, 400);
    assert!(reply
        .text()
        .contains("zero or negative query resolution step widths are not accepted"));
    let reply = get(
        &server,
        &format!(
            "/api/v1/query_range?query=up&start={}&end={}&step=60",
            at(20),
            at(10)
        ),
    );
    assert_eq!(
        json(&reply)["error"],
        "end timestamp must not be before start time"
    );
    let reply = get(
        &server,
        &format!(
            "/api/v1/query_range?query=up&start={}&end={}&step=0.001",
            at(0),
            at(60)
        ),
    );
    assert!(reply
        .text()
        .contains("exceeded maximum resolution of 11,000 points per timeseries"));
    let reply = get(
        &server,
        &format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            urlencode("up[5m]"),
            at(10),
            at(20)
        ),
    );
    assert_eq!(reply.status, 400);
    assert!(reply
        .text()
        .contains("invalid expression type \\\"range vector\\\" for range query"));
    let reply = get(
        &server,
        &query_path(
            "label_replace(temperature, \"room\", \"x\", \"room\", \".*\")",
            at(30),
        ),
    );
    assert_eq!(reply.status, 422);
    assert_eq!(json(&reply)["errorType"], "execution");
    assert_eq!(
        json(&reply)["error"],
        "vector cannot contain metrics with the same labelset"
    );
    // A query that runs past its own timeout.
    let reply = get(
        &server,
        &format!(
            "{}&timeout=0.001",
            query_path("count_over_time(vector(1)[30d:1s])", at(30))
        ),
    );
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(json(&reply)["errorType"], "timeout");

    // format_query and parse_query.
    let v = json(&get(
        &server,
        "/api/v1/format_query?query=sum(rate(foo%5B5m%5D))by(job)",
    ));
    assert_eq!(v["data"], "sum by (job) (rate(foo[5m]))");
    let v = json(&get(&server, "/api/v1/parse_query?query=foo%2Bon(a)bar"));
    assert_eq!(v["data"]["type"], "binaryExpr");
    assert_eq!(v["data"]["matching"]["labels"][0], "a");

    // Label names and values honour start/end without match[] too (the server's own
    // "prometheus" job, scraped now, lies outside the backfilled hour).
    let range = format!("start={}&end={}", at(0), at(60));
    let v = json(&get(&server, &format!("/api/v1/label/job/values?{range}")));
    assert_eq!(v["data"], serde_json::json!(["api", "batch", "web"]));
    let v = json(&get(&server, &format!("/api/v1/labels?{range}")));
    assert!(
        v["data"].as_array().unwrap().contains(&"room".into()),
        "{v}"
    );
    let before = format!("start={}&end={}", at(-600), at(-500));
    let v = json(&get(&server, &format!("/api/v1/label/job/values?{before}")));
    assert_eq!(v["data"], serde_json::json!([]));
    let v = json(&get(&server, &format!("/api/v1/labels?{before}")));
    assert_eq!(v["data"], serde_json::json!([]));
}

#[test]
fn sample_limit_ends_a_query_with_prometheus_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["--query.max-samples=100"]);
    let reply = get(&server, &query_path("sum(http_requests_total)", at(30)));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = get(
        &server,
        &query_path("sum(rate(http_requests_total[30m]))", at(30)),
    );
    assert_eq!(reply.status, 422, "{}", reply.text());
    let v = json(&reply);
    assert_eq!(v["errorType"], "execution");
    assert_eq!(
        v["error"],
        "query processing would load too many samples into memory in query execution"
    );
}

fn http_config(dir: &Path) -> String {
    let path = dir.join("http.yml");
    std::fs::write(
        &path,
        format!("basic_auth:\n  username: admin\n  password: {PASSWORD}\n"),
    )
    .unwrap();
    path.display().to_string()
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pmtool_query_commands_with_http_config() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    let url = format!("http://{}", server.addr);
    let cfg = http_config(dir.path());
    let pmtool = || {
        let mut c = Command::new(pmtool_bin());
        c.arg("query").arg(format!("--http.config.file={cfg}"));
        c
    };

    let (ok, out, err) = run(pmtool()
        .args(["instant", &url, "temperature{room=\"b\"}"])
        .arg(format!("--time={}", at(30))));
    assert!(ok, "{err}");
    assert!(
        out.starts_with("temperature{room=\"b\"} => ")
            && out.trim_end().ends_with(&format!("@[{}]", at(30) as i64)),
        "{out}"
    );

    let (ok, out, err) = run(pmtool()
        .args(["range", &url, "count(temperature)", "--step=5m"])
        .arg(format!("--start={}", at(10)))
        .arg(format!("--end={}", at(20))));
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!(
            "{{}} =>\n5 @[{}]\n5 @[{}]\n5 @[{}]\n",
            at(10) as i64,
            at(15) as i64,
            at(20) as i64
        )
    );

    let (ok, out, err) = run(pmtool().args(["series", &url, "--match=temperature{room=~\"a|b\"}"]));
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "{__name__=\"temperature\", room=\"a\"}\n{__name__=\"temperature\", room=\"b\"}\n"
    );

    // The server also scrapes itself ("prometheus" job, now): a time range keeps to the backfill.
    let (ok, out, err) = run(pmtool()
        .args(["labels", &url, "job"])
        .arg(format!("--start={}", at(0)))
        .arg(format!("--end={}", at(60))));
    assert!(ok, "{err}");
    assert_eq!(out, "api\nbatch\nweb\n");

    let (ok, out, _) = run(pmtool()
        .args(["-o", "json", "instant", &url, "vector(1)"])
        .arg(format!("--time={}", at(30))));
    assert!(ok);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v[0]["value"][1], "1");

    // Without the config: refused.
    let (ok, _, err) = run(Command::new(pmtool_bin()).args(["query", "instant", &url, "up"]));
    assert!(!ok);
    assert!(err.contains("401"), "{err}");
    // Credentials in the URL (percent-encoded ones decoded) are basic auth; labels by GET.
    let with_creds = format!(
        "http://admin:{}@{}",
        PASSWORD.replace('-', "%2D"),
        server.addr
    );
    let (ok, out, err) = run(Command::new(pmtool_bin())
        .args(["query", "labels", &with_creds, "room"])
        .arg(format!("--start={}", at(0)))
        .arg(format!("--end={}", at(60))));
    assert!(ok, "{err}");
    assert_eq!(out, "a\nb\nc\nd\ne\n");
    // A query error is reported with the API's words.
    let (ok, _, err) = run(pmtool().args(["instant", &url, "sum("]));
    assert!(!ok);
    assert!(err.contains("query error: bad_data: invalid parameter \"query\": 1:5: parse error: unexpected end of input"), "{err}");
}

/// Debian's promtool (Prometheus 2.42) must work against our server as against its own.
#[test]
fn debian_promtool_query_instant_works_against_promethium() {
    let promtool = Path::new("/usr/bin/promtool");
    assert!(
        promtool.exists(),
        "Debian's promtool is needed: apt-get install prometheus (scripts/test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);
    // promtool 2.42 has no --http.config.file; Go's client sends URL credentials as basic auth.
    let url = format!("http://admin:{PASSWORD}@{}", server.addr);
    let (ok, out, err) = run(Command::new(promtool)
        .args(["query", "instant", &url])
        .arg("sum by (job) (http_requests_total)")
        .arg(format!("--time={}", at(30))));
    assert!(ok, "promtool failed: {err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("{job=\"api\"} => ")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("{job=\"web\"} => ")),
        "{out}"
    );

    // Without credentials promtool is refused.
    let (ok, _, err) = run(Command::new(promtool).args([
        "query",
        "instant",
        &format!("http://{}", server.addr),
        "up",
    ]));
    assert!(!ok);
    assert!(err.contains("401"), "{err}");

    // pmtool prints the same lines, given the URL credentials or an HTTP config file.
    let (ok, ours, err) = run(Command::new(pmtool_bin())
        .args(["query", "instant", &url])
        .arg("sum by (job) (http_requests_total)")
        .arg(format!("--time={}", at(30))));
    assert!(ok, "{err}");
    assert_eq!(ours, out);
    let cfg = http_config(dir.path());
    let (ok, ours, err) = run(Command::new(pmtool_bin())
        .args([
            "query",
            "instant",
            &format!("--http.config.file={cfg}"),
            &format!("http://{}", server.addr),
        ])
        .arg("sum by (job) (http_requests_total)")
        .arg(format!("--time={}", at(30))));
    assert!(ok, "{err}");
    let mut a: Vec<&str> = ours.lines().collect();
    let mut b = lines.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

/// A one-body HTTP target on loopback (answers every request with `body`), until the test
/// process ends.
fn openmetrics_target(body: &'static str) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn start_timestamps_from_created_lines_with_the_features_on() {
    let target = openmetrics_target(
        "# TYPE requests counter\nrequests_total 7\nrequests_created 1700000000.5\n# EOF\n",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "scrape_configs:\n  - job_name: app\n    scrape_interval: 100ms\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--config.file=prometheus.yml",
            "--enable-feature=st-storage,use-start-timestamps",
        ],
    );
    let query = |q: &str| -> Value {
        let reply = server.get(&format!("/api/v1/query?query={}", urlencode(q)), &[]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        json(&reply)["data"]["result"].clone()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let result = query("start_timestamp(requests_total)");
        if let Some(v) = result.get(0) {
            assert_eq!(v["value"][1], "1700000000.5", "{result}");
            assert_eq!(v["metric"]["job"], "app");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no start timestamp: {}",
            server.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !server.log_text().contains("Unknown option"),
        "{}",
        server.log_text()
    );
}

fn engine_queries(server: &Server) -> f64 {
    let auth = creds();
    let text = server
        .get("/metrics", &[("Authorization", auth.as_str())])
        .text();
    text.lines()
        .find_map(|l| l.strip_prefix("prometheus_engine_queries "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no prometheus_engine_queries in {text}"))
}

#[test]
fn a_client_that_goes_away_cancels_its_query() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["--query.timeout=10m"]);
    // A query that needs longer than 4 s (its own timeout says so): 2,881 steps, each
    // summing a window of 691,200 points …
    let slow = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step=60",
        urlencode("sum_over_time(vector(1)[8d:1s])"),
        at(30) - 2.0 * 86400.0,
        at(30)
    );
    let started = Instant::now();
    let reply = get(&server, &format!("{slow}&timeout=4s"));
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(started.elapsed() >= Duration::from_secs(4));
    assert_eq!(engine_queries(&server), 0.0);
    // … asked for by a client that gives up after half a second.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "GET {slow} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\r\n",
        creds()
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine_queries(&server) < 1.0 {
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        engine_queries(&server),
        1.0,
        "still running while its client waits"
    );
    let gone = Instant::now();
    drop(stream);
    // Cancelled well before it could have finished on its own (4 s and more).
    while engine_queries(&server) > 0.0 {
        assert!(
            gone.elapsed() < Duration::from_secs(2),
            "the query kept running after its client went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
