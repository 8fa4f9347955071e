//! Fetching a real exporter's exposition (`promethium-bench targets --upstream`): a plain
//! HTTP/1.0 GET on loopback asking for the text format, so the answer is neither chunked
//! nor compressed, bounded in size and time.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest exposition accepted from the upstream exporter.
const MAX_BODY: u64 = 64 << 20;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the real exposition comes from.
#[derive(Clone, Debug)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub path: String,
}

impl Upstream {
    /// Parses `http://HOST:PORT/PATH` with a loopback IP address for HOST.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("--upstream {url}"))?;
        if parsed.scheme() != "http" {
            bail!("--upstream {url}: only http:// is supported");
        }
        let addr = parsed
            .socket_addrs(|| Some(80))
            .with_context(|| format!("--upstream {url}"))?
            .into_iter()
            .next()
            .with_context(|| format!("--upstream {url}: no address"))?;
        crate::ensure_loopback(addr.ip())?;
        Ok(Self {
            addr,
            path: parsed.path().to_string(),
        })
    }

    /// The exporter's current exposition (the body of a 200 answer).
    pub async fn fetch(&self) -> anyhow::Result<Vec<u8>> {
        tokio::time::timeout(TIMEOUT, self.fetch_unbounded())
            .await
            .with_context(|| format!("GET {}{} timed out", self.addr, self.path))?
    }

    async fn fetch_unbounded(&self) -> anyhow::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        let request = format!(
            "GET {} HTTP/1.0\r\nHost: {}\r\nAccept: text/plain;version=0.0.4\r\n\r\n",
            self.path, self.addr
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_BODY + 64 * 1024)
            .read_to_end(&mut answer)
            .await?;
        let head_end = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("answer without a complete head")?;
        let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
        let status = head.split_whitespace().nth(1).unwrap_or("");
        if status != "200" {
            bail!("GET {}{} answered {status}", self.addr, self.path);
        }
        if head.contains("\r\ntransfer-encoding:") || head.contains("\r\ncontent-encoding:") {
            bail!(
                "GET {}{}: encoded answer to an HTTP/1.0 request",
                self.addr,
                self.path
            );
        }
        let body = answer.split_off(head_end + 4);
        if body.len() as u64 > MAX_BODY {
            bail!("GET {}{}: body over {MAX_BODY} bytes", self.addr, self.path);
        }
        Ok(body)
    }
}
