//! Which WAL position a queue has delivered up to, and keeping it across restarts.
//!
//! Shards send in parallel and finish out of order, so the position is the end of the
//! longest run of WAL records, from the start, whose samples are all settled (sent, or
//! dropped for good). Every record read gets a number; its samples carry it; the ledger
//! counts each record's unsettled samples. The position is written to a small file
//! (atomically: a temporary file renamed over it) that the queue starts from next time:
//! a restart neither skips records nor resends more than what was in flight.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tsdb::wal::WalPosition;

/// Records read and not yet settled.
pub(crate) struct Ledger {
    /// The number of the record at `pending`'s front.
    first: u64,
    /// Per record from `first` on: its unsettled samples and the position after it.
    pending: VecDeque<(u32, WalPosition)>,
    /// Where everything before is settled.
    settled: WalPosition,
}

impl Ledger {
    pub fn new(start: WalPosition) -> Self {
        Self {
            first: 0,
            pending: VecDeque::new(),
            settled: start,
        }
    }

    /// Adds a record read with `samples` samples to send; returns its number.
    pub fn read(&mut self, samples: u32, after: WalPosition) -> u64 {
        let number = self.first + self.pending.len() as u64;
        if samples == 0 && self.pending.is_empty() {
            // Nothing in flight before it: settled at once.
            self.first += 1;
            self.settled = after;
            return number;
        }
        self.pending.push_back((samples, after));
        self.advance();
        number
    }

    /// Marks samples of the records given (one entry per sample) settled.
    pub fn settle(&mut self, records: impl IntoIterator<Item = u64>) {
        for r in records {
            let Some(index) = r.checked_sub(self.first) else {
                continue;
            };
            if let Some(entry) = self.pending.get_mut(index as usize) {
                entry.0 = entry.0.saturating_sub(1);
            }
        }
        self.advance();
    }

    fn advance(&mut self) {
        while let Some((0, after)) = self.pending.front() {
            self.settled = *after;
            self.pending.pop_front();
            self.first += 1;
        }
    }

    /// Everything before this position is settled.
    pub fn settled(&self) -> WalPosition {
        self.settled
    }

    /// Records with unsettled samples.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

/// The file keeping a queue's settled position.
pub(crate) struct PositionFile {
    path: PathBuf,
    written: Option<WalPosition>,
}

impl PositionFile {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            written: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position kept, `None` when there is no file. A damaged file is an error.
    pub fn load(&mut self) -> io::Result<Option<WalPosition>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let parse = || -> Option<WalPosition> {
            let mut segment = None;
            let mut offset = None;
            for line in text.lines() {
                let (key, value) = line.split_once('=')?;
                match key.trim() {
                    "segment" => segment = value.trim().parse().ok(),
                    "offset" => offset = value.trim().parse().ok(),
                    _ => {}
                }
            }
            Some(WalPosition {
                segment: segment?,
                offset: offset?,
            })
        };
        let position = parse().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a remote-write position file",
                    self.path.display()
                ),
            )
        })?;
        self.written = Some(position);
        Ok(Some(position))
    }

    /// Writes the position if it changed since the last write.
    pub fn store(&mut self, position: WalPosition) -> io::Result<()> {
        if self.written == Some(position) {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut file = fs::File::create(&tmp)?;
        write!(
            file,
            "segment={}\noffset={}\n",
            position.segment, position.offset
        )?;
        file.sync_data()?;
        drop(file);
        fs::rename(&tmp, &self.path)?;
        self.written = Some(position);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> WalPosition {
        WalPosition { segment: 3, offset }
    }

    #[test]
    fn the_position_is_the_end_of_the_settled_prefix() {
        let mut ledger = Ledger::new(at(0));
        let a = ledger.read(2, at(10));
        let b = ledger.read(1, at(20));
        ledger.read(0, at(25));
        let c = ledger.read(1, at(30));
        assert_eq!(ledger.settled(), at(0));
        // Later records settle first: the position waits for the earlier one.
        ledger.settle([b, c]);
        assert_eq!(ledger.settled(), at(0));
        ledger.settle([a]);
        assert_eq!(ledger.settled(), at(0));
        ledger.settle([a]);
        assert_eq!(ledger.settled(), at(30));
        assert_eq!(ledger.in_flight(), 0);
        // A record without samples with nothing in flight settles at once.
        ledger.read(0, at(40));
        assert_eq!(ledger.settled(), at(40));
        // Numbers stay consistent after that.
        let d = ledger.read(1, at(50));
        ledger.settle([d]);
        assert_eq!(ledger.settled(), at(50));
    }

    #[test]
    fn position_files_round_trip_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = PositionFile::new(dir.path().join("q").join("position"));
        assert_eq!(file.load().unwrap(), None);
        file.store(at(7)).unwrap();
        let mut again = PositionFile::new(file.path().to_path_buf());
        assert_eq!(again.load().unwrap(), Some(at(7)));
        fs::write(file.path(), "garbage").unwrap();
        assert!(again.load().is_err());
    }
}
