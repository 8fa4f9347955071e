//! `azure_sd_configs`: Azure virtual machines and scale sets (upstream's
//! `discovery/azure`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::http::HttpClientConfig;
use crate::values::{PromDuration, Secret};

const AUTH_OAUTH: &str = "OAuth";
const AUTH_SDK: &str = "SDK";
const AUTH_MANAGED_IDENTITY: &str = "ManagedIdentity";
const AUTH_WORKLOAD_IDENTITY: &str = "WorkloadIdentity";

fn is_zero_duration(d: &PromDuration) -> bool {
    d.0.is_zero()
}

/// One `azure_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AzureSdConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub environment: String,
    pub port: isize,
    pub subscription_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tenant_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub client_secret: Secret,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    /// `OAuth`, `ManagedIdentity`, `SDK` or `WorkloadIdentity`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authentication_method: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource_group: String,
    #[serde(flatten)]
    pub http: HttpClientConfig,
}
goyaml::fields!(AzureSdConfig as "azure.plain" {
    "environment" => environment,
    "port" => port,
    "subscription_id" => subscription_id,
    "tenant_id" => tenant_id,
    "client_id" => client_id,
    "client_secret" => client_secret,
    "refresh_interval" => refresh_interval,
    "authentication_method" => authentication_method,
    "resource_group" => resource_group,
} inline http);

impl AzureSdConfig {
    /// Upstream's `DefaultSDConfig`.
    pub fn defaults() -> Self {
        Self {
            port: 80,
            refresh_interval: PromDuration(Duration::from_secs(300)),
            environment: "AzurePublicCloud".into(),
            authentication_method: AUTH_OAUTH.into(),
            http: HttpClientConfig::defaults(),
            ..Self::default()
        }
    }

    /// Upstream has no `SetDirectory` for Azure: file names stay as written.
    pub fn set_directory(&mut self, _dir: &Path) {}
}

/// `validateAuthParam`.
fn require(value: &str, name: &str) -> Result<(), Fatal> {
    if value.is_empty() {
        return Err(Fatal(format!("azure SD configuration requires a {name}")));
    }
    Ok(())
}

impl Decode for AzureSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        require(&self.subscription_id, "subscription_id")?;
        if self.authentication_method == AUTH_OAUTH {
            require(&self.tenant_id, "tenant_id")?;
            require(&self.client_id, "client_id")?;
            require(self.client_secret.expose(), "client_secret")?;
        }
        let method = self.authentication_method.as_str();
        if ![
            AUTH_OAUTH,
            AUTH_MANAGED_IDENTITY,
            AUTH_SDK,
            AUTH_WORKLOAD_IDENTITY,
        ]
        .contains(&method)
        {
            return Err(Fatal(format!(
                "unknown authentication_type {}. Supported types are {}, {}, {} or {}",
                goyaml::go_quote(method),
                goyaml::go_quote(AUTH_OAUTH),
                goyaml::go_quote(AUTH_MANAGED_IDENTITY),
                goyaml::go_quote(AUTH_SDK),
                goyaml::go_quote(AUTH_WORKLOAD_IDENTITY),
            )));
        }
        self.http.validate()?;
        Ok(true)
    }
    fn go_type() -> String {
        "azure.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<AzureSdConfig, String> {
        let mut value = AzureSdConfig::default();
        goyaml::from_str(text, &mut value).map(|_| value)
    }

    const IDS: &str = "subscription_id: s\ntenant_id: t\nclient_id: c\n";

    #[test]
    fn defaults() {
        let c = decode(&format!("{IDS}client_secret: x\n")).unwrap();
        assert_eq!(c.port, 80);
        assert_eq!(c.environment, "AzurePublicCloud");
        assert_eq!(c.authentication_method, "OAuth");
        assert_eq!(c.refresh_interval, PromDuration(Duration::from_secs(300)));
        assert!(c.http.follow_redirects);
        let c = decode("subscription_id: s\nauthentication_method: ManagedIdentity\n").unwrap();
        assert!(c.client_id.is_empty());
    }

    #[test]
    fn checks_in_upstream_order() {
        assert_eq!(
            decode(&format!("{IDS}client_secret:\n")).unwrap_err(),
            "azure SD configuration requires a client_secret"
        );
        assert_eq!(
            decode("authentication_method: invalid\n").unwrap_err(),
            "azure SD configuration requires a subscription_id"
        );
        assert_eq!(
            decode("subscription_id: s\nauthentication_method: invalid\n").unwrap_err(),
            r#"unknown authentication_type "invalid". Supported types are "OAuth", "ManagedIdentity", "SDK" or "WorkloadIdentity""#
        );
        assert_eq!(
            decode(&format!(
                "{IDS}client_secret: x\nbearer_token: 1\nbasic_auth: {{username: u}}\n"
            ))
            .unwrap_err(),
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
        );
    }
}
