//! The write-ahead log: checksummed records in numbered segment files under `wal/`.
//!
//! On-disk format (see ARCHITECTURE.md): segment files named `00000000`, `00000001`, …,
//! each a sequence of records `[u32 LE payload length][u32 LE CRC-32 (IEEE) of the
//! payload][payload]`. A payload starts with its type byte: `1` series (`uvarint ref`,
//! `uvarint label count`, then length-prefixed name and value bytes per label), `2`
//! samples (`uvarint count`, then per sample `uvarint ref`, zigzag `varint timestamp ms`,
//! `f64` LE value bits), `3` samples with deltas, `4` samples with start timestamps, `5`/`6`
//! out-of-order samples (as `3`/`4`), `7` out-of-order flush markers (see ARCHITECTURE.md), `8`
//! native histogram samples (`wal/histogram`), `10` exemplars (`wal/exemplar`);
//! a payload starting with `0x80` is another payload compressed with Snappy.
//!
//! `writer` appends (all records of a call or none), `replay` reads back (a torn tail is
//! cut; corruption is skipped up to the next valid record and reported, never the end of
//! the log), and `checkpoint` here folds old segments.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use model::{Label, Labels};

use crate::varint::{put_uvarint, read_uvarint, read_varint, unzigzag, zigzag};

mod exemplar;
mod histogram;
mod replay;
mod tail;
mod writer;

pub use replay::{replay, DamageKind, DamagedContent, ReplayReport, WalDamage};
pub use tail::{series_before, Skipped, TailRead, WalPosition, WalTail};
pub use writer::WalWriter;

/// Segments are cut at this size.
pub const SEGMENT_SIZE: u64 = 128 << 20;

/// A payload starting with this byte is the rest of the record compressed with Snappy
/// (raw format); the decompressed bytes are a payload of one of the types below.
const SNAPPY: u8 = 0x80;

/// A record cannot be larger than this (a corrupt length must not make us allocate).
pub(crate) const MAX_RECORD: usize = 64 << 20;

const RECORD_SERIES: u8 = 1;
const RECORD_SAMPLES: u8 = 2;
/// Samples with refs and timestamps as deltas (what the writer produces; `2` is still read).
const RECORD_SAMPLES_DELTA: u8 = 3;
/// Like `3`, each sample followed by its start timestamp.
const RECORD_SAMPLES_WITH_STARTS: u8 = 4;
/// Out-of-order samples, as `3`: a record type of their own because replay puts them in
/// the out-of-order head, not the series' chunks (and a reader that does not know them
/// stops there rather than misreading them as in-order samples).
const RECORD_OOO_SAMPLES: u8 = 5;
/// Out-of-order samples with start timestamps, as `4`.
const RECORD_OOO_SAMPLES_WITH_STARTS: u8 = 6;
/// An out-of-order flush marker: `uvarint` phase (0 started, 1 done), zigzag `varint`
/// boundary.
const RECORD_OOO_FLUSH: u8 = 7;

/// Native histogram samples (see `wal/histogram.rs`).
const RECORD_HISTOGRAMS: u8 = 8;
/// Native histogram samples with start timestamps (see `wal/histogram.rs`).
const RECORD_HISTOGRAMS_WITH_STARTS: u8 = 9;
/// Exemplars (see `wal/exemplar.rs`).
const RECORD_EXEMPLARS: u8 = 10;

/// One decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Series(Vec<(u64, Labels)>),
    Samples(Vec<(u64, i64, f64)>),
    /// Samples with start timestamps (ref, t, v, st; st 0: none).
    SamplesWithStarts(Vec<(u64, i64, f64, i64)>),
    /// Out-of-order samples (ref, t, v, st; st 0: none), for the out-of-order head.
    OooSamples(Vec<(u64, i64, f64, i64)>),
    /// Out-of-order samples below `below` are being written to blocks (`done: false`:
    /// the samples logged before this marker), or were (`done: true`: drop those from
    /// the out-of-order head). See `ooo` for why two markers.
    OooFlush {
        below: i64,
        done: bool,
    },
    /// Native histogram samples (ref, t, histogram), in order.
    /// Ref, time, histogram, start timestamp (0: none).
    Histograms(Vec<(u64, i64, model::histogram::HistogramValue, i64)>),
    /// Exemplars of series (ref, exemplar), for the exemplar storage.
    Exemplars(Vec<(u64, model::Exemplar)>),
    /// A record already encoded (type byte first), written as it is: appends of
    /// histograms encode theirs from the caller's samples instead of copying each
    /// histogram into a record first ([`encode_histograms`]). Never read back as such.
    Encoded(Vec<u8>),
}

