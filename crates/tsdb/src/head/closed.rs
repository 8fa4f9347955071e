//! A series' closed head chunks. Normally they are all in spill files, each record linking
//! to the series' one before (see `head_chunks`), and the series holds only where the
//! newest is: 8 bytes however many chunks and however long the head, where a list of
//! references grew by a dozen bytes a chunk (a million series at a 5 s interval: 70 MiB
//! an hour). The list is kept for what is not in such a chain: chunks held in memory (no
//! spill files, or a write failed) and the chunks written after those.
//!
//! List entry: zigzag varint (min time − the previous entry's max time, or − 0 for the
//! first), uvarint (max time − min time), the encoding byte, then either `0`, uvarint file,
//! uvarint offset, uvarint length (a chunk in a spill file) or `1`, uvarint length and the
//! bytes (a chunk kept in memory). Entries are in time order, in one exactly sized buffer.

use std::sync::Arc;

use super::series::{ChunkData, HeadChunk};
use crate::chunk::Encoding;
use crate::head_chunks::{ChunkDisk, DiskRef, Link, NewRecord, Record};
use crate::varint::{put_uvarint, read_uvarint, unzigzag, zigzag};

const ON_DISK: u8 = 0;
const IN_MEMORY: u8 = 1;

/// Where a series' full chunks go: the spill files, if the head has them, and the
/// series' ref, which each record names so that a restart can give it back its chunks.
#[derive(Clone, Copy)]
pub(crate) struct SpillTo<'a> {
    pub disk: Option<&'a ChunkDisk>,
    pub series: u64,
}

#[derive(Debug)]
pub(crate) enum ClosedChunks {
    /// Every chunk is a spill file record; this is the newest.
    Chain(Link),
    /// Entries, oldest first (empty: no chunks).
    List(Box<[u8]>),
}

impl Default for ClosedChunks {
    fn default() -> Self {
        Self::List(Box::default())
    }
}

