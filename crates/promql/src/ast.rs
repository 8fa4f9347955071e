//! The PromQL syntax tree. Every node carries the byte range it was parsed from, because
//! annotations and errors name the position of the expression they are about.

use model::Matcher;

/// A byte range in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PosRange {
    pub start: usize,
    pub end: usize,
}

impl PosRange {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// `line:column` of the start, both 1-based, as Prometheus prints positions.
    pub fn start_line_col(&self, query: &str) -> String {
        let pos = self.start.min(query.len());
        let before = &query[..pos];
        let line = before.matches('\n').count() + 1;
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl,
            None => pos + 1,
        };
        format!("{line}:{col}")
    }
}

/// The type of a PromQL expression's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    Vector,
    Matrix,
    String,
}

impl ValueType {
    /// The name Prometheus uses in messages and in the API's `resultType`.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }

    /// The longer name used by type-check errors.
    pub fn document_name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

/// A duration that may be an expression (`[5m+1s]`, `offset step()`), resolved at query
/// time because `step()` and `range()` depend on the query.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationExpr {
    /// A duration literal (`5m`) in milliseconds.
    Duration(i64),
    /// A number literal, in seconds.
    Number(f64),
    Neg(Box<DurationExpr>),
    Pos(Box<DurationExpr>),
    Paren(Box<DurationExpr>),
    Binary(DurationOp, Box<DurationExpr>, Box<DurationExpr>),
    /// `step()`.
    Step,
    /// `range()`.
    Range,
    Min(Box<DurationExpr>, Box<DurationExpr>),
    Max(Box<DurationExpr>, Box<DurationExpr>),
}

/// An arithmetic operator inside a duration expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl DurationExpr {
    /// Whether this is a plain literal (no arithmetic, no `step()`/`range()`).
    pub fn is_literal(&self) -> bool {
        matches!(self, DurationExpr::Duration(_) | DurationExpr::Number(_))
    }

    /// The value in seconds, given the query's step and range (both in ms).
    pub fn seconds(&self, step_ms: i64, range_ms: i64) -> f64 {
        match self {
            DurationExpr::Duration(ms) => *ms as f64 / 1000.0,
            DurationExpr::Number(s) => *s,
            DurationExpr::Neg(e) => -e.seconds(step_ms, range_ms),
            DurationExpr::Pos(e) | DurationExpr::Paren(e) => e.seconds(step_ms, range_ms),
            DurationExpr::Binary(op, a, b) => {
                let (a, b) = (a.seconds(step_ms, range_ms), b.seconds(step_ms, range_ms));
                match op {
                    DurationOp::Add => a + b,
                    DurationOp::Sub => a - b,
                    DurationOp::Mul => a * b,
                    DurationOp::Div => a / b,
                    DurationOp::Mod => a % b,
                    DurationOp::Pow => a.powf(b),
                }
            }
            DurationExpr::Step => step_ms as f64 / 1000.0,
            DurationExpr::Range => range_ms as f64 / 1000.0,
            DurationExpr::Min(a, b) => a
                .seconds(step_ms, range_ms)
                .min(b.seconds(step_ms, range_ms)),
            DurationExpr::Max(a, b) => a
                .seconds(step_ms, range_ms)
                .max(b.seconds(step_ms, range_ms)),
        }
    }

    /// The value in milliseconds (rounded like Go's `time.Duration(f * 1e9)` then to ms).
    pub fn millis(&self, step_ms: i64, range_ms: i64) -> i64 {
        let s = self.seconds(step_ms, range_ms);
        let nanos = s * 1e9;
        (nanos as i64) / 1_000_000
    }

    /// Whether the expression uses `step()` or `range()`.
    pub fn depends_on_query(&self) -> bool {
        match self {
            DurationExpr::Duration(_) | DurationExpr::Number(_) => false,
            DurationExpr::Step | DurationExpr::Range => true,
            DurationExpr::Neg(e) | DurationExpr::Pos(e) | DurationExpr::Paren(e) => {
                e.depends_on_query()
            }
            DurationExpr::Binary(_, a, b) | DurationExpr::Min(a, b) | DurationExpr::Max(a, b) => {
                a.depends_on_query() || b.depends_on_query()
            }
        }
    }
}

/// The `@` modifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AtModifier {
    /// A fixed time in milliseconds.
    Time(i64),
    /// `@ start()`: the query's start.
    Start,
    /// `@ end()`: the query's end.
    End,
}

/// How a range selector's window is read (3.x experimental modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangeMode {
    #[default]
    Plain,
    /// `anchored`: the window starts at the last sample at or before its start.
    Anchored,
    /// `smoothed`: boundary values interpolated between the samples around them.
    Smoothed,
}

/// An instant vector selector: `name{matchers} offset d @ t`.
#[derive(Debug, Clone)]
pub struct VectorSelector {
    /// The metric name as written (also present as a `__name__` matcher).
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
    /// `smoothed`/`anchored` on an instant selector (only `smoothed` is allowed).
    pub mode: RangeMode,
}

/// A range vector selector: `selector[range]`.
#[derive(Debug, Clone)]
pub struct MatrixSelector {
    pub selector: VectorSelector,
    pub range: DurationExpr,
    pub mode: RangeMode,
}

/// A subquery: `expr[range:step] offset d @ t`.
#[derive(Debug, Clone)]
pub struct SubqueryExpr {
    pub expr: Expr,
    pub range: DurationExpr,
    pub step: Option<DurationExpr>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
    /// `</`: keep the observations of native histograms below a value.
    TrimUpper,
    /// `>/`: keep the observations of native histograms above a value.
    TrimLower,
}

