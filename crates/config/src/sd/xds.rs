//! `kuma_sd_configs`: targets from a Kuma control plane's xDS monitoring assignments
//! (upstream `discovery/xds`, whose base `SDConfig` the Kuma section is).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration};

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One `kuma_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KumaSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    #[serde(skip_serializing_if = "is_zero")]
    pub refresh_interval: PromDuration,
    #[serde(skip_serializing_if = "is_zero")]
    pub fetch_timeout: PromDuration,
    /// The control plane's URL (scheme and host required).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
}

goyaml::fields!(KumaSdConfig as "xds.plainKumaConf" {
    "refresh_interval" => refresh_interval,
    "fetch_timeout" => fetch_timeout,
    "server" => server,
    "client_id" => client_id,
} inline http);

impl KumaSdConfig {
    /// Upstream's `DefaultKumaSDConfig`: refreshed every 15 seconds, fetches time out
    /// after 2 minutes.
    pub fn defaults() -> Self {
        Self {
            http: HttpClientConfig::defaults(),
            refresh_interval: PromDuration(Duration::from_secs(15)),
            fetch_timeout: PromDuration(Duration::from_secs(120)),
            ..Self::default()
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for KumaSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.server.is_empty() {
            return Err(Fatal(format!(
                "kuma SD server must not be empty: {}",
                self.server
            )));
        }
        let url = GoUrl::parse(&self.server).map_err(Fatal)?;
        if url.scheme.is_empty() || url.host.is_empty() {
            return Err(Fatal(format!(
                "kuma SD server must not be empty and have a scheme: {}",
                self.server
            )));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "xds.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<KumaSdConfig, String> {
        let mut c = KumaSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults_and_errors() {
        let c = decode("server: http://kuma-control-plane.kuma-system.svc:5676\nclient_id: main\n")
            .unwrap();
        assert_eq!(c.refresh_interval.to_string(), "15s");
        assert_eq!(c.fetch_timeout.to_string(), "2m");
        assert_eq!(
            decode("client_id: x\n").unwrap_err(),
            "kuma SD server must not be empty: "
        );
        assert_eq!(
            decode("server: localhost:5676\n").unwrap_err(),
            "kuma SD server must not be empty and have a scheme: localhost:5676"
        );
        assert_eq!(
            decode("server: http://x\nfoo: 1\n").unwrap_err(),
            "yaml: unmarshal errors:\n  line 2: field foo not found in type xds.plainKumaConf"
        );
    }
}
