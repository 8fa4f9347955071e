//! The remote-write benchmark's two ends (`scripts/bench-remote-write`):
//!   - `sink`: a minimal remote-write receiver that decodes and counts what a sender posts
//!     (so the sender under test pays for real HTTP round trips and a real 204, while the
//!     receiving costs next to nothing and stays out of the sender's process), and serves
//!     its counts at `GET /metrics` for the script;
//!   - `write-load`: posts remote-write 1.0 requests to a receiver under test as fast as it
//!     takes them, and reports the samples per second it accepted.
//!
//! HTTP/1.1 is hand-written, as in `targets.rs`: both sides only need keep-alive requests
//! with a length-delimited (or chunked) body, and a framework would add its own costs to the
//! machine the servers under test share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use prost::Message;
use remote::proto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request or response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest body read; remote-write bodies are snappy-compressed batches of a few thousand
/// samples, far below this.
const MAX_BODY: usize = 64 << 20;

/// A parsed request or response head: the first line and the headers, names lower-cased.
struct Head {
    first_line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// One keep-alive connection with the bytes read but not yet consumed.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn new(stream: TcpStream) -> anyhow::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Reads more bytes into the buffer; 0 at end of stream.
    async fn fill(&mut self) -> std::io::Result<usize> {
        let len = self.buf.len();
        self.buf.resize(len + 64 * 1024, 0);
        let r = self.stream.read(&mut self.buf[len..]).await;
        let n = *r.as_ref().unwrap_or(&0);
        self.buf.truncate(len + n);
        r
    }