impl BinaryOp {
    pub fn text(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Atan2 => "atan2",
            BinaryOp::Eql => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::Gtr => ">",
            BinaryOp::Lss => "<",
            BinaryOp::Gte => ">=",
            BinaryOp::Lte => "<=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Unless => "unless",
            BinaryOp::TrimUpper => "</",
            BinaryOp::TrimLower => ">/",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eql
                | BinaryOp::Neq
                | BinaryOp::Gtr
                | BinaryOp::Lss
                | BinaryOp::Gte
                | BinaryOp::Lte
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }

    /// Binding strength; higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And | BinaryOp::Unless => 2,
            BinaryOp::Eql
            | BinaryOp::Neq
            | BinaryOp::Gtr
            | BinaryOp::Lss
            | BinaryOp::Gte
            | BinaryOp::Lte => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Mod
            | BinaryOp::Atan2
            | BinaryOp::TrimUpper
            | BinaryOp::TrimLower => 5,
            BinaryOp::Pow => 6,
        }
    }
}

/// Matching cardinality of a vector/vector operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cardinality {
    #[default]
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// `on`/`ignoring`, `group_left`/`group_right` and `fill` of a binary expression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorMatching {
    pub card: Cardinality,
    /// The labels of `on(...)`/`ignoring(...)`.
    pub labels: Vec<String>,
    /// Whether `on` was given (else `ignoring`, or nothing).
    pub on: bool,
    /// Whether `on`/`ignoring` was written at all (for printing `on()`).
    pub explicit: bool,
    /// Labels copied from the "one" side by `group_left(...)`/`group_right(...)`.
    pub include: Vec<String>,
    pub fill_left: Option<f64>,
    pub fill_right: Option<f64>,
}

/// A binary expression.
#[derive(Debug, Clone)]
pub struct BinaryExpr {
    pub op: BinaryOp,
    pub lhs: Expr,
    pub rhs: Expr,
    pub matching: Option<VectorMatching>,
    pub return_bool: bool,
}

/// An aggregation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
    Limitk,
    LimitRatio,
}

impl AggregateOp {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sum" => AggregateOp::Sum,
            "avg" => AggregateOp::Avg,
            "count" => AggregateOp::Count,
            "min" => AggregateOp::Min,
            "max" => AggregateOp::Max,
            "group" => AggregateOp::Group,
            "stddev" => AggregateOp::Stddev,
            "stdvar" => AggregateOp::Stdvar,
            "topk" => AggregateOp::Topk,
            "bottomk" => AggregateOp::Bottomk,
            "count_values" => AggregateOp::CountValues,
            "quantile" => AggregateOp::Quantile,
            "limitk" => AggregateOp::Limitk,
            "limit_ratio" => AggregateOp::LimitRatio,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::Topk => "topk",
            AggregateOp::Bottomk => "bottomk",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Quantile => "quantile",
            AggregateOp::Limitk => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// Whether the operator takes a parameter before the expression.
    pub fn has_param(self) -> bool {
        matches!(
            self,
            AggregateOp::Topk
                | AggregateOp::Bottomk
                | AggregateOp::CountValues
                | AggregateOp::Quantile
                | AggregateOp::Limitk
                | AggregateOp::LimitRatio
        )
    }
}

/// An aggregation: `op by|without (labels) (param, expr)`.
#[derive(Debug, Clone)]
pub struct AggregateExpr {
    pub op: AggregateOp,
    pub expr: Expr,
    pub param: Option<Expr>,
    pub grouping: Vec<String>,
    pub without: bool,
    /// Whether `by`/`without` was written (`sum by () (x)` prints its empty list).
    pub grouped: bool,
}

/// A function call.
#[derive(Debug, Clone)]
pub struct Call {
    pub func: &'static crate::functions::FunctionDef,
    pub args: Vec<Expr>,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Pos,
}

/// A PromQL expression with its position.
#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub pos: PosRange,
}

/// The kinds of expression.
#[derive(Debug, Clone)]
pub enum ExprKind {
    /// A number; `duration` when it was written as one (`5m`), so it prints as one.
    Number {
        value: f64,
        duration: bool,
    },
    String(String),
    Paren(Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(Box<BinaryExpr>),
    Aggregate(Box<AggregateExpr>),
    Call(Box<Call>),
    Vector(Box<VectorSelector>),
    Matrix(Box<MatrixSelector>),
    Subquery(Box<SubqueryExpr>),
    /// A subtree whose value is the same at every step (added by the engine, never parsed).
    StepInvariant(Box<Expr>),
}

impl Expr {
    pub fn new(kind: ExprKind, pos: PosRange) -> Self {
        Self { kind, pos }
    }

    /// The type of the expression's value.
    pub fn value_type(&self) -> ValueType {
        match &self.kind {
            ExprKind::Number { .. } => ValueType::Scalar,
            ExprKind::String(_) => ValueType::String,
            ExprKind::Paren(e) | ExprKind::Unary(_, e) | ExprKind::StepInvariant(e) => {
                e.value_type()
            }
            ExprKind::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            ExprKind::Aggregate(_) => ValueType::Vector,
            ExprKind::Call(c) => c.func.return_type,
            ExprKind::Vector(_) => ValueType::Vector,
            ExprKind::Matrix(_) | ExprKind::Subquery(_) => ValueType::Matrix,
        }
    }

    /// The expression inside any parentheses and step-invariant wrappers.
    pub fn unwrap_parens(&self) -> &Expr {
        match &self.kind {
            ExprKind::Paren(e) | ExprKind::StepInvariant(e) => e.unwrap_parens(),
            _ => self,
        }
    }
}
