//! Maintenance: cutting the head into blocks (with its out-of-order samples), truncating
//! the head and checkpointing the WAL, merging blocks, and retention.
//!
//! A cut of `[mint, maxt)` runs in three steps so that the head is locked only briefly:
//! `begin_cut` (write lock) raises the head's lower bound to `maxt`, copies the
//! out-of-order samples below `maxt`, logs the flush-started marker and starts a WAL
//! segment; the blocks are then written from a snapshot without holding the lock; and
//! `finish_cut` (write lock) drops what the blocks now hold and logs the flush-done marker.
//! Raising the bound first means no in-order sample below `maxt` can arrive after the
//! snapshot and be lost with the truncated chunks (it is refused, or taken out of order),
//! and the segment started then is where the checkpoint stops folding: every segment
//! before it was logged before the cut started, so its samples below `maxt` are in blocks.

use std::borrow::Cow;
use std::fs;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use model::Labels;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::block::{self, Block, BlockMeta};
use crate::chunk::Encoding;
use crate::ooo::{self, Flush, FlushedSeries};
use crate::{compact, head, io, lock, wal, Db, DbError, MaintenanceReport};

/// Series whose chunks a cut fetches per hold of the head's lock (and reads before the
/// spill files are unmapped again): about 11,000 chunks per batch for half an hour of
/// 5-second scrapes, a few megabytes of mapped pages.
const CUT_BATCH: usize = 1024;

/// What `begin_cut` took, for the rest of the cut.
struct Cut {
    /// The first WAL segment started after the cut began.
    wal_segment: u64,
    /// The out-of-order samples below the cut's boundary.
    ooo: Flush,
}

impl Db {
    /// Cuts blocks from the head when it spans more than 1.5 block ranges (then truncates
    /// the head and checkpoints the WAL), merges blocks, and applies retention. Call it
    /// periodically (the server does every minute) from a thread that may block.
    pub fn maintain(&self) -> Result<MaintenanceReport, DbError> {
        let _guard = lock(&self.maintenance);
        let mut report = MaintenanceReport::default();
        let result = self.maintain_inner(&mut report);
        // What queries read back from the spill files since the last pass stops counting
        // as resident memory (see `ChunkDisk::release_maps`).
        let disk = self.head.read().unwrap_or_else(|p| p.into_inner()).disk();
        if let Some(disk) = disk {
            disk.release_maps();
        }
        if result.is_err() {
            self.stats
                .compactions_failed
                .fetch_add(1, Ordering::Relaxed);
        }
        result.map(|()| report)
    }

    fn maintain_inner(&self, report: &mut MaintenanceReport) -> Result<(), DbError> {
        if let Some(agent) = &self.opts.agent {
            return self.agent_truncate(agent, report);
        }
        let range = self.opts.min_block_ms.max(1);
        loop {
            let (min, max) = {
                let head = self.head.read().unwrap_or_else(|p| p.into_inner());
                (head.min_time(), head.max_t)
            };
            let Some(min) = min else { break };
            if max.saturating_sub(min) <= range / 2 * 3 {
                break;
            }
            let mint = min.div_euclid(range) * range;
            let maxt = mint + range;
            // On an error the head keeps everything (and its raised lower bound): the next
            // pass cuts the same range again.
            let cut = self.begin_cut(maxt)?;
            report
                .head_blocks
                .extend(self.write_old_out_of_order(&cut.ooo, mint)?);
            if let Some(meta) = self.cut_head_block(mint, maxt, &cut.ooo)? {
                report.head_blocks.push(meta);
            }
            let removed = self.finish_cut(maxt, &cut.ooo);
            self.stats
                .series_removed
                .fetch_add(removed as u64, Ordering::Relaxed);
            self.stats.head_truncations.fetch_add(1, Ordering::Relaxed);
            report.checkpoint = self
                .truncate_wal(maxt, cut.wal_segment)?
                .or(report.checkpoint.take());
        }
        self.compact_blocks(report)?;
        self.apply_retention(report)?;
        Ok(())
    }

