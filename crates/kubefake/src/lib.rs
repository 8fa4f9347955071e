//! A fake Kubernetes API server for tests, on a loopback port: the list and watch
//! requests client-go's reflectors make (`GET` of a collection, all namespaces or one,
//! with `labelSelector`, `fieldSelector`, `limit`/`continue`, and `watch=true` from a
//! `resourceVersion`), answered from objects the test creates, updates and deletes.
//! Every change gets the next resourceVersion and goes to open watches as it is made;
//! a watch from an older version first replays what followed it. The test can expire
//! versions (open watches get a `410` `ERROR` event, and so does any watch from before),
//! end watches as the server's timeout would, and fail requests.
//!
//! The fake stands in for what cannot run here (a Kubernetes API server); it speaks the
//! API's JSON as the real one does, so the client under test is the real client.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// A running fake API server; it stops when dropped.
pub struct FakeApi {
    addr: SocketAddr,
    state: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Default)]
struct Inner {
    version: u64,
    /// Watches from versions below this answer `410 Gone`.
    oldest: u64,
    /// (resource, namespace, name) → object.
    objects: BTreeMap<(String, String, String), Value>,
    /// Every change: (version, resource, event type, object).
    history: Vec<(u64, String, &'static str, Value)>,
    watchers: Vec<Watcher>,
    /// Requests to answer with `401 Unauthorized` from now on.
    failing: bool,
    requests: Vec<String>,
    /// The `Authorization` header of each request ("" without one).
    authorizations: Vec<String>,
}

struct Watcher {
    resource: String,
    namespace: String,
    selectors: Selectors,
    out: mpsc::UnboundedSender<Bytes>,
}

#[derive(Clone, Default)]
struct Selectors {
    label: Vec<(String, bool, String)>,
    field: Vec<(String, bool, String)>,
}

impl FakeApi {
    /// Starts a server on an ephemeral loopback port.
    pub async fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a loopback port")
    }

    /// Starts a server on `addr` (a loopback address: the fake has no authentication).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other(
                "the fake API server listens on loopback only",
            ));
        }
        let state = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates or replaces `object` in the collection `resource` (`pods`, `services`,
    /// `endpoints`, `endpointslices`, `ingresses`, `nodes`, `namespaces`, `replicasets`,
    /// `jobs`): `ADDED` or `MODIFIED` to the watches.
    pub fn apply(&self, resource: &str, mut object: Value) {
        let mut inner = self.lock();
        inner.version += 1;
        let version = inner.version;
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        let key = key_of(resource, &object);
        let event = if inner.objects.insert(key, object.clone()).is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        inner.publish(version, resource, event, object);
    }

    /// Deletes the object `namespace/name` ("" namespace for nodes and namespaces).
    pub fn delete(&self, resource: &str, namespace: &str, name: &str) {
        let mut inner = self.lock();
        let key = (
            resource.to_string(),
            namespace.to_string(),
            name.to_string(),
        );
        let Some(mut object) = inner.objects.remove(&key) else {
            return;
        };
        inner.version += 1;
        let version = inner.version;
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        inner.publish(version, resource, "DELETED", object);
    }

    /// Expires every version up to now: open watches get a `410` `ERROR` event and end,
    /// and watches from these versions are refused the same way, so clients list again.
    pub fn expire_versions(&self) {
        let mut inner = self.lock();
        // Lists from now on answer a version past the expired ones.
        inner.version += 1;
        inner.oldest = inner.version;
        for w in inner.watchers.drain(..) {
            let _ = w.out.send(gone_event());
        }
    }

    /// Ends every open watch normally (as the server's `timeoutSeconds` does).
    pub fn end_watches(&self) {
        self.lock().watchers.clear();
    }

    /// From now on (`true`) or no longer, answers every request `401 Unauthorized`.
    pub fn fail_requests(&self, failing: bool) {
        let mut inner = self.lock();
        inner.failing = failing;
        if failing {
            inner.watchers.clear();
        }
    }

    /// Names (`namespace/name`) of the objects of `resource` now.
    pub fn names(&self, resource: &str) -> Vec<String> {
        self.lock()
            .objects
            .keys()
            .filter(|(r, _, _)| r == resource)
            .map(|(_, ns, name)| format!("{ns}/{name}"))
            .collect()
    }

    /// Every request so far, as `LIST <path>?<query>` or `WATCH <path>?<query>`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// The `Authorization` header of every request so far ("" when it had none).
    pub fn authorizations(&self) -> Vec<String> {
        self.lock().authorizations.clone()
    }

    /// Watches open now.
    pub fn open_watches(&self) -> usize {
        let mut inner = self.lock();
        inner.watchers.retain(|w| !w.out.is_closed());
        inner.watchers.len()
    }
}

