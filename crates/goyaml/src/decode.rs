//! Decoding a node tree as yaml.v2's strict `UnmarshalStrict` does.
//!
//! Two kinds of error, as in yaml.v2:
//! - *type errors* (`line 3: cannot unmarshal !!str `x` into int`, unknown and repeated
//!   fields) are collected and decoding goes on; they come back together as
//!   `yaml: unmarshal errors:\n  line …`;
//! - a [`Fatal`] error (a type's own check failed, bad `!!binary` data) stops decoding and
//!   is returned as it is.

use std::collections::BTreeMap;

use base64::Engine;

use crate::tree::{parse, parse_go_duration, Node, NodeKind, Resolved};

/// An error that stops decoding, returned verbatim (Go's `UnmarshalYAML` returning an
/// error that is not a type error).
#[derive(Debug, Clone, PartialEq)]
pub struct Fatal(pub String);

impl Fatal {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl<E: std::fmt::Display> From<E> for Fatal
where
    E: std::error::Error,
{
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// A value that can be decoded from YAML the way yaml.v2 decodes into a Go value.
///
/// The value passed in already holds what the Go code would have put there before
/// decoding (its defaults); `Default::default()` must be the Go *zero* value, which a
/// `null` in the YAML sets.
pub trait Decode: Default {
    /// Decodes a non-null node into `self`. `Ok(false)` means the value could not be set
    /// (a type error was recorded), which drops it from a sequence.
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal>;

    /// The Go type named in `cannot unmarshal … into TYPE`.
    fn go_type() -> String;

    /// How the type is named as a slice or map element (a pointer shows its `*` there).
    fn go_elem_type() -> String {
        Self::go_type()
    }
}

/// A struct decoded field by field. Implemented with [`fields!`](crate::fields).
pub trait Fields {
    /// The Go type named in `field X not found in type T` and in type errors.
    const GO_TYPE: &'static str;

    /// Decodes the field called `name`, if this struct (or one it inlines) has one.
    fn field(&mut self, d: &mut Decoder, name: &str, value: &Node) -> Option<Result<bool, Fatal>>;
}

/// Implements [`Fields`] for a struct: YAML key → Rust field, plus the structs whose
/// fields are inlined (Go's `yaml:",inline"`).
///
/// ```ignore
/// goyaml::fields!(BasicAuth as "config.plain" {
///     "username" => username,
///     "password" => password,
/// });
/// goyaml::fields!(ScrapeConfig as "config.ScrapeConfig" { "job_name" => job_name } inline http);
/// ```
#[macro_export]
macro_rules! fields {
    ($ty:ty as $go:literal { $($name:literal => $field:ident),* $(,)? } $(inline $($inline:ident),+)?) => {
        impl $crate::Fields for $ty {
            const GO_TYPE: &'static str = $go;
            fn field(
                &mut self,
                d: &mut $crate::Decoder,
                name: &str,
                value: &$crate::Node,
            ) -> Option<Result<bool, $crate::Fatal>> {
                match name {
                    $($name => Some(d.decode(value, &mut self.$field)),)*
                    _ => {
                        $($(
                            if let Some(r) = $crate::Fields::field(&mut self.$inline, d, name, value) {
                                return Some(r);
                            }
                        )+)?
                        let _ = (d, value);
                        None
                    }
                }
            }
        }
    };
}

/// Implements [`Decode`] for [`Fields`] types that have no checks of their own (Go types
/// without an `UnmarshalYAML`): the fields are decoded into the value as it is.
#[macro_export]
macro_rules! plain {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl $crate::Decode for $ty {
                fn decode(&mut self, d: &mut $crate::Decoder, node: &$crate::Node) -> Result<bool, $crate::Fatal> {
                    d.decode_fields(node, self)
                }
                fn go_type() -> String {
                    <$ty as $crate::Fields>::GO_TYPE.to_string()
                }
            }
        )+
    };
}

