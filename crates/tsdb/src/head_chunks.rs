//! Full head chunks moved out of memory into files under `head_chunks_spill/`.
//!
//! Only a series' open chunk has to be in memory; the full ones are read again only by
//! queries and when a block is cut. Keeping them all in memory would make the head grow by
//! every sample until the next block (3 h of data: gigabytes for a million series), which
//! is what Prometheus avoids with its memory-mapped `chunks_head/`. Here they are appended
//! to files and read back through a read-only map.
//!
//! Each chunk is a record: a header, then the chunk bytes. The header names the series'
//! previous record, so a series needs to hold only where its newest record is (a
//! [`Link`], 8 bytes) and finds the older ones by following the links back: a million
//! series then hold no per-chunk references in memory at all, however long the head.
//! Following a link stops at a record that ends before the truncation floor (the head
//! dropped it; its file may be gone).
//!
//! A file starts with [`FILE_MAGIC`]. Record header, little-endian, [`HEADER_LEN`] bytes:
//! the series' previous record's file (u32, 0: none) and offset (u32), this chunk's min
//! and max time (i64 each), its encoding byte, a flags byte ([`DETACHED`], [`TAKEN_BACK`]),
//! its length (u32), the series' ref (u64), and a CRC32 (IEEE) of the header before it
//! (but the flags) and the chunk bytes.
//!
//! The WAL stays the source of truth: every sample of a spilled chunk is in it. The files
//! only save a restart the work of rebuilding those chunks (at a million series, most of
//! replay's time): at start-up `recover` gives each series its chain back when every
//! record of it reads back whole and links to the one before, and replay then skips the
//! WAL's samples up to the chain's end (as Prometheus does with its m-mapped chunks).
//! Anything else (a bad checksum, a torn file, a broken link) only means that series'
//! chunks are rebuilt from the WAL. A file is deleted once every record in it ends before
//! the floor. Files `000001`, `000002`, … of up to 128 MiB. If a write fails (disk full),
//! the chunk simply stays in memory.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::chunk::Encoding;

mod recover;

pub(crate) use recover::{RecoveredChain, RecoveredChains};

const FILE_SIZE: u64 = 128 << 20;

/// Bytes of a record header.
pub(crate) const HEADER_LEN: usize = 42;

/// The first bytes of every spill file (files without them are an older format: deleted).
pub(crate) const FILE_MAGIC: &[u8; 8] = b"PMHCHK\x00\x01";

/// Header flag: the series has older chunks this record does not link to (held in memory
/// when it was written, after a failed write), so its chain cannot be recovered from the
/// files alone.
pub(crate) const DETACHED: u8 = 1;

/// Header flag, set in place: the head took the chunk back (an append that closed it was
/// rolled back), so it may hold samples that were never logged.
pub(crate) const TAKEN_BACK: u8 = 2;

/// Records are counted per minute of their max time, so that the live count after a
/// truncation is exact for minute-aligned floors (block boundaries) without keeping a
/// time per record.
const COUNT_BUCKET_MS: i64 = 60_000;

/// Where a spilled chunk's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskRef {
    file: u32,
    offset: u32,
    len: u32,
}

impl DiskRef {
    /// File number, offset and length (for compact storage of references).
    pub(crate) fn parts(self) -> (u32, u32, u32) {
        (self.file, self.offset, self.len)
    }

    pub(crate) fn from_parts(file: u32, offset: u32, len: u32) -> Self {
        Self { file, offset, len }
    }
}

/// Where a record (header and chunk) starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct Link {
    file: u32,
    offset: u32,
}

/// A record's header, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub link: Link,
    /// The series' record before this one, if any was written.
    pub prev: Option<Link>,
    pub min_t: i64,
    pub max_t: i64,
    pub encoding: Encoding,
    pub data: DiskRef,
}

/// What a record holds, for writing one.
pub(crate) struct NewRecord<'a> {
    /// The series' ref (the WAL's), so that a restart can give the chunk back to it.
    pub series: u64,
    pub prev: Option<Link>,
    /// See [`DETACHED`].
    pub detached: bool,
    pub min_t: i64,
    pub max_t: i64,
    pub encoding: Encoding,
    pub bytes: &'a [u8],
}

