//! Packed float chunks (our encoding 0x84), written only into persisted blocks: values as
//! scaled decimal integers and timestamps as deltas of deltas, each stream bit-packed at
//! the width that makes it smallest. Scraped values are mostly integers or numbers with a
//! few decimal digits (counters, byte counts, gauges like 0.5), which Gorilla's XOR code
//! stores in 10–30 bits each; as integers their deltas often fit in a few bits.
//!
//! ```text
//! chunk      = uvarint n, timestamps, values
//! timestamps = varint t0; if n ≥ 2 uvarint (t1 − t0); if n ≥ 3 stream of the n − 2
//!              deltas of deltas
//! values     = byte transform (0 raw, 1 delta, 2 delta of delta), byte exponent e,
//!              uvarint special count, per special (uvarint index − previous index − 1
//!              (first: index), 8 bytes little-endian f64 bits),
//!              the anchors (delta: varint m0; delta of delta: varint m0, varint m1 − m0),
//!              stream of the remaining n − anchors transformed integers
//! stream     = varint min, uvarint gcd, byte width w, uvarint exception count,
//!              ⌈count × w / 8⌉ bytes: the low w bits of each (x − min) / gcd, least
//!              significant bit first; per exception (a value wider than w) uvarint
//!              (position − previous exception's position − 1 (first: position)), uvarint
//!              the bits above w
//! ```
//!
//! Sample `i`'s value is `m_i / 10^e` (`m_i` the integers after undoing the transform),
//! bit for bit the float that was stored: a value is only written this way when that
//! division gives it back exactly. Values that do not (NaN and staleness markers, ±Inf,
//! −0, values with more than 15 decimal digits) are specials stored as raw bits, with the
//! previous integer repeated in their place so that they cost the streams nothing. A chunk
//! with too many specials is not packed (the XOR chunks stay).

use crate::varint::{put_uvarint, put_varint, read_uvarint, unzigzag, uvarint_len, zigzag};

/// The largest decimal exponent tried: beyond 15 digits, f64 stops being exact.
const MAX_EXPONENT: u8 = 15;
/// Scaled integers stay within f64's exact integers, so deltas of deltas fit an i64.
const MAX_SCALED: f64 = 9_007_199_254_740_992.0; // 2^53
/// The most samples a packed chunk holds (written; reading accepts any u16 count).
pub const MAX_SAMPLES: usize = 480;

const RAW: u8 = 0;
const DELTA: u8 = 1;
const DELTA_OF_DELTA: u8 = 2;

fn pow10(e: u8) -> f64 {
    10f64.powi(i32::from(e))
}

/// `v` as an integer scaled by 10^e, if dividing that integer by 10^e gives `v` back bit
/// for bit.
fn scaled(v: f64, e: u8) -> Option<i64> {
    let m = (v * pow10(e)).round();
    // NaN and infinities fail this too.
    if m.is_nan() || m.abs() > MAX_SCALED {
        return None;
    }
    let m = m as i64;
    ((m as f64 / pow10(e)).to_bits() == v.to_bits()).then_some(m)
}

/// The smallest exponent at which `v` is a scaled integer.
fn exponent_of(v: f64) -> Option<u8> {
    (0..=MAX_EXPONENT).find(|&e| scaled(v, e).is_some())
}

