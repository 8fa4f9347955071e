//! What client_golang's `expfmt.TextParser` (promtool's reader) makes of a text
//! exposition: metric families, and the refusals it makes beyond our scrape parser, in its
//! words.

use std::collections::HashMap;

use exposition::{Entry, Format, Parser, Sample};
use goyaml::go_quote;

use super::{Family, Kind, Metric};

/// Which names `expfmt` accepts: `model.LegacyValidation` or `model.UTF8Validation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameScheme {
    Legacy,
    Utf8,
}

impl NameScheme {
    fn valid_metric_name(self, name: &str) -> bool {
        match self {
            NameScheme::Utf8 => !name.is_empty(),
            NameScheme::Legacy => legacy_name(name, true),
        }
    }

    fn valid_label_name(self, name: &str) -> bool {
        match self {
            NameScheme::Utf8 => !name.is_empty(),
            NameScheme::Legacy => legacy_name(name, false),
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` (metric names) or the same without colons (label names).
fn legacy_name(name: &str, colons: bool) -> bool {
    let ok = |b: u8| b.is_ascii_alphabetic() || b == b'_' || (colons && b == b':');
    let bytes = name.as_bytes();
    bytes.first().is_some_and(|b| ok(*b)) && bytes[1..].iter().all(|b| ok(*b) || b.is_ascii_digit())
}

/// What a sample line of a summary or histogram family is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    Count,
    Sum,
}

/// Reads the families of a text exposition, refusing what `expfmt.TextParser` refuses.
pub(super) fn read_families(input: &[u8], scheme: NameScheme) -> Result<Vec<Family>, String> {
    let mut reader = FamilyReader {
        input,
        scheme,
        families: Vec::new(),
        by_name: HashMap::new(),
    };
    let mut cursor = 0;
    for entry in Parser::new(input, Format::PrometheusText) {
        let entry = entry.map_err(|e| text_error(e.line, &e.message))?;
        let start = match &entry {
            Entry::Sample(s) => offset_in(input, s.series).unwrap_or(cursor),
            Entry::Help { .. } | Entry::Type { .. } => metadata_line(input, cursor),
            Entry::Unit { .. } => continue,
        };
        let line = line_number(input, start);
        match entry {
            Entry::Sample(s) => {
                reader.sample(&s, start).map_err(|m| text_error(line, &m))?;
                cursor = next_line(input, start + s.series.len());
            }
            Entry::Help { name, .. } => {
                reader
                    .metadata(&name, start, None)
                    .map_err(|m| text_error(line, &m))?;
                cursor = next_line(input, start);
            }
            Entry::Type { name, kind } => {
                reader
                    .metadata(&name, start, Some(Kind::from_exposition(kind)))
                    .map_err(|m| text_error(line, &m))?;
                cursor = next_line(input, start);
            }
            Entry::Unit { .. } => {}
        }
    }
    // expfmt needs every line, the last one too, to end with a newline.
    let last_line = input.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    if input[last_line..].iter().any(|b| !is_blank(*b)) {
        return Err(text_error(
            line_number(input, input.len()),
            "unexpected end of input stream",
        ));
    }
    // Families that only had metadata are dropped.
    let mut families = reader.families;
    families.retain(|f| !f.metrics.is_empty());
    Ok(families)
}

/// expfmt's `ParseError` text.
fn text_error(line: usize, message: &str) -> String {
    format!("text format parsing error in line {line}: {message}")
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Where `part` (a slice of `input`) starts in `input`.
fn offset_in(input: &[u8], part: &[u8]) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(input.as_ptr() as usize)?;
    (offset + part.len() <= input.len()).then_some(offset)
}

/// The 1-based line of byte `offset`.
fn line_number(input: &[u8], offset: usize) -> usize {
    1 + input[..offset.min(input.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
}

/// The start of the line after the one holding `offset`.
fn next_line(input: &[u8], offset: usize) -> usize {
    let offset = offset.min(input.len());
    input[offset..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(input.len(), |p| offset + p + 1)
}

/// The end (its `\n`, or the end of the input) of the line holding `offset`.
fn line_end(input: &[u8], offset: usize) -> usize {
    let offset = offset.min(input.len());
    input[offset..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(input.len(), |p| offset + p)
}

/// The start of the first `# HELP` or `# TYPE` line at or after `from`: the parser only
/// skips blank lines and other comments between two entries.
fn metadata_line(input: &[u8], from: usize) -> usize {
    let mut start = from;
    while start < input.len() {
        let end = line_end(input, start);
        let line = &input[start..end];
        let rest = skip_blanks(line, 0);
        if line.get(rest) == Some(&b'#') {
            let keyword = skip_blanks(line, rest + 1);
            if keyword > rest + 1
                && (line[keyword..].starts_with(b"HELP") || line[keyword..].starts_with(b"TYPE"))
                && line.get(keyword + 4).copied().is_some_and(is_blank)
            {
                return start;
            }
        }
        start = end + 1;
    }
    from
}

fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).copied().is_some_and(is_blank) {
        at += 1;
    }
    at
}

/// A quoted string of the raw input, as expfmt reads it: only `\\`, `\n` and `\"` are
/// escapes, and a raw newline ends it in error. `at` is its opening quote.
struct Quoted {
    /// The text read, up to a raw newline if there is one.
    text: String,
    /// Just after the closing quote (or the end of the input).
    end: usize,
    /// The first bad escape, as expfmt reports it.
    bad_escape: Option<String>,
    raw_newline: bool,
}

fn read_quoted(bytes: &[u8], at: usize) -> Quoted {
    let mut text = Vec::new();
    let mut bad_escape = None;
    let mut raw_newline = false;
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => break,
            b'\\' => {
                let next = bytes.get(i + 1).copied().unwrap_or(b'\\');
                match next {
                    b'\\' | b'"' => text.push(next),
                    b'n' => text.push(b'\n'),
                    other => {
                        bad_escape.get_or_insert_with(|| invalid_escape(other));
                    }
                }
                i += 2;
                continue;
            }
            b'\n' => raw_newline = true,
            _ => {}
        }
        if !raw_newline && bad_escape.is_none() {
            text.push(b);
        }
        i += 1;
    }
    Quoted {
        text: String::from_utf8_lossy(&text).into_owned(),
        end: (i + 1).min(bytes.len()),
        bad_escape,
        raw_newline,
    }
}

