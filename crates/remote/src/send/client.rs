//! Posting one request to a remote-write endpoint and classifying the answer, as
//! Prometheus's remote client does: 2xx written (with the 2.0 `-Written` counts when
//! the receiver gives them), 5xx (and 429 when `retry_on_http_429`) retried after
//! `Retry-After` or the backoff, 415 telling a 2.0 sender to speak 1.0, anything else
//! dropped.

use std::time::{Duration, SystemTime};

use promconfig::{HttpClientConfig, RemoteWriteConfig};

use crate::MessageType;

/// The `-Written` counts of an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Written {
    pub samples: u64,
    pub histograms: u64,
    pub exemplars: u64,
    /// Whether any of the headers was present (a 2.0 receiver vouches for the counts).
    pub confirmed: bool,
}

impl Written {
    fn from_headers(headers: &reqwest::header::HeaderMap) -> Self {
        let mut out = Written::default();
        let mut read = |name: &str| -> u64 {
            match headers.get(name).and_then(|v| v.to_str().ok()) {
                Some(v) if !v.is_empty() => {
                    out.confirmed = true;
                    v.trim().parse().unwrap_or(0)
                }
                _ => 0,
            }
        };
        let samples = read("X-Prometheus-Remote-Write-Samples-Written");
        let histograms = read("X-Prometheus-Remote-Write-Histograms-Written");
        let exemplars = read("X-Prometheus-Remote-Write-Exemplars-Written");
        Written {
            samples,
            histograms,
            exemplars,
            ..out
        }
    }
}

/// Why a request was not written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StoreError {
    /// Worth retrying: a network error, 5xx, or 429 when allowed; `retry_after` from the
    /// answer's `Retry-After`.
    Recoverable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// 415 to a 2.0 request: the receiver takes 1.0 only.
    UnsupportedMediaType(String),
    /// Dropped: any other answer.
    Permanent(String),
}

/// The most of an error answer's body kept for the log.
const MAX_ERROR_BODY: usize = 1024;

/// One remote-write endpoint.
pub(crate) struct StoreClient {
    http: reqwest::Client,
    url: String,
    /// The URL with any password hidden, for logs and metrics.
    shown: String,
    timeout: Duration,
    headers: Vec<(String, String)>,
    http_config: HttpClientConfig,
    retry_on_rate_limit: bool,
    user_agent: String,
}

impl StoreClient {
    pub fn new(cfg: &RemoteWriteConfig, user_agent: &str) -> Result<Self, String> {
        let parsed = cfg.url.as_ref().ok_or("url for remote_write is empty")?;
        let (url, shown) = (parsed.raw.clone(), parsed.redacted());
        let http = httpclient::build_http_client(&cfg.http).map_err(|e| e.0)?;
        Ok(Self {
            http,
            url,
            shown,
            timeout: cfg.remote_timeout.0,
            headers: cfg
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            http_config: cfg.http.clone(),
            retry_on_rate_limit: cfg.queue_config.retry_on_rate_limit,
            user_agent: user_agent.to_string(),
        })
    }

    /// The URL as shown (password hidden).
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    /// Posts one Snappy-compressed request body (`attempt` counts retries, 0 first).
    pub async fn store(
        &self,
        body: Vec<u8>,
        kind: MessageType,
        attempt: u32,
    ) -> Result<Written, StoreError> {
        let mut request = self
            .http
            .post(&self.url)
            .timeout(self.timeout)
            .header("Content-Encoding", "snappy")
            .header("User-Agent", &self.user_agent);
        request = match kind {
            MessageType::V1 => request
                .header("Content-Type", "application/x-protobuf")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0"),
            MessageType::V2 => request
                .header(
                    "Content-Type",
                    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                )
                .header("X-Prometheus-Remote-Write-Version", "2.0.0"),
        };
        if attempt > 0 {
            request = request.header("Retry-Attempt", attempt.to_string());
        }
        // Authentication and `http_headers` are read per request: their files may change.
        for (name, value) in httpclient::request_headers_with_oauth2(&self.http_config)
            .await
            .map_err(|e| StoreError::Recoverable {
                message: e,
                retry_after: None,
            })?
        {
            request = request.header(name, value);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| StoreError::Recoverable {
                message: error_chain(&e),
                retry_after: None,
            })?;
        let status = response.status();
        let written = Written::from_headers(response.headers());
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, SystemTime::now()));
        if status.is_success() {
            // Drain the body so the connection can be reused.
            let _ = response.bytes().await;
            return Ok(written);
        }
        let text = match tokio::time::timeout(Duration::from_secs(5), response.bytes()).await {
            Ok(Ok(bytes)) => {
                String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_ERROR_BODY)]).into_owned()
            }
            _ => String::new(),
        };
        let message = format!("server returned HTTP status {status}: {}", text.trim_end());
        if status.is_server_error()
            || (self.retry_on_rate_limit && status == reqwest::StatusCode::TOO_MANY_REQUESTS)
        {
            return Err(StoreError::Recoverable {
                message,
                retry_after,
            });
        }
        if status == reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE && kind == MessageType::V2 {
            return Err(StoreError::UnsupportedMediaType(message));
        }
        Err(StoreError::Permanent(message))
    }
}

/// An error with its causes (reqwest's own text hides the reason, such as "connection
/// refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After` as seconds or an HTTP date (Go's `http.TimeFormat`); `None` when it is
/// neither (the backoff applies then).
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Sun, 09 Sep 2001 01:46:50 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after("Sun, 09 Sep 2001 01:46:30 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }
}
