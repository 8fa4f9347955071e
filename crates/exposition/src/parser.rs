//! The line parser shared by the text format and OpenMetrics, with their differences
//! (timestamps in milliseconds or seconds, `# EOF`, UNIT, exemplars, strict metadata).

use std::borrow::Cow;
use std::collections::HashSet;

use crate::value::parse_float;
use crate::{Format, Label, MetricType, ParseError};

/// One meaningful line of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text`.
    Help {
        name: Cow<'a, str>,
        text: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        name: Cow<'a, str>,
        kind: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics only).
    Unit {
        name: Cow<'a, str>,
        unit: Cow<'a, str>,
    },
    /// A sample line.
    Sample(Sample<'a>),
}

/// A sample: the series' name and labels (in exposition order), value and timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The series exactly as written (metric name and label set, before the value): the
    /// same bytes always mean the same series, so scrapers can cache by them.
    pub series: &'a [u8],
    pub name: Cow<'a, str>,
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    /// Milliseconds since the epoch (OpenMetrics seconds are converted).
    pub timestamp_ms: Option<i64>,
    pub exemplar: Option<Exemplar<'a>>,
}

/// An OpenMetrics exemplar attached to a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar<'a> {
    pub labels: Vec<Label<'a>>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// An iterator over the entries of one exposition. After the first error it ends.
pub struct Parser<'a> {
    input: &'a [u8],
    text: &'a str,
    pos: usize,
    line: usize,
    line_start: usize,
    format: Format,
    failed: bool,
    done: bool,
    /// OpenMetrics: the family being read, its metadata so far, and every family seen.
    family: Option<FamilyState<'a>>,
    families_seen: HashSet<Cow<'a, str>>,
}

struct FamilyState<'a> {
    name: Cow<'a, str>,
    kind: MetricType,
    has_type: bool,
    has_unit: bool,
    has_help: bool,
    has_samples: bool,
}

const NAME_FIRST: u8 = 1;
const COLON: u8 = 2;
const DIGIT: u8 = 4;

/// Character classes of legacy metric and label names, by byte (a table lookup per byte:
/// names are most of what a scrape body is).
static NAME_CHARS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() || c == b'_' {
            NAME_FIRST
        } else if c == b':' {
            COLON
        } else if c.is_ascii_digit() {
            DIGIT
        } else {
            0
        };
        b += 1;
    }
    table
};

/// OpenMetrics limits exemplar label sets to 128 UTF-8 code points.
const MAX_EXEMPLAR_LABEL_RUNES: usize = 128;

impl<'a> Parser<'a> {
    /// A parser over one scrape body.
    pub fn new(input: &'a [u8], format: Format) -> Self {
        Self {
            input,
            text: "",
            pos: 0,
            line: 1,
            line_start: 0,
            format,
            failed: false,
            done: false,
            family: None,
            families_seen: HashSet::new(),
        }
    }

    fn error(&mut self, message: impl Into<String>) -> ParseError {
        self.failed = true;
        ParseError {
            line: self.line,
            column: self.pos - self.line_start + 1,
            message: message.into(),
        }
    }

