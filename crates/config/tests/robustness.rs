//! Mutated prometheus.yml files (upstream's config test data) never panic or hang: a fast,
//! deterministic complement to the `prometheus_yml` cargo-fuzz target in fuzz/.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const YAML_BYTES: &[u8] = b" :-\n\t'\"[]{}#&*!|<>%@`,?~0123456789abcxyz_";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                out.remove(at.min(out.len() - 1));
            }
            1 => out.insert(at, YAML_BYTES[rng.below(YAML_BYTES.len())]),
            2 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            3 if out.len() > 2 => {
                // Duplicate a slice: repeated keys, nested blocks, aliases.
                let start = rng.below(out.len() - 1);
                let end = (start + 1 + rng.below(60)).min(out.len());
                let piece = out[start..end].to_vec();
                out.splice(at.min(out.len())..at.min(out.len()), piece);
            }
            _ => out.truncate(at),
        }
    }
    out
}

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/config/testdata")
}

#[test]
fn mutated_upstream_files_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut files = 0;
    let started = Instant::now();
    for entry in std::fs::read_dir(testdata()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yml") {
            continue;
        }
        files += 1;
        let original = std::fs::read(&path).unwrap();
        for _ in 0..60 {
            let mutated = mutate(&mut rng, &original);
            if let Ok(text) = std::str::from_utf8(&mutated) {
                let one = Instant::now();
                let _ = promconfig::Config::parse(text, "mutated.yml", Path::new("/nonexistent"));
                assert!(
                    one.elapsed() < Duration::from_secs(2),
                    "slow input from {}: {text:?}",
                    path.display()
                );
            }
        }
    }
    assert!(files >= 180, "{files} files");
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn hostile_documents_are_refused_quickly() {
    // Exponential aliases ("billion laughs").
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let started = Instant::now();
    let err = promconfig::Config::parse(&bomb, "bomb.yml", Path::new("/")).unwrap_err();
    assert!(err.to_string().contains("excessive aliasing"), "{err}");
    // Deep nesting.
    let deep = format!("global: {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(promconfig::Config::parse(&deep, "deep.yml", Path::new("/")).is_err());
    // Merge keys that refer to themselves through a sequence.
    let merges = "scrape_configs:\n  - &j\n    job_name: a\n    <<: [*j, *j]\n";
    let _ = promconfig::Config::parse(merges, "merge.yml", Path::new("/"));
    assert!(started.elapsed() < Duration::from_secs(5));
}
