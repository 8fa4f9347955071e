//! `ionos_sd_configs`: servers of an IONOS Cloud data center (Go's `discovery/ionos`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::PromDuration;

/// One `ionos_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IonosSdConfig {
    /// The data center whose servers are discovered.
    pub datacenter_id: String,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub refresh_interval: PromDuration,
    pub port: isize,
}

goyaml::fields!(IonosSdConfig as "ionos.plain" {
    "datacenter_id" => datacenter_id,
    "refresh_interval" => refresh_interval,
    "port" => port,
} inline http);

impl IonosSdConfig {
    /// Upstream's `DefaultSDConfig`: port 80, refreshed every minute, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            datacenter_id: String::new(),
            http: HttpClientConfig::defaults(),
            refresh_interval: PromDuration(Duration::from_secs(60)),
            port: 80,
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for IonosSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.datacenter_id.is_empty() {
            return Err(Fatal::new("datacenter id can't be empty"));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "ionos.SDConfig".into()
    }
}
