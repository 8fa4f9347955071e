//! The exemplars record (type `10`): `uvarint count`, then per exemplar `uvarint ref` (the
//! series it belongs to), zigzag `varint timestamp`, the value's `f64` bits
//! (little-endian), a flag byte (1: the timestamp came with the exemplar) and its labels
//! (`uvarint n`, then length-prefixed name and value each).
//!
//! Every count read is checked against the bytes left, so a damaged record cannot make
//! replay allocate without bound.

use model::{Exemplar, Label, Labels};

use super::decode_bytes;
use crate::varint::{put_uvarint, read_uvarint, unzigzag, zigzag};

pub(super) fn encode(out: &mut Vec<u8>, exemplars: &[(u64, Exemplar)]) {
    put_uvarint(out, exemplars.len() as u64);
    for (r, e) in exemplars {
        put_uvarint(out, *r);
        put_uvarint(out, zigzag(e.timestamp_ms));
        out.extend_from_slice(&e.value.to_bits().to_le_bytes());
        out.push(u8::from(e.has_timestamp));
        put_uvarint(out, e.labels.len() as u64);
        for l in e.labels.iter() {
            put_uvarint(out, l.name.len() as u64);
            out.extend_from_slice(l.name.as_bytes());
            put_uvarint(out, l.value.len() as u64);
            out.extend_from_slice(l.value.as_bytes());
        }
    }
}

pub(super) fn decode(buf: &[u8], pos: &mut usize, count: usize) -> Option<Vec<(u64, Exemplar)>> {
    // Each exemplar takes at least 12 bytes.
    if count > buf.len().saturating_sub(*pos) / 12 + 1 {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let r = read_uvarint(buf, pos)?;
        let timestamp_ms = unzigzag(read_uvarint(buf, pos)?);
        let bits = buf.get(*pos..pos.checked_add(8)?)?;
        *pos += 8;
        let value = f64::from_bits(u64::from_le_bytes(bits.try_into().ok()?));
        let has_timestamp = match *buf.get(*pos)? {
            0 => false,
            1 => true,
            _ => return None,
        };
        *pos += 1;
        let n = read_uvarint(buf, pos)? as usize;
        if n > buf.len().saturating_sub(*pos) / 2 {
            return None;
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let name = std::str::from_utf8(decode_bytes(buf, pos)?).ok()?;
            let value = std::str::from_utf8(decode_bytes(buf, pos)?).ok()?;
            labels.push(Label {
                name: name.to_string(),
                value: value.to_string(),
            });
        }
        out.push((
            r,
            Exemplar {
                labels: Labels::from_sorted(labels),
                value,
                timestamp_ms,
                has_timestamp,
            },
        ));
    }
    Some(out)
}
