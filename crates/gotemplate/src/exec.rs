//! The executor: walks a parse tree against data with Go's `text/template` semantics
//! (truthiness, variable scoping, `range` over ints, slices and sorted maps, missing keys,
//! `break`/`continue`, `{{template}}` calls), Go's error texts, and the [`ExecLimits`].
//!
//! Like Go's `state`, the executor remembers the node it is "at"; an error names that node's
//! location and text (`template: t:1:3: executing "t" at <.Foo>: ...`). Function and method
//! calls live in `call.rs`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::funcs::FuncMap;
use crate::parse::node::{
    Arg, BranchNode, CommandNode, ListNode, Node, NumberNode, PipeNode, TemplateNode, Tree,
};
use crate::strconv::quote;
use crate::template::{ExecLimits, MissingKey};
use crate::value::{is_true, Kind, Rv, Value};

/// Why a walk stopped early: an error, or `{{break}}` / `{{continue}}` on their way to the
/// enclosing `range`.
pub(crate) enum Flow {
    Fail(Error),
    Break,
    Continue,
}

pub(crate) type R<T> = Result<T, Flow>;

/// The node an error is reported at (Go's `state.node`).
#[derive(Clone, Copy)]
pub(crate) enum At<'t> {
    Node(&'t Node),
    Pipe(&'t PipeNode),
    Cmd(&'t CommandNode),
    Arg(&'t Arg),
}

impl At<'_> {
    fn pos(&self) -> usize {
        match self {
            At::Node(n) => n.pos(),
            At::Pipe(p) => p.pos,
            At::Cmd(c) => c.pos,
            At::Arg(a) => a.pos(),
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Node(n) => write!(f, "{n}"),
            At::Pipe(p) => write!(f, "{p}"),
            At::Cmd(c) => write!(f, "{c}"),
            At::Arg(a) => write!(f, "{a}"),
        }
    }
}

/// Everything an execution reads: the template set, functions, options and limits.
pub(crate) struct Env<'t> {
    pub trees: &'t HashMap<String, Arc<Tree>>,
    pub funcs: &'t FuncMap,
    pub missing_key: MissingKey,
    pub limits: &'t ExecLimits,
}

pub(crate) struct Exec<'t> {
    pub(crate) env: Env<'t>,
    tmpl: &'t Tree,
    pub(crate) at: Option<At<'t>>,
    vars: Vec<(&'t str, Rv)>,
    depth: usize,
    steps: u64,
    out: String,
    stack_base: usize,
}

/// An address on the current stack, to measure how much stack the walk uses.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Executes `tree` (the template named `tree.name`) against `data`.
pub(crate) fn execute<'t>(env: Env<'t>, tree: &'t Tree, data: &Value) -> Result<String, Error> {
    let dot = match data {
        Value::Nil => Rv::Invalid,
        v => Rv::of(v.clone()),
    };
    let mut s = Exec {
        env,
        tmpl: tree,
        at: None,
        vars: vec![("$", dot.clone())],
        depth: 0,
        steps: 0,
        out: String::new(),
        stack_base: stack_address(),
    };
    match s.walk_list(&dot, &tree.root) {
        Ok(()) | Err(Flow::Break | Flow::Continue) => Ok(s.out),
        Err(Flow::Fail(e)) => Err(e),
    }
}

impl<'t> Exec<'t> {
    pub(crate) fn at(&mut self, at: At<'t>) {
        self.at = Some(at);
    }

    pub(crate) fn error_text(&self, msg: &str) -> String {
        let name = &self.tmpl.name;
        match self.at {
            None => format!("template: {name}: {msg}"),
            Some(at) => format!(
                "template: {}: executing {} at <{}>: {}",
                self.tmpl.source.location(at.pos()),
                quote(name),
                at,
                msg
            ),
        }
    }

    pub(crate) fn errorf<T>(&self, msg: impl AsRef<str>) -> R<T> {
        Err(Flow::Fail(Error::new(
            ErrorKind::Exec,
            self.error_text(msg.as_ref()),
        )))
    }

    fn limit<T>(&self, msg: String) -> R<T> {
        Err(Flow::Fail(Error::new(
            ErrorKind::Limit,
            self.error_text(&msg),
        )))
    }

    /// Counts `n` steps against `max_steps`.
    pub(crate) fn step(&mut self, n: u64) -> R<()> {
        self.steps += n;
        if self.steps > self.env.limits.max_steps {
            return self.limit(format!(
                "exceeded maximum number of execution steps (limit max_steps={})",
                self.env.limits.max_steps
            ));
        }
        Ok(())
    }

