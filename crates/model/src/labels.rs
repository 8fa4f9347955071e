//! Label sets: sorted by name, names unique, no empty values (an empty value means the
//! label is absent, as in Prometheus).

use std::fmt;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    pub name: String,
    pub value: String,
}

/// An immutable, sorted label set.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// A label set from pairs in any order; later pairs win over earlier ones with the same
    /// name, and empty values are dropped.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut builder = LabelsBuilder::default();
        for (n, v) in pairs {
            builder.set(n, v);
        }
        builder.build()
    }

    /// A label set from labels already sorted by name with unique names (storage decodes
    /// these); checked, and sorted and deduplicated if the caller was wrong.
    pub fn from_sorted(mut labels: Vec<Label>) -> Self {
        labels.retain(|l| !l.value.is_empty());
        if labels.windows(2).all(|w| w[0].name < w[1].name) {
            return Self(labels);
        }
        Self::from_pairs(labels.into_iter().map(|l| (l.name, l.value)))
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The labels in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Keeps the labels for which `keep` is true (no copies of the others' text).
    pub fn retain(mut self, mut keep: impl FnMut(&Label) -> bool) -> Labels {
        self.0.retain(|l| keep(l));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The metric name, if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A builder starting from these labels.
    pub fn to_builder(&self) -> LabelsBuilder {
        LabelsBuilder(self.0.clone())
    }
}

impl fmt::Display for Labels {
    /// `{a="1", b="2"}`, as Prometheus prints label sets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

/// A mutable label set, kept sorted.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder(Vec<Label>);

impl LabelsBuilder {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).ok().map(|i| self.0[i].value.as_str())
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|l| l.name.as_str().cmp(name))
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match (self.position(&name), value.is_empty()) {
            (Ok(i), true) => {
                self.0.remove(i);
            }
            (Ok(i), false) => self.0[i].value = value,
            (Err(_), true) => {}
            (Err(i), false) => self.0.insert(i, Label { name, value }),
        }
    }

    pub fn delete(&mut self, name: &str) {
        if let Ok(i) = self.position(name) {
            self.0.remove(i);
        }
    }

    /// Keeps only the labels for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) {
        self.0.retain(|l| keep(l));
    }

    /// A snapshot of the current labels (for iterating while changing the builder).
    pub fn labels(&self) -> Vec<Label> {
        self.0.clone()
    }

    pub fn build(self) -> Labels {
        Labels(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_no_empty_values() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("a", "3")]);
        let pairs: Vec<(&str, &str)> = l
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(pairs, vec![("a", "3"), ("b", "2")]);
        assert_eq!(l.get("b"), Some("2"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.to_string(), "{a=\"3\", b=\"2\"}");
        let mut b = l.to_builder();
        b.set("a", "");
        b.set("__name__", "up");
        assert_eq!(b.build().metric_name(), Some("up"));
    }

    #[test]
    fn staleness_marker_is_a_specific_nan() {
        assert!(crate::is_stale_nan(crate::stale_nan()));
        assert!(!crate::is_stale_nan(f64::NAN));
    }
}
