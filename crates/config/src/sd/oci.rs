//! `oci_sd_configs`: Oracle Cloud Infrastructure compute instances (upstream
//! `discovery/oci`), authenticated with an API key or as an instance principal.

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{PromDuration, Secret};

const AUTH_API_KEY: &str = "api_key";
const AUTH_INSTANCE_PRINCIPAL: &str = "instance_principal";

/// One `oci_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OciSdConfig {
    /// `api_key` (the default) or `instance_principal`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tenancy: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub key_passphrase: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key_passphrase_file: String,
    pub region: String,
    /// Compartment OCIDs to scan; empty means every active compartment of the tenancy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compartments: Vec<String>,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub port: isize,
    pub refresh_interval: PromDuration,
}

goyaml::fields!(OciSdConfig as "oci.plain" {
    "auth" => auth,
    "tenancy" => tenancy,
    "user" => user,
    "fingerprint" => fingerprint,
    "key_file" => key_file,
    "key_passphrase" => key_passphrase,
    "key_passphrase_file" => key_passphrase_file,
    "region" => region,
    "compartments" => compartments,
    "port" => port,
    "refresh_interval" => refresh_interval,
} inline http);

impl OciSdConfig {
    /// Upstream's `DefaultSDConfig`: API key auth, port 80, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            auth: AUTH_API_KEY.into(),
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Upstream's `validate`: the checks run after the fields are read.
    pub fn validate(&mut self) -> Result<(), Fatal> {
        if self.region.is_empty() {
            return Err(Fatal::new("oci_sd: region is required"));
        }
        match self.auth.as_str() {
            AUTH_API_KEY => {
                if self.tenancy.is_empty() {
                    return Err(Fatal::new("oci_sd: api_key auth requires tenancy"));
                }
                if self.user.is_empty() {
                    return Err(Fatal::new("oci_sd: api_key auth requires user"));
                }
                if self.fingerprint.is_empty() {
                    return Err(Fatal::new("oci_sd: api_key auth requires fingerprint"));
                }
                if self.key_file.is_empty() {
                    return Err(Fatal::new("oci_sd: api_key auth requires key_file"));
                }
                if !self.key_passphrase.is_empty() && !self.key_passphrase_file.is_empty() {
                    return Err(Fatal::new(
                        "oci_sd: at most one of key_passphrase and key_passphrase_file must be configured",
                    ));
                }
            }
            AUTH_INSTANCE_PRINCIPAL => {
                let any_key_setting = [
                    &self.tenancy,
                    &self.user,
                    &self.fingerprint,
                    &self.key_file,
                    &self.key_passphrase.0,
                    &self.key_passphrase_file,
                ]
                .iter()
                .any(|s| !s.is_empty());
                if any_key_setting {
                    return Err(Fatal::new(
                        "oci_sd: instance_principal auth must not have tenancy, user, fingerprint, key_file, key_passphrase, or key_passphrase_file set",
                    ));
                }
            }
            other => {
                return Err(Fatal(format!(
                    "oci_sd: unknown auth method {}, expected {} or {}",
                    goyaml::go_quote(other),
                    goyaml::go_quote(AUTH_API_KEY),
                    goyaml::go_quote(AUTH_INSTANCE_PRINCIPAL)
                )));
            }
        }
        if let Some(i) = self.compartments.iter().position(String::is_empty) {
            return Err(Fatal(format!(
                "oci_sd: compartments[{i}] must not be empty"
            )));
        }
        if self.refresh_interval.0.is_zero() {
            return Err(Fatal(format!(
                "oci_sd: refresh_interval must be positive, got {}",
                self.refresh_interval
            )));
        }
        self.http.validate()
    }

    /// Joins relative file names (the HTTP client's, `key_file`, `key_passphrase_file`)
    /// with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
        crate::join_dir(dir, &mut self.key_file);
        crate::join_dir(dir, &mut self.key_passphrase_file);
    }
}

impl Decode for OciSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "oci.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<OciSdConfig, String> {
        let mut c = OciSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    const API_KEY: &str =
        "region: us-ashburn-1\ntenancy: t\nuser: u\nfingerprint: f\nkey_file: k\n";

    #[test]
    fn defaults_are_filled_in() {
        let c = decode(API_KEY).unwrap();
        assert_eq!(c.auth, "api_key");
        assert_eq!(c.port, 80);
        assert_eq!(c.refresh_interval.to_string(), "1m");
        assert!(c.http.follow_redirects && c.http.enable_http2);
    }

    #[test]
    fn checks_in_upstream_order() {
        assert_eq!(
            decode("auth: x\n").unwrap_err(),
            "oci_sd: region is required"
        );
        assert_eq!(
            decode("auth: invalid\nregion: r\n").unwrap_err(),
            r#"oci_sd: unknown auth method "invalid", expected "api_key" or "instance_principal""#
        );
        assert_eq!(
            decode("region: r\ntenancy: t\n").unwrap_err(),
            "oci_sd: api_key auth requires user"
        );
        assert!(decode("auth: instance_principal\nregion: r\nuser: u\n")
            .unwrap_err()
            .starts_with("oci_sd: instance_principal auth must not have"));
        assert_eq!(
            decode(&format!("{API_KEY}compartments: [a, '']\n")).unwrap_err(),
            "oci_sd: compartments[1] must not be empty"
        );
        assert_eq!(
            decode(&format!("{API_KEY}refresh_interval: 0\n")).unwrap_err(),
            "oci_sd: refresh_interval must be positive, got 0s"
        );
        assert_eq!(
            decode(&format!("{API_KEY}portt: 1\n")).unwrap_err(),
            "yaml: unmarshal errors:\n  line 6: field portt not found in type oci.plain"
        );
    }
}
