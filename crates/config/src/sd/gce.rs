//! `gce_sd_configs`: Google Compute Engine instances of one project and zone (Go's
//! `discovery/gce`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::values::PromDuration;

/// One `gce_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GceSdConfig {
    /// The Google Cloud project ID.
    pub project: String,
    /// The zone of the scrape targets.
    pub zone: String,
    /// An optional filter for the instance list.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter: String,
    pub refresh_interval: PromDuration,
    pub port: isize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_separator: String,
}

goyaml::fields!(GceSdConfig as "gce.plain" {
    "project" => project,
    "zone" => zone,
    "filter" => filter,
    "refresh_interval" => refresh_interval,
    "port" => port,
    "tag_separator" => tag_separator,
});

impl GceSdConfig {
    /// Upstream's `DefaultSDConfig`: port 80, tags joined with `,`, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            tag_separator: ",".into(),
            refresh_interval: PromDuration(Duration::from_secs(60)),
            ..Self::default()
        }
    }

    /// GCE discovery reads no files: nothing to join.
    pub fn set_directory(&mut self, _dir: &Path) {}
}

impl Decode for GceSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.project.is_empty() {
            return Err(Fatal::new("GCE SD configuration requires a project"));
        }
        if self.zone.is_empty() {
            return Err(Fatal::new("GCE SD configuration requires a zone"));
        }
        Ok(true)
    }
    fn go_type() -> String {
        "gce.SDConfig".into()
    }
}
