//! `linode_sd_configs`: Linode instances (Go's `discovery/linode`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::PromDuration;

/// One `linode_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinodeSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub refresh_interval: PromDuration,
    pub port: isize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_separator: String,
    /// Only instances of this region, if set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
}

goyaml::fields!(LinodeSdConfig as "linode.plain" {
    "refresh_interval" => refresh_interval,
    "port" => port,
    "tag_separator" => tag_separator,
    "region" => region,
} inline http);

impl LinodeSdConfig {
    /// Upstream's `DefaultSDConfig`: port 80, tags joined with `,`, all regions, refreshed
    /// every minute, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            http: HttpClientConfig::defaults(),
            refresh_interval: PromDuration(Duration::from_secs(60)),
            port: 80,
            tag_separator: ",".into(),
            region: String::new(),
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for LinodeSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "linode.SDConfig".into()
    }
}
