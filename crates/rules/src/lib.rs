//! Prometheus rule files (`rule_files:` in prometheus.yml): read and validated exactly as
//! Prometheus 3.x's `model/rulefmt` does, with its error texts, so that `pmtool check
//! rules` and the server refuse the same files as `promtool check rules` and Prometheus,
//! and say so in the same words.
//!
//! ```no_run
//! let groups = rules::parse_file(std::path::Path::new("rules.yml")).map_err(|errors| {
//!     errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
//! })?;
//! for group in &groups.groups {
//!     println!("{}: {} rules", group.name, group.rules.len());
//! }
//! # Ok::<(), String>(())
//! ```
//!
//! Upstream reads a rule file with yaml.v3 (where prometheus.yml uses yaml.v2): unknown
//! fields are refused (`KnownFields`), a key given twice in a mapping is an error, only
//! `true`/`false` are booleans, and problems found after decoding carry the `line:column`
//! of the YAML node they are about. [`goyaml`] builds the node tree (with its nesting and
//! alias budgets); this crate decodes it with yaml.v3's rules (`decode.rs`) and then runs
//! upstream's checks (`validate.rs`). Like upstream, the file is decoded twice (once
//! for values, once for positions), so a type error is reported twice, as Prometheus
//! reports it.
//!
//! Alerting rules' labels and annotations are parsed as Go templates (upstream's
//! `testTemplateParsing`, with the variables and functions they are expanded with, see
//! [`expand`]), so a file whose only fault is a bad template (such as
//! `{{ $label.foo }}`) is refused, as Prometheus refuses it.
//!
//! Known small differences, all in what a file's error says rather than whether it is
//! accepted: the column of a node written with an anchor or tag (`&x value`) is that of
//! the value, where yaml.v3 gives that of the `&`; an explicit tag other than `!!str`,
//! `!!binary`, `!!null` and `!!merge` is ignored rather than checked; and a syntax
//! error's wording is granit-parser's, as everywhere in [`goyaml`].

//! # Evaluation
//!
//! The rest of the crate runs the rules as Prometheus's `rules` package does, as a library
//! with injected time (the server wires it up with its storage, notifier and HTTP API):
//!
//! - [`Group`] (`group.rs`): a group's rules evaluated in order at one timestamp, each
//!   rule's output appended before the next rule runs; staleness markers for series a rule
//!   stopped producing; `limit`; the per-group and per-rule numbers behind upstream's
//!   metrics and `/api/v1/rules` ([`GroupMetrics`], [`RuleStatus`]); reloads
//!   ([`Group::copy_state_from`], [`Group::same_definition`]); the restore of alerts' `for`
//!   state from `ALERTS_FOR_STATE` after a restart ([`Group::restore_for_state`]).
//! - [`RecordingRule`] (`recording.rs`) and [`AlertingRule`] (`alerting.rs`): upstream's
//!   rule evaluation, the alert state machine (`for`, `keep_firing_for`, resolved alerts
//!   kept 15 minutes), the `ALERTS` and `ALERTS_FOR_STATE` series, and what to send to
//!   Alertmanager and when ([`OutgoingAlert`], returned in each [`EvalReport`]).
//! - `schedule.rs`: upstream's evaluation slots ([`eval_timestamp`]: offset by a hash of
//!   file and group name, so groups spread over the interval) and run loop ([`run`], over
//!   a [`Clock`]; [`SystemClock`] is the wall clock).
//! - [`Env`] (`storage.rs`): what an evaluation reads and writes: the PromQL engine over a
//!   [`promql::Storage`], an [`Appender`] and an [`Expander`] (`template.rs`) for label and
//!   annotation templates: [`GoTemplates`] expands them as Prometheus does ([`expand`]:
//!   Go `text/template` with Prometheus' functions), [`NoTemplates`] leaves them as
//!   written. A [`tsdb::Db`] is both storage and appender.
//!
//! ```no_run
//! # fn demo(db: &tsdb::Db) -> Result<(), String> {
//! use std::sync::Arc;
//!
//! let file = rules::parse_file(std::path::Path::new("rules.yml"))
//!     .map_err(|errors| format!("{errors:?}"))?;
//! let opts = Arc::new(rules::EvalOptions::default());
//! // `true`: loaded at start, so the alerts' `for` state is restored from storage.
//! let mut group = rules::Group::new("rules.yml", &file.groups[0], opts, true)?;
//! let engine = promql::Engine::new(promql::EngineOptions::default());
//! let env = rules::Env {
//!     engine: &engine,
//!     storage: db,
//!     appender: db,
//!     expander: &rules::GoTemplates::new(),
//!     cancel: None,
//!     concurrency: None,
//! };
//! let clock = rules::SystemClock::new(); // `clock.stop()` from another thread ends `run`.
//! rules::run(&mut group, &env, &clock, |group, report| {
//!     for alert in report.alerts {
//!         println!("{}: send {}", group.name(), alert.labels);
//!     }
//! });
//! # Ok(()) }
//! ```
//!
//! Times are milliseconds since the epoch throughout. Upstream's evaluation times have
//! nanoseconds, which only show in the sub-millisecond digits of times in its API.

