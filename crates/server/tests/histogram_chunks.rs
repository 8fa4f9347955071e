//! Histogram chunks byte for byte as Prometheus writes them: Debian's Prometheus 2.42
//! (`--enable-feature=native-histograms`) receives 3½ hours of native histograms by remote
//! write, compacts its head into a block, and every histogram chunk of that block:
//! - decodes with our readers to the histograms sent;
//! - is what our encoders write from the same histograms, byte for byte (header, layout,
//!   recoding when buckets appear, cuts at counter resets, gauges whose buckets come and
//!   go).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span};
use remote::proto::{self, HistogramValue};
use tsdb::{Appended, FloatHistogramChunk, FloatHistogramIter, HistogramChunk, HistogramIter};

const STEP: i64 = 15_000;
/// Prometheus's block range: it compacts a head that spans more than 1.5 of them.
const BLOCK: i64 = 2 * 3600 * 1000;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn deltas(counts: &[u64]) -> Vec<i64> {
    let mut prev = 0i64;
    counts
        .iter()
        .map(|&c| {
            let d = c as i64 - prev;
            prev = c as i64;
            d
        })
        .collect()
}

fn int_histogram(
    schema: i32,
    zero_count: u64,
    sum: f64,
    positive: (&[Span], &[u64]),
    negative: (&[Span], &[u64]),
    hint: CounterResetHint,
) -> Histogram {
    Histogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 2f64.powi(-128),
        zero_count,
        count: zero_count + positive.1.iter().sum::<u64>() + negative.1.iter().sum::<u64>(),
        sum,
        positive_spans: positive.0.to_vec(),
        negative_spans: negative.0.to_vec(),
        positive_buckets: deltas(positive.1),
        negative_buckets: deltas(negative.1),
        custom_values: Vec::new(),
    }
}

/// The series sent, by metric name: each step's histogram.
fn series(t0: i64, steps: i64) -> BTreeMap<&'static str, Vec<(i64, HistogramValue)>> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = BTreeMap::new();

    // A steady counter: 20 buckets, every one growing.
    let mut counts = [0u64; 20];
    let (mut zero, mut sum) = (0u64, 0.0);
    let spans_a = [Span::new(-10, 20)];
    let a = (0..steps)
        .map(|i| {
            for c in &mut counts {
                *c += rng.next(5);
            }
            zero += rng.next(3);
            sum += rng.next(100) as f64 * 0.25;
            let h = int_histogram(
                3,
                zero,
                sum,
                (&spans_a, &counts),
                (&[], &[]),
                CounterResetHint::Unknown,
            );
            (t0 + i * STEP, HistogramValue::Int(h))
        })
        .collect();
    out.insert("hist_steady", a);

    // A counter whose buckets grow (a new highest one every 100 steps, negative ones
    // from step 250), reset at step 400.
    let mut counts: Vec<u64> = Vec::new();
    let mut negative: Vec<u64> = Vec::new();
    let (mut zero, mut sum) = (0u64, 0.0);
    let b = (0..steps)
        .map(|i| {
            if i == 400 {
                counts.clear();
                negative.clear();
                zero = 0;
                sum = 0.0;
            }
            let age = if i >= 400 { i - 400 } else { i };
            counts.resize(3 + (age / 100) as usize, 0);
            for c in &mut counts {
                *c += rng.next(4);
            }
            if (250..400).contains(&i) || i >= 650 {
                negative.resize(2, 0);
                for c in &mut negative {
                    *c += rng.next(3);
                }
            }
            zero += rng.next(2);
            sum += rng.next(50) as f64 * 0.5;
            let pos = [Span::new(0, counts.len() as u32)];
            let neg = [Span::new(1, negative.len() as u32)];
            let neg: &[Span] = if negative.is_empty() { &[] } else { &neg };
            let h = int_histogram(
                1,
                zero,
                sum,
                (&pos, &counts),
                (neg, &negative),
                CounterResetHint::Unknown,
            );
            (t0 + i * STEP, HistogramValue::Int(h))
        })
        .collect();
    out.insert("hist_growing", b);

    // A float counter, a new lowest bucket from step 300.
    let mut counts = vec![0.0f64; 4];
    let (mut zero, mut sum) = (0.0f64, 0.0);
    let c = (0..steps)
        .map(|i| {
            if i == 300 {
                counts.insert(0, 0.0);
            }
            for c in &mut counts {
                *c += rng.next(1000) as f64 / 8.0;
            }
            zero += rng.next(10) as f64 / 4.0;
            sum += rng.next(1000) as f64 / 3.0;
            let spans = if i >= 300 {
                vec![Span::new(-3, 5)]
            } else {
                vec![Span::new(-2, 4)]
            };
            let h = FloatHistogram {
                schema: 0,
                zero_threshold: 0.001,
                zero_count: zero,
                count: zero + counts.iter().sum::<f64>(),
                sum,
                positive_spans: spans,
                positive_buckets: counts.clone(),
                ..FloatHistogram::default()
            };
            (t0 + i * STEP, HistogramValue::Float(h))
        })
        .collect();
    out.insert("hist_float", c);

    // A gauge whose buckets move every 50 steps.
    let d = (0..steps)
        .map(|i| {
            let spans = [Span::new(((i / 50) % 2) as i32, 3)];
            let counts: Vec<u64> = (0..3).map(|_| rng.next(20)).collect();
            let h = int_histogram(
                2,
                rng.next(5),
                rng.next(1000) as f64 - 500.0,
                (&spans, &counts),
                (&[], &[]),
                CounterResetHint::Gauge,
            );
            (t0 + i * STEP, HistogramValue::Int(h))
        })
        .collect();
    out.insert("hist_gauge", d);
    out
}

