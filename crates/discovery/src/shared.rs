//! One running mechanism for identical configurations across jobs, as Prometheus's
//! discovery manager shares a provider between the jobs that configure it alike: the
//! example Kubernetes configuration's `kubernetes-nodes` and `kubernetes-cadvisor` jobs
//! both use `role: node`, and watch the nodes once. Each job subscribes: it gets every
//! group held so far, then each update as it comes; the mechanism stops when the last
//! job using it goes.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::broadcast;

use crate::{Discoverer, Group, Updates};

/// Updates buffered per subscriber before a slow one has to start again from the
/// groups held (kept small: the buffer keeps what it holds alive).
const FAN_OUT: usize = 16;

struct Provider {
    health: Option<(&'static str, crate::Health)>,
    state: Mutex<State>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct State {
    /// The last group of each source that has targets (shared with the subscribers).
    held: BTreeMap<String, Arc<Group>>,
    out: broadcast::Sender<Arc<Vec<Arc<Group>>>>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

impl Provider {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts `mechanism`, holding and fanning out what it sends.
    fn start(mechanism: Box<dyn Discoverer>) -> Arc<Self> {
        let (out, _) = broadcast::channel(FAN_OUT);
        let provider = Arc::new(Self {
            health: mechanism.health(),
            state: Mutex::new(State {
                held: BTreeMap::new(),
                out,
            }),
            task: Mutex::new(None),
        });
        let weak = Arc::downgrade(&provider);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Group>>(1);
        let task = tokio::spawn(async move {
            let run = mechanism.run(tx);
            tokio::pin!(run);
            loop {
                tokio::select! {
                    _ = &mut run => return,
                    groups = rx.recv() => {
                        let Some(groups) = groups else { return };
                        let Some(provider) = weak.upgrade() else { return };
                        let groups: Vec<Arc<Group>> = groups.into_iter().map(Arc::new).collect();
                        let mut state = provider.lock();
                        for g in &groups {
                            // A source without targets is gone: nothing to hand a new
                            // subscriber about it.
                            if g.targets.is_empty() {
                                state.held.remove(&g.source);
                            } else {
                                state.held.insert(g.source.clone(), Arc::clone(g));
                            }
                        }
                        // No subscriber right now is fine: the next one reads `held`.
                        let _ = state.out.send(Arc::new(groups));
                    }
                }
            }
        });
        *provider.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        provider
    }
}

/// A job's subscription to a shared mechanism.
pub struct Subscription {
    provider: Arc<Provider>,
}

impl Subscription {
    /// Sends the groups held, then each update, shared, until `updates` closes.
    async fn forward(self, updates: crate::SharedUpdates) {
        loop {
            // The groups held and the updates after them, taken under one lock so that
            // none falls between.
            let (held, mut rx) = {
                let state = self.provider.lock();
                let held: Vec<Arc<Group>> = state.held.values().cloned().collect();
                (held, state.out.subscribe())
            };
            if !held.is_empty() && updates.send(held).await.is_err() {
                return;
            }
            loop {
                match rx.recv().await {
                    Ok(groups) => {
                        if updates.send(groups.as_ref().clone()).await.is_err() {
                            return;
                        }
                    }
                    // Too slow: start again from what is held.
                    Err(broadcast::error::RecvError::Lagged(_)) => break,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }
}

impl Discoverer for Subscription {
    fn health(&self) -> Option<(&'static str, crate::Health)> {
        self.provider.health.clone()
    }

    fn run_shared(
        self: Box<Self>,
        updates: crate::SharedUpdates,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.forward(updates))
    }

    /// Copies of the groups, for a receiver that wants them unshared.
    fn run(self: Box<Self>, updates: Updates) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Arc<Group>>>(1);
            let forward = self.forward(tx);
            tokio::pin!(forward);
            loop {
                tokio::select! {
                    _ = &mut forward => return,
                    groups = rx.recv() => {
                        let Some(groups) = groups else { return };
                        let copies = groups.iter().map(|g| (**g).clone()).collect();
                        if updates.send(copies).await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
    }
}

/// Running mechanisms by configuration, for configurations of type `C`.
pub struct Registry<C> {
    running: Mutex<Vec<(C, Weak<Provider>)>>,
}

impl<C: PartialEq + Clone> Registry<C> {
    pub const fn new() -> Self {
        Self {
            running: Mutex::new(Vec::new()),
        }
    }

    /// A subscription to the mechanism running `config`, started by `start` if none is.
    pub fn subscribe<E>(
        &self,
        config: &C,
        start: impl FnOnce() -> Result<Box<dyn Discoverer>, E>,
    ) -> Result<Box<dyn Discoverer>, E> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|(_, p)| p.strong_count() > 0);
        if let Some(provider) = running
            .iter()
            .find(|(c, _)| c == config)
            .and_then(|(_, p)| p.upgrade())
        {
            return Ok(Box::new(Subscription { provider }));
        }
        let provider = Provider::start(start()?);
        running.push((config.clone(), Arc::downgrade(&provider)));
        Ok(Box::new(Subscription { provider }))
    }
}
