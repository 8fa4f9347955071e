//! Go's `fmt` printing (`Sprint`, `Sprintln`, `Sprintf`) over [`Value`]s: verbs, flags, width,
//! precision, argument indexes and Go's error forms (`%!d(string=x)`, `%!v(MISSING)`,
//! `%!(EXTRA int=1)`, `%!(NOVERB)`, `%!(BADWIDTH)`, ...).
//!
//! Arguments are `interface {}` values: [`Value::Nil`] is a nil interface. Go prints a pointer
//! nested inside another value as its address; no port can, and this one prints the stand-in
//! `0xc000010000`.

use crate::strconv::{can_backquote, format_float, quote, quote_ascii, quote_rune};
use crate::value::Value;

mod printf;
#[cfg(test)]
mod tests;

pub use printf::sprintf;

const LDIGITS: &[u8] = b"0123456789abcdefx";
const UDIGITS: &[u8] = b"0123456789ABCDEFX";
const FAKE_ADDRESS: u64 = 0xc000010000;
/// Go's `tooLarge`: widths, precisions and argument numbers above this are refused.
pub(super) const MAX_NUM: usize = 1_000_000;

#[derive(Clone, Copy, Default)]
pub(super) struct Flags {
    pub(super) wid: Option<usize>,
    pub(super) prec: Option<usize>,
    pub(super) minus: bool,
    pub(super) plus: bool,
    pub(super) sharp: bool,
    pub(super) space: bool,
    pub(super) zero: bool,
    pub(super) plus_v: bool,
    pub(super) sharp_v: bool,
}

#[derive(Default)]
pub(super) struct Printer {
    pub(super) buf: String,
    pub(super) f: Flags,
    /// The operand being printed (Go's `p.arg`), for `%!verb(type=value)`.
    arg: Option<Value>,
}

/// `fmt.Sprint`: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintln`: spaces between all operands, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.print_arg(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

/// `fmt.Sprintf("%v", v)` and the like: one operand, one verb, no flags.
pub(crate) fn format_one(v: &Value, verb: char) -> String {
    let mut p = Printer::default();
    p.print_arg(v, verb);
    p.buf
}

