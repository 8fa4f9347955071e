//! `pmtool` as a user runs it: every EXPECTED.tsv row through `check web-config`, the
//! kingpin-style argument errors, and `hash-password`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn pmtool() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pmtool"))
}

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/web-config")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_web_config_every_expected_row() {
    let dir = conformance_dir();
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let rows: Vec<Vec<String>> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    for row in &rows {
        let (file, verdict, pattern) = (&row[0], &row[1], row.get(2).cloned().unwrap_or_default());
        // Run from the conformance dir with relative paths, as the tutorial does.
        let out = pmtool()
            .current_dir(&dir)
            .args(["check", "web-config", file])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(out.stdout.is_empty(), "{file}: stdout must stay empty");
        if verdict == "SUCCESS" {
            assert!(out.status.success(), "{file}: {err}");
            assert_eq!(err, format!("{file} SUCCESS\n"));
        } else {
            assert_eq!(out.status.code(), Some(1), "{file}: {err}");
            let prefix = format!("{file} FAILED: ");
            assert!(err.starts_with(&prefix), "{file}: {err}");
            let message = err[prefix.len()..].trim_end_matches('\n');
            let re = regex::Regex::new(&pattern).unwrap();
            assert!(re.is_match(message), "{file}: {message:?} !~ {pattern:?}");
        }
    }
    assert!(rows.len() >= 40);
}

