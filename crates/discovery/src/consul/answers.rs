//! Consul's answers read as upstream's client reads them (the first JSON value, `null`
//! as empty) and an instance's `__meta_consul_*` labels.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{join_host_port, null_as_default, sanitize_label_name, LabelSet};

/// The first JSON value of a body, as Go's `json.Decoder` reads it (what follows it is
/// not looked at).
fn decode_first<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<T>();
    match values.next() {
        Some(value) => value.map_err(|e| e.to_string()),
        None => Err("EOF".into()),
    }
}

/// The datacenter in an `/v1/agent/self` answer (`Config.Datacenter`).
pub(super) fn agent_datacenter(body: &[u8]) -> Result<String, String> {
    let info: Option<BTreeMap<String, Option<serde_json::Map<String, serde_json::Value>>>> =
        decode_first(body)?;
    let value = info
        .as_ref()
        .and_then(|i| i.get("Config"))
        .and_then(|c| c.as_ref())
        .and_then(|c| c.get("Datacenter"));
    match value {
        Some(serde_json::Value::String(dc)) => Ok(dc.clone()),
        other => Err(format!(
            "invalid value '{}' for Config.Datacenter",
            go_value(other.unwrap_or(&serde_json::Value::Null))
        )),
    }
}

/// A JSON value as Go's `%v` prints what encoding/json decoded it to.
fn go_value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), go_float),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(fields) => {
            let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
            fields.sort_by(|a, b| a.0.cmp(b.0));
            let fields: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect();
            format!("map[{}]", fields.join(" "))
        }
    }
}

/// A float64 as Go's `%v` prints it (`%g`, shortest digits): in exponent form below 1e-4
/// and from 1e6 on.
fn go_float(f: f64) -> String {
    let exp_form = format!("{f:e}");
    let Some((mantissa, exp)) = exp_form.split_once('e') else {
        return f.to_string();
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        f.to_string()
    }
}

/// The service list of a `/v1/catalog/services` answer: names and their tags.
pub fn parse_catalog_answer(body: &[u8]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let services: Option<BTreeMap<String, Option<Vec<Option<String>>>>> = decode_first(body)?;
    Ok(services
        .unwrap_or_default()
        .into_iter()
        .map(|(name, tags)| {
            let tags = tags
                .unwrap_or_default()
                .into_iter()
                .map(Option::unwrap_or_default);
            (name, tags.collect())
        })
        .collect())
}

/// A `/v1/health/service/<name>` answer's targets, labelled as upstream labels them;
/// tags are joined with `tag_separator`, which also surrounds them.
pub fn parse_health_answer(body: &[u8], tag_separator: &str) -> Result<Vec<LabelSet>, String> {
    let entries: Option<Vec<Option<ServiceEntry>>> = decode_first(body)?;
    Ok(entries
        .unwrap_or_default()
        .iter()
        .flatten()
        .map(|e| target(e, tag_separator))
        .collect())
}

/// One instance's label set (upstream's loop body of `consulService.watch`).
fn target(entry: &ServiceEntry, tag_separator: &str) -> LabelSet {
    let node = &entry.node;
    let service = &entry.service;
    // Surrounded by the separator, so that relabeling regexes need not care where a tag is.
    let tags = format!(
        "{tag_separator}{}{tag_separator}",
        service.tags.join(tag_separator)
    );
    // A service registered with its own address (perhaps through another node) is
    // reached there.
    let host = if service.address.is_empty() {
        &node.address
    } else {
        &service.address
    };
    let mut labels = LabelSet::from([
        (
            "__address__".to_string(),
            join_host_port(host, service.port),
        ),
        ("__meta_consul_address".into(), node.address.clone()),
        ("__meta_consul_node".into(), node.node.clone()),
        ("__meta_consul_namespace".into(), service.namespace.clone()),
        ("__meta_consul_partition".into(), service.partition.clone()),
        ("__meta_consul_tags".into(), tags),
        (
            "__meta_consul_service_address".into(),
            service.address.clone(),
        ),
        (
            "__meta_consul_service_port".into(),
            service.port.to_string(),
        ),
        ("__meta_consul_service_id".into(), service.id.clone()),
        (
            "__meta_consul_health".into(),
            aggregated_status(&entry.checks),
        ),
    ]);
    for (k, v) in &node.meta {
        labels.insert(
            format!("__meta_consul_metadata_{}", sanitize_label_name(k)),
            v.clone().unwrap_or_default(),
        );
    }
    for (k, v) in &service.meta {
        labels.insert(
            format!("__meta_consul_service_metadata_{}", sanitize_label_name(k)),
            v.clone().unwrap_or_default(),
        );
    }
    for (k, v) in &node.tagged_addresses {
        labels.insert(
            format!("__meta_consul_tagged_address_{}", sanitize_label_name(k)),
            v.clone().unwrap_or_default(),
        );
    }
    labels
}

