//! The `prometheus_sd_*` metrics, named and labelled as Prometheus's discovery manager and
//! mechanisms name them, kept in one process-wide registry that `/metrics` reads.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// One sample of a metric family, for the server's `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// The family's name (a summary's samples add `_sum` and `_count`).
    pub family: &'static str,
    pub help: &'static str,
    /// `counter`, `gauge` or `summary`.
    pub kind: &'static str,
    /// The sample's name: the family's, or with `_sum`/`_count` for a summary.
    pub name: String,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

#[derive(Default)]
struct Registry {
    /// (config, mechanism) → failed refreshes.
    refresh_failures: BTreeMap<(String, &'static str), u64>,
    /// (config, mechanism) → (seconds spent, refreshes).
    refresh_durations: BTreeMap<(String, &'static str), (f64, u64)>,
    http_failures: u64,
    dns_lookups: u64,
    dns_lookup_failures: u64,
    consul_rpc_failures: u64,
    /// Consul call (`services` or `service`) → (seconds spent, calls).
    consul_rpc_durations: BTreeMap<&'static str, (f64, u64)>,
    /// (config, manager) → targets in its groups now; the manager is `scrape` or
    /// `notify`, as Prometheus's two discovery managers are named.
    discovered_targets: BTreeMap<(String, &'static str), usize>,
    /// manager → updates received from mechanisms, and sent to the consumer.
    received_updates: BTreeMap<&'static str, u64>,
    updates: BTreeMap<&'static str, u64>,
    /// (manager, config) → mechanisms that could not start.
    failed_configs: BTreeMap<(&'static str, String), usize>,
    /// (role, event) → Kubernetes events handled.
    kubernetes_events: BTreeMap<(&'static str, &'static str), u64>,
    kubernetes_failures: u64,
}

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn refreshed(config: &str, mechanism: &'static str, took: Duration, failed: bool) {
    let mut r = registry();
    let key = (config.to_string(), mechanism);
    let d = r.refresh_durations.entry(key.clone()).or_default();
    d.0 += took.as_secs_f64();
    d.1 += 1;
    let failures = r.refresh_failures.entry(key).or_default();
    if failed {
        *failures += 1;
    }
}

pub(crate) fn http_failure() {
    registry().http_failures += 1;
}

pub(crate) fn dns_lookup(failed: bool) {
    let mut r = registry();
    r.dns_lookups += 1;
    if failed {
        r.dns_lookup_failures += 1;
    }
}

/// A Consul API call that failed (upstream's `prometheus_sd_consul_rpc_failures_total`).
pub(crate) fn consul_rpc_failure() {
    registry().consul_rpc_failures += 1;
}

/// A Consul API call made: `call` is `services` (the catalog's service list) or
/// `service` (one service's instances), both under the `catalog` endpoint as upstream
/// labels them.
pub(crate) fn consul_rpc(call: &'static str, took: Duration) {
    let mut r = registry();
    let d = r.consul_rpc_durations.entry(call).or_default();
    d.0 += took.as_secs_f64();
    d.1 += 1;
}

pub(crate) fn received_update(manager: &'static str) {
    *registry().received_updates.entry(manager).or_default() += 1;
}

pub(crate) fn sent_update(manager: &'static str, config: &str, targets: usize) {
    let mut r = registry();
    *r.updates.entry(manager).or_default() += 1;
    r.discovered_targets
        .insert((config.to_string(), manager), targets);
}

/// A Kubernetes event a role handled (`event` is add, update or delete).
pub(crate) fn kubernetes_event(role: &'static str, event: &'static str) {
    *registry()
        .kubernetes_events
        .entry((role, event))
        .or_default() += 1;
}

/// A failed Kubernetes list or watch request.
pub(crate) fn kubernetes_failure() {
    registry().kubernetes_failures += 1;
}

/// The roles and events `prometheus_sd_kubernetes_events_total` always has, as
/// Prometheus registers them at start.
const KUBERNETES_ROLES: [&str; 6] = [
    "endpointslice",
    "endpoints",
    "node",
    "pod",
    "service",
    "ingress",
];
const KUBERNETES_EVENTS: [&str; 3] = ["add", "delete", "update"];

/// A set stopped (its job removed or changed): its gauges go with it.
pub(crate) fn forget(manager: &'static str, config: &str) {
    let mut r = registry();
    r.discovered_targets.remove(&(config.to_string(), manager));
    r.failed_configs.remove(&(manager, config.to_string()));
}

pub(crate) fn failed_config(manager: &'static str, config: &str) {
    *registry()
        .failed_configs
        .entry((manager, config.to_string()))
        .or_default() += 1;
}

/// Prometheus's two discovery managers, whose series exist from the start.
const MANAGERS: [&str; 2] = ["notify", "scrape"];

/// Every sample, family by family (families with no sample yet are left out).
pub fn snapshot() -> Vec<MetricSample> {
    let r = registry();
    let mut out = Vec::new();
    let sample = |family, help, kind, labels, value| MetricSample {
        family,
        help,
        kind,
        name: family.to_string(),
        labels,
        value,
    };
    for ((config, manager), n) in &r.discovered_targets {
        out.push(sample(
            "prometheus_sd_discovered_targets",
            "Current number of discovered targets.",
            "gauge",
            vec![("config", config.clone()), ("name", manager.to_string())],
            *n as f64,
        ));
    }
    for manager in MANAGERS {
        let failed: usize = r
            .failed_configs
            .iter()
            .filter(|((m, _), _)| *m == manager)
            .map(|(_, n)| n)
            .sum();
        out.push(sample(
            "prometheus_sd_failed_configs",
            "Current number of service discovery configurations that failed to load.",
            "gauge",
            vec![("name", manager.to_string())],
            failed as f64,
        ));
    }
    // The update counters appear once a manager has used them, as in Prometheus (whose
    // static configurations count too, so the scrape manager's are always there).
    let counters = [
        (
            "prometheus_sd_received_updates_total",
            "Total number of update events received from the SD providers.",
            &r.received_updates,
        ),
        (
            "prometheus_sd_updates_total",
            "Total number of update events sent to the SD consumers.",
            &r.updates,
        ),
    ];
    for (name, help, counts) in counters {
        for manager in MANAGERS
            .into_iter()
            .filter(|m| *m == "scrape" || counts.contains_key(m))
        {
            out.push(sample(
                name,
                help,
                "counter",
                vec![("name", manager.to_string())],
                counts.get(manager).copied().unwrap_or(0) as f64,
            ));
        }
    }
    out.push(sample(
        "prometheus_sd_http_failures_total",
        "Number of HTTP service discovery refresh failures.",
        "counter",
        Vec::new(),
        r.http_failures as f64,
    ));
    out.push(sample(
        "prometheus_sd_dns_lookups_total",
        "The number of DNS-SD lookups.",
        "counter",
        Vec::new(),
        r.dns_lookups as f64,
    ));
    out.push(sample(
        "prometheus_sd_dns_lookup_failures_total",
        "The number of DNS-SD lookup failures.",
        "counter",
        Vec::new(),
        r.dns_lookup_failures as f64,
    ));
    out.push(sample(
        "prometheus_sd_consul_rpc_failures_total",
        "The number of Consul RPC call failures.",
        "counter",
        Vec::new(),
        r.consul_rpc_failures as f64,
    ));
    // Both series exist from the start, as upstream creates them with its metrics.
    for call in ["service", "services"] {
        let (sum, count) = r
            .consul_rpc_durations
            .get(call)
            .copied()
            .unwrap_or_default();
        let labels = vec![
            ("call", call.to_string()),
            ("endpoint", "catalog".to_string()),
        ];
        let help = "The duration of a Consul RPC call in seconds.";
        let family = "prometheus_sd_consul_rpc_duration_seconds";
        out.push(MetricSample {
            name: format!("{family}_sum"),
            ..sample(family, help, "summary", labels.clone(), sum)
        });
        out.push(MetricSample {
            name: format!("{family}_count"),
            ..sample(family, help, "summary", labels, count as f64)
        });
    }
    let mut events: Vec<(&str, &str)> = Vec::new();
    for role in KUBERNETES_ROLES {
        for event in KUBERNETES_EVENTS {
            events.push((event, role));
        }
    }
    // Series in label order, as Prometheus writes them: by event, then role.
    events.sort_unstable();
    for (event, role) in events {
        out.push(sample(
            "prometheus_sd_kubernetes_events_total",
            "The number of Kubernetes events handled.",
            "counter",
            vec![("event", event.to_string()), ("role", role.to_string())],
            r.kubernetes_events
                .get(&(role, event))
                .copied()
                .unwrap_or(0) as f64,
        ));
    }
    out.push(sample(
        "prometheus_sd_kubernetes_failures_total",
        "The number of failed WATCH/LIST requests.",
        "counter",
        Vec::new(),
        r.kubernetes_failures as f64,
    ));
    for ((config, mechanism), n) in &r.refresh_failures {
        out.push(sample(
            "prometheus_sd_refresh_failures_total",
            "Number of refresh failures for the given SD mechanism.",
            "counter",
            vec![
                ("config", config.clone()),
                ("mechanism", mechanism.to_string()),
            ],
            *n as f64,
        ));
    }
    for ((config, mechanism), (sum, count)) in &r.refresh_durations {
        let labels = vec![
            ("config", config.clone()),
            ("mechanism", mechanism.to_string()),
        ];
        let help = "The duration of a refresh for the given SD mechanism.";
        let family = "prometheus_sd_refresh_duration_seconds";
        out.push(MetricSample {
            name: format!("{family}_sum"),
            ..sample(family, help, "summary", labels.clone(), *sum)
        });
        out.push(MetricSample {
            name: format!("{family}_count"),
            ..sample(family, help, "summary", labels, *count as f64)
        });
    }
    out
}
