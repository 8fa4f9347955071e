//! One `remote_write` entry's queue: a thread that reads the WAL from the queue's kept
//! position, turns series records into the labels sent (external labels, then
//! `write_relabel_configs`) and hands each sample to the shard of its series (so a
//! series' samples stay in order), and that, about once a second, writes the settled
//! position to disk, holds the WAL segments still needed, gives up what exceeds the hold
//! limits, and every ten seconds recomputes the shard count.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use model::histogram::HistogramValue;
use model::Labels;
use promconfig::{RelabelConfig, RemoteWriteConfig};
use rustc_hash::FxHashMap;
use tokio::sync::{mpsc, watch};
use tsdb::wal::{self, Record, WalPosition, WalTail};

use super::client::StoreClient;
use super::encode::{QueuedSample, SentSeries};
use super::ledger::{Ledger, PositionFile};
use super::metrics::{desired_shards, Counters, DropReason, EwmaRate, QueueMetrics, ShardInputs};
use super::shard::{self, ShardContext};
use super::{now_ms, SendOptions, WalSource};

/// What a WAL record holds to send: a float sample, a histogram or an exemplar.
enum Payload {
    Float(f64),
    Histogram(Arc<HistogramValue>),
    Exemplar(Arc<model::Exemplar>),
}

/// A sample read from the WAL: ref, time, start timestamp and what it is.
type RecordSample = (u64, i64, i64, Payload);

/// How often the shard count is recomputed (upstream's `shardUpdateDuration`).
const SHARD_UPDATE: Duration = Duration::from_secs(10);
/// How often the position is written and the hold checked.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// How long the reader sleeps at the end of the log.
const IDLE: Duration = Duration::from_millis(20);
/// Bytes of WAL read per step.
const READ_STEP: usize = 1 << 20;

