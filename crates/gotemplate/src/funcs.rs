//! Template functions: the [`FuncMap`] a host fills (with Go-typed [`Signature`]s, so that
//! arguments are checked and converted exactly as Go's reflection-based calls would), and
//! Go's builtins (`and`, `or`, `not`, `len`, `index`, `slice`, `eq`, `ne`, `lt`, `le`, `gt`,
//! `ge`, `print`, `printf`, `println`, `html`, `js`, `urlquery`, `call`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::value::{truth, Kind, Rv, Value};

/// The kind of a named Go type: decides what a literal argument may be (a `time.Duration`
/// parameter takes `1000`, a `*template.sample` parameter takes no literal) and whether the
/// type can be nil.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Bool,
    Int,
    Uint,
    Float,
    String,
    Pointer,
    Slice,
    Map,
    Struct,
}

/// A parameter type of a Go function or method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgType {
    /// `interface {}`: anything; a missing value arrives as [`Value::Nil`].
    Any,
    /// `bool`.
    Bool,
    /// `int`.
    Int,
    /// `uint64`.
    Uint,
    /// `float64`.
    Float,
    /// `string`.
    String,
    /// Another Go type, by its `reflect` name (`*template.sample`, `template.queryResult`,
    /// `time.Duration`). A value matches when its [`Value::go_type`] is that name, or the name
    /// with one `*` more (Go dereferences one pointer; the function then receives the
    /// pointer's value, a host object or the struct pointed to).
    Named(&'static str, ArgKind),
}

impl ArgType {
    /// The type's name as Go prints it in errors.
    pub fn go_name(&self) -> &str {
        match self {
            ArgType::Any => "interface {}",
            ArgType::Bool => "bool",
            ArgType::Int => "int",
            ArgType::Uint => "uint64",
            ArgType::Float => "float64",
            ArgType::String => "string",
            ArgType::Named(n, _) => n,
        }
    }

    pub(crate) fn kind(&self) -> Option<ArgKind> {
        Some(match self {
            ArgType::Any => return None,
            ArgType::Bool => ArgKind::Bool,
            ArgType::Int => ArgKind::Int,
            ArgType::Uint => ArgKind::Uint,
            ArgType::Float => ArgKind::Float,
            ArgType::String => ArgKind::String,
            ArgType::Named(_, k) => *k,
        })
    }

    pub(crate) fn can_be_nil(&self) -> bool {
        matches!(
            self.kind(),
            None | Some(ArgKind::Pointer | ArgKind::Slice | ArgKind::Map)
        )
    }
}

/// A function's (or method's) parameters: fixed ones, then optionally a variadic `...T`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    pub params: Vec<ArgType>,
    pub variadic: Option<ArgType>,
}

impl Signature {
    pub fn new(params: Vec<ArgType>) -> Self {
        Signature {
            params,
            variadic: None,
        }
    }

    pub fn variadic(params: Vec<ArgType>, rest: ArgType) -> Self {
        Signature {
            params,
            variadic: Some(rest),
        }
    }
}

/// The body of a template function: gets its checked arguments (in parameter order, a
/// missing `interface {}` value as [`Value::Nil`]) and returns a value or Go's error text.
pub type FuncImpl = dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync;

/// A template function: a Go signature and a body (which may capture state).
#[derive(Clone)]
pub struct Func {
    pub(crate) sig: Signature,
    pub(crate) body: Arc<FuncImpl>,
}

impl Func {
    pub fn new(
        sig: Signature,
        body: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        Func {
            sig,
            body: Arc::new(body),
        }
    }

    pub fn signature(&self) -> &Signature {
        &self.sig
    }
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Func({:?})", self.sig)
    }
}

/// Named template functions (Go's `template.FuncMap`). A function of a builtin's name
/// replaces the builtin, as in Go.
#[derive(Clone, Debug, Default)]
pub struct FuncMap {
    funcs: HashMap<String, Func>,
}

impl FuncMap {
    pub fn new() -> Self {
        FuncMap::default()
    }

    /// Adds (or replaces) a function.
    pub fn insert(&mut self, name: impl Into<String>, f: Func) -> &mut Self {
        self.funcs.insert(name.into(), f);
        self
    }

    /// Adds a function with fixed parameters.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        params: Vec<ArgType>,
        body: impl Fn(&[Value]) -> Result<Value, String> + Send + Sync + 'static,
    ) -> &mut Self {
        self.insert(name, Func::new(Signature::new(params), body))
    }

    pub fn get(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    /// Adds every function of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: &FuncMap) {
        for (k, v) in &other.funcs {
            self.funcs.insert(k.clone(), v.clone());
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.funcs.keys().map(String::as_str)
    }
}

