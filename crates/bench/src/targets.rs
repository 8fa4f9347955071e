//! `promethium-bench targets`: many synthetic scrape targets on loopback, for the storage
//! benchmark (`scripts/bench-storage`). Every target serves the same exposition (the scraper
//! tells them apart by their `instance` label): `families` metric families of `series`
//! series each, half counters and half gauges, whose values change every second; or, with
//! `--upstream`, a real exporter's exposition fetched once a second.
//!
//! The HTTP/1.1 server is hand-written on purpose: it is tiny, keeps the bench crate free of
//! a web framework, and costs next to nothing next to the servers under test.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head accepted; a longer one closes the connection.
const MAX_HEAD: usize = 16 * 1024;

/// The current body, swapped as a whole once a second; connections clone the `Arc`.
type Shared = Arc<RwLock<Arc<Vec<u8>>>>;

pub struct Options {
    pub first: Ipv4Addr,
    pub count: u32,
    pub port: u16,
    pub families: u32,
    pub series: u32,
    pub duration_secs: u64,
    /// The query benchmark's workload instead of the changing-every-second one.
    pub deterministic: Option<Deterministic>,
    /// The query benchmark's families, live (for the rule benchmark).
    pub live: Option<Live>,
    /// Native histograms with this many buckets (protobuf) instead of counters and gauges.
    pub native_histogram_buckets: Option<u32>,
    /// A real exporter's exposition, fetched once a second, instead of synthetic families.
    pub upstream: Option<crate::upstream::Upstream>,
}

/// The rule benchmark's workload (`scripts/bench-rules`): the query benchmark's families and
/// labels, with explicit timestamps on a grid of `interval_ms` that run `lead_ms` ahead of
/// the wall clock, and values that depend on the grid point modulo `period_ticks` only (a
/// counter's value is `start + 5 * tick + hash(tick mod period) % 5`, so its increase over a
/// window repeats with the period too). So:
///   - a rule evaluated at T reads only samples stamped <= T, which were scraped ~lead_ms
///     before T: what it sees does not depend on the scrape phase, whatever server scrapes;
///   - two servers run one after the other read the same inputs in evaluations whose latest
///     grid points are a whole number of periods apart.
///
/// Each scraper (told apart by target and `User-Agent`) gets the grid points in sequence,
/// one per scrape; the sequence is re-aligned to the wall clock when a scrape comes too
/// late (a gap) and repeats its last point when scrapes come early (a duplicate, ignored).
#[derive(Clone, Copy)]
pub struct Live {
    pub interval_ms: i64,
    pub lead_ms: i64,
    pub period_ticks: u64,
}

struct LiveState {
    opts: Live,
    families: u32,
    series: u32,
    last: std::sync::Mutex<std::collections::HashMap<(u32, String), i64>>,
    bodies: std::sync::Mutex<std::collections::BTreeMap<i64, Arc<Vec<u8>>>>,
}

impl LiveState {
    fn body_for(&self, target: u32, client: &str) -> Arc<Vec<u8>> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let i = self.opts.interval_ms;
        let want = now_ms + self.opts.lead_ms;
        let aligned = (want + i - 1).div_euclid(i) * i;
        let ts = {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let entry = last.entry((target, client.to_string())).or_insert(i64::MIN);
            let ts = if *entry == i64::MIN {
                aligned
            } else {
                let next = *entry + i;
                if next < want - i / 2 {
                    aligned
                } else if next > want + i + i / 2 {
                    *entry
                } else {
                    next
                }
            };
            *entry = ts;
            ts
        };
        let mut bodies = self.bodies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = bodies.get(&ts) {
            return b.clone();
        }
        let tick = ts.div_euclid(i) as u64;
        let body = Arc::new(render_query_with(
            self.families,
            self.series,
            tick,
            tick % self.opts.period_ticks.max(1),
            ts,
        ));
        bodies.insert(ts, body.clone());
        while bodies.len() > 8 {
            let first = *bodies.keys().next().unwrap_or(&0);
            bodies.remove(&first);
        }
        body
    }
}

/// What a connection serves.
#[derive(Clone)]
enum Mode {
    Shared,
    Ticks(u32, Arc<TickState>),
    Live(u32, Arc<LiveState>),
}

