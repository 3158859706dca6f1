//! Go's `fmt` as templates use it: printing values in actions, `print`, `println` and `printf`,
//! keeping spans on every byte copied from a traced string or printed from a values number.

use super::value::{Kind, TValue};
use super::Traced;

/// What an action `{{ x }}` writes: Go prints nil as "<no value>". Helm removes that text from
/// each rendered file and from `tpl`'s result, but not from `include`'s, so a nil printed inside
/// an include and piped on (`include "x" . | quote`) is seen as "<no value>".
pub(crate) fn print_value(out: &mut Traced, v: &TValue) {
    if v.is_null() {
        out.push_str(NO_VALUE);
    } else {
        write_v(out, v, 'v', true);
    }
}

pub(crate) const NO_VALUE: &str = "<no value>";

/// The text of a value as sprig's `toString` gives it, without spans.
pub(crate) fn plain_string(v: &TValue) -> String {
    to_traced(v).text
}

/// A value where a function wants a string: strings as they are, everything else as `%v`. Go
/// would reject nil for a string parameter; we pass it as empty so probe renders keep going.
pub(crate) fn to_traced(v: &TValue) -> Traced {
    match v.kind() {
        Kind::Str(s) => s.clone(),
        Kind::Null => Traced::default(),
        _ => {
            let mut out = Traced::default();
            write_v(&mut out, v, 'v', true);
            out
        }
    }
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[TValue]) -> Traced {
    let mut out = Traced::default();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a.kind(), Kind::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push_str(" ");
        }
        write_v(&mut out, a, 'v', true);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: always spaces, then a newline.
pub(crate) fn sprintln(args: &[TValue]) -> Traced {
    let mut out = Traced::default();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(" ");
        }
        write_v(&mut out, a, 'v', true);
    }
    out.push_str("\n");
    out
}

/// Writes `v` as `%v` (or `%s`, which differs only for non-strings inside lists and maps).
pub(crate) fn write_v(out: &mut Traced, v: &TValue, verb: char, top: bool) {
    match v.kind() {
        Kind::Null => out.push_str("<nil>"),
        Kind::Str(s) => out.push(s),
        Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) if verb == 's' && !top => {
            out.push_str(&bad_verb(verb, v));
        }
        Kind::Bool(b) => out.push(&Traced::from_origin(b.to_string(), v.origin())),
        Kind::Int(i) => out.push(&Traced::from_origin(i.to_string(), v.origin())),
        Kind::Float(f) => out.push(&Traced::from_origin(go_float(*f, 'g', None), v.origin())),
        Kind::List(items) => {
            out.push_str("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(" ");
                }
                write_v(out, item, verb, false);
            }
            out.push_str("]");
        }
        Kind::ApiVersions(items) => out.push_str(&format!("[{}]", items.join(" "))),
        Kind::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push_str(" ");
                }
                out.push_str(k);
                out.push_str(":");
                write_v(out, item, verb, false);
            }
            out.push_str("]");
        }
        Kind::Files(files) => {
            out.push_str("map[");
            let names: Vec<&str> = files.keys().map(String::as_str).collect();
            out.push_str(&names.join(" "));
            out.push_str("]");
        }
        // A *semver.Version is a fmt.Stringer.
        Kind::Semver(v) => out.push_str(&v.to_string()),
        // time.Time's String().
        Kind::Time(t) => out.push_str(&super::funcs::go_time_string(*t)),
    }
}

fn bad_verb(verb: char, v: &TValue) -> String {
    match v.kind() {
        Kind::Null => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", v.type_name(), plain_v(v)),
    }
}

fn plain_v(v: &TValue) -> String {
    let mut out = Traced::default();
    write_v(&mut out, v, 'v', true);
    out.text
}

