//! sprig's date functions on a fixed clock (2024-01-01T00:00:00Z): a render must be repeatable,
//! because scan and overlay compare renders of the same chart under different values.

use super::{Arity::Exact, Func};
use crate::template::value::{Kind, TValue};

/// The fixed clock: 2024-01-01T00:00:00Z.
const NOW_UNIX: i64 = 1_704_067_200;

pub(super) static FUNCS: &[Func] = &[
    Func::new("now", Exact(0), |_| Ok(TValue::time(NOW_UNIX))),
    Func::new("date", Exact(2), |c| Ok(TValue::str(format_date(&c.str(0), time_of(&c.args[1]))))),
    Func::new("dateInZone", Exact(3), |c| Ok(TValue::str(format_date(&c.str(0), time_of(&c.args[1]))))),
    Func::new("date_in_zone", Exact(3), |c| Ok(TValue::str(format_date(&c.str(0), time_of(&c.args[1]))))),
    Func::new("htmlDate", Exact(1), |c| Ok(TValue::str(format_date("2006-01-02", time_of(&c.args[0]))))),
    Func::new("htmlDateInZone", Exact(2), |c| Ok(TValue::str(format_date("2006-01-02", time_of(&c.args[0]))))),
    Func::new("ago", Exact(1), |_| Ok(TValue::str("0s"))),
    // sprig's duration reads only an int64 or a string of seconds (a literal `95` is an int: 0s).
    Func::new("duration", Exact(1), |c| {
        let secs = match c.args[0].kind() {
            Kind::Str(t) => t.text.parse().unwrap_or(0),
            Kind::Int(i) if c.args[0].type_name() == "int64" => *i,
            _ => 0,
        };
        Ok(TValue::str(go_duration(secs)))
    }),
    // durationRound: a Go duration string or int64 nanoseconds, rounded to its largest unit.
    Func::new("durationRound", Exact(1), |c| {
        let nanos: i128 = match c.args[0].kind() {
            Kind::Str(t) => parse_go_duration(&t.text).unwrap_or(0),
            Kind::Int(i) if c.args[0].type_name() == "int64" => i128::from(*i),
            _ => 0,
        };
        Ok(TValue::str(round_duration(nanos.unsigned_abs())))
    }),
    Func::new("unixEpoch", Exact(1), |c| Ok(TValue::str(time_of(&c.args[0]).to_string()))),
    Func::new("dateModify", Exact(2), |c| date_modify(c, false)),
    Func::new("date_modify", Exact(2), |c| date_modify(c, false)),
    Func::new("mustDateModify", Exact(2), |c| date_modify(c, true)),
    Func::new("must_date_modify", Exact(2), |c| date_modify(c, true)),
    // toDate gives Go's zero time when the text does not match the layout.
    Func::new("toDate", Exact(2), |c| Ok(TValue::time(parse_date(&c.str(0), &c.str(1)).unwrap_or(GO_ZERO_TIME)))),
    Func::new("mustToDate", Exact(2), |c| {
        let (layout, text) = (c.str(0), c.str(1));
        parse_date(&layout, &text).map(TValue::time).ok_or_else(|| format!("parsing time {text:?} as {layout:?}"))
    }),
];

/// Go's zero time.Time, 0001-01-01 00:00:00 UTC, in Unix seconds.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// sprig's dateModify: the time plus a Go duration; an unparsable duration leaves it as it was
/// (the must- form fails).
fn date_modify(c: &mut super::Call, must: bool) -> super::Res {
    let text = c.str(0);
    let at = time_of(&c.args[1]);
    match parse_go_duration(&text) {
        Some(nanos) => Ok(TValue::time(at + (nanos / 1_000_000_000) as i64)),
        None if must => Err(format!("time: invalid duration {text:?}")),
        None => Ok(TValue::time(at)),
    }
}

/// time.Time's String(): `2017-12-31 00:00:00 +0000 UTC`.
pub(crate) fn go_time_string(unix: i64) -> String {
    format_date("2006-01-02 15:04:05 -0700 MST", unix)
}

/// RFC 3339, as encoding/json writes a time.Time.
pub(crate) fn rfc3339(unix: i64) -> String {
    format_date("2006-01-02T15:04:05Z07:00", unix)
}

