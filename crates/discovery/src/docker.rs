//! `docker_sd_configs` (upstream's `discovery/moby`, `DockerDiscovery`): every
//! `refresh_interval`, the containers (with the configured `filters`) and networks of a
//! Docker daemon, over its Unix socket or TCP, become one group (source `Docker`): a target
//! per TCP port per network of each container, or one at `port` (or
//! `host_networking_host` in host networking mode) for a container without ports, with the
//! `__meta_docker_*` labels.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use promconfig::sd::moby::DockerSdConfig;
use serde::Deserialize;

use crate::{
    join_host_port, null_as_default, sanitize_label_name, Discoverer, DiscoveryError, Group,
    LabelSet, Updates,
};

/// The most of one Docker API answer read.
const MAX_ANSWER_BYTES: usize = 64 << 20;
/// The API version asked for when the daemon does not say its own (`/_ping`).
const DEFAULT_API_VERSION: &str = "1.41";

/// One `docker_sd_configs` entry, ready to run.
pub struct DockerDiscovery {
    client: reqwest::Client,
    /// `http://host:port` or, over a Unix socket, `http://docker`.
    base: String,
    /// Whether the job's HTTP client settings apply (an http or https `host`).
    http_settings: Option<promconfig::HttpClientConfig>,
    /// `filters` as the Docker API takes them (JSON), if any.
    filters: Option<String>,
    port: u16,
    host_networking_host: String,
    match_first_network: bool,
    interval: Duration,
    set_name: String,
}

