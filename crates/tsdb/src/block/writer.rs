//! Writing a block: chunk segments, then the index and meta.json, renamed into place;
//! runs of plain float chunks are packed on the way (`chunk::packed`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use model::Labels;

use super::{
    new_ulid, sync_dir, BlockCompaction, BlockMeta, BlockStats, CHUNK_MAGIC, CHUNK_SEGMENT_MAX,
    INDEX_MAGIC, INDEX_VERSION,
};
use crate::chunk::{packed, Encoding, XorChunk};
use crate::varint::{put_uvarint, uvarint_len, zigzag};

/// A writer that tracks its position and a running CRC.
struct CountingWriter {
    out: BufWriter<File>,
    pos: u64,
    crc: crc32fast::Hasher,
}

impl CountingWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.crc.update(bytes);
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

/// Writes one block. Series must be added in label-set order.
pub(crate) struct BlockWriter {
    parent: PathBuf,
    tmp: PathBuf,
    ulid: String,
    min_time: i64,
    max_time: i64,
    chunk_segment: u64,
    chunk_out: Option<BufWriter<File>>,
    chunk_pos: u64,
    index: CountingWriter,
    symbols: Vec<String>,
    symbol_ids: HashMap<String, u32>,
    postings: HashMap<(u32, u32), Vec<u32>>,
    series_offsets: Vec<u64>,
    last: Option<Labels>,
    stats: BlockStats,
    scratch: Vec<u8>,
}

