//! The `remote_read` endpoints and queries over local and remote data together.
//!
//! As Prometheus: an endpoint is asked only when the selector holds its
//! `required_matchers`, and (without `read_recent`) only for queries reaching before the
//! oldest local sample; with `filter_external_labels` the external labels are added to
//! the selector sent and taken off the series returned. A failing endpoint makes a
//! warning, not a failed query. Series found on both sides are merged (local samples win
//! at equal timestamps); remote series the selector does not match are left out.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use model::{Labels, MatchOp, Matcher};
use promconfig::{HttpClientConfig, RemoteReadConfig};
use tsdb::SeriesData;

use super::codec;
use crate::proto;

/// Series read from a remote: labels as returned, samples in time order.
pub type RemoteSeries = Vec<(Labels, Vec<(i64, f64)>)>;

/// One `remote_read` entry.
pub struct ReadClient {
    name: String,
    http: reqwest::Client,
    url: String,
    shown: String,
    timeout: Duration,
    headers: Vec<(String, String)>,
    http_config: HttpClientConfig,
    read_recent: bool,
    required_matchers: BTreeMap<String, String>,
    filter_external_labels: bool,
    max_frame_bytes: usize,
}

impl ReadClient {
    pub fn new(cfg: &RemoteReadConfig) -> Result<Self, String> {
        let url = cfg.url.as_ref().ok_or("url for remote_read is empty")?;
        let http = httpclient::build_http_client(&cfg.http).map_err(|e| e.0)?;
        Ok(Self {
            name: if cfg.name.is_empty() {
                url.redacted()
            } else {
                cfg.name.clone()
            },
            http,
            url: url.raw.clone(),
            shown: url.redacted(),
            timeout: cfg.remote_timeout.0,
            headers: cfg
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            http_config: cfg.http.clone(),
            read_recent: cfg.read_recent,
            required_matchers: cfg
                .required_matchers
                .iter()
                .map(|(k, v)| (k.0.clone(), v.clone()))
                .collect(),
            filter_external_labels: cfg.filter_external_labels,
            max_frame_bytes: match cfg.chunked_read_limit {
                0 => codec::MAX_FRAME_BYTES,
                n => usize::try_from(n).unwrap_or(usize::MAX),
            },
        })
    }

    /// Whether a selector is for this endpoint.
    fn wanted(&self, matchers: &[Matcher], mint: i64, local_start: Option<i64>) -> bool {
        let required = self.required_matchers.iter().all(|(name, value)| {
            matchers
                .iter()
                .any(|m| m.op == MatchOp::Equal && &m.name == name && &m.value == value)
        });
        // Without read_recent, only what the local storage cannot have: before its
        // oldest sample.
        let old_enough = self.read_recent || local_start.is_none_or(|start| mint < start);
        required && old_enough
    }

    /// Posts one query; the series (labels as returned) with their samples.
    async fn read(&self, query: proto::Query) -> Result<RemoteSeries, String> {
        let (mint, maxt) = (query.start_timestamp_ms, query.end_timestamp_ms);
        let request = proto::ReadRequest {
            queries: vec![query],
            accepted_response_types: vec![
                proto::RESPONSE_STREAMED_XOR_CHUNKS,
                proto::RESPONSE_SAMPLES,
            ],
        };
        let mut post = self
            .http
            .post(&self.url)
            .timeout(self.timeout)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Read-Version", "0.1.0");
        for (name, value) in httpclient::request_headers_with_oauth2(&self.http_config).await? {
            post = post.header(name, value);
        }
        for (name, value) in &self.headers {
            post = post.header(name, value);
        }
        let response = post
            .body(codec::encode_read_request(&request))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let streamed = response
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-streamed-protobuf"));
        let max = self.max_frame_bytes.saturating_mul(4);
        let body = httpclient::read_body_limited(response, max, || {
            format!("remote read response larger than {max} bytes")
        })
        .await?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
            return Err(format!(
                "remote server {} returned HTTP status {status}: {}",
                self.shown,
                text.trim_end()
            ));
        }
        let mut out = Vec::new();
        if streamed {
            for frame in codec::read_frames(&body)? {
                for series in frame.chunked_series {
                    let samples = codec::chunk_samples(&series.chunks, mint, maxt)?;
                    out.push((codec::from_proto_labels(series.labels), samples));
                }
            }
            // A series may span frames: join its pieces.
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out.dedup_by(|later, earlier| {
                if later.0 == earlier.0 {
                    earlier.1.append(&mut later.1);
                    true
                } else {
                    false
                }
            });
            for (_, samples) in &mut out {
                samples.sort_by_key(|p| p.0);
                samples.dedup_by_key(|p| p.0);
            }
        } else {
            let response =
                codec::decode_samples_response(&body, self.max_frame_bytes.saturating_mul(4))?;
            for result in response.results {
                for ts in result.timeseries {
                    let samples = ts
                        .samples
                        .iter()
                        .filter(|s| s.timestamp >= mint && s.timestamp <= maxt)
                        .map(|s| (s.timestamp, s.value))
                        .collect();
                    out.push((codec::from_proto_labels(ts.labels), samples));
                }
            }
        }
        Ok(out)
    }
}

