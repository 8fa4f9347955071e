//! List, then watch (client-go's reflector): one collection of one kind, in one namespace
//! or all, with the role's label and field selectors. The list (in pages) replaces what
//! the store holds of the collection; the watch resumes from the last resourceVersion
//! seen, again after the server ends it; `410 Gone` (on the request or as an `ERROR`
//! event) means the version is too old, so the collection is listed again. Failures are
//! counted in `prometheus_sd_kubernetes_failures_total`, logged, and retried with
//! backoff; the objects last known stay in force meanwhile.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::client::{ApiClient, ApiError};
use super::resource::{Kind, Object};

/// Objects asked for per list page.
const PAGE_SIZE: usize = 500;
/// The most bytes of one list page read.
const MAX_PAGE_BYTES: usize = 256 << 20;
/// The most bytes of one watch event (one object) buffered.
const MAX_EVENT_BYTES: usize = 16 << 20;
/// client-go's reflector backoff: from 800 ms, doubling, to 30 s.
const BACKOFF_START: Duration = Duration::from_millis(800);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a watch may run before the server ends it (client-go picks 5 to 10 minutes).
const WATCH_SECONDS: u64 = 300;

/// What one watch is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSpec {
    pub kind: Kind,
    /// "" for all namespaces (and for cluster-scoped kinds).
    pub namespace: String,
    pub label_selector: String,
    pub field_selector: String,
}

/// What a watch tells the store.
#[derive(Debug)]
pub enum Update {
    /// The whole collection as listed (the first message of every watch, and again
    /// after every re-list).
    Listed(Vec<Object>),
    Upserted(Object),
    Deleted(Object),
}

/// Runs the watch `spec` until `out` is closed, sending its updates tagged with `id`.
pub async fn run(
    api: Arc<ApiClient>,
    spec: WatchSpec,
    id: usize,
    out: mpsc::Sender<(usize, Update)>,
    health: crate::Health,
) {
    let what = spec.kind.path(&spec.namespace);
    let mut backoff = BACKOFF_START;
    let failed = |e: &str, backoff: &mut Duration| -> Duration {
        crate::metrics::kubernetes_failure();
        health.failed(&what, e);
        tracing::warn!(kind = ?spec.kind, namespace = %spec.namespace, err = %e, "Kubernetes list/watch failed");
        let wait = *backoff;
        *backoff = (*backoff * 2).min(BACKOFF_MAX);
        wait
    };
    'relist: loop {
        let version = match list(&api, &spec).await {
            Ok((objects, version)) => {
                backoff = BACKOFF_START;
                health.succeeded(&what);
                if out.send((id, Update::Listed(objects))).await.is_err() {
                    return;
                }
                version
            }
            Err(e) => {
                let wait = failed(&e.to_string(), &mut backoff);
                if !pause(wait, &out).await {
                    return;
                }
                continue 'relist;
            }
        };
        let mut version = version;
        let watching = || health.succeeded(&what);
        loop {
            let result = tokio::select! {
                r = watch(&api, &spec, &mut version, id, &out, &watching) => r,
                _ = out.closed() => return,
            };
            match result {
                // The server ended the watch (its timeout): go on from where it was.
                Ok(()) => backoff = BACKOFF_START,
                Err(ApiError::Gone) => continue 'relist,
                Err(ApiError::Closed) => return,
                Err(ApiError::Other(e)) => {
                    let wait = failed(&e, &mut backoff);
                    if !pause(wait, &out).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Waits `wait`; false when `out` closed meanwhile.
async fn pause(wait: Duration, out: &mpsc::Sender<(usize, Update)>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => true,
        _ = out.closed() => false,
    }
}

#[derive(Deserialize)]
struct ListPage<'a> {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ListMeta {
    resource_version: String,
    #[serde(rename = "continue")]
    next: String,
}

fn selectors(spec: &WatchSpec) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if !spec.label_selector.is_empty() {
        query.push(("labelSelector", spec.label_selector.clone()));
    }
    if !spec.field_selector.is_empty() {
        query.push(("fieldSelector", spec.field_selector.clone()));
    }
    query
}

/// The collection, page by page, and the resourceVersion to watch from.
async fn list(api: &ApiClient, spec: &WatchSpec) -> Result<(Vec<Object>, String), ApiError> {
    let path = spec.kind.path(&spec.namespace);
    let mut objects = Vec::new();
    let mut next = String::new();
    loop {
        let mut query = selectors(spec);
        query.push(("limit", PAGE_SIZE.to_string()));
        if !next.is_empty() {
            query.push(("continue", next.clone()));
        }
        let body = api.get_body(&path, &query, MAX_PAGE_BYTES).await?;
        let page: ListPage = serde_json::from_slice(&body)
            .map_err(|e| ApiError::Other(format!("decoding the list of {path}: {e}")))?;
        for item in page.items.unwrap_or_default() {
            match spec.kind.decode(item) {
                Ok(object) => objects.push(object),
                Err(e) => {
                    tracing::warn!(path = %path, err = %e, "Skipping an object that does not decode")
                }
            }
        }
        if page.metadata.next.is_empty() {
            return Ok((objects, page.metadata.resource_version));
        }
        next = page.metadata.next;
    }
}

/// A list page's objects as one [`Update::Listed`] (the fuzz target's way in).
pub fn decode_list(kind: Kind, body: &[u8]) -> Vec<Update> {
    let Ok(page) = serde_json::from_slice::<ListPage>(body) else {
        return Vec::new();
    };
    let objects = page
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|item| kind.decode(item).ok())
        .collect();
    vec![Update::Listed(objects)]
}

