//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers` in Prometheus's JSON,
//! read from the rule manager's copies of its groups and from the notifier.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::web::AppState;

type Shared = State<std::sync::Arc<AppState>>;

fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

fn bad_data(error: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "error", "errorType": "bad_data", "error": error})),
    )
        .into_response()
}

/// A float as Go's `strconv.FormatFloat(v, 'e', -1, 64)` writes it (`1e+00`, `2.5e-03`),
/// which is how Prometheus's API gives an alert's value.
pub fn go_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let text = format!("{v:e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// The query string's `(name, value)` pairs, decoded as a form.
pub(crate) fn params(query: Option<String>) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn time_text(t: Option<SystemTime>) -> String {
    t.map(crate::rfc3339)
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string())
}

fn ms_text(ms: i64) -> String {
    model::time::format_rfc3339_ms(ms)
}

fn labels_json(labels: &model::Labels) -> Value {
    let mut m = Map::new();
    for l in labels.iter() {
        m.insert(l.name.clone(), Value::String(l.value.clone()));
    }
    Value::Object(m)
}

fn map_json(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn alert_json(a: &rules::Alert) -> Value {
    let mut v = json!({
        "labels": labels_json(&a.labels),
        "annotations": map_json(&a.annotations),
        "state": a.state.as_str(),
        "activeAt": ms_text(a.active_at),
        "value": go_float_e(a.value),
    });
    if let Some(since) = a.keep_firing_since {
        v["keepFiringSince"] = Value::String(ms_text(since));
    }
    v
}

fn rule_labels(labels: &BTreeMap<String, String>) -> Value {
    Value::Object(
        labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `GET /api/v1/rules`: with `type` (`alert`, `record`), `rule_name[]`, `rule_group[]`,
/// `file[]`, `match[]` (selectors over the rules' labels), `exclude_alerts`, and pages of
/// `group_limit` groups (`groupNextToken` in the answer names the next page's first group).
pub async fn rules(State(state): Shared, RawQuery(query): RawQuery) -> Response {
    let params = params(query);
    let values = |name: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    // Go's `URL.Query().Get`: the first value.
    let first = |name: &str| values(name).into_iter().next().unwrap_or_default();
    let kind = first("type").to_lowercase();
    let (want_alerts, want_records) = match kind.as_str() {
        "" => (true, true),
        "alert" => (true, false),
        "record" => (false, true),
        other => return invalid_param("type", format!("not supported value {other:?}")),
    };
    let exclude_alerts = match parse_go_bool(&first("exclude_alerts").to_lowercase()) {
        Ok(b) => b,
        Err(e) => {
            return invalid_param(
                "exclude_alerts",
                format!("error converting exclude_alerts: {e}"),
            )
        }
    };
    let page = match Page::parse(&first("group_limit"), &first("group_next_token")) {
        Ok(p) => p,
        Err((param, e)) => return invalid_param(param, e),
    };
    let (names, groups_wanted, files) = (
        values("rule_name[]"),
        values("rule_group[]"),
        values("file[]"),
    );
    let mut matcher_sets = Vec::new();
    for text in values("match[]") {
        match promql::parse_selector(&text) {
            Ok(m) => matcher_sets.push(m),
            Err(e) => return bad_data(format!("invalid parameter \"match[]\": {e}")),
        }
    }
    let mut out = Vec::new();
    let mut next_token = None;
    // Until the token's group is seen, groups belong to earlier pages.
    let mut token_found = page.token.is_none();
    for g in state.rules.groups() {
        if !token_found {
            if page.token.as_deref() != Some(group_token(g.file(), g.name()).as_str()) {
                continue;
            }
            token_found = true;
        }
        if !groups_wanted.is_empty() && !groups_wanted.iter().any(|n| n == g.name()) {
            continue;
        }
        if !files.is_empty() && !files.iter().any(|f| f == g.file()) {
            continue;
        }
        let mut rules = Vec::new();
        for rule in g.rules() {
            if !names.is_empty() && !names.iter().any(|n| n == rule.name()) {
                continue;
            }
            if !matcher_sets.is_empty() {
                let labels = model::Labels::from_pairs(
                    rule.labels().iter().map(|(k, v)| (k.as_str(), v.as_str())),
                );
                if !matcher_sets
                    .iter()
                    .any(|set| set.iter().all(|m| m.matches_labels(&labels)))
                {
                    continue;
                }
            }
            let status = rule.status();
            let mut v = match rule {
                rules::GroupRule::Alerting(r) => {
                    if !want_alerts {
                        continue;
                    }
                    let alerts: Vec<Value> = if exclude_alerts {
                        Vec::new()
                    } else {
                        r.active_alerts().map(alert_json).collect()
                    };
                    json!({
                        "state": match r.state() {
                            rules::AlertState::Unknown => "inactive",
                            s => s.as_str(),
                        },
                        "name": r.name(),
                        "query": r.query(),
                        "duration": r.hold_duration().as_secs_f64(),
                        "keepFiringFor": r.keep_firing_for().as_secs_f64(),
                        "labels": rule_labels(r.labels()),
                        "annotations": map_json(r.annotations()),
                        "alerts": alerts,
                    })
                }
                rules::GroupRule::Recording(r) => {
                    if !want_records {
                        continue;
                    }
                    let mut v = json!({"name": r.name(), "query": r.query()});
                    let labels = rule_labels(r.labels());
                    if labels.as_object().is_some_and(|m| !m.is_empty()) {
                        v["labels"] = labels;
                    }
                    v
                }
            };
            v["health"] = Value::String(status.health.as_str().to_string());
            if let Some(e) = &status.last_error {
                v["lastError"] = Value::String(e.clone());
            }
            v["evaluationTime"] = json!(status.evaluation_duration.as_secs_f64());
            v["lastEvaluation"] = Value::String(time_text(status.last_evaluation));
            v["type"] = Value::String(
                match rule {
                    rules::GroupRule::Alerting(_) => "alerting",
                    rules::GroupRule::Recording(_) => "recording",
                }
                .to_string(),
            );
            rules.push(v);
        }
        // As upstream: a group left without rules (filtered out, or none) is not listed.
        if rules.is_empty() {
            continue;
        }
        if page.limit.is_some_and(|limit| out.len() == limit) {
            // A group past the page: there is a next page, and it starts here.
            next_token = Some(group_token(g.file(), g.name()));
            break;
        }
        out.push(json!({
            "name": g.name(),
            "file": g.file(),
            "rules": rules,
            "interval": g.interval().as_secs_f64(),
            "limit": g.limit(),
            "evaluationTime": g.metrics().last_duration.as_secs_f64(),
            "lastEvaluation": time_text(g.metrics().last_evaluation),
        }));
    }
    if !token_found {
        return invalid_param(
            "group_next_token",
            format!(
                "invalid group_next_token '{}'. were rule groups changed?",
                page.token.unwrap_or_default()
            ),
        );
    }
    let mut data = json!({ "groups": out });
    if let Some(token) = next_token {
        data["groupNextToken"] = Value::String(token);
    }
    success(data)
}

/// `group_limit` and `group_next_token` as upstream reads them: a token needs a limit, and a
/// limit is a positive 32-bit number.
struct Page {
    limit: Option<usize>,
    token: Option<String>,
}

impl Page {
    fn parse(limit: &str, token: &str) -> Result<Self, (&'static str, String)> {
        if !token.is_empty() && limit.is_empty() {
            return Err((
                "group_next_token",
                "group_limit needs to be present in order to paginate over the groups".into(),
            ));
        }
        if limit.is_empty() {
            return Ok(Self {
                limit: None,
                token: None,
            });
        }
        let n: i32 = limit.parse().map_err(|e: std::num::ParseIntError| {
            let why = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            (
                "group_limit",
                format!("group_limit needs to be a valid number: strconv.ParseInt: parsing {limit:?}: {why}"),
            )
        })?;
        if n <= 0 {
            return Err((
                "group_limit",
                "group_limit needs to be greater than 0".into(),
            ));
        }
        Ok(Self {
            limit: Some(n as usize),
            token: (!token.is_empty()).then(|| token.to_string()),
        })
    }
}

/// Upstream's page token for a group: the hex SHA-256 of `<file>;<name>`.
fn group_token(file: &str, name: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{file};{name}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Go's `strconv.ParseBool` of an already lowercased value ("" is false, as upstream reads
/// an absent parameter).
fn parse_go_bool(v: &str) -> Result<bool, String> {
    match v {
        "" | "0" | "f" | "false" => Ok(false),
        "1" | "t" | "true" => Ok(true),
        other => Err(format!(
            "strconv.ParseBool: parsing {other:?}: invalid syntax"
        )),
    }
}

/// Upstream's `invalidParamError`: bad_data naming the parameter.
fn invalid_param(param: &str, error: String) -> Response {
    bad_data(format!("invalid parameter {param:?}: {error}"))
}

/// `GET /api/v1/alerts`: the pending and firing alerts of every alerting rule.
pub async fn alerts(State(state): Shared) -> Response {
    let mut alerts = Vec::new();
    for g in state.rules.groups() {
        for rule in g.rules() {
            if let rules::GroupRule::Alerting(r) = rule {
                alerts.extend(r.active_alerts().map(alert_json));
            }
        }
    }
    success(json!({ "alerts": alerts }))
}

/// `GET /api/v1/alertmanagers`: the Alertmanagers alerts are sent to, and those dropped
/// by relabeling.
pub async fn alertmanagers(State(state): Shared) -> Response {
    let list = state.rules.notifier().alertmanagers();
    let urls = |v: &[String]| -> Vec<Value> { v.iter().map(|u| json!({ "url": u })).collect() };
    success(json!({
        "activeAlertmanagers": urls(&list.active),
        "droppedAlertmanagers": urls(&list.dropped),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_writes_them_with_e() {
        assert_eq!(go_float_e(1.0), "1e+00");
        assert_eq!(go_float_e(0.0025), "2.5e-03");
        assert_eq!(go_float_e(123456.0), "1.23456e+05");
        assert_eq!(go_float_e(1e100), "1e+100");
        assert_eq!(go_float_e(-3.5), "-3.5e+00");
    }

    #[test]
    fn query_parameters_decoded() {
        let p = params(Some("type=alert&rule_name%5B%5D=a+b&x=%41%zz".into()));
        assert_eq!(
            p,
            vec![
                ("type".into(), "alert".into()),
                ("rule_name[]".into(), "a b".into()),
                ("x".into(), "A%zz".into())
            ]
        );
    }
}
