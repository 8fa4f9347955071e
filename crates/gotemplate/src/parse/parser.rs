//! Recursive-descent parser with Go's grammar, checks and error texts
//! (`template: NAME:LINE: message`, where LINE is that of the last token read).

use std::sync::Arc;

use super::node::*;
use super::number::new_number;
use crate::lex::{tokenize, Tok, Token};
use crate::strconv::{quote, unquote};

type PResult<T> = Result<T, String>;

/// Per-tree state: `{{define}}` and `{{block}}` bodies get a fresh one, as in Go.
struct TreeCtx {
    name: String,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    /// Line of the last token this tree read from the token stream (Go's `token[0].line`).
    last_line: usize,
}

impl TreeCtx {
    fn new(name: &str) -> Self {
        TreeCtx {
            name: name.to_string(),
            vars: vec!["$".to_string()],
            range_depth: 0,
            action_line: 0,
            last_line: 0,
        }
    }
}

/// What an action parses to: a node, or the `{{end}}` / `{{else}}` markers.
enum Item {
    Node(Node),
    End,
    Else,
}

impl Item {
    fn describe(&self) -> String {
        match self {
            Item::Node(n) => n.to_string(),
            Item::End => "{{end}}".to_string(),
            Item::Else => "{{else}}".to_string(),
        }
    }
}

struct Parser<'f> {
    tokens: Vec<Token>,
    /// Next token to read.
    i: usize,
    /// Tokens before this index have been read at least once.
    frontier: usize,
    source: Arc<Source>,
    has_function: &'f dyn Fn(&str) -> bool,
    max_depth: usize,
    depth: usize,
    ctx: TreeCtx,
    trees: Vec<Tree>,
}

/// Parses `text` as the template `name`. Returns every tree the text defines: `name` itself
/// (first), then each `{{define}}` and `{{block}}`, in the order they were completed.
pub(crate) fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
    max_depth: usize,
) -> PResult<Vec<Tree>> {
    let tokens = tokenize(text, !has_function("break"), !has_function("continue"));
    let mut p = Parser {
        tokens,
        i: 0,
        frontier: 0,
        source: Arc::new(Source {
            parse_name: name.to_string(),
            text: text.to_string(),
        }),
        has_function,
        max_depth,
        depth: 0,
        ctx: TreeCtx::new(name),
        trees: Vec::new(),
    };
    let root = p.parse_top()?;
    p.add(root)?;
    // The template named by the parse call first.
    if let Some(k) = p.trees.iter().position(|t| t.name == name) {
        let t = p.trees.remove(k);
        p.trees.insert(0, t);
    }
    Ok(p.trees)
}

