//! Decoding a rule file's node tree as yaml.v3 decodes it into upstream's Go types.
//!
//! Upstream decodes the first document twice: into `RuleGroups` (with `KnownFields`,
//! unless unknown fields are allowed) for the values, and into `ruleGroups` (whose
//! `record`, `alert` and `expr` are `yaml.Node`s) for the positions its errors print.
//! Each decode reports its own errors, so a type error is reported twice, naming the Go
//! type of each pass. This module does both passes over one [`goyaml`] tree.
//!
//! yaml.v3's rules kept here: every mapping's keys must be unique (`mapping key "x"
//! already defined at line N`, and the mapping is then not decoded at all); `null` leaves
//! a value as it was (and drops a struct from a list); `<<` merges are applied after the
//! mapping's own keys, and never override them; a failed `model.Duration` stops the
//! decode with its own message.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use goyaml::{go_quote, Node, NodeKind, Resolved};
use promconfig::PromDuration;

use crate::{Position, RuleGroup};

/// At most this many decoding errors are reported for one pass. yaml.v3 has no limit, but
/// a mapping with n copies of one key gives n²/2 errors: a small file could otherwise
/// produce gigabytes of them.
pub(crate) const MAX_DECODE_ERRORS: usize = 10_000;

/// A rule file's first document, decoded.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub groups: Vec<DecodedGroup>,
    /// Anything follows the first document (which upstream ignores, with a warning).
    pub more_documents: bool,
    /// Texts decoded (lossily) from `!!binary` data that is not UTF-8. Go keeps the bytes
    /// in its strings, and then finds such a name or label value invalid.
    pub not_utf8: HashSet<String>,
}

#[derive(Debug, Default)]
pub(crate) struct DecodedGroup {
    pub group: RuleGroup,
    /// Upstream's `RuleGroupNode` embeds a `yaml.Node` that yaml.v3 fills only from a
    /// key named `node` (it treats an embedded struct as a field), so this is `0:0`
    /// unless the group has such a key.
    pub position: Position,
    pub rules: Vec<RulePositions>,
}

/// Where a rule's `record`, `alert` and `expr` values are (`0:0` when absent).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RulePositions {
    pub record: Position,
    pub alert: Position,
    pub expr: Position,
}

/// Decodes `content` as upstream's `Parse` does; the errors are its texts, in its order.
pub(crate) fn decode(content: &[u8], ignore_unknown_fields: bool) -> Result<Decoded, Vec<String>> {
    // Both of upstream's decodes read the same text, so an error before decoding (bad
    // UTF-8, bad syntax) is reported by both.
    let twice = |message: String| vec![message.clone(), message];
    let text = std::str::from_utf8(content).map_err(|e| twice(utf8_error(content, &e)))?;
    let first = goyaml::parse_first_document(text).map_err(twice)?;
    let Some(root) = first.root else {
        return Ok(Decoded {
            more_documents: first.more_documents,
            ..Decoded::default()
        });
    };
    let mut values = Pass::new(PassKind::Values, !ignore_unknown_fields);
    let values_result = values.run(&root);
    let mut positions = Pass::new(PassKind::Positions, false);
    let positions_result = positions.run(&root);
    let (mut groups, positioned) = match (values_result, positions_result) {
        (Ok(groups), Ok(positioned)) => (groups, positioned),
        (values_result, positions_result) => {
            return Err([values_result.err(), positions_result.err()]
                .into_iter()
                .flatten()
                .collect())
        }
    };
    // Both passes keep and drop the same list items, so the lists line up.
    for (group, positioned) in groups.iter_mut().zip(positioned) {
        group.position = positioned.position;
        group.rules = positioned.rules;
    }
    let mut not_utf8 = values.not_utf8;
    not_utf8.extend(positions.not_utf8);
    Ok(Decoded {
        groups,
        more_documents: first.more_documents,
        not_utf8,
    })
}

