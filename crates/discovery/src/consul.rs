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

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use promconfig::sd::consul::ConsulSdConfig;
use promconfig::HttpClientConfig;
use serde::Deserialize;

use crate::{
    join_host_port, null_as_default, sanitize_label_name, Discoverer, DiscoveryError, Group,
    LabelSet, Updates,
};

/// How long Consul may hold a blocking query (upstream's `watchTimeout`).
const WATCH_TIMEOUT: Duration = Duration::from_secs(120);
/// The pause after a failed call (upstream's `retryInterval`).
const RETRY_INTERVAL: Duration = Duration::from_secs(15);
/// A whole call's limit: the blocking wait and 15 seconds more, as upstream's client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(135);
/// The most of one Consul answer read: catalogs of a million instances fit.
const MAX_ANSWER_BYTES: usize = 64 << 20;

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
}

/// What upstream's Consul API client holds: where the agent is, and what every request
/// carries.
struct Client {
    http: reqwest::Client,
    /// `scheme://address` and the path prefix, before `/v1/...`.
    base: String,
    /// The job's HTTP settings whose headers go with each request (not over a Unix
    /// socket, for which upstream's client replaces the configured one).
    settings: Option<HttpClientConfig>,
    token: String,
    /// `dc`, `ns` and `partition` of every request, when set.
    datacenter: String,
    namespace: String,
    partition: String,
}

/// One call's answer: the body and `X-Consul-Index` (0 when missing or unreadable).
struct Answer {
    body: Vec<u8>,
    index: u64,
}

