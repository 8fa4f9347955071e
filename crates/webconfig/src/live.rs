//! The running web configuration: the configuration in force (see `reload` for how a
//! changed file takes over), the rate limiter, basic auth (cache, decoy, fair bcrypt pool)
//! and per-handshake TLS.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use http::{HeaderName, HeaderValue};

use crate::config::{ConfigError, WebConfig};
use crate::pool::{BcryptPool, ClientKey, PoolLimits};
use crate::reload::{stamp, FileStamp, ReloadingFile, DEFAULT_SETTLE};

/// Why a request was refused by the web configuration, as counted in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthFailure {
    /// No `Authorization` header.
    MissingCredentials,
    /// An `Authorization` header that is not valid Basic credentials.
    Malformed,
    /// A user name that is not configured.
    UnknownUser,
    /// A known user with a wrong password.
    WrongPassword,
    /// Refused by `rate_limit` (429).
    RateLimited,
    /// The bcrypt queue for this client address was full (429).
    Overloaded,
}

impl AuthFailure {
    /// The metric label value for this reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::Malformed => "malformed",
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword => "wrong_password",
            Self::RateLimited => "rate_limited",
            Self::Overloaded => "overloaded",
        }
    }

    /// Every reason, for pre-registering metric label sets.
    pub const ALL: [AuthFailure; 6] = [
        Self::MissingCredentials,
        Self::Malformed,
        Self::UnknownUser,
        Self::WrongPassword,
        Self::RateLimited,
        Self::Overloaded,
    ];
}

/// Called once for every refused request.
pub type FailureObserver = Arc<dyn Fn(AuthFailure) + Send + Sync>;

/// One successfully loaded version of the file, as requests see it.
pub(crate) struct Snapshot {
    pub config: WebConfig,
    users: HashMap<String, String>,
    /// A real user's hash, at the users' median cost, checked for unknown users so that
    /// their timing matches a real user's (upstream's decoy is fixed at cost 10).
    decoy_hash: Option<String>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    generation: u64,
}

impl Snapshot {
    /// Validates `config` (TLS files included) and prepares it for requests.
    pub(crate) fn new(config: WebConfig, generation: u64) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut by_cost: Vec<(u32, &String)> = config
            .basic_auth_users
            .iter()
            .filter_map(|(_, h)| crate::hash::check_hash(h).ok().map(|c| (c, h)))
            .collect();
        by_cost.sort();
        let decoy_hash = by_cost.get(by_cost.len() / 2).map(|(_, h)| (*h).clone());
        let headers = config
            .http_server_config
            .headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    HeaderName::from_bytes(k.as_bytes()).ok()?,
                    HeaderValue::from_str(v).ok()?,
                ))
            })
            .collect();
        Ok(Self {
            users: config.basic_auth_users.iter().cloned().collect(),
            decoy_hash,
            headers,
            generation,
            config,
        })
    }

    pub fn auth_enabled(&self) -> bool {
        !self.users.is_empty()
    }
}

struct TlsCache {
    generation: u64,
    stamps: Vec<Option<FileStamp>>,
    result: Result<Arc<rustls::ServerConfig>, String>,
}

