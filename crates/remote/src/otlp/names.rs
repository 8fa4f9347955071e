//! Metric, label and unit names from OTLP's, by the rules of the `prometheus/otlptranslator`
//! Go module (v1.0.0, the version Prometheus 3 uses): escaping to the legacy character set
//! or not (UTF-8), unit and type suffixes (`_seconds`, `_per_second`, `_total`, `_ratio`),
//! `key_` prefixes for label names starting with a digit (or an underscore, when asked).

/// The kind of an OTLP metric, as far as naming cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Unknown,
    NonMonotonicCounter,
    MonotonicCounter,
    Gauge,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// OTLP (UCUM) units to Prometheus's, for the main unit of a suffix.
fn unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// The unit after `/`, singular (`s` → `second`).
fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// Builds metric names (otlptranslator's `MetricNamer`).
#[derive(Debug, Clone, Default)]
pub struct MetricNamer {
    pub namespace: String,
    pub with_suffixes: bool,
    pub utf8_allowed: bool,
}

impl MetricNamer {
    pub fn build(&self, name: &str, unit: &str, kind: MetricKind) -> Result<String, String> {
        if self.utf8_allowed {
            return Ok(self.build_utf8(name, unit, kind));
        }
        let normalized = self.build_compliant(name, unit, kind);
        if normalized.is_empty() {
            return Err(format!(
                "normalization for metric {} resulted in empty name",
                go_quote(name)
            ));
        }
        if normalized != name && normalized.bytes().all(|b| b == b'_') {
            return Err(format!(
                "normalization for metric {} resulted in invalid name {}",
                go_quote(name),
                go_quote(&normalized)
            ));
        }
        Ok(normalized)
    }

    fn build_compliant(&self, name: &str, unit: &str, kind: MetricKind) -> String {
        if self.with_suffixes {
            return normalize_name(name, unit, kind, &self.namespace);
        }
        // Without suffixes, underscores are kept as written and only runs of other invalid
        // characters become one underscore.
        let join_valid = |s: &str| {
            s.split(|c: char| !is_valid_metric_char(c) && c != '_')
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("_")
        };
        let metric_name = join_valid(name);
        if !self.namespace.is_empty() {
            return format!("{}_{metric_name}", join_valid(&self.namespace));
        }
        if metric_name.starts_with(|c: char| c.is_ascii_digit()) {
            return format!("_{metric_name}");
        }
        metric_name
    }

    /// UTF-8 names are kept; suffixes are added unless the name already ends with them.
    fn build_utf8(&self, name: &str, unit: &str, kind: MetricKind) -> String {
        let mut name = if self.namespace.is_empty() {
            name.to_string()
        } else {
            format!("{}_{name}", self.namespace)
        };
        if !self.with_suffixes {
            return name;
        }
        // Upstream trims the outer suffixes first and appends them back innermost first.
        let ratio = unit == "1" && kind == MetricKind::Gauge;
        if ratio {
            name = trim_suffix_and_delimiter(&name, "ratio");
        }
        let total = kind == MetricKind::MonotonicCounter;
        if total {
            name = trim_suffix_and_delimiter(&name, "total");
        }
        let (main_unit, per_unit) = unit_suffixes(unit);
        if !per_unit.is_empty() {
            name = trim_suffix_and_delimiter(&name, &per_unit);
        }
        if !main_unit.is_empty() && !name.ends_with(&main_unit) {
            name = format!("{name}_{main_unit}");
        }
        if !per_unit.is_empty() {
            name = format!("{name}_{per_unit}");
        }
        if total {
            name.push_str("_total");
        }
        if ratio {
            name.push_str("_ratio");
        }
        name
    }
}

/// Full normalization: the name split into tokens of valid characters (so runs of
/// underscores collapse, as the OpenTelemetry specification asks), unit tokens, `total`
/// for counters and `ratio` for gauges of unit `1` moved to the end, the namespace first.
fn normalize_name(name: &str, unit: &str, kind: MetricKind, namespace: &str) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_valid_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main_unit, per_unit) = unit_suffixes(unit);
    add_unit_tokens(
        &mut tokens,
        clean_up_unit(&main_unit),
        clean_up_unit(&per_unit),
    );
    if kind == MetricKind::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == MetricKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    if !namespace.is_empty() {
        tokens.insert(0, namespace.to_string());
    }
    let normalized = tokens.join("_");
    if normalized.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("_{normalized}");
    }
    normalized
}

fn add_unit_tokens(tokens: &mut Vec<String>, main_unit: String, per_unit: String) {
    let mut main_unit = if tokens.contains(&main_unit) {
        String::new()
    } else {
        main_unit
    };
    let per_unit = if per_unit == "per_" {
        String::new()
    } else {
        let trimmed = per_unit.strip_suffix('_').unwrap_or(&per_unit).to_string();
        if tokens.contains(&trimmed) {
            String::new()
        } else {
            trimmed
        }
    };
    if !per_unit.is_empty() {
        if let Some(t) = main_unit.strip_suffix('_') {
            main_unit = t.to_string();
        }
    }
    if !main_unit.is_empty() {
        tokens.push(main_unit);
    }
    if !per_unit.is_empty() {
        tokens.push(per_unit);
    }
}

