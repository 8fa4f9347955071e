//! A small YAML node tree with the decoding rules and error texts of Go's yaml.v2.
//!
//! Users and scripts match on the exact error strings that `promtool check web-config`
//! prints (`yaml: unmarshal errors:\n  line 2: field cert_filse not found in type
//! web.TLSConfig`), and yaml.v2 resolves scalars with YAML 1.1 rules (`yes` is a bool).
//! A serde deserializer can give neither the line of a key nor the scalar's style, so
//! web.yml is decoded by hand over the event stream of granit-parser, the parser that
//! serde-saphyr itself is built on.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle};

/// One YAML node with the (1-based) line it starts on.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub line: usize,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    pub text: String,
    pub resolved: Resolved,
}

/// The type yaml.v2 resolves a scalar to (its implicit or explicit tag).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
}

/// Parses the first YAML document of `text`. `Ok(None)` means there is no document (an
/// empty file), which yaml.v2 treats as "no error, nothing set".
pub(crate) fn parse(text: &str) -> Result<Option<Node>, String> {
    let mut builder = TreeBuilder::default();
    for item in Parser::new_from_str(text) {
        let (event, span) =
            item.map_err(|e| format!("yaml: line {}: {}", e.marker().line(), e.info()))?;
        let line = span.start.line();
        match event {
            Event::DocumentEnd | Event::StreamEnd if builder.root.is_some() => break,
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| t.to_string());
                let node = Node {
                    line,
                    kind: NodeKind::Scalar(resolve(&value, style, tag.as_deref())),
                };
                builder.push_node(node, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => builder.open(line, anchor, false),
            Event::MappingStart(_, anchor, _) => builder.open(line, anchor, true),
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
            Event::Alias(id) => {
                let node = builder
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| format!("yaml: line {line}: unknown anchor referenced"))?;
                builder.push_node(Node { line, ..node }, 0)?;
            }
            _ => {}
        }
    }
    Ok(builder.root)
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
}

struct Open {
    line: usize,
    anchor: usize,
    is_map: bool,
    items: Vec<Node>,
}

impl TreeBuilder {
    fn open(&mut self, line: usize, anchor: usize, is_map: bool) {
        self.stack.push(Open {
            line,
            anchor,
            is_map,
            items: Vec::new(),
        });
    }

    fn close(&mut self) -> Result<(), String> {
        let Some(open) = self.stack.pop() else {
            return Err("yaml: unbalanced collection end".to_string());
        };
        let kind = if open.is_map {
            let mut pairs = Vec::with_capacity(open.items.len() / 2);
            let mut items = open.items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                pairs.push((k, v));
            }
            NodeKind::Map(pairs)
        } else {
            NodeKind::Seq(open.items)
        };
        self.push_node(
            Node {
                line: open.line,
                kind,
            },
            open.anchor,
        )
    }

    fn push_node(&mut self, node: Node, anchor: usize) -> Result<(), String> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(open) => open.items.push(node),
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
        Ok(())
    }
}

/// yaml.v2's `resolve()`: quoted and block scalars are strings; plain scalars follow the
/// YAML 1.1 rules for null, bool, int and float.
fn resolve(text: &str, style: ScalarStyle, tag: Option<&str>) -> Scalar {
    let scalar = |resolved| Scalar {
        text: text.to_string(),
        resolved,
    };
    if let Some(tag) = tag {
        let short = tag
            .rsplit(':')
            .next()
            .unwrap_or(tag)
            .trim_start_matches('!');
        return match short {
            "str" | "binary" => scalar(Resolved::Str),
            "null" => scalar(Resolved::Null),
            _ => resolve(text, ScalarStyle::Plain, None),
        };
    }
    if style != ScalarStyle::Plain {
        return scalar(Resolved::Str);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return scalar(Resolved::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return scalar(Resolved::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return scalar(Resolved::Bool(false))
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return scalar(Resolved::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => return scalar(Resolved::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return scalar(Resolved::Float(f64::NAN)),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return scalar(Resolved::Int(i));
    }
    if looks_like_float(text) {
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            return scalar(Resolved::Float(f));
        }
    }
    scalar(Resolved::Str)
}

fn parse_int(text: &str) -> Option<i128> {
    let plain = text.replace('_', "");
    let (negative, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    if digits.is_empty() {
        return None;
    }
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i128::from_str_radix(oct, 8).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i128::from_str_radix(&digits[1..], 8).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i128>().ok()?
    } else {
        return None;
    };
    Some(if negative { -value } else { value })
}

fn looks_like_float(text: &str) -> bool {
    let body = text.trim_start_matches(['+', '-']);
    !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
}

impl Node {
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s) if s.resolved == Resolved::Null)
    }

    /// yaml.v2's short tag, as it appears in "cannot unmarshal !!str ..." messages.
    fn short_tag(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "!!map",
            NodeKind::Seq(_) => "!!seq",
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Null => "!!null",
                Resolved::Bool(_) => "!!bool",
                Resolved::Int(_) => "!!int",
                Resolved::Float(_) => "!!float",
                Resolved::Str => "!!str",
            },
        }
    }
}

