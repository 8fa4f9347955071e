//! The seam for alert label and annotation templates: an [`Expander`] renders a text,
//! given what upstream's `template.AlertTemplateData` holds. [`crate::GoTemplates`]
//! (`expand/`) is Prometheus' Go template expander; [`NoTemplates`] returns the text
//! unchanged, which is right for every text without `{{`.

use model::Labels;

/// What a template of an alerting rule may refer to (upstream's `AlertTemplateData`,
/// plus what its `NewTemplateExpander` is given).
pub struct TemplateData<'a> {
    /// The alerting rule's name: upstream names the template `__alert_<name>`, which
    /// appears in its error texts.
    pub rule_name: &'a str,
    /// `$labels` / `.Labels`: the labels of the sample that made the alert, `__name__`
    /// included when the expression kept it.
    pub labels: &'a Labels,
    /// `$value` / `.Value`: the sample's value.
    pub value: f64,
    /// `$externalLabels`.
    pub external_labels: &'a Labels,
    /// `$externalURL` (`--web.external-url`).
    pub external_url: &'a str,
    /// The group's evaluation time (not moved back by the query offset), in ms: the time
    /// at which the `query` template function evaluates.
    pub eval_time_ms: i64,
    /// The `query` template function: an instant query at `eval_time_ms`, whose result
    /// is a vector (a scalar becomes one sample without labels), as upstream's rule
    /// query function gives it.
    pub query: &'a dyn Fn(&str) -> Result<Vec<promql::Sample>, String>,
}

/// Expands the Go `text/template` text of an alert label or annotation. The rule prepends
/// nothing: an implementation gives `$labels`, `$externalLabels`, `$externalURL` and
/// `$value` as upstream's prelude does (`{{$labels := .Labels}}...`).
///
/// An `Err` holds upstream's error text (`error executing template __alert_X: ...`); the
/// rule then uses `<error expanding template: TEXT>` as the value, as upstream does.
pub trait Expander: Sync {
    fn expand(&self, text: &str, data: &TemplateData<'_>) -> Result<String, String>;
}

/// Leaves every text as it is (no template language): what a text without `{{` expands
/// to in Prometheus.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTemplates;

impl Expander for NoTemplates {
    fn expand(&self, text: &str, _data: &TemplateData<'_>) -> Result<String, String> {
        Ok(text.to_string())
    }
}

/// Upstream's text for a template that failed to expand.
pub(crate) fn expansion_error(err: &str) -> String {
    format!("<error expanding template: {err}>")
}
