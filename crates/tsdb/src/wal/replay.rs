//! Reading the WAL back: checkpoint and segments in order, with damage skipped and
//! reported rather than ending the replay.
//!
//! Two kinds of damage are told apart because they mean different things:
//! - a *torn tail*: the last record of the last segment is incomplete (or the file ends in
//!   zeros) and nothing valid follows. That is what a crash or power loss while writing
//!   leaves; the record was never acknowledged. The segment is cut there (appends continue
//!   after the last whole record).
//! - *corruption*: anything else (a checksum mismatch, an impossible length, a record
//!   that does not decode, damage in an earlier segment). Records are framed by length and
//!   CRC, so replay looks for the next offset where a whole valid record starts and goes
//!   on from there: only the damaged bytes are lost, never the rest of the segment or the
//!   segments after it. What was skipped is reported (offset, bytes, records, and, when
//!   the damaged records still decode without their checksum, their samples, series and
//!   time range), and the damaged bytes are left on disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use rustc_hash::FxHashSet;

use super::{decompress, latest_checkpoint, segment_path, segments, Record, MAX_RECORD, SNAPPY};

/// How much checksumming one search for the next valid record may do (a damaged span of
/// random bytes offers a candidate length at most offsets), so that replay stays fast
/// on any input. Past it, the rest of the segment counts as damaged.
const RESYNC_BUDGET: u64 = 256 << 20;

/// What kind of damage replay found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// An incomplete last record of the last segment (a crash while writing): cut off.
    TornTail,
    /// Bytes that do not hold valid records: skipped, later records kept.
    Corrupt,
}

/// What damaged records held, decoded without their checksum (so not to be trusted,
/// but usually right when a few bits flipped in a payload).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DamagedContent {
    /// Series records' entries.
    pub series: usize,
    /// Samples (in-order and out-of-order).
    pub samples: usize,
    /// Distinct series refs the samples belong to.
    pub sample_series: usize,
    /// The samples' time range (ms), if any.
    pub min_t: Option<i64>,
    pub max_t: Option<i64>,
}

/// One damaged span of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct WalDamage {
    pub kind: DamageKind,
    /// `Some(n)`: in `checkpoint.n`; else a WAL segment.
    pub checkpoint: Option<u64>,
    pub segment: u64,
    /// Where the damage starts, and how many bytes were skipped.
    pub offset: u64,
    pub bytes: u64,
    /// Records in the skipped bytes, when their length fields could still be followed.
    pub records: Option<usize>,
    /// What those records held, when they still decode.
    pub content: Option<DamagedContent>,
    /// The time of the last samples read before the damage and of the first read after
    /// it: lost in-order samples lie between (for a scrape's samples, usually exactly).
    pub time_before: Option<i64>,
    pub time_after: Option<i64>,
}

impl std::fmt::Display for WalDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.checkpoint {
            Some(n) => write!(f, "checkpoint.{n:08}/{:08}", self.segment)?,
            None => write!(f, "segment {:08}", self.segment)?,
        }
        write!(f, " at offset {}: {} bytes", self.offset, self.bytes)?;
        match self.records {
            Some(n) => write!(f, " ({n} records)")?,
            None => write!(f, " (record count unknown)")?,
        }
        if let Some(c) = &self.content {
            write!(
                f,
                " holding {} series and {} samples of {} series",
                c.series, c.samples, c.sample_series
            )?;
            if let (Some(a), Some(b)) = (c.min_t, c.max_t) {
                write!(f, " in [{a}, {b}] ms")?;
            }
        }
        match (self.time_before, self.time_after) {
            (None, None) => Ok(()),
            (a, b) => write!(
                f,
                "; samples read around it: {} .. {} ms",
                a.map_or("start".to_string(), |t| t.to_string()),
                b.map_or("end".to_string(), |t| t.to_string())
            ),
        }
    }
}

