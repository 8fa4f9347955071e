//! `promethium-bench queries`: runs the same PromQL queries against two servers on
//! loopback (promethium and Prometheus), alternating, and reports median latencies, their
//! ratio, each query's peak memory, and whether the results are equal.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Options {
    pub ours: SocketAddr,
    pub theirs: SocketAddr,
    pub ours_pid: u32,
    pub theirs_pid: u32,
    /// Evaluation time (seconds since the epoch) of the instant queries and the end of
    /// the range queries.
    pub time: f64,
    pub runs: usize,
    /// `instant:<expr>` or `range:<seconds>:<step seconds>:<expr>`.
    pub queries: Vec<String>,
}

struct Query {
    label: String,
    path: String,
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn parse_query(spec: &str, time: f64) -> anyhow::Result<Query> {
    if let Some(expr) = spec.strip_prefix("instant:") {
        return Ok(Query {
            label: expr.to_string(),
            path: format!("/api/v1/query?query={}&time={time}", urlencode(expr)),
        });
    }
    if let Some(rest) = spec.strip_prefix("range:") {
        let mut parts = rest.splitn(3, ':');
        let range: f64 = parts
            .next()
            .unwrap_or("")
            .parse()
            .context("range seconds")?;
        let step: f64 = parts.next().unwrap_or("").parse().context("step seconds")?;
        let expr = parts.next().unwrap_or("");
        return Ok(Query {
            label: format!("{expr} (range {range} s, step {step} s)"),
            path: format!(
                "/api/v1/query_range?query={}&start={}&end={time}&step={step}",
                urlencode(expr),
                time - range
            ),
        });
    }
    bail!("query {spec:?} must start with instant: or range:")
}

async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(Duration, String)> {
    crate::ensure_loopback(addr.ip())?;
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let elapsed = started.elapsed();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("incomplete response")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok((elapsed, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 || end + 2 + size > data.len() {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
    out
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resets the process's peak RSS to its current RSS (Linux `clear_refs` 5).
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A result's series as label set text and points, sorted, for comparing results.
type Normalised = Vec<(String, Vec<(f64, f64)>)>;

fn normalise(body: &str) -> Result<Normalised, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    if v["status"] != "success" {
        return Err(format!("{}: {}", v["errorType"], v["error"]));
    }
    let num = |x: &Value| -> f64 {
        match x.as_str() {
            Some("NaN") => f64::NAN,
            Some("+Inf") => f64::INFINITY,
            Some("-Inf") => f64::NEG_INFINITY,
            Some(s) => s.parse().unwrap_or(f64::NAN),
            None => x.as_f64().unwrap_or(f64::NAN),
        }
    };
    let mut out = Vec::new();
    for s in v["data"]["result"].as_array().into_iter().flatten() {
        let mut labels: Vec<String> = s["metric"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort();
        let points: Vec<(f64, f64)> = if s.get("value").is_some() {
            vec![(num(&s["value"][0]), num(&s["value"][1]))]
        } else {
            s["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (num(&p[0]), num(&p[1])))
                .collect()
        };
        out.push((labels.join(","), points));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn equal(a: &str, b: &str) -> Result<String, String> {
    let (x, y) = match (normalise(a), normalise(b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), Err(f)) if e == f => return Ok(format!("both fail: {e}")),
        (Err(e), _) => return Err(format!("promethium failed: {e}")),
        (_, Err(f)) => return Err(format!("Prometheus failed: {f}")),
    };
    if x.len() != y.len() {
        return Err(format!("{} series vs {}", x.len(), y.len()));
    }
    for ((la, pa), (lb, pb)) in x.iter().zip(&y) {
        if la != lb {
            return Err(format!("series {la} vs {lb}"));
        }
        if pa.len() != pb.len() {
            return Err(format!("{la}: {} points vs {}", pa.len(), pb.len()));
        }
        for (p, q) in pa.iter().zip(pb) {
            let close = p.1 == q.1
                || (p.1.is_nan() && q.1.is_nan())
                || (p.1 - q.1).abs() <= 1e-6 * (p.1.abs() + q.1.abs());
            if p.0 != q.0 || !close {
                return Err(format!("{la}: {p:?} vs {q:?}"));
            }
        }
    }
    Ok(format!("equal ({} series)", x.len()))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub async fn run(opts: Options) -> anyhow::Result<()> {
    let queries: Vec<Query> = opts
        .queries
        .iter()
        .map(|q| parse_query(q, opts.time))
        .collect::<anyhow::Result<_>>()?;
    println!("| query | promethium | Prometheus 2.42 | ratio | peak memory (promethium / Prometheus) | results |");
    println!("|---|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
    let mut all_equal = true;
    for q in &queries {
        let mut times = [Vec::new(), Vec::new()];
        let mut peaks = [0u64, 0u64];
        let mut bodies = [String::new(), String::new()];
        // One warm-up run each, then alternate so both see the same machine noise.
        for run in 0..=opts.runs {
            for (i, (addr, pid)) in [(opts.ours, opts.ours_pid), (opts.theirs, opts.theirs_pid)]
                .into_iter()
                .enumerate()
            {
                let before = status_kib(pid, "VmRSS:").unwrap_or(0);
                let reset = reset_peak(pid);
                let (t, body) = get(addr, &q.path).await?;
                if reset {
                    let peak = status_kib(pid, "VmHWM:").unwrap_or(0);
                    peaks[i] = peaks[i].max(peak.saturating_sub(before));
                }
                if run > 0 {
                    times[i].push(t);
                }
                bodies[i] = body;
            }
        }
        let (ours, theirs) = (median(times[0].clone()), median(times[1].clone()));
        let ratio = ours.as_secs_f64() / theirs.as_secs_f64().max(1e-9);
        worst = worst.max(ratio);
        let result = match equal(&bodies[0], &bodies[1]) {
            Ok(verdict) => verdict,
            Err(e) => {
                all_equal = false;
                format!("DIFFERENT: {e}")
            }
        };
        println!(
            "| `{}` | {:.3} s | {:.3} s | **{:.2}x** | {:.0} / {:.0} MiB | {} |",
            q.label,
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            ratio,
            peaks[0] as f64 / 1024.0,
            peaks[1] as f64 / 1024.0,
            result
        );
    }
    println!();
    println!(
        "worst latency ratio {worst:.2}x (medians of {} runs each, alternating); results {}",
        opts.runs,
        if all_equal {
            "all equal"
        } else {
            "NOT all equal"
        }
    );
    Ok(())
}