/// The query benchmark's workload (`scripts/bench-query`): every scraper (told apart by its
/// `User-Agent`) gets the same sequence of bodies, the n-th scrape of a target returning
/// tick n with explicit timestamps `start + n * interval`, frozen at the last tick. So two
/// servers scraping the same targets store identical samples, whatever their scrape timing.
/// Families are `bench_metric_<f>_total` counters (even f) and `bench_metric_<f>` gauges
/// (odd f), each series labelled `series` and one of ten `zone`s.
#[derive(Clone, Copy)]
pub struct Deterministic {
    pub ticks: u64,
    pub interval_ms: i64,
    pub start_ms: i64,
    /// Scrapes per client that all get tick 0 before the ticks advance: the first scrapes
    /// create a million series and may time out, which must not cost a tick.
    pub warmup_scrapes: u64,
}

/// Per (target, client) scrape counts and the rendered body of each tick.
struct TickState {
    opts: Deterministic,
    families: u32,
    series: u32,
    scrapes: std::sync::Mutex<std::collections::HashMap<(u32, String), u64>>,
    bodies: std::sync::Mutex<std::collections::BTreeMap<u64, Arc<Vec<u8>>>>,
}

impl TickState {
    fn body_for(&self, target: u32, client: &str) -> Arc<Vec<u8>> {
        let tick = {
            let mut counts = self.scrapes.lock().unwrap_or_else(|e| e.into_inner());
            let n = counts.entry((target, client.to_string())).or_insert(0);
            let tick = (*n)
                .saturating_sub(self.opts.warmup_scrapes)
                .min(self.opts.ticks.saturating_sub(1));
            *n += 1;
            tick
        };
        let mut bodies = self.bodies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = bodies.get(&tick) {
            return b.clone();
        }
        let ts = self.opts.start_ms + tick as i64 * self.opts.interval_ms;
        let body = Arc::new(render_query(self.families, self.series, tick, ts));
        bodies.insert(tick, body.clone());
        // Keep only recent ticks: scrapers are at most a few ticks apart.
        while bodies.len() > 8 {
            let first = *bodies.keys().next().unwrap_or(&0);
            bodies.remove(&first);
        }
        body
    }
}

pub async fn run(opts: Options) -> anyhow::Result<()> {
    if opts.count == 0 {
        bail!("--count must be at least 1");
    }
    let addrs = addresses(opts.first, opts.count)?;
    for a in &addrs {
        crate::ensure_loopback(IpAddr::V4(*a))?;
    }

    let started = Instant::now();
    let histogram_buckets = opts.native_histogram_buckets;
    let render = move |families: u32, series: u32, second: u64| match histogram_buckets {
        Some(buckets) => crate::native_histograms::render(families, series, buckets, second),
        None => render(families, series, second),
    };
    let content_type = if histogram_buckets.is_some() {
        crate::native_histograms::CONTENT_TYPE
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    };
    let first_body = match &opts.upstream {
        Some(u) => u.fetch().await?,
        None => render(opts.families, opts.series, 0),
    };
    let body_len = first_body.len();
    let body: Shared = Arc::new(RwLock::new(Arc::new(first_body)));

    // Bind everything before reporting, so that a taken port fails the run at once.
    let mut listeners = Vec::with_capacity(addrs.len());
    for a in &addrs {
        let addr = SocketAddr::new(IpAddr::V4(*a), opts.port);
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        listeners.push(listener);
    }
    if let Some(d) = opts.deterministic {
        eprintln!(
            "deterministic workload: {} ticks every {} ms, tick timestamps start at {} ms",
            d.ticks, d.interval_ms, d.start_ms
        );
    }
    let what = match &opts.upstream {
        Some(u) => format!("{}{} refreshed every second", u.addr, u.path),
        None => format!("{} families x {} series", opts.families, opts.series),
    };
    eprintln!(
        "serving {} targets on {}..{} port {}: {what}, {} bytes per scrape, for {} s",
        addrs.len(),
        addrs[0],
        addrs[addrs.len() - 1],
        opts.port,
        body_len,
        opts.duration_secs,
    );

    let ticks = opts.deterministic.map(|d| {
        Arc::new(TickState {
            opts: d,
            families: opts.families,
            series: opts.series,
            scrapes: Default::default(),
            bodies: Default::default(),
        })
    });
    let live = opts.live.map(|l| {
        eprintln!(
            "live workload: timestamps every {} ms, {} ms ahead of the clock, values repeating every {} ticks",
            l.interval_ms, l.lead_ms, l.period_ticks
        );
        Arc::new(LiveState {
            opts: l,
            families: opts.families,
            series: opts.series,
            last: Default::default(),
            bodies: Default::default(),
        })
    });
    for (i, listener) in listeners.into_iter().enumerate() {
        let mode = match (&ticks, &live) {
            (_, Some(l)) => Mode::Live(i as u32, l.clone()),
            (Some(t), None) => Mode::Ticks(i as u32, t.clone()),
            (None, None) => Mode::Shared,
        };
        tokio::spawn(accept_loop(listener, body.clone(), mode, content_type));
    }

    let (families, series) = (opts.families, opts.series);
    let renderer_body = body.clone();
    let upstream = opts.upstream.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        tick.tick().await; // the first tick fires at once; second 0 is already rendered
        let mut failures = 0u64;
        loop {
            tick.tick().await;
            let fresh = match &upstream {
                Some(u) => match u.fetch().await {
                    Ok(b) => b,
                    // The targets keep serving the last exposition; say so, once in a while.
                    Err(e) => {
                        failures += 1;
                        if failures.is_power_of_two() {
                            eprintln!("targets: upstream fetch failed ({failures} so far): {e:#}");
                        }
                        continue;
                    }
                },
                None => render(families, series, started.elapsed().as_secs()),
            };
            *renderer_body.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        }
    });

    // A forgotten run stops by itself.
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(opts.duration_secs)) => {
            eprintln!("targets: --duration-secs elapsed, exiting");
        }
        r = tokio::signal::ctrl_c() => {
            r.context("listening for Ctrl-C")?;
            eprintln!("targets: interrupted, exiting");
        }
    }
    Ok(())
}

