//! `digitalocean_sd_configs`: DigitalOcean droplets or managed databases (upstream's
//! `discovery/digitalocean`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::{Serialize, Serializer};

use crate::http::HttpClientConfig;
use crate::values::PromDuration;

/// What a DigitalOcean discovery lists (Go's `digitalocean.Role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DigitalOceanRole {
    /// Not set (Go's empty string), refused once the section is read.
    #[default]
    Unset,
    Droplets,
    Databases,
}

impl DigitalOceanRole {
    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Droplets => "droplets",
            Self::Databases => "databases",
        }
    }
}

impl Serialize for DigitalOceanRole {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Decode for DigitalOceanRole {
    /// `Role.UnmarshalYAML`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "droplets" => Self::Droplets,
            "databases" => Self::Databases,
            _ => {
                return Err(Fatal(format!(
                    "unknown DigitalOcean SD role {}",
                    goyaml::go_quote(&text)
                )))
            }
        };
        Ok(true)
    }
    fn go_type() -> String {
        "digitalocean.Role".into()
    }
}

/// One `digitalocean_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DigitalOceanSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub refresh_interval: PromDuration,
    pub port: isize,
    pub role: DigitalOceanRole,
}
goyaml::fields!(DigitalOceanSdConfig as "digitalocean.plain" {
    "refresh_interval" => refresh_interval,
    "port" => port,
    "role" => role,
} inline http);

impl DigitalOceanSdConfig {
    /// Upstream's `DefaultSDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            http: HttpClientConfig::defaults(),
            role: DigitalOceanRole::Droplets,
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for DigitalOceanSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.role == DigitalOceanRole::Unset {
            return Err(Fatal::new("role missing (one of: droplets, databases)"));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "digitalocean.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<DigitalOceanSdConfig, String> {
        let mut value = DigitalOceanSdConfig::default();
        goyaml::from_str(text, &mut value).map(|_| value)
    }

    #[test]
    fn defaults_and_roles() {
        let c = decode("authorization:\n  credentials: abcdef\n").unwrap();
        assert_eq!(c.role, DigitalOceanRole::Droplets);
        assert_eq!(c.port, 80);
        assert_eq!(c.refresh_interval, PromDuration(Duration::from_secs(60)));
        assert_eq!(c.http.authorization.unwrap().kind, "Bearer");
        assert_eq!(
            decode("role: databases\n").unwrap().role,
            DigitalOceanRole::Databases
        );
        assert_eq!(
            decode("role: apps\n").unwrap_err(),
            r#"unknown DigitalOcean SD role "apps""#
        );
        assert_eq!(
            decode("role:\n").unwrap_err(),
            "role missing (one of: droplets, databases)"
        );
    }
}