/// Sends the series to Prometheus in batches of 60 steps, every series in each batch, so
/// that no series falls behind what the head accepts.
fn remote_write(port: u16, all: &BTreeMap<&'static str, Vec<(i64, HistogramValue)>>, log: &Path) {
    let steps = all.values().map(Vec::len).max().unwrap_or(0);
    for start in (0..steps).step_by(60) {
        let timeseries = all
            .iter()
            .map(|(name, samples)| proto::TimeSeries {
                labels: vec![proto::Label {
                    name: "__name__".into(),
                    value: name.to_string(),
                }],
                samples: vec![],
                exemplars: vec![],
                histograms: samples[start..(start + 60).min(samples.len())]
                    .iter()
                    .map(|(t, h)| proto::Histogram::from_model(h, *t))
                    .collect(),
            })
            .collect();
        let body = snappy_protobuf(&proto::WriteRequest {
            timeseries,
            metadata: vec![],
        });
        // Prometheus answers 503 while its storage is still starting (it listens before):
        // retried for a while, as a sender would.
        let deadline = Instant::now() + Duration::from_secs(30);
        let reply = loop {
            let reply = send_request(
                ([127, 0, 0, 1], port).into(),
                "POST",
                "/api/v1/write",
                &[
                    ("Content-Type", "application/x-protobuf"),
                    ("Content-Encoding", "snappy"),
                    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
                ],
                &body,
                &|| std::fs::read_to_string(log).unwrap_or_default(),
            );
            if reply.status != 503 || Instant::now() > deadline {
                break reply;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(reply.status, 204, "batch at step {start}: {}", reply.text());
    }
}

/// The blocks Prometheus writes under `data`, once it has written them all (none new
/// for 3 s).
fn wait_for_blocks(data: &Path, log: &Path) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut last: (Vec<PathBuf>, Instant) = (Vec::new(), Instant::now());
    loop {
        let mut blocks: Vec<PathBuf> = std::fs::read_dir(data)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| tsdb::is_block_dir_name(&e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .filter(|p| p.join("meta.json").exists())
            .collect();
        blocks.sort();
        if blocks != last.0 {
            last = (blocks, Instant::now());
        } else if !blocks.is_empty() && last.1.elapsed() > Duration::from_secs(3) {
            return blocks;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus wrote no block: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Every chunk of a block's chunk segments, in order: (encoding, data).
fn block_chunks(block: &Path) -> Vec<(u8, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(block.join("chunks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        assert_eq!(
            &bytes[..4],
            &[0x85, 0xBD, 0x40, 0xDD],
            "{}: magic",
            f.display()
        );
        let mut pos = 8;
        while pos < bytes.len() {
            let (mut len, mut shift) = (0usize, 0);
            loop {
                let b = bytes[pos];
                pos += 1;
                len |= usize::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            let encoding = bytes[pos];
            let data = bytes[pos + 1..pos + 1 + len].to_vec();
            let crc = u32::from_be_bytes(bytes[pos + 1 + len..pos + 5 + len].try_into().unwrap());
            assert_eq!(tsdb::crc32c(&bytes[pos..pos + 1 + len]), crc, "chunk CRC");
            out.push((encoding, data));
            pos += len + 5;
        }
    }
    out
}

/// The non-empty buckets of a histogram by (sign, index), with the zero bucket, count and
/// sum: what must survive a round trip (recoding adds empty buckets).
fn essence(h: &FloatHistogram) -> (u64, u64, u64, Vec<(bool, i32, u64)>) {
    let mut buckets: Vec<(bool, i32, u64)> = h
        .positive_bucket_iter()
        .map(|b| (true, b.index, b.count.to_bits()))
        .chain(
            h.negative_bucket_iter()
                .map(|b| (false, b.index, b.count.to_bits())),
        )
        .filter(|b| f64::from_bits(b.2) != 0.0)
        .collect();
    buckets.sort();
    (
        h.count.to_bits(),
        h.zero_count.to_bits(),
        h.sum.to_bits(),
        buckets,
    )
}

fn as_float(v: &HistogramValue) -> FloatHistogram {
    match v {
        HistogramValue::Int(h) => h.to_float(),
        HistogramValue::Float(h) => h.clone(),
    }
}

enum Ours {
    Int(HistogramChunk),
    Float(FloatHistogramChunk),
}

impl Ours {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Ours::Int(c) => c.bytes(),
            Ours::Float(c) => c.bytes(),
        }
    }
}

/// Our encoding of `samples` as one chunk, after `prev` (the series' chunk before).
fn encode(samples: &[&(i64, HistogramValue)], prev: Option<&Ours>) -> Result<Ours, String> {
    fn step<C>(chunk: &mut C, appended: Appended<C>, t: i64) -> Result<(), String> {
        match appended {
            Appended::InPlace => Ok(()),
            Appended::Recoded(c) => {
                *chunk = c;
                Ok(())
            }
            Appended::Cut(_) => Err(format!("we would cut a new chunk at {t}")),
        }
    }
    let mut out = match samples.first().map(|s| &s.1) {
        Some(HistogramValue::Float(_)) => Ours::Float(FloatHistogramChunk::new()),
        _ => Ours::Int(HistogramChunk::new()),
    };
    for (i, (t, v)) in samples.iter().map(|s| (s.0, &s.1)).enumerate() {
        match (&mut out, v) {
            (Ours::Int(c), HistogramValue::Int(h)) => {
                let p = match prev {
                    Some(Ours::Int(p)) if i == 0 => Some(p),
                    _ => None,
                };
                let a = c.append(t, h, p);
                step(c, a, t)?;
            }
            (Ours::Float(c), HistogramValue::Float(h)) => {
                let p = match prev {
                    Some(Ours::Float(p)) if i == 0 => Some(p),
                    _ => None,
                };
                let a = c.append(t, h, p);
                step(c, a, t)?;
            }
            _ => return Err("mixed sample types".into()),
        }
    }
    Ok(out)
}

#[test]
fn prometheus_histogram_chunks_are_ours_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = dir.path().join("prometheus-data");
    let prometheus = Peer::prometheus(
        dir.path(),
        port,
        "global:\n  scrape_interval: 1h\n",
        Some(&data),
        &[
            "--enable-feature=native-histograms",
            "--web.enable-remote-write-receiver",
        ],
    )
    .wait_listening();
    // The data depend on how many steps fit before now: `HISTOGRAM_CHUNKS_NOW_MS` replays
    // the data set of another moment (the first `steps` of each series are the same).
    let now = std::env::var("HISTOGRAM_CHUNKS_NOW_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
        });
    // From a block boundary at least 4 hours back: the first block is a whole one.
    let t0 = (now - 2 * BLOCK) / BLOCK * BLOCK;
    let all = series(t0, (now - t0) / STEP);
    remote_write(prometheus.port, &all, &prometheus.log);
    // In time order (blocks written in the same millisecond have ULIDs in any order): each
    // series' first chunk in a block follows its last one in the block before.
    let mut blocks: Vec<(i64, i64, PathBuf)> = wait_for_blocks(&data, &prometheus.log)
        .into_iter()
        .map(|b| {
            let meta: serde_json::Value =
                serde_json::from_slice(&std::fs::read(b.join("meta.json")).unwrap()).unwrap();
            (
                meta["minTime"].as_i64().unwrap(),
                meta["maxTime"].as_i64().unwrap(),
                b,
            )
        })
        .collect();
    blocks.sort_by_key(|b| b.0);
    assert_eq!(
        blocks[0].0, t0,
        "the first block starts with the first sample"
    );
    let mut last_chunks = BTreeMap::new();
    let mut headers: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (mint, maxt, block) in &blocks {
        for (name, h) in compare_block(block, (*mint, *maxt), &all, &mut last_chunks) {
            headers.entry(name).or_default().extend(h);
        }
    }
    // The cases meant to be covered were: a chunk cut at the counter reset, chunks after
    // the first that know there was none, gauge chunks.
    assert!(headers["hist_growing"].contains(&0x80), "{headers:?}");
    assert!(
        headers["hist_steady"][1..].iter().all(|&h| h == 0x40),
        "{headers:?}"
    );
    assert!(
        headers["hist_gauge"].iter().all(|&h| h == 0xC0),
        "{headers:?}"
    );
}

/// Checks every chunk of `block` (holding `[mint, maxt)`); `last_chunks` has each series'
/// last chunk so far, in our encoding.
fn compare_block(
    block: &Path,
    (mint, maxt): (i64, i64),
    all: &BTreeMap<&'static str, Vec<(i64, HistogramValue)>>,
    last_chunks: &mut BTreeMap<&'static str, Ours>,
) -> BTreeMap<&'static str, Vec<u8>> {
    // Which series a chunk belongs to: by encoding, then schema or gauge header.
    let mut by_series: BTreeMap<&'static str, Vec<(u8, Vec<u8>)>> = BTreeMap::new();
    for (encoding, data) in block_chunks(block) {
        let name = match encoding {
            2 => {
                let mut it = HistogramIter::from_bytes(&data).expect("histogram chunk header");
                let (_, first) = it.next().expect("a histogram");
                match (first.counter_reset_hint, first.schema) {
                    (CounterResetHint::Gauge, _) => "hist_gauge",
                    (_, 3) => "hist_steady",
                    (_, 1) => "hist_growing",
                    other => panic!("unexpected histogram chunk {other:?}"),
                }
            }
            3 => "hist_float",
            other => panic!("unexpected chunk encoding {other}"),
        };
        by_series.entry(name).or_default().push((encoding, data));
    }
    assert_eq!(
        by_series.len(),
        4,
        "chunks of every series: {:?}",
        by_series.keys()
    );

    for (name, chunks) in &by_series {
        let sent: BTreeMap<i64, &(i64, HistogramValue)> =
            all[name].iter().map(|s| (s.0, s)).collect();
        let mut seen = 0usize;
        let mut prev: Option<Ours> = last_chunks.remove(name);
        for (k, (encoding, theirs)) in chunks.iter().enumerate() {
            // Decode theirs with our reader.
            let decoded: Vec<(i64, FloatHistogram)> = if *encoding == 2 {
                let mut it = HistogramIter::from_bytes(theirs).unwrap();
                let v: Vec<_> = it.by_ref().map(|(t, h)| (t, h.to_float())).collect();
                assert!(!it.failed(), "{name} chunk {k}: decoding failed");
                v
            } else {
                let mut it = FloatHistogramIter::from_bytes(theirs).unwrap();
                let v: Vec<_> = it.by_ref().collect();
                assert!(!it.failed(), "{name} chunk {k}: decoding failed");
                v
            };
            assert_eq!(
                decoded.len(),
                usize::from(u16::from_be_bytes([theirs[0], theirs[1]]))
            );
            let mut samples = Vec::new();
            for (t, h) in &decoded {
                let s = sent
                    .get(t)
                    .unwrap_or_else(|| panic!("{name}: a sample at {t} that was not sent"));
                assert_eq!(essence(h), essence(&as_float(&s.1)), "{name} at {t}");
                samples.push(*s);
            }
            seen += samples.len();
            // Encode the same histograms ourselves.
            let ours =
                encode(&samples, prev.as_ref()).unwrap_or_else(|e| panic!("{name} chunk {k}: {e}"));
            assert_eq!(
                ours.bytes(),
                *theirs,
                "{name} chunk {k} ({} samples from {}): our bytes differ from Prometheus's",
                samples.len(),
                samples[0].0
            );
            prev = Some(ours);
        }
        last_chunks.insert(name, prev.expect("a chunk"));
        // Nothing sent inside the block's range is missing.
        let expected = all[name]
            .iter()
            .filter(|(t, _)| *t >= mint && *t < maxt)
            .count();
        assert_eq!(seen, expected, "{name}: samples in the block");
    }
    by_series
        .into_iter()
        .map(|(name, chunks)| (name, chunks.iter().map(|c| c.1[2]).collect()))
        .collect()
}
