//! `triton_sd_configs`: Joyent Triton containers and compute nodes (upstream
//! `discovery/triton`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::TlsConfig;
use crate::values::PromDuration;

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One `triton_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TritonSdConfig {
    pub account: String,
    /// `container` (the default) or `cn`.
    pub role: String,
    pub dns_suffix: String,
    pub endpoint: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub port: isize,
    #[serde(skip_serializing_if = "is_zero")]
    pub refresh_interval: PromDuration,
    #[serde(skip_serializing_if = "is_zero")]
    pub tls_config: TlsConfig,
    pub version: isize,
}

goyaml::fields!(TritonSdConfig as "triton.plain" {
    "account" => account,
    "role" => role,
    "dns_suffix" => dns_suffix,
    "endpoint" => endpoint,
    "groups" => groups,
    "port" => port,
    "refresh_interval" => refresh_interval,
    "tls_config" => tls_config,
    "version" => version,
});

impl TritonSdConfig {
    /// Upstream's `DefaultSDConfig`: containers, port 9163, refreshed every minute,
    /// API version 1.
    pub fn defaults() -> Self {
        Self {
            role: "container".into(),
            port: 9163,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            version: 1,
            ..Self::default()
        }
    }

    /// Joins the relative TLS file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
    }
}

impl Decode for TritonSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.role != "container" && self.role != "cn" {
            return Err(Fatal::new(
                "triton SD configuration requires role to be 'container' or 'cn'",
            ));
        }
        if self.account.is_empty() {
            return Err(Fatal::new("triton SD configuration requires an account"));
        }
        if self.dns_suffix.is_empty() {
            return Err(Fatal::new("triton SD configuration requires a dns_suffix"));
        }
        if self.endpoint.is_empty() {
            return Err(Fatal::new("triton SD configuration requires an endpoint"));
        }
        if self.refresh_interval.0.is_zero() {
            return Err(Fatal::new(
                "triton SD configuration requires RefreshInterval to be a positive integer",
            ));
        }
        Ok(true)
    }
    fn go_type() -> String {
        "triton.SDConfig".into()
    }
}
