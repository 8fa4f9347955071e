//! Values templates execute against: the Go types Prometheus templates see, reduced to what a
//! template can observe (their kind, their Go type name, their contents).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::funcs::Signature;

/// A Go value as a template sees it.
///
/// Static types matter in Go templates (`missingkey=zero` gives `""` for a missing key of a
/// `map[string]string` but no value for a `map[string]interface {}`; error messages name
/// types), so the variants fix them:
///
/// * [`Value::Nil`]: a nil `interface {}` (Go's `nil`, or `Execute(w, nil)`).
/// * [`Value::Int`], [`Value::Uint`], [`Value::Float`]: Go's `int`, `uint64`, `float64`.
/// * [`Value::Labels`]: `map[string]string` (Prometheus' label maps).
/// * [`Value::Map`]: `map[string]interface {}` (e.g. what the `args` function returns).
/// * [`Value::List`]: a slice; its [`List`] knows its Go type and whether its elements sit in
///   `interface {}` slots.
/// * [`Value::Struct`] / [`Value::StructPtr`]: a struct / a non-nil pointer to one, with named
///   fields (Prometheus' alert data, its query samples).
/// * [`Value::Host`]: any other Go object, with fields, methods and printing supplied by a
///   [`HostValue`] (`*time.Time`, `*time.Duration`, histograms, ...).
#[derive(Clone)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    String(String),
    Labels(Arc<BTreeMap<String, String>>),
    Map(Arc<BTreeMap<String, Value>>),
    List(Arc<List>),
    Struct(Arc<Struct>),
    StructPtr(Arc<Struct>),
    Host(Arc<dyn HostValue>),
}

/// A Go slice.
#[derive(Clone, Debug, PartialEq)]
pub struct List {
    type_name: String,
    elem_iface: bool,
    items: Vec<Value>,
}

impl List {
    /// A `[]interface {}`.
    pub fn new(items: Vec<Value>) -> Self {
        List {
            type_name: "[]interface {}".to_string(),
            elem_iface: true,
            items,
        }
    }

    /// A slice of a concrete element type, e.g. `[]float64` or Prometheus' `template.queryResult`
    /// (a `[]*sample`). Elements keep their own types.
    pub fn typed(type_name: impl Into<String>, items: Vec<Value>) -> Self {
        List {
            type_name: type_name.into(),
            elem_iface: false,
            items,
        }
    }

    pub fn items(&self) -> &[Value] {
        &self.items
    }

    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    pub(crate) fn elem_iface(&self) -> bool {
        self.elem_iface
    }

    /// A sub-slice keeping the slice type.
    pub(crate) fn sub(&self, from: usize, to: usize) -> List {
        List {
            type_name: self.type_name.clone(),
            elem_iface: self.elem_iface,
            items: self.items[from..to].to_vec(),
        }
    }
}

/// A Go struct: type name and exported fields in declaration order.
#[derive(Clone, Debug, PartialEq)]
pub struct Struct {
    type_name: String,
    fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq)]
struct Field {
    name: String,
    value: Value,
    iface: bool,
}

impl Struct {
    /// A struct type as `reflect` names it, e.g. `template.sample` or
    /// `struct { Labels map[string]string; Value interface {} }`.
    pub fn new(type_name: impl Into<String>) -> Self {
        Struct {
            type_name: type_name.into(),
            fields: Vec::new(),
        }
    }

    /// Adds a field whose static type is the value's own type ([`Value::Nil`] makes it an
    /// `interface {}` field holding nil).
    pub fn field(mut self, name: impl Into<String>, value: Value) -> Self {
        let iface = matches!(value, Value::Nil);
        self.fields.push(Field {
            name: name.into(),
            value,
            iface,
        });
        self
    }

    /// Adds a field of static type `interface {}` (like Prometheus' `Value any`).
    pub fn iface_field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value,
            iface: true,
        });
        self
    }

    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    /// A field's value and whether its static type is `interface {}`.
    pub(crate) fn slot(&self, name: &str) -> Option<(&Value, bool)> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| (&f.value, f.iface))
    }

    pub(crate) fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|f| (f.name.as_str(), &f.value))
    }
}

/// A Go object supplied by the host: `*time.Time`, `time.Duration`, ... Templates reach it
/// through [`field`](HostValue::field) (`.Name`), [`method`](HostValue::method) and
/// [`call_method`](HostValue::call_method) (`.Format "2006"`; methods win over fields, as in
/// Go), and print it through [`string`](HostValue::string) (Go's `fmt.Stringer` or `error`)
/// or [`format`](HostValue::format).
///
/// A host value counts as a non-nil pointer: it is true in `if`, `eq` compares identity.
/// Functions receiving one can downcast it with [`Value::host_ref`].
pub trait HostValue: Any + fmt::Debug + Send + Sync {
    /// The Go type as `reflect` prints it, e.g. `*time.Time` (used by `%T` and errors).
    fn go_type_name(&self) -> String;