/// `rate_limit` as a token bucket, like Go's `rate.NewLimiter(rate.Every(interval), burst)`.
struct TokenBucket {
    settings: crate::config::RateLimitConfig,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn allow(&mut self) -> bool {
        if self.settings.interval_nanos < 0 {
            return true;
        }
        let Some(interval) = self.settings.interval() else {
            return true;
        };
        let burst = self.settings.burst.max(0) as f64;
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() / interval.as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + refill).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A bounded set of recent bcrypt verdicts, keyed by a keyed hash of (user, stored hash,
/// password) so that no password is kept in memory and no field can bleed into another
/// (CVE-2022-46146). Successes and failures are kept apart so that a flood of wrong
/// passwords cannot evict the logins that work.
struct VerdictCache {
    generation: u64,
    ok: HashMap<[u8; 32], ()>,
    failed: HashMap<[u8; 32], ()>,
    capacity: usize,
}

/// The per-process secret key of the verdict cache's digests.
struct CacheKey(aws_lc_rs::hmac::Key);

impl CacheKey {
    fn random() -> Self {
        let mut secret = [0u8; 32];
        // With no system randomness, a fixed key still keeps fields apart; it only loses
        // the property that the digests are unpredictable to an attacker with memory access.
        // The OS's randomness (a system call), not aws-lc's generator: seeding that one
        // measures CPU jitter for some 40 ms, which every start-up paid before `/-/ready`
        // even with no basic auth configured (TLS seeds it at its first handshake instead).
        let _ = getrandom::fill(&mut secret);
        Self(aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            &secret,
        ))
    }

    fn digest(&self, user: &[u8], hash: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.0);
        for field in [user, hash.as_bytes(), password] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

impl VerdictCache {
    fn new(capacity: usize) -> Self {
        Self {
            generation: 0,
            ok: HashMap::new(),
            failed: HashMap::new(),
            capacity,
        }
    }

    fn get(&mut self, generation: u64, key: &[u8; 32]) -> Option<bool> {
        if self.generation != generation {
            self.generation = generation;
            self.ok.clear();
            self.failed.clear();
            return None;
        }
        if self.ok.contains_key(key) {
            Some(true)
        } else if self.failed.contains_key(key) {
            Some(false)
        } else {
            None
        }
    }

    fn put(&mut self, generation: u64, key: [u8; 32], verdict: bool) {
        if self.generation != generation {
            return;
        }
        let map = if verdict {
            &mut self.ok
        } else {
            &mut self.failed
        };
        if map.len() >= self.capacity {
            // Drop a tenth; which ones does not matter for correctness.
            let victims: Vec<[u8; 32]> = map
                .keys()
                .take((self.capacity / 10).max(1))
                .copied()
                .collect();
            for v in victims {
                map.remove(&v);
            }
        }
        map.insert(key, ());
    }
}

/// Logs refused logins without letting a flood flood the log: at most 10 lines a second,
/// then one line saying how many were left out.
struct FailureLog {
    window_start: Instant,
    logged: u32,
    suppressed: u64,
}

impl FailureLog {
    fn record(&mut self, reason: AuthFailure, user: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            if self.suppressed > 0 {
                tracing::warn!(
                    suppressed = self.suppressed,
                    "more failed logins were not logged"
                );
            }
            self.window_start = now;
            self.logged = 0;
            self.suppressed = 0;
        }
        if self.logged >= 10 {
            self.suppressed += 1;
            return;
        }
        self.logged += 1;
        let shown: String = user.chars().take(64).collect();
        let address = address
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into());
        tracing::warn!(reason = reason.as_str(), user = %shown, address = %address, "authentication failed");
    }
}

/// Options for [`WebConfigHandle`] beyond the file itself.
#[derive(Clone, Default)]
pub struct HandleOptions {
    /// Paths served without credentials (still rate limited and given the headers), such
    /// as `/-/healthy` for load-balancer probes.
    pub unauthenticated_paths: Vec<String>,
    /// Called once for every refused request.
    pub on_failure: Option<FailureObserver>,
    /// Limits of the bcrypt pool.
    pub pool: Option<PoolLimits>,
    /// How long a 429 for a full bcrypt queue is held back (default 500 ms), so that a
    /// client hammering in a loop cannot turn instant refusals into a CPU flood.
    pub overload_delay: Option<Duration>,
    /// How long a changed web.yml must keep the same size, times and inode before it is
    /// adopted (default 1 s), so that a file caught mid-rewrite is never put in force.
    pub reload_settle: Option<Duration>,
}

/// The live web configuration of one server, shared by its listeners and requests.
#[derive(Clone)]
pub struct WebConfigHandle {
    shared: Arc<Shared>,
}

struct Shared {
    file: ReloadingFile,
    limiter: Mutex<Option<TokenBucket>>,
    tls: Mutex<Option<TlsCache>>,
    cache_key: CacheKey,
    cache: Mutex<VerdictCache>,
    inflight: Mutex<HashMap<[u8; 32], tokio::sync::watch::Receiver<Option<bool>>>>,
    pool: Arc<BcryptPool>,
    failures: Mutex<FailureLog>,
    options: HandleOptions,
}