impl ConsulDiscovery {
    pub fn new(config: &ConsulSdConfig, set_name: &str) -> Result<Self, DiscoveryError> {
        Ok(Self {
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
                self.datacenter = dc;
                Ok(())
            }
            Err((e, rpc_failed)) => {
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
            Ok(a) => a,
            Err(e) => {
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
            Ok(a) => a,
            Err(e) => {
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

impl Client {
    /// Upstream's client configuration: `server` may name its scheme (`https://` sets
    /// it, `http://` leaves the configured one), carry a path prefix after the address
    /// (replacing `path_prefix`), or be a `unix://` socket; `CONSUL_HTTP_TOKEN`,
    /// `CONSUL_NAMESPACE` and `CONSUL_PARTITION` fill an unset token, namespace and
    /// partition, as Consul's API client reads them.
    fn new(config: &ConsulSdConfig) -> Result<Self, DiscoveryError> {
        let mut scheme = config.scheme.clone();
        let mut address = config.server.clone();
        let mut prefix = config.path_prefix.clone();
        let mut unix_socket = None;
        if let Some((kind, rest)) = config.server.split_once("://") {
            match kind {
                "http" => {}
                "https" => scheme = "https".into(),
                "unix" => unix_socket = Some(rest.to_string()),
                other => return Err(DiscoveryError(format!("Unknown protocol scheme: {other}"))),
            }
            address = rest.to_string();
            if kind != "unix" {
                if let Some((host, path)) = rest.split_once('/') {
                    address = host.to_string();
                    prefix = format!("/{path}");
                }
            }
        }
        if scheme.is_empty() {
            scheme = "http".into();
        }
        if !prefix.is_empty() && !prefix.starts_with('/') {
            prefix.insert(0, '/');
        }
        let (http, base, settings) = match unix_socket {
            Some(path) => {
                let client = reqwest::Client::builder()
                    .unix_socket(std::path::PathBuf::from(path))
                    .build()
                    .map_err(|e| DiscoveryError(format!("building the HTTP client: {e}")))?;
                (client, format!("{scheme}://localhost{prefix}"), None)
            }
            None => {
                let client =
                    httpclient::build_http_client(&config.http).map_err(|e| DiscoveryError(e.0))?;
                (
                    client,
                    format!("{scheme}://{address}{prefix}"),
                    Some(config.http.clone()),
                )
            }
        };
        let from_env = |value: &str, name: &str| {
            if value.is_empty() {
                std::env::var(name).unwrap_or_default()
            } else {
                value.to_string()
            }
        };
        Ok(Self {
            http,
            base,
            settings,
            token: from_env(config.token.expose(), "CONSUL_HTTP_TOKEN"),
            datacenter: config.datacenter.clone(),
            namespace: from_env(&config.namespace, "CONSUL_NAMESPACE"),
            partition: from_env(&config.partition, "CONSUL_PARTITION"),
        })
    }

    /// A GET of `path` with `params` (and the client's `dc`, `ns` and `partition`),
    /// in the order upstream's client encodes them (by name).
    async fn get(
        &self,
        path: &str,
        mut params: Vec<(&'static str, String)>,
    ) -> Result<Answer, String> {
        if !self.datacenter.is_empty() {
            params.push(("dc", self.datacenter.clone()));
        }
        if !self.namespace.is_empty() {
            params.push(("ns", self.namespace.clone()));
        }
        if !self.partition.is_empty() {
            params.push(("partition", self.partition.clone()));
        }
        let mut url = format!("{}{path}", self.base);
        if !params.is_empty() {
            url.push('?');
            url.push_str(&encode_query(params));
        }
        let mut request = self.http.get(&url).timeout(REQUEST_TIMEOUT).header(
            "User-Agent",
            concat!("Promethium/", env!("CARGO_PKG_VERSION")),
        );
        if let Some(settings) = &self.settings {
            for (name, value) in httpclient::request_headers_with_oauth2(settings).await? {
                request = request.header(name, value);
            }
        }
        if !self.token.is_empty() {
            request = request.header("X-Consul-Token", &self.token);
        }
        let response = request.send().await.map_err(|e| httpclient::describe(&e))?;
        let status = response.status();
        let index = response
            .headers()
            .get("x-consul-index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let body = httpclient::read_body_limited(response, MAX_ANSWER_BYTES, || {
            format!("the answer to {path} is larger than {MAX_ANSWER_BYTES} bytes")
        })
        .await?;
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "Unexpected response code: {} ({})",
                status.as_u16(),
                String::from_utf8_lossy(&body).trim()
            ));
        }
        Ok(Answer { body, index })
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

/// The first JSON value of a body, as Go's `json.Decoder` reads it (what follows it is
/// not looked at).
fn decode_first<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<T>();
    match values.next() {
        Some(value) => value.map_err(|e| e.to_string()),
        None => Err("EOF".into()),
    }
}

/// The datacenter in an `/v1/agent/self` answer (`Config.Datacenter`).
fn agent_datacenter(body: &[u8]) -> Result<String, String> {
    let info: Option<BTreeMap<String, Option<serde_json::Map<String, serde_json::Value>>>> =
        decode_first(body)?;
    let value = info
        .as_ref()
        .and_then(|i| i.get("Config"))
        .and_then(|c| c.as_ref())
        .and_then(|c| c.get("Datacenter"));
    match value {
        Some(serde_json::Value::String(dc)) => Ok(dc.clone()),
        other => Err(format!(
            "invalid value '{}' for Config.Datacenter",
            go_value(other.unwrap_or(&serde_json::Value::Null))
        )),
    }
}

/// A JSON value as Go's `%v` prints what encoding/json decoded it to.
fn go_value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), go_float),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(fields) => {
            let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
            fields.sort_by(|a, b| a.0.cmp(b.0));
            let fields: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect();
            format!("map[{}]", fields.join(" "))
        }
    }
}

/// A float64 as Go's `%v` prints it (`%g`, shortest digits): in exponent form below 1e-4
/// and from 1e6 on.
fn go_float(f: f64) -> String {
    let exp_form = format!("{f:e}");
    let Some((mantissa, exp)) = exp_form.split_once('e') else {
        return f.to_string();
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        f.to_string()
    }
}

/// The service list of a `/v1/catalog/services` answer: names and their tags.
pub fn parse_catalog_answer(body: &[u8]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let services: Option<BTreeMap<String, Option<Vec<Option<String>>>>> = decode_first(body)?;
    Ok(services
        .unwrap_or_default()
        .into_iter()
        .map(|(name, tags)| {
            let tags = tags
                .unwrap_or_default()
                .into_iter()
                .map(Option::unwrap_or_default);
            (name, tags.collect())
        })
        .collect())
}

