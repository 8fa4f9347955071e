//! A thin Kubernetes API client over the shared HTTP client: GET requests with the
//! connection's credentials (files read again on each request, so rotated tokens are
//! used), JSON answers, and the statuses watches care about.

use super::connection::Connection;

/// Why a request did not give an answer to use.
#[derive(Debug)]
pub enum ApiError {
    /// `410 Gone`: the resourceVersion asked for is too old; list again.
    Gone,
    /// The receiving side went away.
    Closed,
    Other(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Gone => f.write_str("410 Gone: resource version too old"),
            ApiError::Closed => f.write_str("stopped"),
            ApiError::Other(e) => f.write_str(e),
        }
    }
}

pub struct ApiClient {
    client: reqwest::Client,
    connection: Connection,
}

impl ApiClient {
    pub fn new(connection: Connection) -> Result<Self, String> {
        let client = httpclient::build_http_client(&connection.http).map_err(|e| e.0)?;
        Ok(Self { client, connection })
    }

    /// GETs `path` with `query`; any status but 200 is an error (410 is [`ApiError::Gone`]).
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<reqwest::Response, ApiError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.connection.server))
            .map_err(|e| ApiError::Other(format!("API server URL: {e}")))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        let mut request = self
            .client
            .get(url)
            .header("Accept", "application/json")
            .header(
                "User-Agent",
                concat!("Promethium/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in httpclient::request_headers_with_oauth2(&self.connection.http)
            .await
            .map_err(ApiError::Other)?
        {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::Other(format!("GET {path}: {}", httpclient::describe(&e))))?;
        match response.status().as_u16() {
            200 => Ok(response),
            410 => Err(ApiError::Gone),
            code => {
                let reason = response
                    .status()
                    .canonical_reason()
                    .unwrap_or_default()
                    .to_string();
                let body = httpclient::read_body_limited(response, 4096, String::new)
                    .await
                    .unwrap_or_default();
                let message = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message")?.as_str().map(str::to_string))
                    .unwrap_or_default();
                Err(ApiError::Other(
                    format!("GET {path}: {code} {reason} {message}")
                        .trim_end()
                        .to_string(),
                ))
            }
        }
    }

    /// The body of a GET, at most `max` bytes.
    pub async fn get_body(
        &self,
        path: &str,
        query: &[(&str, String)],
        max: usize,
    ) -> Result<Vec<u8>, ApiError> {
        let response = self.get(path, query).await?;
        httpclient::read_body_limited(response, max, || {
            format!("GET {path}: the answer is larger than {max} bytes")
        })
        .await
        .map_err(ApiError::Other)
    }
}
