//! sprig's string functions: trimming, case, padding, quoting, splitting and joining.

use super::{
    bool_of, check_size, strslice,
    Arity::{AtLeast, Exact},
    Call, Func, Res,
};
use crate::template::format;
use crate::template::value::{Kind, TValue};
use crate::template::Traced;

pub(super) static FUNCS: &[Func] = &[
    Func::new("trim", Exact(1), |c| Ok(TValue::traced(trim_by(&c.traced(0), char::is_whitespace, true, true)))),
    Func::new("trimAll", Exact(2), trim_all),
    Func::new("trimall", Exact(2), trim_all),
    Func::new("trimPrefix", Exact(2), |c| {
        let (prefix, t) = (c.str(0), c.traced(1));
        let start = if t.text.starts_with(&prefix) { prefix.len() } else { 0 };
        Ok(TValue::traced(t.slice(start..t.len())))
    }),
    Func::new("trimSuffix", Exact(2), |c| {
        let (suffix, t) = (c.str(0), c.traced(1));
        let end = if t.text.ends_with(&suffix) { t.len() - suffix.len() } else { t.len() };
        Ok(TValue::traced(t.slice(0..end)))
    }),
    Func::new("upper", Exact(1), |c| Ok(TValue::traced(c.traced(0).map_text(str::to_uppercase)))),
    Func::new("lower", Exact(1), |c| Ok(TValue::traced(c.traced(0).map_text(str::to_lowercase)))),
    Func::new("title", Exact(1), |c| Ok(TValue::traced(c.traced(0).map_text(title)))),
    Func::new("untitle", Exact(1), |c| Ok(TValue::traced(c.traced(0).map_text(untitle)))),
    Func::new("swapcase", Exact(1), |c| Ok(TValue::traced(c.traced(0).map_text(swap_case)))),
    Func::new("shuffle", Exact(1), |c| Ok(TValue::traced(c.traced(0)))),
    Func::new("repeat", Exact(2), |c| {
        let (count, text) = (c.int(0).max(0) as u128, c.str(1));
        check_size(count * text.len() as u128)?;
        Ok(TValue::str(text.repeat(count as usize)))
    }),
    Func::new("substr", Exact(3), substr),
    Func::new("trunc", Exact(2), trunc),
    Func::new("nospace", Exact(1), |c| {
        Ok(TValue::traced(c.traced(0).map_chars(|ch| ch.is_whitespace().then(String::new))))
    }),
    Func::new("abbrev", Exact(2), abbrev),
    Func::new("abbrevboth", Exact(3), abbrevboth),
    Func::new("initials", Exact(1), |c| {
        Ok(TValue::str(c.str(0).split_whitespace().filter_map(|w| w.chars().next()).collect::<String>()))
    }),
    Func::new("wrap", Exact(2), |c| Ok(TValue::str(wrap_words(&c.str(1), c.int(0).max(1) as usize, "\n")))),
    Func::new("wrapWith", Exact(3), |c| Ok(TValue::str(wrap_words(&c.str(2), c.int(0).max(1) as usize, &c.str(1))))),
    Func::new("contains", Exact(2), |c| bool_of(c.str(1).contains(&c.str(0)))),
    Func::new("hasPrefix", Exact(2), |c| bool_of(c.str(1).starts_with(&c.str(0)))),
    Func::new("hasSuffix", Exact(2), |c| bool_of(c.str(1).ends_with(&c.str(0)))),
    Func::new("quote", AtLeast(0), |c| quote(c, true)),
    Func::new("squote", AtLeast(0), |c| quote(c, false)),
    Func::new("cat", AtLeast(0), |c| {
        let pieces: Vec<Traced> = c.args.iter().filter(|v| !v.is_null()).map(format::to_traced).collect();
        Ok(TValue::traced(Traced::join(&pieces, " ")))
    }),
    Func::new("indent", Exact(2), |c| indent(c, false)),
    Func::new("nindent", Exact(2), |c| indent(c, true)),
    Func::new("replace", Exact(3), |c| {
        let (from, to, t) = (c.str(0), c.str(1), c.traced(2));
        let grows = (to.len() as u128).saturating_sub(from.len() as u128);
        check_size(t.len() as u128 + grows * t.text.matches(from.as_str()).count() as u128)?;
        Ok(TValue::traced(t.replace(&from, &to)))
    }),
    Func::new("plural", Exact(3), |c| Ok(if c.int(2) == 1 { c.value(0) } else { c.value(1) })),
    Func::new("snakecase", Exact(1), |c| Ok(TValue::str(snake_case(&c.str(0), '_')))),
    Func::new("kebabcase", Exact(1), |c| Ok(TValue::str(snake_case(&c.str(0), '-')))),
    Func::new("camelcase", Exact(1), |c| Ok(TValue::str(camel_case(&c.str(0))))),
    Func::new("toString", Exact(1), |c| {
        Ok(match c.args[0].kind() {
            Kind::Str(_) => c.args[0].clone(),
            Kind::Null => TValue::str("<nil>"),
            _ => TValue::traced(c.traced(0)),
        })
    }),
    Func::new("toStrings", Exact(1), |c| {
        Ok(TValue::list(strslice(&c.args[0]).into_iter().map(TValue::traced).collect()))
    }),
    Func::new("split", Exact(2), |c| split(c.str(0), c.traced(1), None)),
    Func::new("splitn", Exact(3), |c| split(c.str(0), c.traced(2), Some(c.int(1)))),
    Func::new("splitList", Exact(2), |c| {
        let pieces = c.traced(1).split(&c.str(0), None);
        Ok(TValue::list(pieces.into_iter().map(TValue::traced).collect()))
    }),
    Func::new("join", Exact(2), |c| Ok(TValue::traced(Traced::join(&strslice(&c.args[1]), &c.str(0))))),
    Func::new("sortAlpha", Exact(1), |c| {
        let mut list = strslice(&c.args[0]);
        list.sort_by(|x, y| x.text.cmp(&y.text));
        Ok(TValue::list(list.into_iter().map(TValue::traced).collect()))
    }),
    Func::new("hello", Exact(0), |_| Ok(TValue::str("Hello!"))),
];