/// Go's strconv.FormatFloat(f, fmt, prec, 64) for 'g', 'e', 'f' (prec None = shortest).
pub(crate) fn go_float(f: f64, fmt: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    match fmt {
        'f' => match prec {
            Some(p) => format!("{f:.p$}"),
            None => format!("{f}"),
        },
        'e' => {
            let s = match prec {
                Some(p) => format!("{f:.p$e}"),
                None => format!("{f:e}"),
            };
            go_exponent(&s)
        }
        _ => {
            // Shortest digits decide between %e and %f, as strconv's %g does.
            let sci = match prec {
                Some(p) => format!("{:.*e}", p.max(1) - 1, f),
                None => format!("{f:e}"),
            };
            let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let digits = mantissa.trim_start_matches('-').replace('.', "").len();
            let eprec = match prec {
                None => 6,
                Some(p) => {
                    let p = p.max(1) as i32;
                    if p > digits as i32 && digits as i32 > exp {
                        digits as i32
                    } else {
                        p
                    }
                }
            };
            if exp < -4 || exp >= eprec {
                let mut m = mantissa.to_string();
                if prec.is_some() && m.contains('.') {
                    m = m.trim_end_matches('0').trim_end_matches('.').to_string();
                }
                go_exponent(&format!("{m}e{exp}"))
            } else {
                let decimals = (digits as i32 - 1 - exp).max(0) as usize;
                let s = format!("{f:.decimals$}");
                if prec.is_some() && s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            }
        }
    }
}

/// Rust writes `1e6`; Go writes `1e+06`.
fn go_exponent(s: &str) -> String {
    let Some((m, e)) = s.split_once('e') else {
        return s.to_string();
    };
    let (sign, digits) = match e.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', e.trim_start_matches('+')),
    };
    format!("{m}e{sign}{digits:0>2}")
}

/// Go's strconv.Quote.
pub(crate) fn go_quote(t: &Traced) -> Traced {
    let mut out = Traced::plain("\"");
    out.push(&t.map_chars(|c| match c {
        '"' => Some("\\\"".into()),
        '\\' => Some("\\\\".into()),
        '\n' => Some("\\n".into()),
        '\t' => Some("\\t".into()),
        '\r' => Some("\\r".into()),
        '\x07' => Some("\\a".into()),
        '\x08' => Some("\\b".into()),
        '\x0c' => Some("\\f".into()),
        '\x0b' => Some("\\v".into()),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => Some(format!("\\x{:02x}", c as u32)),
        _ => None,
    }));
    out.push_str("\"");
    out
}

