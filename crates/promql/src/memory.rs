//! Memory budgets: what one query may hold, and what all running queries may hold together,
//! so that concurrent heavy queries end with an error instead of the server being
//! OOM-killed (Prometheus has only `--query.max-samples`, per query: twenty queries at its
//! limit hold about 16 GB between them).
//!
//! A query's estimate is the samples it loaded from storage (with their series' labels)
//! plus the most result samples it held at once. Loads are summed, never released before
//! the query ends, so the estimate is an upper bound of what the query keeps alive. The
//! estimate is reserved from the shared total as it grows (an atomic add, only when it
//! grows), and the whole reservation is returned when the query ends, however it ends.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::EvalError;

/// Bytes of one result point (timestamp and value).
pub(crate) const POINT_BYTES: u64 = 16;

/// The memory all queries of an engine (and its clones) may reserve together.
#[derive(Debug, Default)]
pub struct MemoryBudget {
    /// 0: no limit.
    limit: u64,
    reserved: AtomicU64,
}

impl MemoryBudget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            reserved: AtomicU64::new(0),
        }
    }

    /// Bytes reserved by the queries running now.
    pub fn reserved(&self) -> u64 {
        self.reserved.load(Ordering::Relaxed)
    }

    /// Takes `bytes` more, unless that would go over the limit.
    fn take(&self, bytes: u64) -> bool {
        let mut now = self.reserved.load(Ordering::Relaxed);
        loop {
            let next = now.saturating_add(bytes);
            if self.limit > 0 && next > self.limit {
                return false;
            }
            match self.reserved.compare_exchange_weak(
                now,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => now = actual,
            }
        }
    }

    fn give_back(&self, bytes: u64) {
        self.reserved.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// One query's share of a [`MemoryBudget`], returned when dropped. Shared by the threads
/// a select loads series on, hence atomics.
pub(crate) struct Reservation<'a> {
    budget: &'a MemoryBudget,
    /// What this query may hold (0: no limit of its own).
    per_query: u64,
    held: AtomicU64,
    loaded: AtomicU64,
    peak_points: AtomicU64,
}

impl<'a> Reservation<'a> {
    pub fn new(budget: &'a MemoryBudget, per_query: u64) -> Self {
        Self {
            budget,
            per_query,
            held: AtomicU64::new(0),
            loaded: AtomicU64::new(0),
            peak_points: AtomicU64::new(0),
        }
    }

    /// Counts `bytes` loaded from storage.
    pub fn loaded(&self, bytes: u64) -> Result<(), EvalError> {
        self.loaded.fetch_add(bytes, Ordering::Relaxed);
        self.grow()
    }

    /// Counts `points` result samples held at once (a new peak when more than before).
    pub fn holding(&self, points: u64) -> Result<(), EvalError> {
        if self.peak_points.fetch_max(points, Ordering::Relaxed) >= points {
            return Ok(());
        }
        self.grow()
    }

    /// The query's estimate now (see the module docs).
    pub fn estimate(&self) -> u64 {
        self.loaded.load(Ordering::Relaxed).saturating_add(
            self.peak_points
                .load(Ordering::Relaxed)
                .saturating_mul(POINT_BYTES),
        )
    }

    /// Reserves from the total up to the estimate.
    fn grow(&self) -> Result<(), EvalError> {
        let want = self.estimate();
        if self.per_query > 0 && want > self.per_query {
            return Err(EvalError::QueryMemory(self.per_query));
        }
        let mut held = self.held.load(Ordering::Relaxed);
        while want > held {
            if !self.budget.take(want - held) {
                return Err(EvalError::TotalMemory(self.budget.limit));
            }
            match self
                .held
                .compare_exchange(held, want, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => {
                    // Another thread reserved meanwhile: return ours and look again.
                    self.budget.give_back(want - held);
                    held = now;
                }
            }
        }
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.give_back(*self.held.get_mut());
    }
}

/// A rough size of a series loaded from storage: its samples and labels (with the
/// allocations' overhead).
pub(crate) fn series_bytes(labels: &model::Labels, samples: usize) -> u64 {
    let labels: usize = labels
        .iter()
        .map(|l| l.name.len() + l.value.len() + 48)
        .sum();
    (samples as u64)
        .saturating_mul(POINT_BYTES)
        .saturating_add(labels as u64 + 64)
}

/// "3.0 GiB": a byte count as people read it.
pub(crate) fn show_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_total_and_return_it() {
        let budget = MemoryBudget::new(1000);
        let a = Reservation::new(&budget, 800);
        assert_eq!(a.loaded(600), Ok(()));
        assert_eq!(a.loaded(300), Err(EvalError::QueryMemory(800)));
        let b = Reservation::new(&budget, 800);
        assert_eq!(b.holding(20), Ok(()));
        assert_eq!(budget.reserved(), 600 + 20 * POINT_BYTES);
        // A lower peak than before takes nothing more.
        assert_eq!(b.holding(10), Ok(()));
        assert_eq!(b.loaded(450), Err(EvalError::TotalMemory(1000)));
        drop(a);
        assert_eq!(budget.reserved(), 20 * POINT_BYTES);
        let c = Reservation::new(&budget, 0);
        assert_eq!(c.loaded(500), Ok(()));
        drop((b, c));
        assert_eq!(budget.reserved(), 0);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(show_bytes(512), "512 B");
        assert_eq!(show_bytes(3 << 30), "3.0 GiB");
    }
}
