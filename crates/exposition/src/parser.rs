//! The line parsers of the text format and OpenMetrics. Each accepts what Prometheus's own
//! (`promparse.go`, `openmetricsparse.go` and their lexers) accepts and refuses what they
//! refuse; only the error messages are ours, with the line and column.
//!
//! The text format is lenient: blanks (spaces and tabs) may separate any two tokens, lines
//! may be blank or indented, commas between labels are optional, label values and quoted
//! names may span lines, the last line needs no newline, and a NUL byte where a line
//! would start ends the input. Timestamps are unsigned integer milliseconds.
//!
//! OpenMetrics is lexically strict: exactly one space between the tokens of a line, none
//! inside label sets, no blank lines, every line ends with `\n` and the input with `# EOF`.
//! Like Prometheus, it checks no family structure: metadata may repeat or come late,
//! families may interleave, sample names need no type-specific suffix (`# TYPE foo_total
//! counter` with `foo_total` samples is fine) and exemplars may follow any sample.

use std::borrow::Cow;

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
    /// Milliseconds since the epoch (OpenMetrics seconds are converted, truncating to the
    /// millisecond as Prometheus does).
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
    /// The whole input when it is valid UTF-8 (the usual case: tokens are sliced from it
    /// without further checks); empty otherwise, and then each token is checked on its own
    /// (Prometheus only minds invalid UTF-8 in the tokens it uses, not in comments).
    text: &'a str,
    valid_utf8: bool,
    started: bool,
    pos: usize,
    line: usize,
    line_start: usize,
    format: Format,
    failed: bool,
    done: bool,
    /// A label list handed back by the caller ([`Parser::recycle`]), so that a sample's
    /// labels need no allocation of their own.
    spare_labels: Vec<Label<'a>>,
}

const NAME_FIRST: u8 = 1;
const COLON: u8 = 2;
const DIGIT: u8 = 4;
/// Bytes that end the plain run of a quoted string: quote, backslash, newline, NUL.
const QUOTE_STOP: u8 = 8;

/// Character classes by byte (a table lookup per byte: names and label values are most of
/// what a scrape body is).
static CLASSES: [u8; 256] = {
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
        } else if matches!(c, b'"' | b'\\' | b'\n' | 0) {
            QUOTE_STOP
        } else {
            0
        };
        b += 1;
    }
    table
};

