//! `role: service`: a group per service (source `svc/<namespace>/<name>`), a target per
//! port at the service's DNS name `<name>.<namespace>.svc:<port>`.

use super::labels::{self, set, Context};
use super::objects::Service;
use crate::{Group, LabelSet};

pub fn source(key: &str) -> String {
    format!("svc/{key}")
}

/// A service's own labels (also on the endpoints and endpoint slices of the service).
pub fn service_labels(svc: &Service) -> LabelSet {
    let mut ls = LabelSet::new();
    set(&mut ls, labels::NAMESPACE, svc.metadata.namespace.clone());
    labels::add_object_meta(&mut ls, &svc.metadata, "service");
    ls
}

pub fn build(svc: &Service, cx: &Context) -> Group {
    let meta = &svc.metadata;
    let mut group = Group {
        source: source(&labels::key(&meta.namespace, &meta.name)),
        labels: service_labels(svc),
        ..Group::default()
    };
    labels::add_namespace(&mut group.labels, cx, &meta.namespace);
    for port in &svc.spec.ports {
        let mut t = LabelSet::new();
        let host = format!("{}.{}.svc", meta.name, meta.namespace);
        set(&mut t, "__address__", format!("{host}:{}", port.port));
        set(
            &mut t,
            "__meta_kubernetes_service_port_name",
            port.name.clone(),
        );
        set(
            &mut t,
            "__meta_kubernetes_service_port_number",
            port.port.to_string(),
        );
        set(
            &mut t,
            "__meta_kubernetes_service_port_protocol",
            port.protocol.clone(),
        );
        set(
            &mut t,
            "__meta_kubernetes_service_type",
            svc.spec.kind.clone(),
        );
        if svc.spec.kind == "ExternalName" {
            set(
                &mut t,
                "__meta_kubernetes_service_external_name",
                svc.spec.external_name.clone(),
            );
        } else {
            set(
                &mut t,
                "__meta_kubernetes_service_cluster_ip",
                svc.spec.cluster_ip.clone(),
            );
        }
        if svc.spec.kind == "LoadBalancer" {
            set(
                &mut t,
                "__meta_kubernetes_service_loadbalancer_ip",
                load_balancer_ips(svc),
            );
        }
        group.targets.push(t);
    }
    group
}

/// The load balancer's ingress IPs, comma-separated, else the requested
/// `loadBalancerIP`.
fn load_balancer_ips(svc: &Service) -> String {
    let ips: Vec<&str> = svc
        .status
        .load_balancer
        .ingress
        .iter()
        .map(|i| i.ip.as_str())
        .filter(|ip| !ip.is_empty())
        .collect();
    if ips.is_empty() {
        svc.spec.load_balancer_ip.clone()
    } else {
        ips.join(",")
    }
}