/// libyaml's reader errors for text that is not UTF-8 (reported without a line).
fn utf8_error(content: &[u8], e: &std::str::Utf8Error) -> String {
    let problem = match e.error_len() {
        None => "incomplete UTF-8 octet sequence",
        Some(_) => match content.get(e.valid_up_to()) {
            Some(0xc2..=0xf4) => "invalid trailing UTF-8 octet",
            _ => "invalid leading UTF-8 octet",
        },
    };
    format!("yaml: {problem}")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PassKind {
    /// Into `RuleGroups`: the values.
    Values,
    /// Into `ruleGroups`: `record`, `alert` and `expr` (and a group's `node`) are
    /// `yaml.Node`s, which take any node and only give its position.
    Positions,
}

/// The Go types each pass decodes into, as error messages name them.
struct GoTypes {
    root: &'static str,
    groups: &'static str,
    group: &'static str,
    rules: &'static str,
    rule: &'static str,
}

const VALUE_TYPES: GoTypes = GoTypes {
    root: "rulefmt.RuleGroups",
    groups: "[]rulefmt.RuleGroup",
    group: "rulefmt.RuleGroup",
    rules: "[]rulefmt.Rule",
    rule: "rulefmt.Rule",
};

const POSITION_TYPES: GoTypes = GoTypes {
    root: "rulefmt.ruleGroups",
    groups: "[]rulefmt.RuleGroupNode",
    group: "rulefmt.RuleGroupNode",
    rules: "[]rulefmt.RuleNode",
    rule: "rulefmt.RuleNode",
};

const GROUP_FIELDS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "rules",
    "labels",
];
const GROUP_NODE_FIELDS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "rules",
    "labels",
    "node",
];
const RULE_FIELDS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// An error that stops a pass (Go panics inside the decoder and returns it as is).
type Fatal = String;
type Decoding<T> = Result<T, Fatal>;

/// One decode of the tree (yaml.v3's `decoder`).
struct Pass {
    kind: PassKind,
    known_fields: bool,
    /// yaml.v3's "type errors": collected, decoding goes on.
    errors: Vec<String>,
    /// The keys already set while a `<<` merge is applied (yaml.v3's `mergedFields`).
    merged_fields: Option<HashSet<String>>,
    not_utf8: HashSet<String>,
}

impl Pass {
    fn new(kind: PassKind, known_fields: bool) -> Self {
        Self {
            kind,
            known_fields,
            errors: Vec::new(),
            merged_fields: None,
            not_utf8: HashSet::new(),
        }
    }

