//! The text format's lines.

use std::borrow::Cow;

use super::*;

impl<'a> Parser<'a> {
    pub(super) fn next_text(&mut self) -> Option<Result<Entry<'a>, ParseError>> {
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
                Some(b) if b == b'{' || starts_metric_name(b) => return Some(self.sample()),
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

    /// The series of a sample line (name and labels), from `pos`; returns where its text
    /// ends (`pos` may be past blanks after it).
    pub(super) fn text_series(&mut self) -> Result<SeriesParts<'a>, ParseError> {
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
        Ok((name, labels, series_end))
    }

    /// The value and timestamp after a series, to the end of the line.
    pub(super) fn text_sample_rest(
        &mut self,
        series_start: usize,
        series_end: usize,
        name: Cow<'a, str>,
        labels: Vec<Label<'a>>,
    ) -> Result<Entry<'a>, ParseError> {
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
}
