//! `ovhcloud_sd_configs`: OVHcloud dedicated servers and VPS (upstream
//! `discovery/ovhcloud`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::values::{PromDuration, Secret};

/// One `ovhcloud_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OvhcloudSdConfig {
    /// The API endpoint name or URL (`ovh-eu` by default).
    pub endpoint: String,
    pub application_key: String,
    pub application_secret: Secret,
    pub consumer_key: Secret,
    pub refresh_interval: PromDuration,
    /// `dedicated_server` or `vps`.
    pub service: String,
}

goyaml::fields!(OvhcloudSdConfig as "ovhcloud.plain" {
    "endpoint" => endpoint,
    "application_key" => application_key,
    "application_secret" => application_secret,
    "consumer_key" => consumer_key,
    "refresh_interval" => refresh_interval,
    "service" => service,
});

impl OvhcloudSdConfig {
    /// Upstream's `DefaultSDConfig`: the `ovh-eu` endpoint, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            endpoint: "ovh-eu".into(),
            refresh_interval: PromDuration(Duration::from_secs(60)),
            ..Self::default()
        }
    }

    /// Nothing to join: this section names no files.
    pub fn set_directory(&mut self, _dir: &Path) {}
}

impl Decode for OvhcloudSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.endpoint.is_empty() {
            return Err(Fatal::new("endpoint can not be empty"));
        }
        if self.application_key.is_empty() {
            return Err(Fatal::new("application key can not be empty"));
        }
        if self.application_secret.is_empty() {
            return Err(Fatal::new("application secret can not be empty"));
        }
        if self.consumer_key.is_empty() {
            return Err(Fatal::new("consumer key can not be empty"));
        }
        match self.service.as_str() {
            "dedicated_server" | "vps" => Ok(true),
            other => Err(Fatal(format!("unknown service: {other}"))),
        }
    }
    fn go_type() -> String {
        "ovhcloud.SDConfig".into()
    }
}