impl ClosedChunks {
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::List(bytes) if bytes.is_empty())
    }

    /// The chunks, newest first: a walk back through the spill files, or the list read
    /// backwards. A chunk that cannot be read back ends the walk (logged).
    pub fn newest_first<'a>(&self, disk: Option<&'a ChunkDisk>) -> NewestFirst<'a> {
        match self {
            Self::Chain(link) => NewestFirst::Chain {
                disk,
                next: Some(*link),
                failed: None,
            },
            Self::List(bytes) => NewestFirst::List(list_entries(bytes).collect()),
        }
    }

    /// The chunks, oldest first (those before a record that could not be read are left
    /// out, logged).
    pub fn oldest_first(&self, disk: Option<&ChunkDisk>) -> Vec<HeadChunk> {
        let mut all: Vec<HeadChunk> = self.newest_first(disk).collect();
        all.reverse();
        all
    }

    /// The chunks ending at or after `mint`, oldest first; an error when a record could
    /// not be read (a block cut must not go on without its chunks).
    pub fn oldest_first_from(
        &self,
        mint: i64,
        disk: Option<&ChunkDisk>,
    ) -> std::io::Result<Vec<HeadChunk>> {
        match self.reaching(mint, disk) {
            (_, Some(e)) => Err(e),
            (chunks, None) => Ok(chunks),
        }
    }

    /// The chunks ending at or after `mint`, oldest first, walked back only as far as
    /// needed, with the error that ended the walk early, if one did (logged; the chunks
    /// newer than the unreadable record are there).
    pub fn reaching(
        &self,
        mint: i64,
        disk: Option<&ChunkDisk>,
    ) -> (Vec<HeadChunk>, Option<std::io::Error>) {
        let mut walk = self.newest_first(disk);
        let mut out = Vec::new();
        for c in walk.by_ref() {
            if c.max_t < mint {
                break;
            }
            // Every older chunk ends before this one begins: none can reach `mint`.
            let last = c.min_t <= mint;
            out.push(c);
            if last {
                break;
            }
        }
        out.reverse();
        (out, walk.take_error())
    }

    pub fn last(&self, disk: Option<&ChunkDisk>) -> Option<HeadChunk> {
        self.newest_first(disk).next()
    }

    /// Whether a chunk begins at or before `t` (the oldest begins first: a list answers
    /// from its first entry, a chain by walking back until one does).
    pub fn starts_at_or_before(&self, t: i64, disk: Option<&ChunkDisk>) -> bool {
        match self {
            Self::List(bytes) => list_entries(bytes).next().is_some_and(|c| c.min_t <= t),
            Self::Chain(_) => self.newest_first(disk).any(|c| c.min_t <= t),
        }
    }

    /// The oldest chunk's min time when the series holds it in memory (a list); `None` for
    /// a chain, whose records the spill files' own bound covers, and without chunks.
    pub fn list_min_t(&self) -> Option<i64> {
        match self {
            Self::List(bytes) => list_entries(bytes).next().map(|c| c.min_t),
            Self::Chain(_) => None,
        }
    }

    /// The chunks held in memory (not in spill files).
    pub fn in_memory(&self) -> usize {
        match self {
            Self::List(bytes) => list_entries(bytes)
                .filter(|c| matches!(c.data, ChunkData::Memory(_)))
                .count(),
            Self::Chain(_) => 0,
        }
    }

    /// Adds a full chunk, newer than every chunk held: to the series' chain in the spill
    /// files when it can, else to the list (kept in memory if it cannot be written).
    pub fn push(
        &mut self,
        encoding: Encoding,
        bytes: Vec<u8>,
        min_t: i64,
        max_t: i64,
        to: SpillTo<'_>,
    ) {
        if let Some(disk) = to.disk {
            let prev = match self {
                Self::Chain(link) => Some(*link),
                Self::List(list) if list.is_empty() => None,
                Self::List(_) => {
                    let data = disk
                        .write(&NewRecord {
                            series: to.series,
                            prev: None,
                            detached: true,
                            min_t,
                            max_t,
                            encoding,
                            bytes: &bytes,
                        })
                        .map(|(_, data)| data);
                    self.push_entry(&entry(min_t, max_t, encoding, data, bytes));
                    return;
                }
            };
            if let Some((link, _)) = disk.write(&NewRecord {
                series: to.series,
                prev,
                detached: false,
                min_t,
                max_t,
                encoding,
                bytes: &bytes,
            }) {
                *self = Self::Chain(link);
                return;
            }
            // Not written: the chain becomes a list, which can hold this chunk in memory.
            let chain = self.oldest_first(Some(disk));
            *self = Self::List(Box::default());
            self.replace(&chain);
        }
        self.push_entry(&entry(min_t, max_t, encoding, None, bytes));
    }

    fn push_entry(&mut self, chunk: &HeadChunk) {
        let Self::List(list) = self else {
            return;
        };
        let previous_max = list_entries(list).last().map_or(0, |c| c.max_t);
        let mut bytes = Vec::with_capacity(list.len() + 24);
        bytes.extend_from_slice(list);
        encode(&mut bytes, chunk, previous_max);
        *list = bytes.into_boxed_slice();
    }

    /// Removes and returns the newest chunk (a spilled one is no longer counted).
    pub fn pop(&mut self, disk: Option<&ChunkDisk>) -> Option<HeadChunk> {
        let popped = match self {
            Self::Chain(link) => {
                let disk = disk?;
                let newest = read_record(disk, *link)?;
                disk.take_back(newest.link, newest.data, newest.max_t);
                *self = match newest.prev.map(|p| (p, disk.record(p))) {
                    Some((_, Ok(Some(prev)))) => Self::Chain(prev.link),
                    // Unreadable now: the link is kept (the chunks before it are not
                    // given up; reads report the error).
                    Some((p, Err(_))) => Self::Chain(p),
                    // None before it, or dropped.
                    None | Some((_, Ok(None))) => Self::List(Box::default()),
                };
                return Some(chunk_of(&newest));
            }
            Self::List(list) => {
                let mut all: Vec<HeadChunk> = list_entries(list).collect();
                let last = all.pop()?;
                self.replace(&all);
                last
            }
        };
        // A list's spilled chunks are written detached: a restart never recovers them.
        if let (Some(disk), ChunkData::Disk(data)) = (disk, &popped.data) {
            disk.forget(*data, popped.max_t);
        }
        Some(popped)
    }

    /// Drops every chunk that ends before `t` (the spill files drop a chain's older
    /// records themselves once their floor is `t`).
    pub fn truncate_before(&mut self, t: i64, disk: Option<&ChunkDisk>) {
        match self {
            Self::Chain(link) => {
                // A record that cannot be read keeps the chain: the floor drops what is
                // below `t` from walks anyway.
                let dropped = match disk.map(|d| d.record(*link)) {
                    Some(Ok(Some(newest))) => newest.max_t < t,
                    Some(Ok(None)) | None => true,
                    Some(Err(_)) => false,
                };
                if dropped {
                    *self = Self::List(Box::default());
                }
            }
            Self::List(list) => {
                let all: Vec<HeadChunk> = list_entries(list).collect();
                if all.iter().all(|c| c.max_t >= t) {
                    return;
                }
                let kept: Vec<HeadChunk> = all.into_iter().filter(|c| c.max_t >= t).collect();
                self.replace(&kept);
            }
        }
    }

    /// Makes this the list of `chunks`.
    fn replace(&mut self, chunks: &[HeadChunk]) {
        let mut bytes = Vec::with_capacity(chunks.len() * 16);
        let mut previous_max = 0;
        for c in chunks {
            encode(&mut bytes, c, previous_max);
            previous_max = c.max_t;
        }
        *self = Self::List(bytes.into_boxed_slice());
    }
}

