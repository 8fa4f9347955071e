//! Service discovery: each mechanism of a job's `*_sd_configs` finds target groups (a
//! source, its targets' label sets and labels common to them) and sends the groups that
//! changed; a [`Set`] runs a job's mechanisms and hands the scrape manager every group it
//! holds, at most once per update period, as Prometheus's discovery manager does.
//!
//! Mechanisms: `http_sd_configs` ([`http`]), `dns_sd_configs` ([`dns`]),
//! `docker_sd_configs` ([`docker`]), `consul_sd_configs` ([`consul`]),
//! `kubernetes_sd_configs` ([`kubernetes`]). `static_configs` and `file_sd_configs` are
//! read by the scrape manager itself.

pub mod consul;
pub mod dns;
pub mod docker;
mod health;
pub mod http;
pub mod kubernetes;
mod metrics;
mod refresh;
mod set;
mod shared;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

pub use health::{snapshot as health_snapshot, Failure, Health, MechanismHealth};
pub use metrics::{snapshot as metrics_snapshot, MetricSample};
pub use set::{targets_of, Set};

/// Label names to values, as Prometheus's `model.LabelSet`.
pub type LabelSet = BTreeMap<String, String>;

/// A group of targets (upstream's `targetgroup.Group`): each target is a label set (at
/// least `__address__`), `labels` apply to all of them unless a target sets the same name,
/// and `source` names the group within its mechanism. A group without targets says its
/// source has none any more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    pub source: String,
    pub targets: Vec<LabelSet>,
    pub labels: LabelSet,
}

impl AsRef<Group> for Group {
    fn as_ref(&self) -> &Group {
        self
    }
}

/// Where a mechanism sends the groups it found (those that changed, or all of them).
pub type Updates = tokio::sync::mpsc::Sender<Vec<Group>>;

/// Where groups go once shared (a [`Set`] and a shared mechanism's subscribers hold
/// the same groups, not copies).
pub type SharedUpdates = tokio::sync::mpsc::Sender<Vec<std::sync::Arc<Group>>>;

