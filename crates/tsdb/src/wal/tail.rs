//! Following the WAL while it is written: what remote-write queues read.
//!
//! A reader keeps a [`WalPosition`] (a segment and the offset of the next record in it)
//! and takes whole, checksummed records from there; a record still being written is
//! left for the next read. When a later segment exists the current one is complete, so
//! the reader moves on, skipping (and reporting) any damage at its end. Segments that were
//! removed under the reader (a checkpoint folded them) are skipped and reported too.
//!
//! [`series_before`] reads the series records a reader starting at a position needs:
//! those of the newest checkpoint and of the log before the position.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use model::Labels;

use super::replay::{read_segment, ScanState};
use super::{latest_checkpoint, segment_path, segments, Record, MAX_RECORD};

/// A place in the WAL: the next record to read is at byte `offset` of segment `segment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct WalPosition {
    pub segment: u64,
    pub offset: u64,
}

/// Bytes of the log a reader could not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Where the skipped span starts.
    pub from: WalPosition,
    /// Where reading resumed.
    pub to: WalPosition,
    /// Bytes left out when known (0 for segments that no longer exist).
    pub bytes: u64,
    /// Whether whole segments were missing (removed), rather than damaged bytes skipped.
    pub missing: bool,
}

/// What one [`WalTail::read`] did.
#[derive(Debug, Default)]
pub struct TailRead {
    /// Records handed out.
    pub records: usize,
    /// Spans that could not be read.
    pub skipped: Vec<Skipped>,
    /// Whether the reader is at the end of the log (nothing more to read now).
    pub at_end: bool,
}

/// Reads a WAL directory record by record from a position on, following new writes.
pub struct WalTail {
    dir: PathBuf,
    position: WalPosition,
    buf: Vec<u8>,
}

impl WalTail {
    pub fn new(dir: &Path, position: WalPosition) -> Self {
        Self {
            dir: dir.to_path_buf(),
            position,
            buf: Vec::new(),
        }
    }

    /// Where the next record will be read from.
    pub fn position(&self) -> WalPosition {
        self.position
    }

