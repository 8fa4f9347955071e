//! `tracing` (where the server's own traces go) and `otlp` (how OTLP metrics received on
//! the write endpoint are translated).

use std::collections::BTreeMap;
use std::path::Path;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::TlsConfig;
use crate::remote::RESERVED_HEADERS;
use crate::values::PromDuration;

/// `tracing`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TracingConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    pub sampling_fraction: f64,
    pub insecure: bool,
    pub tls_config: TlsConfig,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub compression: String,
    pub timeout: PromDuration,
}

/// `tracing.client_type`.
#[derive(Default)]
struct ClientType(String);

impl Decode for ClientType {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        if text != "http" && text != "grpc" {
            return Err(Fatal(format!(
                "expected tracing client type to be to be http or grpc, but got {text}"
            )));
        }
        self.0 = text;
        Ok(true)
    }
    fn go_type() -> String {
        "config.TracingClientType".into()
    }
}

#[derive(Default)]
struct PlainTracing {
    t: TracingConfig,
    client_type: ClientType,
}
goyaml::fields!(PlainTracing as "config.plain" { "client_type" => client_type } inline t);
goyaml::fields!(TracingConfig as "config.plain" {
    "endpoint" => endpoint,
    "sampling_fraction" => sampling_fraction,
    "insecure" => insecure,
    "tls_config" => tls_config,
    "headers" => headers,
    "compression" => compression,
    "timeout" => timeout,
});

impl Decode for TracingConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut plain = PlainTracing {
            client_type: ClientType("grpc".into()),
            ..PlainTracing::default()
        };
        if !d.unmarshal_fields(node, &mut plain)? {
            return Ok(false);
        }
        let mut t = plain.t;
        t.client_type = plain.client_type.0;
        for header in t.headers.keys() {
            let lower = header.to_lowercase();
            if lower == "authorization" {
                return Err(Fatal::new(
                    "custom authorization header configuration is not yet supported",
                ));
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(Fatal(format!(
                    "{header} is a reserved header. It must not be changed"
                )));
            }
        }
        if t.endpoint.is_empty() {
            return Err(Fatal::new("tracing endpoint must be set"));
        }
        if !t.compression.is_empty() && t.compression != "gzip" {
            return Err(Fatal(format!(
                "invalid compression type {} provided, valid options: gzip",
                t.compression
            )));
        }
        *self = t;
        Ok(true)
    }
    fn go_type() -> String {
        "config.TracingConfig".into()
    }
}

impl TracingConfig {
    pub fn set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
    }

    /// Whether a tracing section is present.
    pub fn is_set(&self) -> bool {
        *self != Self::default()
    }
}

/// `otlp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OtlpConfig {
    pub promote_all_resource_attributes: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub promote_resource_attributes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_resource_attributes: Vec<String>,
    pub translation_strategy: String,
    pub keep_identifying_resource_attributes: bool,
    pub convert_histograms_to_nhcb: bool,
    pub promote_scope_metadata: bool,
    pub label_name_underscore_sanitization: bool,
    pub label_name_preserve_multiple_underscores: bool,
}
goyaml::fields!(OtlpConfig as "config.plain" {
    "promote_all_resource_attributes" => promote_all_resource_attributes,
    "promote_resource_attributes" => promote_resource_attributes,
    "ignore_resource_attributes" => ignore_resource_attributes,
    "translation_strategy" => translation_strategy,
    "keep_identifying_resource_attributes" => keep_identifying_resource_attributes,
    "convert_histograms_to_nhcb" => convert_histograms_to_nhcb,
    "promote_scope_metadata" => promote_scope_metadata,
    "label_name_underscore_sanitization" => label_name_underscore_sanitization,
    "label_name_preserve_multiple_underscores" => label_name_preserve_multiple_underscores,
});

impl OtlpConfig {
    /// Prometheus's `DefaultOTLPConfig`.
    pub fn defaults() -> Self {
        Self {
            translation_strategy: "UnderscoreEscapingWithSuffixes".into(),
            label_name_underscore_sanitization: true,
            label_name_preserve_multiple_underscores: true,
            ..Self::default()
        }
    }
}

impl Decode for OtlpConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.promote_all_resource_attributes {
            if !self.promote_resource_attributes.is_empty() {
                return Err(Fatal::new("'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously"));
            }
            sanitize_attributes(&mut self.ignore_resource_attributes, "ignored")
                .map_err(|e| Fatal(format!("invalid 'ignore_resource_attributes': {e}")))?;
        } else {
            if !self.ignore_resource_attributes.is_empty() {
                return Err(Fatal::new("'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true"));
            }
            sanitize_attributes(&mut self.promote_resource_attributes, "promoted")
                .map_err(|e| Fatal(format!("invalid 'promote_resource_attributes': {e}")))?;
        }
        Ok(true)
    }
    fn go_type() -> String {
        "config.OTLPConfig".into()
    }
}

/// Trims attribute names; empty and repeated names are errors (all of them reported).
fn sanitize_attributes(attributes: &mut [String], adjective: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for attr in attributes.iter_mut() {
        let trimmed = attr.trim().to_string();
        if trimmed.is_empty() {
            errors.push(format!("empty {adjective} OTel resource attribute"));
            continue;
        }
        if seen.contains(&trimmed) {
            errors.push(format!(
                "duplicated {adjective} OTel resource attribute {}",
                goyaml::go_quote(&trimmed)
            ));
            continue;
        }
        seen.push(trimmed.clone());
        *attr = trimmed;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}
