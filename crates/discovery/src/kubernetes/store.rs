//! The objects every watch of one discovery has seen, by kind and key (client-go's
//! informer stores), and the changes an update makes to them: an update of an object
//! already known is a change from the old one, a re-list ends the objects it no longer
//! holds — the add, update and delete events roles react to.

use std::collections::HashMap;
use std::sync::Arc;

use super::objects::{EndpointSlice, Endpoints, Ingress, MetaOnly, Node, Pod, Service};
use super::resource::{Kind, Object};
use super::watch::Update;

/// What an update did to one object.
#[derive(Debug)]
pub enum Change {
    Added(Object),
    Updated { old: Object, new: Object },
    Deleted(Object),
}

impl Change {
    /// The object as it is now (as it was last, for a deletion).
    pub fn object(&self) -> &Object {
        match self {
            Change::Added(o) | Change::Deleted(o) => o,
            Change::Updated { new, .. } => new,
        }
    }

    /// The event's name in `prometheus_sd_kubernetes_events_total`.
    pub fn event(&self) -> &'static str {
        match self {
            Change::Added(_) => "add",
            Change::Updated { .. } => "update",
            Change::Deleted(_) => "delete",
        }
    }
}

#[derive(Default)]
pub struct Store {
    objects: HashMap<Kind, HashMap<String, Object>>,
}

impl Store {
    /// Applies `update` from the watch of `kind` in `namespace` ("" for all).
    pub fn apply(&mut self, kind: Kind, namespace: &str, update: Update) -> Vec<Change> {
        let map = self.objects.entry(kind).or_default();
        match update {
            Update::Upserted(object) => vec![upsert(map, object)],
            Update::Deleted(object) => {
                map.remove(&object.key());
                vec![Change::Deleted(object)]
            }
            Update::Listed(objects) => {
                let mut changes = Vec::with_capacity(objects.len());
                let mut listed = std::collections::HashSet::with_capacity(objects.len());
                for object in objects {
                    listed.insert(object.key());
                    changes.push(upsert(map, object));
                }
                let gone: Vec<String> = map
                    .iter()
                    .filter(|(key, o)| {
                        !listed.contains(*key)
                            && (namespace.is_empty() || o.meta().namespace == namespace)
                    })
                    .map(|(key, _)| key.clone())
                    .collect();
                for key in gone {
                    if let Some(old) = map.remove(&key) {
                        changes.push(Change::Deleted(old));
                    }
                }
                changes
            }
        }
    }

    pub fn get(&self, kind: Kind, key: &str) -> Option<&Object> {
        self.objects.get(&kind)?.get(key)
    }

    /// Every object of `kind`, in no order.
    pub fn all(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        self.objects.get(&kind).into_iter().flat_map(|m| m.values())
    }

    pub fn pod(&self, key: &str) -> Option<&Arc<Pod>> {
        match self.get(Kind::Pod, key)? {
            Object::Pod(p) => Some(p),
            _ => None,
        }
    }

    pub fn node(&self, name: &str) -> Option<&Arc<Node>> {
        match self.get(Kind::Node, name)? {
            Object::Node(n) => Some(n),
            _ => None,
        }
    }

    pub fn service(&self, key: &str) -> Option<&Arc<Service>> {
        match self.get(Kind::Service, key)? {
            Object::Service(s) => Some(s),
            _ => None,
        }
    }

    pub fn endpoints(&self, key: &str) -> Option<&Arc<Endpoints>> {
        match self.get(Kind::Endpoints, key)? {
            Object::Endpoints(e) => Some(e),
            _ => None,
        }
    }

    pub fn endpoint_slice(&self, key: &str) -> Option<&Arc<EndpointSlice>> {
        match self.get(Kind::EndpointSlice, key)? {
            Object::EndpointSlice(e) => Some(e),
            _ => None,
        }
    }

    pub fn ingress(&self, key: &str) -> Option<&Arc<Ingress>> {
        match self.get(Kind::Ingress, key)? {
            Object::Ingress(i) => Some(i),
            _ => None,
        }
    }

    /// A namespace, ReplicaSet or Job.
    pub fn meta(&self, kind: Kind, key: &str) -> Option<&Arc<MetaOnly>> {
        match self.get(kind, key)? {
            Object::Meta(_, m) => Some(m),
            _ => None,
        }
    }
}

fn upsert(map: &mut HashMap<String, Object>, object: Object) -> Change {
    match map.insert(object.key(), object.clone()) {
        Some(old) => Change::Updated { old, new: object },
        None => Change::Added(object),
    }
}