/// Trims `suffix` and the character before it, if the name is longer than both.
fn trim_suffix_and_delimiter(name: &str, suffix: &str) -> String {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        // The delimiter is one byte in upstream's rule; a multi-byte character before the
        // suffix would be cut in half there, so it is kept whole here.
        let cut = name.len() - suffix.len() - 1;
        if name.is_char_boundary(cut) {
            return name[..cut].to_string();
        }
    }
    name.to_string()
}

/// `[a-zA-Z0-9:]`.
fn is_valid_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// The main and `per_` unit words of a unit, before any character clean-up: `By/s` →
/// (`bytes`, `per_second`); units in braces (`{request}`) are annotations and give none.
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((m, p)) => (m, Some(p)),
        None => (unit, None),
    };
    let has_braces = |s: &str| s.contains(['{', '}']);
    let main = main.trim();
    let main_unit = if !main.is_empty() && !has_braces(main) {
        unit_word(main).to_string()
    } else {
        String::new()
    };
    let mut per_unit = String::new();
    if let Some(per) = per.filter(|p| !p.is_empty()) {
        let per = per.trim();
        if !per.is_empty() && !has_braces(per) {
            per_unit = per_unit_word(per).to_string();
        }
        if !per_unit.is_empty() {
            per_unit = format!("per_{per_unit}");
        }
    }
    (main_unit, per_unit)
}

/// Invalid characters to `_`, runs of underscores to one, a leading underscore dropped.
fn clean_up_unit(unit: &str) -> String {
    let mapped: String = unit
        .chars()
        .map(|c| if is_valid_metric_char(c) { c } else { '_' })
        .collect();
    let collapsed = collapse_underscores(&mapped);
    collapsed
        .strip_prefix('_')
        .map(str::to_string)
        .unwrap_or(collapsed)
}

fn collapse_underscores(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut previous_underscore = false;
    for c in s.chars() {
        if c == '_' {
            if !previous_underscore {
                out.push('_');
            }
            previous_underscore = true;
        } else {
            out.push(c);
            previous_underscore = false;
        }
    }
    out
}

/// Builds unit names (otlptranslator's `UnitNamer`): what a metric's unit is called in
/// Prometheus (`By/s` → `bytes_per_second`).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitNamer {
    pub utf8_allowed: bool,
}

impl UnitNamer {
    pub fn build(&self, unit: &str) -> String {
        let (mut main_unit, mut per_unit) = unit_suffixes(unit);
        if !self.utf8_allowed {
            main_unit = clean_up_unit(&main_unit);
            per_unit = clean_up_unit(&per_unit);
        }
        let u = match (main_unit.is_empty(), per_unit.is_empty()) {
            (false, false) => format!("{main_unit}_{per_unit}"),
            (false, true) => main_unit,
            _ => per_unit,
        };
        let u = u.strip_prefix('_').unwrap_or(&u);
        u.strip_suffix('_').unwrap_or(u).to_string()
    }
}

/// Builds label names from attribute names (otlptranslator's `LabelNamer`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LabelNamer {
    pub utf8_allowed: bool,
    /// `label_name_underscore_sanitization`: `key` before a name starting with one `_`.
    pub underscore_sanitization: bool,
    /// `label_name_preserve_multiple_underscores`: runs of `_` kept when escaping.
    pub preserve_multiple_underscores: bool,
}

impl LabelNamer {
    pub fn build(&self, label: &str) -> Result<String, String> {
        if label.is_empty() {
            return Err("label name is empty".into());
        }
        if self.utf8_allowed {
            if label.bytes().all(|b| b == b'_') {
                return Err(format!(
                    "label name {} contains only underscores",
                    go_quote(label)
                ));
            }
            return Ok(label.to_string());
        }
        let mut normalized = sanitize_label_name(label, self.preserve_multiple_underscores);
        if normalized.starts_with(|c: char| c.is_ascii_digit()) {
            normalized = format!("key_{normalized}");
        } else if self.underscore_sanitization
            && normalized.starts_with('_')
            && !normalized.starts_with("__")
        {
            normalized = format!("key{normalized}");
        }
        if normalized.bytes().all(|b| b == b'_') {
            return Err(format!(
                "normalization for label name {} resulted in invalid name {}",
                go_quote(label),
                go_quote(&normalized)
            ));
        }
        Ok(normalized)
    }
}

/// Characters outside `[a-zA-Z0-9]` to `_` (underscores included, so they take part in
/// collapsing); runs collapsed unless preserved; a reserved `__x__` name keeps its
/// double underscores around the collapsed inside.
fn sanitize_label_name(name: &str, preserve_multiple_underscores: bool) -> String {
    if preserve_multiple_underscores {
        return name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
    }
    let reserved = name.len() >= 4 && name.starts_with("__") && name.ends_with("__");
    let inner = if reserved {
        &name[2..name.len() - 2]
    } else {
        name
    };
    let mut out = String::with_capacity(name.len());
    let mut previous_underscore = false;
    for c in inner.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            previous_underscore = false;
        } else if !previous_underscore {
            out.push('_');
            previous_underscore = true;
        }
    }
    if reserved {
        format!("__{out}__")
    } else {
        out
    }
}

/// Go's `%q`, as upstream's error texts quote names.
pub(crate) fn go_quote(s: &str) -> String {
    goyaml::go_quote(s)
}

#[cfg(test)]
mod tests;