/// The outcome of checking a request's credentials.
pub(crate) enum AuthDecision {
    Allowed(Option<String>),
    Denied,
    Busy,
}

impl WebConfigHandle {
    /// Loads and validates `path` (or none: no TLS, no auth, no limits). A file that does
    /// not validate (or is missing, or over its size cap) is an error here, as it stops
    /// Prometheus from starting; later versions of the file only replace the
    /// configuration in force when they are usable (see [`HandleOptions::reload_settle`]).
    pub fn new(path: Option<&Path>, options: HandleOptions) -> Result<Self, ConfigError> {
        let (adopted, snapshot) = match path {
            None => (None, Snapshot::new(WebConfig::default(), 1)?),
            Some(p) => {
                crate::reload::check_rereadable(p).map_err(ConfigError::new)?;
                // Stamped before reading: a change during the read is noticed later.
                let adopted = stamp(p);
                (adopted, Snapshot::new(WebConfig::load(p)?, 1)?)
            }
        };
        let settle = options.reload_settle.unwrap_or(DEFAULT_SETTLE);
        let file = ReloadingFile::new(path.map(Path::to_path_buf), adopted, snapshot, settle);
        let pool = BcryptPool::new(options.pool.unwrap_or_default());
        Ok(Self {
            shared: Arc::new(Shared {
                file,
                limiter: Mutex::new(None),
                tls: Mutex::new(None),
                cache_key: CacheKey::random(),
                cache: Mutex::new(VerdictCache::new(1024)),
                inflight: Mutex::new(HashMap::new()),
                pool,
                failures: Mutex::new(FailureLog {
                    window_start: Instant::now(),
                    logged: 0,
                    suppressed: 0,
                }),
                options,
            }),
        })
    }

    /// The configuration file path, if any.
    pub fn path(&self) -> Option<&Path> {
        self.shared.file.path()
    }

    /// The configuration in force now, after adopting a changed file that has settled and
    /// is usable. Never an error once the handle exists: a broken, blank, oversized or
    /// missing file leaves the previous configuration in force (see
    /// [`Self::last_reload_error`]). The `Result` is kept for callers written when a
    /// broken file made every request fail.
    pub fn current(&self) -> Result<WebConfig, String> {
        self.snapshot().map(|s| s.config.clone())
    }

    /// Why the file on disk is not in force: the error of the last version tried, until a
    /// later version is adopted. `None` when the file in force is the newest usable one
    /// (a change still settling is not an error).
    pub fn last_reload_error(&self) -> Option<String> {
        self.shared.file.last_error()
    }

    /// The configuration in force for a request. Always `Ok` (see [`Self::current`]); the
    /// `Result` is what the layer expects.
    pub(crate) fn snapshot(&self) -> Result<Arc<Snapshot>, String> {
        Ok(self.shared.file.snapshot())
    }

    /// Takes a token from the `rate_limit` bucket (rebuilt when its settings change).
    pub(crate) fn rate_limit_allows(&self, snapshot: &Snapshot) -> bool {
        let settings = snapshot.config.rate_limit;
        if settings.interval_nanos == 0 {
            return true;
        }
        let mut limiter = self
            .shared
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let bucket = match limiter.as_mut() {
            Some(b) if b.settings == settings => b,
            _ => limiter.insert(TokenBucket {
                settings,
                tokens: settings.burst.max(0) as f64,
                last: Instant::now(),
            }),
        };
        let allowed = bucket.allow();
        if !allowed {
            self.fail(AuthFailure::RateLimited, "", None);
        }
        allowed
    }

    pub(crate) fn overload_delay(&self) -> Duration {
        self.shared
            .options
            .overload_delay
            .unwrap_or(Duration::from_millis(500))
    }

    pub(crate) fn is_unauthenticated_path(&self, path: &str) -> bool {
        self.shared
            .options
            .unauthenticated_paths
            .iter()
            .any(|p| p == path)
    }

