//! `kubernetes_sd_configs` (upstream's `discovery/kubernetes`): the objects of one role
//! (nodes, services, pods, endpoints, endpoint slices or ingresses), in the configured
//! namespaces and selected by label and field selectors, become a group each with the
//! `__meta_kubernetes_*` labels; groups are sent as watch events change them.
//!
//! How it runs: a [`watch`] per collection the role needs (one per kind and namespace,
//! shared however many parts of the role read it) lists and then watches it and hands
//! updates to one task, which keeps every object in a [`store`] and, once every watch
//! has listed, builds the groups each change makes stale ([`role`]) — a batch per burst
//! of events. The client ([`client`]) is a thin one over the shared HTTP client rather
//! than kube-rs: discovery reads a few fields of six kinds, and decoding only those keeps
//! a large cluster's objects small (see ARCHITECTURE.md).

mod client;
pub mod connection;
mod endpoints;
mod endpointslice;
mod ingress;
mod labels;
mod node;
mod objects;
mod pod;
mod resource;
mod role;
mod service;
mod store;
mod watch;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use promconfig::sd::kubernetes::{AttachMetadataConfig, KubernetesRole, KubernetesSdConfig};
use tokio::sync::mpsc;

use crate::{Discoverer, DiscoveryError, Updates};
use client::ApiClient;
use resource::Kind;
use role::RoleState;
use watch::WatchSpec;

/// Updates buffered between the watches and the task building groups.
const UPDATE_QUEUE: usize = 1024;

/// One `kubernetes_sd_configs` entry, ready to run.
pub struct KubernetesDiscovery {
    api: Arc<ApiClient>,
    role: KubernetesRole,
    attach: AttachMetadataConfig,
    watches: Vec<WatchSpec>,
    health: crate::Health,
}

impl KubernetesDiscovery {
    pub fn new(config: &KubernetesSdConfig, _set_name: &str) -> Result<Self, DiscoveryError> {
        Self::with_service_account(config, &connection::service_account_dir(), |k| {
            std::env::var(k).ok()
        })
    }

    /// As [`KubernetesDiscovery::new`] for a config with `api_server`, discovering in
    /// `own` as the pod's own namespace (`namespaces.own_namespace`), which outside a
    /// pod only tests can give (upstream's tests set it the same way).
    #[doc(hidden)]
    pub fn with_own_namespace(
        config: &KubernetesSdConfig,
        own: &str,
    ) -> Result<Self, DiscoveryError> {
        let mut d = Self::new(config, "")?;
        let mut namespaces = config.namespaces.names.clone();
        namespaces.push(own.to_string());
        d.watches = watches(config, &namespaces);
        Ok(d)
    }

    /// How many collections this discovery watches (tests wait for them all).
    #[doc(hidden)]
    pub fn watch_count(&self) -> usize {
        self.watches.len()
    }

