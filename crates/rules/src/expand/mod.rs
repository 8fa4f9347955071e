//! Go templates for alerting rules' labels and annotations, as Prometheus expands them:
//! [`GoTemplates`] is the [`Expander`] the server uses, built on [`gotemplate`] with
//! Prometheus' template functions (`functions.rs`, `humanize.rs`, `time.rs`).
//!
//! An alert's text gets upstream's prelude
//! (`{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL :=
//! .ExternalURL}}{{$value := .Value}}`), is named `__alert_<rule name>`, runs with
//! `missingkey=zero` against upstream's `AlertTemplateData`, and fails with upstream's
//! texts (`error parsing template __alert_X: template: ...`, `error executing template
//! __alert_X: template: ...`).
//!
//! Differences from upstream: only the text expander exists (no `ExpandHTML`: no
//! contextual HTML escaping and no `tmpl`, which Prometheus defines only there, so an
//! alert template using `tmpl` fails to parse here as in Prometheus); `safeHtml` returns a
//! `string` (Go's `template.HTML` prints the same); regular expressions are the `regex`
//! crate's (RE2 syntax as Go's, error texts differ); native histograms are not sample
//! values yet.

mod functions;
mod humanize;
mod time;

use std::collections::BTreeMap;
use std::sync::mpsc;

use gotemplate::{ExecLimits, Struct, Template, Value};
use model::Labels;

use crate::template::{Expander, TemplateData};

pub use functions::{
    context_funcs, expand_replacement, query_result, sample, static_funcs, title, Context,
};
pub use humanize::{
    convert_to_float, humanize, humanize1024, humanize_duration, humanize_percentage,
    humanize_timestamp,
};
pub use time::{duration_string, format as format_time, time_string, GoDuration, GoTime};

/// Upstream's variable definitions put before every alert template.
pub const ALERT_TEMPLATE_DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// The Go type of `AlertTemplateData`'s value, as errors name it.
pub const ALERT_DATA_TYPE: &str =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";

/// A query for the `query` function: an instant query's samples.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<Vec<promql::Sample>, String>;

fn label_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// Upstream's `AlertTemplateData`.
pub fn alert_template_data(
    labels: &Labels,
    external_labels: &Labels,
    external_url: &str,
    value: f64,
) -> Value {
    Value::structure(
        Struct::new(ALERT_DATA_TYPE)
            .field("Labels", Value::labels(label_map(labels)))
            .field("ExternalLabels", Value::labels(label_map(external_labels)))
            .field("ExternalURL", Value::from(external_url))
            .iface_field("Value", Value::Float(value)),
    )
}

fn to_query_result(samples: Vec<promql::Sample>) -> Value {
    query_result(
        samples
            .into_iter()
            .map(|s| sample(label_map(&s.labels), s.v))
            .collect(),
    )
}

type QueryRequest = (
    String,
    mpsc::SyncSender<Result<Vec<promql::Sample>, String>>,
);

/// One expansion: upstream's `NewTemplateExpander(...).Expand()`.
pub struct Expansion<'a> {
    /// The template's name (`__alert_<rule>` for alerts).
    pub name: &'a str,
    /// The whole text (for alerts, with [`ALERT_TEMPLATE_DEFS`] in front).
    pub text: &'a str,
    /// The data (`.`).
    pub data: &'a Value,
    /// What `now`, `pathPrefix` and `externalURL` return.
    pub context: &'a Context,
    /// The `query` function's query.
    pub query: QueryFn<'a>,
    /// Template options; `None` is upstream's default, `missingkey=zero`.
    pub options: Option<&'a [&'a str]>,
    /// Execution limits (Go has none but its template depth of 100000).
    pub limits: ExecLimits,
}

impl Expansion<'_> {
    fn template(
        &self,
        query: impl Fn(&str) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Result<Template, String> {
        let mut t = Template::new(self.name)
            .funcs(static_funcs())
            .funcs(&context_funcs(self.context, query))
            .exec_limits(self.limits.clone());
        for opt in self.options.unwrap_or(&["missingkey=zero"]) {
            t = t.option(opt).map_err(|e| e.to_string())?;
        }
        t.parse(self.text)
            .map_err(|e| format!("error parsing template {}: {e}", self.name))
    }

    /// Expands the text: upstream's `Expand`, with its error texts.
    pub fn expand(&self) -> Result<String, String> {
        let exec_error =
            |e: gotemplate::Error| format!("error executing template {}: {e}", self.name);
        if !self.text.contains("query") {
            // `query` cannot be called without its name in the text.
            let t = self.template(|_| Err("query is not available".to_string()))?;
            return t.execute(self.data).map_err(exec_error);
        }
        // The query function is borrowed, and template functions must be `'static`: the
        // template runs on a scoped thread and sends its queries back to this one.
        let (tx, rx) = mpsc::channel::<QueryRequest>();
        let t = self.template(move |q| {
            let (reply_tx, reply_rx) = mpsc::sync_channel(1);
            tx.send((q.to_string(), reply_tx))
                .map_err(|_| "query: expansion ended".to_string())?;
            let samples = reply_rx
                .recv()
                .map_err(|_| "query: expansion ended".to_string())??;
            Ok(to_query_result(samples))
        })?;
        let data = self.data.clone();
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("template".into())
                .spawn_scoped(scope, move || {
                    let result = t.execute(&data);
                    drop(t);
                    result
                })
                .map_err(|e| format!("cannot start a thread: {e}"))?;
            for (q, reply) in rx {
                let _ = reply.send((self.query)(&q));
            }
            match worker.join() {
                Ok(result) => result.map_err(exec_error),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

/// The [`Expander`] for Go templates, as Prometheus' alerting rules expand them.
#[derive(Debug, Clone, Default)]
pub struct GoTemplates {
    limits: ExecLimits,
}

impl GoTemplates {
    pub fn new() -> Self {
        GoTemplates::default()
    }

    /// Limits for each expansion (the default bounds steps, output and recursion well
    /// beyond what real templates use).
    pub fn with_limits(limits: ExecLimits) -> Self {
        GoTemplates { limits }
    }
}

impl Expander for GoTemplates {
    fn expand(&self, text: &str, data: &TemplateData<'_>) -> Result<String, String> {
        if !text.contains("{{") {
            // Only text: the prelude's actions print nothing and cannot fail.
            return Ok(text.to_string());
        }
        let name = format!("__alert_{}", data.rule_name);
        let text = format!("{ALERT_TEMPLATE_DEFS}{text}");
        let value = alert_template_data(
            data.labels,
            data.external_labels,
            data.external_url,
            data.value,
        );
        let context = Context {
            timestamp_ms: data.eval_time_ms,
            external_url: data.external_url.to_string(),
        };
        Expansion {
            name: &name,
            text: &text,
            data: &value,
            context: &context,
            query: data.query,
            options: None,
            limits: self.limits.clone(),
        }
        .expand()
    }
}

/// Upstream's `testTemplateParsing` for one label or annotation of the alerting rule
/// `rule_name`: parse only, with the prelude and the functions. The error is the parser's
/// (`template: __alert_X:1: ...`).
pub fn parse_check(rule_name: &str, text: &str) -> Result<(), String> {
    let name = format!("__alert_{rule_name}");
    let context = Context {
        timestamp_ms: 0,
        external_url: String::new(),
    };
    Template::new(name)
        .funcs(static_funcs())
        .funcs(&context_funcs(&context, |_| Err(String::new())))
        .parse(&format!("{ALERT_TEMPLATE_DEFS}{text}"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