    /// Charges a function's result by its size, so that building large strings or lists
    /// uses up the step budget. A failure is reported at the call (`node`).
    pub(crate) fn charge(&mut self, v: &Rv, node: At<'t>) -> R<()> {
        let cost = match v.value() {
            Some(Value::String(s)) => {
                if s.len() > self.env.limits.max_output_bytes {
                    self.at(node);
                    return self.limit(format!(
                        "a value of {} bytes exceeds the maximum output size (limit max_output_bytes={})",
                        s.len(),
                        self.env.limits.max_output_bytes
                    ));
                }
                s.len() as u64 / 64
            }
            Some(Value::List(l)) => l.items().len() as u64 / 8,
            _ => 0,
        };
        if self.steps + cost > self.env.limits.max_steps {
            self.at(node);
        }
        self.step(cost)
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > self.env.limits.max_output_bytes {
            return self.limit(format!(
                "exceeded maximum output size (limit max_output_bytes={})",
                self.env.limits.max_output_bytes
            ));
        }
        self.out.push_str(s);
        Ok(())
    }

    /// Guards the recursion: fails before the walk uses more than `max_stack_bytes`.
    pub(crate) fn check_stack(&self) -> R<()> {
        let used = self.stack_base.abs_diff(stack_address());
        if used > self.env.limits.max_stack_bytes {
            return self.limit(format!(
                "exceeded maximum nesting depth of execution (limit max_stack_bytes={})",
                self.env.limits.max_stack_bytes
            ));
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, value: Rv) -> R<()> {
        match self.vars.iter_mut().rev().find(|v| v.0 == name) {
            Some(v) => {
                v.1 = value;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Rv) {
        let len = self.vars.len();
        self.vars[len - n].1 = value;
    }

    pub(crate) fn var_value(&self, name: &str) -> R<Rv> {
        match self.vars.iter().rev().find(|v| v.0 == name) {
            Some(v) => Ok(v.1.clone()),
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    pub(crate) fn walk_list(&mut self, dot: &Rv, list: &'t ListNode) -> R<()> {
        self.check_stack()?;
        for n in &list.nodes {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Rv, node: &'t Node) -> R<()> {
        self.at(At::Node(node));
        self.step(1)?;
        match node {
            Node::Action(a) => {
                let v = self.eval_pipeline(dot, &a.pipe)?;
                if a.pipe.decl.is_empty() {
                    self.print_value(node, v)?;
                }
                Ok(())
            }
            Node::Break(_) => Err(Flow::Break),
            Node::Continue(_) => Err(Flow::Continue),
            Node::If(b) => self.walk_if_or_with(false, dot, b),
            Node::With(b) => self.walk_if_or_with(true, dot, b),
            Node::Range(b) => self.walk_range(dot, node, b),
            Node::Template(t) => self.walk_template(dot, node, t),
            Node::Text(t) => self.write(&t.text),
        }
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Rv, b: &'t BranchNode) -> R<()> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let (truth, _) = is_true(&val.clone().indirect_interface());
        if truth {
            self.walk_list(if with { &val } else { dot }, &b.list)?;
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)?;
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn walk_range(&mut self, dot: &Rv, node: &'t Node, r: &'t BranchNode) -> R<()> {
        self.at(At::Node(node));
        let outer = self.vars.len();
        let res = self.range_body(dot, r);
        self.vars.truncate(outer);
        match res {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn range_body(&mut self, dot: &Rv, r: &'t BranchNode) -> R<()> {
        let (val, _) = self.eval_pipeline(dot, &r.pipe)?.indirect();
        let mark = self.vars.len();
        let ran = match val.value() {
            None => false,
            Some(Value::List(l)) => {
                let l = l.clone();
                for (i, e) in l.items().iter().enumerate() {
                    let elem = Rv::slot(e.clone(), l.elem_iface());
                    self.one_iteration(r, mark, Rv::of(Value::Int(i as i64)), elem)?;
                }
                !l.items().is_empty()
            }
            Some(v @ (Value::Int(_) | Value::Uint(_))) => {
                if r.pipe.decl.len() > 1 {
                    return self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        crate::fmt::format_one(v, 'v')
                    ));
                }
                let n = match v {
                    Value::Int(i) => (*i).max(0) as u64,
                    Value::Uint(u) => *u,
                    _ => 0,
                };
                let is_uint = matches!(v, Value::Uint(_));
                for i in 0..n {
                    let v = Rv::of(if is_uint {
                        Value::Uint(i)
                    } else {
                        Value::Int(i as i64)
                    });
                    self.one_iteration(r, mark, v.clone(), v)?;
                }
                n > 0
            }
            Some(Value::Labels(m)) => {
                let m = m.clone();
                for (k, v) in m.iter() {
                    let (k, v) = (Value::String(k.clone()), Value::String(v.clone()));
                    self.one_iteration(r, mark, Rv::of(k), Rv::of(v))?;
                }
                !m.is_empty()
            }
            Some(Value::Map(m)) => {
                let m = m.clone();
                for (k, v) in m.iter() {
                    self.one_iteration(
                        r,
                        mark,
                        Rv::of(Value::String(k.clone())),
                        Rv::slot(v.clone(), true),
                    )?;
                }
                !m.is_empty()
            }
            Some(v) => {
                return self.errorf(format!(
                    "range can't iterate over {}",
                    crate::fmt::format_one(v, 'v')
                ));
            }
        };
        if !ran {
            if let Some(e) = &r.else_list {
                self.walk_list(dot, e)?;
            }
        }
        Ok(())
    }

    fn one_iteration(&mut self, r: &'t BranchNode, mark: usize, index: Rv, elem: Rv) -> R<()> {
        self.step(1)?;
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                let v = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(&decl[0].ident[0], v)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1].ident[0], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let res = self.walk_list(&elem, &r.list);
        self.vars.truncate(mark);
        match res {
            Err(Flow::Continue) => Ok(()),
            other => other,
        }
    }

    fn walk_template(&mut self, dot: &Rv, node: &'t Node, t: &'t TemplateNode) -> R<()> {
        self.at(At::Node(node));
        let Some(tree) = self.env.trees.get(&t.name) else {
            return self.errorf(format!("template {} not defined", quote(&t.name)));
        };
        if self.depth >= self.env.limits.max_template_depth {
            return self.limit(format!(
                "exceeded maximum template depth ({})",
                self.env.limits.max_template_depth
            ));
        }
        let dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Rv::Invalid,
        };
        // No dynamic scoping: the called template sees only `$`.
        let vars = std::mem::replace(&mut self.vars, vec![("$", dot.clone())]);
        let tmpl = std::mem::replace(&mut self.tmpl, tree);
        let at = self.at;
        self.depth += 1;
        let res = self.walk_list(&dot, &tree.root);
        self.depth -= 1;
        (self.vars, self.tmpl, self.at) = (vars, tmpl, at);
        res
    }

    pub(crate) fn eval_pipeline(&mut self, dot: &Rv, pipe: &'t PipeNode) -> R<Rv> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Rv> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            // An interface{} value is replaced by what it holds (nil becomes no value).
            value = Some(if v.kind() == Kind::Interface {
                v.indirect_interface()
            } else {
                v
            });
        }
        let value = value.unwrap_or(Rv::Invalid);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&var.ident[0], value.clone())?;
            } else {
                self.vars.push((&var.ident[0], value.clone()));
            }
        }
        Ok(value)
    }

    /// A parenthesized pipeline, with the stack guard.
    pub(crate) fn eval_nested_pipeline(&mut self, dot: &Rv, pipe: &'t PipeNode) -> R<Rv> {
        self.check_stack()?;
        self.eval_pipeline(dot, pipe)
    }

    pub(crate) fn not_a_function(&self, args: &[Arg], fin: &Option<Rv>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.errorf(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Rv, cmd: &'t CommandNode, fin: Option<Rv>) -> R<Rv> {
        self.step(1)?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at(At::Arg(first));
                return self.eval_field_chain(dot, dot.clone(), first, ident, Some(&cmd.args), fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, Some(&cmd.args), fin),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), Some(&cmd.args), fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_nested_pipeline(dot, p);
            }
            Arg::Variable(_) => return self.eval_variable(dot, first, Some(&cmd.args), fin),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { value, .. } => Ok(Rv::of(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.errorf("nil is not a command"),
            Arg::Number(n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(Rv::of(Value::String(text.clone()))),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                quote(&first.to_string())
            )),
        }
    }

