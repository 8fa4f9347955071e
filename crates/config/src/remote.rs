//! `remote_write` and `remote_read` entries: their defaults, the checks Prometheus runs
//! while reading them (with its messages, in its order), and the authentication blocks
//! only remote write knows (`sigv4`, `azuread`, `google_iam`).
//!
//! This is configuration only: nothing here sends or reads samples.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Fields, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::relabel::RelabelConfig;
use crate::values::{GoUrl, LabelName, PromDuration, Secret};

/// Headers that `headers` must not set (lower case). `authorization` is refused with its
/// own message; the `x-amz-*` ones are set by SigV4 signing.
pub const RESERVED_HEADERS: [&str; 16] = [
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Prometheus's `validateHeaders`, shared by remote write and remote read. Go walks the
/// map in random order; the keys are checked here in sorted order.
fn validate_headers(headers: &BTreeMap<String, String>) -> Result<(), String> {
    for name in headers.keys() {
        let lower = name.to_lowercase();
        if lower == "authorization" {
            return Err("authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter".into());
        }
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(format!(
                "{name} is a reserved header. It must not be changed"
            ));
        }
    }
    Ok(())
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_duration(d: &PromDuration) -> bool {
    d.0.is_zero()
}

fn is_zero_int(n: &isize) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// `protobuf_message`: which remote write protocol message is sent. Any text decodes; an
/// unknown one is refused by [`WriteMessageType::validate`] once the entry is read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct WriteMessageType(pub String);

impl WriteMessageType {
    /// Remote write 1.0 (`prometheus.WriteRequest`), the default.
    pub const V1: &'static str = "prometheus.WriteRequest";
    /// Remote write 2.0 (`io.prometheus.write.v2.Request`).
    pub const V2: &'static str = "io.prometheus.write.v2.Request";

    /// Remote write 1.0.
    pub fn v1() -> Self {
        Self(Self::V1.into())
    }

    /// Whether this is remote write 2.0.
    pub fn is_v2(&self) -> bool {
        self.0 == Self::V2
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// client_golang's `WriteMessageType.Validate`.
    pub fn validate(&self) -> Result<(), String> {
        if self.0 == Self::V1 || self.0 == Self::V2 {
            return Ok(());
        }
        Err(format!(
            "unknown type for remote write protobuf message {}, supported: {}, {}",
            self.0,
            Self::V1,
            Self::V2
        ))
    }
}

impl Decode for WriteMessageType {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        match d.scalar_bytes(node)? {
            Some(bytes) => {
                self.0 = String::from_utf8_lossy(&bytes).into_owned();
                Ok(true)
            }
            None => {
                d.type_error(node, &Self::go_type());
                Ok(false)
            }
        }
    }
    fn go_type() -> String {
        "remote.WriteMessageType".into()
    }
}

/// `queue_config`: how samples are buffered, sharded and retried. `Default` is the zero
/// value; [`QueueConfig::defaults`] has Prometheus's `DefaultQueueConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueConfig {
    /// Samples buffered per shard before reading the WAL blocks.
    #[serde(skip_serializing_if = "is_zero_int")]
    pub capacity: isize,
    #[serde(skip_serializing_if = "is_zero_int")]
    pub max_shards: isize,
    #[serde(skip_serializing_if = "is_zero_int")]
    pub min_shards: isize,
    #[serde(skip_serializing_if = "is_zero_int")]
    pub max_samples_per_send: isize,
    /// Longest a sample waits in a shard's buffer before it is sent.
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub batch_send_deadline: PromDuration,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub min_backoff: PromDuration,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub max_backoff: PromDuration,
    /// Retry on HTTP 429 (`retry_on_http_429`).
    #[serde(rename = "retry_on_http_429", skip_serializing_if = "is_false")]
    pub retry_on_rate_limit: bool,
    /// Samples older than this are dropped (0: no limit).
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub sample_age_limit: PromDuration,
}

goyaml::fields!(QueueConfig as "config.QueueConfig" {
    "capacity" => capacity,
    "max_shards" => max_shards,
    "min_shards" => min_shards,
    "max_samples_per_send" => max_samples_per_send,
    "batch_send_deadline" => batch_send_deadline,
    "min_backoff" => min_backoff,
    "max_backoff" => max_backoff,
    "retry_on_http_429" => retry_on_rate_limit,
    "sample_age_limit" => sample_age_limit,
});
goyaml::plain!(QueueConfig);

impl QueueConfig {
    /// Prometheus's `DefaultQueueConfig`.
    pub fn defaults() -> Self {
        Self {
            capacity: 10_000,
            max_shards: 50,
            min_shards: 1,
            max_samples_per_send: 2000,
            batch_send_deadline: PromDuration(Duration::from_secs(5)),
            min_backoff: PromDuration(Duration::from_millis(30)),
            max_backoff: PromDuration(Duration::from_secs(5)),
            retry_on_rate_limit: false,
            sample_age_limit: PromDuration(Duration::ZERO),
        }
    }

