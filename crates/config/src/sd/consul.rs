//! `consul_sd_configs`: services registered in a Consul catalog (upstream's
//! `discovery/consul`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::{BasicAuth, HttpClientConfig};
use crate::values::{PromDuration, Secret};

fn is_zero_duration(d: &PromDuration) -> bool {
    d.0.is_zero()
}

/// One `consul_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsulSdConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub server: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path_prefix: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub datacenter: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub partition: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_separator: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// Moved into `basic_auth` when the section is read.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Moved into `basic_auth` when the section is read.
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    /// Whether any server (not only the leader) may answer.
    pub allow_stale: bool,
    /// Zero means blocking queries that return on change.
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    /// The services to discover; empty means all of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Tags an instance must all have (`tags`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub node_meta: BTreeMap<String, String>,
    /// A Catalog API filter expression.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter: String,
    /// A Health API filter expression.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub health_filter: String,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(ConsulSdConfig as "consul.plain" {
    "server" => server,
    "path_prefix" => path_prefix,
    "token" => token,
    "datacenter" => datacenter,
    "namespace" => namespace,
    "partition" => partition,
    "tag_separator" => tag_separator,
    "scheme" => scheme,
    "username" => username,
    "password" => password,
    "allow_stale" => allow_stale,
    "refresh_interval" => refresh_interval,
    "services" => services,
    "tags" => tags,
    "node_meta" => node_meta,
    "filter" => filter,
    "health_filter" => health_filter,
} inline http);

impl ConsulSdConfig {
    /// Upstream's `DefaultSDConfig`.
    pub fn defaults() -> Self {
        Self {
            tag_separator: ",".into(),
            scheme: "http".into(),
            server: "localhost:8500".into(),
            allow_stale: true,
            refresh_interval: PromDuration(Duration::from_secs(30)),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Joins relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for ConsulSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.server.trim().is_empty() {
            return Err(Fatal::new(
                "consul SD configuration requires a server address",
            ));
        }
        if !self.username.is_empty() || !self.password.is_empty() {
            if self.http.basic_auth.is_some() {
                return Err(Fatal::new("at most one of consul SD configuration username and password and basic auth can be configured"));
            }
            self.http.basic_auth = Some(BasicAuth {
                username: self.username.clone(),
                password: self.password.clone(),
                ..BasicAuth::default()
            });
        }
        if !self.token.is_empty()
            && (self.http.authorization.is_some() || self.http.oauth2.is_some())
        {
            return Err(Fatal::new(
                "at most one of consul SD token, authorization, or oauth2 can be configured",
            ));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "consul.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<ConsulSdConfig, String> {
        let mut value = ConsulSdConfig::default();
        goyaml::from_str(text, &mut value).map(|_| value)
    }

    #[test]
    fn defaults_and_fields() {
        let c = decode("services: [a, b]\ntags: [t]\nnode_meta: {rack: \"1\"}\n").unwrap();
        assert_eq!(c.server, "localhost:8500");
        assert_eq!(c.scheme, "http");
        assert_eq!(c.tag_separator, ",");
        assert!(c.allow_stale);
        assert_eq!(c.refresh_interval, PromDuration(Duration::from_secs(30)));
        assert_eq!(c.services, vec!["a", "b"]);
        assert_eq!(c.tags, vec!["t"]);
        assert_eq!(c.node_meta.get("rack").map(String::as_str), Some("1"));
        assert!(c.http.enable_http2);
    }

    #[test]
    fn username_becomes_basic_auth() {
        let c = decode("username: u\npassword: p\n").unwrap();
        let auth = c.http.basic_auth.unwrap();
        assert_eq!((auth.username.as_str(), auth.password.expose()), ("u", "p"));
        assert_eq!(
            decode("username: u\nbasic_auth: {username: v}\n").unwrap_err(),
            "at most one of consul SD configuration username and password and basic auth can be configured"
        );
    }

    #[test]
    fn checks() {
        assert_eq!(
            decode("server: ' '\n").unwrap_err(),
            "consul SD configuration requires a server address"
        );
        assert_eq!(
            decode("token: t\nauthorization: {credentials: c}\n").unwrap_err(),
            "at most one of consul SD token, authorization, or oauth2 can be configured"
        );
        let err = decode("servr: x\n").unwrap_err();
        assert_eq!(
            err,
            "yaml: unmarshal errors:\n  line 1: field servr not found in type consul.plain"
        );
    }
}
