//! One discovery's role: which objects' groups an event makes stale (as upstream's
//! event handlers enqueue them), and building those groups once every watch has listed
//! (upstream waits for its informers to sync before it sends anything).

use std::collections::BTreeSet;

use promconfig::sd::kubernetes::{AttachMetadataConfig, KubernetesRole};

use super::endpointslice::SERVICE_NAME_LABEL;
use super::labels::{self, Context};
use super::resource::{Kind, Object};
use super::store::{Change, Store};
use super::{endpoints, endpointslice, ingress, node, pod, service};
use crate::Group;

pub struct RoleState {
    role: KubernetesRole,
    attach: AttachMetadataConfig,
    pub store: Store,
    /// Keys of the role's objects whose groups are to be sent.
    stale: BTreeSet<String>,
}

impl RoleState {
    pub fn new(role: KubernetesRole, attach: AttachMetadataConfig) -> Self {
        Self {
            role,
            attach,
            store: Store::default(),
            stale: BTreeSet::new(),
        }
    }

    /// The kind whose objects become groups.
    pub fn primary(role: KubernetesRole) -> Kind {
        match role {
            KubernetesRole::Node => Kind::Node,
            KubernetesRole::Service => Kind::Service,
            KubernetesRole::Endpoints => Kind::Endpoints,
            KubernetesRole::EndpointSlice => Kind::EndpointSlice,
            KubernetesRole::Ingress => Kind::Ingress,
            KubernetesRole::Pod | KubernetesRole::Unset => Kind::Pod,
        }
    }

    /// Marks the groups `change` makes stale and counts the event as upstream's handlers
    /// count them.
    pub fn on_change(&mut self, change: &Change) {
        let object = change.object();
        let kind = object.kind();
        let primary = Self::primary(self.role);
        if kind == primary {
            // The role's name is its `role` label in the events metric.
            crate::metrics::kubernetes_event(self.role.name(), change.event());
            self.stale.insert(object.key());
            return;
        }
        let updated = matches!(change, Change::Updated { .. });
        let namespace = &object.meta().namespace;
        let name = &object.meta().name;
        match (self.role, kind) {
            (KubernetesRole::Endpoints, Kind::Service) => {
                crate::metrics::kubernetes_event("service", change.event());
                let key = object.key();
                if self.store.get(Kind::Endpoints, &key).is_some() {
                    self.stale.insert(key);
                }
            }
            (KubernetesRole::EndpointSlice, Kind::Service) => {
                crate::metrics::kubernetes_event("service", change.event());
                let slices = self.store.all(Kind::EndpointSlice).filter(|o| {
                    o.meta().namespace == *namespace
                        && o.meta().labels.get(SERVICE_NAME_LABEL) == Some(name)
                });
                let keys: Vec<String> = slices.map(Object::key).collect();
                self.stale.extend(keys);
            }
            (KubernetesRole::Endpoints, Kind::Pod) => {
                let Change::Updated { old, new } = change else {
                    return;
                };
                crate::metrics::kubernetes_event("pod", "update");
                let (Object::Pod(old), Object::Pod(new)) = (old, new) else {
                    return;
                };
                if old.status.phase != new.status.phase {
                    let pod_key = labels::key(namespace, name);
                    self.mark(Kind::Endpoints, |o| match o {
                        Object::Endpoints(e) => e.subsets.iter().any(|s| {
                            s.addresses.iter().any(|a| {
                                a.target_ref.as_ref().is_some_and(|r| {
                                    r.kind == "Pod" && labels::key(&r.namespace, &r.name) == pod_key
                                })
                            })
                        }),
                        _ => false,
                    });
                }
            }
            (_, Kind::Node) if self.attach.node => self.node_changed(name),
            (_, Kind::Namespace) if updated => {
                self.mark(primary, |o| o.meta().namespace == *name);
            }
            (KubernetesRole::Pod, Kind::ReplicaSet | Kind::Job) => {
                let owner_kind = if kind == Kind::ReplicaSet {
                    "ReplicaSet"
                } else {
                    "Job"
                };
                self.mark(Kind::Pod, |o| {
                    o.meta().namespace == *namespace
                        && o.meta()
                            .controller()
                            .is_some_and(|c| c.kind == owner_kind && c.name == *name)
                });
            }
            _ => {}
        }
    }

    /// A node changed: the groups of the role's objects on it.
    fn node_changed(&mut self, node: &str) {
        match self.role {
            KubernetesRole::Pod => self.mark(Kind::Pod, |o| match o {
                Object::Pod(p) => p.spec.node_name == node,
                _ => false,
            }),
            KubernetesRole::Endpoints => self.mark(Kind::Endpoints, |o| match o {
                Object::Endpoints(e) => e.subsets.iter().any(|s| {
                    s.addresses.iter().any(|a| match &a.target_ref {
                        Some(r) if r.kind == "Pod" => a.node_name.as_deref() == Some(node),
                        Some(r) if r.kind == "Node" => r.name == node,
                        _ => false,
                    })
                }),
                _ => false,
            }),
            KubernetesRole::EndpointSlice => self.mark(Kind::EndpointSlice, |o| match o {
                Object::EndpointSlice(s) => s.endpoints.iter().any(|e| match &e.target_ref {
                    Some(r) if r.kind == "Pod" => e.node_name.as_deref() == Some(node),
                    Some(r) if r.kind == "Node" => r.name == node,
                    _ => false,
                }),
                _ => false,
            }),
            _ => {}
        }
    }

    fn mark(&mut self, kind: Kind, select: impl Fn(&Object) -> bool) {
        let keys: Vec<String> = self
            .store
            .all(kind)
            .filter(|o| select(o))
            .map(Object::key)
            .collect();
        self.stale.extend(keys);
    }

    /// The groups of every stale object (an empty group for one deleted).
    pub fn take_groups(&mut self) -> Vec<Group> {
        let stale = std::mem::take(&mut self.stale);
        let cx = Context {
            store: &self.store,
            attach: &self.attach,
        };
        let mut groups = Vec::with_capacity(stale.len());
        for key in stale {
            let group = match self.role {
                KubernetesRole::Pod | KubernetesRole::Unset => match cx.store.pod(&key) {
                    Some(p) => Some(pod::build(p, &cx)),
                    None => Some(empty(pod::source(&key))),
                },
                KubernetesRole::Node => match cx.store.node(&key) {
                    Some(n) => node::build(n),
                    None => Some(empty(node::source(&key))),
                },
                KubernetesRole::Service => match cx.store.service(&key) {
                    Some(s) => Some(service::build(s, &cx)),
                    None => Some(empty(service::source(&key))),
                },
                KubernetesRole::Endpoints => match cx.store.endpoints(&key) {
                    Some(e) => Some(endpoints::build(e, &cx)),
                    None => Some(empty(endpoints::source(&key))),
                },
                KubernetesRole::EndpointSlice => match cx.store.endpoint_slice(&key) {
                    Some(e) => Some(endpointslice::build(e, &cx)),
                    None => Some(empty(endpointslice::source(&key))),
                },
                KubernetesRole::Ingress => match cx.store.ingress(&key) {
                    Some(i) => Some(ingress::build(i, &cx)),
                    None => Some(empty(ingress::source(&key))),
                },
            };
            groups.extend(group);
        }
        groups
    }
}

fn empty(source: String) -> Group {
    Group {
        source,
        ..Group::default()
    }
}