fn key_of(resource: &str, object: &Value) -> (String, String, String) {
    let meta = &object["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        resource.to_string(),
        text(&meta["namespace"]),
        text(&meta["name"]),
    )
}

fn gone_event() -> Bytes {
    let event = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
        "status": "Failure", "message": "too old resource version", "reason": "Expired", "code": 410}});
    Bytes::from(format!("{event}\n"))
}

impl Inner {
    fn publish(&mut self, version: u64, resource: &str, event: &'static str, object: Value) {
        let line = Bytes::from(format!("{}\n", json!({"type": event, "object": object})));
        self.watchers.retain(|w| {
            if w.resource != resource || !w.selectors.matches(&w.namespace, &object) {
                return !w.out.is_closed();
            }
            w.out.send(line.clone()).is_ok()
        });
        self.history
            .push((version, resource.to_string(), event, object));
    }
}

impl Selectors {
    fn parse(query: &BTreeMap<String, String>) -> Result<Self, String> {
        let terms = |text: Option<&String>| -> Result<Vec<(String, bool, String)>, String> {
            let mut out = Vec::new();
            for term in text.map(String::as_str).unwrap_or("").split(',') {
                let term = term.trim();
                if term.is_empty() {
                    continue;
                }
                if let Some((k, v)) = term.split_once("!=") {
                    out.push((k.trim().into(), false, v.trim().into()));
                } else if let Some((k, v)) = term.split_once('=') {
                    let v = v.strip_prefix('=').unwrap_or(v);
                    out.push((k.trim().into(), true, v.trim().into()));
                } else {
                    return Err(format!("the fake supports only = and != selectors: {term}"));
                }
            }
            Ok(out)
        };
        Ok(Self {
            label: terms(query.get("labelSelector"))?,
            field: terms(query.get("fieldSelector"))?,
        })
    }

    fn matches(&self, namespace: &str, object: &Value) -> bool {
        let meta = &object["metadata"];
        if !namespace.is_empty() && meta["namespace"].as_str() != Some(namespace) {
            return false;
        }
        let label_ok = self.label.iter().all(|(k, eq, v)| {
            let value = meta["labels"][k.as_str()].as_str().unwrap_or("");
            (value == v) == *eq
        });
        let field_ok = self.field.iter().all(|(k, eq, v)| {
            let mut node = object;
            for part in k.split('.') {
                node = &node[part];
            }
            (node.as_str().unwrap_or("") == v) == *eq
        });
        label_ok && field_ok
    }
}

/// `/api/v1/<resource>`, `/api/v1/namespaces/<ns>/<resource>` and the same under
/// `/apis/<group>/<version>`: the resource and namespace ("" for all).
fn collection(path: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match parts.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return None,
    };
    match rest {
        [resource] => Some((resource.to_string(), String::new())),
        ["namespaces", ns, resource] => Some((resource.to_string(), ns.to_string())),
        _ => None,
    }
}

async fn handle(
    State(state): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: axum::http::HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let mut inner = state.lock().unwrap_or_else(|p| p.into_inner());
    inner.requests.push(format!(
        "{} {}?{}",
        if watch { "WATCH" } else { "LIST" },
        uri.path(),
        raw.clone().unwrap_or_default()
    ));
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    inner.authorizations.push(authorization);
    if inner.failing {
        let status = json!({"kind": "Status", "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized", "code": 401});
        return (StatusCode::UNAUTHORIZED, status.to_string()).into_response();
    }
    let Some((resource, namespace)) = collection(uri.path()) else {
        return (StatusCode::NOT_FOUND, "not a collection").into_response();
    };
    let selectors = match Selectors::parse(&query) {
        Ok(s) => s,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    if !watch {
        let items: Vec<&Value> = inner
            .objects
            .iter()
            .filter(|((r, _, _), o)| *r == resource && selectors.matches(&namespace, o))
            .map(|(_, o)| o)
            .collect();
        let list = json!({"kind": "List", "apiVersion": "v1",
            "metadata": {"resourceVersion": inner.version.to_string()}, "items": items});
        return ([("content-type", "application/json")], list.to_string()).into_response();
    }
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(inner.version);
    let (tx, rx) = mpsc::unbounded_channel();
    if from < inner.oldest {
        let _ = tx.send(gone_event());
    } else {
        for (version, r, event, object) in &inner.history {
            if *version > from && *r == resource && selectors.matches(&namespace, object) {
                let line = json!({"type": event, "object": object});
                let _ = tx.send(Bytes::from(format!("{line}\n")));
            }
        }
        inner.watchers.push(Watcher {
            resource,
            namespace,
            selectors,
            out: tx,
        });
    }
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::new(Stream(rx)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A response body fed line by line from a channel; it ends when the sender is dropped.
struct Stream(mpsc::UnboundedReceiver<Bytes>);

impl http_body::Body for Stream {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(http_body::Frame::data(b))))
    }
}
