//! Mutated web.yml files and random Authorization headers never panic (a fast, deterministic
//! complement to the cargo-fuzz targets in fuzz/).

mod common;

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

const YAML_BYTES: &[u8] = b" :-\n\t'\"[]{}#&*!|>%@`,?~0123456789abcxyzTLS_";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if !out.is_empty() => {
                out.remove(at.min(out.len() - 1));
            }
            1 => out.insert(at, YAML_BYTES[rng.below(YAML_BYTES.len())]),
            2 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn mutated_conformance_files_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut files = 0;
    for entry in std::fs::read_dir(common::conformance_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".yml") || name.ends_with(".yaml")) {
            continue;
        }
        files += 1;
        let original = std::fs::read(&path).unwrap();
        for _ in 0..400 {
            let mutated = mutate(&mut rng, &original);
            if let Ok(text) = std::str::from_utf8(&mutated) {
                if let Ok(config) = webconfig::WebConfig::parse(text) {
                    // Validation reads files named in the config: run it from the conformance dir.
                    let _ = config.validate();
                }
            }
        }
    }
    assert!(files >= 40);
}

#[test]
fn random_authorization_headers_never_panic() {
    let mut rng = Rng(42);
    let prefixes: [&[u8]; 4] = [b"Basic ", b"basic ", b"BASIC", b""];
    for _ in 0..50_000 {
        let mut header = prefixes[rng.below(prefixes.len())].to_vec();
        for _ in 0..rng.below(40) {
            header.push((rng.next() & 0xff) as u8);
        }
        if let Some((user, _)) = webconfig::parse_basic_credentials(&header) {
            assert!(!user.contains(&b':'));
        }
    }
}
