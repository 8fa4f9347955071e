//! Histogram chunk encodings: upstream's chunkenc tests (histogram_test.go,
//! float_histogram_test.go) ported, plus round trips of awkward data.

use model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span};
use tsdb::{
    Appended, CounterResetHeader, FloatHistogramChunk, FloatHistogramIter, HistogramChunk,
    HistogramIter,
};

fn spans(list: &[(i32, u32)]) -> Vec<Span> {
    list.iter().map(|&(o, l)| Span::new(o, l)).collect()
}

fn read_int(c: &HistogramChunk) -> Vec<(i64, Histogram)> {
    let bytes = c.bytes();
    let mut it = HistogramIter::from_bytes(&bytes).expect("header");
    let out: Vec<_> = it.by_ref().collect();
    assert!(!it.failed(), "chunk failed to decode");
    assert_eq!(out.len(), usize::from(c.len()));
    out
}

fn read_float(c: &FloatHistogramChunk) -> Vec<(i64, FloatHistogram)> {
    let bytes = c.bytes();
    let mut it = FloatHistogramIter::from_bytes(&bytes).expect("header");
    let out: Vec<_> = it.by_ref().collect();
    assert!(!it.failed(), "chunk failed to decode");
    assert_eq!(out.len(), usize::from(c.len()));
    out
}

fn in_place<C>(a: Appended<C>) {
    assert!(
        matches!(a, Appended::InPlace),
        "expected an in-place append"
    );
}

fn same_buckets_histogram() -> Histogram {
    Histogram {
        count: 15,
        zero_count: 2,
        sum: 18.4,
        zero_threshold: 1e-100,
        schema: 1,
        positive_spans: spans(&[(0, 2), (1, 2)]),
        positive_buckets: vec![1, 1, -1, 0],
        negative_spans: spans(&[(1, 1), (2, 3)]),
        negative_buckets: vec![2, 1, -1, -1],
        ..Histogram::default()
    }
}

/// Upstream's TestHistogramChunkSameBuckets.
#[test]
fn histogram_chunk_same_buckets() {
    let mut c = HistogramChunk::new();
    let mut ts = 1_234_567_890;
    let h1 = same_buckets_histogram();
    in_place(c.append(ts, &h1, None));
    let mut exp = vec![(ts, h1.clone())];

    ts += 16;
    let mut h2 = h1.clone();
    h2.count = 32;
    h2.zero_count += 1;
    h2.sum = 24.4;
    h2.positive_buckets = vec![5, -2, 1, -2];
    h2.negative_buckets = vec![4, -1, 1, -1];
    in_place(c.append(ts, &h2, None));
    h2.counter_reset_hint = CounterResetHint::NotCounterReset;
    exp.push((ts, h2.clone()));

    ts += 14;
    let mut h3 = h2.clone();
    h3.count = 54;
    h3.zero_count += 2;
    h3.positive_buckets = vec![6, 1, -3, 6];
    h3.negative_buckets = vec![5, 1, -2, 3];
    in_place(c.append(ts, &h3, None));
    exp.push((ts, h3.clone()));

    assert_eq!(read_int(&c), exp);
    // As floats, with absolute bucket counts.
    let floats: Vec<_> = read_int(&c)
        .iter()
        .map(|(t, h)| (*t, h.to_float()))
        .collect();
    assert_eq!(floats[2].1.positive_buckets, vec![6.0, 7.0, 4.0, 10.0]);
}

/// Upstream's TestHistogramChunkBucketChanges: a histogram with more buckets recodes the
/// chunk, and the first histogram comes back with the new buckets empty.
#[test]
fn histogram_chunk_bucket_changes() {
    let mut c = HistogramChunk::new();
    let ts1 = 1_234_567_890;
    let mut h1 = Histogram {
        count: 27,
        zero_count: 2,
        sum: 18.4,
        zero_threshold: 1e-125,
        schema: 1,
        positive_spans: spans(&[(0, 2), (2, 1), (3, 2), (3, 1), (1, 1)]),
        positive_buckets: vec![6, -3, 0, -1, 2, 1, -4],
        negative_spans: spans(&[(1, 1)]),
        negative_buckets: vec![1],
        ..Histogram::default()
    };
    in_place(c.append(ts1, &h1, None));

    let ts2 = ts1 + 16;
    let mut h2 = h1.clone();
    h2.positive_spans = spans(&[(0, 3), (1, 1), (1, 4), (3, 3)]);
    h2.negative_spans = spans(&[(0, 2)]);
    h2.count = 35;
    h2.zero_count += 1;
    h2.sum = 30.0;
    h2.positive_buckets = vec![7, -2, -4, 2, -2, -1, 2, 3, 0, -5, 1];
    h2.negative_buckets = vec![2, -1];
    let c = match c.append(ts2, &h2, None) {
        Appended::Recoded(c) => c,
        other => panic!("expected a recode, got {other:?}"),
    };
    assert_eq!(c.len(), 2);
    h1.positive_spans = h2.positive_spans.clone();
    h1.positive_buckets = vec![6, -3, -3, 3, -3, 0, 2, 2, 1, -5, 1];
    h1.negative_spans = h2.negative_spans.clone();
    h1.negative_buckets = vec![0, 1];
    h2.counter_reset_hint = CounterResetHint::NotCounterReset;
    assert_eq!(read_int(&c), vec![(ts1, h1), (ts2, h2)]);
}