impl DockerDiscovery {
    pub fn new(config: &DockerSdConfig, set_name: &str) -> Result<Self, DiscoveryError> {
        let err = |e: String| DiscoveryError(format!("error setting up docker client: {e}"));
        let timeout = config.refresh_interval.0.max(Duration::from_millis(1));
        let (client, base, http_settings) = if let Some(path) = config.host.strip_prefix("unix://")
        {
            let client = reqwest::Client::builder()
                .unix_socket(std::path::PathBuf::from(path))
                .timeout(timeout)
                .build()
                .map_err(|e| err(e.to_string()))?;
            (client, "http://docker".to_string(), None)
        } else if let Some(rest) = config.host.strip_prefix("tcp://") {
            let client = reqwest::Client::builder()
                .no_proxy()
                .timeout(timeout)
                .build()
                .map_err(|e| err(e.to_string()))?;
            (
                client,
                format!("http://{}", rest.trim_end_matches('/')),
                None,
            )
        } else if config.host.starts_with("http://") || config.host.starts_with("https://") {
            let client = httpclient::build_http_client(&config.http).map_err(|e| err(e.0))?;
            (
                client,
                config.host.trim_end_matches('/').to_string(),
                Some(config.http.clone()),
            )
        } else {
            return Err(err(format!(
                "unable to parse docker host `{}`",
                config.host
            )));
        };
        let mut filters: BTreeMap<&str, BTreeMap<&str, bool>> = BTreeMap::new();
        for f in &config.filters {
            for v in &f.values {
                filters.entry(&f.name).or_default().insert(v, true);
            }
        }
        let filters = (!filters.is_empty())
            .then(|| serde_json::to_string(&filters))
            .transpose()
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            client,
            base,
            http_settings,
            filters,
            port: u16::try_from(config.port)
                .map_err(|_| DiscoveryError(format!("invalid port {}", config.port)))?,
            host_networking_host: config.host_networking_host.clone(),
            match_first_network: config.match_first_network,
            interval: config.refresh_interval.0,
            set_name: set_name.to_string(),
        })
    }

    /// Lists the containers and networks once (upstream's `refresh`).
    pub async fn refresh(&mut self) -> Result<Vec<Group>, String> {
        crate::refresh::Refresh::refresh(self).await
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        let mut request = self.client.get(format!("{}{path}", self.base)).header(
            "User-Agent",
            concat!("Promethium/", env!("CARGO_PKG_VERSION")),
        );
        if let Some(http) = &self.http_settings {
            for (name, value) in httpclient::request_headers_with_oauth2(http).await? {
                request = request.header(name, value);
            }
        }
        request.send().await.map_err(|e| e.to_string())
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, String> {
        let response = self.get(path).await?;
        let status = response.status();
        let body = httpclient::read_body_limited(response, MAX_ANSWER_BYTES, || {
            format!("the answer to {path} is larger than {MAX_ANSWER_BYTES} bytes")
        })
        .await?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(format!("{path}: {status}: {}", text.trim()));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{path}: {e}"))
    }

    /// The API version prefix: the daemon's own version (`Api-Version` of `/_ping`), as
    /// the Docker client negotiates it.
    async fn api_prefix(&self) -> String {
        let version = match self.get("/_ping").await {
            Ok(r) => r
                .headers()
                .get("api-version")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim_matches('"').to_string()),
            Err(_) => None,
        };
        format!(
            "/v{}",
            version.unwrap_or_else(|| DEFAULT_API_VERSION.into())
        )
    }

    fn targets(&self, containers: &[Container], networks: &[Network]) -> Vec<LabelSet> {
        let network_labels: BTreeMap<&str, LabelSet> = networks
            .iter()
            .map(|n| (n.id.as_str(), network_labels(n, "__meta_docker_")))
            .collect();
        let by_id: BTreeMap<&str, &Container> =
            containers.iter().map(|c| (c.id.as_str(), c)).collect();
        let mut out = Vec::new();
        for c in containers {
            let Some(name) = c.names.first() else {
                continue;
            };
            let mut common = LabelSet::from([
                ("__meta_docker_container_id".into(), c.id.clone()),
                ("__meta_docker_container_name".into(), name.clone()),
                (
                    "__meta_docker_container_network_mode".into(),
                    c.host_config.network_mode.clone(),
                ),
            ]);
            if !c.image.is_empty() {
                common.insert("__meta_docker_container_image".into(), c.image.clone());
            }
            if !c.image_id.is_empty() {
                common.insert(
                    "__meta_docker_container_image_id".into(),
                    c.image_id.clone(),
                );
            }
            for (k, v) in &c.labels {
                common.insert(
                    format!("__meta_docker_container_label_{}", sanitize_label_name(k)),
                    v.clone(),
                );
            }
            let mut networks = &c.network_settings.networks;
            // `container:<id>` network mode: the networks of the container it joins.
            let mut mode = c.host_config.network_mode.as_str();
            if networks.is_empty() {
                while let Some(joined) = mode.strip_prefix("container:") {
                    let Some(other) = by_id.get(joined) else {
                        break;
                    };
                    networks = &other.network_settings.networks;
                    mode = other.host_config.network_mode.as_str();
                    if !networks.is_empty() {
                        break;
                    }
                }
            }
            let mut chosen: Vec<&Endpoint> = networks.values().flatten().collect();
            if self.match_first_network && networks.len() > 1 {
                // The first network by name, as upstream sorts the keys.
                chosen = networks.values().flatten().take(1).collect();
            }
            for n in chosen {
                let ip = if !n.ip_address.is_empty() {
                    n.ip_address.clone()
                } else {
                    n.global_ipv6_address.clone()
                };
                let mut added = false;
                for p in c.ports.iter().filter(|p| p.kind == "tcp") {
                    let mut labels = LabelSet::from([
                        ("__meta_docker_network_ip".into(), ip.clone()),
                        (
                            "__meta_docker_port_private".into(),
                            p.private_port.to_string(),
                        ),
                    ]);
                    if p.public_port > 0 {
                        labels.insert(
                            "__meta_docker_port_public".into(),
                            p.public_port.to_string(),
                        );
                        labels.insert("__meta_docker_port_public_ip".into(), p.ip.clone());
                    }
                    labels.extend(common.iter().map(|(k, v)| (k.clone(), v.clone())));
                    if let Some(nl) = network_labels.get(n.network_id.as_str()) {
                        labels.extend(nl.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    labels.insert("__address__".into(), join_host_port(&ip, p.private_port));
                    out.push(labels);
                    added = true;
                }
                if !added {
                    let mut labels =
                        LabelSet::from([("__meta_docker_network_ip".into(), ip.clone())]);
                    labels.extend(common.iter().map(|(k, v)| (k.clone(), v.clone())));
                    if let Some(nl) = network_labels.get(n.network_id.as_str()) {
                        labels.extend(nl.iter().map(|(k, v)| (k.clone(), v.clone())));
                    }
                    let address = if c.host_config.network_mode != "host" {
                        join_host_port(&ip, self.port)
                    } else {
                        self.host_networking_host.clone()
                    };
                    labels.insert("__address__".into(), address);
                    out.push(labels);
                }
            }
        }
        out
    }
}

impl crate::refresh::Refresh for DockerDiscovery {
    async fn refresh(&mut self) -> Result<Vec<Group>, String> {
        let prefix = self.api_prefix().await;
        let mut path = format!("{prefix}/containers/json");
        if let Some(filters) = &self.filters {
            path.push_str("?filters=");
            path.push_str(&percent_encode(filters));
        }
        let containers: Vec<Container> = self
            .get_json(&path)
            .await
            .map_err(|e| format!("error while listing containers: {e}"))?;
        let networks: Vec<Network> = self
            .get_json(&format!("{prefix}/networks"))
            .await
            .map_err(|e| format!("error while computing network labels: {e}"))?;
        Ok(vec![Group {
            source: "Docker".into(),
            targets: self.targets(&containers, &networks),
            labels: LabelSet::new(),
        }])
    }
}

impl Discoverer for DockerDiscovery {
    fn run(self: Box<Self>, updates: Updates) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let interval = self.interval;
        let set_name = self.set_name.clone();
        Box::pin(crate::refresh::run(
            "docker", set_name, interval, updates, *self,
        ))
    }
}

