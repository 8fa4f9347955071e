//! The node tree: granit-parser's events folded into nodes with their line, scalars
//! resolved as yaml.v2 resolves them, aliases expanded within bounds.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle};

/// Deepest nesting of sequences and mappings accepted (decoding recurses per level).
pub const MAX_DEPTH: usize = 256;
/// Most nodes a document may hold once aliases are expanded.
pub const MAX_NODES: usize = 1_000_000;
/// Most bytes of scalar text a document may hold once aliases are expanded.
pub const MAX_SCALAR_BYTES: usize = 64 << 20;

/// One YAML node with the (1-based) line and column it starts on (a copy made for an
/// alias starts where the alias is, as yaml.v3 reports an alias node's position).
#[derive(Debug, Clone)]
pub struct Node {
    pub line: usize,
    /// 1-based, in characters (yaml.v3's `Node.Column`; rule files report `line:column`).
    pub column: usize,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub struct Scalar {
    /// The scalar's text as written (after YAML unescaping).
    pub text: String,
    pub resolved: Resolved,
}

/// The type yaml.v2 resolves a scalar to (its implicit or explicit tag).
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
    /// `!!binary`: base64 text, decoded when the value is used.
    Binary,
    /// The merge key `<<`.
    Merge,
}

/// Parses the first YAML document of `text`. `Ok(None)` means there is no document (an
/// empty file), which yaml.v2 treats as "no error, nothing set".
pub fn parse(text: &str) -> Result<Option<Node>, String> {
    parse_first_document(text).map(|first| first.root)
}

/// The first document of a YAML stream, and whether anything follows it.
#[derive(Debug, Clone)]
pub struct FirstDocument {
    /// `None` when the stream holds no document at all.
    pub root: Option<Node>,
    /// Another document (or text that fails to parse) follows the first one: yaml.v3's
    /// second `Decoder.Decode` would not return `io.EOF` (rule files warn about it).
    pub more_documents: bool,
}

/// [`parse`], also telling whether the stream goes on after the first document. The
/// later documents are not built (nor are their errors reported), as Go decoders read
/// one document per call.
pub fn parse_first_document(text: &str) -> Result<FirstDocument, String> {
    let mut builder = TreeBuilder::default();
    let mut events = Parser::new_from_str(text);
    for item in events.by_ref() {
        let (event, span) =
            item.map_err(|e| format!("yaml: line {}: {}", e.marker().line(), e.info()))?;
        let line = span.start.line();
        let column = span.start.col() + 1;
        match event {
            Event::DocumentEnd if builder.root.is_some() => {
                let more_documents =
                    !matches!(events.next(), Some(Ok((Event::StreamEnd, _))) | None);
                return Ok(FirstDocument {
                    root: builder.root,
                    more_documents,
                });
            }
            Event::StreamEnd if builder.root.is_some() => break,
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| t.to_string());
                let node = Node {
                    line,
                    column,
                    kind: NodeKind::Scalar(resolve(&value, style, tag.as_deref())),
                };
                let cost = Cost {
                    nodes: 1,
                    bytes: value.len(),
                    depth: 1,
                };
                builder.count(&cost, line)?;
                builder.push_node(node, cost, anchor);
            }
            Event::SequenceStart(_, anchor, _) => builder.open(line, column, anchor, false)?,
            Event::MappingStart(_, anchor, _) => builder.open(line, column, anchor, true)?,
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
            Event::Alias(id) => {
                let (node, cost) = builder
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| format!("yaml: line {line}: unknown anchor referenced"))?;
                // Checked before the copy is made: an alias may stand for a large tree.
                builder.count(&cost, line)?;
                builder.push_node(
                    Node {
                        line,
                        column,
                        ..node
                    },
                    cost,
                    0,
                );
            }
            _ => {}
        }
    }
    Ok(FirstDocument {
        root: builder.root,
        more_documents: false,
    })
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Open>,
    /// Anchored nodes with what a copy of them costs.
    anchors: HashMap<usize, (Node, Cost)>,
    root: Option<Node>,
    nodes: usize,
    bytes: usize,
}

/// What a (sub)tree costs once expanded: its nodes, scalar bytes and depth.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    nodes: usize,
    bytes: usize,
    depth: usize,
}

struct Open {
    line: usize,
    column: usize,
    anchor: usize,
    is_map: bool,
    items: Vec<Node>,
    cost: Cost,
}

