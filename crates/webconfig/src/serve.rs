//! Serving a tower service on a listener with a web configuration: plain HTTP/1.1 or TLS
//! (HTTP/1.1 and, unless `http2: false`, HTTP/2), the [`WebConfigLayer`] in front, and
//! graceful shutdown.
//!
//! Slow and hostile clients get bounded shares of the server ([`ServeOptions`]):
//!
//! - `max_connections` connections are served at once (more wait in the kernel's accept
//!   queue), and one client address holds at most `max_connections_per_address` of them,
//!   so a single client cannot take every slot (IPv6 clients are counted by /64, as one
//!   is usually given a whole /64). A connection over that cap is answered
//!   `503` (plain HTTP) or closed (TLS) at once.
//! - The request line and headers are bounded in size (`max_header_bytes`) and time
//!   (`header_read_timeout`, at most `read_timeout`; it also bounds the TLS handshake).
//! - A request with a body must be answered within `read_timeout` of its head arriving, or
//!   the connection is closed, so a body trickled a byte at a time cannot hold it.
//! - Idle connections are closed: without a first request within the header timeout, and
//!   between requests after the header timeout (HTTP/1.1, where hyper restarts its header
//!   timer as soon as a connection goes idle) or `read_timeout` (HTTP/2).

mod activity;
mod conn_limit;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tower::{Service, ServiceExt};

use self::activity::{Activity, Expiry, Limits, TrackedBody};
use self::conn_limit::AddressLimits;
use crate::layer::{PeerAddr, WebConfigLayer};
use crate::live::WebConfigHandle;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a connection closed for being idle gets to finish politely (an HTTP/2 GOAWAY)
/// before it is dropped; nothing is in flight on it, so this only ends stuck handshakes.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Limits applied to every connection.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 client: its /64) may have open at once;
    /// more are refused as they arrive. `None`: half of `max_connections` (at least 1), so
    /// that one client never holds every slot and a second can still get in.
    pub max_connections_per_address: Option<usize>,
    /// Bytes of request line and headers accepted (HTTP/1.1); beyond that, 431.
    pub max_header_bytes: usize,
    /// Time allowed for a new connection's TLS handshake, for it to send its first
    /// request, and for the request line and headers of each request. An HTTP/1.1
    /// connection idle between requests is closed after this long too (hyper's header
    /// timer runs from the end of the previous response). Never more than `read_timeout`.
    pub header_read_timeout: Duration,
    /// As Prometheus's `--web.read-timeout`: the time from a request's head arriving by
    /// which a request with a body must have been answered (else its connection is
    /// closed), and how long an HTTP/2 connection may sit idle between requests. Requests
    /// without a body are not limited by it. `None` (or zero): no such limits.
    pub read_timeout: Option<Duration>,
    /// How long a graceful shutdown waits for open requests.
    pub shutdown_grace: Duration,
    /// Counts connections refused for going over `max_connections_per_address`; share it
    /// (clone the `Arc`) to read it from outside.
    pub refused_connections: Arc<AtomicU64>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_connections_per_address: None,
            max_header_bytes: 64 * 1024,
            // Long enough for a client on a slow link to send its headers, short enough
            // that connections which never finish theirs are not held for long.
            header_read_timeout: Duration::from_secs(10),
            // Prometheus's default for --web.read-timeout.
            read_timeout: Some(Duration::from_secs(5 * 60)),
            shutdown_grace: Duration::from_secs(10),
            refused_connections: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl ServeOptions {
    /// The per-address cap in force.
    pub fn connections_per_address(&self) -> usize {
        self.max_connections_per_address
            .unwrap_or(self.max_connections / 2)
            .max(1)
    }

    /// `read_timeout`, zero meaning none.
    fn read_limit(&self) -> Option<Duration> {
        self.read_timeout.filter(|limit| !limit.is_zero())
    }

    /// The header timeout in force: reading the headers is part of reading the request.
    fn header_limit(&self) -> Duration {
        match self.read_limit() {
            Some(read) => self.header_read_timeout.min(read),
            None => self.header_read_timeout,
        }
    }
}

