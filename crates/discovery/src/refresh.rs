//! Mechanisms that ask again every `refresh_interval` (upstream's `discovery/refresh`):
//! the groups at once, then after every interval; a failed refresh is logged and counted,
//! and the groups last sent stay in force.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{Group, Updates};

/// A mechanism that asks again on each refresh.
pub(crate) trait Refresh: Send {
    /// All of the mechanism's groups now (with empty ones for sources gone since).
    fn refresh(&mut self) -> impl Future<Output = Result<Vec<Group>, String>> + Send;
}

/// Runs `mechanism`'s refresh now and every `interval` until the receiver of `updates`
/// is gone.
pub(crate) async fn run<R: Refresh>(
    name: &'static str,
    config: String,
    interval: Duration,
    updates: Updates,
    mut mechanism: R,
) {
    // A zero interval (refused by the configuration) must not spin.
    let interval = interval.max(Duration::from_millis(100));
    let health = crate::Health::default();
    crate::health::register(&config, name, &health);
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = updates.closed() => return,
        }
        let started = Instant::now();
        let result = mechanism.refresh().await;
        // As Go's ticker: a tick missed while refreshing is dropped, not made up.
        let now = tokio::time::Instant::now();
        while next <= now {
            next += interval;
        }
        crate::metrics::refreshed(&config, name, started.elapsed(), result.is_err());
        match &result {
            Ok(_) => health.succeeded("refresh"),
            Err(e) => health.failed("refresh", e),
        }
        match result {
            Ok(groups) => {
                if updates.send(groups).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(config = %config, mechanism = name, err = %e, "Unable to refresh target groups")
            }
        }
    }
}
