//! What keeps one query from taking the server with it: the deadline, cancellation (by
//! the client or by shutdown), `--query.max-samples` and the memory budget (see
//! [`crate::memory`]).
//!
//! Deadline and cancellation are checked by work done, not by loop: a counter of steps
//! and samples walked asks the clock every [`CHECK_EVERY`] units, so one series of
//! billions of steps stops as promptly as a million series of one step, and the check
//! costs nothing measurable. The sample limit is checked before anything per step or
//! per sample is allocated, wherever the size is known in advance (steps × series), and
//! while results are built elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{Ctx, EvResult};
use crate::ast::PosRange;
use crate::value::{Annotation, AnnotationKind};
use crate::EvalError;

/// Units of work (steps or samples walked) between two looks at the clock and the
/// cancel flags: about 10–50 µs of work, so a query stops within milliseconds.
pub(crate) const CHECK_EVERY: usize = 4096;

impl Ctx<'_> {
    pub fn annotate(&self, kind: AnnotationKind, msg: String, pos: PosRange) {
        let mut list = self.annotations.borrow_mut();
        // Keyed by text: a repeated message keeps the position of its last occurrence.
        if let Some(existing) = list
            .iter_mut()
            .find(|a| a.kind == kind && a.msg == msg && !a.from_storage)
        {
            existing.pos = pos;
        } else {
            list.push(Annotation {
                kind,
                msg,
                pos,
                from_storage: false,
            });
        }
    }

    /// The query's deadline and cancel flags, to check from worker threads.
    pub fn interrupt(&self) -> Interrupt<'_> {
        Interrupt {
            deadline: self.deadline,
            cancel: self.cancel,
            stop: self.stop,
        }
    }

    pub fn check_interrupt(&self) -> EvResult<()> {
        self.interrupt().check()
    }

    /// Counts `work` units done on this thread; every [`CHECK_EVERY`] units, checks the
    /// deadline and the cancel flags.
    pub fn tick(&self, work: usize) -> EvResult<()> {
        let done = self.work.get().saturating_add(work);
        if done < CHECK_EVERY {
            self.work.set(done);
            return Ok(());
        }
        self.work.set(0);
        self.check_interrupt()
    }

    /// Checks that `n` samples held at once stay within the query's limit.
    pub fn count_samples(&self, n: usize) -> EvResult<()> {
        if n > self.max_samples {
            return Err(EvalError::TooManySamples);
        }
        if n as u64 > self.peak_samples.get() {
            self.peak_samples.set(n as u64);
        }
        self.memory.holding(n as u64)
    }

    /// Refuses, before anything is allocated, a result of `series` series with `steps`
    /// points each that would hold more samples than the limit.
    /// The memory for them is reserved here too, before it is allocated.
    pub fn check_size(&self, steps: usize, series: usize) -> EvResult<()> {
        let points = steps.saturating_mul(series);
        if points > self.max_samples {
            return Err(EvalError::TooManySamples);
        }
        self.memory.holding(points as u64)
    }
}

/// A query's deadline and cancel flags (shareable between threads, unlike [`Ctx`]).
#[derive(Clone, Copy)]
pub(crate) struct Interrupt<'a> {
    deadline: Option<Instant>,
    /// Set when the client went away.
    cancel: Option<&'a AtomicBool>,
    /// Set when the engine stops (the server shuts down).
    stop: &'a AtomicBool,
}

impl<'a> Interrupt<'a> {
    pub fn check(&self) -> EvResult<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
            || self.stop.load(Ordering::Relaxed)
        {
            return Err(EvalError::Canceled);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(EvalError::Timeout);
        }
        Ok(())
    }

    /// A work counter for one thread (see [`Ctx::tick`]).
    pub fn ticker(self) -> Ticker<'a> {
        Ticker {
            interrupt: self,
            work: 0,
        }
    }
}

/// Counts work done on one thread and checks the query's deadline and cancel flags
/// every [`CHECK_EVERY`] units.
pub(crate) struct Ticker<'a> {
    interrupt: Interrupt<'a>,
    work: usize,
}

impl Ticker<'_> {
    pub fn tick(&mut self, work: usize) -> EvResult<()> {
        self.work = self.work.saturating_add(work);
        if self.work < CHECK_EVERY {
            return Ok(());
        }
        self.work = 0;
        self.interrupt.check()
    }
}
