//! Where rules read and write: the PromQL engine over a [`promql::Storage`], and an
//! [`Appender`] for their results (a [`tsdb::Db`] is both).

use std::sync::atomic::AtomicBool;

use model::Labels;

use crate::template::Expander;

/// Samples a batch append refused, by reason (the batch's other samples were stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rejected {
    /// Older than the series' newest sample.
    pub out_of_order: usize,
    /// Same timestamp as the series' newest sample, another value.
    pub duplicates: usize,
    /// Older than what the head still takes.
    pub out_of_bounds: usize,
}

impl Rejected {
    pub fn total(&self) -> usize {
        self.out_of_order + self.duplicates + self.out_of_bounds
    }

    /// The storage error upstream's appender returns for such a sample, which becomes the
    /// rule's last error.
    pub(crate) fn error_text(&self) -> Option<&'static str> {
        if self.out_of_order > 0 {
            Some("out of order sample")
        } else if self.duplicates > 0 {
            Some("duplicate sample for timestamp")
        } else if self.out_of_bounds > 0 {
            Some("out of bounds")
        } else {
            None
        }
    }
}

/// Stores rule results: one call per rule evaluation (so the group's next rule sees
/// them), and one for staleness markers.
pub trait Appender: Sync {
    /// Appends `(labels, timestamp ms, value)` samples. `Err` means nothing of the batch
    /// was stored (e.g. the WAL write failed); single refused samples are counted in the
    /// `Ok` value.
    fn append(&self, samples: &[(Labels, i64, f64)]) -> Result<Rejected, String>;

    /// Appends native histogram samples, as [`Appender::append`] does floats.
    fn append_histograms(
        &self,
        samples: &[(Labels, i64, model::histogram::FloatHistogram)],
    ) -> Result<Rejected, String>;
}

impl Appender for tsdb::Db {
    fn append(&self, samples: &[(Labels, i64, f64)]) -> Result<Rejected, String> {
        let r = tsdb::Db::append(self, samples).map_err(|e| e.to_string())?;
        Ok(Rejected {
            out_of_order: r.out_of_order,
            duplicates: r.duplicates,
            out_of_bounds: r.out_of_bounds,
        })
    }

    fn append_histograms(
        &self,
        samples: &[(Labels, i64, model::histogram::FloatHistogram)],
    ) -> Result<Rejected, String> {
        let samples: Vec<(Labels, i64, model::histogram::HistogramValue)> = samples
            .iter()
            .map(|(l, t, h)| {
                (
                    l.clone(),
                    *t,
                    model::histogram::HistogramValue::Float(h.clone()),
                )
            })
            .collect();
        let r = tsdb::Db::append_histograms(self, &samples).map_err(|e| e.to_string())?;
        Ok(Rejected {
            out_of_order: r.out_of_order,
            duplicates: r.duplicates,
            out_of_bounds: r.out_of_bounds,
        })
    }
}

/// What an evaluation uses: borrowed for the evaluation only, so that a runner may own
/// these as it likes (shared with the HTTP API, reloaded, ...).
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub engine: &'a promql::Engine,
    /// Read by rule expressions, and by the `for` state restore.
    pub storage: &'a dyn promql::Storage,
    pub appender: &'a dyn Appender,
    pub expander: &'a dyn Expander,
    /// Set to end the running query (shutdown).
    pub cancel: Option<&'a AtomicBool>,
    /// Evaluate independent rules of a group at the same time, on this many slots shared
    /// by every group (`--enable-feature=concurrent-rule-eval`); `None`: one after the other.
    pub concurrency: Option<&'a crate::ConcurrencyLimit>,
}

impl Env<'_> {
    /// Upstream's `EngineQueryFunc`: an instant query at `t`, as a vector (a scalar is one
    /// sample without labels; any other type is an error).
    pub(crate) fn query(
        &self,
        expr: &promql::Expr,
        text: &str,
        t: i64,
    ) -> Result<Vec<promql::Sample>, String> {
        let opts = promql::QueryOptions {
            cancel: self.cancel,
            ..Default::default()
        };
        let result = self
            .engine
            .exec(self.storage, expr, text, t, t, 0, &opts)
            .map_err(|e| e.to_string())?;
        match result.value {
            promql::Value::Vector(v) => Ok(v),
            promql::Value::Scalar { t, v } => Ok(vec![promql::Sample {
                labels: Labels::default(),
                t,
                v,
                h: None,
            }]),
            _ => Err("rule result is not a vector or scalar".to_string()),
        }
    }

    /// [`Env::query`] for a query given as text (the `query` template function).
    pub(crate) fn query_text(&self, text: &str, t: i64) -> Result<Vec<promql::Sample>, String> {
        let expr = promql::parse(text).map_err(|e| e.to_string())?;
        self.query(&expr, text, t)
    }
}