/// From upstream's TestHistogramChunkAppendable: what starts a new chunk, and with
/// which header.
#[test]
fn histogram_chunk_cuts() {
    let base = Histogram {
        count: 10,
        zero_count: 1,
        sum: 5.0,
        zero_threshold: 0.001,
        schema: 0,
        positive_spans: spans(&[(0, 3)]),
        positive_buckets: vec![2, 1, 0],
        ..Histogram::default()
    };
    let cut = |change: &dyn Fn(&mut Histogram)| -> Option<CounterResetHeader> {
        let mut c = HistogramChunk::new();
        in_place(c.append(0, &base, None));
        let mut h = base.clone();
        change(&mut h);
        match c.append(10, &h, None) {
            Appended::Cut(next) => Some(next.header()),
            _ => None,
        }
    };
    // Same or growing counts: no cut.
    assert_eq!(cut(&|h| h.count += 1), None);
    // A lower count, zero count or bucket: a reset.
    assert_eq!(
        cut(&|h| h.count -= 1),
        Some(CounterResetHeader::CounterReset)
    );
    assert_eq!(
        cut(&|h| h.zero_count = 0),
        Some(CounterResetHeader::CounterReset)
    );
    assert_eq!(
        cut(&|h| h.positive_buckets = vec![2, 0, 0]),
        Some(CounterResetHeader::CounterReset)
    );
    // A bucket with counts gone: a reset.
    assert_eq!(
        cut(&|h| {
            h.positive_spans = spans(&[(0, 2)]);
            h.positive_buckets = vec![2, 1];
        }),
        Some(CounterResetHeader::CounterReset)
    );
    // A new schema or zero threshold: unknown.
    assert_eq!(cut(&|h| h.schema = 1), Some(CounterResetHeader::Unknown));
    assert_eq!(
        cut(&|h| h.zero_threshold = 0.01),
        Some(CounterResetHeader::Unknown)
    );
    // An explicit reset hint.
    assert_eq!(
        cut(&|h| h.counter_reset_hint = CounterResetHint::CounterReset),
        Some(CounterResetHeader::CounterReset)
    );
    // A gauge after counters.
    assert_eq!(
        cut(&|h| h.counter_reset_hint = CounterResetHint::Gauge),
        Some(CounterResetHeader::Gauge)
    );
}

/// A lost bucket that was empty comes back as empty, without a recode.
#[test]
fn histogram_chunk_backward_inserts() {
    let mut c = HistogramChunk::new();
    let h1 = Histogram {
        count: 3,
        sum: 1.0,
        positive_spans: spans(&[(0, 3)]),
        positive_buckets: vec![1, -1, 2], // 1 0 2
        ..Histogram::default()
    };
    in_place(c.append(0, &h1, None));
    let h2 = Histogram {
        count: 4,
        sum: 2.0,
        positive_spans: spans(&[(0, 1), (1, 1)]),
        positive_buckets: vec![1, 2], // 1 _ 3
        ..Histogram::default()
    };
    in_place(c.append(10, &h2, None));
    let got = read_int(&c);
    assert_eq!(got[1].1.positive_spans, spans(&[(0, 3)]));
    assert_eq!(got[1].1.positive_buckets, vec![1, -1, 3]);
}

/// Gauge histograms: buckets come and go in one chunk.
#[test]
fn gauge_histograms_keep_one_chunk() {
    let mut c = FloatHistogramChunk::new();
    let g1 = FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        count: 5.0,
        sum: 3.0,
        positive_spans: spans(&[(0, 2)]),
        positive_buckets: vec![2.0, 3.0],
        ..FloatHistogram::default()
    };
    in_place(c.append(0, &g1, None));
    assert_eq!(c.header(), CounterResetHeader::Gauge);
    let g2 = FloatHistogram {
        count: 1.0,
        positive_spans: spans(&[(1, 2)]),
        positive_buckets: vec![0.5, 0.5],
        ..g1.clone()
    };
    let c = match c.append(10, &g2, None) {
        Appended::Recoded(c) => c,
        other => panic!("expected a recode, got {other:?}"),
    };
    let got = read_float(&c);
    assert_eq!(got[0].1.positive_spans, spans(&[(0, 3)]));
    assert_eq!(got[0].1.positive_buckets, vec![2.0, 3.0, 0.0]);
    assert_eq!(got[1].1.positive_buckets, vec![0.0, 0.5, 0.5]);
    assert!(got
        .iter()
        .all(|(_, h)| h.counter_reset_hint == CounterResetHint::Gauge));
}