/// The `remote_read` endpoints in force.
pub struct ReadStorage {
    state: RwLock<(Vec<Arc<ReadClient>>, Labels)>,
    runtime: tokio::runtime::Handle,
}

impl ReadStorage {
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        Self {
            state: RwLock::new((Vec::new(), Labels::default())),
            runtime,
        }
    }

    /// Builds the endpoints of a configuration (nothing changes on an error).
    pub fn apply_config(
        &self,
        configs: &[RemoteReadConfig],
        external_labels: &Labels,
    ) -> Result<(), crate::ConfigError> {
        let clients = configs
            .iter()
            .map(|cfg| {
                ReadClient::new(cfg)
                    .map(Arc::new)
                    .map_err(|reason| crate::ConfigError {
                        name: if cfg.name.is_empty() {
                            cfg.url.as_ref().map(|u| u.redacted()).unwrap_or_default()
                        } else {
                            cfg.name.clone()
                        },
                        reason,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = (clients, external_labels.clone());
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .is_empty()
    }

    /// The series of every endpoint that wants the selector, and a warning per failing
    /// endpoint. Blocks (call it from a blocking thread).
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        local_start: Option<i64>,
    ) -> (RemoteSeries, Vec<String>) {
        let (clients, external) = self.state.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut series = Vec::new();
        let mut warnings = Vec::new();
        for client in clients
            .iter()
            .filter(|c| c.wanted(matchers, mint, local_start))
        {
            let mut sent: Vec<Matcher> = matchers.to_vec();
            let mut added: Vec<String> = Vec::new();
            if client.filter_external_labels {
                for l in external.iter() {
                    if matchers.iter().any(|m| m.name == l.name) {
                        continue;
                    }
                    if let Ok(m) = Matcher::new(MatchOp::Equal, l.name.clone(), l.value.clone()) {
                        sent.push(m);
                        added.push(l.name.clone());
                    }
                }
            }
            let query = proto::Query {
                start_timestamp_ms: mint,
                end_timestamp_ms: maxt,
                matchers: codec::to_proto_matchers(&sent),
                hints: Some(proto::ReadHints {
                    start_ms: mint,
                    end_ms: maxt,
                    ..Default::default()
                }),
            };
            match self.runtime.block_on(client.read(query)) {
                Ok(found) => {
                    for (labels, samples) in found {
                        let labels = if added.is_empty() {
                            labels
                        } else {
                            labels.retain(|l| !added.contains(&l.name))
                        };
                        series.push((labels, samples));
                    }
                }
                Err(e) => {
                    tracing::warn!(remote = %client.name, err = %e, "remote read failed");
                    warnings.push(format!("remote read from {}: {e}", client.name));
                }
            }
        }
        (series, warnings)
    }
}

/// Local storage and the `remote_read` endpoints as one query storage.
pub struct Fanout {
    pub local: Arc<tsdb::Db>,
    pub remote: Arc<ReadStorage>,
}

impl promql::Storage for Fanout {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<promql::Selected, tsdb::Refused> {
        let (mut local, mut warnings) = self.local.select_admitted(matchers, mint, maxt, admit)?;
        if self.remote.is_empty() {
            return Ok((local, warnings));
        }
        let (remote, remote_warnings) =
            self.remote
                .select(matchers, mint, maxt, self.local.start_time());
        warnings.extend(remote_warnings);
        let mut index: BTreeMap<Labels, usize> = local
            .iter()
            .enumerate()
            .map(|(i, s)| (s.labels.clone(), i))
            .collect();
        for (labels, samples) in remote {
            // A remote may return series its selector does not match (one that adds its
            // external labels to what it relays from elsewhere): a selector's answer
            // only holds series it matches.
            if samples.is_empty() || !matchers.iter().all(|m| m.matches_labels(&labels)) {
                continue;
            }
            if !admit(&labels, samples.len()) {
                return Err(tsdb::Refused);
            }
            match index.get(&labels) {
                Some(&i) => {
                    let series = &mut local[i];
                    let mut merged = std::mem::take(&mut series.samples);
                    let had_starts = !series.starts.is_empty();
                    // Local first: at equal timestamps the local sample is kept.
                    merged.extend(samples);
                    merged.sort_by_key(|p| p.0);
                    merged.dedup_by_key(|p| p.0);
                    series.samples = merged;
                    if had_starts {
                        // Start timestamps are local-only; they cannot be kept aligned.
                        series.starts.clear();
                    }
                }
                None => {
                    index.insert(labels.clone(), local.len());
                    local.push(SeriesData::floats(labels, samples));
                }
            }
        }
        Ok((local, warnings))
    }

    /// Without remote reads, the local storage's own: it decodes only the chunk holding
    /// each series' newest sample, where a select and keep_last would load the whole
    /// lookback window (an instant query over 100,000 series took twice as long).
    fn select_last(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        admit: &tsdb::Admit<'_>,
    ) -> Result<promql::Selected, tsdb::Refused> {
        if self.remote.is_empty() {
            return self.local.select_last_admitted(matchers, mint, maxt, admit);
        }
        let (mut all, warnings) = promql::Storage::select(self, matchers, mint, maxt, admit)?;
        for s in &mut all {
            s.keep_last();
        }
        Ok((all, warnings))
    }
}