    /// The next head, or `None` at a clean end of stream between messages.
    async fn read_head(&mut self) -> anyhow::Result<Option<Head>> {
        // Where to resume looking for the blank line, so a head read in pieces is not
        // searched from the start each time.
        let mut from = 0;
        let end = loop {
            if let Some(p) = self.buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
                break from + p + 4;
            }
            from = self.buf.len().saturating_sub(3);
            if self.buf.len() > MAX_HEAD {
                bail!("head over {MAX_HEAD} bytes");
            }
            if self.fill().await? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                bail!("connection closed inside a head");
            }
        };
        let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end);
        let mut lines = text.split("\r\n");
        let first_line = lines.next().unwrap_or("").to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Ok(Some(Head {
            first_line,
            headers,
        }))
    }

    /// Exactly `n` bytes of body.
    async fn read_exact_body(&mut self, n: usize) -> anyhow::Result<Vec<u8>> {
        if n > MAX_BODY {
            bail!("body of {n} bytes is over {MAX_BODY}");
        }
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                bail!("connection closed inside a body");
            }
        }
        let rest = self.buf.split_off(n);
        Ok(std::mem::replace(&mut self.buf, rest))
    }

    /// A chunked body (trailers skipped).
    async fn read_chunked(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line().await?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .with_context(|| format!("bad chunk size line {line:?}"))?;
            if size == 0 {
                // Trailers, up to the blank line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY {
                bail!("chunked body over {MAX_BODY} bytes");
            }
            let chunk = self.read_exact_body(size + 2).await?;
            body.extend_from_slice(&chunk[..size]);
        }
    }

    async fn read_line(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..p]).into_owned();
                self.buf.drain(..p + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_HEAD {
                bail!("line over {MAX_HEAD} bytes");
            }
            if self.fill().await? == 0 {
                bail!("connection closed inside a chunked body");
            }
        }
    }

    /// The body that follows `head`: by Content-Length, chunked, or (`to_eof`, for a
    /// response without either) up to the end of the stream.
    async fn read_body(&mut self, head: &Head, to_eof: bool) -> anyhow::Result<Vec<u8>> {
        if head.has_token("transfer-encoding", "chunked") {
            return self.read_chunked().await;
        }
        if let Some(len) = head.header("content-length") {
            let len: usize = len
                .parse()
                .with_context(|| format!("bad content-length {len:?}"))?;
            return self.read_exact_body(len).await;
        }
        if !to_eof {
            return Ok(Vec::new());
        }
        while self.fill().await? > 0 {
            if self.buf.len() > MAX_BODY {
                bail!("body over {MAX_BODY} bytes");
            }
        }
        Ok(std::mem::take(&mut self.buf))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What a sink has received, for its `/metrics`.
#[derive(Default)]
struct SinkCounts {
    requests: AtomicU64,
    samples: AtomicU64,
    histograms: AtomicU64,
    exemplars: AtomicU64,
    metadata: AtomicU64,
    /// Compressed body bytes.
    bytes: AtomicU64,
    /// Requests answered with anything but 204.
    errors: AtomicU64,
    /// Newest sample timestamp received (ms), for a lag measured at the receiving end.
    highest_ms: AtomicI64,
    first_error: Mutex<Option<String>>,
}

impl SinkCounts {
    fn text(&self) -> String {
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# TYPE sink_requests_total counter\nsink_requests_total {}\n\
             # TYPE sink_samples_total counter\nsink_samples_total {}\n\
             # TYPE sink_histograms_total counter\nsink_histograms_total {}\n\
             # TYPE sink_exemplars_total counter\nsink_exemplars_total {}\n\
             # TYPE sink_metadata_total counter\nsink_metadata_total {}\n\
             # TYPE sink_bytes_total counter\nsink_bytes_total {}\n\
             # TYPE sink_errors_total counter\nsink_errors_total {}\n\
             # TYPE sink_highest_timestamp_seconds gauge\nsink_highest_timestamp_seconds {:.3}\n",
            c(&self.requests),
            c(&self.samples),
            c(&self.histograms),
            c(&self.exemplars),
            c(&self.metadata),
            c(&self.bytes),
            c(&self.errors),
            self.highest_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        )
    }

    fn error(&self, text: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            eprintln!("sink: first error: {text}");
            *first = Some(text);
        }
    }

    /// Decodes one remote-write body and counts it; the status and text to answer.
    fn write(&self, head: &Head, body: &[u8]) -> (u16, String) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        // Only 1.0 is taken: a 2.0 sender falls back to 1.0 on the 415, as upstream's does.
        let decoded = remote::negotiate(
            head.header("content-encoding"),
            head.header("content-type"),
            &[remote::MessageType::V1],
        )
        .and_then(|_| remote::decompress(body, remote::MAX_DECOMPRESSED_BYTES))
        .and_then(|raw| {
            proto::WriteRequest::decode(raw.as_slice())
                .map_err(|e| remote::Refused::BadRequest(e.to_string()))
        });
        let req = match decoded {
            Ok(r) => r,
            Err(e) => {
                self.error(format!("{} {e}", e.status()));
                return (e.status(), e.to_string());
            }
        };
        let (mut samples, mut histograms, mut exemplars, mut highest) = (0, 0, 0, i64::MIN);
        for ts in &req.timeseries {
            samples += ts.samples.len() as u64;
            histograms += ts.histograms.len() as u64;
            exemplars += ts.exemplars.len() as u64;
            for s in &ts.samples {
                highest = highest.max(s.timestamp);
            }
        }
        self.samples.fetch_add(samples, Ordering::Relaxed);
        self.histograms.fetch_add(histograms, Ordering::Relaxed);
        self.exemplars.fetch_add(exemplars, Ordering::Relaxed);
        self.metadata
            .fetch_add(req.metadata.len() as u64, Ordering::Relaxed);
        self.highest_ms.fetch_max(highest, Ordering::Relaxed);
        (204, String::new())
    }
}

pub struct SinkOptions {
    pub listen: SocketAddr,
    pub duration_secs: u64,
}

/// Runs a sink until its duration has elapsed (or Ctrl-C), then prints its counts.
pub async fn sink(opts: SinkOptions) -> anyhow::Result<()> {
    crate::ensure_loopback(opts.listen.ip())?;
    let listener = TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    eprintln!(
        "sink: remote-write receiver on http://{}/api/v1/write (counts at /metrics) for {} s",
        opts.listen, opts.duration_secs
    );
    let counts = Arc::new(SinkCounts::default());
    let accepting = counts.clone();
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let counts = accepting.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve_sink(stream, &counts).await {
                            // A sender that drops a connection mid-request did not get its
                            // answer: that is an error the script must see.
                            counts.error(format!("connection: {e:#}"));
                        }
                    });
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    // A forgotten sink stops by itself.
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(opts.duration_secs)) => {}
        r = tokio::signal::ctrl_c() => r.context("listening for Ctrl-C")?,
    }
    print!("{}", counts.text());
    Ok(())
}