    /// Go's `idealConstant`: a literal with no type context is a float64 if it looks like
    /// one, else an int.
    pub(crate) fn ideal_constant(&mut self, node: &'t Arg, n: &NumberNode) -> R<Rv> {
        self.at(At::Arg(node));
        let t = n.text.as_bytes();
        let hex_int =
            t.len() > 2 && t[0] == b'0' && (t[1] | 0x20) == b'x' && !n.text.contains(['p', 'P']);
        let rune = t.first() == Some(&b'\'');
        if n.is_float && !hex_int && !rune && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Rv::of(Value::Float(n.float)));
        }
        if n.is_int {
            return Ok(Rv::of(Value::Int(n.int)));
        }
        if n.is_uint {
            return self.errorf(format!("{} overflows int", n.text));
        }
        Ok(Rv::Invalid)
    }

    pub(crate) fn eval_chain(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        args: Option<&'t [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(node));
        let Arg::Chain {
            node: inner,
            fields,
            ..
        } = node
        else {
            return self.errorf("internal error: not a chain");
        };
        if let Arg::Nil { .. } = **inner {
            return self.errorf(format!("indirection through explicit nil in {node}"));
        }
        let recv = self.eval_arg(dot, None, inner)?;
        self.eval_field_chain(dot, recv, node, fields, args, fin)
    }

    pub(crate) fn eval_variable(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        args: Option<&'t [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(node));
        let Arg::Variable(v) = node else {
            return self.errorf("internal error: not a variable");
        };
        let value = self.var_value(&v.ident[0])?;
        if v.ident.len() == 1 {
            self.not_a_function(args.unwrap_or(&[]), &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, node, &v.ident[1..], args, fin)
    }

    pub(crate) fn eval_field_chain(
        &mut self,
        dot: &Rv,
        receiver: Rv,
        node: &'t Arg,
        ident: &'t [String],
        args: Option<&'t [Arg]>,
        fin: Option<Rv>,
    ) -> R<Rv> {
        let (last, init) = ident.split_last().expect("field chains are never empty");
        let mut receiver = receiver;
        for name in init {
            receiver = self.eval_field(dot, name, node, None, None, receiver)?;
        }
        self.eval_field(dot, last, node, args, fin, receiver)
    }

    /// Go's `evalField`: a method of a host value, a struct field, or a map key.
    fn eval_field(
        &mut self,
        dot: &Rv,
        name: &'t str,
        node: &'t Arg,
        args: Option<&'t [Arg]>,
        fin: Option<Rv>,
        receiver: Rv,
    ) -> R<Rv> {
        if !receiver.is_valid() {
            if self.env.missing_key == MissingKey::Error {
                return self.errorf(format!("nil data; no entry for key {}", quote(name)));
            }
            return Ok(Rv::Invalid);
        }
        let typ = receiver.type_name();
        let (receiver, is_nil) = receiver.indirect();
        if is_nil {
            return self.errorf(format!("nil pointer evaluating {typ}.{name}"));
        }
        if let Some(Value::Host(h)) = receiver.value() {
            if let Some(sig) = h.method(name) {
                let callee = crate::call::Callee::Method(h.clone(), sig);
                return self.eval_call(dot, callee, At::Arg(node), name, args, fin);
            }
        }
        let has_args = args.is_some_and(|a| a.len() > 1) || fin.is_some();
        let missing = |s: &Self, zero: Rv| -> R<Rv> {
            match s.env.missing_key {
                MissingKey::Invalid => Ok(Rv::Invalid),
                MissingKey::Zero => Ok(zero),
                MissingKey::Error => s.errorf(format!("map has no entry for key {}", quote(name))),
            }
        };
        match receiver.value() {
            Some(Value::Struct(s)) => {
                if let Some((v, iface)) = s.slot(name) {
                    if !name.chars().next().is_some_and(char::is_uppercase) {
                        return self.errorf(format!(
                            "{name} is an unexported field of struct type {typ}"
                        ));
                    }
                    if has_args {
                        return self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    return Ok(Rv::slot(v.clone(), iface));
                }
            }
            Some(Value::Host(h)) => {
                if let Some(v) = h.field(name) {
                    if has_args {
                        return self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    return Ok(Rv::of(v));
                }
            }
            Some(Value::Labels(m)) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                return match m.get(name) {
                    Some(v) => Ok(Rv::of(Value::String(v.clone()))),
                    None => missing(self, Rv::of(Value::String(String::new()))),
                };
            }
            Some(Value::Map(m)) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                return match m.get(name) {
                    Some(v) => Ok(Rv::slot(v.clone(), true)),
                    None => missing(self, Rv::nil_iface()),
                };
            }
            _ => {}
        }
        self.errorf(format!("can't evaluate field {name} in type {typ}"))
    }

    /// Go's `printValue`: `{{ pipeline }}` output.
    fn print_value(&mut self, node: &'t Node, v: Rv) -> R<()> {
        self.at(At::Node(node));
        let v = if v.kind() == Kind::Pointer {
            v.indirect().0
        } else {
            v
        };
        match v {
            Rv::Invalid => self.write("<no value>"),
            Rv::Val(v, _) => {
                let s = crate::fmt::sprint(&[v]);
                self.write(&s)
            }
        }
    }
}
