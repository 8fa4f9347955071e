//! Issue 11: slow and hostile connections do not make the server unreachable. Real servers
//! on loopback; a second client address is 127.0.0.2 (Linux routes all of 127/8 to lo).
//!
//! - one address holding more connections than `max_connections` gets its share and no
//!   more, and another address is still answered at once;
//! - a request body trickled a byte at a time is cut off at the read timeout;
//! - idle keep-alive connections (HTTP/1.1 and HTTP/2) are closed;
//! - the per-address cap answers plain HTTP with a 503 and closes TLS connections.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use webconfig::ServeOptions;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// A server answering `/` with "Hello World!", `/upload` with the size of the body it
/// read (400 if reading it failed) and `/slow` after 1.5 s. Dropped, it stops.
struct Server {
    addr: SocketAddr,
    refused: Arc<AtomicU64>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

async fn start(options: ServeOptions, config: Option<&Path>) -> Server {
    let handle = webconfig::WebConfigHandle::new(config, webconfig::HandleOptions::default())
        .unwrap_or_else(|e| panic!("web config: {e}"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = tower::service_fn(|request: Request<hyper::body::Incoming>| async move {
        let (status, text) = match request.uri().path() {
            "/upload" => match request.into_body().collect().await {
                Ok(body) => (
                    StatusCode::OK,
                    format!("got {} bytes", body.to_bytes().len()),
                ),
                Err(e) => (StatusCode::BAD_REQUEST, format!("body: {e}")),
            },
            "/slow" => {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                (StatusCode::OK, "slow".to_string())
            }
            _ => (StatusCode::OK, "Hello World!".to_string()),
        };
        let mut response = Response::new(Full::new(Bytes::from(text)));
        *response.status_mut() = status;
        Ok::<_, Infallible>(response)
    });
    let refused = Arc::clone(&options.refused_connections);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let stopped = async {
            let _ = stopped.await;
        };
        if let Err(e) = webconfig::serve(listener, handle, service, options, stopped).await {
            panic!("serve failed: {e}");
        }
    });
    Server {
        addr,
        refused,
        _stop: stop,
    }
}

/// A connection to `addr` from the loopback address `from` (e.g. "127.0.0.2").
async fn connect_from(from: &str, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().unwrap())?;
    socket.connect(addr).await
}

/// Everything the server sends until it closes the connection (a reset counts as a close),
/// or an error if it is still open after `limit`.
async fn read_until_closed<S: AsyncRead + Unpin>(
    stream: &mut S,
    limit: Duration,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, async {
        while let Ok(n) = stream.read_buf(&mut out).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    match read {
        Ok(()) => Ok(out),
        Err(_) => Err(format!(
            "still open after {limit:?}, got {:?}",
            String::from_utf8_lossy(&out)
        )),
    }
}

/// A plain `GET /` from `from`, and its status.
async fn get_status_from(from: &str, addr: SocketAddr) -> Result<u16, String> {
    let mut stream = connect_from(from, addr).await.map_err(|e| e.to_string())?;
    stream.write_all(REQUEST).await.map_err(|e| e.to_string())?;
    let raw = read_until_closed(&mut stream, Duration::from_secs(5)).await?;
    Ok(common::parse_reply(&raw)?.status)
}

/// Raises the soft limit on open files to at least `want` (up to the hard limit): the
/// test process holds both ends of hundreds of connections.
fn raise_open_file_limit(want: libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        if limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// How a slow connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlowOutcome {
    /// Still open when the test stopped it.
    Open,
    /// Answered 503 and closed.
    Refused,
    /// Closed (or reset) without the 503 being read.
    Closed,
}

/// Sends a request line and headers that never end, one byte a second, until the server
/// closes the connection or `stop` is set.
async fn trickle_headers(stream: TcpStream, mut stop: watch::Receiver<bool>) -> SlowOutcome {
    let prefix = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    let (mut reader, mut writer) = stream.into_split();
    let mut received = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut sent = 0usize;
    loop {
        tokio::select! {
            _ = stop.changed() => return SlowOutcome::Open,
            _ = ticks.tick() => {
                let byte = prefix.get(sent).copied().unwrap_or(b'a');
                sent += 1;
                // A refused connection fails here; its read side says how it ended.
                let _ = writer.write_all(&[byte]).await;
            }
            read = reader.read_buf(&mut received) => match read {
                Ok(n) if n > 0 => {}
                _ if received.starts_with(b"HTTP/1.1 503 ") => return SlowOutcome::Refused,
                _ => return SlowOutcome::Closed,
            },
        }
    }
}

/// (a) 600 connections from 127.0.0.1 sending their headers a byte a second, against
/// `max_connections` 512: 127.0.0.1 keeps its share (half), the rest are refused at once,
/// and a request from 127.0.0.2 is answered within 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_from_one_address_leave_room_for_others() {
    raise_open_file_limit(4096);
    let server = start(
        ServeOptions {
            max_connections: 512,
            ..Default::default()
        },
        None,
    )
    .await;
    let (stop, stopping) = watch::channel(false);
    let mut slow = tokio::task::JoinSet::new();
    for i in 0..600 {
        let stream = TcpStream::connect(server.addr)
            .await
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        slow.spawn(trickle_headers(stream, stopping.clone()));
    }

    let started = Instant::now();
    let status = tokio::time::timeout(
        Duration::from_secs(2),
        get_status_from("127.0.0.2", server.addr),
    )
    .await
    .unwrap_or_else(|_| panic!("127.0.0.2 was not answered within 2 s"));
    assert_eq!(status, Ok(200));
    assert!(started.elapsed() < Duration::from_secs(2));

    let deadline = Instant::now() + Duration::from_secs(5);
    while server.refused() < 600 - 256 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.refused(), 600 - 256);
    // Let the refused connections see their answer before the others are stopped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send_replace(true);
    let mut outcomes = Vec::new();
    while let Some(outcome) = slow.join_next().await {
        outcomes.push(outcome.unwrap());
    }
    let count = |wanted| outcomes.iter().filter(|o| **o == wanted).count();
    assert_eq!(count(SlowOutcome::Open), 256, "{outcomes:?}");
    assert_eq!(
        count(SlowOutcome::Refused) + count(SlowOutcome::Closed),
        600 - 256
    );
    assert!(count(SlowOutcome::Refused) > 0, "no 503 was read");
}

