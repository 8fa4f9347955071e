//! `nomad_sd_configs`: services registered in HashiCorp Nomad (Go's `discovery/nomad`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::PromDuration;

/// One `nomad_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NomadSdConfig {
    pub allow_stale: bool,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub namespace: String,
    pub refresh_interval: PromDuration,
    pub region: String,
    /// The Nomad API address.
    pub server: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_separator: String,
}

goyaml::fields!(NomadSdConfig as "nomad.plain" {
    "allow_stale" => allow_stale,
    "namespace" => namespace,
    "refresh_interval" => refresh_interval,
    "region" => region,
    "server" => server,
    "tag_separator" => tag_separator,
} inline http);

impl NomadSdConfig {
    /// Upstream's `DefaultSDConfig`: stale reads allowed, namespace `default`, region
    /// `global`, server `http://localhost:4646`, tags joined with `,`, refreshed every
    /// minute, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            allow_stale: true,
            http: HttpClientConfig::defaults(),
            namespace: "default".into(),
            refresh_interval: PromDuration(Duration::from_secs(60)),
            region: "global".into(),
            server: "http://localhost:4646".into(),
            tag_separator: ",".into(),
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for NomadSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.server.trim().is_empty() {
            return Err(Fatal::new(
                "nomad SD configuration requires a server address",
            ));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "nomad.SDConfig".into()
    }
}
