//! `oauth2` of common/config's HTTP client settings: the OAuth 2.0 client credentials
//! grant, as golang.org/x/oauth2/clientcredentials does it. A token is fetched from
//! `token_url` (client id and secret in HTTP basic auth, or in the form when the server
//! refuses that), with `scopes` and `endpoint_params`, over a client with the `oauth2`
//! block's own TLS and proxy settings, and kept until ten seconds before it expires. Tokens
//! are shared by every client with the same settings (scrape jobs, Alertmanagers,
//! remote-write and remote-read endpoints).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use promconfig::{HttpClientConfig, OAuth2};

/// A token is renewed this long before it expires (x/oauth2's `expiryDelta`).
const EXPIRY_DELTA: Duration = Duration::from_secs(10);
/// The most of a token endpoint's answer read.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

#[derive(Clone)]
struct Token {
    /// The `Authorization` header value.
    header: String,
    expires: Option<Instant>,
}

/// Per settings: the token held, and a lock so that one request fetches it at a time.
type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

fn cache() -> &'static Mutex<HashMap<String, Slot>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Slot>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// What `oauth2` settings make unusable (checked when a configuration is loaded).
pub fn check_oauth2(cfg: &OAuth2) -> Result<(), String> {
    if !cfg.grant_type.is_empty() && cfg.grant_type != "client_credentials" {
        return Err(format!(
            "oauth2 grant_type {:?} is not supported by promethium; only client_credentials is",
            cfg.grant_type
        ));
    }
    if !cfg.client_secret_ref.is_empty() {
        return Err("oauth2.client_secret_ref needs a secret manager, which promethium does not have; use client_secret_file".into());
    }
    if cfg.token_url.is_empty() {
        return Err("oauth2 token_url is empty".into());
    }
    Ok(())
}

/// The `Authorization` header for `oauth2` settings, fetching a token when none is held
/// or it is about to expire.
pub async fn oauth2_authorization(cfg: &OAuth2) -> Result<String, String> {
    check_oauth2(cfg)?;
    let secret = if cfg.client_secret_file.is_empty() {
        cfg.client_secret.expose().to_string()
    } else {
        std::fs::read_to_string(&cfg.client_secret_file)
            .map(|s| s.trim().to_string())
            .map_err(|e| {
                format!(
                    "unable to read oauth2 client secret file {}: {e}",
                    cfg.client_secret_file
                )
            })?
    };
    // The key holds the secret so that a changed secret file means a new token.
    let key = format!(
        "{}\0{}\0{}\0{:?}\0{:?}\0{:?}\0{:?}",
        cfg.token_url,
        cfg.client_id,
        secret,
        cfg.scopes,
        cfg.endpoint_params,
        cfg.tls_config,
        cfg.proxy
    );
    let slot = {
        let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(cache.entry(key).or_default())
    };
    let mut held = slot.lock().await;
    if let Some(token) = held.as_ref() {
        if token
            .expires
            .is_none_or(|e| Instant::now() + EXPIRY_DELTA < e)
        {
            return Ok(token.header.clone());
        }
    }
    let token = fetch(cfg, &secret).await?;
    let header = token.header.clone();
    *held = Some(token);
    Ok(header)
}

/// Request headers of HTTP client settings: those of [`crate::request_headers`] and, with
/// `oauth2`, the bearer token.
pub async fn request_headers_with_oauth2(
    http: &HttpClientConfig,
) -> Result<Vec<(String, String)>, String> {
    let mut headers = crate::request_headers(http)?;
    if let Some(cfg) = &http.oauth2 {
        let value = oauth2_authorization(cfg)
            .await
            .map_err(|e| format!("oauth2: cannot fetch token: {e}"))?;
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        headers.push(("Authorization".into(), value));
    }
    Ok(headers)
}