/// A `/v1/health/service/<name>` answer's targets, labelled as upstream labels them;
/// tags are joined with `tag_separator`, which also surrounds them.
pub fn parse_health_answer(body: &[u8], tag_separator: &str) -> Result<Vec<LabelSet>, String> {
    let entries: Option<Vec<Option<ServiceEntry>>> = decode_first(body)?;
    Ok(entries
        .unwrap_or_default()
        .iter()
        .flatten()
        .map(|e| target(e, tag_separator))
        .collect())
}

/// One instance's label set (upstream's loop body of `consulService.watch`).
fn target(entry: &ServiceEntry, tag_separator: &str) -> LabelSet {
    let node = &entry.node;
    let service = &entry.service;
    // Surrounded by the separator, so that relabeling regexes need not care where a tag is.
    let tags = format!(
        "{tag_separator}{}{tag_separator}",
        service.tags.join(tag_separator)
    );
    // A service registered with its own address (perhaps through another node) is
    // reached there.
    let host = if service.address.is_empty() {
        &node.address
    } else {
        &service.address
    };
    let mut labels = LabelSet::from([
        (
            "__address__".to_string(),
            join_host_port(host, service.port),
        ),
        ("__meta_consul_address".into(), node.address.clone()),
        ("__meta_consul_node".into(), node.node.clone()),
        ("__meta_consul_namespace".into(), service.namespace.clone()),
        ("__meta_consul_partition".into(), service.partition.clone()),
        ("__meta_consul_tags".into(), tags),
        (
            "__meta_consul_service_address".into(),
            service.address.clone(),
        ),
        (
            "__meta_consul_service_port".into(),
            service.port.to_string(),
        ),
        ("__meta_consul_service_id".into(), service.id.clone()),
        (
            "__meta_consul_health".into(),
            aggregated_status(&entry.checks),
        ),
    ]);
    for (k, v) in &node.meta {
        labels.insert(
            format!("__meta_consul_metadata_{}", sanitize_label_name(k)),
            v.clone().unwrap_or_default(),
        );
    }
    for (k, v) in &service.meta {
        labels.insert(
            format!("__meta_consul_service_metadata_{}", sanitize_label_name(k)),
            v.clone().unwrap_or_default(),
        );
    }
    for (k, v) in &node.tagged_addresses {
        labels.insert(
            format!("__meta_consul_tagged_address_{}", sanitize_label_name(k)),
            v.clone().unwrap_or_default(),
        );
    }
    labels
}

/// Consul's `HealthChecks.AggregatedStatus`: maintenance over critical over warning over
/// passing (also for no checks); an unknown status makes it empty.
fn aggregated_status(checks: &[Option<HealthCheck>]) -> String {
    let (mut warning, mut critical, mut maintenance) = (false, false, false);
    for check in checks.iter().flatten() {
        if check.check_id == "_node_maintenance"
            || check.check_id.starts_with("_service_maintenance:")
        {
            maintenance = true;
            continue;
        }
        match check.status.as_str() {
            "passing" => {}
            "warning" => warning = true,
            "critical" => critical = true,
            _ => return String::new(),
        }
    }
    if maintenance {
        "maintenance"
    } else if critical {
        "critical"
    } else if warning {
        "warning"
    } else {
        "passing"
    }
    .into()
}