/// What replay found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplayReport {
    pub segments: usize,
    /// The first and last segment numbers replayed.
    pub first_segment: u64,
    pub last_segment: u64,
    pub records: usize,
    /// The checkpoint replayed first, if any.
    pub checkpoint: Option<u64>,
    /// Set when a torn tail was cut: segment and byte offset.
    pub repaired_at: Option<(u64, u64)>,
    /// Every damaged span, torn tail included, in log order.
    pub damage: Vec<WalDamage>,
    /// Samples replay dropped because no series record for their ref was read (it was
    /// in damaged bytes), and how many distinct refs they had.
    pub orphan_samples: u64,
    pub orphan_series: usize,
    /// Series whose full chunks came back from the spill files (their samples up to
    /// those chunks' end were not replayed).
    pub recovered_chains: usize,
}

impl ReplayReport {
    /// Damaged spans other than a torn tail (`prometheus_tsdb_wal_corruptions_total`).
    pub fn corruptions(&self) -> usize {
        self.damage
            .iter()
            .filter(|d| d.kind == DamageKind::Corrupt)
            .count()
    }

    /// Whether the last segment holds corruption (appends then go to a new segment).
    pub(crate) fn last_segment_corrupt(&self) -> bool {
        self.damage.iter().any(|d| {
            d.kind == DamageKind::Corrupt
                && d.checkpoint.is_none()
                && d.segment == self.last_segment
        })
    }
}

/// A record frame at an offset.
enum Frame<'a> {
    /// A whole frame whose checksum matches: its payload and where the next one starts.
    Valid(&'a [u8], usize),
    /// The header claims more bytes than the file has (or fewer than 8 bytes are left).
    Incomplete,
    /// A length over the limit, or a checksum mismatch.
    Bad,
}

fn frame_at(data: &[u8], pos: usize) -> Frame<'_> {
    let Some(header) = data.get(pos..pos.saturating_add(8)) else {
        return Frame::Incomplete;
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD {
        return Frame::Bad;
    }
    let end = pos + 8 + len;
    let Some(payload) = data.get(pos + 8..end) else {
        return Frame::Incomplete;
    };
    if crc32fast::hash(payload) == crc {
        Frame::Valid(payload, end)
    } else {
        Frame::Bad
    }
}

/// Decodes a payload (decompressing it first if it is Snappy).
pub(super) fn decode_payload(payload: &[u8]) -> Option<Record> {
    match payload.split_first() {
        Some((&SNAPPY, rest)) => Record::decode(&decompress(rest)?),
        _ => Record::decode(payload),
    }
}

/// The time span of an in-order samples record (its first and last sample), cheaply.
fn sample_span(record: &Record) -> Option<(i64, i64)> {
    let n = record.sample_count();
    let first = record.sample(0)?.1;
    let last = record.sample(n.checked_sub(1)?)?.1;
    Some((first, last))
}

/// Where the next whole, valid, decodable record starts after damage at `pos`, trying
/// first the offset the damaged record's own length points to.
pub(super) fn resync(data: &[u8], pos: usize) -> Option<usize> {
    let mut budget = RESYNC_BUDGET;
    let valid_at = |q: usize, budget: &mut u64| -> bool {
        let Some(header) = data.get(q..q.saturating_add(8)) else {
            return false;
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        // Zero-length records are never written, and zeroed spans would match everywhere.
        if len == 0 || len > MAX_RECORD || q + 8 + len > data.len() {
            return false;
        }
        if !matches!(data.get(q + 8), Some(1..=7 | &SNAPPY)) {
            return false;
        }
        if *budget < len as u64 {
            return false;
        }
        *budget -= len as u64;
        matches!(frame_at(data, q), Frame::Valid(payload, _) if decode_payload(payload).is_some())
    };
    if let Some(header) = data.get(pos..pos + 8) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let next = pos + 8 + len;
        if len <= MAX_RECORD && next < data.len() && valid_at(next, &mut budget) {
            return Some(next);
        }
    }
    (pos + 1..data.len().saturating_sub(8)).find(|&q| valid_at(q, &mut budget))
}

