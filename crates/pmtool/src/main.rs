//! `pmtool`: the promethium companion tool, as `promtool` is for Prometheus.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

mod check_metrics;
mod check_rules;
mod query_cmd;
mod test_rules;
mod tsdb_cmd;

#[derive(Parser)]
#[command(
    name = "pmtool",
    version,
    about = "Tooling for the promethium monitoring server."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the resources for validity.
    Check {
        #[command(subcommand)]
        what: CheckCommand,
    },
    /// Hash a password with bcrypt for basic_auth_users in a web config file.
    ///
    /// On a terminal the password is asked for twice without echo; otherwise one line is
    /// read from standard input.
    HashPassword {
        /// bcrypt cost (work factor), 4 to 31. Each step doubles the time to check a login.
        #[arg(long, default_value_t = 12)]
        cost: u32,
        /// Print a ready `NAME: HASH` line for basic_auth_users.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
    },
    /// Unit testing.
    Test {
        #[command(subcommand)]
        what: TestCommand,
    },
    /// Run tsdb commands.
    Tsdb {
        #[command(subcommand)]
        what: TsdbCommand,
    },
    /// Run query against a Prometheus-compatible server.
    Query {
        /// Output format of the query.
        #[arg(short = 'o', long = "format", default_value = "promql", value_parser = ["promql", "json"], global = true)]
        format: String,
        /// HTTP client configuration file for pmtool to connect to the server (basic_auth,
        /// authorization, tls_config, as in promtool).
        #[arg(long = "http.config.file", value_name = "FILENAME", global = true)]
        http_config_file: Option<String>,
        #[command(subcommand)]
        what: QueryCommand,
    },
}

#[derive(Subcommand)]
enum TestCommand {
    /// Unit tests for rules.
    Rules {
        /// If set, will only run test groups whose names match the regular expression. Can
        /// be specified multiple times.
        #[arg(long = "run", value_name = "RUN")]
        run: Vec<String>,
        /// Enable unit test debugging.
        #[arg(long)]
        debug: bool,
        /// [Experimental] Print colored differential output between expected & received
        /// output (not implemented: failures are reported as without it).
        #[arg(long)]
        diff: bool,
        /// Ignore unknown fields in the rule files. This is useful when you want to extend
        /// rule files with custom metadata. Ensure that those fields are removed before
        /// loading them into the server as it performs strict checks by default.
        #[arg(long = "ignore-unknown-fields")]
        ignore_unknown_fields: bool,
        /// The unit test files.
        #[arg(value_name = "test-rule-file")]
        files: Vec<String>,
    },
}

#[derive(Subcommand)]
enum QueryCommand {
    /// Run instant query.
    Instant {
        /// Prometheus server to query.
        server: String,
        /// PromQL query expression.
        expr: String,
        /// Query evaluation time (RFC3339 or Unix timestamp).
        #[arg(long)]
        time: Option<String>,
    },
    /// Run range query.
    Range {
        /// Prometheus server to query.
        server: String,
        /// PromQL query expression.
        expr: String,
        /// Query range start time (RFC3339 or Unix timestamp).
        #[arg(long)]
        start: Option<String>,
        /// Query range end time (RFC3339 or Unix timestamp).
        #[arg(long)]
        end: Option<String>,
        /// Query step size (duration).
        #[arg(long)]
        step: Option<String>,
    },
    /// Run series query.
    Series {
        /// Prometheus server to query.
        server: String,
        /// Series selector. Can be specified multiple times.
        #[arg(long = "match", value_name = "MATCH")]
        matchers: Vec<String>,
        /// Start time (RFC3339 or Unix timestamp).
        #[arg(long)]
        start: Option<String>,
        /// End time (RFC3339 or Unix timestamp).
        #[arg(long)]
        end: Option<String>,
    },
    /// Run labels query.
    Labels {
        /// Prometheus server to query.
        server: String,
        /// Label name to provide label values for.
        name: String,
        /// Start time (RFC3339 or Unix timestamp).
        #[arg(long)]
        start: Option<String>,
        /// End time (RFC3339 or Unix timestamp).
        #[arg(long)]
        end: Option<String>,
        /// Series selector. Can be specified multiple times.
        #[arg(long = "match", value_name = "MATCH")]
        matchers: Vec<String>,
    },
}

