//! Compaction: which blocks to merge (Prometheus's planner), and the merge itself.

use std::io;
use std::path::Path;
use std::sync::Arc;

use model::histogram::HistogramValue;

use crate::block::{
    encode_chunks, first_written, Block, BlockMeta, BlockSeries, BlockWriter, ChunkMeta,
};
use crate::chunk::histogram::{FloatHistogramIter, HistogramIter};
use crate::chunk::slice::{encode_histograms, Encoded};
use crate::chunk::Encoding;

/// The block ranges: the base range, then ×3 each level, up to `max` (Prometheus's
/// `ExponentialBlockRanges(base, 10, 3)` capped at the max block duration).
pub(crate) fn ranges(base: i64, max: i64) -> Vec<i64> {
    let mut out = vec![base];
    let mut r = base;
    for _ in 1..10 {
        r = r.saturating_mul(3);
        if r > max {
            break;
        }
        out.push(r);
    }
    out
}

/// The next set of blocks to merge into one, as indices into `metas` (sorted by min time),
/// or `None`.
pub(crate) fn plan(metas: &[&BlockMeta], ranges: &[i64]) -> Option<Vec<usize>> {
    if metas.len() < 2 {
        return None;
    }
    // Overlapping blocks (e.g. from a backfill) are merged first, together.
    let mut group = vec![0];
    let mut group_max = metas[0].max_time;
    for (i, m) in metas.iter().enumerate().skip(1) {
        if m.min_time < group_max {
            group.push(i);
            group_max = group_max.max(m.max_time);
        } else if group.len() > 1 {
            return Some(group);
        } else {
            group = vec![i];
            group_max = m.max_time;
        }
    }
    if group.len() > 1 {
        return Some(group);
    }
    // The newest block is left alone: it may be under-populated, and leaving it gives a
    // window of one block range to back up new data.
    let candidates = &metas[..metas.len() - 1];
    let high_time = candidates.last()?.min_time;
    for &range in ranges.iter().skip(1) {
        for part in split_by_range(candidates, range) {
            let (Some(first), Some(last)) = (part.first(), part.last()) else {
                continue;
            };
            let (mint, maxt) = (metas[*first].min_time, metas[*last].max_time);
            if part.len() > 1 && (maxt - mint == range || maxt <= high_time) {
                return Some(part);
            }
        }
    }
    None
}

/// Groups blocks by the aligned `range` window they fall in entirely; blocks as large as
/// the range or straddling a window are left out.
fn split_by_range(metas: &[&BlockMeta], range: i64) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current: Option<(i64, Vec<usize>)> = None;
    for (i, m) in metas.iter().enumerate() {
        let start = m.min_time.div_euclid(range) * range;
        if m.max_time > start + range || m.max_time - m.min_time >= range {
            continue;
        }
        match &mut current {
            Some((s, list)) if *s == start => list.push(i),
            _ => {
                if let Some((_, list)) = current.take() {
                    out.push(list);
                }
                current = Some((start, vec![i]));
            }
        }
    }
    if let Some((_, list)) = current {
        out.push(list);
    }
    out
}

/// Merges blocks into one new block in `parent`. Series present in several blocks get
/// their chunks concatenated; where chunks overlap in time the samples are merged (the
/// sample of the block written first wins a tie, see `block::first_written`) and
/// re-encoded.
pub(crate) fn merge(parent: &Path, blocks: &[Arc<Block>]) -> io::Result<Option<BlockMeta>> {
    let min_time = blocks.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let max_time = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let level = blocks
        .iter()
        .map(|b| b.meta().compaction.level)
        .max()
        .unwrap_or(1)
        + 1;
    let mut sources: Vec<String> = blocks
        .iter()
        .flat_map(|b| b.meta().compaction.sources.iter().cloned())
        .collect();
    sources.sort();
    sources.dedup();
    // Each block's rank by when its data was first written, for ties.
    let mut by_age: Vec<usize> = (0..blocks.len()).collect();
    by_age.sort_by(|a, b| first_written(blocks[*a].meta()).cmp(first_written(blocks[*b].meta())));
    let mut rank = vec![0; blocks.len()];
    for (position, i) in by_age.into_iter().enumerate() {
        rank[i] = position;
    }
    let mut writer = BlockWriter::create(parent, min_time, max_time)?;
    let mut iters = Vec::with_capacity(blocks.len());
    for b in blocks {
        iters.push(b.series_iter()?);
    }
    let mut heads: Vec<Option<BlockSeries>> = Vec::with_capacity(blocks.len());
    for it in &mut iters {
        heads.push(it.next().transpose()?);
    }
    while let Some(smallest) = heads.iter().flatten().map(|s| &s.labels).min().cloned() {
        // (block index, chunk) of every block holding this series.
        let mut parts = Vec::new();
        for (i, slot) in heads.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|s| s.labels == smallest) {
                if let Some(s) = slot.take() {
                    parts.extend(s.chunks.into_iter().map(|c| (i, c)));
                }
                *slot = iters[i].next().transpose()?;
            }
        }
        parts.sort_by_key(|(i, c)| (c.min_t, rank[*i]));
        let overlapping = parts.windows(2).any(|w| w[1].1.min_t <= w[0].1.max_t);
        if overlapping {
            let encoded = merge_overlapping(blocks, &parts, &rank)?;
            let refs: Vec<(i64, i64, Encoding, &[u8])> = encoded
                .iter()
                .map(|(a, b, e, bytes)| (*a, *b, *e, bytes.as_slice()))
                .collect();
            writer.add_series_encoded(&smallest, &refs)?;
        } else {
            let mut owned = Vec::with_capacity(parts.len());
            for (i, c) in &parts {
                let (encoding, bytes) = blocks[*i].read_chunk(c)?;
                owned.push((c.min_t, c.max_t, encoding, bytes));
            }
            let refs: Vec<(i64, i64, Encoding, &[u8])> = owned
                .iter()
                .map(|(a, b, e, bytes)| (*a, *b, *e, bytes.as_slice()))
                .collect();
            writer.add_series_encoded(&smallest, &refs)?;
        }
    }
    writer.finish(level, sources)
}

