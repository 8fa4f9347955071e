//! Native histograms of a scrape (protobuf bodies with `scrape_native_histograms`): labels
//! as for floats (target labels, `metric_relabel_configs`, label limits), the job's
//! `native_histogram_bucket_limit` and `native_histogram_min_bucket_factor` applied by
//! lowering the resolution, appended as histogram samples; series the previous scrape had
//! and this one has not get staleness markers.

use rustc_hash::{FxHashMap, FxHashSet};

use exposition::NativeHistogramSample;
use model::histogram::{FloatHistogram, Histogram, HistogramValue, EXPONENTIAL_SCHEMA_MIN};
use model::Labels;
use promconfig::ScrapeConfig;

/// The error of a histogram over `native_histogram_bucket_limit` that cannot be brought
/// under it (upstream's `errBucketLimit`).
pub(crate) const BUCKET_LIMIT_ERROR: &str = "histogram bucket limit exceeded";

/// The highest schema a `native_histogram_min_bucket_factor` allows (upstream's
/// `pickSchema`).
fn max_schema(min_bucket_factor: f64) -> i32 {
    let factor = if min_bucket_factor <= 1.0 {
        1.00271
    } else {
        min_bucket_factor
    };
    let floor = (-(factor.log2().log2())).floor();
    if floor >= f64::from(model::histogram::EXPONENTIAL_SCHEMA_MAX) {
        model::histogram::EXPONENTIAL_SCHEMA_MAX
    } else if floor <= f64::from(EXPONENTIAL_SCHEMA_MIN) {
        EXPONENTIAL_SCHEMA_MIN
    } else {
        floor as i32
    }
}

/// Back to an integer histogram (counts that were integers stay integers when buckets
/// merge).
fn to_int(f: &FloatHistogram, hint_from: &Histogram) -> Histogram {
    let deltas = |counts: &[f64]| {
        let mut prev = 0i64;
        counts
            .iter()
            .map(|&c| {
                let c = c as i64;
                let d = c - prev;
                prev = c;
                d
            })
            .collect()
    };
    Histogram {
        counter_reset_hint: hint_from.counter_reset_hint,
        schema: f.schema,
        zero_threshold: f.zero_threshold,
        zero_count: f.zero_count as u64,
        count: hint_from.count,
        sum: f.sum,
        positive_spans: f.positive_spans.clone(),
        negative_spans: f.negative_spans.clone(),
        positive_buckets: deltas(&f.positive_buckets),
        negative_buckets: deltas(&f.negative_buckets),
        custom_values: f.custom_values.clone(),
    }
}

/// Applies the job's bucket limit and minimum bucket factor by lowering the resolution;
/// `Err` when the limit cannot be met, or the histogram is invalid (then the scrape fails,
/// as upstream's does on an invalid histogram).
pub(crate) fn apply_limits(
    job: &ScrapeConfig,
    value: HistogramValue,
) -> Result<HistogramValue, String> {
    // Spans that do not match the buckets would make the resolution change read past
    // them: such a histogram is refused first, naming what is wrong.
    let valid = match &value {
        HistogramValue::Int(h) => h.validate(),
        HistogramValue::Float(h) => h.validate(),
    };
    valid.map_err(|e| format!("invalid native histogram: {e}"))?;
    let limit = job.native_histogram_bucket_limit as usize;
    let max = if job.native_histogram_min_bucket_factor > 1.0 {
        max_schema(job.native_histogram_min_bucket_factor)
    } else {
        model::histogram::EXPONENTIAL_SCHEMA_MAX
    };
    let (buckets, schema, custom) = match &value {
        HistogramValue::Int(h) => (
            h.positive_buckets.len() + h.negative_buckets.len(),
            h.schema,
            h.uses_custom_buckets(),
        ),
        HistogramValue::Float(h) => (
            h.positive_buckets.len() + h.negative_buckets.len(),
            h.schema,
            h.uses_custom_buckets(),
        ),
    };
    let over_limit = limit > 0 && buckets > limit;
    let over_schema = schema > max && !custom;
    if !over_limit && !over_schema {
        return Ok(value);
    }
    let (mut f, int) = match &value {
        HistogramValue::Int(h) => (h.to_float(), Some(h)),
        HistogramValue::Float(f) => (f.clone(), None),
    };
    let buckets = |f: &FloatHistogram| f.positive_buckets.len() + f.negative_buckets.len();
    if over_schema {
        f.reduce_resolution(max);
    }
    if limit > 0 {
        if buckets(&f) > limit && f.uses_custom_buckets() {
            return Err(BUCKET_LIMIT_ERROR.into());
        }
        while buckets(&f) > limit {
            if f.schema <= EXPONENTIAL_SCHEMA_MIN {
                return Err(BUCKET_LIMIT_ERROR.into());
            }
            let lower = f.schema - 1;
            f.reduce_resolution(lower);
        }
    }
    Ok(match int {
        Some(h) => HistogramValue::Int(to_int(&f, h)),
        None => HistogramValue::Float(f),
    })
}

/// A scrape's histograms ready to append: by series ref where the cache knows the series,
/// by labels where it does not; each with its cache key.
#[derive(Default)]
pub(crate) struct Prepared {
    pub by_ref: Vec<(u64, i64, HistogramValue)>,
    pub by_ref_keys: Vec<u64>,
    pub by_labels: Vec<(Labels, i64, HistogramValue)>,
    pub by_labels_keys: Vec<u64>,
    /// Exemplars of `by_ref` samples' series, and of `by_labels` samples' (by index).
    pub exemplars_by_ref: Vec<(u64, model::Exemplar)>,
    pub exemplars_by_labels: Vec<(usize, model::Exemplar)>,
}

