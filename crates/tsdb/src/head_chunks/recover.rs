//! Start-up: reading the spill files an earlier run left, and giving each series back the
//! chain of chunks it had, where that chain can be trusted whole.
//!
//! A series' chain is recovered when its records since the floor read back with matching
//! checksums, each linking to the one before it, and its oldest links to nothing or to a
//! record below the floor (dropped by the head). Its newer records may be missing (a file
//! torn or damaged past them): replay appends the WAL's samples after the chain's end, so
//! only its older part is needed whole. A series whose records do not fit that (a link to
//! a record that cannot be read, a chunk taken back) is not recovered at all: recovering
//! the newer part of a chain would put a gap in the series, since replay skips the samples
//! up to the chain's end.
//!
//! A file is read up to its first record that does not read back whole (a crash may tear
//! the last record of the file being written); what follows in it is not used, and new
//! records go to a new file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::by_ref::ByRef;

use super::{
    decode_header, header_flags_and_series, record_crc, u32_at, Link, Record, SpillFile, DETACHED,
    FILE_MAGIC, HEADER_LEN, TAKEN_BACK,
};

/// A chunk larger than this is not one the head writes: the header is damaged.
const MAX_CHUNK: u32 = 64 << 20;

/// A series' chain as recovered: its newest record, and where that ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecoveredChain {
    pub newest: Link,
    pub max_t: i64,
}

/// The chains recovered, by series ref.
pub(crate) type RecoveredChains = ByRef<Option<RecoveredChain>>;

/// What a scan of the files found for one series so far.
#[derive(Clone, Copy, Default)]
struct Scanned {
    state: State,
    newest: Link,
    /// The record the newest links to (a taken-back record is replaced by one with the
    /// same predecessor: see [`Scan::add`]).
    newest_prev: Option<Link>,
    newest_max_t: i64,
    /// The series' latest valid record below the floor: its chain may start after it.
    last_dropped: Option<Link>,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// No record above the floor yet.
    #[default]
    None,
    Chain,
    /// A record of the series did not fit its chain: nothing of it is recovered.
    Broken,
}

/// The scan: records of every file, in file order (which is write order).
pub(super) struct Scan {
    floor: i64,
    /// The lowest file number present: a link to a lower one points at a deleted file
    /// (deleted only when every record in it was below the floor).
    first_file: u32,
    series: ByRef<Scanned>,
    /// Records replaced by a later one (see [`Scan::add`]), with their max time: no longer
    /// counted once their file's count is settled.
    pub replaced: Vec<(Link, i64)>,
}

impl Scan {
    pub fn new(floor: i64, first_file: u32) -> Self {
        Self {
            floor,
            first_file,
            series: ByRef::default(),
            replaced: Vec::new(),
        }
    }

    /// Takes a valid record of `series` in write order; `detached`: flagged [`DETACHED`]
    /// or [`TAKEN_BACK`] (the series' chain cannot be recovered).
    fn add(&mut self, h: &Record, series: u64, detached: bool) {
        // A ref the head cannot have: the series is left to the WAL.
        let Some(s) = self.series.slot(series) else {
            return;
        };
        if h.max_t < self.floor {
            s.last_dropped = Some(h.link);
            return;
        }
        match s.state {
            State::Broken => {}
            State::None => {
                // A chain starts after nothing, or after what the head had dropped (a
                // record below the floor, or one in a file deleted for that).
                let starts = !detached
                    && match h.prev {
                        None => true,
                        Some(p) => p.file < self.first_file || Some(p) == s.last_dropped,
                    };
                *s = Scanned {
                    state: if starts { State::Chain } else { State::Broken },
                    newest: h.link,
                    newest_prev: h.prev,
                    newest_max_t: h.max_t,
                    last_dropped: s.last_dropped,
                };
            }
            State::Chain => {
                if !detached && h.prev == Some(s.newest) && h.min_t > s.newest_max_t {
                    s.newest_prev = Some(s.newest);
                    s.newest = h.link;
                    s.newest_max_t = h.max_t;
                } else if !detached && h.prev == s.newest_prev {
                    // The newest chunk was taken back into memory (an append rolled back)
                    // and written again with more samples: this record replaces it.
                    self.replaced.push((s.newest, s.newest_max_t));
                    s.newest = h.link;
                    s.newest_max_t = h.max_t;
                } else {
                    s.state = State::Broken;
                }
            }
        }
    }