/// Follows the length fields from `from` to `to`: the number of frames between them if
/// they land exactly on `to`, and what those frames decode to without their checksums.
fn damaged_frames(data: &[u8], from: usize, to: usize) -> (Option<usize>, Option<DamagedContent>) {
    let mut pos = from;
    let mut payloads = Vec::new();
    while pos < to {
        let Some(header) = data.get(pos..pos + 8) else {
            return (None, None);
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let end = pos + 8 + len;
        if len > MAX_RECORD || end > to {
            return (None, None);
        }
        payloads.push(&data[pos + 8..end]);
        pos = end;
    }
    let mut content = DamagedContent::default();
    let mut refs = FxHashSet::default();
    let mut decoded_any = false;
    for payload in &payloads {
        let Some(record) = decode_payload(payload) else {
            continue;
        };
        decoded_any = true;
        let mut note = |r: u64, t: i64| {
            refs.insert(r);
            content.samples += 1;
            content.min_t = Some(content.min_t.map_or(t, |m| m.min(t)));
            content.max_t = Some(content.max_t.map_or(t, |m| m.max(t)));
        };
        match &record {
            Record::Series(s) => content.series += s.len(),
            Record::OooSamples(s) => s.iter().for_each(|&(r, t, _, _)| note(r, t)),
            Record::Histograms(s) => s.iter().for_each(|&(r, t, _, _)| note(r, t)),
            Record::OooFlush { .. } => {}
            other => {
                for j in 0..other.sample_count() {
                    if let Some((r, t, _, _)) = other.sample(j) {
                        note(r, t);
                    }
                }
            }
        }
    }
    content.sample_series = refs.len();
    (Some(payloads.len()), decoded_any.then_some(content))
}

/// What reading segments found so far: carried from one segment to the next, so that
/// the times around damage at a segment's end come from the next segment.
#[derive(Default)]
pub(crate) struct ScanState {
    pub records: usize,
    pub damage: Vec<WalDamage>,
    /// The time of the last in-order samples read.
    last_t: Option<i64>,
    /// How many of the last entries of `damage` still wait for the time after them.
    awaiting: usize,
}

/// Bytes read from a segment at a time: a segment is read in windows of this size (or of
/// one record, when a record is larger), never whole (segments are 128 MiB).
const READ_WINDOW: usize = 4 << 20;

/// Counts a decoded record in `state` (and the times around earlier damage) and applies it.
fn take(record: Record, state: &mut ScanState, apply: &mut impl FnMut(Record)) {
    if let Some((first, last)) = sample_span(&record) {
        let n = state.damage.len();
        for d in &mut state.damage[n - state.awaiting..] {
            d.time_after = Some(first);
        }
        state.awaiting = 0;
        state.last_t = Some(last);
    }
    apply(record);
    state.records += 1;
}

/// Reads the records of one segment file, skipping damage (see the module docs). Damage
/// is added to `state` as corruption or, when it ends the file and looks torn, as a torn
/// tail (the caller settles what that means for this segment); `checkpoint` is left unset.
///
/// The file is read in windows of [`READ_WINDOW`]; only at the first damage is the rest
/// of it read at once, since finding the next valid record may need all of it.
pub(crate) fn read_segment(
    path: &Path,
    segment: u64,
    state: &mut ScanState,
    apply: &mut impl FnMut(Record),
) -> io::Result<()> {
    let mut file = File::open(path)?;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_WINDOW);
    // The file offset of `buf[0]`, and where the next frame starts in `buf`.
    let (mut base, mut pos) = (0u64, 0usize);
    loop {
        // The bytes the frame at `pos` needs: its header, then its whole payload (a length
        // over the limit is damage, left to the scan below).
        let need = match buf.get(pos..pos + 8) {
            Some(h) => 8 + (u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize).min(MAX_RECORD),
            None => 8,
        };
        if buf.len() - pos < need {
            buf.drain(..pos);
            base += pos as u64;
            pos = 0;
            fill(&mut file, &mut buf, need.max(READ_WINDOW))?;
            if buf.is_empty() {
                return Ok(());
            }
            if buf.len() < need {
                // The file ends inside this frame: a torn tail, for the scan to report.
                break;
            }
        }
        if let Frame::Valid(payload, next) = frame_at(&buf, pos) {
            if let Some(record) = (!payload.is_empty())
                .then(|| decode_payload(payload))
                .flatten()
            {
                take(record, state, apply);
                pos = next;
                continue;
            }
        }
        break;
    }
    buf.drain(..pos);
    base += pos as u64;
    file.read_to_end(&mut buf)?;
    scan_damaged(&buf, base, segment, state, apply);
    Ok(())
}

