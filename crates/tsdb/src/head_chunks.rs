//! Full head chunks moved out of memory into files under `head_chunks_spill/`.
//!
//! Only a series' open chunk has to be in memory; the full ones are read again only by
//! queries and when a block is cut. Keeping them all in memory would make the head grow by
//! every sample until the next block (3 h of data: gigabytes for a million series), which
//! is what Prometheus avoids with its memory-mapped `chunks_head/`. Here they are appended
//! to files and read back with positioned reads.
//!
//! The files are a cache, not a source of truth: they are deleted at start-up (the WAL
//! replay rebuilds the head, spilling again as chunks fill) and a file is deleted once the
//! head no longer refers to any chunk in it. Format: chunk bytes back to back (XOR
//! encoding, as in memory), in files `000001`, `000002`, … of up to 128 MiB. If a write
//! fails (disk full), the chunk simply stays in memory.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FILE_SIZE: u64 = 128 << 20;

/// Where a spilled chunk is.
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

struct SpillFile {
    reader: File,
    /// The newest sample time of any chunk in the file.
    max_t: i64,
    /// The file mapped into memory up to some length, so reading a chunk back is a copy
    /// instead of a system call; remapped when a read goes past it.
    map: Option<memmap2::Mmap>,
}

struct Inner {
    files: BTreeMap<u32, SpillFile>,
    current: u32,
    writer: Option<BufWriter<File>>,
    /// Bytes written to the current file (some perhaps still buffered).
    size: u64,
    /// Bytes of the current file the kernel has.
    flushed: u64,
    warned: bool,
}

pub(crate) struct ChunkDisk {
    dir: PathBuf,
    file_size: u64,
    inner: Mutex<Inner>,
}

impl ChunkDisk {
    /// Starts empty in `dir`, removing what an earlier run left there.
    pub fn open(dir: &Path) -> io::Result<Self> {
        Self::open_with_file_size(dir, FILE_SIZE)
    }

    fn open_with_file_size(dir: &Path, file_size: u64) -> io::Result<Self> {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            file_size,
            inner: Mutex::new(Inner {
                files: BTreeMap::new(),
                current: 0,
                writer: None,
                size: 0,
                flushed: 0,
                warned: false,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a full chunk; `None` if it could not be written (it then stays in memory).
    pub fn write(&self, bytes: &[u8], max_t: i64) -> Option<DiskRef> {
        let mut inner = self.lock();
        match self.write_locked(&mut inner, bytes, max_t) {
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

    fn write_locked(&self, inner: &mut Inner, bytes: &[u8], max_t: i64) -> io::Result<DiskRef> {
        let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
        if inner.writer.is_none() || inner.size + u64::from(len) > self.file_size {
            if let Some(mut w) = inner.writer.take() {
                w.flush()?;
            }
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
                    map: None,
                },
            );
            inner.writer = Some(BufWriter::with_capacity(1 << 16, file));
            inner.current = number;
            inner.size = 0;
            inner.flushed = 0;
        }
        let offset = inner.size;
        let Some(writer) = inner.writer.as_mut() else {
            return Err(io::Error::other("no spill file open"));
        };
        writer.write_all(bytes)?;
        inner.size += u64::from(len);
        if let Some(f) = inner.files.get_mut(&inner.current) {
            f.max_t = f.max_t.max(max_t);
        }
        Ok(DiskRef {
            file: inner.current,
            offset: offset as u32,
            len,
        })
    }

    /// Reads a spilled chunk back.
    pub fn read(&self, r: DiskRef) -> io::Result<Vec<u8>> {
        let mut inner = self.lock();
        if r.file == inner.current && u64::from(r.offset) + u64::from(r.len) > inner.flushed {
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
                    return Self::read_partly_buffered(&inner, r, &buffered);
                }
            }
        }
        let file = inner
            .files
            .get_mut(&r.file)
            .ok_or_else(|| io::Error::other(format!("spilled chunk file {} is gone", r.file)))?;
        let start = r.offset as usize;
        let end = start + r.len as usize;
        if file.map.as_ref().is_none_or(|m| m.len() < end) {
            let len = file.reader.metadata()?.len();
            if len < end as u64 {
                return Err(io::Error::other(format!(
                    "spilled chunk file {} is shorter than a chunk in it",
                    r.file
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
        match file.map.as_ref().and_then(|m| m.get(start..end)) {
            Some(bytes) => Ok(bytes.to_vec()),
            None => {
                let mut buf = vec![0u8; r.len as usize];
                file.reader.read_exact_at(&mut buf, u64::from(r.offset))?;
                Ok(buf)
            }
        }
    }

    /// Reads a chunk of the current file when its end is still in the write buffer:
    /// the part the kernel has from the file, the rest from `buffered`.
    fn read_partly_buffered(inner: &Inner, r: DiskRef, buffered: &[u8]) -> io::Result<Vec<u8>> {
        let (start, end) = (u64::from(r.offset), u64::from(r.offset) + u64::from(r.len));
        let on_disk = inner.flushed;
        let mut out = vec![0u8; r.len as usize];
        let from_file = on_disk.saturating_sub(start).min(u64::from(r.len)) as usize;
        if from_file > 0 {
            let file = inner.files.get(&r.file).ok_or_else(|| {
                io::Error::other(format!("spilled chunk file {} is gone", r.file))
            })?;
            file.reader.read_exact_at(&mut out[..from_file], start)?;
        }
        let (rest_start, rest_end) = (start.max(on_disk) - on_disk, end.max(on_disk) - on_disk);
        let rest = buffered
            .get(rest_start as usize..rest_end as usize)
            .ok_or_else(|| io::Error::other("a spilled chunk is neither written nor buffered"))?;
        out[from_file..].copy_from_slice(rest);
        Ok(out)
    }

    /// Deletes the files whose chunks all end before `t` (the head has dropped them).
    pub fn truncate_before(&self, t: i64) {
        let mut inner = self.lock();
        let current = inner.current;
        let doomed: Vec<u32> = inner
            .files
            .iter()
            .filter(|(n, f)| **n != current && f.max_t < t)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_drop_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let spill = dir.path().join("spill");
        std::fs::create_dir_all(&spill).unwrap();
        std::fs::write(spill.join("000009"), b"left by an earlier run").unwrap();
        let disk = ChunkDisk::open_with_file_size(&spill, 100).unwrap();
        assert!(!spill.join("000009").exists());
        // 40-byte chunks: two per file.
        let refs: Vec<DiskRef> = (0..6u8)
            .map(|i| disk.write(&[i; 40], i64::from(i) * 10).unwrap())
            .collect();
        for (i, r) in refs.iter().enumerate() {
            assert_eq!(disk.read(*r).unwrap(), vec![i as u8; 40]);
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
        // Chunks ending before 25: file 1 (max 10) goes; file 2 (max 30) stays.
        disk.truncate_before(25);
        assert_eq!(names(), ["000002", "000003"]);
        assert!(disk.read(refs[0]).is_err());
        assert_eq!(disk.read(refs[3]).unwrap(), vec![3u8; 40]);
        // The file being written is never dropped.
        disk.truncate_before(1000);
        assert_eq!(names(), ["000003"]);
    }
}