fn trim_all(c: &mut Call) -> Res {
    let cutset = c.str(0);
    Ok(TValue::traced(trim_by(&c.traced(1), |ch| cutset.contains(ch), true, true)))
}

fn trim_by(t: &Traced, pred: impl Fn(char) -> bool, start: bool, end: bool) -> Traced {
    let text = &t.text;
    let a = if start { text.len() - text.trim_start_matches(&pred).len() } else { 0 };
    let b = if end { a + text[a..].trim_end_matches(&pred).len() } else { text.len() };
    t.slice(a..b)
}

fn swap_case(t: &str) -> String {
    t.chars()
        .map(|ch| if ch.is_uppercase() { ch.to_lowercase().collect::<String>() } else { ch.to_uppercase().collect() })
        .collect()
}

fn substr(c: &mut Call) -> Res {
    let t = c.traced(2);
    let (start, end) = (c.int(0), c.int(1));
    let len = t.len() as i64;
    let range = if start < 0 {
        0..end.clamp(0, len) as usize
    } else if end < 0 || end > len {
        (start.min(len)) as usize..t.len()
    } else {
        start.min(end) as usize..end as usize
    };
    char_slice(&t, range)
}

fn trunc(c: &mut Call) -> Res {
    let t = c.traced(1);
    let n = c.int(0);
    let len = t.len() as i64;
    let range = if n < 0 && len + n > 0 {
        (len + n) as usize..t.len()
    } else if n >= 0 && len > n {
        0..n as usize
    } else {
        0..t.len()
    };
    char_slice(&t, range)
}

/// Slices by byte range, widened to char boundaries so a multi-byte char is never split.
fn char_slice(t: &Traced, range: std::ops::Range<usize>) -> Res {
    let mut start = range.start.min(t.len());
    while !t.text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = range.end.min(t.len()).max(start);
    while !t.text.is_char_boundary(end) {
        end += 1;
    }
    Ok(TValue::traced(t.slice(start..end)))
}

