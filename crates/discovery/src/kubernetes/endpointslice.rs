//! `role: endpointslice`: a group per EndpointSlice (source
//! `endpointslice/<namespace>/<name>`) with its address type and its service's labels,
//! a target per endpoint address and port, with the pod's labels and matching container
//! port when the endpoint is a pod; then a target per further declared port of each such
//! pod. A dual-stack service's slices of its second address family are left empty.

use super::endpoints::{referenced_pod, SeenPods};
use super::labels::{self, set, Context};
use super::objects::{EndpointSlice, Service, SliceEndpoint, SlicePort};
use super::service::service_labels;
use crate::{join_host_port, sanitize_label_name, Group, LabelSet};

/// The label naming a slice's service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

pub fn source(key: &str) -> String {
    format!("endpointslice/{key}")
}

pub fn build(slice: &EndpointSlice, cx: &Context) -> Group {
    let meta = &slice.metadata;
    let mut group = Group {
        source: source(&labels::key(&meta.namespace, &meta.name)),
        ..Group::default()
    };
    set(&mut group.labels, labels::NAMESPACE, meta.namespace.clone());
    set(
        &mut group.labels,
        "__meta_kubernetes_endpointslice_address_type",
        slice.address_type.clone(),
    );
    labels::add_object_meta(&mut group.labels, meta, "endpointslice");
    let svc = meta
        .labels
        .get(SERVICE_NAME_LABEL)
        .and_then(|name| cx.store.service(&labels::key(&meta.namespace, name)));
    if let Some(svc) = svc {
        group.labels.extend(service_labels(svc));
    }
    labels::add_namespace(&mut group.labels, cx, &meta.namespace);
    if svc.is_some_and(|svc| non_primary_family(svc, slice)) {
        return group;
    }

    let mut seen = SeenPods::default();
    let mut add = |addr: &str, ep: &SliceEndpoint, port: &SlicePort| {
        let mut t = LabelSet::new();
        let address = match port.port {
            Some(p) => join_host_port(addr, p),
            None => addr.to_string(),
        };
        set(&mut t, "__address__", address);
        let p = "__meta_kubernetes_endpointslice_";
        if let Some(v) = &port.name {
            set(&mut t, format!("{p}port_name"), v.clone());
        }
        if let Some(v) = &port.protocol {
            set(&mut t, format!("{p}port_protocol"), v.clone());
        }
        if let Some(v) = port.port {
            set(&mut t, format!("{p}port"), v.to_string());
        }
        if let Some(v) = &port.app_protocol {
            set(&mut t, format!("{p}port_app_protocol"), v.clone());
        }
        let conditions = [
            ("ready", ep.conditions.ready),
            ("serving", ep.conditions.serving),
            ("terminating", ep.conditions.terminating),
        ];
        for (name, value) in conditions {
            if let Some(v) = value {
                set(
                    &mut t,
                    format!("{p}endpoint_conditions_{name}"),
                    v.to_string(),
                );
            }
        }
        if let Some(v) = &ep.hostname {
            set(&mut t, format!("{p}endpoint_hostname"), v.clone());
        }
        if let Some(r) = &ep.target_ref {
            set(&mut t, format!("{p}address_target_kind"), r.kind.clone());
            set(&mut t, format!("{p}address_target_name"), r.name.clone());
        }
        if let Some(v) = &ep.node_name {
            set(&mut t, format!("{p}endpoint_node_name"), v.clone());
        }
        if let Some(v) = &ep.zone {
            set(&mut t, format!("{p}endpoint_zone"), v.clone());
        }
        for (k, v) in &ep.deprecated_topology {
            let name = sanitize_label_name(k);
            set(&mut t, format!("{p}endpoint_topology_{name}"), v.clone());
            set(
                &mut t,
                format!("{p}endpoint_topology_present_{name}"),
                "true",
            );
        }
        if cx.attach.node {
            match ep.target_ref.as_ref().filter(|r| r.kind == "Node") {
                Some(r) => labels::add_node(&mut t, cx, Some(&r.name)),
                None => labels::add_node(&mut t, cx, ep.node_name.as_deref()),
            }
        }
        let Some(pod) = referenced_pod(cx, ep.target_ref.as_ref()) else {
            group.targets.push(t);
            return;
        };
        t.extend(labels::pod_labels(pod, cx));
        if let Some((number, (container, cport, init))) = port
            .port
            .and_then(|n| Some((n, pod.container_with_port(n)?)))
        {
            // The container's protocol, as upstream gives it here.
            labels::container_port_labels(
                &mut t,
                container,
                &cport.name,
                number,
                &cport.protocol,
                init,
            );
        }
        seen.note(pod, port.port);
        group.targets.push(t);
    };
    for ep in &slice.endpoints {
        for port in &slice.ports {
            for addr in &ep.addresses {
                add(addr, ep, port);
            }
        }
    }
    group.targets.extend(seen.other_port_targets(cx));
    group
}

/// Whether the slice holds a dual-stack service's second address family.
fn non_primary_family(svc: &Service, slice: &EndpointSlice) -> bool {
    let dual = matches!(
        svc.spec.ip_family_policy.as_deref(),
        Some("PreferDualStack" | "RequireDualStack")
    );
    match svc.spec.ip_families.first() {
        Some(primary) if dual => slice.address_type != *primary,
        _ => false,
    }
}
