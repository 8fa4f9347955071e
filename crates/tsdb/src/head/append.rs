//! Appending to the head: the checks a sample passes (out of order, duplicate, out of
//! bounds), one sample at a time as scrapes and remote write send them, and many at once
//! on every core during WAL replay.

use model::histogram::HistogramValue;

use super::closed::SpillTo;
use super::{series, series_slot, Head, MemSeries, Orphans, Rejection};

impl Head {
    /// Asks the CPU to start loading what appending to series `r` will touch: `deep`
    /// means its open chunk's tail (the series itself must have been prefetched earlier),
    /// otherwise the series. Appends walk a million series in ref order, and
    /// these loads are what they would otherwise wait for.
    #[inline]
    pub fn prefetch(&self, r: u64, deep: bool) {
        let Some(Some(s)) = self.series.get((r as usize).wrapping_sub(1)) else {
            return;
        };
        if deep {
            prefetch(s.open.tail_ptr());
        } else {
            prefetch((&**s as *const MemSeries).cast());
        }
    }

    /// Checks a histogram sample against the series' newest one. `Ok(false)`: an
    /// identical repeat. Histograms are only taken in order (the out-of-order head holds
    /// floats).
    pub fn check_histogram(&self, r: u64, t: i64, h: &HistogramValue) -> Result<bool, Rejection> {
        if t < self.min_valid_t {
            return Err(Rejection::OutOfBounds);
        }
        let Some(s) = self.series(r) else {
            return Ok(true);
        };
        if !s.has_newest(self.keep_samples) || t > s.max_t {
            return Ok(true);
        }
        if t == s.max_t {
            return if series::histogram_identity(h) == s.last_bits {
                Ok(false)
            } else {
                Err(Rejection::Duplicate)
            };
        }
        Err(Rejection::OutOfOrder)
    }

    /// Appends a checked histogram sample with its start timestamp (0: none), or, in
    /// replay, skips one that is not newer or is out of bounds.
    pub fn append_histogram(&mut self, r: u64, t: i64, h: &HistogramValue, st: i64) -> bool {
        if t < self.min_valid_t {
            return false;
        }
        let range = self.chunk_range;
        let disk = self.disk.as_deref();
        let keep = self.keep_samples;
        let Some(s) = series_slot(&mut self.series, r) else {
            return false;
        };
        if s.has_newest(keep) && t <= s.max_t {
            return false;
        }
        s.append_histogram(t, h, st, range, SpillTo { disk, series: r }, keep);
        self.max_t = self.max_t.max(t);
        true
    }

    /// Checks a sample against the series' newest one. `Ok(false)`: an identical repeat.
    pub fn check(&self, r: u64, t: i64, v: f64) -> Result<bool, Rejection> {
        if t < self.min_valid_t {
            return Err(Rejection::OutOfBounds);
        }
        let Some(s) = self.series(r) else {
            return Ok(true);
        };
        // A sample the out-of-order head already holds at this time (accepted while a
        // cut had raised the lower bound, before a crash lowered it again) must not be
        // written a second time with another value in order. Free unless the series has
        // out-of-order samples.
        if self.ooo.contains(r) {
            if let Some((_, held, _)) = self.ooo.last_in(r, t, t) {
                return if held.to_bits() == v.to_bits() {
                    Ok(false)
                } else {
                    Err(Rejection::Duplicate)
                };
            }
        }
        if !s.has_newest(self.keep_samples) {
            return Ok(true);
        }
        let (max_t, last_bits) = (s.max_t, s.last_bits);
        if t > max_t {
            Ok(true)
        } else if t == max_t {
            if v.to_bits() == last_bits {
                Ok(false)
            } else {
                Err(Rejection::Duplicate)
            }
        } else {
            Err(Rejection::OutOfOrder)
        }
    }

