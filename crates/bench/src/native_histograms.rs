//! The native histogram workload of `promethium-bench targets --native-histogram-buckets N`
//! (`scripts/bench-storage --native-histograms N`): the protobuf exposition
//! (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
//! encoding=delimited`) as the Go client writes it for native-only histograms: `families`
//! counter histogram families of `series` series each, schema 3, `buckets` populated
//! buckets in one span (a per-series offset), every bucket growing every second.

/// What the scrapers ask for to get this body.
pub const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

#[derive(Clone, PartialEq, prost::Message)]
struct LabelPair {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BucketSpan {
    #[prost(sint32, tag = "1")]
    offset: i32,
    #[prost(uint32, tag = "2")]
    length: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Histogram {
    #[prost(uint64, tag = "1")]
    sample_count: u64,
    #[prost(double, tag = "2")]
    sample_sum: f64,
    #[prost(sint32, tag = "5")]
    schema: i32,
    #[prost(double, tag = "6")]
    zero_threshold: f64,
    #[prost(uint64, tag = "7")]
    zero_count: u64,
    #[prost(message, repeated, tag = "12")]
    positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "13")]
    positive_delta: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Metric {
    #[prost(message, repeated, tag = "1")]
    label: Vec<LabelPair>,
    #[prost(message, optional, tag = "7")]
    histogram: Option<Histogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MetricFamily {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    help: String,
    #[prost(int32, tag = "3")]
    kind: i32,
    #[prost(message, repeated, tag = "4")]
    metric: Vec<Metric>,
}

const HISTOGRAM: i32 = 4;
const KIND: u64 = 3;

/// The body at `second` seconds after start. Bucket `b` of a series holds
/// `start + rate_b * second + hash % 3` observations with `rate_b >= 3`: strictly
/// increasing, a bell-shaped distribution, a function of family, series, bucket and second
/// alone.
pub fn render(families: u32, series: u32, buckets: u32, second: u64) -> Vec<u8> {
    let hash =
        |f: u32, s: u32, b: u32, t: u64| crate::targets::hash(KIND ^ (u64::from(b) << 8), f, s, t);
    let mut out = Vec::with_capacity((families * series * (buckets * 2 + 60)) as usize);
    for f in 0..families {
        let metric = (0..series)
            .map(|s| {
                let mut counts = Vec::with_capacity(buckets as usize);
                for b in 0..buckets {
                    let peak = buckets / 2;
                    let rate = 3 + u64::from(buckets - b.abs_diff(peak).min(buckets));
                    let start = hash(f, s, b, u64::MAX) % 100;
                    counts.push(start + rate * second + hash(f, s, b, second) % 3);
                }
                let zero_count = 2 * second;
                let count: u64 = counts.iter().sum::<u64>() + zero_count;
                let mut prev = 0i64;
                let deltas = counts
                    .iter()
                    .map(|&c| {
                        let d = c as i64 - prev;
                        prev = c as i64;
                        d
                    })
                    .collect();
                Metric {
                    label: vec![LabelPair {
                        name: "series".into(),
                        value: s.to_string(),
                    }],
                    histogram: Some(Histogram {
                        sample_count: count,
                        sample_sum: count as f64 * 0.0375
                            + (hash(f, s, 0, second) % 1000) as f64 / 1e3,
                        schema: 3,
                        zero_threshold: 2f64.powi(-128),
                        zero_count,
                        positive_span: vec![BucketSpan {
                            offset: -40 + (hash(f, s, 0, u64::MAX) % 8) as i32,
                            length: buckets,
                        }],
                        positive_delta: deltas,
                    }),
                }
            })
            .collect();
        let family = MetricFamily {
            name: format!("bench_latency_{f}_seconds"),
            help: "A synthetic native histogram for storage benchmarks.".into(),
            kind: HISTOGRAM,
            metric,
        };
        // Writing to a Vec cannot fail.
        let _ = prost::Message::encode_length_delimited(&family, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(mut body: &[u8]) -> Vec<MetricFamily> {
        let mut out = Vec::new();
        while !body.is_empty() {
            out.push(prost::Message::decode_length_delimited(&mut body).unwrap());
        }
        out
    }

    #[test]
    fn buckets_grow_every_second_and_add_up_to_the_count() {
        let (b0, b1) = (decode(&render(2, 3, 20, 4)), decode(&render(2, 3, 20, 5)));
        assert_eq!(b0.len(), 2);
        assert_eq!(b0[1].metric.len(), 3);
        for (m0, m1) in b0[0].metric.iter().zip(&b1[0].metric) {
            let (h0, h1) = (
                m0.histogram.as_ref().unwrap(),
                m1.histogram.as_ref().unwrap(),
            );
            assert_eq!(h0.positive_delta.len(), 20);
            let counts = |h: &Histogram| {
                h.positive_delta
                    .iter()
                    .scan(0i64, |c, d| {
                        *c += d;
                        Some(*c)
                    })
                    .collect::<Vec<_>>()
            };
            let (c0, c1) = (counts(h0), counts(h1));
            assert!(c0.iter().zip(&c1).all(|(a, b)| b > a));
            assert_eq!(
                c0.iter().sum::<i64>() as u64 + h0.zero_count,
                h0.sample_count
            );
        }
        assert_eq!(render(2, 3, 20, 7), render(2, 3, 20, 7));
    }
}
