//! Reading the head's label index: the series a set of matchers selects, label names and
//! values over a time range, and the cardinality statistics of the TSDB status page.

use model::Matcher;

use super::Head;

/// Cardinality statistics of the head.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeadStats {
    pub num_series: usize,
    pub num_label_pairs: usize,
    /// Distinct label strings held (names and values).
    pub num_symbols: usize,
    pub chunk_count: usize,
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
    pub series_count_by_metric_name: Vec<(String, usize)>,
    pub label_value_count_by_label_name: Vec<(String, usize)>,
    pub memory_in_bytes_by_label_name: Vec<(String, usize)>,
    pub series_count_by_label_value_pair: Vec<(String, usize)>,
}

fn top(mut items: Vec<(String, usize)>, limit: usize) -> Vec<(String, usize)> {
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items.truncate(limit);
    items
}

impl Head {
    /// The refs of the series with this (name, value) pair, sorted.
    fn postings_for(&self, name: &str, value: &str) -> &[u32] {
        let (Some(n), Some(v)) = (self.symbols.lookup(name), self.symbols.lookup(value)) else {
            return &[];
        };
        self.postings
            .get(&n)
            .and_then(|values| values.get(&v))
            .map_or(&[], Vec::as_slice)
    }

    /// The sorted union of the postings of every value of `m.name` that `m` matches.
    fn postings_matching(&self, m: &Matcher) -> Vec<u64> {
        if m.op == model::MatchOp::Equal {
            return widen(self.postings_for(&m.name, &m.value));
        }
        let Some(values) = self
            .symbols
            .lookup(&m.name)
            .and_then(|n| self.postings.get(&n))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (v, refs) in values {
            if m.matches(self.symbols.get(*v)) {
                out.extend(refs.iter().map(|&r| u64::from(r)));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Series refs matching every matcher, in ref order.
    pub fn select_refs(&self, matchers: &[Matcher]) -> Vec<u64> {
        // Matchers that cannot match the empty value select from the index; the rest
        // filter the candidates.
        let mut candidates: Option<Vec<u64>> = None;
        for m in matchers.iter().filter(|m| !m.matches_empty()) {
            let list = self.postings_matching(m);
            candidates = Some(match candidates {
                None => list,
                Some(c) => intersect(&c, &list),
            });
        }
        let mut candidates = candidates.unwrap_or_else(|| {
            (1..=self.series.len() as u64)
                .filter(|r| self.contains(*r))
                .collect()
        });
        // Postings are exact for the matchers they came from: only the others (those that
        // match the empty value, e.g. `a!="x"`) are checked against each series.
        let rest: Vec<&Matcher> = matchers.iter().filter(|m| m.matches_empty()).collect();
        if rest.is_empty() {
            candidates.retain(|r| self.series(*r).is_some());
            return candidates;
        }
        candidates
            .into_iter()
            .filter(|r| {
                self.series(*r).is_some_and(|s| {
                    rest.iter().all(|m| {
                        let value = s
                            .labels
                            .chunks_exact(2)
                            .find(|p| self.symbols.get(p[0]) == m.name)
                            .map_or("", |p| self.symbols.get(p[1]));
                        m.matches(value)
                    })
                })
            })
            .collect()
    }

    pub fn stats(&self, limit: usize) -> HeadStats {
        let mut stats = HeadStats {
            num_series: self.live,
            num_symbols: self.symbols.strings.len(),
            ..HeadStats::default()
        };
        for s in self.series.iter().flatten() {
            stats.chunk_count += s.chunks_in_memory();
            if s.has_chunks() {
                stats.max_time = Some(stats.max_time.map_or(s.max_t, |m: i64| m.max(s.max_t)));
            }
        }
        if let Some(disk) = &self.disk {
            stats.chunk_count += disk.live_records();
        }
        stats.min_time = self.min_time();
        let mut by_name = Vec::new();
        let mut values_per_name = Vec::new();
        let mut bytes_per_name = Vec::new();
        let mut pairs = Vec::new();
        for (name, values) in &self.postings {
            let name = self.symbols.get(*name);
            stats.num_label_pairs += values.len();
            values_per_name.push((name.to_string(), values.len()));
            let bytes: usize = values
                .iter()
                .map(|(v, refs)| self.symbols.get(*v).len() * refs.len())
                .sum();
            bytes_per_name.push((name.to_string(), bytes));
            for (value, refs) in values {
                let value = self.symbols.get(*value);
                pairs.push((format!("{name}={value}"), refs.len()));
                if name == model::METRIC_NAME {
                    by_name.push((value.to_string(), refs.len()));
                }
            }
        }
        stats.series_count_by_metric_name = top(by_name, limit);
        stats.label_value_count_by_label_name = top(values_per_name, limit);
        stats.memory_in_bytes_by_label_name = top(bytes_per_name, limit);
        stats.series_count_by_label_value_pair = top(pairs, limit);
        stats
    }

    /// Whether any of these series has a sample in [mint, maxt].
    fn any_in_range(&self, refs: &[u32], mint: i64, maxt: i64) -> bool {
        refs.iter().any(|&r| {
            let r = u64::from(r);
            self.series(r)
                .is_some_and(|s| self.has_samples_in(r, s, mint, maxt))
        })
    }

    /// Label names of the series with samples in [mint, maxt], sorted. An unbounded range
    /// reads the index alone.
    pub fn label_names_in(&self, mint: i64, maxt: i64) -> Vec<String> {
        let all = unbounded(mint, maxt);
        let mut out: Vec<String> = self
            .postings
            .iter()
            .filter(|(_, values)| {
                all || values
                    .values()
                    .any(|refs| self.any_in_range(refs, mint, maxt))
            })
            .map(|(n, _)| self.symbols.get(*n).to_string())
            .collect();
        out.sort_unstable();
        out
    }

    /// Values of a label among the series with samples in [mint, maxt], sorted. An
    /// unbounded range reads the index alone.
    pub fn label_values_in(&self, name: &str, mint: i64, maxt: i64) -> Vec<String> {
        let all = unbounded(mint, maxt);
        let mut out: Vec<String> = self
            .symbols
            .lookup(name)
            .and_then(|n| self.postings.get(&n))
            .map(|values| {
                values
                    .iter()
                    .filter(|(_, refs)| all || self.any_in_range(refs, mint, maxt))
                    .map(|(v, _)| self.symbols.get(*v).to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.sort_unstable();
        out
    }
}

/// Whether [mint, maxt] is every time there is (no need to look at samples).
fn unbounded(mint: i64, maxt: i64) -> bool {
    mint <= model::time::MIN_TIME_MS && maxt >= model::time::MAX_TIME_MS
}

/// Postings refs as the u64 refs the rest of the storage uses.
fn widen(refs: &[u32]) -> Vec<u64> {
    refs.iter().map(|&r| u64::from(r)).collect()
}

fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}