    /// The first step of a cut below `maxt` (see the module docs).
    fn begin_cut(&self, maxt: i64) -> Result<Cut, DbError> {
        let mut head = self.head.write().unwrap_or_else(|p| p.into_inner());
        let ooo = head.ooo_flush(maxt);
        let mut wal = lock(&self.wal);
        if !ooo.series.is_empty() {
            wal.log(&[wal::Record::OooFlush {
                below: maxt,
                done: false,
            }])
            .map_err(io("writing the WAL"))?;
        }
        let wal_segment = wal.cut_now().map_err(io("starting a WAL segment"))?;
        head.min_valid_t = head.min_valid_t.max(maxt);
        Ok(Cut { wal_segment, ooo })
    }

    /// The last step of a cut below `maxt`: drops the head's chunks and out-of-order
    /// samples that blocks hold now. Returns the number of series removed.
    fn finish_cut(&self, maxt: i64, ooo: &Flush) -> usize {
        let mut head = self.head.write().unwrap_or_else(|p| p.into_inner());
        // Out-of-order samples first, so that series left with nothing are removed.
        if !ooo.series.is_empty() {
            head.ooo.remove_flushed(ooo);
            let logged = lock(&self.wal).log(&[wal::Record::OooFlush {
                below: ooo.below,
                done: true,
            }]);
            if let Err(e) = logged {
                // Replay then puts these samples back in the out-of-order head, and the
                // next cut writes them again: merged away when the blocks are compacted.
                tracing::warn!(err = %e, "could not log the end of an out-of-order flush");
            }
        }
        let removed = head.truncate(maxt);
        // Their records stay in checkpoints while segments that may hold their samples
        // exist: a WAL reader behind (a remote-write queue) still needs their labels.
        let segment = lock(&self.wal).segment();
        let mut expiries = lock(&self.wal_expiries);
        for r in &removed {
            expiries.insert(*r, segment);
        }
        removed.len()
    }

    /// Writes the out-of-order samples older than the cut range (`mint`) as blocks of
    /// their own.
    fn write_old_out_of_order(&self, flush: &Flush, mint: i64) -> Result<Vec<BlockMeta>, DbError> {
        if flush
            .series
            .iter()
            .all(|s| s.range(i64::MIN, mint).is_empty())
        {
            return Ok(Vec::new());
        }
        let context = format!(
            "writing blocks of out-of-order samples before {mint} in {}",
            self.dir.display()
        );
        let metas = ooo::write_old_blocks(&self.dir, flush, mint, self.opts.min_block_ms)
            .map_err(io(&context))?;
        for meta in &metas {
            self.add_block(meta)?;
            tracing::info!(ulid = %meta.ulid, mint = meta.min_time, maxt = meta.max_time, series = meta.stats.num_series, samples = meta.stats.num_samples, "wrote a block of out-of-order samples");
        }
        Ok(metas)
    }

