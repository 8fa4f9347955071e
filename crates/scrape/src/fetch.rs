//! Fetching one scrape's body over HTTP, bounded as Prometheus bounds it: one deadline
//! (the scrape timeout) for connecting, the headers, the body and its decompression, and a
//! cap on the body's decompressed size, enforced while it is read and inflated so neither
//! a gzip bomb nor an endless body is ever held whole.

use std::io::Write;

use exposition::Format;
use promconfig::ScrapeConfig;

/// The cap on a body (after decompression) when `body_size_limit` is unset. Larger than
/// what real targets serve: kube-state-metrics, among the largest, grows by ~4 KB per pod,
/// so this covers some 60,000 pods (VictoriaMetrics' vmagent refuses more than 32 MiB by
/// default). Small enough that a gzip bomb (a few MB inflating to gigabytes) or an endless
/// body cannot take the server's memory, even with a few such targets scraped at once.
/// `body_size_limit` raises (or lowers) it per job.
pub(crate) const DEFAULT_BODY_SIZE_CAP: u64 = 256 << 20;

/// What a target's `Content-Length` can make us reserve up front at most: the header is
/// the target's claim, not a fact, and reserving for it must not cost more than a body
/// that large would be likely to.
const PRESIZE_FROM_HEADER_MAX: usize = 64 << 20;

/// Compressed bytes inflated at a time before the task lets the runtime run others (and
/// the deadline fire): gzip inflates at most ~1032×, so this is at most ~16 MiB of work,
/// not the whole of a large network read at once.
const INFLATE_STEP: usize = 16 << 10;

/// What a scrape failing by its timeout says (Prometheus's words: the scrape's context
/// carries the timeout).
pub(crate) const SCRAPE_TIMEOUT_ERROR: &str = "context deadline exceeded (scrape timeout)";

/// A fetched body, decoded into the exposition it is parsed as.
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    pub format: Format,
    /// Native histogram samples of a protobuf body (with `scrape_native_histograms`).
    pub histograms: Vec<exposition::NativeHistogramSample>,
    /// Exemplars of a protobuf body's samples, by sample number in `body`.
    pub exemplars: Vec<(usize, model::Exemplar)>,
    /// Bytes received after decompression, before any protobuf-to-text conversion
    /// (`scrape_body_size_bytes`, and the size the next body is pre-sized for).
    pub size: usize,
}

/// Why a fetch failed; the scrape's error is its message.
pub(crate) enum FetchError {
    /// Over `body_size_limit` or the default cap: Prometheus reports
    /// `scrape_body_size_bytes` as -1 for these.
    BodyTooLarge(String),
    Failed(String),
}

impl FetchError {
    pub fn body_too_large(&self) -> bool {
        matches!(self, FetchError::BodyTooLarge(_))
    }

    pub fn into_message(self) -> String {
        match self {
            FetchError::BodyTooLarge(m) | FetchError::Failed(m) => m,
        }
    }
}

impl From<String> for FetchError {
    fn from(message: String) -> Self {
        FetchError::Failed(message)
    }
}

/// One HTTP scrape's inputs.
pub(crate) struct HttpScrape<'a> {
    pub client: &'a reqwest::Client,
    pub job: &'a ScrapeConfig,
    pub url: &'a str,
    /// `url` parsed once for the loop's life (parsing it for every request was a twentieth
    /// of the scrape path's CPU at a thousand-series target); `None` when it does not
    /// parse, so that the request fails with the same error every scrape.
    pub parsed_url: Option<&'a reqwest::Url>,
    /// The `Accept` header for the job's scrape protocols.
    pub accept: &'a str,
    /// The `X-Prometheus-Scrape-Timeout-Seconds` header: the job's timeout in seconds.
    pub timeout_header: &'a str,
    /// The last body's size: the buffer is reserved for it at once, since growing a large
    /// buffer by doubling costs copies and churns the allocator on every scrape.
    pub size_hint: usize,
    /// The last body's native histogram count, for the same reason.
    pub histograms_hint: usize,
}

/// Fetches and decodes one body. Parsing and appending come after the deadline, as in
/// Prometheus, where the timeout bounds the request and reading the response only.
pub(crate) async fn fetch_http(scrape: &HttpScrape<'_>) -> Result<Fetched, FetchError> {
    let timeout = scrape.job.timeout();
    let deadline = tokio::time::Instant::now() + timeout;
    let (body, content_type) = tokio::time::timeout_at(deadline, read_body(scrape))
        .await
        .map_err(|_| FetchError::Failed(SCRAPE_TIMEOUT_ERROR.to_string()))??;
    let size = body.len();
    let fallback = scrape
        .job
        .fallback_scrape_protocol
        .as_ref()
        .map(|p| p.as_str());
    let (body, format, histograms, exemplars) = decode(
        body,
        &content_type,
        fallback,
        protobuf_options(scrape.job, scrape.histograms_hint),
    )?;
    Ok(Fetched {
        body,
        format,
        histograms,
        exemplars,
        size,
    })
}

