//! The server behaviour column of EXPECTED.tsv, against real listeners on loopback with
//! the conformance certificates, plus the places where we are stricter than upstream.

mod common;

use common::*;
use rustls::crypto::aws_lc_rs::{cipher_suite as cs, kx_group as kx};
use std::path::Path;
use std::time::{Duration, Instant};

const HELLO: &str = "Hello World!";

fn copy_to_temp(dir: &Path, file: &str) -> std::path::PathBuf {
    let target = dir.join(file);
    std::fs::copy(conformance(file), &target).unwrap();
    target
}

/// A temp dir holding the certificates, for configs that are rewritten during a test.
fn temp_with_certs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "server.crt",
        "server.key",
        "client_selfsigned.pem",
        "client2_selfsigned.pem",
    ] {
        copy_to_temp(dir.path(), f);
    }
    dir
}

/// Replaces a file's contents the way an editor or config manager would: write aside, rename.
fn replace_file(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn failed_rows_do_not_start() {
    let table = std::fs::read_to_string(conformance("EXPECTED.tsv")).unwrap();
    let mut refused = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 2 || cols[1] != "FAILED" {
            continue;
        }
        assert!(
            start(Some(&conformance(cols[0]))).await.is_err(),
            "{} started",
            cols[0]
        );
        refused += 1;
    }
    assert!(refused >= 19);
}

#[tokio::test]
async fn empty_config_is_plain_http_without_auth() {
    let server = start(Some(&conformance("web_config_empty.yml")))
        .await
        .unwrap();
    let reply = http_get(server.addr, "/", &[]).await.unwrap();
    assert_eq!((reply.status, reply.body.as_str()), (200, HELLO));
    let no_config = start(None).await.unwrap();
    assert_eq!(
        http_get(no_config.addr, "/", &[]).await.unwrap().status,
        200
    );
    // A TLS client talking to a plain server fails.
    assert!(TlsClient::default()
        .get(no_config.addr, "/", &[])
        .await
        .is_err());
}

#[tokio::test]
async fn tls_server_refuses_plain_http_and_old_clients() {
    let server = start(Some(&conformance("web_config_noAuth.good.yml")))
        .await
        .unwrap();
    let raw = raw_http(server.addr, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("Client sent an HTTP request to an HTTPS server."),
        "{text}"
    );
    let ok = TlsClient::default()
        .get(server.addr, "/", &[])
        .await
        .unwrap();
    assert_eq!((ok.reply.status, ok.reply.body.as_str()), (200, HELLO));

    // rustls has no TLS 1.1 client, so OpenSSL plays the old client.
    let addr = server.addr.to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &addr,
                "-tls1_1",
                "-servername",
                "localhost",
            ])
            .stdin(std::process::Stdio::null())
            .output()
    })
    .await
    .unwrap()
    .expect("openssl is installed (.ci/run installs it)");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The handshake ends in an alert with no cipher agreed and no server certificate seen.
    assert!(
        all.contains("Cipher is (NONE)"),
        "TLS 1.1 handshake succeeded: {all}"
    );
    assert!(all.contains("no peer certificate available"), "{all}");
    assert!(all.contains("alert"), "{all}");
}

#[tokio::test]
async fn inline_cert_and_key() {
    let server = start_file("web_config_noAuth_tlsInline.good.yml").await;
    assert_eq!(TlsClient::default().status(server.addr).await, Ok(200));
    let key_inline = start_file("tls_config_noAuth.requireanyclientcertkeyinline.good.yml").await;
    let client = TlsClient::with_cert("client_selfsigned.pem", "client_selfsigned.key");
    assert_eq!(client.status(key_inline.addr).await, Ok(200));
}

#[tokio::test]
async fn all_ciphers_and_all_curves() {
    for file in [
        "web_config_noAuth_allCiphers.good.yml",
        "web_config_noAuth_allCurves.good.yml",
    ] {
        let server = start_file(file).await;
        for versions in [vec![&rustls::version::TLS12], vec![&rustls::version::TLS13]] {
            let client = TlsClient {
                versions,
                ..Default::default()
            };
            assert_eq!(client.status(server.addr).await, Ok(200), "{file}");
        }
    }
}