/// A histogram samples record (type 8, or 9 when a sample has a start timestamp) encoded
/// from borrowed samples (ref, time, histogram, start timestamp).
pub fn encode_histograms<'a>(
    samples: impl ExactSizeIterator<Item = (u64, i64, &'a model::histogram::HistogramValue, i64)>
        + Clone,
) -> Vec<u8> {
    // One pass for both: whether any sample has a start timestamp, and about the record's
    // size, so that it is written without growing (a scrape's record is tens of kilobytes).
    let (mut with_starts, mut bound) = (false, 16usize);
    for (_, _, h, st) in samples.clone() {
        with_starts |= st != 0;
        bound += histogram::estimated_len(h);
    }
    let mut out = Vec::with_capacity(bound);
    out.push(if with_starts {
        RECORD_HISTOGRAMS_WITH_STARTS
    } else {
        RECORD_HISTOGRAMS
    });
    histogram::encode(&mut out, samples, with_starts);
    out
}

fn decode_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len = read_uvarint(buf, pos)? as usize;
    let end = pos.checked_add(len)?;
    let out = buf.get(*pos..end)?;
    *pos = end;
    Some(out)
}

impl Record {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Series(series) => {
                out.push(RECORD_SERIES);
                put_uvarint(out, series.len() as u64);
                for (r, labels) in series {
                    put_uvarint(out, *r);
                    put_uvarint(out, labels.len() as u64);
                    for l in labels.iter() {
                        put_uvarint(out, l.name.len() as u64);
                        out.extend_from_slice(l.name.as_bytes());
                        put_uvarint(out, l.value.len() as u64);
                        out.extend_from_slice(l.value.as_bytes());
                    }
                }
            }
            Record::Samples(samples) => {
                // A scrape's samples share a timestamp and have nearby refs: deltas make
                // most of each sample its 8 value bytes.
                out.push(RECORD_SAMPLES_DELTA);
                put_uvarint(out, samples.len() as u64);
                let base_t = samples.first().map_or(0, |s| s.1);
                put_uvarint(out, zigzag(base_t));
                let mut previous_ref = 0u64;
                for &(r, t, v) in samples {
                    encode_delta_sample(out, &mut previous_ref, base_t, (r, t, v));
                }
            }
            Record::SamplesWithStarts(samples) => {
                encode_with_starts(out, RECORD_SAMPLES_WITH_STARTS, samples);
            }
            Record::OooSamples(samples) => {
                if samples.iter().any(|s| s.3 != 0) {
                    encode_with_starts(out, RECORD_OOO_SAMPLES_WITH_STARTS, samples);
                } else {
                    out.push(RECORD_OOO_SAMPLES);
                    put_uvarint(out, samples.len() as u64);
                    let base_t = samples.first().map_or(0, |s| s.1);
                    put_uvarint(out, zigzag(base_t));
                    let mut previous_ref = 0u64;
                    for &(r, t, v, _) in samples {
                        encode_delta_sample(out, &mut previous_ref, base_t, (r, t, v));
                    }
                }
            }
            Record::OooFlush { below, done } => {
                out.push(RECORD_OOO_FLUSH);
                put_uvarint(out, u64::from(*done));
                put_uvarint(out, zigzag(*below));
            }
            Record::Histograms(samples) => {
                let with_starts = samples.iter().any(|s| s.3 != 0);
                out.push(if with_starts {
                    RECORD_HISTOGRAMS_WITH_STARTS
                } else {
                    RECORD_HISTOGRAMS
                });
                histogram::encode(
                    out,
                    samples.iter().map(|(r, t, h, st)| (*r, *t, h, *st)),
                    with_starts,
                );
            }
            Record::Encoded(bytes) => out.extend_from_slice(bytes),
            Record::Exemplars(exemplars) => {
                out.push(RECORD_EXEMPLARS);
                exemplar::encode(out, exemplars);
            }
        }
    }

    /// The number of in-order samples a samples record holds.
    pub fn sample_count(&self) -> usize {
        match self {
            Record::Samples(s) => s.len(),
            Record::SamplesWithStarts(s) => s.len(),
            Record::Series(_)
            | Record::OooSamples(_)
            | Record::OooFlush { .. }
            | Record::Histograms(_)
            | Record::Exemplars(_)
            | Record::Encoded(_) => 0,
        }
    }

    /// Sample `j` of an in-order samples record: ref, time, value, start timestamp (0:
    /// none). Out-of-order records have none: they never go to the series' chunks.
    #[inline]
    pub(crate) fn sample(&self, j: usize) -> Option<(u64, i64, f64, i64)> {
        match self {
            Record::Series(_)
            | Record::OooSamples(_)
            | Record::OooFlush { .. }
            | Record::Histograms(_)
            | Record::Exemplars(_)
            | Record::Encoded(_) => None,
            Record::Samples(s) => s.get(j).map(|&(r, t, v)| (r, t, v, 0)),
            Record::SamplesWithStarts(s) => s.get(j).copied(),
        }
    }

    pub fn decode(buf: &[u8]) -> Option<Record> {
        let mut pos = 1;
        let count = read_uvarint(buf, &mut pos)? as usize;
        match *buf.first()? {
            RECORD_SERIES => {
                let mut series = Vec::with_capacity(count.min(4096));
                for _ in 0..count {
                    let r = read_uvarint(buf, &mut pos)?;
                    let n = read_uvarint(buf, &mut pos)? as usize;
                    let mut pairs = Vec::with_capacity(n.min(64));
                    for _ in 0..n {
                        let name = std::str::from_utf8(decode_bytes(buf, &mut pos)?).ok()?;
                        let value = std::str::from_utf8(decode_bytes(buf, &mut pos)?).ok()?;
                        pairs.push(Label {
                            name: name.to_string(),
                            value: value.to_string(),
                        });
                    }
                    series.push((
                        r,
                        // Written sorted; from_sorted checks and only re-sorts if not.
                        Labels::from_sorted(pairs),
                    ));
                }
                Some(Record::Series(series))
            }
            RECORD_SAMPLES => {
                let mut samples = Vec::with_capacity(count.min(1 << 16));
                for _ in 0..count {
                    let r = read_uvarint(buf, &mut pos)?;
                    let t = read_varint(buf, &mut pos)?;
                    let bits = buf.get(pos..pos + 8)?;
                    pos += 8;
                    let v = f64::from_bits(u64::from_le_bytes(bits.try_into().ok()?));
                    samples.push((r, t, v));
                }
                Some(Record::Samples(samples))
            }
            RECORD_SAMPLES_DELTA => {
                let mut reader = DeltaSamples::start(buf, &mut pos)?;
                let mut samples = Vec::with_capacity(count.min(1 << 16));
                for _ in 0..count {
                    samples.push(reader.next(buf, &mut pos)?);
                }
                Some(Record::Samples(samples))
            }
            RECORD_SAMPLES_WITH_STARTS => Some(Record::SamplesWithStarts(decode_with_starts(
                buf, &mut pos, count,
            )?)),
            RECORD_OOO_SAMPLES => {
                let mut reader = DeltaSamples::start(buf, &mut pos)?;
                let mut samples = Vec::with_capacity(count.min(1 << 16));
                for _ in 0..count {
                    let (r, t, v) = reader.next(buf, &mut pos)?;
                    samples.push((r, t, v, 0));
                }
                Some(Record::OooSamples(samples))
            }
            RECORD_OOO_SAMPLES_WITH_STARTS => Some(Record::OooSamples(decode_with_starts(
                buf, &mut pos, count,
            )?)),
            RECORD_OOO_FLUSH => {
                // The leading uvarint read as `count` is the phase here.
                let done = match count {
                    0 => false,
                    1 => true,
                    _ => return None,
                };
                let below = unzigzag(read_uvarint(buf, &mut pos)?);
                Some(Record::OooFlush { below, done })
            }
            RECORD_HISTOGRAMS => Some(Record::Histograms(histogram::decode(
                buf, &mut pos, count, false,
            )?)),
            RECORD_HISTOGRAMS_WITH_STARTS => Some(Record::Histograms(histogram::decode(
                buf, &mut pos, count, true,
            )?)),
            RECORD_EXEMPLARS => Some(Record::Exemplars(exemplar::decode(buf, &mut pos, count)?)),
            _ => None,
        }
    }
}