/// Collects yaml.v2 "type errors" (which do not stop decoding) and stops at the first
/// fatal error (which yaml.v2 returns verbatim, e.g. `unknown cipher: X`).
#[derive(Default)]
pub(crate) struct Decoder {
    type_errors: Vec<String>,
}

/// A fatal decoding error, returned verbatim.
pub(crate) struct Fatal(pub String);

impl Decoder {
    /// Records `line N: cannot unmarshal !!tag `value` into type`.
    pub fn type_error(&mut self, node: &Node, into: &str) {
        let value = match &node.kind {
            NodeKind::Scalar(s) => {
                let text = s.text.as_str();
                if text.len() > 10 {
                    let mut end = 7;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    format!(" `{}...`", &text[..end])
                } else {
                    format!(" `{text}`")
                }
            }
            _ => String::new(),
        };
        self.type_errors.push(format!(
            "line {}: cannot unmarshal {}{} into {}",
            node.line,
            node.short_tag(),
            value,
            into
        ));
    }

    pub fn push(&mut self, message: String) {
        self.type_errors.push(message);
    }

    /// Turns the collected type errors into yaml.v2's combined error, if there are any.
    pub fn finish(self) -> Result<(), String> {
        if self.type_errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "yaml: unmarshal errors:\n  {}",
                self.type_errors.join("\n  ")
            ))
        }
    }

    /// Walks a mapping node into a struct named `type_name`, calling `field` for every key
    /// it knows; unknown and repeated keys are recorded as yaml.v2 reports them.
    pub fn decode_struct(
        &mut self,
        node: &Node,
        type_name: &str,
        known: &[&str],
        mut field: impl FnMut(&mut Self, &str, &Node) -> Result<(), Fatal>,
    ) -> Result<(), Fatal> {
        let NodeKind::Map(pairs) = &node.kind else {
            if !node.is_null() {
                self.type_error(node, type_name);
            }
            return Ok(());
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            let Some(name) = self.key_string(key) else {
                continue;
            };
            if !known.contains(&name) {
                self.push(format!(
                    "line {}: field {} not found in type {}",
                    key.line, name, type_name
                ));
                continue;
            }
            if seen.contains(&name) {
                self.push(format!(
                    "line {}: field {} already set in type {}",
                    key.line, name, type_name
                ));
                continue;
            }
            seen.push(name);
            field(self, name, value)?;
        }
        Ok(())
    }

    fn key_string<'n>(&mut self, key: &'n Node) -> Option<&'n str> {
        match &key.kind {
            NodeKind::Scalar(s) => Some(s.text.as_str()),
            _ => {
                self.type_error(key, "string");
                None
            }
        }
    }

    /// A `map[string]string`-like section: every value goes through `value`; keys must be
    /// unique (`line N: key "alice" already set in map`).
    pub fn decode_string_map(
        &mut self,
        node: &Node,
        type_name: &str,
        value_type: &str,
    ) -> Option<Vec<(String, String, usize)>> {
        let NodeKind::Map(pairs) = &node.kind else {
            if !node.is_null() {
                self.type_error(node, type_name);
            }
            return None;
        };
        let mut out: Vec<(String, String, usize)> = Vec::new();
        for (key, value) in pairs {
            let Some(name) = self.key_string(key) else {
                continue;
            };
            if out.iter().any(|(k, _, _)| k == name) {
                self.push(format!(
                    "line {}: key {:?} already set in map",
                    key.line, name
                ));
                continue;
            }
            if let Some(v) = self.string(value, value_type) {
                out.push((name.to_string(), v, key.line));
            }
        }
        Some(out)
    }

    /// A Go `string`: any non-null scalar's literal text; null is "".
    pub fn string(&mut self, node: &Node, into: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar(s) if s.resolved == Resolved::Null => Some(String::new()),
            NodeKind::Scalar(s) => Some(s.text.clone()),
            _ => {
                self.type_error(node, into);
                None
            }
        }
    }

    /// A Go `[]string` (or a slice of string-based custom types).
    pub fn string_list(
        &mut self,
        node: &Node,
        list_type: &str,
        elem_type: &str,
    ) -> Option<Vec<(String, usize)>> {
        match &node.kind {
            NodeKind::Seq(items) => Some(
                items
                    .iter()
                    .filter_map(|item| self.string(item, elem_type).map(|s| (s, item.line)))
                    .collect(),
            ),
            NodeKind::Scalar(s) if s.resolved == Resolved::Null => None,
            _ => {
                self.type_error(node, list_type);
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node) -> Option<bool> {
        match &node.kind {
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Bool(b) => Some(b),
                Resolved::Null => Some(false),
                _ => {
                    self.type_error(node, "bool");
                    None
                }
            },
            _ => {
                self.type_error(node, "bool");
                None
            }
        }
    }

    pub fn int(&mut self, node: &Node) -> Option<i64> {
        match &node.kind {
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Int(i) => i64::try_from(i).ok().or_else(|| {
                    self.type_error(node, "int");
                    None
                }),
                Resolved::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Some(f as i64),
                Resolved::Null => Some(0),
                _ => {
                    self.type_error(node, "int");
                    None
                }
            },
            _ => {
                self.type_error(node, "int");
                None
            }
        }
    }

    /// A Go `time.Duration`: a string in `time.ParseDuration` syntax, or an integer number
    /// of nanoseconds.
    pub fn duration_nanos(&mut self, node: &Node) -> Option<i64> {
        match &node.kind {
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Int(i) => i64::try_from(i).ok(),
                Resolved::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Some(f as i64),
                Resolved::Null => Some(0),
                Resolved::Str => parse_go_duration(&s.text).or_else(|| {
                    self.type_error(node, "time.Duration");
                    None
                }),
                _ => {
                    self.type_error(node, "time.Duration");
                    None
                }
            },
            _ => {
                self.type_error(node, "time.Duration");
                None
            }
        }
    }
}

