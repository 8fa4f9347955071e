//! `scaleway_sd_configs`: Scaleway instances and bare-metal servers (upstream
//! `discovery/scaleway`), including the checks the Scaleway SDK (v1.0.0-beta.37) makes
//! when its client is built from the section.

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::{Serialize, Serializer};

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration, Secret};

/// What a Scaleway discovery lists (Go's `scaleway.role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScalewayRole {
    /// Not set (Go's empty string); rejected by the section's checks.
    #[default]
    Unset,
    Baremetal,
    Instance,
}

impl ScalewayRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Baremetal => "baremetal",
            Self::Instance => "instance",
        }
    }
}

impl Serialize for ScalewayRole {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Decode for ScalewayRole {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "instance" => Self::Instance,
            "baremetal" => Self::Baremetal,
            _ => return Err(Fatal(format!("unknown role {}", goyaml::go_quote(&text)))),
        };
        Ok(true)
    }
    fn go_type() -> String {
        "scaleway.role".into()
    }
}

/// One `scaleway_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScalewaySdConfig {
    pub project_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_url: String,
    pub zone: String,
    pub access_key: String,
    pub secret_key: Secret,
    pub secret_key_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_filter: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_filter: Vec<String>,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub refresh_interval: PromDuration,
    pub port: isize,
    pub role: ScalewayRole,
}

goyaml::fields!(ScalewaySdConfig as "scaleway.plain" {
    "project_id" => project_id,
    "api_url" => api_url,
    "zone" => zone,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "secret_key_file" => secret_key_file,
    "name_filter" => name_filter,
    "tags_filter" => tags_filter,
    "refresh_interval" => refresh_interval,
    "port" => port,
    "role" => role,
} inline http);

/// The zones the SDK lists when it rejects one.
const SDK_ZONES: &str =
    "fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, nl-ams-3, pl-waw-1, pl-waw-2, pl-waw-3, it-mil-1";

impl ScalewaySdConfig {
    /// Upstream's `DefaultSDConfig`: zone `fr-par-1`, the public API, port 80,
    /// refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            http: HttpClientConfig::defaults(),
            zone: "fr-par-1".into(),
            api_url: "https://api.scaleway.com".into(),
            ..Self::default()
        }
    }

    /// Joins `secret_key_file` and the HTTP client's file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        crate::join_dir(dir, &mut self.secret_key_file);
        self.http.set_directory(dir);
    }

    /// The checks of the SDK's `NewClient` (`settings.validate`) for the profile
    /// upstream builds from this section. A key read from a file stands in as a
    /// well-formed UUID.
    fn validate_sdk_client(&self) -> Result<(), Fatal> {
        let sdk = |message: String| Err(Fatal(format!("scaleway-sdk-go: {message}")));
        let secret_key = if self.secret_key_file.is_empty() {
            self.secret_key.expose()
        } else {
            "00000000-0000-0000-0000-000000000000"
        };
        if self.access_key.is_empty() {
            return sdk("access key cannot be empty".into());
        }
        if !is_access_key(&self.access_key) {
            return sdk(format!(
                "invalid access key format '{}', expected SCWXXXXXXXXXXXXXXXXX format",
                self.access_key
            ));
        }
        if secret_key.is_empty() {
            return sdk("secret key cannot be empty".into());
        }
        if !is_uuid(secret_key) {
            return sdk(format!(
                "invalid secret key format '{secret_key}', expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
            ));
        }
        if self.project_id.is_empty() {
            return sdk("default project ID cannot be empty".into());
        }
        if !is_uuid(&self.project_id) {
            return sdk(format!(
                "invalid project ID format '{}', expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                self.project_id
            ));
        }
        if self.zone.is_empty() {
            return sdk("default zone cannot be empty".into());
        }
        if !is_zone(&self.zone) {
            return sdk(format!(
                "invalid default zone format '{}', available zones are: {SDK_ZONES}",
                self.zone
            ));
        }
        if self.api_url.is_empty() || GoUrl::parse(&self.api_url).is_err() {
            return sdk(format!("invalid API url '{}'", self.api_url));
        }
        if self.api_url.ends_with('/') {
            return sdk(format!(
                "invalid API url '{}' it should not have a trailing slash",
                self.api_url
            ));
        }
        Ok(())
    }
}

