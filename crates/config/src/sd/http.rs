//! `http_sd_configs`: target groups fetched as JSON from an HTTP(S) endpoint (Go's
//! `discovery/http`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration};

/// One `http_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    pub refresh_interval: PromDuration,
    /// The endpoint serving the target groups.
    pub url: String,
}

goyaml::fields!(HttpSdConfig as "http.plain" {
    "refresh_interval" => refresh_interval,
    "url" => url,
} inline http);

impl HttpSdConfig {
    /// Upstream's `DefaultSDConfig`: refreshed every minute, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            http: HttpClientConfig::defaults(),
            refresh_interval: PromDuration(Duration::from_secs(60)),
            url: String::new(),
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for HttpSdConfig {
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
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "http.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<HttpSdConfig, String> {
        let mut c = HttpSdConfig::default();
        goyaml::from_str(text, &mut c).map(|_| c)
    }

    #[test]
    fn defaults_and_url_checks() {
        let c = decode("url: http://example.com/prometheus\n").unwrap();
        assert_eq!(c.refresh_interval.to_string(), "1m");
        assert!(c.http.follow_redirects && c.http.enable_http2);
        assert_eq!(
            decode("refresh_interval: 5s\n").unwrap_err(),
            "URL is missing"
        );
        for (url, err) in [
            ("ftp://example.com", "URL scheme must be 'http' or 'https'"),
            ("invalid", "URL scheme must be 'http' or 'https'"),
            ("http://", "host is missing in URL"),
        ] {
            assert_eq!(decode(&format!("url: {url}\n")).unwrap_err(), err);
        }
        let err = decode("url: http://foo\nbearer_token: a\nbearer_token_file: b\n").unwrap_err();
        assert_eq!(
            err,
            "at most one of bearer_token & bearer_token_file must be configured"
        );
        let err = decode("url: http://foo\nurl2: x\n").unwrap_err();
        assert!(
            err.contains("field url2 not found in type http.plain"),
            "{err}"
        );
    }
}
