//! Go-fidelity tests of `fmt` (expected strings from Go's fmt_test.go and Go's behaviour).
#![allow(clippy::approx_constant)] // Go's own test values

use super::*;
use crate::value::Struct;

fn s(x: &str) -> Value {
    Value::from(x)
}

#[test]
fn print_and_println_spacing() {
    let (one, two, a) = (Value::Int(1), Value::Int(2), s("a"));
    assert_eq!(
        sprint(&[one.clone(), two.clone(), a.clone(), a.clone(), one.clone()]),
        "1 2aa1"
    );
    assert_eq!(sprint(&[Value::Nil, one.clone()]), "<nil> 1");
    assert_eq!(sprintln(&[one, a]), "1 a\n");
    assert_eq!(sprint(&[]), "");
}

#[test]
fn integer_verbs() {
    let n = Value::Int(42);
    let f = |fmt: &str| sprintf(fmt, std::slice::from_ref(&n));
    assert_eq!(f("%d|%5d"), "42|%!d(MISSING)");
    assert_eq!(f("%5d"), "   42");
    assert_eq!(f("%-5d|"), "42   |");
    assert_eq!(f("%05d"), "00042");
    assert_eq!(f("%-05d|"), "42   |");
    assert_eq!(f("%+d"), "+42");
    assert_eq!(f("%x %X"), "2a %!X(MISSING)");
    assert_eq!(f("%#x"), "0x2a");
    assert_eq!(f("%#o"), "052");
    assert_eq!(f("%O"), "0o52");
    assert_eq!(f("%c"), "*");
    assert_eq!(f("%q"), "'*'");
    assert_eq!(f("%U"), "U+002A");
    assert_eq!(f("%#U"), "U+002A '*'");
    assert_eq!(f("%.5d"), "00042");
    assert_eq!(f("%8.5d"), "   00042");
    assert_eq!(sprintf("%.0d|", &[Value::Int(0)]), "|");
    assert_eq!(sprintf("%05d", &[Value::Int(-42)]), "-0042");
    assert_eq!(sprintf("%x", &[Value::Int(-255)]), "-ff");
    assert_eq!(
        sprintf("%d", &[Value::Uint(u64::MAX)]),
        "18446744073709551615"
    );
    assert_eq!(sprintf("%#v", &[Value::Uint(255)]), "0xff");
    assert_eq!(sprintf("%t", &[Value::Int(1)]), "%!t(int=1)");
}

#[test]
fn float_verbs() {
    let x = Value::Float(3.14159);
    let f = |fmt: &str| sprintf(fmt, std::slice::from_ref(&x));
    assert_eq!(f("%v"), "3.14159");
    assert_eq!(f("%.2f"), "3.14");
    assert_eq!(f("%0.2f"), "3.14");
    assert_eq!(f("%8.3f|"), "   3.142|");
    assert_eq!(f("%-8.3f|"), "3.142   |");
    assert_eq!(f("%08.3f"), "0003.142");
    assert_eq!(f("%+.1f"), "+3.1");
    assert_eq!(f("% .1f"), " 3.1");
    assert_eq!(f("%e"), "3.141590e+00");
    assert_eq!(f("%E"), "3.141590E+00");
    assert_eq!(f("%g"), "3.14159");
    assert_eq!(f("%.3g"), "3.14");
    assert_eq!(f("%F"), "3.141590");
    assert_eq!(f("%d"), "%!d(float64=3.14159)");
    assert_eq!(f("%s"), "%!s(float64=3.14159)");
    assert_eq!(sprintf("%.4g", &[Value::Float(1234567.0)]), "1.235e+06");
    assert_eq!(sprintf("%.4g%%", &[Value::Float(-22.222)]), "-22.22%");
    assert_eq!(
        sprintf("%v %v", &[Value::Float(1e6), Value::Float(1e-5)]),
        "1e+06 1e-05"
    );
    assert_eq!(sprintf("%#g", &[Value::Float(1.0)]), "1.00000");
    assert_eq!(sprintf("%#.0f", &[Value::Float(1.0)]), "1.");
    assert_eq!(
        sprintf(
            "%5.1f|%-6v|%06v",
            &[
                Value::Float(f64::INFINITY),
                Value::Float(f64::NAN),
                Value::Float(f64::NEG_INFINITY)
            ]
        ),
        " +Inf|NaN   |  -Inf"
    );
    assert_eq!(
        sprintf("%+v % v", &[Value::Float(f64::NAN), Value::Float(f64::NAN)]),
        "NaN  NaN"
    );
    assert_eq!(sprintf("%x", &[Value::Float(1.0)]), "0x1p+00");
    assert_eq!(sprintf("%010.3f", &[Value::Float(-1.5)]), "-00001.500");
}

