//! `relabel_configs` and `metric_relabel_configs` entries and Prometheus's checks on them.

use goyaml::{Decode, Decoder, Fatal, Node};
use serde::{Serialize, Serializer};

use crate::values::{AnchoredRegex, LabelName};

/// A relabeling action (case-insensitive in the file, as in Prometheus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RelabelAction {
    /// Not set (the zero value; refused by validation).
    #[default]
    Unset,
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl RelabelAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::Replace => "replace",
            Self::Keep => "keep",
            Self::Drop => "drop",
            Self::KeepEqual => "keepequal",
            Self::DropEqual => "dropequal",
            Self::HashMod => "hashmod",
            Self::LabelMap => "labelmap",
            Self::LabelDrop => "labeldrop",
            Self::LabelKeep => "labelkeep",
            Self::Lowercase => "lowercase",
            Self::Uppercase => "uppercase",
        }
    }
}

impl Serialize for RelabelAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Decode for RelabelAction {
    /// relabel.Action's `UnmarshalYAML`: case-insensitive names.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let mut text = String::new();
        if !d.unmarshal(node, &mut text)? {
            return Ok(false);
        }
        *self = match text.to_lowercase().as_str() {
            "replace" => Self::Replace,
            "keep" => Self::Keep,
            "drop" => Self::Drop,
            "keepequal" => Self::KeepEqual,
            "dropequal" => Self::DropEqual,
            "hashmod" => Self::HashMod,
            "labelmap" => Self::LabelMap,
            "labeldrop" => Self::LabelDrop,
            "labelkeep" => Self::LabelKeep,
            "lowercase" => Self::Lowercase,
            "uppercase" => Self::Uppercase,
            _ => {
                return Err(Fatal(format!(
                    "unknown relabel action {}",
                    goyaml::go_quote(&text)
                )))
            }
        };
        Ok(true)
    }
    fn go_type() -> String {
        "relabel.Action".into()
    }
}

/// One relabeling step. `Default` is the zero value (what a `null` entry decodes to);
/// [`RelabelConfig::defaults`] holds Prometheus's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RelabelConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_labels: Vec<LabelName>,
    pub separator: String,
    pub regex: AnchoredRegex,
    #[serde(skip_serializing_if = "is_zero")]
    pub modulus: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target_label: String,
    pub replacement: String,
    pub action: RelabelAction,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

goyaml::fields!(RelabelConfig as "relabel.plain" {
    "source_labels" => source_labels,
    "separator" => separator,
    "regex" => regex,
    "modulus" => modulus,
    "target_label" => target_label,
    "replacement" => replacement,
    "action" => action,
});

impl Decode for RelabelConfig {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        *self = Self::defaults();
        if !d.unmarshal_fields(node, self)? {
            return Ok(false);
        }
        Ok(true)
    }
    fn go_type() -> String {
        "relabel.Config".into()
    }
}

impl RelabelConfig {
    /// Prometheus's `DefaultRelabelConfig`.
    pub fn defaults() -> Self {
        Self {
            source_labels: Vec::new(),
            separator: ";".into(),
            regex: AnchoredRegex::match_all(),
            modulus: 0,
            target_label: String::new(),
            replacement: "$1".into(),
            action: RelabelAction::Replace,
        }
    }

    /// Whether this entry was `null` in the file.
    pub fn is_null(&self) -> bool {
        *self == Self::default()
    }

    /// Prometheus's `relabel.Config.Validate`, with its messages. `legacy` is the legacy
    /// (pre-UTF-8) name validation scheme.
    pub fn validate(&self, legacy: bool) -> Result<(), String> {
        use RelabelAction::*;
        let action = self.action.as_str();
        let valid_name = |name: &str| {
            if legacy {
                LabelName::is_legacy(name)
            } else {
                !name.is_empty()
            }
        };
        // A target with `$1`/`${name}` references: the legacy pattern allows `$`, `{`, `}`.
        let valid_template = |name: &str| {
            if legacy {
                let mut bytes = name.bytes();
                matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'$')
                    && bytes.all(|b| b.is_ascii_alphanumeric() || b"_${}".contains(&b))
            } else {
                !name.is_empty()
            }
        };
        let has_var = |s: &str| s.contains('$');
        if self.action == Unset {
            return Err("relabel action cannot be empty".into());
        }
        if self.action == HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            self.action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {action} action requires 'target_label' value"
            ));
        }
        let quoted = goyaml::go_quote(&self.target_label);
        if self.action == Replace && !has_var(&self.target_label) && !valid_name(&self.target_label)
        {
            return Err(format!(
                "{quoted} is invalid 'target_label' for {action} action"
            ));
        }
        if self.action == Replace
            && has_var(&self.target_label)
            && !valid_template(&self.target_label)
        {
            return Err(format!(
                "{quoted} is invalid 'target_label' for {action} action"
            ));
        }
        let simple = matches!(self.action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if simple && !valid_name(&self.target_label) {
            return Err(format!(
                "{quoted} is invalid 'target_label' for {action} action"
            ));
        }
        if simple && self.replacement != "$1" {
            return Err(format!("'replacement' can not be set for {action} action"));
        }
        if self.action == LabelMap && !valid_template(&self.replacement) {
            return Err(format!(
                "{} is invalid 'replacement' for {action} action",
                goyaml::go_quote(&self.replacement)
            ));
        }
        if self.action == HashMod && !valid_name(&self.target_label) {
            return Err(format!(
                "{quoted} is invalid 'target_label' for {action} action"
            ));
        }
        if matches!(self.action, DropEqual | KeepEqual)
            && (self.regex.as_str() != "(.*)"
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{action} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(self.action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{action} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}
