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

// web.yml read safely: size caps, and a file being rewritten never opens the door.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A web.yml with one user, whose bcrypt hash is cheap (cost 4) so that tests are quick.
fn users_yaml(user: &str, password: &str) -> String {
    let hash = bcrypt::hash(password, 4).unwrap();
    format!("basic_auth_users:\n  {user}: {hash}\n")
}

/// Sends requests without credentials, from two tasks, until dropped; counts the answers.
struct Prober {
    stop: Arc<AtomicBool>,
    unauthorized: Arc<AtomicUsize>,
    other: Arc<std::sync::Mutex<Vec<u16>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Prober {
    fn start(addr: std::net::SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let unauthorized = Arc::new(AtomicUsize::new(0));
        let other = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks = (0..2)
            .map(|_| {
                let (stop, unauthorized, other) =
                    (stop.clone(), unauthorized.clone(), other.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        // A connection the loaded loopback resets is not an answer.
                        if let Ok(reply) = common::http_get(addr, "/", &[]).await {
                            if reply.status == 401 {
                                unauthorized.fetch_add(1, Ordering::Relaxed);
                            } else {
                                other.lock().unwrap().push(reply.status);
                            }
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            unauthorized,
            other,
            tasks,
        }
    }

    /// Stops, and checks that every answer was 401 (and that there were answers).
    async fn finish(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        let other = self.other.lock().unwrap().clone();
        assert!(
            other.is_empty(),
            "{} answers other than 401, the first: {:?}",
            other.len(),
            &other[..other.len().min(10)]
        );
        let refused = self.unauthorized.load(Ordering::Relaxed);
        assert!(refused > 10, "only {refused} answers");
        refused
    }
}

/// Sends a request, then says whether the file on disk has been tried and refused.
async fn refused_yet(server: &common::TestServer) -> bool {
    common::status_as(server.addr, None).await;
    server.handle.last_reload_error().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_yml_emptied_in_place_never_serves_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(&config, users_yaml("olduser", "oldpw")).unwrap();
    let server = common::start_settling(&config).await.unwrap();
    let addr = server.addr;
    let old = Some(("olduser", "oldpw"));
    assert_eq!(common::status_as(addr, old).await, 200);

    let prober = Prober::start(addr);
    // Truncated in place, as a writer opening it with O_TRUNC leaves it, for well past
    // the settle time: still the old users.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&config)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let error = server.handle.last_reload_error().unwrap();
    assert!(error.contains("is empty"), "{error}");
    assert_eq!(common::status_as(addr, old).await, 200);

    std::fs::write(&config, users_yaml("newuser", "newpw")).unwrap();
    let new = Some(("newuser", "newpw"));
    common::eventually("the new user", || async {
        common::status_as(addr, new).await == 200
    })
    .await;
    assert_eq!(common::status_as(addr, old).await, 401);
    assert_eq!(server.handle.last_reload_error(), None);
    prober.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_yml_rewritten_in_two_steps_never_serves_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(&config, users_yaml("olduser", "oldpw")).unwrap();
    // The default settle time (1 s): the pause between the two writes is well under it.
    let server = common::start(Some(&config)).await.unwrap();
    let addr = server.addr;
    let first_half = "http_server_config:\n  headers:\n    X-Frame-Options: deny\n";
    let whole = format!("{first_half}{}", users_yaml("newuser", "newpw"));
    // What makes the half-written file dangerous: it is valid, and has no users.
    let half = webconfig::WebConfig::parse(first_half).unwrap();
    assert!(!half.auth_enabled());

    let prober = Prober::start(addr);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&config)
        .unwrap();
    std::io::Write::write_all(&mut file, first_half.as_bytes()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::io::Write::write_all(&mut file, &whole.as_bytes()[first_half.len()..]).unwrap();
    drop(file);

    let new = Some(("newuser", "newpw"));
    common::eventually("the new user", || async {
        common::status_as(addr, new).await == 200
    })
    .await;
    let reply = common::http_get(addr, "/", &[]).await.unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header("X-Frame-Options"), Some("deny"));
    assert_eq!(
        common::status_as(addr, Some(("olduser", "oldpw"))).await,
        401
    );
    prober.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_or_missing_web_yml_keeps_the_previous_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(&config, users_yaml("olduser", "oldpw")).unwrap();
    let server = common::start_settling(&config).await.unwrap();
    let addr = server.addr;
    let old = Some(("olduser", "oldpw"));

    // Invalid content left in place.
    std::fs::write(&config, "basic_auth_users:\n  newuser: [oops\n").unwrap();
    common::eventually("the invalid file tried", || refused_yet(&server)).await;
    let error = server.handle.last_reload_error().unwrap();
    assert!(error.starts_with("yaml: "), "{error}");
    // Still refused after further requests (it is not read again until it changes).
    for _ in 0..5 {
        assert_eq!(common::status_as(addr, old).await, 200);
        assert_eq!(common::status_as(addr, None).await, 401);
    }

    // A valid file whose TLS files are missing is refused as well.
    std::fs::write(
        &config,
        "tls_server_config:\n  cert_file: nowhere.crt\n  key_file: nowhere.key\n",
    )
    .unwrap();
    common::eventually("the TLS file tried", || async {
        common::status_as(addr, None).await;
        server
            .handle
            .last_reload_error()
            .is_some_and(|e| e.contains("nowhere.crt"))
    })
    .await;
    assert_eq!(common::status_as(addr, old).await, 200);

    // A deleted file.
    std::fs::remove_file(&config).unwrap();
    common::eventually("the missing file tried", || async {
        common::status_as(addr, None).await;
        server
            .handle
            .last_reload_error()
            .is_some_and(|e| e.contains("no such file or directory"))
    })
    .await;
    assert_eq!(common::status_as(addr, old).await, 200);
    assert_eq!(common::status_as(addr, None).await, 401);

    // Back with a good file, it is adopted.
    std::fs::write(&config, users_yaml("newuser", "newpw")).unwrap();
    common::eventually("the new user", || async {
        common::status_as(addr, Some(("newuser", "newpw"))).await == 200
    })
    .await;
    assert_eq!(common::status_as(addr, old).await, 401);
}

/// Replaces `path` by a symlink to `target`, atomically (made aside, renamed over).
fn symlink_over(target: &Path, path: &Path) {
    let aside = path.with_extension("link");
    std::os::unix::fs::symlink(target, &aside).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

#[tokio::test]
async fn endless_web_yml_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    let expected = format!(
        "web config file {:?} is larger than 1 MiB",
        config.display().to_string()
    );
    let started = Instant::now();
    let refused = common::start(Some(&config)).await.err().unwrap();
    assert_eq!(refused, expected);
    // What `pmtool check web-config` runs.
    assert_eq!(
        webconfig::validate(&config).unwrap_err().to_string(),
        expected
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Exactly at the cap is still read.
    let comment = format!("#{}\n", "x".repeat(1024 * 1024 - 2));
    std::fs::remove_file(&config).unwrap();
    std::fs::write(&config, &comment).unwrap();
    assert_eq!(webconfig::validate(&config), Ok(()));
    std::fs::write(&config, format!("{comment} ")).unwrap();
    assert_eq!(
        webconfig::validate(&config).unwrap_err().to_string(),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_web_yml_at_runtime_keeps_the_previous_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(&config, users_yaml("olduser", "oldpw")).unwrap();
    let server = common::start_settling(&config).await.unwrap();
    let addr = server.addr;
    symlink_over(Path::new("/dev/zero"), &config);
    common::eventually("the endless file tried", || refused_yet(&server)).await;
    let error = server.handle.last_reload_error().unwrap();
    assert!(error.ends_with("is larger than 1 MiB"), "{error}");
    assert_eq!(
        common::status_as(addr, Some(("olduser", "oldpw"))).await,
        200
    );
    assert_eq!(common::status_as(addr, None).await, 401);
}

#[tokio::test]
async fn endless_tls_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["server.crt", "server.key", "client_selfsigned.pem"] {
        std::fs::copy(common::conformance(f), dir.path().join(f)).unwrap();
    }
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
    let config = dir.path().join("web.yml");
    let shown = |f: &str| format!("{:?}", dir.path().join(f).display().to_string());
    let cases = [
        (
            "zero",
            "server.key",
            "",
            format!("cert_file {} is larger than 1 MiB", shown("zero")),
        ),
        (
            "server.crt",
            "zero",
            "",
            format!("key_file {} is larger than 1 MiB", shown("zero")),
        ),
        (
            "server.crt",
            "server.key",
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: zero\n",
            format!("client_ca_file {} is larger than 4 MiB", shown("zero")),
        ),
    ];
    for (cert, key, extra, expected) in cases {
        std::fs::write(
            &config,
            format!("tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n{extra}"),
        )
        .unwrap();
        let started = Instant::now();
        let refused = common::start(Some(&config)).await.err().unwrap();
        assert_eq!(refused, expected);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    // The same files, of real size, are fine.
    std::fs::write(
        &config,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client_selfsigned.pem\n",
    )
    .unwrap();
    assert!(common::start(Some(&config)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_as_web_yml_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a pipe with no writer would block; refused before that.
    let started = Instant::now();
    let refused = common::start(Some(&fifo)).await.err().unwrap();
    assert!(refused.contains("is a pipe or socket"), "{refused}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let config = dir.path().join("web.yml");
    std::fs::write(&config, users_yaml("olduser", "oldpw")).unwrap();
    let server = common::start_settling(&config).await.unwrap();
    symlink_over(&fifo, &config);
    common::eventually("the pipe tried", || refused_yet(&server)).await;
    let error = server.handle.last_reload_error().unwrap();
    assert!(error.contains("is a pipe or socket"), "{error}");
    assert_eq!(
        common::status_as(server.addr, Some(("olduser", "oldpw"))).await,
        200
    );
}
