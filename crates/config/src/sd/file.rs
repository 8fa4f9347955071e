//! `file_sd_configs`: target groups read from JSON or YAML files.

use std::path::Path;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::values::PromDuration;

/// One `file_sd_configs` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileSdConfig {
    pub files: Vec<String>,
    pub refresh_interval: PromDuration,
}
goyaml::fields!(FileSdConfig as "file.plain" {
    "files" => files,
    "refresh_interval" => refresh_interval,
});

impl FileSdConfig {
    /// Upstream's `DefaultSDConfig`: re-read every 5 minutes (and on change).
    pub fn defaults() -> Self {
        Self {
            files: Vec::new(),
            refresh_interval: PromDuration(std::time::Duration::from_secs(300)),
        }
    }

    pub fn set_directory(&mut self, dir: &Path) {
        for file in &mut self.files {
            crate::join_dir(dir, file);
        }
    }
}

impl Decode for FileSdConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        if self.files.is_empty() {
            return Err(Fatal::new(
                "file service discovery config must contain at least one path name",
            ));
        }
        for name in &self.files {
            if !valid_file_sd_pattern(name) {
                return Err(Fatal(format!(
                    "path name {} is not valid for file discovery",
                    goyaml::go_quote(name)
                )));
            }
        }
        Ok(true)
    }
    fn go_type() -> String {
        "file.SDConfig".into()
    }
}

/// `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`: at most one `*`, in the last path
/// element, and a JSON or YAML extension.
fn valid_file_sd_pattern(pattern: &str) -> bool {
    let ext_ok = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"]
        .iter()
        .any(|e| pattern.ends_with(e));
    let star_ok = match pattern.find('*') {
        None => true,
        Some(i) => !pattern[i + 1..].contains(['*', '/']),
    };
    ext_ok && star_ok
}
