//! HTTP clients from Prometheus's HTTP client settings (common/config's `http_config`):
//! TLS as Go's crypto/tls verifies, proxies, redirects, and per request the
//! authentication and extra headers (read again each time, since their files may change),
//! with OAuth 2.0 tokens. Shared by scrape jobs, service discovery, Alertmanagers, remote
//! write and read, and `pmtool`'s API commands.

mod oauth2;

pub use oauth2::{check_oauth2, oauth2_authorization, request_headers_with_oauth2};

use std::sync::Arc;

use promconfig::{HttpClientConfig, TlsConfig, TlsVersion};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Why a client could not be built (bad certificate files and the like).
#[derive(Debug, Clone)]
pub struct ClientError(pub String);

/// An HTTP client for common/config's settings: TLS (`tls_config`), redirects and
/// proxies (`proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`).
/// Authentication and `http_headers` are added per request ([`request_headers`]), since
/// their files may change.
pub fn build_http_client(http: &HttpClientConfig) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .pool_max_idle_per_host(2)
        .redirect(if http.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    for proxy in proxies(http)? {
        builder = builder.proxy(proxy);
    }
    builder = builder.tls_backend_preconfigured(tls_client_config(&http.tls_config)?);
    builder
        .build()
        .map_err(|e| ClientError(format!("building the HTTP client: {e}")))
}

/// Where a request goes through a proxy, as Go's net/http and httpproxy decide it.
#[derive(Clone)]
struct ProxyRule {
    http: Option<reqwest::Url>,
    https: Option<reqwest::Url>,
    /// `NO_PROXY` entries; `None` when every request is proxied (`proxy_url` alone).
    no_proxy: Option<Vec<String>>,
}

impl ProxyRule {
    /// The proxy for a request URL, if any: httpproxy never proxies localhost or loopback
    /// addresses, nor hosts matching `NO_PROXY`; `http.ProxyURL` (a `proxy_url` without
    /// `no_proxy`) proxies everything.
    fn proxy_for(&self, url: &reqwest::Url) -> Option<reqwest::Url> {
        let proxy = match url.scheme() {
            "http" => self.http.clone(),
            "https" => self.https.clone(),
            _ => None,
        }?;
        if let Some(no_proxy) = &self.no_proxy {
            let host = url
                .host_str()
                .unwrap_or("")
                .trim_start_matches('[')
                .trim_end_matches(']');
            let host = host.to_ascii_lowercase();
            if host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
            {
                return None;
            }
            let port = url.port_or_known_default().unwrap_or(0);
            if no_proxy
                .iter()
                .any(|entry| no_proxy_matches(entry, &host, port))
            {
                return None;
            }
        }
        Some(proxy)
    }
}

