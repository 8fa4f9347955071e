//! The web.yml schema: decoding with yaml.v2's rules and exporter-toolkit's validation,
//! error strings included.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::yaml::{self, Decoder, Fatal, Node};

/// A TLS protocol version as named in web.yml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// `TLS10`: accepted by the schema, refused by [`WebConfig::validate`] (rustls has no TLS 1.0).
    Tls10,
    /// `TLS11`: accepted by the schema, refused by [`WebConfig::validate`] (rustls has no TLS 1.1).
    Tls11,
    /// `TLS12`.
    Tls12,
    /// `TLS13`.
    Tls13,
}

impl TlsVersion {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "TLS10" => Self::Tls10,
            "TLS11" => Self::Tls11,
            "TLS12" => Self::Tls12,
            "TLS13" => Self::Tls13,
            _ => return None,
        })
    }

    /// The web.yml name of this version.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tls10 => "TLS10",
            Self::Tls11 => "TLS11",
            Self::Tls12 => "TLS12",
            Self::Tls13 => "TLS13",
        }
    }
}

/// `tls_server_config.client_auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `""` or `NoClientCert`.
    NoClientCert,
    /// `RequestClientCert`: a certificate is asked for, neither required nor verified.
    RequestClientCert,
    /// `RequireAnyClientCert` (alias `RequireClientCert`): required, not verified.
    RequireAnyClientCert,
    /// `VerifyClientCertIfGiven`: optional, verified against the client CA when sent.
    VerifyClientCertIfGiven,
    /// `RequireAndVerifyClientCert`: required and verified (mutual TLS).
    RequireAndVerifyClientCert,
}

/// `tls_server_config`, with paths already resolved against the config file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsServerConfig {
    /// Inline PEM certificate (used when `cert_file` is empty).
    pub cert: String,
    /// Inline PEM private key (used when `key_file` is empty).
    pub key: String,
    /// Inline PEM client CA bundle (used when `client_ca_file` is empty).
    pub client_ca: String,
    /// Certificate file path.
    pub cert_file: String,
    /// Private key file path.
    pub key_file: String,
    /// `client_auth_type` exactly as written.
    pub client_auth_type: String,
    /// Client CA file path.
    pub client_ca_file: String,
    /// `client_allowed_sans`; `Some(vec![])` (an explicit empty list) still enables the check.
    pub client_allowed_sans: Option<Vec<String>>,
    /// `min_version`; `None` when written as null (Go's zero value: the library default).
    pub min_version: Option<TlsVersion>,
    /// `max_version`; `None` when written as null.
    pub max_version: Option<TlsVersion>,
    /// `cipher_suites`, by Go name.
    pub cipher_suites: Vec<String>,
    /// `curve_preferences`, by Go name.
    pub curve_preferences: Vec<String>,
    /// `prefer_server_cipher_suites` (ignored by Go since 1.18, kept for the schema).
    pub prefer_server_cipher_suites: bool,
}

impl Default for TlsServerConfig {
    fn default() -> Self {
        Self {
            cert: String::new(),
            key: String::new(),
            client_ca: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
            client_auth_type: String::new(),
            client_ca_file: String::new(),
            client_allowed_sans: None,
            min_version: Some(TlsVersion::Tls12),
            max_version: Some(TlsVersion::Tls13),
            cipher_suites: Vec::new(),
            curve_preferences: Vec::new(),
            prefer_server_cipher_suites: true,
        }
    }
}

impl TlsServerConfig {
    /// The all-zero value that yaml.v2 gives a section written as null (`tls_server_config:`).
    fn zero() -> Self {
        Self {
            min_version: None,
            max_version: None,
            prefer_server_cipher_suites: false,
            ..Self::default()
        }
    }

    /// exporter-toolkit's `IsEnabled`: any certificate, key, CA or client auth setting turns TLS on.
    pub fn is_enabled(&self) -> bool {
        !(self.cert_file.is_empty()
            && self.cert.is_empty()
            && self.key_file.is_empty()
            && self.key.is_empty()
            && self.client_ca_file.is_empty()
            && self.client_ca.is_empty()
            && self.client_auth_type.is_empty())
    }