#[test]
fn string_verbs() {
    let st = s("hé");
    assert_eq!(
        sprintf(
            "%q|%x|%X|%.1s|%5s|%-5s|",
            &[
                st.clone(),
                st.clone(),
                st.clone(),
                st.clone(),
                st.clone(),
                st.clone()
            ]
        ),
        "\"hé\"|68c3a9|68C3A9|h|   hé|hé   |"
    );
    assert_eq!(
        sprintf("% x|%#x|%# x", &[st.clone(), st.clone(), st.clone()]),
        "68 c3 a9|0x68c3a9|0x68 0xc3 0xa9"
    );
    assert_eq!(
        sprintf("%#q|%+q", &[s("a\"b"), st.clone()]),
        "`a\"b`|\"h\\u00e9\""
    );
    assert_eq!(sprintf("%d", std::slice::from_ref(&st)), "%!d(string=hé)");
    assert_eq!(sprintf("%5d", &[s("x")]), "%!d(string=    x)");
    assert_eq!(sprintf("%#v", &[st]), "\"hé\"");
    assert_eq!(
        sprintf("%t %v", &[Value::Bool(true), Value::Bool(false)]),
        "true false"
    );
}

#[test]
fn operands_and_errors() {
    let (one, two) = (Value::Int(1), Value::Int(2));
    assert_eq!(
        sprintf("%d %d", std::slice::from_ref(&one)),
        "1 %!d(MISSING)"
    );
    assert_eq!(sprintf("%d", &[one.clone(), s("x")]), "1%!(EXTRA string=x)");
    assert_eq!(
        sprintf("x", &[one.clone(), Value::Nil]),
        "x%!(EXTRA int=1, <nil>)"
    );
    assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
    assert_eq!(sprintf("%!", &[]), "%!!(MISSING)");
    assert_eq!(sprintf("%%|%5%", &[]), "%|%");
    assert_eq!(sprintf("%[2]d %[1]d", &[one.clone(), two.clone()]), "2 1");
    assert_eq!(
        sprintf("%[3]d", std::slice::from_ref(&one)),
        "%!d(BADINDEX)"
    );
    assert_eq!(sprintf("%[1]d %d", &[one.clone(), two.clone()]), "1 2");
    assert_eq!(
        sprintf(
            "%*d|%-*d|%.*f",
            &[
                Value::Int(4),
                one.clone(),
                Value::Int(3),
                two.clone(),
                Value::Int(1),
                Value::Float(2.25)
            ]
        ),
        "   1|2  |2.2"
    );
    assert_eq!(sprintf("%*d", &[s("x"), one.clone()]), "%!(BADWIDTH)1");
    assert_eq!(
        sprintf("%.*d", &[Value::Int(-1), one.clone()]),
        "%!(BADPREC)1"
    );
    assert_eq!(
        sprintf("%v %d", &[Value::Nil, Value::Nil]),
        "<nil> %!d(<nil>)"
    );
    assert_eq!(
        sprintf("%T %T %T", &[one, Value::Float(1.0), Value::Nil]),
        "int float64 <nil>"
    );
    assert_eq!(sprintf("%w", &[Value::Int(1)]), "%!w(<nil>)%!(EXTRA int=1)");
    assert_eq!(
        sprintf("%100000000d", &[Value::Int(1)]),
        "%!(NOVERB)%!(EXTRA int=1)"
    );
    assert_eq!(sprintf("%1000001d", &[Value::Int(1)]).len(), 1000001);
}

#[test]
fn containers() {
    let l = Value::list(vec![Value::Int(1), Value::Nil, s("x")]);
    assert_eq!(format_one(&l, 'v'), "[1 <nil> x]");
    assert_eq!(
        sprintf("%d", std::slice::from_ref(&l)),
        "[1 <nil> %!d(string=x)]"
    );
    assert_eq!(
        sprintf("%#v", &[l]),
        "[]interface {}{1, interface {}(nil), \"x\"}"
    );
    let m = Value::map([("b", Value::Int(2)), ("a", s("x"))]);
    assert_eq!(format_one(&m, 'v'), "map[a:x b:2]");
    let lb = Value::labels([("job", "node"), ("instance", "h:1")]);
    assert_eq!(format_one(&lb, 'v'), "map[instance:h:1 job:node]");
    assert_eq!(
        sprintf("%#v", &[lb]),
        "map[string]string{\"instance\":\"h:1\", \"job\":\"node\"}"
    );
    let st = Struct::new("t.S")
        .field("A", s("a"))
        .field("B", Value::Int(1));
    assert_eq!(format_one(&Value::structure(st.clone()), 'v'), "{a 1}");
    assert_eq!(sprintf("%+v", &[Value::structure(st.clone())]), "{A:a B:1}");
    assert_eq!(
        sprintf("%#v", &[Value::structure(st.clone())]),
        "t.S{A:\"a\", B:1}"
    );
    assert_eq!(format_one(&Value::struct_ptr(st.clone()), 'v'), "&{a 1}");
    assert_eq!(
        format_one(&Value::list(vec![Value::struct_ptr(st)]), 'v'),
        "[0xc000010000]"
    );
    assert_eq!(
        format_one(
            &Value::typed_list("[]float64", vec![Value::Float(1.5)]),
            'T'
        ),
        "[]float64"
    );
}