    /// Prometheus's `QueueConfig.Validate`.
    pub fn validate(&self) -> Result<(), String> {
        let message = if self.max_shards <= 0 {
            "remote write queue max_shards must be positive"
        } else if self.min_shards <= 0 {
            "remote write queue min_shards must be positive"
        } else if self.min_shards > self.max_shards {
            "remote write queue min_shards must not be greater than max_shards"
        } else if self.max_samples_per_send <= 0 {
            "remote write queue max_samples_per_send must be positive"
        } else if self.capacity <= 0 {
            "remote write queue capacity must be positive"
        } else if self.max_backoff < self.min_backoff {
            "remote write queue max_backoff must not be less than min_backoff"
        } else {
            return Ok(());
        };
        Err(message.into())
    }
}

/// `metadata_config`: whether and how often metric metadata is sent. `Default` is the
/// zero value; [`MetadataConfig::defaults`] has Prometheus's `DefaultMetadataConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetadataConfig {
    pub send: bool,
    pub send_interval: PromDuration,
    #[serde(skip_serializing_if = "is_zero_int")]
    pub max_samples_per_send: isize,
}

goyaml::fields!(MetadataConfig as "config.MetadataConfig" {
    "send" => send,
    "send_interval" => send_interval,
    "max_samples_per_send" => max_samples_per_send,
});
goyaml::plain!(MetadataConfig);

impl MetadataConfig {
    /// Prometheus's `DefaultMetadataConfig`.
    pub fn defaults() -> Self {
        Self {
            send: true,
            send_interval: PromDuration(Duration::from_secs(60)),
            max_samples_per_send: 2000,
        }
    }
}

/// `sigv4`: AWS Signature Version 4 signing of remote write requests. Empty values come
/// from the AWS default credential chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SigV4Config {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub access_key: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub secret_key: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub profile: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub role_arn: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub external_id: String,
    #[serde(skip_serializing_if = "is_false")]
    pub use_fips_sts_endpoint: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service_name: String,
}

goyaml::fields!(SigV4Config as "sigv4.plain" {
    "region" => region,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "use_fips_sts_endpoint" => use_fips_sts_endpoint,
    "service_name" => service_name,
});

impl Decode for SigV4Config {
    /// sigv4's `SigV4Config.UnmarshalYAML`: zero value, fields, [`SigV4Config::validate`].
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::default();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.validate().map_err(Fatal)?;
        Ok(true)
    }
    fn go_type() -> String {
        "sigv4.SigV4Config".into()
    }
}

impl SigV4Config {
    /// sigv4's `SigV4Config.Validate`: an access key and a secret key go together.
    pub fn validate(&self) -> Result<(), String> {
        if self.access_key.is_empty() != self.secret_key.is_empty() {
            return Err("must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config".into());
        }
        Ok(())
    }
}

/// Azure's China cloud.
pub const AZURE_CHINA: &str = "AzureChina";
/// Azure's US Government cloud.
pub const AZURE_GOVERNMENT: &str = "AzureGovernment";
/// Azure's public cloud (the default).
pub const AZURE_PUBLIC: &str = "AzurePublic";
/// Where the Azure Workload Identity webhook historically put the service account token.
pub const DEFAULT_WORKLOAD_IDENTITY_TOKEN_PATH: &str =
    "/var/run/secrets/azure/tokens/azure-identity-token";
/// The environment variable naming the projected token file (preferred over the
/// historical default path).
pub const AZURE_FEDERATED_TOKEN_FILE_ENV: &str = "AZURE_FEDERATED_TOKEN_FILE";

/// `azuread.managed_identity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AzureManagedIdentityConfig {
    /// The managed identity's client id (a UUID), empty for the system-assigned one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
}

goyaml::fields!(AzureManagedIdentityConfig as "azuread.ManagedIdentityConfig" {
    "client_id" => client_id,
});

/// `azuread.workload_identity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AzureWorkloadIdentityConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
    /// The projected service account token; filled in by validation when not given.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_file_path: String,
}

goyaml::fields!(AzureWorkloadIdentityConfig as "azuread.WorkloadIdentityConfig" {
    "client_id" => client_id,
    "tenant_id" => tenant_id,
    "token_file_path" => token_file_path,
});

/// `azuread.oauth`: an application's client credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AzureOAuthConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub client_secret: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
}

goyaml::fields!(AzureOAuthConfig as "azuread.OAuthConfig" {
    "client_id" => client_id,
    "client_secret" => client_secret,
    "tenant_id" => tenant_id,
});

/// `azuread.sdk`: the Azure SDK's default credential chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AzureSdkConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
}

goyaml::fields!(AzureSdkConfig as "azuread.SDKConfig" {
    "tenant_id" => tenant_id,
});

/// `azuread.certificate`: an application's certificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AzureCertificateConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
    /// A PEM or PFX file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub certificate_path: String,
    /// The private key, when it is not in the certificate file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub certificate_key_path: String,
    /// The password of a PFX file.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub certificate_password: Secret,
    /// Send the `x5c` header (subject name / issuer authentication).
    #[serde(skip_serializing_if = "is_false")]
    pub send_certificate_chain: bool,
}

goyaml::fields!(AzureCertificateConfig as "azuread.CertificateConfig" {
    "client_id" => client_id,
    "tenant_id" => tenant_id,
    "certificate_path" => certificate_path,
    "certificate_key_path" => certificate_key_path,
    "certificate_password" => certificate_password,
    "send_certificate_chain" => send_certificate_chain,
});

goyaml::plain!(
    AzureManagedIdentityConfig,
    AzureWorkloadIdentityConfig,
    AzureOAuthConfig,
    AzureSdkConfig,
    AzureCertificateConfig,
);

