//! Amazon Web Services discovery: `aws_sd_configs` (one section whose `role` picks the
//! service) and the per-service sections `ec2_sd_configs`, `ecs_sd_configs`,
//! `elasticache_sd_configs`, `lightsail_sd_configs`, `msk_sd_configs` and `rds_sd_configs`
//! (upstream's `discovery/aws` package).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::{Serialize, Serializer};

use crate::http::HttpClientConfig;
use crate::values::{PromDuration, Secret};

fn is_zero_duration(d: &PromDuration) -> bool {
    d.0.is_zero()
}

fn is_zero(n: &isize) -> bool {
    *n == 0
}

/// The refresh interval every AWS discovery defaults to.
fn one_minute() -> PromDuration {
    PromDuration(Duration::from_secs(60))
}

/// The AWS service an `aws_sd_configs` entry discovers (Go's `aws.Role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AwsRole {
    /// Not set (Go's empty string), refused once the section is read.
    #[default]
    Unset,
    Ec2,
    Ecs,
    Elasticache,
    Lightsail,
    Msk,
    Rds,
}

impl AwsRole {
    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Ec2 => "ec2",
            Self::Ecs => "ecs",
            Self::Elasticache => "elasticache",
            Self::Lightsail => "lightsail",
            Self::Msk => "msk",
            Self::Rds => "rds",
        }
    }
}

impl Serialize for AwsRole {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Decode for AwsRole {
    /// `Role.UnmarshalYAML`: a string naming one of the known services.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "ec2" => Self::Ec2,
            "ecs" => Self::Ecs,
            "elasticache" => Self::Elasticache,
            "lightsail" => Self::Lightsail,
            "msk" => Self::Msk,
            "rds" => Self::Rds,
            _ => {
                return Err(Fatal(format!(
                    "unknown AWS SD role {}",
                    goyaml::go_quote(&text)
                )))
            }
        };
        Ok(true)
    }
    fn go_type() -> String {
        "aws.Role".into()
    }
}

/// A resource filter (`filters` of EC2 and RDS discovery).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}
goyaml::fields!(Filter as "aws.Filter" {
    "name" => name,
    "values" => values,
});

impl Decode for Filter {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        d.decode_fields(node, self)
    }
    /// Upstream holds filters as `[]*Filter`, which its type errors name.
    fn go_type() -> String {
        "*aws.Filter".into()
    }
}

/// One `aws_sd_configs` entry: the settings shared by all AWS services plus the `role`
/// that picks one. Reading it fills in the matching per-service configuration (`ec2`,
/// `ecs`, …), which is what discovery runs with.
///
/// As upstream, the section itself starts from zero values (no default refresh interval,
/// port or HTTP client defaults); the per-service configuration starts from that
/// service's defaults and takes the non-empty settings of the section, and the
/// section's HTTP client settings as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AwsSdConfig {
    pub role: AwsRole,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
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
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    #[serde(skip_serializing_if = "is_zero")]
    pub port: isize,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    /// EC2 and RDS only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// ECS, ElastiCache, MSK and RDS only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,

    /// The resolved configuration for `role: ec2`.
    #[serde(skip)]
    pub ec2: Option<Ec2SdConfig>,
    /// The resolved configuration for `role: ecs`.
    #[serde(skip)]
    pub ecs: Option<EcsSdConfig>,
    /// The resolved configuration for `role: elasticache`.
    #[serde(skip)]
    pub elasticache: Option<ElasticacheSdConfig>,
    /// The resolved configuration for `role: lightsail`.
    #[serde(skip)]
    pub lightsail: Option<LightsailSdConfig>,
    /// The resolved configuration for `role: msk`.
    #[serde(skip)]
    pub msk: Option<MskSdConfig>,
    /// The resolved configuration for `role: rds`.
    #[serde(skip)]
    pub rds: Option<RdsSdConfig>,
}
goyaml::fields!(AwsSdConfig as "aws.plain" {
    "role" => role,
    "region" => region,
    "endpoint" => endpoint,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "refresh_interval" => refresh_interval,
    "port" => port,
    "filters" => filters,
    "clusters" => clusters,
} inline http);

