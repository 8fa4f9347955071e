//! `fmt.Sprintf`: Go's format-string interpreter (flags, width, precision, `*` operands,
//! `[n]` operand indexes and its error forms).

use super::{Flags, Printer, MAX_NUM};
use crate::value::Value;

/// Go's `parsenum`: a decimal number at `s[start..]`, refused above a million.
fn parse_num(s: &[u8], start: usize) -> (Option<usize>, usize) {
    let mut i = start;
    let mut num = 0usize;
    let mut any = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if num > MAX_NUM {
            return (None, s.len());
        }
        num = num * 10 + usize::from(s[i] - b'0');
        any = true;
        i += 1;
    }
    (any.then_some(num), i)
}

/// Go's `intFromArg`: a `*` width or precision operand.
fn int_from_arg(args: &[Value], n: usize) -> (Option<i64>, usize) {
    let Some(a) = args.get(n) else {
        return (None, n);
    };
    let v = match a {
        Value::Int(i) => Some(*i),
        Value::Uint(u) => i64::try_from(*u).ok(),
        _ => None,
    };
    (v.filter(|v| v.unsigned_abs() <= MAX_NUM as u64), n + 1)
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::default();
    let fb = format.as_bytes();
    let end = fb.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0;
    // Go's argNumber: an explicit `[n]` operand index.
    let arg_number =
        |arg_num: usize, i: usize, reordered: &mut bool, good: &mut bool| -> (usize, usize, bool) {
            if i >= end || fb[i] != b'[' {
                return (arg_num, i, false);
            }
            *reordered = true;
            let close = fb[i..].iter().position(|&c| c == b']');
            let (index, width, ok) = match close {
                Some(c) if end - i >= 3 => match parse_num(&fb[i..], 1) {
                    (Some(n), ni) if ni == c => (n as i64 - 1, c + 1, true),
                    _ => (0, c + 1, false),
                },
                _ => (0, 1, false),
            };
            if ok && index >= 0 && (index as usize) < args.len() {
                return (index as usize, i + width, true);
            }
            *good = false;
            (arg_num, i + width, ok)
        };
    'format: while i < end {
        let mut good = true;
        let start = i;
        while i < end && fb[i] != b'%' {
            i += 1;
        }
        p.buf.push_str(&format[start..i]);
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match fb[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = true,
                b'+' => p.f.plus = true,
                b'-' => p.f.minus = true,
                b' ' => p.f.space = true,
                c => {
                    if c.is_ascii_lowercase() && arg_num < args.len() {
                        if c == b'w' {
                            break;
                        }
                        if c == b'v' {
                            (p.f.sharp_v, p.f.sharp) = (p.f.sharp, false);
                            (p.f.plus_v, p.f.plus) = (p.f.plus, false);
                        }
                        p.print_arg(&args[arg_num], c as char);
                        arg_num += 1;
                        i += 1;
                        continue 'format;
                    }
                    break;
                }
            }
            i += 1;
        }
        let mut after_index;
        (arg_num, i, after_index) = arg_number(arg_num, i, &mut reordered, &mut good);
        if i < end && fb[i] == b'*' {
            i += 1;
            let (w, n) = int_from_arg(args, arg_num);
            arg_num = n;
            match w {
                None => {
                    p.f.wid = None;
                    p.buf.push_str("%!(BADWIDTH)");
                }
                Some(w) if w < 0 => {
                    p.f.wid = Some(w.unsigned_abs() as usize);
                    p.f.minus = true;
                    p.f.zero = false;
                }
                Some(w) => p.f.wid = Some(w as usize),
            }
            after_index = false;
        } else {
            let (w, ni) = parse_num(fb, i);
            (p.f.wid, i) = (w, ni);
            if after_index && w.is_some() {
                good = false;
            }
        }
        if i + 1 < end && fb[i] == b'.' {
            i += 1;
            if after_index {
                good = false;
            }
            (arg_num, i, after_index) = arg_number(arg_num, i, &mut reordered, &mut good);
            if i < end && fb[i] == b'*' {
                i += 1;
                let (pr, n) = int_from_arg(args, arg_num);
                arg_num = n;
                p.f.prec = pr.filter(|&x| x >= 0).map(|x| x as usize);
                if p.f.prec.is_none() {
                    p.buf.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (pr, ni) = parse_num(fb, i);
                (p.f.prec, i) = (Some(pr.unwrap_or(0)), ni);
            }
        }
        if !after_index {
            (arg_num, i, _) = arg_number(arg_num, i, &mut reordered, &mut good);
        }
        if i >= end {
            p.buf.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('\u{fffd}');
        i += verb.len_utf8();
        if verb == '%' {
            p.buf.push('%');
        } else if !good {
            p.buf.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if arg_num >= args.len() {
            p.buf.push_str(&format!("%!{verb}(MISSING)"));
        } else if verb == 'w' {
            // %w is only for fmt.Errorf; the operand is left over.
            p.bad_verb('w');
        } else {
            if verb == 'v' {
                (p.f.sharp_v, p.f.sharp) = (p.f.sharp, false);
                (p.f.plus_v, p.f.plus) = (p.f.plus, false);
            }
            p.print_arg(&args[arg_num], verb);
            arg_num += 1;
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.buf.push_str(", ");
            }
            if let Value::Nil = a {
                p.buf.push_str("<nil>");
            } else {
                p.buf.push_str(&a.go_type());
                p.buf.push('=');
                p.print_arg(a, 'v');
            }
        }
        p.buf.push(')');
    }
    p.buf
}
