//! The parse tree. Statements ([`Node`]) and operands ([`Arg`]) are separate types; each
//! prints (`Display`) exactly as Go's `Node.String()` does, because execution errors quote the
//! node they happened at (`executing "t" at <.Foo>: ...`). Positions are byte offsets into the
//! template text.

use std::fmt;
use std::sync::Arc;

/// The text one `parse` call read, and the name errors give it (Go's `Tree.ParseName`).
#[derive(Debug)]
pub(crate) struct Source {
    pub parse_name: String,
    pub text: String,
}

impl Source {
    /// `Tree.ErrorContext`'s location: `name:line:column`, the column a byte offset in its line.
    pub(crate) fn location(&self, pos: usize) -> String {
        let before = self.text.get(..pos).unwrap_or(&self.text);
        let (line, col) = match before.rfind('\n') {
            None => (1, pos),
            Some(i) => (1 + before.matches('\n').count(), pos - (i + 1)),
        };
        format!("{}:{}:{}", self.parse_name, line, col)
    }
}

/// One named template: its body and the source it was parsed from.
#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
    pub root: ListNode,
    pub source: Arc<Source>,
}

#[derive(Debug, Default)]
pub(crate) struct ListNode {
    pub nodes: Vec<Node>,
}

#[derive(Debug)]
pub(crate) enum Node {
    Text(TextNode),
    Action(ActionNode),
    If(BranchNode),
    Range(BranchNode),
    With(BranchNode),
    Template(TemplateNode),
    Break(usize),
    Continue(usize),
}

#[derive(Debug)]
pub(crate) struct TextNode {
    pub pos: usize,
    pub text: String,
}

#[derive(Debug)]
pub(crate) struct ActionNode {
    pub pos: usize,
    pub pipe: PipeNode,
}

/// `if`, `range` and `with`; positioned at their pipeline.
#[derive(Debug)]
pub(crate) struct BranchNode {
    pub pipe: PipeNode,
    pub list: ListNode,
    pub else_list: Option<ListNode>,
}

#[derive(Debug)]
pub(crate) struct TemplateNode {
    pub pos: usize,
    pub name: String,
    pub pipe: Option<PipeNode>,
}

#[derive(Debug)]
pub(crate) struct PipeNode {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<VariableNode>,
    pub cmds: Vec<CommandNode>,
}

#[derive(Debug)]
pub(crate) struct CommandNode {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// `$x` or `$x.Field.Field`; `ident[0]` is the variable's name.
#[derive(Debug)]
pub(crate) struct VariableNode {
    pub pos: usize,
    pub ident: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct NumberNode {
    pub pos: usize,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
    pub text: String,
}

#[derive(Debug)]
pub(crate) enum Arg {
    /// `.A.B`: field names without dots.
    Field {
        pos: usize,
        ident: Vec<String>,
    },
    /// `(pipeline).A.B` or `func.A` style chains on a term that is not a field or variable.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Pipe(Box<PipeNode>),
    Variable(VariableNode),
    Bool {
        pos: usize,
        value: bool,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Number(Box<NumberNode>),
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
}

impl Node {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Node::Text(n) => n.pos,
            Node::Action(n) => n.pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pipe.pos,
            Node::Template(n) => n.pos,
            Node::Break(pos) | Node::Continue(pos) => *pos,
        }
    }
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Bool { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
            Arg::Variable(v) => v.pos,
            Arg::Number(n) => n.pos,
        }
    }
}

/// Go's `IsEmptyTree`: only whitespace text (and comments, which are not kept).
pub(crate) fn is_empty_list(l: &ListNode) -> bool {
    l.nodes.iter().all(|n| match n {
        Node::Text(t) => t.text.trim().is_empty(),
        _ => false,
    })
}

impl fmt::Display for ListNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.nodes.iter().try_for_each(|n| write!(f, "{n}"))
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(&t.text),
            Node::Action(a) => write!(f, "{{{{{}}}}}", a.pipe),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Template(t) => write!(f, "{t}"),
            Node::Break(_) => f.write_str("{{break}}"),
            Node::Continue(_) => f.write_str("{{continue}}"),
        }
    }
}

fn write_branch(f: &mut fmt::Formatter<'_>, name: &str, b: &BranchNode) -> fmt::Result {
    write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
    if let Some(e) = &b.else_list {
        write!(f, "{{{{else}}}}{e}")?;
    }
    f.write_str("{{end}}")
}

impl fmt::Display for TemplateNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{template {}", crate::strconv::quote(&self.name))?;
        if let Some(p) = &self.pipe {
            write!(f, " {p}")?;
        }
        f.write_str("}}")
    }
}

impl fmt::Display for PipeNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CommandNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                other => write!(f, "{other}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for VariableNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ident.join("."))
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { ident, .. } => ident.iter().try_for_each(|i| write!(f, ".{i}")),
            Arg::Chain { node, fields, .. } => {
                match &**node {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                fields.iter().try_for_each(|i| write!(f, ".{i}"))
            }
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Pipe(p) => write!(f, "{p}"),
            Arg::Variable(v) => write!(f, "{v}"),
            Arg::Bool { value, .. } => f.write_str(if *value { "true" } else { "false" }),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Number(n) => f.write_str(&n.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_bytes() {
        let s = Source {
            parse_name: "f".into(),
            text: "ab\ncd{{.X}}".into(),
        };
        assert_eq!(s.location(1), "f:1:1");
        assert_eq!(s.location(3), "f:2:0");
        assert_eq!(s.location(5), "f:2:2");
    }

    #[test]
    fn empty_lists() {
        let text = |t: &str| {
            Node::Text(TextNode {
                pos: 0,
                text: t.into(),
            })
        };
        assert!(is_empty_list(&ListNode {
            nodes: vec![text(" \n\u{a0}\t")]
        }));
        assert!(!is_empty_list(&ListNode {
            nodes: vec![text(" x ")]
        }));
        assert!(!is_empty_list(&ListNode {
            nodes: vec![Node::Break(0)]
        }));
    }
}
