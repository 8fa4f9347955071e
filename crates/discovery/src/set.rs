//! A job's discovery: its mechanisms run side by side, their groups are held by
//! (mechanism, source), and the whole list goes to the scrape manager when it changed, at
//! most once per update period (Prometheus's discovery manager sends every 5 s).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{Discoverer, Group};

/// A running discovery; dropping it stops its mechanisms.
pub struct Set {
    /// `scrape` or `notify` (the discovery manager, in the metrics).
    manager: &'static str,
    name: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Set {
    /// Starts `discoverers` under the job name `name`. The receiver holds `None` until the
    /// first groups arrive, then every group held; the first list goes out at once, later
    /// ones at most once per `period`. The groups are shared with the set (a large cluster's
    /// groups are held once, not once more per list sent).
    pub fn start(
        name: &str,
        discoverers: Vec<Box<dyn Discoverer>>,
        period: Duration,
    ) -> (Self, watch::Receiver<Option<Vec<Arc<Group>>>>) {
        Self::start_for("scrape", name, discoverers, period)
    }

    /// As [`Set::start`], counted in the metrics under `manager` (`notify` for
    /// Alertmanagers, as Prometheus names its discovery managers).
    pub fn start_for(
        manager: &'static str,
        name: &str,
        discoverers: Vec<Box<dyn Discoverer>>,
        period: Duration,
    ) -> (Self, watch::Receiver<Option<Vec<Arc<Group>>>>) {
        let (out, receiver) = watch::channel(None);
        let (merged_tx, merged_rx) = mpsc::channel::<(usize, Vec<Arc<Group>>)>(16);
        let mut tasks = Vec::new();
        for (i, d) in discoverers.into_iter().enumerate() {
            let (tx, mut rx) = mpsc::channel(1);
            tasks.push(tokio::spawn(d.run_shared(tx)));
            let merged = merged_tx.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(groups) = rx.recv().await {
                    if merged.send((i, groups)).await.is_err() {
                        return;
                    }
                }
            }));
        }
        drop(merged_tx);
        tasks.push(tokio::spawn(merge(
            manager,
            name.to_string(),
            merged_rx,
            out,
            period,
        )));
        (
            Self {
                manager,
                name: name.to_string(),
                tasks,
            },
            receiver,
        )
    }
}

impl Drop for Set {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        crate::metrics::forget(self.manager, &self.name);
    }
}

async fn merge(
    manager: &'static str,
    name: String,
    mut updates: mpsc::Receiver<(usize, Vec<Arc<Group>>)>,
    out: watch::Sender<Option<Vec<Arc<Group>>>>,
    period: Duration,
) {
    let mut held: BTreeMap<(usize, String), Arc<Group>> = BTreeMap::new();
    let mut changed = false;
    let mut last_sent: Option<Instant> = None;
    loop {
        let due = last_sent.map_or_else(Instant::now, |t| t + period);
        tokio::select! {
            update = updates.recv() => {
                let Some((mechanism, groups)) = update else { return };
                crate::metrics::received_update(manager);
                for g in groups {
                    let key = (mechanism, g.source.clone());
                    if g.targets.is_empty() {
                        held.remove(&key);
                    } else {
                        held.insert(key, g);
                    }
                }
                changed = true;
            }
            _ = tokio::time::sleep_until(due), if changed => {}
            _ = out.closed() => return,
        }
        if changed && last_sent.is_none_or(|t| t.elapsed() >= period) {
            let groups: Vec<Arc<Group>> = held.values().cloned().collect();
            let targets = groups.iter().map(|g| g.targets.len()).sum();
            crate::metrics::sent_update(manager, &name, targets);
            if out.send(Some(groups)).is_err() {
                return;
            }
            changed = false;
            last_sent = Some(Instant::now());
        }
    }
}

/// The targets of `groups` as label sets: a group's labels, then its target's own (which
/// win over the group's).
pub fn targets_of<G: AsRef<Group>>(groups: &[G]) -> Vec<model::Labels> {
    let mut out = Vec::new();
    for g in groups {
        let g = g.as_ref();
        for t in &g.targets {
            let mut pairs: BTreeMap<&str, &str> = g
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            pairs.extend(t.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            out.push(model::Labels::from_pairs(pairs));
        }
    }
    out
}
