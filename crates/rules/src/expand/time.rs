//! Go's `time.Time` (always in UTC, as Prometheus' `toTime` makes them) and `time.Duration`
//! as template host values: `Format` with Go layout strings, `String`, `Unix`, `UnixMilli`,
//! `Add`, ... and Go's `Duration.String`.

use gotemplate::{ArgKind, ArgType, HostValue, Signature, Value};

const NS_PER_SEC: i128 = 1_000_000_000;

/// A `time.Time` in UTC, as nanoseconds since the epoch (wide enough for any `Add`), or a
/// `*time.Time` (what `toTime` returns) when `ptr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoTime {
    pub ns: i128,
    pub ptr: bool,
}

/// A `time.Duration`, or a `*time.Duration` (what `toDuration` returns) when `ptr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoDuration {
    pub ns: i64,
    pub ptr: bool,
}

/// Go's `float64` to `int64` conversion as amd64 does it: out of range (and NaN) gives
/// `math.MinInt64`.
pub fn go_f64_to_i64(v: f64) -> i64 {
    if v.is_nan() || !(i64::MIN as f64..i64::MAX as f64).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The calendar fields of a time.
struct Civil {
    year: i64,
    month: usize, // 1..=12
    day: i64,
    yday: i64, // 1..=366
    weekday: usize,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
}

fn civil(ns: i128) -> Civil {
    let secs = ns.div_euclid(NS_PER_SEC);
    let nsec = ns.rem_euclid(NS_PER_SEC) as i64;
    let days = secs.div_euclid(86_400) as i64;
    let sod = secs.rem_euclid(86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = CUM[(month - 1) as usize] + day + i64::from(leap && month > 2);
    Civil {
        year,
        month: month as usize,
        day,
        yday,
        weekday: (days + 4).rem_euclid(7) as usize,
        hour: sod / 3600,
        min: sod % 3600 / 60,
        sec: sod % 60,
        nsec,
    }
}

/// Go's `appendInt`: `x` in decimal, zero-padded to `width` digits.
fn append_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// A numeric zone (`-0700`, ...): the UTC text and, for ISO 8601 forms, `Z`.
    NumTz(&'static str, bool),
    Frac(u8, usize, char),
}

/// Go's `nextStdChunk`: the text before the first layout element, the element and the
/// rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let has = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    let lower_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    for i in 0..b.len() {
        let found: Option<(Std, usize)> = match b[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    Some((Std::LongMonth, 7))
                } else if !lower_at(i + 3) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "Mon") => {
                if has(i, "Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if !lower_at(i + 3) {
                    Some((Std::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "MST") => Some((Std::Tz, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Std::ZeroMonth, 2)),
                Some(b'2') => Some((Std::ZeroDay, 2)),
                Some(b'3') => Some((Std::ZeroHour12, 2)),
                Some(b'4') => Some((Std::ZeroMinute, 2)),
                Some(b'5') => Some((Std::ZeroSecond, 2)),
                Some(b'6') => Some((Std::Year, 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((Std::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' if b.get(i + 1) == Some(&b'5') => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if has(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if b.get(i + 1) == Some(&b'2') => {
                if has(i + 1, "2006") {
                    return (&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]);
                }
                Some((Std::UnderDay, 2))
            }
            b'_' if has(i + 1, "_2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((Std::PM, 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((Std::Pm, 2)),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                [
                    ("070000", "+000000"),
                    ("07:00:00", "+00:00:00"),
                    ("0700", "+0000"),
                    ("07:00", "+00:00"),
                    ("07", "+00"),
                ]
                .iter()
                .find(|(l, _)| has(i + 1, l))
                .map(|(l, utc)| (Std::NumTz(utc, iso), l.len() + 1))
            }
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((Std::Frac(ch, j - (i + 1), c as char), j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = found {
            return (&layout[..i], Some(std), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

/// Go's `Time.Format` for a time in UTC.
pub fn format(ns: i128, layout: &str) -> String {
    let c = civil(ns);
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout;
    while !rest.is_empty() {
        let (prefix, std, after) = next_std_chunk(rest);
        out.push_str(prefix);
        let Some(std) = std else { break };
        rest = after;
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::Year => append_int(&mut out, (c.year % 100).abs(), 2),
            Std::LongYear => append_int(&mut out, c.year, 4),
            Std::Month => out.push_str(&MONTHS[c.month - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[c.month - 1]),
            Std::NumMonth => append_int(&mut out, c.month as i64, 0),
            Std::ZeroMonth => append_int(&mut out, c.month as i64, 2),
            Std::WeekDay => out.push_str(&DAYS[c.weekday][..3]),
            Std::LongWeekDay => out.push_str(DAYS[c.weekday]),
            Std::Day => append_int(&mut out, c.day, 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                append_int(&mut out, c.day, 0);
            }
            Std::ZeroDay => append_int(&mut out, c.day, 2),
            Std::UnderYearDay => {
                if c.yday < 100 {
                    out.push(' ');
                    if c.yday < 10 {
                        out.push(' ');
                    }
                }
                append_int(&mut out, c.yday, 0);
            }
            Std::ZeroYearDay => append_int(&mut out, c.yday, 3),
            Std::Hour => append_int(&mut out, c.hour, 2),
            Std::Hour12 => append_int(&mut out, hour12, 0),
            Std::ZeroHour12 => append_int(&mut out, hour12, 2),
            Std::Minute => append_int(&mut out, c.min, 0),
            Std::ZeroMinute => append_int(&mut out, c.min, 2),
            Std::Second => append_int(&mut out, c.sec, 0),
            Std::ZeroSecond => append_int(&mut out, c.sec, 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::Tz => out.push_str("UTC"),
            Std::NumTz(utc, iso) => out.push_str(if iso { "Z" } else { utc }),
            Std::Frac(ch, n, sep) => {
                let digits = format!("{:09}", c.nsec);
                let n = n.min(9);
                if ch == b'0' {
                    out.push(sep);
                    out.push_str(&digits[..n]);
                } else {
                    let d = digits[..n].trim_end_matches('0');
                    if !d.is_empty() {
                        out.push(sep);
                        out.push_str(d);
                    }
                }
            }
        }
    }
    out
}

/// Go's `Time.String` for a time in UTC.
pub fn time_string(ns: i128) -> String {
    format(ns, "2006-01-02 15:04:05.999999999 -0700 MST")
}

/// Go's `Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn duration_string(d: i64) -> String {
    let u = d.unsigned_abs();
    let frac = |v: u64, prec: u32| -> String {
        let p = 10u64.pow(prec);
        let f = v % p;
        let mut s = format!("{}", v / p);
        if f != 0 {
            let digits = format!("{f:0width$}", width = prec as usize);
            s.push('.');
            s.push_str(digits.trim_end_matches('0'));
        }
        s
    };
    let body = if u == 0 {
        return "0s".to_string();
    } else if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}\u{b5}s", frac(u, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", frac(u, 6))
    } else {
        let secs = u / 1_000_000_000;
        let s = frac(u % 60_000_000_000, 9);
        let (m, h) = ((secs / 60) % 60, secs / 3600);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    if d < 0 {
        format!("-{body}")
    } else {
        body
    }
}

fn duration_arg(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(n) => Ok(*n),
        other => other
            .host_ref::<GoDuration>()
            .map(|d| d.ns)
            .ok_or_else(|| format!("can't use {} as time.Duration", other.go_type())),
    }
}

fn time_arg(v: &Value) -> Result<i128, String> {
    v.host_ref::<GoTime>()
        .map(|t| t.ns)
        .ok_or_else(|| format!("can't use {} as time.Time", v.go_type()))
}

const DURATION: ArgType = ArgType::Named("time.Duration", ArgKind::Int);
const TIME: ArgType = ArgType::Named("time.Time", ArgKind::Struct);

impl HostValue for GoTime {
    fn go_type_name(&self) -> String {
        if self.ptr { "*time.Time" } else { "time.Time" }.to_string()
    }

    fn method(&self, name: &str) -> Option<Signature> {
        Some(match name {
            "Format" => Signature::new(vec![ArgType::String]),
            "Add" => Signature::new(vec![DURATION]),
            "Sub" => Signature::new(vec![TIME]),
            "Before" | "After" | "Equal" => Signature::new(vec![TIME]),
            "String" | "Unix" | "UnixMilli" | "UnixMicro" | "UnixNano" | "Year" | "Month"
            | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "YearDay" | "Weekday"
            | "UTC" | "Local" | "IsZero" => Signature::new(vec![]),
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let ns = self.ns;
        let secs = ns.div_euclid(NS_PER_SEC);
        let c = || civil(ns);
        let int = |v: i128| Value::Int(v.clamp(i64::MIN.into(), i64::MAX.into()) as i64);
        Ok(match name {
            "Format" => Value::String(format(ns, args[0].as_str().unwrap_or_default())),
            "String" => Value::String(time_string(ns)),
            "Add" => Value::host(GoTime {
                ns: ns + i128::from(duration_arg(&args[0])?),
                ptr: false,
            }),
            "Sub" => {
                let d = ns - time_arg(&args[0])?;
                Value::host(GoDuration {
                    ns: d.clamp(i64::MIN.into(), i64::MAX.into()) as i64,
                    ptr: false,
                })
            }
            "Before" => Value::Bool(ns < time_arg(&args[0])?),
            "After" => Value::Bool(ns > time_arg(&args[0])?),
            "Equal" => Value::Bool(ns == time_arg(&args[0])?),
            "Unix" => int(secs),
            "UnixMilli" => int(ns.div_euclid(1_000_000)),
            "UnixMicro" => int(ns.div_euclid(1_000)),
            "UnixNano" => Value::Int(ns as i64),
            "Year" => Value::Int(c().year),
            "Month" => Value::host(GoMonth(c().month)),
            "Day" => Value::Int(c().day),
            "Hour" => Value::Int(c().hour),
            "Minute" => Value::Int(c().min),
            "Second" => Value::Int(c().sec),
            "Nanosecond" => Value::Int(c().nsec),
            "YearDay" => Value::Int(c().yday),
            "Weekday" => Value::host(GoWeekday(c().weekday)),
            "UTC" | "Local" => Value::host(GoTime { ns, ptr: false }),
            "IsZero" => Value::Bool(ns == -62_135_596_800 * NS_PER_SEC),
            _ => return Err(format!("time.Time has no method {name}")),
        })
    }

    fn string(&self) -> Option<String> {
        Some(time_string(self.ns))
    }
}

impl HostValue for GoDuration {
    fn go_type_name(&self) -> String {
        if self.ptr {
            "*time.Duration"
        } else {
            "time.Duration"
        }
        .to_string()
    }

    fn method(&self, name: &str) -> Option<Signature> {
        matches!(
            name,
            "String"
                | "Seconds"
                | "Minutes"
                | "Hours"
                | "Milliseconds"
                | "Microseconds"
                | "Nanoseconds"
        )
        .then(|| Signature::new(vec![]))
    }

    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        let ns = self.ns;
        let split = |unit: i64| (ns / unit) as f64 + (ns % unit) as f64 / unit as f64;
        Ok(match name {
            "String" => Value::String(duration_string(ns)),
            "Seconds" => Value::Float(split(1_000_000_000)),
            "Minutes" => Value::Float(split(60_000_000_000)),
            "Hours" => Value::Float(split(3_600_000_000_000)),
            "Milliseconds" => Value::Int(ns / 1_000_000),
            "Microseconds" => Value::Int(ns / 1_000),
            "Nanoseconds" => Value::Int(ns),
            _ => return Err(format!("time.Duration has no method {name}")),
        })
    }

    fn string(&self) -> Option<String> {
        Some(duration_string(self.ns))
    }
}

/// `time.Month`.
#[derive(Debug, Clone, Copy)]
pub struct GoMonth(usize);

impl HostValue for GoMonth {
    fn go_type_name(&self) -> String {
        "time.Month".to_string()
    }

    fn string(&self) -> Option<String> {
        Some(MONTHS[self.0 - 1].to_string())
    }
}

/// `time.Weekday`.
#[derive(Debug, Clone, Copy)]
pub struct GoWeekday(usize);

impl HostValue for GoWeekday {
    fn go_type_name(&self) -> String {
        "time.Weekday".to_string()
    }

    fn string(&self) -> Option<String> {
        Some(DAYS[self.0].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i128 = 1_353_755_652 * NS_PER_SEC + 123_456_789;

    #[test]
    fn layouts() {
        assert_eq!(
            format(T, "Mon Jan 2 15:04:05 2006"),
            "Sat Nov 24 11:14:12 2012"
        );
        assert_eq!(
            format(T, time::RFC3339NANO),
            "2012-11-24T11:14:12.123456789Z"
        );
        assert_eq!(
            format(T, "02/01/06 03:04:05PM .000 ,9"),
            "24/11/12 11:14:12AM .123 ,1"
        );
        assert_eq!(
            format(T, "Monday January _2 __2 002 pm -07:00 MST"),
            "Saturday November 24 329 329 am +00:00 UTC"
        );
        assert_eq!(format(T, "Janu 2006_2006"), "Janu 2012_2012");
        assert_eq!(time_string(T), "2012-11-24 11:14:12.123456789 +0000 UTC");
        assert_eq!(time_string(-NS_PER_SEC), "1969-12-31 23:59:59 +0000 UTC");
    }

    mod time {
        pub const RFC3339NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";
    }

    #[test]
    fn durations() {
        for (ns, s) in [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1\u{b5}s"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (1_800_000_000_000, "30m0s"),
            (4_000_000_000_000 + 5_000_000, "1h6m40.005s"),
            (-1_000_000_000, "-1s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(duration_string(ns), s);
        }
    }
}