/// Decodes the first document of `text` into `out` (which holds the defaults); an empty
/// document leaves it as it is. The error is yaml.v2's text.
pub fn from_str<T: Decode>(text: &str, out: &mut T) -> Result<(), String> {
    let Some(root) = parse(text)? else {
        return Ok(());
    };
    let mut d = Decoder::default();
    d.decode(&root, out).map_err(|Fatal(m)| m)?;
    d.finish()
}

/// Collects yaml.v2 "type errors" (which do not stop decoding).
#[derive(Default)]
pub struct Decoder {
    type_errors: Vec<String>,
}

impl Decoder {
    /// yaml.v2's `unmarshal` of one node into `out`: `null` sets the zero value, anything
    /// else goes to `out`'s [`Decode`].
    pub fn decode<T: Decode>(&mut self, node: &Node, out: &mut T) -> Result<bool, Fatal> {
        if node.is_null() {
            *out = T::default();
            return Ok(true);
        }
        out.decode(self, node)
    }

    /// What Go's `unmarshal(&v)` returns inside an `UnmarshalYAML`: decodes and says
    /// whether that added no type error (`Ok(false)`: the caller returns without its
    /// checks, the errors stay recorded).
    pub fn unmarshal<T: Decode>(&mut self, node: &Node, out: &mut T) -> Result<bool, Fatal> {
        let before = self.type_errors.len();
        self.decode(node, out)?;
        Ok(self.type_errors.len() == before)
    }

    /// Go's `unmarshal((*plain)(c))`: the fields of a struct, then whether that added no
    /// type error.
    pub fn unmarshal_fields<T: Fields>(&mut self, node: &Node, out: &mut T) -> Result<bool, Fatal> {
        let before = self.type_errors.len();
        self.decode_fields(node, out)?;
        Ok(self.type_errors.len() == before)
    }

    /// yaml.v2's `mappingStruct`: every key of a mapping to its field; unknown and
    /// repeated keys are type errors; `<<` merges mappings in.
    pub fn decode_fields<T: Fields>(&mut self, node: &Node, out: &mut T) -> Result<bool, Fatal> {
        let NodeKind::Map(pairs) = &node.kind else {
            self.type_error(node, T::GO_TYPE);
            return Ok(false);
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            if is_merge(key) {
                self.merge(value, &mut |d, merged| {
                    d.decode_fields(merged, out).map(|_| ())
                })?;
                continue;
            }
            let Some(name) = self.key_string(key) else {
                continue;
            };
            if seen.contains(&name) {
                self.push(format!(
                    "line {}: field {} already set in type {}",
                    key.line,
                    name,
                    T::GO_TYPE
                ));
                continue;
            }
            match out.field(self, name, value) {
                Some(result) => {
                    seen.push(name);
                    result?;
                }
                None => self.push(format!(
                    "line {}: field {} not found in type {}",
                    key.line,
                    name,
                    T::GO_TYPE
                )),
            }
        }
        Ok(true)
    }

    /// Walks the pairs of a mapping (merges expanded as yaml.v2 expands them), for map
    /// types with their own rules. A non-mapping is a type error against `go_type`.
    pub fn map_pairs(
        &mut self,
        node: &Node,
        go_type: &str,
        each: &mut dyn FnMut(&mut Self, &Node, &Node) -> Result<(), Fatal>,
    ) -> Result<bool, Fatal> {
        let NodeKind::Map(pairs) = &node.kind else {
            self.type_error(node, go_type);
            return Ok(false);
        };
        for (key, value) in pairs {
            if is_merge(key) {
                self.merge(value, &mut |d, merged| {
                    d.map_pairs(merged, go_type, each).map(|_| ())
                })?;
                continue;
            }
            each(self, key, value)?;
        }
        Ok(true)
    }

    /// yaml.v2's `merge`: a mapping, or a sequence of mappings applied last to first.
    fn merge(
        &mut self,
        value: &Node,
        apply: &mut dyn FnMut(&mut Self, &Node) -> Result<(), Fatal>,
    ) -> Result<(), Fatal> {
        let want_map =
            || Fatal::new("yaml: map merge requires map or sequence of maps as the value");
        match &value.kind {
            NodeKind::Map(_) => apply(self, value),
            NodeKind::Seq(items) => {
                for item in items.iter().rev() {
                    if !matches!(item.kind, NodeKind::Map(_)) {
                        return Err(want_map());
                    }
                    apply(self, item)?;
                }
                Ok(())
            }
            _ => Err(want_map()),
        }
    }

