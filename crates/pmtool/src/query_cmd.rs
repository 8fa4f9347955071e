//! `pmtool query instant|range|series|labels`: run queries against a server's HTTP API
//! and print the results as promtool does (`--http.config.file` for auth and TLS).

use goyaml::go_quote;
use std::path::Path;

use anyhow::{bail, Context};
use serde_json::Value;

/// Where to send a query and how to connect.
pub struct Target {
    pub server: String,
    pub http_config_file: Option<String>,
}

struct Client {
    http: reqwest::Client,
    auth: Option<String>,
    base: String,
}

fn client(t: &Target) -> anyhow::Result<Client> {
    let config = match &t.http_config_file {
        Some(f) => promconfig::HttpClientConfig::load(Path::new(f))
            .map_err(|e| anyhow::anyhow!("error loading HTTP client config: {e}"))?,
        None => promconfig::HttpClientConfig::defaults(),
    };
    let http = httpclient::build_http_client(&config)
        .map_err(|e| anyhow::anyhow!("error creating API client: {}", e.0))?;
    let mut auth = httpclient::authorization_header(&config)
        .map_err(|e| anyhow::anyhow!("error creating API client: {e}"))?;
    let invalid = || {
        anyhow::anyhow!(
            "error creating API client: invalid server URL {:?} (want http:// or https://)",
            t.server
        )
    };
    let mut url = url::Url::parse(&t.server).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(invalid());
    }
    // Credentials in the URL (`http://user:pass@host`) mean basic auth, as in Go's client.
    if !url.username().is_empty() || url.password().is_some() {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let userinfo = format!(
            "{}:{}",
            decode(url.username()),
            decode(url.password().unwrap_or(""))
        );
        if auth.is_none() {
            use base64::Engine;
            auth = Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(userinfo.as_bytes())
            ));
        }
        // Both succeed on an http(s) URL with a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    let base = url.as_str().trim_end_matches('/').to_string();
    Ok(Client { http, auth, base })
}

impl Client {
    /// POSTs a form to an API path and returns `data`, or the API's error.
    async fn call(&self, path: &str, form: &[(&str, String)]) -> anyhow::Result<Value> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_encode(form));
        self.send(req).await
    }

    /// GETs an API path with a query string and returns `data`, or the API's error.
    async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let req = self
            .http
            .get(format!("{}{path}?{}", self.base, form_encode(query)));
        self.send(req).await
    }

    async fn send(&self, mut req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        let v: Value = serde_json::from_str(&text).map_err(|_| {
            anyhow::anyhow!(
                "server returned HTTP status {}: {}",
                status,
                text.lines().next().unwrap_or("").trim()
            )
        })?;
        if v.get("status").and_then(Value::as_str) != Some("success") {
            let kind = v.get("errorType").and_then(Value::as_str).unwrap_or("");
            let msg = v.get("error").and_then(Value::as_str).unwrap_or("");
            bail!("{kind}: {msg}");
        }
        for w in v
            .get("warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            eprintln!("query warning: {}", w.as_str().unwrap_or(""));
        }
        Ok(v.get("data").cloned().unwrap_or(Value::Null))
    }
}

/// What a path segment keeps unencoded (RFC 3986's unreserved characters).
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'-')
    .remove(b'.')
    .remove(b'~');

/// `application/x-www-form-urlencoded` text of the pairs, in order.
fn form_encode(pairs: &[(&str, String)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// A label set as client_golang prints it: `name{a="b", c="d"}`.
fn metric_string(m: &Value) -> String {
    let Some(obj) = m.as_object() else {
        return "{}".into();
    };
    let name = obj.get("__name__").and_then(Value::as_str);
    let mut labels: Vec<String> = obj
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={}", go_quote(v.as_str().unwrap_or(""))))
        .collect();
    labels.sort();
    match (name, labels.is_empty()) {
        (Some(n), true) => n.to_string(),
        (None, true) => "{}".into(),
        (n, false) => format!("{}{{{}}}", n.unwrap_or(""), labels.join(", ")),
    }
}

/// A label set with every label inside the braces (model.LabelSet).
fn labelset_string(m: &Value) -> String {
    let mut labels: Vec<String> = m
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", go_quote(v.as_str().unwrap_or(""))))
        .collect();
    labels.sort();
    format!("{{{}}}", labels.join(", "))
}

/// `value @[time]` of a `[time, "value"]` pair.
fn pair_string(p: &Value) -> String {
    let t = p.get(0).map(time_string).unwrap_or_default();
    let v = p.get(1).and_then(Value::as_str).unwrap_or("");
    format!("{v} @[{t}]")
}

fn time_string(t: &Value) -> String {
    match t.as_f64() {
        Some(f) => {
            let ms = (f * 1000.0).round() as i64;
            if ms % 1000 == 0 {
                format!("{}", ms / 1000)
            } else {
                let s = format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
                s.trim_end_matches('0').to_string()
            }
        }
        None => t.to_string(),
    }
}

fn print_result(data: &Value, json: bool) {
    let result = data.get("result").cloned().unwrap_or(Value::Null);
    if json {
        println!("{result}");
        return;
    }
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => {
            let lines: Vec<String> = result
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    format!(
                        "{} => {}",
                        metric_string(&s["metric"]),
                        pair_string(&s["value"])
                    )
                })
                .collect();
            println!("{}", lines.join("\n"));
        }
        Some("matrix") => {
            let blocks: Vec<String> = result
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let values: Vec<String> = s["values"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(pair_string)
                        .collect();
                    format!("{} =>\n{}", metric_string(&s["metric"]), values.join("\n"))
                })
                .collect();
            println!("{}", blocks.join("\n"));
        }
        Some("scalar") => {
            let t = result.get(0).map(time_string).unwrap_or_default();
            let v = result.get(1).and_then(Value::as_str).unwrap_or("");
            println!("scalar: {v} @[{t}]");
        }
        Some("string") => {
            let t = result.get(0).map(time_string).unwrap_or_default();
            let v = result.get(1).and_then(Value::as_str).unwrap_or("");
            println!("{v} @[{t}]");
        }
        _ => println!("{result}"),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP client")
}

