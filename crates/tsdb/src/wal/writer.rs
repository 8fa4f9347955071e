//! Appending records to the WAL, all or nothing per call.
//!
//! A call's records are framed into one buffer and written with one `write`; if that fails
//! (a full disk, an I/O error) the segment is cut back to where the call started, so the
//! log never holds part of a batch whose append reported an error. Without that, a record
//! torn by `ENOSPC` sat in the middle of the log once space returned, later batches were
//! written behind it, and the next replay cut the log at the torn record: everything
//! acknowledged after the disk filled was lost.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use super::{segment_path, segments, Record, SEGMENT_SIZE, SNAPPY};

/// Appends records to the newest segment.
pub struct WalWriter {
    dir: PathBuf,
    segment: u64,
    /// Bytes of whole records in the current segment: where the next record starts.
    size: u64,
    file: File,
    /// A failed write could not be cut back (the truncation failed too): the segment may
    /// end with part of a record, so the next write first retries the cut, or starts a
    /// new segment.
    dirty: bool,
    plain: Vec<u8>,
    scratch: Vec<u8>,
    /// The framed records of one call, written at once.
    batch: Vec<u8>,
    encoder: snap::raw::Encoder,
    /// Finished segments being fsynced on threads of their own (see `cut`).
    pending_syncs: Vec<JoinHandle<io::Result<()>>>,
}

fn open_segment(dir: &Path, n: u64) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, n))
}

