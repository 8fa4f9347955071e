//! Function and method calls: argument count checks, Go's conversion of each argument to its
//! parameter type (`evalArg` / `validateType`, with their error texts), the short-circuiting
//! `and`/`or`, and `error calling NAME: ...` for failures.

use std::sync::Arc;

use crate::exec::{At, Exec, R};
use crate::funcs::{ArgKind, ArgType, Builtin, Func, Param, Signature};
use crate::parse::node::Arg;
use crate::strconv::quote;
use crate::value::{truth, HostValue, Kind, Rv, Value};

/// What a call invokes.
pub(crate) enum Callee {
    Builtin(Builtin),
    Func(Func),
    Method(Arc<dyn HostValue>, Signature),
}

/// A parameter type: `None` is Go's `reflect.Value` (a builtin receiving the raw value).
type Ty = Option<ArgType>;

fn builtin_ty(p: Param) -> Ty {
    match p {
        Param::Reflect => None,
        Param::Any => Some(ArgType::Any),
        Param::String => Some(ArgType::String),
    }
}

fn ty_name(t: &Ty) -> &str {
    t.as_ref().map_or("reflect.Value", ArgType::go_name)
}

/// Whether a (non-interface) value's type is the parameter type.
fn assignable(v: &Rv, t: &ArgType) -> bool {
    let Rv::Val(v, false) = v else {
        return false;
    };
    match (t, v) {
        (ArgType::Any, _) => true,
        (ArgType::Bool, Value::Bool(_))
        | (ArgType::Int, Value::Int(_))
        | (ArgType::Uint, Value::Uint(_))
        | (ArgType::Float, Value::Float(_))
        | (ArgType::String, Value::String(_)) => true,
        (ArgType::Named(name, _), v) => v.go_type() == *name,
        _ => false,
    }
}

/// Runs a host function, turning a panic into an error as Go's `safeCall` does.
fn safe_call(f: impl FnOnce() -> Result<Value, String>) -> Result<Value, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".to_string())),
    }
}

impl<'t> Exec<'t> {
    pub(crate) fn eval_function(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        name: &'t str,
        cmd: At<'t>,
        args: Option<&'t [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(node));
        let callee = if let Some(f) = self.env.funcs.get(name) {
            Callee::Func(f.clone())
        } else if let Some(b) = Builtin::lookup(name) {
            Callee::Builtin(b)
        } else {
            return self.errorf(format!("{} is not a defined function", quote(name)));
        };
        self.eval_call(dot, callee, cmd, name, args, fin)
    }

