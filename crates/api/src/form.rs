//! `application/x-www-form-urlencoded` with repeated keys (`match[]=a&match[]=b`), which
//! axum's typed extractors do not keep, and the `U__` label name escaping.

/// Key-value pairs in order; `+` is a space and `%XX` a byte; invalid escapes stay as written.
pub fn parse(input: &str) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A label name from a URL path: legacy names as they are, others as `U__` + the name with
/// `_` written `__` and every other character outside `[a-zA-Z0-9]` written
/// `_<hex code point>_`. An invalid escape leaves the name as it is (as Go's `UnescapeName`).
pub fn unescape_label_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let Some(rest) = name.strip_prefix("U__") else {
        return Some(name.to_string());
    };
    Some(unescape(rest).unwrap_or_else(|| name.to_string()))
}

fn unescape(rest: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        let mut code: u32 = 0;
        let mut digits = 0;
        loop {
            match chars.next()? {
                '_' if digits == 0 => {
                    out.push('_');
                    break;
                }
                '_' => {
                    out.push(char::from_u32(code)?);
                    break;
                }
                d => {
                    digits += 1;
                    if digits > 6 {
                        return None;
                    }
                    code = code * 16 + d.to_digit(16)?;
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_escapes() {
        assert_eq!(
            parse("match%5B%5D=up%7Bjob%3D%22a%22%7D&match[]=b+c&start=1&x"),
            vec![
                ("match[]".to_string(), "up{job=\"a\"}".to_string()),
                ("match[]".to_string(), "b c".to_string()),
                ("start".to_string(), "1".to_string()),
                ("x".to_string(), String::new()),
            ]
        );
        assert_eq!(
            parse("a=%zz%4"),
            vec![("a".to_string(), "%zz%4".to_string())]
        );
    }

    #[test]
    fn utf8_label_names() {
        assert_eq!(unescape_label_name("job").as_deref(), Some("job"));
        assert_eq!(
            unescape_label_name("U__http_2e_status__code").as_deref(),
            Some("http.status_code")
        );
        assert_eq!(unescape_label_name("U__a__b").as_deref(), Some("a_b"));
        // Invalid escapes leave the name as given, as Go does.
        assert_eq!(
            unescape_label_name("U__http_2e_status_code").as_deref(),
            Some("U__http_2e_status_code")
        );
        assert_eq!(
            unescape_label_name("U__bad_zz_").as_deref(),
            Some("U__bad_zz_")
        );
        assert_eq!(unescape_label_name(""), None);
    }
}