/// A running queue.
pub(crate) struct Queue {
    /// Identifies the entry's settings (a changed entry is a new queue).
    pub config_key: String,
    /// Names the position file (the entry's name or URL).
    pub position_key: String,
    pub remote_name: String,
    pub url: String,
    counters: Arc<Counters>,
    settings: Settings,
    stop: Arc<AtomicBool>,
    hard_stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct Settings {
    capacity: usize,
    min_shards: usize,
    max_shards: usize,
    max_samples_per_send: usize,
    v2: bool,
    /// `send_native_histograms` and `send_exemplars`: otherwise those records are skipped.
    send_histograms: bool,
    send_exemplars: bool,
}

impl Queue {
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        cfg: &RemoteWriteConfig,
        external_labels: &Labels,
        config_key: String,
        position_key: String,
        remote_name: String,
        wal: Arc<dyn WalSource>,
        metadata: Arc<dyn super::MetadataSource>,
        state_dir: PathBuf,
        opts: &SendOptions,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, String> {
        let client = StoreClient::new(cfg, &opts.user_agent)?;
        let url = client.shown_url().to_string();
        let q = &cfg.queue_config;
        let settings = Settings {
            capacity: q.capacity.max(1) as usize,
            min_shards: q.min_shards.max(1) as usize,
            max_shards: q.max_shards.max(1) as usize,
            max_samples_per_send: q.max_samples_per_send.max(1) as usize,
            v2: cfg.protobuf_message.is_v2(),
            send_histograms: cfg.send_native_histograms,
            send_exemplars: cfg.send_exemplars,
        };
        let counters = Arc::new(Counters::default());
        counters
            .highest_read_ms
            .store(i64::MIN, std::sync::atomic::Ordering::Relaxed);
        counters
            .highest_sent_ms
            .store(i64::MIN, std::sync::atomic::Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let (hard_stop, hard_stop_rx) = watch::channel(false);
        let mut position_file =
            PositionFile::new(state_dir.join(format!("{position_key}.position")));
        let holder = format!("remote_write/{position_key}");
        // Held from now on, before the thread reads anything: a maintenance pass in between
        // must not fold what the kept position still needs.
        let kept = position_file.load().ok().flatten();
        wal.hold_wal(&holder, Some(kept.unwrap_or_else(|| wal.wal_end()).segment));
        let ledger = Arc::new(Mutex::new(Ledger::new(WalPosition::default())));
        let context = Arc::new(ShardContext {
            client,
            counters: Arc::clone(&counters),
            ledger: Arc::clone(&ledger),
            max_samples_per_send: settings.max_samples_per_send,
            batch_send_deadline: q.batch_send_deadline.0,
            min_backoff: q.min_backoff.0,
            max_backoff: q.max_backoff.0,
            sample_age_limit: q.sample_age_limit.0,
            v2: settings.v2,
            hard_stop: hard_stop_rx,
            give_up_below: Arc::new(AtomicU64::new(0)),
            remote_name: remote_name.clone(),
            failed_request_logging: cfg.failed_request_logging,
            metadata: (cfg.metadata_config.send && settings.v2)
                .then(|| super::metadata::MetadataLookup::new(Arc::clone(&metadata))),
        });
        // 1.0 sends metadata in requests of its own; 2.0 with each series.
        if cfg.metadata_config.send && !settings.v2 {
            runtime.spawn(super::metadata::run(
                Arc::clone(&context),
                metadata,
                cfg.metadata_config.send_interval.0,
                cfg.metadata_config.max_samples_per_send.max(1) as usize,
                context.hard_stop.clone(),
            ));
        }
        let reader = Reader {
            wal,
            holder,
            position_file,
            ledger,
            context,
            series: FxHashMap::default(),
            external_labels: external_labels.clone(),
            relabel: cfg.write_relabel_configs.clone(),
            settings: settings.clone(),
            counters: Arc::clone(&counters),
            stop: Arc::clone(&stop),
            runtime,
            shards: Vec::new(),
            max_held_bytes: opts.max_held_bytes,
            max_held_age: opts.max_held_age,
            last_housekeeping: Instant::now(),
            last_shard_update: Instant::now(),
            rates: Rates::new(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("remote-write {remote_name}"))
            .spawn(move || reader.run())
            .map_err(|e| format!("starting the remote write queue: {e}"))?;
        Ok(Self {
            config_key,
            position_key,
            remote_name,
            url,
            counters,
            settings,
            stop,
            hard_stop,
            thread: Some(thread),
        })
    }

    /// Stops reading, lets the shards send what they hold for up to `deadline`, then
    /// stops them; the settled position is written. Blocks.
    pub fn stop(mut self, deadline: Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let Some(thread) = self.thread.take() else {
            return;
        };
        let until = Instant::now() + deadline;
        while !thread.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.hard_stop.send(true);
        if thread.join().is_err() {
            tracing::error!(remote_name = %self.remote_name, "the remote write queue's thread panicked");
        }
    }

    pub fn metrics(&self) -> QueueMetrics {
        let mut m = self.counters.snapshot();
        m.remote_name = self.remote_name.clone();
        m.url = self.url.clone();
        m.protobuf_message = if self.settings.v2 && !self.counters.fell_back.load(Ordering::Relaxed)
        {
            crate::MessageType::V2.name()
        } else {
            crate::MessageType::V1.name()
        };
        m.shard_capacity = self.settings.capacity as u64;
        m.shards_min = self.settings.min_shards as u64;
        m.shards_max = self.settings.max_shards as u64;
        m.max_samples_per_send = self.settings.max_samples_per_send as u64;
        m
    }
}

/// Upstream's rates for the shard calculation.
struct Rates {
    read: EwmaRate,
    sent: EwmaRate,
    dropped: EwmaRate,
    send_nanos: EwmaRate,
}

impl Rates {
    fn new() -> Self {
        Self {
            read: EwmaRate::new(SHARD_UPDATE),
            sent: EwmaRate::new(SHARD_UPDATE),
            dropped: EwmaRate::new(SHARD_UPDATE),
            send_nanos: EwmaRate::new(SHARD_UPDATE),
        }
    }
}

struct ShardHandle {
    tx: mpsc::UnboundedSender<Vec<QueuedSample>>,
    /// Free capacity in samples: taken before a run is sent, given back by the shard.
    room: Arc<tokio::sync::Semaphore>,
    task: tokio::task::JoinHandle<()>,
}

/// The queue's thread.
struct Reader {
    wal: Arc<dyn WalSource>,
    holder: String,
    position_file: PositionFile,
    ledger: Arc<Mutex<Ledger>>,
    context: Arc<ShardContext>,
    /// Labels as sent per series ref; `None`: dropped by relabeling.
    series: FxHashMap<u64, Option<Arc<SentSeries>>>,
    external_labels: Labels,
    relabel: Vec<RelabelConfig>,
    settings: Settings,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
    shards: Vec<ShardHandle>,
    max_held_bytes: u64,
    max_held_age: Duration,
    last_housekeeping: Instant,
    last_shard_update: Instant,
    rates: Rates,
}

impl Reader {
    fn run(mut self) {
        let start = self.start_position();
        *self.ledger.lock().unwrap_or_else(|p| p.into_inner()) = Ledger::new(start);
        self.wal.hold_wal(&self.holder, Some(start.segment));
        let mut tail = WalTail::new(&self.wal.wal_dir(), start);
        self.start_shards(self.settings.min_shards);
        while !self.stop.load(Ordering::Relaxed) {
            let mut records = Vec::new();
            let read = tail.read(READ_STEP, |record, after| records.push((record, after)));
            let read = match read {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(remote_name = %self.context.remote_name, err = %e, "reading the WAL for remote write");
                    self.idle(Duration::from_secs(1));
                    continue;
                }
            };
            for s in &read.skipped {
                tracing::warn!(
                    remote_name = %self.context.remote_name,
                    from_segment = s.from.segment, from_offset = s.from.offset,
                    to_segment = s.to.segment, to_offset = s.to.offset, bytes = s.bytes,
                    "remote write skipped WAL data it could not read{}",
                    if s.missing { " (segments no longer on disk)" } else { " (damaged)" }
                );
            }
            for (record, after) in records {
                if !self.handle(record, after) {
                    break;
                }
            }
            self.housekeeping();
            if read.at_end {
                self.idle(IDLE);
            }
        }
        self.stop_shards();
        self.store_position();
    }

    /// Where to start: the kept position, or the end of the WAL (a new queue sends what
    /// is appended from now on, as Prometheus's does).
    fn start_position(&mut self) -> WalPosition {
        let kept = match self.position_file.load() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(remote_name = %self.context.remote_name, err = %e, "ignoring the remote write position file; starting at the end of the WAL");
                None
            }
        };
        let end = self.wal.wal_end();
        let Some(kept) = kept.filter(|p| *p <= end) else {
            return end;
        };
        let started = Instant::now();
        let dir = self.wal.wal_dir();
        let mut records = Vec::new();
        if let Err(e) =
            wal::series_before(&dir, kept, |r, labels| records.push((r, labels.clone())))
        {
            tracing::warn!(remote_name = %self.context.remote_name, err = %e, "reading series from the WAL; unknown series are looked up in the head");
        }
        for (r, labels) in records {
            let processed = self.process(&labels);
            self.series.insert(r, processed);
        }
        tracing::info!(remote_name = %self.context.remote_name, segment = kept.segment, offset = kept.offset, series = self.series.len(), took = ?started.elapsed(), "remote write resumes from its kept WAL position");
        kept
    }