/// A time flag: RFC 3339 or Unix seconds.
fn time_arg(name: &str, text: &str) -> anyhow::Result<String> {
    model::time::parse_api_time(text)
        .map(|ms| format!("{}", ms as f64 / 1000.0))
        .ok_or_else(|| anyhow::anyhow!("error parsing {name} time: cannot parse {text:?}"))
}

pub fn instant(t: &Target, expr: &str, time: Option<&str>, json: bool) -> anyhow::Result<()> {
    let c = client(t)?;
    let mut form = vec![("query", expr.to_string())];
    if let Some(tm) = time.filter(|s| !s.is_empty()) {
        form.push(("time", time_arg("query", tm)?));
    }
    let data = runtime()?
        .block_on(c.call("/api/v1/query", &form))
        .map_err(|e| anyhow::anyhow!("query error: {e:#}"))?;
    print_result(&data, json);
    Ok(())
}

pub fn range(
    t: &Target,
    expr: &str,
    start: Option<&str>,
    end: Option<&str>,
    step: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let c = client(t)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let end_s: f64 = match end.filter(|s| !s.is_empty()) {
        Some(e) => time_arg("end", e)?.parse().unwrap_or(now),
        None => now,
    };
    let start_s: f64 = match start.filter(|s| !s.is_empty()) {
        Some(s) => time_arg("start", s)?.parse().unwrap_or(end_s - 300.0),
        None => end_s - 300.0,
    };
    if start_s > end_s {
        bail!("start time is not before end time");
    }
    let step_s = match step.filter(|s| !s.is_empty()) {
        Some(s) => promconfig::PromDuration::parse(s)
            .map(|d| d.0.as_secs_f64())
            .map_err(|e| anyhow::anyhow!("error parsing step: {e}"))?,
        None => {
            // promtool's default resolution: about 250 points.
            ((end_s - start_s) / 250.0).floor().max(1.0)
        }
    };
    let form = vec![
        ("query", expr.to_string()),
        ("start", format!("{start_s}")),
        ("end", format!("{end_s}")),
        ("step", format!("{step_s}")),
    ];
    let data = runtime()?
        .block_on(c.call("/api/v1/query_range", &form))
        .map_err(|e| anyhow::anyhow!("query error: {e:#}"))?;
    print_result(&data, json);
    Ok(())
}

pub fn series(
    t: &Target,
    matchers: &[String],
    start: Option<&str>,
    end: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let c = client(t)?;
    if matchers.is_empty() {
        bail!("required flag --match not provided");
    }
    let mut form: Vec<(&str, String)> = matchers.iter().map(|m| ("match[]", m.clone())).collect();
    if let Some(s) = start.filter(|s| !s.is_empty()) {
        form.push(("start", time_arg("start", s)?));
    }
    if let Some(e) = end.filter(|s| !s.is_empty()) {
        form.push(("end", time_arg("end", e)?));
    }
    let data = runtime()?
        .block_on(c.call("/api/v1/series", &form))
        .map_err(|e| anyhow::anyhow!("query error: {e:#}"))?;
    if json {
        println!("{data}");
        return Ok(());
    }
    for s in data.as_array().into_iter().flatten() {
        println!("{}", labelset_string(s));
    }
    Ok(())
}

pub fn labels(
    t: &Target,
    name: &str,
    matchers: &[String],
    start: Option<&str>,
    end: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let c = client(t)?;
    let mut query: Vec<(&str, String)> = matchers.iter().map(|m| ("match[]", m.clone())).collect();
    if let Some(s) = start.filter(|s| !s.is_empty()) {
        query.push(("start", time_arg("start", s)?));
    }
    if let Some(e) = end.filter(|s| !s.is_empty()) {
        query.push(("end", time_arg("end", e)?));
    }
    // The name is a path segment: percent-encoded as one.
    let path = format!(
        "/api/v1/label/{}/values",
        percent_encoding::utf8_percent_encode(name, PATH_SEGMENT)
    );
    let data = runtime()?
        .block_on(c.get(&path, &query))
        .map_err(|e| anyhow::anyhow!("query error: {e:#}"))?;
    if json {
        println!("{data}");
        return Ok(());
    }
    for v in data.as_array().into_iter().flatten() {
        println!("{}", v.as_str().unwrap_or(""));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_client_golang() {
        assert_eq!(
            metric_string(&json!({"__name__": "up", "job": "a", "instance": "b"})),
            "up{instance=\"b\", job=\"a\"}"
        );
        assert_eq!(metric_string(&json!({"__name__": "up"})), "up");
        assert_eq!(metric_string(&json!({})), "{}");
        assert_eq!(
            pair_string(&json!([1700000000.5, "1"])),
            "1 @[1700000000.5]"
        );
        assert_eq!(
            pair_string(&json!([1700000000, "NaN"])),
            "NaN @[1700000000]"
        );
        assert_eq!(
            labelset_string(&json!({"__name__": "up", "job": "a"})),
            "{__name__=\"up\", job=\"a\"}"
        );
    }
}
