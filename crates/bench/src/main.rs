//! `promethium-bench`: load generators for the benchmarks in `scripts/`. They only ever
//! connect to (or listen on) loopback addresses, and every run ends by itself after its
//! duration.

mod history;
mod kube_api;
mod native_histograms;
mod queries;
mod remote_write;
mod rules;
mod targets;
mod upstream;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Floods a server with wrong passwords from one address while legitimate users log in
    /// for the first time from another, and reports the legitimate logins' latency.
    Flood {
        /// Server address (must be on loopback).
        #[arg(long)]
        target: SocketAddr,
        /// Source address of the flood.
        #[arg(long, default_value = "127.0.0.1")]
        flood_source: IpAddr,
        /// Source address of the legitimate logins.
        #[arg(long, default_value = "127.0.0.2")]
        legit_source: IpAddr,
        /// Concurrent flooding connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// User the flood guesses passwords for.
        #[arg(long, default_value = "admin")]
        flood_user: String,
        /// Legitimate `user:password` pairs, each logged in once (uncached).
        #[arg(long, value_delimiter = ',')]
        legit: Vec<String>,
        /// Seconds of flooding before the first legitimate login.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
    },
    /// A fake Kubernetes API server with `pods` pods changing `rate` times per second
    /// (the Kubernetes discovery benchmark).
    KubeApi {
        /// Listening address (must be on loopback).
        #[arg(long, default_value = "127.0.0.1:19443")]
        listen: SocketAddr,
        #[arg(long, default_value_t = 10_000)]
        pods: usize,
        /// Changes per second during the churn.
        #[arg(long, default_value_t = 50)]
        rate: u64,
        /// Seconds before the churn starts.
        #[arg(long, default_value_t = 60)]
        warmup_secs: u64,
        #[arg(long, default_value_t = 120)]
        churn_secs: u64,
        /// Where the file-SD file and the pod lists are written.
        #[arg(long)]
        out_dir: std::path::PathBuf,
        /// Seconds after which the server exits by itself.
        #[arg(long, default_value_t = 300)]
        duration_secs: u64,
    },
    /// Serves synthetic scrape targets (the same changing exposition on each of `count`
    /// loopback addresses) for the storage benchmark.
    Targets {
        /// First listening address; the others increment its last octet.
        #[arg(long, default_value = "127.0.0.1")]
        first: Ipv4Addr,
        /// Number of targets (listening addresses).
        #[arg(long, default_value_t = 100)]
        count: u32,
        /// Port every target listens on.
        #[arg(long, default_value_t = 19300)]
        port: u16,
        /// Metric families per target (half counters, half gauges).
        #[arg(long, default_value_t = 100)]
        families: u32,
        /// Series per family.
        #[arg(long, default_value_t = 100)]
        series: u32,
        /// Seconds after which the server exits by itself.
        #[arg(long, default_value_t = 900)]
        duration_secs: u64,
        /// Serve the query benchmark's deterministic workload with this many ticks: each
        /// scraper's n-th scrape gets tick n (bench_metric_* families with zone labels and
        /// explicit timestamps), so two servers store identical data.
        #[arg(long)]
        ticks: Option<u64>,
        /// Milliseconds between ticks' timestamps (with --ticks or --live).
        #[arg(long, default_value_t = 5000)]
        tick_interval_ms: i64,
        /// Serve the rule benchmark's live workload: the query benchmark's families with
        /// timestamps on a grid running ahead of the clock, values repeating with a period.
        #[arg(long, conflicts_with = "ticks")]
        live: bool,
        /// Milliseconds the live timestamps run ahead of the wall clock.
        #[arg(long, default_value_t = 20_000)]
        live_lead_ms: i64,
        /// Ticks after which the live values repeat.
        #[arg(long, default_value_t = 8)]
        live_period_ticks: u64,
        /// Serve native histograms with this many buckets each (protobuf), `families` x
        /// `series` of them, instead of counters and gauges.
        #[arg(long, conflicts_with_all = ["ticks", "live"])]
        native_histogram_buckets: Option<u32>,
        /// Serve a real exporter's exposition instead (`http://127.0.0.1:PORT/metrics`,
        /// fetched once a second in the text format): its real series and value patterns on
        /// every target.
        #[arg(long, conflicts_with_all = ["ticks", "live", "native_histogram_buckets"])]
        upstream: Option<String>,
    },
    /// Writes hours of the storage benchmark's synthetic series, as OpenMetrics and as the
    /// Prometheus text format with timestamps, for backfilling (`scripts/bench-disk`).
    History {
        /// Targets (an `instance` label each).
        #[arg(long, default_value_t = 10)]
        targets: u32,
        /// Metric families per target (alternately counters and gauges).
        #[arg(long, default_value_t = 50)]
        families: u32,
        /// Series per family and target.
        #[arg(long, default_value_t = 100)]
        series: u32,
        /// First sample's time, in ms since the epoch.
        #[arg(long)]
        start_ms: i64,
        /// Hours of samples.
        #[arg(long, default_value_t = 2)]
        hours: u32,
        /// Seconds between samples.
        #[arg(long, default_value_t = 15)]
        step_secs: u32,
        /// The OpenMetrics file to write.
        #[arg(long)]
        openmetrics: std::path::PathBuf,
        /// The Prometheus text file (millisecond timestamps) to write.
        #[arg(long)]
        prometheus: std::path::PathBuf,
    },
    /// Writes the rule benchmark's rule file (one recording rule per family and zone of the
    /// query benchmark's data set) and prints how many series the rules output.
    Rules {
        /// Output file.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Metric families (half counters, half gauges).
        #[arg(long, default_value_t = 100)]
        families: u32,
        /// Zones (the data set has ten).
        #[arg(long, default_value_t = 10)]
        zones: u32,
        /// Rule groups (each holds whole families).
        #[arg(long, default_value_t = 10)]
        groups: u32,
        /// Targets scraped (for the count of output series).
        #[arg(long, default_value_t = 100)]
        targets: u32,
        /// Series per family and target.
        #[arg(long, default_value_t = 100)]
        series: u32,
        /// Evaluation interval of every group.
        #[arg(long, default_value = "15s")]
        interval: String,
    },
    /// Compares two /api/v1/query matrix results (recorded series) of promethium and
    /// Prometheus, pairing evaluations a whole number of data periods apart.
    RulesCompare {
        #[arg(long)]
        ours: String,
        #[arg(long)]
        theirs: String,
        /// The live data's tick interval in milliseconds.
        #[arg(long, default_value_t = 15_000)]
        tick_ms: i64,
        /// Ticks after which the live data repeat.
        #[arg(long, default_value_t = 8)]
        period_ticks: i64,
    },
    /// A minimal remote-write receiver for the remote-write benchmark: takes 1.0 requests at
    /// POST /api/v1/write (204), counts requests, samples and bytes, and serves the counts
    /// at GET /metrics.
    Sink {
        /// Listening address (must be on loopback).
        #[arg(long)]
        listen: SocketAddr,
        /// Seconds after which the sink prints its counts and exits by itself.
        #[arg(long, default_value_t = 900)]
        duration_secs: u64,
    },
    /// Posts remote-write 1.0 requests (distinct series, timestamps near now) to a receiver
    /// as fast as it takes them, and prints the samples per second it accepted.
    WriteLoad {
        /// The receiver's address (must be on loopback); requests go to /api/v1/write.
        #[arg(long)]
        target: SocketAddr,
        /// Distinct series, shared out between the connections.
        #[arg(long, default_value_t = 100_000)]
        series: u32,
        /// Samples (one per series) in each request.
        #[arg(long, default_value_t = 2000)]
        samples_per_request: u32,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 4)]
        connections: u32,
        /// Seconds of load.
        #[arg(long, default_value_t = 60)]
        duration_secs: u64,
    },
    /// Runs the same queries against promethium and Prometheus (both on loopback),
    /// alternating, and prints a table of median latencies, ratios, peak memory per query
    /// and whether the results are equal.
    Queries {
        /// promethium's address.
        #[arg(long)]
        ours: SocketAddr,
        /// Prometheus's address.
        #[arg(long)]
        theirs: SocketAddr,
        /// promethium's process id (for peak memory).
        #[arg(long)]
        ours_pid: u32,
        /// Prometheus's process id.
        #[arg(long)]
        theirs_pid: u32,
        /// Evaluation time in seconds since the epoch (end of range queries).
        #[arg(long)]
        time: f64,
        /// Timed runs per query and server (after one warm-up).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// `instant:<expr>` or `range:<range s>:<step s>:<expr>`; repeatable.
        #[arg(long = "query", required = true)]
        queries: Vec<String>,
    },
}

