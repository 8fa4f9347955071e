//! XOR chunks: Prometheus's (Gorilla) compression of (timestamp, float) samples.
//!
//! Layout: 2 bytes big-endian sample count, then a bit stream. The first sample is a
//! signed varint timestamp and the raw 64-bit value; the second a uvarint timestamp delta
//! and an XOR-encoded value; later ones a delta-of-delta timestamp in a prefix-coded
//! bucket (`0`, `10`+14 bits, `110`+17, `1110`+20, `1111`+64) and an XOR-encoded value
//! (`0` same value, `10` reuse the previous leading/trailing zero window, `11` + 5 bits
//! leading zeros + 6 bits significant length + the bits).
//!
//! Start timestamps (our extension; Prometheus's own XOR2 format differs): a chunk whose
//! count has bit 15 set carries each sample's start timestamp (ST) after its value: `0`
//! the previous sample's ST again (0, "unknown", before the first), `10` the previous
//! sample's timestamp (delta series), `110` no ST (0), `111` + varint (T − ST). A series
//! without STs never pays for them: its chunks are plain XOR chunks.

use super::bits::{
    fits, sign_extend, write_uvarint, write_varint, write_xor, BitReader, BitWriter,
};

/// Samples per chunk before a new one is cut (Prometheus's default).
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// The count header's flag for "start timestamps follow each value".
const HAS_STARTS: u16 = 0x8000;

/// Whether encoded chunk bytes carry start timestamps.
pub fn has_starts(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && u16::from_be_bytes([bytes[0], bytes[1]]) & HAS_STARTS != 0
}

/// The number of samples in encoded chunk bytes (0 if too short to say).
pub fn sample_count(bytes: &[u8]) -> u16 {
    match bytes {
        [a, b, ..] => u16::from_be_bytes([*a, *b]) & !HAS_STARTS,
        _ => 0,
    }
}

/// An XOR chunk being appended to.
#[derive(Debug, Clone, Default)]
pub struct XorChunk {
    stream: BitWriter,
    count: u16,
    last_t: i64,
    last_delta: i64,
    last_v: u64,
    leading: u8,
    trailing: u8,
    /// Whether each sample's start timestamp is stored.
    with_starts: bool,
    last_st: i64,
}

impl XorChunk {
    pub fn new() -> Self {
        Self {
            leading: 0xff,
            ..Self::default()
        }
    }

    /// A chunk that also stores each sample's start timestamp.
    pub fn with_starts() -> Self {
        Self {
            with_starts: true,
            ..Self::new()
        }
    }

    /// A chunk like the one `bytes` encode: with start timestamps if those have them.
    pub fn like(bytes: &[u8]) -> Self {
        if has_starts(bytes) {
            Self::with_starts()
        } else {
            Self::new()
        }
    }

    /// Whether this chunk stores start timestamps.
    pub fn has_starts(&self) -> bool {
        self.with_starts
    }

    /// Appends a sample with its start timestamp (0: none). A chunk made by
    /// [`XorChunk::new`] ignores the start timestamp: the caller cuts a new chunk first.
    pub fn append_st(&mut self, t: i64, v: f64, st: i64) {
        let prev_t = self.last_t;
        let first = self.count == 0;
        self.append_value(t, v);
        if !self.with_starts {
            return;
        }
        let w = &mut self.stream;
        if st == self.last_st {
            w.write_bit(false);
        } else if !first && st == prev_t {
            w.write_bits(0b10, 2);
        } else if st == 0 {
            w.write_bits(0b110, 3);
        } else {
            w.write_bits(0b111, 3);
            write_varint(w, t.wrapping_sub(st));
        }
        self.last_st = st;
    }

    pub fn len(&self) -> u16 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The timestamp of the last sample (meaningless when empty).
    pub fn last_timestamp(&self) -> i64 {
        self.last_t
    }

