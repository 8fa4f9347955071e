//! `role: ingress`: a group per ingress (source `ingress/<namespace>/<name>`), a target
//! per rule and path at the rule's host, `https` when a TLS entry covers the host.

use super::labels::{self, set, Context};
use super::objects::Ingress;
use crate::{Group, LabelSet};

pub fn source(key: &str) -> String {
    format!("ingress/{key}")
}

pub fn build(ingress: &Ingress, cx: &Context) -> Group {
    let meta = &ingress.metadata;
    let mut group = Group {
        source: source(&labels::key(&meta.namespace, &meta.name)),
        ..Group::default()
    };
    set(&mut group.labels, labels::NAMESPACE, meta.namespace.clone());
    if let Some(class) = &ingress.spec.ingress_class_name {
        set(
            &mut group.labels,
            "__meta_kubernetes_ingress_class_name",
            class.clone(),
        );
    }
    labels::add_object_meta(&mut group.labels, meta, "ingress");
    labels::add_namespace(&mut group.labels, cx, &meta.namespace);

    let tls_hosts: Vec<&str> = ingress
        .spec
        .tls
        .iter()
        .flat_map(|t| t.hosts.iter().map(String::as_str))
        .collect();
    for rule in &ingress.spec.rules {
        let scheme = if tls_hosts
            .iter()
            .any(|pattern| matches_host(pattern, &rule.host))
        {
            "https"
        } else {
            "http"
        };
        let paths: Vec<&str> = match &rule.http {
            None => vec!["/"],
            Some(http) => http
                .paths
                .iter()
                .map(|p| {
                    if p.path.is_empty() {
                        "/"
                    } else {
                        p.path.as_str()
                    }
                })
                .collect(),
        };
        for path in paths {
            let mut t = LabelSet::new();
            set(&mut t, "__address__", rule.host.clone());
            set(&mut t, "__meta_kubernetes_ingress_scheme", scheme);
            set(&mut t, "__meta_kubernetes_ingress_host", rule.host.clone());
            set(&mut t, "__meta_kubernetes_ingress_path", path);
            group.targets.push(t);
        }
    }
    group
}

/// Whether a TLS host `pattern` (exact, or `*.` for one leading label) covers `host`.
fn matches_host(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let pattern: Vec<&str> = pattern.split('.').collect();
    let host: Vec<&str> = host.split('.').collect();
    pattern[0] == "*" && pattern.len() == host.len() && pattern[1..] == host[1..]
}
