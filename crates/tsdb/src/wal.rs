//! The write-ahead log: checksummed records in numbered segment files under `wal/`.
//!
//! On-disk format (see ARCHITECTURE.md): segment files named `00000000`, `00000001`, …,
//! each a sequence of records `[u32 LE payload length][u32 LE CRC-32 (IEEE) of the
//! payload][payload]`. A payload starts with its type byte: `1` series (`uvarint ref`,
//! `uvarint label count`, then length-prefixed name and value bytes per label), `2`
//! samples (`uvarint count`, then per sample `uvarint ref`, zigzag `varint timestamp ms`,
//! `f64` LE value bits). Replay stops at the first record that is incomplete or fails its
//! checksum: that segment is cut there and later segments are removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use model::{Label, Labels};

/// Segments are cut at this size.
pub const SEGMENT_SIZE: u64 = 128 << 20;

/// A record cannot be larger than this (a corrupt length must not make us allocate).
const MAX_RECORD: usize = 64 << 20;

const RECORD_SERIES: u8 = 1;
const RECORD_SAMPLES: u8 = 2;

/// One decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Series(Vec<(u64, Labels)>),
    Samples(Vec<(u64, i64, f64)>),
}

/// What replay found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReplayReport {
    pub segments: usize,
    /// The first and last segment numbers replayed.
    pub first_segment: u64,
    pub last_segment: u64,
    pub records: usize,
    /// Set when a torn or corrupt tail was cut: segment and byte offset.
    pub repaired_at: Option<(u64, u64)>,
}

pub fn encode_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn decode_uvarint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn decode_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len = decode_uvarint(buf, pos)? as usize;
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
                encode_uvarint(out, series.len() as u64);
                for (r, labels) in series {
                    encode_uvarint(out, *r);
                    encode_uvarint(out, labels.len() as u64);
                    for l in labels.iter() {
                        encode_uvarint(out, l.name.len() as u64);
                        out.extend_from_slice(l.name.as_bytes());
                        encode_uvarint(out, l.value.len() as u64);
                        out.extend_from_slice(l.value.as_bytes());
                    }
                }
            }
            Record::Samples(samples) => {
                out.push(RECORD_SAMPLES);
                encode_uvarint(out, samples.len() as u64);
                for (r, t, v) in samples {
                    encode_uvarint(out, *r);
                    encode_uvarint(out, ((t << 1) ^ (t >> 63)) as u64);
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                }
            }
        }
    }

    pub fn decode(buf: &[u8]) -> Option<Record> {
        let mut pos = 1;
        let count = decode_uvarint(buf, &mut pos)? as usize;
        match *buf.first()? {
            RECORD_SERIES => {
                let mut series = Vec::with_capacity(count.min(4096));
                for _ in 0..count {
                    let r = decode_uvarint(buf, &mut pos)?;
                    let n = decode_uvarint(buf, &mut pos)? as usize;
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
                        Labels::from_pairs(pairs.into_iter().map(|l| (l.name, l.value))),
                    ));
                }
                Some(Record::Series(series))
            }
            RECORD_SAMPLES => {
                let mut samples = Vec::with_capacity(count.min(1 << 16));
                for _ in 0..count {
                    let r = decode_uvarint(buf, &mut pos)?;
                    let z = decode_uvarint(buf, &mut pos)?;
                    let t = ((z >> 1) as i64) ^ -((z & 1) as i64);
                    let bits = buf.get(pos..pos + 8)?;
                    pos += 8;
                    let v = f64::from_bits(u64::from_le_bytes(bits.try_into().ok()?));
                    samples.push((r, t, v));
                }
                Some(Record::Samples(samples))
            }
            _ => None,
        }
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

/// Reads every record in order, calling `apply` for each; cuts a torn or corrupt tail.
pub fn replay(dir: &Path, mut apply: impl FnMut(Record)) -> io::Result<ReplayReport> {
    fs::create_dir_all(dir)?;
    let mut report = ReplayReport::default();
    let numbers = segments(dir)?;
    report.first_segment = numbers.first().copied().unwrap_or(0);
    for (i, &n) in numbers.iter().enumerate() {
        report.segments += 1;
        report.last_segment = n;
        let path = segment_path(dir, n);
        let mut data = Vec::new();
        File::open(&path)?.read_to_end(&mut data)?;
        let mut pos = 0usize;
        let mut bad = false;
        while pos < data.len() {
            let Some(header) = data.get(pos..pos + 8) else {
                bad = true;
                break;
            };
            let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let Some(payload) = (len <= MAX_RECORD)
                .then(|| data.get(pos + 8..pos + 8 + len))
                .flatten()
            else {
                bad = true;
                break;
            };
            if crc32fast::hash(payload) != crc {
                bad = true;
                break;
            }
            match Record::decode(payload) {
                Some(record) => apply(record),
                None => {
                    bad = true;
                    break;
                }
            }
            report.records += 1;
            pos += 8 + len;
        }
        if bad {
            report.repaired_at = Some((n, pos as u64));
            OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(pos as u64)?;
            for &later in &numbers[i + 1..] {
                fs::remove_file(segment_path(dir, later))?;
            }
            break;
        }
    }
    Ok(report)
}

/// Appends records to the newest segment.
pub struct WalWriter {
    dir: PathBuf,
    segment: u64,
    size: u64,
    file: BufWriter<File>,
    scratch: Vec<u8>,
}

impl WalWriter {
    /// Opens for appending after replay: continues the last segment.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let segment = segments(dir)?.last().copied().unwrap_or(0);
        let path = segment_path(dir, segment);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            dir: dir.to_path_buf(),
            segment,
            size,
            file: BufWriter::with_capacity(1 << 16, file),
            scratch: Vec::new(),
        })
    }

    /// Writes the records and hands them to the operating system (they survive a crash
    /// of the process; `sync` makes them survive a crash of the machine).
    pub fn log(&mut self, records: &[Record]) -> io::Result<()> {
        for record in records {
            self.scratch.clear();
            record.encode(&mut self.scratch);
            let framed = 8 + self.scratch.len() as u64;
            if self.size > 0 && self.size + framed > SEGMENT_SIZE {
                self.cut()?;
            }
            self.file
                .write_all(&(self.scratch.len() as u32).to_le_bytes())?;
            self.file
                .write_all(&crc32fast::hash(&self.scratch).to_le_bytes())?;
            self.file.write_all(&self.scratch)?;
            self.size += framed;
        }
        self.file.flush()
    }

    fn cut(&mut self) -> io::Result<()> {
        self.sync()?;
        self.segment += 1;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(&self.dir, self.segment))?;
        self.file = BufWriter::with_capacity(1 << 16, file);
        self.size = 0;
        Ok(())
    }

    /// Flushes and fsyncs the current segment.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }

    /// Bytes in the current segment.
    pub fn segment_size(&self) -> u64 {
        self.size
    }
}