    /// As [`KubernetesDiscovery::new`], with the in-cluster service account read from
    /// `dir` and its address from `env` (tests give their own).
    #[doc(hidden)]
    pub fn with_service_account(
        config: &KubernetesSdConfig,
        dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, DiscoveryError> {
        let err = |e: String| DiscoveryError(e);
        let mut own_namespace = String::new();
        let connection = if !config.kubeconfig_file.is_empty() {
            connection::kubeconfig(&config.kubeconfig_file).map_err(err)?
        } else if let Some(url) = &config.api_server {
            connection::Connection {
                server: url.raw.trim_end_matches('/').to_string(),
                http: config.http.clone(),
            }
        } else {
            let c = connection::in_cluster(dir, env).map_err(err)?;
            if config.namespaces.own_namespace {
                own_namespace = connection::own_namespace(dir).map_err(err)?;
            }
            tracing::info!("Using pod service account via in-cluster config");
            c
        };
        let api = ApiClient::new(connection).map_err(err)?;
        let mut namespaces = config.namespaces.names.clone();
        if config.namespaces.own_namespace && !own_namespace.is_empty() {
            namespaces.push(own_namespace);
        }
        if namespaces.is_empty() {
            namespaces.push(String::new());
        }
        Ok(Self {
            api: Arc::new(api),
            role: config.role,
            attach: config.attach_metadata.clone(),
            watches: watches(config, &namespaces),
            health: crate::Health::default(),
        })
    }
}

/// What the fuzz target feeds in: `data` as a list page and as a watch stream of each
/// kind, the objects decoded from them stored and built into groups for every role (with
/// all metadata attached), as an API server's answers would be. Returns the groups built.
#[doc(hidden)]
pub fn decode_and_build(data: &[u8]) -> Vec<crate::Group> {
    use promconfig::sd::kubernetes::PodMetadataConfig;
    let kinds = [
        Kind::Pod,
        Kind::Node,
        Kind::Service,
        Kind::Endpoints,
        Kind::EndpointSlice,
        Kind::Ingress,
        Kind::Namespace,
        Kind::ReplicaSet,
        Kind::Job,
    ];
    let attach = AttachMetadataConfig {
        node: true,
        namespace: true,
        pod_metadata: PodMetadataConfig {
            deployment: true,
            job: true,
            cronjob: true,
        },
    };
    let mut groups = Vec::new();
    for role in [
        KubernetesRole::Pod,
        KubernetesRole::Node,
        KubernetesRole::Service,
        KubernetesRole::Endpoints,
        KubernetesRole::EndpointSlice,
        KubernetesRole::Ingress,
    ] {
        let mut state = RoleState::new(role, attach.clone());
        for kind in kinds {
            let mut updates = watch::decode_list(kind, data);
            updates.extend(watch::decode_events(kind, data));
            for update in updates {
                for change in state.store.apply(kind, "", update) {
                    state.on_change(&change);
                }
            }
        }
        groups.extend(state.take_groups());
    }
    groups
}

/// The collections a role reads, each once.
fn watches(config: &KubernetesSdConfig, namespaces: &[String]) -> Vec<WatchSpec> {
    let selector = |role: KubernetesRole| {
        config
            .selectors
            .iter()
            .find(|s| s.role == role)
            .map(|s| (s.label.clone(), s.field.clone()))
            .unwrap_or_default()
    };
    let mut out: Vec<WatchSpec> = Vec::new();
    let mut add = |kind: Kind, namespace: &str, role: Option<KubernetesRole>| {
        let (label_selector, field_selector) = role.map(selector).unwrap_or_default();
        let spec = WatchSpec {
            kind,
            namespace: if kind.cluster_scoped() {
                String::new()
            } else {
                namespace.to_string()
            },
            label_selector,
            field_selector,
        };
        if !out.contains(&spec) {
            out.push(spec);
        }
    };
    let attach = &config.attach_metadata;
    let role = config.role;
    let primary = RoleState::primary(role);
    for ns in namespaces {
        add(primary, ns, Some(role));
        if matches!(
            role,
            KubernetesRole::Endpoints | KubernetesRole::EndpointSlice
        ) {
            add(Kind::Service, ns, Some(KubernetesRole::Service));
            add(Kind::Pod, ns, Some(KubernetesRole::Pod));
        }
        let with_pods = matches!(
            role,
            KubernetesRole::Pod | KubernetesRole::Endpoints | KubernetesRole::EndpointSlice
        );
        if with_pods && attach.pod_metadata.deployment {
            add(Kind::ReplicaSet, ns, None);
        }
        if with_pods && (attach.pod_metadata.job || attach.pod_metadata.cronjob) {
            add(Kind::Job, ns, None);
        }
        if with_pods && attach.node {
            add(Kind::Node, "", Some(KubernetesRole::Node));
        }
        if role != KubernetesRole::Node && attach.namespace {
            add(Kind::Namespace, "", None);
        }
    }
    out
}

impl Discoverer for KubernetesDiscovery {
    fn health(&self) -> Option<(&'static str, crate::Health)> {
        Some(("kubernetes", self.health.clone()))
    }

    fn run(self: Box<Self>, updates: Updates) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.run_until_closed(updates))
    }
}

/// Aborts the watches when the discovery stops.
struct Watches(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Watches {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}

impl KubernetesDiscovery {
    async fn run_until_closed(self, updates: Updates) {
        let (tx, mut rx) = mpsc::channel(UPDATE_QUEUE);
        let _watches = Watches(
            self.watches
                .iter()
                .enumerate()
                .map(|(id, spec)| {
                    tokio::spawn(watch::run(
                        self.api.clone(),
                        spec.clone(),
                        id,
                        tx.clone(),
                        self.health.clone(),
                    ))
                })
                .collect(),
        );
        drop(tx);
        let mut listed = vec![false; self.watches.len()];
        let mut state = RoleState::new(self.role, self.attach.clone());
        loop {
            let next = tokio::select! {
                next = rx.recv() => next,
                _ = updates.closed() => return,
            };
            let Some(mut message) = next else { return };
            // Everything already queued is applied before groups are built: a burst of
            // events on one object sends its group once.
            loop {
                let (id, update) = message;
                if matches!(update, watch::Update::Listed(_)) {
                    listed[id] = true;
                }
                let spec = &self.watches[id];
                for change in state.store.apply(spec.kind, &spec.namespace, update) {
                    state.on_change(&change);
                }
                match rx.try_recv() {
                    Ok(m) => message = m,
                    Err(_) => break,
                }
            }
            if !listed.iter().all(|l| *l) {
                continue;
            }
            let groups = state.take_groups();
            if !groups.is_empty() && updates.send(groups).await.is_err() {
                return;
            }
        }
    }
}