/// Reads from `file` until `buf` holds `want` bytes or the file ends.
fn fill(file: &mut File, buf: &mut Vec<u8>, want: usize) -> io::Result<()> {
    if buf.len() >= want {
        return Ok(());
    }
    let missing = (want - buf.len()) as u64;
    file.take(missing).read_to_end(buf)?;
    Ok(())
}

/// Goes on through `data`, the rest of a segment from file offset `base`, whose first
/// frame is damaged: every damaged span is recorded and every valid record after it
/// applied.
fn scan_damaged(
    data: &[u8],
    base: u64,
    segment: u64,
    state: &mut ScanState,
    apply: &mut impl FnMut(Record),
) {
    let mut pos = 0usize;
    while pos < data.len() {
        let (next, record) = match frame_at(data, pos) {
            // Zero-length records are never written: zeros are damage (or a torn tail),
            // not a run of empty records.
            Frame::Valid(payload, next) if !payload.is_empty() => (next, decode_payload(payload)),
            Frame::Valid(..) | Frame::Incomplete | Frame::Bad => (0, None),
        };
        if let Some(record) = record {
            take(record, state, apply);
            pos = next;
            continue;
        }
        // A valid frame that does not decode (a record type from a newer version, or a
        // bug): exactly that record is skipped.
        let resume = if next > 0 {
            Some(next).filter(|n| *n < data.len())
        } else {
            resync(data, pos)
        };
        let end = resume.unwrap_or(data.len());
        let (records, content) = damaged_frames(data, pos, end);
        let torn = resume.is_none()
            && (matches!(frame_at(data, pos), Frame::Incomplete)
                || data[pos..].iter().all(|b| *b == 0));
        state.damage.push(WalDamage {
            kind: if torn {
                DamageKind::TornTail
            } else {
                DamageKind::Corrupt
            },
            checkpoint: None,
            segment,
            offset: base + pos as u64,
            bytes: (end - pos) as u64,
            records,
            content,
            time_before: state.last_t,
            time_after: None,
        });
        state.awaiting += 1;
        pos = end;
    }
}

/// Reads the newest checkpoint and then every later segment in order, calling `apply` for
/// each record. Damage is skipped and reported (see the module docs); only a torn tail of
/// the last segment is cut off the file.
pub fn replay(dir: &Path, mut apply: impl FnMut(Record)) -> io::Result<ReplayReport> {
    fs::create_dir_all(dir)?;
    let mut report = ReplayReport::default();
    let mut state = ScanState::default();
    let checkpoint = latest_checkpoint(dir)?;
    if let Some((n, path)) = &checkpoint {
        report.checkpoint = Some(*n);
        for segment in segments(path)? {
            let from = state.damage.len();
            read_segment(
                &segment_path(path, segment),
                segment,
                &mut state,
                &mut apply,
            )?;
            // A checkpoint is renamed into place only when complete: any damage in it
            // happened afterwards, torn-looking or not.
            for d in &mut state.damage[from..] {
                d.checkpoint = Some(*n);
                d.kind = DamageKind::Corrupt;
            }
        }
    }
    let after = checkpoint.map_or(0, |(n, _)| n + 1);
    let numbers: Vec<u64> = segments(dir)?.into_iter().filter(|n| *n >= after).collect();
    report.first_segment = numbers.first().copied().unwrap_or(after);
    report.last_segment = numbers.last().copied().unwrap_or(after);
    for &n in &numbers {
        report.segments += 1;
        let path = segment_path(dir, n);
        let from = state.damage.len();
        read_segment(&path, n, &mut state, &mut apply)?;
        for d in &mut state.damage[from..] {
            if d.kind != DamageKind::TornTail {
                continue;
            }
            if n == report.last_segment {
                report.repaired_at = Some((n, d.offset));
                OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(d.offset)?;
            } else {
                // An earlier segment's incomplete end: what a failed write leaves when it
                // cannot be cut back (the writer then starts a new segment). Never
                // acknowledged, but not a crash's torn tail either: reported, kept.
                d.kind = DamageKind::Corrupt;
            }
        }
    }
    report.records = state.records;
    report.damage = state.damage;
    Ok(report)
}
