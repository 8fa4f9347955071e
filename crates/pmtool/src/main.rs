//! `pmtool`: the promethium companion tool, as `promtool` is for Prometheus.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

mod query_cmd;
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
    },
    /// Check if the web config files are valid or not.
    WebConfig {
        /// The web config files to check.
        #[arg(value_name = "web-config-files")]
        files: Vec<String>,
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
            what: CheckCommand::Config { files },
        } => return check_config(&files),
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

/// `promtool check config`: `Checking FILE` on stdout, then ` SUCCESS: ...` on stdout or
/// `  FAILED: error` on stderr, and a blank line; exit 1 if any file failed.
fn check_config(files: &[String]) -> ExitCode {
    if !check_file_arguments(files, "config-files") {
        return ExitCode::FAILURE;
    }
    let mut failed = false;
    for f in files {
        println!("Checking {f}");
        match promconfig::Config::load(Path::new(f))
            .and_then(|c| referenced_files_exist(&c).map(|()| c))
        {
            Ok(config) => {
                println!(" SUCCESS: {f} is valid prometheus config file syntax");
                if !config.rule_files.is_empty() {
                    eprintln!(
                        "  WARNING: {} rule files found but not checked: promethium does not evaluate rules yet",
                        config.rule_files.len()
                    );
                }
            }
            Err(e) => {
                eprintln!("  FAILED: {e}");
                failed = true;
            }
        }
        println!();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// promtool also checks that the files a scrape config names exist.
fn referenced_files_exist(config: &promconfig::Config) -> Result<(), promconfig::ConfigError> {
    for job in &config.scrape_configs {
        let mut files: Vec<(&str, &Option<String>)> = Vec::new();
        if let Some(auth) = &job.basic_auth {
            files.push(("password", &auth.password_file));
            files.push(("username", &auth.username_file));
        }
        if let Some(auth) = &job.authorization {
            files.push(("credentials", &auth.credentials_file));
        }
        if let Some(tls) = &job.tls_config {
            files.push(("CA", &tls.ca_file));
            files.push(("client cert", &tls.cert_file));
            files.push(("client key", &tls.key_file));
        }
        for (what, file) in files {
            if let Some(file) = file {
                if let Err(e) = std::fs::metadata(file) {
                    let reason = if e.kind() == std::io::ErrorKind::NotFound {
                        "no such file or directory".to_string()
                    } else {
                        e.to_string()
                    };
                    return Err(promconfig::ConfigError::Invalid(format!(
                        "error checking {what} file {file:?}: stat {file}: {reason}"
                    )));
                }
            }
        }
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