/// Why serving could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS settings in force at start cannot be used.
    #[error("{0}")]
    Tls(String),
    /// The web configuration in force at start is broken.
    #[error("{0}")]
    Config(String),
}

/// Serves `service` on `listener` behind the web configuration, until `shutdown` resolves.
///
/// Like exporter-toolkit's `Serve`, whether TLS is used is decided here, once; the users,
/// headers and rate limit apply from the next request after the file changes, and the TLS
/// settings and files from the next handshake.
pub async fn serve<S, B>(
    listener: TcpListener,
    handle: WebConfigHandle,
    service: S,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let identity = tower::layer::util::Identity::new();
    serve_with_outer_layer(listener, handle, service, identity, options, shutdown).await
}

/// [`serve`], with `outer` wrapped around the web configuration layer, for what must see
/// every request, refused ones included (request metrics, access logs).
pub async fn serve_with_outer_layer<S, B, L, OB>(
    listener: TcpListener,
    handle: WebConfigHandle,
    service: S,
    outer: L,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    L: tower::Layer<crate::layer::WebConfigService<S>>,
    L::Service: Service<Request<Incoming>, Response = Response<OB>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<Request<Incoming>>>::Future: Send + 'static,
    OB: http_body::Body<Data = Bytes> + Send + 'static,
    OB::Error: Into<BoxError>,
{
    let config = handle.current().map_err(ServeError::Config)?;
    let tls = config.tls_server_config.is_enabled();
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    if tls {
        handle.tls_server_config().map_err(ServeError::Tls)?;
        tracing::info!(address = %address, http2 = config.http_server_config.http2, "TLS is enabled.");
    } else {
        tracing::info!(address = %address, "TLS is disabled.");
    }
    let service = outer.layer(tower::Layer::layer(
        &WebConfigLayer::new(handle.clone()),
        service,
    ));
    let limit = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
    let per_address = AddressLimits::new(
        options.connections_per_address(),
        Arc::clone(&options.refused_connections),
    );
    let header_timeout = options.header_limit();
    let read_timeout = options.read_limit();
    let limits = Limits {
        first_request: Some(header_timeout),
        idle: read_timeout,
    };
    let make_builder = |http1_only: bool| {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        if http1_only {
            builder = builder.http1_only();
        }
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(options.max_header_bytes.max(8192));
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_header_list_size(options.max_header_bytes as u32);
        Arc::new(builder)
    };
    // Plain listeners never speak HTTP/2 (no h2c), as in Go; TLS ones only when ALPN chose h2.
    let h1_builder = make_builder(true);
    let any_builder = make_builder(false);
    // Connections hold a receiver: they learn of the shutdown from it, and the shutdown
    // learns they are all gone when the last receiver is dropped.
    let (stop, _) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = Arc::clone(&limit).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(err = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(address_slot) = per_address.try_acquire(peer.ip()) else {
            // The global slot goes back at once: the refusal below does not wait on the client.
            drop(permit);
            if !tls {
                conn_limit::refuse_plain(stream);
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let h1_builder = Arc::clone(&h1_builder);
        let any_builder = Arc::clone(&any_builder);
        let handle = handle.clone();
        let mut stopping = stop.subscribe();
        tokio::spawn(async move {
            let _permit = permit;
            let _address_slot = address_slot;
            let (transport, builder) = if tls {
                let handshake = tls_handshake(stream, peer, &handle, header_timeout);
                let stream = tokio::select! {
                    stream = handshake => stream,
                    _ = stopping.wait_for(|stop| *stop) => None,
                };
                let Some(stream) = stream else {
                    return;
                };
                let builder = if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                    any_builder
                } else {
                    h1_builder
                };
                (Transport::Tls(Box::new(stream)), builder)
            } else {
                (Transport::Plain(stream), h1_builder)
            };
            let activity = Activity::new();
            let per_request = track_requests(service, peer, Arc::clone(&activity), read_timeout);
            let hyper_service = hyper_util::service::TowerToHyperService::new(per_request);
            let conn = builder.serve_connection(TokioIo::new(transport), hyper_service);
            tokio::pin!(conn);
            supervise(
                conn,
                |conn| conn.graceful_shutdown(),
                &activity,
                limits,
                &mut stopping,
                peer,
            )
            .await;
        });
    }
    drop(listener);
    stop.send_replace(true);
    tokio::select! {
        _ = stop.closed() => {},
        _ = tokio::time::sleep(options.shutdown_grace) => {
            tracing::warn!("open connections did not finish within the shutdown grace period");
        }
    }
    Ok(())
}

/// `service` for one connection's requests: each gets the peer's address, and is tracked
/// in `activity` (with a body deadline `read_timeout` from now when it has a body) until
/// its response has been sent.
fn track_requests<S, B>(
    service: S,
    peer: SocketAddr,
    activity: Arc<Activity>,
    read_timeout: Option<Duration>,
) -> impl Service<
    Request<Incoming>,
    Response = Response<TrackedBody<B>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<TrackedBody<B>>, Infallible>> + Send,
> + Clone
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    tower::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(PeerAddr(peer));
        // Only a body can be trickled after the head, which hyper's header timeout
        // already bounds.
        let body_deadline = read_timeout
            .filter(|_| !request.body().is_end_stream())
            .map(|limit| Instant::now() + limit);
        let mut in_flight = activity.request_started(body_deadline);
        let answer = service.clone().oneshot(request);
        async move {
            let response = match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            in_flight.answered();
            Ok(response.map(|body| TrackedBody::new(body, in_flight)))
        }
    })
}