    /// External labels (where the series has none of that name), then relabeling.
    fn process(&self, labels: &Labels) -> Option<Arc<SentSeries>> {
        let mut with_external = labels.clone();
        if self
            .external_labels
            .iter()
            .any(|l| labels.get(&l.name).is_none())
        {
            let mut b = labels.to_builder();
            for l in self.external_labels.iter() {
                if labels.get(&l.name).is_none() {
                    b.set(l.name.clone(), l.value.clone());
                }
            }
            with_external = b.build();
        }
        let out = if self.relabel.is_empty() {
            with_external
        } else {
            scrape::relabel(&with_external, &self.relabel)?
        };
        (!out.is_empty()).then(|| Arc::new(SentSeries::new(out, self.settings.v2)))
    }

    fn labels_of(&mut self, r: u64) -> Option<Option<Arc<SentSeries>>> {
        if let Some(known) = self.series.get(&r) {
            return Some(known.clone());
        }
        let labels = self.wal.series_labels(r)?;
        let processed = self.process(&labels);
        self.series.insert(r, processed.clone());
        Some(processed)
    }

    /// Handles one record; false when the queue is stopping.
    fn handle(&mut self, record: Record, after: WalPosition) -> bool {
        let samples: Vec<RecordSample> = match record {
            Record::Series(series) => {
                for (r, labels) in series {
                    let processed = self.process(&labels);
                    self.series.insert(r, processed);
                }
                self.ledger_read(0, after);
                return true;
            }
            // (`Encoded` is only ever written, never read back as such.)
            Record::OooFlush { .. } | Record::Encoded(_) => {
                self.ledger_read(0, after);
                return true;
            }
            Record::Samples(s) => s
                .into_iter()
                .map(|(r, t, v)| (r, t, 0, Payload::Float(v)))
                .collect(),
            Record::SamplesWithStarts(s) | Record::OooSamples(s) => s
                .into_iter()
                .map(|(r, t, v, st)| (r, t, st, Payload::Float(v)))
                .collect(),
            // Histograms and exemplars only when the entry asks for them, as Prometheus
            // reads those records only then.
            Record::Histograms(_) if !self.settings.send_histograms => {
                self.ledger_read(0, after);
                return true;
            }
            Record::Exemplars(_) if !self.settings.send_exemplars => {
                self.ledger_read(0, after);
                return true;
            }
            Record::Histograms(s) => s
                .into_iter()
                .map(|(r, t, h, st)| (r, t, st, Payload::Histogram(Arc::new(h))))
                .collect(),
            Record::Exemplars(e) => e
                .into_iter()
                .map(|(r, e)| (r, e.timestamp_ms, 0, Payload::Exemplar(Arc::new(e))))
                .collect(),
        };
        Counters::add(&self.counters.read, samples.len());
        let give_up = after.segment < self.context.give_up_below.load(Ordering::Relaxed);
        let oldest = if self.context.sample_age_limit.is_zero() {
            i64::MIN
        } else {
            now_ms() - self.context.sample_age_limit.as_millis() as i64
        };
        let mut out: Vec<(u64, QueuedSample)> = Vec::with_capacity(samples.len());
        let mut newest = i64::MIN;
        for (r, t, st, payload) in samples {
            newest = newest.max(t);
            if give_up {
                Counters::add(&self.counters.given_up, 1);
                continue;
            }
            let series = match self.labels_of(r) {
                None => {
                    self.counters.dropped(DropReason::UnknownSeries, 1);
                    continue;
                }
                Some(None) => {
                    self.counters.dropped(DropReason::DroppedSeries, 1);
                    continue;
                }
                Some(Some(series)) => series,
            };
            if t < oldest {
                self.counters.dropped(DropReason::TooOld, 1);
                continue;
            }
            let (v, histogram, exemplar) = match payload {
                Payload::Float(v) => (v, None, None),
                Payload::Histogram(h) => (0.0, Some(h), None),
                Payload::Exemplar(e) => (0.0, None, Some(e)),
            };
            out.push((
                r,
                QueuedSample {
                    series,
                    t,
                    v,
                    histogram,
                    exemplar,
                    st,
                    record: 0,
                    segment: after.segment,
                },
            ));
        }
        Counters::raise(&self.counters.highest_read_ms, newest);
        let number = self.ledger_read(out.len() as u32, after);
        Counters::add(&self.counters.pending, out.len());
        // One run per shard: a channel send and a capacity check per run, not per sample.
        let n = self.shards.len() as u64;
        let mut runs: Vec<Vec<QueuedSample>> = vec![Vec::new(); self.shards.len()];
        for (r, mut sample) in out {
            sample.record = number;
            runs[(fxhash(r) % n) as usize].push(sample);
        }
        for (shard, run) in runs.into_iter().enumerate() {
            if !run.is_empty() && !self.enqueue(shard, run) {
                return false;
            }
        }
        true
    }

