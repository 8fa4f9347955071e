//! Summing and averaging histograms as `sum`, `avg`, `sum_over_time` and
//! `avg_over_time` do: compensated sums, and for a mean whose sum overflows, an
//! incremental mean from then on (upstream's `KahanAdd` loops).

use model::histogram::{FloatHistogram, HistogramError, KahanSum};

/// A running sum (or mean) of histograms.
#[derive(Clone)]
pub(crate) struct KahanHist {
    sum: KahanSum,
    /// Histograms added so far.
    count: f64,
    /// Once the sum overflowed (`avg`): the running mean instead.
    incremental: bool,
}

/// Whether a histogram sum overflowed (upstream's `HasOverflow`).
fn overflows(h: &FloatHistogram) -> bool {
    h.count.is_infinite()
        || h.zero_count.is_infinite()
        || h.sum.is_infinite()
        || h.positive_buckets.iter().any(|b| b.is_infinite())
        || h.negative_buckets.iter().any(|b| b.is_infinite())
}

impl KahanHist {
    pub fn new(first: &FloatHistogram) -> Self {
        Self {
            sum: KahanSum::new(first),
            count: 1.0,
            incremental: false,
        }
    }

    /// Adds `h`; for a mean (`avg`), a sum that overflows turns into an incremental mean.
    /// `Ok(true)`: custom bucket bounds were reconciled.
    pub fn add(&mut self, h: &FloatHistogram, avg: bool) -> Result<bool, HistogramError> {
        self.count += 1.0;
        let count = self.count;
        if !self.incremental {
            let mut next = self.sum.clone();
            let reconciled = next.add(h)?.custom_bounds_reconciled;
            if !avg || !overflows(next.partial()) {
                self.sum = next;
                return Ok(reconciled);
            }
            self.incremental = true;
            self.sum.div(count - 1.0);
        }
        self.sum.mul((count - 1.0) / count);
        let mut part = h.clone();
        part.div(count);
        Ok(self.sum.add(&part)?.custom_bounds_reconciled)
    }

    /// The sum, or (`avg`) the mean, compacted.
    pub fn result(mut self, avg: bool) -> FloatHistogram {
        if avg && !self.incremental {
            self.sum.div(self.count);
        }
        let mut h = self.sum.result();
        h.compact(0);
        h
    }
}
