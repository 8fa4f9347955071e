//! `consul_sd_configs` (upstream's `discovery/consul`): the services of a Consul catalog,
//! each a group (source the service's name) with a target per instance the Health API
//! lists, carrying the `__meta_consul_*` labels.
//!
//! As upstream, every call is a blocking query (`index` of the last answer, `wait` of two
//! minutes), so a change arrives as soon as Consul reports it, and the calls of one watch
//! are at most one per `refresh_interval`. With no fixed `services` (or with `tags` or a
//! catalog `filter`), the catalog's service list is watched: a watcher starts for each
//! new service that `shouldWatch` accepts, and a service gone from the catalog has its
//! watcher stopped and an empty group sent for it. With fixed `services` alone, those are
//! watched directly. A failed call is logged, counted in
//! `prometheus_sd_consul_rpc_failures_total`, and retried after 15 seconds; the groups
//! last sent stay in force.

mod answers;
mod client;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use promconfig::sd::consul::ConsulSdConfig;

use crate::{Discoverer, DiscoveryError, Group, LabelSet, Updates};
use answers::agent_datacenter;
pub use answers::{parse_catalog_answer, parse_health_answer};
use client::{path_escape, Client};

/// How long Consul may hold a blocking query (upstream's `watchTimeout`).
const WATCH_TIMEOUT: Duration = Duration::from_secs(120);
/// The pause after a failed call (upstream's `retryInterval`).
const RETRY_INTERVAL: Duration = Duration::from_secs(15);
/// One `consul_sd_configs` entry, ready to run.
pub struct ConsulDiscovery {
    client: Client,
    /// The datacenter of the labels: the configured one, or the agent's.
    datacenter: String,
    tag_separator: String,
    services: Vec<String>,
    tags: Vec<String>,
    node_meta: BTreeMap<String, String>,
    filter: String,
    health_filter: String,
    allow_stale: bool,
    refresh_interval: Duration,
    set_name: String,
    /// Failing calls now, for the Service discovery page.
    health: crate::Health,
}

impl ConsulDiscovery {
    pub fn new(config: &ConsulSdConfig, set_name: &str) -> Result<Self, DiscoveryError> {
        Ok(Self {
            health: crate::Health::default(),
            client: Client::new(config)?,
            datacenter: config.datacenter.clone(),
            tag_separator: config.tag_separator.clone(),
            services: config.services.clone(),
            tags: config.tags.clone(),
            node_meta: config.node_meta.clone(),
            filter: config.filter.clone(),
            health_filter: config.health_filter.clone(),
            allow_stale: config.allow_stale,
            refresh_interval: config.refresh_interval.0,
            set_name: set_name.to_string(),
        })
    }

    /// Whether a catalog service of this name and these tags is watched (upstream's
    /// `shouldWatch`): its name among `services` (when any are set) and every one of
    /// `tags` among its tags.
    pub fn should_watch(&self, name: &str, tags: &[String]) -> bool {
        (self.services.is_empty() || self.services.iter().any(|s| s == name))
            && self.tags.iter().all(|wanted| tags.contains(wanted))
    }

    /// The datacenter the labels name: the configured one, or the agent's once
    /// [`get_datacenter`](Self::get_datacenter) found it.
    pub fn datacenter(&self) -> &str {
        &self.datacenter
    }

    /// Asks the agent (`/v1/agent/self`) for its datacenter when none is configured
    /// (upstream's `getDatacenter`); a failed call counts as an RPC failure, an answer
    /// without a datacenter does not.
    pub async fn get_datacenter(&mut self) -> Result<(), String> {
        if !self.datacenter.is_empty() {
            return Ok(());
        }
        let result = match self.client.get("/v1/agent/self", Vec::new()).await {
            Ok(answer) => agent_datacenter(&answer.body).map_err(|e| (e, false)),
            Err(e) => Err((e, true)),
        };
        match result {
            Ok(dc) => {
                self.health.succeeded("/v1/agent/self");
                self.datacenter = dc;
                Ok(())
            }
            Err((e, rpc_failed)) => {
                self.health.failed("/v1/agent/self", &e);
                tracing::error!(config = %self.set_name, err = %e, "Error retrieving datacenter name");
                if rpc_failed {
                    crate::metrics::consul_rpc_failure();
                }
                Err(e)
            }
        }
    }