    /// The chains recovered, and how many series had records that did not make one.
    pub fn chains(self) -> (RecoveredChains, usize, usize) {
        let (mut recovered, mut count, mut broken) = (RecoveredChains::default(), 0, 0);
        for (r, s) in self.series.iter() {
            match s.state {
                State::None => {}
                State::Broken => broken += 1,
                State::Chain => {
                    if let Some(slot) = recovered.slot(r) {
                        *slot = Some(RecoveredChain {
                            newest: s.newest,
                            max_t: s.newest_max_t,
                        });
                        count += 1;
                    }
                }
            }
        }
        (recovered, count, broken)
    }
}

/// What reading one file found.
pub(super) struct FileScan {
    pub file: SpillFile,
    /// Where its valid records end, and whether the file ends there.
    pub valid_until: u64,
    pub whole: bool,
}

/// Reads file `number` at `path`: every record up to the first that does not read back
/// whole goes to `scan`, and those not below the floor are counted in the returned file's
/// buckets. `None` when the file is not a spill file of this format (the caller deletes
/// it).
pub(super) fn scan_file(path: &Path, number: u32, scan: &mut Scan) -> io::Result<Option<FileScan>> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file.try_clone()?);
    let mut magic = [0u8; 8];
    if reader.read_exact(&mut magic).is_err() || &magic != FILE_MAGIC {
        return Ok(None);
    }
    let mut out = SpillFile {
        reader: file,
        max_t: i64::MIN,
        records: BTreeMap::new(),
        map: None,
    };
    let mut offset = FILE_MAGIC.len() as u64;
    let mut header = [0u8; HEADER_LEN];
    let mut bytes = Vec::new();
    loop {
        if offset + HEADER_LEN as u64 > size || reader.read_exact(&mut header).is_err() {
            break;
        }
        let Ok(at) = u32::try_from(offset) else { break };
        let link = Link {
            file: number,
            offset: at,
        };
        // An unknown encoding: a damaged header.
        let Some(record) = decode_header(link, &header) else {
            break;
        };
        let len = record.data.len;
        let end = offset + HEADER_LEN as u64 + u64::from(len);
        if len > MAX_CHUNK || end > size {
            break;
        }
        bytes.resize(len as usize, 0);
        if reader.read_exact(&mut bytes).is_err()
            || record_crc(&header, &bytes) != u32_at(&header, 38)
        {
            break;
        }
        offset = end;
        let (flags, series) = header_flags_and_series(&header);
        scan.add(&record, series, flags & (DETACHED | TAKEN_BACK) != 0);
        if record.max_t >= scan.floor {
            out.count(record.min_t, record.max_t);
        }
    }
    Ok(Some(FileScan {
        file: out,
        valid_until: offset,
        whole: offset == size,
    }))
}

