//! `uyuni_sd_configs`: monitored systems of an Uyuni server (upstream `discovery/uyuni`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration, Secret};

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One `uyuni_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UyuniSdConfig {
    pub server: String,
    pub username: String,
    pub password: Secret,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub entitlement: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub separator: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub refresh_interval: PromDuration,
}

goyaml::fields!(UyuniSdConfig as "uyuni.plain" {
    "server" => server,
    "username" => username,
    "password" => password,
    "entitlement" => entitlement,
    "separator" => separator,
    "refresh_interval" => refresh_interval,
} inline http);

impl UyuniSdConfig {
    /// Upstream's `DefaultSDConfig`: systems entitled to monitoring, groups joined with
    /// `,`, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            entitlement: "monitoring_entitled".into(),
            separator: ",".into(),
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

impl Decode for UyuniSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.server.is_empty() {
            return Err(Fatal::new("Uyuni SD configuration requires server host"));
        }
        if let Err(e) = GoUrl::parse(&self.server) {
            return Err(Fatal(format!("Uyuni Server URL is not valid: {e}")));
        }
        if self.username.is_empty() {
            return Err(Fatal::new("Uyuni SD configuration requires a username"));
        }
        if self.password.is_empty() {
            return Err(Fatal::new("Uyuni SD configuration requires a password"));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "uyuni.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<UyuniSdConfig, String> {
        let mut c = UyuniSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults_and_errors() {
        let c =
            decode("server: https://localhost:1234\nusername: gopher\npassword: hole\n").unwrap();
        assert_eq!(c.entitlement, "monitoring_entitled");
        assert_eq!(c.separator, ",");
        assert_eq!(c.refresh_interval.to_string(), "1m");
        assert_eq!(
            decode("server:\n").unwrap_err(),
            "Uyuni SD configuration requires server host"
        );
        assert_eq!(
            decode("server: server\nusername: u\npassword: p\nbearer_token: foo\nbearer_token_file: foo\n")
                .unwrap_err(),
            "at most one of bearer_token & bearer_token_file must be configured"
        );
    }
}