    /// Hands out the whole records written from the position on, up to about `max_bytes`
    /// of them, each with the position after it.
    pub fn read(
        &mut self,
        max_bytes: usize,
        mut apply: impl FnMut(Record, WalPosition),
    ) -> io::Result<TailRead> {
        let mut out = TailRead::default();
        let mut budget = max_bytes.max(1);
        loop {
            let later = self.later_segment()?;
            let file = match File::open(segment_path(&self.dir, self.position.segment)) {
                Ok(f) => Some(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            let Some(mut file) = file else {
                // Gone (folded into a checkpoint) or not yet created.
                match later {
                    Some(next) => {
                        let to = WalPosition {
                            segment: next,
                            offset: 0,
                        };
                        out.skipped.push(Skipped {
                            from: self.position,
                            to,
                            bytes: 0,
                            missing: true,
                        });
                        self.position = to;
                        continue;
                    }
                    None => {
                        out.at_end = true;
                        return Ok(out);
                    }
                }
            };
            let consumed = self.read_from(&mut file, &mut budget, &mut apply, &mut out)?;
            if budget == 0 {
                return Ok(out);
            }
            if consumed {
                // Everything written to this segment so far is read.
                let Some(next) = later else {
                    out.at_end = true;
                    return Ok(out);
                };
                // A later segment exists, so nothing more is written to this one: read
                // once more (a record may have been finished since), then move on past
                // whatever is left.
                self.read_from(&mut file, &mut budget, &mut apply, &mut out)?;
                if budget == 0 {
                    return Ok(out);
                }
                let len = file.metadata()?.len();
                let to = WalPosition {
                    segment: next,
                    offset: 0,
                };
                if len > self.position.offset {
                    out.skipped.push(Skipped {
                        from: self.position,
                        to,
                        bytes: len - self.position.offset,
                        missing: false,
                    });
                }
                self.position = to;
            }
        }
    }

    /// The first segment after the current one, if one exists.
    fn later_segment(&self) -> io::Result<Option<u64>> {
        Ok(segments(&self.dir)?
            .into_iter()
            .find(|n| *n > self.position.segment))
    }

    /// Reads whole records from the position to the end of what `file` holds now.
    /// Returns whether the end was reached (false: the budget ran out first). Damage in
    /// the middle (a bad checksum followed by valid records) is skipped and reported.
    fn read_from(
        &mut self,
        file: &mut File,
        budget: &mut usize,
        apply: &mut impl FnMut(Record, WalPosition),
        out: &mut TailRead,
    ) -> io::Result<bool> {
        let len = file.metadata()?.len();
        if len <= self.position.offset {
            return Ok(true);
        }
        let want =
            (len - self.position.offset).min((*budget as u64).max(1 << 20).saturating_add(8));
        file.seek(SeekFrom::Start(self.position.offset))?;
        self.buf.clear();
        file.take(want).read_to_end(&mut self.buf)?;
        let mut pos = 0usize;
        loop {
            match frame(&self.buf, pos) {
                Frame::Whole(payload, next) => {
                    let at = WalPosition {
                        segment: self.position.segment,
                        offset: self.position.offset + next as u64,
                    };
                    if let Some(record) = super::replay::decode_payload(payload) {
                        apply(record, at);
                        out.records += 1;
                    }
                    *budget = budget.saturating_sub(next - pos);
                    pos = next;
                    if *budget == 0 {
                        self.position = at;
                        return Ok(false);
                    }
                }
                Frame::Partial(needed) => {
                    let start = self.position.offset + pos as u64;
                    self.position.offset = start;
                    if start + needed as u64 <= len {
                        // Whole in the file, beyond what this read took: read again.
                        let want = (len - start).min((needed as u64).max(1 << 20));
                        file.seek(SeekFrom::Start(start))?;
                        self.buf.clear();
                        file.take(want).read_to_end(&mut self.buf)?;
                        pos = 0;
                        continue;
                    }
                    return Ok(true);
                }
                Frame::Bad => {
                    let start = self.position.offset + pos as u64;
                    if start + ((self.buf.len() - pos) as u64) < len {
                        // The next valid record may lie beyond this read: take the rest
                        // of the segment (bounded by the segment size) to look for it.
                        file.seek(SeekFrom::Start(start))?;
                        self.buf.clear();
                        file.take(len - start).read_to_end(&mut self.buf)?;
                        self.position.offset = start;
                        pos = 0;
                    }
                    let Some(next) = super::replay::resync(&self.buf, pos) else {
                        self.position.offset = start;
                        return Ok(true);
                    };
                    let to = WalPosition {
                        segment: self.position.segment,
                        offset: self.position.offset + next as u64,
                    };
                    out.skipped.push(Skipped {
                        from: WalPosition {
                            segment: self.position.segment,
                            offset: start,
                        },
                        to,
                        bytes: (next - pos) as u64,
                        missing: false,
                    });
                    pos = next;
                }
            }
            if pos >= self.buf.len() {
                self.position.offset += pos as u64;
                if self.position.offset >= len {
                    return Ok(true);
                }
                // More in the file than this read took.
                file.seek(SeekFrom::Start(self.position.offset))?;
                self.buf.clear();
                let want = (len - self.position.offset).min((*budget as u64).max(1 << 20));
                file.take(want).read_to_end(&mut self.buf)?;
                pos = 0;
            }
        }
    }
}

enum Frame<'a> {
    /// A whole frame with a matching checksum: its payload and the end offset.
    Whole(&'a [u8], usize),
    /// Not all of the frame is in the buffer: the frame's full size.
    Partial(usize),
    /// An impossible length or a checksum mismatch.
    Bad,
}

fn frame(buf: &[u8], pos: usize) -> Frame<'_> {
    let Some(header) = buf.get(pos..pos.saturating_add(8)) else {
        return Frame::Partial(8);
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len == 0 || len > MAX_RECORD {
        return Frame::Bad;
    }
    let Some(payload) = buf.get(pos + 8..pos + 8 + len) else {
        return Frame::Partial(8 + len);
    };
    if crc32fast::hash(payload) == crc {
        Frame::Whole(payload, pos + 8 + len)
    } else {
        Frame::Bad
    }
}

/// Calls `apply` for every series record a reader starting at `position` needs: the
/// newest checkpoint's, then those of the segments before the position and of the
/// position's segment before its offset.
pub fn series_before(
    dir: &Path,
    position: WalPosition,
    mut apply: impl FnMut(u64, &Labels),
) -> io::Result<()> {
    let mut on_record = |record: Record| {
        if let Record::Series(series) = record {
            for (r, labels) in &series {
                apply(*r, labels);
            }
        }
    };
    let mut scan = ScanState::default();
    let checkpoint = latest_checkpoint(dir)?;
    if let Some((_, path)) = &checkpoint {
        for n in segments(path)? {
            read_segment(&segment_path(path, n), n, &mut scan, &mut on_record)?;
        }
    }
    let after = checkpoint.map_or(0, |(n, _)| n + 1);
    for n in segments(dir)? {
        if n < after || n > position.segment {
            continue;
        }
        if n < position.segment {
            read_segment(&segment_path(dir, n), n, &mut scan, &mut on_record)?;
            continue;
        }
        let data = match fs::read(segment_path(dir, n)) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let end = (position.offset as usize).min(data.len());
        let mut pos = 0usize;
        while let Frame::Whole(payload, next) = frame(&data[..end], pos) {
            if let Some(record) = super::replay::decode_payload(payload) {
                on_record(record);
            }
            pos = next;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::WalWriter;

    fn labels(name: &str) -> Labels {
        Labels::from_pairs([("__name__", name)])
    }

    fn collect(tail: &mut WalTail) -> (Vec<Record>, TailRead) {
        let mut got = Vec::new();
        let read = tail.read(usize::MAX, |r, _| got.push(r)).unwrap();
        (got, read)
    }

    #[test]
    fn follows_appends_and_segment_cuts() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path()).unwrap();
        let mut tail = WalTail::new(dir.path(), WalPosition::default());
        w.log(&[Record::Series(vec![(1, labels("a"))])]).unwrap();
        w.log(&[Record::Samples(vec![(1, 10, 1.0)])]).unwrap();
        let (got, read) = collect(&mut tail);
        assert_eq!(got.len(), 2);
        assert!(read.at_end);
        let (got, _) = collect(&mut tail);
        assert!(got.is_empty(), "nothing new: nothing read");
        w.log(&[Record::Samples(vec![(1, 20, 2.0)])]).unwrap();
        w.cut_now().unwrap();
        w.log(&[Record::Samples(vec![(1, 30, 3.0)])]).unwrap();
        let (got, read) = collect(&mut tail);
        assert_eq!(
            got,
            vec![
                Record::Samples(vec![(1, 20, 2.0)]),
                Record::Samples(vec![(1, 30, 3.0)])
            ]
        );
        assert!(read.skipped.is_empty());
        assert_eq!(tail.position().segment, 1);
    }

    #[test]
    fn a_partial_record_waits_and_a_torn_end_before_a_later_segment_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path()).unwrap();
        w.log(&[Record::Samples(vec![(1, 10, 1.0)])]).unwrap();
        let path = segment_path(dir.path(), 0);
        let whole = fs::read(&path).unwrap();
        // Half of a second record, as a reader may see it while it is written.
        let mut torn = whole.clone();
        torn.extend_from_slice(&whole[..whole.len() / 2]);
        fs::write(&path, &torn).unwrap();
        let mut tail = WalTail::new(dir.path(), WalPosition::default());
        let (got, read) = collect(&mut tail);
        assert_eq!(got.len(), 1);
        assert!(read.at_end && read.skipped.is_empty());
        assert_eq!(tail.position().offset, whole.len() as u64);
        // Finished: read.
        let mut done = whole.clone();
        done.extend_from_slice(&whole);
        fs::write(&path, &done).unwrap();
        let (got, _) = collect(&mut tail);
        assert_eq!(got.len(), 1);
        // Torn again, and a later segment: the torn end is skipped and reported.
        done.extend_from_slice(&whole[..3]);
        fs::write(&path, &done).unwrap();
        fs::write(segment_path(dir.path(), 1), &whole).unwrap();
        let (got, read) = collect(&mut tail);
        assert_eq!(got.len(), 1);
        assert_eq!(read.skipped.len(), 1);
        assert_eq!(read.skipped[0].bytes, 3);
        assert_eq!(
            tail.position(),
            WalPosition {
                segment: 1,
                offset: whole.len() as u64
            }
        );
    }

