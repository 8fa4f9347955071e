//! A scrape body into samples: parsed, labelled with the target's labels, relabelled,
//! checked against the job's limits.

use super::*;
use crate::metadata::Said;

impl ScrapeLoop {
    /// Parses a body into samples to append; `exemplars`: `None` when exemplars are not
    /// stored, else a protobuf body's (by sample number; a text body's come with its
    /// samples).
    pub(super) fn parse_body(
        &mut self,
        body: &[u8],
        format: Format,
        t: i64,
        exemplars: Option<&[(usize, model::Exemplar)]>,
    ) -> Result<Scraped, String> {
        let job = Arc::clone(&self.job);
        self.cache.begin();
        self.metadata.begin();
        let mut out = Scraped {
            by_ref: Vec::with_capacity(self.cache.len()),
            by_labels: Vec::new(),
            by_ref_starts: Vec::new(),
            by_labels_starts: Vec::new(),
            scraped: 0,
            nhcb: Vec::new(),
            exemplars_by_ref: Vec::new(),
            exemplars_by_labels: Vec::new(),
        };
        let want_exemplars = exemplars.is_some();
        let mut listed = exemplars.unwrap_or(&[]).iter().peekable();
        let mut nhcb = (job.convert_classic_histograms_to_nhcb == Some(true))
            .then(crate::nhcb::NhcbCollector::default);
        let keep_classic = job.always_scrape_classic_histograms == Some(true);
        let mut last_family = String::new();
        let limit = job.sample_limit;
        let mut created =
            (self.start_timestamps && format == Format::OpenMetrics).then(CreatedTimes::default);
        // The type of the latest `# TYPE` line: Prometheus rewrites the `le` of histograms
        // and the `quantile` of summaries in OpenMetrics' float form (`1` → `1.0`).
        let mut last_type = MetricType::Unknown;
        let mut parser = exposition::Parser::new(body, format);
        // The cache knows most series by their text, and holds only texts this format's
        // parser accepted (it is cleared when the format changes): a known series needs
        // no labels read. Classic histograms turned native and start times read labels
        // of every sample.
        if nhcb.is_none() && created.is_none() {
            parser.defer_labels();
        }
        // Each sample's label list goes back to the parser for the next sample's labels.
        let mut done_with = None;
        loop {
            if let Some(labels) = done_with.take() {
                parser.recycle(labels);
            }
            let Some(entry) = parser.next() else { break };
            let mut sample = match entry.map_err(|e| e.to_string())? {
                Entry::Sample(sample) => sample,
                Entry::Type { name, kind } => {
                    last_type = kind;
                    if nhcb.is_some() {
                        last_family.clear();
                        last_family.push_str(&name);
                    }
                    if let Some(c) = &mut created {
                        c.family = Some((name.to_string(), kind));
                    }
                    self.metadata.note(&name, Said::Type(kind));
                    continue;
                }
                Entry::Help { name, text } => {
                    if let Some(c) = &mut created {
                        c.metadata_for(&name);
                    }
                    self.metadata.note(&name, Said::Help(&text));
                    continue;
                }
                Entry::Unit { name, unit } => {
                    if let Some(c) = &mut created {
                        c.metadata_for(&name);
                    }
                    self.metadata.note(&name, Said::Unit(&unit));
                    continue;
                }
            };
            out.scraped += 1;
            // This sample's exemplar: written with it (OpenMetrics), or listed by number
            // (protobuf).
            let mut exemplar = None;
            if want_exemplars {
                let number = out.scraped - 1;
                while listed.peek().is_some_and(|(n, _)| *n < number) {
                    listed.next();
                }
                if let Some((_, e)) = listed.next_if(|(n, _)| *n == number) {
                    exemplar = Some(e.clone());
                } else if let Some(e) = &sample.exemplar {
                    exemplar = Some(model::Exemplar {
                        labels: model::Labels::from_pairs(
                            e.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())),
                        ),
                        value: e.value,
                        timestamp_ms: e.timestamp_ms.unwrap_or(0),
                        has_timestamp: e.timestamp_ms.is_some(),
                    });
                }
            }
            if let Some(c) = &mut nhcb {
                if last_type == MetricType::Histogram
                    && c.take(&last_family, &sample)?
                    && !keep_classic
                {
                    done_with = Some(sample.labels);
                    continue;
                }
            }
            let explicit = sample.timestamp_ms.filter(|_| job.honor_timestamps);
            let track = explicit.is_none() || job.track_timestamps_staleness;
            let at = explicit.unwrap_or(t);
            let start_id = created.as_mut().and_then(|c| c.sample(&sample));
            // Without a timestamp of its own, an exemplar has its sample's.
            let exemplar = exemplar.map(|mut e| {
                if !e.has_timestamp {
                    e.timestamp_ms = at;
                }
                e
            });
            let key = self.cache.key(sample.series);
            match self.cache.lookup(key, track) {
                Lookup::Hit(series_ref) => {
                    if let Some(e) = exemplar {
                        out.exemplars_by_ref.push((series_ref, e));
                    }
                    out.by_ref.push((series_ref, at, sample.value));
                    if let Some(c) = &mut created {
                        c.by_ref.push(start_id);
                    }
                }
                Lookup::Dropped => {
                    done_with = Some(sample.labels);
                    continue;
                }
                Lookup::Miss => {
                    parser
                        .parse_labels(&mut sample)
                        .map_err(|e| e.to_string())?;
                    let mut b = LabelsBuilder::default();
                    for (name, value) in &sample.labels {
                        match normalized_float_label(last_type, name, value) {
                            Some(v) => b.set(name.as_ref(), v.as_str()),
                            None => b.set(name.as_ref(), value.as_ref()),
                        }
                    }
                    b.set("__name__", sample.name.as_ref());
                    self.merge_target_labels(&mut b);
                    let labels = b.build();
                    let Some(labels) = crate::relabel(&labels, &job.metric_relabel_configs) else {
                        self.cache.add_dropped(key);
                        done_with = Some(sample.labels);
                        continue;
                    };
                    check_label_limits(&job, &labels)?;
                    if job.metric_name_validation_scheme.is_legacy() && !legacy_names(&labels) {
                        return Err(format!("invalid metric name or label names: {labels}"));
                    }
                    self.cache.add(key, track);
                    if let Some(e) = exemplar {
                        out.exemplars_by_labels.push((out.by_labels.len(), e));
                    }
                    out.by_labels.push((labels, at, sample.value));
                    if let Some(c) = &mut created {
                        c.by_labels.push(start_id);
                    }
                }
            }
            if limit > 0 && (out.by_ref.len() + out.by_labels.len()) as u64 > limit {
                return Err(format!("sample limit exceeded: more than {limit} samples"));
            }
            done_with = Some(sample.labels);
        }
        if let Some(c) = created {
            out.by_ref_starts = c.resolve(&c.by_ref);
            out.by_labels_starts = c.resolve(&c.by_labels);
        }
        if let Some(c) = nhcb {
            out.nhcb = c.finish();
        }
        Ok(out)
    }

    /// Prometheus's `mutateSampleLabels`: target labels win, clashing sample labels are
    /// kept as `exported_<name>`, unless `honor_labels` lets the sample's win.
    pub(super) fn merge_target_labels(&self, b: &mut LabelsBuilder) {
        for l in self.target.labels.iter() {
            match b.get(&l.name).map(str::to_string) {
                Some(_) if self.job.honor_labels => {}
                Some(existing) => {
                    let mut name = format!("exported_{}", l.name);
                    while b.get(&name).is_some() {
                        name = format!("exported_{name}");
                    }
                    b.set(name, existing);
                    b.set(l.name.clone(), l.value.clone());
                }
                None => b.set(l.name.clone(), l.value.clone()),
            }
        }
    }
}

