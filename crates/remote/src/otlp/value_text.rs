//! An attribute value as label text, as pdata's `Value.AsString` writes it: strings as
//! they are, integers and booleans in Go's forms, doubles as Go's `encoding/json` writes
//! numbers, bytes as standard base64, arrays and key-value lists as Go's `json.Marshal`
//! of their raw form (keys sorted, later duplicates winning, `<`, `>` and `&` escaped).

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;

use super::proto::{AnyValue, Value};

/// The label text of an attribute value (`""` when unset).
pub fn as_string(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => json_number(*d).unwrap_or_else(|| {
            format!("json: unsupported value: {}", model::float::format_go_g(*d))
        }),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        // Go's json.Marshal fails on a NaN or infinity anywhere inside, and pdata then
        // returns the empty string.
        Some(v @ (Value::ArrayValue(_) | Value::KvlistValue(_))) => {
            let mut out = String::new();
            if write_json(&mut out, Some(v)) {
                out
            } else {
                String::new()
            }
        }
    }
}

/// Go's `encoding/json` form of a float: `%f` style between 1e-6 and 1e21, else `%e` with
/// the exponent unpadded (`1e+21`, `1e-7`); `None` for NaN and infinities.
fn json_number(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        return Some(match text.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                format!("{mantissa}e+{exponent}")
            }
            _ => text,
        });
    }
    Some(model::float::format_go_f(f))
}

/// Writes a value as Go's `json.Marshal` of `AsRaw()`; false if it cannot be encoded.
fn write_json(out: &mut String, value: Option<&Value>) -> bool {
    match value {
        None => out.push_str("null"),
        Some(Value::StringValue(s)) => write_json_string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => match json_number(*d) {
            Some(n) => out.push_str(&n),
            None => return false,
        },
        Some(Value::BytesValue(b)) => {
            out.push('"');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
            out.push('"');
        }
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, item) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !write_json(out, item.value.as_ref()) {
                    return false;
                }
            }
            out.push(']');
        }
        Some(Value::KvlistValue(l)) => {
            // A Go map: one entry per key (the last one), keys in byte order.
            let entries: BTreeMap<&str, Option<&Value>> = l
                .values
                .iter()
                .map(|kv| {
                    (
                        kv.key.as_str(),
                        kv.value.as_ref().and_then(|v| v.value.as_ref()),
                    )
                })
                .collect();
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                if !write_json(out, item) {
                    return false;
                }
            }
            out.push('}');
        }
    }
    true
}

/// Go's JSON string escaping with HTML escaping on (json.Marshal's default).
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::proto::{ArrayValue, KeyValue, KeyValueList};

    fn v(value: Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn pdata_as_string_forms() {
        let text = |value: Value| as_string(Some(&v(value)));
        assert_eq!(as_string(None), "");
        assert_eq!(text(Value::StringValue("a b".into())), "a b");
        assert_eq!(text(Value::BoolValue(true)), "true");
        assert_eq!(text(Value::IntValue(-12)), "-12");
        assert_eq!(text(Value::DoubleValue(1.5)), "1.5");
        assert_eq!(text(Value::DoubleValue(100.0)), "100");
        assert_eq!(text(Value::DoubleValue(1e21)), "1e+21");
        assert_eq!(text(Value::DoubleValue(1.5e-7)), "1.5e-7");
        assert_eq!(text(Value::DoubleValue(0.000001)), "0.000001");
        assert_eq!(text(Value::DoubleValue(1e-10)), "1e-10");
        assert_eq!(
            text(Value::DoubleValue(f64::NAN)),
            "json: unsupported value: NaN"
        );
        assert_eq!(text(Value::BytesValue(vec![1, 2, 255])), "AQL/");
        let list = Value::KvlistValue(KeyValueList {
            values: vec![
                KeyValue::string("z", "<&>"),
                KeyValue {
                    key: "a".into(),
                    value: Some(v(Value::ArrayValue(ArrayValue {
                        values: vec![v(Value::IntValue(1)), AnyValue { value: None }],
                    }))),
                },
                KeyValue::string("z", "last\n"),
            ],
        });
        assert_eq!(text(list), r#"{"a":[1,null],"z":"last\n"}"#);
        let escaped = Value::ArrayValue(ArrayValue {
            values: vec![v(Value::StringValue("<a&b>\u{1}".into()))],
        });
        assert_eq!(text(escaped), r#"["\u003ca\u0026b\u003e\u0001"]"#);
        let unencodable = Value::ArrayValue(ArrayValue {
            values: vec![v(Value::DoubleValue(f64::INFINITY))],
        });
        assert_eq!(text(unencodable), "");
    }
}
