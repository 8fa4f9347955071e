//! Number literals: Go's `Tree.newNumber`, deciding which of int, uint64 and float64 a
//! literal can be (the executor then picks one as Go's `idealConstant` does).

use super::node::NumberNode;
use crate::lex::Tok;
use crate::strconv::{parse_float_raw, parse_int, parse_uint, quote, unquote_char};

/// Go's `Tree.newNumber`: which of int / uint / float64 a literal can be. Complex constants are
/// refused (no Prometheus template uses one).
pub(crate) fn new_number(pos: usize, text: &str, kind: Tok) -> Result<NumberNode, String> {
    let mut n = NumberNode {
        pos,
        is_int: false,
        is_uint: false,
        is_float: false,
        int: 0,
        uint: 0,
        float: 0.0,
        text: text.to_string(),
    };
    if kind == Tok::CharConstant {
        let (r, _, tail) =
            unquote_char(&text[1..], b'\'').map_err(|()| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        (n.is_int, n.is_uint, n.is_float) = (true, true, true);
        (n.int, n.uint, n.float) = (i64::from(r), u64::from(r), f64::from(r));
        return Ok(n);
    }
    let imaginary = text.ends_with('i') && parse_float_raw(&text[..text.len() - 1]).is_ok();
    if kind == Tok::Complex || imaginary {
        return Err(format!("complex constant {text} is not supported"));
    }
    let u = parse_uint(text);
    if let Ok(u) = u {
        (n.is_uint, n.uint) = (true, u);
    }
    if let Ok(i) = parse_int(text) {
        (n.is_int, n.int) = (true, i);
        if i == 0 {
            // "-0" fails ParseUint.
            (n.is_uint, n.uint) = (true, 0);
        }
    }
    if n.is_int {
        (n.is_float, n.float) = (true, n.int as f64);
    } else if n.is_uint {
        (n.is_float, n.float) = (true, n.uint as f64);
    } else if let Ok(f) = parse_float_raw(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote(text)));
        }
        (n.is_float, n.float) = (true, f);
        // Go converts with int64(f) / uint64(f); only in-range integral values survive.
        if f.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&f) {
            (n.is_int, n.int) = (true, f as i64);
        }
        if f.fract() == 0.0 && (0.0..u64::MAX as f64).contains(&f) {
            (n.is_uint, n.uint) = (true, f as u64);
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", quote(text)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = new_number(0, "1e3", Tok::Number).unwrap();
        assert!(n.is_float && n.is_int && n.int == 1000);
        let n = new_number(0, "'a'", Tok::CharConstant).unwrap();
        assert_eq!(n.int, 97);
        let n = new_number(0, "0x10", Tok::Number).unwrap();
        assert!(n.is_int && n.int == 16);
        let n = new_number(0, "18446744073709551615", Tok::Number).unwrap();
        assert!(n.is_uint && !n.is_int);
        let n = new_number(0, "9.223372036854775808e18", Tok::Number).unwrap();
        assert!(!n.is_int && n.is_uint);
        assert!(new_number(0, "0x", Tok::Number).is_err());
    }
}