pub(super) fn check_label_limits(job: &ScrapeConfig, labels: &Labels) -> Result<(), String> {
    let metric = labels.metric_name().unwrap_or("");
    let count_limit = job.label_limit;
    if count_limit > 0 && labels.len() as u64 > count_limit {
        return Err(format!(
            "label_limit exceeded (metric: {metric}, number of labels: {}, limit: {count_limit})",
            labels.len()
        ));
    }
    let name_limit = job.label_name_length_limit;
    let value_limit = job.label_value_length_limit;
    for l in labels.iter() {
        if name_limit > 0 && l.name.len() as u64 > name_limit {
            return Err(format!(
                "label_name_length_limit exceeded (metric: {metric}, label name: {}, limit: {name_limit})",
                l.name
            ));
        }
        if value_limit > 0 && l.value.len() as u64 > value_limit {
            return Err(format!(
                "label_value_length_limit exceeded (metric: {metric}, label name: {}, value: {:?}, limit: {value_limit})",
                l.name, l.value
            ));
        }
    }
    Ok(())
}

/// Whether every name of a series fits the legacy rules (`metric_name_validation_scheme:
/// legacy`): `[a-zA-Z_:][a-zA-Z0-9_:]*` for the metric name, no colon in label names.
pub(super) fn legacy_names(labels: &Labels) -> bool {
    labels.iter().all(|l| {
        let colons = l.name == "__name__";
        let name: &str = if colons { &l.value } else { &l.name };
        let mut bytes = name.bytes();
        matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || (colons && b == b':'))
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || (colons && b == b':'))
    })
}

/// Prometheus's `normalizeFloatsInLabelValues`: a histogram's `le` and a summary's
/// `quantile` are rewritten in OpenMetrics' float form when they parse as floats.
pub(super) fn normalized_float_label(kind: MetricType, name: &str, value: &str) -> Option<String> {
    let applies = (kind == MetricType::Histogram && name == "le")
        || (kind == MetricType::Summary && name == "quantile");
    if !applies {
        return None;
    }
    let parsed: f64 = value.parse().ok()?;
    let normal = model::float::format_openmetrics_float(parsed);
    (normal != value).then_some(normal)
}
