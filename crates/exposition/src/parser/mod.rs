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

mod openmetrics;
mod text;

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
    /// Samples come without name and labels until asked for ([`Parser::defer_labels`]).
    defer_labels: bool,
    /// Where the series text of the sample just returned is, when its name and labels
    /// were left for [`Parser::parse_labels`].
    deferred: Option<(usize, usize)>,
}

/// A sample's name, labels and the end of its series text.
type SeriesParts<'a> = (Cow<'a, str>, Vec<Label<'a>>, usize);

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
            defer_labels: false,
            deferred: None,
        }
    }

    /// From now on, sample lines are read up to their series text, value, timestamp and
    /// exemplar, and their `name` and `labels` are left empty until asked for with
    /// [`Parser::parse_labels`]. For a caller that knows most series by their text (a
    /// scraper's cache): reading and checking labels is most of the parsing, and a text
    /// the same parser accepted before needs neither again.
    pub fn defer_labels(&mut self) {
        self.defer_labels = true;
    }

    /// Fills in the name and labels of the sample the last [`Iterator::next`] returned
    /// (nothing to do unless they were deferred), checking its series text as a full
    /// parse does: an error here is the error that line gives.
    pub fn parse_labels(&mut self, sample: &mut Sample<'a>) -> Result<(), ParseError> {
        let Some((start, end)) = self.deferred.take() else {
            return Ok(());
        };
        if !std::ptr::eq(sample.series, &self.input[start..end]) {
            // Not the sample just read: its series is not where this parser is.
            return Err(self.error_at(start, "labels asked for a sample other than the last"));
        }
        let resume = (self.pos, self.line, self.line_start);
        self.pos = start;
        let (name, labels, series_end) = self.series()?;
        if series_end != end {
            // The quick scan and the parse disagree on where the series ends: not for
            // any text the parse accepts, so this text is wrong somewhere.
            return Err(self.error_at(series_end, "malformed series"));
        }
        (self.pos, self.line, self.line_start) = resume;
        sample.name = name;
        sample.labels = labels;
        Ok(())
    }

    /// A sample line, from `pos`: with its labels deferred when it can be, else in full.
    fn sample(&mut self) -> Result<Entry<'a>, ParseError> {
        let series_start = self.pos;
        if let Some(entry) = self.deferred_sample() {
            return Ok(entry);
        }
        let (name, labels, series_end) = self.series()?;
        self.sample_rest(series_start, series_end, name, labels)
    }

    /// The series of a sample line (name and labels), from `pos`, by the format's rules.
    fn series(&mut self) -> Result<SeriesParts<'a>, ParseError> {
        match self.format {
            Format::PrometheusText => self.text_series(),
            Format::OpenMetrics => self.om_series(),
        }
    }

    /// What follows a sample's series (value, timestamp, exemplar), by the format's rules.
    fn sample_rest(
        &mut self,
        series_start: usize,
        series_end: usize,
        name: Cow<'a, str>,
        labels: Vec<Label<'a>>,
    ) -> Result<Entry<'a>, ParseError> {
        match self.format {
            Format::PrometheusText => self.text_sample_rest(series_start, series_end, name, labels),
            Format::OpenMetrics => self.om_sample_rest(series_start, series_end, name, labels),
        }
    }

    /// With labels deferred, the sample line at `pos`, its series found by
    /// [`Parser::series_end_quick`] and the rest of the line read by
    /// [`Parser::sample_rest`]. `None`, with nothing moved, when labels are not deferred,
    /// the quick scan gives up or the rest of the line is wrong: the full parse then reads
    /// the line and gives the error it always gives.
    fn deferred_sample(&mut self) -> Option<Entry<'a>> {
        self.deferred = None;
        if !self.defer_labels {
            return None;
        }
        let start = self.pos;
        let end = self.series_end_quick(start)?;
        let (line, line_start) = (self.line, self.line_start);
        self.pos = end;
        match self.sample_rest(start, end, Cow::Borrowed(""), Vec::new()) {
            Ok(entry) => {
                self.deferred = Some((start, end));
                Some(entry)
            }
            Err(_) => {
                (self.failed, self.pos, self.line, self.line_start) =
                    (false, start, line, line_start);
                None
            }
        }
    }

    /// Where the series text starting at `start` ends, by a scan that only knows names,
    /// blanks (text format), braces and quoted strings; it checks nothing, so where it
    /// finds an end the full parse of a valid line finds the same one. It gives up
    /// (`None`) on a line break or NUL inside the braces, or the input ending there: the
    /// full parse reads those lines (and counts their lines).
    fn series_end_quick(&self, start: usize) -> Option<usize> {
        let input = self.input;
        let mut i = start;
        while input
            .get(i)
            .is_some_and(|b| CLASSES[usize::from(*b)] & (NAME_FIRST | COLON | DIGIT) != 0)
        {
            i += 1;
        }
        let name_end = i;
        if self.format == Format::PrometheusText {
            while input.get(i).copied().is_some_and(is_blank) {
                i += 1;
            }
        }
        if input.get(i) != Some(&b'{') {
            return Some(name_end);
        }
        i += 1;
        loop {
            match *input.get(i)? {
                b'}' => return Some(i + 1),
                b'"' => {
                    i += 1;
                    loop {
                        while input
                            .get(i)
                            .is_some_and(|b| CLASSES[usize::from(*b)] != QUOTE_STOP)
                        {
                            i += 1;
                        }
                        match *input.get(i)? {
                            b'"' => break,
                            b'\\' if !matches!(input.get(i + 1), Some(b'\n' | 0)) => i += 2,
                            _ => return None,
                        }
                    }
                    i += 1;
                }
                b'\n' | 0 => return None,
                _ => i += 1,
            }
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
