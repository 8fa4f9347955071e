//! Histogram chunks: integer (encoding 2) and float (encoding 3) histograms, in
//! Prometheus's formats.
//!
//! Both encodings share the header and layout (`layout`) and the way a sample is made to
//! fit a chunk, which lives here: a counter histogram whose buckets grew is appended after
//! recoding the chunk with the new buckets; one that lost an empty bucket gets it back as
//! empty; a counter reset (a count went down, a bucket with counts vanished), a new schema
//! or zero threshold, or a change between gauge and counter starts a new chunk. A gauge
//! histogram's buckets may come and go freely.

mod float;
mod int;
mod layout;
pub(crate) mod starts;

use model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span};
use model::is_stale_nan;

pub(crate) use float::reduce_reserved_schema;
pub use float::{FloatHistogramChunk, FloatHistogramIter};
pub use int::{HistogramChunk, HistogramIter};
pub use layout::CounterResetHeader;

/// Bytes a histogram chunk's stream starts with: the header and a first sample of a few
/// dozen buckets fit, and growth by half reaches the kilobyte a chunk is cut at in a few
/// steps.
const CHUNK_START_BYTES: usize = 160;

use layout::{
    adjust_for_inserts, expand_counter_spans, expand_spans_both_ways, insert_buckets, Insert,
    Layout,
};

/// What an append did.
#[derive(Debug)]
pub enum Appended<C> {
    /// The sample went into the chunk.
    InPlace,
    /// The chunk had to be rewritten with more buckets: this chunk, holding the old
    /// samples and the new one, replaces it.
    Recoded(C),
    /// The sample could not follow the chunk's samples (counter reset, new schema, …): it
    /// starts this new chunk, and the old one is complete.
    Cut(C),
}

/// A histogram as the append logic sees it, integer or float.
trait Sample: Clone {
    fn hint(&self) -> CounterResetHint;
    fn sum(&self) -> f64;
    fn count(&self) -> f64;
    fn zero_count(&self) -> f64;
    fn schema(&self) -> i32;
    fn zero_threshold(&self) -> f64;
    fn custom_values(&self) -> &[f64];
    fn positive_spans(&self) -> &[Span];
    fn negative_spans(&self) -> &[Span];
    /// Absolute bucket counts.
    fn positive_counts(&self) -> Vec<f64>;
    fn negative_counts(&self) -> Vec<f64>;
    fn set_spans(&mut self, positive: Vec<Span>, negative: Vec<Span>);
    /// Adds the empty buckets of `positive` and `negative` (spans already set).
    fn insert_buckets(&mut self, positive: &[Insert], negative: &[Insert]);
}

/// Deltas to absolute counts.
fn absolute(deltas: &[i64]) -> Vec<f64> {
    let mut running = 0i64;
    deltas
        .iter()
        .map(|&d| {
            running = running.wrapping_add(d);
            running as f64
        })
        .collect()
}

impl Sample for Histogram {
    fn hint(&self) -> CounterResetHint {
        self.counter_reset_hint
    }
    fn sum(&self) -> f64 {
        self.sum
    }
    fn count(&self) -> f64 {
        self.count as f64
    }
    fn zero_count(&self) -> f64 {
        self.zero_count as f64
    }
    fn schema(&self) -> i32 {
        self.schema
    }
    fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }
    fn custom_values(&self) -> &[f64] {
        &self.custom_values
    }
    fn positive_spans(&self) -> &[Span] {
        &self.positive_spans
    }
    fn negative_spans(&self) -> &[Span] {
        &self.negative_spans
    }
    fn positive_counts(&self) -> Vec<f64> {
        absolute(&self.positive_buckets)
    }
    fn negative_counts(&self) -> Vec<f64> {
        absolute(&self.negative_buckets)
    }
    fn set_spans(&mut self, positive: Vec<Span>, negative: Vec<Span>) {
        (self.positive_spans, self.negative_spans) = (positive, negative);
    }
    fn insert_buckets(&mut self, positive: &[Insert], negative: &[Insert]) {
        self.positive_buckets = insert_buckets(&self.positive_buckets, positive, true);
        self.negative_buckets = insert_buckets(&self.negative_buckets, negative, true);
    }
}