    /// The client auth policy, or exporter-toolkit's `invalid ClientAuth: X` error.
    pub fn client_auth(&self) -> Result<ClientAuth, String> {
        Ok(match self.client_auth_type.as_str() {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            other => return Err(format!("invalid ClientAuth: {other}")),
        })
    }
}

/// One of the five response headers web.yml may set.
pub(crate) const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// `http_server_config`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpServerConfig {
    /// Whether h2 is offered by ALPN on TLS listeners.
    pub http2: bool,
    /// Response headers, in file order (already validated).
    pub headers: Vec<(String, String)>,
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        Self {
            http2: true,
            headers: Vec::new(),
        }
    }
}

/// `rate_limit`: one global token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitConfig {
    /// Time to refill one token; zero disables the limiter, negative means unlimited.
    pub interval_nanos: i64,
    /// Bucket size (and initial fill).
    pub burst: i64,
}

impl RateLimitConfig {
    /// The refill interval, when the limiter is on (`interval > 0`).
    pub fn interval(&self) -> Option<Duration> {
        u64::try_from(self.interval_nanos)
            .ok()
            .filter(|n| *n > 0)
            .map(Duration::from_nanos)
    }
}

/// A parsed web.yml.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebConfig {
    /// `tls_server_config`.
    pub tls_server_config: TlsServerConfig,
    /// `http_server_config`.
    pub http_server_config: HttpServerConfig,
    /// `rate_limit`.
    pub rate_limit: RateLimitConfig,
    /// `basic_auth_users`: user name and bcrypt hash, in file order.
    pub basic_auth_users: Vec<(String, String)>,
}

/// Why a web.yml could not be used. `Display` gives exactly the text that
/// `promtool check web-config` prints after `FAILED: `.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Go's `os.PathError` text for an I/O error, e.g. `open x: no such file or directory`.
pub(crate) fn go_open_error(path: &str, err: &std::io::Error) -> String {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => {
            // Drop Rust's " (os error N)" suffix and lower-case the first letter, as Go prints it.
            let text = err.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    };
    format!("open {path}: {reason}")
}

/// The most bytes a file may hold, and what the file is called in the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SizeCap {
    /// How the error names the file: `web config file`, or the web.yml key that names a
    /// TLS file (which upstream's read errors name too).
    pub what: &'static str,
    /// The cap in MiB; whole MiB keep the error text short and exact.
    pub mib: u64,
}

impl SizeCap {
    fn bytes(self) -> u64 {
        self.mib * 1024 * 1024
    }
}

/// web.yml itself: real files are a few KiB, even with hundreds of users.
pub(crate) const WEB_CONFIG_CAP: SizeCap = SizeCap {
    what: "web config file",
    mib: 1,
};
/// A certificate chain is a few KiB.
pub(crate) const CERT_FILE_CAP: SizeCap = SizeCap {
    what: "cert_file",
    mib: 1,
};
/// A private key is a few KiB.
pub(crate) const KEY_FILE_CAP: SizeCap = SizeCap {
    what: "key_file",
    mib: 1,
};
/// A client CA bundle may be a whole trust store (Mozilla's is about 220 KB), so it gets
/// more room than a single certificate.
pub(crate) const CLIENT_CA_FILE_CAP: SizeCap = SizeCap {
    what: "client_ca_file",
    mib: 4,
};

/// Why a file named in (or being) web.yml could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReadError {
    /// Opening or reading failed: Go's `os.PathError` text, as upstream prints it.
    #[error("{0}")]
    Io(String),
    /// The file holds more than its cap (or never ends, like `/dev/zero`).
    #[error("{what} {path:?} is larger than {mib} MiB")]
    TooLarge {
        what: &'static str,
        path: String,
        mib: u64,
    },
}