impl TreeBuilder {
    /// Adds a (sub)tree about to be placed at the current depth to the document's
    /// totals: aliases expand by copying, so a few bytes of aliases could otherwise
    /// stand for gigabytes, or for a tree too deep to walk.
    fn count(&mut self, added: &Cost, line: usize) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(added.nodes);
        self.bytes = self.bytes.saturating_add(added.bytes);
        if self.nodes > MAX_NODES || self.bytes > MAX_SCALAR_BYTES {
            return Err("yaml: document contains excessive aliasing".to_string());
        }
        if self.stack.len() + added.depth > MAX_DEPTH {
            return Err(format!(
                "yaml: line {line}: exceeded max depth of {MAX_DEPTH}"
            ));
        }
        Ok(())
    }

    fn open(
        &mut self,
        line: usize,
        column: usize,
        anchor: usize,
        is_map: bool,
    ) -> Result<(), String> {
        let cost = Cost {
            nodes: 1,
            bytes: 0,
            depth: 1,
        };
        self.count(&cost, line)?;
        self.stack.push(Open {
            line,
            column,
            anchor,
            is_map,
            items: Vec::new(),
            cost,
        });
        Ok(())
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
                column: open.column,
                kind,
            },
            open.cost,
            open.anchor,
        );
        Ok(())
    }

    fn push_node(&mut self, node: Node, cost: Cost, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), cost));
        }
        match self.stack.last_mut() {
            Some(open) => {
                open.items.push(node);
                open.cost.nodes = open.cost.nodes.saturating_add(cost.nodes);
                open.cost.bytes = open.cost.bytes.saturating_add(cost.bytes);
                open.cost.depth = open.cost.depth.max(cost.depth + 1);
            }
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
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
            "str" => scalar(Resolved::Str),
            "binary" => scalar(Resolved::Binary),
            "null" => scalar(Resolved::Null),
            "merge" => scalar(Resolved::Merge),
            _ => resolve(text, ScalarStyle::Plain, None),
        };
    }
    if style != ScalarStyle::Plain {
        return scalar(Resolved::Str);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return scalar(Resolved::Null),
        "<<" => return scalar(Resolved::Merge),
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

    /// The scalar's text, if this is a scalar.
    pub fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    /// yaml.v2's short tag, as it appears in "cannot unmarshal !!str ..." messages.
    pub fn short_tag(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "!!map",
            NodeKind::Seq(_) => "!!seq",
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Null => "!!null",
                Resolved::Bool(_) => "!!bool",
                Resolved::Int(_) => "!!int",
                Resolved::Float(_) => "!!float",
                Resolved::Str => "!!str",
                Resolved::Binary => "!!binary",
                Resolved::Merge => "!!merge",
            },
        }
    }
}

/// Go's `time.ParseDuration`, in nanoseconds; `None` where Go returns an error.
pub fn parse_go_duration(text: &str) -> Option<i64> {
    go_duration(text).ok()
}

/// Go's `time.ParseDuration` with its error texts (`time: missing unit in duration "1"`):
/// `2ms`, `1.5s`, `1h2m`, `-3us`, `0`. In nanoseconds.
pub fn go_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let whole_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let whole = &rest[..whole_len];
        rest = &rest[whole_len..];
        let mut fraction = "";
        if let Some(after) = rest.strip_prefix('.') {
            let len = after.bytes().take_while(u8::is_ascii_digit).count();
            fraction = &after[..len];
            rest = &after[len..];
        }
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        rest = &rest[unit_len..];
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut part = whole.checked_mul(unit).ok_or_else(invalid)?;
        // Go keeps the fraction's digits while they can matter (at most 18 here).
        let digits = &fraction[..fraction.len().min(18)];
        if !digits.is_empty() {
            let scale = 10u128.pow(digits.len() as u32);
            let value: u128 = digits.parse().map_err(|_| invalid())?;
            part += value * unit / scale;
        }
        total = total.checked_add(part).ok_or_else(invalid)?;
    }
    let total = i64::try_from(total).map_err(|_| invalid())?;
    Ok(if negative { -total } else { total })
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
        let node = parse("a: yes\nb: 'no'\nc: 0x1f\nd: 1.5\ne: ~\nf: 010\ng: !!binary aGk=\n")
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
                Resolved::Int(8),
                Resolved::Binary,
            ]
        );
    }

    #[test]
    fn columns_and_following_documents() {
        let first = parse_first_document("a:\n  - 'q'\n  - &x r\n  - *x\n---\nb: 1\n").unwrap();
        assert!(first.more_documents);
        let root = first.root.unwrap();
        let NodeKind::Map(pairs) = &root.kind else {
            panic!("not a map")
        };
        let NodeKind::Seq(items) = &pairs[0].1.kind else {
            panic!("not a seq")
        };
        assert_eq!((items[0].line, items[0].column), (2, 5));
        // The alias's copy is placed where the alias is written.
        assert_eq!((items[2].line, items[2].column), (4, 5));
        assert!(!parse_first_document("a: 1\n").unwrap().more_documents);
        assert!(!parse_first_document("a: 1\n...\n").unwrap().more_documents);
        assert!(parse_first_document("a: 1\n---\n").unwrap().more_documents);
    }

    #[test]
    fn empty_document_is_none() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse(&doc).unwrap_err();
        assert!(err.contains("excessive aliasing"), "{err}");
    }

    #[test]
    fn aliases_cannot_build_deep_trees_or_copy_large_scalars() {
        // Each anchor nests the previous one 20 levels deeper: 40 of them would be 800.
        let mut doc = String::from("a0: &a0 x\n");
        for i in 1..40 {
            let open = "[".repeat(20);
            let close = "]".repeat(20);
            doc.push_str(&format!("a{i}: &a{i} {open}*a{}{close}\n", i - 1));
        }
        let err = parse(&doc).unwrap_err();
        assert!(err.contains("max depth"), "{err}");
        let big = "x".repeat(1 << 20);
        let mut doc = format!("big: &big {big}\nrefs: [");
        for _ in 0..100 {
            doc.push_str("*big, ");
        }
        doc.push_str("]\n");
        let err = parse(&doc).unwrap_err();
        assert!(err.contains("excessive aliasing"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        // granit-parser's own recursion limit may come first; either way it is an error.
        let err = parse(&doc).unwrap_err();
        assert!(
            err.contains("max depth") || err.contains("recursion limit"),
            "{err}"
        );
    }
}
