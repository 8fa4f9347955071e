//! Issue 11, the scrape and web-config findings, against a real `promethium` on loopback
//! (the fixes are tested at crate level in crates/scrape/tests/scrape.rs and
//! crates/webconfig/tests/robustness.rs): hostile scrape targets (a gzip bomb, a body
//! trickling past the scrape timeout) and a web.yml emptied, half written or replaced by
//! `/dev/zero` while the server runs. Each test then checks that the server still answers
//! `/-/healthy` and still holds every sample it held.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A server on a data dir that already holds an hour of backfilled samples.
fn start(dir: &Path, extra: &[&str]) -> Server {
    let data = dir.join("data");
    if !data.exists() {
        backfill(dir, &data, 60);
    }
    let mut args = vec!["--storage.tsdb.path=data"];
    args.extend_from_slice(extra);
    Server::start(dir, &args)
}

fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", reply.text()))
}

fn at(minutes: i64) -> f64 {
    (DATA_START_MS + minutes * 60_000) as f64 / 1000.0
}

/// POSTs a form to an API endpoint, with `headers` (credentials).
fn post(server: &Server, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect();
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    server.request_with_body("POST", path, &all, body.join("&").as_bytes())
}

/// The result of an instant query (at `t` seconds, or now).
fn query(server: &Server, q: &str, t: Option<f64>, headers: &[(&str, &str)]) -> Vec<Value> {
    let t = t.map(|t| t.to_string());
    let mut form = vec![("query", q)];
    if let Some(t) = &t {
        form.push(("time", t));
    }
    let reply = post(server, "/api/v1/query", &form, headers);
    assert_eq!(reply.status, 200, "{q}: {}", reply.text());
    let v = json(&reply);
    v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{q}: {v}"))
        .clone()
}

/// The value of an instant query that gives one sample.
fn value(server: &Server, q: &str, t: Option<f64>, headers: &[(&str, &str)]) -> f64 {
    let result = query(server, q, t, headers);
    assert_eq!(result.len(), 1, "{q}: {result:?}");
    result[0]["value"][1]
        .as_str()
        .unwrap_or_else(|| panic!("{q}: {result:?}"))
        .parse()
        .unwrap()
}

/// The server is up and still holds every backfilled sample (an hour of 12 request
/// counters and 5 temperatures, a sample every 15 s).
fn assert_alive_with_samples(server: &Server, headers: &[(&str, &str)]) {
    let health = server.get("/-/healthy", headers);
    assert_eq!(health.status, 200, "{}", server.log_text());
    let q = "sum(count_over_time(http_requests_total[1h]))";
    assert_eq!(value(server, q, Some(at(60)), headers), 12.0 * 240.0);
    let q = "sum(count_over_time(temperature[1h]))";
    assert_eq!(value(server, q, Some(at(60)), headers), 5.0 * 240.0);
}

/// Peak resident memory of the server process, in bytes.
fn peak_rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("no VmHWM in {status}"))
}

// ---------------------------------------------------------------------------------------
// Scrape targets on loopback.

