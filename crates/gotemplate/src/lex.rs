//! The lexer: template text to tokens, with Go's `text/template/parse` rules for trim markers,
//! comments, numbers, quoting and its error messages.
//!
//! The whole input is tokenized up front (the parser only looks a few tokens ahead, and the
//! first lexical error ends the token stream exactly where Go's lexer would stop). Each token
//! carries its byte offset and the line it starts on, which the parser's error messages use.

use crate::unicode::{is_digit, is_letter};

/// Token kinds. The order matters: everything after `Keyword` prints as `<word>` in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tok {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    Keyword,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// One token: kind, byte offset, text (or error message) and starting line.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: Tok,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl std::fmt::Display for Token {
    /// Go's `item.String`, as quoted in "unexpected ..." errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Tok::Eof => f.write_str("EOF"),
            Tok::Error => f.write_str(&self.val),
            k if k > Tok::Keyword => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", crate::strconv::quote(&head))
            }
            _ => f.write_str(&crate::strconv::quote(&self.val)),
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || is_letter(c) || is_digit(c)
}

/// `%#U` of a rune, as in "bad character U+0040 '@'".
fn sharp_u(c: Option<char>) -> String {
    match c {
        // Go formats the eof rune (-1) as an unsigned number.
        None => "U+FFFFFFFFFFFFFFFF".to_string(),
        Some(c) => {
            let mut s = format!("U+{:04X}", c as u32);
            if crate::unicode::is_print(c) {
                s.push_str(&format!(" '{c}'"));
            }
            s
        }
    }
}

/// "-" followed by a space character: a left trim marker after `{{`.
fn left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    /// Line of `start`.
    line: usize,
    paren_depth: i32,
    break_ok: bool,
    continue_ok: bool,
    out: Vec<Token>,
}

