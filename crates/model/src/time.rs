//! Timestamps in the API's formats: RFC 3339 and Unix seconds.

/// Prometheus's `minTime`/`maxTime` in milliseconds (the API's defaults for open ranges).
pub const MIN_TIME_MS: i64 = i64::MIN / 1_000_000 * 1000;
pub const MAX_TIME_MS: i64 = i64::MAX / 1_000_000 * 1000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of the day that many days after 1970-01-01, proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Milliseconds since the epoch as RFC 3339 in UTC with milliseconds: `2015-07-01T20:10:51.781Z`.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Parses an API timestamp: Unix seconds (float) or RFC 3339; milliseconds, rounded.
pub fn parse_api_time(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() {
            return None;
        }
        let ms = (seconds * 1000.0).round();
        return (ms >= MIN_TIME_MS as f64 && ms <= MAX_TIME_MS as f64).then_some(ms as i64);
    }
    match text {
        "-292273086-05-16T16:47:06Z" => return Some(MIN_TIME_MS),
        "292277025-08-18T07:12:54.999999999Z" => return Some(MAX_TIME_MS),
        _ => {}
    }
    parse_rfc3339(text)
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut pos = 19;
    let mut frac_ms = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        let digits = &text[start..pos];
        if digits.is_empty() {
            return None;
        }
        let padded: String = digits
            .chars()
            .chain(std::iter::repeat('0'))
            .take(3)
            .collect();
        frac_ms = padded.parse().ok()?;
    }
    let offset_secs = match b.get(pos)? {
        b'Z' | b'z' if pos + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if pos + 6 == b.len() && b[pos + 3] == b':' => {
            let oh = num(pos + 1..pos + 3)?;
            let om = num(pos + 4..pos + 6)?;
            let total = oh * 3600 + om * 60;
            if *sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_secs;
    Some(secs * 1000 + frac_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_times() {
        assert_eq!(parse_api_time("1435781451.781"), Some(1_435_781_451_781));
        assert_eq!(parse_api_time("1435781451"), Some(1_435_781_451_000));
        assert_eq!(
            parse_api_time("2015-07-01T20:10:51.781Z"),
            Some(1_435_781_451_781)
        );
        assert_eq!(
            parse_api_time("2015-07-01T22:10:51.781+02:00"),
            Some(1_435_781_451_781)
        );
        assert_eq!(
            parse_api_time("2015-07-01T20:10:51Z"),
            Some(1_435_781_451_000)
        );
        assert_eq!(
            parse_api_time("-292273086-05-16T16:47:06Z"),
            Some(MIN_TIME_MS)
        );
        for bad in [
            "",
            "soon",
            "2015-13-01T00:00:00Z",
            "2015-07-01 20:10:51Z",
            "NaN",
            "Inf",
        ] {
            assert_eq!(parse_api_time(bad), None, "{bad}");
        }
        assert_eq!(
            format_rfc3339_ms(1_435_781_451_781),
            "2015-07-01T20:10:51.781Z"
        );
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    }
}
