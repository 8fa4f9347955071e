//! `marathon_sd_configs`: tasks of Marathon applications (Go's `discovery/marathon`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{PromDuration, Secret};

/// One `marathon_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MarathonSdConfig {
    /// The Marathon servers to ask (at least one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    pub refresh_interval: PromDuration,
    /// A DC/OS authentication token.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub auth_token: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_token_file: String,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}

goyaml::fields!(MarathonSdConfig as "marathon.plain" {
    "servers" => servers,
    "refresh_interval" => refresh_interval,
    "auth_token" => auth_token,
    "auth_token_file" => auth_token_file,
} inline http);

impl MarathonSdConfig {
    /// Upstream's `DefaultSDConfig`: refreshed every 30 seconds, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            refresh_interval: PromDuration(Duration::from_secs(30)),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names (HTTP client files, `auth_token_file`) with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
        crate::join_dir(dir, &mut self.auth_token_file);
    }
}

impl Decode for MarathonSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.servers.is_empty() {
            return Err(Fatal::new(
                "marathon_sd: must contain at least one Marathon server",
            ));
        }
        let token = !self.auth_token.is_empty();
        let token_file = !self.auth_token_file.is_empty();
        if token && token_file {
            return Err(Fatal::new(
                "marathon_sd: at most one of auth_token & auth_token_file must be configured",
            ));
        }
        if token || token_file {
            if self.http.basic_auth.is_some() {
                return Err(Fatal::new(
                    "marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured",
                ));
            }
            if !self.http.bearer_token.is_empty() || !self.http.bearer_token_file.is_empty() {
                return Err(Fatal::new(
                    "marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be configured",
                ));
            }
            if self.http.authorization.is_some() {
                return Err(Fatal::new(
                    "marathon_sd: at most one of auth_token, auth_token_file & authorization must be configured",
                ));
            }
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "marathon.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<MarathonSdConfig, String> {
        let mut c = MarathonSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults_and_token_checks() {
        let c = decode("servers: [https://marathon.example.com:443]\nauth_token: s\n").unwrap();
        assert_eq!(c.refresh_interval.to_string(), "30s");
        assert_eq!(c.auth_token.expose(), "s");
        assert_eq!(
            decode("auth_token: s\n").unwrap_err(),
            "marathon_sd: must contain at least one Marathon server"
        );
        let cases = [
            (
                "auth_token: a\nauth_token_file: b\n",
                "auth_token & auth_token_file",
            ),
            (
                "auth_token: a\nbasic_auth: {username: u}\n",
                "basic_auth, auth_token",
            ),
            (
                "auth_token_file: a\nbearer_token: b\n",
                "bearer_token, bearer_token_file",
            ),
            (
                "auth_token: a\nauthorization: {credentials: c}\n",
                "auth_token, auth_token_file & authorization",
            ),
        ];
        for (extra, want) in cases {
            let err = decode(&format!("servers: [http://m]\n{extra}")).unwrap_err();
            assert!(
                err.starts_with("marathon_sd: at most one of ") && err.contains(want),
                "{err}"
            );
        }
    }
}