    /// Upstream's `initialize`: asks for the datacenter until it is known, pausing
    /// between tries. False when the receiver went away meanwhile.
    async fn initialize(&mut self, updates: &Updates) -> bool {
        loop {
            if updates.is_closed() {
                return false;
            }
            if self.get_datacenter().await.is_ok() {
                return true;
            }
            if !pause(RETRY_INTERVAL, updates).await {
                return false;
            }
        }
    }

    /// Whether the catalog's service list must be watched (rather than fixed services).
    fn watches_catalog(&self) -> bool {
        self.services.is_empty() || !self.tags.is_empty() || !self.filter.is_empty()
    }

    /// The query parameters every blocking call carries, as upstream's `QueryOptions`.
    fn query_options(&self, index: u64, filter: &str) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if self.allow_stale {
            params.push(("stale", String::new()));
        }
        if index != 0 {
            params.push(("index", index.to_string()));
        }
        params.push(("wait", format!("{}ms", WATCH_TIMEOUT.as_millis())));
        if !filter.is_empty() {
            params.push(("filter", filter.to_string()));
        }
        for (k, v) in &self.node_meta {
            params.push(("node-meta", format!("{k}:{v}")));
        }
        params
    }

    /// Watches the catalog's service list until the receiver goes away (upstream's
    /// `Run` loop over `watchServices`).
    async fn watch_catalog(self: Arc<Self>, updates: Updates) {
        let mut ticker = Ticker::new(self.refresh_interval);
        let mut last_index = 0;
        let mut watchers = tokio::task::JoinSet::new();
        let mut services: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
        loop {
            if updates.is_closed() {
                return;
            }
            if !Arc::clone(&self)
                .watch_services(&updates, &mut last_index, &mut services, &mut watchers)
                .await
            {
                return;
            }
            // Watchers stopped before are reaped here.
            while watchers.try_join_next().is_some() {}
            tokio::select! {
                _ = ticker.tick() => {}
                _ = updates.closed() => return,
            }
        }
    }

    /// One look at the catalog (upstream's `watchServices`); false when the receiver
    /// went away.
    async fn watch_services(
        self: Arc<Self>,
        updates: &Updates,
        last_index: &mut u64,
        services: &mut HashMap<String, tokio::task::AbortHandle>,
        watchers: &mut tokio::task::JoinSet<()>,
    ) -> bool {
        tracing::debug!(config = %self.set_name, tags = %self.tags.join(","), filter = %self.filter, "Watching services");
        let params = self.query_options(*last_index, &self.filter);
        let started = Instant::now();
        let result = tokio::select! {
            r = self.client.get("/v1/catalog/services", params) => r,
            _ = updates.closed() => return false,
        };
        crate::metrics::consul_rpc("services", started.elapsed());
        let (catalog, index) = match result
            .and_then(|a| Ok((parse_catalog_answer(&a.body)?, a.index)))
        {
            Ok(a) => {
                self.health.succeeded("/v1/catalog/services");
                a
            }
            Err(e) => {
                self.health.failed("/v1/catalog/services", &e);
                tracing::error!(config = %self.set_name, err = %e, "Error refreshing service list");
                crate::metrics::consul_rpc_failure();
                return pause(RETRY_INTERVAL, updates).await;
            }
        };
        // The same index: the wait ended without a change.
        if index == *last_index {
            return true;
        }
        *last_index = index;

        for (name, tags) in &catalog {
            if !self.should_watch(name, tags) || services.contains_key(name) {
                continue;
            }
            let watcher = Arc::clone(&self).watch_service(name.clone(), updates.clone());
            services.insert(name.clone(), watchers.spawn(watcher));
        }

        let gone: Vec<String> = services
            .keys()
            .filter(|name| !catalog.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            if let Some(watcher) = services.remove(&name) {
                watcher.abort();
            }
            let cleared = vec![Group {
                source: name,
                ..Group::default()
            }];
            if updates.send(cleared).await.is_err() {
                return false;
            }
        }

        // No service watched: an empty group says there are no targets.
        if services.is_empty() && updates.send(vec![Group::default()]).await.is_err() {
            return false;
        }
        true
    }

    /// Watches one service's instances until the receiver goes away or the watcher is
    /// stopped (upstream's `watchService`).
    async fn watch_service(self: Arc<Self>, name: String, updates: Updates) {
        let labels = LabelSet::from([
            ("__meta_consul_service".to_string(), name.clone()),
            ("__meta_consul_dc".to_string(), self.datacenter.clone()),
        ]);
        let mut ticker = Ticker::new(self.refresh_interval);
        let mut last_index = 0;
        loop {
            if updates.is_closed() {
                return;
            }
            if !self.watch(&name, &labels, &updates, &mut last_index).await {
                return;
            }
            tokio::select! {
                _ = ticker.tick() => {}
                _ = updates.closed() => return,
            }
        }
    }

    /// One look at a service's instances (upstream's `consulService.watch`); false when
    /// the receiver went away.
    async fn watch(
        &self,
        name: &str,
        labels: &LabelSet,
        updates: &Updates,
        last_index: &mut u64,
    ) -> bool {
        tracing::debug!(config = %self.set_name, service = name, tags = %self.tags.join(","), "Watching service");
        let mut params = self.query_options(*last_index, &self.health_filter);
        for tag in &self.tags {
            params.push(("tag", tag.clone()));
        }
        let path = format!("/v1/health/service/{}", path_escape(name));
        let started = Instant::now();
        let result = tokio::select! {
            r = self.client.get(&path, params) => r,
            _ = updates.closed() => return false,
        };
        crate::metrics::consul_rpc("service", started.elapsed());
        let parsed =
            result.and_then(|a| Ok((parse_health_answer(&a.body, &self.tag_separator)?, a.index)));
        let (targets, index) = match parsed {
            Ok(a) => {
                self.health.succeeded(&path);
                a
            }
            Err(e) => {
                self.health.failed(&path, &e);
                tracing::error!(config = %self.set_name, service = name, tags = %self.tags.join(","), err = %e, "Error refreshing service");
                crate::metrics::consul_rpc_failure();
                return pause(RETRY_INTERVAL, updates).await;
            }
        };
        if index == *last_index {
            return true;
        }
        *last_index = index;
        let group = Group {
            source: name.to_string(),
            targets,
            labels: labels.clone(),
        };
        updates.send(vec![group]).await.is_ok()
    }
}

