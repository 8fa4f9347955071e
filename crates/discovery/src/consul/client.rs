//! The Consul API client as upstream's uses it: where the agent is (`server`, `scheme`,
//! `path_prefix`, a `unix://` socket), what every request carries (token, datacenter,
//! namespace, partition, the job's HTTP settings), and Go's query and path encoding.

use std::time::Duration;

use promconfig::sd::consul::ConsulSdConfig;
use promconfig::HttpClientConfig;

use crate::DiscoveryError;

/// A whole call's limit: the blocking wait and 15 seconds more, as upstream's client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(135);
/// The most of one Consul answer read: catalogs of a million instances fit.
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// What upstream's Consul API client holds: where the agent is, and what every request
/// carries.
pub(super) struct Client {
    http: reqwest::Client,
    /// `scheme://address` and the path prefix, before `/v1/...`.
    base: String,
    /// The job's HTTP settings whose headers go with each request (not over a Unix
    /// socket, for which upstream's client replaces the configured one).
    settings: Option<HttpClientConfig>,
    token: String,
    /// `dc`, `ns` and `partition` of every request, when set.
    datacenter: String,
    namespace: String,
    partition: String,
}

/// One call's answer: the body and `X-Consul-Index` (0 when missing or unreadable).
pub(super) struct Answer {
    pub(super) body: Vec<u8>,
    pub(super) index: u64,
}

impl Client {
    /// Upstream's client configuration: `server` may name its scheme (`https://` sets
    /// it, `http://` leaves the configured one), carry a path prefix after the address
    /// (replacing `path_prefix`), or be a `unix://` socket; `CONSUL_HTTP_TOKEN`,
    /// `CONSUL_NAMESPACE` and `CONSUL_PARTITION` fill an unset token, namespace and
    /// partition, as Consul's API client reads them.
    pub(super) fn new(config: &ConsulSdConfig) -> Result<Self, DiscoveryError> {
        let mut scheme = config.scheme.clone();
        let mut address = config.server.clone();
        let mut prefix = config.path_prefix.clone();
        let mut unix_socket = None;
        if let Some((kind, rest)) = config.server.split_once("://") {
            match kind {
                "http" => {}
                "https" => scheme = "https".into(),
                "unix" => unix_socket = Some(rest.to_string()),
                other => return Err(DiscoveryError(format!("Unknown protocol scheme: {other}"))),
            }
            address = rest.to_string();
            if kind != "unix" {
                if let Some((host, path)) = rest.split_once('/') {
                    address = host.to_string();
                    prefix = format!("/{path}");
                }
            }
        }
        if scheme.is_empty() {
            scheme = "http".into();
        }
        if !prefix.is_empty() && !prefix.starts_with('/') {
            prefix.insert(0, '/');
        }
        let (http, base, settings) = match unix_socket {
            Some(path) => {
                let client = reqwest::Client::builder()
                    .unix_socket(std::path::PathBuf::from(path))
                    .build()
                    .map_err(|e| DiscoveryError(format!("building the HTTP client: {e}")))?;
                (client, format!("{scheme}://localhost{prefix}"), None)
            }
            None => {
                let client =
                    httpclient::build_http_client(&config.http).map_err(|e| DiscoveryError(e.0))?;
                (
                    client,
                    format!("{scheme}://{address}{prefix}"),
                    Some(config.http.clone()),
                )
            }
        };
        let from_env = |value: &str, name: &str| {
            if value.is_empty() {
                std::env::var(name).unwrap_or_default()
            } else {
                value.to_string()
            }
        };
        Ok(Self {
            http,
            base,
            settings,
            token: from_env(config.token.expose(), "CONSUL_HTTP_TOKEN"),
            datacenter: config.datacenter.clone(),
            namespace: from_env(&config.namespace, "CONSUL_NAMESPACE"),
            partition: from_env(&config.partition, "CONSUL_PARTITION"),
        })
    }

    /// A GET of `path` with `params` (and the client's `dc`, `ns` and `partition`),
    /// in the order upstream's client encodes them (by name).
    pub(super) async fn get(
        &self,
        path: &str,
        mut params: Vec<(&'static str, String)>,
    ) -> Result<Answer, String> {
        if !self.datacenter.is_empty() {
            params.push(("dc", self.datacenter.clone()));
        }
        if !self.namespace.is_empty() {
            params.push(("ns", self.namespace.clone()));
        }
        if !self.partition.is_empty() {
            params.push(("partition", self.partition.clone()));
        }
        let mut url = format!("{}{path}", self.base);
        if !params.is_empty() {
            url.push('?');
            url.push_str(&encode_query(params));
        }
        let mut request = self.http.get(&url).timeout(REQUEST_TIMEOUT).header(
            "User-Agent",
            concat!("Promethium/", env!("CARGO_PKG_VERSION")),
        );
        if let Some(settings) = &self.settings {
            for (name, value) in httpclient::request_headers_with_oauth2(settings).await? {
                request = request.header(name, value);
            }
        }
        if !self.token.is_empty() {
            request = request.header("X-Consul-Token", &self.token);
        }
        let response = request.send().await.map_err(|e| httpclient::describe(&e))?;
        let status = response.status();
        let index = response
            .headers()
            .get("x-consul-index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let body = httpclient::read_body_limited(response, MAX_ANSWER_BYTES, || {
            format!("the answer to {path} is larger than {MAX_ANSWER_BYTES} bytes")
        })
        .await?;
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "Unexpected response code: {} ({})",
                status.as_u16(),
                String::from_utf8_lossy(&body).trim()
            ));
        }
        Ok(Answer { body, index })
    }
}

/// Go's `url.Values.Encode`: by name (values of one name in their order), each part
/// escaped as a query component.
fn encode_query(mut params: Vec<(&'static str, String)>) -> String {
    params.sort_by_key(|(name, _)| *name);
    params
        .iter()
        .map(|(name, value)| format!("{}={}", query_escape(name), query_escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A path as Go's `url.URL` escapes it (a service name within `/v1/health/service/`).
pub(super) fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_matches_go() {
        assert_eq!(
            encode_query(vec![
                ("wait", "120000ms".into()),
                ("node-meta", "rack_name:2304".into()),
                ("stale", String::new()),
                ("filter", r#"NodeMeta.rack_name == "2304""#.into()),
            ]),
            "filter=NodeMeta.rack_name+%3D%3D+%222304%22&node-meta=rack_name%3A2304&stale=&wait=120000ms"
        );
        assert_eq!(path_escape("a b?c/d:e"), "a%20b%3Fc/d:e");
    }
}
