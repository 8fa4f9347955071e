//! `pmtool check rules`: promtool's `check rules`, with its output and exit codes.
//!
//! For each file: `Checking FILE` on stdout; then either `  FAILED:` and the errors, one
//! a line, on stderr (no blank line follows, as in promtool), or `  SUCCESS: N rules
//! found` on stdout, or, when only the duplicate-rules lint fails, `  FAILED:` and the
//! lint's report on stderr; then a blank line. Exit 1 if any file has errors, 3 if only
//! lints failed and `--lint-fatal` is given, else 0. Without files, standard input is
//! checked.
//!
//! Templates in alerting rules' labels and annotations are not checked yet (see the
//! `rules` crate).

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use goyaml::go_quote;
use rules::{NameValidation, ParseOptions, RuleFileError, RuleGroups};

/// Exit code when only lint checks failed and `--lint-fatal` is given.
const LINT_ERROR_EXIT: u8 = 3;

/// The options of `check rules`.
pub struct CheckRulesOptions {
    pub lint: String,
    pub lint_fatal: bool,
    pub ignore_unknown_fields: bool,
}

/// What checking one input found.
#[derive(Default)]
pub struct Outcome {
    pub failed: bool,
    /// Failed for something other than a lint.
    pub has_errors: bool,
}

/// Checks one rule file as `check rules` does (for `check config`'s rule files).
pub fn check_file(file: &str, lint_duplicates: bool, ignore_unknown_fields: bool) -> Outcome {
    println!("Checking {file}");
    let parse_options = ParseOptions {
        ignore_unknown_fields,
        name_validation: NameValidation::Utf8,
    };
    check_one(
        rules::parse_file_with(Path::new(file), &parse_options),
        lint_duplicates,
    )
}

pub fn run(files: &[String], options: &CheckRulesOptions) -> ExitCode {
    if !files.is_empty() && !crate::check_file_arguments(files, "rule-files") {
        return ExitCode::FAILURE;
    }
    let lint_duplicates = lint_duplicates(&options.lint);
    let parse_options = ParseOptions {
        ignore_unknown_fields: options.ignore_unknown_fields,
        // promtool checks rule files with UTF-8 names, as Prometheus 3 loads them by default.
        name_validation: NameValidation::Utf8,
    };
    let mut total = Outcome::default();
    let mut add = |outcome: Outcome| {
        total.failed |= outcome.failed;
        total.has_errors |= outcome.has_errors;
    };
    if files.is_empty() {
        println!("Checking standard input");
        let mut content = Vec::new();
        // One byte more than a rule file may have, so that a larger one is refused
        // rather than read whole.
        let read = std::io::stdin()
            .lock()
            .take(rules::MAX_FILE_BYTES + 1)
            .read_to_end(&mut content);
        match read {
            Ok(_) => add(check_one(
                rules::parse_bytes_with(&content, &parse_options),
                lint_duplicates,
            )),
            Err(e) => {
                eprintln!("  FAILED: read /dev/stdin: {e}");
                add(Outcome {
                    failed: true,
                    has_errors: true,
                });
            }
        }
    } else {
        for file in files {
            add(check_file(
                file,
                lint_duplicates,
                options.ignore_unknown_fields,
            ));
        }
    }
    if total.failed && total.has_errors {
        ExitCode::FAILURE
    } else if total.failed && options.lint_fatal {
        ExitCode::from(LINT_ERROR_EXIT)
    } else {
        ExitCode::SUCCESS
    }
}

/// promtool's `--lint` for rules: whether the duplicate-rules lint is on. `none` turns
/// nothing off (as in promtool: `--lint=all,none` still lints).
fn lint_duplicates(lint: &str) -> bool {
    let mut on = false;
    if lint.is_empty() {
        return on;
    }
    for setting in lint.split(',') {
        match setting {
            "all" | "duplicate-rules" => on = true,
            "none" => {}
            other => println!("WARNING: unknown lint option: {}", go_quote(other)),
        }
    }
    on
}

fn check_one(parsed: Result<RuleGroups, Vec<RuleFileError>>, lint_duplicates: bool) -> Outcome {
    let groups = match parsed {
        Ok(groups) => groups,
        Err(errors) => {
            eprintln!("  FAILED:");
            for e in &errors {
                eprintln!("{e}");
            }
            return Outcome {
                failed: true,
                has_errors: true,
            };
        }
    };
    if groups.ignored_documents {
        eprintln!("level=WARN msg=\"{}\"", rules::MULTIPLE_DOCUMENTS_WARNING);
    }
    let duplicates = if lint_duplicates {
        groups.duplicate_rules()
    } else {
        Vec::new()
    };
    let outcome = if duplicates.is_empty() {
        println!("  SUCCESS: {} rules found", groups.rule_count());
        Outcome::default()
    } else {
        eprintln!("  FAILED:");
        eprintln!("{}", duplicates_report(&duplicates));
        Outcome {
            failed: true,
            has_errors: false,
        }
    };
    println!();
    outcome
}

/// promtool's lint error for duplicate rules, word for word.
fn duplicates_report(duplicates: &[rules::DuplicateRule]) -> String {
    let mut report = format!("lint error {} duplicate rule(s) found.\n", duplicates.len());
    for duplicate in duplicates {
        report.push_str(&format!("Metric: {}\nLabel(s):\n", duplicate.metric));
        for (name, value) in &duplicate.labels {
            report.push_str(&format!("\t{name}: {value}\n"));
        }
    }
    report.push_str("Might cause inconsistency while recording expressions");
    report
}