/// `azuread`: Microsoft Entra ID authentication of remote write requests. Exactly one
/// method must be given.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AzureAdConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_identity: Option<AzureManagedIdentityConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<AzureWorkloadIdentityConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth: Option<AzureOAuthConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<AzureSdkConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<AzureCertificateConfig>,
    /// `AzurePublic` (the default), `AzureGovernment` or `AzureChina`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cloud: String,
    /// A custom OAuth 2.0 scope for the tokens.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

goyaml::fields!(AzureAdConfig as "azuread.plain" {
    "managed_identity" => managed_identity,
    "workload_identity" => workload_identity,
    "oauth" => oauth,
    "sdk" => sdk,
    "certificate" => certificate,
    "cloud" => cloud,
    "scope" => scope,
});

impl Decode for AzureAdConfig {
    /// azuread's `AzureADConfig.UnmarshalYAML`: zero value, fields, [`AzureAdConfig::validate`].
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::default();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.validate().map_err(Fatal)?;
        Ok(true)
    }
    fn go_type() -> String {
        "azuread.AzureADConfig".into()
    }
}

impl AzureAdConfig {
    /// azuread's `AzureADConfig.Validate`. Like it, this fills in the default cloud and
    /// the workload identity's token file (from `AZURE_FEDERATED_TOKEN_FILE`, else the
    /// historical default path).
    ///
    /// Upstream also "checks" tenant ids against `^[0-9a-zA-Z-.]+$`, but only fails if
    /// that expression does not compile, so any tenant id passes; so it does here.
    pub fn validate(&mut self) -> Result<(), String> {
        if self.cloud.is_empty() {
            self.cloud = AZURE_PUBLIC.into();
        }
        if ![AZURE_CHINA, AZURE_GOVERNMENT, AZURE_PUBLIC].contains(&self.cloud.as_str()) {
            return Err("must provide a cloud in the Azure AD config".into());
        }
        let authenticators = [
            self.managed_identity.is_some(),
            self.workload_identity.is_some(),
            self.oauth.is_some(),
            self.sdk.is_some(),
            self.certificate.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count();
        if authenticators == 0 {
            return Err("must provide an Azure Managed Identity, Azure Workload Identity, Azure OAuth, Azure Certificate or Azure SDK in the Azure AD config".into());
        }
        if authenticators > 1 {
            return Err(
                "cannot provide multiple authentication methods in the Azure AD config".into(),
            );
        }
        let fail = |m: &str| Err(m.to_string());

        if let Some(mi) = &self.managed_identity {
            if !mi.client_id.is_empty() && !is_uuid(&mi.client_id) {
                return fail("the provided Azure Managed Identity client_id is invalid");
            }
        }

        if let Some(wi) = &mut self.workload_identity {
            if wi.client_id.is_empty() {
                return fail(
                    "must provide an Azure Workload Identity client_id in the Azure AD config",
                );
            }
            if wi.tenant_id.is_empty() {
                return fail(
                    "must provide an Azure Workload Identity tenant_id in the Azure AD config",
                );
            }
            if !is_uuid(&wi.client_id) {
                return fail("the provided Azure Workload Identity client_id is invalid");
            }
            if !is_uuid(&wi.tenant_id) {
                return fail("the provided Azure Workload Identity tenant_id is invalid");
            }
            if wi.token_file_path.is_empty() {
                wi.token_file_path = std::env::var(AZURE_FEDERATED_TOKEN_FILE_ENV)
                    .ok()
                    .filter(|path| !path.is_empty())
                    .unwrap_or_else(|| DEFAULT_WORKLOAD_IDENTITY_TOKEN_PATH.into());
            }
        }

        if let Some(oauth) = &self.oauth {
            if oauth.client_id.is_empty() {
                return fail("must provide an Azure OAuth client_id in the Azure AD config");
            }
            if oauth.client_secret.is_empty() {
                return fail("must provide an Azure OAuth client_secret in the Azure AD config");
            }
            if oauth.tenant_id.is_empty() {
                return fail("must provide an Azure OAuth tenant_id in the Azure AD config");
            }
            if !is_uuid(&oauth.client_id) {
                return fail("the provided Azure OAuth client_id is invalid");
            }
        }

        if let Some(cert) = &self.certificate {
            if cert.client_id.is_empty() {
                return fail("must provide an Azure Certificate client_id in the Azure AD config");
            }
            if cert.tenant_id.is_empty() {
                return fail("must provide an Azure Certificate tenant_id in the Azure AD config");
            }
            if cert.certificate_path.is_empty() {
                return fail(
                    "must provide an Azure Certificate certificate_path in the Azure AD config",
                );
            }
            if !is_uuid(&cert.client_id) {
                return fail("the provided Azure Certificate client_id is invalid");
            }
        }

        // `^[\w\s:/.\-]+$` with Go's ASCII classes: \w is [0-9A-Za-z_], \s is [\t\n\f\r ].
        let scope_char = |c: char| c.is_ascii_alphanumeric() || "_\t\n\x0c\r :/.-".contains(c);
        if !self.scope.is_empty() && !self.scope.chars().all(scope_char) {
            return fail("the provided scope contains invalid characters");
        }
        Ok(())
    }
}

/// Whether google/uuid's `Parse` accepts `s`: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, that
/// with a `urn:uuid:` prefix or inside one character on each side (`{…}`; the
/// characters themselves are not checked), or 32 hex digits.
fn is_uuid(s: &str) -> bool {
    let bytes = s.as_bytes();
    let hex = |b: &[u8]| b.iter().all(u8::is_ascii_hexdigit);
    let dashed: &[u8] = match bytes.len() {
        32 => return hex(bytes),
        36 => bytes,
        38 => &bytes[1..37],
        45 if bytes[..9].eq_ignore_ascii_case(b"urn:uuid:") => &bytes[9..],
        _ => return false,
    };
    dashed.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

/// `google_iam`: Google Cloud credentials for remote write requests (the default
/// credentials when no file is given).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GoogleIamConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

goyaml::fields!(GoogleIamConfig as "googleiam.Config" {
    "credentials_file" => credentials_file,
});
goyaml::plain!(GoogleIamConfig);

/// One `remote_write` entry. `Default` is the zero value (what a `null` entry decodes to);
/// [`RemoteWriteConfig::defaults`] has Prometheus's `DefaultRemoteWriteConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RemoteWriteConfig {
    /// Always set once decoded (a missing `url` is an error).
    pub url: Option<GoUrl>,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub remote_timeout: PromDuration,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub write_relabel_configs: Vec<RelabelConfig>,
    /// Empty unless given; must be unique among the remote write entries.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "is_false")]
    pub send_exemplars: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub send_native_histograms: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub round_robin_dns: bool,
    pub protobuf_message: WriteMessageType,
    /// Log remote write 2.0 requests that failed (at debug level).
    #[serde(skip_serializing_if = "is_false")]
    pub failed_request_logging: bool,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub queue_config: QueueConfig,
    pub metadata_config: MetadataConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<SigV4Config>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azuread: Option<AzureAdConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google_iam: Option<GoogleIamConfig>,
}

goyaml::fields!(RemoteWriteConfig as "config.plain" {
    "url" => url,
    "remote_timeout" => remote_timeout,
    "headers" => headers,
    "write_relabel_configs" => write_relabel_configs,
    "name" => name,
    "send_exemplars" => send_exemplars,
    "send_native_histograms" => send_native_histograms,
    "round_robin_dns" => round_robin_dns,
    "protobuf_message" => protobuf_message,
    "failed_request_logging" => failed_request_logging,
    "queue_config" => queue_config,
    "metadata_config" => metadata_config,
    "sigv4" => sigv4,
    "azuread" => azuread,
    "google_iam" => google_iam,
} inline http);

impl Decode for RemoteWriteConfig {
    /// Prometheus's `RemoteWriteConfig.UnmarshalYAML`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.url.is_none() {
            return Err(Fatal::new("url for remote_write is empty"));
        }
        if self
            .write_relabel_configs
            .iter()
            .any(RelabelConfig::is_null)
        {
            return Err(Fatal::new(
                "empty or null relabeling rule in remote write config",
            ));
        }
        validate_headers(&self.headers).map_err(Fatal)?;
        self.protobuf_message
            .validate()
            .map_err(|e| Fatal(format!("invalid protobuf_message value: {e}")))?;
        self.http.validate()?;
        self.queue_config.validate().map_err(Fatal)?;
        self.validate_auth().map_err(Fatal)?;
        Ok(true)
    }
    fn go_type() -> String {
        "config.RemoteWriteConfig".into()
    }
}