/// Tokenizes `input`. `break`/`continue` are keywords unless a function of that name exists.
/// The result always ends with an `Eof` token (after an `Error` token, if any).
pub(crate) fn tokenize(input: &str, break_ok: bool, continue_ok: bool) -> Vec<Token> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        paren_depth: 0,
        break_ok,
        continue_ok,
        out: Vec::new(),
    };
    l.run();
    l.out
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    /// Moves `start` to `pos`, counting the newlines passed over.
    fn skip_to_pos(&mut self) {
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
    }

    fn emit(&mut self, kind: Tok) {
        let val = self.input[self.start..self.pos].to_string();
        self.out.push(Token {
            kind,
            pos: self.start,
            val,
            line: self.line,
        });
        self.skip_to_pos();
    }

    fn error(&mut self, msg: String) {
        self.out.push(Token {
            kind: Tok::Error,
            pos: self.start,
            val: msg,
            line: self.line,
        });
    }

    /// Whether the input at `pos` is a right delimiter, and whether it is trim-marked (` -}}`).
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        let b = rest.as_bytes();
        if b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-' && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn run(&mut self) {
        loop {
            // Text up to the next action.
            let Some(x) = self.rest().find(LEFT) else {
                self.pos = self.input.len();
                if self.pos > self.start {
                    self.emit(Tok::Text);
                }
                break;
            };
            self.pos += x;
            let trim = left_trim_marker(&self.input[self.pos + LEFT.len()..]);
            let text_end = if trim {
                self.input[self.start..self.pos]
                    .trim_end_matches(is_space)
                    .len()
                    + self.start
            } else {
                self.pos
            };
            if text_end > self.start {
                let delim = self.pos;
                self.pos = text_end;
                self.emit(Tok::Text);
                self.pos = delim;
            }
            self.skip_to_pos();
            if !self.action(trim) {
                break;
            }
        }
        let line = self.line;
        self.out.push(Token {
            kind: Tok::Eof,
            pos: self.input.len(),
            val: String::new(),
            line,
        });
    }

    /// Lexes from a left delimiter through its right delimiter. False after an error.
    fn action(&mut self, trim: bool) -> bool {
        self.pos += LEFT.len();
        let marker = if trim { 2 } else { 0 };
        if self.input[self.pos + marker..].starts_with("/*") {
            self.pos += marker;
            self.skip_to_pos();
            return self.comment();
        }
        self.emit(Tok::LeftDelim);
        self.pos += marker;
        self.skip_to_pos();
        self.paren_depth = 0;
        loop {
            let (delim, trim_right) = self.at_right_delim();
            if delim {
                if self.paren_depth != 0 {
                    self.error("unclosed left paren".to_string());
                    return false;
                }
                self.right_delim(trim_right);
                return true;
            }
            if !self.inside_action() {
                return false;
            }
        }
    }

    fn comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            self.error("unclosed comment".to_string());
            return false;
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".to_string());
            return false;
        }
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            self.pos += self.rest().len() - self.rest().trim_start_matches(is_space).len();
        }
        self.skip_to_pos();
        true
    }

    fn right_delim(&mut self, trim: bool) {
        if trim {
            self.pos += 2;
            self.skip_to_pos();
        }
        self.pos += RIGHT.len();
        self.emit(Tok::RightDelim);
        if trim {
            self.pos += self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.skip_to_pos();
        }
    }

    /// Lexes one token inside an action. False after an error.
    fn inside_action(&mut self) -> bool {
        let Some(c) = self.bump() else {
            self.error("unclosed action".to_string());
            return false;
        };
        match c {
            c if is_space(c) => {
                self.pos -= 1;
                self.space();
                true
            }
            '=' => {
                self.emit(Tok::Assign);
                true
            }
            ':' => {
                if self.bump() != Some('=') {
                    self.error("expected :=".to_string());
                    return false;
                }
                self.emit(Tok::Declare);
                true
            }
            '|' => {
                self.emit(Tok::Pipe);
                true
            }
            '"' => self.quote(),
            '`' => self.raw_quote(),
            '$' => self.variable(),
            '\'' => self.char_constant(),
            '.' => {
                // A '.' followed by a digit, or ending the input, starts a number.
                if self
                    .rest()
                    .as_bytes()
                    .first()
                    .is_none_or(u8::is_ascii_digit)
                {
                    self.pos -= 1;
                    return self.number();
                }
                self.field_or_variable(Tok::Field)
            }
            '+' | '-' | '0'..='9' => {
                self.pos -= 1;
                self.number()
            }
            c if is_alnum(c) => {
                self.pos -= c.len_utf8();
                self.identifier()
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(Tok::LeftParen);
                true
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    self.error("unexpected right paren".to_string());
                    return false;
                }
                self.emit(Tok::RightParen);
                true
            }
            c if c.is_ascii() && (' '..='~').contains(&c) => {
                self.emit(Tok::Char);
                true
            }
            c => {
                self.error(format!(
                    "unrecognized character in action: {}",
                    sharp_u(Some(c))
                ));
                false
            }
        }
    }

    fn space(&mut self) {
        let mut n = 0;
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
            n += 1;
        }
        // A trim-marked right delimiter starts with a space: leave that one for it.
        let tail = &self.input[self.pos - 1..];
        if tail.len() >= 2 && tail.as_bytes()[1] == b'-' && tail[2..].starts_with(RIGHT) {
            self.pos -= 1;
            if n == 1 {
                return;
            }
        }
        self.emit(Tok::Space);
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => self.rest().starts_with(RIGHT),
        }
    }

    fn identifier(&mut self) -> bool {
        while self.peek().is_some_and(is_alnum) {
            self.bump();
        }
        if !self.at_terminator() {
            let c = self.peek();
            self.error(format!("bad character {}", sharp_u(c)));
            return false;
        }
        let kind = match &self.input[self.start..self.pos] {
            "block" => Tok::Block,
            "break" if self.break_ok => Tok::Break,
            "continue" if self.continue_ok => Tok::Continue,
            "define" => Tok::Define,
            "else" => Tok::Else,
            "end" => Tok::End,
            "if" => Tok::If,
            "range" => Tok::Range,
            "nil" => Tok::Nil,
            "template" => Tok::Template,
            "with" => Tok::With,
            "true" | "false" => Tok::Bool,
            _ => Tok::Identifier,
        };
        self.emit(kind);
        true
    }

    fn variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(Tok::Variable);
            return true;
        }
        self.field_or_variable(Tok::Variable)
    }

    fn field_or_variable(&mut self, kind: Tok) -> bool {
        if self.at_terminator() {
            self.emit(if kind == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return true;
        }
        while self.peek().is_some_and(is_alnum) {
            self.bump();
        }
        if !self.at_terminator() {
            let c = self.peek();
            self.error(format!("bad character {}", sharp_u(c)));
            return false;
        }
        self.emit(kind);
        true
    }

    fn char_constant(&mut self) -> bool {
        loop {
            match self.bump() {
                Some('\\') => {
                    if matches!(self.bump(), None | Some('\n')) {
                        self.error("unterminated character constant".to_string());
                        return false;
                    }
                }
                None | Some('\n') => {
                    self.error("unterminated character constant".to_string());
                    return false;
                }
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::CharConstant);
        true
    }

    fn quote(&mut self) -> bool {
        loop {
            match self.bump() {
                Some('\\') => {
                    if matches!(self.bump(), None | Some('\n')) {
                        self.error("unterminated quoted string".to_string());
                        return false;
                    }
                }
                None | Some('\n') => {
                    self.error("unterminated quoted string".to_string());
                    return false;
                }
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::String);
        true
    }

    fn raw_quote(&mut self) -> bool {
        loop {
            match self.bump() {
                None => {
                    self.error("unterminated raw quoted string".to_string());
                    return false;
                }
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::RawString);
        true
    }

    fn number(&mut self) -> bool {
        if !self.scan_number() {
            let msg = format!(
                "bad number syntax: {}",
                crate::strconv::quote(&self.input[self.start..self.pos])
            );
            self.error(msg);
            return false;
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // A complex constant such as 1+2i.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let msg = format!(
                    "bad number syntax: {}",
                    crate::strconv::quote(&self.input[self.start..self.pos])
                );
                self.error(msg);
                return false;
            }
            self.emit(Tok::Complex);
            return true;
        }
        self.emit(Tok::Number);
        true
    }

    /// Go's `scanNumber`: a permissive scan; the parser validates the text.
    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.bump();
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Tok, String)> {
        tokenize(src, true, true)
            .into_iter()
            .map(|t| (t.kind, t.val))
            .collect()
    }

    #[test]
    fn text_actions_and_trim() {
        assert_eq!(
            kinds("a  {{- 3 -}}  b{{-3}}"),
            vec![
                (Tok::Text, "a".into()),
                (Tok::LeftDelim, "{{".into()),
                (Tok::Number, "3".into()),
                (Tok::RightDelim, "}}".into()),
                (Tok::Text, "b".into()),
                (Tok::LeftDelim, "{{".into()),
                (Tok::Number, "-3".into()),
                (Tok::RightDelim, "}}".into()),
                (Tok::Eof, "".into()),
            ]
        );
    }

    #[test]
    fn comments_vanish() {
        assert_eq!(
            kinds("x {{- /* c */ -}} y{{/*\n*/}}z"),
            vec![
                (Tok::Text, "x".into()),
                (Tok::Text, "y".into()),
                (Tok::Text, "z".into()),
                (Tok::Eof, "".into())
            ]
        );
    }

    #[test]
    fn operands() {
        let got = kinds("{{$x := .A.b | f 'c' `r` \"s\" 0x1F 1.5e3 (nil) $ . true}}");
        let k: Vec<Tok> = got
            .iter()
            .map(|t| t.0)
            .filter(|k| *k != Tok::Space)
            .collect();
        assert_eq!(
            k,
            vec![
                Tok::LeftDelim,
                Tok::Variable,
                Tok::Declare,
                Tok::Field,
                Tok::Field,
                Tok::Pipe,
                Tok::Identifier,
                Tok::CharConstant,
                Tok::RawString,
                Tok::String,
                Tok::Number,
                Tok::Number,
                Tok::LeftParen,
                Tok::Nil,
                Tok::RightParen,
                Tok::Variable,
                Tok::Dot,
                Tok::Bool,
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors() {
        let last = |s: &str| {
            let t = tokenize(s, true, true);
            t.iter()
                .find(|t| t.kind == Tok::Error)
                .map(|t| t.val.clone())
                .unwrap_or_default()
        };
        assert_eq!(last("{{.S"), "unclosed action");
        assert_eq!(
            last("{{\u{1}}}"),
            "unrecognized character in action: U+0001"
        );
        assert_eq!(
            last("{{\u{a0}}}"),
            "unrecognized character in action: U+00A0"
        );
        assert_eq!(last("{{.S@}}"), "bad character U+0040 '@'");
        assert_eq!(last("{{$x=1}}"), "bad character U+003D '='");
        assert_eq!(last("{{3k}}"), "bad number syntax: \"3k\"");
        assert_eq!(last("{{(1}}"), "unclosed left paren");
        assert_eq!(last("{{1)}}"), "unexpected right paren");
        assert_eq!(last("{{\"a}}"), "unterminated quoted string");
        assert_eq!(last("{{/* a }}"), "unclosed comment");
        assert_eq!(
            last("{{/* a */ x}}"),
            "comment ends before closing delimiter"
        );
        assert_eq!(last("{{x:y}}"), "expected :=");
    }

    #[test]
    fn lines() {
        let t = tokenize("a\nb{{\n.X}}\n{{.Y}}", true, true);
        let lines: Vec<(Tok, usize)> = t.iter().map(|t| (t.kind, t.line)).collect();
        assert_eq!(
            lines,
            vec![
                (Tok::Text, 1),
                (Tok::LeftDelim, 2),
                (Tok::Space, 2),
                (Tok::Field, 3),
                (Tok::RightDelim, 3),
                (Tok::Text, 3),
                (Tok::LeftDelim, 4),
                (Tok::Field, 4),
                (Tok::RightDelim, 4),
                (Tok::Eof, 4)
            ]
        );
    }

    #[test]
    fn break_is_an_identifier_when_a_function_has_its_name() {
        assert_eq!(tokenize("{{break}}", false, true)[1].kind, Tok::Identifier);
        assert_eq!(tokenize("{{break}}", true, true)[1].kind, Tok::Break);
    }
}