/// Reads a file as Go's `os.ReadFile` would, with its error text, but stops one byte past
/// `cap`: the size in the metadata cannot be trusted (it is 0 for `/dev/zero`, and a file
/// can grow after it was looked at), so the read itself is bounded.
pub(crate) fn read_file(path: &str, cap: SizeCap) -> Result<Vec<u8>, ReadError> {
    let io_error = |e: std::io::Error| ReadError::Io(go_open_error(path, &e));
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(cap.bytes() + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > cap.bytes() {
        return Err(ReadError::TooLarge {
            what: cap.what,
            path: path.to_string(),
            mib: cap.mib,
        });
    }
    Ok(bytes)
}

impl WebConfig {
    /// Reads and decodes `path` (read, YAML, header validation), resolving relative
    /// `cert_file`, `key_file` and `client_ca_file` against the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let bytes =
            read_file(&shown, WEB_CONFIG_CAP).map_err(|e| ConfigError::new(e.to_string()))?;
        Self::from_bytes(path, bytes)
    }

    /// Decodes the bytes of the file at `path`, resolving relative file names against its
    /// directory. Split from [`Self::load`] so that a reload can look at the bytes first.
    pub(crate) fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, ConfigError> {
        let text = String::from_utf8(bytes)
            .map_err(|_| ConfigError::new("yaml: invalid leading UTF-8 octet"))?;
        let mut config = Self::parse(&text)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let tls = &mut config.tls_server_config;
        for p in [
            &mut tls.cert_file,
            &mut tls.key_file,
            &mut tls.client_ca_file,
        ] {
            *p = join_dir(dir, p);
        }
        Ok(config)
    }

    /// Decodes web.yml text (no path resolution, no file access).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut config = WebConfig::default();
        let Some(root) = yaml::parse(text).map_err(ConfigError::new)? else {
            return Ok(config);
        };
        let mut decoder = Decoder::default();
        decode_config(&mut decoder, &root, &mut config).map_err(|Fatal(m)| ConfigError::new(m))?;
        decoder.finish().map_err(ConfigError::new)?;
        validate_headers(&config.http_server_config.headers)?;
        Ok(config)
    }

    /// Everything `check web-config` checks, in exporter-toolkit's order (users, then TLS),
    /// plus the checks where promethium is stricter than upstream (TLS 1.0/1.1, min > max,
    /// bcrypt hashes that can never match).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (user, hash) in &self.basic_auth_users {
            crate::hash::check_hash(hash).map_err(|e| match e {
                crate::hash::HashError::Go(m) => ConfigError::new(m),
                crate::hash::HashError::Undecodable(m) => {
                    ConfigError::new(format!("invalid bcrypt hash for user {user:?}: {m}"))
                }
            })?;
        }
        if self.tls_server_config.is_enabled() {
            crate::tls::TlsMaterial::load(&self.tls_server_config)?;
        }
        Ok(())
    }

    /// Whether any basic auth user is configured.
    pub fn auth_enabled(&self) -> bool {
        !self.basic_auth_users.is_empty()
    }
}

/// `config_util.JoinDir`: empty and absolute paths stay as they are.
fn join_dir(dir: &Path, path: &str) -> String {
    if path.is_empty() || Path::new(path).is_absolute() {
        return path.to_string();
    }
    let joined: PathBuf = dir.join(path);
    joined.display().to_string()
}

