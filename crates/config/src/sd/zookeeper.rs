//! `serverset_sd_configs` and `nerve_sd_configs`: Zookeeper-registered Finagle
//! serversets and AirBnB Nerve services (upstream `discovery/zookeeper`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::values::PromDuration;

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The checks the two sections share; `kind` names the section in the messages.
fn check(kind: &str, servers: &[String], paths: &[String]) -> Result<(), Fatal> {
    if servers.is_empty() {
        return Err(Fatal(format!(
            "{kind} SD config must contain at least one Zookeeper server"
        )));
    }
    if paths.is_empty() {
        return Err(Fatal(format!(
            "{kind} SD config must contain at least one path"
        )));
    }
    if let Some(path) = paths.iter().find(|p| !p.starts_with('/')) {
        return Err(Fatal(format!(
            "{kind} SD config paths must begin with '/': {path}"
        )));
    }
    Ok(())
}

/// One `serverset_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServersetSdConfig {
    pub servers: Vec<String>,
    pub paths: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: PromDuration,
}

goyaml::fields!(ServersetSdConfig as "zookeeper.plain" {
    "servers" => servers,
    "paths" => paths,
    "timeout" => timeout,
});

impl ServersetSdConfig {
    /// Upstream's `DefaultServersetSDConfig`: a 10 second session timeout.
    pub fn defaults() -> Self {
        Self {
            timeout: PromDuration(Duration::from_secs(10)),
            ..Self::default()
        }
    }

    /// Nothing to join: this section names no files.
    pub fn set_directory(&mut self, _dir: &Path) {}
}

impl Decode for ServersetSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        check("serverset", &self.servers, &self.paths)?;
        Ok(true)
    }
    fn go_type() -> String {
        "zookeeper.ServersetSDConfig".into()
    }
}

/// One `nerve_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NerveSdConfig {
    pub servers: Vec<String>,
    pub paths: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: PromDuration,
}

goyaml::fields!(NerveSdConfig as "zookeeper.plain" {
    "servers" => servers,
    "paths" => paths,
    "timeout" => timeout,
});

impl NerveSdConfig {
    /// Upstream's `DefaultNerveSDConfig`: a 10 second session timeout.
    pub fn defaults() -> Self {
        Self {
            timeout: PromDuration(Duration::from_secs(10)),
            ..Self::default()
        }
    }

    /// Nothing to join: this section names no files.
    pub fn set_directory(&mut self, _dir: &Path) {}
}

impl Decode for NerveSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        check("nerve", &self.servers, &self.paths)?;
        Ok(true)
    }
    fn go_type() -> String {
        "zookeeper.NerveSDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_errors() {
        let mut c = NerveSdConfig::default();
        goyaml::from_str("servers: [localhost]\npaths: [/monitoring]\n", &mut c).unwrap();
        assert_eq!(c.timeout.to_string(), "10s");
        let mut s = ServersetSdConfig::default();
        assert_eq!(
            goyaml::from_str("servers: [zk]\npaths: [x]\n", &mut s).unwrap_err(),
            "serverset SD config paths must begin with '/': x"
        );
        assert_eq!(
            goyaml::from_str("paths: [/x]\n", &mut c).unwrap_err(),
            "nerve SD config must contain at least one Zookeeper server"
        );
        assert_eq!(
            goyaml::from_str("servers: [zk]\n", &mut s).unwrap_err(),
            "serverset SD config must contain at least one path"
        );
    }
}