/// One series' chunks from blocks that overlap in time, merged: one sample per timestamp
/// (the oldest block's, by `rank`), floats and histograms re-encoded, all chunks in time
/// order.
fn merge_overlapping(
    blocks: &[Arc<Block>],
    parts: &[(usize, ChunkMeta)],
    rank: &[usize],
) -> io::Result<Vec<Encoded>> {
    let mut floats = Vec::new();
    let mut histograms = Vec::new();
    for (i, c) in parts {
        let (encoding, bytes) = blocks[*i].read_chunk(c)?;
        match encoding {
            Encoding::Xor | Encoding::XorWithStarts | Encoding::Packed => {
                for (t, v, st) in crate::chunk::decode_floats(encoding, &bytes).unwrap_or_default()
                {
                    floats.push((t, rank[*i], v, st));
                }
            }
            histogram => {
                let Some((plain, bytes, starts)) = histogram.split_starts(&bytes) else {
                    continue;
                };
                let st = |j: usize| starts.get(j).copied().unwrap_or(0);
                if plain == Encoding::Histogram {
                    for (j, (t, h)) in HistogramIter::from_bytes(bytes)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        histograms.push((t, rank[*i], HistogramValue::Int(h), st(j)));
                    }
                } else {
                    for (j, (t, h)) in FloatHistogramIter::from_bytes(bytes)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        histograms.push((t, rank[*i], HistogramValue::Float(h), st(j)));
                    }
                }
            }
        }
    }
    floats.sort_by_key(|(t, i, _, _)| (*t, *i));
    floats.dedup_by_key(|(t, _, _, _)| *t);
    histograms.sort_by_key(|(t, i, _, _)| (*t, *i));
    histograms.dedup_by_key(|(t, _, _, _)| *t);
    let plain: Vec<(i64, f64)> = floats.iter().map(|(t, _, v, _)| (*t, *v)).collect();
    let starts: Vec<i64> = if floats.iter().any(|s| s.3 != 0) {
        floats.iter().map(|s| s.3).collect()
    } else {
        Vec::new()
    };
    let mut out: Vec<Encoded> = encode_chunks(&plain, &starts)
        .into_iter()
        .map(|(a, b, bytes)| (a, b, Encoding::of_float_chunk(&bytes), bytes))
        .collect();
    out.extend(encode_histograms(
        histograms.into_iter().map(|(t, _, h, st)| (t, h, st)),
    ));
    out.sort_by_key(|c| c.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockCompaction, BlockStats};

    fn meta(min: i64, max: i64) -> BlockMeta {
        BlockMeta {
            ulid: String::new(),
            min_time: min,
            max_time: max,
            stats: BlockStats::default(),
            compaction: BlockCompaction::default(),
            version: 1,
        }
    }

    #[test]
    fn plans_like_prometheus() {
        let r = ranges(2, 1000);
        assert_eq!(&r[..3], &[2, 6, 18]);
        // Three 2h blocks and a newer one: the first three fill a 6h window.
        let m = [meta(0, 2), meta(2, 4), meta(4, 6), meta(6, 8)];
        let refs: Vec<&BlockMeta> = m.iter().collect();
        assert_eq!(plan(&refs, &r), Some(vec![0, 1, 2]));
        // Two of three, with the newest left out: not yet.
        let refs: Vec<&BlockMeta> = m[..3].iter().collect();
        assert_eq!(plan(&refs, &r), None);
        // Overlap wins.
        let m = [meta(0, 2), meta(1, 3), meta(6, 8)];
        let refs: Vec<&BlockMeta> = m.iter().collect();
        assert_eq!(plan(&refs, &r), Some(vec![0, 1]));
        // A window that will not grow any more (newer blocks exist past it) is merged even
        // with a gap.
        let m = [
            meta(0, 2),
            meta(4, 6),
            meta(6, 8),
            meta(8, 10),
            meta(12, 14),
        ];
        let refs: Vec<&BlockMeta> = m.iter().collect();
        assert_eq!(plan(&refs, &r), Some(vec![0, 1]));
    }
}
