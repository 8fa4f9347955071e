//! A quick measure of WAL replay: writes `SERIES` series × `SAMPLES` samples (a scrape
//! every 5 s) into a temporary directory, then times reopening it.
//! `cargo run --release -p promethium-tsdb --example replay -- [series] [samples]`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let series: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let samples: i64 = args.next().map_or(Ok(84), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let labels: Vec<model::Labels> = (0..series)
        .map(|i| {
            model::Labels::from_pairs([
                ("__name__", format!("bench_metric_{}", i % 100)),
                ("instance", format!("127.0.0.{}:9100", i / 10_000)),
                ("series", (i % 10_000).to_string()),
            ])
        })
        .collect();
    let started = Instant::now();
    {
        let db = tsdb::Db::open(dir.path())?;
        let first: Vec<(model::Labels, i64, f64)> =
            labels.iter().map(|l| (l.clone(), 0, 0.0)).collect();
        let refs = db.append_batch(&[], &first)?.refs;
        for k in 1..samples {
            let t = k * 5000;
            for (chunk_refs, base) in refs.chunks(10_000).zip((0..).step_by(10_000)) {
                let batch: Vec<(u64, i64, f64)> = chunk_refs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (*r, t, (k as f64) * 3.0 + ((base + i) % 7) as f64))
                    .collect();
                db.append_batch(&batch, &[])?;
            }
        }
        db.sync()?;
    }
    println!(
        "wrote {} samples in {:?}",
        series as i64 * samples,
        started.elapsed()
    );
    let started = Instant::now();
    let db = tsdb::Db::open(dir.path())?;
    println!(
        "replayed {} series, {} records in {:?}",
        db.num_series(),
        db.replay_report().records,
        started.elapsed()
    );
    Ok(())
}