    /// Appends a sample; timestamps must increase (the caller checks order).
    pub fn append(&mut self, t: i64, v: f64) {
        if self.with_starts {
            self.append_st(t, v, 0);
        } else {
            self.append_value(t, v);
        }
    }

    /// The XOR part of an append.
    ///
    /// In a chunk with start timestamps, this must be followed by the start timestamp's
    /// code: use [`XorChunk::append_st`] there.
    fn append_value(&mut self, t: i64, v: f64) {
        let bits = v.to_bits();
        match self.count {
            0 => {
                write_varint(&mut self.stream, t);
                self.stream.write_bits(bits, 64);
            }
            1 => {
                let delta = t.wrapping_sub(self.last_t);
                write_uvarint(&mut self.stream, delta as u64);
                self.write_value(bits);
                self.last_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.last_t);
                let dod = delta.wrapping_sub(self.last_delta);
                let w = &mut self.stream;
                if dod == 0 {
                    w.write_bit(false);
                } else if fits(dod, 14) {
                    w.write_bits(0b10, 2);
                    w.write_bits(dod as u64, 14);
                } else if fits(dod, 17) {
                    w.write_bits(0b110, 3);
                    w.write_bits(dod as u64, 17);
                } else if fits(dod, 20) {
                    w.write_bits(0b1110, 4);
                    w.write_bits(dod as u64, 20);
                } else {
                    w.write_bits(0b1111, 4);
                    w.write_bits(dod as u64, 64);
                }
                self.write_value(bits);
                self.last_delta = delta;
            }
        }
        self.last_t = t;
        self.last_v = bits;
        self.count += 1;
    }

    fn write_value(&mut self, bits: u64) {
        write_xor(
            &mut self.stream,
            bits,
            self.last_v,
            &mut self.leading,
            &mut self.trailing,
        );
    }

    /// The encoded chunk (count header plus stream).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.stream.bytes.len());
        let header = if self.with_starts {
            self.count | HAS_STARTS
        } else {
            self.count
        };
        out.extend_from_slice(&header.to_be_bytes());
        out.extend_from_slice(&self.stream.bytes);
        out
    }

    /// The first sample's timestamp (`None` while empty): the stream starts with it as a
    /// zigzag varint, byte aligned.
    pub fn first_timestamp(&self) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        crate::varint::read_varint(&self.stream.bytes, &mut 0)
    }

    /// Bytes held, for memory accounting.
    pub fn size(&self) -> usize {
        2 + self.stream.bytes.len()
    }

    /// Where the next sample will be written (for prefetching).
    pub(crate) fn tail_ptr(&self) -> *const u8 {
        self.stream
            .bytes
            .as_ptr()
            .wrapping_add(self.stream.bytes.len().saturating_sub(1))
    }

    /// Iterates the samples.
    pub fn iter(&self) -> XorIter<'_> {
        XorIter::over(&self.stream.bytes, self.count, self.with_starts)
    }
}

/// Iterator over an encoded XOR stream.
pub struct XorIter<'a> {
    reader: BitReader<'a>,
    remaining: u16,
    read: u16,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
    failed: bool,
    with_starts: bool,
    st: i64,
}

impl<'a> XorIter<'a> {
    fn over(stream: &'a [u8], count: u16, with_starts: bool) -> Self {
        Self {
            reader: BitReader::new(stream),
            remaining: count,
            read: 0,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            failed: false,
            with_starts,
            st: 0,
        }
    }

    /// Whether the chunk stores start timestamps.
    pub fn has_starts(&self) -> bool {
        self.with_starts
    }

    /// The next sample with its start timestamp (0 when none).
    pub fn next_st(&mut self) -> Option<(i64, f64, i64)> {
        let (t, v) = self.next()?;
        Some((t, v, self.st))
    }

