//! The read side: series selected by label matchers from blocks and head as one (with
//! their samples, their newest sample, or their labels only), and label names and values.

use std::collections::BTreeMap;
use std::sync::Arc;

use model::histogram::FloatHistogram;
use model::{Labels, Matcher};

use crate::chunk::Newest;
use crate::{block, head, Block, Db, SampleBuf};

/// One series and its samples in a time range.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
    /// The samples' start timestamps: empty when none has one, else one per sample (0:
    /// none).
    pub starts: Vec<i64>,
    /// Native histogram samples, in time order (a series may have floats at some times and
    /// histograms at others).
    pub histograms: Vec<(i64, FloatHistogram)>,
    /// The histogram samples' start timestamps: empty when none has one, else one per
    /// histogram (0: none).
    pub hist_starts: Vec<i64>,
}

impl SeriesData {
    fn new(labels: Labels, buf: SampleBuf) -> Self {
        Self {
            labels,
            samples: buf.points,
            starts: buf.starts,
            histograms: buf.histograms,
            hist_starts: buf.hist_starts,
        }
    }

    /// Float samples only (no histograms).
    pub fn floats(labels: Labels, samples: Vec<(i64, f64)>) -> Self {
        Self {
            labels,
            samples,
            starts: Vec::new(),
            histograms: Vec::new(),
            hist_starts: Vec::new(),
        }
    }

    /// Samples of both kinds.
    pub fn len(&self) -> usize {
        self.samples.len() + self.histograms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.histograms.is_empty()
    }

    /// The labels, and the samples with their start timestamps as one buffer.
    pub fn into_parts(self) -> (Labels, SampleBuf) {
        (
            self.labels,
            SampleBuf {
                points: self.samples,
                starts: self.starts,
                histograms: self.histograms,
                hist_starts: self.hist_starts,
            },
        )
    }

    /// Applies `f` to the samples as one buffer (samples and start timestamps stay aligned).
    fn with_buf(&mut self, f: impl FnOnce(&mut SampleBuf)) {
        let mut buf = SampleBuf {
            points: std::mem::take(&mut self.samples),
            starts: std::mem::take(&mut self.starts),
            histograms: std::mem::take(&mut self.histograms),
            hist_starts: std::mem::take(&mut self.hist_starts),
        };
        f(&mut buf);
        (self.samples, self.starts, self.histograms, self.hist_starts) =
            (buf.points, buf.starts, buf.histograms, buf.hist_starts);
    }

    /// Keeps only the last sample.
    pub fn keep_last(&mut self) {
        self.with_buf(SampleBuf::keep_last);
    }

    /// Keeps the samples whose point passes `keep`.
    pub fn retain(&mut self, keep: impl FnMut(&(i64, f64)) -> bool) {
        self.with_buf(|b| b.retain(keep));
    }
}

/// Maps series refs to results on all cores when there are many (decoding chunks and
/// building label sets is per-series work), keeping the refs' order.
fn par_map_refs<T: Send>(refs: &[u64], f: impl Fn(u64) -> Option<T> + Sync) -> Vec<T> {
    const PER_THREAD: usize = 2048;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(refs.len() / PER_THREAD)
        .max(1);
    if threads == 1 {
        return refs.iter().filter_map(|r| f(*r)).collect();
    }
    let chunk = refs.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = refs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().filter_map(|r| f(*r)).collect::<Vec<T>>()))
            .collect();
        let mut out = Vec::with_capacity(refs.len());
        for p in parts {
            // A panic in a worker is a bug; surface it here rather than lose its series.
            match p.join() {
                Ok(v) => out.extend(v),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        out
    })
}

/// Asked about each series a select loads (its labels and number of samples): `false`
/// stops the select (see [`Db::select_admitted`]).
pub type Admit<'a> = dyn Fn(&Labels, usize) -> bool + Sync + 'a;

/// A select stopped because its [`Admit`] refused a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

