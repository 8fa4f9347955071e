//! `role: endpoints`: a group per Endpoints object (source `endpoints/<namespace>/<name>`)
//! with its service's labels, a target per address and port (ready or not), with the
//! pod's labels and matching container port when the address is a pod's; then a target
//! per further declared port of each such pod.

use super::labels::{self, set, Context};
use super::objects::{EndpointAddress, EndpointPort, Endpoints, ObjectReference, Pod};
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

    let mut seen = SeenPods::default();
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
        let Some(pod) = referenced_pod(cx, addr.target_ref.as_ref()) else {
            group.targets.push(t);
            return;
        };
        t.extend(labels::pod_labels(pod, cx));
        if let Some((container, cport, init)) = pod.container_with_port(port.port) {
            // The endpoint's protocol, as upstream gives it here.
            labels::container_port_labels(
                &mut t,
                container,
                &cport.name,
                port.port,
                &port.protocol,
                init,
            );
        }
        seen.note(pod, Some(port.port));
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
    group.targets.extend(seen.other_port_targets(cx));
    group
}

/// The pod an endpoint address refers to, when it refers to one that is known.
pub fn referenced_pod<'a>(
    cx: &Context<'a>,
    target_ref: Option<&ObjectReference>,
) -> Option<&'a Arc<Pod>> {
    let r = target_ref.filter(|r| r.kind == "Pod")?;
    cx.store.pod(&labels::key(&r.namespace, &r.name))
}

/// The pods an Endpoints or EndpointSlice object's addresses point at, in the order
/// first seen, with the ports it gave them: their other declared ports become targets
/// too.
#[derive(Default)]
pub struct SeenPods(Vec<(Arc<Pod>, Vec<i32>)>);

impl SeenPods {
    /// `pod` was given `port` (a slice's port may have no number).
    pub fn note(&mut self, pod: &Arc<Pod>, port: Option<i32>) {
        match self.0.iter().position(|(p, _)| Arc::ptr_eq(p, pod)) {
            Some(i) => self.0[i].1.extend(port),
            None => self.0.push((Arc::clone(pod), port.into_iter().collect())),
        }
    }

    /// A target per declared port of each pod that no address gave it.
    pub fn other_port_targets(self, cx: &Context) -> Vec<LabelSet> {
        self.0
            .iter()
            .flat_map(|(pod, listed)| other_pod_ports(pod, listed, cx))
            .collect()
    }
}

/// Targets for the declared ports of a pod the endpoints did not list (none when the
/// pod has no IP).
fn other_pod_ports(pod: &Pod, listed: &[i32], cx: &Context) -> Vec<LabelSet> {
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
