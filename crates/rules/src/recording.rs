//! Recording rules (upstream's `rules/recording.go`): the expression's result under a new
//! metric name, written back to storage by the group.

use std::collections::{BTreeMap, HashSet};

use model::{Labels, METRIC_NAME};

use crate::group::RuleStatus;
use crate::storage::Env;

/// Upstream's `ErrDuplicateRecordingLabelSet`.
pub const ERR_DUPLICATE_RECORDING_LABELSET: &str =
    "vector contains metrics with the same labelset after applying rule labels";

/// A recording rule of a running group.
#[derive(Debug, Clone)]
pub struct RecordingRule {
    name: String,
    expr: promql::Expr,
    /// The expression as written in the file (queries run on the parsed form).
    expr_text: String,
    /// Group labels overridden by the rule's; an empty value deletes the label from the
    /// result, as upstream's label builder does.
    labels: BTreeMap<String, String>,
    pub(crate) status: RuleStatus,
}

impl RecordingRule {
    /// A rule recording `expr` as `name`; `labels` are set on every result sample.
    pub fn new(name: &str, expr: &str, labels: BTreeMap<String, String>) -> Result<Self, String> {
        Ok(Self {
            name: name.to_string(),
            expr: promql::parse(expr).map_err(|e| e.to_string())?,
            expr_text: expr.to_string(),
            labels,
            status: RuleStatus::default(),
        })
    }

    /// The recorded metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression as upstream prints it (its `Query().String()`).
    pub fn query(&self) -> String {
        promql::format_expr(&self.expr)
    }

    /// The parsed expression.
    pub(crate) fn expr(&self) -> &promql::Expr {
        &self.expr
    }

    /// The expression as written.
    pub fn expr_text(&self) -> &str {
        &self.expr_text
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    pub fn status(&self) -> &RuleStatus {
        &self.status
    }

    /// Upstream's `RecordingRule.Eval`: the query at `ts - query_offset`, renamed and
    /// relabelled, refused when two samples end up with the same labels or when there are
    /// more than `limit` (> 0) of them.
    pub(crate) fn eval(
        &self,
        env: &Env<'_>,
        ts: i64,
        query_offset_ms: i64,
        limit: i64,
    ) -> Result<RuleSamples, String> {
        let vector = env.query(&self.expr, &self.expr_text, ts - query_offset_ms)?;
        let mut out = Vec::with_capacity(vector.len());
        let mut histograms = Vec::new();
        for sample in vector {
            let mut b = sample.labels.to_builder();
            b.set(METRIC_NAME, self.name.as_str());
            for (name, value) in &self.labels {
                b.set(name.as_str(), value.as_str());
            }
            match sample.h {
                Some(h) => histograms.push((b.build(), sample.t, h)),
                None => out.push((b.build(), sample.t, sample.v)),
            }
        }
        let mut all: Vec<(Labels, i64, f64)> = out.clone();
        all.extend(histograms.iter().map(|(l, t, _)| (l.clone(), *t, 0.0)));
        if contains_same_labelset(&all) {
            return Err(ERR_DUPLICATE_RECORDING_LABELSET.to_string());
        }
        if limit > 0 && all.len() as i64 > limit {
            return Err(format!(
                "exceeded limit of {limit} with {} series",
                all.len()
            ));
        }
        Ok(RuleSamples {
            floats: out,
            histograms,
        })
    }
}

/// A rule evaluation's samples: floats, and native histograms (a recording rule's query
/// may give either).
#[derive(Debug, Default, Clone)]
pub(crate) struct RuleSamples {
    pub floats: Vec<(Labels, i64, f64)>,
    pub histograms: Vec<(Labels, i64, model::histogram::FloatHistogram)>,
}

impl RuleSamples {
    pub fn len(&self) -> usize {
        self.floats.len() + self.histograms.len()
    }
}

/// Whether two samples have the same labels (upstream's `Vector.ContainsSameLabelset`).
pub(crate) fn contains_same_labelset(samples: &[(Labels, i64, f64)]) -> bool {
    match samples.len() {
        0 | 1 => false,
        2 => samples[0].0 == samples[1].0,
        _ => {
            let mut seen = HashSet::with_capacity(samples.len());
            samples.iter().any(|s| !seen.insert(&s.0))
        }
    }
}
