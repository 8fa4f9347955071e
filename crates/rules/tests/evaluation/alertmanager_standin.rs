//! A small Alertmanager stand-in on loopback: it answers `POST /api/v2/alerts` with 200 and
//! records every alert of every request as Alertmanager would decode it, in arrival order,
//! tagged with the (fake-clock) evaluation the harness says is sending. Anything else it
//! receives (another path or method, a body that is not v2 JSON, a request while no
//! evaluation is sending) is recorded too, so that the test can fail on it rather than
//! the stand-in hiding it behind an error response.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};

/// One alert as it arrived, with its JSON fields as sent.
#[derive(Debug, Clone)]
pub struct ReceivedAlert {
    /// The evaluation (fake-clock ms) that was sending when the request arrived; `None`
    /// when it arrived between evaluations.
    pub eval: Option<i64>,
    /// Index of the request it came in (requests are numbered in arrival order).
    pub post: usize,
    pub labels: BTreeMap<String, String>,
    /// `None` when the field was left out (Alertmanager reads that as no annotations).
    pub annotations: Option<BTreeMap<String, String>>,
    pub starts_at: String,
    pub ends_at: String,
    pub generator_url: String,
}

#[derive(Default)]
struct Record {
    /// The evaluation now sending, set by the harness around its send.
    sending: Option<i64>,
    posts: usize,
    alerts: Vec<ReceivedAlert>,
    /// Requests that are not a valid v2 alerts POST, described.
    unexpected: Vec<String>,
}

pub struct StandIn {
    pub addr: SocketAddr,
    record: Arc<Mutex<Record>>,
}

impl StandIn {
    /// Binds 127.0.0.1 on an ephemeral port and serves on the current tokio runtime.
    pub async fn start() -> StandIn {
        let record: Arc<Mutex<Record>> = Arc::default();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&record));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { addr, record }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tags what arrives from now on with evaluation `ts` (`None`: between evaluations).
    pub fn set_sending(&self, ts: Option<i64>) {
        self.lock().sending = ts;
    }

    /// How many alerts arrived so far.
    pub fn alert_count(&self) -> usize {
        self.lock().alerts.len()
    }

    /// Waits (real time, at most `limit`) until `n` alerts have arrived in all; panics on
    /// timeout, as a send that never arrives is a failure, not a reason to wait on.
    pub fn wait_for(&self, n: usize, limit: Duration, what: &str) {
        let start = Instant::now();
        loop {
            let got = self.alert_count();
            if got >= n {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "{what}: {got} of {n} alerts arrived within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Everything received: the alerts in arrival order and the unexpected requests.
    pub fn received(&self) -> (Vec<ReceivedAlert>, Vec<String>) {
        let r = self.lock();
        (r.alerts.clone(), r.unexpected.clone())
    }
}

async fn receive(
    State(record): State<Arc<Mutex<Record>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let decoded = if method != Method::POST || uri.path() != "/api/v2/alerts" {
        Err(format!("{method} {uri}"))
    } else if headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v != "application/json")
    {
        Err(format!("content type {:?}", headers.get("content-type")))
    } else {
        decode(&body)
    };
    let mut r = record.lock().unwrap_or_else(|p| p.into_inner());
    let post = r.posts;
    r.posts += 1;
    match decoded {
        Ok(alerts) => {
            let eval = r.sending;
            r.alerts.extend(alerts.into_iter().map(|mut a| {
                a.eval = eval;
                a.post = post;
                a
            }));
        }
        Err(e) => r.unexpected.push(e),
    }
    "ok"
}

/// Alertmanager's `PostableAlerts`: an array of objects with `labels` (required), and
/// optionally `annotations`, `startsAt`, `endsAt`, `generatorURL`; no other fields.
fn decode(body: &[u8]) -> Result<Vec<ReceivedAlert>, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let arr = v.as_array().ok_or("body is not an array")?;
    let mut out = Vec::new();
    for a in arr {
        let obj = a.as_object().ok_or("alert is not an object")?;
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "labels" | "annotations" | "startsAt" | "endsAt" | "generatorURL"
            ) {
                return Err(format!("unknown field {k}"));
            }
        }
        let map = |v: &serde_json::Value| -> Result<BTreeMap<String, String>, String> {
            serde_json::from_value(v.clone()).map_err(|e| e.to_string())
        };
        let string = |k: &str| -> Result<String, String> {
            match obj.get(k) {
                None => Ok(String::new()),
                Some(v) => v.as_str().map(str::to_string).ok_or(format!("{k}: {v}")),
            }
        };
        out.push(ReceivedAlert {
            eval: None,
            post: 0,
            labels: map(obj.get("labels").ok_or("no labels")?)?,
            annotations: obj.get("annotations").map(map).transpose()?,
            starts_at: string("startsAt")?,
            ends_at: string("endsAt")?,
            generator_url: string("generatorURL")?,
        });
    }
    Ok(out)
}