    /// Writes `[mint, maxt)` of the head as a block: its chunks, with the out-of-order
    /// samples of that range merged in (series holding only those included).
    fn cut_head_block(
        &self,
        mint: i64,
        maxt: i64,
        flush: &Flush,
    ) -> Result<Option<BlockMeta>, DbError> {
        let (mut sets, disk) = {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            (head.label_sets(), head.disk())
        };
        sets.sort();
        let read_context = || {
            format!(
                "reading the head's chunks for a block of [{mint}, {maxt}) in {}",
                self.dir.display()
            )
        };
        // Out-of-order samples in the range: merged into their series' chunks, or, for
        // series with no chunk in the range, added in label order between the others.
        let mut late: FxHashMap<u64, &[ooo::Sample]> = flush
            .series
            .iter()
            .map(|s| (s.r, s.range(mint, maxt)))
            .filter(|(_, samples)| !samples.is_empty())
            .collect();
        let with_chunks: FxHashSet<u64> = if late.is_empty() {
            FxHashSet::default()
        } else {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            let mut found = FxHashSet::default();
            for r in late.keys() {
                if !head
                    .chunks_of(*r, mint, maxt)
                    .map_err(io(read_context()))?
                    .is_empty()
                {
                    found.insert(*r);
                }
            }
            found
        };
        let late_only: Vec<&FlushedSeries> = flush
            .series
            .iter()
            .filter(|s| late.contains_key(&s.r) && !with_chunks.contains(&s.r))
            .collect();
        let mut late_only = late_only.into_iter().peekable();
        let context = format!(
            "writing a block for [{mint}, {maxt}) in {}",
            self.dir.display()
        );
        let mut writer = block::BlockWriter::create(&self.dir, mint, maxt).map_err(io(&context))?;
        let add_late = |writer: &mut block::BlockWriter, s: &FlushedSeries| {
            let encoded = ooo::encode(s.range(mint, maxt));
            let refs: Vec<(i64, i64, &[u8])> = encoded
                .iter()
                .map(|(a, b, bytes)| (*a, *b, bytes.as_slice()))
                .collect();
            writer.add_series(&s.labels, &refs).map_err(io(&context))
        };
        // The chunks are fetched a batch of series at a time (the head's lock held only
        // for that) and the spill files unmapped after each batch, so that neither the
        // chunk references nor the pages read stay in memory for the whole cut.
        for first in (0..sets.len()).step_by(CUT_BATCH) {
            let batch: Vec<(u64, &[u32], Vec<head::HeadChunk>)> = {
                let head = self.head.read().unwrap_or_else(|p| p.into_inner());
                let mut batch = Vec::with_capacity(CUT_BATCH);
                for (r, ids) in
                    (first..sets.len().min(first + CUT_BATCH)).filter_map(|i| sets.get(i))
                {
                    let chunks = head.chunks_of(r, mint, maxt).map_err(io(read_context()))?;
                    if !chunks.is_empty() {
                        batch.push((r, ids, chunks));
                    }
                }
                batch
            };
            for (r, ids, head_chunks) in batch {
                let labels = Labels::from_sorted(
                    ids.chunks_exact(2)
                        .map(|p| model::Label {
                            name: sets.text(p[0]).to_string(),
                            value: sets.text(p[1]).to_string(),
                        })
                        .collect(),
                );
                while let Some(before) = late_only.next_if(|l| l.labels < labels) {
                    add_late(&mut writer, before)?;
                }
                let mut owned: Vec<(i64, i64, Encoding, Cow<'_, [u8]>)> =
                    Vec::with_capacity(head_chunks.len());
                for c in &head_chunks {
                    owned.push((
                        c.min_t,
                        c.max_t,
                        c.encoding,
                        c.bytes(disk.as_deref()).map_err(io(&context))?,
                    ));
                }
                if let Some(extra) = late.remove(&r) {
                    // Out-of-order samples are floats: they merge into the float chunks;
                    // histogram chunks stay as they are.
                    let (floats, histograms): (Vec<_>, Vec<_>) =
                        owned.into_iter().partition(|c| !c.2.is_histogram());
                    let floats: Vec<(i64, i64, Cow<'_, [u8]>)> = floats
                        .into_iter()
                        .map(|(a, b, _, bytes)| (a, b, bytes))
                        .collect();
                    owned = ooo::merge_chunks(&floats, extra)
                        .into_iter()
                        .map(|(a, b, bytes)| {
                            (a, b, Encoding::of_float_chunk(&bytes), Cow::Owned(bytes))
                        })
                        .chain(histograms)
                        .collect();
                    owned.sort_by_key(|c| c.0);
                }
                let chunks: Vec<(i64, i64, Encoding, &[u8])> = owned
                    .iter()
                    .map(|(a, b, e, bytes)| (*a, *b, *e, &bytes[..]))
                    .collect();
                writer
                    .add_series_encoded(&labels, &chunks)
                    .map_err(io(&context))?;
            }
            if let Some(disk) = &disk {
                disk.release_maps();
            }
        }
        for rest in late_only {
            add_late(&mut writer, rest)?;
        }
        let Some(meta) = writer.finish(1, Vec::new()).map_err(io(&context))? else {
            return Ok(None);
        };
        self.add_block(&meta)?;
        tracing::info!(ulid = %meta.ulid, mint, maxt, series = meta.stats.num_series, samples = meta.stats.num_samples, "wrote a block from the head");
        Ok(Some(meta))
    }

    fn add_block(&self, meta: &BlockMeta) -> Result<(), DbError> {
        let dir = self.dir.join(&meta.ulid);
        let opened =
            Block::open(&dir).map_err(io(format!("opening new block {}", dir.display())))?;
        let mut blocks = self.blocks.write().unwrap_or_else(|p| p.into_inner());
        blocks.push(Arc::new(opened));
        crate::open::sort_blocks(&mut blocks);
        Ok(())
    }

    /// After the head dropped everything before `min_t`: folds the older two thirds of
    /// the WAL segments before `fold_below` (the segment started when the cut began)
    /// into a checkpoint (live series, samples from `min_t` on).
    pub(crate) fn truncate_wal(
        &self,
        min_t: i64,
        fold_below: u64,
    ) -> Result<Option<wal::CheckpointReport>, DbError> {
        let wal_dir = self.dir.join("wal");
        // Segments a reader still needs (a remote-write queue behind) are not folded.
        let fold_below = self.wal_hold().map_or(fold_below, |h| h.min(fold_below));
        let numbers: Vec<u64> = wal::segment_numbers(&wal_dir)
            .map_err(io(format!("listing {}", wal_dir.display())))?
            .into_iter()
            .filter(|n| *n < fold_below)
            .collect();
        // The segment written last holds mostly new samples: never folded. Of the rest, the
        // older two thirds hold mostly samples now in blocks (Prometheus's rule).
        if numbers.len() < 2 {
            return Ok(None);
        }
        let (first, last) = (numbers[0], numbers[numbers.len() - 2]);
        let upto = first + (last - first) * 2 / 3;
        let live: Vec<bool> = {
            let head = self.head.read().unwrap_or_else(|p| p.into_inner());
            (0..head.next_ref()).map(|r| head.contains(r)).collect()
        };
        let expiries = std::mem::take(&mut *lock(&self.wal_expiries));
        // A removed series is kept while a later segment may hold samples of it.
        let keep = |r: u64| {
            live.get(r as usize).copied().unwrap_or(true)
                || expiries.get(&r).is_some_and(|last| *last > upto)
        };
        let checkpointed = wal::checkpoint(&wal_dir, upto, keep, min_t);
        lock(&self.wal_expiries).extend(
            expiries
                .into_iter()
                .filter(|(_, last)| checkpointed.is_err() || *last > upto),
        );
        let report = checkpointed.map_err(io(format!(
            "checkpointing the WAL in {}",
            wal_dir.display()
        )))?;
        self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            upto = report.upto_segment,
            series = report.series_kept,
            samples = report.samples_kept,
            ooo_samples = report.ooo_samples_kept,
            removed = report.segments_removed,
            "WAL checkpoint"
        );
        Ok(Some(report))
    }

    fn compact_blocks(&self, report: &mut MaintenanceReport) -> Result<(), DbError> {
        let ranges = compact::ranges(self.opts.min_block_ms.max(1), self.opts.max_block_ms);
        loop {
            let blocks = self.blocks_snapshot();
            let metas: Vec<&BlockMeta> = blocks.iter().map(|b| b.meta()).collect();
            let Some(chosen) = compact::plan(&metas, &ranges) else {
                return Ok(());
            };
            let inputs: Vec<Arc<Block>> = chosen.iter().map(|i| blocks[*i].clone()).collect();
            let context = format!(
                "compacting {} blocks in {}",
                inputs.len(),
                self.dir.display()
            );
            let meta = compact::merge(&self.dir, &inputs).map_err(io(&context))?;
            if let Some(meta) = &meta {
                self.add_block(meta)?;
                tracing::info!(ulid = %meta.ulid, mint = meta.min_time, maxt = meta.max_time, merged = inputs.len(), "compacted blocks");
                report.compacted.push(meta.clone());
            }
            self.stats.compactions.fetch_add(1, Ordering::Relaxed);
            self.delete_blocks(&inputs)?;
        }
    }

    fn delete_blocks(&self, doomed: &[Arc<Block>]) -> Result<(), DbError> {
        {
            let mut blocks = self.blocks.write().unwrap_or_else(|p| p.into_inner());
            blocks.retain(|b| !doomed.iter().any(|d| Arc::ptr_eq(b, d)));
        }
        for b in doomed {
            // Renamed first so that a crash mid-delete cannot leave a half block that
            // looks whole.
            let trash = self.dir.join(format!("{}.tmp-for-deletion", b.meta().ulid));
            fs::rename(b.dir(), &trash).map_err(io(format!("deleting {}", b.dir().display())))?;
            fs::remove_dir_all(&trash).map_err(io(format!("deleting {}", trash.display())))?;
        }
        Ok(())
    }

    fn apply_retention(&self, report: &mut MaintenanceReport) -> Result<(), DbError> {
        let blocks = self.blocks_snapshot();
        let mut doomed: Vec<Arc<Block>> = Vec::new();
        let (retention_ms, retention_bytes) = self.retention_limits();
        if retention_ms > 0 {
            if let Some(newest) = blocks.iter().map(|b| b.meta().max_time).max() {
                doomed.extend(
                    blocks
                        .iter()
                        .filter(|b| newest - b.meta().max_time > retention_ms)
                        .cloned(),
                );
            }
        }
        if retention_bytes > 0 {
            let mut total = block::dir_size(&self.dir.join("wal"));
            let mut newest_first = blocks.clone();
            newest_first.sort_by_key(|b| std::cmp::Reverse(b.meta().max_time));
            for b in newest_first {
                total += b.size();
                if total > retention_bytes && !doomed.iter().any(|d| Arc::ptr_eq(d, &b)) {
                    doomed.push(b);
                }
            }
        }
        if doomed.is_empty() {
            return Ok(());
        }
        for b in &doomed {
            tracing::info!(ulid = %b.meta().ulid, mint = b.meta().min_time, maxt = b.meta().max_time, "deleting a block past retention");
            report.deleted.push(b.meta().ulid.clone());
        }
        self.stats
            .blocks_deleted_by_retention
            .fetch_add(doomed.len() as u64, Ordering::Relaxed);
        self.delete_blocks(&doomed)
    }
}

#[cfg(test)]
mod crash_mid_cut {
    use super::*;
    use crate::Options;
    use model::{Labels, MatchOp, Matcher};
    use std::time::Duration;