    /// Appends a checked sample (or, in replay, skips one that is not newer or is out of
    /// bounds).
    pub fn append(&mut self, r: u64, t: i64, v: f64, st: i64) -> bool {
        if t < self.min_valid_t {
            return false;
        }
        let range = self.chunk_range;
        let disk = self.disk.as_deref();
        let Some(s) = series_slot(&mut self.series, r) else {
            return false;
        };
        if s.has_newest(self.keep_samples) && t <= s.max_t {
            return false;
        }
        s.append(
            t,
            v,
            st,
            range,
            SpillTo { disk, series: r },
            self.keep_samples,
        );
        self.max_t = self.max_t.max(t);
        true
    }

    /// Appends many samples (WAL replay: samples records, with or without start
    /// timestamps) on several threads: each thread owns a contiguous range of series, so
    /// every series still sees its samples in log order. Samples that are not newer than
    /// their series' newest, or out of bounds, are skipped; samples of refs no series has
    /// (their series record was lost to damage) are skipped and go to `orphans`.
    pub fn append_many(
        &mut self,
        records: &[crate::wal::Record],
        threads: usize,
        orphans: &mut Orphans,
    ) -> usize {
        if records.is_empty() {
            return 0;
        }
        if self.series.is_empty() {
            // No part to own them: every sample is an orphan.
            for record in records {
                (0..record.sample_count())
                    .filter_map(|j| record.sample(j))
                    .for_each(|s| orphans.add(s.0));
            }
            return 0;
        }
        let min_valid = self.min_valid_t;
        let range = self.chunk_range;
        let total = self.series.len();
        let per_part = total.div_ceil(threads.max(1)).max(1);
        let disk = self.disk.as_deref();
        let keep = self.keep_samples;
        let results: Vec<(usize, i64, Orphans)> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .series
                .chunks_mut(per_part)
                .enumerate()
                .map(|(i, part)| {
                    let offset = i * per_part;
                    scope.spawn(move || {
                        let (mut appended, mut max_t) = (0usize, i64::MIN);
                        let mut orphans = Orphans::default();
                        let len = part.len();
                        let own =
                            |r: u64| (r as usize).checked_sub(1 + offset).filter(|i| *i < len);
                        for record in records {
                            for j in 0..record.sample_count() {
                                // Start loading what a few samples ahead will touch (see
                                // `Head::prefetch`).
                                if let Some(Some(Some(s))) = record
                                    .sample(j + 16)
                                    .and_then(|a| own(a.0))
                                    .map(|i| part.get(i))
                                {
                                    prefetch((&**s as *const MemSeries).cast());
                                }
                                if let Some(Some(Some(s))) = record
                                    .sample(j + 8)
                                    .and_then(|a| own(a.0))
                                    .map(|i| part.get(i))
                                {
                                    prefetch(s.open.tail_ptr());
                                }
                                let Some((r, t, v, st)) = record.sample(j) else {
                                    continue;
                                };
                                let Some(index) = own(r) else {
                                    // Refs beyond every series are the first part's to count.
                                    if i == 0 && (r == 0 || r as usize > total) {
                                        orphans.add(r);
                                    }
                                    continue;
                                };
                                let Some(Some(s)) = part.get_mut(index) else {
                                    orphans.add(r);
                                    continue;
                                };
                                if t < min_valid || (s.has_newest(keep) && t <= s.max_t) {
                                    continue;
                                }
                                s.append(t, v, st, range, SpillTo { disk, series: r }, keep);
                                appended += 1;
                                max_t = max_t.max(t);
                            }
                        }
                        (appended, max_t, orphans)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((0, i64::MIN, Orphans::default())))
                .collect()
        });
        let mut total = 0;
        for (appended, max_t, lost) in results {
            total += appended;
            self.max_t = self.max_t.max(max_t);
            orphans.merge(lost);
        }
        total
    }
}

#[inline]
fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint with no architectural effect; it never faults, even
    // for an invalid address, and reads nothing into the program.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
