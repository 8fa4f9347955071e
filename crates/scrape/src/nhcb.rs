//! `convert_classic_histograms_to_nhcb`: the series of a classic histogram family
//! (`_bucket{le}`, `_sum`, `_count` under a `# TYPE … histogram` line) become one native
//! histogram with custom buckets per label set, as upstream's NHCB parser makes them: named
//! after the family, the sample's labels without `le`, the bounds from the `le` values,
//! integer when every count is whole. A family whose buckets do not convert (not
//! cumulative, a NaN bound, a count below its buckets) gives nothing, as upstream's parser
//! drops it. (Gauge histograms, OpenMetrics' `_gcount`/`_gsum`, stay classic series.)

use std::collections::HashMap;
use std::sync::Arc;

use exposition::{NativeHistogramSample, Sample};
use model::histogram::nhcb::{classic_part, ClassicHistogram, ClassicPart, Converted};
use model::histogram::HistogramValue;

/// The most buckets one classic histogram may have to be converted (the bounds are kept
/// sorted as they come): more fails the scrape rather than costing quadratic time.
const MAX_BUCKETS: usize = 4096;

/// One histogram being gathered.
struct Pending {
    family: Arc<str>,
    labels: Vec<(String, String)>,
    classic: ClassicHistogram,
    buckets: usize,
    timestamp_ms: Option<i64>,
}

/// A histogram's family name and labels (without `le`).
type Key = (Arc<str>, Vec<(String, String)>);

/// The classic histograms of one scrape, in the order their first series came.
#[derive(Default)]
pub(crate) struct NhcbCollector {
    pending: Vec<Pending>,
    index: HashMap<Key, usize>,
}

impl NhcbCollector {
    /// Takes `sample` if it is a series of the classic histogram family `family` (the
    /// latest `# TYPE` line's name); `Ok(false)` leaves it to the float path.
    pub fn take(&mut self, family: &str, sample: &Sample<'_>) -> Result<bool, String> {
        let Some((part, base)) = classic_part(&sample.name) else {
            return Ok(false);
        };
        if base != family {
            return Ok(false);
        }
        let mut le = None;
        let labels: Vec<(String, String)> = sample
            .labels
            .iter()
            .filter_map(|(name, value)| {
                if name.as_ref() == "le" {
                    le = Some(value.to_string());
                    None
                } else {
                    Some((name.to_string(), value.to_string()))
                }
            })
            .collect();
        let key: Key = (Arc::<str>::from(family), labels);
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.pending.push(Pending {
                    family: Arc::clone(&key.0),
                    labels: key.1.clone(),
                    classic: ClassicHistogram::default(),
                    buckets: 0,
                    timestamp_ms: None,
                });
                self.index.insert(key, self.pending.len() - 1);
                self.pending.len() - 1
            }
        };
        let p = &mut self.pending[i];
        if sample.timestamp_ms.is_some() {
            p.timestamp_ms = sample.timestamp_ms;
        }
        match part {
            ClassicPart::Bucket => {
                // A bucket without a parseable `le` is not a bucket: the series stays a
                // float series, as for a histogram without conversion.
                let Some(bound) = le.as_deref().and_then(exposition::parse_float) else {
                    return Ok(false);
                };
                p.buckets += 1;
                if p.buckets > MAX_BUCKETS {
                    return Err(format!(
                        "classic histogram {family} has more than {MAX_BUCKETS} buckets to convert to a native histogram"
                    ));
                }
                p.classic.set_bucket(bound, sample.value);
            }
            ClassicPart::Count => p.classic.set_count(sample.value),
            ClassicPart::Sum => p.classic.set_sum(sample.value),
        }
        Ok(true)
    }

    /// The native histograms of the families that converted.
    pub fn finish(self) -> Vec<NativeHistogramSample> {
        self.pending
            .into_iter()
            .filter_map(|p| {
                let value = match p.classic.convert().ok()? {
                    Converted::Int(h) => {
                        h.validate().ok()?;
                        HistogramValue::Int(h)
                    }
                    Converted::Float(h) => {
                        h.validate().ok()?;
                        HistogramValue::Float(h)
                    }
                };
                Some(NativeHistogramSample {
                    name: p.family,
                    labels: exposition::LabelPairs::from_pairs(
                        p.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                    ),
                    timestamp_ms: p.timestamp_ms,
                    value,
                    // Exemplars of converted histograms are not kept.
                    exemplars: Vec::new(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(c: &mut NhcbCollector, text: &str) -> Vec<bool> {
        let mut family = String::new();
        let mut taken = Vec::new();
        for entry in exposition::Parser::new(text.as_bytes(), exposition::Format::PrometheusText) {
            match entry.unwrap() {
                exposition::Entry::Type { name, .. } => family = name.to_string(),
                exposition::Entry::Sample(s) => taken.push(c.take(&family, &s).unwrap()),
                _ => {}
            }
        }
        taken
    }

    #[test]
    fn classic_series_become_one_custom_bucket_histogram_per_label_set() {
        let mut c = NhcbCollector::default();
        let taken = feed(
            &mut c,
            "# TYPE rpc_seconds histogram\n\
             rpc_seconds_bucket{path=\"/a\",le=\"0.1\"} 2\n\
             rpc_seconds_bucket{path=\"/a\",le=\"1\"} 5\n\
             rpc_seconds_bucket{path=\"/a\",le=\"+Inf\"} 6\n\
             rpc_seconds_sum{path=\"/a\"} 3.5\n\
             rpc_seconds_count{path=\"/a\"} 6\n\
             rpc_seconds_bucket{path=\"/b\",le=\"0.1\"} 1\n\
             rpc_seconds_bucket{path=\"/b\",le=\"1\"} 0\n\
             rpc_seconds_count{path=\"/b\"} 1\n\
             # TYPE other_total counter\n\
             other_total 3\n",
        );
        assert_eq!(
            taken,
            vec![true, true, true, true, true, true, true, true, false]
        );
        let out = c.finish();
        // "/b" is not cumulative: dropped, as upstream's parser drops it.
        assert_eq!(out.len(), 1);
        assert_eq!(&*out[0].name, "rpc_seconds");
        assert_eq!(
            out[0].labels.iter().collect::<Vec<_>>(),
            vec![("path", "/a")]
        );
        let HistogramValue::Int(h) = &out[0].value else {
            panic!("whole counts give an integer histogram")
        };
        assert_eq!(h.custom_values, vec![0.1, 1.0]);
        assert_eq!((h.count, h.sum), (6, 3.5));
        assert_eq!(h.positive_buckets, vec![2, 1, -2]);
    }
}