/// `first`, then the addresses whose last octet is 1, 2, … higher.
fn addresses(first: Ipv4Addr, count: u32) -> anyhow::Result<Vec<Ipv4Addr>> {
    let [a, b, c, d] = first.octets();
    let last = u64::from(d) + u64::from(count.max(1)) - 1;
    if last > 255 {
        bail!("{count} addresses from {first} would overflow the last octet");
    }
    Ok((u64::from(d)..=last)
        .map(|x| Ipv4Addr::new(a, b, c, x as u8))
        .collect())
}

fn current(body: &Shared) -> Arc<Vec<u8>> {
    body.read().unwrap_or_else(|e| e.into_inner()).clone()
}

async fn accept_loop(listener: TcpListener, body: Shared, mode: Mode, content_type: &'static str) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let body = body.clone();
                let mode = mode.clone();
                tokio::spawn(async move {
                    // Errors only end the connection; the scraper reconnects.
                    let _ = serve(stream, body, mode, content_type).await;
                });
            }
            // E.g. out of file descriptors: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Answers every request on a keep-alive connection with the current body, until EOF.
async fn serve(
    mut stream: TcpStream,
    body: Shared,
    mode: Mode,
    content_type: &str,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            if buf.len() > MAX_HEAD {
                bail!("request head over {MAX_HEAD} bytes");
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        if head_end > MAX_HEAD {
            bail!("request head over {MAX_HEAD} bytes");
        }
        let head_text = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let close = head_text.contains("\r\nconnection: close");
        let client = head_text
            .split("\r\n")
            .find_map(|l| l.strip_prefix("user-agent:"))
            .unwrap_or("")
            .trim()
            .to_string();
        // Keep whatever follows (a pipelined request) for the next round.
        buf.drain(..head_end);

        let body = match &mode {
            Mode::Ticks(target, state) => state.body_for(*target, &client),
            Mode::Live(target, state) => state.body_for(*target, &client),
            Mode::Shared => current(&body),
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        if close {
            return Ok(());
        }
    }
}

/// SplitMix64's finaliser: a cheap, well-mixed hash for the synthetic values.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(crate) fn hash(kind: u64, family: u32, series: u32, second: u64) -> u64 {
    mix(mix(mix(kind ^ u64::from(family)) ^ u64::from(series)) ^ second)
}

const COUNTER: u64 = 1;
const GAUGE: u64 = 2;
/// Marks the hash of a counter's starting value (not tied to any second).
const START: u64 = u64::MAX;