    fn ledger_read(&self, samples: u32, after: WalPosition) -> u64 {
        self.ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .read(samples, after)
    }

    /// Hands a sample to its series' shard, waiting while that shard is full.
    /// Hands a run of samples to a shard, waiting while the shard has no room for them
    /// (`capacity` samples; a longer run goes in parts).
    fn enqueue(&mut self, shard: usize, mut run: Vec<QueuedSample>) -> bool {
        let capacity = self.settings.capacity.max(1);
        while !run.is_empty() {
            let rest = if run.len() > capacity {
                run.split_off(capacity)
            } else {
                Vec::new()
            };
            let n = run.len() as u32;
            loop {
                let room = Arc::clone(&self.shards[shard].room);
                if let Ok(permit) = room.try_acquire_many(n) {
                    // Given back by the shard when it takes the samples.
                    permit.forget();
                    break;
                }
                Counters::add(&self.counters.enqueue_retries, 1);
                if self.stop.load(Ordering::Relaxed) {
                    let left = run.len() + rest.len();
                    self.counters
                        .pending
                        .fetch_sub(left as u64, Ordering::Relaxed);
                    return false;
                }
                self.housekeeping();
                std::thread::sleep(Duration::from_millis(5));
            }
            if self.shards[shard].tx.send(run).is_err() {
                // The shard is gone (a hard stop): what it did not take is read again
                // from the WAL next time.
                return false;
            }
            run = rest;
        }
        true
    }