/// A builtin's parameter: Go's `reflect.Value` (the raw value, possibly invalid) or a real type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    Reflect,
    Any,
    String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Html,
    Js,
    Urlquery,
    Print,
    Printf,
    Println,
    Call,
}

impl Builtin {
    pub(crate) fn lookup(name: &str) -> Option<Builtin> {
        Some(match name {
            "and" => Builtin::And,
            "or" => Builtin::Or,
            "not" => Builtin::Not,
            "len" => Builtin::Len,
            "index" => Builtin::Index,
            "slice" => Builtin::Slice,
            "eq" => Builtin::Eq,
            "ne" => Builtin::Ne,
            "lt" => Builtin::Lt,
            "le" => Builtin::Le,
            "gt" => Builtin::Gt,
            "ge" => Builtin::Ge,
            "html" => Builtin::Html,
            "js" => Builtin::Js,
            "urlquery" => Builtin::Urlquery,
            "print" => Builtin::Print,
            "printf" => Builtin::Printf,
            "println" => Builtin::Println,
            "call" => Builtin::Call,
            _ => return None,
        })
    }

    /// Fixed parameters and variadic element type, as Go declares the builtin.
    pub(crate) fn params(self) -> (&'static [Param], Option<Param>) {
        use Param::*;
        match self {
            Builtin::And
            | Builtin::Or
            | Builtin::Index
            | Builtin::Slice
            | Builtin::Eq
            | Builtin::Call => (&[Reflect], Some(Reflect)),
            Builtin::Not | Builtin::Len => (&[Reflect], None),
            Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => {
                (&[Reflect, Reflect], None)
            }
            Builtin::Html | Builtin::Js | Builtin::Urlquery | Builtin::Print | Builtin::Println => {
                (&[], Some(Any))
            }
            Builtin::Printf => (&[String], Some(Any)),
        }
    }

    /// Calls the builtin (not `and`/`or`, which the executor short-circuits) on checked
    /// arguments. `callee` is `call`'s description of its first argument.
    pub(crate) fn call(self, args: &[Rv], callee: &str) -> Result<Rv, String> {
        let values = || args.iter().map(Rv::to_value).collect::<Vec<_>>();
        let string = |s: String| Ok(Rv::of(Value::String(s)));
        let boolean = |b: bool| Ok(Rv::of(Value::Bool(b)));
        match self {
            Builtin::And | Builtin::Or => {
                Err("internal error: and/or are evaluated lazily".to_string())
            }
            Builtin::Not => boolean(!truth(&args[0])),
            Builtin::Len => length(&args[0]).map(|n| Rv::of(Value::Int(n as i64))),
            Builtin::Index => index(args[0].clone(), &args[1..]),
            Builtin::Slice => slice(args[0].clone(), &args[1..]),
            Builtin::Eq => eq(&args[0], &args[1..]).map(|b| Rv::of(Value::Bool(b))),
            Builtin::Ne => eq(&args[0], &args[1..2]).map(|b| Rv::of(Value::Bool(!b))),
            Builtin::Lt => lt(&args[0], &args[1]).map(|b| Rv::of(Value::Bool(b))),
            Builtin::Le => le(&args[0], &args[1]).map(|b| Rv::of(Value::Bool(b))),
            Builtin::Gt => le(&args[0], &args[1]).map(|b| Rv::of(Value::Bool(!b))),
            Builtin::Ge => lt(&args[0], &args[1]).map(|b| Rv::of(Value::Bool(!b))),
            Builtin::Html => string(html_escape(&eval_args(&values()))),
            Builtin::Js => string(js_escape(&eval_args(&values()))),
            Builtin::Urlquery => string(query_escape(&eval_args(&values()))),
            Builtin::Print => string(crate::fmt::sprint(&values())),
            Builtin::Println => string(crate::fmt::sprintln(&values())),
            Builtin::Printf => {
                let v = values();
                string(crate::fmt::sprintf(v[0].as_str().unwrap_or(""), &v[1..]))
            }
            Builtin::Call => {
                let f = args[0].clone().indirect_interface();
                if !f.is_valid() {
                    return Err("call of nil".to_string());
                }
                Err(format!("non-function {callee} of type {}", f.type_name()))
            }
        }
    }
}

