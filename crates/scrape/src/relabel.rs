//! Applying `relabel_configs` and `metric_relabel_configs`.

use md5::{Digest, Md5};
use model::{Labels, LabelsBuilder};
use promconfig::{RelabelAction, RelabelConfig};

/// Runs the steps in order; `None` when a step drops the label set (an empty result is
/// dropped too).
pub fn relabel(labels: &Labels, steps: &[RelabelConfig]) -> Option<Labels> {
    let mut builder = labels.to_builder();
    for step in steps {
        if !apply(step, &mut builder) {
            return None;
        }
    }
    let out = builder.build();
    (!out.is_empty()).then_some(out)
}

/// One step, as Prometheus's `relabel.relabel`; false means drop.
fn apply(cfg: &RelabelConfig, lb: &mut LabelsBuilder) -> bool {
    let values: Vec<&str> = cfg
        .source_labels
        .iter()
        .map(|n| lb.get(&n.0).unwrap_or(""))
        .collect();
    let val = values.join(&cfg.separator);
    let regex = cfg.regex.regex();
    match cfg.action {
        // Refused when the configuration is checked; a step without an action does nothing.
        RelabelAction::Unset => {}
        RelabelAction::Drop => return !regex.is_match(&val),
        RelabelAction::Keep => return regex.is_match(&val),
        RelabelAction::DropEqual => return lb.get(&cfg.target_label).unwrap_or("") != val,
        RelabelAction::KeepEqual => return lb.get(&cfg.target_label).unwrap_or("") == val,
        RelabelAction::Replace => {
            // Fast path: no source value, default regex, no templates: set or delete.
            if val.is_empty()
                && cfg.regex.as_str() == "(.*)"
                && !cfg.target_label.contains('$')
                && !cfg.replacement.contains('$')
            {
                lb.set(cfg.target_label.clone(), cfg.replacement.clone());
                return true;
            }
            let Some(caps) = regex.captures(&val) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&cfg.target_label, &mut target);
            if target.is_empty() {
                return true;
            }
            let mut value = String::new();
            caps.expand(&cfg.replacement, &mut value);
            if value.is_empty() {
                lb.delete(&target);
            } else {
                lb.set(target, value);
            }
        }
        RelabelAction::Lowercase => lb.set(cfg.target_label.clone(), val.to_lowercase()),
        RelabelAction::Uppercase => lb.set(cfg.target_label.clone(), val.to_uppercase()),
        RelabelAction::HashMod => {
            let hash = Md5::digest(val.as_bytes());
            let mut last = [0u8; 8];
            last.copy_from_slice(&hash[8..16]);
            let modulus = cfg.modulus.max(1);
            lb.set(
                cfg.target_label.clone(),
                (u64::from_be_bytes(last) % modulus).to_string(),
            );
        }
        RelabelAction::LabelMap => {
            for label in lb.labels() {
                if regex.is_match(&label.name) {
                    let name = regex
                        .replace_all(&label.name, cfg.replacement.as_str())
                        .into_owned();
                    lb.set(name, label.value);
                }
            }
        }
        RelabelAction::LabelDrop => lb.retain(|l| !regex.is_match(&l.name)),
        RelabelAction::LabelKeep => lb.retain(|l| regex.is_match(&l.name)),
    }
    true
}