    fn idle(&self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5).min(d));
        }
    }

    fn start_shards(&mut self, n: usize) {
        let n = n.clamp(self.settings.min_shards, self.settings.max_shards);
        self.shards = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                let room = Arc::new(tokio::sync::Semaphore::new(self.settings.capacity.max(1)));
                let task = self.runtime.spawn(shard::run(
                    Arc::clone(&self.context),
                    rx,
                    Arc::clone(&room),
                ));
                ShardHandle { tx, room, task }
            })
            .collect();
        self.counters.shards.store(n as u64, Ordering::Relaxed);
    }

    /// Closes the shards' channels and waits for them to send what they hold (or for a
    /// hard stop).
    fn stop_shards(&mut self) {
        let tasks: Vec<_> = self
            .shards
            .drain(..)
            .map(|ShardHandle { tx, task, .. }| {
                drop(tx);
                task
            })
            .collect();
        for task in tasks {
            let _ = self.runtime.block_on(task);
        }
    }

    fn store_position(&mut self) {
        let settled = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .settled();
        if let Err(e) = self.position_file.store(settled) {
            tracing::warn!(remote_name = %self.context.remote_name, err = %e, file = %self.position_file.path().display(), "writing the remote write position");
        }
        self.wal.hold_wal(&self.holder, Some(settled.segment));
    }

    /// Once a second: the position, the hold and its limits; every ten: the shards.
    fn housekeeping(&mut self) {
        if self.last_housekeeping.elapsed() < HOUSEKEEPING {
            return;
        }
        self.last_housekeeping = Instant::now();
        self.store_position();
        self.check_hold();
        if self.last_shard_update.elapsed() >= SHARD_UPDATE {
            self.last_shard_update = Instant::now();
            self.update_shards();
        }
    }

    /// Gives up the oldest held segments while the queue holds more WAL than allowed.
    fn check_hold(&mut self) {
        let settled = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .settled();
        let dir = self.wal.wal_dir();
        let Ok(numbers) = wal::segment_numbers(&dir) else {
            return;
        };
        let now = SystemTime::now();
        // (segment, size, age) of the held segments, oldest first.
        let held: Vec<(u64, u64, Duration)> = numbers
            .into_iter()
            .filter(|n| *n >= settled.segment)
            .filter_map(|n| {
                let meta = std::fs::metadata(dir.join(format!("{n:08}"))).ok()?;
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .unwrap_or_default();
                Some((n, meta.len(), age))
            })
            .collect();
        let total: u64 = held.iter().map(|h| h.1).sum();
        self.counters.wal_held_bytes.store(total, Ordering::Relaxed);
        // The newest segment is never given up.
        let mut bytes = total;
        let mut below = 0;
        for (i, (n, size, age)) in held.iter().enumerate() {
            if i + 1 == held.len() {
                break;
            }
            let too_big = self.max_held_bytes > 0 && bytes > self.max_held_bytes;
            // A segment's modification time is when it was last written: all of it is
            // at least that old.
            let too_old = !self.max_held_age.is_zero() && *age > self.max_held_age;
            if !(too_big || too_old) {
                break;
            }
            bytes -= size;
            below = n + 1;
        }
        let previous = self
            .context
            .give_up_below
            .fetch_max(below, Ordering::Relaxed);
        if below > previous && below > settled.segment {
            tracing::warn!(
                remote_name = %self.context.remote_name,
                segments = format!("{}..{}", settled.segment, below - 1),
                held_bytes = total,
                max_bytes = self.max_held_bytes,
                max_age = ?self.max_held_age,
                "remote write is too far behind: the samples of these WAL segments are given up (promethium_remote_storage_samples_given_up_total counts them)"
            );
        }
    }

    fn update_shards(&mut self) {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let dropped: u64 = self.counters.dropped.iter().map(load).sum();
        let inputs = ShardInputs {
            in_rate: self.rates.read.tick(load(&self.counters.read)),
            out_rate: self.rates.sent.tick(load(&self.counters.sent)),
            dropped_rate: self.rates.dropped.tick(dropped),
            out_duration: self.rates.send_nanos.tick(load(&self.counters.send_nanos)) / 1e9,
            // Behind what was appended, not what was read: reading stops while the shards
            // are full, so only the appended side shows a growing backlog (upstream uses
            // the storage's highest appended timestamp too).
            delay: {
                let appended = self.wal.highest_appended_ms();
                let sent = self.counters.highest_sent_ms.load(Ordering::Relaxed);
                if appended == i64::MIN || sent == i64::MIN {
                    0.0
                } else {
                    ((appended - sent) as f64 / 1000.0).max(0.0)
                }
            },
        };
        let current = self.shards.len();
        let (want, desired) = desired_shards(
            current,
            self.settings.min_shards,
            self.settings.max_shards,
            &inputs,
        );
        self.counters
            .shards_desired_milli
            .store((desired.max(0.0) * 1000.0) as u64, Ordering::Relaxed);
        // Not while sends fail: resharding waits for the shards to empty, which they
        // cannot do until the receiver is back.
        let failing = self
            .counters
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if want != current && !failing {
            tracing::info!(remote_name = %self.context.remote_name, from = current, to = want, "remote write resharding");
            self.stop_shards();
            self.start_shards(want);
        }
    }
}

fn fxhash(r: u64) -> u64 {
    r.wrapping_mul(0x517c_c1b7_2722_0a95).rotate_left(5)
}
