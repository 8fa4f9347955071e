//! Scraping as Prometheus does it. So far: relabeling (every action) and the labels of a
//! target (job, instance, `__address__`, `__param_*`, …) from a scrape config. Discovery,
//! scrape loops and appending to storage come next.

mod relabel;
mod target;

pub use relabel::relabel;
pub use target::{target_labels, TargetError};