impl BlockWriter {
    /// Starts a block for `[min_time, max_time)` in `parent` (written under a temporary
    /// name; [`BlockWriter::finish`] renames it into place).
    pub fn create(parent: &Path, min_time: i64, max_time: i64) -> io::Result<Self> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let ulid = new_ulid(now);
        let tmp = parent.join(format!("{ulid}.tmp-for-creation"));
        fs::create_dir_all(tmp.join("chunks"))?;
        let file = File::create(tmp.join("index"))?;
        let mut index = CountingWriter {
            out: BufWriter::with_capacity(1 << 16, file),
            pos: 0,
            crc: crc32fast::Hasher::new(),
        };
        index.write(INDEX_MAGIC)?;
        index.write(&[INDEX_VERSION, 0, 0, 0])?;
        Ok(Self {
            parent: parent.to_path_buf(),
            tmp,
            ulid,
            min_time,
            max_time,
            chunk_segment: 0,
            chunk_out: None,
            chunk_pos: 0,
            index,
            symbols: Vec::new(),
            symbol_ids: HashMap::new(),
            postings: HashMap::new(),
            series_offsets: Vec::new(),
            last: None,
            stats: BlockStats::default(),
            scratch: Vec::new(),
        })
    }

    fn symbol(&mut self, s: &str) -> u32 {
        if let Some(id) = self.symbol_ids.get(s) {
            return *id;
        }
        let id = self.symbols.len() as u32;
        self.symbols.push(s.to_string());
        self.symbol_ids.insert(s.to_string(), id);
        id
    }

    fn write_chunk(&mut self, encoding: Encoding, data: &[u8]) -> io::Result<(u64, u32)> {
        let framed = (uvarint_len(data.len() as u64) + 1 + data.len() + 4) as u64;
        if self.chunk_out.is_none() || self.chunk_pos + framed > CHUNK_SEGMENT_MAX {
            if let Some(mut out) = self.chunk_out.take() {
                out.flush()?;
                out.get_ref().sync_all()?;
            }
            self.chunk_segment += 1;
            let file = File::create(
                self.tmp
                    .join("chunks")
                    .join(format!("{:06}", self.chunk_segment)),
            )?;
            let mut out = BufWriter::with_capacity(1 << 16, file);
            out.write_all(&CHUNK_MAGIC.to_be_bytes())?;
            out.write_all(&[1, 0, 0, 0])?;
            self.chunk_out = Some(out);
            self.chunk_pos = 8;
        }
        let reference = (self.chunk_segment << 32) | self.chunk_pos;
        let Some(out) = self.chunk_out.as_mut() else {
            return Err(io::Error::other("chunk segment not open"));
        };
        self.scratch.clear();
        put_uvarint(&mut self.scratch, data.len() as u64);
        out.write_all(&self.scratch)?;
        let encoding = encoding.byte();
        out.write_all(&[encoding])?;
        out.write_all(data)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[encoding]);
        crc.update(data);
        out.write_all(&crc.finalize().to_be_bytes())?;
        self.chunk_pos += framed;
        Ok((reference, data.len() as u32))
    }

    /// Adds a series with its float chunks (XOR chunk bytes, sorted by time, not
    /// overlapping).
    pub fn add_series(&mut self, labels: &Labels, chunks: &[(i64, i64, &[u8])]) -> io::Result<()> {
        let encoded: Vec<(i64, i64, Encoding, &[u8])> = chunks
            .iter()
            .map(|&(a, b, bytes)| (a, b, Encoding::of_float_chunk(bytes), bytes))
            .collect();
        self.add_series_encoded(labels, &encoded)
    }

    /// Adds a series with its chunks of any encoding (sorted by time, not overlapping).
    pub fn add_series_encoded(
        &mut self,
        labels: &Labels,
        chunks: &[(i64, i64, Encoding, &[u8])],
    ) -> io::Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        if self.last.as_ref().is_some_and(|last| last >= labels) {
            return Err(io::Error::other(format!(
                "series added out of order: {labels} after {}",
                self.last
                    .as_ref()
                    .map(Labels::to_string)
                    .unwrap_or_default()
            )));
        }
        let series_number = self.series_offsets.len() as u32;
        self.series_offsets.push(self.index.pos);
        let mut entry = Vec::with_capacity(64);
        put_uvarint(&mut entry, labels.len() as u64);
        for l in labels.iter() {
            let name = self.symbol(&l.name);
            let value = self.symbol(&l.value);
            put_uvarint(&mut entry, u64::from(name));
            put_uvarint(&mut entry, u64::from(value));
            self.postings
                .entry((name, value))
                .or_default()
                .push(series_number);
        }
        let chunks = pack_floats(chunks);
        put_uvarint(&mut entry, chunks.len() as u64);
        let mut previous_max = self.min_time;
        let mut previous_ref = 0u64;
        for (min_t, max_t, encoding, data) in &chunks {
            let (reference, len) = self.write_chunk(*encoding, data)?;
            put_uvarint(&mut entry, zigzag(min_t.wrapping_sub(previous_max)));
            put_uvarint(&mut entry, max_t.wrapping_sub(*min_t) as u64);
            put_uvarint(
                &mut entry,
                zigzag(reference.wrapping_sub(previous_ref) as i64),
            );
            put_uvarint(&mut entry, u64::from(len));
            previous_max = *max_t;
            previous_ref = reference;
            self.stats.num_chunks += 1;
            self.stats.num_samples += u64::from(encoding.sample_count(data));
        }
        self.index.write(&entry)?;
        self.stats.num_series += 1;
        self.last = Some(labels.clone());
        Ok(())
    }

    /// Writes the index and meta.json, syncs, and renames the block into place. An empty
    /// block is not kept (`None`).
    pub fn finish(mut self, level: u32, sources: Vec<String>) -> io::Result<Option<BlockMeta>> {
        if self.stats.num_series == 0 {
            drop(self.chunk_out.take());
            fs::remove_dir_all(&self.tmp)?;
            return Ok(None);
        }
        if let Some(mut out) = self.chunk_out.take() {
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        let mut buf = Vec::new();
        let symbols_at = self.index.pos;
        put_uvarint(&mut buf, self.symbols.len() as u64);
        for s in &self.symbols {
            put_uvarint(&mut buf, s.len() as u64);
            buf.extend_from_slice(s.as_bytes());
        }
        self.index.write(&buf)?;
        let offsets_at = self.index.pos;
        buf.clear();
        let mut previous = 0u64;
        for offset in self.series_offsets.iter().chain([&symbols_at]) {
            put_uvarint(&mut buf, offset - previous);
            previous = *offset;
        }
        self.index.write(&buf)?;
        let postings_at = self.index.pos;
        let mut pairs: Vec<((u32, u32), Vec<u32>)> = self.postings.drain().collect();
        pairs.sort_by(|a, b| {
            let name = |p: &(u32, u32)| (&self.symbols[p.0 as usize], &self.symbols[p.1 as usize]);
            name(&a.0).cmp(&name(&b.0))
        });
        buf.clear();
        put_uvarint(&mut buf, pairs.len() as u64);
        self.index.write(&buf)?;
        let mut list = Vec::new();
        for ((name, value), series) in &pairs {
            list.clear();
            let mut previous = 0u32;
            for s in series {
                put_uvarint(&mut list, u64::from(s - previous));
                previous = *s;
            }
            buf.clear();
            put_uvarint(&mut buf, u64::from(*name));
            put_uvarint(&mut buf, u64::from(*value));
            put_uvarint(&mut buf, list.len() as u64);
            self.index.write(&buf)?;
            self.index.write(&list)?;
        }
        let postings_end = self.index.pos;
        buf.clear();
        for v in [
            symbols_at,
            offsets_at,
            postings_at,
            postings_end,
            self.series_offsets.len() as u64,
        ] {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        self.index.write(&buf)?;
        let crc = self.index.crc.clone().finalize();
        self.index.out.write_all(&crc.to_le_bytes())?;
        self.index.out.write_all(INDEX_MAGIC)?;
        self.index.out.flush()?;
        self.index.out.get_ref().sync_all()?;

        let meta = BlockMeta {
            ulid: self.ulid.clone(),
            min_time: self.min_time,
            max_time: self.max_time,
            stats: self.stats.clone(),
            compaction: BlockCompaction {
                level,
                sources: if sources.is_empty() {
                    vec![self.ulid.clone()]
                } else {
                    sources
                },
            },
            version: 1,
        };
        let json = serde_json::to_vec_pretty(&meta).map_err(io::Error::other)?;
        let mut file = File::create(self.tmp.join("meta.json"))?;
        file.write_all(&json)?;
        file.sync_all()?;
        let target = self.parent.join(&self.ulid);
        fs::rename(&self.tmp, &target)?;
        sync_dir(&self.parent)?;
        Ok(Some(meta))
    }
}

impl Drop for BlockWriter {
    fn drop(&mut self) {
        // An unfinished block (error or panic part-way) leaves no half-written directory.
        if self.tmp.exists() {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// A chunk to write: time range, encoding, bytes (borrowed from the caller or new).
type ToWrite<'a> = (i64, i64, Encoding, Cow<'a, [u8]>);

/// Runs of plain float chunks (XOR without start timestamps, or packed) rewritten as packed
/// chunks of up to `packed::MAX_SAMPLES` samples where that is smaller; every other chunk,
/// and a run that does not pack smaller, as it is.
fn pack_floats<'a>(chunks: &[(i64, i64, Encoding, &'a [u8])]) -> Vec<ToWrite<'a>> {
    let packable = |e: Encoding| matches!(e, Encoding::Xor | Encoding::Packed);
    let as_is = |c: &(i64, i64, Encoding, &'a [u8])| (c.0, c.1, c.2, Cow::Borrowed(c.3));
    let mut out = Vec::with_capacity(chunks.len());
    let mut i = 0;
    while i < chunks.len() {
        if !packable(chunks[i].2) {
            out.push(as_is(&chunks[i]));
            i += 1;
            continue;
        }
        let mut end = i;
        let mut total = 0usize;
        while end < chunks.len() && packable(chunks[end].2) {
            let count = usize::from(chunks[end].2.sample_count(chunks[end].3));
            if end > i && total + count > packed::MAX_SAMPLES {
                break;
            }
            total += count;
            end += 1;
        }
        let run = &chunks[i..end];
        i = end;
        if let [only] = run {
            if only.2 == Encoding::Packed {
                out.push(as_is(only));
                continue;
            }
        }
        match repack_run(run, total) {
            Some(repacked) => out.extend(repacked),
            None => out.extend(run.iter().map(as_is)),
        }
    }
    out
}