    /// The value of an exported field.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    /// The signature of a method (the receiver excluded), if the type has one of that name.
    fn method(&self, _name: &str) -> Option<Signature> {
        None
    }

    /// Calls a method [`method`](HostValue::method) declared, with arguments already checked
    /// against its signature. `Err` is the Go method's error (reported as
    /// `error calling NAME: ...`).
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Err(format!("{} has no method {name}", self.go_type_name()))
    }

    /// `String()` or `Error()`, if the Go type has one: what `%v`, `%s`, `%q`, `%x`, `%X` and
    /// `{{ . }}` print.
    fn string(&self) -> Option<String> {
        None
    }

    /// What `%v` prints for a type without `String()`.
    fn format(&self) -> String {
        format!("{{{}}}", self.go_type_name())
    }
}

impl Value {
    /// A `map[string]string`.
    pub fn labels<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Value::Labels(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    /// A `map[string]interface {}`.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Map(Arc::new(
            pairs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// A `[]interface {}`.
    pub fn list(items: Vec<Value>) -> Self {
        Value::List(Arc::new(List::new(items)))
    }

    /// A slice of a concrete type (see [`List::typed`]).
    pub fn typed_list(type_name: impl Into<String>, items: Vec<Value>) -> Self {
        Value::List(Arc::new(List::typed(type_name, items)))
    }

    /// A struct value.
    pub fn structure(s: Struct) -> Self {
        Value::Struct(Arc::new(s))
    }

    /// A pointer to a struct (type `*T`).
    pub fn struct_ptr(s: Struct) -> Self {
        Value::StructPtr(Arc::new(s))
    }

    /// A host object.
    pub fn host(h: impl HostValue) -> Self {
        Value::Host(Arc::new(h))
    }

    /// The host object as `T`, if this is a [`Value::Host`] of that type.
    pub fn host_ref<T: HostValue>(&self) -> Option<&T> {
        match self {
            Value::Host(h) => {
                let any: &dyn Any = &**h;
                any.downcast_ref::<T>()
            }
            _ => None,
        }
    }

    /// The Go type name, as `reflect.Type.String()` (and `%T`) prints it.
    pub fn go_type(&self) -> String {
        match self {
            Value::Nil => "<nil>".to_string(),
            Value::Bool(_) => "bool".to_string(),
            Value::Int(_) => "int".to_string(),
            Value::Uint(_) => "uint64".to_string(),
            Value::Float(_) => "float64".to_string(),
            Value::String(_) => "string".to_string(),
            Value::Labels(_) => "map[string]string".to_string(),
            Value::Map(_) => "map[string]interface {}".to_string(),
            Value::List(l) => l.type_name.clone(),
            Value::Struct(s) => s.type_name.clone(),
            Value::StructPtr(s) => format!("*{}", s.type_name),
            Value::Host(h) => h.go_type_name(),
        }
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Uint(u) => write!(f, "Uint({u})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Labels(m) => write!(f, "Labels({m:?})"),
            Value::Map(m) => write!(f, "Map({m:?})"),
            Value::List(l) => write!(f, "List({}, {:?})", l.type_name, l.items),
            Value::Struct(s) => write!(f, "Struct({s:?})"),
            Value::StructPtr(s) => write!(f, "StructPtr({s:?})"),
            Value::Host(h) => write!(f, "Host({h:?})"),
        }
    }
}

impl PartialEq for Value {
    /// Structural equality; host values are equal when they are the same object.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Uint(a), Value::Uint(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Labels(a), Value::Labels(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Struct(a), Value::Struct(b)) => a == b,
            (Value::StructPtr(a), Value::StructPtr(b)) => Arc::ptr_eq(a, b),
            (Value::Host(a), Value::Host(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::Uint(u)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::list(v)
    }
}

/// `reflect.Kind`, reduced to the kinds a [`Value`] can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Invalid,
    Interface,
    Bool,
    Int,
    Uint,
    Float,
    String,
    Map,
    Slice,
    Struct,
    Pointer,
}

pub(crate) fn value_kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Interface,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        Value::Labels(_) | Value::Map(_) => Kind::Map,
        Value::List(_) => Kind::Slice,
        Value::Struct(_) => Kind::Struct,
        Value::StructPtr(_) | Value::Host(_) => Kind::Pointer,
    }
}

/// The executor's `reflect.Value`: invalid (no value at all), or a value together with
/// whether its static type is `interface {}` (a nil interface is always `Val(Nil, true)`).
#[derive(Clone, Debug)]
pub(crate) enum Rv {
    Invalid,
    Val(Value, bool),
}

impl Rv {
    /// A value of its own concrete type.
    pub(crate) fn of(v: Value) -> Rv {
        let iface = matches!(v, Value::Nil);
        Rv::Val(v, iface)
    }

    /// A value in a slot of static type `interface {}` if `iface`.
    pub(crate) fn slot(v: Value, iface: bool) -> Rv {
        let iface = iface || matches!(v, Value::Nil);
        Rv::Val(v, iface)
    }

