//! The value syntaxes of Prometheus's flags (kingpin's and Prometheus's own types), and how
//! `/api/v1/status/flags` prints each (kingpin's `Value.String()`).

use std::time::Duration;

/// Prometheus's duration (`model.Duration`): `15d`, `1h30m`, `500ms`, `0`.
pub fn duration(text: &str) -> Result<Duration, String> {
    promconfig::PromDuration::parse(text).map(|d| d.0)
}

/// A duration as Prometheus prints it: `15d`, `1h30m`, `0s`.
pub fn show_duration(d: Duration) -> String {
    promconfig::PromDuration(d).to_string()
}

/// Go's `time.ParseDuration` (kingpin's `DurationVar`): `2ms`, `1.5s`, `1h2m`, `-3us`, `0`.
/// In nanoseconds.
pub fn go_duration(text: &str) -> Result<i64, String> {
    goyaml::go_duration(text)
}

/// Nanoseconds as Go's `time.Duration.String()` prints them: `2ms`, `1m30s`, `1h0m0s`.
pub fn show_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let fraction = |value: u64, per: u64, digits: usize| -> String {
        let (whole, rem) = (value / per, value % per);
        if rem == 0 {
            whole.to_string()
        } else {
            let rem = format!("{rem:0digits$}");
            format!("{whole}.{}", rem.trim_end_matches('0'))
        }
    };
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}\u{b5}s", fraction(u, 1_000, 3));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(u, 1_000_000, 6));
    }
    let secs = u / 1_000_000_000;
    let (hours, minutes) = (secs / 3600, secs / 60 % 60);
    let seconds = fraction(u % 60_000_000_000, 1_000_000_000, 9);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// A size as kingpin's `BytesVar` reads it (`units.ParseBase2Bytes`): a unit is required
/// (`512MB`, `1.5GiB`, `1GB512MB`; 1KB is 1024 B), `0` alone is allowed.
pub fn bytes(text: &str) -> Result<i64, String> {
    promconfig::ByteSize::parse_base2(text)
}

/// A size as `units.Base2Bytes` prints it: `512MiB`, `1GiB512MiB`, `0B`.
pub fn show_bytes(n: i64) -> String {
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut parts = Vec::new();
    let mut n = n;
    for (i, unit) in UNITS.iter().enumerate() {
        if n % 1024 != 0 || (i == 0 && n == 0) {
            let suffix = if i == 0 { "B" } else { "iB" };
            parts.push(format!("{}{unit}{suffix}", n % 1024));
        }
        n /= 1024;
        if n == 0 {
            break;
        }
    }
    parts.reverse();
    parts.concat()
}

/// A memory size: a share of the machine's memory (`50%`) or a size as [`bytes`] reads it;
/// `0` is no limit.
pub fn memory_size(text: &str) -> Result<MemorySize, String> {
    if let Some(percent) = text.strip_suffix('%') {
        return match percent.trim().parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(MemorySize::Percent(p)),
            _ => Err(format!(
                "{text:?} is not a share of memory between 0% and 100%"
            )),
        };
    }
    bytes(text).map(|n| MemorySize::Bytes(n.max(0) as u64))
}

/// A memory limit as given: bytes, or a share of the machine's memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemorySize {
    Bytes(u64),
    Percent(f64),
}

impl MemorySize {
    /// The limit in bytes, for a machine with `total` bytes of memory (0: no limit).
    pub fn resolve(self, total: u64) -> u64 {
        match self {
            MemorySize::Bytes(n) => n,
            MemorySize::Percent(p) => (total as f64 * p / 100.0) as u64,
        }
    }
}

impl std::fmt::Display for MemorySize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemorySize::Bytes(n) => f.write_str(&show_bytes(*n as i64)),
            MemorySize::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The memory this process may use: the cgroup's limit when there is one (a container),
/// else the machine's RAM; 0 when neither can be read.
pub fn machine_memory() -> u64 {
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let ram = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    match (cgroup, ram) {
        (Some(c), Some(r)) => c.min(r),
        (c, r) => c.or(r).unwrap_or(0),
    }
}

/// An integer as kingpin reads it (through `strconv.ParseFloat`, so `5e7` is 50000000).
pub fn int(text: &str) -> Result<i64, String> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() < 9.2e18 => Ok(v.trunc() as i64),
        _ => Err(format!("expected a number, got {text:?}")),
    }
}

/// A float as kingpin reads it (`strconv.ParseFloat`).
pub fn float(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if !v.is_nan() => Ok(v),
        _ => Err(format!("expected a number, got {text:?}")),
    }
}

/// A float as kingpin prints it (Go's `strconv.FormatFloat(v, 'g', -1, 64)`): `0.9`, `1e+06`.
pub fn show_float(v: f64) -> String {
    model::float::format_go_g(v)
}

/// A boolean as kingpin reads it (`strconv.ParseBool`): `true`, `false`, `1`, `0`, `t`, `F`, …
pub fn boolean(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {text:?}: invalid syntax"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("2ms"), Ok(2_000_000));
        assert_eq!(go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(go_duration("1h2m"), Ok(3_720_000_000_000));
        assert_eq!(go_duration("-3us"), Ok(-3_000));
        assert_eq!(go_duration("0"), Ok(0));
        assert!(go_duration("1").unwrap_err().contains("missing unit"));
        assert!(go_duration("5x").is_err());
        assert!(go_duration("").is_err());
        assert_eq!(show_go_duration(2_000_000), "2ms");
        assert_eq!(show_go_duration(1_500_000_000), "1.5s");
        assert_eq!(show_go_duration(90_000_000_000), "1m30s");
        assert_eq!(show_go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(show_go_duration(1_500), "1.5\u{b5}s");
        assert_eq!(show_go_duration(0), "0s");
    }

    #[test]
    fn sizes_ints_floats_bools() {
        assert_eq!(bytes("512MB"), Ok(512 << 20));
        assert!(bytes("512").is_err());
        assert_eq!(show_bytes(1536 << 20), "1GiB512MiB");
        assert_eq!(show_bytes(512 << 20), "512MiB");
        assert_eq!(show_bytes(0), "0B");
        assert_eq!(show_bytes(100), "100B");
        assert_eq!(int("5e7"), Ok(50_000_000));
        assert_eq!(int("-3"), Ok(-3));
        assert!(int("ten").is_err());
        assert_eq!(show_float(0.9), "0.9");
        assert_eq!(show_float(1.0), "1");
        assert_eq!(show_float(1e-5), "1e-05");
        assert_eq!(show_float(1e6), "1e+06");
        assert_eq!(show_float(123456.0), "123456");
        assert_eq!(boolean("True"), Ok(true));
        assert_eq!(boolean("0"), Ok(false));
        assert!(boolean("yes").is_err());
    }
}
