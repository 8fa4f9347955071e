//! One target's scrape loop: fetch, parse, label, relabel, limit, append, mark stale.

use crate::cache::{Lookup, SeriesCache};
use crate::fetch::{FetchError, Fetched, HttpScrape};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use exposition::{Entry, Format, MetricType};
use model::{Labels, LabelsBuilder};
use promconfig::ScrapeConfig;

mod histograms;
mod parse;

/// What the targets API shows about a target.
#[derive(Debug, Clone)]
pub struct TargetStatus {
    pub scrape_url: String,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: &'static str,
    pub last_error: String,
    pub last_scrape: Option<SystemTime>,
    pub last_duration: Duration,
    pub last_samples: usize,
    /// Metric metadata from the last successful scrape: family name → (type, help, unit).
    pub metadata: std::collections::BTreeMap<String, MetricMetadata>,
}

/// What `# TYPE`, `# HELP` and `# UNIT` said about a metric family.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricMetadata {
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// A target to scrape: its labels after relabeling and the URL built from them.
#[derive(Debug, Clone)]
pub struct Target {
    pub labels: Labels,
    pub discovered: Labels,
    pub url: String,
}

impl Target {
    /// Builds the URL from the pre-relabel labels' `__scheme__`, `__address__`,
    /// `__metrics_path__` and `__param_*` (after relabeling).
    pub fn new(labels: Labels, discovered: Labels, relabeled_meta: &Labels) -> Self {
        let scheme = relabeled_meta.get("__scheme__").unwrap_or("http");
        let address = relabeled_meta.get("__address__").unwrap_or("");
        let path = relabeled_meta.get("__metrics_path__").unwrap_or("/metrics");
        let mut query = Vec::new();
        for l in relabeled_meta.iter() {
            if let Some(param) = l.name.strip_prefix("__param_") {
                query.push(format!(
                    "{}={}",
                    encode_query(param),
                    encode_query(&l.value)
                ));
            }
        }
        let mut url = format!("{scheme}://{address}{path}");
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        Self {
            labels,
            discovered,
            url,
        }
    }
}

fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Everything one scrape produced before it is appended.
struct Scraped {
    /// Samples of series the cache knows.
    by_ref: Vec<(u64, i64, f64)>,
    /// Samples of series seen for the first time (their refs go to the cache).
    by_labels: Vec<(Labels, i64, f64)>,
    /// Start timestamps parallel to `by_ref` and `by_labels` (empty: none known).
    by_ref_starts: Vec<i64>,
    by_labels_starts: Vec<i64>,
    scraped: usize,
    /// Classic histograms converted to native ones (`convert_classic_histograms_to_nhcb`).
    nhcb: Vec<exposition::NativeHistogramSample>,
    /// Exemplars of `by_ref` samples' series, and of `by_labels` samples' (by index).
    exemplars_by_ref: Vec<(u64, model::Exemplar)>,
    exemplars_by_labels: Vec<(usize, model::Exemplar)>,
}

impl Scraped {
    /// Appends the samples (with their start timestamps) in one batch.
    fn store(&self, db: &tsdb::Db) -> Result<tsdb::BatchResult, tsdb::DbError> {
        db.append_batch_with_starts(
            &self.by_ref,
            &self.by_ref_starts,
            &self.by_labels,
            &self.by_labels_starts,
        )
    }
}

/// Start timestamps from OpenMetrics `_created` lines: every counter, histogram and summary
/// sample gets its family's `_created` value for the same labels (without `le` and
/// `quantile`), wherever in the family that line is.
#[derive(Default)]
struct CreatedTimes {
    /// The current family: name and type.
    family: Option<(String, MetricType)>,
    /// Family and labels → index in `starts`.
    ids: std::collections::HashMap<String, u32>,
    /// By id: the `_created` time in ms (0: no `_created` line seen).
    starts: Vec<i64>,
    /// By sample in `by_ref` / `by_labels`: its id, if it can have a start.
    by_ref: Vec<Option<u32>>,
    by_labels: Vec<Option<u32>>,
}