impl Discoverer for ConsulDiscovery {
    fn run(self: Box<Self>, updates: Updates) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let mut discovery = *self;
            crate::health::register(&discovery.set_name, "consul", &discovery.health);
            if !discovery.initialize(&updates).await {
                return;
            }
            let discovery = Arc::new(discovery);
            if discovery.watches_catalog() {
                discovery.watch_catalog(updates).await;
            } else {
                // Dropped with this future: the watchers stop with it.
                let mut watchers = tokio::task::JoinSet::new();
                for name in &discovery.services {
                    watchers
                        .spawn(Arc::clone(&discovery).watch_service(name.clone(), updates.clone()));
                }
                updates.closed().await;
            }
        })
    }
}

/// Go's `http.Client` ticker as upstream uses it between calls: the first tick one
/// interval after the start, a tick missed while a call ran taken at once, further
/// missed ones dropped.
struct Ticker {
    next: tokio::time::Instant,
    interval: Duration,
}

impl Ticker {
    fn new(interval: Duration) -> Self {
        // Upstream's ticker refuses a zero interval; it must not spin here either.
        let interval = interval.max(Duration::from_millis(100));
        Self {
            next: tokio::time::Instant::now() + interval,
            interval,
        }
    }

    async fn tick(&mut self) {
        tokio::time::sleep_until(self.next).await;
        let now = tokio::time::Instant::now();
        while self.next <= now {
            self.next += self.interval;
        }
    }
}

/// Waits `how_long` unless the receiver goes away first (then false).
async fn pause(how_long: Duration, updates: &Updates) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(how_long) => true,
        _ = updates.closed() => false,
    }
}