    fn fail(&self, reason: AuthFailure, user: &str, address: Option<IpAddr>) {
        if let Some(observer) = &self.shared.options.on_failure {
            observer(reason);
        }
        if !matches!(
            reason,
            AuthFailure::MissingCredentials | AuthFailure::RateLimited
        ) {
            self.shared
                .failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(reason, user, address);
        }
    }

    /// Checks the `Authorization` header against the snapshot's users.
    pub(crate) async fn authenticate(
        &self,
        snapshot: &Arc<Snapshot>,
        authorization: Option<&HeaderValue>,
        peer: Option<IpAddr>,
    ) -> AuthDecision {
        if !snapshot.auth_enabled() {
            return AuthDecision::Allowed(None);
        }
        let Some(header) = authorization else {
            self.fail(AuthFailure::MissingCredentials, "", peer);
            return AuthDecision::Denied;
        };
        let Some((user, password)) = parse_basic_credentials(header.as_bytes()) else {
            self.fail(AuthFailure::Malformed, "", peer);
            return AuthDecision::Denied;
        };
        let user_text = String::from_utf8_lossy(&user).into_owned();
        let known_hash = std::str::from_utf8(&user)
            .ok()
            .and_then(|u| snapshot.users.get(u));
        let (hash, known) = match (known_hash, &snapshot.decoy_hash) {
            (Some(h), _) => (h.clone(), true),
            (None, Some(d)) => (d.clone(), false),
            (None, None) => {
                self.fail(AuthFailure::UnknownUser, &user_text, peer);
                return AuthDecision::Denied;
            }
        };
        let verdict = match self
            .verify(snapshot.generation, &user, &hash, password, peer)
            .await
        {
            Some(v) => v,
            None => {
                self.fail(AuthFailure::Overloaded, &user_text, peer);
                return AuthDecision::Busy;
            }
        };
        if known && verdict {
            AuthDecision::Allowed(Some(user_text))
        } else {
            let reason = if known {
                AuthFailure::WrongPassword
            } else {
                AuthFailure::UnknownUser
            };
            self.fail(reason, &user_text, peer);
            AuthDecision::Denied
        }
    }

    /// The bcrypt verdict for (user, hash, password): from the cache, from an identical
    /// check already running, or from a new check in the fair pool. `None` when the pool
    /// refused the work.
    async fn verify(
        &self,
        generation: u64,
        user: &[u8],
        hash: &str,
        password: Vec<u8>,
        peer: Option<IpAddr>,
    ) -> Option<bool> {
        let key = self.shared.cache_key.digest(user, hash, &password);
        if let Some(v) = self
            .shared
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(generation, &key)
        {
            return Some(v);
        }
        let mut waiter = {
            let mut inflight = self
                .shared
                .inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match inflight.get(&key) {
                Some(rx) => Some(rx.clone()),
                None => {
                    let (tx, rx) = tokio::sync::watch::channel(None);
                    inflight.insert(key, rx);
                    let shared = Arc::clone(&self.shared);
                    let hash = hash.to_string();
                    let job = Box::new(move || {
                        // A panic inside bcrypt must not leave waiters hanging or the key
                        // stuck in flight: it counts as a failed check.
                        let verdict = std::panic::catch_unwind(|| {
                            bcrypt::verify(&password, &hash).unwrap_or(false)
                        })
                        .unwrap_or(false);
                        shared
                            .cache
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .put(generation, key, verdict);
                        shared
                            .inflight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&key);
                        let _ = tx.send(Some(verdict));
                    });
                    if self
                        .shared
                        .pool
                        .submit(ClientKey::from_ip(peer), job)
                        .is_err()
                    {
                        inflight.remove(&key);
                        return None;
                    }
                    inflight.get(&key).cloned()
                }
            }
        };
        let mut rx = waiter.take()?;
        let verdict = match rx.wait_for(Option::is_some).await {
            Ok(v) => *v,
            Err(_) => None,
        };
        verdict
    }

    /// Whether the configuration in force asks for TLS.
    pub fn tls_enabled(&self) -> bool {
        self.snapshot()
            .map(|s| s.config.tls_server_config.is_enabled())
            .unwrap_or(false)
    }

    /// The rustls configuration for a new handshake: rebuilt when web.yml or any
    /// certificate, key or CA file it names changed; an error refuses the handshake.
    pub fn tls_server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        let snapshot = self.snapshot()?;
        let tls = &snapshot.config.tls_server_config;
        if !tls.is_enabled() {
            return Err("TLS config is not present".into());
        }
        let stamps: Vec<Option<FileStamp>> = [&tls.cert_file, &tls.key_file, &tls.client_ca_file]
            .iter()
            .map(|p| {
                if p.is_empty() {
                    None
                } else {
                    stamp(Path::new(p.as_str()))
                }
            })
            .collect();
        let mut cache = self.shared.tls.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref() {
            if c.generation == snapshot.generation && c.stamps == stamps {
                return c.result.clone();
            }
        }
        let result = crate::tls::build_server_config(tls, snapshot.config.http_server_config.http2)
            .map(|built| {
                for w in &built.warnings {
                    tracing::warn!(warning = %w, "TLS configuration");
                }
                built.config
            })
            .map_err(|e| {
                tracing::error!(err = %e, "TLS configuration is invalid: refusing handshakes until it is fixed");
                e.to_string()
            });
        *cache = Some(TlsCache {
            generation: snapshot.generation,
            stamps,
            result: result.clone(),
        });
        result
    }
}

