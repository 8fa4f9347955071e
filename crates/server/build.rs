//! Records build facts for `prometheus_build_info` and `/api/v1/status/buildinfo`.

use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let revision = run("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let branch =
        run("git", &["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = run(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = run("hostname", &[]).unwrap_or_else(|| "unknown".into());
    let date = run("date", &["-u", "+%Y%m%d-%H:%M:%S"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PROMETHIUM_REVISION={revision}");
    println!("cargo:rustc-env=PROMETHIUM_BRANCH={branch}");
    println!("cargo:rustc-env=PROMETHIUM_RUSTC_VERSION={rustc_version}");
    println!("cargo:rustc-env=PROMETHIUM_BUILD_USER={user}@{host}");
    println!("cargo:rustc-env=PROMETHIUM_BUILD_DATE={date}");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
    println!("cargo:rerun-if-changed=build.rs");
}