/// One histogram series as the target wrote it, and what it became.
struct CachedSeries {
    name: std::sync::Arc<str>,
    labels: exposition::LabelPairs,
    /// `None`: dropped by `metric_relabel_configs`.
    labels_out: Option<Labels>,
    series_ref: Option<u64>,
    /// The scrape that last had it.
    generation: u64,
}

/// The native histogram series of a target's scrapes, as the float scrape cache: a
/// series' labels are built, relabelled and checked once, and its samples go to storage by
/// ref after that; entries a scrape does not have are dropped. It also keeps the refs of
/// the last successful scrape, for staleness markers.
#[derive(Default)]
pub(crate) struct HistogramCache {
    entries: FxHashMap<u64, CachedSeries>,
    generation: u64,
    last_refs: FxHashSet<u64>,
}

impl HistogramCache {
    /// A fast hash of the series as written (entries compare the whole key on a hit, so
    /// a collision costs a relabelling, never a wrong series).
    fn key(s: &NativeHistogramSample) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        s.name.hash(&mut h);
        s.labels.hash(&mut h);
        h.finish()
    }

    /// Labels (`label` does what a cache miss needs: target labels, relabelling, limits;
    /// `Ok(None)` when dropped), applies the job's histogram limits and `sample_limit`
    /// (`floats` samples came before).
    pub fn prepare(
        &mut self,
        job: &ScrapeConfig,
        histograms: Vec<NativeHistogramSample>,
        t: i64,
        floats: usize,
        label: impl Fn(&NativeHistogramSample) -> Result<Option<Labels>, String>,
    ) -> Result<Prepared, String> {
        self.generation += 1;
        let generation = self.generation;
        // Most series are known from the last scrape: their samples go by ref.
        let mut out = Prepared {
            by_ref: Vec::with_capacity(histograms.len()),
            by_ref_keys: Vec::with_capacity(histograms.len()),
            ..Prepared::default()
        };
        let mut kept = 0usize;
        for mut s in histograms {
            let key = Self::key(&s);
            let hit = self
                .entries
                .get(&key)
                .is_some_and(|e| e.name == s.name && e.labels == s.labels);
            if !hit {
                let labels_out = label(&s)?;
                // A hash collision with another series: the newer one takes the slot.
                self.entries.insert(
                    key,
                    CachedSeries {
                        name: std::sync::Arc::clone(&s.name),
                        labels: s.labels.clone(),
                        labels_out,
                        series_ref: None,
                        generation,
                    },
                );
            }
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            entry.generation = generation;
            let Some(labels) = &entry.labels_out else {
                continue;
            };
            let at = s.timestamp_ms.filter(|_| job.honor_timestamps).unwrap_or(t);
            let value = apply_limits(job, s.value)?;
            kept += 1;
            let limit = job.sample_limit;
            if limit > 0 && (floats + kept) as u64 > limit {
                return Err(format!("sample limit exceeded: more than {limit} samples"));
            }
            let exemplars = std::mem::take(&mut s.exemplars);
            match entry.series_ref {
                Some(r) => {
                    out.exemplars_by_ref
                        .extend(exemplars.into_iter().map(|e| (r, e)));
                    out.by_ref.push((r, at, value));
                    out.by_ref_keys.push(key);
                }
                None => {
                    let i = out.by_labels.len();
                    out.exemplars_by_labels
                        .extend(exemplars.into_iter().map(|e| (i, e)));
                    out.by_labels.push((labels.clone(), at, value));
                    out.by_labels_keys.push(key);
                }
            }
        }
        self.entries.retain(|_, e| e.generation == generation);
        Ok(out)
    }

    /// Records the refs storage gave the series appended by labels.
    pub fn set_refs(&mut self, keys: &[u64], refs: &[u64]) {
        for (key, r) in keys.iter().zip(refs) {
            if let Some(e) = self.entries.get_mut(key) {
                e.series_ref = Some(*r);
            }
        }
    }

    /// The labels of a cached series (to append it again by labels when storage no longer
    /// has its ref), forgetting the ref.
    pub fn forget_ref(&mut self, key: u64) -> Option<Labels> {
        let e = self.entries.get_mut(&key)?;
        e.series_ref = None;
        e.labels_out.clone()
    }

    /// Records this scrape's series refs; returns those of the last scrape that are gone.
    pub fn finish(&mut self, now: FxHashSet<u64>) -> Vec<u64> {
        let gone = self.last_refs.difference(&now).copied().collect();
        self.last_refs = now;
        gone
    }

    /// Every series of the last scrape (the target went away); the cache is emptied.
    pub fn end_all(&mut self) -> Vec<u64> {
        self.entries.clear();
        std::mem::take(&mut self.last_refs).into_iter().collect()
    }
}

/// A protobuf native histogram's labels: its own, then the metric name.
pub(crate) fn sample_labels(s: &NativeHistogramSample) -> impl Iterator<Item = (&str, &str)> {
    s.labels
        .iter()
        .chain(std::iter::once(("__name__", &*s.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_pick_schemas_as_upstream() {
        assert_eq!(max_schema(1.1), 2);
        assert_eq!(max_schema(2.0), 0);
        assert_eq!(max_schema(4.0), -1);
        assert_eq!(max_schema(1.0), 8);
        assert_eq!(max_schema(1e9), -4);
    }
}
