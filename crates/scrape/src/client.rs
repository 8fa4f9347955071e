//! A scrape job's HTTP client and the `Accept` header of its scrape protocols.

use httpclient::ClientError;
use promconfig::{ScrapeConfig, SCRAPE_PROTOCOL_NAMES};

/// Media types of the scrape protocols (`ScrapeProtocolsHeaders`).
fn media_type(protocol: &str) -> Option<&'static str> {
    Some(match protocol {
        "PrometheusProto" => "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        "OpenMetricsText1.0.0" => "application/openmetrics-text;version=1.0.0",
        "OpenMetricsText0.0.1" => "application/openmetrics-text;version=0.0.1",
        "PrometheusText1.0.0" => "text/plain;version=1.0.0",
        "PrometheusText0.0.4" => "text/plain;version=0.0.4",
        _ => return None,
    })
}

/// The `Accept` header Prometheus 3 sends for a protocol list: weights from 0.6 down, then
/// `*/*`; the 1.0.0 text formats carry the job's name escaping scheme
/// (`metric_name_escaping_scheme`: `allow-utf-8`, `underscores`, `dots`, `values`).
pub fn accept_header<S: AsRef<str>>(protocols: &[S], escaping: &str) -> String {
    let mut weight = SCRAPE_PROTOCOL_NAMES.len() + 1;
    let mut parts = Vec::new();
    for p in protocols {
        if let Some(media) = media_type(p.as_ref()) {
            if matches!(p.as_ref(), "PrometheusText1.0.0" | "OpenMetricsText1.0.0") {
                parts.push(format!("{media};escaping={escaping};q=0.{weight}"));
            } else {
                parts.push(format!("{media};q=0.{weight}"));
            }
            weight = weight.saturating_sub(1);
        }
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// Builds the job's HTTP client.
pub fn build_client(job: &ScrapeConfig) -> Result<reqwest::Client, ClientError> {
    httpclient::build_http_client(&job.http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_matches_prometheus_3() {
        let protocols = promconfig::DEFAULT_SCRAPE_PROTOCOLS;
        assert_eq!(
            accept_header(&protocols[2..], "underscores"),
            "text/plain;version=1.0.0;escaping=underscores;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4"
        );
        assert_eq!(
            accept_header(&protocols, "allow-utf-8"),
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
    }
}
