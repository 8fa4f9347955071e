//! `docker_sd_configs` and `dockerswarm_sd_configs`: containers of a Docker engine and
//! services, tasks or nodes of a Docker Swarm (Go's `discovery/moby`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{GoUrl, PromDuration};

/// A filter passed to the Docker API to narrow down what is listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}
goyaml::fields!(Filter as "moby.Filter" {
    "name" => name,
    "values" => values,
});
goyaml::plain!(Filter);

/// One `docker_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DockerSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    /// The Docker daemon address (`unix:///var/run/docker.sock`, `tcp://…`, `http://…`).
    pub host: String,
    pub port: isize,
    pub filters: Vec<Filter>,
    /// The host used for containers in host networking mode.
    pub host_networking_host: String,
    pub refresh_interval: PromDuration,
    pub match_first_network: bool,
}

goyaml::fields!(DockerSdConfig as "moby.plain" {
    "host" => host,
    "port" => port,
    "filters" => filters,
    "host_networking_host" => host_networking_host,
    "refresh_interval" => refresh_interval,
    "match_first_network" => match_first_network,
} inline http);

impl DockerSdConfig {
    /// Upstream's `DefaultDockerSDConfig`: port 80, no filters, `localhost` for host
    /// networking, first network only, refreshed every minute, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            http: HttpClientConfig::defaults(),
            host: String::new(),
            port: 80,
            filters: Vec::new(),
            host_networking_host: "localhost".into(),
            refresh_interval: PromDuration(Duration::from_secs(60)),
            match_first_network: true,
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

/// The checks both Docker configs make on `host`.
fn check_host(host: &str) -> Result<(), Fatal> {
    if host.is_empty() {
        return Err(Fatal::new("host missing"));
    }
    GoUrl::parse(host).map_err(Fatal)?;
    Ok(())
}

impl Decode for DockerSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        check_host(&self.host)?;
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "moby.DockerSDConfig".into()
    }
}

/// One `dockerswarm_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DockerSwarmSdConfig {
    #[serde(flatten)]
    pub http: HttpClientConfig,
    /// The Docker daemon address.
    pub host: String,
    /// What to discover: `services`, `tasks` or `nodes`.
    pub role: String,
    pub port: isize,
    pub filters: Vec<Filter>,
    pub refresh_interval: PromDuration,
}

goyaml::fields!(DockerSwarmSdConfig as "moby.plain" {
    "host" => host,
    "role" => role,
    "port" => port,
    "filters" => filters,
    "refresh_interval" => refresh_interval,
} inline http);

impl DockerSwarmSdConfig {
    /// Upstream's `DefaultDockerSwarmSDConfig`: port 80, no filters, refreshed every
    /// minute, default HTTP client.
    pub fn defaults() -> Self {
        Self {
            http: HttpClientConfig::defaults(),
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(60)),
            ..Self::default()
        }
    }

    /// Joins the HTTP client's relative file names with `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.http.set_directory(dir);
    }
}

impl Decode for DockerSwarmSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        check_host(&self.host)?;
        match self.role.as_str() {
            "services" | "nodes" | "tasks" => {}
            "" => return Err(Fatal::new("role missing (one of: tasks, services, nodes)")),
            role => {
                return Err(Fatal(format!(
                    "invalid role {role}, expected tasks, services, or nodes"
                )))
            }
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "moby.DockerSwarmSDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_defaults_and_checks() {
        let mut c = DockerSdConfig::default();
        goyaml::from_str("host: unix:///var/run/docker.sock\n", &mut c).unwrap();
        assert_eq!(c.port, 80);
        assert_eq!(c.host_networking_host, "localhost");
        assert!(c.match_first_network);
        let mut c = DockerSdConfig::default();
        assert_eq!(
            goyaml::from_str("port: 1\n", &mut c).unwrap_err(),
            "host missing"
        );
        let err = goyaml::from_str("host: \"http://a b\"\n", &mut c).unwrap_err();
        assert!(err.starts_with("parse \"http://a b\": "), "{err}");
    }

    #[test]
    fn swarm_roles() {
        let decode = |text: &str| {
            let mut c = DockerSwarmSdConfig::default();
            goyaml::from_str(text, &mut c).map(|_| c)
        };
        let c =
            decode("host: http://127.0.0.1:2375\nrole: nodes\nfilters: [{name: a, values: [b]}]\n")
                .unwrap();
        assert_eq!(c.role, "nodes");
        assert_eq!(c.filters[0].values, vec!["b"]);
        assert_eq!(
            decode("host: http://h\n").unwrap_err(),
            "role missing (one of: tasks, services, nodes)"
        );
        assert_eq!(
            decode("host: http://h\nrole: pods\n").unwrap_err(),
            "invalid role pods, expected tasks, services, or nodes"
        );
        let err = decode("host: http://h\nrole: nodes\nfilters: [{nme: a}]\n").unwrap_err();
        assert!(
            err.contains("field nme not found in type moby.Filter"),
            "{err}"
        );
    }
}