impl WalWriter {
    /// Opens for appending after replay: continues the last segment.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let segment = segments(dir)?.last().copied().unwrap_or(0);
        let file = open_segment(dir, segment)?;
        let size = file.metadata()?.len();
        Ok(Self {
            dir: dir.to_path_buf(),
            segment,
            size,
            file,
            dirty: false,
            plain: Vec::new(),
            scratch: Vec::new(),
            batch: Vec::new(),
            encoder: snap::raw::Encoder::new(),
            pending_syncs: Vec::new(),
        })
    }

    /// Writes the records and hands them to the operating system (they survive a crash
    /// of the process; `sync` makes them survive a crash of the machine). On an error
    /// none of them is in the log (see the module docs).
    pub fn log(&mut self, records: &[Record]) -> io::Result<()> {
        self.batch.clear();
        for record in records {
            self.plain.clear();
            record.encode(&mut self.plain);
            // Snappy, as Prometheus's WAL does: a third or more off sample records (refs and
            // timestamps repeat), kept only when it is smaller.
            self.scratch.clear();
            self.scratch.push(SNAPPY);
            self.scratch
                .resize(1 + snap::raw::max_compress_len(self.plain.len()), 0);
            match self.encoder.compress(&self.plain, &mut self.scratch[1..]) {
                Ok(n) if n + 1 < self.plain.len() => self.scratch.truncate(n + 1),
                _ => {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(&self.plain);
                }
            }
            let len = u32::try_from(self.scratch.len())
                .map_err(|_| io::Error::other("a WAL record longer than 4 GiB"))?;
            self.batch.extend_from_slice(&len.to_le_bytes());
            self.batch
                .extend_from_slice(&crc32fast::hash(&self.scratch).to_le_bytes());
            self.batch.extend_from_slice(&self.scratch);
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        self.repair()?;
        // A batch is never split between segments: a failure rolls back one file only.
        let framed = self.batch.len() as u64;
        if self.size > 0 && self.size + framed > SEGMENT_SIZE {
            self.cut()?;
        }
        match self.file.write_all(&self.batch) {
            Ok(()) => {
                self.size += framed;
                Ok(())
            }
            Err(e) => {
                self.roll_back();
                Err(e)
            }
        }
    }

    /// Cuts the segment back to its last whole record after a failed write.
    fn roll_back(&mut self) {
        match self.file.set_len(self.size) {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(segment = self.segment, err = %e, "could not cut a failed WAL write back; the next write starts a new segment");
                self.dirty = true;
            }
        }
    }

    /// Before writing after a failed roll back: cut back now, or start a new segment
    /// (replay then skips the partial record at the end of the old one).
    fn repair(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if self.file.set_len(self.size).is_err() {
            self.cut()?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Starts the next segment. The finished one is fsynced on a thread of its own,
    /// unless it is dirty (its tail is being abandoned): a segment is up to 128 MiB, and
    /// while other writes load the disk (a checkpoint, a block being written, another
    /// process compacting) its fsync took seconds, all of them under this writer's lock,
    /// so every append waited (Prometheus fsyncs finished segments in the background
    /// too). [`WalWriter::sync`] waits for those threads.
    fn cut(&mut self) -> io::Result<()> {
        let next = open_segment(&self.dir, self.segment + 1)?;
        let finished = std::mem::replace(&mut self.file, next);
        if !self.dirty {
            self.reap_syncs();
            let copy = finished.try_clone();
            let spawned = copy.and_then(|copy| {
                std::thread::Builder::new()
                    .name("wal-fsync".into())
                    .spawn(move || copy.sync_data())
            });
            match spawned {
                Ok(handle) => self.pending_syncs.push(handle),
                // No thread to be had: fsynced here, as before.
                Err(_) => finished.sync_data()?,
            }
        }
        self.segment += 1;
        self.size = 0;
        self.dirty = false;
        Ok(())
    }

    /// Collects the background fsyncs that have finished; a failed one is logged (the
    /// appends it covered were acknowledged long ago: there is no caller to tell).
    fn reap_syncs(&mut self) {
        let (finished, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending_syncs)
            .into_iter()
            .partition(|h| h.is_finished());
        self.pending_syncs = running;
        for handle in finished {
            if let Err(e) = join_sync(handle) {
                tracing::error!(dir = %self.dir.display(), err = %e, "fsyncing a finished WAL segment failed; its records may not survive a crash of the machine");
            }
        }
    }

    /// Fsyncs the current segment, after the finished ones still being fsynced.
    pub fn sync(&mut self) -> io::Result<()> {
        let mut first_error = None;
        for handle in self.pending_syncs.drain(..) {
            if let Err(e) = join_sync(handle) {
                first_error.get_or_insert(e);
            }
        }
        self.file.sync_data()?;
        first_error.map_or(Ok(()), Err)
    }

    /// Closes the current segment and starts the next; returns the new segment's number
    /// (every lower-numbered segment is complete from now on).
    pub fn cut_now(&mut self) -> io::Result<u64> {
        if self.size > 0 || self.dirty {
            self.cut()?;
        }
        Ok(self.segment)
    }

    /// The current segment's number.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// Bytes in the current segment.
    pub fn segment_size(&self) -> u64 {
        self.size
    }
}

/// A background fsync's result (a panicked thread counts as a failed fsync).
fn join_sync(handle: JoinHandle<io::Result<()>>) -> io::Result<()> {
    handle
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("a WAL fsync thread panicked")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_segments_are_fsynced_in_the_background_and_sync_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = WalWriter::open(dir.path()).unwrap();
        for i in 0..3 {
            writer
                .log(&[Record::Samples(vec![(1, i, i as f64)])])
                .unwrap();
            assert_eq!(writer.cut_now().unwrap(), i as u64 + 1);
        }
        // Each cut handed its finished segment to a thread (some may be done already:
        // they are collected at the next cut, not waited for).
        assert!(!writer.pending_syncs.is_empty());
        assert!(writer.pending_syncs.len() <= 3);
        writer.sync().unwrap();
        assert!(writer.pending_syncs.is_empty(), "sync waits for every one");
        // Everything logged is there, in order.
        let mut samples = Vec::new();
        crate::wal::replay(dir.path(), |r| {
            if let Record::Samples(s) = r {
                samples.extend(s);
            }
        })
        .unwrap();
        assert_eq!(samples, vec![(1, 0, 0.0), (1, 1, 1.0), (1, 2, 2.0)]);
    }
}