#[tokio::test]
async fn some_ciphers_limit_tls12() {
    let server = start(Some(&conformance("web_config_noAuth_someCiphers.good.yml")))
        .await
        .unwrap();
    let only = |suites: Vec<rustls::SupportedCipherSuite>| TlsClient {
        versions: vec![&rustls::version::TLS12],
        suites: Some(suites),
        ..Default::default()
    };
    let ok = only(vec![cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256])
        .get(server.addr, "/", &[])
        .await
        .unwrap();
    assert_eq!(ok.reply.status, 200);
    let refused = only(vec![cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256])
        .get(server.addr, "/", &[])
        .await;
    assert!(refused.unwrap_err().contains("HandshakeFailure"));
    let both = only(vec![
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ])
    .get(server.addr, "/", &[])
    .await
    .unwrap();
    assert_eq!(both.suite, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    // TLS 1.3 is outside max_version.
    let tls13 = TlsClient {
        versions: vec![&rustls::version::TLS13],
        ..Default::default()
    };
    assert!(tls13.get(server.addr, "/", &[]).await.is_err());

    let no_order = start(Some(&conformance(
        "web_config_noAuth_someCiphers_noOrder.good.yml",
    )))
    .await
    .unwrap();
    let chosen = only(vec![
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ])
    .get(no_order.addr, "/", &[])
    .await
    .unwrap();
    assert_eq!(chosen.suite, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
}

#[tokio::test]
async fn some_curves_tls13_p521_only() {
    let server = start_file("web_config_noAuth_someCurves.good.yml").await;
    let with = |groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup>| TlsClient {
        kx_groups: Some(groups),
        ..Default::default()
    };
    assert_eq!(
        with(vec![webconfig::SECP521R1]).status(server.addr).await,
        Ok(200)
    );
    assert!(with(vec![kx::SECP384R1]).status(server.addr).await.is_err());
}

#[tokio::test]
async fn http2_offered_unless_disabled() {
    let h2_client = TlsClient {
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    };
    let off = start(Some(&conformance("web_config_noAuth_noHTTP2.good.yml")))
        .await
        .unwrap();
    assert_eq!(
        h2_client.handshake_alpn(off.addr).await.unwrap(),
        Some(b"http/1.1".to_vec())
    );
    let get = h2_client.get(off.addr, "/", &[]).await.unwrap();
    assert_eq!(get.reply.status, 200);
    // Upstream refuses to start with this file (Go wants an AES-128-GCM suite for HTTP/2).
    // We start and serve HTTP/2 over the configured suite, which RFC 9113 permits.
    let on = start(Some(&conformance(
        "web_config_noAuth_noHTTP2Cipher.bad.yml",
    )))
    .await
    .unwrap();
    assert_eq!(
        h2_client.handshake_alpn(on.addr).await.unwrap(),
        Some(b"h2".to_vec())
    );
}

#[tokio::test]
async fn headers_on_200_and_401() {
    let dir = tempfile::tempdir().unwrap();
    let headers = std::fs::read_to_string(conformance("web_config_headers.good.yml")).unwrap();
    let users = std::fs::read_to_string(conformance("web_config_users_noTLS.good.yml")).unwrap();
    let both = dir.path().join("web.yml");
    std::fs::write(&both, format!("{headers}{users}")).unwrap();
    let server = start(Some(&both)).await.unwrap();
    let expected = [
        (
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ),
        ("X-Frame-Options", "deny"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-XSS-Protection", "1"),
        (
            "Content-Security-Policy",
            "default-src 'self' *.test.example.net",
        ),
    ];
    let denied = http_get(server.addr, "/", &[]).await.unwrap();
    let auth = basic("dave", "dave123");
    let allowed = http_get(server.addr, "/", &[("Authorization", &auth)])
        .await
        .unwrap();
    assert_eq!((denied.status, allowed.status), (401, 200));
    for reply in [denied, allowed] {
        for (name, value) in expected {
            assert_eq!(
                reply.header(name),
                Some(value),
                "{name} on {}",
                reply.status
            );
        }
    }
    let plain = start(Some(&conformance("web_config_headers.good.yml")))
        .await
        .unwrap();
    let reply = http_get(plain.addr, "/", &[]).await.unwrap();
    assert_eq!(reply.header("X-Frame-Options"), Some("deny"));
}

#[tokio::test]
async fn any_client_cert_modes() {
    let server = start_file("tls_config_noAuth.requireanyclientcert.good.yml").await;
    let client1 = TlsClient::with_cert("client_selfsigned.pem", "client_selfsigned.key");
    let client2 = TlsClient::with_cert("client2_selfsigned.pem", "client2_selfsigned.key");
    assert_eq!(client1.status(server.addr).await, Ok(200));
    assert_eq!(client2.status(server.addr).await, Ok(200));
    assert!(TlsClient::default().status(server.addr).await.is_err());
}

#[tokio::test]
async fn mutual_tls_verifies_against_the_client_ca() {
    let server = start_file("tls_config_noAuth.requireandverifyclientcert.good.yml").await;
    let good = TlsClient::with_cert("client_selfsigned.pem", "client_selfsigned.key");
    assert_eq!(good.status(server.addr).await, Ok(200));
    let unknown = TlsClient::with_cert("client2_selfsigned.pem", "client2_selfsigned.key");
    assert!(unknown.status(server.addr).await.is_err());
    assert!(TlsClient::default().status(server.addr).await.is_err());
}

#[tokio::test]
async fn client_allowed_sans() {
    let client1 = TlsClient::with_cert("client_selfsigned.pem", "client_selfsigned.key");
    let client2 = TlsClient::with_cert("client2_selfsigned.pem", "client2_selfsigned.key");
    let good = start_file("web_config_auth_client_san.good.yaml").await;
    assert_eq!(client2.status(good.addr).await, Ok(200));
    let bad = start_file("web_config_auth_client_san.bad.yaml").await;
    assert!(client2.status(bad.addr).await.is_err());

    // Upstream's open bug: an optional client certificate that is absent crashes the SAN
    // check. Here the connection is served.
    let dir = temp_with_certs();
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        format!("{tls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: client2_selfsigned.pem\n  client_allowed_sans: [test3]\n"),
    )
    .unwrap();
    let optional = start(Some(&config)).await.unwrap();
    assert_eq!(TlsClient::default().status(optional.addr).await, Ok(200));
    assert_eq!(client2.status(optional.addr).await, Ok(200));
    let request_only = dir.path().join("request.yml");
    std::fs::write(
        &request_only,
        format!("{tls}  client_auth_type: RequestClientCert\n  client_allowed_sans: [test3]\n"),
    )
    .unwrap();
    let request = start(Some(&request_only)).await.unwrap();
    assert_eq!(TlsClient::default().status(request.addr).await, Ok(200));
    assert!(
        client1.status(request.addr).await.is_err(),
        "a cert without an allowed SAN"
    );
}

#[tokio::test]
async fn verify_without_a_ca_fails_closed() {
    // Go would trust the system roots here; we trust nothing, and say so in a warning.
    let server = start_file("web_config_auth_clientCAs_missing.bad.yml").await;
    let client = TlsClient::with_cert("client_selfsigned.pem", "client_selfsigned.key");
    assert!(client.status(server.addr).await.is_err());
    assert!(TlsClient::default().status(server.addr).await.is_err());
}

#[tokio::test]
async fn tls_settings_reload_without_restart() {
    let dir = temp_with_certs();
    let config = copy_to_temp(dir.path(), "web_config_noAuth.good.blocking.yml");
    let server = start_settling(&config).await.unwrap();
    let client = TlsClient::default();
    assert!(client.status(server.addr).await.is_err());
    let good = std::fs::read(conformance("web_config_noAuth.good.yml")).unwrap();
    replace_file(&config, &good);
    eventually("the new TLS settings", || async {
        client.status(server.addr).await == Ok(200)
    })
    .await;

    // A broken certificate file fails handshakes; restoring it restores service.
    let cert = dir.path().join("server.crt");
    let original = std::fs::read(&cert).unwrap();
    replace_file(&cert, b"not a certificate");
    assert!(client.status(server.addr).await.is_err());
    replace_file(&cert, &original);
    assert_eq!(client.status(server.addr).await, Ok(200));
}

#[tokio::test]
async fn rate_limit() {
    let off = start(Some(&conformance(
        "web_config_rate_limiter_nonblocking.yaml",
    )))
    .await
    .unwrap();
    for _ in 0..11 {
        assert_eq!(http_get(off.addr, "/", &[]).await.unwrap().status, 200);
    }
    let zero_burst = start(Some(&conformance(
        "web_config_rate_limiter_one_second.yaml",
    )))
    .await
    .unwrap();
    let reply = http_get(zero_burst.addr, "/", &[]).await.unwrap();
    assert_eq!(reply.status, 429);
    assert_eq!(reply.body, "Too Many Requests\n");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(&config, "rate_limit:\n  interval: 1h\n  burst: 2\n").unwrap();
    let two = start(Some(&config)).await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(http_get(two.addr, "/", &[]).await.unwrap().status);
    }
    assert_eq!(statuses, vec![200, 200, 429]);
}

#[tokio::test]
async fn basic_auth_users_over_http() {
    let server = start(Some(&conformance("web_config_users_noTLS.good.yml")))
        .await
        .unwrap();
    let get = |user: &str, password: &str| {
        let auth = basic(user, password);
        let addr = server.addr;
        async move {
            http_get(addr, "/", &[("Authorization", &auth)])
                .await
                .unwrap()
        }
    };
    let none = http_get(server.addr, "/", &[]).await.unwrap();
    assert_eq!(none.status, 401);
    assert_eq!(none.header("WWW-Authenticate"), Some("Basic"));
    assert_eq!(none.body, "Unauthorized\n");
    let dave = get("dave", "dave123").await;
    assert_eq!((dave.status, dave.body.as_str()), (200, "Hello dave!"));
    assert_eq!(get("alice", "alice123").await.status, 200);
    assert_eq!(get("alice", "alice1234").await.status, 401);
    assert_eq!(get("fakeuser", "fakepassword").await.status, 401);
    assert_eq!(get("fakeuser", "fakepassword").await.status, 401);
    // CVE-2022-46146: the two logins whose concatenations collide.
    assert_eq!(
        get(
            "alice$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby",
            "fakepassword"
        )
        .await
        .status,
        401
    );
    assert_eq!(
        get(
            "alice",
            "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSifakepassword"
        )
        .await
        .status,
        401
    );
    // 150 concurrent requests of each, now cached, give the same answers.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let (user, password, want) = if i % 2 == 0 {
            ("alice", "alice123", 200)
        } else {
            ("alice", "alice1234", 401)
        };
        let auth = basic(user, password);
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let headers = [("Authorization", auth.as_str())];
            // What is under test is the answer; a connection the loaded machine's loopback
            // resets before any answer (seen once in CI, not reproducible) is asked again.
            let reply = match http_get(addr, "/", &headers).await {
                Ok(r) => r,
                Err(_) => http_get(addr, "/", &headers).await.unwrap(),
            };
            (reply.status, want)
        }));
    }
    for t in tasks {
        let (got, want) = t.await.unwrap();
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn concurrent_first_logins_share_one_bcrypt() {
    // 40 identical uncached logins from one address: without single-flight they would
    // overflow that address's bcrypt queue and some would get 429.
    let server = start(Some(&conformance("web_config_users_noTLS.good.yml")))
        .await
        .unwrap();
    let auth = basic("carol", "carol123");
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let auth = auth.clone();
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            http_get(addr, "/", &[("Authorization", &auth)])
                .await
                .unwrap()
                .status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
}

#[tokio::test]
async fn basic_auth_users_over_tls() {
    let server = start(Some(&conformance("web_config_users.good.yml")))
        .await
        .unwrap();
    let client = TlsClient::default();
    let status = |user: &'static str, password: &'static str| {
        let client = client.clone();
        let addr = server.addr;
        async move {
            let auth = basic(user, password);
            client
                .get(addr, "/", &[("Authorization", &auth)])
                .await
                .unwrap()
                .reply
                .status
        }
    };
    assert_eq!(
        client
            .get(server.addr, "/", &[])
            .await
            .unwrap()
            .reply
            .status,
        401
    );
    assert_eq!(status("dave", "dave123").await, 200);
    assert_eq!(status("carol", "carol123").await, 200);
    assert_eq!(status("dave", "bad").await, 401);
    assert_eq!(status("nonexistent", "nonexistent").await, 401);
}

#[tokio::test]
async fn users_reload_and_broken_file_keeps_the_previous_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    let users = std::fs::read_to_string(conformance("web_config_users_noTLS.good.yml")).unwrap();
    let only_dave: String = users
        .lines()
        .filter(|l| !l.trim_start().starts_with("carol"))
        .map(|l| format!("{l}\n"))
        .collect();
    replace_file(&config, only_dave.as_bytes());
    let server = start_settling(&config).await.unwrap();
    let addr = server.addr;
    let carol = Some(("carol", "carol123"));
    assert_eq!(status_as(addr, carol).await, 401);
    replace_file(&config, users.as_bytes());
    eventually("carol added", || async {
        status_as(addr, carol).await == 200
    })
    .await;

    // Upstream fails every request (500) while the file is broken; here the configuration
    // in force stays, and the handle says why the file is not.
    replace_file(&config, b"basic_auth_users:\n  carol: [oops\n");
    eventually("the broken file tried", || async {
        status_as(addr, None).await;
        server.handle.last_reload_error().is_some()
    })
    .await;
    let error = server.handle.last_reload_error().unwrap();
    assert!(error.starts_with("yaml: "), "{error}");
    assert_eq!(status_as(addr, carol).await, 200);
    let refused = http_get(addr, "/", &[]).await.unwrap();
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (401, "Unauthorized\n")
    );
    replace_file(&config, only_dave.as_bytes());
    eventually("carol removed", || async {
        status_as(addr, carol).await == 401
    })
    .await;
    assert_eq!(server.handle.last_reload_error(), None);

    // Removing every user turns authentication off, as upstream, when written as `{}`: a
    // blank file is taken as one being rewritten.
    replace_file(&config, b"");
    eventually("the blank file tried", || async {
        status_as(addr, None).await;
        server.handle.last_reload_error().is_some()
    })
    .await;
    assert_eq!(status_as(addr, None).await, 401);
    replace_file(&config, b"{}\n");
    eventually("auth off", || async { status_as(addr, None).await == 200 }).await;
}

