//! TLS for web.yml: loading certificates, keys and client CAs with exporter-toolkit's
//! checks and error texts, and building a rustls `ServerConfig` from Go's names for
//! versions, cipher suites and curves.

use std::fmt;

use aws_lc_rs::agreement;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{
    aws_lc_rs as rustls_aws, ActiveKeyExchange, CryptoProvider, SharedSecret, SupportedKxGroup,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, NamedGroup, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::config::{
    read_file, ClientAuth, ConfigError, ReadError, SizeCap, TlsServerConfig, TlsVersion,
    CERT_FILE_CAP, CLIENT_CA_FILE_CAP, KEY_FILE_CAP,
};

/// Go's `tls.CipherSuites()` names (the secure list), the only names web.yml accepts.
const GO_CIPHER_NAMES: [&str; 13] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
];

const GO_CURVE_NAMES: [&str; 4] = ["CurveP256", "CurveP384", "CurveP521", "X25519"];

pub(crate) fn is_go_cipher_name(name: &str) -> bool {
    GO_CIPHER_NAMES.contains(&name)
}

pub(crate) fn is_go_curve_name(name: &str) -> bool {
    GO_CURVE_NAMES.contains(&name)
}

/// The TLS 1.2 suite rustls has for a Go name; `None` for TLS 1.3 names (always on, as in
/// Go) and for CBC suites rustls does not implement.
fn tls12_suite(name: &str) -> Option<rustls::SupportedCipherSuite> {
    use rustls_aws::cipher_suite as cs;
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        _ => return None,
    })
}

fn kx_group(name: &str) -> &'static dyn SupportedKxGroup {
    use rustls_aws::kx_group as kx;
    match name {
        "CurveP256" => kx::SECP256R1,
        "CurveP384" => kx::SECP384R1,
        "CurveP521" => SECP521R1,
        _ => kx::X25519,
    }
}

/// Certificates, key and client CAs read from disk or inline, checked in
/// exporter-toolkit's order (`ConfigToTLSConfig`).
pub(crate) struct TlsMaterial {
    certified_key: Arc<CertifiedKey>,
    client_roots: Vec<CertificateDer<'static>>,
    ca_configured: bool,
    client_auth: ClientAuth,
}

impl TlsMaterial {
    pub(crate) fn load(tls: &TlsServerConfig) -> Result<Self, ConfigError> {
        let err = |m: String| ConfigError::new(m);
        if tls.cert_file.is_empty() && tls.cert.is_empty() {
            return Err(err("missing one of cert or cert_file".into()));
        }
        if tls.key_file.is_empty() && tls.key.is_empty() {
            return Err(err("missing one of key or key_file".into()));
        }
        // Upstream's texts for I/O errors; the size cap is ours and names the file itself.
        let read_named = |path: &str, cap: SizeCap| {
            read_file(path, cap).map_err(|e| match e {
                ReadError::Io(m) => err(format!("failed to read {} ({path}): {m}", cap.what)),
                too_large @ ReadError::TooLarge { .. } => err(too_large.to_string()),
            })
        };
        let cert_pem = if tls.cert_file.is_empty() {
            tls.cert.as_bytes().to_vec()
        } else {
            read_named(&tls.cert_file, CERT_FILE_CAP)?
        };
        let key_pem = if tls.key_file.is_empty() {
            tls.key.as_bytes().to_vec()
        } else {
            read_named(&tls.key_file, KEY_FILE_CAP)?
        };
        let certified_key = Arc::new(
            key_pair(&cert_pem, &key_pem)
                .map_err(|e| err(format!("failed to load X509KeyPair: {e}")))?,
        );
        versions(tls)?;

        let ca_pem = if !tls.client_ca_file.is_empty() {
            Some(
                read_file(&tls.client_ca_file, CLIENT_CA_FILE_CAP)
                    .map_err(|e| err(e.to_string()))?,
            )
        } else if !tls.client_ca.is_empty() {
            Some(tls.client_ca.as_bytes().to_vec())
        } else {
            None
        };
        // Like Go's AppendCertsFromPEM, unparsable blocks are skipped; the server warns
        // when a configured CA yields no certificate at all.
        let client_roots: Vec<CertificateDer<'static>> = ca_pem
            .as_deref()
            .map(|pem| {
                CertificateDer::pem_slice_iter(pem)
                    .filter_map(Result::ok)
                    .collect()
            })
            .unwrap_or_default();
        let client_auth = tls.client_auth().map_err(err)?;
        let ca_configured = ca_pem.is_some();
        if ca_configured && client_auth == ClientAuth::NoClientCert {
            return Err(err(
                "client CA's have been configured without a Client Auth Policy".into(),
            ));
        }
        Ok(Self {
            certified_key,
            client_roots,
            ca_configured,
            client_auth,
        })
    }
}

