//! The bcrypt work pool: a fixed CPU budget, shared fairly between client addresses.
//!
//! Upstream runs every uncached bcrypt comparison under one mutex, so a flood of wrong
//! passwords from one address delays every other user's login by seconds. Here each
//! client address has its own bounded queue, the queues are served round-robin, and one
//! address may occupy at most `workers - 1` workers (at least one), so another address's
//! login always finds a free worker or the next turn.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Who a piece of bcrypt work is for: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4(u32),
    V6(u64),
    Unknown,
}

impl ClientKey {
    pub fn from_ip(ip: Option<IpAddr>) -> Self {
        match ip {
            Some(IpAddr::V4(v4)) => Self::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(u32::from(v4)),
                None => Self::V6((u128::from(v6) >> 64) as u64),
            },
            None => Self::Unknown,
        }
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Limits of the pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    /// Comparisons running at once (the CPU budget).
    pub workers: usize,
    /// Comparisons waiting per client address; more are refused (429).
    pub queue_per_client: usize,
    /// Comparisons waiting in all; more are refused (429).
    pub queue_total: usize,
}

impl Default for PoolLimits {
    fn default() -> Self {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self {
            workers,
            queue_per_client: 64,
            queue_total: 4096,
        }
    }
}

pub(crate) struct Busy;

pub(crate) struct BcryptPool {
    limits: PoolLimits,
    per_client_running: usize,
    state: Mutex<PoolState>,
}

#[derive(Default)]
struct PoolState {
    queues: HashMap<ClientKey, VecDeque<Job>>,
    /// Clients with queued work that may start another job, in turn order.
    ready: VecDeque<ClientKey>,
    running: HashMap<ClientKey, usize>,
    running_total: usize,
    queued_total: usize,
}

impl BcryptPool {
    pub fn new(limits: PoolLimits) -> Arc<Self> {
        let limits = PoolLimits {
            workers: limits.workers.max(1),
            ..limits
        };
        Arc::new(Self {
            per_client_running: (limits.workers - 1).max(1),
            limits,
            state: Mutex::new(PoolState::default()),
        })
    }

    /// Queues `job` for `client`; it runs on a blocking thread when its turn comes.
    pub fn submit(self: &Arc<Self>, client: ClientKey, job: Job) -> Result<(), Busy> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Busy)?;
        let mut state = self.lock();
        let queued = state.queues.get(&client).map_or(0, VecDeque::len);
        if queued >= self.limits.queue_per_client || state.queued_total >= self.limits.queue_total {
            return Err(Busy);
        }
        state.queues.entry(client).or_default().push_back(job);
        state.queued_total += 1;
        self.mark_ready(&mut state, client);
        self.dispatch(&mut state, &runtime);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // A panic while holding this lock cannot leave the queues inconsistent in a way
        // that matters more than refusing service, so recover the guard.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn mark_ready(&self, state: &mut PoolState, client: ClientKey) {
        let has_work = state.queues.get(&client).is_some_and(|q| !q.is_empty());
        let running = state.running.get(&client).copied().unwrap_or(0);
        if has_work && running < self.per_client_running && !state.ready.contains(&client) {
            state.ready.push_back(client);
        }
    }

    fn dispatch(self: &Arc<Self>, state: &mut PoolState, runtime: &tokio::runtime::Handle) {
        while state.running_total < self.limits.workers {
            let Some(client) = state.ready.pop_front() else {
                return;
            };
            let Some(job) = state.queues.get_mut(&client).and_then(VecDeque::pop_front) else {
                continue;
            };
            if state.queues.get(&client).is_some_and(VecDeque::is_empty) {
                state.queues.remove(&client);
            }
            state.queued_total -= 1;
            state.running_total += 1;
            *state.running.entry(client).or_insert(0) += 1;
            self.mark_ready(state, client);
            let pool = Arc::clone(self);
            let handle = runtime.clone();
            runtime.spawn_blocking(move || {
                // Whatever the job does, its worker slot is given back.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                pool.finish(client, &handle);
            });
        }
    }

    fn finish(self: &Arc<Self>, client: ClientKey, runtime: &tokio::runtime::Handle) {
        let mut state = self.lock();
        state.running_total -= 1;
        if let Some(n) = state.running.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                state.running.remove(&client);
            }
        }
        self.mark_ready(&mut state, client);
        self.dispatch(&mut state, runtime);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flooding_client_does_not_delay_another() {
        let pool = BcryptPool::new(PoolLimits {
            workers: 2,
            queue_per_client: 8,
            queue_total: 100,
        });
        let flood = ClientKey::V4(1);
        let mut accepted = 0;
        for _ in 0..20 {
            if pool
                .submit(
                    flood,
                    Box::new(|| std::thread::sleep(Duration::from_millis(200))),
                )
                .is_ok()
            {
                accepted += 1;
            }
        }
        // One running plus eight queued; the rest are refused at once.
        assert_eq!(accepted, 9);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let start = Instant::now();
        let other = ClientKey::V4(2);
        assert!(pool
            .submit(
                other,
                Box::new(move || {
                    let _ = tx.send(Instant::now());
                })
            )
            .is_ok());
        let ran_at = rx.await.unwrap();
        assert!(
            ran_at - start < Duration::from_millis(100),
            "waited {:?}",
            ran_at - start
        );
    }

    #[test]
    fn ipv6_clients_group_by_64() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        assert_eq!(ClientKey::from_ip(Some(a)), ClientKey::from_ip(Some(b)));
        assert_ne!(ClientKey::from_ip(Some(a)), ClientKey::from_ip(Some(c)));
    }
}
