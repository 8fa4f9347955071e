//! Scraping as Prometheus does it: targets from `static_configs` and `file_sd_configs`,
//! their labels and relabeling, one loop per target that fetches (with the job's TLS and
//! authentication), parses, relabels, enforces limits, appends to the TSDB with the report
//! series (`up`, `scrape_duration_seconds`, …) and writes staleness markers for series
//! that vanish, targets that fail and targets that go away. Native histograms come from
//! protobuf bodies (`native`).

mod align;
mod cache;
mod client;
mod fetch;
pub mod file_sd;
mod json_log;
mod manager;
mod metadata;
mod native;
mod nhcb;
mod relabel;
mod scrape_loop;
mod target;

pub use client::{accept_header, build_client};
pub use json_log::{json_string, JsonLogFile};
pub use manager::{ActiveTarget, LocalSource, Manager};
pub use relabel::relabel;
pub use scrape_loop::{MetricMetadata, TargetStatus};
pub use target::{target_labels, TargetError};