/// Go's `tls.X509KeyPair`, with its error texts for the common failures.
fn key_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| "tls: failed to find any PEM data in certificate input".to_string())?;
    if chain.is_empty() {
        return Err("tls: failed to find any PEM data in certificate input".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "tls: failed to find any PEM data in key input".to_string()
        }
        _ => "tls: failed to parse private key".to_string(),
    })?;
    let provider = rustls_aws::default_provider();
    CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            "tls: private key does not match public key".to_string()
        }
        rustls::Error::InvalidCertificate(_) => "x509: malformed certificate".to_string(),
        _ => "tls: failed to parse private key".to_string(),
    })
}

/// The protocol versions allowed by min/max (null means the default, TLS 1.2 to 1.3).
fn versions(
    tls: &TlsServerConfig,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, ConfigError> {
    let min = tls.min_version.unwrap_or(TlsVersion::Tls12);
    let max = tls.max_version.unwrap_or(TlsVersion::Tls13);
    for (key, v) in [("min_version", min), ("max_version", max)] {
        if v < TlsVersion::Tls12 {
            return Err(ConfigError::new(format!(
                "{key} {} is not supported: TLS 1.0 and 1.1 are insecure and not implemented, use TLS12 or TLS13",
                v.name()
            )));
        }
    }
    if min > max {
        return Err(ConfigError::new(format!(
            "min_version {} is greater than max_version {}",
            min.name(),
            max.name()
        )));
    }
    let mut out = Vec::new();
    if min <= TlsVersion::Tls12 {
        out.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::Tls13 {
        out.push(&rustls::version::TLS13);
    }
    Ok(out)
}

/// A built rustls configuration and the warnings met while building it.
pub(crate) struct BuiltTls {
    pub config: Arc<ServerConfig>,
    pub warnings: Vec<String>,
}

/// Builds the rustls server configuration for a validated `tls_server_config`.
pub(crate) fn build_server_config(
    tls: &TlsServerConfig,
    http2: bool,
) -> Result<BuiltTls, ConfigError> {
    let material = TlsMaterial::load(tls)?;
    let mut warnings = Vec::new();
    let mut versions = versions(tls)?;
    let base = rustls_aws::default_provider();

    let mut cipher_suites: Vec<rustls::SupportedCipherSuite> = base
        .cipher_suites
        .iter()
        .filter(|s| s.version() == &rustls::version::TLS13)
        .copied()
        .collect();
    if tls.cipher_suites.is_empty() {
        cipher_suites = base.cipher_suites.clone();
    } else {
        for name in &tls.cipher_suites {
            match tls12_suite(name) {
                Some(suite) => cipher_suites.push(suite),
                None if name.starts_with("TLS_AES_") || name.starts_with("TLS_CHACHA20_") => {}
                None => warnings.push(format!(
                    "cipher suite {name} is not implemented by rustls; it is skipped"
                )),
            }
        }
        let has_tls12_suite = cipher_suites
            .iter()
            .any(|s| s.version() == &rustls::version::TLS12);
        if !has_tls12_suite && versions.contains(&&rustls::version::TLS12) {
            versions.retain(|v| *v != &rustls::version::TLS12);
            warnings.push(
                "no usable TLS 1.2 cipher suite is configured; only TLS 1.3 is offered".into(),
            );
        }
        if versions.is_empty() {
            return Err(ConfigError::new(
                "no configured cipher suite is usable: TLS 1.2 needs one of the ECDHE GCM or CHACHA20 suites",
            ));
        }
    }
    let kx_groups: Vec<&'static dyn SupportedKxGroup> = if tls.curve_preferences.is_empty() {
        let mut groups = base.kx_groups.clone();
        groups.push(SECP521R1);
        groups
    } else {
        tls.curve_preferences.iter().map(|n| kx_group(n)).collect()
    };
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        kx_groups,
        ..base
    });

    let verifier = client_verifier(
        &material,
        tls.client_allowed_sans.clone(),
        &provider,
        &mut warnings,
    )?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| ConfigError::new(format!("invalid TLS settings: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(FixedCert(material.certified_key)));
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(BuiltTls {
        config: Arc::new(config),
        warnings,
    })
}

fn client_verifier(
    material: &TlsMaterial,
    allowed_sans: Option<Vec<String>>,
    provider: &Arc<CryptoProvider>,
    warnings: &mut Vec<String>,
) -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
    let algorithms = provider.signature_verification_algorithms;
    let mut verified = |optional: bool| -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
        if material.client_roots.is_empty() {
            // Go would verify against the system roots here, which lets any certificate a
            // public CA ever issued log in. Fail closed instead.
            warnings.push(if material.ca_configured {
                "the client CA contains no certificate: every client certificate will be refused".into()
            } else {
                "client certificates are verified but no client CA is configured: every client certificate will be refused (promethium does not trust the system roots for client authentication)".into()
            });
            return Ok(Arc::new(OpaqueVerifier {
                mandatory: !optional,
                accept: false,
                algorithms,
            }));
        }
        let mut roots = RootCertStore::empty();
        let (_added, ignored) =
            roots.add_parsable_certificates(material.client_roots.iter().cloned());
        if ignored > 0 {
            warnings.push(format!(
                "{ignored} client CA certificate(s) could not be parsed and are ignored"
            ));
        }
        let builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder
            .build()
            .map_err(|e| ConfigError::new(format!("invalid client CA: {e}")))
    };
    let verifies_chain = matches!(
        material.client_auth,
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
    );
    let inner: Arc<dyn ClientCertVerifier> = match material.client_auth {
        ClientAuth::NoClientCert => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::RequestClientCert => Arc::new(OpaqueVerifier {
            mandatory: false,
            accept: true,
            algorithms,
        }),
        ClientAuth::RequireAnyClientCert => Arc::new(OpaqueVerifier {
            mandatory: true,
            accept: true,
            algorithms,
        }),
        ClientAuth::VerifyClientCertIfGiven => verified(true)?,
        ClientAuth::RequireAndVerifyClientCert => verified(false)?,
    };
    let pinned = if verifies_chain {
        material.client_roots.clone()
    } else {
        Vec::new()
    };
    if pinned.is_empty() && allowed_sans.is_none() {
        return Ok(inner);
    }
    Ok(Arc::new(ClientPolicy {
        inner,
        pinned,
        allowed_sans,
    }))
}