/// Go's time.Parse for the layout elements charts use, in UTC: Unix seconds.
fn parse_date(layout: &str, text: &str) -> Option<i64> {
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (mut year, mut month, mut day, mut hour, mut minute, mut second, mut offset) =
        (1i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let (mut l, mut t) = (layout, text);
    let digits = |t: &mut &str, min: usize, max: usize| -> Option<i64> {
        let n = t.chars().take(max).take_while(char::is_ascii_digit).count();
        if n < min {
            return None;
        }
        let v = t[..n].parse().ok()?;
        *t = &t[n..];
        Some(v)
    };
    while !l.is_empty() {
        let token = [
            "January", "Monday", "2006", "-07:00", "-0700", "Z07:00", "Z0700", "Jan", "Mon", "MST", "01", "02", "_2",
            "15", "03", "04", "05", "06", "PM", "pm", "1", "2", "3", "4", "5",
        ]
        .into_iter()
        .find(|tok| l.starts_with(tok));
        let Some(token) = token else {
            let c = l.chars().next()?;
            t = t.strip_prefix(c)?;
            l = &l[c.len_utf8()..];
            continue;
        };
        l = &l[token.len()..];
        match token {
            "2006" => year = digits(&mut t, 4, 4)?,
            "06" => year = 2000 + digits(&mut t, 2, 2)?,
            "01" => month = digits(&mut t, 2, 2)?,
            "1" => month = digits(&mut t, 1, 2)?,
            "02" => day = digits(&mut t, 2, 2)?,
            "2" | "_2" => {
                t = t.trim_start_matches(' ');
                day = digits(&mut t, 1, 2)?;
            }
            "15" => hour = digits(&mut t, 1, 2)?,
            "03" | "3" => hour = digits(&mut t, 1, 2)?,
            "04" | "4" => minute = digits(&mut t, 1, 2)?,
            "05" | "5" => second = digits(&mut t, 1, 2)?,
            "Jan" | "January" => {
                let i = months.iter().position(|m| t.starts_with(m))?;
                month = i as i64 + 1;
                let full = t.chars().take_while(char::is_ascii_alphabetic).count();
                t = &t[if token == "Jan" { 3 } else { full }..];
            }
            "Mon" | "Monday" => {
                let n = t.chars().take_while(char::is_ascii_alphabetic).count();
                t = &t[n..];
            }
            "PM" | "pm" => {
                pm = Some(t.get(..2)?.eq_ignore_ascii_case("pm"));
                t = &t[2..];
            }
            "MST" => {
                let n = t.chars().take_while(char::is_ascii_uppercase).count();
                t = &t[n..];
            }
            _ => {
                if token.starts_with('Z') && t.starts_with('Z') {
                    t = &t[1..];
                } else {
                    let sign = match t.chars().next()? {
                        '+' => 1,
                        '-' => -1,
                        _ => return None,
                    };
                    t = &t[1..];
                    let h = digits(&mut t, 2, 2)?;
                    t = t.strip_prefix(':').unwrap_or(t);
                    let m = digits(&mut t, 2, 2)?;
                    offset = sign * (h * 3600 + m * 60);
                }
            }
        }
    }
    if !t.is_empty()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    if let Some(pm) = pm {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// (year, month, day) -> days since 1970-01-01, Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn time_of(v: &TValue) -> i64 {
    match v.kind() {
        Kind::Time(t) => *t,
        Kind::Int(i) => *i,
        Kind::Float(f) => *f as i64,
        _ => NOW_UNIX,
    }
}

/// Go's time.Format for a UTC instant, for the layout elements charts use.
fn format_date(layout: &str, unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let weekday =
        ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"][days.rem_euclid(7) as usize];
    let months = [
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
    let month = months[(m - 1) as usize];
    let tokens: &[(&str, String)] = &[
        ("January", month.to_string()),
        ("Monday", weekday.to_string()),
        ("2006", format!("{y:04}")),
        ("-07:00", "+00:00".into()),
        ("-0700", "+0000".into()),
        ("Z07:00", "Z".into()),
        ("Z0700", "Z".into()),
        (".999999999", String::new()),
        (".000", ".000".into()),
        ("Jan", month[..3].to_string()),
        ("Mon", weekday[..3].to_string()),
        ("MST", "UTC".into()),
        ("01", format!("{m:02}")),
        ("02", format!("{d:02}")),
        ("_2", format!("{d:>2}")),
        ("15", format!("{hh:02}")),
        ("03", format!("{:02}", if hh % 12 == 0 { 12 } else { hh % 12 })),
        ("04", format!("{mm:02}")),
        ("05", format!("{ss:02}")),
        ("06", format!("{:02}", y % 100)),
        ("PM", if hh >= 12 { "PM".into() } else { "AM".into() }),
        ("pm", if hh >= 12 { "pm".into() } else { "am".into() }),
        ("1", m.to_string()),
        ("2", d.to_string()),
        ("3", (if hh % 12 == 0 { 12 } else { hh % 12 }).to_string()),
        ("4", mm.to_string()),
        ("5", ss.to_string()),
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (token, value) in tokens {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(value);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Days since 1970-01-01 -> (year, month, day), Howard Hinnant's algorithm.
pub(super) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Go's time.Duration String for whole seconds.
fn go_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.abs();
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{sign}{m}m{sec}s")
    } else {
        format!("{sign}{sec}s")
    }
}

/// Go's time.ParseDuration, in nanoseconds.
fn parse_go_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[u..];
    }
    Some(if negative { -(total as i128) } else { total as i128 })
}

/// sprig's durationRound: the largest whole unit (years of 365 days, months of 30).
fn round_duration(u: u128) -> String {
    let second = 1_000_000_000u128;
    let (minute, hour) = (60 * second, 3600 * second);
    let day = 24 * hour;
    let (month, year) = (30 * day, 365 * day);
    for (unit, suffix) in [(year, "y"), (month, "mo"), (day, "d"), (hour, "h"), (minute, "m"), (second, "s")] {
        if u > unit {
            return format!("{}{suffix}", u / unit);
        }
    }
    "0s".into()
}