/// `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `^SCW[A-Z0-9]{17}$`
fn is_access_key(s: &str) -> bool {
    s.len() == 20
        && s.starts_with("SCW")
        && s.bytes()
            .skip(3)
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `^[a-z]{2}-[a-z]{3,7}-[0-9]{1,2}$`
fn is_zone(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &str| p.bytes().all(|b| b.is_ascii_lowercase());
    matches!(parts.as_slice(), [country, city, number]
        if country.len() == 2 && lower(country)
            && (3..=7).contains(&city.len()) && lower(city)
            && (1..=2).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()))
}

impl Decode for ScalewaySdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.role == ScalewayRole::Unset {
            return Err(Fatal::new("role missing (one of: instance, baremetal)"));
        }
        if self.project_id.is_empty() {
            return Err(Fatal::new("project_id is mandatory"));
        }
        if self.secret_key.is_empty() && self.secret_key_file.is_empty() {
            return Err(Fatal::new(
                "one of secret_key & secret_key_file must be configured",
            ));
        }
        if !self.secret_key.is_empty() && !self.secret_key_file.is_empty() {
            return Err(Fatal::new(
                "at most one of secret_key & secret_key_file must be configured",
            ));
        }
        if self.access_key.is_empty() {
            return Err(Fatal::new("access_key is mandatory"));
        }
        self.validate_sdk_client()?;
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "scaleway.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<ScalewaySdConfig, String> {
        let mut c = ScalewaySdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    const BASE: &str =
        "project_id: 11111111-1111-1111-1111-111111111112\naccess_key: SCWXXXXXXXXXXXXXXXXX\n";

    #[test]
    fn defaults() {
        let c = decode(&format!(
            "{BASE}role: baremetal\nsecret_key: 11111111-1111-1111-1111-111111111111\n"
        ))
        .unwrap();
        assert_eq!(c.role, ScalewayRole::Baremetal);
        assert_eq!(c.zone, "fr-par-1");
        assert_eq!(c.api_url, "https://api.scaleway.com");
        assert_eq!(c.port, 80);
        assert!(decode(&format!("{BASE}role: instance\nsecret_key_file: f\n")).is_ok());
    }

    #[test]
    fn errors() {
        for (text, err) in [
            (format!("{BASE}role: invalid\nsecret_key_file: f\n"), r#"unknown role "invalid""#),
            (format!("{BASE}secret_key_file: f\n"), "role missing (one of: instance, baremetal)"),
            (format!("{BASE}role: instance\n"), "one of secret_key & secret_key_file must be configured"),
            (
                format!("{BASE}role: instance\nsecret_key_file: f\nsecret_key: s\n"),
                "at most one of secret_key & secret_key_file must be configured",
            ),
            (
                format!("{BASE}role: instance\nsecret_key: nope\n"),
                "scaleway-sdk-go: invalid secret key format 'nope', expected a UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            ),
            (
                format!("{BASE}role: instance\nsecret_key_file: f\nzone: mars\n"),
                "scaleway-sdk-go: invalid default zone format 'mars', available zones are: fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, nl-ams-3, pl-waw-1, pl-waw-2, pl-waw-3, it-mil-1",
            ),
            (
                format!("{BASE}role: instance\nsecret_key_file: f\napi_url: https://x/\n"),
                "scaleway-sdk-go: invalid API url 'https://x/' it should not have a trailing slash",
            ),
        ] {
            assert_eq!(decode(&text).unwrap_err(), err, "{text}");
        }
    }
}