    const S: i64 = 1000;

    fn open(dir: &std::path::Path) -> Db {
        let db = Db::open_with(
            dir,
            Options {
                retention_ms: 0,
                retention_bytes: 0,
                min_block_ms: 10 * S,
                max_block_ms: 90 * S,
                agent: None,
                max_exemplars: 0,
            },
        )
        .unwrap();
        db.set_out_of_order_time_window(Duration::from_secs(30));
        db
    }

    /// A late sample acknowledged during a cut that then crashed is not replaced by
    /// another value at the same time after the restart (found in review).
    #[test]
    fn an_acknowledged_late_sample_is_not_replaced_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let rare = Labels::from_pairs([("__name__", "m"), ("s", "rare")]);
        let busy = Labels::from_pairs([("__name__", "m"), ("s", "busy")]);
        {
            let db = open(dir.path());
            for t in (0..35 * S).step_by(1000) {
                db.append(&[(busy.clone(), t, 0.0)]).unwrap();
            }
            for t in (0..6 * S).step_by(1000) {
                db.append(&[(rare.clone(), t, 0.0)]).unwrap();
            }
            let _cut = db.begin_cut(10 * S).unwrap();
            let first = db.append(&[(rare.clone(), 7 * S, 1.0)]).unwrap();
            assert_eq!(first.out_of_order_appended, 1);
            assert_eq!(
                db.append(&[(rare.clone(), 7 * S, 2.0)]).unwrap().duplicates,
                1
            );
        } // dropped before the block is written: a crash mid-cut
        let db = open(dir.path());
        let again = db.append(&[(rare.clone(), 7 * S, 2.0)]).unwrap();
        let got = db.select(
            &[Matcher::new(MatchOp::Equal, "s", "rare").unwrap()],
            7 * S,
            7 * S,
        );
        assert_eq!(again.duplicates, 1);
        assert_eq!(got[0].samples, vec![(7 * S, 1.0)]);
    }
}
