//! `pmtool tsdb create-blocks-from openmetrics` on OpenMetrics that Prometheus's parser
//! (and so `promtool`) accepts although it bends the family rules: a counter family named
//! with its `_total` suffix, as exporters in the wild write it.

use std::process::Command;

#[test]
fn counter_family_named_with_total_backfills() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.om");
    std::fs::write(
        &input,
        "# HELP foo_total Requests served.\n\
         # TYPE foo_total counter\n\
         foo_total{code=\"200\"} 1 1700006400\n\
         foo_total{code=\"200\"} 5 1700006460.5\n\
         foo_total{code=\"500\"} 2 1700006400 # {trace_id=\"abc\"} 1\n\
         # EOF\n",
    )
    .unwrap();
    let out_dir = dir.path().join("blocks");
    let out = Command::new(env!("CARGO_BIN_EXE_pmtool"))
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(&input)
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = tsdb::Db::open(&out_dir).unwrap();
    let name = model::Matcher::new(model::MatchOp::Equal, "__name__", "foo_total").unwrap();
    let mut got = db.select(&[name], i64::MIN, i64::MAX);
    got.sort_by_key(|s| s.samples.len());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].samples, [(1_700_006_400_000, 2.0)]);
    assert_eq!(
        got[1].samples,
        [(1_700_006_400_000, 1.0), (1_700_006_460_500, 5.0)]
    );
}