/// The exposition at `second` seconds after start. Counters are
/// `start + 5 * second + (hash % 5)`: strictly increasing (each second adds 1 to 9) and a
/// function of family, series and second alone. Gauges are 0 to 999.5 in steps of 0.5.
fn render(families: u32, series: u32, second: u64) -> Vec<u8> {
    let counters = families.div_ceil(2);
    let gauges = families / 2;
    // About 40 bytes per series line.
    let mut out = Vec::with_capacity(families as usize * (series as usize * 40 + 120));
    for f in 0..counters {
        let name = format!("bench_counter_{f}_total");
        // Writing to a Vec cannot fail.
        let _ = writeln!(
            out,
            "# HELP {name} A synthetic counter for storage benchmarks."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        for s in 0..series {
            let start = hash(COUNTER, f, s, START) % 1000;
            let value = start + 5 * second + hash(COUNTER, f, s, second) % 5;
            let _ = writeln!(out, "{name}{{series=\"{s}\"}} {value}");
        }
    }
    for f in 0..gauges {
        let name = format!("bench_gauge_{f}");
        let _ = writeln!(
            out,
            "# HELP {name} A synthetic gauge for storage benchmarks."
        );
        let _ = writeln!(out, "# TYPE {name} gauge");
        for s in 0..series {
            let halves = hash(GAUGE, f, s, second) % 2000;
            let whole = halves / 2;
            if halves % 2 == 1 {
                let _ = writeln!(out, "{name}{{series=\"{s}\"}} {whole}.5");
            } else {
                let _ = writeln!(out, "{name}{{series=\"{s}\"}} {whole}");
            }
        }
    }
    out
}

/// The query benchmark's exposition at `tick`, every sample stamped `ts_ms`.
fn render_query(families: u32, series: u32, tick: u64, ts_ms: i64) -> Vec<u8> {
    render_query_with(families, series, tick, tick, ts_ms)
}

/// `render_query` with the hashed part of the values taken from `phase` (the live workload
/// passes the tick modulo its period).
fn render_query_with(families: u32, series: u32, tick: u64, phase: u64, ts_ms: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(families as usize * (series as usize * 60 + 120));
    for f in 0..families {
        let counter = f % 2 == 0;
        let name = if counter {
            format!("bench_metric_{f}_total")
        } else {
            format!("bench_metric_{f}")
        };
        let kind = if counter { "counter" } else { "gauge" };
        let _ = writeln!(
            out,
            "# HELP {name} A synthetic {kind} for query benchmarks."
        );
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in 0..series {
            let zone = s % 10;
            if counter {
                let start = hash(COUNTER, f, s, START) % 1000;
                let value = start + 5 * tick + hash(COUNTER, f, s, phase) % 5;
                let _ = writeln!(
                    out,
                    "{name}{{series=\"{s}\",zone=\"z{zone}\"}} {value} {ts_ms}"
                );
            } else {
                let halves = hash(GAUGE, f, s, phase) % 2000;
                let _ = writeln!(
                    out,
                    "{name}{{series=\"{s}\",zone=\"z{zone}\"}} {}.{} {ts_ms}",
                    halves / 2,
                    if halves % 2 == 1 { 5 } else { 0 }
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_increment_the_last_octet() {
        let a = addresses(Ipv4Addr::new(127, 0, 0, 1), 3).unwrap();
        assert_eq!(
            a,
            vec![
                Ipv4Addr::new(127, 0, 0, 1),
                Ipv4Addr::new(127, 0, 0, 2),
                Ipv4Addr::new(127, 0, 0, 3)
            ]
        );
        assert!(addresses(Ipv4Addr::new(127, 0, 0, 200), 100).is_err());
    }

    #[test]
    fn live_values_repeat_with_the_period() {
        // Ticks 100 and 108 are a period (8) apart: same gauges, same counter increases.
        let values = |tick: u64| -> Vec<(String, f64)> {
            String::from_utf8(render_query_with(4, 3, tick, tick % 8, 0))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| {
                    let mut p = l.split(' ');
                    (
                        p.next().unwrap().to_string(),
                        p.next().unwrap().parse().unwrap(),
                    )
                })
                .collect()
        };
        let (a0, a1, b0, b1) = (values(100), values(101), values(108), values(109));
        for i in 0..a0.len() {
            if a0[i].0.contains("_total") {
                assert_eq!(a1[i].1 - a0[i].1, b1[i].1 - b0[i].1);
                assert!(a1[i].1 > a0[i].1);
            } else {
                assert_eq!(a0[i].1, b0[i].1);
            }
        }
        assert_ne!(values(100), values(101));
    }

    #[test]
    fn body_shape_and_monotonic_counters() {
        let b0 = String::from_utf8(render(4, 3, 0)).unwrap();
        let b1 = String::from_utf8(render(4, 3, 1)).unwrap();
        let samples = |b: &str| b.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples(b0.as_str()), 12);
        assert!(b0.contains("# TYPE bench_counter_1_total counter\n"));
        assert!(b0.contains("# TYPE bench_gauge_1 gauge\n"));
        assert!(b0.contains("bench_counter_0_total{series=\"2\"} "));
        let value = |b: &str, prefix: &str| -> f64 {
            b.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        for s in 0..3 {
            let p = format!("bench_counter_1_total{{series=\"{s}\"}}");
            assert!(value(b1.as_str(), p.as_str()) > value(b0.as_str(), p.as_str()));
        }
        assert_eq!(render(4, 3, 7), render(4, 3, 7));
    }
}
