//! Spreading per-series work over the machine's cores.

use std::sync::Mutex;

/// Work (items × weight) below which one thread does it all.
const WORK_PER_THREAD: usize = 8192;

/// The most items a thread takes from the queue at once.
const MAX_BATCH: usize = 1024;

/// Applies `f` to every item, on several threads when the work is large enough to pay
/// for them (`weight` is the work per item, e.g. the number of steps); results keep the
/// items' order.
///
/// The threads take batches of items from one queue over the items' own buffer: the
/// items are not copied into a part per thread first (at 500,000 series that copy was
/// tens of MiB on top of the items), and a thread whose batches were cheap takes more.
pub(crate) fn map<T: Send, R: Send>(
    items: Vec<T>,
    weight: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().saturating_mul(weight.max(1)) / WORK_PER_THREAD)
        .max(1);
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let total = items.len();
    // Enough batches per thread to even out uneven series, few enough that the lock is
    // taken rarely.
    let batch = (total / (threads * 16)).clamp(1, MAX_BATCH);
    // The index of the next item, and the items not yet taken.
    let queue = Mutex::new((0usize, items.into_iter()));
    let (f, queue) = (&f, &queue);
    let done: Vec<Vec<(usize, Vec<R>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut results = Vec::new();
                    loop {
                        let (first, part) = {
                            // Nothing panics while the lock is held (`f` runs outside it).
                            let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
                            let first = queue.0;
                            let part: Vec<T> = queue.1.by_ref().take(batch).collect();
                            queue.0 += part.len();
                            (first, part)
                        };
                        if part.is_empty() {
                            return results;
                        }
                        results.push((first, part.into_iter().map(f).collect::<Vec<R>>()));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(results) => results,
                // A worker's panic is a bug: re-raise it here.
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    });
    let mut batches: Vec<(usize, Vec<R>)> = done.into_iter().flatten().collect();
    batches.sort_unstable_by_key(|(first, _)| *first);
    let mut out = Vec::with_capacity(total);
    for (_, results) in batches {
        out.extend(results);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_on_any_number_of_threads() {
        for (count, weight) in [
            (0, 1),
            (1, 1),
            (10, 1),
            (100_000, 1),
            (5_000, 100),
            (3, 100_000),
        ] {
            let items: Vec<u64> = (0..count).collect();
            // Uneven work, so that threads take different numbers of batches.
            let out = map(items, weight, |i| {
                if i % 97 == 0 {
                    std::hint::black_box((0..2_000u64).fold(i, |a, b| a ^ b.rotate_left(7)));
                }
                i * 2
            });
            let want: Vec<u64> = (0..count).map(|i| i * 2).collect();
            assert_eq!(out, want, "{count} items of weight {weight}");
        }
    }

    #[test]
    fn a_panicking_item_panics_the_caller() {
        let items: Vec<u64> = (0..50_000).collect();
        let caught = std::panic::catch_unwind(|| {
            map(items, 10, |i| {
                assert!(i != 40_000, "item 40000");
                i
            })
        });
        assert!(caught.is_err());
    }
}