fn ensure_loopback(addr: IpAddr) -> anyhow::Result<()> {
    if !addr.is_loopback() {
        bail!("{addr} is not a loopback address: load tests only target this machine");
    }
    Ok(())
}

async fn connect(source: IpAddr, target: SocketAddr) -> anyhow::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends one keep-alive GET and reads the response; returns the status code.
async fn request(
    stream: &mut TcpStream,
    path: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<u16> {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\n\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 64 * 1024 {
            bail!("response headers too large");
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .context("response without content-length")?;
    let mut have = buf.len() - header_end;
    while have < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed in body");
        }
        have += n;
    }
    Ok(status)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[allow(clippy::too_many_arguments)]
async fn flood(
    target: SocketAddr,
    flood_source: IpAddr,
    legit_source: IpAddr,
    connections: usize,
    flood_user: String,
    legit: Vec<String>,
    warmup: u64,
) -> anyhow::Result<()> {
    for a in [target.ip(), flood_source, legit_source] {
        ensure_loopback(a)?;
    }
    if legit.is_empty() {
        bail!("--legit needs at least one user:password");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let unauthorized = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let mut flooders = Vec::new();
    for c in 0..connections {
        let (stop, unauthorized, refused, user) = (
            stop.clone(),
            unauthorized.clone(),
            refused.clone(),
            flood_user.clone(),
        );
        flooders.push(tokio::spawn(async move {
            let mut n: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut stream) = connect(flood_source, target).await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let password = format!("guess-{c}-{n}");
                    match request(&mut stream, "/-/healthy", &user, &password).await {
                        Ok(429) => refused.fetch_add(1, Ordering::Relaxed),
                        Ok(_) => unauthorized.fetch_add(1, Ordering::Relaxed),
                        Err(_) => break,
                    };
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    let flood_started = Instant::now();
    let before = unauthorized.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut failures = 0;
    for pair in &legit {
        let (user, password) = pair
            .split_once(':')
            .context("--legit entries are user:password")?;
        let started = Instant::now();
        let mut stream = connect(legit_source, target).await?;
        let status = tokio::time::timeout(
            Duration::from_secs(60),
            request(&mut stream, "/-/healthy", user, password),
        )
        .await
        .context("a legitimate login took over 60 s")??;
        latencies.push(started.elapsed());
        if status != 200 {
            failures += 1;
        }
    }
    let flood_secs = flood_started.elapsed().as_secs_f64();
    let answered = unauthorized.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.abort();
    }
    latencies.sort();
    println!(
        "legit_logins={} legit_failures={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} flood_answers_per_s={:.1} flood_401={} flood_429={}",
        latencies.len(),
        failures,
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        answered as f64 / flood_secs,
        unauthorized.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::KubeApi {
            listen,
            pods,
            rate,
            warmup_secs,
            churn_secs,
            out_dir,
            duration_secs,
        } => {
            kube_api::run(kube_api::Options {
                listen,
                pods,
                rate,
                warmup_secs,
                churn_secs,
                out_dir,
                duration_secs,
            })
            .await
        }
        Command::Flood {
            target,
            flood_source,
            legit_source,
            connections,
            flood_user,
            legit,
            warmup,
        } => {
            flood(
                target,
                flood_source,
                legit_source,
                connections,
                flood_user,
                legit,
                warmup,
            )
            .await
        }
        Command::Queries {
            ours,
            theirs,
            ours_pid,
            theirs_pid,
            time,
            runs,
            queries,
        } => {
            queries::run(queries::Options {
                ours,
                theirs,
                ours_pid,
                theirs_pid,
                time,
                runs: runs.max(1),
                queries,
            })
            .await
        }
        Command::Targets {
            first,
            count,
            port,
            families,
            series,
            duration_secs,
            ticks,
            tick_interval_ms,
            live,
            live_lead_ms,
            live_period_ticks,
            native_histogram_buckets,
            upstream,
        } => {
            let upstream = upstream
                .as_deref()
                .map(upstream::Upstream::parse)
                .transpose()?;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let deterministic = ticks.map(|ticks| targets::Deterministic {
                ticks,
                interval_ms: tick_interval_ms.max(1),
                // Aligned, so the timestamps are easy to query at.
                start_ms: now_ms - now_ms.rem_euclid(60_000),
                warmup_scrapes: 12,
            });
            targets::run(targets::Options {
                first,
                count,
                port,
                families,
                series,
                duration_secs,
                deterministic,
                live: live.then_some(targets::Live {
                    interval_ms: tick_interval_ms.max(1),
                    lead_ms: live_lead_ms,
                    period_ticks: live_period_ticks.max(1),
                }),
                native_histogram_buckets,
                upstream,
            })
            .await
        }
        Command::Sink {
            listen,
            duration_secs,
        } => {
            remote_write::sink(remote_write::SinkOptions {
                listen,
                duration_secs,
            })
            .await
        }
        Command::WriteLoad {
            target,
            series,
            samples_per_request,
            connections,
            duration_secs,
        } => {
            remote_write::write_load(remote_write::LoadOptions {
                target,
                series,
                samples_per_request,
                connections,
                duration_secs,
            })
            .await
        }
        Command::History {
            targets,
            families,
            series,
            start_ms,
            hours,
            step_secs,
            openmetrics,
            prometheus,
        } => history::write(&history::Options {
            targets,
            families,
            series,
            start_ms,
            hours,
            step_secs,
            openmetrics,
            prometheus,
        }),
        Command::Rules {
            out,
            families,
            zones,
            groups,
            targets,
            series,
            interval,
        } => {
            let o = rules::GenOptions {
                families,
                zones,
                groups,
                targets,
                series,
                interval,
            };
            let (yaml, outputs) = rules::generate(&o)?;
            std::fs::write(&out, yaml).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "rules={} groups={} output_series={} series_read_per_rule={}",
                families * zones,
                groups,
                outputs,
                u64::from(targets) * u64::from(series.div_ceil(zones.max(1)))
            );
            Ok(())
        }
        Command::RulesCompare {
            ours,
            theirs,
            tick_ms,
            period_ticks,
        } => rules::compare(&ours, &theirs, tick_ms.max(1), period_ticks.max(1)),
    }
}
