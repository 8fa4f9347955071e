//! Alertmanagers of one `alertmanagers` entry: target groups from `static_configs`,
//! `file_sd_configs` and the `discovery` crate's mechanisms (Kubernetes, DNS, Consul, …),
//! turned into URLs as upstream's `AlertmanagerFromGroup` does (`__scheme__`,
//! `__address__`, `__alerts_path__`, then `relabel_configs`).

use model::Labels;
use promconfig::{AlertmanagerConfig, TargetGroup};

/// The label carrying the path alerts are posted to.
pub(crate) const PATH_LABEL: &str = "__alerts_path__";

/// The URL an Alertmanager's labels describe: `__scheme__://__address__` + `__alerts_path__`.
pub(crate) fn url_of(labels: &Labels) -> String {
    format!(
        "{}://{}{}",
        labels.get("__scheme__").unwrap_or(""),
        labels.get("__address__").unwrap_or(""),
        labels.get(PATH_LABEL).unwrap_or("")
    )
}

/// `path.Join("/", prefix, "/api/<version>/alerts")`.
pub(crate) fn post_path(prefix: &str, version: &str) -> String {
    clean_rooted(&format!("/{prefix}/api/{version}/alerts"))
}

/// Go's `path.Clean` for a rooted path.
fn clean_rooted(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Alertmanagers kept and dropped by relabeling (dropped ones with their labels before
/// relabeling). An address with a `/` fails the whole group, as upstream.
pub(crate) fn from_group(
    group: &TargetGroup,
    source_file: Option<&str>,
    cfg: &AlertmanagerConfig,
) -> Result<(Vec<Labels>, Vec<Labels>), String> {
    let mut out = (Vec::new(), Vec::new());
    for address in &group.targets {
        let mut b = Labels::default().to_builder();
        b.set("__address__", address.clone());
        b.set("__scheme__", cfg.scheme.clone());
        b.set(PATH_LABEL, post_path(&cfg.path_prefix, &cfg.api_version.0));
        for (name, value) in &group.labels {
            if name.0 != "__address__" {
                b.set(name.0.clone(), value.clone());
            }
        }
        if let Some(file) = source_file {
            b.set("__meta_filepath", file.to_string());
        }
        relabel(b.build(), cfg, &mut out)?;
    }
    Ok(out)
}

/// As [`from_group`] for a group a discovery mechanism found: each target's own labels,
/// the configured scheme and path, then the group's labels the target does not set.
pub(crate) fn from_discovered(
    group: &::discovery::Group,
    cfg: &AlertmanagerConfig,
) -> Result<(Vec<Labels>, Vec<Labels>), String> {
    let mut out = (Vec::new(), Vec::new());
    for target in &group.targets {
        let mut b = Labels::default().to_builder();
        b.set("__scheme__", cfg.scheme.clone());
        b.set(PATH_LABEL, post_path(&cfg.path_prefix, &cfg.api_version.0));
        for (name, value) in &group.labels {
            if !target.contains_key(name) {
                b.set(name.clone(), value.clone());
            }
        }
        for (name, value) in target {
            b.set(name.clone(), value.clone());
        }
        relabel(b.build(), cfg, &mut out)?;
    }
    Ok(out)
}

/// Relabels one Alertmanager's labels into `kept` or `dropped`.
fn relabel(
    pre: Labels,
    cfg: &AlertmanagerConfig,
    (kept, dropped): &mut (Vec<Labels>, Vec<Labels>),
) -> Result<(), String> {
    let Some(labels) = scrape::relabel(&pre, &cfg.relabel_configs) else {
        dropped.push(pre);
        return Ok(());
    };
    let addr = labels.get("__address__").unwrap_or("");
    if addr.contains('/') {
        return Err(format!("{addr:?} is not a valid hostname"));
    }
    kept.push(labels);
    Ok(())
}

/// Every target group of the entry: static ones, then those of the file SD files (with
/// the file they came from). Unreadable files are logged and contribute nothing.
pub(crate) fn groups(cfg: &AlertmanagerConfig) -> Vec<(TargetGroup, Option<String>)> {
    let mut out: Vec<(TargetGroup, Option<String>)> = cfg
        .sd
        .static_configs
        .iter()
        .flatten()
        .map(|g| (g.clone(), None))
        .collect();
    for sd in cfg.sd.file_sd_configs.iter().flatten() {
        for pattern in &sd.files {
            for path in scrape::file_sd::expand(pattern) {
                match scrape::file_sd::read_groups(&path) {
                    Ok(gs) => out.extend(gs.into_iter().map(|g| (g, Some(path.clone())))),
                    Err(e) => {
                        tracing::error!(file = %path, err = %e, "alertmanager file discovery")
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_paths_as_path_join() {
        assert_eq!(post_path("", "v2"), "/api/v2/alerts");
        assert_eq!(post_path("/am/", "v2"), "/am/api/v2/alerts");
        assert_eq!(post_path("am", "v2"), "/am/api/v2/alerts");
        assert_eq!(post_path("/a//b/../c", "v2"), "/a/c/api/v2/alerts");
    }
}
