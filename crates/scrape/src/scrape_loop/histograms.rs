//! A scrape's native histograms and exemplars: labelled as float samples are, appended,
//! their series marked stale when gone.

use super::parse::{check_label_limits, legacy_names};
use super::*;

impl ScrapeLoop {
    /// Appends a scrape's exemplars: those of series appended by ref, and those of series
    /// appended by labels (by sample index, `refs` being the refs storage gave those
    /// samples). As in Prometheus, those refused (out of order, label sets too long) do
    /// not fail the scrape; out-of-order ones are logged.
    pub(super) fn store_exemplars(
        &self,
        by_ref: Vec<(u64, model::Exemplar)>,
        by_labels: Vec<(usize, model::Exemplar)>,
        refs: &[u64],
    ) {
        let mut exemplars = by_ref;
        exemplars.extend(
            by_labels
                .into_iter()
                .filter_map(|(i, e)| refs.get(i).map(|r| (*r, e))),
        );
        if exemplars.is_empty() {
            return;
        }
        match self.db.append_exemplars(exemplars) {
            Ok(r) if r.out_of_order > 0 => {
                tracing::warn!(url = %self.target.url, num_dropped = r.out_of_order, "Error on ingesting out-of-order exemplars")
            }
            Ok(_) => {}
            Err(e) => log_append_error(&e, "appending exemplars"),
        }
    }

    /// Labels the scrape's native histograms as float samples are labelled (through the
    /// histogram cache), and applies the job's histogram limits; `floats` samples came
    /// before (for `sample_limit`).
    pub(super) fn label_histograms(
        &mut self,
        histograms: Vec<exposition::NativeHistogramSample>,
        t: i64,
        floats: usize,
    ) -> Result<crate::native::Prepared, String> {
        let job = Arc::clone(&self.job);
        let mut cache = std::mem::take(&mut self.histogram_series);
        let prepared = cache.prepare(&job, histograms, t, floats, |s| self.histogram_labels(s));
        self.histogram_series = cache;
        prepared
    }

    /// What a native histogram's labels become (`None`: dropped by relabelling), as for a
    /// float sample: target labels merged, `metric_relabel_configs`, label limits.
    pub(super) fn histogram_labels(
        &self,
        s: &exposition::NativeHistogramSample,
    ) -> Result<Option<Labels>, String> {
        let job = &self.job;
        let mut b = LabelsBuilder::default();
        for (name, value) in crate::native::sample_labels(s) {
            b.set(name, value);
        }
        self.merge_target_labels(&mut b);
        let labels = b.build();
        let Some(labels) = crate::relabel(&labels, &job.metric_relabel_configs) else {
            return Ok(None);
        };
        check_label_limits(job, &labels)?;
        if job.metric_name_validation_scheme.is_legacy() && !legacy_names(&labels) {
            return Err(format!("invalid metric name or label names: {labels}"));
        }
        Ok(Some(labels))
    }

    /// Appends this scrape's histograms and marks the histogram series it no longer has
    /// stale; returns the number of new series.
    pub(super) fn store_histograms(
        &mut self,
        batch: crate::native::Prepared,
        t: i64,
    ) -> Result<usize, String> {
        let crate::native::Prepared {
            by_ref: by_ref_places,
            by_labels: by_labels_places,
            exemplars_by_ref,
            exemplars_by_labels,
            samples,
        } = batch;
        let value = |i: usize| samples.get(i).map(|s| &s.value);
        // Storage borrows the values; `origins` keeps what `by_ref` stands for.
        let mut by_ref = Vec::with_capacity(by_ref_places.len());
        let mut origins = Vec::with_capacity(by_ref_places.len());
        for &(r, at, i, key) in &by_ref_places {
            if let Some(v) = value(i) {
                by_ref.push((r, at, v));
                origins.push((key, i));
            }
        }
        let by_labels: Vec<_> = by_labels_places
            .into_iter()
            .filter_map(|(labels, at, i)| Some((labels, at, value(i)?)))
            .collect();
        let stored = |e: tsdb::DbError| match e {
            tsdb::DbError::InvalidHistogram(_) => e.to_string(),
            e => format!("appending to storage: {e}"),
        };
        let r = if by_ref.is_empty() && by_labels.is_empty() {
            Default::default()
        } else {
            self.db
                .append_scraped_histograms(&by_ref, &by_labels)
                .map_err(stored)?
        };
        let mut new_series = r.result.new_series;
        self.store_exemplars(exemplars_by_ref, exemplars_by_labels, &r.refs);
        let gone = self.histogram_series.finish(&r.refs);
        if !r.unknown.is_empty() {
            // Storage dropped these series since they were cached: by labels again, as
            // new series, and the cache pointed at their new refs.
            let mut again = Vec::with_capacity(r.unknown.len());
            let mut again_keys = Vec::with_capacity(r.unknown.len());
            for &n in &r.unknown {
                let (Some(&(_, at, v)), Some(&(key, i))) = (by_ref.get(n), origins.get(n)) else {
                    continue;
                };
                let Some(written) = samples.get(i) else {
                    continue;
                };
                if let Some(labels) = self.histogram_labels(written)? {
                    again.push((labels, at, v));
                    again_keys.push(key);
                }
            }
            if !again.is_empty() {
                let r = self
                    .db
                    .append_scraped_histograms(&[], &again)
                    .map_err(stored)?;
                new_series += r.result.new_series;
                for (key, series_ref) in again_keys.iter().zip(&r.refs) {
                    self.histogram_series.relink(*key, *series_ref);
                }
            }
        }
        self.mark_stale(gone, t);
        Ok(new_series)
    }
}