/// Stale markers: only the sum is kept, and the next histogram starts a new chunk.
#[test]
fn stale_markers() {
    let stale = f64::from_bits(model::STALE_NAN_BITS);
    let h = same_buckets_histogram();
    let mut c = HistogramChunk::new();
    in_place(c.append(0, &h, None));
    let marker = Histogram {
        sum: stale,
        ..Histogram::default()
    };
    in_place(c.append(10, &marker, None));
    let got = read_int(&c);
    assert!(model::is_stale_nan(got[1].1.sum));
    assert_eq!(got[1].1.count, 0);
    assert!(matches!(c.append(20, &h, None), Appended::Cut(_)));

    let mut f = FloatHistogramChunk::new();
    in_place(f.append(0, &h.to_float(), None));
    in_place(f.append(
        10,
        &FloatHistogram {
            sum: stale,
            ..FloatHistogram::default()
        },
        None,
    ));
    assert!(model::is_stale_nan(read_float(&f)[1].1.sum));
}

/// Float histograms with awkward values round-trip bit for bit, including custom
/// buckets.
#[test]
fn float_histograms_round_trip() {
    let mut c = FloatHistogramChunk::new();
    let mut exp = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut counts = [0.0f64; 4];
    for i in 0..120 {
        for c in &mut counts {
            *c += (next() % 1000) as f64 / 7.0;
        }
        let h = FloatHistogram {
            schema: -53,
            count: counts.iter().sum(),
            sum: f64::from_bits(next() >> 2),
            positive_spans: spans(&[(0, 4)]),
            positive_buckets: counts.to_vec(),
            custom_values: vec![0.1, 1.0, 2.5],
            ..FloatHistogram::default()
        };
        let t = 1_700_000_000_000 + i * 15_000 + (next() % 30) as i64;
        in_place(c.append(t, &h, None));
        let mut want = h;
        if i > 0 {
            want.counter_reset_hint = CounterResetHint::NotCounterReset;
        }
        exp.push((t, want));
    }
    let got = read_float(&c);
    assert_eq!(got.len(), exp.len());
    for ((ta, a), (tb, b)) in got.iter().zip(&exp) {
        assert_eq!(ta, tb);
        assert!(a.equals(b), "{a:?} != {b:?}");
    }
}

/// Truncated chunks end the iteration and report failure, never panic.
#[test]
fn truncated_chunks_fail() {
    let mut c = HistogramChunk::new();
    let mut h = same_buckets_histogram();
    for i in 0..20 {
        h.count += 3;
        h.positive_buckets[0] += 1;
        h.positive_buckets[1] += 1;
        h.positive_buckets[2] += 1;
        in_place(c.append(i * 10, &h, None));
    }
    let bytes = c.bytes();
    for cut in 0..bytes.len() {
        if let Some(mut it) = HistogramIter::from_bytes(&bytes[..cut]) {
            let n = it.by_ref().count();
            assert!(n < 20 && it.failed(), "cut at {cut}: {n} samples");
        }
        if let Some(mut it) = FloatHistogramIter::from_bytes(&bytes[..cut]) {
            let _ = it.by_ref().count();
        }
    }
}

/// Regular scrapes of a 20-bucket histogram take a few bytes per sample.
#[test]
fn steady_histograms_compress_well() {
    let mut c = HistogramChunk::new();
    let mut h = Histogram {
        schema: 3,
        zero_threshold: 2f64.powi(-128),
        positive_spans: spans(&[(-10, 20)]),
        positive_buckets: vec![0; 20],
        ..Histogram::default()
    };
    for i in 0..120 {
        // Every bucket grows by a steady amount: deltas of deltas are zero.
        for (k, b) in h.positive_buckets.iter_mut().enumerate() {
            *b = if k == 0 { i } else { (k as i64 % 3) - 1 };
        }
        h.count = h.positive_bucket_iter().map(|b| b.count).sum();
        h.sum = i as f64 * 1.5;
        in_place(c.append(i * 5000, &h, None));
    }
    let per_sample = c.bytes().len() as f64 / 120.0;
    assert!(per_sample < 8.0, "{per_sample} bytes per sample");
}