/// Consecutive float chunks rewritten smaller, if they can be: as one packed chunk, or
/// else (values a packed chunk cannot make smaller, such as random floats) plain XOR
/// chunks joined into chunks of 120 samples (the head cuts its chunks at 32, and each
/// chunk costs its first sample in full and an index entry).
fn repack_run<'a>(run: &[(i64, i64, Encoding, &[u8])], total: usize) -> Option<Vec<ToWrite<'a>>> {
    let mut samples = Vec::with_capacity(total);
    for &(_, _, encoding, bytes) in run {
        let decoded = crate::chunk::decode_floats(encoding, bytes)?;
        samples.extend(decoded.into_iter().map(|(t, v, _)| (t, v)));
    }
    if samples.windows(2).any(|w| w[1].0 <= w[0].0) {
        return None;
    }
    let (first, last) = (samples.first()?.0, samples.last()?.0);
    let before: usize = run.iter().map(|c| c.3.len()).sum();
    if let Some(bytes) = packed::encode(&samples).filter(|b| b.len() < before) {
        return Some(vec![(first, last, Encoding::Packed, Cow::Owned(bytes))]);
    }
    if run.len() < 2 || run.iter().any(|c| c.2 != Encoding::Xor) {
        return None;
    }
    let joined = encode_chunks(&samples, &[]);
    let after: usize = joined.iter().map(|c| c.2.len()).sum();
    (after < before).then(|| {
        joined
            .into_iter()
            .map(|(min_t, max_t, bytes)| (min_t, max_t, Encoding::Xor, Cow::Owned(bytes)))
            .collect()
    })
}