#[tokio::test]
async fn bad_requests_get_clean_4xx() {
    let server = start(Some(&conformance("web_config_users_noTLS.good.yml")))
        .await
        .unwrap();
    for header in [
        "Basic",
        "Basic !!!!",
        "Bearer abc",
        "Basic YWxpY2U=",
        "basic",
    ] {
        let reply = http_get(server.addr, "/", &[("Authorization", header)])
            .await
            .unwrap();
        assert_eq!(reply.status, 401, "{header}");
    }
    // A user name that is not UTF-8.
    let raw = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"\xff\xfe:password",
    );
    let header = format!("Basic {raw}");
    assert_eq!(
        http_get(server.addr, "/", &[("Authorization", &header)])
            .await
            .unwrap()
            .status,
        401
    );
    // An oversized header block.
    let huge = "x".repeat(200 * 1024);
    let reply = http_get(server.addr, "/", &[("X-Big", &huge)]).await;
    match reply {
        Ok(r) => assert_eq!(r.status, 431),
        Err(e) => assert!(e.contains("reset") || e.contains("Broken pipe"), "{e}"),
    }
    // Garbage instead of HTTP.
    let raw = raw_http(server.addr, b"\x00\x01\x02 garbage\r\n\r\n")
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );
    // The server is still there.
    assert_eq!(http_get(server.addr, "/", &[]).await.unwrap().status, 401);
}