/// The updates of a watch stream's events, up to the first that does not decode.
pub fn decode_events(kind: Kind, body: &[u8]) -> Vec<Update> {
    let mut version = String::new();
    let mut out = Vec::new();
    for event in serde_json::Deserializer::from_slice(body).into_iter::<WatchEvent>() {
        match event.map(|e| handle(kind, &e, &mut version)) {
            Ok(Ok(Some(update))) => out.push(update),
            Ok(Ok(None)) => {}
            _ => break,
        }
    }
    out
}

#[derive(Deserialize)]
struct WatchEvent<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    object: &'a RawValue,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Status {
    code: u16,
    message: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VersionOnly {
    metadata: VersionMeta,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct VersionMeta {
    resource_version: String,
}

/// One watch request from `version`, sending its events until the server ends it;
/// `version` follows every event (and bookmark) so that the next watch resumes there.
/// `started` is called once the server accepted the watch.
async fn watch(
    api: &ApiClient,
    spec: &WatchSpec,
    version: &mut String,
    id: usize,
    out: &mpsc::Sender<(usize, Update)>,
    started: &(dyn Fn() + Sync),
) -> Result<(), ApiError> {
    let path = spec.kind.path(&spec.namespace);
    let mut query = selectors(spec);
    query.push(("watch", "true".into()));
    query.push(("allowWatchBookmarks", "true".into()));
    query.push(("timeoutSeconds", WATCH_SECONDS.to_string()));
    if !version.is_empty() {
        query.push(("resourceVersion", version.clone()));
    }
    let mut response = api.get(&path, &query).await?;
    started();
    // A server that stops sending (not even bookmarks) is given up on after the
    // watch's own timeout and a margin.
    let idle = Duration::from_secs(WATCH_SECONDS + 60);
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(idle, response.chunk()).await {
            Err(_) => {
                return Err(ApiError::Other(format!(
                    "watch of {path}: no data for {idle:?}"
                )))
            }
            Ok(Err(e)) => return Err(ApiError::Other(format!("watch of {path}: {e}"))),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(chunk))) => chunk,
        };
        buffer.extend_from_slice(&chunk);
        let mut consumed = 0;
        {
            let mut events =
                serde_json::Deserializer::from_slice(&buffer).into_iter::<WatchEvent>();
            loop {
                match events.next() {
                    None => {
                        consumed = events.byte_offset();
                        break;
                    }
                    Some(Ok(event)) => {
                        consumed = events.byte_offset();
                        if let Some(update) = handle(spec.kind, &event, version)? {
                            if out.send((id, update)).await.is_err() {
                                return Err(ApiError::Closed);
                            }
                        }
                    }
                    Some(Err(e)) if e.is_eof() => break,
                    Some(Err(e)) => {
                        return Err(ApiError::Other(format!(
                            "decoding a watch event of {path}: {e}"
                        )))
                    }
                }
            }
        }
        buffer.drain(..consumed);
        if buffer.len() > MAX_EVENT_BYTES {
            return Err(ApiError::Other(format!(
                "watch of {path}: an event is larger than {MAX_EVENT_BYTES} bytes"
            )));
        }
    }
}

/// What one watch event changes; `Gone` for a 410 `ERROR` event.
fn handle(
    kind: Kind,
    event: &WatchEvent,
    version: &mut String,
) -> Result<Option<Update>, ApiError> {
    match event.kind.as_str() {
        "ADDED" | "MODIFIED" | "DELETED" => {
            let object = kind
                .decode(event.object)
                .map_err(|e| ApiError::Other(format!("decoding a watched {kind:?}: {e}")))?;
            *version = object.meta().resource_version.clone();
            Ok(Some(if event.kind == "DELETED" {
                Update::Deleted(object)
            } else {
                Update::Upserted(object)
            }))
        }
        "BOOKMARK" => {
            if let Ok(v) = serde_json::from_str::<VersionOnly>(event.object.get()) {
                if !v.metadata.resource_version.is_empty() {
                    *version = v.metadata.resource_version;
                }
            }
            Ok(None)
        }
        "ERROR" => {
            let status: Status = serde_json::from_str(event.object.get()).unwrap_or_default();
            if status.code == 410 {
                Err(ApiError::Gone)
            } else {
                Err(ApiError::Other(format!(
                    "watch error {}: {}",
                    status.code, status.message
                )))
            }
        }
        other => Err(ApiError::Other(format!(
            "unknown watch event type {other:?}"
        ))),
    }
}
