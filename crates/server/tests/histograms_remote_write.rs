//! Native histograms through remote write both ways: histograms posted to our receiver
//! are stored, and our sender forwards them to Debian's Prometheus 2.42
//! (`--enable-feature=native-histograms`), where every one arrives with its counts. Then
//! both answer the same queries over them with the same JSON: raw histograms, `rate`,
//! `increase`, `delta`, `count_over_time`, `histogram_count` and `histogram_sum`.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use model::histogram::{CounterResetHint, FloatHistogram, Histogram, HistogramValue, Span};
use remote::proto;

const N: i64 = 30;

fn int_at(i: i64) -> Histogram {
    Histogram {
        schema: 2,
        zero_threshold: 2f64.powi(-128),
        zero_count: i as u64,
        count: i as u64 + 3 * (i as u64 + 1),
        sum: i as f64 * 0.75,
        positive_spans: vec![Span::new(1, 3)],
        positive_buckets: vec![i + 1, 0, 0],
        ..Histogram::default()
    }
}

fn float_at(i: i64) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: 0,
        count: 2.5 + i as f64,
        sum: -3.0 * i as f64,
        positive_spans: vec![Span::new(0, 1)],
        positive_buckets: vec![2.5 + i as f64],
        ..FloatHistogram::default()
    }
}