fn entry(
    min_t: i64,
    max_t: i64,
    encoding: Encoding,
    written: Option<DiskRef>,
    bytes: Vec<u8>,
) -> HeadChunk {
    HeadChunk {
        min_t,
        max_t,
        encoding,
        data: match written {
            Some(r) => ChunkData::Disk(r),
            None => ChunkData::Memory(Arc::from(bytes)),
        },
    }
}

/// The record at `link`, unless dropped; a read error is logged and taken as the end of
/// the chain (the chunks before it cannot be found).
fn read_record(disk: &ChunkDisk, link: Link) -> Option<Record> {
    match disk.record(link) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(err = %e, "reading a spilled head chunk's record failed; it and the series' older chunks are left out");
            None
        }
    }
}

fn chunk_of(r: &Record) -> HeadChunk {
    HeadChunk {
        min_t: r.min_t,
        max_t: r.max_t,
        encoding: r.encoding,
        data: ChunkData::Disk(r.data),
    }
}

/// A series' chunks, newest first.
pub(crate) enum NewestFirst<'a> {
    Chain {
        disk: Option<&'a ChunkDisk>,
        next: Option<Link>,
        /// Why the walk ended early, if a record could not be read.
        failed: Option<std::io::Error>,
    },
    /// The list's entries, oldest first, taken from the end.
    List(Vec<HeadChunk>),
}

impl NewestFirst<'_> {
    /// The error that ended the walk early, if one did.
    pub fn take_error(&mut self) -> Option<std::io::Error> {
        match self {
            Self::Chain { failed, .. } => failed.take(),
            Self::List(_) => None,
        }
    }
}

impl Iterator for NewestFirst<'_> {
    type Item = HeadChunk;

    fn next(&mut self) -> Option<HeadChunk> {
        match self {
            Self::Chain { disk, next, failed } => {
                let link = next.take()?;
                let record = match (*disk)?.record(link) {
                    Ok(r) => r?,
                    Err(e) => {
                        tracing::error!(err = %e, "reading a spilled head chunk's record failed; it and the series' older chunks are left out");
                        *failed = Some(e);
                        return None;
                    }
                };
                *next = record.prev;
                Some(chunk_of(&record))
            }
            Self::List(entries) => entries.pop(),
        }
    }
}

fn list_entries(bytes: &[u8]) -> ListEntries<'_> {
    ListEntries {
        bytes,
        at: 0,
        previous_max: 0,
    }
}

fn encode(out: &mut Vec<u8>, c: &HeadChunk, previous_max: i64) {
    put_uvarint(out, zigzag(c.min_t.wrapping_sub(previous_max)));
    put_uvarint(out, c.max_t.wrapping_sub(c.min_t) as u64);
    out.push(c.encoding.byte());
    match &c.data {
        ChunkData::Disk(r) => {
            let (file, offset, len) = r.parts();
            out.push(ON_DISK);
            put_uvarint(out, u64::from(file));
            put_uvarint(out, u64::from(offset));
            put_uvarint(out, u64::from(len));
        }
        ChunkData::Memory(data) => {
            out.push(IN_MEMORY);
            put_uvarint(out, data.len() as u64);
            out.extend_from_slice(data);
        }
    }
}

