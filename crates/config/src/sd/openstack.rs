//! `openstack_sd_configs`: OpenStack Nova instances, hypervisors and Octavia load
//! balancers (upstream `discovery/openstack`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::{Serialize, Serializer};

use crate::http::TlsConfig;
use crate::values::{PromDuration, Secret};

/// What an OpenStack discovery lists (Go's `openstack.Role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OpenStackRole {
    /// Not set (Go's empty string); rejected by the section's checks.
    #[default]
    Unset,
    Hypervisor,
    Instance,
    LoadBalancer,
}

impl OpenStackRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Hypervisor => "hypervisor",
            Self::Instance => "instance",
            Self::LoadBalancer => "loadbalancer",
        }
    }
}

impl Serialize for OpenStackRole {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Decode for OpenStackRole {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "hypervisor" => Self::Hypervisor,
            "instance" => Self::Instance,
            "loadbalancer" => Self::LoadBalancer,
            _ => {
                return Err(Fatal(format!(
                    "unknown OpenStack SD role {}",
                    goyaml::go_quote(&text)
                )))
            }
        };
        Ok(true)
    }
    fn go_type() -> String {
        "openstack.Role".into()
    }
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One `openstack_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpenStackSdConfig {
    pub identity_endpoint: String,
    pub username: String,
    pub userid: String,
    pub password: Secret,
    pub project_name: String,
    pub project_id: String,
    pub domain_name: String,
    pub domain_id: String,
    pub application_credential_name: String,
    pub application_credential_id: String,
    pub application_credential_secret: Secret,
    pub role: OpenStackRole,
    pub region: String,
    pub refresh_interval: PromDuration,
    pub port: isize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub all_tenants: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub tls_config: TlsConfig,
    /// The endpoint availability: `public` (the default), `internal` or `admin`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub availability: String,
}

goyaml::fields!(OpenStackSdConfig as "openstack.plain" {
    "identity_endpoint" => identity_endpoint,
    "username" => username,
    "userid" => userid,
    "password" => password,
    "project_name" => project_name,
    "project_id" => project_id,
    "domain_name" => domain_name,
    "domain_id" => domain_id,
    "application_credential_name" => application_credential_name,
    "application_credential_id" => application_credential_id,
    "application_credential_secret" => application_credential_secret,
    "role" => role,
    "region" => region,
    "refresh_interval" => refresh_interval,
    "port" => port,
    "all_tenants" => all_tenants,
    "tls_config" => tls_config,
    "availability" => availability,
});

impl OpenStackSdConfig {
    /// Upstream's `DefaultSDConfig`: port 80, refreshed every minute, public endpoints.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            availability: "public".into(),
            ..Self::default()
        }
    }

    /// Joins the relative TLS file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
    }
}

impl Decode for OpenStackSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if !matches!(self.availability.as_str(), "public" | "internal" | "admin") {
            return Err(Fatal(format!(
                "unknown availability {}, must be one of admin, internal or public",
                self.availability
            )));
        }
        if self.role == OpenStackRole::Unset {
            return Err(Fatal::new(
                "role missing (one of: instance, hypervisor, loadbalancer)",
            ));
        }
        if self.region.is_empty() {
            return Err(Fatal::new("openstack SD configuration requires a region"));
        }
        Ok(true)
    }
    fn go_type() -> String {
        "openstack.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<OpenStackSdConfig, String> {
        let mut c = OpenStackSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults_and_role() {
        let c = decode("role: loadbalancer\nregion: RegionOne\n").unwrap();
        assert_eq!(c.role, OpenStackRole::LoadBalancer);
        assert_eq!(c.port, 80);
        assert_eq!(c.availability, "public");
        assert_eq!(c.refresh_interval.to_string(), "1m");
    }

    #[test]
    fn errors() {
        assert_eq!(
            decode("role: invalid\n").unwrap_err(),
            r#"unknown OpenStack SD role "invalid""#
        );
        assert_eq!(
            decode("availability: invalid\n").unwrap_err(),
            "unknown availability invalid, must be one of admin, internal or public"
        );
        assert_eq!(
            decode("region: r\n").unwrap_err(),
            "role missing (one of: instance, hypervisor, loadbalancer)"
        );
        assert_eq!(
            decode("role: instance\n").unwrap_err(),
            "openstack SD configuration requires a region"
        );
        assert_eq!(
            decode("role: instance\nregion: r\ntls_config:\n  cert_file: c\n").unwrap_err(),
            "exactly one of key or key_file must be configured when a client certificate is configured"
        );
    }
}