/// A samples record with start timestamps (types `4` and `6`): as `3`, plus per sample a
/// flag byte and, when 1, zigzag (T − ST).
fn encode_with_starts(out: &mut Vec<u8>, kind: u8, samples: &[(u64, i64, f64, i64)]) {
    out.push(kind);
    put_uvarint(out, samples.len() as u64);
    let base_t = samples.first().map_or(0, |s| s.1);
    put_uvarint(out, zigzag(base_t));
    let mut previous_ref = 0u64;
    for &(r, t, v, st) in samples {
        encode_delta_sample(out, &mut previous_ref, base_t, (r, t, v));
        if st == 0 {
            out.push(0);
        } else {
            out.push(1);
            put_uvarint(out, zigzag(t.wrapping_sub(st)));
        }
    }
}

/// The samples `encode_with_starts` wrote, after the type byte and count.
fn decode_with_starts(
    buf: &[u8],
    pos: &mut usize,
    count: usize,
) -> Option<Vec<(u64, i64, f64, i64)>> {
    let mut reader = DeltaSamples::start(buf, pos)?;
    let mut samples = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let (r, t, v) = reader.next(buf, pos)?;
        let flag = *buf.get(*pos)?;
        *pos += 1;
        let st = match flag {
            0 => 0,
            1 => t.wrapping_sub(unzigzag(read_uvarint(buf, pos)?)),
            _ => return None,
        };
        samples.push((r, t, v, st));
    }
    Some(samples)
}

