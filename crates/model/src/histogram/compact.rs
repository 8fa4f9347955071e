//! Compaction: empty buckets dropped, spans merged across gaps of at most
//! `max_empty_buckets` empty buckets (kept as explicit zeros) and split at longer ones,
//! empty spans removed. The result depends only on which buckets hold something, so it is
//! computed from absolute counts; integer histograms go through them and back to deltas.

use super::buckets::span_indices;
use super::Span;

/// Compacts a bucket list of absolute counts laid out by `spans`. A bucket is empty when
/// its count is exactly zero (NaN and negative counts are kept).
pub(crate) fn compact_absolute<C: Copy + PartialEq + Default>(
    spans: &[Span],
    counts: &[C],
    max_empty_buckets: u32,
) -> (Vec<Span>, Vec<C>) {
    let zero = C::default();
    let mut out_spans: Vec<Span> = Vec::new();
    let mut out_counts: Vec<C> = Vec::with_capacity(counts.len());
    // Index of the last bucket written, and where the last span ends.
    let mut last: Option<i64> = None;
    for (index, &count) in span_indices(spans).zip(counts) {
        if count == zero {
            continue;
        }
        let index = i64::from(index);
        match last {
            Some(prev) if index - prev - 1 <= i64::from(max_empty_buckets) => {
                let gap = (index - prev - 1) as usize;
                out_counts.extend(std::iter::repeat_n(zero, gap));
                out_counts.push(count);
                if let Some(span) = out_spans.last_mut() {
                    span.length += gap as u32 + 1;
                }
            }
            Some(prev) => {
                out_spans.push(Span::new((index - prev - 1) as i32, 1));
                out_counts.push(count);
            }
            None => {
                out_spans.push(Span::new(index as i32, 1));
                out_counts.push(count);
            }
        }
        last = Some(index);
    }
    (out_spans, out_counts)
}

/// Delta-encoded counts (integer histograms) to absolute ones.
pub(crate) fn deltas_to_absolute(deltas: &[i64]) -> Vec<i64> {
    let mut current = 0i64;
    deltas
        .iter()
        .map(|d| {
            current = current.wrapping_add(*d);
            current
        })
        .collect()
}

/// Absolute counts to deltas.
pub(crate) fn absolute_to_deltas(counts: &[i64]) -> Vec<i64> {
    let mut previous = 0i64;
    counts
        .iter()
        .map(|c| {
            let d = c.wrapping_sub(previous);
            previous = *c;
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(v: &[(i32, u32)]) -> Vec<Span> {
        v.iter().map(|&(o, l)| Span::new(o, l)).collect()
    }

    #[test]
    fn empty_buckets_go_and_spans_follow() {
        // Upstream's example: -2→3, -1→5, 2→1, 4→3, 5→2 with empty buckets in between.
        let s = spans(&[(-2, 8)]);
        let c = [3.0, 5.0, 0.0, 0.0, 1.0, 0.0, 3.0, 2.0];
        assert_eq!(
            compact_absolute(&s, &c, 0),
            (
                spans(&[(-2, 2), (2, 1), (1, 2)]),
                vec![3.0, 5.0, 1.0, 3.0, 2.0]
            )
        );
        assert_eq!(
            compact_absolute(&s, &c, 1),
            (
                spans(&[(-2, 2), (2, 4)]),
                vec![3.0, 5.0, 1.0, 0.0, 3.0, 2.0]
            )
        );
        assert_eq!(compact_absolute(&s, &c, 2), (spans(&[(-2, 8)]), c.to_vec()));
    }

    #[test]
    fn empty_spans_and_all_empty_lists() {
        let s = spans(&[(0, 0), (2, 1), (0, 0), (1, 2)]);
        assert_eq!(
            compact_absolute(&s, &[1.0, 0.0, 4.0], 0),
            (spans(&[(2, 1), (2, 1)]), vec![1.0, 4.0])
        );
        assert_eq!(
            compact_absolute(&spans(&[(3, 2)]), &[0u64, 0], 5),
            (vec![], vec![])
        );
    }

    #[test]
    fn deltas_round_trip() {
        let abs = [3, 5, 0, 0, 1];
        let deltas = absolute_to_deltas(&abs);
        assert_eq!(deltas, vec![3, 2, -5, 0, 1]);
        assert_eq!(deltas_to_absolute(&deltas), abs.to_vec());
    }
}