    fn types(&self) -> &'static GoTypes {
        match self.kind {
            PassKind::Values => &VALUE_TYPES,
            PassKind::Positions => &POSITION_TYPES,
        }
    }

    /// The whole document, with yaml.v3's combined error text.
    fn run(&mut self, root: &Node) -> Result<Vec<DecodedGroup>, String> {
        let groups = self.root(root)?;
        if self.errors.is_empty() {
            Ok(groups)
        } else {
            Err(format!(
                "yaml: unmarshal errors:\n  {}",
                self.errors.join("\n  ")
            ))
        }
    }

    fn push(&mut self, message: String) {
        match self.errors.len() {
            n if n < MAX_DECODE_ERRORS => self.errors.push(message),
            n if n == MAX_DECODE_ERRORS => self.errors.push(format!(
                "too many errors: only the first {MAX_DECODE_ERRORS} are shown"
            )),
            _ => {}
        }
    }

    fn full(&self) -> bool {
        self.errors.len() > MAX_DECODE_ERRORS
    }

    /// `line N: cannot unmarshal !!str `abc` into int`.
    fn type_error(&mut self, node: &Node, into: &str) {
        let tag = v3_tag(node);
        let value = match &node.kind {
            NodeKind::Scalar(s) => {
                let text = s.text.as_str();
                if text.len() > 10 {
                    // Go cuts at byte 7; a cut inside a character is moved before it.
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
        self.push(format!(
            "line {}: cannot unmarshal {tag}{value} into {into}",
            node.line
        ));
    }

    /// yaml.v3 refuses a mapping whose keys repeat (same kind, same text), reporting every
    /// later copy against every earlier one. False if it did.
    fn unique_keys(&mut self, pairs: &[(Node, Node)]) -> bool {
        let mut same: HashMap<(u8, &str), Vec<usize>> = HashMap::new();
        for (i, (key, _)) in pairs.iter().enumerate() {
            same.entry(key_identity(key)).or_default().push(i);
        }
        if same.len() == pairs.len() {
            return true;
        }
        for (i, (key, _)) in pairs.iter().enumerate() {
            let Some(copies) = same.get(&key_identity(key)) else {
                continue;
            };
            for &j in copies.iter().filter(|&&j| j > i) {
                if self.full() {
                    return false;
                }
                let later = &pairs[j].0;
                self.push(format!(
                    "line {}: mapping key {} already defined at line {}",
                    later.line,
                    go_quote(later.scalar_text().unwrap_or("")),
                    key.line
                ));
            }
        }
        false
    }

    /// A Go `string`: any scalar's text (`!!binary` decoded). `None` when not set: a
    /// `null` (no error) or a collection (a type error).
    fn string(&mut self, node: &Node) -> Decoding<Option<String>> {
        match &node.kind {
            NodeKind::Map(pairs) => {
                if self.unique_keys(pairs) {
                    self.type_error(node, "string");
                }
                Ok(None)
            }
            NodeKind::Seq(_) => {
                self.type_error(node, "string");
                Ok(None)
            }
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Null => Ok(None),
                Resolved::Binary => {
                    let bytes = goyaml::Decoder::default()
                        .scalar_bytes(node)
                        .map_err(|goyaml::Fatal(message)| message)?
                        .unwrap_or_default();
                    Ok(Some(match String::from_utf8(bytes) {
                        Ok(text) => text,
                        Err(e) => {
                            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                            self.not_utf8.insert(text.clone());
                            text
                        }
                    }))
                }
                _ => Ok(Some(s.text.clone())),
            },
        }
    }

    /// A `model.Duration`: its `UnmarshalYAML` reads a string and parses it; a bad one
    /// stops the decode with `not a valid duration string: "x"`.
    fn duration(&mut self, node: &Node) -> Decoding<Option<Duration>> {
        if node.is_null() {
            return Ok(None);
        }
        let Some(text) = self.string(node)? else {
            return Ok(None);
        };
        PromDuration::parse(&text).map(|d| Some(d.0))
    }

    /// A Go `int` from a yaml.v3 scalar: integers, and floats truncated.
    fn int(&mut self, node: &Node) -> Decoding<Option<i64>> {
        let value = match &node.kind {
            NodeKind::Map(pairs) => {
                if !self.unique_keys(pairs) {
                    return Ok(None);
                }
                None
            }
            NodeKind::Seq(_) => None,
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Null => return Ok(None),
                Resolved::Int(i) => i64::try_from(i).ok(),
                // Go's float-to-int conversion (amd64): -Inf and huge negatives saturate.
                Resolved::Float(f) if !f.is_nan() && f <= i64::MAX as f64 => Some(f as i64),
                _ => None,
            },
        };
        if value.is_none() {
            self.type_error(node, "int");
        }
        Ok(value)
    }

    /// A Go `map[string]string`. `is_new`: the map was nil before (a `null` value then
    /// still adds its key, with an empty value).
    fn string_map(
        &mut self,
        node: &Node,
        out: &mut BTreeMap<String, String>,
        is_new: bool,
    ) -> Decoding<()> {
        let pairs = match &node.kind {
            NodeKind::Map(pairs) => pairs,
            NodeKind::Scalar(s) if s.resolved == Resolved::Null => {
                out.clear();
                return Ok(());
            }
            _ => {
                self.type_error(node, "map[string]string");
                return Ok(());
            }
        };
        if !self.unique_keys(pairs) {
            return Ok(());
        }
        let mut merged = self.merged_fields.take();
        let mut merge_node = None;
        for (key, value) in pairs {
            if is_merge(key) {
                merge_node = Some(value);
                continue;
            }
            let Some(name) = self.string(key)? else {
                continue;
            };
            if let Some(merged) = merged.as_mut() {
                if !merged.insert(name.clone()) {
                    continue;
                }
            }
            match self.string(value)? {
                Some(text) => {
                    out.insert(name, text);
                }
                None if value.is_null() && (is_new || !out.contains_key(&name)) => {
                    out.insert(name, String::new());
                }
                None => {}
            }
        }
        self.merged_fields = merged;
        if let Some(merge_node) = merge_node {
            self.merge(pairs, merge_node, &mut |pass, mapping| {
                pass.string_map(mapping, out, false)
            })?;
        }
        Ok(())
    }

    /// A Go struct with the fields `known`: `field` decodes one of them. False when the
    /// struct was not set (a `null`, a type error, repeated keys), which drops it from a
    /// list.
    fn fields(
        &mut self,
        node: &Node,
        go_type: &str,
        known: &[&str],
        field: &mut dyn FnMut(&mut Self, &str, &Node) -> Decoding<()>,
    ) -> Decoding<bool> {
        let pairs = match &node.kind {
            NodeKind::Map(pairs) => pairs,
            NodeKind::Scalar(s) if s.resolved == Resolved::Null => return Ok(false),
            _ => {
                self.type_error(node, go_type);
                return Ok(false);
            }
        };
        if !self.unique_keys(pairs) {
            return Ok(false);
        }
        let mut merged = self.merged_fields.take();
        let mut merge_node = None;
        let mut done: HashSet<String> = HashSet::new();
        for (key, value) in pairs {
            if is_merge(key) {
                merge_node = Some(value);
                continue;
            }
            let Some(name) = self.string(key)? else {
                continue;
            };
            if let Some(merged) = merged.as_mut() {
                if !merged.insert(name.clone()) {
                    continue;
                }
            }
            if known.contains(&name.as_str()) {
                if !done.insert(name.clone()) {
                    self.push(format!(
                        "line {}: field {name} already set in type {go_type}",
                        key.line
                    ));
                    continue;
                }
                field(self, &name, value)?;
            } else if self.known_fields {
                self.push(format!(
                    "line {}: field {name} not found in type {go_type}",
                    key.line
                ));
            }
        }
        self.merged_fields = merged;
        if let Some(merge_node) = merge_node {
            self.merge(pairs, merge_node, &mut |pass, mapping| {
                pass.fields(mapping, go_type, known, &mut *field)
                    .map(|_| ())
            })?;
        }
        Ok(true)
    }

    /// yaml.v3's `merge`: a mapping, or a list of them (the first one to set a key wins),
    /// decoded into the same value after the mapping's own keys, which it cannot change.
    fn merge(
        &mut self,
        parent: &[(Node, Node)],
        merge: &Node,
        apply: &mut dyn FnMut(&mut Self, &Node) -> Decoding<()>,
    ) -> Decoding<()> {
        let outermost = self.merged_fields.is_none();
        if outermost {
            let keys = parent
                .iter()
                .filter_map(|(key, _)| key.scalar_text().map(str::to_string))
                .collect();
            self.merged_fields = Some(keys);
        }
        let want_map =
            || "yaml: map merge requires map or sequence of maps as the value".to_string();
        let result = match &merge.kind {
            NodeKind::Map(_) => apply(self, merge),
            NodeKind::Seq(items) => items.iter().try_for_each(|item| match item.kind {
                NodeKind::Map(_) => apply(self, item),
                _ => Err(want_map()),
            }),
            NodeKind::Scalar(_) => Err(want_map()),
        };
        if outermost {
            self.merged_fields = None;
        }
        result
    }

    /// A Go slice: the items of a sequence (`null` is an empty one).
    fn list<'n>(&mut self, node: &'n Node, go_type: &str) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            NodeKind::Scalar(s) if s.resolved == Resolved::Null => Some(&[]),
            NodeKind::Map(pairs) => {
                if self.unique_keys(pairs) {
                    self.type_error(node, go_type);
                }
                None
            }
            NodeKind::Scalar(_) => {
                self.type_error(node, go_type);
                None
            }
        }
    }

    fn root(&mut self, node: &Node) -> Decoding<Vec<DecodedGroup>> {
        let types = self.types();
        let mut groups = Vec::new();
        self.fields(node, types.root, &["groups"], &mut |pass, _, value| {
            groups.clear();
            if let Some(items) = pass.list(value, types.groups) {
                for item in items {
                    if let Some(group) = pass.group(item)? {
                        groups.push(group);
                    }
                }
            }
            Ok(())
        })?;
        Ok(groups)
    }

    fn group(&mut self, node: &Node) -> Decoding<Option<DecodedGroup>> {
        let types = self.types();
        let known = match self.kind {
            PassKind::Values => GROUP_FIELDS,
            PassKind::Positions => GROUP_NODE_FIELDS,
        };
        let mut out = DecodedGroup::default();
        let set = self.fields(node, types.group, known, &mut |pass, name, value| {
            let group = &mut out.group;
            match name {
                "name" => {
                    if let Some(text) = pass.string(value)? {
                        group.name = text;
                    }
                }
                "interval" => {
                    if let Some(interval) = pass.duration(value)? {
                        group.interval = interval;
                    }
                }
                // A pointer: allocated (zero) for any non-null value, left nil for null.
                "query_offset" if !value.is_null() => {
                    group.query_offset = Some(pass.duration(value)?.unwrap_or_default());
                }
                "limit" => {
                    if let Some(limit) = pass.int(value)? {
                        group.limit = limit;
                    }
                }
                "rules" => {
                    group.rules.clear();
                    out.rules.clear();
                    if let Some(items) = pass.list(value, types.rules) {
                        for item in items {
                            if let Some((rule, positions)) = pass.rule(item)? {
                                group.rules.push(rule);
                                out.rules.push(positions);
                            }
                        }
                    }
                }
                "labels" => pass.string_map(value, &mut group.labels, true)?,
                "node" => out.position = position(value),
                _ => {}
            }
            Ok(())
        })?;
        Ok(set.then_some(out))
    }

    fn rule(&mut self, node: &Node) -> Decoding<Option<(crate::Rule, RulePositions)>> {
        let types = self.types();
        let mut rule = crate::Rule::default();
        let mut positions = RulePositions::default();
        let set = self.fields(node, types.rule, RULE_FIELDS, &mut |pass, name, value| {
            // The second pass's `yaml.Node` fields take any node, null included.
            let node_field = pass.kind == PassKind::Positions;
            match name {
                "record" => {
                    positions.record = position(value);
                    if !node_field {
                        if let Some(text) = pass.string(value)? {
                            rule.record = text;
                        }
                    }
                }
                "alert" => {
                    positions.alert = position(value);
                    if !node_field {
                        if let Some(text) = pass.string(value)? {
                            rule.alert = text;
                        }
                    }
                }
                "expr" => {
                    positions.expr = position(value);
                    if !node_field {
                        if let Some(text) = pass.string(value)? {
                            rule.expr = text;
                        }
                    }
                }
                "for" => {
                    if let Some(d) = pass.duration(value)? {
                        rule.for_duration = d;
                    }
                }
                "keep_firing_for" => {
                    if let Some(d) = pass.duration(value)? {
                        rule.keep_firing_for = d;
                    }
                }
                "labels" => pass.string_map(value, &mut rule.labels, true)?,
                "annotations" => pass.string_map(value, &mut rule.annotations, true)?,
                _ => {}
            }
            Ok(())
        })?;
        Ok(set.then_some((rule, positions)))
    }
}