mod alerting;
mod concurrency;
mod decode;
mod error;
pub mod expand;
mod group;
mod lint;
mod recording;
mod schedule;
mod storage;
mod template;
mod validate;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

pub use alerting::{
    Alert, AlertState, AlertingRule, OutgoingAlert, ALERT_FOR_STATE_METRIC_NAME, ALERT_METRIC_NAME,
    ALERT_NAME_LABEL, ALERT_STATE_LABEL, ERR_DUPLICATE_ALERT_LABELSET, RESOLVED_RETENTION,
};
pub use concurrency::ConcurrencyLimit;
pub use error::{ErrorKind, Position, RuleError, RuleFileError};
pub use expand::GoTemplates;
pub use group::{EvalOptions, EvalReport, Group, GroupMetrics, GroupRule, RuleHealth, RuleStatus};
pub use lint::DuplicateRule;
pub use recording::{RecordingRule, ERR_DUPLICATE_RECORDING_LABELSET};
pub use schedule::{eval_timestamp, group_hash, run, Clock, SystemClock};
pub use storage::{Appender, Env, Rejected};
pub use template::{Expander, NoTemplates, TemplateData};

/// The largest rule file read. Rule files are written (or generated) by people: big
/// real-world ones, such as the kubernetes-mixin's, are about a megabyte, and
/// upstream's own large test file 1.1 MB. 64 MiB is far beyond any of them while
/// bounding what one reload may hold in memory; it is also the most scalar text
/// [`goyaml`] accepts in one document.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// What upstream logs (as a warning) when a rule file holds more than one YAML document:
/// only the first one is read.
pub const MULTIPLE_DOCUMENTS_WARNING: &str =
    "Multiple document yaml rules files are not supported, only the first document is processed";

/// The rule groups of one file, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleGroups {
    pub groups: Vec<RuleGroup>,
    /// The file had more YAML documents after the first, which were ignored (upstream
    /// reads the first one and logs [`MULTIPLE_DOCUMENTS_WARNING`]).
    pub ignored_documents: bool,
}

/// A group of rules, evaluated in order at one interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleGroup {
    pub name: String,
    /// Zero: the global `evaluation_interval`.
    pub interval: Duration,
    /// `None`: the global `rule_query_offset`.
    pub query_offset: Option<Duration>,
    /// Most alerts or series a rule of the group may produce; 0 is no limit.
    pub limit: i64,
    pub rules: Vec<Rule>,
    /// Added to every rule's result (a rule's own labels win).
    pub labels: BTreeMap<String, String>,
}

/// A recording rule (`record` set) or an alerting rule (`alert` set); a valid file has
/// exactly one of the two set in every rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    pub record: String,
    pub alert: String,
    pub expr: String,
    /// `for`: how long an alert must be pending before it fires.
    pub for_duration: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// The alert's name, or the recorded metric's name (upstream's `RuleName` in errors).
    pub fn name(&self) -> &str {
        if self.alert.is_empty() {
            &self.record
        } else {
            &self.alert
        }
    }

    pub fn is_alerting(&self) -> bool {
        !self.alert.is_empty()
    }
}