struct SpillFile {
    reader: File,
    /// The newest sample time of any chunk in the file.
    max_t: i64,
    /// Records written here and not taken back, by minute of their max time: (count,
    /// oldest min time among them).
    records: BTreeMap<i64, (u32, i64)>,
    /// The file mapped into memory up to some length, so reading a chunk back is a copy
    /// instead of a system call; remapped when a read goes past it.
    map: Option<memmap2::Mmap>,
}

impl SpillFile {
    /// Counts a record of the head's.
    fn count(&mut self, min_t: i64, max_t: i64) {
        self.max_t = self.max_t.max(max_t);
        let bucket = self
            .records
            .entry(max_t.div_euclid(COUNT_BUCKET_MS))
            .or_insert((0, i64::MAX));
        bucket.0 += 1;
        bucket.1 = bucket.1.min(min_t);
    }

    /// Takes a record ending at `max_t` out of the counts.
    fn uncount(&mut self, max_t: i64) {
        let key = max_t.div_euclid(COUNT_BUCKET_MS);
        if let Some(bucket) = self.records.get_mut(&key) {
            bucket.0 = bucket.0.saturating_sub(1);
            if bucket.0 == 0 {
                self.records.remove(&key);
            }
        }
    }
}

struct Inner {
    files: BTreeMap<u32, SpillFile>,
    current: u32,
    writer: Option<BufWriter<File>>,
    /// Bytes written to the current file (some perhaps still buffered).
    size: u64,
    /// Bytes of the current file the kernel has.
    flushed: u64,
    /// Records ending before this are dropped (the head truncated them).
    floor: i64,
    /// A large record's write failed part way: the current file takes no more records.
    sealed: bool,
    warned: bool,
}

pub(crate) struct ChunkDisk {
    dir: PathBuf,
    file_size: u64,
    inner: Mutex<Inner>,
}

impl ChunkDisk {
    /// Starts empty in `dir`, removing what an earlier run left there.
    #[cfg(test)]
    pub fn open(dir: &Path) -> io::Result<Self> {
        Self::open_with_file_size(dir, FILE_SIZE)
    }

    #[cfg(test)]
    pub(crate) fn open_with_file_size(dir: &Path, file_size: u64) -> io::Result<Self> {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::create_dir_all(dir)?;
        Ok(Self::holding(dir, file_size, BTreeMap::new()))
    }

