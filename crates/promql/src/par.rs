//! Spreading per-series work over the machine's cores.

/// Applies `f` to every item, on several threads when the work is large enough to pay
/// for them (`weight` is the work per item, e.g. the number of steps); results keep the
/// items' order.
pub(crate) fn map<T: Send, R: Send>(
    items: Vec<T>,
    weight: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    const WORK_PER_THREAD: usize = 8192;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().saturating_mul(weight.max(1)) / WORK_PER_THREAD)
        .max(1);
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    loop {
        let part: Vec<T> = items.by_ref().take(per).collect();
        if part.is_empty() {
            break;
        }
        parts.push(part);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::new();
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                // A worker's panic is a bug: re-raise it here.
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        out
    })
}