/// `fmt.Sprintf` for the verbs charts use, keeping spans on copied strings and values numbers.
pub(crate) fn sprintf(format: &str, args: &[TValue]) -> Traced {
    let mut out = Traced::default();
    let mut next_arg = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            let mut buf = [0u8; 4];
            out.push_str(c.encode_utf8(&mut buf));
            continue;
        }
        let mut minus = false;
        let mut plus = false;
        let mut zero = false;
        let mut space = false;
        let mut sharp = false;
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => sharp = true,
                _ => break,
            }
            chars.next();
        }
        // Go's fmt refuses a width or precision above a million (%!(BADWIDTH)); a number that
        // grows past it ends the format string, as Go's parsenum does.
        const TOO_LARGE: usize = 1_000_000;
        let read_num = |chars: &mut std::iter::Peekable<std::str::CharIndices>,
                        next_arg: &mut usize|
         -> Result<Option<usize>, ()> {
            if chars.peek().map(|&(_, c)| c) == Some('*') {
                chars.next();
                let v = args.get(*next_arg).and_then(|a| match a.kind() {
                    Kind::Int(i) => Some(*i),
                    _ => None,
                });
                *next_arg += 1;
                return match v {
                    Some(v) if v.unsigned_abs() as usize <= TOO_LARGE => Ok(Some(v.unsigned_abs() as usize)),
                    _ => Err(()),
                };
            }
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                let Some(digit) = d.to_digit(10) else { break };
                let next = n.unwrap_or(0) * 10 + digit as usize;
                if next > TOO_LARGE {
                    // Go skips the rest of the format without a BADWIDTH note.
                    chars.by_ref().for_each(drop);
                    return Ok(None);
                }
                n = Some(next);
                chars.next();
            }
            Ok(n)
        };
        let width = if let Ok(w) = read_num(&mut chars, &mut next_arg) {
            w
        } else {
            out.push_str("%!(BADWIDTH)");
            None
        };
        let mut prec: Option<usize> = None;
        if chars.peek().map(|&(_, c)| c) == Some('.') {
            chars.next();
            match read_num(&mut chars, &mut next_arg) {
                Ok(p) => prec = Some(p.unwrap_or(0)),
                Err(()) => out.push_str("%!(BADPREC)"),
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push_str("%");
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        let body = format_one(arg, verb, prec, plus, space, sharp);
        let pad = width.unwrap_or(0).saturating_sub(body.text.chars().count());
        if pad == 0 {
            out.push(&body);
        } else if minus {
            out.push(&body);
            out.push_str(&" ".repeat(pad));
        } else if zero && matches!(arg.kind(), Kind::Int(_) | Kind::Float(_)) && verb != 's' && verb != 'v'
            || zero && verb == 'd'
        {
            let (sign, digits) = match body.text.strip_prefix('-') {
                Some(rest) => ("-", rest.to_string()),
                None => ("", body.text.clone()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(&digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push(&body);
        }
    }
    if next_arg < args.len() {
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| if a.is_null() { "<nil>".to_string() } else { format!("{}={}", a.type_name(), plain_v(a)) })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn format_one(arg: &TValue, verb: char, prec: Option<usize>, plus: bool, space: bool, sharp: bool) -> Traced {
    let origin = arg.origin();
    let number = |text: String| Traced::from_origin(text, origin);
    let signed = |text: String, negative: bool| {
        if negative {
            text
        } else if plus {
            format!("+{text}")
        } else if space {
            format!(" {text}")
        } else {
            text
        }
    };
    match (verb, arg.kind()) {
        ('v', _) if sharp => Traced::plain(format!("{:?}", arg.to_value())),
        ('v' | 's', Kind::Str(s)) => match prec {
            Some(p) => {
                let end = s.text.char_indices().nth(p).map_or(s.len(), |(i, _)| i);
                s.slice(0..end)
            }
            None => s.clone(),
        },
        ('v', _) | ('s', Kind::List(_) | Kind::Map(_)) => {
            let mut out = Traced::default();
            write_v(&mut out, arg, verb, true);
            out
        }
        ('d', Kind::Int(i)) => number(signed(i.to_string(), *i < 0)),
        ('t', Kind::Bool(b)) => number(b.to_string()),
        ('f' | 'F', Kind::Float(f)) => number(signed(go_float(*f, 'f', Some(prec.unwrap_or(6))), *f < 0.0)),
        ('f' | 'F', Kind::Int(_)) => Traced::plain(bad_verb(verb, arg)),
        ('e', Kind::Float(f)) => number(signed(go_float(*f, 'e', Some(prec.unwrap_or(6))), *f < 0.0)),
        ('g', Kind::Float(f)) => number(signed(go_float(*f, 'g', prec), *f < 0.0)),
        ('x', Kind::Int(i)) => number(if sharp { format!("0x{i:x}") } else { format!("{i:x}") }),
        ('X', Kind::Int(i)) => number(format!("{i:X}")),
        ('o', Kind::Int(i)) => number(format!("{i:o}")),
        ('b', Kind::Int(i)) => number(format!("{i:b}")),
        ('c', Kind::Int(i)) => Traced::plain(char::from_u32(*i as u32).map(String::from).unwrap_or_default()),
        ('x', Kind::Str(s)) => Traced::plain(s.text.bytes().map(|b| format!("{b:02x}")).collect::<String>()),
        ('X', Kind::Str(s)) => Traced::plain(s.text.bytes().map(|b| format!("{b:02X}")).collect::<String>()),
        ('q', Kind::Str(s)) => go_quote(s),
        ('q', Kind::Int(i)) => Traced::plain(format!("'{}'", char::from_u32(*i as u32).unwrap_or('\u{fffd}'))),
        ('T', _) => Traced::plain(arg.type_name()),
        _ => Traced::plain(bad_verb(verb, arg)),
    }
}