struct FixedCert(Arc<CertifiedKey>);

impl fmt::Debug for FixedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FixedCert")
    }
}

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Go's `RequestClientCert`/`RequireAnyClientCert` (accept any certificate, unverified)
/// and the fail-closed "verify, but nothing to verify against" case (accept none).
/// The handshake signature is always checked, so the client must own the key.
struct OpaqueVerifier {
    mandatory: bool,
    accept: bool,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl fmt::Debug for OpaqueVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OpaqueVerifier(mandatory={}, accept={})",
            self.mandatory, self.accept
        )
    }
}

impl ClientCertVerifier for OpaqueVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.accept {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
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
        self.algorithms.supported_schemes()
    }
}

/// The DNS, email, IP and URI subject alternative names of a DER certificate, written as
/// Go prints them.
pub(crate) fn subject_alt_names(der: &[u8]) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("error parsing client certificate: {e}"))?;
    let mut names = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                    names.push((*s).to_string())
                }
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => names.push(
                        std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
                    ),
                    16 => {
                        let mut octets = [0u8; 16];
                        octets.copy_from_slice(bytes);
                        names.push(std::net::Ipv6Addr::from(octets).to_string())
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(names)
}

/// What web.yml adds around the chosen client certificate policy:
/// - Go's acceptance of a self-signed client certificate that is itself listed as a client
///   CA (webpki refuses a CA certificate as an end entity); the handshake signature still
///   proves the client owns the key;
/// - `client_allowed_sans`: one of the certificate's subject alternative names must equal an
///   allowed entry. It runs only when a certificate was sent, so an absent optional
///   certificate cannot crash it (upstream's open bug).
struct ClientPolicy {
    inner: Arc<dyn ClientCertVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    allowed_sans: Option<Vec<String>>,
}

impl fmt::Debug for ClientPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientPolicy({} pinned, sans {:?})",
            self.pinned.len(),
            self.allowed_sans
        )
    }
}

fn valid_at(der: &[u8], now: UnixTime) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let now = now.as_secs() as i64;
    let validity = cert.validity();
    validity.not_before.timestamp() <= now && now <= validity.not_after.timestamp()
}

