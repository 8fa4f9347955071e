//! Label pairs as a target wrote them, in one allocation: what a scrape's native
//! histogram samples carry to the scrape cache, which hashes and compares them every
//! scrape and builds label sets from them only for series it has not seen.

use std::fmt;

/// Name and value pairs in the order written, each string prefixed by its length (4
/// bytes, little-endian). Equal pairs in equal order are equal bytes.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelPairs(Vec<u8>);

impl LabelPairs {
    /// Pairs from strings.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut out = LabelPairsBuilder::with_capacity(0);
        for (name, value) in pairs {
            out.push(name, value);
        }
        out.finish()
    }

    /// The pairs, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut rest = self.0.as_slice();
        std::iter::from_fn(move || {
            let name = take(&mut rest)?;
            let value = take(&mut rest)?;
            Some((name, value))
        })
    }

    /// The encoded pairs (equal pairs in equal order are equal bytes): what a cache
    /// hashes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One length-prefixed string off the front of `rest` (only strings that were `&str`
/// are ever written, so the UTF-8 check cannot fail).
fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let (len, tail) = rest.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    let (text, tail) = tail.split_at_checked(len)?;
    *rest = tail;
    std::str::from_utf8(text).ok()
}

impl fmt::Debug for LabelPairs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Builds [`LabelPairs`] pair by pair.
pub(crate) struct LabelPairsBuilder(Vec<u8>);

impl LabelPairsBuilder {
    /// A builder with room for `bytes` of names and values (and their prefixes).
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self(Vec::with_capacity(bytes))
    }

    pub(crate) fn push(&mut self, name: &str, value: &str) {
        for s in [name, value] {
            // A string is part of a message of at most `MAX_MESSAGE_BYTES`: it fits.
            let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
            self.0.extend_from_slice(&len.to_le_bytes());
            self.0.extend_from_slice(s.as_bytes());
        }
    }

    pub(crate) fn finish(self) -> LabelPairs {
        LabelPairs(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_back_in_order() {
        let pairs = LabelPairs::from_pairs([("a", "1"), ("", ""), ("é", "x\u{0}y")]);
        assert_eq!(
            pairs.iter().collect::<Vec<_>>(),
            vec![("a", "1"), ("", ""), ("é", "x\u{0}y")]
        );
        assert_eq!(
            format!("{pairs:?}"),
            r#"[("a", "1"), ("", ""), ("é", "x\0y")]"#
        );
        assert!(LabelPairs::default().is_empty());
        assert_ne!(
            LabelPairs::from_pairs([("ab", "c")]),
            LabelPairs::from_pairs([("a", "bc")])
        );
    }
}