    /// Go's `evalCall`. `args` includes the function's own node first (Go's `cmd.Args`).
    pub(crate) fn eval_call(
        &mut self,
        dot: &Rv,
        callee: Callee,
        node: At<'t>,
        name: &str,
        args: Option<&'t [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        let args: &'t [Arg] = match args {
            Some([_, rest @ ..]) => rest,
            _ => &[],
        };
        let (fixed, variadic): (Vec<Ty>, Option<Ty>) = match &callee {
            Callee::Builtin(b) => {
                let (f, v) = b.params();
                (
                    f.iter().map(|&p| builtin_ty(p)).collect(),
                    v.map(builtin_ty),
                )
            }
            Callee::Func(f) => sig_types(&f.sig),
            Callee::Method(_, sig) => sig_types(sig),
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if variadic.is_some() {
            if num_in < fixed.len() {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    fixed.len(),
                    args.len()
                ));
            }
            fixed.len()
        } else {
            if num_in != fixed.len() {
                return self.errorf(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    fixed.len()
                ));
            }
            args.len()
        };

        if let Callee::Builtin(b @ (Builtin::And | Builtin::Or)) = callee {
            let is_or = b == Builtin::Or;
            let mut v = Rv::Invalid;
            for a in args {
                v = self.eval_arg(dot, None, a)?;
                if truth(&v) == is_or {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }

        let mut argv: Vec<Rv> = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            let t = if i < num_fixed {
                &fixed[i]
            } else {
                variadic.as_ref().unwrap_or(&None)
            };
            argv.push(self.eval_arg(dot, t.clone(), a)?);
        }
        if let Some(f) = fin {
            let t = match &variadic {
                Some(v) if num_in > num_fixed => v.clone(),
                _ => fixed[num_in - 1].clone(),
            };
            argv.push(self.validate_type(f, &t)?);
        }

        let result = match callee {
            Callee::Builtin(b) => {
                // `call` names its callee by the source text (or the value) of its first argument.
                let desc = if b == Builtin::Call {
                    match args.first() {
                        Some(a) => a.to_string(),
                        None => match &argv[0] {
                            Rv::Val(Value::String(s), _) => s.clone(),
                            Rv::Invalid => "<invalid Value>".to_string(),
                            v => format!("<{} Value>", v.type_name()),
                        },
                    }
                } else {
                    String::new()
                };
                b.call(&argv, &desc)
            }
            Callee::Func(f) => {
                let vals: Vec<Value> = argv.iter().map(Rv::to_value).collect();
                safe_call(|| (f.body)(&vals)).map(Rv::of)
            }
            Callee::Method(h, _) => {
                let vals: Vec<Value> = argv.iter().map(Rv::to_value).collect();
                safe_call(|| h.call_method(name, &vals)).map(Rv::of)
            }
        };
        match result {
            Ok(v) => {
                self.charge(&v, node)?;
                Ok(v)
            }
            Err(e) => {
                self.at(node);
                self.errorf(format!("error calling {name}: {e}"))
            }
        }
    }

    /// Go's `validateType`: a computed value checked (and, for one interface or pointer
    /// level, unwrapped) against a parameter type.
    fn validate_type(&mut self, value: Rv, t: &Ty) -> R<Rv> {
        let Some(t) = t else {
            return Ok(value);
        };
        if !value.is_valid() {
            if t.can_be_nil() {
                return Ok(Rv::nil_iface());
            }
            return self.errorf(format!("invalid value; expected {}", t.go_name()));
        }
        if *t == ArgType::Any || assignable(&value, t) {
            return Ok(value);
        }
        let mut value = value;
        if value.kind() == Kind::Interface && !matches!(value, Rv::Val(Value::Nil, _)) {
            value = value.indirect_interface();
            if assignable(&value, t) {
                return Ok(value);
            }
        }
        // One dereference: a `*T` where a `T` is expected.
        if let ArgType::Named(name, _) = t {
            if value.kind() == Kind::Pointer && value.type_name().strip_prefix('*') == Some(name) {
                return Ok(value.indirect().0);
            }
        }
        self.errorf(format!(
            "wrong type for value; expected {}; got {}",
            t.go_name(),
            value.type_name()
        ))
    }

    /// Go's `evalArg`: an argument node evaluated for a parameter type.
    pub(crate) fn eval_arg(&mut self, dot: &Rv, t: Ty, n: &'t Arg) -> R<Rv> {
        self.at(At::Arg(n));
        let v = match n {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                return match &t {
                    None => Ok(Rv::Invalid),
                    Some(a) if a.can_be_nil() => Ok(Rv::nil_iface()),
                    Some(_) => self.errorf(format!("cannot assign nil to {}", ty_name(&t))),
                };
            }
            Arg::Field { ident, .. } => self.eval_field_chain(
                dot,
                dot.clone(),
                n,
                ident,
                Some(std::slice::from_ref(n)),
                None,
            )?,
            Arg::Variable(_) => self.eval_variable(dot, n, None, None)?,
            Arg::Pipe(p) => self.eval_nested_pipeline(dot, p)?,
            Arg::Identifier { name, .. } => {
                self.eval_function(dot, n, name, At::Arg(n), None, None)?
            }
            Arg::Chain { .. } => self.eval_chain(dot, n, None, None)?,
            Arg::Bool { .. } | Arg::Number(_) | Arg::String { .. } => {
                return self.eval_literal(t, n)
            }
        };
        self.validate_type(v, &t)
    }

    /// A literal argument: converted by the parameter's kind (Go's `evalBool`, `evalInteger`,
    /// `evalFloat`, `evalString`, `evalEmptyInterface`).
    fn eval_literal(&mut self, t: Ty, n: &'t Arg) -> R<Rv> {
        let kind = t.as_ref().and_then(ArgType::kind);
        let v = match (kind, n) {
            (None, Arg::Bool { value, .. }) => Value::Bool(*value),
            (None, Arg::String { text, .. }) => Value::String(text.clone()),
            (None, Arg::Number(num)) => return self.ideal_constant(n, num),
            (Some(ArgKind::Bool), Arg::Bool { value, .. }) => Value::Bool(*value),
            (Some(ArgKind::Bool), _) => return self.errorf(format!("expected bool; found {n}")),
            (Some(ArgKind::String), Arg::String { text, .. }) => Value::String(text.clone()),
            (Some(ArgKind::String), _) => {
                return self.errorf(format!("expected string; found {n}"))
            }
            (Some(ArgKind::Int), Arg::Number(num)) if num.is_int => Value::Int(num.int),
            (Some(ArgKind::Int), _) => return self.errorf(format!("expected integer; found {n}")),
            (Some(ArgKind::Uint), Arg::Number(num)) if num.is_uint => Value::Uint(num.uint),
            (Some(ArgKind::Uint), _) => {
                return self.errorf(format!("expected unsigned integer; found {n}"))
            }
            (Some(ArgKind::Float), Arg::Number(num)) if num.is_float => Value::Float(num.float),
            (Some(ArgKind::Float), _) => return self.errorf(format!("expected float; found {n}")),
            (Some(_), _) => {
                return self.errorf(format!("can't handle {n} for arg of type {}", ty_name(&t)));
            }
            (None, _) => {
                return self.errorf(format!(
                    "can't handle assignment of {n} to empty interface argument"
                ));
            }
        };
        Ok(Rv::of(v))
    }
}

fn sig_types(sig: &Signature) -> (Vec<Ty>, Option<Ty>) {
    (
        sig.params.iter().cloned().map(Some).collect(),
        sig.variadic.clone().map(Some),
    )
}
