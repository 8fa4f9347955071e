//! Every row of ../shared/conformance/web-config/EXPECTED.tsv: the verdict and error text
//! of `check web-config` for exporter-toolkit's own test files.

use std::path::PathBuf;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/web-config")
}

#[test]
fn expected_tsv_verdicts_and_errors() {
    let dir = conformance_dir();
    let table =
        std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv is readable");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, verdict, pattern) = (cols[0], cols[1], cols.get(2).copied().unwrap_or(""));
        let result = webconfig::validate(&dir.join(file));
        match (verdict, result) {
            ("SUCCESS", Ok(())) => {}
            ("FAILED", Err(e)) => {
                let re = regex::Regex::new(pattern).expect("pattern compiles");
                if !re.is_match(&e.to_string()) {
                    failures.push(format!(
                        "{file}: error {:?} does not match {pattern:?}",
                        e.to_string()
                    ));
                }
            }
            (v, r) => failures.push(format!("{file}: expected {v}, got {r:?}")),
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 40, "only {checked} rows checked");
}

#[test]
fn missing_file_is_go_open_error() {
    let err = webconfig::validate(std::path::Path::new("somefile")).unwrap_err();
    assert_eq!(err.to_string(), "open somefile: no such file or directory");
}
