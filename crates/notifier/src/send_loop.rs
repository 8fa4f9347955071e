//! One Alertmanager's queue and the task sending it in batches (upstream's `sendLoop`):
//! a full queue drops its oldest alerts, a failed batch is dropped, every batch is one
//! `POST` bounded by the set's timeout.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promconfig::AlertmanagerConfig;

use crate::alert::{encode_v2, Alert};
use crate::metrics::LoopMetrics;

/// `User-Agent` of notifications (the scrape client's, for this server).
const USER_AGENT: &str = concat!("Promethium/", env!("CARGO_PKG_VERSION"));

pub(crate) struct Shared {
    pub url: String,
    cfg: Arc<AlertmanagerConfig>,
    client: reqwest::Client,
    capacity: usize,
    max_batch: usize,
    queue: Mutex<VecDeque<Alert>>,
    work: tokio::sync::Notify,
    stopped: AtomicBool,
    pub metrics: LoopMetrics,
}

/// A running send loop.
pub(crate) struct SendLoop {
    pub shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SendLoop {
    /// Starts the loop (needs a tokio runtime).
    pub fn start(
        url: String,
        cfg: Arc<AlertmanagerConfig>,
        client: reqwest::Client,
        capacity: usize,
        max_batch: usize,
    ) -> Self {
        let shared = Arc::new(Shared {
            url,
            cfg,
            client,
            capacity,
            max_batch: max_batch.max(1),
            queue: Mutex::new(VecDeque::new()),
            work: tokio::sync::Notify::new(),
            stopped: AtomicBool::new(false),
            metrics: LoopMetrics::default(),
        });
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run(Arc::clone(&shared), stop_rx));
        Self { shared, stop, task }
    }

    /// Stops the loop: the batch in flight completes, then the queue is drained (each
    /// batch bounded by the timeout, the whole by `deadline` if given; what is left then
    /// is dropped) or, without `drain`, dropped and counted.
    pub async fn shutdown(self, drain: bool, deadline: Option<Instant>) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let s = &self.shared;
        if drain {
            while s.queue_len() > 0 {
                let batch = s.next_batch();
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                let sent = match left {
                    None => Some(s.send_all(&batch).await),
                    Some(left) => tokio::time::timeout(left, s.send_all(&batch)).await.ok(),
                };
                if sent != Some(true) {
                    LoopMetrics::add(&s.metrics.dropped, batch.len());
                }
                if sent.is_none() {
                    break;
                }
            }
        }
        let left = {
            let mut q = s.lock();
            let n = q.len();
            q.clear();
            n
        };
        if left > 0 {
            tracing::warn!(alertmanager = %s.url, count = left, "Alert notification queue not drained on shutdown, dropping alerts");
            LoopMetrics::add(&s.metrics.dropped, left);
            s.metrics.queue_length.store(0, Ordering::Relaxed);
        }
    }
}

async fn run(shared: Arc<Shared>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            _ = shared.work.notified() => {}
        }
        shared.send_one_batch().await;
        if shared.queue_len() > 0 {
            shared.work.notify_one();
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Alert>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn queue_len(&self) -> usize {
        self.lock().len()
    }

    /// Queues alerts; over capacity the oldest go (counted as dropped).
    pub fn add(&self, alerts: &[Alert]) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        let mut dropped = 0;
        let mut alerts = alerts;
        if alerts.len() > self.capacity {
            let d = alerts.len() - self.capacity;
            tracing::warn!(alertmanager = %self.url, count = d, "Alert batch larger than queue capacity, dropping alerts");
            dropped += d;
            alerts = &alerts[d..];
        }
        let len = {
            let mut q = self.lock();
            let over = (q.len() + alerts.len()).saturating_sub(self.capacity);
            if over > 0 {
                tracing::warn!(alertmanager = %self.url, count = over, "Alert notification queue full, dropping alerts");
                dropped += over;
                q.drain(..over);
            }
            q.extend(alerts.iter().cloned());
            q.len()
        };
        self.work.notify_one();
        self.metrics
            .queue_length
            .store(len as u64, Ordering::Relaxed);
        if dropped > 0 {
            LoopMetrics::add(&self.metrics.dropped, dropped);
        }
    }

    fn next_batch(&self) -> Vec<Alert> {
        let mut q = self.lock();
        let n = q.len().min(self.max_batch);
        let batch: Vec<Alert> = q.drain(..n).collect();
        self.metrics
            .queue_length
            .store(q.len() as u64, Ordering::Relaxed);
        batch
    }

    async fn send_one_batch(&self) {
        let batch = self.next_batch();
        if !self.send_all(&batch).await {
            LoopMetrics::add(&self.metrics.dropped, batch.len());
        }
    }

    async fn send_all(&self, alerts: &[Alert]) -> bool {
        if alerts.is_empty() {
            return true;
        }
        let begin = Instant::now();
        let body = encode_v2(alerts);
        match self.post(body).await {
            Ok(()) => {
                self.metrics.observe(begin.elapsed().as_secs_f64());
                LoopMetrics::add(&self.metrics.sent, alerts.len());
                true
            }
            Err(e) => {
                tracing::error!(alertmanager = %self.url, count = alerts.len(), err = %e, "Error sending alerts");
                LoopMetrics::add(&self.metrics.errors, alerts.len());
                false
            }
        }
    }

    async fn post(&self, body: String) -> Result<(), String> {
        let timeout: Duration = self.cfg.timeout.0;
        let mut req = self
            .client
            .post(&self.url)
            .timeout(timeout)
            .header("User-Agent", USER_AGENT)
            .header("Content-Type", "application/json");
        for (name, value) in httpclient::request_headers_with_oauth2(&self.cfg.http).await? {
            req = req.header(name, value);
        }
        let resp = req.body(body).send().await.map_err(describe)?;
        let status = resp.status();
        // Read the body so that the connection can be reused.
        let _ = tokio::time::timeout(timeout, resp.bytes()).await;
        if !status.is_success() {
            return Err(format!("bad response status {status}"));
        }
        Ok(())
    }
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!(
            "Post \"{}\": context deadline exceeded",
            e.url().map(|u| u.as_str()).unwrap_or("")
        );
    }
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