/// One mechanism's configured instance, running until the receiving side is dropped.
pub trait Discoverer: Send + 'static {
    fn run(self: Box<Self>, updates: Updates) -> Pin<Box<dyn Future<Output = ()> + Send>>;

    /// As [`Discoverer::run`], sending the groups shared; a mechanism that holds shared
    /// groups already (a subscription to a shared one) sends them without copying.
    fn run_shared(
        self: Box<Self>,
        updates: SharedUpdates,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Group>>(1);
            let run = self.run(tx);
            tokio::pin!(run);
            loop {
                tokio::select! {
                    _ = &mut run => return,
                    groups = rx.recv() => {
                        let Some(groups) = groups else { return };
                        let shared = groups.into_iter().map(std::sync::Arc::new).collect();
                        if updates.send(shared).await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
    }

    /// Where the mechanism says whether it is failing, when it is shared between jobs
    /// (each job lists it); the others list their own health when they run.
    fn health(&self) -> Option<(&'static str, Health)> {
        None
    }
}

/// Go's `net.JoinHostPort`: IPv6 addresses (anything with a colon) in brackets.
pub(crate) fn join_host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Upstream's `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`.
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A JSON `null` read as the type's default, as Go's encoding/json leaves a field it
/// reads `null` for (the Docker, Consul and Kubernetes APIs write `null` for empty lists
/// and maps).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// Why a mechanism could not be started (its HTTP client settings, for one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryError(pub String);

impl std::fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DiscoveryError {}

/// The mechanisms of `sd` this crate runs, each named for its metrics by `set_name` (the
/// job name) and mechanism; a mechanism that cannot start is logged and left out, as
/// Prometheus counts it in `prometheus_sd_failed_configs`.
pub fn discoverers(sd: &promconfig::SdConfigs, set_name: &str) -> Vec<Box<dyn Discoverer>> {
    discoverers_for("scrape", sd, set_name)
}

/// As [`discoverers`], a mechanism that cannot start counted under `manager` (`notify`
/// for Alertmanagers).
pub fn discoverers_for(
    manager: &'static str,
    sd: &promconfig::SdConfigs,
    set_name: &str,
) -> Vec<Box<dyn Discoverer>> {
    let mut out: Vec<Box<dyn Discoverer>> = Vec::new();
    for cfg in sd.http_sd_configs.iter().flatten() {
        match http::HttpDiscovery::new(cfg, set_name) {
            Ok(d) => out.push(Box::new(d)),
            Err(e) => {
                metrics::failed_config(manager, set_name);
                tracing::error!(config = set_name, err = %e, "Cannot create service discovery")
            }
        }
    }
    for cfg in sd.dns_sd_configs.iter().flatten() {
        match dns::DnsDiscovery::new(cfg, set_name) {
            Ok(d) => out.push(Box::new(d)),
            Err(e) => {
                metrics::failed_config(manager, set_name);
                tracing::error!(config = set_name, err = %e, "Cannot create service discovery")
            }
        }
    }
    for cfg in sd.docker_sd_configs.iter().flatten() {
        match docker::DockerDiscovery::new(cfg, set_name) {
            Ok(d) => out.push(Box::new(d)),
            Err(e) => {
                metrics::failed_config(manager, set_name);
                tracing::error!(config = set_name, err = %e, "Cannot create service discovery")
            }
        }
    }
    for cfg in sd.consul_sd_configs.iter().flatten() {
        match consul::ConsulDiscovery::new(cfg, set_name) {
            Ok(d) => out.push(Box::new(d)),
            Err(e) => {
                metrics::failed_config(manager, set_name);
                tracing::error!(config = set_name, err = %e, "Cannot create service discovery")
            }
        }
    }
    // Kubernetes watches are shared by jobs configuring them alike (upstream's discovery
    // manager shares every provider so; for watches it matters).
    static KUBERNETES: shared::Registry<promconfig::sd::kubernetes::KubernetesSdConfig> =
        shared::Registry::new();
    for cfg in sd.kubernetes_sd_configs.iter().flatten() {
        let start = || {
            kubernetes::KubernetesDiscovery::new(cfg, set_name)
                .map(|d| Box::new(d) as Box<dyn Discoverer>)
        };
        match KUBERNETES.subscribe(cfg, start) {
            Ok(d) => {
                if let Some((mechanism, health)) = d.health() {
                    health::register(set_name, mechanism, &health);
                }
                out.push(d)
            }
            Err(e) => {
                metrics::failed_config(manager, set_name);
                tracing::error!(config = set_name, err = %e, "Cannot create service discovery")
            }
        }
    }
    out
}

/// Whether every mechanism of `sd` this crate runs can start (clients build, settings
/// make sense): what a configuration load fails on, naming the section.
pub fn check(sd: &promconfig::SdConfigs) -> Result<(), String> {
    for cfg in sd.http_sd_configs.iter().flatten() {
        http::HttpDiscovery::new(cfg, "").map_err(|e| format!("http_sd_configs: {e}"))?;
        if let Some(oauth2) = &cfg.http.oauth2 {
            httpclient::check_oauth2(oauth2).map_err(|e| format!("http_sd_configs: {e}"))?;
        }
    }
    for cfg in sd.dns_sd_configs.iter().flatten() {
        dns::DnsDiscovery::new(cfg, "").map_err(|e| format!("dns_sd_configs: {e}"))?;
    }
    for cfg in sd.docker_sd_configs.iter().flatten() {
        docker::DockerDiscovery::new(cfg, "").map_err(|e| format!("docker_sd_configs: {e}"))?;
        if let Some(oauth2) = &cfg.http.oauth2 {
            httpclient::check_oauth2(oauth2).map_err(|e| format!("docker_sd_configs: {e}"))?;
        }
    }
    for cfg in sd.consul_sd_configs.iter().flatten() {
        consul::ConsulDiscovery::new(cfg, "").map_err(|e| format!("consul_sd_configs: {e}"))?;
        if let Some(oauth2) = &cfg.http.oauth2 {
            httpclient::check_oauth2(oauth2).map_err(|e| format!("consul_sd_configs: {e}"))?;
        }
    }
    for cfg in sd.kubernetes_sd_configs.iter().flatten() {
        // Only what can be checked without the cluster: a kubeconfig file that reads and
        // HTTP client settings that build (the in-cluster account exists only in a pod).
        if !cfg.kubeconfig_file.is_empty() || cfg.api_server.is_some() {
            kubernetes::KubernetesDiscovery::new(cfg, "")
                .map_err(|e| format!("kubernetes_sd_configs: {e}"))?;
        }
        if let Some(oauth2) = &cfg.http.oauth2 {
            httpclient::check_oauth2(oauth2).map_err(|e| format!("kubernetes_sd_configs: {e}"))?;
        }
    }
    Ok(())
}

/// The `*_sd_configs` keys this crate runs.
pub const MECHANISMS: &[&str] = &[
    "http_sd_configs",
    "dns_sd_configs",
    "docker_sd_configs",
    "consul_sd_configs",
    "kubernetes_sd_configs",
];

/// Whether `sd` has a mechanism this crate runs.
pub fn has_discoverers(sd: &promconfig::SdConfigs) -> bool {
    !sd.http_sd_configs.is_empty()
        || !sd.dns_sd_configs.is_empty()
        || !sd.docker_sd_configs.is_empty()
        || !sd.consul_sd_configs.is_empty()
        || !sd.kubernetes_sd_configs.is_empty()
}
