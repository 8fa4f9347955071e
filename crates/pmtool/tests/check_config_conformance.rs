//! `pmtool check config` on every file of ../shared/conformance/config/EXPECTED.tsv
//! (upstream's config test data): the verdict upstream gives and upstream's error text
//! within ours. `--syntax-only`, because the shared test data leaves out the certificate
//! and token files that the good files point to (upstream's test loads the files without
//! checking them, which is what `--syntax-only` does).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_expected_row_through_the_binary() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/config");
    let tsv = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    let rows: Vec<(&str, &str, &str)> = tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.splitn(3, '\t');
            (
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
                cols.next().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(rows.len(), 189);
    // All files in one run, as promtool accepts several; the output is split per file.
    let files: Vec<String> = rows
        .iter()
        .map(|(f, _, _)| format!("testdata/{f}"))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_pmtool"))
        .current_dir(&dir)
        .args(["check", "config", "--syntax-only"])
        .args(&files)
        .output()
        .expect("run pmtool");
    assert_eq!(out.status.code(), Some(1), "some files are bad");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // stderr holds one "  FAILED: …" block per failed file, in order.
    let mut failures = stderr.split("  FAILED: ").skip(1);
    let mut wrong = Vec::new();
    for ((file, verdict, expected), block) in rows.iter().zip(stdout.split("Checking ").skip(1)) {
        assert!(block.starts_with(&format!("testdata/{file}\n")), "{block}");
        let succeeded = block.contains(" SUCCESS: ");
        match (*verdict, succeeded) {
            ("SUCCESS", true) => {}
            ("FAILED", false) => {
                let message = failures.next().unwrap_or("");
                if !message.contains(expected) {
                    wrong.push(format!("{file}: got {message:?}, want {expected:?}"));
                }
            }
            (_, true) => wrong.push(format!("{file}: accepted, want {expected:?}")),
            (_, false) => wrong.push(format!(
                "{file}: refused with {:?}",
                failures.next().unwrap_or("")
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} rows differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