/// Sends the request and reads the body, inflating a gzip one as it arrives, under the
/// size cap; returns the body and the response's Content-Type.
async fn read_body(scrape: &HttpScrape<'_>) -> Result<(Vec<u8>, String), FetchError> {
    let job = scrape.job;
    let request = match scrape.parsed_url {
        Some(url) => scrape.client.get(url.clone()),
        None => scrape.client.get(scrape.url),
    };
    let mut request = request
        .header("Accept", scrape.accept)
        .header(
            "Accept-Encoding",
            if job.enable_compression {
                "gzip"
            } else {
                "identity"
            },
        )
        .header(
            "User-Agent",
            concat!("Promethium/", env!("CARGO_PKG_VERSION")),
        )
        .header("X-Prometheus-Scrape-Timeout-Seconds", scrape.timeout_header);
    for (name, value) in httpclient::request_headers_with_oauth2(&job.http).await? {
        request = request.header(name, value);
    }
    let mut response = request.send().await.map_err(describe)?;
    if !response.status().is_success() {
        return Err(format!("server returned HTTP status {}", response.status()).into());
    }
    let limit = SizeLimit::of(job);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let gzipped = header("content-encoding").is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let declared = response.content_length().unwrap_or(0);
    if !gzipped && declared > limit.accepted() {
        // Reading it would only fail at the cap, later.
        return Err(limit.exceeded());
    }
    let presize = scrape.size_hint.max(
        usize::try_from(declared)
            .map_or(PRESIZE_FROM_HEADER_MAX, |d| d.min(PRESIZE_FROM_HEADER_MAX)),
    );
    let mut body = CappedBody::new(limit.accepted(), presize);
    if !gzipped {
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if !body.push(&chunk) {
                return Err(limit.exceeded());
            }
        }
        return Ok((body.bytes, content_type));
    }
    // Members one after another read as one body, as Go's gzip reader reads them.
    let mut inflater = flate2::write::MultiGzDecoder::new(body);
    let gzip_error = |inflater: &flate2::write::MultiGzDecoder<CappedBody>, e: std::io::Error| {
        if inflater.get_ref().over_cap {
            limit.exceeded()
        } else {
            FetchError::Failed(format!("decompressing the gzip body: {e}"))
        }
    };
    let mut compressed = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        compressed += chunk.len() as u64;
        if compressed > limit.compressed_bytes() {
            return Err(limit.exceeded());
        }
        for (i, step) in chunk.chunks(INFLATE_STEP).enumerate() {
            if i > 0 {
                tokio::task::yield_now().await;
            }
            if let Err(e) = inflater.write_all(step) {
                return Err(gzip_error(&inflater, e));
            }
        }
    }
    // Fails on a stream cut short (no end, no checksum): a truncated body is never parsed.
    if let Err(e) = inflater.try_finish() {
        return Err(gzip_error(&inflater, e));
    }
    Ok((std::mem::take(&mut inflater.get_mut().bytes), content_type))
}

/// The cap on one body: `body_size_limit`, or [`DEFAULT_BODY_SIZE_CAP`] when unset.
#[derive(Clone, Copy)]
struct SizeLimit {
    bytes: u64,
    configured: bool,
}

impl SizeLimit {
    fn of(job: &ScrapeConfig) -> Self {
        match job.body_size_limit.0 {
            0 => SizeLimit {
                bytes: DEFAULT_BODY_SIZE_CAP,
                configured: false,
            },
            limit => SizeLimit {
                bytes: limit,
                configured: true,
            },
        }
    }

    /// The most bytes a body may have: a configured limit is one more than that, as in
    /// Prometheus (whose check is `n >= limit`); the default cap is the most itself.
    fn accepted(self) -> u64 {
        if self.configured {
            self.bytes - 1
        } else {
            self.bytes
        }
    }

    /// The cap on the compressed bytes of a gzip body: its decompressed cap plus a margin
    /// over what gzip's framing can add to data that does not compress (5 bytes per 64 KiB
    /// stored block, 18 of header and trailer), so a body over it cannot fit once
    /// inflated. Counting them also bounds what inflates to nothing: empty blocks, and
    /// the name and comment of gzip headers, which the decoder holds whole.
    fn compressed_bytes(self) -> u64 {
        self.bytes.saturating_add(self.bytes / 8192 + 1024)
    }

    fn exceeded(self) -> FetchError {
        FetchError::BodyTooLarge(if self.configured {
            format!("body size limit exceeded ({} bytes)", self.bytes)
        } else {
            format!(
                "body size limit exceeded (the default cap of {} bytes for jobs without body_size_limit; set body_size_limit to allow larger bodies)",
                self.bytes
            )
        })
    }
}

/// A body that refuses to grow past its cap (its capacity never exceeds the cap either),
/// so the memory a body holds is bounded by the cap, not by what a target sends.
/// Body size from which a growing body buffer reserves the whole cap (see
/// [`CappedBody::push`]).
const RESERVE_WHOLE_CAP_FROM: usize = 16 << 20;

struct CappedBody {
    bytes: Vec<u8>,
    cap: usize,
    /// Set when a write was refused for the cap (what the inflater's error means then).
    over_cap: bool,
}

