//! The remote-write sender with real receivers: our server scrapes itself and sends to
//! Debian's Prometheus 2.42 (`--web.enable-remote-write-receiver`) and Debian's
//! VictoriaMetrics at once, and the sample counts queried from all three are equal; through
//! a receiver outage longer than several WAL segment cuts, with a restart of our server in
//! the middle, every sample arrives exactly once (a recording receiver here sees each
//! request on the wire, since real stores drop duplicates silently).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn sends_to_prometheus_and_victoria_metrics_and_the_counts_match() {
    let dir = tempfile::tempdir().unwrap();
    let prometheus = Peer::prometheus(
        dir.path(),
        free_port(),
        "scrape_configs: []\n",
        None,
        &["--web.enable-remote-write-receiver"],
    )
    .wait_listening();
    let vm = Peer::victoria_metrics(dir.path(), free_port()).wait_listening();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  external_labels:\n    sender: promethium\n\
             scrape_configs:\n  - job_name: src\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             remote_write:\n\
             \x20 - url: http://127.0.0.1:{}/api/v1/write\n    name: prometheus\n    queue_config: {{batch_send_deadline: 500ms}}\n\
             \x20   write_relabel_configs: [{{source_labels: [__name__], regex: 'scrape_.*', action: drop}}]\n\
             \x20 - url: http://127.0.0.1:{}/api/v1/write\n    name: vm\n    queue_config: {{batch_send_deadline: 500ms}}\n",
            prometheus.port, vm.port
        ),
    )
    .unwrap();
    let server = Server::start_on(dir.path(), port, &["--config.file=prometheus.yml"]);
    // Ten seconds of scrapes, then the raw samples of the last eight seconds at a time
    // the senders have passed, counted on each side. (A range selector returns raw
    // samples; `count_over_time` would drop the names and make series collide.)
    let count = |port: u16, selector: &str, at: f64| -> Option<usize> {
        let result = instant_query(port, &format!("{selector}[8s]"), &at.to_string())?;
        Some(
            result
                .as_array()?
                .iter()
                .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
                // VictoriaMetrics leaves NaN samples out of answers (our summaries
                // without observations have NaN quantiles), so NaNs are not counted.
                .filter(|p| p[1].as_str() != Some("NaN"))
                .count(),
        )
    };
    std::thread::sleep(Duration::from_secs(11));
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let at = (now_s() - 2.0).floor() + 0.5;
        let ours = count(port, "{job=\"src\"}", at);
        // The Prometheus entry's write_relabel_configs drop the scrape_* series.
        let ours_kept = count(port, "{job=\"src\", __name__!~\"scrape_.*\"}", at);
        let theirs = count(prometheus.port, "{job=\"src\", sender=\"promethium\"}", at);
        let vms = count(vm.port, "{job=\"src\", sender=\"promethium\"}", at);
        if ours.is_some_and(|n| n > 100) && ours_kept < ours && ours_kept == theirs && ours == vms {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sample counts differ (ours, ours without scrape_*, prometheus, victoria-metrics): {:?}\nour log:\n{}\nprometheus log:\n{}\nvm log:\n{}",
            (ours, ours_kept, theirs, vms),
            server.log_text(),
            prometheus.log_text(),
            vm.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The queues' metrics say the same: samples sent, none failed, and the 1.0 message.
    let metrics = server.get("/metrics", &[]).text();
    for name in ["prometheus", "vm"] {
        let line = |metric: &str| -> f64 {
            metrics
                .lines()
                .find(|l| l.starts_with(metric) && l.contains(&format!("remote_name=\"{name}\"")))
                .unwrap_or_else(|| panic!("{metric} for {name} missing:\n{metrics}"))
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!(line("prometheus_remote_storage_samples_total{") > 100.0);
        assert_eq!(line("prometheus_remote_storage_samples_failed_total{"), 0.0);
        assert!(line("prometheus_remote_storage_queue_highest_sent_timestamp_seconds{") > 0.0);
        assert_eq!(line("prometheus_remote_storage_shards{"), 1.0);
    }
    let dropped = metrics
        .lines()
        .find(|l| {
            l.starts_with("prometheus_remote_storage_samples_dropped_total{")
                && l.contains("remote_name=\"prometheus\"")
                && l.contains("reason=\"dropped_series\"")
        })
        .unwrap();
    assert!(!dropped.ends_with(" 0"), "{dropped}");
}

/// What the recording receiver saw: each float sample as (series, timestamp, value bits).
type Seen = Arc<Mutex<Vec<(String, i64, u64)>>>;

/// A remote-write 1.0 receiver that records every sample of every request and can go
/// away (connections refused) and come back on the same port.
struct RecordingReceiver {
    up: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RecordingReceiver {
    fn start(port: u16, seen: Seen) -> Self {
        Self::start_slow(port, seen, Duration::ZERO)
    }

    /// A receiver that takes `delay` to answer each request (a remote store under load).
    fn start_slow(port: u16, seen: Seen, delay: Duration) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (up2, seen2) = (Arc::clone(&up), Arc::clone(&seen));
        let thread = std::thread::spawn(move || {
            while up2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (up3, seen3) = (Arc::clone(&up2), Arc::clone(&seen2));
                        std::thread::spawn(move || serve(stream, up3, seen3, delay));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            up,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.up.store(false, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for RecordingReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(stream: TcpStream, up: Arc<AtomicBool>, seen: Seen, delay: Duration) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    while up.load(Ordering::Relaxed) {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue
            }
            Err(_) => return,
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).is_err() {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if !up.load(Ordering::Relaxed) {
            // Went down while the request was read: nothing recorded, no answer.
            return;
        }
        let plain = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let batch = remote::decode_v1(&plain, i64::MAX / 2).unwrap();
        let request =
            <remote::proto::WriteRequest as prost::Message>::decode(plain.as_slice()).unwrap();
        {
            let mut seen = seen.lock().unwrap();
            for (labels, t, v) in batch.samples {
                seen.push((labels.to_string(), t, v.to_bits()));
            }
            // Metadata entries as `# <type> <family> <help>` rows, timestamp -1.
            for m in request.metadata {
                seen.push((
                    format!("# {} {} {}", m.r#type, m.metric_family_name, m.help),
                    -1,
                    0,
                ));
            }
        }
        std::thread::sleep(delay);
        if out
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// Every raw sample of `{job="src"}` our server holds, per series, from `/api/v1/query` of a
/// range selector at `at` covering `range` seconds.
fn stored_samples(port: u16, at: f64, range: u64) -> BTreeMap<String, Vec<i64>> {
    stored_samples_of(port, "src", at, range)
}

/// Every raw sample of `{job="<job>"}`, as `stored_samples`.
fn stored_samples_of(port: u16, job: &str, at: f64, range: u64) -> BTreeMap<String, Vec<i64>> {
    let result = instant_query(
        port,
        &format!("{{job=\"{job}\"}}[{range}s]"),
        &at.to_string(),
    )
    .expect("our server answers");
    let mut out = BTreeMap::new();
    for series in result.as_array().unwrap() {
        let labels: BTreeMap<String, String> = series["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let text = model::Labels::from_pairs(labels).to_string();
        let ts: Vec<i64> = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap() * 1000.0).round() as i64)
            .collect();
        out.insert(text, ts);
    }
    out
}

#[test]
fn an_outage_across_segment_cuts_and_a_restart_loses_nothing_and_sends_once() {
    let dir = tempfile::tempdir().unwrap();
    let receiver_port = free_port();
    let seen: Seen = Arc::default();
    let mut receiver = RecordingReceiver::start(receiver_port, Arc::clone(&seen));
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n  - job_name: src\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             remote_write:\n  - url: http://127.0.0.1:{receiver_port}/api/v1/write\n    name: recorder\n\
             \x20   queue_config: {{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}}\n"
        ),
    )
    .unwrap();
    // Two-second blocks: the head is cut, and a WAL segment started, every few seconds.
    let args = [
        "--config.file=prometheus.yml",
        "--storage.tsdb.path=data",
        "--storage.tsdb.min-block-duration=2s",
        "--storage.tsdb.max-block-duration=2s",
        "--storage.remote.flush-deadline=1s",
    ];
    let server = Server::start_on(dir.path(), port, &args);
    let started = now_s();
    std::thread::sleep(Duration::from_secs(4));
    let segments = || -> usize {
        std::fs::read_dir(dir.path().join("data/wal"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .count()
    };
    let first_segment = || -> u64 {
        std::fs::read_dir(dir.path().join("data/wal"))
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().to_str()?.parse::<u64>().ok())
            .min()
            .unwrap()
    };
    receiver.stop();
    let outage_start_segment = first_segment();
    let outage_started = now_s();
    // Down for cuts, then a restart of our server, then more cuts.
    std::thread::sleep(Duration::from_secs(9));
    // Killed, not stopped: the kept position is whatever was written last.
    drop(server);
    let server = Server::start_on(dir.path(), port, &args);
    std::thread::sleep(Duration::from_secs(9));
    let held = segments();
    assert!(
        held >= 3,
        "the WAL keeps the segments the queue needs (found {held})\n{}",
        server.log_text()
    );
    assert!(
        first_segment() <= outage_start_segment,
        "segments the queue needs were folded away\n{}",
        server.log_text()
    );
    let outage_ended = now_s();
    let mut receiver = RecordingReceiver::start(receiver_port, Arc::clone(&seen));
    // Caught up: every stored sample up to a moment after the outage has arrived.
    let check_at = outage_ended + 3.0;
    std::thread::sleep(Duration::from_secs_f64((check_at - now_s()).max(0.0) + 2.0));
    let range = (check_at - started).ceil() as u64 + 2;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = stored_samples(port, check_at, range);
        let arrived: BTreeMap<String, Vec<i64>> = {
            let seen = seen.lock().unwrap();
            let mut m: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            for (series, t, bits) in seen.iter().filter(|s| s.1 >= 0) {
                // Staleness markers are sent too; a range selector does not return them.
                if *bits == 0x7ff0_0000_0000_0002 || *t as f64 / 1000.0 > check_at {
                    continue;
                }
                m.entry(series.clone()).or_default().push(*t);
            }
            m
        };
        // The queue started with the server: samples before its first scrape exist only
        // if the server appended before the queue began, which it does not.
        let missing: Vec<(String, i64)> = stored
            .iter()
            .flat_map(|(s, ts)| {
                let got = arrived.get(s);
                ts.iter()
                    .filter(move |t| !got.is_some_and(|g| g.contains(t)))
                    .map(move |t| (s.clone(), *t))
            })
            .collect();
        if missing.is_empty() {
            let mut duplicates = Vec::new();
            for (s, ts) in &arrived {
                let mut sorted = ts.clone();
                sorted.sort_unstable();
                for w in sorted.windows(2) {
                    if w[0] == w[1] {
                        duplicates.push((s.clone(), w[0]));
                    }
                }
            }
            assert!(
                duplicates.is_empty(),
                "samples arrived more than once: {} (first {:?})",
                duplicates.len(),
                &duplicates[..duplicates.len().min(5)]
            );
            let total: usize = stored.values().map(Vec::len).sum();
            let during: usize = stored
                .values()
                .flatten()
                .filter(|t| {
                    (**t as f64 / 1000.0) > outage_started && (**t as f64 / 1000.0) < outage_ended
                })
                .count();
            assert!(
                total > 1000 && during > 500,
                "{total} samples, {during} in the outage"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} stored samples never arrived, e.g. {:?}\n{}",
            missing.len(),
            &missing[..missing.len().min(5)],
            server.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    receiver.stop();
}

#[test]
fn metadata_goes_in_requests_of_its_own_every_send_interval() {
    let dir = tempfile::tempdir().unwrap();
    let receiver_port = free_port();
    let seen: Seen = Arc::default();
    let _receiver = RecordingReceiver::start(receiver_port, Arc::clone(&seen));
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n  - job_name: src\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             remote_write:\n  - url: http://127.0.0.1:{receiver_port}/api/v1/write\n\
             \x20   metadata_config: {{send_interval: 1s, max_samples_per_send: 10}}\n"
        ),
    )
    .unwrap();
    let server = Server::start_on(dir.path(), port, &["--config.file=prometheus.yml"]);
    let wanted = "# 2 prometheus_config_last_reload_successful Whether the last configuration reload attempt was successful.";
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.1 < 0)
            .map(|s| s.0.clone())
            .collect();
        if rows.iter().any(|r| r == wanted) {
            // Sent again each interval: more rows than one round holds.
            let families = rows.iter().collect::<std::collections::BTreeSet<_>>().len();
            if rows.len() > families {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "metadata rows: {:?}\n{}",
            &rows[..rows.len().min(5)],
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let metrics = server.get("/metrics", &[]).text();
    let total = metrics
        .lines()
        .find(|l| l.starts_with("prometheus_remote_storage_metadata_total{"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(!total.ends_with(" 0"), "{total}");
}

/// Serves the same exposition of `series` gauges on a loopback port until the test ends.
fn big_target(series: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut body = String::from("# TYPE load gauge\n");
    for i in 0..series {
        body.push_str(&format!("load{{n=\"{i}\"}} {i}\n"));
    }
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    // Skip the headers.
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if out.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_slow_receiver_gets_more_shards_and_resharding_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let receiver_port = free_port();
    let seen: Seen = Arc::default();
    // 4,000 samples a second in requests of 100, each answered after 60 ms: one shard
    // can send about 1,700 a second, so upstream's calculation wants three or more.
    let _receiver =
        RecordingReceiver::start_slow(receiver_port, Arc::clone(&seen), Duration::from_millis(60));
    let target = big_target(4000);
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n  - job_name: load\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n\
             remote_write:\n  - url: http://127.0.0.1:{receiver_port}/api/v1/write\n\
             \x20   queue_config: {{max_samples_per_send: 100, batch_send_deadline: 1s, capacity: 500, max_shards: 8}}\n"
        ),
    )
    .unwrap();
    let server = Server::start(dir.path(), &["--config.file=prometheus.yml"]);
    let started = now_s();
    let metric = |name: &str| -> f64 {
        server
            .get("/metrics", &[])
            .text()
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{")))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric("prometheus_remote_storage_shards") < 2.0 {
        assert!(
            Instant::now() < deadline,
            "never resharded: desired {}\n{}",
            metric("prometheus_remote_storage_shards_desired"),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(server.log_text().contains("remote write resharding"));
    // Every stored sample up to a moment well after the resharding arrives, once.
    let check_at = now_s() + 3.0;
    std::thread::sleep(Duration::from_secs(4));
    let range = (check_at - started).ceil() as u64 + 2;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = stored_samples_of(server.addr.port(), "load", check_at, range);
        let mut arrived: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (series, t, _) in seen.lock().unwrap().iter() {
            if *t >= 0 && (*t as f64) / 1000.0 <= check_at && series.contains("job=\"load\"") {
                arrived.entry(series.clone()).or_default().push(*t);
            }
        }
        let missing: usize = stored
            .iter()
            .map(|(s, ts)| {
                let got = arrived.get(s);
                ts.iter()
                    .filter(|t| !got.is_some_and(|g| g.contains(t)))
                    .count()
            })
            .sum();
        if missing == 0 {
            let total: usize = stored.values().map(Vec::len).sum();
            assert!(total >= 4000 * 10, "{total} samples stored");
            for (s, ts) in &arrived {
                let mut sorted = ts.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), ts.len(), "{s} arrived twice at some time");
                // Per series, in time order on the wire.
                assert!(
                    ts.windows(2).all(|w| w[0] < w[1]),
                    "{s} out of order: {ts:?}"
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} stored samples never arrived\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn failed_request_logging_logs_failed_2_0_requests_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    // Our server without the receiver flag: every write gets 404.
    std::fs::write(dir.path().join("closed.yml"), "scrape_configs: []\n").unwrap();
    let closed = Server::start(dir.path(), &["--config.file=closed.yml"]);
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n  - job_name: src\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             remote_write:\n  - url: http://{}/api/v1/write\n    protobuf_message: io.prometheus.write.v2.Request\n\
             \x20   failed_request_logging: true\n    queue_config: {{batch_send_deadline: 200ms}}\n",
            closed.addr
        ),
    )
    .unwrap();
    let server = Server::start_on(
        dir.path(),
        port,
        &["--config.file=prometheus.yml", "--log.level=debug"],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.log_text();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains("Failed to send remote write v2 request"))
        {
            assert!(
                line.contains("level=debug") && line.contains("404"),
                "{line}"
            );
            assert!(line.contains("__name__="), "the series are named: {line}");
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
