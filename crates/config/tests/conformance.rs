//! Every row of ../shared/conformance/config/EXPECTED.tsv (upstream's config test files
//! and the errors upstream's `config_test.go` expects): the same verdict, and upstream's
//! error text contained in ours. The files are loaded as upstream's test loads them
//! (`LoadFile` from the directory holding `testdata/`).

use std::path::{Path, PathBuf};

use promconfig::Config;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/config")
}

#[test]
fn expected_tsv_verdicts_and_errors() {
    let dir = conformance_dir();
    let tsv = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    // Paths in upstream's messages are relative to the config package directory.
    std::env::set_current_dir(&dir).expect("cd into the conformance directory");
    let mut rows = 0;
    let mut failures = Vec::new();
    for line in tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut cols = line.splitn(3, '\t');
        let (file, verdict, expected) = (
            cols.next().unwrap_or(""),
            cols.next().unwrap_or(""),
            cols.next().unwrap_or(""),
        );
        rows += 1;
        let path = format!("testdata/{file}");
        let result = Config::load(Path::new(&path)).and_then(|c| c.all_scrape_configs().map(|_| c));
        match (verdict, result) {
            ("SUCCESS", Ok(_)) => {}
            ("SUCCESS", Err(e)) => failures.push(format!("{file}: refused: {e}")),
            ("FAILED", Ok(_)) => failures.push(format!("{file}: accepted, want {expected:?}")),
            ("FAILED", Err(e)) => {
                if !e.to_string().contains(expected) {
                    failures.push(format!(
                        "{file}: got {:?}\n    want {expected:?}",
                        e.to_string()
                    ));
                }
            }
            (other, _) => failures.push(format!("{file}: unknown verdict {other}")),
        }
    }
    assert_eq!(rows, 189, "EXPECTED.tsv rows");
    assert!(
        failures.is_empty(),
        "{} of {rows} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
