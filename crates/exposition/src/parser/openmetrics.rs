//! OpenMetrics' lines.

use std::borrow::Cow;

use super::*;

impl<'a> Parser<'a> {
    pub(super) fn next_openmetrics(&mut self) -> Option<Result<Entry<'a>, ParseError>> {
        let result = match self.peek() {
            None => Err(self.error("data does not end with # EOF")),
            Some(b'#') => match self.om_comment() {
                Ok(Some(entry)) => Ok(entry),
                Ok(None) => return None,
                Err(e) => Err(e),
            },
            Some(b) if b == b'{' || starts_metric_name(b) => self.sample(),
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

    /// The series of a sample line (name and labels), from `pos`.
    pub(super) fn om_series(&mut self) -> Result<SeriesParts<'a>, ParseError> {
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
        let Some(name) = name else {
            return Err(self.error_at(series_start, "metric name not set"));
        };
        Ok((name, labels, self.pos))
    }

    /// The value, timestamp and exemplar after a series, and the line's end.
    pub(super) fn om_sample_rest(
        &mut self,
        series_start: usize,
        series_end: usize,
        name: Cow<'a, str>,
        labels: Vec<Label<'a>>,
    ) -> Result<Entry<'a>, ParseError> {
        let series = &self.input[series_start..series_end];
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