    /// A scalar's bytes as Go sees them: `!!binary` base64-decoded, anything else its text.
    pub fn scalar_bytes(&mut self, node: &Node) -> Result<Option<Vec<u8>>, Fatal> {
        match &node.kind {
            NodeKind::Scalar(s) if s.resolved == Resolved::Binary => {
                let compact: String = s.text.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map(Some)
                    .map_err(|_| Fatal::new("yaml: !!binary value contains invalid base64 data"))
            }
            NodeKind::Scalar(s) if s.resolved == Resolved::Null => Ok(Some(Vec::new())),
            NodeKind::Scalar(s) => Ok(Some(s.text.clone().into_bytes())),
            _ => Ok(None),
        }
    }

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

    /// Records a type error worded by the caller (`line N: …`).
    pub fn push(&mut self, message: String) {
        self.type_errors.push(message);
    }

    /// Whether any type error has been recorded.
    pub fn has_errors(&self) -> bool {
        !self.type_errors.is_empty()
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

fn is_merge(key: &Node) -> bool {
    matches!(&key.kind, NodeKind::Scalar(s) if s.resolved == Resolved::Merge)
}

impl Decode for String {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        match d.scalar_bytes(node)? {
            Some(bytes) => {
                *self = match String::from_utf8(bytes) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                Ok(true)
            }
            None => {
                d.type_error(node, "string");
                Ok(false)
            }
        }
    }
    fn go_type() -> String {
        "string".into()
    }
}

impl Decode for bool {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        match &node.kind {
            NodeKind::Scalar(s) if matches!(s.resolved, Resolved::Bool(_)) => {
                *self = s.resolved == Resolved::Bool(true);
                Ok(true)
            }
            _ => {
                d.type_error(node, "bool");
                Ok(false)
            }
        }
    }
    fn go_type() -> String {
        "bool".into()
    }
}

macro_rules! int_decode {
    ($($ty:ty => $go:literal),+) => {
        $(
            impl Decode for $ty {
                fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
                    let value = match &node.kind {
                        NodeKind::Scalar(s) => match s.resolved {
                            Resolved::Int(i) => <$ty>::try_from(i).ok(),
                            // Go converts a float to an integer field by truncation.
                            Resolved::Float(f) if f.is_finite() && f >= <$ty>::MIN as f64 && f <= <$ty>::MAX as f64 => Some(f as $ty),
                            _ => None,
                        },
                        _ => None,
                    };
                    match value {
                        Some(v) => {
                            *self = v;
                            Ok(true)
                        }
                        None => {
                            d.type_error(node, $go);
                            Ok(false)
                        }
                    }
                }
                fn go_type() -> String {
                    $go.into()
                }
            }
        )+
    };
}

int_decode!(i64 => "int64", u64 => "uint64", u32 => "uint32", i32 => "int32", usize => "uint", isize => "int");

impl Decode for f64 {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        match &node.kind {
            NodeKind::Scalar(s) => match s.resolved {
                Resolved::Int(i) => {
                    *self = i as f64;
                    Ok(true)
                }
                Resolved::Float(f) => {
                    *self = f;
                    Ok(true)
                }
                _ => {
                    d.type_error(node, "float64");
                    Ok(false)
                }
            },
            _ => {
                d.type_error(node, "float64");
                Ok(false)
            }
        }
    }
    fn go_type() -> String {
        "float64".into()
    }
}

/// A Go pointer: `null` is nil, anything else allocates the zero value and decodes into it.
impl<T: Decode> Decode for Option<T> {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        self.get_or_insert_with(T::default).decode(d, node)
    }
    fn go_type() -> String {
        T::go_type()
    }
    fn go_elem_type() -> String {
        format!("*{}", T::go_type())
    }
}