fn starts_metric_name(b: u8) -> bool {
    CLASSES[usize::from(b)] & (NAME_FIRST | COLON) != 0
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Which characters a quoted string may hold besides the plain ones.
#[derive(Clone, Copy)]
struct QuoteRules {
    newline: bool,
    nul: bool,
}

/// Text format label values: anything (NUL and raw newlines included).
const TEXT_VALUE: QuoteRules = QuoteRules {
    newline: true,
    nul: true,
};
/// Quoted metric and label names, both formats: raw newlines, but no NUL.
const QUOTED_NAME: QuoteRules = QuoteRules {
    newline: true,
    nul: false,
};
/// OpenMetrics label values: NUL, but no raw newline.
const OM_VALUE: QuoteRules = QuoteRules {
    newline: false,
    nul: true,
};
/// OpenMetrics exemplar label names and values: neither.
const OM_EXEMPLAR: QuoteRules = QuoteRules {
    newline: false,
    nul: false,
};

impl<'a> Parser<'a> {
    /// A parser over one scrape body.
    pub fn new(input: &'a [u8], format: Format) -> Self {
        Self {
            input,
            text: "",
            valid_utf8: false,
            started: false,
            pos: 0,
            line: 1,
            line_start: 0,
            format,
            failed: false,
            done: false,
            spare_labels: Vec::new(),
        }
    }

    /// Hands a sample's label list back once the caller is done with it: the next
    /// sample's labels go into it instead of a new allocation (a scrape of a thousand
    /// labelled samples then allocates once, not a thousand times).
    pub fn recycle(&mut self, mut labels: Vec<Label<'a>>) {
        if labels.capacity() > self.spare_labels.capacity() {
            labels.clear();
            self.spare_labels = labels;
        }
    }

    /// An empty label list: the recycled one, if any.
    fn label_list(&mut self) -> Vec<Label<'a>> {
        let mut labels = std::mem::take(&mut self.spare_labels);
        labels.clear();
        labels
    }

    /// An error pointing at `at` (the start of the offending token); parsing ends.
    fn error_at(&mut self, at: usize, message: impl Into<String>) -> ParseError {
        self.failed = true;
        if at < self.line_start {
            // Inside a quoted string that spans lines: count again.
            let before = &self.input[..at];
            self.line = 1 + before.iter().filter(|b| **b == b'\n').count();
            self.line_start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1);
        }
        self.pos = at;
        ParseError {
            line: self.line,
            column: at - self.line_start + 1,
            message: message.into(),
        }
    }

    fn error(&mut self, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos, message)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// Steps over the `\n` at `pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    fn skip_blanks(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// The end of the line that `from` is on: its `\n`, or the end of the input.
    fn line_end(&self, from: usize) -> usize {
        self.input[from..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(self.input.len(), |i| from + i)
    }

    /// The input between two token boundaries, as text.
    fn str_at(&mut self, start: usize, end: usize) -> Result<&'a str, ParseError> {
        if self.valid_utf8 {
            if let Some(s) = self.text.get(start..end) {
                return Ok(s);
            }
        }
        let input = self.input;
        std::str::from_utf8(&input[start..end])
            .map_err(|e| self.error_at(start + e.valid_up_to(), "invalid UTF-8"))
    }

    /// What stands at `at`, for an error message: up to the next blank or line end.
    fn shown(&self, at: usize) -> String {
        let rest = &self.input[at.min(self.input.len())..];
        let len = rest
            .iter()
            .take(32)
            .position(|b| matches!(b, b' ' | b'\t' | b'\n'))
            .unwrap_or(rest.len().min(32));
        String::from_utf8_lossy(&rest[..len]).into_owned()
    }

    /// A legacy metric (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or label (no colons) name; empty when
    /// none starts at `pos`.
    fn legacy_name(&mut self, label: bool) -> &'a str {
        let start = self.pos;
        let allowed = if label {
            NAME_FIRST
        } else {
            NAME_FIRST | COLON
        };
        let rest = &self.input[start..];
        let len = rest
            .iter()
            .enumerate()
            .position(|(i, b)| {
                let class = CLASSES[usize::from(*b)];
                class & allowed == 0 && !(i > 0 && class & DIGIT != 0)
            })
            .unwrap_or(rest.len());
        self.pos += len;
        // ASCII, so valid UTF-8 even when the rest of the input is not.
        if self.valid_utf8 {
            &self.text[start..self.pos]
        } else {
            std::str::from_utf8(&self.input[start..self.pos]).unwrap_or_default()
        }
    }

    /// The double-quoted string at `pos` (which is a `"`), with `\\`, `\"` and `\n`
    /// unescaped; other escapes stay as written, and a backslash never ends a line.
    fn quoted(&mut self, rules: QuoteRules) -> Result<Cow<'a, str>, ParseError> {
        let input = self.input;
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            while input
                .get(i)
                .is_some_and(|b| CLASSES[usize::from(*b)] != QUOTE_STOP)
            {
                i += 1;
            }
            match input.get(i) {
                None => return Err(self.error_at(i, "unterminated quoted string")),
                Some(b'"') => break,
                Some(b'\\') => match input.get(i + 1) {
                    None => return Err(self.error_at(i + 1, "unterminated quoted string")),
                    Some(b'\n') => {
                        return Err(self.error_at(i, "a backslash may not end a line"));
                    }
                    Some(0) if !rules.nul => {
                        return Err(self.error_at(i + 1, "NUL byte in a quoted string"));
                    }
                    Some(_) => {
                        escaped = true;
                        i += 2;
                    }
                },
                Some(b'\n') if rules.newline => {
                    i += 1;
                    self.line += 1;
                    self.line_start = i;
                }
                Some(b'\n') => return Err(self.error_at(i, "unterminated quoted string")),
                Some(_) if rules.nul => i += 1,
                Some(_) => return Err(self.error_at(i, "NUL byte in a quoted string")),
            }
        }
        let raw = self.str_at(start, i)?;
        self.pos = i + 1;
        Ok(if escaped {
            Cow::Owned(unescape(raw, true))
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// The metric name after `# HELP`, `# TYPE` or `# UNIT`: legacy or quoted.
    fn meta_name(&mut self, keyword: &str) -> Result<Cow<'a, str>, ParseError> {
        match self.peek() {
            Some(b'"') => self.quoted(QUOTED_NAME),
            Some(b) if starts_metric_name(b) => Ok(Cow::Borrowed(self.legacy_name(false))),
            _ => Err(self.error(format!("expected a metric name after {keyword}"))),
        }
    }

    fn sample_value(&mut self, start: usize, end: usize) -> Result<f64, ParseError> {
        let word = self.str_at(start, end)?;
        parse_float(word)
            .ok_or_else(|| self.error_at(start, format!("invalid sample value {word:?}")))
    }

    // ---- The text format ------------------------------------------------------------

    fn next_text(&mut self) -> Option<Result<Entry<'a>, ParseError>> {
        loop {
            self.skip_blanks();
            match self.peek() {
                // Prometheus's lexer takes a NUL byte where a line starts for the end.
                None | Some(0) => {
                    self.done = true;
                    return None;
                }
                Some(b'\n') => self.newline(),
                Some(b'#') => match self.text_comment() {
                    Ok(Some(entry)) => return Some(Ok(entry)),
                    Ok(None) if self.done => return None,
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                },
                Some(b) if b == b'{' || starts_metric_name(b) => return Some(self.text_sample()),
                Some(_) => {
                    let what = self.shown(self.pos);
                    return Some(Err(self.error(format!(
                        "expected a metric name, '{{' or '#' to start a line, not {what:?}"
                    ))));
                }
            }
        }
    }

    /// `# HELP`, `# TYPE` or any other comment.
    fn text_comment(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        self.pos += 1; // '#'
        if self.skip_blanks() == 0 {
            // Upstream's lexer reads a `#` comment without a blank in its initial state,
            // where a NUL byte is the end of the input.
            let end = self.line_end(self.pos);
            if self.input[self.pos..end].contains(&0) {
                self.done = true;
                return Ok(None);
            }
        } else {
            let rest = &self.input[self.pos..];
            let help = rest.starts_with(b"HELP");
            if (help || rest.starts_with(b"TYPE")) && rest.get(4).copied().is_some_and(is_blank) {
                self.pos += 4;
                self.skip_blanks();
                return self.text_metadata(help).map(Some);
            }
        }
        if self.peek() == Some(0) {
            // As at a line start: Prometheus stops here.
            self.done = true;
            return Ok(None);
        }
        let end = self.line_end(self.pos);
        self.pos = end;
        if end < self.input.len() {
            self.newline();
        }
        Ok(None)
    }

    fn text_metadata(&mut self, help: bool) -> Result<Entry<'a>, ParseError> {
        let keyword = if help { "HELP" } else { "TYPE" };
        let name = self.meta_name(keyword)?;
        // The rest of the line, less one separating byte; nothing if it is all blanks.
        let rest_start = self.pos;
        let end = self.line_end(rest_start);
        let text_start = match self.input[rest_start..end].iter().find(|b| !is_blank(**b)) {
            None => end,
            // (Whatever that byte is: after `# HELP a\xff` the help is empty, after
            // `# HELP aé` it is invalid UTF-8.)
            Some(_) if self.input[rest_start] == 0 => {
                return Err(self.error("expected a line break after the metadata"));
            }
            Some(_) => rest_start + 1,
        };
        let entry = if help {
            let raw = self.str_at(text_start, end)?;
            let text = if raw.contains('\\') {
                Cow::Owned(unescape(raw, false))
            } else {
                Cow::Borrowed(raw)
            };
            Entry::Help { name, text }
        } else {
            let word = &self.input[text_start..end];
            let Some(kind) = MetricType::parse(word, Format::PrometheusText) else {
                let word = String::from_utf8_lossy(word).into_owned();
                return Err(self.error_at(text_start, format!("invalid metric type {word:?}")));
            };
            Entry::Type { name, kind }
        };
        self.pos = end;
        if end < self.input.len() {
            self.newline();
        }
        Ok(entry)
    }

    fn text_sample(&mut self) -> Result<Entry<'a>, ParseError> {
        let series_start = self.pos;
        let mut name = None;
        if self.peek() != Some(b'{') {
            name = Some(Cow::Borrowed(self.legacy_name(false)));
        }
        let mut series_end = self.pos;
        self.skip_blanks();
        let labels = if self.peek() == Some(b'{') {
            let labels = self.text_labels(&mut name)?;
            series_end = self.pos;
            labels
        } else {
            Vec::new()
        };
        let Some(name) = name else {
            return Err(self.error_at(series_start, "metric name not set"));
        };
        self.skip_blanks();
        let value_start = self.pos;
        while self
            .peek()
            .is_some_and(|b| !matches!(b, b'{' | b' ' | b'\t' | b'\n' | 0))
        {
            self.pos += 1;
        }
        if self.pos == value_start {
            let what = self.shown(self.pos);
            return Err(self.error(format!("expected a value after the metric, not {what:?}")));
        }
        let value = self.sample_value(value_start, self.pos)?;
        self.skip_blanks();
        let timestamp_ms = match self.peek() {
            Some(b'0'..=b'9') => {
                let start = self.pos;
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits = self.str_at(start, self.pos)?;
                let Ok(ms) = digits.parse::<i64>() else {
                    return Err(self.error_at(start, format!("timestamp {digits} out of range")));
                };
                self.skip_blanks();
                if !matches!(self.peek(), None | Some(b'\n')) {
                    let what = self.shown(self.pos);
                    return Err(self.error(format!("unexpected {what:?} after the timestamp")));
                }
                Some(ms)
            }
            None | Some(b'\n') => None,
            Some(_) => {
                let what = self.shown(self.pos);
                return Err(self.error(format!(
                    "expected a timestamp (integer milliseconds) or a line break, not {what:?}"
                )));
            }
        };
        if self.peek() == Some(b'\n') {
            self.newline();
        }
        Ok(Entry::Sample(Sample {
            series: &self.input[series_start..series_end],
            name,
            labels,
            value,
            timestamp_ms,
            exemplar: None,
        }))
    }

    /// `{name="value" ...}`: blanks anywhere, commas optional (one at most between two
    /// labels), and a quoted string not followed by `=` is the metric name.
    fn text_labels(
        &mut self,
        metric_name: &mut Option<Cow<'a, str>>,
    ) -> Result<Vec<Label<'a>>, ParseError> {
        self.pos += 1; // '{'
        let mut labels = self.label_list();
        loop {
            self.skip_blanks();
            let token_start = self.pos;
            let label_name = match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(labels);
                }
                Some(b'"') => {
                    let text = self.quoted(QUOTED_NAME)?;
                    self.skip_blanks();
                    if matches!(self.peek(), Some(b',' | b'}')) {
                        if metric_name.is_some() {
                            return Err(self.error_at(token_start, "metric name already set"));
                        }
                        *metric_name = Some(text);
                        if self.peek() == Some(b',') {
                            self.pos += 1;
                        }
                        continue;
                    }
                    text
                }
                Some(b) if CLASSES[usize::from(b)] & NAME_FIRST != 0 => {
                    let name = self.legacy_name(true);
                    self.skip_blanks();
                    Cow::Borrowed(name)
                }
                None => return Err(self.error("unterminated label set")),
                Some(_) => {
                    let what = self.shown(self.pos);
                    return Err(self.error(format!("expected a label name or '}}', not {what:?}")));
                }
            };
            if self.peek() != Some(b'=') {
                return Err(self.error(format!("expected '=' after label name {label_name:?}")));
            }
            self.pos += 1;
            self.skip_blanks();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a quoted label value"));
            }
            let value = self.quoted(TEXT_VALUE)?;
            labels.push((label_name, value));
            self.skip_blanks();
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
        }
    }

    // ---- OpenMetrics ----------------------------------------------------------------

    fn next_openmetrics(&mut self) -> Option<Result<Entry<'a>, ParseError>> {
        let result = match self.peek() {
            None => Err(self.error("data does not end with # EOF")),
            Some(b'#') => match self.om_comment() {
                Ok(Some(entry)) => Ok(entry),
                Ok(None) => return None,
                Err(e) => Err(e),
            },
            Some(b) if b == b'{' || starts_metric_name(b) => self.om_sample(),
            Some(b'\n') => Err(self.error("empty lines are not allowed in OpenMetrics")),
            Some(b' ' | b'\t') => {
                Err(self.error("lines may not start with a blank in OpenMetrics"))
            }
            Some(_) => {
                let what = self.shown(self.pos);
                Err(self.error(format!(
                    "expected a metric name, '{{' or '#' to start a line, not {what:?}"
                )))
            }
        };
        Some(result)
    }

    /// `# HELP`, `# TYPE`, `# UNIT` or `# EOF`, each with single spaces.
    fn om_comment(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        let rest = &self.input[self.pos..];
        if rest.get(1) != Some(&b' ') {
            return Err(self.error_at(
                self.pos + 1,
                "expected exactly one space after '#' in OpenMetrics",
            ));
        }
        let rest = &rest[2..];
        if rest.starts_with(b"EOF") {
            self.pos += 5;
            if self.peek() == Some(b'\n') {
                self.newline();
            }
            if self.pos < self.input.len() {
                return Err(self.error("unexpected data after # EOF"));
            }
            self.done = true;
            return Ok(None);
        }
        let keyword =
            match rest.get(..5) {
                Some(b"HELP ") => "HELP",
                Some(b"TYPE ") => "TYPE",
                Some(b"UNIT ") => "UNIT",
                _ => return Err(self.error_at(
                    self.pos + 2,
                    "only # TYPE, # UNIT, # HELP and # EOF lines may start with '#' in OpenMetrics",
                )),
            };
        self.pos += 7;
        let name_start = self.pos;
        let name = self.meta_name(keyword)?;
        let raw_name = if self.input[name_start] == b'"' {
            &self.input[name_start + 1..self.pos - 1]
        } else {
            &self.input[name_start..self.pos]
        };
        if self.peek() != Some(b' ') {
            return Err(self.error(format!(
                "expected a space and text after the metric name in # {keyword}"
            )));
        }
        let start = self.pos + 1;
        let end = self.line_end(start);
        if end == self.input.len() {
            return Err(self.error_at(
                end,
                format!("expected text and a line break in # {keyword}"),
            ));
        }
        let entry = match keyword {
            "TYPE" => {
                let word = &self.input[start..end];
                let Some(kind) = MetricType::parse(word, Format::OpenMetrics) else {
                    let word = String::from_utf8_lossy(word).into_owned();
                    return Err(self.error_at(start, format!("invalid metric type {word:?}")));
                };
                Entry::Type { name, kind }
            }
            "UNIT" => {
                let unit = self.str_at(start, end)?;
                // A suffix of the name (as written), after an underscore.
                let fits = raw_name.len() > unit.len()
                    && raw_name.ends_with(unit.as_bytes())
                    && raw_name[raw_name.len() - unit.len() - 1] == b'_';
                if !unit.is_empty() && !fits {
                    return Err(self.error_at(
                        start,
                        format!("unit {unit:?} is not a suffix of metric family {name:?}"),
                    ));
                }
                Entry::Unit {
                    name,
                    unit: Cow::Borrowed(unit),
                }
            }
            _ => {
                let raw = self.str_at(start, end)?;
                let text = if raw.contains('\\') {
                    Cow::Owned(unescape(raw, true))
                } else {
                    Cow::Borrowed(raw)
                };
                Entry::Help { name, text }
            }
        };
        self.pos = end;
        self.newline();
        Ok(Some(entry))
    }

    /// A space and the token after it (up to a space, newline or NUL), if there is one.
    fn om_field(&mut self) -> Option<(usize, usize)> {
        if self.peek() != Some(b' ') {
            return None;
        }
        let start = self.pos + 1;
        let len = self.input[start..]
            .iter()
            .position(|b| matches!(b, b' ' | b'\n' | 0))
            .unwrap_or(self.input.len() - start);
        if len == 0 {
            return None;
        }
        self.pos = start + len;
        Some((start, start + len))
    }

    /// An OpenMetrics timestamp: seconds as a float, finite, truncated to milliseconds.
    fn om_timestamp(&mut self, start: usize, end: usize, what: &str) -> Result<i64, ParseError> {
        let word = self.str_at(start, end)?;
        match parse_float(word) {
            Some(seconds) if seconds.is_finite() => Ok((seconds * 1000.0) as i64),
            _ => Err(self.error_at(start, format!("invalid {what} {word:?}"))),
        }
    }

    fn at_exemplar(&self) -> bool {
        self.input[self.pos..].starts_with(b" # {")
    }

    fn om_sample(&mut self) -> Result<Entry<'a>, ParseError> {
        let series_start = self.pos;
        let mut name = None;
        if self.peek() != Some(b'{') {
            name = Some(Cow::Borrowed(self.legacy_name(false)));
        }
        let labels = if self.peek() == Some(b'{') {
            self.om_labels(Some(&mut name))?
        } else {
            Vec::new()
        };
        let series = &self.input[series_start..self.pos];
        let Some(name) = name else {
            return Err(self.error_at(series_start, "metric name not set"));
        };
        let Some((start, end)) = self.om_field() else {
            let what = self.shown(self.pos);
            return Err(self.error(format!(
                "expected a single space and a value after the metric, not {what:?}"
            )));
        };
        let value = self.sample_value(start, end)?;
        let mut timestamp_ms = None;
        let mut exemplar = None;
        if self.at_exemplar() {
            exemplar = Some(self.om_exemplar()?);
        } else if let Some((start, end)) = self.om_field() {
            timestamp_ms = Some(self.om_timestamp(start, end, "timestamp")?);
            if self.at_exemplar() {
                exemplar = Some(self.om_exemplar()?);
            }
        }
        match self.peek() {
            Some(b'\n') => self.newline(),
            None => return Err(self.error("data does not end with # EOF")),
            Some(_) => {
                let what = self.shown(self.pos);
                return Err(self.error(format!("expected a line break, not {what:?}")));
            }
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

    /// ` # {labels} value [timestamp]`, at the ` # {`.
    fn om_exemplar(&mut self) -> Result<Exemplar<'a>, ParseError> {
        self.pos += 3; // " # "
        let labels = self.om_labels(None)?;
        let Some((start, end)) = self.om_field() else {
            return Err(self.error("expected a single space and a value after the exemplar labels"));
        };
        let value = self.sample_value(start, end)?;
        let timestamp_ms = match self.om_field() {
            Some((start, end)) => Some(self.om_timestamp(start, end, "exemplar timestamp")?),
            None => None,
        };
        Ok(Exemplar {
            labels,
            value,
            timestamp_ms,
        })
    }

    /// `{name="value",...}` with no blanks and an optional trailing comma; a quoted string
    /// followed by `,` or `}` is the metric name (not in an exemplar: `metric_name` None).
    fn om_labels(
        &mut self,
        mut metric_name: Option<&mut Option<Cow<'a, str>>>,
    ) -> Result<Vec<Label<'a>>, ParseError> {
        let exemplar = metric_name.is_none();
        let (name_rules, value_rules) = if exemplar {
            (OM_EXEMPLAR, OM_EXEMPLAR)
        } else {
            (QUOTED_NAME, OM_VALUE)
        };
        self.pos += 1; // '{'
        let mut labels = self.label_list();
        loop {
            let token_start = self.pos;
            let label_name = match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(labels);
                }
                Some(b'"') => {
                    let text = self.quoted(name_rules)?;
                    if matches!(self.peek(), Some(b',' | b'}')) {
                        let Some(slot) = metric_name.as_deref_mut() else {
                            return Err(self.error_at(
                                token_start,
                                "expected a label name: an exemplar has no metric name",
                            ));
                        };
                        if slot.is_some() {
                            return Err(self.error_at(token_start, "metric name already set"));
                        }
                        *slot = Some(text);
                        if self.peek() == Some(b',') {
                            self.pos += 1;
                        }
                        continue;
                    }
                    text
                }
                Some(b) if CLASSES[usize::from(b)] & NAME_FIRST != 0 => {
                    Cow::Borrowed(self.legacy_name(true))
                }
                None => return Err(self.error("unterminated label set")),
                Some(_) => {
                    let what = self.shown(self.pos);
                    return Err(self.error(format!("expected a label name or '}}', not {what:?}")));
                }
            };
            if self.peek() != Some(b'=') {
                return Err(self.error(format!("expected '=' after label name {label_name:?}")));
            }
            self.pos += 1;
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a quoted label value"));
            }
            let value = self.quoted(value_rules)?;
            labels.push((label_name, value));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.error("expected ',' or '}' after a label value")),
            }
        }
    }
}

/// Undoes `\\`, `\n` and (in label values, quoted names and OpenMetrics help) `\"`;
/// any other backslash stays, with the character after it.
fn unescape(raw: &str, quotes: bool) -> String {
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
            Some('"') if quotes => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            if let Ok(text) = std::str::from_utf8(self.input) {
                self.text = text;
                self.valid_utf8 = true;
            }
        }
        match self.format {
            Format::PrometheusText => self.next_text(),
            Format::OpenMetrics => self.next_openmetrics(),
        }
    }
}
