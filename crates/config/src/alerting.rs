//! `alerting`: where alerts go (Alertmanagers, found by any service discovery) and how
//! they are relabeled on the way.

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::relabel::RelabelConfig;
use crate::remote::SigV4Config;
use crate::scrape::check_static_targets;
use crate::sd::SdConfigs;
use crate::values::PromDuration;

/// `alerting`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertingConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alertmanagers: Vec<AlertmanagerConfig>,
}
goyaml::fields!(AlertingConfig as "config.plain" {
    "alert_relabel_configs" => alert_relabel_configs,
    "alertmanagers" => alertmanagers,
});

impl Decode for AlertingConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::default();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self
            .alert_relabel_configs
            .iter()
            .any(RelabelConfig::is_null)
        {
            return Err(Fatal::new("empty or null alert relabeling rule"));
        }
        Ok(true)
    }
    fn go_type() -> String {
        "config.AlertingConfig".into()
    }
}

impl AlertingConfig {
    /// Relabel rules checked against the name validation scheme.
    pub fn validate(&self, legacy: bool) -> Result<(), String> {
        for rc in &self.alert_relabel_configs {
            rc.validate(legacy)?;
        }
        for am in &self.alertmanagers {
            for rc in am.alert_relabel_configs.iter().chain(&am.relabel_configs) {
                rc.validate(legacy)?;
            }
        }
        Ok(())
    }

    pub fn set_directory(&mut self, dir: &Path) {
        for am in &mut self.alertmanagers {
            am.sd.set_directory(dir);
            am.http.set_directory(dir);
        }
    }
}

/// One `alertmanagers` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertmanagerConfig {
    #[serde(flatten)]
    pub sd: SdConfigs,
    #[serde(flatten)]
    pub http: HttpClientConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<SigV4Config>,
    pub scheme: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path_prefix: String,
    pub timeout: PromDuration,
    pub api_version: AlertmanagerApiVersion,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alert_relabel_configs: Vec<RelabelConfig>,
}
goyaml::fields!(AlertmanagerConfig as "config.AlertmanagerConfig" {
    "sigv4" => sigv4,
    "scheme" => scheme,
    "path_prefix" => path_prefix,
    "timeout" => timeout,
    "api_version" => api_version,
    "relabel_configs" => relabel_configs,
    "alert_relabel_configs" => alert_relabel_configs,
} inline sd, http);

impl AlertmanagerConfig {
    /// Prometheus's `DefaultAlertmanagerConfig`.
    pub fn defaults() -> Self {
        Self {
            scheme: "http".into(),
            timeout: PromDuration(Duration::from_secs(10)),
            api_version: AlertmanagerApiVersion("v2".into()),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }
}

impl Decode for AlertmanagerConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        self.sd.check_entries()?;
        self.http.validate()?;
        if self.http.has_auth() && self.sigv4.is_some() {
            return Err(Fatal::new(
                "at most one of basic_auth, authorization, oauth2, & sigv4 must be configured",
            ));
        }
        if self.relabel_configs.is_empty() {
            check_static_targets(&self.sd)?;
        }
        if self.relabel_configs.iter().any(RelabelConfig::is_null) {
            return Err(Fatal::new(
                "empty or null Alertmanager target relabeling rule",
            ));
        }
        if self
            .alert_relabel_configs
            .iter()
            .any(RelabelConfig::is_null)
        {
            return Err(Fatal::new(
                "empty or null Alertmanager alert relabeling rule",
            ));
        }
        Ok(true)
    }
    fn go_type() -> String {
        "config.AlertmanagerConfig".into()
    }
}

/// `api_version`: only `v2` is supported, as in Prometheus 3.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertmanagerApiVersion(pub String);

impl Decode for AlertmanagerApiVersion {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        if text != "v2" {
            return Err(Fatal(format!(
                "expected Alertmanager api version to be one of [v2] but got {text}"
            )));
        }
        self.0 = text;
        Ok(true)
    }
    fn go_type() -> String {
        "config.AlertmanagerAPIVersion".into()
    }
}