    /// An error pointing at `at` (the start of the offending token).
    fn error_at(&mut self, at: usize, message: impl Into<String>) -> ParseError {
        self.pos = at;
        self.error(message)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_blanks(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn expect_blank(&mut self, what: &str) -> Result<(), ParseError> {
        if self.skip_blanks() == 0 {
            return Err(self.error(format!("expected a space before {what}")));
        }
        Ok(())
    }

    /// The token up to the next blank or newline.
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn end_of_line(&mut self) -> Result<(), ParseError> {
        self.skip_blanks();
        match self.peek() {
            Some(b'\n') => {
                self.pos += 1;
                self.line += 1;
                self.line_start = self.pos;
                Ok(())
            }
            None => {
                Err(self.error("unexpected end of input: the last line must end with a newline"))
            }
            Some(b'\r') => Err(self.error("carriage return is not allowed; lines end with \\n")),
            Some(_) => {
                let start = self.pos;
                let rest = self.word();
                Err(self.error_at(start, format!("unexpected {rest:?} at the end of the line")))
            }
        }
    }

    fn legacy_name(&mut self, label: bool) -> Option<&'a str> {
        let start = self.pos;
        let rest = self.input.get(start..).unwrap_or_default();
        let allowed = if label {
            NAME_FIRST
        } else {
            NAME_FIRST | COLON
        };
        let len = rest
            .iter()
            .enumerate()
            .position(|(i, b)| {
                let class = NAME_CHARS[usize::from(*b)];
                class & allowed == 0 && !(i > 0 && class & DIGIT != 0)
            })
            .unwrap_or(rest.len());
        self.pos += len;
        (len > 0).then(|| &self.text[start..self.pos])
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes; other escapes stay as written.
    fn quoted(&mut self) -> Result<Cow<'a, str>, ParseError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a quoted string"));
        }
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            match self.peek() {
                None | Some(b'\n') => return Err(self.error("unterminated quoted string")),
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(match owned {
                        Some(s) => Cow::Owned(s),
                        None => Cow::Borrowed(&self.text[start..end]),
                    });
                }
                Some(b'\\') => {
                    let buf = owned.get_or_insert_with(|| self.text[start..self.pos].to_string());
                    match self.input.get(self.pos + 1) {
                        Some(b'\\') => buf.push('\\'),
                        Some(b'"') => buf.push('"'),
                        Some(b'n') => buf.push('\n'),
                        Some(b'\n') | None => {
                            self.pos += 1;
                            return Err(self.error("unterminated quoted string"));
                        }
                        Some(_) => {
                            // Keep an unknown escape as written (a backslash and the next character).
                            buf.push('\\');
                            self.pos += 1;
                            continue;
                        }
                    }
                    self.pos += 2;
                }
                Some(_) => {
                    let ch_len = utf8_len(self.input[self.pos]);
                    if let Some(buf) = owned.as_mut() {
                        buf.push_str(&self.text[self.pos..self.pos + ch_len]);
                    }
                    self.pos += ch_len;
                }
            }
        }
    }

    /// A metric name: legacy characters, or (in braces, text 1.0.0 and OpenMetrics 2.0
    /// style) a quoted UTF-8 name.
    fn metric_name_token(&mut self) -> Result<Cow<'a, str>, ParseError> {
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        match self.legacy_name(false) {
            Some(n) => Ok(Cow::Borrowed(n)),
            None => Err(self.error("expected a metric name")),
        }
    }

    /// `{name="value", ...}`; a quoted string alone in the set is the metric name.
    fn label_set(
        &mut self,
        metric_name: &mut Option<Cow<'a, str>>,
    ) -> Result<Vec<Label<'a>>, ParseError> {
        self.pos += 1; // '{'
        let mut labels: Vec<Label<'a>> = Vec::new();
        loop {
            self.skip_blanks();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(labels);
                }
                Some(b'"') => {
                    let text = self.quoted()?;
                    self.skip_blanks();
                    if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.skip_blanks();
                        let value = self.quoted()?;
                        labels.push((text, value));
                    } else if metric_name.is_none() && labels.is_empty() {
                        *metric_name = Some(text);
                    } else {
                        return Err(self.error(format!("expected '=' after label name {text:?}")));
                    }
                }
                Some(_) => {
                    let Some(name) = self.legacy_name(true) else {
                        return Err(self.error("expected a label name or '}'"));
                    };
                    self.skip_blanks();
                    if self.peek() != Some(b'=') {
                        return Err(self.error(format!("expected '=' after label name {name:?}")));
                    }
                    self.pos += 1;
                    self.skip_blanks();
                    let value = self.quoted()?;
                    labels.push((Cow::Borrowed(name), value));
                }
                None => return Err(self.error("unterminated label set")),
            }
            self.skip_blanks();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.error("expected ',' or '}' in label set")),
            }
        }
    }

    fn timestamp(&mut self) -> Result<Option<i64>, ParseError> {
        let before = self.pos;
        self.skip_blanks();
        if matches!(self.peek(), None | Some(b'\n' | b'#')) || self.pos == before {
            return Ok(None);
        }
        let start = self.pos;
        let word = self.word();
        match self.format {
            Format::PrometheusText => word.parse::<i64>().map(Some).map_err(|_| {
                self.error_at(
                    start,
                    format!("invalid timestamp {word:?}: expected integer milliseconds"),
                )
            }),
            Format::OpenMetrics => match parse_float(word) {
                Some(seconds) if seconds.is_finite() && seconds.abs() < 9.2e15 => {
                    Ok(Some((seconds * 1000.0).round() as i64))
                }
                _ => Err(self.error_at(
                    start,
                    format!("invalid timestamp {word:?}: expected seconds"),
                )),
            },
        }
    }

    fn value(&mut self) -> Result<f64, ParseError> {
        let start = self.pos;
        let word = self.word();
        if word.is_empty() {
            return Err(self.error("expected a sample value"));
        }
        parse_float(word)
            .ok_or_else(|| self.error_at(start, format!("invalid sample value {word:?}")))
    }

    fn sample(&mut self) -> Result<Entry<'a>, ParseError> {
        let series_start = self.pos;
        let mut name = if self.peek() == Some(b'{') {
            None
        } else {
            Some(self.metric_name_token()?)
        };
        let labels = if self.peek() == Some(b'{') {
            self.label_set(&mut name)?
        } else {
            Vec::new()
        };
        let Some(name) = name else {
            return Err(self.error("sample without a metric name"));
        };
        let series = &self.input[series_start..self.pos];
        self.expect_blank("the value")?;
        let value = self.value()?;
        let timestamp_ms = self.timestamp()?;
        self.skip_blanks();
        let exemplar = if self.peek() == Some(b'#') {
            if self.format != Format::OpenMetrics {
                return Err(self.error("exemplars are only allowed in OpenMetrics"));
            }
            Some(self.exemplar(&name)?)
        } else {
            None
        };
        self.end_of_line()?;
        if self.format == Format::OpenMetrics {
            self.enter_family_for_sample(name.clone())?;
        }
        Ok(Entry::Sample(Sample {
            series,
            name,
            labels,
            value,
            timestamp_ms,
            exemplar,
        }))
    }

    fn exemplar(&mut self, sample_name: &str) -> Result<Exemplar<'a>, ParseError> {
        self.pos += 1; // '#'
        self.expect_blank("the exemplar")?;
        if !(sample_name.ends_with("_total") || sample_name.ends_with("_bucket")) {
            return Err(self.error(format!(
                "exemplars are only allowed on counter _total and histogram _bucket samples, not {sample_name:?}"
            )));
        }
        if self.peek() != Some(b'{') {
            return Err(self.error("expected '{' to start the exemplar's labels"));
        }
        let mut no_name = None;
        let labels = self.label_set(&mut no_name)?;
        if no_name.is_some() {
            return Err(self.error("an exemplar has no metric name"));
        }
        let runes: usize = labels
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count())
            .sum();
        if runes > MAX_EXEMPLAR_LABEL_RUNES {
            return Err(self.error(format!(
                "exemplar labels have {runes} characters, more than the {MAX_EXEMPLAR_LABEL_RUNES} allowed"
            )));
        }
        self.expect_blank("the exemplar value")?;
        let value = self.value()?;
        let timestamp_ms = self.timestamp()?;
        Ok(Exemplar {
            labels,
            value,
            timestamp_ms,
        })
    }

    /// `# HELP`, `# TYPE`, `# UNIT`, `# EOF` or (text format only) a comment.
    fn comment_line(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        self.pos += 1; // '#'
        let blanks = self.skip_blanks();
        let keyword_start = self.pos;
        let keyword = self.word();
        let om = self.format == Format::OpenMetrics;
        if om && keyword == "EOF" && blanks == 1 {
            if self.peek() == Some(b'\n') {
                self.pos += 1;
            }
            if self.pos < self.input.len() {
                return Err(self.error("unexpected data after # EOF"));
            }
            self.done = true;
            return Ok(None);
        }
        let is_meta = blanks > 0 && matches!(keyword, "HELP" | "TYPE")
            || (om && keyword == "UNIT" && blanks > 0);
        if !is_meta {
            if om {
                self.pos = keyword_start;
                return Err(self.error(
                    "only # TYPE, # UNIT, # HELP and # EOF lines may start with '#' in OpenMetrics",
                ));
            }
            self.skip_line();
            return Ok(None);
        }
        self.expect_blank("the metric name")?;
        let name = self.metric_name_token()?;
        let entry = match keyword {
            "TYPE" => {
                self.expect_blank("the type")?;
                let start = self.pos;
                let word = self.word();
                let kind = MetricType::parse(word, self.format)
                    .ok_or_else(|| self.error_at(start, format!("invalid metric type {word:?}")))?;
                self.end_of_line()?;
                Entry::Type { name, kind }
            }
            "UNIT" => {
                let unit = if self.skip_blanks() > 0 {
                    self.word()
                } else {
                    ""
                };
                self.end_of_line()?;
                if !unit.is_empty() && !name.ends_with(unit) {
                    return Err(self.error(format!(
                        "unit {unit:?} is not a suffix of metric family {name:?}"
                    )));
                }
                Entry::Unit {
                    name,
                    unit: Cow::Borrowed(unit),
                }
            }
            _ => {
                let text = if self.skip_blanks() > 0 {
                    self.help_text()
                } else {
                    Cow::Borrowed("")
                };
                self.end_of_line()?;
                Entry::Help { name, text }
            }
        };
        if om {
            self.enter_family_for_metadata(&entry)?;
        }
        Ok(Some(entry))
    }

    /// The rest of the line, with `\\` and `\n` (and in OpenMetrics `\"`) unescaped.
    fn help_text(&mut self) -> Cow<'a, str> {
        let start = self.pos;
        while !matches!(self.peek(), None | Some(b'\n')) {
            self.pos += 1;
        }
        let raw = self.text[start..self.pos].trim_end_matches([' ', '\t']);
        if !raw.contains('\\') {
            return Cow::Borrowed(raw);
        }
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if self.format == Format::OpenMetrics => out.push('"'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        Cow::Owned(out)
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.pos;
                return;
            }
        }
    }

    /// OpenMetrics: metadata opens a family, at most one TYPE, UNIT and HELP each, and a
    /// family cannot come back after another started.
    fn enter_family_for_metadata(&mut self, entry: &Entry<'a>) -> Result<(), ParseError> {
        let (name, which) = match entry {
            Entry::Type { name, .. } => (name, "TYPE"),
            Entry::Unit { name, .. } => (name, "UNIT"),
            Entry::Help { name, .. } => (name, "HELP"),
            Entry::Sample(_) => return Ok(()),
        };
        let same = self
            .family
            .as_ref()
            .is_some_and(|f| f.name == *name && !f.has_samples);
        if !same {
            self.open_family(name.clone())?;
        }
        let Some(family) = self.family.as_mut() else {
            return Ok(());
        };
        let flag = match which {
            "TYPE" => &mut family.has_type,
            "UNIT" => &mut family.has_unit,
            _ => &mut family.has_help,
        };
        if *flag {
            return Err(self.error(format!("second # {which} line for metric family {name:?}")));
        }
        *flag = true;
        if let Entry::Type { kind, .. } = entry {
            family.kind = *kind;
        }
        Ok(())
    }

    fn open_family(&mut self, name: Cow<'a, str>) -> Result<(), ParseError> {
        if !self.families_seen.insert(name.clone()) {
            return Err(self.error(format!(
                "metric family {name:?} appears again after another family: families must not be interleaved"
            )));
        }
        self.family = Some(FamilyState {
            name,
            kind: MetricType::Unknown,
            has_type: false,
            has_unit: false,
            has_help: false,
            has_samples: false,
        });
        Ok(())
    }

    fn enter_family_for_sample(&mut self, sample_name: Cow<'a, str>) -> Result<(), ParseError> {
        let mut bare_counter = None;
        if let Some(family) = self.family.as_mut() {
            if belongs_to(&sample_name, &family.name, family.kind) {
                family.has_samples = true;
                return Ok(());
            }
            if family.kind == MetricType::Counter && sample_name == family.name {
                bare_counter = Some(format!("{}_total", family.name));
            }
        }
        if let Some(expected) = bare_counter {
            return Err(self.error(format!(
                "counter sample {sample_name:?} must be named {expected:?}"
            )));
        }
        self.open_family(sample_name)?;
        if let Some(family) = self.family.as_mut() {
            family.has_samples = true;
        }
        Ok(())
    }
}

