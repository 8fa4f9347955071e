//! PromQL functions. `call` dispatches every call; each group of functions has its own
//! function, so that a nested call like `abs(abs(...))` keeps only a small frame per
//! level on the stack. By job:
//! - `range`: functions over range vectors (`rate`, `*_over_time`, ...), window by window
//!   on all cores; `window`: what they compute over one window of floats, `hwindow` over
//!   one holding native histograms;
//! - `elementwise`: functions of each value, constants, scalar/vector conversions;
//! - `time`: timestamps and calendar fields; `labels`: `absent`, sorts, label functions;
//! - elsewhere: `histogram` (classic bucket functions) and `info`.

use std::cmp::Ordering;
use std::collections::HashMap;

use model::time::{civil_from_days, days_from_civil};
use model::{Labels, MatchOp, Matcher};

use crate::ast::*;
use crate::eval::{absent_labels, Ev, EvResult, RangeSource, SelectorValue, SeriesV, Val};
use crate::numeric::*;
use crate::value::AnnotationKind;
use crate::EvalError;

mod elementwise;
mod hwindow;
mod labels;
mod range;
mod time;
mod window;

use elementwise::*;
use labels::*;
use range::range_function;
use time::*;
use window::*;

pub(crate) use hwindow::interpolate_histograms;
pub(crate) use labels::regex_any_of;
pub(crate) use window::{extended_points, smoothed_value};

fn exec(msg: impl Into<String>) -> EvalError {
    EvalError::Execution(msg.into())
}

/// Evaluates a function call: only dispatches, so that its own frame stays small.
pub(crate) fn call(ev: &Ev, c: &Call, pos: PosRange) -> EvResult<Val> {
    if c.args.iter().any(|a| a.value_type() == ValueType::Matrix) {
        return range_function(ev, c, pos);
    }
    match c.func.name {
        "time" | "pi" => constant(ev, c),
        "vector" => vector(ev, c),
        "scalar" => scalar(ev, c),
        "min_of" | "max_of" => min_max_of(ev, c),
        "absent" => absent(ev, c),
        "timestamp" | "start_timestamp" => timestamps(ev, c),
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => sort(ev, c, pos),
        "label_replace" => label_replace(ev, c),
        "label_join" => label_join(ev, c),
        "histogram_quantile" | "histogram_fraction" | "histogram_quantiles" => {
            crate::histogram::classic(ev, c, pos)
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => native_histogram(ev, c),
        "info" => crate::info::info(ev, c),
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => date(ev, c),
        "round" => round(ev, c),
        "clamp" | "clamp_min" | "clamp_max" => clamp(ev, c),
        _ => math(ev, c),
    }
}
