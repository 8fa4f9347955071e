//! `pmtool tsdb list` and `pmtool tsdb create-blocks-from openmetrics`, printing what
//! `promtool tsdb` prints.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use model::{Labels, LabelsBuilder};

/// Go's `time.Duration.String()` for a whole number of milliseconds.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let seconds = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{frac:03}");
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{sign}{h}h{m}m{seconds}")
    } else if m > 0 {
        format!("{sign}{m}m{seconds}")
    } else {
        format!("{sign}{seconds}")
    }
}

/// Go's `units.Base2Bytes(n).String()` (as promtool's `--human-readable` sizes).
fn base2_bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else {
        let text = format!("{value:.1}");
        format!("{}{}", text.trim_end_matches(".0"), UNITS[unit])
    }
}

/// Go's `time.Time.String()` for a UTC instant in ms.
fn go_time(ms: i64) -> String {
    let text = model::time::format_rfc3339_ms(ms);
    // "2006-01-02T15:04:05.000Z" → "2006-01-02 15:04:05 +0000 UTC" (fraction only if any).
    let (date, rest) = text.split_once('T').unwrap_or((&text, ""));
    let rest = rest.trim_end_matches('Z');
    let (clock, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{date} {clock} +0000 UTC")
    } else {
        format!("{date} {clock}.{frac} +0000 UTC")
    }
}

/// Go's text/tabwriter with promtool's settings (min width 13, padding 2, spaces): every
/// column but the last is padded to its widest cell plus 2, at least 13.
fn tabwrite(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max((cell.chars().count() + 2).max(13));
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

fn block_rows(blocks: &[(tsdb::BlockMeta, u64)], human: bool) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "BLOCK ULID",
        "MIN TIME",
        "MAX TIME",
        "DURATION",
        "NUM SAMPLES",
        "NUM CHUNKS",
        "NUM SERIES",
        "SIZE",
    ]
    .map(String::from)
    .to_vec()];
    let time = |ms: i64| if human { go_time(ms) } else { ms.to_string() };
    for (meta, size) in blocks {
        rows.push(vec![
            meta.ulid.clone(),
            time(meta.min_time),
            time(meta.max_time),
            go_duration(meta.max_time - meta.min_time),
            meta.stats.num_samples.to_string(),
            meta.stats.num_chunks.to_string(),
            meta.stats.num_series.to_string(),
            if human {
                base2_bytes(*size)
            } else {
                size.to_string()
            },
        ]);
    }
    rows
}

/// `pmtool tsdb list [-r] [DIR]`.
pub fn list(dir: &str, human: bool) -> anyhow::Result<()> {
    let path = Path::new(dir);
    if !path.is_dir() {
        bail!("{dir} is not a directory");
    }
    let blocks = tsdb::list_blocks(path)?;
    print!("{}", tabwrite(&block_rows(&blocks, human)));
    Ok(())
}

/// `pmtool tsdb create-blocks-from openmetrics INPUT [OUTPUT]`: every sample needs a
/// timestamp; one block per aligned block range (2 h, or `--max-block-duration` when
/// longer).
pub fn create_blocks_from_openmetrics(
    input: &str,
    output: &str,
    max_block: std::time::Duration,
    human: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    let body = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let mut series: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
    for entry in exposition::Parser::new(&body, exposition::Format::OpenMetrics) {
        let entry = entry.with_context(|| format!("parsing {input}"))?;
        let exposition::Entry::Sample(sample) = entry else {
            continue;
        };
        let mut b = LabelsBuilder::default();
        for (name, value) in &sample.labels {
            b.set(name.as_ref(), value.as_ref());
        }
        b.set("__name__", sample.name.as_ref());
        let labels = b.build();
        let Some(t) = sample.timestamp_ms else {
            bail!("expected timestamp for series {labels}, got none");
        };
        series.entry(labels).or_default().push((t, sample.value));
    }
    if series.is_empty() {
        bail!("{input} has no samples");
    }
    let mut sorted: Vec<(Labels, Vec<(i64, f64)>)> = series.into_iter().collect();
    for (_, samples) in &mut sorted {
        samples.sort_by_key(|(t, _)| *t);
        samples.dedup_by_key(|(t, _)| *t);
    }
    let block_ms = i64::try_from(max_block.as_millis())
        .unwrap_or(i64::MAX)
        .max(tsdb::DEFAULT_BLOCK_MS);
    let out = Path::new(output);
    let metas = tsdb::write_blocks(out, &sorted, block_ms)?;
    if !quiet {
        // One listing of the output directory gives the sizes of the blocks just written.
        let created: std::collections::HashSet<&str> =
            metas.iter().map(|m| m.ulid.as_str()).collect();
        let with_sizes: Vec<(tsdb::BlockMeta, u64)> = tsdb::list_blocks(out)?
            .into_iter()
            .filter(|(m, _)| created.contains(m.ulid.as_str()))
            .collect();
        print!("{}", tabwrite(&block_rows(&with_sizes, human)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(go_duration(7_200_000), "2h0m0s");
        assert_eq!(go_duration(90_500), "1m30.5s");
        assert_eq!(go_duration(500), "500ms");
        assert_eq!(go_duration(0), "0s");
        assert_eq!(base2_bytes(1536), "1.5KiB");
        assert_eq!(base2_bytes(1024), "1KiB");
        assert_eq!(base2_bytes(100), "100B");
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time(1_500), "1970-01-01 00:00:01.5 +0000 UTC");
    }
}
