//! promtool's `duplicate-rules` lint: rules that would write the same series (same name,
//! same labels once the group's labels are added), which makes recorded data flap
//! between two expressions.

use std::collections::BTreeMap;

use crate::RuleGroups;

/// A rule name and labels that more than one rule of the file has.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DuplicateRule {
    /// The alert's or recorded metric's name.
    pub metric: String,
    /// The group's labels overridden by the rule's, sorted by name.
    pub labels: Vec<(String, String)>,
}

impl RuleGroups {
    /// promtool's `checkDuplicates`: each name and label set that more than one rule of
    /// the file has, once, sorted by name then labels.
    pub fn duplicate_rules(&self) -> Vec<DuplicateRule> {
        let mut all: Vec<DuplicateRule> = self
            .groups
            .iter()
            .flat_map(|group| {
                group.rules.iter().map(|rule| {
                    let mut labels: BTreeMap<&str, &str> = BTreeMap::new();
                    for (name, value) in group.labels.iter().chain(&rule.labels) {
                        labels.insert(name, value);
                    }
                    DuplicateRule {
                        metric: rule.name().to_string(),
                        labels: labels
                            .into_iter()
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .collect(),
                    }
                })
            })
            .collect();
        all.sort();
        let mut duplicates: Vec<DuplicateRule> = Vec::new();
        for pair in all.windows(2) {
            if pair[0] == pair[1] && duplicates.last() != Some(&pair[1]) {
                duplicates.push(pair[1].clone());
            }
        }
        duplicates
    }
}