/// Go's `time.ParseDuration`, in nanoseconds: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
pub(crate) fn parse_go_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += value * scale;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let nanos = total.round() as i64;
    Some(if negative { -nanos } else { nanos })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1s"), Some(1_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_go_duration("-2us"), Some(-2_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("1x"), None);
        assert_eq!(parse_go_duration("1"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn yaml11_scalars() {
        let node = parse("a: yes\nb: 'no'\nc: 0x1f\nd: 1.5\ne: ~\nf: 010\n")
            .unwrap()
            .unwrap();
        let NodeKind::Map(pairs) = node.kind else {
            panic!("not a map")
        };
        let resolved: Vec<Resolved> = pairs
            .iter()
            .map(|(_, v)| match &v.kind {
                NodeKind::Scalar(s) => s.resolved.clone(),
                _ => panic!("not a scalar"),
            })
            .collect();
        assert_eq!(
            resolved,
            vec![
                Resolved::Bool(true),
                Resolved::Str,
                Resolved::Int(31),
                Resolved::Float(1.5),
                Resolved::Null,
                Resolved::Int(8)
            ]
        );
    }

    #[test]
    fn empty_document_is_none() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn truncated_value_in_type_error() {
        let node = parse("hWkNKCpAbcdefgh").unwrap().unwrap();
        let mut d = Decoder::default();
        d.type_error(&node, "web.Config");
        assert_eq!(
            d.finish().unwrap_err(),
            "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `hWkNKCp...` into web.Config"
        );
    }
}