/// expfmt's message for a backslash followed by `b`.
fn invalid_escape(b: u8) -> String {
    format!("invalid escape sequence '\\{}'", char::from(b))
}

/// What `expfmt` refuses in a sample's series (`name{labels}` as written) that our parser
/// takes: escapes other than `\\`, `\n` and `\"`, raw newlines in quoted strings, and
/// label values not followed by `,` or `}`.
fn check_series(series: &[u8]) -> Result<(), String> {
    let mut i = 0;
    let mut after_equals = false;
    while let Some(&b) = series.get(i) {
        if b != b'"' {
            if !is_blank(b) {
                after_equals = b == b'=';
            }
            i += 1;
            continue;
        }
        let quoted = read_quoted(series, i);
        if let Some(message) = quoted.bad_escape {
            return Err(message);
        }
        if quoted.raw_newline {
            let what = if after_equals {
                "label value"
            } else if series.get(skip_blanks(series, quoted.end)) == Some(&b'=') {
                "label name"
            } else {
                "metric name"
            };
            return Err(format!(
                "{what} {} contains unescaped new-line",
                go_quote(&quoted.text)
            ));
        }
        i = quoted.end;
        if after_equals {
            let next = series.get(skip_blanks(series, i));
            if !matches!(next, Some(b',' | b'}')) {
                return Err(format!(
                    "unexpected end of label value {}",
                    go_quote(&quoted.text)
                ));
            }
        }
        after_equals = false;
    }
    Ok(())
}

