//! `role: node`: a group per node (source `node/<name>`) with one target at the node's
//! first address by preference (internal IP, internal DNS, external IP, external DNS,
//! legacy host IP, host name) and the kubelet's port; a node without an address is
//! skipped (nothing is sent for it).

use super::labels::{self, set};
use super::objects::Node;
use crate::{join_host_port, sanitize_label_name, Group, LabelSet};

pub fn source(name: &str) -> String {
    format!("node/{name}")
}

const ADDRESS_PREFERENCE: &[&str] = &[
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

pub fn build(node: &Node) -> Option<Group> {
    let mut labels = LabelSet::new();
    set(
        &mut labels,
        "__meta_kubernetes_node_provider_id",
        node.spec.provider_id.clone(),
    );
    for condition in &node.status.conditions {
        let name = sanitize_label_name(&condition.kind.to_lowercase());
        set(
            &mut labels,
            format!("__meta_kubernetes_node_condition_{name}"),
            condition.status.to_lowercase(),
        );
    }
    labels::add_object_meta(&mut labels, &node.metadata, "node");

    let first = |kind: &str| {
        node.status
            .addresses
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| a.address.as_str())
    };
    let Some(address) = ADDRESS_PREFERENCE.iter().find_map(|k| first(k)) else {
        tracing::warn!(node = %node.metadata.name, "No node address found: host address unknown");
        return None;
    };
    let port = node.status.daemon_endpoints.kubelet_endpoint.port;
    let mut target = LabelSet::new();
    set(&mut target, "__address__", join_host_port(address, port));
    set(&mut target, "instance", node.metadata.name.clone());
    for a in &node.status.addresses {
        let name = sanitize_label_name(&format!("__meta_kubernetes_node_address_{}", a.kind));
        target.entry(name).or_insert_with(|| a.address.clone());
    }
    Some(Group {
        source: source(&node.metadata.name),
        targets: vec![target],
        labels,
    })
}
