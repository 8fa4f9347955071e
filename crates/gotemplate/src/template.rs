//! [`Template`]: a named set of parsed templates with its functions, options and limits
//! (Go's `text/template.Template`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::exec::{execute, Env};
use crate::funcs::{Builtin, FuncMap};
use crate::parse::node::{is_empty_list, Tree};
use crate::strconv::quote;
use crate::value::Value;

/// The `missingkey` option: what `.Key` of a map without that key yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default` / `missingkey=invalid` (Go's default): no value (`<no value>`).
    #[default]
    Invalid,
    /// `missingkey=zero` (Prometheus' choice): the element type's zero value: `""` for a
    /// `map[string]string`, a nil interface (printed `<no value>`) for a `map[string]interface {}`.
    Zero,
    /// `missingkey=error`: execution fails (`map has no entry for key "x"`).
    Error,
}

/// Limits for parsing untrusted templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Most levels of nested actions (`if`, `range`, `with`, `define`, `block`, each
    /// `else if`) and parentheses. Go allows 10000 parentheses and any depth of actions; this
    /// bounds the parser's recursion, which uses about 2.2 KiB of stack per level in release
    /// builds and 7.5 KiB in debug builds (the default, 100, stays under 1 MiB in both).
    pub max_nesting_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_nesting_depth: 100,
        }
    }
}

/// Limits for executing untrusted templates. Every limit reached is an error of kind
/// [`ErrorKind::Limit`] whose message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecLimits {
    /// Most nested `{{template}}` calls (Go: 100000).
    pub max_template_depth: usize,
    /// Most bytes of output; also the largest string a function may return.
    pub max_output_bytes: usize,
    /// Most execution steps: one per node visited, command evaluated and `range` iteration,
    /// plus one per 64 bytes of string (or 8 elements of list) a function returns.
    pub max_steps: u64,
    /// Most bytes of stack the executor's recursion may use (on top of the caller's), checked
    /// at each nested list and parenthesized pipeline. A level of `if` nesting takes about
    /// 0.5 KiB in release builds (1.7 KiB in debug builds), a `{{template}}` call about 1 KiB.
    pub max_stack_bytes: usize,
}

impl Default for ExecLimits {
    fn default() -> Self {
        ExecLimits {
            max_template_depth: 100,
            max_output_bytes: 16 << 20,
            max_steps: 5_000_000,
            max_stack_bytes: 512 << 10,
        }
    }
}

impl ExecLimits {
    /// No limits beyond Go's own (template depth 100000) and a 64 MiB stack guard: for
    /// trusted templates on a thread with a large stack.
    pub fn unlimited() -> Self {
        ExecLimits {
            max_template_depth: 100_000,
            max_output_bytes: usize::MAX,
            max_steps: u64::MAX,
            max_stack_bytes: 64 << 20,
        }
    }
}

/// A named template and the templates associated with it (`{{define}}`, `{{block}}`),
/// with functions, options and limits.
///
/// Cloning is cheap (parse trees are shared), so a template can be parsed once and executed
/// many times, concurrently, with different functions ([`Template::funcs`] after parsing
/// replaces implementations, as Go's `Funcs` does).
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    trees: Arc<HashMap<String, Arc<Tree>>>,
    funcs: Arc<FuncMap>,
    missing_key: MissingKey,
    parse_limits: ParseLimits,
    exec_limits: ExecLimits,
}

impl Template {
    /// An empty template named `name` (Go's `template.New`).
    pub fn new(name: impl Into<String>) -> Self {
        Template {
            name: name.into(),
            trees: Arc::new(HashMap::new()),
            funcs: Arc::new(FuncMap::new()),
            missing_key: MissingKey::Invalid,
            parse_limits: ParseLimits::default(),
            exec_limits: ExecLimits::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds functions (replacing those of the same name). Must come before
    /// [`parse`](Template::parse) for the parser to accept their names, as in Go.
    pub fn funcs(mut self, funcs: &FuncMap) -> Self {
        Arc::make_mut(&mut self.funcs).extend(funcs);
        self
    }

    /// Go's `Option`: `missingkey=default|invalid|zero|error`.
    pub fn option(mut self, opt: &str) -> Result<Self, Error> {
        if opt.is_empty() {
            return Err(Error::new(ErrorKind::Option, "empty option string"));
        }
        self.missing_key = match opt.split_once('=') {
            Some(("missingkey", "invalid" | "default")) => MissingKey::Invalid,
            Some(("missingkey", "zero")) => MissingKey::Zero,
            Some(("missingkey", "error")) => MissingKey::Error,
            _ => {
                return Err(Error::new(
                    ErrorKind::Option,
                    format!("unrecognized option: {opt}"),
                ))
            }
        };
        Ok(self)
    }

    pub fn missing_key(mut self, mk: MissingKey) -> Self {
        self.missing_key = mk;
        self
    }

    pub fn parse_limits(mut self, limits: ParseLimits) -> Self {
        self.parse_limits = limits;
        self
    }

    pub fn exec_limits(mut self, limits: ExecLimits) -> Self {
        self.exec_limits = limits;
        self
    }

    /// Parses `text` as the body of this template; its `{{define}}`s and `{{block}}`s
    /// become associated templates. Parsing again adds and redefines, as in Go (an empty
    /// body does not replace an existing one).
    pub fn parse(self, text: &str) -> Result<Self, Error> {
        let name = self.name.clone();
        self.parse_associated(&name, text)
    }

    /// Parses `text` as the body of the associated template `name` (Go's
    /// `t.New(name).Parse(text)`, which `ParseFiles` does with each file's base name): errors
    /// name `name`, and the templates it defines join this set.
    pub fn parse_associated(mut self, name: &str, text: &str) -> Result<Self, Error> {
        let funcs = self.funcs.clone();
        let has_function = |name: &str| funcs.contains(name) || Builtin::lookup(name).is_some();
        let trees = crate::parse::parse(
            name,
            text,
            &has_function,
            self.parse_limits.max_nesting_depth,
        )
        .map_err(|e| Error::new(ErrorKind::Parse, e))?;
        let map = Arc::make_mut(&mut self.trees);
        for tree in trees {
            if is_empty_list(&tree.root) && map.contains_key(&tree.name) {
                continue;
            }
            map.insert(tree.name.clone(), Arc::new(tree));
        }
        Ok(self)
    }

    /// Whether a template of that name is defined.
    pub fn lookup(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// The names of the defined templates, sorted.
    pub fn defined_templates(&self) -> Vec<String> {
        let mut v: Vec<String> = self.trees.keys().cloned().collect();
        v.sort();
        v
    }

    /// Executes this template against `data` ([`Value::Nil`] is Go's `nil` data).
    pub fn execute(&self, data: &Value) -> Result<String, Error> {
        let Some(tree) = self.trees.get(&self.name) else {
            return Err(Error::new(
                ErrorKind::Exec,
                format!(
                    "template: {}: {} is an incomplete or empty template",
                    self.name,
                    quote(&self.name)
                ),
            ));
        };
        execute(self.env(), tree, data)
    }

    /// Executes the associated template `name` (Go's `ExecuteTemplate`).
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(tree) = self.trees.get(name) else {
            return Err(Error::new(
                ErrorKind::Exec,
                format!(
                    "template: no template {} associated with template {}",
                    quote(name),
                    quote(&self.name)
                ),
            ));
        };
        execute(self.env(), tree, data)
    }

    fn env(&self) -> Env<'_> {
        Env {
            trees: &self.trees,
            funcs: &self.funcs,
            missing_key: self.missing_key,
            limits: &self.exec_limits,
        }
    }
}