async fn serve_sink(stream: TcpStream, counts: &SinkCounts) -> anyhow::Result<()> {
    let mut conn = Conn::new(stream)?;
    while let Some(head) = conn.read_head().await? {
        let mut parts = head.first_line.split(' ');
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if head.has_token("expect", "100-continue") {
            conn.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        let close = head.has_token("connection", "close");
        let body = conn.read_body(&head, false).await?;
        let (status, text, content_type) = match (method, path) {
            ("POST", "/api/v1/write") => {
                if head.header("content-length").is_none()
                    && !head.has_token("transfer-encoding", "chunked")
                {
                    counts.error("411 request without a length".into());
                    (411, "length required\n".into(), "text/plain")
                } else {
                    let (s, t) = counts.write(&head, &body);
                    (s, t, "text/plain")
                }
            }
            ("GET", "/metrics") => (200, counts.text(), "text/plain; version=0.0.4"),
            _ => (404, "not found\n".to_string(), "text/plain"),
        };
        let reason = match status {
            200 => "OK",
            204 => "No Content",
            400 => "Bad Request",
            404 => "Not Found",
            411 => "Length Required",
            413 => "Payload Too Large",
            415 => "Unsupported Media Type",
            _ => "Error",
        };
        let connection = if close { "Connection: close\r\n" } else { "" };
        let reply = if status == 204 {
            format!("HTTP/1.1 204 {reason}\r\n{connection}\r\n")
        } else {
            format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{connection}\r\n{text}",
                text.len()
            )
        };
        conn.stream.write_all(reply.as_bytes()).await?;
        if close {
            break;
        }
    }
    Ok(())
}

pub struct LoadOptions {
    pub target: SocketAddr,
    pub series: u32,
    pub samples_per_request: u32,
    pub connections: u32,
    pub duration_secs: u64,
}

/// What one connection did.
#[derive(Default)]
struct ConnResult {
    requests: u64,
    samples: u64,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
}

/// The labels of series `i`: sorted by name, as remote write requires; fifty metric names
/// so a receiver's postings look like a real scrape's rather than one huge family.
fn series_labels(i: u32) -> Vec<proto::Label> {
    let label = |name: &str, value: String| proto::Label {
        name: name.to_string(),
        value,
    };
    vec![
        label("__name__", format!("bench_rw_metric_{}", i % 50)),
        label("instance", "127.0.0.1:9".to_string()),
        label("job", "write-load".to_string()),
        label("series", i.to_string()),
    ]
}