/// Encodes samples (strictly increasing timestamps) as a packed chunk; `None` when there
/// are none, more than [`MAX_SAMPLES`], or when too many values are not decimals.
pub fn encode(samples: &[(i64, f64)]) -> Option<Vec<u8>> {
    let n = samples.len();
    if n == 0 || n > MAX_SAMPLES {
        return None;
    }
    // The exponent: the largest any value needs; values needing none at all are specials.
    let mut e = 0u8;
    let mut misfits = 0usize;
    for &(_, v) in samples {
        match exponent_of(v) {
            Some(x) => e = e.max(x),
            None => misfits += 1,
        }
    }
    if misfits > n / 8 {
        return None;
    }
    let mut ints = Vec::with_capacity(n);
    let mut specials = Vec::new();
    let mut previous = 0i64;
    for (i, &(_, v)) in samples.iter().enumerate() {
        match scaled(v, e) {
            Some(m) => {
                ints.push(m);
                previous = m;
            }
            None => {
                specials.push((i, v.to_bits()));
                ints.push(previous);
            }
        }
    }
    if specials.len() > n / 8 {
        return None;
    }

    let mut out = Vec::with_capacity(16 + n * 2);
    put_uvarint(&mut out, n as u64);
    put_varint(&mut out, samples[0].0);
    if n >= 2 {
        put_uvarint(&mut out, samples[1].0.wrapping_sub(samples[0].0) as u64);
    }
    if n >= 3 {
        let dods: Vec<i64> = samples
            .windows(3)
            .map(|w| (w[2].0.wrapping_sub(w[1].0)).wrapping_sub(w[1].0.wrapping_sub(w[0].0)))
            .collect();
        write_stream(&mut out, &dods, &plan(&dods));
    }

    // The transform whose stream is smallest.
    let deltas: Vec<i64> = ints.windows(2).map(|w| w[1] - w[0]).collect();
    let dods: Vec<i64> = deltas.windows(2).map(|w| w[1] - w[0]).collect();
    let mut best = (RAW, plan(&ints));
    if n >= 2 {
        let p = plan(&deltas);
        if p.bytes < best.1.bytes {
            best = (DELTA, p);
        }
    }
    if n >= 3 {
        let p = plan(&dods);
        if p.bytes < best.1.bytes {
            best = (DELTA_OF_DELTA, p);
        }
    }
    out.push(best.0);
    out.push(e);
    put_uvarint(&mut out, specials.len() as u64);
    let mut next = 0usize;
    for &(i, bits) in &specials {
        put_uvarint(&mut out, (i - next) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        next = i + 1;
    }
    match best.0 {
        RAW => write_stream(&mut out, &ints, &best.1),
        DELTA => {
            put_varint(&mut out, ints[0]);
            write_stream(&mut out, &deltas, &best.1);
        }
        _ => {
            put_varint(&mut out, ints[0]);
            put_varint(&mut out, deltas[0]);
            write_stream(&mut out, &dods, &best.1);
        }
    }
    Some(out)
}

/// The number of samples in a packed chunk (0 if it does not say).
pub fn sample_count(bytes: &[u8]) -> u16 {
    let mut r = Reader { bytes, at: 0 };
    r.uvarint().and_then(|n| u16::try_from(n).ok()).unwrap_or(0)
}

/// Decodes a packed chunk, appending its samples to `out`; `None` if the bytes are not
/// one (what was appended before the damage stays).
pub fn decode_into(bytes: &[u8], out: &mut Vec<(i64, f64)>) -> Option<()> {
    let mut r = Reader { bytes, at: 0 };
    let n = usize::try_from(r.uvarint()?).ok()?;
    if n == 0 || n > usize::from(u16::MAX) {
        return None;
    }
    let base = out.len();
    let mut t = r.varint()?;
    let mut times = Vec::with_capacity(n);
    times.push(t);
    if n >= 2 {
        let mut delta = r.uvarint()? as i64;
        t = t.wrapping_add(delta);
        times.push(t);
        if n >= 3 {
            for dod in read_stream(&mut r, n - 2)? {
                delta = delta.wrapping_add(dod);
                t = t.wrapping_add(delta);
                times.push(t);
            }
        }
    }
    let transform = r.byte()?;
    let e = r.byte()?;
    if e > MAX_EXPONENT {
        return None;
    }
    let special_count = usize::try_from(r.uvarint()?).ok()?;
    if special_count > n {
        return None;
    }
    let mut specials = Vec::with_capacity(special_count);
    let mut next = 0usize;
    for _ in 0..special_count {
        let i = next.checked_add(usize::try_from(r.uvarint()?).ok()?)?;
        if i >= n {
            return None;
        }
        specials.push((i, f64::from_bits(u64::from_le_bytes(r.array()?))));
        next = i + 1;
    }
    let ints: Vec<i64> = match transform {
        RAW => read_stream(&mut r, n)?,
        DELTA => {
            let mut m = r.varint()?;
            let mut ints = Vec::with_capacity(n);
            ints.push(m);
            for d in read_stream(&mut r, n - 1)? {
                m = m.wrapping_add(d);
                ints.push(m);
            }
            ints
        }
        DELTA_OF_DELTA => {
            let mut m = r.varint()?;
            let mut ints = Vec::with_capacity(n);
            ints.push(m);
            if n >= 2 {
                let mut delta = r.varint()?;
                m = m.wrapping_add(delta);
                ints.push(m);
                for dod in read_stream(&mut r, n - 2)? {
                    delta = delta.wrapping_add(dod);
                    m = m.wrapping_add(delta);
                    ints.push(m);
                }
            }
            ints
        }
        _ => return None,
    };
    let scale = pow10(e);
    out.reserve(n);
    out.extend(
        times
            .into_iter()
            .zip(ints)
            .map(|(t, m)| (t, m as f64 / scale)),
    );
    for (i, v) in specials {
        out[base + i].1 = v;
    }
    Some(())
}

/// A stream's shape: what each value is stored as, and its size in bytes.
struct StreamPlan {
    min: i64,
    gcd: u64,
    width: u32,
    bytes: usize,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn bit_len(v: u64) -> u32 {
    64 - v.leading_zeros()
}

fn plan(xs: &[i64]) -> StreamPlan {
    let min = xs.iter().copied().min().unwrap_or(0);
    let mut g = 0u64;
    for &x in xs {
        // x − min ≥ 0 always; it fits a u64 even across the whole i64 range.
        g = gcd(g, x.wrapping_sub(min) as u64);
        if g == 1 {
            break;
        }
    }
    let divisor = g.max(1);
    let mut lengths = [0usize; 65];
    let mut widest = 0usize;
    for &x in xs {
        let len = bit_len(x.wrapping_sub(min) as u64 / divisor) as usize;
        lengths[len] += 1;
        widest = widest.max(len);
    }
    // Each exception costs about a byte of position and the bytes of its high bits.
    let mut best = (0u32, usize::MAX);
    for width in 0..=widest {
        let mut bits = xs.len() * width;
        for (len, &count) in lengths.iter().enumerate().take(widest + 1).skip(width + 1) {
            bits += count * 8 * (1 + (len - width).div_ceil(7));
        }
        let width = width as u32;
        if bits < best.1 {
            best = (width, bits);
        }
    }
    let header = uvarint_len(zigzag(min)) + uvarint_len(g) + 1 + 1;
    StreamPlan {
        min,
        gcd: g,
        width: best.0,
        bytes: header + best.1.div_ceil(8),
    }
}

/// Writes `xs` as the stream `p` (their plan) describes.
fn write_stream(out: &mut Vec<u8>, xs: &[i64], p: &StreamPlan) {
    let divisor = p.gcd.max(1);
    put_varint(out, p.min);
    put_uvarint(out, p.gcd);
    out.push(p.width as u8);
    let low_mask = if p.width == 64 {
        u64::MAX
    } else {
        (1u64 << p.width) - 1
    };
    let ys = xs.iter().map(|&x| x.wrapping_sub(p.min) as u64 / divisor);
    let exceptions: Vec<(usize, u64)> = ys
        .clone()
        .enumerate()
        .filter(|&(_, y)| y & !low_mask != 0)
        .map(|(i, y)| (i, y.checked_shr(p.width).unwrap_or(0)))
        .collect();
    put_uvarint(out, exceptions.len() as u64);
    let mut acc = 0u128;
    let mut filled = 0u32;
    for y in ys {
        acc |= u128::from(y & low_mask) << filled;
        filled += p.width;
        while filled >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            filled -= 8;
        }
    }
    if filled > 0 {
        out.push(acc as u8);
    }
    let mut next = 0usize;
    for (i, high) in exceptions {
        put_uvarint(out, (i - next) as u64);
        put_uvarint(out, high);
        next = i + 1;
    }
}

fn read_stream(r: &mut Reader<'_>, count: usize) -> Option<Vec<i64>> {
    let min = r.varint()?;
    let g = r.uvarint()?;
    let width = u32::from(r.byte()?);
    if width > 64 {
        return None;
    }
    let exception_count = usize::try_from(r.uvarint()?).ok()?;
    if exception_count > count {
        return None;
    }
    let packed_len = count.checked_mul(width as usize)?.div_ceil(8);
    let packed = r.take(packed_len)?;
    let low_mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let mut ys = Vec::with_capacity(count);
    for i in 0..count {
        let bit = i * width as usize;
        let start = bit / 8;
        let mut window = [0u8; 16];
        let end = (start + 16).min(packed.len());
        if start < end {
            window[..end - start].copy_from_slice(&packed[start..end]);
        }
        ys.push((u128::from_le_bytes(window) >> (bit % 8)) as u64 & low_mask);
    }
    let mut next = 0usize;
    for _ in 0..exception_count {
        let i = next.checked_add(usize::try_from(r.uvarint()?).ok()?)?;
        let high = u128::from(r.uvarint()?);
        let y = ys.get_mut(i)?;
        let full = (high << width) | u128::from(*y);
        *y = u64::try_from(full).ok()?;
        next = i + 1;
    }
    let divisor = g.max(1);
    Some(
        ys.into_iter()
            .map(|y| min.wrapping_add(y.wrapping_mul(divisor) as i64))
            .collect(),
    )
}

/// Reads bytes from the front of a chunk; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let part = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(part)
    }

    fn array(&mut self) -> Option<[u8; 8]> {
        self.take(8)?.try_into().ok()
    }

    fn uvarint(&mut self) -> Option<u64> {
        read_uvarint(self.bytes, &mut self.at)
    }

    fn varint(&mut self) -> Option<i64> {
        self.uvarint().map(unzigzag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(samples: &[(i64, f64)]) -> Vec<u8> {
        let bytes = encode(samples).expect("packs");
        let mut back = Vec::new();
        decode_into(&bytes, &mut back).expect("decodes");
        assert_eq!(back.len(), samples.len());
        for (a, b) in samples.iter().zip(&back) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "{} vs {}", a.1, b.1);
        }
        assert_eq!(usize::from(sample_count(&bytes)), samples.len());
        bytes
    }

    #[test]
    fn counters_pack_into_a_few_bits_per_sample() {
        let samples: Vec<(i64, f64)> = (0..480)
            .map(|i| {
                let jitter = [0, 1, -1, 2][i % 4];
                (
                    1_700_000_000_000 + 15_000 * i as i64 + jitter,
                    1000.0 + 5.0 * i as f64 + (i * 7 % 5) as f64,
                )
            })
            .collect();
        let bytes = round_trip(&samples);
        // Timestamps: 3 bits of jitter; values: 3 bits of increase.
        assert!(bytes.len() < 480 * 7 / 8 + 40, "{} bytes", bytes.len());
    }

    #[test]
    fn decimals_specials_and_constants_come_back_bit_for_bit() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let mut samples: Vec<(i64, f64)> = (0..100)
            .map(|i| {
                (
                    i * 1000,
                    [0.5, 0.25, 12.125, -3.0, 0.1, 1e-9][i as usize % 6],
                )
            })
            .collect();
        samples[7].1 = stale;
        samples[8].1 = f64::INFINITY;
        samples[9].1 = -0.0;
        round_trip(&samples);
        round_trip(&[(5, 42.0)]);
        round_trip(&[(5, 42.0), (6, 42.0)]);
        let constant: Vec<(i64, f64)> = (0..300).map(|i| (i * 60_000, 1.0)).collect();
        assert!(round_trip(&constant).len() < 24);
        let big: Vec<(i64, f64)> = (0..50).map(|i| (i, 9.0e15 - i as f64 * 1.0e14)).collect();
        round_trip(&big);
        let negative_times: Vec<(i64, f64)> =
            (0..50).map(|i| (-1_000_000 + i * 7, i as f64)).collect();
        round_trip(&negative_times);
    }

    #[test]
    fn random_floats_are_left_to_xor() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (i * 1000, (x >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect();
        assert_eq!(encode(&samples), None);
        assert_eq!(encode(&[]), None);
    }

    #[test]
    fn damaged_bytes_fail_without_panicking() {
        let samples: Vec<(i64, f64)> = (0..200)
            .map(|i| (i * 1000, (i % 17) as f64 * 0.5))
            .collect();
        let bytes = encode(&samples).expect("packs");
        for cut in 0..bytes.len() {
            let mut out = Vec::new();
            assert!(
                decode_into(&bytes[..cut], &mut out).is_none(),
                "cut at {cut}"
            );
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] ^= flip;
                let mut out = Vec::new();
                let _ = decode_into(&damaged, &mut out);
            }
        }
    }
}