    /// Iterates a chunk as [`XorChunk::bytes`] wrote it; `None` if it is too short.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < 2 {
            return None;
        }
        let header = u16::from_be_bytes([bytes[0], bytes[1]]);
        Some(Self::over(
            &bytes[2..],
            header & !HAS_STARTS,
            header & HAS_STARTS != 0,
        ))
    }

    /// Samples not yet read.
    pub fn remaining(&self) -> usize {
        usize::from(self.remaining)
    }

    /// Whether the stream ended early (corrupt chunk).
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn next_sample(&mut self) -> Option<(i64, f64)> {
        let prev_t = self.t;
        let r = &mut self.reader;
        match self.read {
            0 => {
                self.t = r.read_varint()?;
                self.v = r.read_bits(64)?;
            }
            1 => {
                self.delta = r.read_uvarint()? as i64;
                self.t = self.t.wrapping_add(self.delta);
                self.read_value()?;
            }
            _ => {
                let mut prefix = 0u8;
                for _ in 0..4 {
                    if !r.read_bit()? {
                        break;
                    }
                    prefix += 1;
                }
                let dod = match prefix {
                    0 => 0,
                    1 => sign_extend(r.read_bits(14)?, 14),
                    2 => sign_extend(r.read_bits(17)?, 17),
                    3 => sign_extend(r.read_bits(20)?, 20),
                    _ => r.read_bits(64)? as i64,
                };
                self.delta = self.delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.delta);
                self.read_value()?;
            }
        }
        if self.with_starts {
            self.read_start(prev_t)?;
        }
        self.read += 1;
        Some((self.t, f64::from_bits(self.v)))
    }

    fn read_start(&mut self, prev_t: i64) -> Option<()> {
        let r = &mut self.reader;
        if !r.read_bit()? {
            return Some(());
        }
        if !r.read_bit()? {
            // The previous sample's timestamp; never written for a chunk's first sample.
            if self.read == 0 {
                return None;
            }
            self.st = prev_t;
        } else if !r.read_bit()? {
            self.st = 0;
        } else {
            self.st = self.t.wrapping_sub(r.read_varint()?);
        }
        Some(())
    }

    fn read_value(&mut self) -> Option<()> {
        self.v = self
            .reader
            .read_xor(self.v, &mut self.leading, &mut self.trailing)?;
        Some(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.remaining == 0 || self.failed {
            return None;
        }
        match self.next_sample() {
            Some(s) => {
                self.remaining -= 1;
                Some(s)
            }
            None => {
                self.failed = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(samples: &[(i64, f64)]) {
        let mut c = XorChunk::new();
        for (t, v) in samples {
            c.append(*t, *v);
        }
        let bytes = c.bytes();
        let back: Vec<(i64, f64)> = XorIter::from_bytes(&bytes).unwrap().collect();
        assert_eq!(back.len(), samples.len());
        for (a, b) in back.iter().zip(samples) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "value at {}", a.0);
        }
        let direct: Vec<(i64, f64)> = c.iter().collect();
        assert_eq!(direct.len(), samples.len());
    }

    #[test]
    fn regular_scrapes_compress_well() {
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| (1_700_000_000_000 + i * 15_000, 1000.0 + i as f64))
            .collect();
        roundtrip(&samples);
        let mut c = XorChunk::new();
        for (t, v) in &samples {
            c.append(*t, *v);
        }
        // A counter scraped at a steady interval: a couple of bytes per sample.
        assert!(c.size() < 120 * 3, "{} bytes", c.size());
    }

    #[test]
    fn awkward_values_and_jitter() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut t = -5_000i64;
        let mut samples = Vec::new();
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            model_stale(),
        ];
        for i in 0..120 {
            t += match i % 5 {
                0 => 1,
                1 => 15_000 + (rand() % 100) as i64,
                2 => 1 << 19,
                3 => 1 << 40,
                _ => 15_000,
            };
            let v = if i % 7 == 0 {
                specials[i % specials.len()]
            } else {
                f64::from_bits(rand())
            };
            samples.push((t, v));
        }
        roundtrip(&samples);
        roundtrip(&[(42, 1.0)]);
        roundtrip(&[]);
    }

    fn model_stale() -> f64 {
        f64::from_bits(0x7ff0_0000_0000_0002)
    }

    #[test]
    fn truncated_chunks_fail_without_panicking() {
        let mut c = XorChunk::new();
        for i in 0..50 {
            c.append(i * 1000, i as f64 * 1.5);
        }
        let bytes = c.bytes();
        for cut in 0..bytes.len() {
            if let Some(iter) = XorIter::from_bytes(&bytes[..cut]) {
                assert!(iter.count() <= 50);
            }
        }
    }

    #[test]
    fn random_values_and_times_round_trip() {
        // Full 64-bit values at odd bit offsets exercise the word-wise reader's edges.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut t = -5_000i64;
        let mut samples = Vec::new();
        for i in 0..120 {
            t += (next() % 100_000) as i64 - if i % 7 == 0 { 0 } else { 20_000 }.min(0);
            let v = match i % 4 {
                0 => f64::from_bits(next() >> 2),
                1 => (next() % 1000) as f64,
                2 => -((next() % 7) as f64) * 0.5,
                _ => f64::NAN,
            };
            samples.push((t, v));
        }
        let mut c = XorChunk::new();
        for (t, v) in &samples {
            c.append(*t, *v);
        }
        let bytes = c.bytes();
        let back: Vec<(i64, f64)> = XorIter::from_bytes(&bytes).unwrap().collect();
        assert_eq!(back.len(), samples.len());
        for (a, b) in back.iter().zip(&samples) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits());
        }
    }
    #[test]
    fn start_timestamps_round_trip() {
        // Cumulative (constant ST), delta (ST = previous T), unknown (0), arbitrary, and
        // ST = T and ST after T (stored as given; PromQL decides what they mean).
        let samples: Vec<(i64, f64, i64)> = vec![
            (60_000, 1.0, 0),
            (120_000, 2.0, 30_000),
            (180_000, 3.0, 30_000),
            (240_000, 4.0, 180_000),
            (300_000, 5.0, 240_000),
            (360_000, 6.0, 0),
            (420_000, 7.0, 420_000),
            (480_000, 8.0, 480_001),
            (540_000, 9.0, -5),
            (600_000, 10.0, i64::MIN + 1),
        ];
        let mut c = XorChunk::with_starts();
        for (t, v, st) in &samples {
            c.append_st(*t, *v, *st);
        }
        let bytes = c.bytes();
        assert!(has_starts(&bytes));
        let mut iter = XorIter::from_bytes(&bytes).unwrap();
        assert!(iter.has_starts());
        let mut back = Vec::new();
        while let Some(s) = iter.next_st() {
            back.push(s);
        }
        assert_eq!(back, samples);
        let mut direct = c.iter();
        assert_eq!(direct.next_st(), Some(samples[0]));
        // A plain chunk reports no starts and no flag.
        let mut plain = XorChunk::new();
        plain.append_st(1, 1.0, 5);
        assert!(!has_starts(&plain.bytes()));
        assert_eq!(
            XorIter::from_bytes(&plain.bytes()).unwrap().next_st(),
            Some((1, 1.0, 0))
        );
        // Truncations of an ST chunk fail without panicking.
        for cut in 0..bytes.len() {
            if let Some(iter) = XorIter::from_bytes(&bytes[..cut]) {
                assert!(iter.count() <= samples.len());
            }
        }
    }

    #[test]
    fn cumulative_start_timestamps_cost_a_bit_per_sample() {
        let mut plain = XorChunk::new();
        let mut with = XorChunk::with_starts();
        for i in 0..120 {
            plain.append(i * 15_000, i as f64);
            with.append_st(i * 15_000, i as f64, -3_600_000);
        }
        // The first ST costs a varint; every later one a single bit.
        assert!(
            with.size() <= plain.size() + 4 + 120 / 8 + 1,
            "{} vs {}",
            with.size(),
            plain.size()
        );
    }
}
