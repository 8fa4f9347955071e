//! Persisted blocks: immutable directories holding the samples of one time range.
//!
//! ```text
//! <ULID>/meta.json        what the block holds (Prometheus's meta.json fields)
//! <ULID>/chunks/000001    chunk segments (≤ 512 MiB each)
//! <ULID>/index            symbols, series with their chunk references, postings
//! ```
//!
//! Chunk segment: 8-byte header (`0x85BD40DD` big-endian, version byte 1, 3 zero bytes),
//! then per chunk `uvarint data length`, encoding byte (1 = XOR, 0x81 = XOR with start
//! timestamps, 2 = integer histograms, 3 = float histograms, 0x82/0x83 histograms with
//! start timestamps, 0x84 = packed floats, see `chunk::packed`), the data (for Prometheus's
//! encodings the chunk exactly as in Prometheus: 2-byte big-endian sample count, then the
//! bit stream) and a big-endian CRC-32 (IEEE) of encoding byte and data. A chunk reference is
//! `segment number << 32 | byte offset`.
//!
//! Index (all integers little-endian unless varint):
//! header `PMIX`, version byte 2, 3 zero bytes; then the series, in label-set order, each
//! `uvarint label count`, `uvarint name id, uvarint value id` per label (ids into the
//! symbol table), `uvarint chunk count`, and per chunk `varint (min time − previous max
//! time, or − the block's min time for the first)`, `uvarint max − min`, `varint
//! (reference − previous chunk's reference, or 0 for the first)`, `uvarint data length`;
//! then the symbol table (`uvarint count`, then `uvarint length` and the UTF-8 bytes each,
//! id = position); then the start offset of every series plus one end offset, as `uvarint`
//! deltas; then the postings (`uvarint pair count`, then per label pair sorted by name
//! and value: `uvarint name id`, `uvarint value id`, `uvarint byte length`, and the
//! series numbers as uvarint deltas); then the table of contents: `u64` offsets of the
//! symbol table, the series offsets and the postings, `u64` end of postings, `u64` series
//! count, `u32` CRC-32 (IEEE) of every byte before it, and `PMIX` again.

use std::collections::HashMap;
use std::fs::{self, File};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use model::{Label, Labels, Matcher};
use serde::{Deserialize, Serialize};

use crate::chunk::{Encoding, SampleBuf};
use crate::varint::{read_uvarint, unzigzag, uvarint_len};

mod writer;

pub(crate) use writer::{encode_chunks, BlockWriter};

const CHUNK_MAGIC: u32 = 0x85BD_40DD;
const CHUNK_SEGMENT_MAX: u64 = 512 << 20;
const INDEX_MAGIC: &[u8; 4] = b"PMIX";
/// Version 2: series offsets as uvarint deltas, the first chunk's min time relative to the
/// block's, chunk references after the first as deltas. Version 1 is still read.
const INDEX_VERSION: u8 = 2;
const TOC_LEN: u64 = 8 * 5 + 4 + 4;

/// `meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    pub ulid: String,
    /// Inclusive lower bound, ms.
    pub min_time: i64,
    /// Exclusive upper bound, ms.
    pub max_time: i64,
    pub stats: BlockStats,
    pub compaction: BlockCompaction,
    pub version: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    pub num_samples: u64,
    pub num_series: u64,
    pub num_chunks: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BlockCompaction {
    pub level: u32,
    pub sources: Vec<String>,
}

/// A new ULID for a block created at `ms` (time-ordered, 80 random bits).
pub fn new_ulid(ms: u64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let a = h.finish();
    h.write_u64(ms);
    let b = h.finish();
    let random = (u128::from(a) << 16 | u128::from(b & 0xffff)) & ((1u128 << 80) - 1);
    let value = (u128::from(ms & ((1 << 48) - 1)) << 80) | random;
    (0..26)
        .map(|i| ALPHABET[((value >> (125 - 5 * i)) & 31) as usize] as char)
        .collect()
}

