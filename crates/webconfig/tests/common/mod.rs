//! Test helpers: a real server on a loopback port, and raw HTTP/1.1 and TLS clients that
//! can pin versions, cipher suites, curves, ALPN and client certificates.

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use rustls::crypto::{aws_lc_rs, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/web-config")
}

pub fn conformance(file: &str) -> PathBuf {
    conformance_dir().join(file)
}

/// A server answering "Hello World!" behind the web config; dropped, it stops.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: webconfig::WebConfigHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A server on a conformance file that must start.
pub async fn start_file(file: &str) -> TestServer {
    match start(Some(&conformance(file))).await {
        Ok(server) => server,
        Err(e) => panic!("{file} did not start: {e}"),
    }
}

pub async fn start(config: Option<&Path>) -> Result<TestServer, String> {
    start_with(config, webconfig::HandleOptions::default()).await
}

/// The settle time of servers whose web.yml a test rewrites: short, so that tests are quick.
pub const TEST_SETTLE: Duration = Duration::from_millis(200);

/// A server on `config` that adopts a changed file after [`TEST_SETTLE`].
pub async fn start_settling(config: &Path) -> Result<TestServer, String> {
    let options = webconfig::HandleOptions {
        reload_settle: Some(TEST_SETTLE),
        ..Default::default()
    };
    start_with(Some(config), options).await
}

/// Runs `check` until it is true, every 20 ms, and panics naming `what` after 10 s. The
/// check should send a request: a changed web.yml is only noticed (and, once settled,
/// adopted) by requests and handshakes.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not seen within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status of a plain-HTTP `GET /`, with basic credentials when given.
pub async fn status_as(addr: SocketAddr, credentials: Option<(&str, &str)>) -> u16 {
    let auth = credentials.map(|(user, password)| basic(user, password));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    match http_get(addr, "/", &headers).await {
        Ok(reply) => reply.status,
        // A connection the loaded machine's loopback resets before any answer is asked again.
        Err(_) => http_get(addr, "/", &headers).await.unwrap().status,
    }
}

pub async fn start_with(
    config: Option<&Path>,
    options: webconfig::HandleOptions,
) -> Result<TestServer, String> {
    let handle = webconfig::WebConfigHandle::new(config, options).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let service = tower::service_fn(|request: Request<hyper::body::Incoming>| async move {
        let user = request
            .extensions()
            .get::<webconfig::AuthenticatedUser>()
            .map(|u| u.0.clone())
            .unwrap_or_default();
        let body = if user.is_empty() {
            "Hello World!".to_string()
        } else {
            format!("Hello {user}!")
        };
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
    });
    // serve() refuses to start exactly when these fail; check them here so that a test
    // gets the error instead of a server that is not there.
    if handle.tls_enabled() {
        handle.tls_server_config()?;
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serve_handle = handle.clone();
    tokio::spawn(async move {
        let stopped = async {
            let _ = rx.await;
        };
        if let Err(e) = webconfig::serve(
            listener,
            serve_handle,
            service,
            webconfig::ServeOptions::default(),
            stopped,
        )
        .await
        {
            panic!("serve failed: {e}");
        }
    });
    Ok(TestServer {
        addr,
        handle,
        stop: Some(tx),
    })
}

/// A parsed HTTP/1.x response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn request_bytes(path: &str, extra_headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in extra_headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

pub fn parse_reply(raw: &[u8]) -> Result<Reply, String> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

/// One plain-HTTP request; the raw bytes of the answer (for non-HTTP answers too).
pub async fn raw_http(addr: SocketAddr, request: &[u8]) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.write_all(request).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_to_end(&mut out),
    )
    .await;
    match read {
        Ok(Ok(_)) => Ok(out),
        Ok(Err(e)) if !out.is_empty() => {
            let _ = e;
            Ok(out)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    parse_reply(&raw_http(addr, &request_bytes(path, headers)).await?)
}

/// What a TLS client offers.
#[derive(Clone)]
pub struct TlsClient {
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub suites: Option<Vec<SupportedCipherSuite>>,
    pub kx_groups: Option<Vec<&'static dyn SupportedKxGroup>>,
    pub client_cert: Option<(&'static str, &'static str)>,
    pub alpn: Vec<Vec<u8>>,
}

impl Default for TlsClient {
    fn default() -> Self {
        Self {
            versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
            suites: None,
            kx_groups: None,
            client_cert: None,
            alpn: vec![b"http/1.1".to_vec()],
        }
    }
}

/// The outcome of a TLS connection and one request over it.
#[derive(Debug)]
pub struct TlsReply {
    pub reply: Reply,
    pub suite: String,
    pub alpn: Option<Vec<u8>>,
}

impl TlsClient {
    /// The default client, presenting the given conformance certificate and key.
    pub fn with_cert(cert: &'static str, key: &'static str) -> Self {
        Self {
            client_cert: Some((cert, key)),
            ..Default::default()
        }
    }

    /// The status of `GET /`, or the connection's error.
    pub async fn status(&self, addr: SocketAddr) -> Result<u16, String> {
        self.get(addr, "/", &[]).await.map(|r| r.reply.status)
    }

    fn config(&self) -> Result<rustls::ClientConfig, String> {
        let base = aws_lc_rs::default_provider();
        let mut kx = base.kx_groups.clone();
        kx.push(webconfig::SECP521R1);
        let provider = CryptoProvider {
            cipher_suites: self.suites.clone().unwrap_or(base.cipher_suites.clone()),
            kx_groups: self.kx_groups.clone().unwrap_or(kx),
            ..base
        };
        let mut roots = rustls::RootCertStore::empty();
        let ca = std::fs::read(conformance("tls-ca-chain.pem")).map_err(|e| e.to_string())?;
        for cert in CertificateDer::pem_slice_iter(&ca) {
            roots
                .add(cert.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&self.versions)
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let mut config = match self.client_cert {
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> =
                    CertificateDer::pem_file_iter(conformance(cert))
                        .map_err(|e| e.to_string())?
                        .collect::<Result<_, _>>()
                        .map_err(|e| e.to_string())?;
                let key =
                    PrivateKeyDer::from_pem_file(conformance(key)).map_err(|e| e.to_string())?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| e.to_string())?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(config)
    }

    /// Connects, sends one HTTP/1.1 GET and reads the answer. Any handshake or alert
    /// failure is an `Err` with rustls's text.
    pub async fn get(
        &self,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<TlsReply, String> {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.config()?));
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (suite, alpn) = {
            let conn = tls.get_ref().1;
            (
                conn.negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite()))
                    .unwrap_or_default(),
                conn.alpn_protocol().map(<[u8]>::to_vec),
            )
        };
        tls.write_all(&request_bytes(path, headers))
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        match tls.read_to_end(&mut out).await {
            Ok(_) => {}
            Err(e) if out.is_empty() => return Err(e.to_string()),
            Err(_) => {}
        }
        Ok(TlsReply {
            reply: parse_reply(&out)?,
            suite,
            alpn,
        })
    }

    /// Only the handshake: the negotiated ALPN protocol.
    pub async fn handshake_alpn(&self, addr: SocketAddr) -> Result<Option<Vec<u8>>, String> {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.config()?));
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        Ok(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec))
    }
}