    #[test]
    fn removed_segments_are_reported_and_passed() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path()).unwrap();
        w.log(&[Record::Samples(vec![(1, 10, 1.0)])]).unwrap();
        w.cut_now().unwrap();
        w.log(&[Record::Samples(vec![(1, 20, 2.0)])]).unwrap();
        w.cut_now().unwrap();
        w.log(&[Record::Samples(vec![(1, 30, 3.0)])]).unwrap();
        fs::remove_file(segment_path(dir.path(), 0)).unwrap();
        fs::remove_file(segment_path(dir.path(), 1)).unwrap();
        let mut tail = WalTail::new(dir.path(), WalPosition::default());
        let (got, read) = collect(&mut tail);
        assert_eq!(got, vec![Record::Samples(vec![(1, 30, 3.0)])]);
        assert_eq!(read.skipped.len(), 1);
        assert!(read.skipped[0].missing);
    }

    #[test]
    fn damage_in_the_middle_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path()).unwrap();
        for t in 0..3 {
            w.log(&[Record::Samples(vec![(1, t, 1.0)])]).unwrap();
        }
        let path = segment_path(dir.path(), 0);
        let mut data = fs::read(&path).unwrap();
        let one = data.len() / 3;
        data[one + 9] ^= 0xff;
        fs::write(&path, &data).unwrap();
        let mut tail = WalTail::new(dir.path(), WalPosition::default());
        let (got, read) = collect(&mut tail);
        assert_eq!(
            got,
            vec![
                Record::Samples(vec![(1, 0, 1.0)]),
                Record::Samples(vec![(1, 2, 1.0)])
            ]
        );
        assert_eq!(read.skipped.len(), 1);
        assert_eq!(read.skipped[0].bytes, one as u64);
    }

    #[test]
    fn small_budgets_read_everything_in_steps() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path()).unwrap();
        for t in 0..100 {
            w.log(&[Record::Samples(vec![(1, t, 1.0)])]).unwrap();
        }
        let mut tail = WalTail::new(dir.path(), WalPosition::default());
        let mut seen = Vec::new();
        let mut reads = 0;
        loop {
            reads += 1;
            let read = tail
                .read(50, |r, _| {
                    if let Record::Samples(s) = r {
                        seen.push(s[0].1)
                    }
                })
                .unwrap();
            if read.at_end {
                break;
            }
        }
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        assert!(reads > 10);
    }

    #[test]
    fn series_before_a_position() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path()).unwrap();
        w.log(&[Record::Series(vec![(1, labels("a"))])]).unwrap();
        w.cut_now().unwrap();
        w.log(&[Record::Series(vec![(2, labels("b"))])]).unwrap();
        let mid = w.segment_size();
        w.log(&[Record::Series(vec![(3, labels("c"))])]).unwrap();
        let mut seen = Vec::new();
        series_before(
            dir.path(),
            WalPosition {
                segment: 1,
                offset: mid,
            },
            |r, _| seen.push(r),
        )
        .unwrap();
        assert_eq!(seen, vec![1, 2]);
    }
}
