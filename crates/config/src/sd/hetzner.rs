//! `hetzner_sd_configs`: servers of Hetzner Cloud (`hcloud`) or Hetzner Robot (`robot`)
//! (Go's `discovery/hetzner`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::PromDuration;

/// Which Hetzner API the targets come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HetznerRole {
    /// Not set (Go's empty `Role`), refused by the SD config's check.
    #[default]
    Unset,
    /// Hetzner Robot (dedicated servers).
    Robot,
    /// Hetzner Cloud.
    Hcloud,
}

impl HetznerRole {
    /// The role as written in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Robot => "robot",
            Self::Hcloud => "hcloud",
        }
    }
}

impl Serialize for HetznerRole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Decode for HetznerRole {
    /// Go's `Role.UnmarshalYAML`: a string, `robot` or `hcloud`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "robot" => Self::Robot,
            "hcloud" => Self::Hcloud,
            _ => return Err(Fatal(format!("unknown role {}", goyaml::go_quote(&text)))),
        };
        Ok(true)
    }
    fn go_type() -> String {
        "hetzner.Role".into()
    }
}

/// One `hetzner_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HetznerSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub refresh_interval: PromDuration,
    pub port: isize,
    pub role: HetznerRole,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
}

goyaml::fields!(HetznerSdConfig as "hetzner.plain" {
    "refresh_interval" => refresh_interval,
    "port" => port,
    "role" => role,
    "label_selector" => label_selector,
} inline http);

impl HetznerSdConfig {
    /// Upstream's `DefaultSDConfig`: port 80, refreshed every minute, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for HetznerSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.role == HetznerRole::Unset {
            return Err(Fatal::new("role missing (one of: robot, hcloud)"));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "hetzner.SDConfig".into()
    }
}