/// A Go slice: a new slice of the sequence's elements; an element that could not be set is
/// left out.
impl<T: Decode> Decode for Vec<T> {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let NodeKind::Seq(items) = &node.kind else {
            d.type_error(node, &Self::go_type());
            return Ok(false);
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let mut value = T::default();
            if d.decode(item, &mut value)? {
                out.push(value);
            }
        }
        *self = out;
        Ok(true)
    }
    fn go_type() -> String {
        format!("[]{}", T::go_elem_type())
    }
}

/// A Go map: entries are added to the map; a key given twice is a type error.
impl<K: Decode + Ord, V: Decode> Decode for BTreeMap<K, V> {
    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Fatal> {
        let go_type = Self::go_type();
        d.map_pairs(node, &go_type, &mut |d, key, value| {
            let mut k = K::default();
            if !d.decode(key, &mut k)? {
                return Ok(());
            }
            let mut v = V::default();
            if d.decode(value, &mut v)? {
                match self.entry(k) {
                    std::collections::btree_map::Entry::Occupied(_) => d.push(format!(
                        "line {}: key {} already set in map",
                        value.line,
                        crate::go_quote(key.scalar_text().unwrap_or(""))
                    )),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(v);
                    }
                }
            }
            Ok(())
        })
    }
    fn go_type() -> String {
        format!("map[{}]{}", K::go_type(), V::go_elem_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct Inner {
        port: u32,
        tls: bool,
    }
    fields!(Inner as "test.inner" { "port" => port, "tls" => tls });

    #[derive(Debug, Default, PartialEq)]
    struct Outer {
        name: String,
        tags: Vec<String>,
        labels: BTreeMap<String, String>,
        inner: Option<Inner>,
        inlined: Inner,
    }
    fields!(Outer as "test.plain" {
        "name" => name,
        "tags" => tags,
        "labels" => labels,
        "inner" => inner,
    } inline inlined);
    plain!(Inner, Outer);

    fn decode(text: &str) -> Result<Outer, String> {
        let mut out = Outer {
            name: "default".into(),
            ..Outer::default()
        };
        from_str(text, &mut out).map(|_| out)
    }

    #[test]
    fn fields_inline_and_nulls() {
        let out = decode("name: 12\ntags: [a, yes]\nport: 80\ninner: {tls: on}\n").unwrap();
        assert_eq!(out.name, "12");
        assert_eq!(out.tags, vec!["a", "yes"]);
        assert_eq!(out.inlined.port, 80);
        assert_eq!(out.inner, Some(Inner { port: 0, tls: true }));
        let out = decode("name:\ntags:\n").unwrap();
        assert_eq!(out.name, "");
        assert!(out.tags.is_empty());
        assert_eq!(decode("").unwrap().name, "default");
    }

    #[test]
    fn type_errors_are_collected() {
        let err = decode("nme: x\nport: abc\nname: a\nname: b\n").unwrap_err();
        assert_eq!(
            err,
            "yaml: unmarshal errors:\n  line 1: field nme not found in type test.plain\n  line 2: cannot unmarshal !!str `abc` into uint32\n  line 4: field name already set in type test.plain"
        );
        let err = decode("labels: {a: x, a: y}\n").unwrap_err();
        assert!(
            err.contains("line 1: key \"a\" already set in map"),
            "{err}"
        );
    }

    #[test]
    fn merge_keys() {
        let out = decode("base: &b {port: 9}\n").unwrap_err();
        assert!(out.contains("field base not found"));
        let out = decode("inner:\n  <<: {port: 9, tls: true}\n  tls: false\n").unwrap();
        assert_eq!(
            out.inner,
            Some(Inner {
                port: 9,
                tls: false
            })
        );
        let err = decode("inner:\n  <<: 3\n").unwrap_err();
        assert!(err.contains("map merge requires map"), "{err}");
    }

    #[test]
    fn bad_binary_is_fatal() {
        let err = decode("name: !!binary \"/w==$1\"\n").unwrap_err();
        assert_eq!(err, "yaml: !!binary value contains invalid base64 data");
    }
}