/// One sample of a delta-coded samples record: ref and time as deltas, then the value bits.
fn encode_delta_sample(
    out: &mut Vec<u8>,
    previous_ref: &mut u64,
    base_t: i64,
    (r, t, v): (u64, i64, f64),
) {
    put_uvarint(out, zigzag(r.wrapping_sub(*previous_ref) as i64));
    put_uvarint(out, zigzag(t.wrapping_sub(base_t)));
    out.extend_from_slice(&v.to_bits().to_le_bytes());
    *previous_ref = r;
}

/// Reads the samples `encode_delta_sample` wrote, after the record's base time.
struct DeltaSamples {
    base_t: i64,
    r: u64,
}

impl DeltaSamples {
    fn start(buf: &[u8], pos: &mut usize) -> Option<Self> {
        Some(Self {
            base_t: unzigzag(read_uvarint(buf, pos)?),
            r: 0,
        })
    }

    fn next(&mut self, buf: &[u8], pos: &mut usize) -> Option<(u64, i64, f64)> {
        self.r = self
            .r
            .wrapping_add(unzigzag(read_uvarint(buf, pos)?) as u64);
        let t = self.base_t.wrapping_add(unzigzag(read_uvarint(buf, pos)?));
        let bits = buf.get(*pos..pos.checked_add(8)?)?;
        *pos += 8;
        let v = f64::from_bits(u64::from_le_bytes(bits.try_into().ok()?));
        Some((self.r, t, v))
    }
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}"))
}