/// Go's `url.Values.Encode`: by name (values of one name in their order), each part
/// escaped as a query component.
fn encode_query(mut params: Vec<(&'static str, String)>) -> String {
    params.sort_by_key(|(name, _)| *name);
    params
        .iter()
        .map(|(name, value)| format!("{}={}", query_escape(name), query_escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A path as Go's `url.URL` escapes it (a service name within `/v1/health/service/`).
fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An instance as the Health API lists it (the fields upstream reads).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ServiceEntry {
    #[serde(rename = "Node", deserialize_with = "null_as_default")]
    node: Node,
    #[serde(rename = "Service", deserialize_with = "null_as_default")]
    service: AgentService,
    #[serde(rename = "Checks", deserialize_with = "null_as_default")]
    checks: Vec<Option<HealthCheck>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Node {
    #[serde(rename = "Node", deserialize_with = "null_as_default")]
    node: String,
    #[serde(rename = "Address", deserialize_with = "null_as_default")]
    address: String,
    #[serde(rename = "TaggedAddresses", deserialize_with = "null_as_default")]
    tagged_addresses: BTreeMap<String, Option<String>>,
    #[serde(rename = "Meta", deserialize_with = "null_as_default")]
    meta: BTreeMap<String, Option<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AgentService {
    #[serde(rename = "ID", deserialize_with = "null_as_default")]
    id: String,
    #[serde(rename = "Tags", deserialize_with = "tag_list")]
    tags: Vec<String>,
    #[serde(rename = "Meta", deserialize_with = "null_as_default")]
    meta: BTreeMap<String, Option<String>>,
    /// Go's `int`: any size, printed as it is.
    #[serde(rename = "Port", deserialize_with = "null_as_default")]
    port: i64,
    #[serde(rename = "Address", deserialize_with = "null_as_default")]
    address: String,
    #[serde(rename = "Namespace", deserialize_with = "null_as_default")]
    namespace: String,
    #[serde(rename = "Partition", deserialize_with = "null_as_default")]
    partition: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HealthCheck {
    #[serde(rename = "CheckID", deserialize_with = "null_as_default")]
    check_id: String,
    #[serde(rename = "Status", deserialize_with = "null_as_default")]
    status: String,
}

/// A tag list, `null` and `null` items read as Go reads them (none, and empty tags).
fn tag_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let tags: Option<Vec<Option<String>>> = Deserialize::deserialize(d)?;
    Ok(tags
        .unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_matches_go() {
        assert_eq!(
            encode_query(vec![
                ("wait", "120000ms".into()),
                ("node-meta", "rack_name:2304".into()),
                ("stale", String::new()),
                ("filter", r#"NodeMeta.rack_name == "2304""#.into()),
            ]),
            "filter=NodeMeta.rack_name+%3D%3D+%222304%22&node-meta=rack_name%3A2304&stale=&wait=120000ms"
        );
        assert_eq!(path_escape("a b?c/d:e"), "a%20b%3Fc/d:e");
    }

    #[test]
    fn go_values() {
        use serde_json::json;
        assert_eq!(go_value(&json!(null)), "<nil>");
        assert_eq!(go_value(&json!(5)), "5");
        assert_eq!(go_value(&json!(1.5)), "1.5");
        assert_eq!(go_value(&json!(123456)), "123456");
        assert_eq!(go_value(&json!(1000000)), "1e+06");
        assert_eq!(go_value(&json!(0.00001)), "1e-05");
        assert_eq!(go_value(&json!(0.0001)), "0.0001");
        assert_eq!(go_value(&json!([1, "a"])), "[1 a]");
        assert_eq!(
            go_value(&json!({"b": true, "a": null})),
            "map[a:<nil> b:true]"
        );
    }

    #[test]
    fn aggregated_status_as_consul() {
        let check = |id: &str, status: &str| {
            Some(HealthCheck {
                check_id: id.into(),
                status: status.into(),
            })
        };
        assert_eq!(aggregated_status(&[]), "passing");
        assert_eq!(
            aggregated_status(&[check("a", "passing"), check("b", "warning")]),
            "warning"
        );
        assert_eq!(
            aggregated_status(&[check("a", "critical"), check("b", "warning")]),
            "critical"
        );
        assert_eq!(
            aggregated_status(&[
                check("_service_maintenance:x", "critical"),
                check("b", "critical")
            ]),
            "maintenance"
        );
        assert_eq!(
            aggregated_status(&[check("_node_maintenance", "passing")]),
            "maintenance"
        );
        assert_eq!(
            aggregated_status(&[check("a", "critical"), check("b", "unknown")]),
            ""
        );
    }
}
