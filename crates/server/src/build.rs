//! Facts about this build, recorded by build.rs.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = env!("PROMETHIUM_REVISION");
pub const BRANCH: &str = env!("PROMETHIUM_BRANCH");
pub const RUSTC_VERSION: &str = env!("PROMETHIUM_RUSTC_VERSION");
pub const BUILD_USER: &str = env!("PROMETHIUM_BUILD_USER");
pub const BUILD_DATE: &str = env!("PROMETHIUM_BUILD_DATE");

/// `promethium --version`, laid out as `prometheus --version`.
pub fn version_text() -> String {
    format!(
        "promethium, version {VERSION} (branch: {BRANCH}, revision: {REVISION})\n  build user:       {BUILD_USER}\n  build date:       {BUILD_DATE}\n  rust version:     {RUSTC_VERSION}\n  platform:         {}/{}\n",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
