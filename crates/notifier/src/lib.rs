//! Sending alerts to Alertmanager as Prometheus 3.14's notifier does.
//!
//! [`Manager::apply_config`] builds one Alertmanager set per `alerting.alertmanagers`
//! entry: its Alertmanagers come from `static_configs` and `file_sd_configs` (re-read when
//! the files change), each target labeled `__address__`, `__scheme__` and
//! `__alerts_path__` (`path_prefix` + `/api/v2/alerts`) and relabeled by the entry's
//! `relabel_configs`; its HTTP client (TLS, basic auth, authorization, proxies, headers) is
//! the scrape client built from the same settings. [`Manager::send`] adds the external
//! labels (an alert's own labels win), applies `alert_relabel_configs`, then each set's own
//! `alert_relabel_configs`, and queues the alerts for every Alertmanager of every set.
//! Each Alertmanager has its own bounded queue (the oldest alerts are dropped when it is
//! full) and its own send loop posting batches of at most `max_batch_size` alerts as
//! Alertmanager's v2 JSON ([`encode_v2`]), each request bounded by the set's `timeout`,
//! so that a slow or failing Alertmanager holds up no other. [`Manager::metrics`] gives
//! upstream's `prometheus_notifications_*` values, [`Manager::alertmanagers`] what
//! `/api/v1/alertmanagers` lists, and [`Manager::stop`] drains the queues on shutdown.

mod alert;
mod discovery;
mod manager;
mod metrics;
mod send_loop;

pub use alert::{encode_v2, format_time, Alert};
pub use manager::{AlertmanagerList, Manager, Options};
pub use metrics::{
    AlertmanagerMetrics, Latency, NotifierMetrics, LATENCY_BUCKETS, LATENCY_QUANTILES,
};
