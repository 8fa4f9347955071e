//! `stackit_sd_configs`: STACKIT servers (upstream `discovery/stackit`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration, Secret};

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One `stackit_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StackitSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub project: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub refresh_interval: PromDuration,
    #[serde(skip_serializing_if = "is_zero")]
    pub port: isize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub service_account_key: Secret,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub private_key: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service_account_key_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub private_key_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub credentials_file_path: String,
}

goyaml::fields!(StackitSdConfig as "stackit.plain" {
    "project" => project,
    "refresh_interval" => refresh_interval,
    "port" => port,
    "region" => region,
    "endpoint" => endpoint,
    "service_account_key" => service_account_key,
    "private_key" => private_key,
    "service_account_key_path" => service_account_key_path,
    "private_key_path" => private_key_path,
    "credentials_file_path" => credentials_file_path,
} inline http);

impl StackitSdConfig {
    /// Upstream's `DefaultSDConfig`: region `eu01`, port 80, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            region: "eu01".into(),
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins the HTTP client's relative file names with `dir` (upstream leaves the key
    /// and credential paths as they are).
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for StackitSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.endpoint.is_empty() && self.region.is_empty() {
            return Err(Fatal::new("stackit_sd: endpoint and region missing"));
        }
        if let Err(e) = GoUrl::parse(&self.endpoint) {
            return Err(Fatal(format!(
                "stackit_sd: invalid endpoint {}: {e}",
                goyaml::go_quote(&self.endpoint)
            )));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "stackit.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<StackitSdConfig, String> {
        let mut c = StackitSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults_and_errors() {
        let c = decode("project: p\n").unwrap();
        assert_eq!(c.region, "eu01");
        assert_eq!(c.port, 80);
        assert_eq!(
            decode("endpoint: \"://invalid\"\n").unwrap_err(),
            r#"stackit_sd: invalid endpoint "://invalid": parse "://invalid": missing protocol scheme"#
        );
        assert_eq!(
            decode("region: \"\"\n").unwrap_err(),
            "stackit_sd: endpoint and region missing"
        );
    }
}
