//! Issue 11: slow connections against the real `promethium` on loopback. 600 connections
//! from 127.0.0.1 sending their headers a byte a second (more than the default
//! `--web.max-connections` of 512) no longer make the server unreachable: 127.0.0.1 keeps
//! half the slots, its other connections are refused at once, and 127.0.0.2 (Linux routes
//! all of 127/8 to lo) is answered.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

/// How a slow connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Still open when the test stopped it.
    Open,
    /// Answered 503 and closed.
    Refused,
    /// Closed (or reset) without the 503 being read.
    Closed,
}

/// Sends headers that never end, a byte a second, until the server closes the connection
/// or `stop` changes.
async fn trickle_headers(stream: TcpStream, mut stop: watch::Receiver<bool>) -> Outcome {
    let prefix = b"GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let (mut reader, mut writer) = stream.into_split();
    let mut received = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut sent = 0usize;
    loop {
        tokio::select! {
            _ = stop.changed() => return Outcome::Open,
            _ = ticks.tick() => {
                let byte = prefix.get(sent).copied().unwrap_or(b'a');
                sent += 1;
                // A refused connection fails here; its read side says how it ended.
                let _ = writer.write_all(&[byte]).await;
            }
            read = reader.read_buf(&mut received) => match read {
                Ok(n) if n > 0 => {}
                _ if received.starts_with(b"HTTP/1.1 503 ") => return Outcome::Refused,
                _ => return Outcome::Closed,
            },
        }
    }
}

/// `GET /-/healthy` from the loopback address `from`: the status, within 2 s.
async fn healthy_from(from: &str, addr: SocketAddr) -> Result<u16, String> {
    let ask = async {
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket
            .bind(format!("{from}:0").parse().unwrap())
            .map_err(|e| e.to_string())?;
        let mut stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
        stream
            .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| e.to_string())?;
        Ok(parse(&raw).status)
    };
    tokio::time::timeout(Duration::from_secs(2), ask)
        .await
        .unwrap_or_else(|_| Err(format!("{from} was not answered within 2 s")))
}

#[test]
fn slow_connections_from_one_address_do_not_lock_others_out() {
    let dir = tempfile::tempdir().unwrap();
    backfill(dir.path(), &dir.path().join("data"), 60);
    let server = Server::start(dir.path(), &["--storage.tsdb.path=data"]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcomes = runtime.block_on(async {
        let (stop, stopping) = watch::channel(false);
        let mut slow = tokio::task::JoinSet::new();
        for i in 0..600 {
            let stream = TcpStream::connect(server.addr)
                .await
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            slow.spawn(trickle_headers(stream, stopping.clone()));
        }
        let started = Instant::now();
        assert_eq!(
            healthy_from("127.0.0.2", server.addr).await,
            Ok(200),
            "{}",
            server.log_text()
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // The refusals are immediate; give them time to be read, then stop the rest.
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.send_replace(true);
        let mut outcomes = Vec::new();
        while let Some(outcome) = slow.join_next().await {
            outcomes.push(outcome.unwrap());
        }
        outcomes
    });
    let count = |wanted| outcomes.iter().filter(|o| **o == wanted).count();
    assert_eq!(count(Outcome::Open), 256, "{outcomes:?}");
    assert_eq!(count(Outcome::Refused) + count(Outcome::Closed), 600 - 256);
    assert!(count(Outcome::Refused) > 0, "no 503 was read");
    // Refusals are logged, but not one line each.
    let log = server.log_text();
    let warnings = log
        .matches("Too many open connections from one address")
        .count();
    assert!((1..=5).contains(&warnings), "{warnings} warnings: {log}");

    // The slow connections are closed now: 127.0.0.1 is served again once the server has
    // seen them go.
    drop(runtime);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let health = server.get("/-/healthy", &[]);
        if health.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {}",
            health.status,
            health.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Each refusal is counted.
    let text = server.get("/metrics", &[]).text();
    let refused: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("promethium_http_connections_refused_total "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no promethium_http_connections_refused_total in {text}"));
    assert_eq!(refused, (600 - 256) as f64);
    // And it holds every sample it held (an hour of 12 counters, one every 15 s).
    let t = (DATA_START_MS + 60 * 60_000) as f64 / 1000.0;
    let path = format!(
        "/api/v1/query?query={}&time={t}",
        urlencode("sum(count_over_time(http_requests_total[1h]))")
    );
    let reply = server.get(&path, &[]);
    let value: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(value["data"]["result"][0]["value"][1], "2880", "{value}");
}