impl Sample for FloatHistogram {
    fn hint(&self) -> CounterResetHint {
        self.counter_reset_hint
    }
    fn sum(&self) -> f64 {
        self.sum
    }
    fn count(&self) -> f64 {
        self.count
    }
    fn zero_count(&self) -> f64 {
        self.zero_count
    }
    fn schema(&self) -> i32 {
        self.schema
    }
    fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }
    fn custom_values(&self) -> &[f64] {
        &self.custom_values
    }
    fn positive_spans(&self) -> &[Span] {
        &self.positive_spans
    }
    fn negative_spans(&self) -> &[Span] {
        &self.negative_spans
    }
    fn positive_counts(&self) -> Vec<f64> {
        self.positive_buckets.clone()
    }
    fn negative_counts(&self) -> Vec<f64> {
        self.negative_buckets.clone()
    }
    fn set_spans(&mut self, positive: Vec<Span>, negative: Vec<Span>) {
        (self.positive_spans, self.negative_spans) = (positive, negative);
    }
    fn insert_buckets(&mut self, positive: &[Insert], negative: &[Insert]) {
        self.positive_buckets = insert_buckets(&self.positive_buckets, positive, false);
        self.negative_buckets = insert_buckets(&self.negative_buckets, negative, false);
    }
}

/// A histogram chunk encoding, as the append logic drives it.
trait Encoding: Sized {
    type Sample: Sample;
    fn new() -> Self;
    fn count(&self) -> u16;
    fn header(&self) -> CounterResetHeader;
    fn set_header(&mut self, header: CounterResetHeader);
    fn layout(&self) -> &Layout;
    /// The last sample's count, zero count and sum.
    fn last_totals(&self) -> (f64, f64, f64);
    /// The last sample's absolute bucket counts.
    fn last_counts(&self) -> (Vec<f64>, Vec<f64>);
    /// Whether a bucket of `h`, laid out as the last sample's, holds less than there.
    fn bucket_went_down(&self, h: &Self::Sample) -> bool {
        let (positive, negative) = self.last_counts();
        let went_down = |old: &[f64], new: &[f64]| old.iter().zip(new).any(|(a, b)| b < a);
        went_down(&positive, &h.positive_counts()) || went_down(&negative, &h.negative_counts())
    }
    /// Encodes one more sample, which must fit the layout.
    fn write_sample(&mut self, t: i64, h: &Self::Sample);
    /// This chunk's samples again, each with the buckets `inserts` add, over new spans.
    fn recode(&self, positive: &[Insert], negative: &[Insert], spans: (&[Span], &[Span])) -> Self;
    /// The header of a chunk started after this one, given what `fit` found. Upstream's two
    /// encodings differ here, and chunks are kept byte for byte as upstream writes them.
    fn header_after(found: CounterResetHeader) -> CounterResetHeader;
    /// The header of a chunk cut because a sample did not fit.
    fn header_of_cut(found: CounterResetHeader) -> CounterResetHeader;
}

/// What appending found: the inserts that make the chunk and the sample cover the same
/// buckets, and whether the sample can go into this chunk.
#[derive(Default)]
struct Fit {
    positive_forward: Vec<Insert>,
    negative_forward: Vec<Insert>,
    positive_backward: Vec<Insert>,
    negative_backward: Vec<Insert>,
    ok: bool,
    header: CounterResetHeader,
    /// For gauges: the spans of both together.
    merged: Option<(Vec<Span>, Vec<Span>)>,
}

/// Appends `h` at `t` to `chunk` (upstream's `AppendHistogram`/`AppendFloatHistogram`).
fn append<E: Encoding>(chunk: &mut E, t: i64, h: &E::Sample, prev: Option<&E>) -> Appended<E> {
    if chunk.count() == 0 {
        chunk.write_sample(t, h);
        chunk.set_header(match h.hint() {
            CounterResetHint::Gauge => CounterResetHeader::Gauge,
            CounterResetHint::CounterReset => CounterResetHeader::CounterReset,
            _ => match prev {
                Some(p) => E::header_after(fit_counter(p, h).header),
                None => CounterResetHeader::Unknown,
            },
        });
        return Appended::InPlace;
    }
    let gauge = h.hint() == CounterResetHint::Gauge;
    let fit = if gauge {
        fit_gauge(chunk, h)
    } else {
        fit_counter(chunk, h)
    };
    if !fit.ok || (!gauge && fit.header != CounterResetHeader::NotCounterReset) {
        let mut next = E::new();
        next.write_sample(t, h);
        next.set_header(if gauge {
            CounterResetHeader::Gauge
        } else {
            E::header_of_cut(fit.header)
        });
        return Appended::Cut(next);
    }
    let mut h = std::borrow::Cow::Borrowed(h);
    if !fit.positive_backward.is_empty() || !fit.negative_backward.is_empty() {
        let hm = h.to_mut();
        let (positive, negative) = if let Some(merged) = fit.merged {
            merged
        } else if fit.positive_forward.is_empty() && fit.negative_forward.is_empty() {
            let layout = chunk.layout();
            (layout.positive_spans.clone(), layout.negative_spans.clone())
        } else {
            (
                adjust_for_inserts(hm.positive_spans(), &fit.positive_backward),
                adjust_for_inserts(hm.negative_spans(), &fit.negative_backward),
            )
        };
        hm.set_spans(positive, negative);
        hm.insert_buckets(&fit.positive_backward, &fit.negative_backward);
    }
    if !fit.positive_forward.is_empty() || !fit.negative_forward.is_empty() {
        let mut recoded = chunk.recode(
            &fit.positive_forward,
            &fit.negative_forward,
            (h.positive_spans(), h.negative_spans()),
        );
        recoded.write_sample(t, &h);
        return Appended::Recoded(recoded);
    }
    chunk.write_sample(t, &h);
    Appended::InPlace
}