impl Db {
    /// Series matching every matcher with their samples in `[mint, maxt]`, from blocks and
    /// head, in no particular order; series with no sample in the range are left out.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesData> {
        self.select_with_warnings(matchers, mint, maxt).0
    }

    /// Like [`Db::select`], with a warning for every block whose data the result lacks:
    /// one that failed to read now, or one left out at open as unreadable (see
    /// [`Db::unreadable_blocks_in`]). A query should pass them on: a result that silently
    /// misses a block's samples looks complete.
    pub fn select_with_warnings(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> (Vec<SeriesData>, Vec<String>) {
        // Admitting everything, it is never refused.
        self.select_admitted(matchers, mint, maxt, &|_, _| true)
            .unwrap_or_default()
    }

    /// Like [`Db::select_with_warnings`], asking `admit` about each series as it is
    /// loaded (its labels and number of samples): the first `false` stops the select and
    /// drops what it loaded, so a query over its memory budget ends before the rest is
    /// loaded. `admit` may be called from several threads at once.
    pub fn select_admitted(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &Admit<'_>,
    ) -> Result<(Vec<SeriesData>, Vec<String>), Refused> {
        let mut warnings = self.unreadable_blocks_in(mint, maxt);
        let mut blocks: Vec<Arc<Block>> = self
            .blocks_snapshot()
            .into_iter()
            .filter(|b| b.meta().max_time > mint && b.meta().min_time <= maxt)
            .collect();
        // On a timestamp two blocks hold, the one written first wins (as in merges).
        blocks.sort_by(|a, b| block::first_written(a.meta()).cmp(block::first_written(b.meta())));
        if blocks.is_empty() {
            // Only the head holds the range: its series are distinct, nothing to merge.
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            let refs = head.select_refs(matchers);
            let refused = std::sync::atomic::AtomicBool::new(false);
            let found = par_map_refs(&refs, |r| {
                if refused.load(std::sync::atomic::Ordering::Relaxed) {
                    return None;
                }
                let s = head.series(r)?;
                let samples = head.samples_of(r, s, mint, maxt);
                if samples.is_empty() {
                    return None;
                }
                let labels = head.labels_of(s);
                if !admit(&labels, samples.len()) {
                    refused.store(true, std::sync::atomic::Ordering::Relaxed);
                    return None;
                }
                Some(SeriesData::new(labels, samples))
            });
            if refused.into_inner() {
                return Err(Refused);
            }
            return Ok((found, warnings));
        }
        let mut merged: BTreeMap<Labels, SampleBuf> = BTreeMap::new();
        for block in blocks {
            let found = block.select(matchers, mint, maxt).and_then(|series| {
                series
                    .into_iter()
                    .map(|s| Ok((block.samples(&s, mint, maxt)?, s.labels)))
                    .collect::<std::io::Result<Vec<_>>>()
            });
            match found {
                Ok(found) => {
                    for (samples, labels) in found {
                        if !admit(&labels, samples.len()) {
                            return Err(Refused);
                        }
                        merged.entry(labels).or_default().append(samples);
                    }
                }
                Err(e) => {
                    tracing::error!(block = %block.dir().display(), err = %e, "reading a block failed; its data is left out of this query");
                    let m = block.meta();
                    warnings.push(format!(
                        "block {} ([{}, {}) ms) could not be read ({e}); its samples are missing from this result",
                        m.ulid, m.min_time, m.max_time
                    ));
                }
            }
        }
        {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            for r in head.select_refs(matchers) {
                let Some(s) = head.series(r) else { continue };
                let samples = head.samples_of(r, s, mint, maxt);
                if !samples.is_empty() {
                    let labels = head.labels_of(s);
                    if !admit(&labels, samples.len()) {
                        return Err(Refused);
                    }
                    merged.entry(labels).or_default().append(samples);
                }
            }
        }
        let found = merged
            .into_iter()
            .filter_map(|(labels, mut samples)| {
                // Block and head may both hold a stretch while a block is being cut.
                samples.sort_dedup();
                (!samples.is_empty()).then(|| SeriesData::new(labels, samples))
            })
            .collect();
        Ok((found, warnings))
    }

    /// Like [`Db::select`], but only each series' last sample in `[mint, maxt]` (what an
    /// instant selector needs): from the head, only the chunk holding it is decoded.
    pub fn select_last(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesData> {
        self.select_last_with_warnings(matchers, mint, maxt).0
    }

    /// Like [`Db::select_last`], with the warnings of [`Db::select_with_warnings`].
    pub fn select_last_with_warnings(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> (Vec<SeriesData>, Vec<String>) {
        // Admitting everything, it is never refused.
        self.select_last_admitted(matchers, mint, maxt, &|_, _| true)
            .unwrap_or_default()
    }

    /// Like [`Db::select_last_with_warnings`], asking `admit` about each series as
    /// [`Db::select_admitted`] does.
    pub fn select_last_admitted(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &Admit<'_>,
    ) -> Result<(Vec<SeriesData>, Vec<String>), Refused> {
        let overlaps_blocks = self
            .blocks_snapshot()
            .iter()
            .any(|b| b.meta().max_time > mint && b.meta().min_time <= maxt);
        if overlaps_blocks {
            let (mut all, warnings) = self.select_admitted(matchers, mint, maxt, admit)?;
            for s in &mut all {
                s.keep_last();
            }
            return Ok((all, warnings));
        }
        let warnings = self.unreadable_blocks_in(mint, maxt);
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        let refs = head.select_refs(matchers);
        let refused = std::sync::atomic::AtomicBool::new(false);
        let found = par_map_refs(&refs, |r| {
            if refused.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let s = head.series(r)?;
            let newest = head.last_sample_of(r, s, mint, maxt)?;
            let labels = head.labels_of(s);
            if !admit(&labels, 1) {
                refused.store(true, std::sync::atomic::Ordering::Relaxed);
                return None;
            }
            Some(match newest {
                Newest::Float(t, v, st) => SeriesData {
                    labels,
                    samples: vec![(t, v)],
                    starts: if st == 0 { Vec::new() } else { vec![st] },
                    histograms: Vec::new(),
                    hist_starts: Vec::new(),
                },
                Newest::Histogram(t, h, st) => SeriesData {
                    labels,
                    samples: Vec::new(),
                    starts: Vec::new(),
                    histograms: vec![(t, h)],
                    hist_starts: if st == 0 { Vec::new() } else { vec![st] },
                },
            })
        });
        if refused.into_inner() {
            return Err(Refused);
        }
        Ok((found, warnings))
    }

    /// Label sets of the series matching every matcher that have samples in the range.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.series_with_warnings(matchers, mint, maxt).0
    }

    /// Like [`Db::series`], with a warning for every block whose series the result may
    /// lack: one whose index failed to read now, or one left out at open as unreadable.
    pub fn series_with_warnings(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> (Vec<Labels>, Vec<String>) {
        let mut warnings = self.unreadable_blocks_in(mint, maxt);
        let mut out = std::collections::BTreeSet::new();
        for block in self.blocks_snapshot() {
            match block.select(matchers, mint, maxt) {
                Ok(found) => out.extend(found.into_iter().map(|s| s.labels)),
                Err(e) => {
                    tracing::error!(block = %block.dir().display(), err = %e, "reading a block failed; its series are left out");
                    let m = block.meta();
                    warnings.push(format!(
                        "block {} ([{}, {}) ms) could not be read ({e}); its series are missing from this result",
                        m.ulid, m.min_time, m.max_time
                    ));
                }
            }
        }
        let head = self.head.read().unwrap_or_else(|p| p.into_inner());
        for r in head.select_refs(matchers) {
            if let Some(s) = head.series(r) {
                if head.has_samples_in(r, s, mint, maxt) {
                    out.insert(head.labels_of(s));
                }
            }
        }
        (out.into_iter().collect(), warnings)
    }

    /// Every label name in blocks and head, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.label_names_in(model::time::MIN_TIME_MS, model::time::MAX_TIME_MS)
    }

    /// Every value of a label in blocks and head, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.label_values_in(name, model::time::MIN_TIME_MS, model::time::MAX_TIME_MS)
    }

    /// Label names of the series with samples in [mint, maxt], sorted. Blocks count whole
    /// (any block overlapping the range), as in Prometheus; head series count one by one.
    pub fn label_names_in(&self, mint: i64, maxt: i64) -> Vec<String> {
        self.merged_strings(
            mint,
            maxt,
            |h| h.label_names_in(mint, maxt),
            Block::label_names,
        )
    }

    /// Values of a label in [mint, maxt], sorted; the same granularity as `label_names_in`.
    pub fn label_values_in(&self, name: &str, mint: i64, maxt: i64) -> Vec<String> {
        self.merged_strings(
            mint,
            maxt,
            |h| h.label_values_in(name, mint, maxt),
            |b| b.label_values(name),
        )
    }

    /// The head's strings and those of the blocks overlapping [mint, maxt], sorted, once.
    fn merged_strings(
        &self,
        mint: i64,
        maxt: i64,
        from_head: impl FnOnce(&head::Head) -> Vec<String>,
        from_block: impl Fn(&Block) -> Vec<String>,
    ) -> Vec<String> {
        let mut out: std::collections::BTreeSet<String> =
            from_head(&self.head.read().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect();
        for block in self.blocks_overlapping(mint, maxt) {
            out.extend(from_block(&block));
        }
        out.into_iter().collect()
    }

    /// Blocks holding samples in [mint, maxt] (a block's max_time is exclusive).
    fn blocks_overlapping(&self, mint: i64, maxt: i64) -> Vec<Arc<Block>> {
        self.blocks_snapshot()
            .into_iter()
            .filter(|b| b.meta().max_time > mint && b.meta().min_time <= maxt)
            .collect()
    }
}