/// The segment numbers present in `dir`, sorted.
fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .filter(|s| s.len() == 8)
            .and_then(|s| s.parse().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Decompresses a Snappy payload, refusing one that claims to be larger than a record may be.
fn decompress(compressed: &[u8]) -> Option<Vec<u8>> {
    let len = snap::raw::decompress_len(compressed).ok()?;
    if len > MAX_RECORD {
        return None;
    }
    snap::raw::Decoder::new().decompress_vec(compressed).ok()
}

fn checkpoint_name(n: u64) -> String {
    format!("checkpoint.{n:08}")
}

/// The newest complete checkpoint in `dir`: (number, path).
fn latest_checkpoint(dir: &Path) -> io::Result<Option<(u64, PathBuf)>> {
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix("checkpoint."))
            .filter(|s| s.len() == 8)
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, entry.path()));
        }
    }
    Ok(best)
}

/// What a checkpoint did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CheckpointReport {
    pub upto_segment: u64,
    pub series_kept: usize,
    /// In-order samples kept.
    pub samples_kept: usize,
    /// Out-of-order samples kept (still in the out-of-order head).
    pub ooo_samples_kept: usize,
    pub exemplars_kept: usize,
    pub segments_removed: usize,
}

/// What a checkpoint is writing: records are gathered and written in large batches.
struct CheckpointOut {
    writer: WalWriter,
    series: Vec<(u64, Labels)>,
    /// Samples kept, in log order, with their start timestamps; written as plain records
    /// while none of a record's samples has one.
    samples: Vec<(u64, i64, f64, i64)>,
    /// Out-of-order samples kept, in log order.
    ooo: Vec<(u64, i64, f64, i64)>,
    /// Histogram samples kept, in log order. Floats and histograms are written in the
    /// order they came (a series may change from one to the other, and replay takes each
    /// series' samples in time order).
    histograms: Vec<(u64, i64, model::histogram::HistogramValue, i64)>,
    /// Exemplars kept, in log order (the exemplar storage takes them in that order).
    exemplars: Vec<(u64, model::Exemplar)>,
}

impl CheckpointOut {
    /// Writes what is pending of the other kind before a sample of one kind is kept.
    fn before(&mut self, histogram: bool) -> io::Result<()> {
        let other_pending = if histogram {
            !self.samples.is_empty()
        } else {
            !self.histograms.is_empty()
        };
        if other_pending {
            self.flush(true)?;
        }
        Ok(())
    }

    fn flush(&mut self, force: bool) -> io::Result<()> {
        let write_samples = self.samples.len() >= 50_000 || (force && !self.samples.is_empty());
        let write_ooo = self.ooo.len() >= 50_000 || (force && !self.ooo.is_empty());
        let write_histograms =
            self.histograms.len() >= 5_000 || (force && !self.histograms.is_empty());
        let write_exemplars =
            self.exemplars.len() >= 10_000 || (force && !self.exemplars.is_empty());
        // Series before any sample of theirs: replay drops samples of unknown series.
        if self.series.len() >= 10_000
            || ((force || write_samples || write_ooo || write_histograms || write_exemplars)
                && !self.series.is_empty())
        {
            self.writer
                .log(&[Record::Series(std::mem::take(&mut self.series))])?;
        }
        if write_samples {
            let samples = std::mem::take(&mut self.samples);
            let record = if samples.iter().any(|s| s.3 != 0) {
                Record::SamplesWithStarts(samples)
            } else {
                Record::Samples(samples.into_iter().map(|(r, t, v, _)| (r, t, v)).collect())
            };
            self.writer.log(&[record])?;
        }
        if write_ooo {
            self.writer
                .log(&[Record::OooSamples(std::mem::take(&mut self.ooo))])?;
        }
        if write_histograms {
            self.writer
                .log(&[Record::Histograms(std::mem::take(&mut self.histograms))])?;
        }
        if write_exemplars {
            self.writer
                .log(&[Record::Exemplars(std::mem::take(&mut self.exemplars))])?;
        }
        Ok(())
    }
}