/// One `NO_PROXY` entry against a host (lower case, no brackets) and port, as Go's
/// httpproxy matches it: `*`, an IP, a CIDR, `host`, `.host` (subdomains), each with an
/// optional `:port`.
fn no_proxy_matches(entry: &str, host: &str, port: u16) -> bool {
    let entry = entry.trim().to_ascii_lowercase();
    if entry.is_empty() {
        return false;
    }
    if entry == "*" {
        return true;
    }
    if let Some((net, bits)) = entry.split_once('/') {
        let (Ok(net), Ok(bits), Ok(ip)) = (
            net.parse::<std::net::IpAddr>(),
            bits.parse::<u32>(),
            host.parse::<std::net::IpAddr>(),
        ) else {
            return false;
        };
        return match (net, ip) {
            (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) if bits <= 32 => {
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) if bits <= 128 => {
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        };
    }
    if let Ok(ip) = entry
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        return host.parse::<std::net::IpAddr>().is_ok_and(|h| h == ip);
    }
    // `name:port` entries match that port only.
    let (name, entry_port) = match entry.rsplit_once(':') {
        Some((name, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
            (name.to_string(), p.parse::<u16>().ok())
        }
        _ => (entry.clone(), None),
    };
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    if let Some(suffix) = name.strip_prefix('.') {
        return host.ends_with(&format!(".{suffix}"));
    }
    host == name || host.ends_with(&format!(".{name}"))
}

/// The proxies of a client: `proxy_url` (all schemes; with `no_proxy`, Go's httpproxy
/// rules), or the environment's `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` as Go's httpproxy
/// reads them. `proxy_connect_header` goes on CONNECT requests only (HTTPS targets), as
/// Go sends it: never to a plain-HTTP target through the proxy.
fn proxies(http: &HttpClientConfig) -> Result<Vec<reqwest::Proxy>, ClientError> {
    let p = &http.proxy;
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, values) in &p.proxy_connect_header {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| ClientError(format!("invalid proxy_connect_header name {name:?}: {e}")))?;
        for value in values {
            let value = reqwest::header::HeaderValue::from_str(value.expose()).map_err(|e| {
                ClientError(format!(
                    "invalid proxy_connect_header value for {name}: {e}"
                ))
            })?;
            headers.append(name.clone(), value);
        }
    }
    let parse = |raw: &str, shown: &str| -> Result<reqwest::Url, ClientError> {
        let url = reqwest::Url::parse(raw)
            .or_else(|_| reqwest::Url::parse(&format!("http://{raw}")))
            .map_err(|e| ClientError(format!("invalid proxy URL {shown:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError(format!(
                "proxy URL {shown:?}: the {} scheme is not supported (use an http or https proxy)",
                url.scheme()
            )));
        }
        Ok(url)
    };
    let rule = if p.proxy_from_environment {
        let env = |upper: &str| {
            std::env::var(upper)
                .or_else(|_| std::env::var(upper.to_ascii_lowercase()))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let shown = |raw: &str| {
            promconfig::GoUrl::parse(raw)
                .map(|u| u.redacted())
                .unwrap_or_else(|_| "(invalid)".into())
        };
        let http_proxy = env("HTTP_PROXY")
            .map(|u| parse(&u, &shown(&u)))
            .transpose()?;
        let https_proxy = env("HTTPS_PROXY")
            .map(|u| parse(&u, &shown(&u)))
            .transpose()?;
        ProxyRule {
            http: http_proxy,
            https: https_proxy,
            no_proxy: Some(
                env("NO_PROXY")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_string)
                    .collect(),
            ),
        }
    } else {
        match &p.proxy_url {
            Some(url) if !url.raw.is_empty() => {
                let proxy = parse(&url.raw, &url.redacted())?;
                ProxyRule {
                    http: Some(proxy.clone()),
                    https: Some(proxy),
                    no_proxy: (!p.no_proxy.is_empty())
                        .then(|| p.no_proxy.split(',').map(str::to_string).collect()),
                }
            }
            _ => return Ok(Vec::new()),
        }
    };
    let plain = rule.clone();
    let http_proxy = reqwest::Proxy::custom(move |url| {
        (url.scheme() == "http")
            .then(|| plain.proxy_for(url))
            .flatten()
    });
    let mut https_proxy = reqwest::Proxy::custom(move |url| {
        (url.scheme() == "https")
            .then(|| rule.proxy_for(url))
            .flatten()
    });
    if !headers.is_empty() {
        https_proxy = https_proxy.headers(headers);
    }
    Ok(vec![http_proxy, https_proxy])
}

/// Reads a PEM value given inline or as a file (the `_ref` forms need a secret manager,
/// which the configuration check refuses before this point).
fn read(inline: &str, file: &str, what: &str) -> Result<Option<Vec<u8>>, ClientError> {
    if !inline.is_empty() {
        return Ok(Some(inline.as_bytes().to_vec()));
    }
    if !file.is_empty() {
        return std::fs::read(file)
            .map(Some)
            .map_err(|e| ClientError(format!("unable to read {what} file {file}: {e}")));
    }
    Ok(None)
}

fn rustls_version(v: TlsVersion) -> Option<&'static rustls::SupportedProtocolVersion> {
    match v {
        TlsVersion::Tls12 => Some(&rustls::version::TLS12),
        TlsVersion::Tls13 => Some(&rustls::version::TLS13),
        _ => None,
    }
}

