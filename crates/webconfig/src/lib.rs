//! The web configuration file of the Prometheus ecosystem (`--web.config.file`, web.yml)
//! for Rust HTTP servers, as exporter-toolkit is for Go ones.
//!
//! - [`WebConfig`] parses and validates a file with exporter-toolkit's rules and exact
//!   error texts (what `check web-config` prints).
//! - [`WebConfigHandle`] is the live configuration: it notices file changes (size, times,
//!   inode) and, once a changed file has settled and validates, applies its users and
//!   headers to the next request and its TLS settings to the next handshake. A file
//!   caught mid-rewrite, blank, broken, oversized or missing leaves the previous
//!   configuration in force. Every file is read with a size cap.
//! - [`WebConfigLayer`] is a tower layer applying it to any service: 429 from the rate
//!   limiter, the configured headers, 401 without valid basic auth. bcrypt runs off the
//!   async executor in a pool shared fairly between clients.
//! - [`serve`] runs a service on a listener with all of the above plus TLS (rustls).
//!
//! The process must install a rustls crypto provider only if it wants one other than
//! aws-lc-rs, which this crate uses explicitly.

mod config;
mod hash;
mod layer;
mod live;
mod pool;
mod reload;
mod serve;
mod tls;
mod yaml;

pub use config::{
    ClientAuth, ConfigError, HttpServerConfig, RateLimitConfig, TlsServerConfig, TlsVersion,
    WebConfig,
};
pub use layer::{AuthenticatedUser, LayerBody, PeerAddr, WebConfigLayer, WebConfigService};
pub use live::{
    parse_basic_credentials, AuthFailure, FailureObserver, HandleOptions, WebConfigHandle,
};
pub use pool::PoolLimits;
pub use serve::{serve, serve_with_outer_layer, ServeError, ServeOptions};
pub use tls::SECP521R1;

/// Checks a web config file as `promtool check web-config` does: read, YAML, headers,
/// user hashes, then TLS files. An empty path is valid (no web config).
pub fn validate(path: &std::path::Path) -> Result<(), ConfigError> {
    if path.as_os_str().is_empty() {
        return Ok(());
    }
    WebConfig::load(path)?.validate()
}