impl RemoteWriteConfig {
    /// Prometheus's `DefaultRemoteWriteConfig` (redirects followed, HTTP/2 off).
    pub fn defaults() -> Self {
        Self {
            remote_timeout: PromDuration(Duration::from_secs(30)),
            protobuf_message: WriteMessageType::v1(),
            queue_config: QueueConfig::defaults(),
            metadata_config: MetadataConfig::defaults(),
            http: HttpClientConfig {
                follow_redirects: true,
                enable_http2: false,
                ..HttpClientConfig::default()
            },
            ..Self::default()
        }
    }

    /// Whether this entry was `null` in the file.
    pub fn is_null(&self) -> bool {
        *self == Self::default()
    }

    /// The `name` (empty if not given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Prometheus's `RemoteWriteConfig.Validate`: the `write_relabel_configs` under the
    /// name validation scheme (`legacy_names`: the legacy scheme).
    pub fn validate(&self, legacy_names: bool) -> Result<(), String> {
        self.write_relabel_configs
            .iter()
            .try_for_each(|rc| rc.validate(legacy_names))
    }

    /// Joins relative file names of the HTTP client settings with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }

    /// Prometheus's `validateAuthConfigs`: at most one way to authenticate. Run after the
    /// HTTP client checks, so a `bearer_token` counts as `authorization`.
    fn validate_auth(&self) -> Result<(), String> {
        let configured: Vec<&str> = [
            ("basic_auth", self.http.basic_auth.is_some()),
            ("authorization", self.http.authorization.is_some()),
            ("oauth2", self.http.oauth2.is_some()),
            ("sigv4", self.sigv4.is_some()),
            ("azuread", self.azuread.is_some()),
            ("google_iam", self.google_iam.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if configured.len() > 1 {
            return Err(format!(
                "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [{}]",
                configured.join(" ")
            ));
        }
        Ok(())
    }
}

/// Prometheus's `DefaultChunkedReadLimit`: 50 MB per streamed frame.
pub const DEFAULT_CHUNKED_READ_LIMIT: u64 = 50_000_000;

/// One `remote_read` entry. `Default` is the zero value (what a `null` entry decodes to);
/// [`RemoteReadConfig::defaults`] has Prometheus's `DefaultRemoteReadConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RemoteReadConfig {
    /// Always set once decoded (a missing `url` is an error).
    pub url: Option<GoUrl>,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub remote_timeout: PromDuration,
    /// Largest frame of a streamed response, in bytes.
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub chunked_read_limit: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Also read time ranges the local storage holds.
    #[serde(skip_serializing_if = "is_false")]
    pub read_recent: bool,
    /// Empty unless given; must be unique among the remote read entries.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    /// Equality matchers a selector must contain for this endpoint to be queried.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub required_matchers: BTreeMap<LabelName, String>,
    /// Add the external labels to the selectors sent.
    #[serde(skip_serializing_if = "is_false")]
    pub filter_external_labels: bool,
}

impl Fields for RemoteReadConfig {
    const GO_TYPE: &'static str = "config.plain";