    /// Spill files in `dir` holding `files` (none written yet by this run).
    fn holding(dir: &Path, file_size: u64, files: BTreeMap<u32, SpillFile>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            file_size,
            inner: Mutex::new(Inner {
                files,
                current: 0,
                writer: None,
                size: 0,
                flushed: 0,
                floor: i64::MIN,
                sealed: false,
                warned: false,
            }),
        }
    }

    /// Opens `dir` as an earlier run left it: every spill file of this format is read, and
    /// the chains that read back whole are returned by series ref (see `recover`). Records
    /// ending before `floor` count as dropped; files holding only such records, files of
    /// another format and anything else in `dir` are deleted. New records go to a new
    /// file.
    pub fn recover(dir: &Path, floor: i64) -> io::Result<(Self, RecoveredChains)> {
        let started = std::time::Instant::now();
        fs::create_dir_all(dir)?;
        let found = recover::spill_files(dir)?;
        let first = found.first().map_or(0, |(n, _)| *n);
        let last = found.last().map_or(0, |(n, _)| *n);
        let mut scan = recover::Scan::new(floor, first);
        let mut files = BTreeMap::new();
        for (number, path) in found {
            match recover::scan_file(&path, number, &mut scan)? {
                None => {
                    tracing::info!(file = %path.display(), "not a spill file of this version: deleted (the WAL holds its chunks' samples)");
                    fs::remove_file(&path)?;
                }
                Some(f) => {
                    if !f.whole {
                        tracing::warn!(file = %path.display(), valid_bytes = f.valid_until, "a spilled head chunk file does not read back whole past this offset (a crash while writing it?): the chunks after it are rebuilt from the WAL");
                    }
                    files.insert(number, f.file);
                }
            }
            for (link, max_t) in std::mem::take(&mut scan.replaced) {
                if let Some(f) = files.get_mut(&link.file) {
                    f.uncount(max_t);
                }
            }
        }
        let disk = Self::holding(dir, FILE_SIZE, files);
        // No file is being written yet: every one holding only dropped records goes.
        disk.truncate_before(floor);
        // New records go to a file after every existing one.
        disk.lock().current = last;
        let (chains, count, broken) = scan.chains();
        if count > 0 || broken > 0 {
            tracing::info!(
                series = count,
                rebuilt = broken,
                took = ?started.elapsed(),
                "spilled head chunks recovered (the WAL's samples up to each chain's end are skipped); the chunks of the series counted as rebuilt did not read back whole and come from the WAL"
            );
        }
        Ok((disk, chains))
    }

    /// No longer counts the records of the chain ending at `newest` (recovered for a
    /// series the WAL no longer has): a walk back as far as the records read.
    pub fn forget_chain(&self, newest: Link) {
        let mut next = Some(newest);
        while let Some(link) = next {
            match self.record(link) {
                Ok(Some(r)) => {
                    self.forget(r.data, r.max_t);
                    next = r.prev;
                }
                _ => break,
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a full chunk as a record; `None` if it could not be written (it then stays
    /// in memory).
    pub fn write(&self, record: &NewRecord<'_>) -> Option<(Link, DiskRef)> {
        let mut inner = self.lock();
        match self.write_locked(&mut inner, record) {
            Ok(r) => Some(r),
            Err(e) => {
                if !inner.warned {
                    inner.warned = true;
                    tracing::warn!(dir = %self.dir.display(), err = %e, "cannot move full head chunks to disk; keeping them in memory");
                }
                None
            }
        }
    }

    fn write_locked(&self, inner: &mut Inner, r: &NewRecord<'_>) -> io::Result<(Link, DiskRef)> {
        let len = u32::try_from(r.bytes.len()).map_err(io::Error::other)?;
        let total = HEADER_LEN as u64 + u64::from(len);
        if inner.writer.is_none() || inner.sealed || inner.size + total > self.file_size {
            // Flushed before it is let go: a writer dropped with bytes it could not write
            // would lose records whose links are already held (and every older chunk of
            // their series with them). On an error it stays, its buffer still readable.
            if let Some(w) = inner.writer.as_mut() {
                w.flush()?;
            }
            inner.writer = None;
            let number = inner.current + 1;
            let path = self.dir.join(format!("{number:06}"));
            let file = File::options()
                .create_new(true)
                .read(true)
                .append(true)
                .open(&path)?;
            let reader = file.try_clone()?;
            inner.files.insert(
                number,
                SpillFile {
                    reader,
                    max_t: i64::MIN,
                    records: BTreeMap::new(),
                    map: None,
                },
            );
            let mut writer = BufWriter::with_capacity(1 << 16, file);
            writer.write_all(FILE_MAGIC)?;
            inner.writer = Some(writer);
            inner.current = number;
            inner.size = FILE_MAGIC.len() as u64;
            inner.flushed = 0;
            inner.sealed = false;
        }
        let offset = u32::try_from(inner.size).map_err(io::Error::other)?;
        let header = encode_header(r, len);
        let mut record = Vec::with_capacity(total as usize);
        record.extend_from_slice(&header);
        record.extend_from_slice(r.bytes);
        let Some(writer) = inner.writer.as_mut() else {
            return Err(io::Error::other("no spill file open"));
        };
        // One write of less than the buffer's capacity is all or nothing: the buffer is
        // flushed first (an error leaves it as it was), then the record copied in. A
        // larger one goes to the file directly and may stop part way: the file is then
        // full as far as writes go (the next one starts a new file), so that no later
        // record lands at an offset the size does not count.
        if let Err(e) = writer.write_all(&record) {
            if record.len() >= writer.capacity() {
                inner.sealed = true;
            }
            return Err(e);
        }
        inner.size += total;
        let current = inner.current;
        if let Some(f) = inner.files.get_mut(&current) {
            f.count(r.min_t, r.max_t);
        }
        let link = Link {
            file: current,
            offset,
        };
        let data = DiskRef {
            file: current,
            offset: offset + HEADER_LEN as u32,
            len,
        };
        Ok((link, data))
    }

    /// The record at `link`; `None` when the head has dropped it (it ends before the
    /// floor, or its file is gone).
    pub fn record(&self, link: Link) -> io::Result<Option<Record>> {
        let mut header = [0u8; HEADER_LEN];
        {
            let mut inner = self.lock();
            if !inner.files.contains_key(&link.file) {
                return Ok(None);
            }
            Self::read_locked(&mut inner, link.file, link.offset, &mut header)?;
            let max_t = i64_at(&header, 16);
            if max_t < inner.floor {
                return Ok(None);
            }
        }
        decode_header(link, &header).map(Some).ok_or_else(|| {
            io::Error::other(format!(
                "spilled chunk record at {}:{} has an unknown encoding {}",
                link.file, link.offset, header[24]
            ))
        })
    }

    /// A chunk taken back (the newest of a series, by a rolled-back append): no longer
    /// counted, and marked in its file so that a restart does not give it back to the
    /// series (it may hold samples the rollback removed). The mark is a one-byte write in
    /// place; if it fails, the chunk could come back after a restart: logged.
    pub fn take_back(&self, link: Link, data: DiskRef, max_t: i64) {
        self.forget(data, max_t);
        let mut inner = self.lock();
        let current = inner.current;
        let flushed = match inner.writer.as_mut() {
            Some(w) if link.file == current => w.flush(),
            _ => Ok(()),
        };
        let marked = flushed.and_then(|()| {
            let file = File::options()
                .read(true)
                .write(true)
                .open(self.dir.join(format!("{:06}", link.file)))?;
            let mut flags = [0u8; 1];
            file.read_exact_at(&mut flags, u64::from(link.offset) + 25)?;
            file.write_all_at(&[flags[0] | TAKEN_BACK], u64::from(link.offset) + 25)
        });
        if let Err(e) = marked {
            tracing::warn!(file = link.file, offset = link.offset, err = %e, "could not mark a spilled head chunk as taken back: after a restart before the series' next chunk is written, samples of the rolled-back append may be back");
        } else if link.file == inner.current {
            inner.flushed = inner.size;
        }
    }

    /// A chunk no longer counted (its bytes stay until the file goes).
    pub fn forget(&self, data: DiskRef, max_t: i64) {
        let mut inner = self.lock();
        if let Some(f) = inner.files.get_mut(&data.file) {
            f.uncount(max_t);
        }
    }

    /// The number of records the head still holds (exact when the floor is a whole
    /// minute, as block boundaries are; else the floor's minute counts whole).
    pub fn live_records(&self) -> usize {
        let inner = self.lock();
        live_buckets(&inner).map(|(count, _)| *count as usize).sum()
    }

    /// A lower bound of the oldest sample time of the records the head still holds, not
    /// below the floor (`None` without any).
    pub fn oldest_min_t(&self) -> Option<i64> {
        let inner = self.lock();
        live_buckets(&inner)
            .map(|(_, min_t)| *min_t)
            .min()
            .map(|min_t| min_t.max(inner.floor))
    }

    /// Reads a spilled chunk back.
    pub fn read(&self, r: DiskRef) -> io::Result<Vec<u8>> {
        let mut out = vec![0u8; r.len as usize];
        let mut inner = self.lock();
        Self::read_locked(&mut inner, r.file, r.offset, &mut out)?;
        Ok(out)
    }

    /// Fills `out` from `offset` of file `number`.
    fn read_locked(inner: &mut Inner, number: u32, offset: u32, out: &mut [u8]) -> io::Result<()> {
        let (start, end) = (u64::from(offset), u64::from(offset) + out.len() as u64);
        if number == inner.current && end > inner.flushed {
            let mut unflushed = None;
            if let Some(w) = inner.writer.as_mut() {
                if w.flush().is_err() {
                    // A full disk: what the kernel did not take is still in the buffer
                    // (the flush is retried on the next read). A written chunk must stay
                    // readable, so it is read from there.
                    unflushed = Some(w.buffer().to_vec());
                }
            }
            match unflushed {
                None => inner.flushed = inner.size,
                Some(buffered) => {
                    inner.flushed = inner.size - buffered.len() as u64;
                    return Self::read_partly_buffered(inner, number, start, out, &buffered);
                }
            }
        }
        let file = inner
            .files
            .get_mut(&number)
            .ok_or_else(|| io::Error::other(format!("spilled chunk file {number} is gone")))?;
        if file.map.as_ref().is_none_or(|m| (m.len() as u64) < end) {
            let len = file.reader.metadata()?.len();
            if len < end {
                return Err(io::Error::other(format!(
                    "spilled chunk file {number} is shorter than a chunk in it"
                )));
            }
            // SAFETY: the spill directory belongs to this process alone (the data
            // directory is locked), files are only ever appended to and deleted whole,
            // never truncated, so the mapped bytes stay valid for the map's lifetime
            // (Prometheus maps its head chunk files the same way).
            file.map = Some(unsafe {
                memmap2::MmapOptions::new()
                    .len(len as usize)
                    .map(&file.reader)?
            });
        }
        match file
            .map
            .as_ref()
            .and_then(|m| m.get(start as usize..end as usize))
        {
            Some(bytes) => out.copy_from_slice(bytes),
            None => file.reader.read_exact_at(out, start)?,
        }
        Ok(())
    }

    /// Reads bytes of the current file when their end is still in the write buffer:
    /// the part the kernel has from the file, the rest from `buffered`.
    fn read_partly_buffered(
        inner: &Inner,
        number: u32,
        start: u64,
        out: &mut [u8],
        buffered: &[u8],
    ) -> io::Result<()> {
        let end = start + out.len() as u64;
        let on_disk = inner.flushed;
        let from_file = on_disk.saturating_sub(start).min(out.len() as u64) as usize;
        if from_file > 0 {
            let file = inner
                .files
                .get(&number)
                .ok_or_else(|| io::Error::other(format!("spilled chunk file {number} is gone")))?;
            file.reader.read_exact_at(&mut out[..from_file], start)?;
        }
        let (rest_start, rest_end) = (start.max(on_disk) - on_disk, end.max(on_disk) - on_disk);
        let rest = buffered
            .get(rest_start as usize..rest_end as usize)
            .ok_or_else(|| io::Error::other("a spilled chunk is neither written nor buffered"))?;
        out[from_file..].copy_from_slice(rest);
        Ok(())
    }

    /// Unmaps every file. The pages reads touched through a map count as this process's
    /// resident memory until it is unmapped (the kernel keeps them cached either way), and
    /// a block cut reads every chunk of its range: gigabytes at a million series. The cut
    /// calls this after each batch of series, and maintenance after each pass (for what
    /// queries touched); the next read maps its file again.
    pub fn release_maps(&self) {
        let mut inner = self.lock();
        for file in inner.files.values_mut() {
            file.map = None;
        }
    }

    /// Drops every record ending before `t` (the head has dropped those chunks): raises
    /// the floor and deletes the files holding only such records.
    pub fn truncate_before(&self, t: i64) {
        let mut inner = self.lock();
        inner.floor = inner.floor.max(t);
        let floor = inner.floor;
        let current = inner.current;
        let below = floor.div_euclid(COUNT_BUCKET_MS);
        for f in inner.files.values_mut() {
            f.records = f.records.split_off(&below);
        }
        let doomed: Vec<u32> = inner
            .files
            .iter()
            .filter(|(n, f)| **n != current && f.max_t < floor)
            .map(|(n, _)| *n)
            .collect();
        for n in doomed {
            inner.files.remove(&n);
            if let Err(e) = fs::remove_file(self.dir.join(format!("{n:06}"))) {
                tracing::warn!(file = n, err = %e, "could not delete a spilled head chunk file");
            }
        }
    }
}

/// The (count, oldest min time) of every minute of records not below the floor.
fn live_buckets(inner: &Inner) -> impl Iterator<Item = &(u32, i64)> {
    let from = inner.floor.div_euclid(COUNT_BUCKET_MS);
    inner
        .files
        .values()
        .flat_map(move |f| f.records.range(from..).map(|(_, bucket)| bucket))
}

/// A record's header (see the module docs), its checksum over the header and `r.bytes`.
fn encode_header(r: &NewRecord<'_>, len: u32) -> [u8; HEADER_LEN] {
    let (prev_file, prev_offset) = r.prev.map_or((0, 0), |p| (p.file, p.offset));
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&prev_file.to_le_bytes());
    header[4..8].copy_from_slice(&prev_offset.to_le_bytes());
    header[8..16].copy_from_slice(&r.min_t.to_le_bytes());
    header[16..24].copy_from_slice(&r.max_t.to_le_bytes());
    header[24] = r.encoding.byte();
    header[25] = if r.detached { DETACHED } else { 0 };
    header[26..30].copy_from_slice(&len.to_le_bytes());
    header[30..38].copy_from_slice(&r.series.to_le_bytes());
    let crc = record_crc(&header, r.bytes);
    header[38..42].copy_from_slice(&crc.to_le_bytes());
    header
}

/// The record whose header, at `link`, is `header` (`None`: an unknown encoding).
fn decode_header(link: Link, header: &[u8; HEADER_LEN]) -> Option<Record> {
    let prev_file = u32_at(header, 0);
    Some(Record {
        link,
        prev: (prev_file != 0).then(|| Link {
            file: prev_file,
            offset: u32_at(header, 4),
        }),
        min_t: i64_at(header, 8),
        max_t: i64_at(header, 16),
        encoding: Encoding::from_byte(header[24])?,
        data: DiskRef {
            file: link.file,
            offset: link.offset + HEADER_LEN as u32,
            len: u32_at(header, 26),
        },
    })
}

/// A header's flags byte ([`DETACHED`], [`TAKEN_BACK`]) and series ref.
fn header_flags_and_series(header: &[u8; HEADER_LEN]) -> (u8, u64) {
    let mut series = [0u8; 8];
    series.copy_from_slice(&header[30..38]);
    (header[25], u64::from_le_bytes(series))
}

/// The checksum of a record: its header up to the checksum but for the flags byte (set
/// in place by [`ChunkDisk::take_back`]), then its chunk bytes.
fn record_crc(header: &[u8; HEADER_LEN], bytes: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&header[..25]);
    crc.update(&header[26..38]);
    crc.update(bytes);
    crc.finalize()
}

fn u32_at(b: &[u8; HEADER_LEN], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8; HEADER_LEN], at: usize) -> i64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(prev: Option<Link>, min_t: i64, bytes: &[u8]) -> NewRecord<'_> {
        NewRecord {
            series: 1,
            prev,
            detached: false,
            min_t,
            max_t: min_t + 10,
            encoding: Encoding::Xor,
            bytes,
        }
    }

    #[test]
    fn records_link_back_and_whole_files_go_once_below_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill");
        std::fs::create_dir_all(&spill).unwrap();
        std::fs::write(spill.join("000009"), b"left by an earlier run").unwrap();
        // 40-byte chunks: two records per file.
        let disk =
            ChunkDisk::open_with_file_size(&spill, 8 + 2 * (HEADER_LEN as u64 + 40)).unwrap();
        assert!(!spill.join("000009").exists());
        let mut prev = None;
        let mut written = Vec::new();
        for i in 0..6u8 {
            let bytes = [i; 40];
            let (link, data) = disk
                .write(&record(prev, i64::from(i) * 60_000, &bytes))
                .unwrap();
            written.push((link, data));
            prev = Some(link);
        }
        for (i, (link, data)) in written.iter().enumerate() {
            assert_eq!(disk.read(*data).unwrap(), vec![i as u8; 40]);
            let r = disk.record(*link).unwrap().unwrap();
            assert_eq!(
                (r.min_t, r.max_t, r.encoding, r.data),
                (
                    i as i64 * 60_000,
                    i as i64 * 60_000 + 10,
                    Encoding::Xor,
                    *data
                )
            );
            assert_eq!(r.prev, i.checked_sub(1).map(|p| written[p].0));
        }
        let names = || {
            let mut v: Vec<String> = std::fs::read_dir(&spill)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(), ["000001", "000002", "000003"]);
        assert_eq!(disk.live_records(), 6);
        assert_eq!(disk.oldest_min_t(), Some(0));
        // Records ending before 180 s: file 1 (to 60 s) goes; file 2 (to 180 s) stays,
        // but its record ending at 120 s is dropped.
        disk.truncate_before(180_000);
        assert_eq!(names(), ["000002", "000003"]);
        assert!(disk.read(written[0].1).is_err());
        assert_eq!(disk.record(written[0].0).unwrap(), None);
        assert_eq!(disk.record(written[2].0).unwrap(), None);
        assert!(disk.record(written[3].0).unwrap().is_some());
        assert_eq!(disk.live_records(), 3);
        assert_eq!(disk.oldest_min_t(), Some(180_000));
        // A taken-back record is no longer counted.
        disk.forget(written[5].1, 300_010);
        assert_eq!(disk.live_records(), 2);
        // The file being written is never dropped.
        disk.truncate_before(1_000_000);
        assert_eq!(names(), ["000003"]);
        assert_eq!(disk.live_records(), 0);
        assert_eq!(disk.oldest_min_t(), None);
    }
}