async fn fetch(cfg: &OAuth2, secret: &str) -> Result<Token, String> {
    let settings = HttpClientConfig {
        tls_config: cfg.tls_config.clone(),
        proxy: cfg.proxy.clone(),
        follow_redirects: true,
        ..HttpClientConfig::default()
    };
    let client = crate::build_http_client(&settings).map_err(|e| e.0)?;
    let mut form: Vec<(String, String)> = vec![("grant_type".into(), "client_credentials".into())];
    if !cfg.scopes.is_empty() {
        form.push(("scope".into(), cfg.scopes.join(" ")));
    }
    for (k, v) in &cfg.endpoint_params {
        form.push((k.clone(), v.clone()));
    }
    // x/oauth2's auto-detection: credentials in basic auth first, then in the form.
    let first = post(
        &client,
        &cfg.token_url,
        &form,
        Some((&cfg.client_id, secret)),
    )
    .await;
    let answer = match first {
        Ok(a) => a,
        Err(e) if e.starts_with("status 4") => {
            let mut with_credentials = form.clone();
            with_credentials.push(("client_id".into(), cfg.client_id.clone()));
            with_credentials.push(("client_secret".into(), secret.to_string()));
            post(&client, &cfg.token_url, &with_credentials, None).await?
        }
        Err(e) => return Err(e),
    };
    parse_token(&answer.0, answer.1.as_deref())
}

/// Posts the form; the body and content type of a 2xx answer.
async fn post(
    client: &reqwest::Client,
    url: &str,
    form: &[(String, String)],
    basic: Option<(&str, &str)>,
) -> Result<(Vec<u8>, Option<String>), String> {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = client
        .post(url)
        .timeout(Duration::from_secs(30))
        .header("Content-Type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        use base64::Engine;
        let pair = format!("{}:{}", form_escape(id), form_escape(secret));
        request = request.header(
            "Authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ),
        );
    }
    let response = request.body(body).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = crate::read_body_limited(response, MAX_TOKEN_RESPONSE, || {
        "token response too large".to_string()
    })
    .await?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
        return Err(format!("status {}: {}", status.as_u16(), text.trim()));
    }
    Ok((bytes, content_type))
}

/// Go's `url.QueryEscape` (spaces as `+`).
fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A token endpoint's answer: JSON, or a form (`application/x-www-form-urlencoded` or
/// `text/plain`, as GitHub answers).
fn parse_token(body: &[u8], content_type: Option<&str>) -> Result<Token, String> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let (access, kind, expires_in) = if matches!(
        media.as_deref(),
        Some("application/x-www-form-urlencoded" | "text/plain")
    ) {
        let text = String::from_utf8_lossy(body);
        let mut fields: HashMap<String, String> = HashMap::new();
        for pair in text.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            fields.insert(form_unescape(k), form_unescape(v));
        }
        (
            fields.get("access_token").cloned().unwrap_or_default(),
            fields.get("token_type").cloned().unwrap_or_default(),
            fields.get("expires_in").and_then(|v| v.parse::<i64>().ok()),
        )
    } else {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("token response: {e}"))?;
        let expires_in = match &v["expires_in"] {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        };
        (
            v["access_token"].as_str().unwrap_or_default().to_string(),
            v["token_type"].as_str().unwrap_or_default().to_string(),
            expires_in,
        )
    };
    if access.is_empty() {
        return Err("server response missing access_token".into());
    }
    // x/oauth2's `Token.Type`: bearer in any case is "Bearer", as are missing types.
    let kind = match kind.to_ascii_lowercase().as_str() {
        "" | "bearer" => "Bearer".to_string(),
        "mac" => "MAC".to_string(),
        "basic" => "Basic".to_string(),
        _ => kind,
    };
    Ok(Token {
        header: format!("{kind} {access}"),
        expires: expires_in
            .filter(|s| *s > 0)
            .map(|s| Instant::now() + Duration::from_secs(s as u64)),
    })
}

fn form_unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_json_and_forms() {
        let t = parse_token(
            br#"{"access_token":"abc","token_type":"bearer","expires_in":3600}"#,
            Some("application/json"),
        )
        .unwrap();
        assert_eq!(t.header, "Bearer abc");
        assert!(t.expires.is_some());
        let t = parse_token(b"access_token=x%2By&token_type=mac", Some("text/plain")).unwrap();
        assert_eq!(t.header, "MAC x+y");
        assert!(t.expires.is_none());
        assert!(parse_token(br#"{"token_type":"bearer"}"#, None).is_err());
    }

    #[test]
    fn form_escaping_is_go_query_escape() {
        assert_eq!(form_escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
        assert_eq!(form_unescape("a+b%26c"), "a b&c");
    }
}