/// Copies the shared settings of an `aws_sd_configs` entry into a per-service
/// configuration: the HTTP client and region always, the rest when set.
macro_rules! inherit {
    ($from:expr, $to:expr) => {{
        let (from, to) = (&$from, &mut $to);
        to.http = from.http.clone();
        to.region = from.region.clone();
        if !from.endpoint.is_empty() {
            to.endpoint = from.endpoint.clone();
        }
        if !from.access_key.is_empty() {
            to.access_key = from.access_key.clone();
        }
        if !from.secret_key.is_empty() {
            to.secret_key = from.secret_key.clone();
        }
        if !from.profile.is_empty() {
            to.profile = from.profile.clone();
        }
        if !from.role_arn.is_empty() {
            to.role_arn = from.role_arn.clone();
        }
        if !from.external_id.is_empty() {
            to.external_id = from.external_id.clone();
        }
        if from.port != 0 {
            to.port = from.port;
        }
        if !is_zero_duration(&from.refresh_interval) {
            to.refresh_interval = from.refresh_interval;
        }
    }};
}

impl AwsSdConfig {
    /// Upstream's `DefaultSDConfig` (which reading a section does not start from).
    pub fn defaults() -> Self {
        Self {
            refresh_interval: one_minute(),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`, in the per-service configuration of the
    /// role (the section's own HTTP settings are left as they are, as upstream).
    pub fn set_directory(&mut self, dir: &Path) {
        match self.role {
            AwsRole::Ec2 => self.ec2.iter_mut().for_each(|c| c.set_directory(dir)),
            AwsRole::Ecs => self.ecs.iter_mut().for_each(|c| c.set_directory(dir)),
            AwsRole::Elasticache => self
                .elasticache
                .iter_mut()
                .for_each(|c| c.set_directory(dir)),
            AwsRole::Lightsail => self.lightsail.iter_mut().for_each(|c| c.set_directory(dir)),
            AwsRole::Msk => self.msk.iter_mut().for_each(|c| c.set_directory(dir)),
            AwsRole::Rds => self.rds.iter_mut().for_each(|c| c.set_directory(dir)),
            AwsRole::Unset => {}
        }
    }
}

impl Decode for AwsSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        // Upstream decodes into a zero value, not DefaultSDConfig.
        *self = Self::default();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        match self.role {
            AwsRole::Ec2 => {
                let mut c = Ec2SdConfig::defaults();
                inherit!(self, c);
                if !self.filters.is_empty() {
                    c.filters = self.filters.clone();
                }
                self.ec2 = Some(c);
            }
            AwsRole::Ecs => {
                let mut c = EcsSdConfig::defaults();
                inherit!(self, c);
                if !self.clusters.is_empty() {
                    c.clusters = self.clusters.clone();
                }
                self.ecs = Some(c);
            }
            AwsRole::Elasticache => {
                let mut c = ElasticacheSdConfig::defaults();
                inherit!(self, c);
                if !self.clusters.is_empty() {
                    c.clusters = self.clusters.clone();
                }
                self.elasticache = Some(c);
            }
            AwsRole::Lightsail => {
                let mut c = LightsailSdConfig::defaults();
                inherit!(self, c);
                self.lightsail = Some(c);
            }
            AwsRole::Msk => {
                let mut c = MskSdConfig::defaults();
                inherit!(self, c);
                if !self.clusters.is_empty() {
                    c.clusters = self.clusters.clone();
                }
                self.msk = Some(c);
            }
            AwsRole::Rds => {
                let mut c = RdsSdConfig::defaults();
                inherit!(self, c);
                if !self.filters.is_empty() {
                    c.filters = self.filters.clone();
                }
                if !self.clusters.is_empty() {
                    c.clusters = self.clusters.clone();
                }
                self.rds = Some(c);
            }
            AwsRole::Unset => {
                return Err(Fatal(format!(
                    "unknown AWS SD role {}",
                    goyaml::go_quote(self.role.as_str())
                )))
            }
        }
        Ok(true)
    }
    fn go_type() -> String {
        "aws.SDConfig".into()
    }
}

/// One `ec2_sd_configs` entry: EC2 instances.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ec2SdConfig {
    pub endpoint: String,
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
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    pub port: isize,
    pub filters: Vec<Filter>,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(Ec2SdConfig as "aws.plain" {
    "endpoint" => endpoint,
    "region" => region,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "refresh_interval" => refresh_interval,
    "port" => port,
    "filters" => filters,
} inline http);

impl Ec2SdConfig {
    /// Upstream's `DefaultEC2SDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: one_minute(),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for Ec2SdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.filters.iter().any(|f| f.values.is_empty()) {
            return Err(Fatal::new(
                "EC2 SD configuration filter values cannot be empty",
            ));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "aws.EC2SDConfig".into()
    }
}

/// One `ecs_sd_configs` entry: ECS tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EcsSdConfig {
    pub region: String,
    pub endpoint: String,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    pub port: isize,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    /// The most ECS API requests in flight at once.
    #[serde(skip_serializing_if = "is_zero")]
    pub request_concurrency: isize,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(EcsSdConfig as "aws.plain" {
    "region" => region,
    "endpoint" => endpoint,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "clusters" => clusters,
    "port" => port,
    "refresh_interval" => refresh_interval,
    "request_concurrency" => request_concurrency,
} inline http);

impl EcsSdConfig {
    /// Upstream's `DefaultECSSDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: one_minute(),
            request_concurrency: 20,
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for EcsSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "aws.ECSSDConfig".into()
    }
}

/// One `elasticache_sd_configs` entry: ElastiCache clusters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ElasticacheSdConfig {
    pub region: String,
    pub endpoint: String,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    pub port: isize,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    /// The most ElastiCache API requests in flight at once.
    #[serde(skip_serializing_if = "is_zero")]
    pub request_concurrency: isize,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(ElasticacheSdConfig as "aws.plain" {
    "region" => region,
    "endpoint" => endpoint,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "clusters" => clusters,
    "port" => port,
    "refresh_interval" => refresh_interval,
    "request_concurrency" => request_concurrency,
} inline http);

impl ElasticacheSdConfig {
    /// Upstream's `DefaultElasticacheSDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: one_minute(),
            request_concurrency: 10,
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for ElasticacheSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "aws.ElasticacheSDConfig".into()
    }
}