impl Parser<'_> {
    /// Reads the next token; returns its index (the last token, EOF, repeats forever).
    fn next(&mut self) -> usize {
        let idx = self.i.min(self.tokens.len() - 1);
        self.i += 1;
        if idx >= self.frontier {
            self.frontier = idx + 1;
            self.ctx.last_line = self.tokens[idx].line;
        }
        idx
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&mut self) -> usize {
        let t = self.next();
        self.backup();
        t
    }

    fn next_non_space(&mut self) -> usize {
        loop {
            let t = self.next();
            if self.tokens[t].kind != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> usize {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn peek_kind(&mut self) -> Tok {
        let t = self.peek();
        self.kind(t)
    }

    fn peek_pos(&mut self) -> usize {
        let t = self.peek();
        self.tpos(t)
    }

    fn peek_non_space_kind(&mut self) -> Tok {
        let t = self.peek_non_space();
        self.kind(t)
    }

    fn peek_non_space_pos(&mut self) -> usize {
        let t = self.peek_non_space();
        self.tpos(t)
    }

    fn kind(&self, i: usize) -> Tok {
        self.tokens[i].kind
    }

    fn tpos(&self, i: usize) -> usize {
        self.tokens[i].pos
    }

    fn val(&self, i: usize) -> &str {
        &self.tokens[i].val
    }

    fn errorf<T>(&self, msg: impl std::fmt::Display) -> PResult<T> {
        Err(format!(
            "template: {}:{}: {}",
            self.source.parse_name, self.ctx.last_line, msg
        ))
    }

    fn unexpected<T>(&self, t: usize, context: &str) -> PResult<T> {
        let token = &self.tokens[t];
        if token.kind == Tok::Error {
            let mut extra = String::new();
            if self.ctx.action_line != 0 && self.ctx.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.source.parse_name, self.ctx.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, kind: Tok, context: &str) -> PResult<usize> {
        let t = self.next_non_space();
        if self.kind(t) != kind {
            return self.unexpected(t, context);
        }
        Ok(t)
    }

    fn enter(&mut self) -> PResult<()> {
        if self.depth >= self.max_depth {
            return self.errorf(format!(
                "nesting too deep: more than {} levels of actions and parentheses (limit max_nesting_depth)",
                self.max_depth
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Go's `Tree.add`: a tree replaces an earlier one of its name only if that one is empty.
    fn add(&mut self, root: ListNode) -> PResult<()> {
        let name = self.ctx.name.clone();
        match self.trees.iter().position(|t| t.name == name) {
            Some(k) if !is_empty_list(&self.trees[k].root) => {
                if !is_empty_list(&root) {
                    return self.errorf(format!(
                        "template: multiple definition of template {}",
                        quote(&name)
                    ));
                }
                Ok(())
            }
            existing => {
                let tree = Tree {
                    name,
                    root,
                    source: self.source.clone(),
                };
                match existing {
                    Some(k) => self.trees[k] = tree,
                    None => self.trees.push(tree),
                }
                Ok(())
            }
        }
    }

    fn parse_top(&mut self) -> PResult<ListNode> {
        let mut root = ListNode::default();
        while self.peek_kind() != Tok::Eof {
            if self.peek_kind() == Tok::LeftDelim {
                let mark = self.i;
                self.next();
                let t = self.next_non_space();
                if self.kind(t) == Tok::Define {
                    let outer = std::mem::replace(&mut self.ctx, TreeCtx::new("definition"));
                    let r = self.parse_definition();
                    self.ctx = outer;
                    r?;
                    continue;
                }
                self.i = mark;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.nodes.push(n),
                other => return self.errorf(format!("unexpected {}", other.describe())),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if !matches!(self.kind(t), Tok::String | Tok::RawString) {
            return self.unexpected(t, context);
        }
        match unquote(self.val(t)) {
            Ok(n) => self.ctx.name = n,
            Err(()) => return self.errorf("invalid syntax"),
        }
        self.expect(Tok::RightDelim, context)?;
        self.enter()?;
        let (list, end) = self.item_list()?;
        self.depth -= 1;
        if !matches!(end, Item::End) {
            return self.errorf(format!("unexpected {} in {}", end.describe(), context));
        }
        self.add(list)
    }

    fn item_list(&mut self) -> PResult<(ListNode, Item)> {
        let mut list = ListNode::default();
        while self.peek_non_space_kind() != Tok::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.nodes.push(n),
                other => return Ok((list, other)),
            }
        }
        self.errorf("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match self.kind(t) {
            Tok::Text => Ok(Item::Node(Node::Text(TextNode {
                pos: self.tpos(t),
                text: self.val(t).to_string(),
            }))),
            Tok::LeftDelim => {
                self.ctx.action_line = self.tokens[t].line;
                let r = self.action();
                self.ctx.action_line = 0;
                r
            }
            _ => self.unexpected(t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match self.kind(t) {
            Tok::Block => return self.block_control().map(Item::Node),
            k @ (Tok::Break | Tok::Continue) => {
                let word = if k == Tok::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let close = self.next_non_space();
                if self.kind(close) != Tok::RightDelim {
                    return self.unexpected(close, word);
                }
                if self.ctx.range_depth == 0 {
                    return self.errorf(format!("{word} outside {{{{range}}}}"));
                }
                let pos = self.tpos(t);
                return Ok(Item::Node(if k == Tok::Break {
                    Node::Break(pos)
                } else {
                    Node::Continue(pos)
                }));
            }
            Tok::Else => {
                let peek = self.peek_non_space();
                if matches!(self.kind(peek), Tok::If | Tok::With) {
                    return Ok(Item::Else);
                }
                self.expect(Tok::RightDelim, "else")?;
                return Ok(Item::Else);
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Tok::If => return self.control("if").map(Node::If).map(Item::Node),
            Tok::Range => return self.control("range").map(Node::Range).map(Item::Node),
            Tok::With => return self.control("with").map(Node::With).map(Item::Node),
            Tok::Template => return self.template_control().map(Item::Node),
            _ => {}
        }
        self.backup();
        let pos = self.peek_pos();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Item::Node(Node::Action(ActionNode { pos, pipe })))
    }

    /// `if`, `range` and `with`, including `{{else if ...}}` / `{{else with ...}}` chains.
    fn control(&mut self, context: &str) -> PResult<BranchNode> {
        self.enter()?;
        let mark = self.ctx.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.ctx.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.ctx.range_depth -= 1;
        }
        let else_list = match next {
            Item::Else if context == "if" && self.peek_kind() == Tok::If => {
                self.next();
                Some(ListNode {
                    nodes: vec![Node::If(self.control("if")?)],
                })
            }
            Item::Else if context == "with" && self.peek_kind() == Tok::With => {
                self.next();
                Some(ListNode {
                    nodes: vec![Node::With(self.control("with")?)],
                })
            }
            Item::Else => {
                let (l, next) = self.item_list()?;
                if !matches!(next, Item::End) {
                    return self.errorf(format!("expected end; found {}", next.describe()));
                }
                Some(l)
            }
            _ => None,
        };
        self.ctx.vars.truncate(mark);
        self.depth -= 1;
        Ok(BranchNode {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&self, t: usize, context: &str) -> PResult<String> {
        match self.kind(t) {
            Tok::String | Tok::RawString => match unquote(self.val(t)) {
                Ok(s) => Ok(s),
                Err(()) => self.errorf("invalid syntax"),
            },
            _ => self.unexpected(t, context),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(t, context)?;
        let mut pipe = None;
        let next = self.next_non_space();
        if self.kind(next) != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, Tok::RightDelim)?);
        }
        Ok(Node::Template(TemplateNode {
            pos: self.tpos(t),
            name,
            pipe,
        }))
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(t, context)?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        self.enter()?;
        let outer = std::mem::replace(&mut self.ctx, TreeCtx::new(&name));
        let body = self.item_list();
        let block_ctx = std::mem::replace(&mut self.ctx, outer);
        let (list, end) = body?;
        self.depth -= 1;
        if !matches!(end, Item::End) {
            return self.errorf(format!("unexpected {} in {}", end.describe(), context));
        }
        let outer = std::mem::replace(&mut self.ctx, block_ctx);
        let added = self.add(list);
        self.ctx = outer;
        added?;
        Ok(Node::Template(TemplateNode {
            pos: self.tpos(t),
            name,
            pipe: Some(pipe),
        }))
    }

    fn new_variable(pos: usize, name: &str) -> VariableNode {
        VariableNode {
            pos,
            ident: name.split('.').map(str::to_string).collect(),
        }
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<PipeNode> {
        let pos = self.peek_non_space_pos();
        let mut pipe = PipeNode {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $e :=` (range only).
        loop {
            let v = self.peek_non_space();
            if self.kind(v) != Tok::Variable {
                break;
            }
            let mark = self.i;
            self.next();
            let next = self.peek_non_space();
            let declared = Self::new_variable(self.tpos(v), self.val(v));
            match self.kind(next) {
                k @ (Tok::Assign | Tok::Declare) => {
                    pipe.is_assign = k == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(declared);
                    self.ctx.vars.push(self.val(v).to_string());
                }
                Tok::Char if self.val(next) == "," => {
                    self.next_non_space();
                    pipe.decl.push(declared);
                    self.ctx.vars.push(self.val(v).to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space_kind() {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue,
                            _ => return self.errorf("range can only initialize variables"),
                        }
                    }
                    return self.errorf(format!("too many declarations in {context}"));
                }
                _ => self.i = mark,
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            let k = self.kind(t);
            if k == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match k {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(t, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &PipeNode, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number(_)
                    | Arg::String { .. }
            ) {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<CommandNode> {
        let pos = self.peek_non_space_pos();
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                args.push(operand);
            }
            let t = self.next();
            match self.kind(t) {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return self.unexpected(t, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.errorf("empty command");
        }
        Ok(CommandNode { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        if self.peek_kind() != Tok::Field {
            return Ok(Some(term));
        }
        let pos = self.peek_pos();
        let mut fields = Vec::new();
        while self.peek_kind() == Tok::Field {
            let f = self.next();
            fields.push(self.val(f)[1..].to_string());
        }
        Ok(Some(match term {
            // `.A.B` and `$x.A` stay fields and variables, positioned at the chain.
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field { pos, ident }
            }
            Arg::Variable(mut v) => {
                v.ident.extend(fields);
                v.pos = pos;
                Arg::Variable(v)
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number(_)
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return self.errorf(format!(
                    "unexpected . after term {}",
                    quote(&term.to_string())
                ));
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let pos = self.tpos(t);
        let val = || self.val(t).to_string();
        Ok(Some(match self.kind(t) {
            Tok::Identifier => {
                if !(self.has_function)(self.val(t)) {
                    return self.errorf(format!("function {} not defined", quote(self.val(t))));
                }
                Arg::Identifier { pos, name: val() }
            }
            Tok::Dot => Arg::Dot { pos },
            Tok::Nil => Arg::Nil { pos },
            Tok::Variable => {
                let v = Self::new_variable(pos, self.val(t));
                if !self.ctx.vars.contains(&v.ident[0]) {
                    return self.errorf(format!("undefined variable {}", quote(&v.ident[0])));
                }
                Arg::Variable(v)
            }
            Tok::Field => Arg::Field {
                pos,
                ident: self.val(t)[1..].split('.').map(str::to_string).collect(),
            },
            Tok::Bool => Arg::Bool {
                pos,
                value: self.val(t) == "true",
            },
            k @ (Tok::CharConstant | Tok::Complex | Tok::Number) => {
                match new_number(pos, self.val(t), k) {
                    Ok(n) => Arg::Number(Box::new(n)),
                    Err(e) => return self.errorf(e),
                }
            }
            Tok::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", Tok::RightParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            Tok::String | Tok::RawString => match unquote(self.val(t)) {
                Ok(text) => Arg::String {
                    pos,
                    quoted: val(),
                    text,
                },
                Err(()) => return self.errorf("invalid syntax"),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
