//! Times a query's phases on a data directory (a benchmarking aid):
//! `cargo run --release -p promethium-promql --example qtime -- DIR TIME_S QUERY [RANGE_S STEP_S]`.
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: qtime DIR TIME_S QUERY [RANGE_S STEP_S]");
        std::process::exit(2);
    }
    let db = tsdb::Db::open(std::path::Path::new(&args[1])).expect("open");
    let t = (args[2].parse::<f64>().expect("time") * 1000.0) as i64;
    let query = &args[3];
    let (range, step) = match (args.get(4), args.get(5)) {
        (Some(r), Some(s)) => (
            (r.parse::<f64>().unwrap() * 1000.0) as i64,
            (s.parse::<f64>().unwrap() * 1000.0) as i64,
        ),
        _ => (0, 0),
    };
    let engine = promql::Engine::default();
    let expr = promql::parse(query).expect("parse");
    let m = promql::parse_selector("bench_metric_0_total").unwrap();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    for _ in 0..rounds {
        let s = Instant::now();
        let data = db.select(&m, t - range - 60_000, t);
        let sel = s.elapsed();
        let n: usize = data.iter().map(|s| s.samples.len()).sum();
        drop(data);
        let s = Instant::now();
        let r = engine.exec(
            &db,
            &expr,
            query,
            t - range,
            t,
            step,
            &promql::QueryOptions::default(),
        );
        let q = s.elapsed();
        println!(
            "select {:?} ({n} samples)  query {:?} ok={}",
            sel,
            q,
            r.is_ok()
        );
    }
}