/// Parses an `Authorization` value `Basic base64(user:password)` into user and password
/// bytes; the scheme is case-insensitive and the user ends at the first colon, as in Go's
/// `Request.BasicAuth`. `None` for anything else.
pub fn parse_basic_credentials(header: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    const PREFIX: &[u8] = b"basic ";
    if header.len() < PREFIX.len() || !header[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&header[PREFIX.len()..])
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_parsing() {
        assert_eq!(
            parse_basic_credentials(b"Basic YWxpY2U6YTpi"),
            Some((b"alice".to_vec(), b"a:b".to_vec()))
        );
        assert_eq!(
            parse_basic_credentials(b"bAsIc YWxpY2U6"),
            Some((b"alice".to_vec(), vec![]))
        );
        assert_eq!(parse_basic_credentials(b"Basic !!!"), None);
        assert_eq!(parse_basic_credentials(b"Bearer abc"), None);
        assert_eq!(parse_basic_credentials(b"Basic YWxpY2U="), None);
        assert_eq!(parse_basic_credentials(b""), None);
    }

    #[test]
    fn cache_keys_keep_fields_apart() {
        let key = CacheKey::random();
        let a = key.digest(b"alice$2y$12$x", "h", b"fakepassword");
        let b = key.digest(b"alice", "$2y$12$xh", b"fakepassword");
        assert_ne!(a, b);
    }

    #[test]
    fn cache_is_bounded_and_split() {
        let mut cache = VerdictCache::new(100);
        let key = CacheKey::random();
        for i in 0..250u32 {
            let k = key.digest(b"u", "h", &i.to_be_bytes());
            cache.put(0, k, false);
            assert!(cache.failed.len() <= 100);
        }
        let good = key.digest(b"u", "h", b"right");
        cache.put(0, good, true);
        for i in 250..500u32 {
            let k = key.digest(b"u", "h", &i.to_be_bytes());
            cache.put(0, k, false);
        }
        assert_eq!(cache.get(0, &good), Some(true));
    }

    #[test]
    fn token_bucket_with_zero_burst_refuses() {
        let mut b = TokenBucket {
            settings: crate::config::RateLimitConfig {
                interval_nanos: 1_000_000_000,
                burst: 0,
            },
            tokens: 0.0,
            last: Instant::now(),
        };
        assert!(!b.allow());
        let mut c = TokenBucket {
            settings: crate::config::RateLimitConfig {
                interval_nanos: 1_000_000_000,
                burst: 2,
            },
            tokens: 2.0,
            last: Instant::now(),
        };
        assert!(c.allow());
        assert!(c.allow());
        assert!(!c.allow());
    }
}
