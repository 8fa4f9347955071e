//! Replay's use of the chunks a restart recovered from the spill files (see
//! `head_chunks`): each series the WAL creates takes its recovered chain back before any
//! of its samples are replayed; the samples the chain holds are not newer than its
//! newest, and the WAL reader drops them before they reach the head (`open`).

use super::closed::ClosedChunks;
use super::Head;
use crate::head_chunks::RecoveredChain;

impl Head {
    /// Gives series `r`, just created by replay, the chain of spilled chunks recovered for
    /// it. `false` (nothing done) when the series is not there or already has samples.
    pub(crate) fn attach_spilled(&mut self, r: u64, chain: &RecoveredChain) -> bool {
        if !self.keep_samples || self.disk.is_none() || chain.max_t < self.min_valid_t {
            return false;
        }
        let Some(s) = self.series_mut(r) else {
            return false;
        };
        if s.has_chunks() || s.max_t != i64::MIN {
            return false;
        }
        s.closed = ClosedChunks::Chain(chain.newest);
        s.max_t = chain.max_t;
        self.max_t = self.max_t.max(chain.max_t);
        true
    }

    /// After replay, for the series given a chain: those that got no newer sample take
    /// their newest value from the chain's last chunk (the duplicate check compares with
    /// it).
    pub(crate) fn settle_spilled(&mut self, attached: &[u64]) {
        let disk = self.disk.clone();
        for r in attached {
            let Some(s) = self.series_mut(*r) else {
                continue;
            };
            if s.open.is_empty() && s.open_hist.is_none() {
                s.refresh_last(disk.as_deref());
            }
        }
    }
}