/// (b) A body sent a byte every 200 ms is cut off at the read timeout (1 s) counted from
/// the request's head; the same request sent at once, and a slow handler of a request
/// without a body, are answered.
#[tokio::test]
async fn a_trickled_body_is_cut_off_at_the_read_timeout() {
    let server = start(
        ServeOptions {
            read_timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        },
        None,
    )
    .await;
    let head = b"POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 100\r\n\r\n";

    let mut whole = TcpStream::connect(server.addr).await.unwrap();
    whole.write_all(head).await.unwrap();
    whole.write_all(&[b'x'; 100]).await.unwrap();
    let raw = read_until_closed(&mut whole, Duration::from_secs(5))
        .await
        .unwrap();
    let reply = common::parse_reply(&raw).unwrap();
    assert_eq!((reply.status, reply.body.as_str()), (200, "got 100 bytes"));

    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(head).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = slow.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b"x").await.is_err() {
                break;
            }
        }
    });
    let answer = read_until_closed(&mut reader, Duration::from_secs(3)).await;
    let elapsed = started.elapsed();
    trickle.abort();
    let answer = answer.unwrap_or_else(|e| e.into_bytes());
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(1600),
        "closed after {elapsed:?}"
    );

    // No body, so nothing to trickle: the read timeout does not limit the handler.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let raw = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(common::parse_reply(&raw).unwrap().status, 200);
}

/// (c) An HTTP/1.1 keep-alive connection left idle after a response is closed once the
/// read timeout has passed.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_read_timeout() {
    let server = start(
        ServeOptions {
            read_timeout: Some(Duration::from_secs(1)),
            ..Default::default()
        },
        None,
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(b"Hello World!") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before the answer");
    }
    let idle = Instant::now();
    let rest = read_until_closed(&mut stream, Duration::from_secs(3))
        .await
        .unwrap();
    let elapsed = idle.elapsed();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(1800),
        "closed after {elapsed:?}"
    );
}

