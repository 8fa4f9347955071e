//! common/config's HTTP client configuration (`basic_auth`, `authorization`, `oauth2`,
//! `tls_config`, proxies, `http_headers`), inlined into scrape jobs, service discoveries,
//! remote write/read and Alertmanager configs, with its checks and messages.

use std::collections::BTreeMap;
use std::path::Path;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::join_dir;
use crate::values::{GoUrl, Secret};

/// `basic_auth`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BasicAuth {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username_ref: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password_ref: String,
}
goyaml::fields!(BasicAuth as "config.BasicAuth" {
    "username" => username,
    "username_file" => username_file,
    "username_ref" => username_ref,
    "password" => password,
    "password_file" => password_file,
    "password_ref" => password_ref,
});
goyaml::plain!(BasicAuth);

/// `authorization`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Authorization {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_ref: String,
}
goyaml::fields!(Authorization as "config.Authorization" {
    "type" => kind,
    "credentials" => credentials,
    "credentials_file" => credentials_file,
    "credentials_ref" => credentials_ref,
});
goyaml::plain!(Authorization);

/// A TLS version name (`TLS10` … `TLS13`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// Not set.
    #[default]
    Unset,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn name(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Tls10 => "TLS10",
            Self::Tls11 => "TLS11",
            Self::Tls12 => "TLS12",
            Self::Tls13 => "TLS13",
        }
    }
}

impl Serialize for TlsVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Decode for TlsVersion {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "TLS10" => Self::Tls10,
            "TLS11" => Self::Tls11,
            "TLS12" => Self::Tls12,
            "TLS13" => Self::Tls13,
            _ => return Err(Fatal(format!("unknown TLS version: {text}"))),
        };
        Ok(true)
    }
    fn go_type() -> String {
        "config.TLSVersion".into()
    }
}

/// `tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub key: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ca_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    pub insecure_skip_verify: bool,
    #[serde(skip_serializing_if = "is_unset")]
    pub min_version: TlsVersion,
    #[serde(skip_serializing_if = "is_unset")]
    pub max_version: TlsVersion,
}

fn is_unset(v: &TlsVersion) -> bool {
    *v == TlsVersion::Unset
}

goyaml::fields!(TlsConfig as "config.plain" {
    "ca" => ca,
    "cert" => cert,
    "key" => key,
    "ca_file" => ca_file,
    "cert_file" => cert_file,
    "key_file" => key_file,
    "ca_ref" => ca_ref,
    "cert_ref" => cert_ref,
    "key_ref" => key_ref,
    "server_name" => server_name,
    "insecure_skip_verify" => insecure_skip_verify,
    "min_version" => min_version,
    "max_version" => max_version,
});

impl Decode for TlsConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "config.TLSConfig".into()
    }
}

fn count(flags: &[bool]) -> usize {
    flags.iter().filter(|f| **f).count()
}

impl TlsConfig {
    /// common/config's `TLSConfig.Validate`.
    pub fn validate(&self) -> Result<(), Fatal> {
        let ca = [
            !self.ca.is_empty(),
            !self.ca_file.is_empty(),
            !self.ca_ref.is_empty(),
        ];
        let cert = [
            !self.cert.is_empty(),
            !self.cert_file.is_empty(),
            !self.cert_ref.is_empty(),
        ];
        let key = [
            !self.key.is_empty(),
            !self.key_file.is_empty(),
            !self.key_ref.is_empty(),
        ];
        for (set, message) in [
            (
                &ca,
                "at most one of ca, ca_file & ca_ref must be configured",
            ),
            (
                &cert,
                "at most one of cert, cert_file & cert_ref must be configured",
            ),
            (&key, "at most one of key and key_file must be configured"),
        ] {
            if count(set) > 1 {
                return Err(Fatal::new(message));
            }
        }
        let (cert, key) = (count(&cert) > 0, count(&key) > 0);
        if cert && !key {
            return Err(Fatal::new("exactly one of key or key_file must be configured when a client certificate is configured"));
        }
        if key && !cert {
            return Err(Fatal::new("exactly one of cert or cert_file must be configured when a client key is configured"));
        }
        Ok(())
    }

    pub fn set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.ca_file);
        join_dir(dir, &mut self.cert_file);
        join_dir(dir, &mut self.key_file);
    }
}

/// Proxy settings (inlined in the HTTP client configuration and in `oauth2`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProxyConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<GoUrl>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub proxy_from_environment: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}
goyaml::fields!(ProxyConfig as "config.ProxyConfig" {
    "proxy_url" => proxy_url,
    "no_proxy" => no_proxy,
    "proxy_from_environment" => proxy_from_environment,
    "proxy_connect_header" => proxy_connect_header,
});