    fn field(&mut self, d: &mut Decoder, name: &str, value: &Node) -> Option<Result<bool, Fatal>> {
        Some(match name {
            "url" => d.decode(value, &mut self.url),
            "remote_timeout" => d.decode(value, &mut self.remote_timeout),
            "chunked_read_limit" => d.decode(value, &mut self.chunked_read_limit),
            "headers" => d.decode(value, &mut self.headers),
            "read_recent" => d.decode(value, &mut self.read_recent),
            "name" => d.decode(value, &mut self.name),
            "required_matchers" => decode_label_set(d, value, &mut self.required_matchers),
            "filter_external_labels" => d.decode(value, &mut self.filter_external_labels),
            _ => return self.http.field(d, name, value),
        })
    }
}

/// A `model.LabelSet` (named so in type errors): label names as keys, any scalar as value.
fn decode_label_set(
    d: &mut Decoder,
    node: &Node,
    out: &mut BTreeMap<LabelName, String>,
) -> Result<bool, Fatal> {
    if node.is_null() {
        out.clear();
        return Ok(true);
    }
    d.map_pairs(node, "model.LabelSet", &mut |d, key, value| {
        let mut name = LabelName::default();
        if !d.decode(key, &mut name)? {
            return Ok(());
        }
        let Some(bytes) = d.scalar_bytes(value)? else {
            d.type_error(value, "model.LabelValue");
            return Ok(());
        };
        match out.entry(name) {
            Entry::Occupied(taken) => d.push(format!(
                "line {}: key {} already set in map",
                value.line,
                goyaml::go_quote(&taken.key().0)
            )),
            Entry::Vacant(free) => {
                free.insert(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(())
    })
}

impl Decode for RemoteReadConfig {
    /// Prometheus's `RemoteReadConfig.UnmarshalYAML`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.url.is_none() {
            return Err(Fatal::new("url for remote_read is empty"));
        }
        validate_headers(&self.headers).map_err(Fatal)?;
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "config.RemoteReadConfig".into()
    }
}

impl RemoteReadConfig {
    /// Prometheus's `DefaultRemoteReadConfig` (common HTTP client defaults: redirects
    /// followed, HTTP/2 on).
    pub fn defaults() -> Self {
        Self {
            remote_timeout: PromDuration(Duration::from_secs(60)),
            chunked_read_limit: DEFAULT_CHUNKED_READ_LIMIT,
            http: HttpClientConfig::defaults(),
            filter_external_labels: true,
            ..Self::default()
        }
    }

    /// Whether this entry was `null` in the file.
    pub fn is_null(&self) -> bool {
        *self == Self::default()
    }

    /// The `name` (empty if not given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Joins relative file names of the HTTP client settings with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> Result<RemoteWriteConfig, String> {
        let mut out = RemoteWriteConfig::default();
        goyaml::from_str(text, &mut out).map(|_| out)
    }

    fn read(text: &str) -> Result<RemoteReadConfig, String> {
        let mut out = RemoteReadConfig::default();
        goyaml::from_str(text, &mut out).map(|_| out)
    }

    fn write_err(text: &str) -> String {
        write(text).expect_err(text)
    }

    #[test]
    fn remote_write_defaults() {
        let rw = write("url: http://remote1/push\n").unwrap();
        assert_eq!(rw.url.as_ref().unwrap().host, "remote1");
        assert_eq!(rw.remote_timeout, PromDuration(Duration::from_secs(30)));
        assert_eq!(rw.protobuf_message.as_str(), "prometheus.WriteRequest");
        assert!(!rw.protobuf_message.is_v2());
        assert_eq!(rw.queue_config, QueueConfig::defaults());
        let q = &rw.queue_config;
        assert_eq!(
            (
                q.capacity,
                q.max_shards,
                q.min_shards,
                q.max_samples_per_send
            ),
            (10_000, 50, 1, 2000)
        );
        assert_eq!(q.batch_send_deadline, PromDuration(Duration::from_secs(5)));
        assert_eq!(q.min_backoff, PromDuration(Duration::from_millis(30)));
        assert_eq!(q.max_backoff, PromDuration(Duration::from_secs(5)));
        assert!(!q.retry_on_rate_limit);
        assert_eq!(q.sample_age_limit, PromDuration(Duration::ZERO));
        assert_eq!(rw.metadata_config, MetadataConfig::defaults());
        assert!(rw.metadata_config.send);
        assert_eq!(
            rw.metadata_config.send_interval,
            PromDuration(Duration::from_secs(60))
        );
        assert_eq!(rw.metadata_config.max_samples_per_send, 2000);
        assert!(rw.http.follow_redirects);
        assert!(!rw.http.enable_http2);
        assert!(rw.sigv4.is_none() && rw.azuread.is_none() && rw.google_iam.is_none());
        assert!(!rw.is_null());
        assert_eq!(rw.name(), "");
    }

    #[test]
    fn queue_config_keeps_unset_defaults() {
        let rw = write(
            "url: localhost:9090\nqueue_config:\n  retry_on_http_429: true\n  max_shards: 7\n  sample_age_limit: 30s\n",
        )
        .unwrap();
        let q = &rw.queue_config;
        assert!(q.retry_on_rate_limit);
        assert_eq!(q.max_shards, 7);
        assert_eq!(q.sample_age_limit, PromDuration(Duration::from_secs(30)));
        assert_eq!(q.capacity, 10_000);
        assert_eq!(q.min_shards, 1);
        let rw = write("url: x\nmetadata_config:\n  send: false\n").unwrap();
        assert!(!rw.metadata_config.send);
        assert_eq!(rw.metadata_config.max_samples_per_send, 2000);
        // A null queue_config is the zero value, which the checks refuse.
        assert_eq!(
            write_err("url: x\nqueue_config:\n"),
            "remote write queue max_shards must be positive"
        );
    }

    #[test]
    fn queue_config_checks() {
        for (queue, message) in [
            (
                "max_shards: 0",
                "remote write queue max_shards must be positive",
            ),
            (
                "min_shards: 0",
                "remote write queue min_shards must be positive",
            ),
            (
                "min_shards: 100, max_shards: 10",
                "remote write queue min_shards must not be greater than max_shards",
            ),
            (
                "max_samples_per_send: 0",
                "remote write queue max_samples_per_send must be positive",
            ),
            (
                "capacity: 0",
                "remote write queue capacity must be positive",
            ),
            (
                "min_backoff: 10s, max_backoff: 1s",
                "remote write queue max_backoff must not be less than min_backoff",
            ),
        ] {
            let text =
                format!("url: http://localhost:9090/api/v1/write\nqueue_config: {{{queue}}}\n");
            assert_eq!(write_err(&text), message, "{queue}");
        }
    }

    #[test]
    fn remote_write_checks_in_order() {
        assert_eq!(write_err("url:\n"), "url for remote_write is empty");
        assert_eq!(write_err("name: a\n"), "url for remote_write is empty");
        // The url check comes before the protobuf_message one.
        assert_eq!(
            write_err("protobuf_message: nope\n"),
            "url for remote_write is empty"
        );
        assert_eq!(
            write_err("url: foo\nwrite_relabel_configs:\n  -\n"),
            "empty or null relabeling rule in remote write config"
        );
        assert_eq!(
            write_err("url: localhost:9090\nheaders:\n  authorization: Basic x\n"),
            "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter"
        );
        assert_eq!(
            write_err("url: localhost:9090\nheaders:\n  X-Prometheus-Remote-Write-Version: x\n"),
            "X-Prometheus-Remote-Write-Version is a reserved header. It must not be changed"
        );
        assert_eq!(
            write_err("url: localhost:9090\nprotobuf_message: io.prometheus.writet.v2.Request\n"),
            "invalid protobuf_message value: unknown type for remote write protobuf message io.prometheus.writet.v2.Request, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"
        );
        assert_eq!(
            write_err("url: localhost:9090\nprotobuf_message:\n"),
            "invalid protobuf_message value: unknown type for remote write protobuf message , supported: prometheus.WriteRequest, io.prometheus.write.v2.Request"
        );
        // HTTP client checks run before the queue checks.
        assert_eq!(
            write_err(
                "url: x\nbearer_token: a\nbearer_token_file: b\nqueue_config: {capacity: 0}\n"
            ),
            "at most one of bearer_token & bearer_token_file must be configured"
        );
        assert_eq!(
            write_err("url: x\nbasic_auth: {username: u}\nsigv4: {region: us-east-1}\n"),
            "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [basic_auth sigv4]"
        );
        // A bearer token has become an `authorization` by the time auth is counted.
        assert_eq!(
            write_err("url: x\nbearer_token: t\ngoogle_iam: {}\n"),
            "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [authorization google_iam]"
        );
    }

    #[test]
    fn remote_write_type_errors() {
        assert_eq!(
            write_err("url: x\nqueue_size: 3\nqueue_config: {capacty: 1}\n"),
            "yaml: unmarshal errors:\n  line 2: field queue_size not found in type config.plain\n  line 3: field capacty not found in type config.QueueConfig"
        );
        assert_eq!(
            write_err("url: x\nqueue_config: {max_shards: many}\n"),
            "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `many` into int"
        );
        assert_eq!(
            write_err("url: x\nprotobuf_message: [a]\n"),
            "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!seq into remote.WriteMessageType"
        );
        assert_eq!(
            write_err("url: x\nsigv4: {regin: x}\n"),
            "yaml: unmarshal errors:\n  line 2: field regin not found in type sigv4.plain"
        );
    }

    #[test]
    fn remote_write_full() {
        let rw = write(
            r#"
url: http://remote2/push
protobuf_message: io.prometheus.write.v2.Request
name: rw_tls
remote_timeout: 10s
send_exemplars: true
send_native_histograms: true
round_robin_dns: true
failed_request_logging: true
tls_config:
  cert_file: valid_cert_file
  key_file: valid_key_file
headers:
  name: value
write_relabel_configs:
  - source_labels: [__name__]
    regex: expensive.*
    action: drop
"#,
        )
        .unwrap();
        assert!(rw.protobuf_message.is_v2());
        assert_eq!(rw.name(), "rw_tls");
        assert_eq!(rw.remote_timeout, PromDuration(Duration::from_secs(10)));
        assert!(rw.send_exemplars && rw.send_native_histograms && rw.round_robin_dns);
        assert!(rw.failed_request_logging);
        assert_eq!(rw.headers.get("name").map(String::as_str), Some("value"));
        assert_eq!(rw.write_relabel_configs.len(), 1);
        assert_eq!(rw.http.tls_config.cert_file, "valid_cert_file");
        assert!(rw.validate(false).is_ok());

        let mut rw = rw;
        rw.set_directory(Path::new("/etc/prometheus"));
        assert_eq!(
            rw.http.tls_config.cert_file,
            "/etc/prometheus/valid_cert_file"
        );

        let rw = write(
            "url: http://remote1/push\noauth2:\n  client_id: \"123\"\n  client_secret: \"456\"\n  token_url: \"http://remote1/auth\"\n",
        )
        .unwrap();
        assert_eq!(rw.http.oauth2.as_ref().unwrap().client_id, "123");
    }

    #[test]
    fn write_relabel_configs_are_validated_on_request() {
        let rw =
            write("url: x\nwrite_relabel_configs:\n  - target_label: 1bad\n    replacement: x\n")
                .unwrap();
        assert!(rw.validate(false).is_ok());
        assert_eq!(
            rw.validate(true).unwrap_err(),
            "\"1bad\" is invalid 'target_label' for replace action"
        );
    }

    #[test]
    fn null_entries_are_zero() {
        let mut list: Vec<RemoteWriteConfig> = Vec::new();
        goyaml::from_str("- url: a\n-\n", &mut list).unwrap();
        assert_eq!(list.len(), 2);
        assert!(!list[0].is_null());
        assert!(list[1].is_null());
        let mut list: Vec<RemoteReadConfig> = Vec::new();
        goyaml::from_str("-\n", &mut list).unwrap();
        assert!(list[0].is_null());
    }

    #[test]
    fn sigv4() {
        let rw = write(
            "url: x\nsigv4:\n  region: us-east-1\n  access_key: AK\n  secret_key: SK\n  profile: p\n  role_arn: arn\n  external_id: e\n  use_fips_sts_endpoint: true\n  service_name: aps\n",
        )
        .unwrap();
        let s = rw.sigv4.unwrap();
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.secret_key.expose(), "SK");
        assert!(s.use_fips_sts_endpoint);
        assert_eq!(s.service_name, "aps");
        let rw = write("url: x\nsigv4: {}\n").unwrap();
        assert_eq!(rw.sigv4, Some(SigV4Config::default()));
        let rw = write("url: x\nsigv4:\n").unwrap();
        assert!(rw.sigv4.is_none());
        let message = "must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config";
        assert_eq!(write_err("url: x\nsigv4: {access_key: AK}\n"), message);
        assert_eq!(write_err("url: x\nsigv4: {secret_key: SK}\n"), message);
    }

