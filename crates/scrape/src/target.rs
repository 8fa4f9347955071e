//! The labels of a scrape target, as Prometheus's `PopulateLabels` builds them.

use std::fmt;

use model::Labels;
use promconfig::ScrapeConfig;

/// Why a discovered target cannot be scraped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError(pub String);

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TargetError {}

/// Builds a target's labels from its discovered labels (`__address__` and the group's
/// labels): defaults from the job first, then `relabel_configs`, then `instance` defaults
/// to the address, and every `__`-prefixed label is removed. `Ok(None)` when relabeling
/// drops the target. Also returns the labels as they were before relabeling (what the
/// targets API shows as `discoveredLabels`).
pub fn target_labels(
    job: &ScrapeConfig,
    discovered: &Labels,
) -> Result<(Option<Labels>, Labels), TargetError> {
    let (resolved, pre) = resolve(job, discovered)?;
    Ok((resolved.map(|(labels, _)| labels), pre))
}

/// The relabeled target: its final labels, and its labels before the `__` ones are removed
/// (they carry the address, scheme, path and parameters of the scrape URL).
type Resolved = Option<(Labels, Labels)>;

/// [`target_labels`], keeping the `__` labels the scrape URL is built from.
pub(crate) fn resolve(
    job: &ScrapeConfig,
    discovered: &Labels,
) -> Result<(Resolved, Labels), TargetError> {
    let mut builder = discovered.to_builder();
    let defaults = [
        ("job", job.job_name.clone()),
        ("__scheme__", job.scheme.clone()),
        ("__metrics_path__", job.metrics_path.clone()),
        (
            "__scrape_interval__",
            promconfig::PromDuration(job.interval()).to_string(),
        ),
        (
            "__scrape_timeout__",
            promconfig::PromDuration(job.timeout()).to_string(),
        ),
    ];
    for (name, value) in defaults {
        if builder.get(name).is_none() {
            builder.set(name, value);
        }
    }
    for (name, values) in &job.params {
        let key = format!("__param_{name}");
        if builder.get(&key).is_none() {
            if let Some(first) = values.first() {
                builder.set(key, first.clone());
            }
        }
    }
    let pre_relabel = builder.build();
    let Some(relabeled) = crate::relabel(&pre_relabel, &job.relabel_configs) else {
        return Ok((None, pre_relabel));
    };
    let Some(address) = relabeled.get("__address__").map(str::to_string) else {
        return Err(TargetError("no address".into()));
    };
    check_address(&address)?;
    let mut out = relabeled.to_builder();
    if out.get("instance").is_none() {
        out.set("instance", address);
    }
    out.retain(|l| !l.name.starts_with("__"));
    Ok((Some((out.build(), relabeled)), pre_relabel))
}

/// `host:port` or `host`, without a path or scheme (Prometheus: "… is not a valid hostname").
fn check_address(address: &str) -> Result<(), TargetError> {
    if address.contains('/') || address.contains('@') || address.chars().any(char::is_whitespace) {
        return Err(TargetError(format!("{address:?} is not a valid hostname")));
    }
    Ok(())
}
