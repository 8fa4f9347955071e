//! `outscale_sd_configs`: Outscale VMs (upstream `discovery/outscale`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{PromDuration, Secret};

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One `outscale_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutscaleSdConfig {
    /// The API endpoint; derived from the region when not given.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: Secret,
    pub secret_key_file: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub refresh_interval: PromDuration,
    pub port: isize,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}

goyaml::fields!(OutscaleSdConfig as "outscale.plain" {
    "endpoint" => endpoint,
    "region" => region,
    "access_key" => access_key,
    "secret_key" => secret_key,
    "secret_key_file" => secret_key_file,
    "refresh_interval" => refresh_interval,
    "port" => port,
} inline http);

impl OutscaleSdConfig {
    /// Upstream's `DefaultSDConfig`: region `eu-west-2`, port 80, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            http: HttpClientConfig::defaults(),
            region: "eu-west-2".into(),
            ..Self::default()
        }
    }

    /// Joins `secret_key_file` and the HTTP client's file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        crate::join_dir(dir, &mut self.secret_key_file);
        self.http.set_directory(dir);
    }
}

impl Decode for OutscaleSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.region.is_empty() {
            return Err(Fatal::new("outscale SD configuration requires a region"));
        }
        if self.access_key.is_empty() {
            return Err(Fatal::new("outscale SD configuration requires access_key"));
        }
        if self.secret_key.is_empty() && self.secret_key_file.is_empty() {
            return Err(Fatal::new(
                "one of secret_key & secret_key_file must be configured",
            ));
        }
        if !self.secret_key.is_empty() && !self.secret_key_file.is_empty() {
            return Err(Fatal::new(
                "at most one of secret_key & secret_key_file must be configured",
            ));
        }
        if self.endpoint.is_empty() {
            self.endpoint = format!("https://api.{}.outscale.com/api/v1", self.region);
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "outscale.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<OutscaleSdConfig, String> {
        let mut c = OutscaleSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn endpoint_from_region() {
        let c = decode("access_key: a\nsecret_key: s\n").unwrap();
        assert_eq!(c.region, "eu-west-2");
        assert_eq!(c.endpoint, "https://api.eu-west-2.outscale.com/api/v1");
        assert_eq!(c.port, 80);
        let c = decode("access_key: a\nsecret_key: s\nendpoint: https://x\n").unwrap();
        assert_eq!(c.endpoint, "https://x");
    }

    #[test]
    fn errors() {
        assert_eq!(
            decode("region: \"\"\naccess_key: a\nsecret_key: s\n").unwrap_err(),
            "outscale SD configuration requires a region"
        );
        assert_eq!(
            decode("access_key: a\n").unwrap_err(),
            "one of secret_key & secret_key_file must be configured"
        );
        assert_eq!(
            decode("access_key: a\nsecret_key: s\nsecret_key_file: f\n").unwrap_err(),
            "at most one of secret_key & secret_key_file must be configured"
        );
    }
}