impl ProxyConfig {
    /// common/config's `ProxyConfig.Validate`.
    pub fn validate(&self) -> Result<(), Fatal> {
        let url_set = self.proxy_url.as_ref().is_some_and(|u| !u.raw.is_empty());
        if !self.proxy_connect_header.is_empty() && !self.proxy_from_environment && !url_set {
            return Err(Fatal::new("if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured"));
        }
        if self.proxy_from_environment && url_set {
            return Err(Fatal::new(
                "if proxy_from_environment is configured, proxy_url must not be configured",
            ));
        }
        if self.proxy_from_environment && !self.no_proxy.is_empty() {
            return Err(Fatal::new(
                "if proxy_from_environment is configured, no_proxy must not be configured",
            ));
        }
        if self.proxy_url.is_none() && !self.no_proxy.is_empty() {
            return Err(Fatal::new(
                "if no_proxy is configured, proxy_url must also be configured",
            ));
        }
        Ok(())
    }
}

/// `oauth2`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OAuth2 {
    pub client_id: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub client_secret: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_secret_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_secret_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_id: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub client_certificate_key: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub grant_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub signature_algorithm: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub iss: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub audience: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    pub token_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoint_params: BTreeMap<String, String>,
    pub tls_config: TlsConfig,
    #[serde(flatten)]
    pub proxy: ProxyConfig,
}
goyaml::fields!(OAuth2 as "config.plain" {
    "client_id" => client_id,
    "client_secret" => client_secret,
    "client_secret_file" => client_secret_file,
    "client_secret_ref" => client_secret_ref,
    "client_certificate_key_id" => client_certificate_key_id,
    "client_certificate_key" => client_certificate_key,
    "client_certificate_key_file" => client_certificate_key_file,
    "client_certificate_key_ref" => client_certificate_key_ref,
    "grant_type" => grant_type,
    "signature_algorithm" => signature_algorithm,
    "iss" => iss,
    "audience" => audience,
    "claims" => claims,
    "scopes" => scopes,
    "token_url" => token_url,
    "endpoint_params" => endpoint_params,
    "tls_config" => tls_config,
} inline proxy);

impl Decode for OAuth2 {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.proxy.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "config.OAuth2".into()
    }
}

/// One `http_headers` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Header {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}
goyaml::fields!(Header as "config.Header" {
    "values" => values,
    "secrets" => secrets,
    "files" => files,
});
goyaml::plain!(Header);

/// Headers a client must never be told to set (common/config's `ReservedHeaders`).
const RESERVED_CLIENT_HEADERS: [&str; 18] = [
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
];

/// Go's `http.CanonicalHeaderKey`: `x-foo-bar` → `X-Foo-Bar`.
pub fn canonical_header_key(name: &str) -> String {
    if name.bytes().any(|b| b == b' ' || b >= 0x80) {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// The HTTP client settings shared by everything that makes requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpClientConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2>,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub bearer_token: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bearer_token_file: String,
    pub tls_config: TlsConfig,
    pub follow_redirects: bool,
    pub enable_http2: bool,
    #[serde(flatten)]
    pub proxy: ProxyConfig,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub http_headers: BTreeMap<String, Header>,
}

impl Default for HttpClientConfig {
    /// The Go zero value (redirects and HTTP/2 off); [`HttpClientConfig::defaults`] has
    /// common/config's defaults.
    fn default() -> Self {
        Self {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: Secret::default(),
            bearer_token_file: String::new(),
            tls_config: TlsConfig::default(),
            follow_redirects: false,
            enable_http2: false,
            proxy: ProxyConfig::default(),
            http_headers: BTreeMap::new(),
        }
    }
}

goyaml::fields!(HttpClientConfig as "config.plain" {
    "basic_auth" => basic_auth,
    "authorization" => authorization,
    "oauth2" => oauth2,
    "bearer_token" => bearer_token,
    "bearer_token_file" => bearer_token_file,
    "tls_config" => tls_config,
    "follow_redirects" => follow_redirects,
    "enable_http2" => enable_http2,
    "http_headers" => http_headers,
} inline proxy);

impl Decode for HttpClientConfig {
    /// A standalone HTTP client file (`--http.config.file`): defaults, fields, checks.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "config.HTTPClientConfig".into()
    }
}

impl HttpClientConfig {
    /// common/config's `DefaultHTTPClientConfig`: follow redirects, HTTP/2 on.
    pub fn defaults() -> Self {
        Self {
            follow_redirects: true,
            enable_http2: true,
            ..Self::default()
        }
    }