/// Whether a directory name is a block's (26 ULID characters).
pub fn is_block_dir_name(name: &str) -> bool {
    name.len() == 26
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// Where one chunk is inside a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub min_t: i64,
    pub max_t: i64,
    reference: u64,
    len: u32,
}

fn corrupt(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// The ULID of the oldest level-1 block whose data `meta`'s block holds: where two blocks
/// hold a sample at one timestamp (a block, and out-of-order samples of its range written
/// later), the one written first wins, in queries and in merges alike.
pub(crate) fn first_written(meta: &BlockMeta) -> &str {
    meta.compaction.sources.iter().min().unwrap_or(&meta.ulid)
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads `meta.json` of a block directory.
pub fn read_meta(dir: &Path) -> io::Result<BlockMeta> {
    let path = dir.join("meta.json");
    let bytes = fs::read(&path)?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("{}: {e}", path.display())))
}

/// An open, immutable block.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: File,
    symbols: Vec<String>,
    symbol_ids: HashMap<String, u32>,
    /// name id → (value id, offset, length) of each postings list.
    postings: HashMap<u32, Vec<(u32, u64, u64)>>,
    series_offsets: Vec<u64>,
    chunk_files: Vec<File>,
    size: u64,
    version: u8,
}

/// One series read from a block.
pub(crate) struct BlockSeries {
    pub labels: Labels,
    pub chunks: Vec<ChunkMeta>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("dir", &self.dir)
            .field("meta", &self.meta)
            .finish()
    }
}

fn read_u64(buf: &[u8], at: usize) -> io::Result<u64> {
    buf.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| corrupt("index table of contents is truncated"))
}