impl CappedBody {
    fn new(cap: u64, presize: usize) -> Self {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        CappedBody {
            bytes: Vec::with_capacity(presize.min(cap)),
            cap,
            over_cap: false,
        }
    }

    /// Appends `data` whole, or (over the cap) nothing and returns false.
    fn push(&mut self, data: &[u8]) -> bool {
        let len = self.bytes.len();
        let Some(needed) = len.checked_add(data.len()).filter(|n| *n <= self.cap) else {
            self.over_cap = true;
            return false;
        };
        if needed > self.bytes.capacity() {
            // Doubling as Vec would, but never reserving past the cap. Past
            // `RESERVE_WHOLE_CAP_FROM`, the rest of the cap is reserved at once: the
            // reservation is address space, not memory, until it is written, while each
            // doubling leaves the old buffer behind (a body near the 256 MiB cap grown
            // by doubling peaked at twice that in the server, whose allocator keeps the
            // freed buffers).
            let grown = if needed > RESERVE_WHOLE_CAP_FROM {
                self.cap
            } else {
                needed.max(self.bytes.capacity().saturating_mul(2))
            }
            .min(self.cap);
            self.bytes.reserve_exact(grown - len);
        }
        self.bytes.extend_from_slice(data);
        true
    }
}

impl Write for CappedBody {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.push(data) {
            Ok(data.len())
        } else {
            Err(std::io::Error::other("body over its size cap"))
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a job takes from protobuf histograms: native ones with
/// `scrape_native_histograms`, their classic series too with
/// `always_scrape_classic_histograms`.
pub(crate) fn protobuf_options(
    job: &ScrapeConfig,
    histograms_hint: usize,
) -> exposition::ProtobufOptions {
    exposition::ProtobufOptions {
        native_histograms: job.scrape_native_histograms == Some(true),
        classic_too: job.always_scrape_classic_histograms == Some(true),
        histograms_hint,
    }
}

/// A decoded body: the text to parse, its format, native histogram samples and a protobuf
/// body's exemplars (by sample number).
type Decoded = (
    Vec<u8>,
    Format,
    Vec<exposition::NativeHistogramSample>,
    Vec<(usize, model::Exemplar)>,
);

/// The exposition a body is parsed as, from its Content-Type (or the job's
/// `fallback_scrape_protocol`); a protobuf body is converted into the text it stands for
/// and its native histograms.
pub(crate) fn decode(
    body: Vec<u8>,
    content_type: &str,
    fallback: Option<&str>,
    opts: exposition::ProtobufOptions,
) -> Result<Decoded, FetchError> {
    let protobuf = Format::is_protobuf(content_type)
        || (Format::from_content_type(content_type).is_none()
            && fallback == Some("PrometheusProto"));
    if protobuf {
        let decoded = exposition::decode_protobuf(&body, opts)?;
        return Ok((
            decoded.text.into_bytes(),
            Format::PrometheusText,
            decoded.histograms,
            decoded.exemplars,
        ));
    }
    let format = match Format::from_content_type(content_type) {
        Some(f) => f,
        None => match fallback {
            Some(p) if p.starts_with("OpenMetrics") => Format::OpenMetrics,
            Some(p) if p.starts_with("PrometheusText") => Format::PrometheusText,
            _ => {
                return Err(format!(
                    "received unsupported Content-Type {content_type:?} and no fallback_scrape_protocol specified for target"
                )
                .into())
            }
        },
    };
    Ok((body, format, Vec::new(), Vec::new()))
}

/// A reqwest error with its cause chain (connection refusals and TLS failures read
/// clearly).
fn describe(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Failed(SCRAPE_TIMEOUT_ERROR.to_string());
    }
    FetchError::Failed(httpclient::describe(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_body_never_holds_or_reserves_more_than_its_cap() {
        let mut body = CappedBody::new(100, 0);
        for _ in 0..9 {
            assert!(body.push(&[1; 11]));
            assert!(body.bytes.capacity() <= 100);
        }
        assert!(body.push(&[1]));
        assert_eq!(body.bytes.len(), 100);
        assert!(!body.push(&[1]));
        assert!(body.over_cap);
        assert_eq!(body.bytes.len(), 100, "nothing of a refused write is kept");
        assert!(body.bytes.capacity() <= 100);
        // A pre-size is bounded by the cap as well.
        assert!(CappedBody::new(10, 1 << 20).bytes.capacity() <= 10);
    }

    #[test]
    fn the_default_cap_names_body_size_limit() {
        let unset = SizeLimit {
            bytes: DEFAULT_BODY_SIZE_CAP,
            configured: false,
        };
        let message = unset.exceeded().into_message();
        assert!(message.starts_with("body size limit exceeded"), "{message}");
        assert!(message.contains("268435456") && message.contains("set body_size_limit"));
        let set = SizeLimit {
            bytes: 1024,
            configured: true,
        };
        assert!(set.exceeded().body_too_large());
        assert_eq!(
            set.exceeded().into_message(),
            "body size limit exceeded (1024 bytes)"
        );
    }
}