fn tls_client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    // Go's defaults: TLS 1.2 to 1.3. TLS 1.0/1.1 do not exist in rustls; a minimum
    // below 1.2 therefore means 1.2.
    let min = match tls.min_version {
        TlsVersion::Tls13 => TlsVersion::Tls13,
        _ => TlsVersion::Tls12,
    };
    let max = match tls.max_version {
        TlsVersion::Unset => TlsVersion::Tls13,
        v => v,
    };
    if max < TlsVersion::Tls12 {
        return Err(ClientError(format!(
            "tls_config max_version {} is not supported (TLS 1.2 is the oldest version offered)",
            tls.max_version.name()
        )));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [TlsVersion::Tls12, TlsVersion::Tls13]
            .into_iter()
            .filter(|v| *v >= min && *v <= max)
            .filter_map(rustls_version)
            .collect();
    if versions.is_empty() {
        return Err(ClientError(format!(
            "tls_config min_version {} is above max_version {}",
            tls.min_version.name(),
            tls.max_version.name()
        )));
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| ClientError(format!("TLS settings: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(AcceptAnyServer(provider.signature_verification_algorithms))
    } else if let Some(ca) = read(&tls.ca, &tls.ca_file, "CA")? {
        let mut roots = rustls::RootCertStore::empty();
        let mut pinned = Vec::new();
        for cert in CertificateDer::pem_slice_iter(&ca) {
            let cert =
                cert.map_err(|e| ClientError(format!("unable to parse CA certificate: {e}")))?;
            pinned.push(cert.clone().into_owned());
            roots
                .add(cert)
                .map_err(|e| ClientError(format!("unable to use CA certificate: {e}")))?;
        }
        if pinned.is_empty() {
            return Err(ClientError(format!(
                "unable to use specified CA cert {}",
                if tls.ca_file.is_empty() {
                    "(inline)"
                } else {
                    &tls.ca_file
                }
            )));
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| ClientError(format!("unable to use CA certificates: {e}")))?;
        Arc::new(PinnedCa {
            inner: webpki,
            pinned,
            algorithms: provider.signature_verification_algorithms,
        })
    } else {
        Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| ClientError(format!("loading the system's trusted CAs: {e}")))?,
        )
    };
    let verifier: Arc<dyn ServerCertVerifier> = if tls.server_name.is_empty() {
        verifier
    } else {
        Arc::new(FixedServerName {
            inner: verifier,
            name: ServerName::try_from(tls.server_name.clone()).map_err(|e| {
                ClientError(format!("invalid server_name {:?}: {e}", tls.server_name))
            })?,
        })
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let cert = read(&tls.cert, &tls.cert_file, "client certificate")?;
    let key = read(tls.key.expose(), &tls.key_file, "client key")?;
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<_, _>>()
                .map_err(|e| ClientError(format!("unable to parse client certificate: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(&key)
                .map_err(|e| ClientError(format!("unable to parse client key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ClientError(format!("unable to use client certificate: {e}")))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// Verification against `ca`/`ca_file`, as Go does it: a server certificate that is
/// itself one of the pinned certificates is trusted even when it is a CA certificate
/// (what `openssl req -x509` makes), as long as its validity period and names fit —
/// webpki alone refuses a CA certificate as an end entity.
#[derive(Debug)]
struct PinnedCa {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            // webpki's CaUsedAsEndEntity (and any other chain complaint): Go trusts a
            // certificate found in the pool itself.
            Err(rustls::Error::InvalidCertificate(_))
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                verify_pinned(end_entity, server_name, now)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The checks Go's `x509.Verify` still makes on a pinned certificate: its validity
/// period, its extended key usage (none, any, or server authentication) and the server
/// name (DNS or IP subject alternative names).
fn verify_pinned(
    der: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    use rustls::CertificateError;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let now = now.as_secs() as i64;
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > validity.not_after.timestamp() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        if !(eku.value.any || eku.value.server_auth) {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::InvalidPurpose,
            ));
        }
    }
    let ee = rustls::server::ParsedCertificate::try_from(der)?;
    rustls::client::verify_server_name(&ee, server_name)
}

/// `insecure_skip_verify: true`: any server certificate (signatures still checked).
#[derive(Debug)]
struct AcceptAnyServer(rustls::crypto::WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// `server_name`: verify the certificate for this name instead of the URL's host.
#[derive(Debug)]
struct FixedServerName {
    inner: Arc<dyn ServerCertVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for FixedServerName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The `Authorization` header value for `basic_auth` or `authorization` settings
/// (`bearer_token` became an `authorization` when the configuration was checked).
pub fn authorization_header(http: &HttpClientConfig) -> Result<Option<String>, String> {
    use base64::Engine;
    let encode = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    if let Some(auth) = &http.basic_auth {
        let user = if auth.username_file.is_empty() {
            auth.username.clone()
        } else {
            read_secret(&auth.username_file)?
        };
        let password = if auth.password_file.is_empty() {
            auth.password.expose().to_string()
        } else {
            read_secret(&auth.password_file)?
        };
        return Ok(Some(format!(
            "Basic {}",
            encode(format!("{user}:{password}").as_bytes())
        )));
    }
    if let Some(auth) = &http.authorization {
        let credentials = if auth.credentials_file.is_empty() {
            auth.credentials.expose().to_string()
        } else {
            read_secret(&auth.credentials_file)?
        };
        let kind = if auth.kind.is_empty() {
            "Bearer"
        } else {
            &auth.kind
        };
        return Ok(Some(format!("{kind} {credentials}")));
    }
    if !http.bearer_token.is_empty() {
        return Ok(Some(format!("Bearer {}", http.bearer_token.expose())));
    }
    if !http.bearer_token_file.is_empty() {
        return Ok(Some(format!(
            "Bearer {}",
            read_secret(&http.bearer_token_file)?
        )));
    }
    Ok(None)
}

/// The headers every request of this client carries: `Authorization` and
/// `http_headers` (values, secrets, and files read now).
pub fn request_headers(http: &HttpClientConfig) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    if let Some(auth) = authorization_header(http)? {
        out.push(("Authorization".to_string(), auth));
    }
    for (name, header) in &http.http_headers {
        for value in &header.values {
            out.push((name.clone(), value.clone()));
        }
        for secret in &header.secrets {
            out.push((name.clone(), secret.expose().to_string()));
        }
        for file in &header.files {
            let value = std::fs::read_to_string(file)
                .map_err(|e| format!("unable to read headers file {file}: {e}"))?;
            out.push((name.clone(), value.trim().to_string()));
        }
    }
    Ok(out)
}

/// A response's body, refused with `too_large`'s words once it passes `max` bytes (a
/// broken or hostile peer must not make us buffer without bound).
pub async fn read_body_limited(
    mut response: reqwest::Response,
    max: usize,
    too_large: impl FnOnce() -> String,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A request error with its chain of causes (reqwest's own text stops at the first),
/// as Go's wrapped errors read: `error sending request: connection refused`.
pub fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn read_secret(file: &str) -> Result<String, String> {
    std::fs::read_to_string(file)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("unable to read secret file {file}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_entries_match_as_go_httpproxy_does() {
        assert!(no_proxy_matches("*", "anything", 80));
        assert!(no_proxy_matches("example.com", "example.com", 80));
        assert!(no_proxy_matches("example.com", "a.example.com", 80));
        assert!(!no_proxy_matches(".example.com", "example.com", 80));
        assert!(no_proxy_matches(".example.com", "a.example.com", 80));
        assert!(!no_proxy_matches("example.com", "badexample.com", 80));
        assert!(no_proxy_matches("example.com:8080", "example.com", 8080));
        assert!(!no_proxy_matches("example.com:8080", "example.com", 80));
        assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3", 80));
        assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3", 80));
        assert!(no_proxy_matches("192.0.2.1", "192.0.2.1", 80));
        let rule = ProxyRule {
            http: Some(reqwest::Url::parse("http://proxy.example:3128").unwrap()),
            https: None,
            no_proxy: Some(vec![]),
        };
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        // httpproxy never proxies loopback; http.ProxyURL (no no_proxy) proxies all.
        assert!(rule
            .proxy_for(&url("http://127.0.0.1:9100/metrics"))
            .is_none());
        assert!(rule
            .proxy_for(&url("http://localhost:9100/metrics"))
            .is_none());
        assert!(rule
            .proxy_for(&url("http://node.example:9100/metrics"))
            .is_some());
        assert!(rule
            .proxy_for(&url("https://node.example:9100/metrics"))
            .is_none());
        let all = ProxyRule {
            no_proxy: None,
            ..rule
        };
        assert!(all
            .proxy_for(&url("http://127.0.0.1:9100/metrics"))
            .is_some());
    }
}