/// A network's labels (upstream's `getNetworksLabels`).
fn network_labels(n: &Network, prefix: &str) -> LabelSet {
    let mut labels = LabelSet::from([
        (format!("{prefix}network_id"), n.id.clone()),
        (format!("{prefix}network_name"), n.name.clone()),
        (format!("{prefix}network_scope"), n.scope.clone()),
        (format!("{prefix}network_internal"), n.internal.to_string()),
        (format!("{prefix}network_ingress"), n.ingress.to_string()),
    ]);
    for (k, v) in &n.labels {
        labels.insert(
            format!("{prefix}network_label_{}", sanitize_label_name(k)),
            v.clone(),
        );
    }
    labels
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Container {
    #[serde(rename = "Id", deserialize_with = "null_as_default")]
    id: String,
    #[serde(rename = "Names", deserialize_with = "null_as_default")]
    names: Vec<String>,
    #[serde(rename = "Image", deserialize_with = "null_as_default")]
    image: String,
    #[serde(rename = "ImageID", deserialize_with = "null_as_default")]
    image_id: String,
    #[serde(rename = "Ports", deserialize_with = "null_as_default")]
    ports: Vec<Port>,
    #[serde(rename = "Labels", deserialize_with = "null_as_default")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "HostConfig", deserialize_with = "null_as_default")]
    host_config: HostConfig,
    #[serde(rename = "NetworkSettings", deserialize_with = "null_as_default")]
    network_settings: NetworkSettings,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Port {
    #[serde(rename = "IP", deserialize_with = "null_as_default")]
    ip: String,
    #[serde(rename = "PrivatePort", deserialize_with = "null_as_default")]
    private_port: u16,
    #[serde(rename = "PublicPort", deserialize_with = "null_as_default")]
    public_port: u16,
    #[serde(rename = "Type", deserialize_with = "null_as_default")]
    kind: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HostConfig {
    #[serde(rename = "NetworkMode", deserialize_with = "null_as_default")]
    network_mode: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NetworkSettings {
    /// By network name, sorted (upstream sorts the names to pick the first).
    #[serde(rename = "Networks", deserialize_with = "null_as_default")]
    networks: BTreeMap<String, Option<Endpoint>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Endpoint {
    #[serde(rename = "NetworkID", deserialize_with = "null_as_default")]
    network_id: String,
    #[serde(rename = "IPAddress", deserialize_with = "null_as_default")]
    ip_address: String,
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "null_as_default")]
    global_ipv6_address: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Network {
    #[serde(rename = "Id", deserialize_with = "null_as_default")]
    id: String,
    #[serde(rename = "Name", deserialize_with = "null_as_default")]
    name: String,
    #[serde(rename = "Scope", deserialize_with = "null_as_default")]
    scope: String,
    #[serde(rename = "Internal", deserialize_with = "null_as_default")]
    internal: bool,
    #[serde(rename = "Ingress", deserialize_with = "null_as_default")]
    ingress: bool,
    #[serde(rename = "Labels", deserialize_with = "null_as_default")]
    labels: BTreeMap<String, String>,
}