/// A target on loopback: every connection gets its own thread, which reads the request
/// head and hands the connection to the responder (with a flag set when the target stops).
/// Dropping it stops the target and waits for its threads.
struct Target {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Target {
    fn start<F>(respond: F) -> Target
    where
        F: Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let respond = Arc::new(respond);
        let flag = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            let mut connections: Vec<JoinHandle<()>> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (respond, flag) = (Arc::clone(&respond), Arc::clone(&flag));
                        connections.push(std::thread::spawn(move || {
                            if read_head(&stream) {
                                respond(stream, &flag);
                            }
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
                connections.retain(|c| !c.is_finished());
            }
            for c in connections {
                let _ = c.join();
            }
        });
        Target {
            addr,
            stop,
            accept: Some(accept),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Reads a request head (blocking, with timeouts so that no thread outlives the test).
fn read_head(mut stream: &TcpStream) -> bool {
    let ok = stream.set_nonblocking(false).is_ok()
        && stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .is_ok()
        && stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .is_ok();
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while ok && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    ok
}

/// A response head for a text exposition, closed after the body; `extra` holds more
/// header lines, each ending in `\r\n`.
fn response_head(extra: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n{extra}\r\n"
    )
}

/// A target answering every scrape with `body`, already gzipped, as `Content-Encoding:
/// gzip`, until the scraper hangs up.
fn gzip_target(body: Vec<u8>) -> Target {
    Target::start(move |mut stream, stop| {
        let head = response_head(&format!(
            "Content-Encoding: gzip\r\nContent-Length: {}\r\n",
            body.len()
        ));
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for chunk in body.chunks(64 << 10) {
            if stop.load(Ordering::Relaxed) || stream.write_all(chunk).is_err() {
                return;
            }
        }
    })
}

// ---------------------------------------------------------------------------------------
// Gzip by hand (the server's tests have no deflate library): what a member inflates to is
// literal text, then 258-byte copies of its last 16 bytes. The copies are coded in a
// dynamic Huffman block whose only length is 258 and whose only distance code is 13-16,
// each a 1-bit code: 4 bits for 258 bytes, ~516:1.

/// Packs bits as deflate does: fields from their least significant bit, Huffman codes
/// from their most significant one.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn huff(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | ((code >> i) & 1) << (len - 1 - i));
        self.put(reversed, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

fn crc32(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// One gzip member inflating to `literals` (ASCII, at least 16 bytes) followed by
/// `repeats` × 258 bytes repeating its last 16 bytes; with `repeats` a multiple of 8 the
/// copies end on a whole period (a whole line for a line of 16 bytes). Returns the member
/// and the length it inflates to.
fn gzip_member(literals: &[u8], repeats: usize) -> (Vec<u8>, usize) {
    assert!(literals.len() >= 16 && literals.iter().all(|b| *b < 144));
    assert_eq!(repeats % 8, 0);
    let period = &literals[literals.len() - 16..];
    let mut inflated = literals.to_vec();
    inflated.extend(period.iter().cycle().take(repeats * 258));
    let mut bits = Bits::default();
    // A fixed-Huffman block with the literals (codes 0x30 + byte, 8 bits) and its end.
    bits.put(0, 1);
    bits.put(1, 2);
    for &b in literals {
        bits.huff(0x30 + u64::from(b), 8);
    }
    bits.huff(0, 7);
    // The final block, dynamic: 286 literal/length codes, 8 distance codes, the lengths of
    // 18 code length codes (1: code 0; 17: 10; 18: 11), in their transmission order.
    bits.put(1, 1);
    bits.put(2, 2);
    bits.put(286 - 257, 5);
    bits.put(8 - 1, 5);
    bits.put(18 - 4, 4);
    for symbol in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        bits.put(
            match symbol {
                1 => 1,
                17 | 18 => 2,
                _ => 0,
            },
            3,
        );
    }
    let zeros = |bits: &mut Bits, n: u64| {
        if n >= 11 {
            bits.huff(0b11, 2);
            bits.put(n - 11, 7);
        } else {
            bits.huff(0b10, 2);
            bits.put(n - 3, 3);
        }
    };
    let one = |bits: &mut Bits| bits.huff(0, 1);
    // Literal/length code lengths: only 256 (end of block, code 0) and 285 (length 258,
    // code 1), one bit each.
    zeros(&mut bits, 138);
    zeros(&mut bits, 118);
    one(&mut bits);
    zeros(&mut bits, 28);
    one(&mut bits);
    // Distance code lengths: 0 (code 0, unused) and 7 (13-16, code 1), one bit each.
    one(&mut bits);
    zeros(&mut bits, 6);
    one(&mut bits);
    for _ in 0..repeats {
        bits.huff(1, 1); // length 258
        bits.huff(1, 1); // distance code 7
        bits.put(3, 2); // + 3: distance 16
    }
    bits.huff(0, 1);
    let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    member.extend_from_slice(&bits.finish());
    member.extend_from_slice(&crc32(&inflated).to_le_bytes());
    member.extend_from_slice(&(inflated.len() as u32).to_le_bytes());
    (member, inflated.len())
}

/// A valid gzip body of `bomb_metric 1.0` lines inflating to at least `inflated` bytes:
/// ~1 MiB members (2 KiB each) back to back, as a gzip reader reads them.
fn gzip_bomb(inflated: usize) -> Vec<u8> {
    let (member, size) = gzip_member(b"bomb_metric 1.0\n", 8 * 508);
    member.repeat(inflated.div_ceil(size))
}

/// The scrape targets of a job.
fn targets_of(server: &Server, job: &str) -> Vec<Value> {
    let reply = server.get("/api/v1/targets", &[]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    json(&reply)["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["scrapePool"] == job)
        .cloned()
        .collect()
}

/// Findings on scraping: a gzip bomb (2 MB inflating to 1.1 GiB) fails at the default
/// body cap without the server buffering it, a body trickling past `scrape_timeout` fails
/// by the timeout and stores nothing of what arrived, and a normal target next to them is
/// scraped as usual.
#[test]
fn hostile_scrape_targets_fail_and_the_server_keeps_its_samples() {
    let bomb_body = gzip_bomb(1100 << 20);
    assert!(bomb_body.len() < 3 << 20, "{} bytes", bomb_body.len());
    let bomb = gzip_target(bomb_body);

    let trickled = Arc::new(AtomicUsize::new(0));
    let sent = Arc::clone(&trickled);
    let trickle = Target::start(move |mut stream, stop| {
        // The headers at once (no length: the body ends when the connection does), then a
        // line every 300 ms, until the scraper hangs up.
        if stream.write_all(response_head("").as_bytes()).is_err() {
            return;
        }
        while !stop.load(Ordering::Relaxed) {
            if stream.write_all(b"trickle_metric 1\n").is_err() {
                return;
            }
            sent.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(300));
        }
    });

    // The normal target is gzipped by the same builder as the bomb (a second member of
    // 129 KiB of comments), so a bomb that is not valid gzip would show here.
    let (mut normal_body, mut normal_size) = gzip_member(
        b"# TYPE normal_metric gauge\nnormal_metric 42\n# padding line.\n",
        8,
    );
    let (padding, size) = gzip_member(b"# padding line.\n", 8 * 64);
    normal_body.extend_from_slice(&padding);
    normal_size += size;
    let normal = gzip_target(normal_body);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "scrape_configs:
  - job_name: bomb
    scrape_interval: 4s
    scrape_timeout: 4s
    extra_scrape_metrics: true
    static_configs:
      - targets: ['{}']
  - job_name: trickle
    scrape_interval: 2s
    scrape_timeout: 1s
    static_configs:
      - targets: ['{}']
  - job_name: normal
    scrape_interval: 1s
    extra_scrape_metrics: true
    static_configs:
      - targets: ['{}']
",
            bomb.addr, trickle.addr, normal.addr
        ),
    )
    .unwrap();
    let server = start(dir.path(), &["--config.file=prometheus.yml"]);

    let deadline = Instant::now() + Duration::from_secs(15);
    let [bomb_status, trickle_status, normal_status] = loop {
        let statuses = ["bomb", "trickle", "normal"].map(|job| {
            let targets = targets_of(&server, job);
            assert_eq!(targets.len(), 1, "{job}: {targets:?}");
            targets[0].clone()
        });
        if statuses
            .iter()
            .all(|t| t["lastScrape"] != "0001-01-01T00:00:00Z")
        {
            break statuses;
        }
        assert!(
            Instant::now() < deadline,
            "not every target scraped: {statuses:?}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // The bomb: refused at the default cap, which the error names (see fetch.rs).
    assert_eq!(bomb_status["health"], "down", "{bomb_status}");
    let error = bomb_status["lastError"].as_str().unwrap();
    assert!(
        error.starts_with("body size limit exceeded (the default cap of 268435456 bytes")
            && error.contains("set body_size_limit"),
        "{error}"
    );
    assert!(
        bomb_status["lastScrapeDuration"].as_f64().unwrap() < 4.0,
        "{bomb_status}"
    );
    // The trickle: by the timeout, after about the timeout.
    assert_eq!(trickle_status["health"], "down", "{trickle_status}");
    let error = trickle_status["lastError"].as_str().unwrap();
    assert!(error.contains("context deadline exceeded"), "{error}");
    let took = trickle_status["lastScrapeDuration"].as_f64().unwrap();
    assert!((0.9..2.0).contains(&took), "{trickle_status}");
    assert!(
        trickled.load(Ordering::Relaxed) >= 3,
        "the trickle target sent too little for the test to mean anything"
    );
    // The normal target: up, every byte of its two gzip members inflated.
    assert_eq!(normal_status["health"], "up", "{normal_status}");
    assert_eq!(normal_status["lastError"], "");

    assert_eq!(value(&server, r#"up{job="bomb"}"#, None, &[]), 0.0);
    assert_eq!(
        value(&server, r#"scrape_body_size_bytes{job="bomb"}"#, None, &[]),
        -1.0
    );
    assert_eq!(
        value(&server, r#"scrape_samples_scraped{job="bomb"}"#, None, &[]),
        0.0
    );
    assert_eq!(
        query(&server, "count(bomb_metric)", None, &[]),
        Vec::<Value>::new()
    );
    assert_eq!(value(&server, r#"up{job="trickle"}"#, None, &[]), 0.0);
    assert_eq!(
        query(&server, "count(trickle_metric)", None, &[]),
        Vec::<Value>::new()
    );
    assert_eq!(value(&server, r#"up{job="normal"}"#, None, &[]), 1.0);
    assert_eq!(value(&server, "normal_metric", None, &[]), 42.0);
    assert_eq!(
        value(
            &server,
            r#"scrape_body_size_bytes{job="normal"}"#,
            None,
            &[]
        ),
        normal_size as f64
    );

    // The 256 MiB cap, the server's own memory and nothing more (the body buffer grown
    // by doubling left its old buffers behind: 570 MiB).
    let peak = peak_rss(&server);
    assert!(
        peak < 450 << 20,
        "the server grew to {} MiB while scraping the bomb",
        peak >> 20
    );
    assert_alive_with_samples(&server, &[]);
    eprintln!(
        "peak RSS {} MiB; bomb scrape {}s; trickle scrape {took}s",
        peak >> 20,
        bomb_status["lastScrapeDuration"]
    );
    drop(server);
    drop((bomb, trickle, normal));
}

// ---------------------------------------------------------------------------------------
// web.yml rewritten while the server runs.

/// The status of a GET without credentials, or `None` when the connection failed.
fn status_without_credentials(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let line = raw.split(|b| *b == b'\r').next()?;
    std::str::from_utf8(line)
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// Writes `text` to `path` in place (truncated, same inode), as many editors do.
fn write_in_place(path: &Path, text: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    file.write_all(text).unwrap();
}

/// Replaces `path` atomically by what `make` creates aside.
fn replace(path: &Path, make: impl FnOnce(&Path)) {
    let aside = path.with_extension("new");
    let _ = std::fs::remove_file(&aside);
    make(&aside);
    std::fs::rename(&aside, path).unwrap();
}

/// Sets its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Findings on web.yml: emptied in place, written in two steps, replaced by a symlink to
/// `/dev/zero`: no request without credentials is ever served. An invalid file is
/// reported by `/-/reload` while the previous users keep working, and a new valid file is
/// adopted once it has settled.
#[test]
fn web_yml_rewritten_in_place_never_opens_the_door() {
    let dir = tempfile::tempdir().unwrap();
    let web_yml = tutorial_web_yml(dir.path(), "secret");
    let original = std::fs::read(&web_yml).unwrap();
    // A second user's file, hashed the same way.
    let other = tempfile::tempdir().unwrap();
    let replacement = std::fs::read_to_string(tutorial_web_yml(other.path(), "newpw"))
        .unwrap()
        .replace("    admin: ", "    operator: ");
    assert!(replacement.contains("operator: $2b$10$"), "{replacement}");

    let server = start(
        dir.path(),
        &["--web.config.file=web.yml", "--web.enable-lifecycle"],
    );
    let admin = basic("admin", "secret");
    let admin = [("Authorization", admin.as_str())];
    let operator = basic("operator", "newpw");
    let operator = [("Authorization", operator.as_str())];
    let query_path = "/api/v1/query?query=up";
    assert_eq!(server.get(query_path, &[]).status, 401);
    assert_eq!(server.get(query_path, &admin).status, 200);
    let reload = server.request("POST", "/-/reload", &admin);
    assert_eq!(reload.status, 200, "{}", reload.text());

    // What makes a half-written file dangerous: its first line alone is a valid web.yml
    // without users.
    let split = original.iter().position(|b| *b == b'\n').unwrap() + 1;
    let half =
        webconfig::WebConfig::parse(std::str::from_utf8(&original[..split]).unwrap()).unwrap();
    assert!(!half.auth_enabled());

    let stop = AtomicBool::new(false);
    let statuses: Mutex<Vec<Option<u16>>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let status = status_without_credentials(server.addr, query_path);
                statuses.lock().unwrap().push(status);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        // The prober stops even when a check below fails (the scope waits for it).
        let _stop = StopOnDrop(&stop);
        let still_admin = || {
            let reply = server.get(query_path, &admin);
            assert_eq!(reply.status, 200, "{}", reply.text());
        };
        std::thread::sleep(Duration::from_millis(200));
        // Emptied in place, for well past the settle time.
        write_in_place(&web_yml, b"");
        std::thread::sleep(Duration::from_millis(1500));
        still_admin();
        // Rewritten in two steps, the same content.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&web_yml)
            .unwrap();
        file.write_all(&original[..split]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        file.write_all(&original[split..]).unwrap();
        drop(file);
        std::thread::sleep(Duration::from_millis(1500));
        still_admin();
        // A symlink to /dev/zero: endless.
        replace(&web_yml, |aside| {
            std::os::unix::fs::symlink("/dev/zero", aside).unwrap()
        });
        std::thread::sleep(Duration::from_millis(1500));
        still_admin();
        // The real file back.
        replace(&web_yml, |aside| std::fs::write(aside, &original).unwrap());
        std::thread::sleep(Duration::from_millis(1500));
        still_admin();
    });
    let statuses = statuses.into_inner().unwrap();
    let answered: Vec<u16> = statuses.iter().flatten().copied().collect();
    assert!(
        answered.len() > 100 && answered.len() + 5 >= statuses.len(),
        "{} answers of {} requests",
        answered.len(),
        statuses.len()
    );
    let opened = answered.iter().filter(|s| **s != 401).count();
    assert_eq!(
        opened,
        0,
        "answers without credentials other than 401: {:?}",
        answered
            .iter()
            .filter(|s| **s != 401)
            .take(10)
            .collect::<Vec<_>>()
    );
    assert_eq!(server.get(query_path, &admin).status, 200);
    assert_alive_with_samples(&server, &admin);

    // Invalid YAML left in place: once it has settled and been tried, `/-/reload` reports
    // it; meanwhile and after, the old credentials keep working.
    write_in_place(&web_yml, b"basic_auth_users:\n    admin: [oops\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        assert_eq!(server.get(query_path, &admin).status, 200);
        assert_eq!(server.get(query_path, &[]).status, 401);
        let reload = server.request("POST", "/-/reload", &admin);
        if reload.status != 200 {
            break reload;
        }
        assert!(
            Instant::now() < deadline,
            "the invalid web.yml was never reported"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(refused.status, 500, "{}", refused.text());
    let body = refused.text();
    assert!(
        body.starts_with("failed to reload config: yaml: "),
        "{body}"
    );
    assert_eq!(server.get(query_path, &admin).status, 200);
    assert_eq!(server.get(query_path, &operator).status, 401);

    // A new valid file with another user, in place: adopted once settled.
    write_in_place(&web_yml, replacement.as_bytes());
    let changed = Instant::now();
    while server.get(query_path, &operator).status != 200 {
        assert!(
            changed.elapsed() < Duration::from_secs(5),
            "the new user was not adopted: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        changed.elapsed() >= Duration::from_millis(900),
        "adopted after {:?}, before it settled",
        changed.elapsed()
    );
    assert_eq!(server.get(query_path, &admin).status, 401);
    assert_eq!(server.get(query_path, &[]).status, 401);
    let reload = server.request("POST", "/-/reload", &operator);
    assert_eq!(reload.status, 200, "{}", reload.text());
    assert_alive_with_samples(&server, &operator);
}