/// One `lightsail_sd_configs` entry: Lightsail instances.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LightsailSdConfig {
    pub endpoint: String,
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
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    pub port: isize,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(LightsailSdConfig as "aws.plain" {
    "endpoint" => endpoint,
    "region" => region,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "refresh_interval" => refresh_interval,
    "port" => port,
} inline http);

impl LightsailSdConfig {
    /// Upstream's `DefaultLightsailSDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: one_minute(),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for LightsailSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "aws.LightsailSDConfig".into()
    }
}

/// One `msk_sd_configs` entry: MSK (managed Kafka) brokers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MskSdConfig {
    pub region: String,
    pub endpoint: String,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    pub port: isize,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    /// The most MSK API requests in flight at once.
    #[serde(skip_serializing_if = "is_zero")]
    pub request_concurrency: isize,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(MskSdConfig as "aws.plain" {
    "region" => region,
    "endpoint" => endpoint,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "clusters" => clusters,
    "port" => port,
    "refresh_interval" => refresh_interval,
    "request_concurrency" => request_concurrency,
} inline http);

impl MskSdConfig {
    /// Upstream's `DefaultMSKSDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: one_minute(),
            request_concurrency: 10,
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for MskSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "aws.MSKSDConfig".into()
    }
}

/// One `rds_sd_configs` entry: RDS database instances.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RdsSdConfig {
    pub region: String,
    pub endpoint: String,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    pub port: isize,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    pub filters: Vec<Filter>,
    /// The most RDS API requests in flight at once.
    #[serde(skip_serializing_if = "is_zero")]
    pub request_concurrency: isize,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(RdsSdConfig as "aws.plain" {
    "region" => region,
    "endpoint" => endpoint,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "profile" => profile,
    "role_arn" => role_arn,
    "external_id" => external_id,
    "clusters" => clusters,
    "port" => port,
    "refresh_interval" => refresh_interval,
    "filters" => filters,
    "request_concurrency" => request_concurrency,
} inline http);

