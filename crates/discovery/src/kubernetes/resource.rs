//! The kinds of objects watched, where the API serves them, and their decoded form.

use std::sync::Arc;

use super::objects::{EndpointSlice, Endpoints, Ingress, MetaOnly, Node, ObjectMeta, Pod, Service};

/// A kind of object a role watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Pod,
    Node,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
    Namespace,
    ReplicaSet,
    Job,
}

impl Kind {
    /// The API group path and resource name (`/api/v1` + `pods`).
    fn api(self) -> (&'static str, &'static str) {
        match self {
            Kind::Pod => ("/api/v1", "pods"),
            Kind::Node => ("/api/v1", "nodes"),
            Kind::Service => ("/api/v1", "services"),
            Kind::Endpoints => ("/api/v1", "endpoints"),
            Kind::EndpointSlice => ("/apis/discovery.k8s.io/v1", "endpointslices"),
            Kind::Ingress => ("/apis/networking.k8s.io/v1", "ingresses"),
            Kind::Namespace => ("/api/v1", "namespaces"),
            Kind::ReplicaSet => ("/apis/apps/v1", "replicasets"),
            Kind::Job => ("/apis/batch/v1", "jobs"),
        }
    }

    /// Nodes and namespaces belong to no namespace.
    pub fn cluster_scoped(self) -> bool {
        matches!(self, Kind::Node | Kind::Namespace)
    }

    /// The collection's path: all namespaces for `namespace` "" (and cluster-scoped
    /// kinds), else the one namespace's.
    pub fn path(self, namespace: &str) -> String {
        let (group, resource) = self.api();
        if namespace.is_empty() || self.cluster_scoped() {
            format!("{group}/{resource}")
        } else {
            format!("{group}/namespaces/{namespace}/{resource}")
        }
    }

    /// Decodes one object of this kind from its JSON.
    pub fn decode(self, json: &serde_json::value::RawValue) -> Result<Object, serde_json::Error> {
        let text = json.get();
        Ok(match self {
            Kind::Pod => Object::Pod(Arc::new(serde_json::from_str(text)?)),
            Kind::Node => Object::Node(Arc::new(serde_json::from_str(text)?)),
            Kind::Service => Object::Service(Arc::new(serde_json::from_str(text)?)),
            Kind::Endpoints => Object::Endpoints(Arc::new(serde_json::from_str(text)?)),
            Kind::EndpointSlice => Object::EndpointSlice(Arc::new(serde_json::from_str(text)?)),
            Kind::Ingress => Object::Ingress(Arc::new(serde_json::from_str(text)?)),
            Kind::Namespace | Kind::ReplicaSet | Kind::Job => {
                Object::Meta(self, Arc::new(serde_json::from_str::<MetaOnly>(text)?))
            }
        })
    }
}

/// A decoded object, shared between the store and the groups being built.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Pod(Arc<Pod>),
    Node(Arc<Node>),
    Service(Arc<Service>),
    Endpoints(Arc<Endpoints>),
    EndpointSlice(Arc<EndpointSlice>),
    Ingress(Arc<Ingress>),
    /// Namespaces, ReplicaSets and Jobs.
    Meta(Kind, Arc<MetaOnly>),
}

impl Object {
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Pod(o) => &o.metadata,
            Object::Node(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Endpoints(o) => &o.metadata,
            Object::EndpointSlice(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::Meta(_, o) => &o.metadata,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Object::Pod(_) => Kind::Pod,
            Object::Node(_) => Kind::Node,
            Object::Service(_) => Kind::Service,
            Object::Endpoints(_) => Kind::Endpoints,
            Object::EndpointSlice(_) => Kind::EndpointSlice,
            Object::Ingress(_) => Kind::Ingress,
            Object::Meta(kind, _) => *kind,
        }
    }

    /// The store key: `namespace/name`, or the name of a cluster-scoped object
    /// (client-go's `MetaNamespaceKeyFunc`).
    pub fn key(&self) -> String {
        let meta = self.meta();
        if meta.namespace.is_empty() {
            meta.name.clone()
        } else {
            format!("{}/{}", meta.namespace, meta.name)
        }
    }
}