/// The numbered spill files in `dir`, in order; anything else there is deleted.
pub(super) fn spill_files(dir: &Path) -> io::Result<Vec<(u32, std::path::PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        match name.to_str().and_then(|n| n.parse::<u32>().ok()) {
            Some(n) if n > 0 && path.is_file() => out.push((n, path)),
            _ => {
                if path.is_dir() {
                    fs::remove_dir_all(&path)?;
                } else {
                    fs::remove_file(&path)?;
                }
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{ChunkDisk, NewRecord};
    use super::*;
    use crate::chunk::Encoding;

    /// Writes a chunk of `series` (10 ms long, starting at `min_t`) after `prev`.
    fn put(disk: &ChunkDisk, series: u64, prev: Option<Link>, min_t: i64) -> Link {
        let bytes = [series as u8; 30];
        disk.write(&NewRecord {
            series,
            prev,
            detached: false,
            min_t,
            max_t: min_t + 10,
            encoding: Encoding::Xor,
            bytes: &bytes,
        })
        .unwrap()
        .0
    }

    #[test]
    fn whole_chains_come_back_and_any_doubt_leaves_a_series_to_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill");
        // Three records a file.
        let disk =
            ChunkDisk::open_with_file_size(&spill, 8 + 3 * (HEADER_LEN as u64 + 30)).unwrap();
        // Series 1: four chunks, the first below the floor (100) at recovery.
        let mut one = put(&disk, 1, None, 0);
        for t in [100, 200, 300] {
            one = put(&disk, 1, Some(one), t);
        }
        // Series 2: two chunks, the newest taken back (a rolled-back append): not
        // recovered.
        let two = put(&disk, 2, None, 100);
        let taken = put(&disk, 2, Some(two), 200);
        let r = disk.record(taken).unwrap().unwrap();
        disk.take_back(r.link, r.data, r.max_t);
        // Series 3: two chunks; its second gets damaged below: the first comes back (the
        // WAL's samples after it are replayed, so no gap).
        let three = put(&disk, 3, None, 100);
        let three_b = put(&disk, 3, Some(three), 200);
        // Series 4: one chunk, after the damage in the same file: the file is not read
        // past the damage, so it is not recovered.
        put(&disk, 4, None, 100);
        // Series 5: its chunk links to one of series 3's that cannot be read.
        put(&disk, 5, Some(three_b), 400);
        drop(disk);
        let damaged = spill.join(format!("{:06}", three_b.file));
        let mut bytes = std::fs::read(&damaged).unwrap();
        bytes[three_b.offset as usize + HEADER_LEN + 3] ^= 1;
        std::fs::write(&damaged, &bytes).unwrap();
        // A file of an older format, and something that is no spill file at all.
        std::fs::write(spill.join("000099"), b"an older version's records").unwrap();
        std::fs::write(spill.join("notes"), b"?").unwrap();

        let (disk, chains) = ChunkDisk::recover(&spill, 100).unwrap();
        let got: Vec<(u64, RecoveredChain)> = chains.present().collect();
        let chain = |newest, max_t| RecoveredChain { newest, max_t };
        assert_eq!(got, [(1, chain(one, 310)), (3, chain(three, 110))]);
        assert!(!spill.join("000099").exists() && !spill.join("notes").exists());
        // The chain reads back through the links, down to the floor.
        let mut walked = Vec::new();
        let mut next = Some(one);
        while let Some(link) = next {
            let Some(r) = disk.record(link).unwrap() else {
                break;
            };
            walked.push(r.min_t);
            assert_eq!(disk.read(r.data).unwrap(), [1u8; 30]);
            next = r.prev;
        }
        assert_eq!(walked, [300, 200, 100]);
        // New records go to a new file, linked to recovered ones.
        let newer = put(&disk, 1, Some(one), 400);
        assert!(newer.file > one.file);
        assert_eq!(disk.record(newer).unwrap().unwrap().prev, Some(one));
    }

    #[test]
    fn a_torn_last_record_and_a_file_wholly_below_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill");
        let disk =
            ChunkDisk::open_with_file_size(&spill, 8 + 2 * (HEADER_LEN as u64 + 30)).unwrap();
        let old = put(&disk, 1, None, 0);
        let old_b = put(&disk, 1, Some(old), 50);
        // File 2: series 1 goes on after the floor; series 2's record is torn.
        let kept = put(&disk, 1, Some(old_b), 200);
        let torn = put(&disk, 2, None, 200);
        drop(disk);
        let path = spill.join(format!("{:06}", torn.file));
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 7)
            .unwrap();
        let (disk, chains) = ChunkDisk::recover(&spill, 100).unwrap();
        assert!(!spill.join(format!("{:06}", old.file)).exists());
        let got: Vec<(u64, Link)> = chains.present().map(|(r, c)| (r, c.newest)).collect();
        assert_eq!(got, [(1, kept)]);
        assert_eq!(disk.live_records(), 1);
        assert_eq!(disk.oldest_min_t(), Some(200));
    }
}
