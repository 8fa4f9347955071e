//! Serving a tower service on a listener with a web configuration: plain HTTP/1.1 or TLS
//! (HTTP/1.1 and, unless `http2: false`, HTTP/2), the [`WebConfigLayer`] in front,
//! bounded headers, connection counts and handshake times, and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tower::{Service, ServiceExt};

use crate::layer::{PeerAddr, WebConfigLayer};
use crate::live::WebConfigHandle;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Limits applied to every connection.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Bytes of request line and headers accepted (HTTP/1.1); beyond that, 431.
    pub max_header_bytes: usize,
    /// Time allowed to send the request headers, and for the TLS handshake.
    pub header_read_timeout: Duration,
    /// How long a graceful shutdown waits for open requests.
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
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
    let graceful = GracefulShutdown::new();
    let make_builder = |http1_only: bool| {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        if http1_only {
            builder = builder.http1_only();
        }
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_read_timeout)
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
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let per_request = tower::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(PeerAddr(peer));
            service.clone().oneshot(request)
        });
        let hyper_service = hyper_util::service::TowerToHyperService::new(per_request);
        let h1_builder = Arc::clone(&h1_builder);
        let any_builder = Arc::clone(&any_builder);
        let handle = handle.clone();
        let timeout = options.header_read_timeout;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            if tls {
                let Some(stream) = tls_handshake(stream, peer, &handle, timeout).await else {
                    return;
                };
                let builder = if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                    any_builder
                } else {
                    h1_builder
                };
                let conn = builder.serve_connection(TokioIo::new(stream), hyper_service);
                let result = watcher.watch(conn.into_owned()).await;
                if let Err(e) = result {
                    tracing::debug!(peer = %peer, err = %e, "connection ended with an error");
                }
            } else {
                let conn = h1_builder.serve_connection(TokioIo::new(stream), hyper_service);
                if let Err(e) = watcher.watch(conn.into_owned()).await {
                    tracing::debug!(peer = %peer, err = %e, "connection ended with an error");
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(options.shutdown_grace) => {
            tracing::warn!("open connections did not finish within the shutdown grace period");
        }
    }
    Ok(())
}

/// Answers a plain HTTP request on a TLS port as Go does, then runs the handshake with the
/// configuration in force now.
async fn tls_handshake(
    stream: TcpStream,
    peer: SocketAddr,
    handle: &WebConfigHandle,
    timeout: Duration,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let mut stream = stream;
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
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
    let handshake = async {
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
