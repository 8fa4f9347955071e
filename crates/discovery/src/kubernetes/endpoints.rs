//! `role: endpoints`: a group per Endpoints object (source `endpoints/<namespace>/<name>`)
//! with its service's labels, a target per address and port (ready or not), with the
//! pod's labels and matching container port when the address is a pod's; then a target
//! per further declared port of each such pod.

use super::labels::{self, set, Context};
use super::objects::{EndpointAddress, EndpointPort, Endpoints, Pod};
use super::service::service_labels;
use crate::{join_host_port, Group, LabelSet};
use std::sync::Arc;

pub fn source(key: &str) -> String {
    format!("endpoints/{key}")
}

pub fn build(eps: &Endpoints, cx: &Context) -> Group {
    let meta = &eps.metadata;
    let key = labels::key(&meta.namespace, &meta.name);
    let mut group = Group {
        source: source(&key),
        ..Group::default()
    };
    set(&mut group.labels, labels::NAMESPACE, meta.namespace.clone());
    if let Some(svc) = cx.store.service(&key) {
        group.labels.extend(service_labels(svc));
    }
    labels::add_object_meta(&mut group.labels, meta, "endpoints");
    labels::add_namespace(&mut group.labels, cx, &meta.namespace);

    // Pods seen, in order, with the ports the endpoints gave them.
    let mut seen: Vec<(Arc<Pod>, Vec<i32>)> = Vec::new();
    let mut add = |addr: &EndpointAddress, port: &EndpointPort, ready: &str| {
        let mut t = LabelSet::new();
        set(&mut t, "__address__", join_host_port(&addr.ip, port.port));
        set(
            &mut t,
            "__meta_kubernetes_endpoint_port_name",
            port.name.clone(),
        );
        set(
            &mut t,
            "__meta_kubernetes_endpoint_port_protocol",
            port.protocol.clone(),
        );
        set(&mut t, "__meta_kubernetes_endpoint_ready", ready);
        if let Some(r) = &addr.target_ref {
            set(
                &mut t,
                "__meta_kubernetes_endpoint_address_target_kind",
                r.kind.clone(),
            );
            set(
                &mut t,
                "__meta_kubernetes_endpoint_address_target_name",
                r.name.clone(),
            );
        }
        if let Some(node) = &addr.node_name {
            set(&mut t, "__meta_kubernetes_endpoint_node_name", node.clone());
        }
        if !addr.hostname.is_empty() {
            set(
                &mut t,
                "__meta_kubernetes_endpoint_hostname",
                addr.hostname.clone(),
            );
        }
        if cx.attach.node {
            if addr.node_name.is_some() {
                labels::add_node(&mut t, cx, addr.node_name.as_deref());
            } else if let Some(r) = addr.target_ref.as_ref().filter(|r| r.kind == "Node") {
                labels::add_node(&mut t, cx, Some(&r.name));
            }
        }
        let pod = addr
            .target_ref
            .as_ref()
            .filter(|r| r.kind == "Pod")
            .and_then(|r| cx.store.pod(&labels::key(&r.namespace, &r.name)));
        let Some(pod) = pod else {
            group.targets.push(t);
            return;
        };
        t.extend(labels::pod_labels(pod, cx));
        'containers: for (container, init) in pod.all_containers() {
            for cport in &container.ports {
                if cport.container_port == port.port {
                    labels::container_port_labels(
                        &mut t,
                        container,
                        &cport.name,
                        port.port,
                        &port.protocol,
                        init,
                    );
                    break 'containers;
                }
            }
        }
        match seen.iter_mut().find(|(p, _)| Arc::ptr_eq(p, pod)) {
            Some((_, ports)) => ports.push(port.port),
            None => seen.push((pod.clone(), vec![port.port])),
        }
        group.targets.push(t);
    };
    for subset in &eps.subsets {
        for port in &subset.ports {
            for addr in &subset.addresses {
                add(addr, port, "true");
            }
            for addr in &subset.not_ready_addresses {
                add(addr, port, "false");
            }
        }
    }
    match meta
        .labels
        .get("endpoints.kubernetes.io/over-capacity")
        .map(String::as_str)
    {
        Some("truncated") => {
            tracing::warn!(endpoint = %meta.name, "Number of endpoints in one Endpoints object exceeds 1000 and has been truncated, please use \"role: endpointslice\" instead")
        }
        Some("warning") => {
            tracing::warn!(endpoint = %meta.name, "Number of endpoints in one Endpoints object exceeds 1000, please use \"role: endpointslice\" instead")
        }
        _ => {}
    }
    for (pod, ports) in seen {
        group.targets.extend(other_pod_ports(&pod, &ports, cx));
    }
    group
}

/// Targets for the declared ports of a pod the endpoints did not list (none when the
/// pod has no IP).
pub fn other_pod_ports(pod: &Pod, listed: &[i32], cx: &Context) -> Vec<LabelSet> {
    let mut out = Vec::new();
    if pod.status.pod_ip.is_empty() {
        return out;
    }
    for (container, init) in pod.all_containers() {
        for cport in &container.ports {
            if listed.contains(&cport.container_port) {
                continue;
            }
            let mut t = LabelSet::new();
            set(
                &mut t,
                "__address__",
                join_host_port(&pod.status.pod_ip, cport.container_port),
            );
            labels::container_port_labels(
                &mut t,
                container,
                &cport.name,
                cport.container_port,
                &cport.protocol,
                init,
            );
            // The pod's labels win over the target's, as Go's Merge gives them.
            t.extend(labels::pod_labels(pod, cx));
            out.push(t);
        }
    }
    out
}
