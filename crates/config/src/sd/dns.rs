//! `dns_sd_configs`: targets from DNS SRV, A, AAAA, MX or NS records (upstream's
//! `discovery/dns`).

use std::path::Path;
use std::time::Duration;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::values::PromDuration;

fn is_zero_duration(d: &PromDuration) -> bool {
    d.0.is_zero()
}

/// One `dns_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DnsSdConfig {
    pub names: Vec<String>,
    #[serde(skip_serializing_if = "is_zero_duration")]
    pub refresh_interval: PromDuration,
    /// The record type (`SRV`, `A`, `AAAA`, `MX` or `NS`, any case).
    #[serde(rename = "type")]
    pub kind: String,
    /// The port of the targets; ignored for SRV records, which carry their own.
    pub port: isize,
}
goyaml::fields!(DnsSdConfig as "dns.plain" {
    "names" => names,
    "refresh_interval" => refresh_interval,
    "type" => kind,
    "port" => port,
});

impl DnsSdConfig {
    /// Upstream's `DefaultSDConfig`.
    pub fn defaults() -> Self {
        Self {
            refresh_interval: PromDuration(Duration::from_secs(30)),
            kind: "SRV".into(),
            ..Self::default()
        }
    }

    /// Nothing to resolve: DNS discovery names no files.
    pub fn set_directory(&mut self, _dir: &Path) {}
}

impl Decode for DnsSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.names.is_empty() {
            return Err(Fatal::new(
                "DNS-SD config must contain at least one SRV record name",
            ));
        }
        match self.kind.to_uppercase().as_str() {
            "SRV" => {}
            "A" | "AAAA" | "MX" | "NS" => {
                if self.port == 0 {
                    return Err(Fatal::new(
                        "a port is required in DNS-SD configs for all record types except SRV",
                    ));
                }
            }
            _ => return Err(Fatal(format!("invalid DNS-SD records type {}", self.kind))),
        }
        Ok(true)
    }
    fn go_type() -> String {
        "dns.SDConfig".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<DnsSdConfig, String> {
        let mut value = DnsSdConfig::default();
        goyaml::from_str(text, &mut value).map(|_| value)
    }

    #[test]
    fn defaults_and_checks() {
        let c = decode("names: [a.example.com]\n").unwrap();
        assert_eq!(c.kind, "SRV");
        assert_eq!(c.refresh_interval, PromDuration(Duration::from_secs(30)));
        assert_eq!(c.port, 0);
        assert!(decode("names: [a]\ntype: aaaa\nport: 80\n").is_ok());
        assert_eq!(
            decode("names: [a]\ntype: A\n").unwrap_err(),
            "a port is required in DNS-SD configs for all record types except SRV"
        );
        assert_eq!(
            decode("names: [a]\ntype: TXT\n").unwrap_err(),
            "invalid DNS-SD records type TXT"
        );
        assert_eq!(
            decode("type: TXT\n").unwrap_err(),
            "DNS-SD config must contain at least one SRV record name"
        );
        let err = decode("names: [a]\nport: x\n").unwrap_err();
        assert_eq!(
            err,
            "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `x` into int"
        );
    }
}
