//! `role: pod`: a group per pod (source `pod/<namespace>/<name>`), a target per declared
//! container port at the pod's IP, or one per container without ports; a pod without an
//! IP (starting, or evicted) has an empty group.

use super::labels::{self, set, Context};
use super::objects::Pod;
use crate::{join_host_port, Group, LabelSet};

pub fn source(key: &str) -> String {
    format!("pod/{key}")
}

pub fn build(pod: &Pod, cx: &Context) -> Group {
    let mut group = Group {
        source: source(&labels::key(&pod.metadata.namespace, &pod.metadata.name)),
        ..Group::default()
    };
    let ip = &pod.status.pod_ip;
    if ip.is_empty() {
        return group;
    }
    // With node metadata, a pod waits for its node to be known.
    if cx.attach.node && cx.store.node(&pod.spec.node_name).is_none() {
        return group;
    }
    group.labels = labels::pod_labels(pod, cx);
    set(
        &mut group.labels,
        labels::NAMESPACE,
        pod.metadata.namespace.clone(),
    );
    if cx.attach.node {
        labels::add_node(&mut group.labels, cx, Some(&pod.spec.node_name));
    }
    labels::add_namespace(&mut group.labels, cx, &pod.metadata.namespace);

    for (container, init) in pod.all_containers() {
        let statuses = if init {
            &pod.status.init_container_statuses
        } else {
            &pod.status.container_statuses
        };
        let id = statuses
            .iter()
            .find(|s| s.name == container.name)
            .map(|s| s.container_id.clone())
            .unwrap_or_default();
        if container.ports.is_empty() {
            let mut t = LabelSet::new();
            set(&mut t, "__address__", ip.clone());
            set(
                &mut t,
                "__meta_kubernetes_pod_container_name",
                container.name.clone(),
            );
            set(&mut t, "__meta_kubernetes_pod_container_id", id);
            set(
                &mut t,
                "__meta_kubernetes_pod_container_image",
                container.image.clone(),
            );
            set(
                &mut t,
                "__meta_kubernetes_pod_container_init",
                init.to_string(),
            );
            group.targets.push(t);
            continue;
        }
        for port in &container.ports {
            let mut t = LabelSet::new();
            set(
                &mut t,
                "__address__",
                join_host_port(ip, port.container_port),
            );
            labels::container_port_labels(
                &mut t,
                container,
                &port.name,
                port.container_port,
                &port.protocol,
                init,
            );
            set(&mut t, "__meta_kubernetes_pod_container_id", id.clone());
            group.targets.push(t);
        }
    }
    group
}
