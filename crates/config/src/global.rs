//! `global` and `runtime`: the defaults every scrape job inherits, external labels, and
//! process settings.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::scrape::{validate_protocols, ScrapeProtocol};
use crate::values::{ByteSize, PromDuration};

/// `metric_name_validation_scheme`: which metric and label names are valid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum ValidationScheme {
    /// Not set in the file: inherited.
    #[default]
    #[serde(rename = "")]
    Unset,
    /// Any non-empty UTF-8 (Prometheus 3's default).
    #[serde(rename = "utf8")]
    Utf8,
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` metric names and `[a-zA-Z_][a-zA-Z0-9_]*` label names.
    #[serde(rename = "legacy")]
    Legacy,
}

impl ValidationScheme {
    pub fn is_legacy(self) -> bool {
        self == Self::Legacy
    }

    /// Whether `name` is a valid label name under this scheme (UTF-8 when unset).
    pub fn valid_label_name(self, name: &[u8]) -> bool {
        match self {
            Self::Legacy => {
                let mut bytes = name.iter();
                matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || *b == b'_')
                    && bytes.all(|b| b.is_ascii_alphanumeric() || *b == b'_')
            }
            _ => !name.is_empty() && std::str::from_utf8(name).is_ok(),
        }
    }
}

impl Decode for ValidationScheme {
    /// model.ValidationScheme's `UnmarshalYAML`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.as_str() {
            "" => Self::Unset,
            "legacy" => Self::Legacy,
            "utf8" => Self::Utf8,
            _ => {
                return Err(Fatal(format!(
                    "unrecognized ValidationScheme: {}",
                    goyaml::go_quote(&text)
                )))
            }
        };
        Ok(true)
    }
    fn go_type() -> String {
        "model.ValidationScheme".into()
    }
}

/// `external_labels` as written: byte strings, so that invalid UTF-8 (from `!!binary`)
/// can be reported as Prometheus reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawLabels(pub Vec<(Vec<u8>, Vec<u8>)>);

impl Decode for RawLabels {
    /// labels.Labels's `UnmarshalYAML`: a `map[string]string`.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let before = d.has_errors();
        d.map_pairs(node, "map[string]string", &mut |d, key, value| {
            let Some(k) = d.scalar_bytes(key)? else {
                d.type_error(key, "string");
                return Ok(());
            };
            let Some(v) = d.scalar_bytes(value)? else {
                d.type_error(value, "string");
                return Ok(());
            };
            if pairs.iter().any(|(existing, _)| *existing == k) {
                d.push(format!(
                    "line {}: key {} already set in map",
                    value.line,
                    goyaml::go_quote_bytes(&k)
                ));
                return Ok(());
            }
            pairs.push((k, v));
            Ok(())
        })?;
        if d.has_errors() && !before {
            return Ok(false);
        }
        pairs.sort();
        self.0 = pairs;
        Ok(true)
    }
    fn go_type() -> String {
        "labels.Labels".into()
    }
}

/// `global`. `Default` is the zero value; [`GlobalConfig::defaults`] has Prometheus's.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GlobalConfig {
    pub scrape_interval: PromDuration,
    pub scrape_timeout: PromDuration,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scrape_protocols: Vec<ScrapeProtocol>,
    /// Set when the file lists `scrape_protocols` (even as an empty list).
    #[serde(skip)]
    pub scrape_protocols_set: bool,
    pub evaluation_interval: PromDuration,
    pub rule_query_offset: PromDuration,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query_log_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scrape_failure_log_file: String,
    /// Validated external labels, `$VAR` references expanded.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
    #[serde(skip)]
    raw_external_labels: RawLabels,
    pub body_size_limit: ByteSize,
    pub sample_limit: u64,
    pub target_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
    pub keep_dropped_targets: u64,
    pub metric_name_validation_scheme: ValidationScheme,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metric_name_escaping_scheme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrape_native_histograms: Option<bool>,
    pub convert_classic_histograms_to_nhcb: bool,
    pub always_scrape_classic_histograms: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_scrape_metrics: Option<bool>,
}

/// `scrape_protocols` as written (Go's nil and empty lists differ).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ProtocolList(pub Option<Vec<ScrapeProtocol>>);

impl Decode for ProtocolList {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut list = Vec::new();
        let ok = d.decode(node, &mut list)?;
        self.0 = Some(list);
        Ok(ok)
    }
    fn go_type() -> String {
        "[]config.ScrapeProtocol".into()
    }
}

/// What the file says before the defaults are applied.
#[derive(Default)]
struct PlainGlobal {
    g: GlobalConfig,
    protocols: ProtocolList,
}

goyaml::fields!(PlainGlobal as "config.plain" {
    "scrape_protocols" => protocols,
} inline g);

goyaml::fields!(GlobalConfig as "config.plain" {
    "scrape_interval" => scrape_interval,
    "scrape_timeout" => scrape_timeout,
    "evaluation_interval" => evaluation_interval,
    "rule_query_offset" => rule_query_offset,
    "query_log_file" => query_log_file,
    "scrape_failure_log_file" => scrape_failure_log_file,
    "external_labels" => raw_external_labels,
    "body_size_limit" => body_size_limit,
    "sample_limit" => sample_limit,
    "target_limit" => target_limit,
    "label_limit" => label_limit,
    "label_name_length_limit" => label_name_length_limit,
    "label_value_length_limit" => label_value_length_limit,
    "keep_dropped_targets" => keep_dropped_targets,
    "metric_name_validation_scheme" => metric_name_validation_scheme,
    "metric_name_escaping_scheme" => metric_name_escaping_scheme,
    "scrape_native_histograms" => scrape_native_histograms,
    "convert_classic_histograms_to_nhcb" => convert_classic_histograms_to_nhcb,
    "always_scrape_classic_histograms" => always_scrape_classic_histograms,
    "extra_scrape_metrics" => extra_scrape_metrics,
});

impl GlobalConfig {
    /// Prometheus's `DefaultGlobalConfig`.
    pub fn defaults() -> Self {
        Self {
            scrape_interval: PromDuration(Duration::from_secs(60)),
            scrape_timeout: PromDuration(Duration::from_secs(10)),
            evaluation_interval: PromDuration(Duration::from_secs(60)),
            scrape_native_histograms: Some(false),
            extra_scrape_metrics: Some(false),
            metric_name_validation_scheme: ValidationScheme::Utf8,
            metric_name_escaping_scheme: "allow-utf-8".into(),
            ..Self::default()
        }
    }

    /// Go's `isZero`: an empty `global:` block, which restores the defaults.
    pub(crate) fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    pub fn set_directory(&mut self, dir: &Path) {
        crate::join_dir(dir, &mut self.query_log_file);
        crate::join_dir(dir, &mut self.scrape_failure_log_file);
    }

    /// Replaces `$VAR`/`${VAR}` in external label values from the environment (`$$` is a
    /// dollar), as Prometheus does when it loads the file.
    pub(crate) fn expand_external_labels(&mut self) {
        for value in self.external_labels.values_mut() {
            *value = expand_env(value);
        }
    }
}

impl Decode for GlobalConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut plain = PlainGlobal::default();
        if !d.unmarshal_fields(node, &mut plain)? {
            return Ok(false);
        }
        let mut gc = plain.g;
        if gc.metric_name_validation_scheme == ValidationScheme::Unset {
            gc.metric_name_validation_scheme = ValidationScheme::Utf8;
        }
        let scheme = gc.metric_name_validation_scheme;
        for (name, value) in &gc.raw_external_labels.0 {
            if !scheme.valid_label_name(name) {
                return Err(Fatal(format!(
                    "{} is not a valid label name",
                    goyaml::go_quote_bytes(name)
                )));
            }
            if std::str::from_utf8(value).is_err() {
                return Err(Fatal(format!(
                    "{} is not a valid label value",
                    goyaml::go_quote_bytes(value)
                )));
            }
        }
        gc.external_labels = gc
            .raw_external_labels
            .0
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        let defaults = Self::defaults();
        if gc.scrape_interval.0.is_zero() {
            gc.scrape_interval = defaults.scrape_interval;
        }
        if gc.scrape_timeout > gc.scrape_interval {
            return Err(Fatal::new(
                "global scrape timeout greater than scrape interval",
            ));
        }
        if gc.scrape_timeout.0.is_zero() {
            gc.scrape_timeout = defaults.scrape_timeout.min(gc.scrape_interval);
        }
        if gc.evaluation_interval.0.is_zero() {
            gc.evaluation_interval = defaults.evaluation_interval;
        }
        if gc.scrape_native_histograms.is_none() {
            gc.scrape_native_histograms = defaults.scrape_native_histograms;
        }
        if gc.extra_scrape_metrics.is_none() {
            gc.extra_scrape_metrics = defaults.extra_scrape_metrics;
        }
        if let Some(protocols) = plain.protocols.0 {
            validate_protocols(&protocols).map_err(|e| Fatal(format!("{e} for global config")))?;
            gc.scrape_protocols = protocols;
            gc.scrape_protocols_set = true;
        }
        *self = gc;
        Ok(true)
    }
    fn go_type() -> String {
        "config.GlobalConfig".into()
    }
}

/// Go's `os.Expand` with `os.Getenv`: `$NAME`, `${NAME}`, `$$` for a dollar.
fn expand_env(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            let ch = text[i..].chars().next().unwrap_or('$');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let rest = &text[i + 1..];
        let (name, used) = if let Some(inner) = rest.strip_prefix('{') {
            match inner.find('}') {
                Some(end) if end > 0 => (&inner[..end], end + 2),
                // Go drops a bad `${` syntax.
                Some(_) => ("", 2),
                None => ("", 1),
            }
        } else if rest.starts_with('$') {
            ("$", 1)
        } else {
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if len == 0 {
                // `$` followed by a special character names that one-character variable.
                let c = rest.chars().next().map(|c| c.len_utf8()).unwrap_or(0);
                (&rest[..c], c)
            } else {
                (&rest[..len], len)
            }
        };
        if name == "$" {
            out.push('$');
        } else if !name.is_empty() {
            out.push_str(&std::env::var(name).unwrap_or_default());
        }
        i += 1 + used;
    }
    out
}

/// `runtime`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuntimeConfig {
    /// Go's garbage collector target; accepted and shown, it has no meaning for a
    /// program without a garbage collector.
    pub gogc: i64,
}
goyaml::fields!(RuntimeConfig as "config.RuntimeConfig" { "gogc" => gogc });
goyaml::plain!(RuntimeConfig);

impl RuntimeConfig {
    /// Prometheus's default (`GOGC` from the environment, else 75).
    pub fn defaults() -> Self {
        let gogc = match std::env::var("GOGC") {
            Ok(v) if v.eq_ignore_ascii_case("off") => -1,
            Ok(v) => v.parse().unwrap_or(75),
            Err(_) => 75,
        };
        Self { gogc }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_expansion() {
        std::env::set_var("PROMETHIUM_TEST_REGION", "eu");
        assert_eq!(expand_env("$PROMETHIUM_TEST_REGION-1"), "eu-1");
        assert_eq!(expand_env("${PROMETHIUM_TEST_REGION}x"), "eux");
        assert_eq!(expand_env("a$$b"), "a$b");
        assert_eq!(expand_env("plain"), "plain");
        assert_eq!(expand_env("$PROMETHIUM_TEST_UNSET_VAR"), "");
    }
}