fn position(node: &Node) -> Position {
    Position {
        line: node.line,
        column: node.column,
    }
}

fn is_merge(key: &Node) -> bool {
    matches!(&key.kind, NodeKind::Scalar(s) if s.resolved == Resolved::Merge)
}

/// What yaml.v3 compares to find repeated keys: the node's kind and its text (a
/// collection's text is empty).
fn key_identity(key: &Node) -> (u8, &str) {
    match &key.kind {
        NodeKind::Scalar(s) => (0, s.text.as_str()),
        NodeKind::Seq(_) => (1, ""),
        NodeKind::Map(_) => (2, ""),
    }
}

/// The tag yaml.v3 gives a node. [`goyaml`] resolves scalars as yaml.v2 does; the two
/// differ, for what a rule file can hold, only in that v3 reads `yes`, `on`, `n` and the
/// like as strings.
fn v3_tag(node: &Node) -> &'static str {
    match &node.kind {
        NodeKind::Map(_) => "!!map",
        NodeKind::Seq(_) => "!!seq",
        NodeKind::Scalar(s) => match s.resolved {
            Resolved::Null => "!!null",
            Resolved::Bool(_) => match s.text.as_str() {
                "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => "!!bool",
                _ => "!!str",
            },
            Resolved::Int(_) => "!!int",
            Resolved::Float(_) => "!!float",
            Resolved::Str => "!!str",
            Resolved::Binary => "!!binary",
            Resolved::Merge => "!!merge",
        },
    }
}
