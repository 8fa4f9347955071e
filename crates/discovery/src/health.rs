//! Whether each job's mechanisms are failing now: the last error of a mechanism whose
//! latest attempt failed (cleared when one succeeds), for the Service discovery page.
//! The targets last known stay in force meanwhile; this only says why they may be old.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::SystemTime;

/// A current failure: what failed (a URL path, a name), the error and since when.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub what: String,
    pub error: String,
    pub since: SystemTime,
}

/// One running mechanism's failures by what failed; kept alive by the mechanism, so its
/// entry goes when the mechanism stops.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<Vec<Failure>>>);

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Failure>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `what` failed with `error` (the first time of a run of failures is kept).
    pub fn failed(&self, what: &str, error: &str) {
        let mut failures = self.lock();
        match failures.iter_mut().find(|f| f.what == what) {
            Some(f) => f.error = error.to_string(),
            None => failures.push(Failure {
                what: what.to_string(),
                error: error.to_string(),
                since: SystemTime::now(),
            }),
        }
    }

    /// `what` succeeded.
    pub fn succeeded(&self, what: &str) {
        self.lock().retain(|f| f.what != what);
    }
}

/// A job's mechanism and its failures now.
#[derive(Debug, Clone, PartialEq)]
pub struct MechanismHealth {
    pub job: String,
    pub mechanism: &'static str,
    pub failures: Vec<Failure>,
}

type Entry = (String, &'static str, Weak<Mutex<Vec<Failure>>>);

fn registry() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    static REGISTRY: OnceLock<Mutex<Vec<Entry>>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Lists `health` under `job` (a shared mechanism is listed under each of its jobs).
pub(crate) fn register(job: &str, mechanism: &'static str, health: &Health) {
    let mut r = registry();
    r.retain(|(_, _, w)| w.strong_count() > 0);
    r.push((job.to_string(), mechanism, Arc::downgrade(&health.0)));
}

/// Every running mechanism by job, with its current failures (none when healthy).
pub fn snapshot() -> Vec<MechanismHealth> {
    let mut r = registry();
    r.retain(|(_, _, w)| w.strong_count() > 0);
    let mut out: Vec<MechanismHealth> = r
        .iter()
        .filter_map(|(job, mechanism, w)| {
            let failures = w
                .upgrade()?
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            Some(MechanismHealth {
                job: job.clone(),
                mechanism,
                failures,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.job, a.mechanism).cmp(&(&b.job, b.mechanism)));
    out
}