/// Runs a connection to its end, closing it politely on shutdown or when idle past
/// `limits`, and dropping it when a request body misses its deadline.
async fn supervise<C, E>(
    mut conn: Pin<&mut C>,
    graceful_shutdown: fn(Pin<&mut C>),
    activity: &Activity,
    limits: Limits,
    stopping: &mut watch::Receiver<bool>,
    peer: SocketAddr,
) where
    C: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    // Set once the connection was asked to close: by the shutdown (`None`: it may take
    // the shutdown grace) or for being idle (`Some`: by then it must be gone).
    let mut closing: Option<Option<Instant>> = None;
    loop {
        // Once closing, only body deadlines still matter.
        let watched = match closing {
            Some(_) => Limits {
                first_request: None,
                idle: None,
            },
            None => limits,
        };
        let close_by = closing.flatten();
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(peer = %peer, err = %e, "connection ended with an error");
                }
                return;
            }
            _ = stopping.wait_for(|stop| *stop), if closing.is_none() => {
                graceful_shutdown(conn.as_mut());
                closing = Some(None);
            }
            expiry = activity.expiry(watched) => match expiry {
                Expiry::Idle => {
                    graceful_shutdown(conn.as_mut());
                    closing = Some(Some(Instant::now() + IDLE_CLOSE_GRACE));
                }
                Expiry::BodyDeadline => {
                    tracing::debug!(peer = %peer, "request body not received within the read timeout; closing the connection");
                    return;
                }
            },
            _ = tokio::time::sleep_until(close_by.unwrap_or_else(Instant::now)), if close_by.is_some() => return,
        }
    }
}

/// A connection's byte stream, plain or TLS, so that both are served by one code path.
enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(s) => s.is_write_vectored(),
            Transport::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Answers a plain HTTP request on a TLS port as Go does, then runs the handshake with the
/// configuration in force now; all of it within `timeout`.
async fn tls_handshake(
    stream: TcpStream,
    peer: SocketAddr,
    handle: &WebConfigHandle,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let handshake = async {
        let mut stream = stream;
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await {
            Ok(1) => {}
            _ => return None,
        }
        // 0x16 starts a TLS handshake record; anything else that looks like text is HTTP.
        if first[0] != 0x16 {
            if first[0].is_ascii_uppercase() {
                let _ = stream
                    .write_all(
                        b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
                    )
                    .await;
            }
            return None;
        }
        let acceptor =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
        let start = acceptor.await.ok()?;
        let config = match handle.tls_server_config() {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(peer = %peer, err = %e, "TLS handshake refused");
                return None;
            }
        };
        match start.into_stream(config).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::debug!(peer = %peer, err = %e, "TLS handshake failed");
                None
            }
        }
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .ok()
        .flatten()
}