/// Posts remote-write 1.0 requests as fast as the target answers them, from `connections`
/// keep-alive connections, each owning its own series (so each series' timestamps increase
/// from one request to the next, in order), and prints what was accepted.
///
/// A connection's series are split into requests of `samples_per_request` series with one
/// sample each; it sends them all (a round), then the next round with a later timestamp:
/// the wall clock, or 1 ms past the previous round when rounds come faster than that. So
/// the samples are always near now, which any receiver accepts.
pub async fn write_load(opts: LoadOptions) -> anyhow::Result<()> {
    crate::ensure_loopback(opts.target.ip())?;
    if opts.connections == 0 || opts.samples_per_request == 0 {
        bail!("--connections and --samples-per-request must be at least 1");
    }
    if opts.series < opts.connections {
        bail!("--series must be at least --connections (each connection owns series)");
    }
    let deadline = Instant::now() + Duration::from_secs(opts.duration_secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..opts.connections {
        // Series c, c + C, c + 2C, ... in requests of samples_per_request.
        let mine: Vec<u32> = (c..opts.series)
            .step_by(opts.connections as usize)
            .collect();
        let requests: Vec<proto::WriteRequest> = mine
            .chunks(opts.samples_per_request as usize)
            .map(|chunk| proto::WriteRequest {
                timeseries: chunk
                    .iter()
                    .map(|&i| proto::TimeSeries {
                        labels: series_labels(i),
                        samples: vec![proto::Sample {
                            value: 0.0,
                            timestamp: 0,
                        }],
                        ..Default::default()
                    })
                    .collect(),
                metadata: Vec::new(),
            })
            .collect();
        let target = opts.target;
        tasks.push(tokio::spawn(async move {
            load_connection(target, requests, deadline).await
        }));
    }
    let mut total = ConnResult::default();
    for t in tasks {
        let r = t.await.context("a load connection panicked")?;
        total.requests += r.requests;
        total.samples += r.samples;
        total.bytes += r.bytes;
        total.errors += r.errors;
        total.latencies.extend(r.latencies);
        if total.first_error.is_none() {
            total.first_error = r.first_error;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    total.latencies.sort();
    if let Some(e) = &total.first_error {
        eprintln!("write-load: first error: {e}");
    }
    // This process's own CPU, so the script can say how much of the machine the load took
    // from the receiver (clock ticks: the script knows CLK_TCK).
    let cpu_ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which may hold spaces: state is field 3, utime
            // and stime fields 14 and 15.
            let rest = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .map_or_else(|| "nan".to_string(), |t| t.to_string());
    println!(
        "write_load seconds={secs:.2} requests={} samples={} samples_per_s={:.0} bytes={} errors={} p50_ms={:.2} p99_ms={:.2} cpu_ticks={cpu_ticks}",
        total.requests,
        total.samples,
        total.samples as f64 / secs,
        total.bytes,
        total.errors,
        crate::percentile(&total.latencies, 50.0).as_secs_f64() * 1e3,
        crate::percentile(&total.latencies, 99.0).as_secs_f64() * 1e3,
    );
    Ok(())
}

/// Counts a failed request, keeping the first reason.
fn fail(r: &mut ConnResult, text: String) {
    r.errors += 1;
    r.first_error.get_or_insert(text);
}

async fn load_connection(
    target: SocketAddr,
    mut requests: Vec<proto::WriteRequest>,
    deadline: Instant,
) -> ConnResult {
    let mut r = ConnResult::default();
    let mut conn: Option<Conn> = None;
    let mut encoder = snap::raw::Encoder::new();
    let (mut raw, mut compressed) = (Vec::new(), Vec::new());
    let mut last_ts = i64::MIN;
    let mut round: u64 = 0;
    'rounds: while Instant::now() < deadline {
        let ts = now_ms().max(last_ts.saturating_add(1));
        last_ts = ts;
        for req in &mut requests {
            if Instant::now() >= deadline {
                break 'rounds;
            }
            // Counter-like values, different per series and rising every round.
            for (j, s) in req.timeseries.iter_mut().enumerate() {
                s.samples[0] = proto::Sample {
                    value: (round * 10 + (j as u64 % 7)) as f64,
                    timestamp: ts,
                };
            }
            raw.clear();
            if let Err(e) = req.encode(&mut raw) {
                fail(&mut r, format!("encoding: {e}"));
                break 'rounds;
            }
            compressed.resize(snap::raw::max_compress_len(raw.len()), 0);
            let n = match encoder.compress(&raw, &mut compressed) {
                Ok(n) => n,
                Err(e) => {
                    fail(&mut r, format!("compressing: {e}"));
                    break 'rounds;
                }
            };
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match TcpStream::connect(target)
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(Conn::new)
                {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        fail(&mut r, format!("connecting: {e:#}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let sent = Instant::now();
            // A receiver that stops answering must not hold the run past its end.
            let answer =
                tokio::time::timeout(Duration::from_secs(60), post(c, target, &compressed[..n]))
                    .await
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within 60 s")));
            match answer {
                Ok(a) => {
                    if (200..300).contains(&a.status) {
                        r.requests += 1;
                        r.samples += req.timeseries.len() as u64;
                        r.bytes += n as u64;
                        r.latencies.push(sent.elapsed());
                    } else {
                        let text = String::from_utf8_lossy(&a.body);
                        fail(&mut r, format!("HTTP {}: {}", a.status, text.trim()));
                    }
                    if !a.keep_alive {
                        conn = None;
                    }
                }
                Err(e) => {
                    fail(&mut r, format!("request: {e:#}"));
                    conn = None;
                }
            }
        }
        round += 1;
    }
    r
}

/// An answer: status, body, and whether the connection can take another request.
struct Answer {
    status: u16,
    body: Vec<u8>,
    keep_alive: bool,
}

/// Posts one snappy-compressed 1.0 body and reads the answer.
async fn post(conn: &mut Conn, target: SocketAddr, body: &[u8]) -> anyhow::Result<Answer> {
    let head = format!(
        "POST /api/v1/write HTTP/1.1\r\nHost: {target}\r\nUser-Agent: promethium-bench\r\n\
         Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n\
         X-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.stream.write_all(head.as_bytes()).await?;
    conn.stream.write_all(body).await?;
    let head = conn
        .read_head()
        .await?
        .context("connection closed before the answer")?;
    let status: u16 = head
        .first_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line {:?}", head.first_line))?;
    // 1xx, 204 and 304 have no body; any other answer without a length ends with the stream.
    let delimited =
        head.header("content-length").is_some() || head.has_token("transfer-encoding", "chunked");
    let no_body = status == 204 || status == 304 || status < 200;
    let body = if no_body {
        Vec::new()
    } else {
        conn.read_body(&head, true).await?
    };
    Ok(Answer {
        status,
        body,
        keep_alive: !head.has_token("connection", "close") && (no_body || delimited),
    })
}