impl Printer {
    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            '0'
        } else {
            ' '
        };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn pad(&mut self, s: &str) {
        let w = match self.f.wid {
            Some(w) if w > 0 => w,
            _ => return self.buf.push_str(s),
        };
        let fill = w.saturating_sub(s.chars().count());
        if self.f.minus {
            self.buf.push_str(s);
            self.write_padding(fill);
        } else {
            self.write_padding(fill);
            self.buf.push_str(s);
        }
    }

    /// `pad` with zero padding off (numbers handle their zeros themselves).
    fn pad_no_zero(&mut self, s: &str) {
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(s);
        self.f.zero = old;
    }

    pub(super) fn bad_verb(&mut self, verb: char) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match self.arg.clone() {
            Some(Value::Nil) | None => self.buf.push_str("<nil>"),
            Some(a) => {
                self.buf.push_str(&a.go_type());
                self.buf.push('=');
                self.print_arg(&a, 'v');
            }
        }
        self.buf.push(')');
    }

    pub(super) fn print_arg(&mut self, a: &Value, verb: char) {
        self.arg = Some(a.clone());
        if let Value::Nil = a {
            match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb),
            }
            return;
        }
        match verb {
            'T' => return self.fmt_s(&a.go_type()),
            'p' => return self.fmt_pointer(a, 'p'),
            _ => {}
        }
        match a {
            Value::Bool(_)
            | Value::Int(_)
            | Value::Uint(_)
            | Value::Float(_)
            | Value::String(_) => self.print_value(a, verb, 0),
            _ => {
                if !self.handle_methods(a, verb) {
                    self.print_value(a, verb, 0);
                }
            }
        }
    }

    /// Go's `handleMethods`: a `String()`/`Error()` method prints for the string verbs.
    fn handle_methods(&mut self, a: &Value, verb: char) -> bool {
        if self.f.sharp_v || !matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
            return false;
        }
        match a {
            Value::Host(h) => match h.string() {
                Some(s) => {
                    self.fmt_string(&s, verb);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        if depth > 0 {
            self.arg = Some(v.clone());
            if self.handle_methods(v, verb) {
                return;
            }
        }
        match v {
            Value::Nil => {
                if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb),
            },
            Value::Int(i) => self.fmt_integer_verb(*i as u64, true, verb),
            Value::Uint(u) => self.fmt_integer_verb(*u, false, verb),
            Value::Float(f) => self.fmt_float_verb(*f, verb),
            Value::String(s) => self.fmt_string(s, verb),
            Value::Labels(m) => {
                let items = m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone())));
                self.print_map(v, items, verb, depth);
            }
            Value::Map(m) => {
                let items = m.iter().map(|(k, v)| (k.clone(), v.clone()));
                self.print_map(v, items, verb, depth);
            }
            Value::List(l) => {
                let sharp_v = self.f.sharp_v;
                if sharp_v {
                    self.buf.push_str(l.type_name());
                    self.buf.push('{');
                } else {
                    self.buf.push('[');
                }
                for (i, e) in l.items().iter().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if sharp_v { ", " } else { " " });
                    }
                    self.print_value(e, verb, depth + 1);
                }
                self.buf.push(if sharp_v { '}' } else { ']' });
            }
            Value::Struct(s) => {
                let (sharp_v, names) = (self.f.sharp_v, self.f.sharp_v || self.f.plus_v);
                if sharp_v {
                    self.buf.push_str(s.type_name());
                }
                self.buf.push('{');
                for (i, (name, fv)) in s.fields().enumerate() {
                    if i > 0 {
                        self.buf.push_str(if sharp_v { ", " } else { " " });
                    }
                    if names {
                        self.buf.push_str(name);
                        self.buf.push(':');
                    }
                    self.print_value(fv, verb, depth + 1);
                }
                self.buf.push('}');
            }
            Value::StructPtr(s) => {
                if depth == 0 {
                    self.buf.push('&');
                    self.print_value(&Value::Struct(s.clone()), verb, depth + 1);
                } else {
                    self.fmt_pointer(v, verb);
                }
            }
            Value::Host(h) => match verb {
                'v' => {
                    let s = h.format();
                    self.buf.push_str(&s);
                }
                _ => self.bad_verb(verb),
            },
        }
    }

    fn print_map(
        &mut self,
        m: &Value,
        items: impl Iterator<Item = (String, Value)>,
        verb: char,
        depth: usize,
    ) {
        let sharp_v = self.f.sharp_v;
        if sharp_v {
            self.buf.push_str(&m.go_type());
            self.buf.push('{');
        } else {
            self.buf.push_str("map[");
        }
        for (i, (k, v)) in items.enumerate() {
            if i > 0 {
                self.buf.push_str(if sharp_v { ", " } else { " " });
            }
            self.print_value(&Value::String(k), verb, depth + 1);
            self.buf.push(':');
            self.print_value(&v, verb, depth + 1);
        }
        self.buf.push(if sharp_v { '}' } else { ']' });
    }

    /// Go's `fmt0x64`: hexadecimal, with or without the `0x` prefix.
    fn fmt_0x64(&mut self, u: u64, leading_0x: bool) {
        let sharp = self.f.sharp;
        self.f.sharp = leading_0x;
        self.fmt_integer(u, 16, false, 'v', LDIGITS);
        self.f.sharp = sharp;
    }

    /// Go's `fmtPointer` for the pointer-like kinds (pointers, maps, slices), with a fixed
    /// stand-in address.
    fn fmt_pointer(&mut self, v: &Value, verb: char) {
        if !matches!(
            v,
            Value::StructPtr(_)
                | Value::Host(_)
                | Value::Labels(_)
                | Value::Map(_)
                | Value::List(_)
        ) {
            return self.bad_verb(verb);
        }
        match verb {
            'v' if self.f.sharp_v => {
                self.buf.push('(');
                self.buf.push_str(&v.go_type());
                self.buf.push_str(")(");
                self.fmt_0x64(FAKE_ADDRESS, true);
                self.buf.push(')');
            }
            'v' | 'p' => self.fmt_0x64(FAKE_ADDRESS, !self.f.sharp),
            'b' | 'o' | 'd' | 'x' | 'X' => self.fmt_integer_verb(FAKE_ADDRESS, false, verb),
            _ => self.bad_verb(verb),
        }
    }

    fn fmt_integer_verb(&mut self, u: u64, signed: bool, verb: char) {
        match verb {
            'v' if self.f.sharp_v && !signed => {
                let sharp = self.f.sharp;
                self.f.sharp = true;
                self.fmt_integer(u, 16, false, 'v', LDIGITS);
                self.f.sharp = sharp;
            }
            'v' | 'd' => self.fmt_integer(u, 10, signed, verb, LDIGITS),
            'b' => self.fmt_integer(u, 2, signed, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, LDIGITS),
            'x' => self.fmt_integer(u, 16, signed, verb, LDIGITS),
            'X' => self.fmt_integer(u, 16, signed, verb, UDIGITS),
            'c' => {
                let c = u32::try_from(u)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                self.pad(&c.to_string());
            }
            'q' => {
                let q = quote_rune(u, self.f.plus);
                self.pad(&q);
            }
            'U' => self.fmt_unicode(u),
            _ => self.bad_verb(verb),
        }
    }

    /// Go's `fmtInteger`.
    fn fmt_integer(&mut self, u: u64, base: u64, signed: bool, verb: char, digits: &[u8]) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec = 0;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let (old, w) = (self.f.zero, self.f.wid.unwrap_or(0));
                self.f.zero = false;
                self.write_padding(w);
                self.f.zero = old;
                return;
            }
        } else if let (true, false, Some(w)) = (self.f.zero, self.f.minus, self.f.wid) {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut rev: Vec<u8> = Vec::with_capacity(24);
        while u >= base {
            rev.push(digits[(u % base) as usize]);
            u /= base;
        }
        rev.push(digits[u as usize]);
        while rev.len() < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => rev.extend_from_slice(b"b0"),
                8 if rev.last() != Some(&b'0') => rev.push(b'0'),
                16 => rev.extend_from_slice(&[digits[16], b'0']),
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend_from_slice(b"o0");
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let s = String::from_utf8_lossy(&rev).into_owned();
        self.pad_no_zero(&s);
    }

    fn fmt_unicode(&mut self, u: u64) {
        let prec = match self.f.prec {
            Some(p) if p > 4 => p,
            _ => 4,
        };
        let mut s = format!("U+{u:0prec$X}");
        if self.f.sharp {
            if let Some(c) = u32::try_from(u).ok().and_then(char::from_u32) {
                if crate::unicode::is_print(c) {
                    s.push_str(&format!(" '{c}'"));
                }
            }
        }
        self.pad_no_zero(&s);
    }

    fn fmt_float_verb(&mut self, v: f64, verb: char) {
        match verb {
            'v' => self.fmt_float(v, 'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(v, verb, -1),
            'f' | 'e' | 'E' => self.fmt_float(v, verb, 6),
            'F' => self.fmt_float(v, 'f', 6),
            _ => self.bad_verb(verb),
        }
    }

    /// Go's `fmt.fmtFloat`: sign, `#`, zero padding and the Inf/NaN special cases around
    /// `strconv.FormatFloat`.
    fn fmt_float(&mut self, v: f64, verb: char, prec: i32) {
        let prec = self.f.prec.map_or(prec, |p| p.min(MAX_NUM) as i32);
        let s = format_float(v, verb, prec);
        let mut num: Vec<u8> = if s.starts_with(['-', '+']) {
            s.into_bytes()
        } else {
            let mut n = vec![b'+'];
            n.extend_from_slice(s.as_bytes());
            n
        };
        if self.f.space && num[0] == b'+' && !self.f.plus {
            num[0] = b' ';
        }
        if num[1] == b'I' || num[1] == b'N' {
            if num[1] == b'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            let s = String::from_utf8_lossy(&num).into_owned();
            self.pad_no_zero(&s);
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i32 = match verb {
                'v' | 'g' | 'G' | 'x' => {
                    if prec == -1 {
                        6
                    } else {
                        prec
                    }
                }
                _ => 0,
            };
            let mut tail: Vec<u8> = Vec::new();
            let mut has_point = false;
            let mut nonzero = false;
            let mut i = 1;
            while i < num.len() {
                match num[i] {
                    b'.' => has_point = true,
                    b'p' | b'P' => {
                        tail = num.split_off(i);
                        break;
                    }
                    b'e' | b'E' if verb != 'x' && verb != 'X' => {
                        tail = num.split_off(i);
                        break;
                    }
                    c => {
                        nonzero |= c != b'0';
                        if nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_point {
                if num.len() == 2 && num[1] == b'0' {
                    digits -= 1;
                }
                num.push(b'.');
            }
            while digits > 0 {
                num.push(b'0');
                digits -= 1;
            }
            num.extend_from_slice(&tail);
        }
        if self.f.plus || num[0] != b'+' {
            if let (true, false, Some(w)) = (self.f.zero, self.f.minus, self.f.wid) {
                if w > num.len() {
                    self.buf.push(num[0] as char);
                    self.write_padding(w - num.len());
                    self.buf.push_str(&String::from_utf8_lossy(&num[1..]));
                    return;
                }
            }
            let s = String::from_utf8_lossy(&num).into_owned();
            self.pad(&s);
            return;
        }
        let s = String::from_utf8_lossy(&num[1..]).into_owned();
        self.pad(&s);
    }

    fn fmt_string(&mut self, s: &str, verb: char) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, LDIGITS),
            'X' => self.fmt_sx(s, UDIGITS),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb),
        }
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec {
            Some(p) => s.char_indices().nth(p).map_or(s, |(i, _)| &s[..i]),
            None => s,
        }
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s).to_string();
        self.pad(&s);
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s).to_string();
        if self.f.sharp && can_backquote(&s) {
            return self.pad(&format!("`{s}`"));
        }
        let q = if self.f.plus {
            quote_ascii(&s)
        } else {
            quote(&s)
        };
        self.pad(&q);
    }

    /// Go's `fmtSbx` for strings: hex of the bytes, with `#` and space flags.
    fn fmt_sx(&mut self, s: &str, digits: &[u8]) {
        let b = s.as_bytes();
        let length = self.f.prec.map_or(b.len(), |p| p.min(b.len()));
        if length == 0 {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        let mut width = 2 * length;
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let fill = self.f.wid.map_or(0, |w| w.saturating_sub(width));
        if !self.f.minus {
            self.write_padding(fill);
        }
        if self.f.sharp {
            self.buf.push('0');
            self.buf.push(digits[16] as char);
        }
        for (i, &c) in b[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(' ');
                if self.f.sharp {
                    self.buf.push('0');
                    self.buf.push(digits[16] as char);
                }
            }
            self.buf.push(digits[(c >> 4) as usize] as char);
            self.buf.push(digits[(c & 0xf) as usize] as char);
        }
        if self.f.minus {
            self.write_padding(fill);
        }
    }
}