    pub(crate) fn nil_iface() -> Rv {
        Rv::Val(Value::Nil, true)
    }

    pub(crate) fn is_valid(&self) -> bool {
        matches!(self, Rv::Val(..))
    }

    pub(crate) fn value(&self) -> Option<&Value> {
        match self {
            Rv::Invalid => None,
            Rv::Val(v, _) => Some(v),
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Rv::Invalid => Kind::Invalid,
            Rv::Val(_, true) => Kind::Interface,
            Rv::Val(v, false) => value_kind(v),
        }
    }

    /// `reflect.Value.Type().String()`.
    pub(crate) fn type_name(&self) -> String {
        match self {
            Rv::Invalid => "<nil>".to_string(),
            Rv::Val(_, true) => "interface {}".to_string(),
            Rv::Val(v, false) => v.go_type(),
        }
    }

    /// Go's `indirectInterface`: the value inside an interface (invalid for a nil one).
    pub(crate) fn indirect_interface(self) -> Rv {
        match self {
            Rv::Val(Value::Nil, true) => Rv::Invalid,
            Rv::Val(v, true) => Rv::Val(v, false),
            other => other,
        }
    }

    /// Go's `indirect`: through interfaces and struct pointers, stopping at a nil interface
    /// (returned with `true`). Host values are opaque pointers and stay as they are.
    pub(crate) fn indirect(self) -> (Rv, bool) {
        match self {
            Rv::Val(Value::Nil, true) => (self, true),
            Rv::Val(Value::StructPtr(s), _) => (Rv::Val(Value::Struct(s), false), false),
            Rv::Val(v, _) => (Rv::Val(v, false), false),
            Rv::Invalid => (Rv::Invalid, false),
        }
    }

    /// The value as a function taking `any` receives it (invalid becomes nil).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Rv::Invalid => Value::Nil,
            Rv::Val(v, _) => v.clone(),
        }
    }
}

/// Go's `isTrue` of an already interface-unwrapped value: `(truth, ok)`.
pub(crate) fn is_true(v: &Rv) -> (bool, bool) {
    let Some(v) = v.value() else {
        return (false, true);
    };
    let t = match v {
        Value::Nil => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Uint(u) => *u != 0,
        Value::Float(f) => *f != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::Labels(m) => !m.is_empty(),
        Value::Map(m) => !m.is_empty(),
        Value::List(l) => !l.items.is_empty(),
        Value::Struct(_) | Value::StructPtr(_) | Value::Host(_) => true,
    };
    (t, true)
}

/// Go's `truth`, used by `and`, `or` and `not`.
pub(crate) fn truth(v: &Rv) -> bool {
    is_true(&v.clone().indirect_interface()).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Clock(i64);

    impl HostValue for Clock {
        fn go_type_name(&self) -> String {
            "*time.Time".to_string()
        }
    }

    #[test]
    fn type_names() {
        assert_eq!(Value::labels([("a", "b")]).go_type(), "map[string]string");
        assert_eq!(
            Value::map([("a", Value::Int(1))]).go_type(),
            "map[string]interface {}"
        );
        assert_eq!(Value::list(vec![]).go_type(), "[]interface {}");
        assert_eq!(
            Value::typed_list("[]float64", vec![]).go_type(),
            "[]float64"
        );
        assert_eq!(
            Value::struct_ptr(Struct::new("template.sample")).go_type(),
            "*template.sample"
        );
        assert_eq!(Value::host(Clock(1)).go_type(), "*time.Time");
        assert_eq!(Value::Uint(1).go_type(), "uint64");
    }

    #[test]
    fn downcast_and_identity() {
        let v = Value::host(Clock(7));
        assert_eq!(v.host_ref::<Clock>().map(|c| c.0), Some(7));
        assert_eq!(v, v.clone());
        assert_ne!(v, Value::host(Clock(7)));
    }

    #[test]
    fn reflect_like_views() {
        let s = Struct::new("T")
            .field("A", Value::Int(1))
            .iface_field("V", Value::Float(2.0));
        assert_eq!(s.slot("A"), Some((&Value::Int(1), false)));
        assert_eq!(s.slot("V"), Some((&Value::Float(2.0), true)));
        assert_eq!(s.get("V"), Some(&Value::Float(2.0)));
        let (v, nil) = Rv::Val(Value::struct_ptr(s), false).indirect();
        assert!(!nil && v.kind() == Kind::Struct && v.type_name() == "T");
        assert_eq!(Rv::nil_iface().kind(), Kind::Interface);
        assert!(!Rv::nil_iface().indirect_interface().is_valid());
        assert_eq!(Rv::slot(Value::Int(1), true).type_name(), "interface {}");
        assert!(truth(&Rv::of(Value::Float(f64::NAN))));
        assert!(!truth(&Rv::slot(Value::String(String::new()), true)));
    }
}