fn abbrev(c: &mut Call) -> Res {
    let t = c.traced(1);
    let width = c.int(0).max(0) as usize;
    if t.text.chars().count() <= width || width < 4 {
        return Ok(TValue::traced(t));
    }
    let end = t.text.char_indices().nth(width - 3).map_or(t.len(), |(i, _)| i);
    let mut out = t.slice(0..end);
    out.push_str("...");
    Ok(TValue::traced(out))
}

/// goutils.AbbreviateFull: "..." on both sides around a window of the text.
fn abbrevboth(c: &mut Call) -> Res {
    let text: Vec<char> = c.str(2).chars().collect();
    let (mut offset, width) = (c.int(0).max(0) as usize, c.int(1).max(0) as usize);
    let len = text.len();
    if width < 4 || len <= width {
        return Ok(TValue::str(text.iter().collect::<String>()));
    }
    if offset > len {
        offset = len;
    }
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    let s: String;
    if offset <= 4 {
        s = text[..width - 3].iter().collect::<String>() + "...";
    } else if width < 7 {
        s = text.iter().collect();
    } else if offset + width - 3 < len {
        let inner: String = text[offset..].iter().collect();
        let inner_chars: Vec<char> = inner.chars().collect();
        let cut: String = if inner_chars.len() > width - 3 {
            inner_chars[..width - 6].iter().collect::<String>() + "..."
        } else {
            inner
        };
        s = format!("...{cut}");
    } else {
        s = format!("...{}", text[len - (width - 3)..].iter().collect::<String>());
    }
    Ok(TValue::str(s))
}

fn quote(c: &mut Call, double: bool) -> Res {
    let pieces: Vec<Traced> = c
        .args
        .iter()
        .filter(|v| !v.is_null())
        .map(|v| {
            let t = format::to_traced(v);
            if double {
                format::go_quote(&t)
            } else {
                let mut out = Traced::plain("'");
                out.push(&t);
                out.push_str("'");
                out
            }
        })
        .collect();
    Ok(TValue::traced(Traced::join(&pieces, " ")))
}

fn indent(c: &mut Call, newline: bool) -> Res {
    let width = c.int(0).max(0) as u128;
    let t = c.traced(1);
    let lines = t.text.matches('\n').count() as u128 + 1;
    check_size(t.len() as u128 + width * lines + 1)?;
    let pad = " ".repeat(width as usize);
    let mut out = Traced::plain(if newline { "\n" } else { "" });
    out.push_str(&pad);
    out.push(&t.replace("\n", &format!("\n{pad}")));
    Ok(TValue::traced(out))
}

fn split(sep: String, text: Traced, limit: Option<i64>) -> Res {
    // strings.SplitN: n == 0 gives nothing, n < 0 everything.
    let limit = match limit {
        Some(0) => return Ok(TValue::map(Vec::new())),
        Some(n) if n > 0 => Some(n as usize),
        _ => None,
    };
    let pieces = text.split(&sep, limit);
    Ok(TValue::map(pieces.into_iter().enumerate().map(|(i, p)| (format!("_{i}"), TValue::traced(p))).collect()))
}

/// Go's strings.Title: ASCII letters, digits and `_` continue a word; other ASCII starts one.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut prev_separator = true;
    for c in s.chars() {
        if prev_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_separator = is_separator(c);
    }
    out
}

fn untitle(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        at_word_start = c.is_whitespace();
    }
    out
}

fn snake_case(s: &str, sep: char) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' || c == ' ' || c == '.' {
            if !out.is_empty() && !out.ends_with(sep) {
                out.push(sep);
            }
            continue;
        }
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if !out.is_empty() && !out.ends_with(sep) && (prev_lower || (prev_upper && next_lower)) {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel_case(s: &str) -> String {
    s.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

fn wrap_words(text: &str, width: usize, sep: &str) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split(' ') {
        if line_len > 0 && line_len + 1 + word.len() > width {
            out.push_str(sep);
            line_len = 0;
        } else if line_len > 0 || !out.is_empty() {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}