fn decode_config(d: &mut Decoder, root: &Node, config: &mut WebConfig) -> Result<(), Fatal> {
    let known = [
        "tls_server_config",
        "http_server_config",
        "rate_limit",
        "basic_auth_users",
    ];
    d.decode_struct(root, "web.Config", &known, |d, name, value| {
        match name {
            "tls_server_config" => {
                if value.is_null() {
                    config.tls_server_config = TlsServerConfig::zero();
                } else {
                    decode_tls(d, value, &mut config.tls_server_config)?;
                }
            }
            "http_server_config" => {
                if value.is_null() {
                    config.http_server_config = HttpServerConfig {
                        http2: false,
                        headers: Vec::new(),
                    };
                } else {
                    decode_http(d, value, &mut config.http_server_config);
                }
            }
            "rate_limit" => {
                let rl = &mut config.rate_limit;
                if value.is_null() {
                    *rl = RateLimitConfig::default();
                }
                d.decode_struct(
                    value,
                    "web.RateLimiterConfig",
                    &["interval", "burst"],
                    |d, name, v| {
                        match name {
                            "interval" => {
                                if let Some(n) = d.duration_nanos(v) {
                                    rl.interval_nanos = n;
                                }
                            }
                            _ => {
                                if let Some(n) = d.int(v) {
                                    rl.burst = n;
                                }
                            }
                        }
                        Ok(())
                    },
                )?;
            }
            _ => {
                if let Some(users) =
                    d.decode_string_map(value, "map[string]config.Secret", "config.Secret")
                {
                    config.basic_auth_users = users.into_iter().map(|(u, h, _)| (u, h)).collect();
                } else if value.is_null() {
                    config.basic_auth_users.clear();
                }
            }
        }
        Ok(())
    })
}

fn decode_tls(d: &mut Decoder, node: &Node, tls: &mut TlsServerConfig) -> Result<(), Fatal> {
    let known = [
        "cert",
        "key",
        "client_ca",
        "cert_file",
        "key_file",
        "client_auth_type",
        "client_ca_file",
        "client_allowed_sans",
        "min_version",
        "max_version",
        "cipher_suites",
        "curve_preferences",
        "prefer_server_cipher_suites",
    ];
    d.decode_struct(node, "web.TLSConfig", &known, |d, name, v| {
        let string_field = |d: &mut Decoder, target: &mut String, into: &str| {
            if let Some(s) = d.string(v, into) {
                *target = s;
            }
        };
        match name {
            "cert" => string_field(d, &mut tls.cert, "string"),
            "key" => string_field(d, &mut tls.key, "config.Secret"),
            "client_ca" => string_field(d, &mut tls.client_ca, "string"),
            "cert_file" => string_field(d, &mut tls.cert_file, "string"),
            "key_file" => string_field(d, &mut tls.key_file, "string"),
            "client_auth_type" => string_field(d, &mut tls.client_auth_type, "string"),
            "client_ca_file" => string_field(d, &mut tls.client_ca_file, "string"),
            "client_allowed_sans" => {
                tls.client_allowed_sans = if v.is_null() {
                    None
                } else {
                    d.string_list(v, "[]string", "string")
                        .map(|l| l.into_iter().map(|(s, _)| s).collect())
                };
            }
            "min_version" | "max_version" => {
                let version = if v.is_null() {
                    None
                } else {
                    match d.string(v, "string") {
                        Some(s) => Some(
                            TlsVersion::from_name(&s)
                                .ok_or_else(|| Fatal(format!("unknown TLS version: {s}")))?,
                        ),
                        None => return Ok(()),
                    }
                };
                if name == "min_version" {
                    tls.min_version = version;
                } else {
                    tls.max_version = version;
                }
            }
            "cipher_suites" => {
                let mut names = Vec::new();
                for (s, _) in d
                    .string_list(v, "[]web.Cipher", "string")
                    .unwrap_or_default()
                {
                    if !crate::tls::is_go_cipher_name(&s) {
                        return Err(Fatal(format!("unknown cipher: {s}")));
                    }
                    names.push(s);
                }
                tls.cipher_suites = names;
            }
            "curve_preferences" => {
                let mut names = Vec::new();
                for (s, _) in d
                    .string_list(v, "[]web.Curve", "string")
                    .unwrap_or_default()
                {
                    if !crate::tls::is_go_curve_name(&s) {
                        return Err(Fatal(format!("unknown curve: {s}")));
                    }
                    names.push(s);
                }
                tls.curve_preferences = names;
            }
            _ => {
                if let Some(b) = d.bool(v) {
                    tls.prefer_server_cipher_suites = b;
                }
            }
        }
        Ok(())
    })
}