/// Whether a counter histogram can follow the chunk's last sample (upstream's
/// `appendable`). The header says what is known about a reset at `h`.
fn fit_counter<E: Encoding>(chunk: &E, h: &E::Sample) -> Fit {
    let mut fit = Fit {
        header: CounterResetHeader::NotCounterReset,
        ..Fit::default()
    };
    if chunk.count() > 0 && chunk.header() == CounterResetHeader::Gauge {
        return fit;
    }
    if h.hint() == CounterResetHint::CounterReset {
        fit.header = CounterResetHeader::CounterReset;
        return fit;
    }
    if is_stale_nan(h.sum()) {
        fit.ok = true;
        return fit;
    }
    let (count, zero_count, sum) = chunk.last_totals();
    let layout = chunk.layout();
    if is_stale_nan(sum) {
        fit.header = CounterResetHeader::Unknown;
        return fit;
    }
    if h.count() < count {
        fit.header = CounterResetHeader::CounterReset;
        return fit;
    }
    if h.schema() != layout.schema || h.zero_threshold() != layout.zero_threshold {
        fit.header = CounterResetHeader::Unknown;
        return fit;
    }
    if model::histogram::is_custom_buckets_schema(h.schema())
        && h.custom_values() != layout.custom_values.as_slice()
    {
        fit.header = CounterResetHeader::CounterReset;
        return fit;
    }
    if h.zero_count() < zero_count {
        fit.header = CounterResetHeader::CounterReset;
        return fit;
    }
    // The usual case, the same buckets as before: only a bucket that went down matters.
    if layout.positive_spans.as_slice() == h.positive_spans()
        && layout.negative_spans.as_slice() == h.negative_spans()
    {
        if chunk.bucket_went_down(h) {
            fit.header = CounterResetHeader::CounterReset;
        } else {
            fit.ok = true;
        }
        return fit;
    }
    let (positive, negative) = chunk.last_counts();
    let (h_positive, h_negative) = (h.positive_counts(), h.negative_counts());
    let Some((pf, pb)) = expand_counter_spans(
        &layout.positive_spans,
        h.positive_spans(),
        |i| positive.get(i).copied().unwrap_or(0.0),
        |i| h_positive.get(i).copied().unwrap_or(0.0),
    ) else {
        fit.header = CounterResetHeader::CounterReset;
        return fit;
    };
    let Some((nf, nb)) = expand_counter_spans(
        &layout.negative_spans,
        h.negative_spans(),
        |i| negative.get(i).copied().unwrap_or(0.0),
        |i| h_negative.get(i).copied().unwrap_or(0.0),
    ) else {
        fit.header = CounterResetHeader::CounterReset;
        return fit;
    };
    (fit.positive_forward, fit.positive_backward) = (pf, pb);
    (fit.negative_forward, fit.negative_backward) = (nf, nb);
    fit.ok = true;
    fit
}

/// Whether a gauge histogram can follow the chunk's last sample (upstream's
/// `appendableGauge`): only the schema, zero threshold and custom bounds must stay.
fn fit_gauge<E: Encoding>(chunk: &E, h: &E::Sample) -> Fit {
    let mut fit = Fit::default();
    if chunk.count() > 0 && chunk.header() != CounterResetHeader::Gauge {
        return fit;
    }
    if is_stale_nan(h.sum()) {
        fit.ok = true;
        return fit;
    }
    let layout = chunk.layout();
    if is_stale_nan(chunk.last_totals().2)
        || h.schema() != layout.schema
        || h.zero_threshold() != layout.zero_threshold
        || (model::histogram::is_custom_buckets_schema(h.schema())
            && h.custom_values() != layout.custom_values.as_slice())
    {
        return fit;
    }
    let (pf, pb, positive) = expand_spans_both_ways(&layout.positive_spans, h.positive_spans());
    let (nf, nb, negative) = expand_spans_both_ways(&layout.negative_spans, h.negative_spans());
    (fit.positive_forward, fit.positive_backward) = (pf, pb);
    (fit.negative_forward, fit.negative_backward) = (nf, nb);
    fit.merged = Some((positive, negative));
    fit.ok = true;
    fit
}