impl Block {
    /// Opens a block directory, checking its index checksum.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let meta = read_meta(dir)?;
        let index_path = dir.join("index");
        let index = File::open(&index_path)?;
        let len = index.metadata()?.len();
        if len < 8 + TOC_LEN {
            return Err(corrupt(format!("{}: too short", index_path.display())));
        }
        let mut toc = vec![0u8; TOC_LEN as usize];
        index.read_exact_at(&mut toc, len - TOC_LEN)?;
        if &toc[44..48] != INDEX_MAGIC {
            return Err(corrupt(format!("{}: bad magic", index_path.display())));
        }
        let mut header = [0u8; 8];
        index.read_exact_at(&mut header, 0)?;
        let version = header[4];
        if &header[..4] != INDEX_MAGIC || !(1..=INDEX_VERSION).contains(&version) {
            return Err(corrupt(format!(
                "{}: not an index this version reads (header {:?})",
                index_path.display(),
                &header[..5]
            )));
        }
        let symbols_at = read_u64(&toc, 0)?;
        let offsets_at = read_u64(&toc, 8)?;
        let postings_at = read_u64(&toc, 16)?;
        let postings_end = read_u64(&toc, 24)?;
        let count = read_u64(&toc, 32)?;
        let crc = u32::from_le_bytes([toc[40], toc[41], toc[42], toc[43]]);
        // The checksum covers everything before it: read the file through once.
        let body_len = len - 8;
        let mut hasher = crc32fast::Hasher::new();
        let mut reader = BufReader::with_capacity(1 << 16, (&index).take(body_len));
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        if hasher.finalize() != crc {
            return Err(corrupt(format!(
                "{}: checksum mismatch (corrupt index)",
                index_path.display()
            )));
        }
        if !(8 <= symbols_at
            && symbols_at <= offsets_at
            && offsets_at <= postings_at
            && postings_at <= postings_end
            && postings_end <= len - TOC_LEN
            && (version > 1 || offsets_at + (count + 1) * 8 == postings_at))
        {
            return Err(corrupt(format!(
                "{}: inconsistent table of contents",
                index_path.display()
            )));
        }
        let mut section = vec![0u8; (offsets_at - symbols_at) as usize];
        index.read_exact_at(&mut section, symbols_at)?;
        let mut pos = 0;
        let bad = || corrupt(format!("{}: bad symbol table", index_path.display()));
        let n = read_uvarint(&section, &mut pos).ok_or_else(bad)?;
        let mut symbols = Vec::with_capacity((n as usize).min(1 << 20));
        for _ in 0..n {
            let l = read_uvarint(&section, &mut pos).ok_or_else(bad)? as usize;
            let s = section.get(pos..pos + l).ok_or_else(bad)?;
            symbols.push(String::from_utf8(s.to_vec()).map_err(|_| bad())?);
            pos += l;
        }
        let symbol_ids = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        let mut section = vec![0u8; (postings_at - offsets_at) as usize];
        index.read_exact_at(&mut section, offsets_at)?;
        let series_offsets: Vec<u64> = if version == 1 {
            section
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                .collect()
        } else {
            let bad = || corrupt(format!("{}: bad series offsets", index_path.display()));
            let mut offsets = Vec::with_capacity((count as usize + 1).min(1 << 24));
            let (mut pos, mut current) = (0usize, 0u64);
            while pos < section.len() {
                current = current
                    .checked_add(read_uvarint(&section, &mut pos).ok_or_else(bad)?)
                    .ok_or_else(bad)?;
                offsets.push(current);
            }
            if offsets.len() as u64 != count + 1 || offsets.last() != Some(&symbols_at) {
                return Err(bad());
            }
            offsets
        };
        let mut section = vec![0u8; (postings_end - postings_at) as usize];
        index.read_exact_at(&mut section, postings_at)?;
        let bad = || corrupt(format!("{}: bad postings", index_path.display()));
        let mut pos = 0;
        let pairs = read_uvarint(&section, &mut pos).ok_or_else(bad)?;
        let mut postings: HashMap<u32, Vec<(u32, u64, u64)>> = HashMap::new();
        for _ in 0..pairs {
            let name = read_uvarint(&section, &mut pos).ok_or_else(bad)? as u32;
            let value = read_uvarint(&section, &mut pos).ok_or_else(bad)? as u32;
            let l = read_uvarint(&section, &mut pos).ok_or_else(bad)?;
            postings
                .entry(name)
                .or_default()
                .push((value, postings_at + pos as u64, l));
            pos += l as usize;
        }
        let mut chunk_files = Vec::new();
        for n in 1.. {
            match File::open(dir.join("chunks").join(format!("{n:06}"))) {
                Ok(f) => chunk_files.push(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(e),
            }
        }
        let size = dir_size(dir);
        Ok(Self {
            dir: dir.to_path_buf(),
            meta,
            index,
            symbols,
            symbol_ids,
            postings,
            series_offsets,
            chunk_files,
            size,
            version,
        })
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn num_series(&self) -> usize {
        self.series_offsets.len().saturating_sub(1)
    }

    fn symbol(&self, id: u64) -> io::Result<&str> {
        self.symbols
            .get(id as usize)
            .map(String::as_str)
            .ok_or_else(|| corrupt(format!("{}: symbol {id} out of range", self.dir.display())))
    }

    fn postings_list(&self, offset: u64, len: u64) -> io::Result<Vec<u32>> {
        let mut buf = vec![0u8; len as usize];
        self.index.read_exact_at(&mut buf, offset)?;
        let mut out = Vec::new();
        let (mut pos, mut current) = (0, 0u64);
        while pos < buf.len() {
            current += read_uvarint(&buf, &mut pos)
                .ok_or_else(|| corrupt(format!("{}: bad postings list", self.dir.display())))?;
            out.push(current as u32);
        }
        Ok(out)
    }

    fn postings_matching(&self, m: &Matcher) -> io::Result<Vec<u32>> {
        let Some(lists) = self
            .symbol_ids
            .get(&m.name)
            .and_then(|n| self.postings.get(n))
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (value, offset, len) in lists {
            if m.matches(self.symbol(u64::from(*value))?) {
                out.extend(self.postings_list(*offset, *len)?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Reads series number `i`.
    pub(crate) fn read_series(&self, i: usize) -> io::Result<BlockSeries> {
        let (Some(start), Some(end)) = (self.series_offsets.get(i), self.series_offsets.get(i + 1))
        else {
            return Err(corrupt(format!(
                "{}: series {i} out of range",
                self.dir.display()
            )));
        };
        let mut buf = vec![0u8; end.saturating_sub(*start) as usize];
        self.index.read_exact_at(&mut buf, *start)?;
        self.decode_series(&buf)
    }

    fn decode_series(&self, buf: &[u8]) -> io::Result<BlockSeries> {
        let bad = || corrupt(format!("{}: bad series entry", self.dir.display()));
        let mut pos = 0;
        let n = read_uvarint(buf, &mut pos).ok_or_else(bad)?;
        let mut labels = Vec::with_capacity((n as usize).min(64));
        for _ in 0..n {
            let name = read_uvarint(buf, &mut pos).ok_or_else(bad)?;
            let value = read_uvarint(buf, &mut pos).ok_or_else(bad)?;
            labels.push(Label {
                name: self.symbol(name)?.to_string(),
                value: self.symbol(value)?.to_string(),
            });
        }
        let n = read_uvarint(buf, &mut pos).ok_or_else(bad)?;
        let mut chunks = Vec::with_capacity((n as usize).min(1024));
        let v1 = self.version == 1;
        let mut previous_max = if v1 { 0 } else { self.meta.min_time };
        let mut previous_ref = 0u64;
        for _ in 0..n {
            let min_t =
                previous_max.wrapping_add(unzigzag(read_uvarint(buf, &mut pos).ok_or_else(bad)?));
            let max_t = min_t.wrapping_add(read_uvarint(buf, &mut pos).ok_or_else(bad)? as i64);
            let raw = read_uvarint(buf, &mut pos).ok_or_else(bad)?;
            let reference = if v1 {
                raw
            } else {
                previous_ref.wrapping_add(unzigzag(raw) as u64)
            };
            previous_ref = reference;
            let len = read_uvarint(buf, &mut pos).ok_or_else(bad)? as u32;
            chunks.push(ChunkMeta {
                min_t,
                max_t,
                reference,
                len,
            });
            previous_max = max_t;
        }
        Ok(BlockSeries {
            labels: Labels::from_sorted(labels),
            chunks,
        })
    }

    /// The XOR bytes of a chunk, checksum verified.
    pub(crate) fn read_chunk(&self, c: &ChunkMeta) -> io::Result<(Encoding, Vec<u8>)> {
        let segment = (c.reference >> 32) as usize;
        let offset = c.reference & 0xffff_ffff;
        let file = segment
            .checked_sub(1)
            .and_then(|i| self.chunk_files.get(i))
            .ok_or_else(|| {
                corrupt(format!(
                    "{}: chunk segment {segment} missing",
                    self.dir.display()
                ))
            })?;
        let head = uvarint_len(u64::from(c.len));
        let mut buf = vec![0u8; head + 1 + c.len as usize + 4];
        file.read_exact_at(&mut buf, offset)?;
        let data_start = head;
        let data_end = data_start + 1 + c.len as usize;
        let crc = u32::from_be_bytes(buf[data_end..data_end + 4].try_into().unwrap_or([0; 4]));
        if crc32fast::hash(&buf[data_start..data_end]) != crc {
            return Err(corrupt(format!(
                "{}: chunk {segment}:{offset} fails its checksum",
                self.dir.display()
            )));
        }
        // The encoding byte must agree with a float chunk's own header.
        let byte = buf[data_start];
        let data = &buf[data_start + 1..data_end];
        let encoding = Encoding::from_byte(byte).filter(|e| {
            *e != Encoding::Xor && *e != Encoding::XorWithStarts
                || *e == Encoding::of_float_chunk(data)
        });
        let Some(encoding) = encoding else {
            return Err(corrupt(format!(
                "{}: chunk {segment}:{offset} has encoding {byte:#x}, which this server does not read",
                self.dir.display()
            )));
        };
        buf.truncate(data_end);
        buf.drain(..data_start + 1);
        Ok((encoding, buf))
    }

    /// Series numbers matching every matcher.
    fn select_numbers(&self, matchers: &[Matcher]) -> io::Result<Vec<u32>> {
        let mut candidates: Option<Vec<u32>> = None;
        for m in matchers.iter().filter(|m| !m.matches_empty()) {
            let list = self.postings_matching(m)?;
            candidates = Some(match candidates {
                None => list,
                Some(c) => {
                    let set: std::collections::HashSet<u32> = list.into_iter().collect();
                    c.into_iter().filter(|x| set.contains(x)).collect()
                }
            });
        }
        Ok(candidates.unwrap_or_else(|| (0..self.num_series() as u32).collect()))
    }

    /// Series matching the matchers with chunks overlapping `[mint, maxt]`.
    pub(crate) fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> io::Result<Vec<BlockSeries>> {
        let mut out = Vec::new();
        if self.meta.max_time <= mint || self.meta.min_time > maxt {
            return Ok(out);
        }
        for i in self.select_numbers(matchers)? {
            let mut s = self.read_series(i as usize)?;
            if !matchers.iter().all(|m| m.matches_labels(&s.labels)) {
                continue;
            }
            s.chunks.retain(|c| c.max_t >= mint && c.min_t <= maxt);
            if !s.chunks.is_empty() {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Samples of a series' chunks within `[mint, maxt]`.
    pub(crate) fn samples(&self, s: &BlockSeries, mint: i64, maxt: i64) -> io::Result<SampleBuf> {
        let mut out = SampleBuf::default();
        let chunks = s
            .chunks
            .iter()
            .map(|c| Ok((c, self.read_chunk(c)?)))
            .collect::<io::Result<Vec<_>>>()?;
        out.reserve_for(
            chunks.iter().map(|(c, (encoding, bytes))| {
                let count = crate::chunk::float_sample_count(*encoding, bytes);
                (count, (c.min_t, c.max_t))
            }),
            mint,
            maxt,
        );
        for (_, (encoding, bytes)) in chunks {
            if !out.extend_from_encoded(encoding, &bytes, mint, maxt) {
                return Err(corrupt(format!(
                    "{}: a chunk of {} does not decode",
                    self.dir.display(),
                    s.labels
                )));
            }
        }
        Ok(out)
    }

    pub fn label_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .postings
            .keys()
            .filter_map(|n| self.symbols.get(*n as usize).cloned())
            .collect();
        out.sort_unstable();
        out
    }

    pub fn label_values(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .symbol_ids
            .get(name)
            .and_then(|n| self.postings.get(n))
            .map(|lists| {
                lists
                    .iter()
                    .filter_map(|(v, _, _)| self.symbols.get(*v as usize).cloned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    /// Every series in label order, read sequentially (for compaction).
    pub(crate) fn series_iter(&self) -> io::Result<SeriesIter<'_>> {
        let start = self.series_offsets.first().copied().unwrap_or(8);
        // Its own file handle: a shared one would share the seek position.
        let mut file = File::open(self.dir.join("index"))?;
        std::io::Seek::seek(&mut file, io::SeekFrom::Start(start))?;
        Ok(SeriesIter {
            block: self,
            reader: BufReader::with_capacity(1 << 16, file),
            next: 0,
            buf: Vec::new(),
        })
    }
}

/// Sequential reader over a block's series.
pub(crate) struct SeriesIter<'a> {
    block: &'a Block,
    reader: BufReader<File>,
    next: usize,
    buf: Vec<u8>,
}

impl Iterator for SeriesIter<'_> {
    type Item = io::Result<BlockSeries>;

    fn next(&mut self) -> Option<Self::Item> {
        let offsets = &self.block.series_offsets;
        let (start, end) = (*offsets.get(self.next)?, *offsets.get(self.next + 1)?);
        self.next += 1;
        self.buf.resize(end.saturating_sub(start) as usize, 0);
        Some(
            self.reader
                .read_exact(&mut self.buf)
                .and_then(|()| self.block.decode_series(&self.buf)),
        )
    }
}

/// Total size of the files under `dir`.
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}
