//! `puppetdb_sd_configs`: targets from a PuppetDB query (upstream `discovery/puppetdb`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration};

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One `puppetdb_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PuppetDbSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    #[serde(skip_serializing_if = "is_zero")]
    pub refresh_interval: PromDuration,
    /// The PuppetDB root URL (`http` or `https`).
    pub url: String,
    /// A PQL query returning resources.
    pub query: String,
    pub include_parameters: bool,
    pub port: isize,
}

goyaml::fields!(PuppetDbSdConfig as "puppetdb.plain" {
    "refresh_interval" => refresh_interval,
    "url" => url,
    "query" => query,
    "include_parameters" => include_parameters,
    "port" => port,
} inline http);

impl PuppetDbSdConfig {
    /// Upstream's `DefaultSDConfig`: port 80, refreshed every minute.
    pub fn defaults() -> Self {
        Self {
            refresh_interval: PromDuration(Duration::from_secs(60)),
            port: 80,
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for PuppetDbSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.url.is_empty() {
            return Err(Fatal::new("URL is missing"));
        }
        let url = GoUrl::parse(&self.url).map_err(Fatal)?;
        if url.scheme != "http" && url.scheme != "https" {
            return Err(Fatal::new("URL scheme must be 'http' or 'https'"));
        }
        if url.host.is_empty() {
            return Err(Fatal::new("host is missing in URL"));
        }
        if self.query.is_empty() {
            return Err(Fatal::new("query missing"));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "puppetdb.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<PuppetDbSdConfig, String> {
        let mut c = PuppetDbSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults() {
        let c = decode("url: https://puppetserver/\nquery: q\n").unwrap();
        assert_eq!(c.port, 80);
        assert_eq!(c.refresh_interval.to_string(), "1m");
        assert!(!c.include_parameters);
        assert!(c.http.follow_redirects);
    }

    #[test]
    fn errors() {
        for (text, err) in [
            ("query: q\n", "URL is missing"),
            (
                "url: ftp://puppet\nquery: q\n",
                "URL scheme must be 'http' or 'https'",
            ),
            ("url: http://\nquery: q\n", "host is missing in URL"),
            ("url: http://puppetserver/\n", "query missing"),
            (
                "url: http://puppet\nquery: q\nbearer_token: foo\nbearer_token_file: foo\n",
                "at most one of bearer_token & bearer_token_file must be configured",
            ),
            (
                "url: '://x'\nquery: q\n",
                "parse \"://x\": missing protocol scheme",
            ),
        ] {
            assert_eq!(decode(text).unwrap_err(), err, "{text}");
        }
    }
}
