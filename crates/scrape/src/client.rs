//! The HTTP client of a scrape job: its TLS settings, authentication and headers.

use std::sync::Arc;

use promconfig::{ScrapeConfig, TlsConfig, SCRAPE_PROTOCOLS};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Media types of the scrape protocols (`ScrapeProtocolsHeaders`).
fn media_type(protocol: &str) -> Option<&'static str> {
    Some(match protocol {
        "OpenMetricsText1.0.0" => "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8",
        "OpenMetricsText0.0.1" => "application/openmetrics-text;version=0.0.1",
        "PrometheusText1.0.0" => "text/plain;version=1.0.0;escaping=allow-utf-8",
        "PrometheusText0.0.4" => "text/plain;version=0.0.4",
        _ => return None,
    })
}

/// The `Accept` header Prometheus 3 sends for a protocol list: weights from 0.6 down, then `*/*`.
pub fn accept_header(protocols: &[String]) -> String {
    let mut weight = SCRAPE_PROTOCOLS.len() + 1;
    let mut parts = Vec::new();
    for p in protocols {
        if let Some(media) = media_type(p) {
            parts.push(format!("{media};q=0.{weight}"));
            weight -= 1;
        }
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// Why a job's client could not be built (bad certificate files and the like).
#[derive(Debug, Clone)]
pub struct ClientError(pub String);

/// Builds the job's HTTP client (redirects as configured, no proxy from the environment).
pub fn build_client(job: &ScrapeConfig) -> Result<reqwest::Client, ClientError> {
    build_http_client(job.tls_config.as_ref(), job.follow_redirects)
}

/// An HTTP client with Prometheus's TLS settings (`tls_config`), used by scrapes and by
/// `pmtool`'s API commands.
pub fn build_http_client(
    tls: Option<&TlsConfig>,
    follow_redirects: bool,
) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .pool_max_idle_per_host(2)
        .redirect(if follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    let default_tls = TlsConfig::default();
    builder = builder.tls_backend_preconfigured(tls_client_config(tls.unwrap_or(&default_tls))?);
    builder
        .build()
        .map_err(|e| ClientError(format!("building the HTTP client: {e}")))
}

fn read(
    path_or_inline: (&Option<String>, &Option<String>),
    what: &str,
) -> Result<Option<Vec<u8>>, ClientError> {
    match path_or_inline {
        (Some(inline), _) => Ok(Some(inline.as_bytes().to_vec())),
        (None, Some(file)) => std::fs::read(file)
            .map(Some)
            .map_err(|e| ClientError(format!("unable to read {what} file {file}: {e}"))),
        (None, None) => Ok(None),
    }
}

fn tls_client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError(format!("TLS settings: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(AcceptAnyServer(provider.signature_verification_algorithms))
    } else if let Some(ca) = read((&tls.ca, &tls.ca_file), "CA")? {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&ca) {
            let cert =
                cert.map_err(|e| ClientError(format!("unable to parse CA certificate: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ClientError(format!("unable to use CA certificate: {e}")))?;
        }
        rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| ClientError(format!("unable to use CA certificates: {e}")))?
    } else {
        Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| ClientError(format!("loading the system's trusted CAs: {e}")))?,
        )
    };
    let verifier: Arc<dyn ServerCertVerifier> = match &tls.server_name {
        Some(name) if !name.is_empty() => Arc::new(FixedServerName {
            inner: verifier,
            name: ServerName::try_from(name.clone())
                .map_err(|e| ClientError(format!("invalid server_name {name:?}: {e}")))?,
        }),
        _ => verifier,
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let cert = read((&tls.cert, &tls.cert_file), "client certificate")?;
    let key = read((&tls.key, &tls.key_file), "client key")?;
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

/// The `Authorization` header value of a job, read fresh (password files can rotate).
pub fn authorization(job: &ScrapeConfig) -> Result<Option<String>, String> {
    authorization_header(job.basic_auth.as_ref(), job.authorization.as_ref())
}

/// The `Authorization` header value for `basic_auth` or `authorization` settings.
pub fn authorization_header(
    basic_auth: Option<&promconfig::BasicAuth>,
    authorization: Option<&promconfig::Authorization>,
) -> Result<Option<String>, String> {
    use base64::Engine;
    let encode = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    if let Some(auth) = basic_auth {
        let user = match &auth.username_file {
            Some(f) => read_secret(f)?,
            None => auth.username.clone(),
        };
        let password = match (&auth.password, &auth.password_file) {
            (Some(p), _) => p.clone(),
            (None, Some(f)) => read_secret(f)?,
            (None, None) => String::new(),
        };
        return Ok(Some(format!(
            "Basic {}",
            encode(format!("{user}:{password}").as_bytes())
        )));
    }
    if let Some(auth) = authorization {
        let credentials = match (&auth.credentials, &auth.credentials_file) {
            (Some(c), _) => c.clone(),
            (None, Some(f)) => read_secret(f)?,
            (None, None) => String::new(),
        };
        return Ok(Some(format!("{} {credentials}", auth.kind)));
    }
    Ok(None)
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
    fn accept_header_matches_prometheus_3() {
        let protocols: Vec<String> = SCRAPE_PROTOCOLS[..4]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            accept_header(&protocols),
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
    }
}