/// The histogram points Prometheus answers for `selector` over the last minute at `at`
/// (seconds): (time, count) each.
fn histogram_points(port: u16, selector: &str, at: f64) -> Vec<(f64, f64)> {
    let Some(result) = instant_query(port, &format!("{selector}[1m]"), &at.to_string()) else {
        return Vec::new();
    };
    result[0]["histograms"]
        .as_array()
        .map(|points| {
            points
                .iter()
                .filter_map(|p| {
                    let count = p[1]["count"].as_str()?.parse().ok()?;
                    Some((p[0].as_f64()?, count))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn histograms_received_are_forwarded_to_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let prometheus = Peer::prometheus(
        dir.path(),
        free_port(),
        "scrape_configs: []\n",
        None,
        &[
            "--enable-feature=native-histograms",
            "--web.enable-remote-write-receiver",
        ],
    )
    .wait_listening();
    // A second receiver, written to without `send_native_histograms`: it gets no
    // histograms (the setting's default, as in Prometheus), only floats.
    let plain_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        plain_dir.path().join("prometheus.yml"),
        "scrape_configs: []\n",
    )
    .unwrap();
    let plain = Server::start(
        plain_dir.path(),
        &[
            "--config.file=prometheus.yml",
            "--web.enable-remote-write-receiver",
        ],
    );
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "scrape_configs: []\nremote_write:\n  - url: http://127.0.0.1:{}/api/v1/write\n    send_native_histograms: true\n    queue_config: {{batch_send_deadline: 500ms}}\n  - url: http://127.0.0.1:{}/api/v1/write\n    queue_config: {{batch_send_deadline: 500ms}}\n",
            prometheus.port,
            plain.addr.port()
        ),
    )
    .unwrap();
    let ours = Server::start(
        dir.path(),
        &[
            "--config.file=prometheus.yml",
            "--web.enable-remote-write-receiver",
        ],
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        / 1000
        * 1000;
    let t0 = now - N * 1000;
    let series = |name: &str, histograms: Vec<proto::Histogram>| proto::TimeSeries {
        labels: vec![proto::Label {
            name: "__name__".into(),
            value: name.into(),
        }],
        histograms,
        ..Default::default()
    };
    let request = proto::WriteRequest {
        timeseries: vec![
            series(
                "hist_int",
                (0..N)
                    .map(|i| {
                        proto::Histogram::from_model(&HistogramValue::Int(int_at(i)), t0 + i * 1000)
                    })
                    .collect(),
            ),
            series(
                "hist_float",
                (0..N)
                    .map(|i| {
                        proto::Histogram::from_model(
                            &HistogramValue::Float(float_at(i)),
                            t0 + i * 1000,
                        )
                    })
                    .collect(),
            ),
        ],
        metadata: vec![],
    };
    let reply = post_remote_write(
        &ours,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &snappy_protobuf(&request),
    );
    assert_eq!(reply.status, 204, "{}", reply.text());
    // A float series after the histograms: once the second receiver has it, its queue has
    // read past the histograms.
    let after = proto::WriteRequest {
        timeseries: vec![proto::TimeSeries {
            labels: vec![proto::Label {
                name: "__name__".into(),
                value: "after_histograms".into(),
            }],
            samples: vec![proto::Sample {
                value: 1.0,
                timestamp: now,
            }],
            ..Default::default()
        }],
        metadata: vec![],
    };
    let reply = post_remote_write(
        &ours,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &snappy_protobuf(&after),
    );
    assert_eq!(reply.status, 204, "{}", reply.text());
    let now_s = (now as f64 / 1000.0).to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while instant_query(plain.addr.port(), "after_histograms", &now_s)
        .and_then(|v| v.as_array().map(|a| a.len()))
        != Some(1)
    {
        assert!(
            Instant::now() < deadline,
            "the second receiver never got after_histograms; our log: {}",
            ours.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let series = plain.get(
        "/api/v1/series?match[]=%7B__name__%3D~%22hist_.*%22%7D",
        &[],
    );
    let answer: serde_json::Value = serde_json::from_slice(&series.body).unwrap();
    assert_eq!(
        answer["data"],
        serde_json::json!([]),
        "histograms sent without send_native_histograms"
    );

    let at = (t0 + (N - 1) * 1000) as f64 / 1000.0;
    let want = |f: &dyn Fn(i64) -> f64| -> Vec<(f64, f64)> {
        (0..N)
            .map(|i| ((t0 + i * 1000) as f64 / 1000.0, f(i)))
            .collect()
    };
    let want_int = want(&|i| int_at(i).count as f64);
    let want_float = want(&|i| float_at(i).count);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got_int = histogram_points(prometheus.port, "hist_int", at);
        let got_float = histogram_points(prometheus.port, "hist_float", at);
        if got_int == want_int && got_float == want_float {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus has {got_int:?} and {got_float:?}; our log: {}",
            ours.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // And Prometheus computes on them as sent.
    let sum = instant_query(
        prometheus.port,
        "histogram_sum(hist_float)",
        &at.to_string(),
    )
    .unwrap();
    assert_eq!(sum[0]["value"][1], format!("{}", float_at(N - 1).sum));
    // Both answer the same, JSON for JSON. Between sample times: a window that starts
    // exactly at a sample includes it in Prometheus 2.x and not in 3.x, which we follow.
    let between = at + 0.5;
    for q in [
        "hist_int",
        "hist_float",
        "hist_int[10s]",
        "hist_float[10s]",
        "histogram_count(hist_int)",
        "histogram_sum(hist_float)",
        "histogram_count(rate(hist_int[10s]))",
        "histogram_sum(rate(hist_int[10s]))",
        "rate(hist_int[10s])",
        "increase(hist_int[10s])",
        "delta(hist_float[10s])",
        "count_over_time(hist_int[10s])",
        // Not `histogram_quantile`/`_fraction` (within a standard bucket, 2.x interpolates
        // linearly, 3.x and we exponentially) nor `sum_over_time` (2.x adds no
        // histograms): the PromQL corpus checks those.
    ] {
        let mut theirs = instant_query(prometheus.port, q, &between.to_string()).unwrap();
        let mut mine = instant_query(ours.addr.port(), q, &between.to_string()).unwrap();
        // The order of a vector is unspecified.
        for v in [&mut theirs, &mut mine] {
            if let Some(a) = v.as_array_mut() {
                a.sort_by_key(|s| s["metric"].to_string());
            }
        }
        assert!(
            mine.as_array().is_some_and(|a| !a.is_empty()),
            "{q}: {mine}"
        );
        assert_eq!(mine, theirs, "{q}");
    }
}
