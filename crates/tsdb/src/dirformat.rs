//! Recognizing a data directory written by Prometheus, before anything in it is touched.
//!
//! Promethium takes Prometheus's flags, so it is easily started on Prometheus's
//! `--storage.tsdb.path`. The two share file names (`lock`, `wal/00000000`,
//! `wal/checkpoint.N`, `<ULID>/meta.json`, `*.tmp-for-creation`) but not formats, and
//! opening a directory repairs it: a WAL that does not parse is cut as a torn tail,
//! temporary directories are removed. Done to Prometheus's files, that destroys its data
//! (its WAL was cut to 0 bytes). So `Db::open` first looks, reading only, and refuses a
//! directory that holds Prometheus's formats, naming what it found.
//!
//! Evidence counts when it is a format, not a name: a WAL segment whose first record is a
//! valid Prometheus record (7-byte header, CRC-32C, 32 KiB pages), a head chunk file or
//! block index or tombstones file with Prometheus's magic number. Names alone
//! (`chunks_head/`, `queries.active`, `wbl/`, `chunk_snapshot.*`) count only when nothing
//! of ours is there: a Prometheus started on our directory by mistake leaves a
//! `queries.active` before it fails (see `lock`), and that must not lock us out.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use crate::wal::MAX_RECORD;

/// Prometheus's magic numbers (big-endian at the start of the file).
const PROM_INDEX_MAGIC: u32 = 0xBAAA_D700;
const PROM_HEAD_CHUNKS_MAGIC: u32 = 0x0130_BC91;
const PROM_TOMBSTONES_MAGIC: u32 = 0x0130_BA30;
/// Prometheus's WAL page size: records never cross a page without being split.
const PROM_PAGE: usize = 32 * 1024;
const PROM_RECORD_HEADER: usize = 7;

/// What a look at a directory found.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    /// Files in one of Prometheus's formats (proof).
    pub prometheus: Vec<String>,
    /// Names Prometheus uses that hold nothing recognizable.
    pub hints: Vec<String>,
    /// Something in our own formats is there.
    pub ours: bool,
}

impl Findings {
    /// Whether the directory is Prometheus's: any proof, or only Prometheus's names and
    /// nothing of ours.
    pub fn is_prometheus(&self) -> bool {
        !self.prometheus.is_empty() || (!self.hints.is_empty() && !self.ours)
    }

    /// What was found, for the error.
    pub fn describe(&self) -> String {
        let mut all = self.prometheus.clone();
        all.extend(self.hints.iter().cloned());
        all.join("; ")
    }
}

/// CRC-32 with the Castagnoli polynomial (Prometheus's WAL checksum, and remote read's
/// frame checksum).
pub fn crc32c(data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0x82F6_3B78 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    }
    const TABLE: [u32; 256] = table();
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Up to `n` bytes from the start of a file.
fn head_of(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n.min(1 << 20));
    File::open(path)?.take(n as u64).read_to_end(&mut out)?;
    Ok(out)
}

fn magic_of(path: &Path) -> Option<u32> {
    let bytes = head_of(path, 4).ok()?;
    Some(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// Whose format a WAL segment is in, judged by its first record.
#[derive(Debug, PartialEq, Eq)]
enum WalFormat {
    Ours,
    Prometheus,
    Unknown,
}

fn wal_format(path: &Path) -> WalFormat {
    let Ok(page) = head_of(path, PROM_PAGE) else {
        return WalFormat::Unknown;
    };
    // Ours: u32 LE length, u32 LE CRC-32 (IEEE) of the payload.
    if let Some(header) = page.get(..8) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if (1..=MAX_RECORD).contains(&len) {
            let longer;
            let whole = if 8 + len <= page.len() {
                Some(&page)
            } else {
                longer = head_of(path, 8 + len).ok();
                longer.as_ref()
            };
            if let Some(payload) = whole.and_then(|w| w.get(8..8 + len)) {
                if crc32fast::hash(payload) == crc {
                    return WalFormat::Ours;
                }
            }
        }
    }
    // Prometheus's: type byte (full or first fragment, perhaps with a compression flag),
    // u16 BE length, u32 BE CRC-32C, within the first 32 KiB page.
    if let Some(header) = page.get(..PROM_RECORD_HEADER) {
        let kind = header[0];
        let len = usize::from(u16::from_be_bytes([header[1], header[2]]));
        let crc = u32::from_be_bytes([header[3], header[4], header[5], header[6]]);
        let plausible = kind & !0x1f == 0 && matches!(kind & 0x07, 1 | 2) && len > 0;
        if plausible {
            if let Some(payload) = page.get(PROM_RECORD_HEADER..PROM_RECORD_HEADER + len) {
                if crc32c(payload) == crc {
                    return WalFormat::Prometheus;
                }
            }
        }
    }
    WalFormat::Unknown
}

/// Names in a directory made only of digits (WAL segments: 8, head chunk files: 6),
/// sorted.
fn digit_names(dir: &Path, len: Option<usize>) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            !n.is_empty()
                && len.is_none_or(|l| n.len() == l)
                && n.bytes().all(|b| b.is_ascii_digit())
        })
        .collect();
    out.sort();
    out
}