impl RuleGroups {
    /// How many rules the groups hold (promtool's `SUCCESS: N rules found`).
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

/// Which names are valid label, annotation and metric names (Prometheus's
/// `model.ValidationScheme`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NameValidation {
    /// Any non-empty UTF-8 text (Prometheus 3.x's default, and promtool's).
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*` for labels, `[a-zA-Z_:][a-zA-Z0-9_:]*` for metrics.
    Legacy,
}

/// How a rule file is read (upstream's `Parse` arguments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// Accept keys the format does not know (promtool's `--ignore-unknown-fields`).
    pub ignore_unknown_fields: bool,
    pub name_validation: NameValidation,
}

/// Reads and validates a rule file with the default options (unknown fields refused, UTF-8
/// names). Every error is prefixed with the path, as upstream's `ParseFile` does.
pub fn parse_file(path: &Path) -> Result<RuleGroups, Vec<RuleFileError>> {
    parse_file_with(path, &ParseOptions::default())
}

/// [`parse_file`] with options.
pub fn parse_file_with(
    path: &Path,
    options: &ParseOptions,
) -> Result<RuleGroups, Vec<RuleFileError>> {
    let file = path.display().to_string();
    let content = read_bounded(path).map_err(|kind| {
        vec![RuleFileError {
            file: Some(file.clone()),
            kind,
        }]
    })?;
    parse_bytes_with(&content, options).map_err(|mut errors| {
        for e in &mut errors {
            e.file = Some(file.clone());
        }
        errors
    })
}

/// Reads and validates the text of a rule file with the default options.
pub fn parse_bytes(content: &[u8]) -> Result<RuleGroups, Vec<RuleFileError>> {
    parse_bytes_with(content, &ParseOptions::default())
}

/// Upstream's `rulefmt.Parse`: decode the first YAML document (refusing unknown fields
/// unless asked not to), decode it again for the positions of its nodes, then validate.
pub fn parse_bytes_with(
    content: &[u8],
    options: &ParseOptions,
) -> Result<RuleGroups, Vec<RuleFileError>> {
    let yaml_error = |message: String| RuleFileError {
        file: None,
        kind: ErrorKind::Yaml(message),
    };
    if content.len() as u64 > MAX_FILE_BYTES {
        return Err(vec![RuleFileError {
            file: None,
            kind: ErrorKind::TooLarge {
                limit: MAX_FILE_BYTES,
            },
        }]);
    }
    let decoded = match decode::decode(content, options.ignore_unknown_fields) {
        Ok(decoded) => decoded,
        Err(messages) => return Err(messages.into_iter().map(yaml_error).collect()),
    };
    let errors = validate::validate(&decoded, options.name_validation);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RuleGroups {
        groups: decoded.groups.into_iter().map(|g| g.group).collect(),
        ignored_documents: decoded.more_documents,
    })
}

/// The file's bytes, refusing one larger than [`MAX_FILE_BYTES`] without reading it all
/// (the size is checked while reading: the file may grow between a `stat` and the read).
fn read_bounded(path: &Path) -> Result<Vec<u8>, ErrorKind> {
    let file =
        std::fs::File::open(path).map_err(|e| ErrorKind::Read(go_io_error("open", path, &e)))?;
    let mut content = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut content)
        .map_err(|e| ErrorKind::Read(go_io_error("read", path, &e)))?;
    if content.len() as u64 > MAX_FILE_BYTES {
        return Err(ErrorKind::TooLarge {
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(content)
}

/// An I/O error worded as Go's `os` package words it (`open x: no such file or
/// directory`), which upstream's messages embed.
fn go_io_error(op: &str, path: &Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let reason = match e.kind() {
        K::NotFound => "no such file or directory".to_string(),
        K::PermissionDenied => "permission denied".to_string(),
        K::IsADirectory => "is a directory".to_string(),
        _ => {
            // Rust appends " (os error N)" to the C library's text, which Go does not.
            let text = e.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => text,
            }
        }
    };
    format!("{op} {}: {reason}", path.display())
}