impl RdsSdConfig {
    /// Upstream's `DefaultRDSSDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: one_minute(),
            request_concurrency: 10,
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for RdsSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "aws.RDSSDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode<T: Decode>(text: &str) -> Result<T, String> {
        let mut value = T::default();
        goyaml::from_str(text, &mut value).map(|_| value)
    }

    #[test]
    fn ec2_defaults_and_filters() {
        let c: Ec2SdConfig = decode(
            "region: us-east-1\nsecret_key: s\nfilters:\n  - name: tag:env\n    values: [prod]\n",
        )
        .unwrap();
        assert_eq!(c.port, 80);
        assert_eq!(c.refresh_interval, one_minute());
        assert!(c.http.follow_redirects && c.http.enable_http2);
        assert_eq!(c.secret_key.expose(), "s");
        assert_eq!(c.filters[0].values, vec!["prod"]);

        let err = decode::<Ec2SdConfig>("filters:\n  - name: x\n    values:\n").unwrap_err();
        assert_eq!(err, "EC2 SD configuration filter values cannot be empty");
        let err =
            decode::<LightsailSdConfig>("bearer_token: a\nbearer_token_file: b\n").unwrap_err();
        assert_eq!(
            err,
            "at most one of bearer_token & bearer_token_file must be configured"
        );
        let err = decode::<Ec2SdConfig>("filters: 3\n").unwrap_err();
        assert!(
            err.ends_with("cannot unmarshal !!int `3` into []*aws.Filter"),
            "{err}"
        );
    }

    #[test]
    fn ecs_family_defaults() {
        assert_eq!(decode::<EcsSdConfig>("{}").unwrap().request_concurrency, 20);
        assert_eq!(decode::<MskSdConfig>("{}").unwrap().request_concurrency, 10);
        assert_eq!(decode::<RdsSdConfig>("{}").unwrap().request_concurrency, 10);
        assert_eq!(decode::<ElasticacheSdConfig>("{}").unwrap().port, 80);
    }

    #[test]
    fn aws_role_resolves_service_config() {
        let c: AwsSdConfig =
            decode("role: ecs\nregion: us-east-1\nport: 9200\nclusters: [a]\n").unwrap();
        assert_eq!(c.role, AwsRole::Ecs);
        assert_eq!(c.refresh_interval, PromDuration::default());
        let ecs = c.ecs.unwrap();
        assert_eq!(ecs.region, "us-east-1");
        assert_eq!(ecs.port, 9200);
        assert_eq!(ecs.clusters, vec!["a"]);
        assert_eq!(ecs.refresh_interval, one_minute());
        assert_eq!(ecs.request_concurrency, 20);
        // The section's HTTP settings (zero, as upstream) replace the service defaults.
        assert!(!ecs.http.follow_redirects);
        assert!(c.ec2.is_none());

        let c: AwsSdConfig = decode("role: lightsail\nport: 0\n").unwrap();
        assert_eq!(c.lightsail.unwrap().port, 80);

        assert_eq!(
            decode::<AwsSdConfig>("role: s3\n").unwrap_err(),
            r#"unknown AWS SD role "s3""#
        );
        assert_eq!(
            decode::<AwsSdConfig>("region: x\n").unwrap_err(),
            r#"unknown AWS SD role """#
        );
        let err = decode::<AwsSdConfig>("role: ec2\nzone: x\n").unwrap_err();
        assert!(
            err.ends_with("field zone not found in type aws.plain"),
            "{err}"
        );
    }
}