#[tokio::test]
async fn unauthenticated_paths_skip_only_auth() {
    let options = webconfig::HandleOptions {
        unauthenticated_paths: vec!["/-/healthy".into()],
        ..Default::default()
    };
    let server = start_with(
        Some(&conformance("web_config_users_noTLS.good.yml")),
        options,
    )
    .await
    .unwrap();
    assert_eq!(
        http_get(server.addr, "/-/healthy", &[])
            .await
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        http_get(server.addr, "/-/healthy/", &[])
            .await
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        http_get(server.addr, "/metrics", &[]).await.unwrap().status,
        401
    );
}

#[tokio::test]
async fn unknown_users_cost_as_much_as_known_ones() {
    // alice is cost 12, carol and dave cost 10, bob 18: the decoy is the median (12), so an
    // unknown user is not answered faster than a real cost-12 user (upstream's decoy is
    // always cost 10). Compare uncached attempts.
    let server = start(Some(&conformance("web_config_users_noTLS.good.yml")))
        .await
        .unwrap();
    let timed = |user: String, password: String| {
        let addr = server.addr;
        async move {
            let auth = basic(&user, &password);
            let started = Instant::now();
            let status = http_get(addr, "/", &[("Authorization", &auth)])
                .await
                .unwrap()
                .status;
            assert_eq!(status, 401);
            started.elapsed()
        }
    };
    let mut known = Duration::ZERO;
    let mut unknown = Duration::ZERO;
    for i in 0..3 {
        known += timed("alice".into(), format!("wrong{i}")).await;
        unknown += timed(format!("nobody{i}"), format!("wrong{i}")).await;
    }
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!(ratio > 0.6, "unknown {unknown:?} vs known {known:?}");
}

#[tokio::test]
async fn every_bcrypt_prefix_verifies() {
    // Go writes $2a$, Python's bcrypt $2b$, htpasswd -B $2y$: the same algorithm.
    let hash = bcrypt::hash("pw", 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    let mut yaml = String::from("basic_auth_users:\n");
    for prefix in ["2a", "2b", "2y"] {
        yaml.push_str(&format!("  user{prefix}: ${prefix}{}\n", &hash[3..]));
    }
    std::fs::write(&config, yaml).unwrap();
    let server = start(Some(&config)).await.unwrap();
    for prefix in ["2a", "2b", "2y"] {
        let auth = basic(&format!("user{prefix}"), "pw");
        assert_eq!(
            http_get(server.addr, "/", &[("Authorization", &auth)])
                .await
                .unwrap()
                .status,
            200,
            "{prefix}"
        );
    }
}
