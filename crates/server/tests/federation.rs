//! `GET /federate` against Debian's Prometheus 2.42: both scrape the same target, whose
//! samples carry explicit timestamps so both store the same samples, and both answer
//! `/federate` with the same bytes (text) and the same samples (protobuf); then Prometheus
//! federates from us and we from Prometheus.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// A target serving a fixed exposition (explicit timestamps) to every scrape.
fn serve_fixed(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                // Request line and headers; the body of a GET is empty.
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    line.clear();
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// Debian's Prometheus with `config`.
fn start_prometheus(dir: &Path, config: &str) -> Peer {
    Peer::prometheus(dir, free_port(), config, None, &[])
}

/// GET `path` on `port` with an Accept header; (status, content type, body).
fn get(port: u16, path: &str, accept: &str) -> (u16, String, Vec<u8>) {
    // A server just started may not listen yet.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("cannot connect to 127.0.0.1:{port}: {e}"),
        }
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut raw).unwrap();
    let reply = parse(&raw);
    let content_type = reply.header("content-type").unwrap_or("").to_string();
    (reply.status, content_type, reply.body)
}

fn query_count(port: u16, q: &str) -> usize {
    let (status, _, body) = get(
        port,
        &format!("/api/v1/query?query={}", urlencode(q)),
        "*/*",
    );
    if status != 200 {
        return 0;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["data"]["result"].as_array().map_or(0, Vec::len)
}

const PROTO: &str =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

#[test]
fn federation_answers_as_prometheus_does() {
    let dir = tempfile::tempdir().unwrap();
    // Whole seconds, a little in the past: both servers take these samples as they are.
    let t = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 5)
        * 1000;
    let target = serve_fixed(format!(
        "# TYPE fed_gauge gauge\n\
         fed_gauge{{path=\"/a\",code=\"200\"}} 1.5 {t}\n\
         fed_gauge{{path=\"/b\\\"q\",code=\"500\"}} -0 {t}\n\
         fed_gauge{{path=\"/c\",code=\"\"}} 0.000012345 {t}\n\
         # TYPE fed_total counter\n\
         fed_total 1e+06 {t}\n\
         fed_nan NaN {t}\n\
         fed_inf{{instance=\"own\"}} +Inf {t}\n"
    ));
    let config = format!(
        "global:\n  scrape_interval: 1s\n  external_labels:\n    dc: eu\n    zone: \"z\\\"1\"\n\
         scrape_configs:\n  - job_name: fed\n    honor_labels: true\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), &config).unwrap();
    let ours = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let theirs = start_prometheus(dir.path(), &config);
    let selector = format!("/federate?match[]={}", urlencode("{__name__=~\"fed_.*\"}"));
    wait_until(
        "both servers scraped the target",
        Duration::from_secs(60),
        || {
            query_count(ours.addr.port(), "fed_gauge") == 3
                && query_count(theirs.port, "fed_gauge") == 3
        },
    );

    // Text: the same bytes and content type.
    let (status, ours_type, ours_text) = get(ours.addr.port(), &selector, "*/*");
    assert_eq!(status, 200);
    let (status, theirs_type, theirs_text) = get(theirs.port, &selector, "*/*");
    assert_eq!(
        status,
        200,
        "{}",
        std::fs::read_to_string(&theirs.log).unwrap_or_default()
    );
    assert_eq!(ours_type, theirs_type);
    assert_eq!(
        String::from_utf8_lossy(&ours_text),
        String::from_utf8_lossy(&theirs_text)
    );
    let text = String::from_utf8(ours_text).unwrap();
    assert!(text.contains("# TYPE fed_gauge untyped\n"), "{text}");
    assert!(
        text.contains(&format!(
            "fed_total{{instance=\"127.0.0.1:{target}\",job=\"fed\",dc=\"eu\",zone=\"z\\\"1\"}} 1e+06 {t}\n"
        )),
        "{text}"
    );

    // Protobuf: the same samples (the bytes may differ: Go writes fields proto2 keeps).
    let (status, ours_type, ours_proto) = get(ours.addr.port(), &selector, PROTO);
    assert_eq!(status, 200);
    let (_, theirs_type, theirs_proto) = get(theirs.port, &selector, PROTO);
    assert_eq!(ours_type, theirs_type);
    assert_eq!(
        exposition::protobuf_to_text(&ours_proto).unwrap(),
        exposition::protobuf_to_text(&theirs_proto).unwrap()
    );

    // Several selectors: the union, each series once; a bad selector: 400 as upstream.
    let union = format!(
        "/federate?match[]={}&match[]={}",
        urlencode("fed_gauge"),
        urlencode("{code=\"200\"}")
    );
    let (_, _, a) = get(ours.addr.port(), &union, "*/*");
    let (_, _, b) = get(theirs.port, &union, "*/*");
    assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    let bad = format!("/federate?match[]={}", urlencode("{"));
    assert_eq!(get(ours.addr.port(), &bad, "*/*").0, 400);
    assert_eq!(get(theirs.port, &bad, "*/*").0, 400);
    let (status, _, body) = get(ours.addr.port(), "/federate", "*/*");
    let (their_status, _, their_body) = get(theirs.port, "/federate", "*/*");
    assert_eq!((status, body), (their_status, their_body));

    // Its counters exist, as upstream's (nothing went wrong here).
    let metrics = ours.get("/metrics", &[]).text();
    for counter in [
        "prometheus_web_federation_errors_total 0\n",
        "prometheus_web_federation_warnings_total 0\n",
    ] {
        assert!(metrics.contains(counter), "{counter}: {metrics}");
    }

    // Prometheus federates from us, with honor_labels, as the documentation sets it up.
    let upstream = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n    params:\n      'match[]': ['{{job=\"fed\"}}']\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
        ours.addr.port()
    );
    let global = start_prometheus(dir.path(), &upstream);
    wait_until(
        "Prometheus federating from us",
        Duration::from_secs(60),
        || query_count(global.port, "fed_gauge{dc=\"eu\",job=\"fed\"}") == 3,
    );
    // And we federate from Prometheus.
    let ours_global_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        ours_global_dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: federate\n    honor_labels: true\n    metrics_path: /federate\n    params:\n      'match[]': ['{{job=\"fed\"}}']\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            theirs.port
        ),
    )
    .unwrap();
    let ours_global = Server::start(ours_global_dir.path(), &["--config.file=prometheus.yml"]);
    wait_until(
        "us federating from Prometheus",
        Duration::from_secs(60),
        || query_count(ours_global.addr.port(), "fed_gauge{dc=\"eu\",job=\"fed\"}") == 3,
    );
}