impl CreatedTimes {
    /// Notes a sample; for a `_created` line, its time. Returns the id the sample's start
    /// timestamp will be looked up by (none for samples that cannot have one).
    fn sample(&mut self, sample: &exposition::Sample<'_>) -> Option<u32> {
        let (family, kind) = self.family.as_ref()?;
        // The family's own samples only (`foo_bar` after `# TYPE foo counter` is not one).
        let (drop, suffixes): (&str, &[&str]) = match kind {
            MetricType::Counter => ("", &["_total", "_created"]),
            MetricType::Histogram => ("le", &["_bucket", "_count", "_sum", "_created"]),
            MetricType::Summary => ("quantile", &["", "_count", "_sum", "_created"]),
            _ => return None,
        };
        let suffix = sample.name.strip_prefix(family.as_str())?;
        if !suffixes.contains(&suffix) {
            return None;
        }
        let mut labels: Vec<(&str, &str)> = sample
            .labels
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .filter(|(n, _)| *n != drop)
            .collect();
        labels.sort_unstable();
        let mut key = family.clone();
        for (n, v) in labels {
            key.push('\u{0}');
            key.push_str(n);
            key.push('\u{0}');
            key.push_str(v);
        }
        let next = self.starts.len() as u32;
        let id = *self.ids.entry(key).or_insert(next);
        if id == next {
            self.starts.push(0);
        }
        if suffix == "_created" {
            let ms = sample.value * 1000.0;
            if ms.is_finite() && ms.abs() < 9.0e15 {
                self.starts[id as usize] = ms.round() as i64;
            }
            return None;
        }
        Some(id)
    }

    /// A HELP or UNIT line: one for another name starts another family.
    fn metadata_for(&mut self, name: &str) {
        if self.family.as_ref().is_some_and(|(f, _)| f != name) {
            self.family = None;
        }
    }

    fn resolve(&self, ids: &[Option<u32>]) -> Vec<i64> {
        if self.starts.iter().all(|st| *st == 0) {
            return Vec::new();
        }
        ids.iter()
            .map(|id| id.map_or(0, |id| self.starts[id as usize]))
            .collect()
    }
}

/// The loop's state between scrapes.
pub(crate) struct ScrapeLoop {
    pub job: Arc<ScrapeConfig>,
    pub client: reqwest::Client,
    pub target: Arc<Target>,
    /// The target's URL, parsed once (see `HttpScrape::parsed_url`).
    parsed_url: Option<reqwest::Url>,
    pub db: Arc<tsdb::Db>,
    pub status: Arc<Mutex<TargetStatus>>,
    /// Series text → storage ref: a target repeats the same series every scrape, so
    /// labels are built, relabeled and looked up once, not per sample per scrape. It holds
    /// exactly the series of the last successful scrape, so it also says which series
    /// vanished (staleness markers).
    cache: SeriesCache,
    last_body_len: usize,
    /// The native histograms of the last body that had any (see `last_body_len`).
    last_histogram_count: usize,
    cache_format: Option<Format>,
    report_refs: Option<Vec<u64>>,
    accept: String,
    /// The job's scrape timeout in seconds, as the request header says it.
    timeout_header: String,
    /// Set for the built-in self-scrape: the body comes from here instead of HTTP.
    pub local: Option<crate::manager::LocalSource>,
    /// Store OpenMetrics `_created` times as the samples' start timestamps.
    pub start_timestamps: bool,
    /// Scrape times within this many ms after their slot on the schedule are stored as the
    /// slot's time (`--scrape.adjust-timestamps`, `--scrape.timestamp-tolerance`); 0: off.
    pub timestamp_tolerance_ms: i64,
    /// An error that fails every scrape of this loop without fetching (the pool is over
    /// its `target_limit`), set by the manager.
    pub forced_error: Arc<Mutex<Option<String>>>,
    /// The pool's `scrape_failure_log_file`, if any (swapped on every configuration load).
    pub failure_log: crate::manager::FailureLogSlot,
    /// The native histogram series of the last scrape, for staleness markers.
    histogram_series: crate::native::HistogramCache,
    /// The metric metadata of the scrapes, published to `status` when it changes.
    metadata: crate::metadata::MetadataTracker,
    /// What the TLS files looked like when the client was built: certificates rotated on
    /// disk (cert-manager and the like) are picked up by the next scrape, as Go re-reads
    /// them.
    tls_files: Vec<FileStamp>,
}

/// A file's modification time and size (missing files compare equal to each other).
type FileStamp = (Option<SystemTime>, u64);