/// Classifies the segments of a WAL directory (and of its checkpoints) into `findings`.
fn inspect_wal(dir: &Path, shown: &str, findings: &mut Findings) {
    let mut dirs = vec![(dir.to_path_buf(), shown.to_string())];
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("checkpoint.") && entry.path().is_dir() {
            dirs.push((entry.path(), format!("{shown}/{name}")));
        }
    }
    for (path, shown) in dirs {
        for segment in digit_names(&path, Some(8)) {
            match wal_format(&path.join(&segment)) {
                WalFormat::Ours => findings.ours = true,
                WalFormat::Prometheus => {
                    findings.prometheus.push(format!(
                        "{shown}/{segment} is a WAL segment in Prometheus's format (32 KiB pages, CRC-32C records)"
                    ));
                    // One segment proves it; reading every other one adds nothing.
                    return;
                }
                WalFormat::Unknown => {}
            }
        }
    }
}

/// Looks at `dir` without changing anything. A directory that does not exist is empty.
pub(crate) fn inspect(dir: &Path) -> io::Result<Findings> {
    let mut findings = Findings::default();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(findings),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let is_dir = path.is_dir();
        match name.as_str() {
            "head_chunks_spill" if is_dir => findings.ours = true,
            "wal" if is_dir => inspect_wal(&path, "wal", &mut findings),
            "wbl" if is_dir => {
                inspect_wal(&path, "wbl", &mut findings);
                findings
                    .hints
                    .push("wbl/ (Prometheus's out-of-order write-behind log)".into());
            }
            "chunks_head" if is_dir => {
                let proof = digit_names(&path, None)
                    .into_iter()
                    .find(|f| magic_of(&path.join(f)) == Some(PROM_HEAD_CHUNKS_MAGIC));
                match proof {
                    Some(f) => findings.prometheus.push(format!(
                        "chunks_head/{f} is a Prometheus head chunk file (magic 0x0130BC91)"
                    )),
                    None => findings
                        .hints
                        .push("chunks_head/ (where Prometheus keeps head chunks)".into()),
                }
            }
            // Ours is a directory (see `lock`); Prometheus's is a file.
            "queries.active" if !is_dir => findings
                .hints
                .push("queries.active (Prometheus's active query log)".into()),
            _ if name.starts_with("chunk_snapshot.") => findings
                .hints
                .push(format!("{name} (a Prometheus head snapshot)")),
            _ if is_dir && crate::is_block_dir_name(&name) => {
                inspect_block(&path, &name, &mut findings)
            }
            _ => {}
        }
    }
    Ok(findings)
}

fn inspect_block(path: &Path, name: &str, findings: &mut Findings) {
    let index = path.join("index");
    match head_of(&index, 4).ok().as_deref() {
        Some(b"PMIX") => {
            findings.ours = true;
            return;
        }
        Some(magic) if magic == PROM_INDEX_MAGIC.to_be_bytes() => {
            findings.prometheus.push(format!(
                "{name}/index is a Prometheus block index (magic 0xBAAAD700)"
            ));
            return;
        }
        _ => {}
    }
    if magic_of(&path.join("tombstones")) == Some(PROM_TOMBSTONES_MAGIC) {
        findings.prometheus.push(format!(
            "{name}/tombstones is a Prometheus tombstones file (magic 0x0130BA30)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn a_prometheus_wal_record_is_recognized() {
        let dir = tempfile::tempdir().unwrap();
        let payload = b"\x01\x00some series record";
        let mut page = vec![1u8];
        page.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        page.extend_from_slice(&crc32c(payload).to_be_bytes());
        page.extend_from_slice(payload);
        std::fs::write(dir.path().join("00000000"), &page).unwrap();
        assert_eq!(
            wal_format(&dir.path().join("00000000")),
            WalFormat::Prometheus
        );
        // One flipped bit and it is nobody's.
        page[10] ^= 1;
        std::fs::write(dir.path().join("00000000"), &page).unwrap();
        assert_eq!(wal_format(&dir.path().join("00000000")), WalFormat::Unknown);
    }
}