/// Folds the previous checkpoint and segments `..=upto` into `checkpoint.<upto>`: series
/// records for which `keep_series` holds and their samples (in-order and out-of-order) and
/// exemplars at or after `min_t`; then deletes those segments and older checkpoints. Written under a
/// temporary name and renamed, so a crash part-way leaves the old state intact.
///
/// Out-of-order flush markers are dropped: the caller folds only segments logged before
/// the flush to `min_t` started, so every out-of-order sample below `min_t` in them is in
/// a block, and the markers only ever concern samples below their boundary (≤ `min_t`).
pub fn checkpoint(
    dir: &Path,
    upto: u64,
    keep_series: impl Fn(u64) -> bool,
    min_t: i64,
) -> io::Result<CheckpointReport> {
    let mut report = CheckpointReport {
        upto_segment: upto,
        ..CheckpointReport::default()
    };
    let previous = latest_checkpoint(dir)?;
    let tmp = dir.join(format!("{}.tmp", checkpoint_name(upto)));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    let mut out = CheckpointOut {
        writer: WalWriter::open(&tmp)?,
        series: Vec::new(),
        samples: Vec::new(),
        ooo: Vec::new(),
        histograms: Vec::new(),
        exemplars: Vec::new(),
    };
    let mut pending_error: Option<io::Error> = None;
    let mut sources: Vec<(PathBuf, u64)> = Vec::new();
    if let Some((_, path)) = &previous {
        sources.extend(
            segments(path)?
                .into_iter()
                .map(|n| (segment_path(path, n), n)),
        );
    }
    let old: Vec<u64> = segments(dir)?.into_iter().filter(|n| *n <= upto).collect();
    sources.extend(old.iter().map(|n| (segment_path(dir, *n), *n)));
    // Damage in the sources was reported at replay; it is skipped here the same way.
    let mut scan = replay::ScanState::default();
    for (source, segment) in &sources {
        replay::read_segment(source, *segment, &mut scan, &mut |record| {
            if pending_error.is_some() {
                return;
            }
            match record {
                Record::Series(series) => {
                    for (r, labels) in series {
                        if keep_series(r) {
                            report.series_kept += 1;
                            out.series.push((r, labels));
                        }
                    }
                }
                Record::OooSamples(samples) => {
                    for (r, t, v, st) in samples {
                        if t >= min_t && keep_series(r) {
                            report.ooo_samples_kept += 1;
                            out.ooo.push((r, t, v, st));
                        }
                    }
                }
                Record::OooFlush { .. } => {}
                Record::Exemplars(exemplars) => {
                    for (r, e) in exemplars {
                        if e.timestamp_ms >= min_t && keep_series(r) {
                            report.exemplars_kept += 1;
                            out.exemplars.push((r, e));
                        }
                    }
                }
                Record::Histograms(samples) => {
                    for (r, t, h, st) in samples {
                        if t >= min_t && keep_series(r) {
                            if let Err(e) = out.before(true) {
                                pending_error = Some(e);
                                return;
                            }
                            report.samples_kept += 1;
                            out.histograms.push((r, t, h, st));
                        }
                    }
                }
                samples => {
                    for j in 0..samples.sample_count() {
                        let Some((r, t, v, st)) = samples.sample(j) else {
                            continue;
                        };
                        if t >= min_t && keep_series(r) {
                            if !out.histograms.is_empty() {
                                if let Err(e) = out.before(false) {
                                    pending_error = Some(e);
                                    return;
                                }
                            }
                            report.samples_kept += 1;
                            out.samples.push((r, t, v, st));
                        }
                    }
                }
            }
            if let Err(e) = out.flush(false) {
                pending_error = Some(e);
            }
        })?;
        if let Some(e) = pending_error.take() {
            return Err(e);
        }
    }
    out.flush(true)?;
    out.writer.sync()?;
    drop(out);
    let target = dir.join(checkpoint_name(upto));
    fs::rename(&tmp, &target)?;
    File::open(dir)?.sync_all()?;
    for n in old {
        fs::remove_file(segment_path(dir, n))?;
        report.segments_removed += 1;
    }
    if let Some((n, path)) = previous {
        if n != upto {
            fs::remove_dir_all(path)?;
        }
    }
    Ok(report)
}

/// The segment numbers in the WAL directory (not counting checkpoints).
pub fn segment_numbers(dir: &Path) -> io::Result<Vec<u64>> {
    segments(dir)
}
