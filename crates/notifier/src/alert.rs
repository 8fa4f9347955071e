//! The alert Prometheus sends (`notifier.Alert`), its relabeling, and the JSON body of
//! `POST /api/v2/alerts` byte for byte as Prometheus writes it.

use std::collections::BTreeMap;

use model::Labels;
use promconfig::RelabelConfig;

/// One alert as it is posted to Alertmanager.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Identity of the alert; at least `alertname`.
    pub labels: Labels,
    /// Extra information that does not identify the alert.
    pub annotations: BTreeMap<String, String>,
    /// Milliseconds since the epoch; `None` is Go's zero time (`0001-01-01T00:00:00.000Z`).
    pub starts_at: Option<i64>,
    /// Milliseconds since the epoch; `None` is Go's zero time.
    pub ends_at: Option<i64>,
    /// Link back to the expression; omitted from the body when empty.
    pub generator_url: String,
}

impl Alert {
    /// An alert from what the rules crate's `OutgoingAlert` holds (its `starts_at`,
    /// `ends_at` in milliseconds; `ends_at` is always set there).
    pub fn new(
        labels: Labels,
        annotations: BTreeMap<String, String>,
        starts_at: Option<i64>,
        ends_at: Option<i64>,
        generator_url: String,
    ) -> Self {
        Self {
            labels,
            annotations,
            starts_at,
            ends_at,
            generator_url,
        }
    }

    /// The `alertname` label.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").unwrap_or("")
    }

    /// Whether the alert has ended at `now_ms` (an unset end never does).
    pub fn resolved_at(&self, now_ms: i64) -> bool {
        self.ends_at.is_some_and(|end| end <= now_ms)
    }
}

/// Upstream's `relabelAlerts`: external labels the alert lacks are added (its own labels
/// win), then the relabel steps run; an alert they drop, or whose labels become empty, is
/// left out.
pub(crate) fn relabel_alerts(
    steps: &[RelabelConfig],
    external: &Labels,
    alerts: &[Alert],
) -> Vec<Alert> {
    let mut out = Vec::with_capacity(alerts.len());
    for a in alerts {
        let labels = if external.is_empty() {
            a.labels.clone()
        } else {
            let mut b = a.labels.to_builder();
            for l in external.iter() {
                if a.labels.get(&l.name).unwrap_or("").is_empty() {
                    b.set(l.name.clone(), l.value.clone());
                }
            }
            b.build()
        };
        let labels = if steps.is_empty() {
            if labels.is_empty() {
                continue;
            }
            labels
        } else {
            match scrape::relabel(&labels, steps) {
                Some(l) => l,
                None => continue,
            }
        };
        out.push(Alert {
            labels,
            ..a.clone()
        });
    }
    out
}

/// Go's `time.Time.Format("2006-01-02T15:04:05.000Z07:00")` (strfmt's `DateTime`) in UTC.
pub fn format_time(ms: Option<i64>) -> String {
    match ms {
        None => "0001-01-01T00:00:00.000Z".to_string(),
        Some(ms) => model::time::format_rfc3339_ms(ms),
    }
}

/// The body of `POST /api/v2/alerts` as Prometheus writes it (Alertmanager's
/// `models.PostableAlerts` through Go's encoding/json): per alert `annotations` (left out
/// when empty), `endsAt`, `startsAt`, `generatorURL` (left out when empty), `labels`;
/// map keys sorted, `<`, `>`, `&` and U+2028/9 escaped as `\u00xx`.
pub fn encode_v2(alerts: &[Alert]) -> String {
    let mut out = String::with_capacity(alerts.len() * 256 + 2);
    out.push('[');
    for (i, a) in alerts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        if !a.annotations.is_empty() {
            out.push_str("\"annotations\":");
            write_map(&mut out, a.annotations.iter());
            out.push(',');
        }
        out.push_str("\"endsAt\":\"");
        out.push_str(&format_time(a.ends_at));
        out.push_str("\",\"startsAt\":\"");
        out.push_str(&format_time(a.starts_at));
        out.push_str("\",");
        if !a.generator_url.is_empty() {
            out.push_str("\"generatorURL\":");
            go_json_string(&mut out, &a.generator_url);
            out.push(',');
        }
        out.push_str("\"labels\":");
        write_map(&mut out, a.labels.iter().map(|l| (&l.name, &l.value)));
        out.push('}');
    }
    out.push(']');
    out
}

fn write_map<'a>(out: &mut String, pairs: impl Iterator<Item = (&'a String, &'a String)>) {
    // Go sorts map keys bytewise; labels and BTreeMaps already are.
    let mut pairs: Vec<_> = pairs.collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    pairs.dedup_by(|a, b| a.0 == b.0);
    out.push('{');
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_json_string(out, k);
        out.push(':');
        go_json_string(out, v);
    }
    out.push('}');
}

/// A string as Go's encoding/json writes it with HTML escaping (the default).
pub(crate) fn go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(pairs: &[(&str, &str)]) -> Alert {
        Alert {
            labels: Labels::from_pairs(pairs.iter().map(|(k, v)| (*k, *v))),
            annotations: BTreeMap::new(),
            starts_at: None,
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn body_matches_prometheus_bytes() {
        let mut a = alert(&[("alertname", "Up"), ("a", "<&>")]);
        a.annotations.insert("summary".into(), "x \"y\"\n".into());
        a.starts_at = Some(1_435_781_451_781);
        a.ends_at = Some(1_435_781_511_000);
        a.generator_url = "http://p:9090/graph?g0.expr=up&g0.tab=1".into();
        assert_eq!(
            encode_v2(&[a]),
            concat!(
                r#"[{"annotations":{"summary":"x \"y\"\n"},"endsAt":"2015-07-01T20:11:51.000Z","#,
                r#""startsAt":"2015-07-01T20:10:51.781Z","generatorURL":"http://p:9090/graph?g0.expr=up\u0026g0.tab=1","#,
                r#""labels":{"a":"\u003c\u0026\u003e","alertname":"Up"}}]"#
            )
        );
        // Empty annotations and URL are left out, zero times written as Go's zero time,
        // labels always present.
        assert_eq!(
            encode_v2(&[alert(&[])]),
            r#"[{"endsAt":"0001-01-01T00:00:00.000Z","startsAt":"0001-01-01T00:00:00.000Z","labels":{}}]"#
        );
        assert_eq!(encode_v2(&[]), "[]");
        let mut s = String::new();
        go_json_string(&mut s, "\u{8}\u{c}\u{1}\u{2028}é");
        assert_eq!(s, r#""\b\f\u0001\u2028é""#);
    }

    #[test]
    fn external_labels_never_override() {
        let ext = Labels::from_pairs([("a", "ext"), ("b", "ext")]);
        let out = relabel_alerts(&[], &ext, &[alert(&[("alertname", "x"), ("a", "own")])]);
        assert_eq!(
            out[0].labels,
            Labels::from_pairs([("a", "own"), ("alertname", "x"), ("b", "ext")])
        );
    }
}
