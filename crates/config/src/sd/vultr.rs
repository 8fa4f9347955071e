//! `vultr_sd_configs`: Vultr instances (upstream `discovery/vultr`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::PromDuration;

/// One `vultr_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VultrSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub refresh_interval: PromDuration,
    pub port: isize,
}

goyaml::fields!(VultrSdConfig as "vultr.plain" {
    "refresh_interval" => refresh_interval,
    "port" => port,
} inline http);

impl VultrSdConfig {
    /// Upstream's `DefaultSDConfig`: port 80, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            http: HttpClientConfig::defaults(),
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for VultrSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "vultr.SDConfig".into()
    }
}
