//! `static_configs` entries (Go's `targetgroup.Group`).

use std::collections::BTreeMap;

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::Serialize;

use crate::values::LabelName;

/// One target group: addresses and the labels they share.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TargetGroup {
    pub targets: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<LabelName, String>,
}

/// The plain shape Go decodes a group through (`targets`, `labels`).
#[derive(Default)]
struct Plain {
    targets: Vec<String>,
    labels: BTreeMap<LabelName, String>,
}
goyaml::fields!(Plain as "struct { Targets []string \"yaml:\\\"targets\\\"\"; Labels model.LabelSet \"yaml:\\\"labels\\\"\" }" {
    "targets" => targets,
    "labels" => labels,
});

impl Decode for TargetGroup {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut plain = Plain::default();
        if !d.unmarshal_fields(node, &mut plain)? {
            return Ok(false);
        }
        *self = TargetGroup {
            targets: plain.targets,
            labels: plain.labels,
        };
        Ok(true)
    }
    fn go_type() -> String {
        "targetgroup.Group".into()
    }
}