#[test]
fn several_files_continue_after_a_failure() {
    let dir = conformance_dir();
    let out = pmtool()
        .current_dir(&dir)
        .args([
            "check",
            "web-config",
            "web_config_junk_key.yml",
            "web_config_empty.yml",
            "web_config_noAuth_wrongTLSVersion.bad.yml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "web_config_junk_key.yml FAILED: yaml: unmarshal errors:\n  line 2: field cert_filse not found in type web.TLSConfig\n\
         web_config_empty.yml SUCCESS\n\
         web_config_noAuth_wrongTLSVersion.bad.yml FAILED: unknown TLS version: TLS111\n"
    );
}

#[test]
fn paths_in_errors_join_the_config_directory() {
    let out = pmtool()
        .current_dir(conformance_dir().join(".."))
        .args([
            "check",
            "web-config",
            "web-config/web_config_noAuth_certPath_invalid.bad.yml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        "web-config/web_config_noAuth_certPath_invalid.bad.yml FAILED: failed to read cert_file (web-config/somefile): open web-config/somefile: no such file or directory\n"
    );
}

#[test]
fn argument_errors_like_kingpin() {
    let none = pmtool().args(["check", "web-config"]).output().unwrap();
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(
        stderr(&none),
        "pmtool: error: required argument 'web-config-files' not provided, try --help\n"
    );
    let missing = pmtool()
        .args(["check", "web-config", "/nonexistent/web.yml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stderr(&missing),
        "pmtool: error: path '/nonexistent/web.yml' does not exist, try --help\n"
    );
    let directory = pmtool()
        .args(["check", "web-config", "/tmp"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&directory),
        "pmtool: error: '/tmp' is a directory, try --help\n"
    );
}

fn hash_password(args: &[&str], input: &str) -> Output {
    let mut child = pmtool()
        .arg("hash-password")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The tool may refuse its arguments before reading stdin; a broken pipe is fine then.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn hash_password_from_stdin() {
    let out = hash_password(&["--cost", "4"], "s3cret\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim_end();
    assert!(hash.starts_with("$2b$04$"), "{hash}");
    assert!(bcrypt::verify("s3cret", hash).unwrap());
    assert!(!bcrypt::verify("s3cret\n", hash).unwrap());

    let line = hash_password(&["--cost", "4", "--user", "admin"], "pw\n");
    let text = String::from_utf8(line.stdout).unwrap();
    let (user, hash) = text.trim_end().split_once(": ").unwrap();
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("pw", hash).unwrap());

    let default_cost = hash_password(&[], "pw\n");
    assert!(String::from_utf8_lossy(&default_cost.stdout).starts_with("$2b$12$"));
}

#[test]
fn hash_password_refuses_bad_input() {
    for (args, input, needle) in [
        (
            vec!["--cost", "3"],
            "pw\n",
            "--cost must be between 4 and 31",
        ),
        (
            vec!["--cost", "32"],
            "pw\n",
            "--cost must be between 4 and 31",
        ),
        (vec!["--cost", "4"], "\n", "the password is empty"),
        (
            vec!["--cost", "4", "--user", "a:b"],
            "pw\n",
            "must not contain ':'",
        ),
    ] {
        let out = hash_password(&args, input);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    let long = "x".repeat(73) + "\n";
    let out = hash_password(&["--cost", "4"], &long);
    assert!(stderr(&out).contains("longer than 72 bytes"));
}

#[test]
fn generated_line_passes_check_web_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = hash_password(&["--cost", "4", "--user", "yes"], "pw\n");
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.starts_with("\"yes\": "),
        "a YAML 1.1 bool must be quoted: {line}"
    );
    let web = dir.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  {line}")).unwrap();
    let check = pmtool()
        .args(["check", "web-config"])
        .arg(&web)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
}

/// Runs pmtool on a pseudo-terminal (util-linux `script`), typing `input`.
fn on_terminal(args: &str, input: &str) -> String {
    let command = format!("{} {args}", env!("CARGO_BIN_EXE_pmtool"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux runs pmtool on a terminal");
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn hash_password_prompts_twice_on_a_terminal() {
    let screen = on_terminal("hash-password --cost 4", "t3rm\nt3rm\n");
    assert!(screen.contains("Enter password: "), "{screen:?}");
    assert!(screen.contains("Confirm password: "), "{screen:?}");
    let hash = screen
        .split_whitespace()
        .find(|w| w.starts_with("$2b$04$"))
        .unwrap_or_else(|| panic!("no hash in {screen:?}"));
    assert!(bcrypt::verify("t3rm", hash).unwrap());

    let mismatch = on_terminal("hash-password --cost 4", "one\ntwo\n");
    assert!(
        mismatch.contains("the passwords do not match"),
        "{mismatch:?}"
    );
    assert!(!mismatch.contains("$2b$"), "{mismatch:?}");
}

#[test]
fn check_config_like_promtool() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['localhost:9090']\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "scrape_configs:\n  - job_name: a\n    scrape_intervall: 1m\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("missing.yml"),
        "scrape_configs:\n  - job_name: a\n    authorization:\n      credentials_file: nope.txt\n",
    )
    .unwrap();
    let ok = pmtool()
        .current_dir(dir.path())
        .args(["check", "config", "prometheus.yml"])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout),
        "Checking prometheus.yml\n SUCCESS: prometheus.yml is valid prometheus config file syntax\n\n"
    );
    let bad = pmtool()
        .current_dir(dir.path())
        .args([
            "check",
            "config",
            "bad.yml",
            "prometheus.yml",
            "missing.yml",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad.stdout),
        "Checking bad.yml\n\nChecking prometheus.yml\n SUCCESS: prometheus.yml is valid prometheus config file syntax\n\nChecking missing.yml\n\n"
    );
    let err = stderr(&bad);
    assert!(
        err.starts_with("  FAILED: parsing YAML file bad.yml: yaml: unmarshal errors:\n  line 3: field scrape_intervall not found in type config.ScrapeConfig"),
        "{err}"
    );
    assert!(err.contains("  FAILED: error checking authorization credentials or bearer token file \"nope.txt\": stat nope.txt: no such file or directory"), "{err}");
    // --syntax-only leaves referenced files alone.
    let syntax = pmtool()
        .current_dir(dir.path())
        .args(["check", "config", "--syntax-only", "missing.yml"])
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", stderr(&syntax));
    let none = pmtool().args(["check", "config"]).output().unwrap();
    assert_eq!(
        stderr(&none),
        "pmtool: error: required argument 'config-files' not provided, try --help\n"
    );
}

#[test]
fn tsdb_create_blocks_from_openmetrics_then_list() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.om");
    // Three series over 5 hours (one sample a minute): three aligned 2 h blocks.
    let mut text = String::from("# HELP backfilled A test counter.\n# TYPE backfilled counter\n");
    for minute in 0..300i64 {
        for host in ["a", "b", "c"] {
            text.push_str(&format!(
                "backfilled_total{{host=\"{host}\"}} {} {}\n",
                minute * 2,
                1_700_006_400 + minute * 60
            ));
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(&input, text).unwrap();
    let out_dir = dir.path().join("blocks");
    let out = pmtool()
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let created = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = created.lines().collect();
    assert_eq!(lines.len(), 4, "{created}");
    assert!(lines[0].starts_with("BLOCK ULID                  MIN TIME       MAX TIME       DURATION     NUM SAMPLES  NUM CHUNKS   NUM SERIES   SIZE"), "{created}");
    // 1_700_006_400 s is 2 h aligned: [0, 2h) has 120 minutes x 3 series.
    let first: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(first[1], "1700006400000");
    assert_eq!(first[2], "1700013600000");
    assert_eq!(first[3], "2h0m0s");
    assert_eq!(first[4], "360");
    assert_eq!(first[6], "3");

    let out = pmtool()
        .args(["tsdb", "list", "-r"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.lines().count(), 4, "{listed}");
    assert!(listed.contains("2023-11-15 00:00:00 +0000 UTC"), "{listed}");
    // Human-readable sizes: "986B", "1.5KiB", ….
    for line in listed.lines().skip(1) {
        let size = line.split_whitespace().last().unwrap();
        assert!(size.ends_with('B') && size.len() > 1, "{listed}");
    }

    // The blocks are real: the storage serves every sample.
    let db = tsdb::Db::open(&out_dir).unwrap();
    let m = model::Matcher::new(model::MatchOp::Equal, "host", "b").unwrap();
    let got = db.select(&[m], i64::MIN, i64::MAX);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].samples.len(), 300);
    assert_eq!(
        got[0].samples[299],
        (1_700_006_400_000 + 299 * 60_000, 598.0)
    );
}

#[test]
fn tsdb_create_blocks_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.om");
    std::fs::write(&input, "no_timestamp 1\n# EOF\n").unwrap();
    let out = pmtool()
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("expected timestamp for series {__name__=\"no_timestamp\"}, got none"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&input, "a 1 1\n").unwrap();
    let out = pmtool()
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("EOF"), "{}", stderr(&out));
    let out = pmtool()
        .args(["tsdb", "list"])
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing is not a directory"),
        "{}",
        stderr(&out)
    );
}
