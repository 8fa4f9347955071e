//! `promethium-bench history`: the storage benchmark's synthetic series over a past time
//! range, as a file to backfill (`scripts/bench-disk`), so that every server stores the
//! same hours of data without scraping them in real time. The values follow the live
//! targets' (`targets`): counters `start + 5 * second + hash % 5`, gauges 0 to 999.5 in
//! steps of 0.5 changing every second; each sample's timestamp is its step plus a jitter of
//! 0 to 2 ms, as scrapes have.
//!
//! Two formats of the same samples: OpenMetrics (timestamps in seconds, `# EOF`; what
//! `promtool tsdb create-blocks-from openmetrics` reads) and the Prometheus text format
//! with millisecond timestamps (what VictoriaMetrics's `/api/v1/import/prometheus` reads).
//! Series are written one after another, each with all its samples, families grouped.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::targets::hash;

pub struct Options {
    pub targets: u32,
    pub families: u32,
    pub series: u32,
    pub start_ms: i64,
    pub hours: u32,
    pub step_secs: u32,
    pub openmetrics: PathBuf,
    pub prometheus: PathBuf,
}

const COUNTER: u64 = 1;
const GAUGE: u64 = 2;
const START: u64 = u64::MAX;
const JITTER: u64 = 3;

/// Writes both files; prints the number of series and samples.
pub fn write(o: &Options) -> anyhow::Result<()> {
    let create = |p: &PathBuf| -> anyhow::Result<BufWriter<File>> {
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))
    };
    let mut om = create(&o.openmetrics)?;
    let mut prom = create(&o.prometheus)?;
    let steps = u64::from(o.hours) * 3600 / u64::from(o.step_secs.max(1));
    let step_ms = i64::from(o.step_secs.max(1)) * 1000;
    let mut samples = 0u64;
    for f in 0..o.families {
        let counter = f % 2 == 0;
        let name = if counter {
            format!("bench_counter_{}", f / 2)
        } else {
            format!("bench_gauge_{}", f / 2)
        };
        // Gauges in both formats: the type changes nothing in storage, and an OpenMetrics
        // counter would need its samples named `_total`.
        writeln!(om, "# TYPE {name} gauge")?;
        for target in 1..=o.targets {
            for s in 0..o.series {
                let labels =
                    format!("{{instance=\"127.0.0.{target}:19300\",job=\"bench\",series=\"{s}\"}}");
                let start = hash(COUNTER, f, s, START) % 1000;
                for i in 0..steps {
                    let base = o.start_ms + i as i64 * step_ms;
                    let t = base + (hash(3, target, s, i) % JITTER) as i64;
                    let second = (base - o.start_ms) as u64 / 1000;
                    let (whole, half) = if counter {
                        (start + 5 * second + hash(COUNTER, f, s, second) % 5, false)
                    } else {
                        let halves = hash(GAUGE, f, s, second) % 2000;
                        (halves / 2, halves % 2 == 1)
                    };
                    let value = if half {
                        format!("{whole}.5")
                    } else {
                        whole.to_string()
                    };
                    writeln!(
                        om,
                        "{name}{labels} {value} {}.{:03}",
                        t.div_euclid(1000),
                        t.rem_euclid(1000)
                    )?;
                    writeln!(prom, "{name}{labels} {value} {t}")?;
                    samples += 1;
                }
            }
        }
    }
    writeln!(om, "# EOF")?;
    om.flush()?;
    prom.flush()?;
    println!(
        "series={} samples={samples}",
        u64::from(o.targets) * u64::from(o.families) * u64::from(o.series)
    );
    Ok(())
}