    const UUID: &str = "00000000-0000-0000-0000-000000000000";

    fn azure(body: &str) -> Result<AzureAdConfig, String> {
        write(&format!("url: x\nazuread:\n{body}")).map(|rw| rw.azuread.expect("azuread set"))
    }

    #[test]
    fn azuread() {
        let a = azure("  managed_identity: {}\n").unwrap();
        assert_eq!(a.cloud, AZURE_PUBLIC);
        let a = azure(&format!(
            "  cloud: AzureChina\n  managed_identity:\n    client_id: {UUID}\n"
        ))
        .unwrap();
        assert_eq!(a.cloud, AZURE_CHINA);
        let a = azure(&format!(
            "  oauth:\n    client_id: {UUID}\n    client_secret: s\n    tenant_id: any.thing\n"
        ))
        .unwrap();
        assert_eq!(a.oauth.unwrap().client_secret.expose(), "s");
        let a = azure(&format!(
            "  workload_identity:\n    client_id: {UUID}\n    tenant_id: {UUID}\n    token_file_path: /t\n"
        ))
        .unwrap();
        assert_eq!(a.workload_identity.unwrap().token_file_path, "/t");
        let a = azure(&format!(
            "  workload_identity:\n    client_id: {UUID}\n    tenant_id: {UUID}\n"
        ))
        .unwrap();
        assert!(!a.workload_identity.unwrap().token_file_path.is_empty());
        let a = azure(&format!(
            "  certificate:\n    client_id: {UUID}\n    tenant_id: t\n    certificate_path: c.pem\n    send_certificate_chain: true\n  scope: api://x/.default\n"
        ))
        .unwrap();
        assert!(a.certificate.unwrap().send_certificate_chain);
        assert!(azure("  sdk: {tenant_id: t}\n").is_ok());

        for (body, message) in [
            ("  {}\n", "must provide an Azure Managed Identity, Azure Workload Identity, Azure OAuth, Azure Certificate or Azure SDK in the Azure AD config"),
            ("  cloud: Mars\n  sdk: {}\n", "must provide a cloud in the Azure AD config"),
            ("  sdk: {}\n  managed_identity: {}\n", "cannot provide multiple authentication methods in the Azure AD config"),
            ("  managed_identity: {client_id: nope}\n", "the provided Azure Managed Identity client_id is invalid"),
            ("  oauth: {client_id: a}\n", "must provide an Azure OAuth client_secret in the Azure AD config"),
            ("  oauth: {client_id: a, client_secret: b, tenant_id: c}\n", "the provided Azure OAuth client_id is invalid"),
            ("  workload_identity: {client_id: a}\n", "must provide an Azure Workload Identity tenant_id in the Azure AD config"),
            ("  workload_identity: {client_id: a, tenant_id: b}\n", "the provided Azure Workload Identity client_id is invalid"),
            ("  certificate: {client_id: a, tenant_id: b}\n", "must provide an Azure Certificate certificate_path in the Azure AD config"),
            ("  sdk: {}\n  scope: \"a;b\"\n", "the provided scope contains invalid characters"),
        ] {
            assert_eq!(azure(body).unwrap_err(), message, "{body}");
        }
        assert_eq!(
            write_err("url: x\nazuread: {sdk: {tenant: t}}\n"),
            "yaml: unmarshal errors:\n  line 2: field tenant not found in type azuread.SDKConfig"
        );
        assert_eq!(
            write_err("url: x\nazuread: {sdk: {}}\nsigv4: {}\n"),
            "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [sigv4 azuread]"
        );
    }

