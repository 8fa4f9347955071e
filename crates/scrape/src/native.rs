//! Native histograms of a scrape (protobuf bodies with `scrape_native_histograms`): labels
//! as for floats (target labels, `metric_relabel_configs`, label limits), the job's
//! `native_histogram_bucket_limit` and `native_histogram_min_bucket_factor` applied by
//! lowering the resolution, appended as histogram samples; series the previous scrape had
//! and this one has not get staleness markers.

use exposition::NativeHistogramSample;
use model::histogram::{FloatHistogram, Histogram, HistogramValue, EXPONENTIAL_SCHEMA_MIN};
use model::Labels;
use promconfig::ScrapeConfig;

use crate::cache::{Lookup, SeriesCache};

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
/// `Err` when the limit cannot be met, or a histogram to lower is invalid (then the scrape
/// fails, as upstream's does on an invalid histogram; storage checks the others).
pub(crate) fn apply_limits(job: &ScrapeConfig, value: &mut HistogramValue) -> Result<(), String> {
    let limit = job.native_histogram_bucket_limit as usize;
    let max = if job.native_histogram_min_bucket_factor > 1.0 {
        max_schema(job.native_histogram_min_bucket_factor)
    } else {
        model::histogram::EXPONENTIAL_SCHEMA_MAX
    };
    let (buckets, schema, custom) = match &*value {
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
        // Storage validates it (`Db::append_scraped_histograms`), once.
        return Ok(());
    }
    // Spans that do not match the buckets would make the resolution change read past
    // them: such a histogram is refused first, naming what is wrong.
    value
        .validate()
        .map_err(|e| format!("invalid native histogram: {e}"))?;
    let (mut f, int) = match &*value {
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
    *value = match int {
        Some(h) => HistogramValue::Int(to_int(&f, h)),
        None => HistogramValue::Float(f),
    };
    Ok(())
}

/// A scrape's histograms ready to append: by series ref where the cache knows the series,
/// by labels where it does not; the values stay in `samples` (a histogram is a few hundred
/// bytes: storage borrows it rather than have it moved around).
#[derive(Default)]
pub(crate) struct Prepared {
    /// Series ref, timestamp, place in `samples` and cache key (to append it again by
    /// labels if storage no longer has the ref).
    pub by_ref: Vec<(u64, i64, usize, u128)>,
    /// Labels, timestamp and place in `samples`.
    pub by_labels: Vec<(Labels, i64, usize)>,
    /// Exemplars of `by_ref` samples' series, and of `by_labels` samples' (by index).
    pub exemplars_by_ref: Vec<(u64, model::Exemplar)>,
    pub exemplars_by_labels: Vec<(usize, model::Exemplar)>,
    /// The scrape's histograms as the target wrote them, limits applied.
    pub samples: Vec<NativeHistogramSample>,
}

/// The native histogram series of a target's scrapes, in the float samples' scrape cache
/// ([`SeriesCache`]): a series' labels are built, relabelled and checked once, and its
/// samples go to storage by ref after that, the cache walked in the order of the last
/// scrape; it also tells which series of the last scrape are gone, for staleness markers.
pub(crate) struct HistogramCache {
    series: SeriesCache,
}

impl Default for HistogramCache {
    fn default() -> Self {
        Self {
            series: SeriesCache::new(),
        }
    }
}

impl HistogramCache {
    /// Labels (`label` does what a cache miss needs: target labels, relabelling, limits;
    /// `Ok(None)` when dropped), applies the job's histogram limits and `sample_limit`
    /// (`floats` samples came before). The scrape ends with [`HistogramCache::finish`]
    /// when it succeeds.
    pub fn prepare(
        &mut self,
        job: &ScrapeConfig,
        mut histograms: Vec<NativeHistogramSample>,
        t: i64,
        floats: usize,
        label: impl Fn(&NativeHistogramSample) -> Result<Option<Labels>, String>,
    ) -> Result<Prepared, String> {
        self.series.begin();
        // Most series are known from the last scrape: their samples go by ref.
        let mut out = Prepared {
            by_ref: Vec::with_capacity(histograms.len()),
            ..Prepared::default()
        };
        let mut kept = 0usize;
        for (i, s) in histograms.iter_mut().enumerate() {
            let key = self
                .series
                .key_of_parts(&[s.name.as_bytes(), s.labels.as_bytes()]);
            let lookup = self.series.lookup(key, true);
            let labels = match lookup {
                Lookup::Dropped => continue,
                Lookup::Hit(_) => None,
                Lookup::Miss => match label(s)? {
                    Some(labels) => {
                        self.series.add(key, true);
                        Some(labels)
                    }
                    None => {
                        self.series.add_dropped(key);
                        continue;
                    }
                },
            };
            let at = s.timestamp_ms.filter(|_| job.honor_timestamps).unwrap_or(t);
            apply_limits(job, &mut s.value)?;
            kept += 1;
            let limit = job.sample_limit;
            if limit > 0 && (floats + kept) as u64 > limit {
                return Err(format!("sample limit exceeded: more than {limit} samples"));
            }
            let exemplars = std::mem::take(&mut s.exemplars);
            match (lookup, labels) {
                (Lookup::Hit(r), _) => {
                    out.exemplars_by_ref
                        .extend(exemplars.into_iter().map(|e| (r, e)));
                    out.by_ref.push((r, at, i, key));
                }
                (_, Some(labels)) => {
                    let n = out.by_labels.len();
                    out.exemplars_by_labels
                        .extend(exemplars.into_iter().map(|e| (n, e)));
                    out.by_labels.push((labels, at, i));
                }
                // A miss has labels (or was dropped above).
                _ => {}
            }
        }
        out.samples = histograms;
        Ok(out)
    }

    /// Ends a successful scrape: `refs` are the storage refs of the `by_labels` samples of
    /// [`HistogramCache::prepare`], in order. Returns the refs of series the last scrape
    /// had and this one has not.
    pub fn finish(&mut self, refs: &[u64]) -> Vec<u64> {
        self.series.finish(refs)
    }

    /// Points a cached series at a new storage ref (storage no longer had the old one).
    pub fn relink(&mut self, key: u128, series_ref: u64) {
        self.series.relink(key, series_ref);
    }

    /// Every series of the last successful scrape (the scrape failed or the target went
    /// away); they are not reported again until seen again.
    pub fn end_all(&mut self) -> Vec<u64> {
        self.series.end_all()
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

    fn sample(name: &str, series: &str) -> NativeHistogramSample {
        NativeHistogramSample {
            name: name.into(),
            labels: exposition::LabelPairs::from_pairs([("series", series)]),
            timestamp_ms: None,
            value: HistogramValue::Int(Histogram {
                count: 1,
                positive_spans: vec![model::histogram::Span {
                    offset: 0,
                    length: 1,
                }],
                positive_buckets: vec![1],
                ..Histogram::default()
            }),
            exemplars: Vec::new(),
        }
    }

    /// One scrape through the cache: the series named "drop" are dropped by relabelling;
    /// storage gives new series refs from `next_ref`. Returns (refs appended by ref,
    /// labels appended by labels, refs gone since the last scrape).
    fn scrape(
        cache: &mut HistogramCache,
        series: &[&str],
        next_ref: &mut u64,
    ) -> (Vec<u64>, Vec<String>, Vec<u64>) {
        let job = ScrapeConfig::default();
        let samples = series.iter().map(|s| sample("h", s)).collect();
        let prepared = cache
            .prepare(&job, samples, 1000, 0, |s| {
                let series = s.labels.iter().next().map(|(_, v)| v.to_string());
                Ok((series.as_deref() != Some("drop"))
                    .then(|| Labels::from_pairs(crate::native::sample_labels(s))))
            })
            .expect("prepared");
        let by_ref: Vec<u64> = prepared.by_ref.iter().map(|(r, ..)| *r).collect();
        let by_labels: Vec<String> = prepared
            .by_labels
            .iter()
            .map(|(l, ..)| l.to_string())
            .collect();
        let refs: Vec<u64> = (0..by_labels.len() as u64).map(|i| *next_ref + i).collect();
        *next_ref += refs.len() as u64;
        let gone = cache.finish(&refs);
        (by_ref, by_labels, gone)
    }

    #[test]
    fn known_series_go_by_ref_and_vanished_ones_are_reported() {
        let mut cache = HistogramCache::default();
        let mut next = 1;
        let (by_ref, by_labels, gone) = scrape(&mut cache, &["a", "drop", "b"], &mut next);
        assert!(by_ref.is_empty());
        assert_eq!(
            by_labels,
            [
                r#"{__name__="h", series="a"}"#,
                r#"{__name__="h", series="b"}"#
            ]
        );
        assert!(gone.is_empty());
        let (by_ref, by_labels, gone) = scrape(&mut cache, &["a", "drop", "b"], &mut next);
        assert_eq!(by_ref, [1, 2]);
        assert!(by_labels.is_empty());
        assert!(gone.is_empty());
        // Reordered, one gone, one new.
        let (by_ref, by_labels, gone) = scrape(&mut cache, &["c", "a"], &mut next);
        assert_eq!(by_ref, [1]);
        assert_eq!(by_labels, [r#"{__name__="h", series="c"}"#]);
        assert_eq!(gone, [2]);
        // A series storage dropped, appended again by labels, goes by its new ref.
        cache.relink(
            cache
                .series
                .key_of_parts(&[b"h", sample("h", "a").labels.as_bytes()]),
            9,
        );
        let (by_ref, _, _) = scrape(&mut cache, &["c", "a"], &mut next);
        assert_eq!(by_ref, [3, 9]);
        // A failed scrape ends every series once.
        let mut all = cache.end_all();
        all.sort();
        assert_eq!(all, [3, 9]);
        let (_, _, gone) = scrape(&mut cache, &["c"], &mut next);
        assert!(gone.is_empty(), "already ended: {gone:?}");
    }

    #[test]
    fn factors_pick_schemas_as_upstream() {
        assert_eq!(max_schema(1.1), 2);
        assert_eq!(max_schema(2.0), 0);
        assert_eq!(max_schema(4.0), -1);
        assert_eq!(max_schema(1.0), 8);
        assert_eq!(max_schema(1e9), -4);
    }
}