impl ClientCertVerifier for ClientPolicy {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = match self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            Ok(v) => v,
            Err(e) => {
                let pinned = self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref());
                if !(pinned && valid_at(end_entity.as_ref(), now)) {
                    return Err(e);
                }
                ClientCertVerified::assertion()
            }
        };
        let Some(allowed) = &self.allowed_sans else {
            return Ok(verified);
        };
        let names = subject_alt_names(end_entity.as_ref()).map_err(rustls::Error::General)?;
        if names.iter().any(|n| allowed.contains(n)) {
            Ok(verified)
        } else {
            tracing::warn!(allowed = ?allowed, found = ?names, "could not find allowed SANs in client cert");
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
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

/// ECDHE over NIST P-521 (`CurveP521` in web.yml), which rustls's own providers lack;
/// built on aws-lc-rs, the crypto provider promethium installs. Usable by TLS clients too.
pub static SECP521R1: &dyn SupportedKxGroup = &P521;

#[derive(Debug)]
struct P521;

struct P521Exchange {
    private_key: agreement::PrivateKey,
    public_key: Vec<u8>,
}

impl SupportedKxGroup for P521 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let private_key = agreement::PrivateKey::generate(&agreement::ECDH_P521)
            .map_err(|_| rustls::Error::FailedToGetRandomBytes)?;
        let public_key = private_key
            .compute_public_key()
            .map_err(|_| rustls::Error::General("P-521 public key computation failed".into()))?
            .as_ref()
            .to_vec();
        Ok(Box::new(P521Exchange {
            private_key,
            public_key,
        }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

impl ActiveKeyExchange for P521Exchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, rustls::Error> {
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P521, peer_pub_key);
        agreement::agree(
            &self.private_key,
            peer,
            rustls::Error::PeerMisbehaved(rustls::PeerMisbehaved::InvalidKeyShare),
            |secret| Ok(SharedSecret::from(secret)),
        )
    }

    fn pub_key(&self) -> &[u8] {
        &self.public_key
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WebConfig;

    fn conformance(file: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/web-config")
            .join(file)
    }

    #[test]
    fn missing_cipher_suites_are_skipped_with_warnings() {
        let config =
            WebConfig::load(&conformance("web_config_noAuth_allCiphers.good.yml")).unwrap();
        let built = build_server_config(&config.tls_server_config, true).unwrap();
        let skipped: Vec<&String> = built
            .warnings
            .iter()
            .filter(|w| w.contains("is skipped"))
            .collect();
        assert_eq!(skipped.len(), 4, "{:?}", built.warnings);
        assert!(skipped[0].contains("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"));
    }

    #[test]
    fn old_versions_and_inverted_ranges_are_errors() {
        let mut tls = WebConfig::load(&conformance("web_config_noAuth.good.yml"))
            .unwrap()
            .tls_server_config;
        tls.min_version = Some(TlsVersion::Tls10);
        let err = TlsMaterial::load(&tls).err().unwrap().to_string();
        assert!(
            err.starts_with("min_version TLS10 is not supported"),
            "{err}"
        );
        tls.min_version = Some(TlsVersion::Tls13);
        tls.max_version = Some(TlsVersion::Tls12);
        let err = TlsMaterial::load(&tls).err().unwrap().to_string();
        assert_eq!(err, "min_version TLS13 is greater than max_version TLS12");
    }

    #[test]
    fn cbc_only_tls12_list_keeps_tls13() {
        let mut tls = WebConfig::load(&conformance("web_config_noAuth.good.yml"))
            .unwrap()
            .tls_server_config;
        tls.cipher_suites = vec!["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA".into()];
        let built = build_server_config(&tls, true).unwrap();
        assert!(built
            .warnings
            .iter()
            .any(|w| w.contains("only TLS 1.3 is offered")));
        tls.max_version = Some(TlsVersion::Tls12);
        assert!(build_server_config(&tls, true).is_err());
    }

    #[test]
    fn key_pair_errors_read_like_go() {
        let cert = std::fs::read(conformance("server.crt")).unwrap();
        let other_key = std::fs::read(conformance("client_selfsigned.key")).unwrap();
        assert_eq!(
            key_pair(b"", b"").err().unwrap(),
            "tls: failed to find any PEM data in certificate input"
        );
        assert_eq!(
            key_pair(&cert, b"nothing").err().unwrap(),
            "tls: failed to find any PEM data in key input"
        );
        assert_eq!(
            key_pair(&cert, &other_key).err().unwrap(),
            "tls: private key does not match public key"
        );
    }

    #[test]
    fn san_list_reads_dns_names() {
        let pem = std::fs::read(conformance("client2_selfsigned.pem")).unwrap();
        let der = CertificateDer::pem_slice_iter(&pem)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(
            subject_alt_names(der.as_ref()).unwrap(),
            vec!["test3".to_string()]
        );
    }
}