/// What `expfmt` refuses after a sample's value that our parser takes: blanks after the
/// value with no timestamp, and blanks after the timestamp. `from` is the end of the
/// series. A line cut by the end of the input is left to the final check.
fn check_sample_tail(input: &[u8], from: usize) -> Result<(), String> {
    let end = line_end(input, from);
    let line = &input[..end];
    let mut i = skip_blanks(line, from);
    while i < end && !is_blank(line[i]) {
        i += 1;
    }
    if i == end || end == input.len() {
        return Ok(());
    }
    i = skip_blanks(line, i);
    if i == end {
        return Err("expected integer as timestamp, got \"\"".to_string());
    }
    while i < end && !is_blank(line[i]) {
        i += 1;
    }
    if i < end {
        let rest = String::from_utf8_lossy(&line[i..]);
        return Err(format!(
            "spurious string after timestamp: {}",
            go_quote(&rest)
        ));
    }
    Ok(())
}

/// The state of expfmt's `TextParser` that matters here: the families by name.
struct FamilyReader<'i> {
    input: &'i [u8],
    scheme: NameScheme,
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
}

impl FamilyReader<'_> {
    /// expfmt's `setOrCreateCurrentMF`: the family of that name; else, for a `_count` or
    /// `_sum` (and, for histograms, `_bucket`) name, the summary or histogram it belongs
    /// to; else a new family.
    fn family_of(&mut self, name: &str) -> Result<(usize, Role), String> {
        if !self.scheme.valid_metric_name(name) {
            return Err(format!("invalid metric name {}", go_quote(name)));
        }
        if let Some(&i) = self.by_name.get(name) {
            return Ok((i, Role::Plain));
        }
        let role = if is_suffixed(name, "_count") {
            Role::Count
        } else if is_suffixed(name, "_sum") {
            Role::Sum
        } else {
            Role::Plain
        };
        if role != Role::Plain {
            let base = &name[..name.rfind('_').unwrap_or(name.len())];
            if let Some(&i) = self.by_name.get(base) {
                let kind = self.families[i].kind;
                if kind == Some(Kind::Summary) || kind.is_some_and(Kind::is_histogram_like) {
                    return Ok((i, role));
                }
            }
        } else if is_suffixed(name, "_bucket") {
            if let Some(&i) = self.by_name.get(&name[..name.len() - "_bucket".len()]) {
                if self.families[i].kind.is_some_and(Kind::is_histogram_like) {
                    return Ok((i, Role::Plain));
                }
            }
        }
        self.families.push(Family {
            name: name.to_string(),
            has_help: false,
            kind: None,
            metrics: Vec::new(),
            by_labels: HashMap::new(),
        });
        self.by_name
            .insert(name.to_string(), self.families.len() - 1);
        Ok((self.families.len() - 1, Role::Plain))
    }

    /// A `# HELP` (`kind` is `None`) or `# TYPE` line starting at `start`. As expfmt: a
    /// name alone on its line is ignored; a name followed by blanks only creates the
    /// family; HELP and TYPE come at most once per family, TYPE before the samples.
    fn metadata(&mut self, name: &str, start: usize, kind: Option<Kind>) -> Result<(), String> {
        let input = self.input;
        let end = line_end(input, start);
        let line = &input[..end];
        // `# HELP ` or `# TYPE `, then the name.
        let hash = skip_blanks(line, start);
        let keyword = skip_blanks(line, hash + 1);
        let name_start = skip_blanks(line, keyword + 4);
        let name_end = if line.get(name_start) == Some(&b'"') {
            let quoted = read_quoted(input, name_start);
            if let Some(message) = quoted.bad_escape {
                return Err(message);
            }
            if quoted.raw_newline {
                return Err(format!(
                    "metric name {} contains unescaped new-line",
                    go_quote(&quoted.text)
                ));
            }
            quoted.end
        } else {
            let mut i = name_start;
            while i < end && (line[i].is_ascii_alphanumeric() || line[i] == b'_' || line[i] == b':')
            {
                i += 1;
            }
            i
        };
        if name_end >= end {
            return Ok(());
        }
        if !is_blank(line[name_end]) {
            return Err("invalid metric name in comment".to_string());
        }
        let (family, _) = self.family_of(name)?;
        let text_start = skip_blanks(line, name_end);
        if text_start == end {
            return Ok(());
        }
        let family = &mut self.families[family];
        match kind {
            None => {
                if family.has_help {
                    return Err(format!(
                        "second HELP line for metric name {}",
                        go_quote(&family.name)
                    ));
                }
                check_help_escapes(&line[text_start..])?;
                family.has_help = true;
            }
            Some(kind) => {
                if family.kind.is_some() {
                    return Err(format!(
                        "second TYPE line for metric name {}, or TYPE reported after samples",
                        go_quote(&family.name)
                    ));
                }
                family.kind = Some(kind);
            }
        }
        Ok(())
    }

    /// A sample line whose series starts at `start`.
    fn sample(&mut self, sample: &Sample<'_>, start: usize) -> Result<(), String> {
        check_series(sample.series)?;
        let (index, role) = self.family_of(&sample.name)?;
        let scheme = self.scheme;
        let family = &mut self.families[index];
        let kind = *family.kind.get_or_insert(Kind::Untyped);
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut quantile = None;
        let mut bucket = None;
        for (name, value) in &sample.labels {
            if name == "__name__" {
                return Err("label name \"__name__\" is reserved".to_string());
            }
            if name.is_empty() {
                return Err(format!(
                    "invalid label name for metric {}",
                    go_quote(&family.name)
                ));
            }
            if !scheme.valid_label_name(name) {
                return Err(format!("invalid label name {}", go_quote(name)));
            }
            let special = (kind == Kind::Summary && name == "quantile")
                || (kind.is_histogram_like() && name == "le");
            if !special {
                if labels.iter().any(|(n, _)| n == name) {
                    return Err(format!(
                        "duplicate label names for metric {}",
                        go_quote(&family.name)
                    ));
                }
                labels.push((name.to_string(), value.to_string()));
            } else if kind == Kind::Summary {
                quantile = Some(exposition::parse_float(value).ok_or_else(|| {
                    format!(
                        "expected float as value for 'quantile' label, got {}",
                        go_quote(value)
                    )
                })?);
            } else {
                bucket = Some(exposition::parse_float(value).ok_or_else(|| {
                    format!(
                        "expected float as value for 'le' label, got {}",
                        go_quote(value)
                    )
                })?);
            }
        }
        let metric = if kind == Kind::Summary || kind.is_histogram_like() {
            let mut key = labels.clone();
            key.sort();
            match family.by_labels.get(&key) {
                Some(&m) => m,
                None => {
                    family.metrics.push(Metric {
                        labels,
                        buckets: 0,
                        quantiles: 0,
                    });
                    family.by_labels.insert(key, family.metrics.len() - 1);
                    family.metrics.len() - 1
                }
            }
        } else {
            family.metrics.push(Metric {
                labels,
                buckets: 0,
                quantiles: 0,
            });
            family.metrics.len() - 1
        };
        let metric = &mut family.metrics[metric];
        // A histogram's count or bucket that is not a whole number is kept as a float,
        // unless it is negative. A NaN quantile or bound adds nothing.
        let negative = sample.value < 0.0;
        let quantile = quantile.filter(|q| !q.is_nan());
        let bucket = bucket.filter(|b| !b.is_nan());
        match (kind, role) {
            (Kind::Summary, Role::Plain) if quantile.is_some() => metric.quantiles += 1,
            (k, Role::Count) if k.is_histogram_like() && negative => {
                return Err(format!(
                    "negative count for histogram {}",
                    go_quote(&family.name)
                ));
            }
            (k, Role::Plain) if k.is_histogram_like() && bucket.is_some() => {
                if negative {
                    return Err(format!(
                        "negative bucket population for histogram {}",
                        go_quote(&family.name)
                    ));
                }
                metric.buckets += 1;
            }
            _ => {}
        }
        check_sample_tail(self.input, start + sample.series.len())
    }
}

/// expfmt's `isCount`, `isSum`, `isBucket`: the suffix after at least one byte.
fn is_suffixed(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() && name.ends_with(suffix)
}

/// expfmt reads a HELP text with `\\`, `\n` and `\"` as its only escapes.
fn check_help_escapes(text: &[u8]) -> Result<(), String> {
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' {
            // A backslash ending the line escapes the newline, which is an error too.
            let next = text.get(i + 1).copied().unwrap_or(b'\n');
            if !matches!(next, b'\\' | b'n' | b'"') {
                return Err(invalid_escape(next));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(())
}

// ---- promlint -----------------------------------------------------------------------------
