//! Labels shared by the roles: an object's name, labels and annotations
//! (`__meta_kubernetes_<resource>_label_<name>` and `_labelpresent_`), a pod's labels
//! (also on endpoint targets), and the node and namespace metadata `attach_metadata`
//! adds.

use promconfig::sd::kubernetes::AttachMetadataConfig;

use super::objects::{ObjectMeta, Pod};
use super::resource::Kind;
use super::store::Store;
use crate::{sanitize_label_name, LabelSet};

pub const META: &str = "__meta_kubernetes_";
pub const NAMESPACE: &str = "__meta_kubernetes_namespace";
const PRESENT: &str = "true";

/// What a role's groups are built from: the objects seen and the metadata to attach.
pub struct Context<'a> {
    pub store: &'a Store,
    pub attach: &'a AttachMetadataConfig,
}

pub fn set(ls: &mut LabelSet, name: impl Into<String>, value: impl Into<String>) {
    ls.insert(name.into(), value.into());
}

/// Labels and annotations of an object, under `resource`'s prefix.
pub fn add_labels_and_annotations(ls: &mut LabelSet, meta: &ObjectMeta, resource: &str) {
    for (k, v) in &meta.labels {
        let name = sanitize_label_name(k);
        set(ls, format!("{META}{resource}_label_{name}"), v.clone());
        set(ls, format!("{META}{resource}_labelpresent_{name}"), PRESENT);
    }
    for (k, v) in &meta.annotations {
        let name = sanitize_label_name(k);
        set(ls, format!("{META}{resource}_annotation_{name}"), v.clone());
        set(
            ls,
            format!("{META}{resource}_annotationpresent_{name}"),
            PRESENT,
        );
    }
}

/// The object's name under `role`'s prefix, then its labels and annotations.
pub fn add_object_meta(ls: &mut LabelSet, meta: &ObjectMeta, role: &str) {
    set(ls, format!("{META}{role}_name"), meta.name.clone());
    add_labels_and_annotations(ls, meta, role);
}

/// The namespace's labels and annotations, when `attach_metadata.namespace` is set and
/// the namespace is known.
pub fn add_namespace(ls: &mut LabelSet, cx: &Context, namespace: &str) {
    if !cx.attach.namespace {
        return;
    }
    if let Some(ns) = cx.store.meta(Kind::Namespace, namespace) {
        add_labels_and_annotations(ls, &ns.metadata, "namespace");
    }
}

/// The node's name, labels and annotations, when the node is known.
pub fn add_node(ls: &mut LabelSet, cx: &Context, node: Option<&str>) {
    let Some(node) = node.and_then(|n| cx.store.node(n)) else {
        return;
    };
    add_object_meta(ls, &node.metadata, "node");
}

/// A pod's labels (upstream's `podLabels`), also given to endpoint targets of the pod.
pub fn pod_labels(pod: &Pod, cx: &Context) -> LabelSet {
    let mut ls = LabelSet::new();
    set(
        &mut ls,
        "__meta_kubernetes_pod_ip",
        pod.status.pod_ip.clone(),
    );
    set(&mut ls, "__meta_kubernetes_pod_ready", pod_ready(pod));
    set(
        &mut ls,
        "__meta_kubernetes_pod_phase",
        pod.status.phase.clone(),
    );
    set(
        &mut ls,
        "__meta_kubernetes_pod_node_name",
        pod.spec.node_name.clone(),
    );
    set(
        &mut ls,
        "__meta_kubernetes_pod_host_ip",
        pod.status.host_ip.clone(),
    );
    set(
        &mut ls,
        "__meta_kubernetes_pod_uid",
        pod.metadata.uid.clone(),
    );
    add_object_meta(&mut ls, &pod.metadata, "pod");
    let Some(owner) = pod.metadata.controller() else {
        return ls;
    };
    if !owner.kind.is_empty() {
        set(
            &mut ls,
            "__meta_kubernetes_pod_controller_kind",
            owner.kind.clone(),
        );
    }
    if !owner.name.is_empty() {
        set(
            &mut ls,
            "__meta_kubernetes_pod_controller_name",
            owner.name.clone(),
        );
    }
    let owned = |kind: Kind| {
        let key = format!("{}/{}", pod.metadata.namespace, owner.name);
        cx.store
            .meta(kind, &key)
            .and_then(|o| o.metadata.controller().cloned())
    };
    match owner.kind.as_str() {
        "ReplicaSet" if cx.attach.pod_metadata.deployment => {
            if let Some(deployment) = owned(Kind::ReplicaSet).filter(|o| o.kind == "Deployment") {
                set(
                    &mut ls,
                    "__meta_kubernetes_pod_deployment_name",
                    deployment.name,
                );
            }
        }
        "Job" => {
            if cx.attach.pod_metadata.job {
                set(
                    &mut ls,
                    "__meta_kubernetes_pod_job_name",
                    owner.name.clone(),
                );
            }
            if cx.attach.pod_metadata.cronjob {
                if let Some(cronjob) = owned(Kind::Job).filter(|o| o.kind == "CronJob") {
                    set(&mut ls, "__meta_kubernetes_pod_cronjob_name", cronjob.name);
                }
            }
        }
        _ => {}
    }
    ls
}

/// The `Ready` condition's status in lower case, `unknown` without one.
fn pod_ready(pod: &Pod) -> String {
    pod.status
        .conditions
        .iter()
        .find(|c| c.kind == "Ready")
        .map_or_else(|| "unknown".to_string(), |c| c.status.to_lowercase())
}

/// The labels a pod container port gives a target (its name, image, port and whether
/// it is an init container).
pub fn container_port_labels(
    ls: &mut LabelSet,
    container: &super::objects::Container,
    port_name: &str,
    port: i32,
    protocol: &str,
    init: bool,
) {
    set(
        ls,
        "__meta_kubernetes_pod_container_name",
        container.name.clone(),
    );
    set(
        ls,
        "__meta_kubernetes_pod_container_image",
        container.image.clone(),
    );
    set(ls, "__meta_kubernetes_pod_container_port_name", port_name);
    set(
        ls,
        "__meta_kubernetes_pod_container_port_number",
        port.to_string(),
    );
    set(
        ls,
        "__meta_kubernetes_pod_container_port_protocol",
        protocol,
    );
    set(ls, "__meta_kubernetes_pod_container_init", init.to_string());
}

/// `namespace/name`, the key of namespaced objects.
pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}