    /// common/config's `HTTPClientConfig.Validate`, which also turns `bearer_token` and
    /// `bearer_token_file` into an `authorization` of type Bearer.
    pub fn validate(&mut self) -> Result<(), Fatal> {
        let err = |m: &str| Err(Fatal::new(m));
        let bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return err("at most one of bearer_token & bearer_token_file must be configured");
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && bearer {
            return err("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured");
        }
        if let Some(b) = &self.basic_auth {
            if count(&[
                !b.username.is_empty(),
                !b.username_file.is_empty(),
                !b.username_ref.is_empty(),
            ]) > 1
            {
                return err("at most one of basic_auth username, username_file & username_ref must be configured");
            }
            if count(&[
                !b.password.is_empty(),
                !b.password_file.is_empty(),
                !b.password_ref.is_empty(),
            ]) > 1
            {
                return err("at most one of basic_auth password, password_file & password_ref must be configured");
            }
        }
        if let Some(a) = &mut self.authorization {
            if bearer {
                return err(
                    "authorization is not compatible with bearer_token & bearer_token_file",
                );
            }
            if count(&[
                !a.credentials.is_empty(),
                !a.credentials_file.is_empty(),
                !a.credentials_ref.is_empty(),
            ]) > 1
            {
                return err("at most one of authorization credentials & credentials_file must be configured");
            }
            a.kind = a.kind.trim().to_string();
            if a.kind.is_empty() {
                a.kind = "Bearer".into();
            }
            if a.kind.eq_ignore_ascii_case("basic") {
                return err(
                    r#"authorization type cannot be set to "basic", use "basic_auth" instead"#,
                );
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return err("at most one of basic_auth, oauth2 & authorization must be configured");
            }
        } else {
            if !self.bearer_token.is_empty() {
                self.authorization = Some(Authorization {
                    kind: "Bearer".into(),
                    credentials: std::mem::take(&mut self.bearer_token),
                    ..Authorization::default()
                });
            }
            if !self.bearer_token_file.is_empty() {
                self.authorization = Some(Authorization {
                    kind: "Bearer".into(),
                    credentials_file: std::mem::take(&mut self.bearer_token_file),
                    ..Authorization::default()
                });
            }
        }
        if let Some(o) = &self.oauth2 {
            if self.basic_auth.is_some() {
                return err("at most one of basic_auth, oauth2 & authorization must be configured");
            }
            if o.client_id.is_empty() {
                return err("oauth2 client_id must be configured");
            }
            if o.token_url.is_empty() {
                return err("oauth2 token_url must be configured");
            }
            if o.grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
                if count(&[
                    !o.client_certificate_key.is_empty(),
                    !o.client_certificate_key_file.is_empty(),
                    !o.client_certificate_key_ref.is_empty(),
                ]) > 1
                {
                    return err("at most one of oauth2 client_certificate_key, client_certificate_key_file & client_certificate_key_ref must be configured using grant-type=urn:ietf:params:oauth:grant-type:jwt-bearer");
                }
                if !o.signature_algorithm.is_empty()
                    && !["RS256", "RS384", "RS512"].contains(&o.signature_algorithm.as_str())
                {
                    return err("valid signature algorithms are RS256, RS384 and RS512");
                }
            } else if count(&[
                !o.client_secret.is_empty(),
                !o.client_secret_file.is_empty(),
                !o.client_secret_ref.is_empty(),
            ]) > 1
            {
                return err("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials");
            }
        }
        self.proxy.validate()?;
        for name in self.http_headers.keys() {
            let canonical = canonical_header_key(name);
            if RESERVED_CLIENT_HEADERS.contains(&canonical.as_str()) {
                return Err(Fatal(format!(
                    "setting header {} is not allowed",
                    goyaml::go_quote(&canonical)
                )));
            }
        }
        Ok(())
    }

    /// Joins relative file names with `dir` (common/config's `SetDirectory`).
    pub fn set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
        if let Some(b) = &mut self.basic_auth {
            join_dir(dir, &mut b.password_file);
            join_dir(dir, &mut b.username_file);
        }
        if let Some(a) = &mut self.authorization {
            join_dir(dir, &mut a.credentials_file);
        }
        if let Some(o) = &mut self.oauth2 {
            join_dir(dir, &mut o.client_secret_file);
            o.tls_config.set_directory(dir);
        }
        for header in self.http_headers.values_mut() {
            for file in &mut header.files {
                join_dir(dir, file);
            }
        }
        join_dir(dir, &mut self.bearer_token_file);
    }

    /// Whether any authentication is configured.
    pub fn has_auth(&self) -> bool {
        self.basic_auth.is_some() || self.authorization.is_some() || self.oauth2.is_some()
    }
}