/// A TLS client trusting the conformance CA, offering `alpn`.
fn tls_connector(alpn: &[u8]) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(common::conformance("tls-ca-chain.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls_connect(
    from: &str,
    addr: SocketAddr,
    alpn: &[u8],
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let tcp = connect_from(from, addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let connect = tls_connector(alpn).connect(name, tcp);
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("handshake timed out".into()),
    }
}

/// One HTTP/2 frame: type, flags, stream and payload.
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const END_STREAM: u8 = 1;
const ACK: u8 = 1;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Frame> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.ok()?;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

/// Reads frames, acknowledging the server's settings and pings, until `done` says so
/// (`Some` frame) or the connection ends (`None`).
async fn frames_until<S, F>(stream: &mut S, mut done: F) -> Option<Frame>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(&Frame) -> bool,
{
    loop {
        let frame = read_frame(stream).await?;
        if done(&frame) {
            return Some(frame);
        }
        let ack = match frame.kind {
            SETTINGS if frame.flags & ACK == 0 => Some(self::frame(SETTINGS, ACK, 0, &[])),
            PING if frame.flags & ACK == 0 => Some(self::frame(PING, ACK, 0, &frame.payload)),
            _ => None,
        };
        if let Some(ack) = ack {
            let _ = stream.write_all(&ack).await;
        }
    }
}

/// (c, HTTP/2) A TLS connection that negotiated h2: without any request it is closed after
/// the header timeout; after a request, once idle for the read timeout (GOAWAY first).
#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let server = start(
        ServeOptions {
            header_read_timeout: Duration::from_millis(500),
            read_timeout: Some(Duration::from_millis(1500)),
            ..Default::default()
        },
        Some(&common::conformance("web_config_noAuth.good.yml")),
    )
    .await;

    let mut silent = tls_connect("127.0.0.1", server.addr, b"h2").await.unwrap();
    assert_eq!(silent.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let opened = Instant::now();
    read_until_closed(&mut silent, Duration::from_secs(3))
        .await
        .unwrap();
    let elapsed = opened.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(1500),
        "closed after {elapsed:?}"
    );

    let mut h2 = tls_connect("127.0.0.1", server.addr, b"h2").await.unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    // HPACK: :method GET, :scheme https, :path /, :authority localhost.
    let mut block = vec![0x82, 0x87, 0x84, 0x41, 9];
    block.extend(b"localhost");
    hello.extend(frame(HEADERS, 0x4 | END_STREAM, 1, &block));
    h2.write_all(&hello).await.unwrap();
    let last = frames_until(&mut h2, |f| {
        f.stream == 1 && (f.kind == DATA || f.kind == HEADERS) && f.flags & END_STREAM != 0
    })
    .await;
    assert!(last.is_some(), "no complete answer on stream 1");
    let idle = Instant::now();
    let goaway = tokio::time::timeout(
        Duration::from_secs(4),
        frames_until(&mut h2, |f| f.kind == GOAWAY),
    )
    .await
    .expect("still open 4 s after the answer");
    let elapsed = idle.elapsed();
    assert!(goaway.is_some(), "closed without a GOAWAY");
    assert!(
        elapsed >= Duration::from_millis(1300) && elapsed < Duration::from_millis(2500),
        "GOAWAY after {elapsed:?}"
    );
    let rest = tokio::time::timeout(Duration::from_secs(3), frames_until(&mut h2, |_| false)).await;
    assert!(rest.is_ok(), "still open 3 s after the GOAWAY");
}

/// (d) One address gets `max_connections_per_address` connections; the next is answered
/// 503 and closed (and counted), another address is still served, and a closed connection
/// frees its address's slot.
#[tokio::test]
async fn connections_from_one_address_are_capped() {
    assert_eq!(
        ServeOptions {
            max_connections: 9,
            ..Default::default()
        }
        .connections_per_address(),
        4
    );
    assert_eq!(
        ServeOptions {
            max_connections: 1,
            ..Default::default()
        }
        .connections_per_address(),
        1
    );
    assert_eq!(ServeOptions::default().connections_per_address(), 256);

    let server = start(
        ServeOptions {
            max_connections: 16,
            max_connections_per_address: Some(3),
            ..Default::default()
        },
        None,
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    // The server has taken all three once one more request from elsewhere is answered.
    assert_eq!(get_status_from("127.0.0.2", server.addr).await, Ok(200));

    let mut over = TcpStream::connect(server.addr).await.unwrap();
    let raw = read_until_closed(&mut over, Duration::from_secs(2))
        .await
        .unwrap();
    let reply = common::parse_reply(&raw).unwrap();
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("Connection"), Some("close"));
    assert_eq!(reply.body, "Too many open connections from this address.\n");
    assert_eq!(server.refused(), 1);

    assert_eq!(get_status_from("127.0.0.2", server.addr).await, Ok(200));
    held.pop();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match get_status_from("127.0.0.1", server.addr).await {
            Ok(200) => break,
            other => assert!(
                Instant::now() < deadline,
                "the closed connection's slot was not freed: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (d, TLS) Over the cap, a TLS connection is closed without a word; another address still
/// completes its handshake and is answered.
#[tokio::test]
async fn tls_connections_over_the_cap_are_closed() {
    let server = start(
        ServeOptions {
            max_connections: 16,
            max_connections_per_address: Some(2),
            ..Default::default()
        },
        Some(&common::conformance("web_config_noAuth.good.yml")),
    )
    .await;
    let first = tls_connect("127.0.0.1", server.addr, b"http/1.1").await;
    let second = tls_connect("127.0.0.1", server.addr, b"http/1.1").await;
    assert!(first.is_ok() && second.is_ok());
    let third = tls_connect("127.0.0.1", server.addr, b"http/1.1").await;
    assert!(
        third.is_err(),
        "a third TLS connection from 127.0.0.1 was accepted"
    );
    assert_eq!(server.refused(), 1);

    let mut other = tls_connect("127.0.0.2", server.addr, b"http/1.1")
        .await
        .unwrap();
    other.write_all(REQUEST).await.unwrap();
    let raw = read_until_closed(&mut other, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(common::parse_reply(&raw).unwrap().status, 200);
}