#[derive(Subcommand)]
enum TsdbCommand {
    /// List tsdb blocks.
    List {
        /// Print human readable values.
        #[arg(short = 'r', long = "human-readable")]
        human_readable: bool,
        /// Database path (default is data/).
        #[arg(value_name = "db path", default_value = "data/")]
        db_path: String,
    },
    /// [Experimental] Import samples from input and produce TSDB blocks. Please refer to
    /// the storage docs for more details.
    CreateBlocksFrom {
        #[command(subcommand)]
        source: CreateBlocksSource,
    },
}

#[derive(Subcommand)]
enum CreateBlocksSource {
    /// Import samples from OpenMetrics input and produce TSDB blocks.
    Openmetrics {
        /// OpenMetrics file to read samples from.
        #[arg(value_name = "input file")]
        input: String,
        /// Output directory for generated blocks.
        #[arg(value_name = "output directory", default_value = "data/")]
        output: String,
        /// Print human readable values.
        #[arg(short = 'r', long = "human-readable")]
        human_readable: bool,
        /// Do not print created blocks.
        #[arg(short = 'q', long)]
        quiet: bool,
        /// Maximum duration created blocks may span. Anything less than 2h is ignored.
        #[arg(long = "max-block-duration", value_name = "DURATION", default_value = "2h", value_parser = |s: &str| promconfig::PromDuration::parse(s).map(|d| d.0))]
        max_block_duration: std::time::Duration,
    },
}

#[derive(Subcommand)]
enum CheckCommand {
    /// Check if the config files are valid or not.
    Config {
        /// The config files to check.
        #[arg(value_name = "config-files")]
        files: Vec<String>,
        /// Only check the config file syntax, ignoring file and content validation
        /// referenced in the config.
        #[arg(long = "syntax-only")]
        syntax_only: bool,
        /// Linting checks to apply to the rules/scrape configs specified in the config.
        /// Available options are: all, duplicate-rules, none, too-long-scrape-interval.
        /// Use --lint=none to disable linting.
        #[arg(long = "lint", default_value = "duplicate-rules")]
        lint: String,
        /// Make lint errors exit with exit code 3.
        #[arg(long = "lint-fatal")]
        lint_fatal: bool,
        /// Ignore unknown fields in the rule groups read by the config files.
        #[arg(long = "ignore-unknown-fields")]
        ignore_unknown_fields: bool,
        /// Check the configuration as for agent mode (no alerting, rules or remote read).
        #[arg(long = "agent")]
        agent: bool,
    },
    /// Check if the rule files are valid or not.
    Rules {
        /// The rule files to check, default is read from standard input.
        #[arg(value_name = "rule-files")]
        files: Vec<String>,
        /// Linting checks to apply. Available options are: all, duplicate-rules, none. Use
        /// --lint=none to disable linting.
        #[arg(long = "lint", default_value = "duplicate-rules")]
        lint: String,
        /// Make lint errors exit with exit code 3.
        #[arg(long = "lint-fatal")]
        lint_fatal: bool,
        /// Ignore unknown fields in the rule files. This is useful when you want to extend
        /// rule files with custom metadata. Ensure that those fields are removed before
        /// loading them into the server as it performs strict checks by default.
        #[arg(long = "ignore-unknown-fields")]
        ignore_unknown_fields: bool,
    },
    /// Check if the web config files are valid or not.
    WebConfig {
        /// The web config files to check.
        #[arg(value_name = "web-config-files")]
        files: Vec<String>,
    },
    /// Pass Prometheus metrics over stdin to lint them for consistency and correctness,
    /// and optionally perform cardinality analysis.
    Metrics {
        /// Print extended information related to the cardinality of the metrics.
        #[arg(long)]
        extended: bool,
        /// Linting checks to apply for metrics. Available options are: all, none. Use
        /// --lint=none to disable metrics linting.
        #[arg(long, default_value = "all")]
        lint: String,
    },
}