/// Decodes entries from the front. The buffer is only ever written by `encode`, so a
/// malformed entry cannot occur; should one, iteration simply ends there.
struct ListEntries<'a> {
    bytes: &'a [u8],
    at: usize,
    previous_max: i64,
}

impl Iterator for ListEntries<'_> {
    type Item = HeadChunk;

    fn next(&mut self) -> Option<HeadChunk> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let min_t = self.previous_max.wrapping_add(unzigzag(self.uvarint()?));
        let max_t = min_t.wrapping_add(self.uvarint()? as i64);
        let encoding = Encoding::from_byte(self.byte()?)?;
        let data = match self.byte()? {
            ON_DISK => {
                let file = u32::try_from(self.uvarint()?).ok()?;
                let offset = u32::try_from(self.uvarint()?).ok()?;
                let len = u32::try_from(self.uvarint()?).ok()?;
                ChunkData::Disk(DiskRef::from_parts(file, offset, len))
            }
            _ => {
                let len = usize::try_from(self.uvarint()?).ok()?;
                let end = self.at.checked_add(len)?;
                let data = self.bytes.get(self.at..end)?;
                self.at = end;
                ChunkData::Memory(Arc::from(data))
            }
        };
        self.previous_max = max_t;
        Some(HeadChunk {
            min_t,
            max_t,
            encoding,
            data,
        })
    }
}

impl ListEntries<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn uvarint(&mut self) -> Option<u64> {
        read_uvarint(self.bytes, &mut self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xor_chunk(first: i64, n: i64) -> Vec<u8> {
        let mut c = crate::chunk::XorChunk::new();
        for i in 0..n {
            c.append(first + i * 1000, i as f64);
        }
        c.bytes()
    }

    /// Pushes chunks of 10 samples a second apart starting at each of `starts`.
    fn push_all(closed: &mut ClosedChunks, starts: &[i64], disk: Option<&ChunkDisk>) {
        for &s in starts {
            closed.push(
                Encoding::Xor,
                xor_chunk(s, 10),
                s,
                s + 9_000,
                SpillTo { disk, series: 1 },
            );
        }
    }

    /// Spill files of one record each (the next write opens a new file), holding a
    /// series' chunks at 0 and 60 s.
    fn two_chunks_a_file_each(spill: &std::path::Path) -> (ChunkDisk, ClosedChunks) {
        let disk = ChunkDisk::open_with_file_size(spill, 100).unwrap();
        let mut closed = ClosedChunks::default();
        push_all(&mut closed, &[0, 60_000], Some(&disk));
        (disk, closed)
    }

    fn spans(chunks: &[HeadChunk]) -> Vec<(i64, i64)> {
        chunks.iter().map(|c| (c.min_t, c.max_t)).collect()
    }

    #[test]
    fn without_spill_files_chunks_are_a_list_in_memory() {
        let mut closed = ClosedChunks::default();
        assert!(closed.is_empty() && closed.last(None).is_none());
        push_all(&mut closed, &[-5_000, 10_000, 30_000], None);
        assert!(matches!(closed, ClosedChunks::List(_)));
        let all = closed.oldest_first(None);
        assert_eq!(
            spans(&all),
            [(-5_000, 4_000), (10_000, 19_000), (30_000, 39_000)]
        );
        assert_eq!(closed.in_memory(), 3);
        assert_eq!(closed.list_min_t(), Some(-5_000));
        assert!(closed.starts_at_or_before(-5_000, None));
        assert!(!closed.starts_at_or_before(-5_001, None));
        assert_eq!(all[1].bytes(None).unwrap().as_ref(), xor_chunk(10_000, 10));
        assert_eq!(closed.pop(None).map(|c| c.min_t), Some(30_000));
        assert_eq!(closed.last(None).map(|c| c.min_t), Some(10_000));
        closed.truncate_before(10_000, None);
        assert_eq!(spans(&closed.oldest_first(None)), [(10_000, 19_000)]);
        closed.truncate_before(20_000, None);
        assert!(closed.is_empty());
    }

    #[test]
    fn spilled_chunks_are_a_chain_walked_back_and_cut_by_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        let disk = ChunkDisk::open_with_file_size(&dir.path().join("spill"), 200).unwrap();
        let d = Some(&disk);
        let mut closed = ClosedChunks::default();
        let starts = [0, 60_000, 120_000, 180_000, 240_000];
        push_all(&mut closed, &starts, d);
        assert!(matches!(closed, ClosedChunks::Chain(_)));
        assert_eq!(std::mem::size_of::<ClosedChunks>(), 16);
        let all = closed.oldest_first(d);
        assert_eq!(
            spans(&all),
            starts.iter().map(|&s| (s, s + 9_000)).collect::<Vec<_>>()
        );
        for (c, &s) in all.iter().zip(&starts) {
            assert_eq!(c.bytes(d).unwrap().as_ref(), xor_chunk(s, 10));
        }
        assert_eq!(closed.in_memory(), 0);
        assert_eq!(closed.list_min_t(), None);
        assert_eq!(disk.live_records(), 5);
        assert_eq!(disk.oldest_min_t(), Some(0));
        assert!(closed.starts_at_or_before(0, d) && !closed.starts_at_or_before(-1, d));
        // The newest walks back first and stops where the caller does.
        assert_eq!(
            closed.newest_first(d).next().map(|c| c.min_t),
            Some(240_000)
        );
        // Taking the newest back leaves the one before as the newest; it is not counted.
        assert_eq!(closed.pop(d).map(|c| c.min_t), Some(240_000));
        assert_eq!(closed.last(d).map(|c| c.min_t), Some(180_000));
        assert_eq!(disk.live_records(), 4);
        // A truncation at 120 s: the walk stops before the records ending before it,
        // whose files go.
        closed.truncate_before(120_000, d);
        disk.truncate_before(120_000);
        assert_eq!(
            spans(&closed.oldest_first(d)),
            [(120_000, 129_000), (180_000, 189_000)]
        );
        assert_eq!(disk.live_records(), 2);
        assert_eq!(disk.oldest_min_t(), Some(120_000));
        assert!(!closed.starts_at_or_before(119_999, d));
        // More chunks go on the same chain.
        push_all(&mut closed, &[300_000], d);
        assert_eq!(closed.oldest_first(d).len(), 3);
        // A truncation past all of them empties the series.
        closed.truncate_before(400_000, d);
        assert!(closed.is_empty());
    }