/// Go's `indexArg`.
fn index_arg(index: &Rv, cap: usize) -> Result<usize, String> {
    let x: i64 = match (index.kind(), index.value()) {
        (Kind::Int, Some(Value::Int(i))) => *i,
        (Kind::Uint, Some(Value::Uint(u))) => *u as i64,
        (Kind::Invalid, _) => return Err("cannot index slice/array with nil".to_string()),
        _ => {
            return Err(format!(
                "cannot index slice/array with type {}",
                index.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

/// A map key for `index`: Go's `prepareArg` against key type `string`.
fn map_key(index: &Rv) -> Result<&str, String> {
    match index.value() {
        None => Err("value is nil; should be of type string".to_string()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!(
            "value has type {}; should be string",
            index.type_name()
        )),
    }
}

/// Go's `index`.
fn index(item: Rv, indexes: &[Rv]) -> Result<Rv, String> {
    let mut item = item.indirect_interface();
    if !item.is_valid() {
        return Err("index of untyped nil".to_string());
    }
    for index in indexes {
        let index = index.clone().indirect_interface();
        let (it, is_nil) = item.indirect();
        if is_nil {
            return Err("index of nil pointer".to_string());
        }
        item = match it.value() {
            Some(Value::List(l)) => {
                let x = index_arg(&index, l.items().len())?;
                let e = l
                    .items()
                    .get(x)
                    .ok_or("reflect: slice index out of range")?;
                Rv::slot(e.clone(), l.elem_iface())
            }
            Some(Value::String(s)) => {
                let x = index_arg(&index, s.len())?;
                let b = s
                    .as_bytes()
                    .get(x)
                    .ok_or("reflect: string index out of range")?;
                Rv::of(Value::Int(i64::from(*b)))
            }
            Some(Value::Labels(m)) => Rv::of(Value::String(
                m.get(map_key(&index)?).cloned().unwrap_or_default(),
            )),
            Some(Value::Map(m)) => match m.get(map_key(&index)?) {
                Some(v) => Rv::slot(v.clone(), true),
                None => Rv::nil_iface(),
            },
            _ => return Err(format!("can't index item of type {}", it.type_name())),
        };
    }
    Ok(item)
}

/// Go's `slice`.
fn slice(item: Rv, indexes: &[Rv]) -> Result<Rv, String> {
    let item = item.indirect_interface();
    if !item.is_valid() {
        return Err("slice of untyped nil".to_string());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item.value() {
        Some(Value::String(s)) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_string());
            }
            s.len()
        }
        Some(Value::List(l)) => l.items().len(),
        _ => return Err(format!("can't slice item of type {}", item.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match item.value() {
        Some(Value::String(s)) => Rv::of(Value::String(
            String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned(),
        )),
        Some(Value::List(l)) => Rv::of(Value::List(Arc::new(l.sub(idx[0], idx[1])))),
        _ => unreachable!("checked above"),
    })
}

/// Go's `length`.
fn length(item: &Rv) -> Result<usize, String> {
    let (item, is_nil) = item.clone().indirect();
    if is_nil {
        return Err("len of nil pointer".to_string());
    }
    match item.value() {
        None => Err("reflect: call of reflect.Value.Type on zero Value".to_string()),
        Some(Value::String(s)) => Ok(s.len()),
        Some(Value::Labels(m)) => Ok(m.len()),
        Some(Value::Map(m)) => Ok(m.len()),
        Some(Value::List(l)) => Ok(l.items().len()),
        Some(_) => Err(format!("len of type {}", item.type_name())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basic {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn basic_kind(v: &Rv) -> Basic {
    match v.kind() {
        Kind::Bool => Basic::Bool,
        Kind::Int => Basic::Int,
        Kind::Uint => Basic::Uint,
        Kind::Float => Basic::Float,
        Kind::String => Basic::String,
        _ => Basic::Invalid,
    }
}

fn int_of(v: &Rv) -> i64 {
    match v.value() {
        Some(Value::Int(i)) => *i,
        _ => 0,
    }
}

fn uint_of(v: &Rv) -> u64 {
    match v.value() {
        Some(Value::Uint(u)) => *u,
        _ => 0,
    }
}

fn incompatible(a: &Rv, b: &Rv) -> String {
    format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    )
}

/// Go's `eq`: `arg1 == arg2 || arg1 == arg3 || ...`.
fn eq(arg1: &Rv, rest: &[Rv]) -> Result<bool, String> {
    let a1 = arg1.clone().indirect_interface();
    if rest.is_empty() {
        return Err("missing argument for comparison".to_string());
    }
    let k1 = basic_kind(&a1);
    for arg in rest {
        let a = arg.clone().indirect_interface();
        let k2 = basic_kind(&a);
        let t = if k1 != k2 {
            match (k1, k2) {
                (Basic::Int, Basic::Uint) => int_of(&a1) >= 0 && int_of(&a1) as u64 == uint_of(&a),
                (Basic::Uint, Basic::Int) => int_of(&a) >= 0 && uint_of(&a1) == int_of(&a) as u64,
                _ if a1.is_valid() && a.is_valid() => return Err(incompatible(&a1, &a)),
                _ => false,
            }
        } else {
            match (a1.value(), a.value()) {
                (Some(Value::Float(x)), Some(Value::Float(y))) => x == y,
                (Some(x), Some(y)) if k1 != Basic::Invalid => x == y,
                _ => {
                    // Non-basic kinds: nil-ness, then identity / equality of comparable types.
                    if !(a1.kind() == a.kind() || !a1.is_valid() || !a.is_valid()) {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            crate::fmt::format_one(&a1.to_value(), 's'),
                            a1.type_name(),
                            a.type_name(),
                            crate::fmt::format_one(&a.to_value(), 'v')
                        ));
                    }
                    if !a1.is_valid() || !a.is_valid() {
                        a1.is_valid() == a.is_valid()
                    } else {
                        if matches!(a.kind(), Kind::Map | Kind::Slice) {
                            return Err(format!(
                                "non-comparable type {}: {}",
                                crate::fmt::format_one(&a.to_value(), 's'),
                                a.type_name()
                            ));
                        }
                        a1.type_name() == a.type_name() && a1.value() == a.value()
                    }
                }
            }
        };
        if t {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`.
fn lt(arg1: &Rv, arg2: &Rv) -> Result<bool, String> {
    let a1 = arg1.clone().indirect_interface();
    let a2 = arg2.clone().indirect_interface();
    let (k1, k2) = (basic_kind(&a1), basic_kind(&a2));
    if k1 == Basic::Invalid || k2 == Basic::Invalid {
        return Err("invalid type for comparison".to_string());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Basic::Int, Basic::Uint) => Ok(int_of(&a1) < 0 || (int_of(&a1) as u64) < uint_of(&a2)),
            (Basic::Uint, Basic::Int) => Ok(int_of(&a2) >= 0 && uint_of(&a1) < int_of(&a2) as u64),
            _ => Err(incompatible(&a1, &a2)),
        };
    }
    Ok(match (a1.value(), a2.value()) {
        (Some(Value::Float(x)), Some(Value::Float(y))) => x < y,
        (Some(Value::Int(x)), Some(Value::Int(y))) => x < y,
        (Some(Value::Uint(x)), Some(Value::Uint(y))) => x < y,
        (Some(Value::String(x)), Some(Value::String(y))) => x < y,
        _ => return Err("invalid type for comparison".to_string()),
    })
}

/// Go's `le`: `lt || eq`.
fn le(arg1: &Rv, arg2: &Rv) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// Go's `evalArgs` for `html`, `js` and `urlquery`: one string as is, anything else printed
/// with `fmt.Sprint` after `printableValue` (nil becomes `<no value>`, pointers are followed).
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.clone();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::Nil => Value::String("<no value>".to_string()),
            Value::StructPtr(s) => Value::Struct(s.clone()),
            other => other.clone(),
        })
        .collect();
    crate::fmt::sprint(&printable)
}

/// Go's `HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() || crate::unicode::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Rv {
        Rv::of(Value::Int(i))
    }

    fn s(x: &str) -> Rv {
        Rv::of(Value::from(x))
    }

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape("<a href='x'>&\"\0"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;\u{fffd}"
        );
        assert_eq!(
            js_escape("a'b\"c<d>e&f=g\\h\u{2028}\u{1}é\u{7f}"),
            "a\\'b\\\"c\\u003Cd\\u003Ee\\u0026f\\u003Dg\\\\h\\u2028\\u0001é\u{7f}"
        );
        assert_eq!(query_escape("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
        assert_eq!(eval_args(&[Value::Nil]), "<no value>");
        assert_eq!(eval_args(&[Value::Int(1), Value::Int(2)]), "1 2");
    }

    #[test]
    fn comparisons() {
        assert_eq!(
            eq(&int(1), &[s("1")]),
            Err("incompatible types for comparison: int and string".to_string())
        );
        assert_eq!(eq(&int(1), &[int(2), int(1)]), Ok(true));
        assert_eq!(eq(&Rv::Invalid, &[Rv::Invalid]), Ok(true));
        assert_eq!(eq(&Rv::Invalid, &[int(1)]), Ok(false));
        assert_eq!(eq(&int(1), &[Rv::nil_iface()]), Ok(false));
        assert_eq!(eq(&int(1), &[Rv::of(Value::Uint(1))]), Ok(true));
        assert_eq!(eq(&int(-1), &[Rv::of(Value::Uint(u64::MAX))]), Ok(false));
        assert_eq!(
            eq(&int(1), &[]),
            Err("missing argument for comparison".to_string())
        );
        assert_eq!(
            eq(
                &Rv::slot(Value::Float(1.5), true),
                &[Rv::of(Value::Float(1.5))]
            ),
            Ok(true)
        );
        let m = Rv::of(Value::labels([("a", "b")]));
        assert_eq!(
            eq(&m, std::slice::from_ref(&m)),
            Err("non-comparable type map[a:b]: map[string]string".to_string())
        );
        assert_eq!(
            eq(&m, &[Rv::of(Value::list(vec![]))]),
            Err("non-comparable types map[a:b]: map[string]string, []interface {}: []".to_string())
        );
        assert_eq!(lt(&int(1), &int(2)), Ok(true));
        assert_eq!(lt(&s("a"), &s("b")), Ok(true));
        assert_eq!(lt(&int(-1), &Rv::of(Value::Uint(0))), Ok(true));
        assert_eq!(
            lt(&Rv::of(Value::Bool(true)), &Rv::of(Value::Bool(false))),
            Err("invalid type for comparison".to_string())
        );
        assert_eq!(
            lt(&int(1), &Rv::of(Value::Float(2.0))),
            Err("incompatible types for comparison: int and float64".to_string())
        );
        assert_eq!(le(&int(2), &int(2)), Ok(true));
        assert_eq!(
            lt(&Rv::Invalid, &int(1)),
            Err("invalid type for comparison".to_string())
        );
    }

    #[test]
    fn index_slice_len() {
        let l = Rv::of(Value::list(vec![Value::from("a"), Value::Int(2)]));
        assert_eq!(
            index(l.clone(), &[int(1)]).unwrap().value(),
            Some(&Value::Int(2))
        );
        assert!(matches!(
            index(l.clone(), &[int(0)]).unwrap(),
            Rv::Val(_, true)
        ));
        assert_eq!(
            index(l.clone(), &[int(2)]).unwrap_err(),
            "reflect: slice index out of range"
        );
        assert_eq!(
            index(l.clone(), &[int(3)]).unwrap_err(),
            "index out of range: 3"
        );
        assert_eq!(
            index(l.clone(), &[s("x")]).unwrap_err(),
            "cannot index slice/array with type string"
        );
        assert_eq!(
            index(Rv::Invalid, &[int(3)]).unwrap_err(),
            "index of untyped nil"
        );
        let lb = Rv::of(Value::labels([("job", "node")]));
        assert_eq!(
            index(lb.clone(), &[s("job")]).unwrap().value(),
            Some(&Value::from("node"))
        );
        assert_eq!(
            index(lb.clone(), &[s("x")]).unwrap().value(),
            Some(&Value::from(""))
        );
        assert_eq!(
            index(lb.clone(), &[int(1)]).unwrap_err(),
            "value has type int; should be string"
        );
        assert_eq!(
            index(lb, &[Rv::Invalid]).unwrap_err(),
            "value is nil; should be of type string"
        );
        let m = Rv::of(Value::map([("a", Value::Int(1))]));
        assert!(matches!(
            index(m, &[s("x")]).unwrap(),
            Rv::Val(Value::Nil, true)
        ));
        assert_eq!(
            index(int(1), &[int(0)]).unwrap_err(),
            "can't index item of type int"
        );
        assert_eq!(
            index(s("abc"), &[int(1)]).unwrap().value(),
            Some(&Value::Int(98))
        );
        assert_eq!(
            slice(s("hello"), &[int(1), int(3)]).unwrap().value(),
            Some(&Value::from("el"))
        );
        assert_eq!(
            slice(s("hello"), &[int(3), int(1)]).unwrap_err(),
            "invalid slice index: 3 > 1"
        );
        assert_eq!(
            slice(s("hello"), &[int(1), int(2), int(3)]).unwrap_err(),
            "cannot 3-index slice a string"
        );
        assert_eq!(
            slice(l.clone(), &[int(1)])
                .unwrap()
                .value()
                .map(Value::go_type),
            Some("[]interface {}".to_string())
        );
        assert_eq!(
            slice(int(1), &[]).unwrap_err(),
            "can't slice item of type int"
        );
        assert_eq!(length(&l), Ok(2));
        assert_eq!(
            length(&Rv::Invalid).unwrap_err(),
            "reflect: call of reflect.Value.Type on zero Value"
        );
        assert_eq!(length(&Rv::nil_iface()).unwrap_err(), "len of nil pointer");
        assert_eq!(length(&int(1)).unwrap_err(), "len of type int");
    }
}