/// Consul's `HealthChecks.AggregatedStatus`: maintenance over critical over warning over
/// passing (also for no checks); an unknown status makes it empty.
fn aggregated_status(checks: &[Option<HealthCheck>]) -> String {
    let (mut warning, mut critical, mut maintenance) = (false, false, false);
    for check in checks.iter().flatten() {
        if check.check_id == "_node_maintenance"
            || check.check_id.starts_with("_service_maintenance:")
        {
            maintenance = true;
            continue;
        }
        match check.status.as_str() {
            "passing" => {}
            "warning" => warning = true,
            "critical" => critical = true,
            _ => return String::new(),
        }
    }
    if maintenance {
        "maintenance"
    } else if critical {
        "critical"
    } else if warning {
        "warning"
    } else {
        "passing"
    }
    .into()
}

/// An instance as the Health API lists it (the fields upstream reads).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ServiceEntry {
    #[serde(rename = "Node", deserialize_with = "null_as_default")]
    node: Node,
    #[serde(rename = "Service", deserialize_with = "null_as_default")]
    service: AgentService,
    #[serde(rename = "Checks", deserialize_with = "null_as_default")]
    checks: Vec<Option<HealthCheck>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Node {
    #[serde(rename = "Node", deserialize_with = "null_as_default")]
    node: String,
    #[serde(rename = "Address", deserialize_with = "null_as_default")]
    address: String,
    #[serde(rename = "TaggedAddresses", deserialize_with = "null_as_default")]
    tagged_addresses: BTreeMap<String, Option<String>>,
    #[serde(rename = "Meta", deserialize_with = "null_as_default")]
    meta: BTreeMap<String, Option<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AgentService {
    #[serde(rename = "ID", deserialize_with = "null_as_default")]
    id: String,
    #[serde(rename = "Tags", deserialize_with = "tag_list")]
    tags: Vec<String>,
    #[serde(rename = "Meta", deserialize_with = "null_as_default")]
    meta: BTreeMap<String, Option<String>>,
    /// Go's `int`: any size, printed as it is.
    #[serde(rename = "Port", deserialize_with = "null_as_default")]
    port: i64,
    #[serde(rename = "Address", deserialize_with = "null_as_default")]
    address: String,
    #[serde(rename = "Namespace", deserialize_with = "null_as_default")]
    namespace: String,
    #[serde(rename = "Partition", deserialize_with = "null_as_default")]
    partition: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HealthCheck {
    #[serde(rename = "CheckID", deserialize_with = "null_as_default")]
    check_id: String,
    #[serde(rename = "Status", deserialize_with = "null_as_default")]
    status: String,
}

/// A tag list, `null` and `null` items read as Go reads them (none, and empty tags).
fn tag_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let tags: Option<Vec<Option<String>>> = Deserialize::deserialize(d)?;
    Ok(tags
        .unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_values() {
        use serde_json::json;
        assert_eq!(go_value(&json!(null)), "<nil>");
        assert_eq!(go_value(&json!(5)), "5");
        assert_eq!(go_value(&json!(1.5)), "1.5");
        assert_eq!(go_value(&json!(123456)), "123456");
        assert_eq!(go_value(&json!(1000000)), "1e+06");
        assert_eq!(go_value(&json!(0.00001)), "1e-05");
        assert_eq!(go_value(&json!(0.0001)), "0.0001");
        assert_eq!(go_value(&json!([1, "a"])), "[1 a]");
        assert_eq!(
            go_value(&json!({"b": true, "a": null})),
            "map[a:<nil> b:true]"
        );
    }

    #[test]
    fn aggregated_status_as_consul() {
        let check = |id: &str, status: &str| {
            Some(HealthCheck {
                check_id: id.into(),
                status: status.into(),
            })
        };
        assert_eq!(aggregated_status(&[]), "passing");
        assert_eq!(
            aggregated_status(&[check("a", "passing"), check("b", "warning")]),
            "warning"
        );
        assert_eq!(
            aggregated_status(&[check("a", "critical"), check("b", "warning")]),
            "critical"
        );
        assert_eq!(
            aggregated_status(&[
                check("_service_maintenance:x", "critical"),
                check("b", "critical")
            ]),
            "maintenance"
        );
        assert_eq!(
            aggregated_status(&[check("_node_maintenance", "passing")]),
            "maintenance"
        );
        assert_eq!(
            aggregated_status(&[check("a", "critical"), check("b", "unknown")]),
            ""
        );
    }
}