fn main() -> ExitCode {
    // One TLS crypto provider for every client pmtool makes.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Query {
            format,
            http_config_file,
            what,
        } => {
            let json = format == "json";
            let target = |server: &str| query_cmd::Target {
                server: server.to_string(),
                http_config_file: http_config_file.clone(),
            };
            match what {
                QueryCommand::Instant { server, expr, time } => {
                    query_cmd::instant(&target(&server), &expr, time.as_deref(), json)
                }
                QueryCommand::Range {
                    server,
                    expr,
                    start,
                    end,
                    step,
                } => query_cmd::range(
                    &target(&server),
                    &expr,
                    start.as_deref(),
                    end.as_deref(),
                    step.as_deref(),
                    json,
                ),
                QueryCommand::Series {
                    server,
                    matchers,
                    start,
                    end,
                } => query_cmd::series(
                    &target(&server),
                    &matchers,
                    start.as_deref(),
                    end.as_deref(),
                    json,
                ),
                QueryCommand::Labels {
                    server,
                    name,
                    start,
                    end,
                    matchers,
                } => query_cmd::labels(
                    &target(&server),
                    &name,
                    &matchers,
                    start.as_deref(),
                    end.as_deref(),
                    json,
                ),
            }
        }
        Command::Check {
            what: CheckCommand::WebConfig { files },
        } => return check_web_config(&files),
        Command::Check {
            what: CheckCommand::Metrics { extended, lint },
        } => return check_metrics::run(extended, &lint),
        Command::Check {
            what:
                CheckCommand::Rules {
                    files,
                    lint,
                    lint_fatal,
                    ignore_unknown_fields,
                },
        } => {
            return check_rules::run(
                &files,
                &check_rules::CheckRulesOptions {
                    lint,
                    lint_fatal,
                    ignore_unknown_fields,
                },
            )
        }
        Command::Check {
            what:
                CheckCommand::Config {
                    files,
                    syntax_only,
                    lint,
                    lint_fatal,
                    ignore_unknown_fields,
                    agent,
                },
        } => {
            return check_config(
                &files,
                &CheckConfigOptions {
                    syntax_only,
                    lint,
                    lint_fatal,
                    agent,
                    ignore_unknown_fields,
                },
            )
        }
        Command::Test {
            what:
                TestCommand::Rules {
                    run,
                    debug,
                    diff,
                    ignore_unknown_fields,
                    files,
                },
        } => {
            if !crate::check_file_arguments(&files, "test-rule-file") {
                return ExitCode::FAILURE;
            }
            return test_rules::run(
                &files,
                &test_rules::TestRulesOptions {
                    run,
                    diff,
                    debug,
                    ignore_unknown_fields,
                },
            );
        }
        Command::HashPassword { cost, user } => hash_password(cost, user.as_deref()),
        Command::Tsdb {
            what:
                TsdbCommand::List {
                    human_readable,
                    db_path,
                },
        } => tsdb_cmd::list(&db_path, human_readable),
        Command::Tsdb {
            what:
                TsdbCommand::CreateBlocksFrom {
                    source:
                        CreateBlocksSource::Openmetrics {
                            input,
                            output,
                            human_readable,
                            quiet,
                            max_block_duration,
                        },
                },
        } => tsdb_cmd::create_blocks_from_openmetrics(
            &input,
            &output,
            max_block_duration,
            human_readable,
            quiet,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pmtool: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `promtool check web-config`: every verdict goes to stderr as `FILE SUCCESS` or
/// `FILE FAILED: error`; the exit code is 1 if any file failed. Argument errors are
/// reported before any check, as kingpin does.
fn check_web_config(files: &[String]) -> ExitCode {
    if !check_file_arguments(files, "web-config-files") {
        return ExitCode::FAILURE;
    }
    let mut failed = false;
    for f in files {
        match webconfig::validate(Path::new(f)) {
            Ok(()) => eprintln!("{f} SUCCESS"),
            Err(e) => {
                eprintln!("{f} FAILED: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// kingpin's checks on file arguments, before any file is read; false after printing one.
fn check_file_arguments(files: &[String], name: &str) -> bool {
    if files.is_empty() {
        eprintln!("pmtool: error: required argument '{name}' not provided, try --help");
        return false;
    }
    for f in files {
        let path = Path::new(f);
        if !path.exists() {
            eprintln!("pmtool: error: path '{f}' does not exist, try --help");
            return false;
        }
        if path.is_dir() {
            eprintln!("pmtool: error: '{f}' is a directory, try --help");
            return false;
        }
    }
    true
}

/// Options of `check config`.
struct CheckConfigOptions {
    syntax_only: bool,
    lint: String,
    lint_fatal: bool,
    agent: bool,
    /// For the rule files the configuration names.
    ignore_unknown_fields: bool,
}

/// Exit code of `check config` when only lint checks failed and `--lint-fatal` is set.
const LINT_ERROR_EXIT: u8 = 3;

/// `promtool check config`: `Checking FILE` on stdout, then ` SUCCESS: ...` on stdout or
/// `  FAILED: error` on stderr, and a blank line; lint findings after; exit 1 if any
/// file failed, 3 if only lint checks failed and `--lint-fatal` is given.
fn check_config(files: &[String], options: &CheckConfigOptions) -> ExitCode {
    if !check_file_arguments(files, "config-files") {
        return ExitCode::FAILURE;
    }
    // --lint: too-long-scrape-interval (also in `all`) flags jobs whose interval reaches
    // the 5m lookback delta; duplicate-rules (also in `all`) the rule files' duplicates.
    let mut lint_interval = false;
    let mut lint_duplicates = false;
    for option in options.lint.split(',') {
        match option {
            "all" => (lint_interval, lint_duplicates) = (true, true),
            "too-long-scrape-interval" => lint_interval = true,
            "none" => {
                (lint_interval, lint_duplicates) = (false, false);
                break;
            }
            "duplicate-rules" => lint_duplicates = true,
            other => println!("WARNING: unknown lint option: {other:?}"),
        }
    }
    let lookback = std::time::Duration::from_secs(300);
    let mut failed = false;
    let mut has_errors = false;
    for f in files {
        println!("Checking {f}");
        match check_config_file(Path::new(f), options) {
            Ok((rule_files, jobs)) => {
                if !rule_files.is_empty() {
                    println!("  SUCCESS: {} rule files found", rule_files.len());
                }
                println!(" SUCCESS: {f} is valid prometheus config file syntax");
                println!();
                if !options.syntax_only {
                    if lint_interval {
                        if let Some(job) = jobs.iter().find(|j| j.interval() >= lookback) {
                            eprintln!(
                                "  FAILED: too long scrape interval found, data point will be marked as stale - job: {}, interval: {}",
                                job.job_name, job.scrape_interval
                            );
                            failed = true;
                        }
                    }
                    for rule_file in &rule_files {
                        let outcome = check_rules::check_file(
                            rule_file,
                            lint_duplicates,
                            options.ignore_unknown_fields,
                        );
                        failed |= outcome.failed;
                        has_errors |= outcome.has_errors;
                    }
                }
            }
            Err(e) => {
                eprintln!("  FAILED: {e}");
                println!();
                failed = true;
                has_errors = true;
            }
        }
    }
    if failed && has_errors {
        ExitCode::FAILURE
    } else if failed && options.lint_fatal {
        ExitCode::from(LINT_ERROR_EXIT)
    } else {
        ExitCode::SUCCESS
    }
}

/// promtool's `checkConfig`: load, then (unless `--syntax-only`) the rule files, the
/// scrape config files, and the files the scrape configs refer to.
fn check_config_file(
    path: &Path,
    options: &CheckConfigOptions,
) -> Result<(Vec<String>, Vec<promconfig::ScrapeConfig>), String> {
    let config = promconfig::Config::load(path).map_err(|e| e.to_string())?;
    if options.agent {
        if !config.alerting.alertmanagers.is_empty()
            || !config.alerting.alert_relabel_configs.is_empty()
        {
            return Err("field alerting is not allowed in agent mode".into());
        }
        if !config.rule_files.is_empty() {
            return Err("field rule_files is not allowed in agent mode".into());
        }
        if !config.remote_read.is_empty() {
            return Err("field remote_read is not allowed in agent mode".into());
        }
    }
    let mut rule_files = Vec::new();
    if !options.syntax_only {
        for pattern in &config.rule_files {
            let found = promconfig::glob(pattern);
            if !pattern.contains('*') {
                let Some(first) = found.first() else {
                    return Err(format!("{pattern:?} does not point to an existing file"));
                };
                file_exists(&first.display().to_string())
                    .map_err(|e| format!("error checking rule file {:?}: {e}", first.display()))?;
            }
            rule_files.extend(found.into_iter().map(|p| p.display().to_string()));
        }
    }
    let jobs = if options.syntax_only {
        config.scrape_configs.clone()
    } else {
        config
            .all_scrape_configs()
            .map_err(|e| format!("error loading scrape configs: {e}"))?
    };
    for job in &jobs {
        if !options.syntax_only {
            if let Some(auth) = &job.http.authorization {
                file_exists(&auth.credentials_file).map_err(|e| {
                    format!(
                        "error checking authorization credentials or bearer token file {:?}: {e}",
                        auth.credentials_file
                    )
                })?;
            }
        }
        check_tls_files(&job.http.tls_config, options.syntax_only)?;
        for k8s in job.sd.kubernetes_sd_configs.iter().flatten() {
            check_tls_files(&k8s.http.tls_config, options.syntax_only)?;
        }
        if !options.syntax_only {
            for sd in job.sd.file_sd_configs.iter().flatten() {
                for pattern in &sd.files {
                    let found = promconfig::glob(pattern);
                    if found.is_empty() {
                        println!(
                            "  WARNING: file {pattern:?} for file_sd in scrape job {:?} does not exist",
                            job.job_name
                        );
                    }
                    for file in found {
                        check_sd_file(&file)
                            .map_err(|e| format!("checking SD file {pattern:?}: {e}"))?;
                    }
                }
            }
        }
    }
    Ok((rule_files, jobs))
}

/// promtool's `checkTLSConfig`: client certificate and key come together and exist.
fn check_tls_files(tls: &promconfig::TlsConfig, syntax_only: bool) -> Result<(), String> {
    if !tls.cert_file.is_empty() && tls.key_file.is_empty() {
        return Err(format!(
            "client cert file {:?} specified without client key file",
            tls.cert_file
        ));
    }
    if !tls.key_file.is_empty() && tls.cert_file.is_empty() {
        return Err(format!(
            "client key file {:?} specified without client cert file",
            tls.key_file
        ));
    }
    if syntax_only {
        return Ok(());
    }
    file_exists(&tls.cert_file)
        .map_err(|e| format!("error checking client cert file {:?}: {e}", tls.cert_file))?;
    file_exists(&tls.key_file)
        .map_err(|e| format!("error checking client key file {:?}: {e}", tls.key_file))
}

/// An empty name is fine (nothing set); otherwise Go's `stat NAME: reason`.
fn file_exists(file: &str) -> Result<(), String> {
    if file.is_empty() {
        return Ok(());
    }
    std::fs::metadata(file).map(|_| ()).map_err(|e| {
        let reason = if e.kind() == std::io::ErrorKind::NotFound {
            "no such file or directory".to_string()
        } else {
            e.to_string()
        };
        format!("stat {file}: {reason}")
    })
}

/// A file SD file must hold target groups (JSON or YAML by extension).
fn check_sd_file(path: &Path) -> Result<(), String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !matches!(ext.as_str(), "json" | "yml" | "yaml") {
        return Err(format!("invalid file extension: \".{ext}\""));
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut groups: Vec<Option<promconfig::TargetGroup>> = Vec::new();
    goyaml::from_str(&text, &mut groups)?;
    if let Some(i) = groups.iter().position(Option::is_none) {
        return Err(format!("nil target group item found (index {i})"));
    }
    Ok(())
}

fn hash_password(cost: u32, user: Option<&str>) -> anyhow::Result<()> {
    if !(4..=31).contains(&cost) {
        bail!("--cost must be between 4 and 31, got {cost}");
    }
    if let Some(name) = user {
        if name.is_empty() || name.contains(':') {
            bail!("--user must be non-empty and must not contain ':' (basic auth splits user and password there)");
        }
    }
    let password = if std::io::stdin().is_terminal() {
        let first =
            rpassword::prompt_password("Enter password: ").context("reading the password")?;
        let second =
            rpassword::prompt_password("Confirm password: ").context("reading the password")?;
        if first != second {
            bail!("the passwords do not match");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    if password.len() > 72 {
        bail!("the password is longer than 72 bytes, and bcrypt ignores everything after the 72nd byte");
    }
    let hash = bcrypt::hash(password.as_bytes(), cost).context("hashing the password")?;
    let mut out = std::io::stdout().lock();
    match user {
        Some(name) => writeln!(out, "{}: {hash}", yaml_key(name))?,
        None => writeln!(out, "{hash}")?,
    }
    Ok(())
}

/// A user name as a YAML mapping key: plain when that is unambiguous, else double-quoted.
fn yaml_key(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
        );
    if plain {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}