/// Whether a sample name is part of a family of the given type (OpenMetrics suffixes).
fn belongs_to(sample: &str, family: &str, kind: MetricType) -> bool {
    let Some(suffix) = sample.strip_prefix(family) else {
        return false;
    };
    let allowed: &[&str] = match kind {
        MetricType::Counter => &["_total", "_created"],
        MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
        MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
        MetricType::Summary => &["", "_count", "_sum", "_created"],
        MetricType::Info => &["_info"],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
    };
    allowed.contains(&suffix)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.done {
            return None;
        }
        if self.pos == 0 && self.text.is_empty() && !self.input.is_empty() {
            match std::str::from_utf8(self.input) {
                Ok(t) => self.text = t,
                Err(e) => {
                    let upto = e.valid_up_to();
                    self.line = 1 + self.input[..upto].iter().filter(|b| **b == b'\n').count();
                    self.line_start = self.input[..upto]
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |p| p + 1);
                    self.pos = upto;
                    return Some(Err(self.error("invalid UTF-8")));
                }
            }
        }
        loop {
            match self.peek() {
                None => {
                    self.done = true;
                    if self.format == Format::OpenMetrics {
                        return Some(Err(self.error("data does not end with # EOF")));
                    }
                    return None;
                }
                Some(b'\n') => {
                    if self.format == Format::OpenMetrics {
                        return Some(Err(self.error("empty lines are not allowed in OpenMetrics")));
                    }
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                Some(b' ' | b'\t') if self.format == Format::PrometheusText => {
                    self.skip_blanks();
                }
                Some(b'#') => match self.comment_line() {
                    Ok(Some(entry)) => return Some(Ok(entry)),
                    Ok(None) if self.done => return None,
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                },
                Some(_) => return Some(self.sample()),
            }
        }
    }
}
