//! A series' closed head chunks, held compactly: one exactly sized byte buffer of varint
//! entries instead of a vector of structs. A series closes a chunk every 120 samples (ten
//! minutes at a 5 s interval), and the head holds up to three hours of them: as 48-byte
//! structs in a doubling vector, a million series held more than 600 MiB of chunk
//! references after two hours; as entries here, about 13 bytes a chunk, no slack.
//!
//! Entry: zigzag varint (min time − the previous entry's max time, or − 0 for the first),
//! uvarint (max time − min time), the encoding byte, then either `0`, uvarint file,
//! uvarint offset, uvarint length (a chunk in a spill file) or `1`, uvarint length and the
//! bytes (a chunk kept in memory: only when spill files are off or a write failed).
//! Entries are in time order. Reads decode from the front; the last entry is found by
//! walking, which the few callers that need it (taking back a failed append) can afford.

use std::sync::Arc;

use super::series::{ChunkData, HeadChunk};
use crate::chunk::Encoding;
use crate::head_chunks::DiskRef;
use crate::wal::{decode_uvarint, encode_uvarint, unzigzag, zigzag};

const ON_DISK: u8 = 0;
const IN_MEMORY: u8 = 1;

#[derive(Debug, Default)]
pub(crate) struct ClosedChunks {
    bytes: Box<[u8]>,
}

impl ClosedChunks {
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The chunks, oldest first.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            bytes: &self.bytes,
            at: 0,
            previous_max: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn first(&self) -> Option<HeadChunk> {
        self.iter().next()
    }

    pub fn last(&self) -> Option<HeadChunk> {
        self.iter().last()
    }

    /// Appends a chunk newer than every chunk held.
    pub fn push(&mut self, chunk: &HeadChunk) {
        let previous_max = self.last().map_or(0, |c| c.max_t);
        let mut bytes = Vec::with_capacity(self.bytes.len() + 24);
        bytes.extend_from_slice(&self.bytes);
        encode(&mut bytes, chunk, previous_max);
        self.bytes = bytes.into_boxed_slice();
    }

    /// Removes and returns the newest chunk.
    pub fn pop(&mut self) -> Option<HeadChunk> {
        let mut all: Vec<HeadChunk> = self.iter().collect();
        let last = all.pop()?;
        self.replace(&all);
        Some(last)
    }

    /// Keeps the chunks for which `keep` is true.
    pub fn retain(&mut self, keep: impl Fn(&HeadChunk) -> bool) {
        let all: Vec<HeadChunk> = self.iter().collect();
        if all.iter().all(&keep) {
            return;
        }
        let kept: Vec<HeadChunk> = all.into_iter().filter(|c| keep(c)).collect();
        self.replace(&kept);
    }

    fn replace(&mut self, chunks: &[HeadChunk]) {
        let mut bytes = Vec::with_capacity(chunks.len() * 16);
        let mut previous_max = 0;
        for c in chunks {
            encode(&mut bytes, c, previous_max);
            previous_max = c.max_t;
        }
        self.bytes = bytes.into_boxed_slice();
    }
}

fn encode(out: &mut Vec<u8>, c: &HeadChunk, previous_max: i64) {
    encode_uvarint(out, zigzag(c.min_t.wrapping_sub(previous_max)));
    encode_uvarint(out, c.max_t.wrapping_sub(c.min_t) as u64);
    out.push(c.encoding.byte());
    match &c.data {
        ChunkData::Disk(r) => {
            let (file, offset, len) = r.parts();
            out.push(ON_DISK);
            encode_uvarint(out, u64::from(file));
            encode_uvarint(out, u64::from(offset));
            encode_uvarint(out, u64::from(len));
        }
        ChunkData::Memory(data) => {
            out.push(IN_MEMORY);
            encode_uvarint(out, data.len() as u64);
            out.extend_from_slice(data);
        }
    }
}

/// Decodes entries from the front. The buffer is only ever written by `encode`, so a
/// malformed entry cannot occur; should one, iteration simply ends there.
pub(crate) struct Iter<'a> {
    bytes: &'a [u8],
    at: usize,
    previous_max: i64,
}

impl Iterator for Iter<'_> {
    type Item = HeadChunk;

    fn next(&mut self) -> Option<HeadChunk> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let min_t = self.previous_max.wrapping_add(unzigzag(self.uvarint()?));
        let max_t = min_t.wrapping_add(self.uvarint()? as i64);
        let encoding = Encoding::from_byte(self.byte()?)?;
        let data = match self.byte()? {
            ON_DISK => {
                let file = u32::try_from(self.uvarint()?).ok()?;
                let offset = u32::try_from(self.uvarint()?).ok()?;
                let len = u32::try_from(self.uvarint()?).ok()?;
                ChunkData::Disk(DiskRef::from_parts(file, offset, len))
            }
            _ => {
                let len = usize::try_from(self.uvarint()?).ok()?;
                let end = self.at.checked_add(len)?;
                let data = self.bytes.get(self.at..end)?;
                self.at = end;
                ChunkData::Memory(Arc::from(data))
            }
        };
        self.previous_max = max_t;
        Some(HeadChunk {
            min_t,
            max_t,
            encoding,
            data,
        })
    }
}

impl Iter<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn uvarint(&mut self) -> Option<u64> {
        decode_uvarint(self.bytes, &mut self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(min_t: i64, max_t: i64, data: ChunkData) -> HeadChunk {
        HeadChunk {
            min_t,
            max_t,
            encoding: Encoding::Xor,
            data,
        }
    }

    fn same(a: &HeadChunk, b: &HeadChunk) -> bool {
        a.min_t == b.min_t
            && a.max_t == b.max_t
            && a.encoding == b.encoding
            && match (&a.data, &b.data) {
                (ChunkData::Disk(x), ChunkData::Disk(y)) => x == y,
                (ChunkData::Memory(x), ChunkData::Memory(y)) => x == y,
                _ => false,
            }
    }

    #[test]
    fn chunks_come_back_in_order_and_are_popped_and_retained() {
        let chunks = vec![
            chunk(
                -5_000,
                600_000,
                ChunkData::Disk(DiskRef::from_parts(1, 0, 300)),
            ),
            chunk(
                605_000,
                1_200_000,
                ChunkData::Memory(Arc::from(&[1u8, 2, 3][..])),
            ),
            chunk(
                1_205_000,
                i64::MAX,
                ChunkData::Disk(DiskRef::from_parts(u32::MAX, u32::MAX, 7)),
            ),
        ];
        let mut closed = ClosedChunks::default();
        assert!(closed.is_empty() && closed.last().is_none());
        for c in &chunks {
            closed.push(c);
        }
        assert_eq!(closed.len(), 3);
        assert!(closed.iter().zip(&chunks).all(|(a, b)| same(&a, b)));
        assert!(same(&closed.first().unwrap(), &chunks[0]));
        assert!(same(&closed.pop().unwrap(), &chunks[2]));
        assert!(same(&closed.last().unwrap(), &chunks[1]));
        closed.retain(|c| c.max_t >= 700_000);
        assert_eq!(closed.len(), 1);
        assert!(same(&closed.first().unwrap(), &chunks[1]));
        closed.retain(|_| false);
        assert!(closed.is_empty());
    }
}