/// Encodes samples (sorted by time) as XOR chunks of at most 120 samples; `starts` is
/// empty or holds each sample's start timestamp.
pub(crate) fn encode_chunks(samples: &[(i64, f64)], starts: &[i64]) -> Vec<(i64, i64, Vec<u8>)> {
    let per_chunk = crate::chunk::SAMPLES_PER_CHUNK as usize;
    samples
        .chunks(per_chunk)
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(n, part)| {
            let part_starts = starts.get(n * per_chunk..).unwrap_or(&[]);
            let mut chunk = if part_starts.iter().take(part.len()).any(|st| *st != 0) {
                XorChunk::with_starts()
            } else {
                XorChunk::new()
            };
            for (i, (t, v)) in part.iter().enumerate() {
                chunk.append_st(*t, *v, part_starts.get(i).copied().unwrap_or(0));
            }
            (part[0].0, part[part.len() - 1].0, chunk.bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Block;

    fn labels(name: &str) -> Labels {
        Labels::from_pairs([("__name__", name.to_string())])
    }

    /// A series to write: name, samples, start timestamps (empty: none).
    type Written<'a> = (&'a str, Vec<(i64, f64)>, Vec<i64>);
    /// A series read back: its chunks' encodings, its samples, its chunks' bytes.
    type Read = (Vec<Encoding>, Vec<(i64, f64)>, u64);

    /// Writes each series' samples as XOR chunks of 120 (with starts when given), reads the
    /// block back.
    fn write_and_read(series: &[Written<'_>]) -> Vec<Read> {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BlockWriter::create(dir.path(), 0, 10_000_000).unwrap();
        for (name, samples, starts) in series {
            let chunks = encode_chunks(samples, starts);
            let refs: Vec<(i64, i64, &[u8])> = chunks
                .iter()
                .map(|(a, b, c)| (*a, *b, c.as_slice()))
                .collect();
            writer.add_series(&labels(name), &refs).unwrap();
        }
        let meta = writer.finish(1, Vec::new()).unwrap().unwrap();
        assert_eq!(
            meta.stats.num_samples,
            series.iter().map(|s| s.1.len() as u64).sum::<u64>()
        );
        let block = Block::open(&dir.path().join(&meta.ulid)).unwrap();
        block
            .series_iter()
            .unwrap()
            .map(|s| {
                let s = s.unwrap();
                let encodings = s
                    .chunks
                    .iter()
                    .map(|c| block.read_chunk(c).unwrap().0)
                    .collect();
                let bytes = s.chunks.iter().map(|c| u64::from(c.len)).sum();
                let samples = block.samples(&s, i64::MIN, i64::MAX).unwrap();
                (encodings, samples.points, bytes)
            })
            .collect()
    }

    fn same_bits(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
    }

    #[test]
    fn runs_of_float_chunks_are_packed_when_smaller_and_read_back_bit_for_bit() {
        let counter: Vec<(i64, f64)> = (0..1000)
            .map(|i| (i * 15_000 + i % 3, (1000 + 7 * i + i * i % 5) as f64))
            .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<(i64, f64)> = (0..300)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (i * 15_000, (x >> 11) as f64 / 3.0)
            })
            .collect();
        let mut ends_stale: Vec<(i64, f64)> = (0..100)
            .map(|i| (i * 15_000, (i % 9) as f64 * 0.25))
            .collect();
        ends_stale.push((100 * 15_000, f64::from_bits(0x7ff0_0000_0000_0002)));
        let with_starts: Vec<(i64, f64)> = (0..50).map(|i| (i * 1000, i as f64)).collect();
        let starts = vec![1; 50];
        let read = write_and_read(&[
            ("a_counter", counter.clone(), Vec::new()),
            ("b_noise", noise.clone(), Vec::new()),
            ("c_ends_stale", ends_stale.clone(), Vec::new()),
            ("d_starts", with_starts.clone(), starts),
        ]);
        // 1000 samples in runs of at most 480: three packed chunks, far smaller than XOR.
        assert_eq!(read[0].0, vec![Encoding::Packed; 3]);
        assert!(same_bits(&read[0].1, &counter));
        let xor_bytes: usize = encode_chunks(&counter, &[]).iter().map(|c| c.2.len()).sum();
        assert!(
            read[0].2 * 2 < xor_bytes as u64,
            "{} vs {xor_bytes}",
            read[0].2
        );
        // Random floats do not pack: their XOR chunks stay.
        assert_eq!(read[1].0, vec![Encoding::Xor; 3]);
        assert!(same_bits(&read[1].1, &noise));
        // A staleness marker is kept bit for bit.
        assert_eq!(read[2].0, vec![Encoding::Packed]);
        assert!(same_bits(&read[2].1, &ends_stale));
        // Chunks with start timestamps keep them, in their own encoding.
        assert_eq!(read[3].0, vec![Encoding::XorWithStarts]);
        assert!(same_bits(&read[3].1, &with_starts));
    }

    #[test]
    fn head_sized_xor_chunks_that_do_not_pack_are_joined_into_chunks_of_120() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<(i64, f64)> = (0..200)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (i * 15_000, (x >> 11) as f64 / 7.0)
            })
            .collect();
        // As the head writes them: chunks of 32 samples.
        let chunks: Vec<(i64, i64, Vec<u8>)> = noise
            .chunks(32)
            .map(|part| {
                let mut c = XorChunk::new();
                for (t, v) in part {
                    c.append(*t, *v);
                }
                (part[0].0, part[part.len() - 1].0, c.bytes())
            })
            .collect();
        let before: usize = chunks.iter().map(|c| c.2.len()).sum();
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BlockWriter::create(dir.path(), 0, 10_000_000).unwrap();
        let refs: Vec<(i64, i64, &[u8])> = chunks
            .iter()
            .map(|(a, b, c)| (*a, *b, c.as_slice()))
            .collect();
        writer.add_series(&labels("noise"), &refs).unwrap();
        let meta = writer.finish(1, Vec::new()).unwrap().unwrap();
        let block = Block::open(&dir.path().join(&meta.ulid)).unwrap();
        let s = block.series_iter().unwrap().next().unwrap().unwrap();
        let counts: Vec<u16> = s
            .chunks
            .iter()
            .map(|c| {
                let (encoding, bytes) = block.read_chunk(c).unwrap();
                assert_eq!(encoding, Encoding::Xor);
                encoding.sample_count(&bytes)
            })
            .collect();
        assert_eq!(counts, [120, 80]);
        let after: u64 = s.chunks.iter().map(|c| u64::from(c.len)).sum();
        assert!(after < before as u64, "{after} vs {before}");
        let read = block.samples(&s, i64::MIN, i64::MAX).unwrap();
        assert!(same_bits(&read.points, &noise));
    }
}
