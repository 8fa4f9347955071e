//! `oauth2` (client credentials) on a scrape job: the token endpoint gets the client's
//! credentials in basic auth with the scopes and endpoint params, the target sees the
//! bearer token, and an expiring token is fetched again. The token endpoint and the
//! target are small HTTP servers here (no OAuth 2.0 server is packaged to run one).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// Requests seen: request line, headers (names in lower case), body.
type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>, String)>>>;

/// Serves requests with `answer(request line, headers, body) -> (status, content type,
/// body)` on its own thread; every request is recorded.
fn serve(
    answer: impl Fn(&str, &[(String, String)], &str) -> (u16, &'static str, String)
        + Send
        + Sync
        + 'static,
) -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let recorded = Arc::clone(&seen);
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (answer, recorded) = (Arc::clone(&answer), Arc::clone(&recorded));
            std::thread::spawn(move || handle(stream, &*answer, &recorded));
        }
    });
    (port, seen)
}

type Answer = dyn Fn(&str, &[(String, String)], &str) -> (u16, &'static str, String);

fn handle(stream: TcpStream, answer: &Answer, seen: &Seen) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body = String::from_utf8_lossy(&body).into_owned();
        let (status, kind, text) = answer(line.trim_end(), &headers, &body);
        seen.lock()
            .unwrap()
            .push((line.trim_end().to_string(), headers, body));
        let reply = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n{text}",
            text.len()
        );
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn scrapes_with_a_client_credentials_token_and_renews_it() {
    let dir = tempfile::tempdir().unwrap();
    let issued = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&issued);
    // Tokens live 11 s: renewed 10 s before expiry, so after about a second.
    let (token_port, token_requests) = serve(move |_, _, _| {
        let mut n = counter.lock().unwrap();
        *n += 1;
        (
            200,
            "application/json",
            format!(r#"{{"access_token":"tok-{n}","token_type":"bearer","expires_in":11}}"#),
        )
    });
    let (target_port, target_requests) = serve(|_, headers, _| {
        let auth = headers.iter().find(|(k, _)| k == "authorization");
        match auth {
            Some((_, v)) if v.starts_with("Bearer tok-") => {
                (200, "text/plain", "ok_metric 1\n".to_string())
            }
            _ => (401, "text/plain", "no token\n".to_string()),
        }
    });
    std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n    oauth2:\n      client_id: my client\n      client_secret_file: secret\n      scopes: [read, write]\n      token_url: http://127.0.0.1:{token_port}/token\n      endpoint_params: {{audience: metrics}}\n"
        ),
    )
    .unwrap();
    let server = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tokens: Vec<String> = target_requests
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, h, _)| {
                h.iter()
                    .find(|(k, _)| k == "authorization")
                    .map(|(_, v)| v.clone())
            })
            .collect();
        let distinct: std::collections::BTreeSet<&String> = tokens.iter().collect();
        if distinct.len() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "target saw {tokens:?}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (line, headers, body) = token_requests.lock().unwrap()[0].clone();
    assert!(line.starts_with("POST /token "), "{line}");
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("my+client:s3cret")
    );
    assert!(
        headers.contains(&("authorization".into(), basic.clone())),
        "{headers:?} want {basic}"
    );
    let mut fields: Vec<&str> = body.split('&').collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        vec![
            "audience=metrics",
            "grant_type=client_credentials",
            "scope=read+write"
        ]
    );
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert_eq!(
        query_value(server.addr.port(), "up{job=\"t\"}", at),
        Some(1.0)
    );
    // Not a token per scrape: about one per second of validity.
    let n = *issued.lock().unwrap();
    let scrapes = target_requests.lock().unwrap().len() as u32;
    assert!(
        n < scrapes + 2 && n >= 2,
        "{n} tokens for {scrapes} scrapes"
    );
}

#[test]
fn unsupported_oauth2_settings_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "scrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['127.0.0.1:1']\n    oauth2:\n      client_id: a\n      client_secret: b\n      token_url: http://127.0.0.1:1/token\n      grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer\n",
    )
    .unwrap();
    let out = std::process::Command::new(promethium_bin())
        .current_dir(dir.path())
        .args([
            "--config.file=prometheus.yml",
            &format!("--web.listen-address=127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("grant_type") && err.contains("client_credentials"),
        "{err}"
    );
}
