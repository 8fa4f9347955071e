//! Upstream's `discovery/http` tests (TestHTTPValidRefresh, TestHTTPInvalidCode,
//! TestHTTPInvalidFormat, TestContentTypeRegex, TestSourceDisappeared), against a real
//! HTTP server on loopback; the fixture is read from upstream's test data.

use std::sync::{Arc, Mutex};

use discovery::http::{is_json_content_type, parse_groups, HttpDiscovery};
use discovery::{Group, LabelSet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/discovery/http/fixtures"
);

/// What the test server answers: status line, content type and body.
#[derive(Clone)]
struct Answer {
    status: &'static str,
    content_type: Option<&'static str>,
    body: String,
}

/// Serves `answer` (as it is when a request comes) on a loopback port; returns the base
/// URL and the request heads seen.
async fn serve(answer: Arc<Mutex<Answer>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.lock().unwrap().clone();
            let requests = Arc::clone(&requests);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                requests
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let mut response = format!(
                    "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    answer.status,
                    answer.body.len()
                );
                if let Some(ct) = answer.content_type {
                    response.push_str(&format!("Content-Type: {ct}\r\n"));
                }
                response.push_str("\r\n");
                response.push_str(&answer.body);
                let _ = conn.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn config(url: &str, refresh: &str) -> promconfig::sd::http::HttpSdConfig {
    let mut c = promconfig::sd::http::HttpSdConfig::default();
    goyaml::from_str(
        &format!("url: {url}\nrefresh_interval: {refresh}\n"),
        &mut c,
    )
    .unwrap();
    c
}

fn group(source: String, address: &str, labels: &[(&str, &str)]) -> Group {
    Group {
        source,
        targets: vec![LabelSet::from([(
            "__address__".to_string(),
            address.to_string(),
        )])],
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn failures() -> f64 {
    discovery::metrics_snapshot()
        .into_iter()
        .find(|s| s.name == "prometheus_sd_http_failures_total")
        .map_or(0.0, |s| s.value)
}

#[tokio::test]
async fn test_http_valid_refresh() {
    let body = std::fs::read_to_string(format!("{FIXTURES}/http_sd.good.json")).unwrap();
    let answer = Arc::new(Mutex::new(Answer {
        status: "200 OK",
        content_type: Some("application/json"),
        body,
    }));
    let (base, seen) = serve(answer).await;
    let url = format!("{base}/http_sd.good.json");
    let mut d = HttpDiscovery::new(&config(&url, "30s"), "http").unwrap();
    let groups = d.refresh().await.unwrap();
    assert_eq!(
        groups,
        vec![group(
            format!("{url}:0"),
            "127.0.0.1:9090",
            &[("__meta_datacenter", "bru1"), ("__meta_url", &url)]
        )]
    );
    // The headers upstream sends.
    let head = seen.lock().unwrap()[0].to_ascii_lowercase();
    assert!(head.contains("accept: application/json\r\n"), "{head}");
    assert!(
        head.contains("x-prometheus-refresh-interval-seconds: 30\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn test_http_invalid_code_and_format() {
    let answer = Arc::new(Mutex::new(Answer {
        status: "400 Bad Request",
        content_type: None,
        body: String::new(),
    }));
    let (url, _) = serve(Arc::clone(&answer)).await;
    let mut d = HttpDiscovery::new(&config(&url, "30s"), "http").unwrap();
    let before = failures();
    assert_eq!(
        d.refresh().await.unwrap_err(),
        "server returned HTTP status 400 Bad Request"
    );
    *answer.lock().unwrap() = Answer {
        status: "200 OK",
        content_type: Some("text/plain; charset=utf-8"),
        body: "{}\n".into(),
    };
    assert_eq!(
        d.refresh().await.unwrap_err(),
        r#"unsupported content type "text/plain; charset=utf-8""#
    );
    // Other tests may fail refreshes at the same time: at least these two counted.
    assert!(failures() >= before + 2.0);
}

#[test]
fn test_content_type_regex() {
    for (header, matches) in [
        ("application/json;charset=utf-8", true),
        ("application/json;charset=UTF-8", true),
        ("Application/JSON;Charset=\"utf-8\"", true),
        ("application/json; charset=\"utf-8\"", true),
        ("application/json", true),
        ("application/jsonl; charset=\"utf-8\"", false),
        ("application/json;charset=UTF-9", false),
        ("application /json;charset=UTF-8", false),
        ("application/ json;charset=UTF-8", false),
        ("application/json;", false),
        ("charset=UTF-8", false),
    ] {
        assert_eq!(is_json_content_type(header), matches, "{header}");
    }
}

#[tokio::test]
async fn test_source_disappeared() {
    let answer = Arc::new(Mutex::new(Answer {
        status: "200 OK",
        content_type: Some("application/json"),
        body: String::new(),
    }));
    let (url, _) = serve(Arc::clone(&answer)).await;
    let g = |i: usize, address: &str, k: &str| {
        group(
            format!("{url}:{i}"),
            address,
            &[("k", k), ("__meta_url", &url)],
        )
    };
    let gone = |i: usize| Group {
        source: format!("{url}:{i}"),
        ..Group::default()
    };
    let one = r#"{"labels": {"k": "1"}, "targets": ["127.0.0.1"]}"#;
    let two = r#"{"labels": {"k": "2"}, "targets": ["127.0.0.1"]}"#;
    let three = r#"{"labels": {"k": "3"}, "targets": ["127.0.0.1"]}"#;
    let cases: Vec<(Vec<String>, Vec<Vec<Group>>)> = vec![
        (vec!["[]".into(), "[]".into()], vec![vec![], vec![]]),
        (
            vec![format!("[{one}]"), format!("[{one}, {two}]")],
            vec![
                vec![g(0, "127.0.0.1", "1")],
                vec![g(0, "127.0.0.1", "1"), g(1, "127.0.0.1", "2")],
            ],
        ),
        (
            vec![format!("[{one}, {two}]"), format!("[{one}]")],
            vec![
                vec![g(0, "127.0.0.1", "1"), g(1, "127.0.0.1", "2")],
                vec![g(0, "127.0.0.1", "1"), gone(1)],
            ],
        ),
        (
            vec![
                format!("[{one}, {two}, {three}]"),
                format!("[{one}]"),
                r#"[{"labels": {"k": "v"}, "targets": ["127.0.0.2"]}, {"labels": {"k": "vv"}, "targets": ["127.0.0.3"]}]"#.into(),
            ],
            vec![
                vec![g(0, "127.0.0.1", "1"), g(1, "127.0.0.1", "2"), g(2, "127.0.0.1", "3")],
                vec![g(0, "127.0.0.1", "1"), gone(1), gone(2)],
                vec![g(0, "127.0.0.2", "v"), g(1, "127.0.0.3", "vv")],
            ],
        ),
    ];
    // One discovery for all cases, as upstream's test: what disappeared is relative to the
    // answer before.
    let mut d = HttpDiscovery::new(&config(&url, "1s"), "http").unwrap();
    for (responses, expected) in cases {
        for (body, want) in responses.into_iter().zip(expected) {
            answer.lock().unwrap().body = body;
            assert_eq!(d.refresh().await.unwrap(), want);
        }
    }
}

#[test]
fn groups_are_read_as_upstream_reads_them() {
    assert_eq!(
        parse_groups(br#"[{"targets": ["a:1", "b:2"]}]"#).unwrap()[0]
            .targets
            .len(),
        2
    );
    assert_eq!(
        parse_groups(br#"[null]"#).unwrap_err(),
        "nil target group item found"
    );
    let unknown = parse_groups(br#"[{"targets": [], "foo": 1}]"#).unwrap_err();
    assert!(unknown.contains("unknown field `foo`"), "{unknown}");
    let bad = parse_groups(br#"[{"targets": [], "labels": {"": "x"}}]"#).unwrap_err();
    assert_eq!(bad, r#""" is not a valid label name"#);
    assert!(parse_groups(b"{}").is_err());
}
