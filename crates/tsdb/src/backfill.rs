//! Writing blocks straight from samples (backfill) and listing the blocks of a directory,
//! for `pmtool tsdb`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use model::Labels;

use crate::{block, io, is_block_dir_name, read_meta, BlockMeta, DbError};

/// Writes blocks from samples (backfill, as `promtool tsdb create-blocks-from` does): one
/// block per aligned `block_ms` window that has samples. `series` must be sorted by
/// labels, each with samples sorted by time. Returns the blocks written.
pub fn write_blocks(
    dir: &Path,
    series: &[(Labels, Vec<(i64, f64)>)],
    block_ms: i64,
) -> Result<Vec<BlockMeta>, DbError> {
    let block_ms = block_ms.max(1);
    let mut windows: BTreeMap<i64, ()> = BTreeMap::new();
    for (_, samples) in series {
        for (t, _) in samples {
            windows.insert(t.div_euclid(block_ms), ());
        }
    }
    fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let mut out = Vec::new();
    for window in windows.keys() {
        let (mint, maxt) = (window * block_ms, (window + 1) * block_ms);
        let context = format!("writing a block for [{mint}, {maxt}) in {}", dir.display());
        let mut writer = block::BlockWriter::create(dir, mint, maxt).map_err(io(&context))?;
        for (labels, samples) in series {
            let start = samples.partition_point(|(t, _)| *t < mint);
            let end = samples.partition_point(|(t, _)| *t < maxt);
            if start == end {
                continue;
            }
            let encoded = block::encode_chunks(&samples[start..end], &[]);
            let refs: Vec<(i64, i64, &[u8])> = encoded
                .iter()
                .map(|(a, b, bytes)| (*a, *b, bytes.as_slice()))
                .collect();
            writer.add_series(labels, &refs).map_err(io(&context))?;
        }
        if let Some(meta) = writer.finish(1, Vec::new()).map_err(io(&context))? {
            out.push(meta);
        }
    }
    Ok(out)
}

/// The blocks in a data directory, oldest first, read from their `meta.json` (for
/// `pmtool tsdb list`; takes no lock, reads nothing else).
pub fn list_blocks(dir: &Path) -> Result<Vec<(BlockMeta, u64)>, DbError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(io(format!("reading {}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_block_dir_name(&name) || !entry.path().is_dir() {
            continue;
        }
        let meta = read_meta(&entry.path())
            .map_err(io(format!("reading {}/meta.json", entry.path().display())))?;
        out.push((meta, block::dir_size(&entry.path())));
    }
    out.sort_by_key(|(m, _)| (m.min_time, m.max_time));
    Ok(out)
}
