//! The three Unicode predicates Go's lexer, `strconv.Quote` and `js` need:
//! `unicode.IsPrint`, `unicode.IsLetter` and `unicode.IsDigit`.
//!
//! Rust's `char` has no general-category queries, so the ranges come from `regex-syntax`'s
//! tables (built once, then binary-searched). ASCII never reaches the tables.

use std::sync::OnceLock;

use regex_syntax::hir::{Class, HirKind};

type Ranges = Vec<(u32, u32)>;

fn class_ranges(pattern: &str) -> Ranges {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .unwrap_or_else(|e| panic!("unicode class {pattern}: {e}"));
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect(),
        other => panic!("unicode class {pattern}: unexpected {other:?}"),
    }
}

fn contains(ranges: &Ranges, c: char) -> bool {
    let u = c as u32;
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < u {
                std::cmp::Ordering::Less
            } else if lo > u {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
pub(crate) fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    static T: OnceLock<Ranges> = OnceLock::new();
    contains(
        T.get_or_init(|| class_ranges(r"[\p{L}\p{M}\p{N}\p{P}\p{S}]")),
        c,
    )
}

/// `unicode.IsLetter`.
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    static T: OnceLock<Ranges> = OnceLock::new();
    contains(T.get_or_init(|| class_ranges(r"\p{L}")), c)
}

/// `unicode.IsDigit` (category Nd).
pub(crate) fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static T: OnceLock<Ranges> = OnceLock::new();
    contains(T.get_or_init(|| class_ranges(r"\p{Nd}")), c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print() {
        assert!(is_print('a') && is_print(' ') && is_print('~'));
        assert!(!is_print('\u{7f}') && !is_print('\n'));
        assert!(is_print('é') && is_print('€') && is_print('日'));
        // Non-ASCII spaces, format characters and private use are not printable.
        assert!(!is_print('\u{a0}') && !is_print('\u{200b}') && !is_print('\u{e000}'));
        assert!(!is_print('\u{2028}') && !is_print('\u{feff}'));
    }

    #[test]
    fn letters_and_digits() {
        assert!(is_letter('x') && is_letter('é') && is_letter('日'));
        assert!(!is_letter('1') && !is_letter('_') && !is_letter('\u{2160}'));
        assert!(is_digit('7') && is_digit('\u{0663}'));
        assert!(!is_digit('\u{00b2}') && !is_digit('a'));
    }
}