fn tls_file_stamps(job: &ScrapeConfig) -> Vec<FileStamp> {
    let tls = &job.http.tls_config;
    [&tls.ca_file, &tls.cert_file, &tls.key_file]
        .into_iter()
        .filter(|f| !f.is_empty())
        .map(|f| match std::fs::metadata(f) {
            Ok(m) => (m.modified().ok(), m.len()),
            Err(_) => (None, 0),
        })
        .collect()
}

const REPORT_SERIES: [&str; 8] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    // With `extra_scrape_metrics: true` only.
    "scrape_timeout_seconds",
    "scrape_sample_limit",
    "scrape_body_size_bytes",
];

impl ScrapeLoop {
    pub fn new(
        job: Arc<ScrapeConfig>,
        client: reqwest::Client,
        target: Arc<Target>,
        db: Arc<tsdb::Db>,
    ) -> Self {
        let protocols: Vec<&str> = job.scrape_protocols.iter().map(|p| p.as_str()).collect();
        let accept = crate::client::accept_header(&protocols, &job.metric_name_escaping_scheme);
        let status = Arc::new(Mutex::new(TargetStatus {
            scrape_url: target.url.clone(),
            health: "unknown",
            last_error: String::new(),
            last_scrape: None,
            last_duration: Duration::ZERO,
            last_samples: 0,
            metadata: std::collections::BTreeMap::new(),
        }));
        let tls_files = tls_file_stamps(&job);
        let timeout_header = format!("{}", job.timeout().as_secs_f64());
        Self {
            job,
            client,
            parsed_url: reqwest::Url::parse(&target.url).ok(),
            target,
            db,
            status,
            cache: SeriesCache::new(),
            last_body_len: 0,
            last_histogram_count: 0,
            cache_format: None,
            report_refs: None,
            timeout_header,
            accept,
            local: None,
            start_timestamps: false,
            timestamp_tolerance_ms: crate::align::DEFAULT_TIMESTAMP_TOLERANCE_MS,
            forced_error: Arc::new(Mutex::new(None)),
            failure_log: Arc::new(Mutex::new(None)),
            histogram_series: Default::default(),
            metadata: Default::default(),
            tls_files,
        }
    }

