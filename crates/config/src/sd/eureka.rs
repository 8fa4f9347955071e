//! `eureka_sd_configs`: applications registered in a Netflix Eureka server (upstream's
//! `discovery/eureka`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration};

fn is_zero_duration(d: &PromDuration) -> bool {
    d.0.is_zero()
}

/// One `eureka_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EurekaSdConfig {
    /// The Eureka server's URL (`http://host:8761/eureka`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
}
goyaml::fields!(EurekaSdConfig as "eureka.plain" {
    "server" => server,
    "refresh_interval" => refresh_interval,
} inline http);

impl EurekaSdConfig {
    /// Upstream's `DefaultSDConfig`.
    pub fn defaults() -> Self {
        Self {
            server: String::new(),
            http: HttpClientConfig::defaults(),
            refresh_interval: PromDuration(Duration::from_secs(30)),
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for EurekaSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.server.is_empty() {
            return Err(Fatal::new("eureka_sd: empty or null eureka server"));
        }
        let url = GoUrl::parse(&self.server).map_err(Fatal)?;
        if url.scheme.is_empty() || url.host.is_empty() {
            return Err(Fatal::new("eureka_sd: invalid eureka server URL"));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "eureka.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<EurekaSdConfig, String> {
        let mut value = EurekaSdConfig::default();
        goyaml::from_str(text, &mut value).map(|_| value)
    }

    #[test]
    fn server_checks() {
        let c = decode("server: http://eureka.example.com:8761/eureka\n").unwrap();
        assert_eq!(c.refresh_interval, PromDuration(Duration::from_secs(30)));
        assert!(c.http.follow_redirects);
        assert_eq!(
            decode("server:\n").unwrap_err(),
            "eureka_sd: empty or null eureka server"
        );
        assert_eq!(
            decode("server: eureka.com\n").unwrap_err(),
            "eureka_sd: invalid eureka server URL"
        );
        assert_eq!(
            decode("server: '://x'\n").unwrap_err(),
            r#"parse "://x": missing protocol scheme"#
        );
    }
}