    #[test]
    fn a_chunk_that_cannot_be_spilled_turns_the_chain_into_a_list() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill");
        let (disk, mut closed) = two_chunks_a_file_each(&spill);
        let d = Some(&disk);
        assert!(matches!(closed, ClosedChunks::Chain(_)));
        // The directory is gone: no new file can be made.
        std::fs::remove_dir_all(&spill).unwrap();
        push_all(&mut closed, &[120_000], d);
        assert!(matches!(closed, ClosedChunks::List(_)));
        assert_eq!(closed.in_memory(), 1);
        let all = closed.oldest_first(d);
        assert_eq!(
            spans(&all),
            [(0, 9_000), (60_000, 69_000), (120_000, 129_000)]
        );
        assert_eq!(all[2].bytes(d).unwrap().as_ref(), xor_chunk(120_000, 10));
        // Files already open stay readable (deleted but mapped or open).
        assert_eq!(all[1].bytes(d).unwrap().as_ref(), xor_chunk(60_000, 10));
    }

    #[test]
    fn a_record_that_cannot_be_read_is_an_error_not_the_end_of_the_series() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill");
        let (disk, mut closed) = two_chunks_a_file_each(&spill);
        let d = Some(&disk);
        // The older record's file loses its end (nothing has mapped it yet).
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(spill.join("000001"))
            .unwrap();
        file.set_len(10).unwrap();
        // A block cut gets an error instead of a series without its older chunk.
        assert!(closed.oldest_first_from(i64::MIN, d).is_err());
        assert_eq!(
            spans(&closed.oldest_first_from(60_000, d).unwrap()),
            [(60_000, 69_000)]
        );
        // Taking the newest back keeps the link to the unreadable one.
        assert_eq!(closed.pop(d).map(|c| c.min_t), Some(60_000));
        assert!(matches!(closed, ClosedChunks::Chain(_)));
        // A truncation that cannot read the newest record keeps the series' chain.
        closed.truncate_before(1, d);
        assert!(matches!(closed, ClosedChunks::Chain(_)));
    }
}