    /// Runs until `stop` fires, starting at an offset spread over the interval by the
    /// target's labels, then writes staleness markers for everything it had.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let interval = self.job.interval().max(Duration::from_millis(1));
        let offset = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            self.target.labels.hash(&mut h);
            Duration::from_nanos(h.finish() % interval.as_nanos().max(1) as u64)
        };
        let mut next = tokio::time::Instant::now() + offset;
        let mut scraped_once = false;
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        // The schedule's slot, from the first scrape on (Prometheus's alignedScrapeTime).
        let mut slot: Option<i64> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let now = now_ms();
            let t = if self.timestamp_tolerance_ms > 0 {
                let slot = slot.get_or_insert(now);
                crate::align::aligned_time(now, slot, interval_ms, self.timestamp_tolerance_ms)
            } else {
                now
            };
            self.scrape_at(t).await;
            scraped_once = true;
            next += interval;
            let now = tokio::time::Instant::now();
            while next < now {
                next += interval;
            }
        }
        // Stopped before its first scrape: it wrote nothing to end (as Prometheus's loop
        // returns without staleness markers then).
        if !scraped_once {
            return;
        }
        let t = now_ms();
        let stale: Vec<(u64, i64, f64)> = self
            .end_all_series()
            .into_iter()
            .map(|r| (r, t, model::stale_nan()))
            .collect();
        let report: Vec<(Labels, i64, f64)> = self
            .report_names()
            .iter()
            .map(|name| (self.report_labels(name), t, model::stale_nan()))
            .collect();
        if let Err(e) = self.db.append_batch(&stale, &report) {
            log_append_error(&e, "writing staleness markers");
        }
    }

    /// The report series this job writes: five, or eight with `extra_scrape_metrics`.
    fn report_names(&self) -> &'static [&'static str] {
        if self.job.extra_scrape_metrics == Some(true) {
            &REPORT_SERIES
        } else {
            &REPORT_SERIES[..5]
        }
    }

    fn report_labels(&self, name: &str) -> Labels {
        let mut b = self.target.labels.to_builder();
        b.set("__name__", name);
        b.build()
    }

    /// One scrape, appended with its report series, its samples stored at `t` (the scrape's
    /// start, aligned to the schedule when within the tolerance).
    async fn scrape_at(&mut self, t: i64) {
        let started = Instant::now();
        let forced = self
            .forced_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let fetched = match forced {
            Some(e) => Err(FetchError::Failed(e)),
            None => self.fetch().await,
        };
        // `scrape_body_size_bytes`: -1 for a body over the size limit, as in Prometheus.
        let mut body_size = 0.0;
        let result = match fetched {
            Ok(fetched) => {
                body_size = fetched.size as f64;
                // An empty body (a target misbehaving for a moment) does not undo the
                // pre-sizing, as in Prometheus.
                if fetched.size > 0 {
                    self.last_body_len = fetched.size;
                }
                if !fetched.histograms.is_empty() {
                    self.last_histogram_count = fetched.histograms.len();
                }
                self.ingest(fetched, t)
            }
            Err(e) => {
                if e.body_too_large() {
                    body_size = -1.0;
                }
                Err(e.into_message())
            }
        };
        let duration = started.elapsed();
        let (up, scraped, post, added, error) = match result {
            Ok(outcome) => (1.0, outcome.0, outcome.1, outcome.2, String::new()),
            Err(e) => {
                // A failed scrape ends every series the target had.
                let ended = self.end_all_series();
                self.mark_stale(ended, t);
                (0.0, 0, 0, 0, e)
            }
        };
        let values = [
            up,
            duration.as_secs_f64(),
            scraped as f64,
            post as f64,
            added as f64,
            self.job.timeout().as_secs_f64(),
            self.job.sample_limit as f64,
            body_size,
        ];
        let count = self.report_names().len();
        self.append_report(t, &values[..count]);
        if !error.is_empty() {
            tracing::debug!(url = %self.target.url, err = %error, "scrape failed");
            let log = self
                .failure_log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(log) = log {
                log.write(
                    "ERROR",
                    "scrape",
                    &error,
                    &[
                        ("job_name", crate::json_log::json_string(&self.job.job_name)),
                        ("target", crate::json_log::json_string(&self.target.url)),
                    ],
                );
            }
        }
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.health = if up == 1.0 { "up" } else { "down" };
        status.last_error = error;
        status.last_scrape = Some(SystemTime::now());
        status.last_duration = duration;
        status.last_samples = post;
    }

    /// Parses and appends one body; returns (samples scraped, samples after metric
    /// relabeling, new series).
    fn ingest(&mut self, mut fetched: Fetched, t: i64) -> Result<(usize, usize, usize), String> {
        let (body, format) = (&fetched.body[..], fetched.format);
        // The cache's texts were accepted by this format's parser, which then skips
        // reading them again; another format's parser may not accept them.
        if self.cache_format != Some(format) {
            self.cache.clear();
            self.cache_format = Some(format);
        }
        // Exemplars are only looked at when they are stored.
        let exemplars = self
            .db
            .exemplars_enabled()
            .then_some(&fetched.exemplars[..]);
        let mut scraped = self.parse_body(body, format, t, exemplars)?;
        let mut histograms = std::mem::take(&mut fetched.histograms);
        if exemplars.is_none() {
            for h in &mut histograms {
                h.exemplars.clear();
            }
        }
        histograms.append(&mut scraped.nhcb);
        let histogram_count = histograms.len();
        let native = self.label_histograms(
            histograms,
            t,
            scraped.by_ref.len() + scraped.by_labels.len(),
        )?;
        // Histograms first: an invalid one fails the scrape before anything is stored.
        let native_kept = native.by_ref.len() + native.by_labels.len();
        let native_new = self.store_histograms(native, t)?;
        let mut outcome = scraped.store(&self.db);
        if let Ok(r) = &outcome {
            if !r.unknown.is_empty() {
                // Series the storage has dropped since they were cached (e.g. after a
                // long pause): forget them and go again; samples already stored are
                // identical repeats and are not stored twice.
                let gone: Vec<u64> = r.unknown.iter().map(|i| scraped.by_ref[*i].0).collect();
                self.cache.forget(&gone);
                scraped = self.parse_body(body, format, t, exemplars)?;
                outcome = scraped.store(&self.db);
            }
        }
        let appended = outcome.map_err(|e| format!("appending to storage: {e}"))?;
        self.store_exemplars(
            std::mem::take(&mut scraped.exemplars_by_ref),
            std::mem::take(&mut scraped.exemplars_by_labels),
            &appended.refs,
        );
        let post = scraped.by_ref.len() + scraped.by_labels.len() + native_kept;
        // What the last scrape had and this one has not: a staleness marker.
        let gone = self.cache.finish(&appended.refs);
        self.mark_stale(gone, t);
        if let Some(families) = self.metadata.finish() {
            self.status
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .metadata = families;
        }
        Ok((
            scraped.scraped + histogram_count,
            post,
            appended.result.new_series + native_new,
        ))
    }

    /// Writes staleness markers at `t` for these series; a failure is logged, it does
    /// not fail the scrape.
    fn mark_stale(&self, refs: Vec<u64>, t: i64) {
        if refs.is_empty() {
            return;
        }
        let stale: Vec<(u64, i64, f64)> = refs
            .into_iter()
            .map(|r| (r, t, model::stale_nan()))
            .collect();
        if let Err(e) = self.db.append_batch(&stale, &[]) {
            log_append_error(&e, "writing staleness markers");
        }
    }

    /// Every series of the last successful scrape, to be marked stale (the target went
    /// down or away); they are not returned again until seen again.
    fn end_all_series(&mut self) -> Vec<u64> {
        let mut refs = self.cache.end_all();
        refs.extend(self.histogram_series.end_all());
        refs
    }

    /// Appends `up`, `scrape_duration_seconds`, … (by cached ref after the first time).
    fn append_report(&mut self, t: i64, values: &[f64]) {
        if let Some(refs) = &self.report_refs {
            let by_ref: Vec<(u64, i64, f64)> =
                refs.iter().zip(values).map(|(r, v)| (*r, t, *v)).collect();
            match self.db.append_batch(&by_ref, &[]) {
                Ok(r) if r.unknown.is_empty() => return,
                Ok(_) => self.report_refs = None,
                Err(e) => {
                    log_append_error(&e, "appending report series");
                    return;
                }
            }
        }
        let batch: Vec<(Labels, i64, f64)> = self
            .report_names()
            .iter()
            .zip(values)
            .map(|(n, v)| (self.report_labels(n), t, *v))
            .collect();
        match self.db.append_batch(&[], &batch) {
            Ok(r) => self.report_refs = Some(r.refs),
            Err(e) => log_append_error(&e, "appending report series"),
        }
    }

    /// Rebuilds the client when a TLS file changed since it was built.
    fn refresh_tls(&mut self) {
        let now = tls_file_stamps(&self.job);
        if now == self.tls_files {
            return;
        }
        match crate::client::build_client(&self.job) {
            Ok(client) => {
                self.client = client;
                self.tls_files = now;
            }
            Err(e) => {
                tracing::warn!(job = %self.job.job_name, err = %e.0, "TLS files changed but cannot be used; keeping the previous ones")
            }
        }
    }

    /// Fetches the body (HTTP, or the in-process source) and its format.
    async fn fetch(&mut self) -> Result<Fetched, FetchError> {
        self.refresh_tls();
        if let Some(local) = &self.local {
            let (content_type, body) = local();
            let format = Format::from_content_type(&content_type).ok_or_else(|| {
                format!("local source gave unsupported Content-Type {content_type:?}")
            })?;
            let size = body.len();
            return Ok(Fetched {
                body,
                format,
                histograms: Vec::new(),
                exemplars: Vec::new(),
                size,
            });
        }
        crate::fetch::fetch_http(&HttpScrape {
            client: &self.client,
            job: &self.job,
            url: &self.target.url,
            parsed_url: self.parsed_url.as_ref(),
            accept: &self.accept,
            timeout_header: &self.timeout_header,
            size_hint: self.last_body_len,
            histograms_hint: self.last_histogram_count,
        })
        .await
    }
}

/// Logs a failed append. A failed WAL write (a full disk) is logged once per run of
/// failures by the storage itself, and the scrape's own failure shows in the target's
/// error: a line per target and scrape would only drown the log.
fn log_append_error(e: &tsdb::DbError, what: &str) {
    if matches!(e, tsdb::DbError::WalWrite(_)) {
        tracing::debug!(err = %e, "{what}");
    } else {
        tracing::error!(err = %e, "{what}");
    }
}