fn decode_http(d: &mut Decoder, node: &Node, http: &mut HttpServerConfig) {
    // decode_struct only fails on fatal errors, which no HTTP field produces.
    let _ = d.decode_struct(
        node,
        "web.HTTPConfig",
        &["http2", "headers"],
        |d, name, v| {
            if name == "http2" {
                if let Some(b) = d.bool(v) {
                    http.http2 = b;
                }
            } else if let Some(headers) = d.decode_string_map(v, "map[string]string", "string") {
                http.headers = headers.into_iter().map(|(k, v, _)| (k, v)).collect();
            } else if v.is_null() {
                http.headers.clear();
            }
            Ok(())
        },
    );
}

/// exporter-toolkit's `validateHeaderConfig`, checked in file order (Go's is random).
fn validate_headers(headers: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, value) in headers {
        if !ALLOWED_HEADERS.contains(&name.as_str()) {
            return Err(ConfigError::new(format!(
                "HTTP header {name:?} can not be configured"
            )));
        }
        let allowed: &[&str] = match name.as_str() {
            "X-Content-Type-Options" => &["nosniff"],
            "X-Frame-Options" => &["deny", "sameorigin"],
            _ => &[],
        };
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            let quoted: Vec<String> = allowed.iter().map(|v| format!("{v:?}")).collect();
            return Err(ConfigError::new(format!(
                "invalid value for {name}. Expected one of: [{}], but got: {value:?}",
                quoted.join(" ")
            )));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return Err(ConfigError::new(format!(
                "invalid value for {name}: {value:?} is not a valid HTTP header value"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_sections_zero_the_defaults() {
        let c = WebConfig::parse("http_server_config:\ntls_server_config:\n").unwrap();
        assert!(!c.http_server_config.http2);
        assert_eq!(c.tls_server_config.min_version, None);
        assert!(!c.tls_server_config.prefer_server_cipher_suites);
        let d = WebConfig::parse("basic_auth_users: {}\n").unwrap();
        assert!(d.http_server_config.http2);
        assert_eq!(d.tls_server_config.min_version, Some(TlsVersion::Tls12));
    }

    #[test]
    fn strict_errors_are_collected_like_yaml_v2() {
        let err = WebConfig::parse("foo: 1\nhttp_server_config:\n  http2: \"false\"\n  bar: x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "yaml: unmarshal errors:\n  line 1: field foo not found in type web.Config\n  \
             line 3: cannot unmarshal !!str `false` into bool\n  \
             line 4: field bar not found in type web.HTTPConfig"
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let err = WebConfig::parse("basic_auth_users:\n  alice: x\n  alice: y\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "yaml: unmarshal errors:\n  line 3: key \"alice\" already set in map"
        );
        let err = WebConfig::parse("rate_limit:\n  burst: 1\n  burst: 2\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "yaml: unmarshal errors:\n  line 3: field burst already set in type web.RateLimiterConfig"
        );
    }

    #[test]
    fn scalars_follow_yaml_11_and_go() {
        let c = WebConfig::parse(
            "http_server_config:\n  http2: off\n  headers:\n    X-XSS-Protection: 1\nrate_limit:\n  interval: 1\n",
        )
        .unwrap();
        assert!(!c.http_server_config.http2);
        assert_eq!(
            c.http_server_config.headers,
            vec![("X-XSS-Protection".into(), "1".into())]
        );
        assert_eq!(c.rate_limit.interval_nanos, 1);
        let err = WebConfig::parse("rate_limit:\n  interval: 1x\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `1x` into time.Duration"
        );
    }

    #[test]
    fn blank_enumerated_header_fails() {
        let err = WebConfig::parse("http_server_config:\n  headers:\n    X-Frame-Options:\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for X-Frame-Options. Expected one of: [\"deny\" \"sameorigin\"], but got: \"\""
        );
    }

    #[test]
    fn relative_paths_join_the_config_dir() {
        assert_eq!(join_dir(Path::new("a/b"), "c.crt"), "a/b/c.crt");
        assert_eq!(join_dir(Path::new("a/b"), "/abs.crt"), "/abs.crt");
        assert_eq!(join_dir(Path::new("a/b"), ""), "");
    }
}