    #[test]
    fn uuids_as_google_uuid_parses_them() {
        assert!(is_uuid(UUID));
        assert!(is_uuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8"));
        assert!(is_uuid("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}"));
        assert!(is_uuid("x6ba7b810-9dad-11d1-80b4-00c04fd430c8y"));
        assert!(is_uuid("URN:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
        assert!(is_uuid("6ba7b8109dad11d180b400c04fd430c8"));
        assert!(!is_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430cg"));
        assert!(!is_uuid("6ba7b810x9dad-11d1-80b4-00c04fd430c8"));
        assert!(!is_uuid("urx:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
        assert!(!is_uuid(""));
        assert!(!is_uuid("é7b810-9dad-11d1-80b4-00c04fd430c8é"));
    }

    #[test]
    fn google_iam() {
        let rw = write("url: x\ngoogle_iam:\n  credentials_file: /c.json\n").unwrap();
        assert_eq!(rw.google_iam.unwrap().credentials_file, "/c.json");
        assert_eq!(
            write_err("url: x\ngoogle_iam: {file: a}\n"),
            "yaml: unmarshal errors:\n  line 2: field file not found in type googleiam.Config"
        );
    }

    #[test]
    fn remote_read_defaults_and_fields() {
        let rr = read("url: http://remote1/read\n").unwrap();
        assert_eq!(rr.remote_timeout, PromDuration(Duration::from_secs(60)));
        assert_eq!(rr.chunked_read_limit, 50_000_000);
        assert!(rr.filter_external_labels);
        assert!(!rr.read_recent);
        assert!(rr.http.follow_redirects && rr.http.enable_http2);

        let mut rr = read(
            "url: http://remote3/read\nread_recent: true\nname: read_special\nenable_http2: false\nfilter_external_labels: false\nchunked_read_limit: 1000\nrequired_matchers:\n  job: special\ntls_config:\n  cert_file: valid_cert_file\n  key_file: valid_key_file\n",
        )
        .unwrap();
        assert!(rr.read_recent && !rr.filter_external_labels && !rr.http.enable_http2);
        assert_eq!(rr.name(), "read_special");
        assert_eq!(rr.chunked_read_limit, 1000);
        assert_eq!(
            rr.required_matchers
                .get(&LabelName("job".into()))
                .map(String::as_str),
            Some("special")
        );
        rr.set_directory(Path::new("/d"));
        assert_eq!(rr.http.tls_config.key_file, "/d/valid_key_file");
    }

    #[test]
    fn remote_read_checks() {
        let err = |text: &str| read(text).expect_err(text);
        assert_eq!(err("url:\n"), "url for remote_read is empty");
        assert_eq!(
            err("url: localhost:9090\nheaders:\n  \"x-prometheus-remote-write-version\": \"somehack\"\n"),
            "x-prometheus-remote-write-version is a reserved header. It must not be changed"
        );
        assert_eq!(
            err("url: x\nheaders: {Authorization: a}\n"),
            "authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter"
        );
        assert_eq!(
            err("url: x\nbasic_auth: {username: u}\nauthorization: {credentials: c}\n"),
            "at most one of basic_auth, oauth2 & authorization must be configured"
        );
        assert_eq!(
            err("url: x\nqueue_config: {}\nrequired_matchers: 5\n"),
            "yaml: unmarshal errors:\n  line 2: field queue_config not found in type config.plain\n  line 3: cannot unmarshal !!int `5` into model.LabelSet"
        );
        assert_eq!(
            err("url: x\nrequired_matchers: {job: [a], a: b, a: c}\n"),
            "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!seq into model.LabelValue\n  line 2: key \"a\" already set in map"
        );
        assert_eq!(
            err("url: x\nrequired_matchers: {\"\": a}\n"),
            "\"\" is not a valid label name"
        );
    }
}
