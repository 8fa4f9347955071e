//! `http_sd_configs` (upstream's `discovery/http`): a JSON list of target groups fetched
//! from a URL every `refresh_interval`, each group's source the URL and its position, its
//! labels with `__meta_url`; groups missing since the last answer are sent empty.

use std::time::Duration;

use promconfig::sd::http::HttpSdConfig;
use serde::Deserialize;

use crate::{Discoverer, DiscoveryError, Group, LabelSet, Updates};

/// The most of an answer read: target lists of a million targets fit.
const MAX_BODY_BYTES: usize = 64 << 20;

/// One `http_sd_configs` entry, ready to run.
pub struct HttpDiscovery {
    config: HttpSdConfig,
    client: reqwest::Client,
    set_name: String,
    /// How many groups the last answer had.
    last_len: usize,
}

impl HttpDiscovery {
    pub fn new(config: &HttpSdConfig, set_name: &str) -> Result<Self, DiscoveryError> {
        let client =
            httpclient::build_http_client(&config.http).map_err(|e| DiscoveryError(e.0))?;
        Ok(Self {
            config: config.clone(),
            client,
            set_name: set_name.to_string(),
            last_len: 0,
        })
    }

    /// Fetches the groups once (upstream's `Refresh`); every failure counts in
    /// `prometheus_sd_http_failures_total`.
    pub async fn refresh(&mut self) -> Result<Vec<Group>, String> {
        crate::refresh::Refresh::refresh(self).await
    }
}

impl crate::refresh::Refresh for HttpDiscovery {
    async fn refresh(&mut self) -> Result<Vec<Group>, String> {
        let result = self.fetch().await;
        if result.is_err() {
            crate::metrics::http_failure();
        }
        let mut groups = result?;
        let url = &self.config.url;
        for (i, g) in groups.iter_mut().enumerate() {
            g.source = source(url, i);
            g.labels.insert("__meta_url".into(), url.clone());
        }
        let len = groups.len();
        for i in len..self.last_len {
            groups.push(Group {
                source: source(url, i),
                ..Group::default()
            });
        }
        self.last_len = len;
        Ok(groups)
    }
}

impl HttpDiscovery {
    async fn fetch(&self) -> Result<Vec<Group>, String> {
        let interval = self.config.refresh_interval.0;
        let mut request = self
            .client
            .get(&self.config.url)
            .timeout(interval.max(Duration::from_millis(1)))
            .header("Accept", "application/json")
            .header(
                "User-Agent",
                concat!("Promethium/", env!("CARGO_PKG_VERSION")),
            )
            .header(
                "X-Prometheus-Refresh-Interval-Seconds",
                format!("{}", interval.as_secs_f64()),
            );
        for (name, value) in httpclient::request_headers_with_oauth2(&self.config.http).await? {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "server returned HTTP status {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_string());
        }
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        if !is_json_content_type(content_type.trim()) {
            return Err(format!("unsupported content type {content_type:?}"));
        }
        let body = httpclient::read_body_limited(response, MAX_BODY_BYTES, || {
            format!("the answer is larger than {MAX_BODY_BYTES} bytes")
        })
        .await?;
        parse_groups(&body)
    }
}

impl Discoverer for HttpDiscovery {
    fn run(
        self: Box<Self>,
        updates: Updates,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        let interval = self.config.refresh_interval.0;
        let set_name = self.set_name.clone();
        Box::pin(crate::refresh::run(
            "http", set_name, interval, updates, *self,
        ))
    }
}

/// Upstream's `urlSource`.
fn source(url: &str, i: usize) -> String {
    format!("{url}:{i}")
}

/// Upstream's `matchContentType`: `application/json`, optionally with a UTF-8 charset,
/// in any letter case.
pub fn is_json_content_type(header: &str) -> bool {
    let lower = header.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("application/json") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix(';') else {
        return false;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    matches!(rest, "charset=utf-8" | "charset=\"utf-8\"")
}

/// A target group as upstream's `targetgroup.Group` reads JSON: unknown fields refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupJson {
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<LabelSet>,
}

/// The body's groups: a JSON list of groups (`null` items refused, as upstream does).
pub fn parse_groups(body: &[u8]) -> Result<Vec<Group>, String> {
    let groups: Vec<Option<GroupJson>> =
        serde_json::from_slice(body).map_err(|e| format!("parsing the target groups: {e}"))?;
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let Some(g) = g else {
            return Err("nil target group item found".into());
        };
        let labels = g.labels.unwrap_or_default();
        if let Some(bad) = labels.keys().find(|name| name.is_empty()) {
            return Err(format!("{bad:?} is not a valid label name"));
        }
        out.push(Group {
            source: String::new(),
            targets: g
                .targets
                .unwrap_or_default()
                .into_iter()
                .map(|t| LabelSet::from([("__address__".to_string(), t)]))
                .collect(),
            labels,
        });
    }
    Ok(out)
}

/// A client error with its causes (the connection refused, the timeout), as Go prints them.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
