//! sprig's regular-expression functions, with Go's `regexp` semantics: patterns are read as Go's
//! RE2 syntax and translated to the `regex` crate's (ASCII `\d\w\s\b`, literal `{` that starts no
//! repeat, `\Q...\E`, octal escapes, literal `[` inside a class), and patterns Go rejects are
//! rejected with Go's message.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;

use super::{bool_of, check_size, Arity::Exact, Call, Func, Res};
use crate::template::value::TValue;
use crate::template::Traced;

pub(super) static FUNCS: &[Func] = &[
    // sprig v3: regexMatch swallows a bad pattern (false); the others panic, which Go reports as
    // the call's error; the must- forms return it.
    Func::new("regexMatch", Exact(2), |c| bool_of(compile(&c.str(0)).is_ok_and(|re| re.is_match(&c.str(1))))),
    Func::new("mustRegexMatch", Exact(2), |c| bool_of(compile_err(&c.str(0))?.is_match(&c.str(1)))),
    Func::new("regexFind", Exact(2), |c| find(c, true)),
    Func::new("mustRegexFind", Exact(2), |c| find(c, false)),
    Func::new("regexFindAll", Exact(3), |c| find_all(c, true)),
    Func::new("mustRegexFindAll", Exact(3), |c| find_all(c, false)),
    Func::new("regexReplaceAll", Exact(3), |c| replace_all(c, true, false)),
    Func::new("mustRegexReplaceAll", Exact(3), |c| replace_all(c, false, false)),
    Func::new("regexReplaceAllLiteral", Exact(3), |c| replace_all(c, true, true)),
    Func::new("mustRegexReplaceAllLiteral", Exact(3), |c| replace_all(c, false, true)),
    Func::new("regexSplit", Exact(3), |c| split(c, true)),
    Func::new("mustRegexSplit", Exact(3), |c| split(c, false)),
    Func::new("regexQuoteMeta", Exact(1), |c| Ok(TValue::str(quote_meta(&c.str(0))))),
];

/// The pattern compiled, or the error text sprig's panicking forms produce.
fn compile_or_panic(pattern: &str, panics: bool) -> Result<Regex, String> {
    compile(pattern).map_err(|e| if panics { format!("regexp: Compile({}): {e}", go_backquote(pattern)) } else { e })
}

fn compile_err(pattern: &str) -> Result<Regex, String> {
    compile(pattern)
}

fn go_backquote(s: &str) -> String {
    if s.contains('`') {
        format!("{s:?}")
    } else {
        format!("`{s}`")
    }
}

fn find(c: &mut Call, panics: bool) -> Res {
    let re = compile_or_panic(&c.str(0), panics)?;
    let t = c.traced(1);
    Ok(TValue::traced(match re.find(&t.text) {
        Some(m) => t.slice(m.range()),
        None => Traced::default(),
    }))
}

fn find_all(c: &mut Call, panics: bool) -> Res {
    let re = compile_or_panic(&c.str(0), panics)?;
    let t = c.traced(1);
    let n = c.int(2);
    let found = re.find_iter(&t.text).take(if n < 0 { usize::MAX } else { n as usize });
    Ok(TValue::list(found.map(|m| TValue::traced(t.slice(m.range()))).collect()))
}

fn replace_all(c: &mut Call, panics: bool, literal: bool) -> Res {
    let re = compile_or_panic(&c.str(0), panics)?;
    let t = c.traced(1);
    let repl = c.str(2);
    let mut out = Traced::default();
    let mut last = 0;
    for caps in re.captures_iter(&t.text) {
        let m = caps.get(0).expect("group 0 always matches");
        out.push_slice(&t, last..m.start());
        if literal {
            out.push_str(&repl);
        } else {
            let mut expanded = String::new();
            caps.expand(&repl, &mut expanded);
            out.push_str(&expanded);
        }
        check_size(out.len() as u128)?;
        last = m.end();
    }
    out.push_slice(&t, last..t.len());
    Ok(TValue::traced(out))
}

/// Go's Regexp.Split: n < 0 all pieces, n == 0 none, n > 0 at most n.
fn split(c: &mut Call, panics: bool) -> Res {
    let re = compile_or_panic(&c.str(0), panics)?;
    let t = c.traced(1);
    let n = c.int(2);
    if n == 0 {
        return Ok(TValue::list(Vec::new()));
    }
    if c.str(0).is_empty() && !t.is_empty() {
        // Go splits an empty pattern into characters.
        let mut out: Vec<TValue> = Vec::new();
        for (i, ch) in t.text.char_indices() {
            if n > 0 && out.len() as i64 == n - 1 {
                out.push(TValue::traced(t.slice(i..t.len())));
                return Ok(TValue::list(out));
            }
            out.push(TValue::traced(t.slice(i..i + ch.len_utf8())));
        }
        return Ok(TValue::list(out));
    }
    let mut out = Vec::new();
    let mut last = 0;
    for m in re.find_iter(&t.text) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        if m.end() == 0 && m.start() == 0 {
            continue;
        }
        out.push(TValue::traced(t.slice(last..m.start())));
        last = m.end();
    }
    out.push(TValue::traced(t.slice(last..t.len())));
    Ok(TValue::list(out))
}

/// Go's regexp.QuoteMeta: a backslash before each of `\.+*?()|[]{}^$`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if r"\.+*?()|[]{}^$".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Patterns kept compiled: a chart calls the same few patterns once per value it cleans, and
/// compiling costs far more than matching. Bounded in entries and pattern size, so a template
/// that builds patterns from data cannot grow it without limit; when full it starts again.
const CACHE_ENTRIES: usize = 256;
const CACHE_PATTERN_BYTES: usize = 4096;

type Compiled = Result<Regex, String>;

static CACHE: LazyLock<Mutex<HashMap<String, Compiled>>> = LazyLock::new(Mutex::default);

/// Compiles a Go regular expression: `error parsing regexp: ...` when Go rejects it. Results
/// (errors too) come from a bounded cache shared by the render threads.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > CACHE_PATTERN_BYTES {
        return compile_uncached(pattern);
    }
    if let Some(hit) = CACHE.lock().unwrap_or_else(PoisonError::into_inner).get(pattern) {
        return hit.clone();
    }
    let compiled = compile_uncached(pattern);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= CACHE_ENTRIES {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), compiled.clone());
    compiled
}

fn compile_uncached(pattern: &str) -> Compiled {
    let translated = translate(pattern).map_err(|(code, at)| format!("error parsing regexp: {code}: `{at}`"))?;
    Regex::new(&translated).map_err(|e| format!("error parsing regexp: {}", e.to_string().lines().last().unwrap_or("")))
}

/// Go's largest repeat count.
const MAX_REPEAT: u32 = 1000;

/// Go's regexp/syntax nesting limit.
const MAX_NESTING: usize = 1000;

/// Go's RE2 syntax -> the regex crate's, or (Go's error code, the text it names).
fn translate(pattern: &str) -> Result<String, (&'static str, String)> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut groups: Vec<usize> = Vec::new();
    // Whether the previous item can take a repetition operator (Go: "missing argument").
    let mut can_repeat = false;
    let mut last_was_repeat = false;
    let rest = |i: usize| chars[i..].iter().collect::<String>();
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let (piece, used) = escape(&chars, i, false)?;
                out.push_str(&piece);
                i += used;
                can_repeat = true;
                last_was_repeat = false;
                continue;
            }
            '[' => {
                let (piece, used) = class(&chars, i)?;
                out.push_str(&piece);
                i += used;
                can_repeat = true;
                last_was_repeat = false;
                continue;
            }
            '(' => {
                if groups.len() >= MAX_NESTING {
                    return Err(("expression nests too deeply", pattern.to_string()));
                }
                if chars.get(i + 1) == Some(&'?') {
                    // Go knows (?P<name>, (?<name>, and flag groups of i, m, s, U.
                    let after: String = chars[i + 2..].iter().collect();
                    if after.starts_with("P<") || after.starts_with('<') {
                        let start = if after.starts_with("P<") { i + 4 } else { i + 3 };
                        let Some(close) = chars[start..].iter().position(|&ch| ch == '>') else {
                            return Err(("invalid named capture", rest(i)));
                        };
                        let name: String = chars[start..start + close].iter().collect();
                        if name.is_empty() || !name.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
                            return Err(("invalid named capture", chars[i..=(start + close)].iter().collect()));
                        }
                        out.push_str(&format!("(?P<{name}>"));
                        groups.push(i);
                        i = start + close + 1;
                        can_repeat = false;
                        last_was_repeat = false;
                        continue;
                    }
                    let mut j = i + 2;
                    while j < chars.len() && "imsU-".contains(chars[j]) {
                        j += 1;
                    }
                    match chars.get(j) {
                        Some(')' | ':') if j > i + 2 || chars.get(j) == Some(&':') => {
                            let flags: String = chars[i + 2..j].iter().collect();
                            if flags.ends_with('-') || flags.matches('-').count() > 1 {
                                return Err(("invalid or unsupported Perl syntax", chars[i..=j].iter().collect()));
                            }
                            out.push_str("(?");
                            out.push_str(&flags);
                            out.push(chars[j]);
                            if chars[j] == ':' {
                                groups.push(i);
                            }
                            i = j + 1;
                            can_repeat = false;
                            last_was_repeat = false;
                            continue;
                        }
                        _ => {
                            let end = (j + 1).min(chars.len());
                            return Err(("invalid or unsupported Perl syntax", chars[i..end].iter().collect()));
                        }
                    }
                }
                groups.push(i);
                out.push('(');
                can_repeat = false;
                last_was_repeat = false;
            }
            ')' => {
                if groups.pop().is_none() {
                    return Err(("unexpected )", pattern.to_string()));
                }
                out.push(')');
                can_repeat = true;
                last_was_repeat = false;
            }
            '|' => {
                out.push('|');
                can_repeat = false;
                last_was_repeat = false;
            }
            '*' | '+' | '?' => {
                let mut op: String = c.to_string();
                if chars.get(i + 1) == Some(&'?') {
                    op.push('?');
                }
                if !can_repeat {
                    return Err(("missing argument to repetition operator", op));
                }
                if last_was_repeat {
                    let start = out_op_start(&chars, i);
                    return Err(("invalid nested repetition operator", chars[start..i + op.len()].iter().collect()));
                }
                out.push_str(&op);
                i += op.len();
                last_was_repeat = true;
                continue;
            }
            '{' => {
                if let Some((min, max, used)) = repeat(&chars, i) {
                    let text: String = chars[i..i + used].iter().collect();
                    if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                        return Err(("invalid repeat count", text));
                    }
                    if !can_repeat {
                        return Err(("missing argument to repetition operator", text));
                    }
                    if last_was_repeat {
                        return Err(("invalid nested repetition operator", text));
                    }
                    out.push_str(&text);
                    i += used;
                    if chars.get(i) == Some(&'?') {
                        out.push('?');
                        i += 1;
                    }
                    last_was_repeat = true;
                    continue;
                }
                // Go reads a `{` that starts no repeat as a literal.
                out.push_str("\\{");
                can_repeat = true;
                last_was_repeat = false;
            }
            '}' => {
                out.push_str("\\}");
                can_repeat = true;
                last_was_repeat = false;
            }
            '^' | '$' => {
                out.push(c);
                can_repeat = true;
                last_was_repeat = false;
            }
            ' ' | '#' | '&' | '~' | '-' => {
                // Literal in Go; escaped so the regex crate never reads them as syntax.
                out.push_str(&regex::escape(&c.to_string()));
                can_repeat = true;
                last_was_repeat = false;
            }
            _ => {
                out.push(c);
                can_repeat = true;
                last_was_repeat = false;
            }
        }
        i += 1;
    }
    if let Some(&open) = groups.last() {
        let _ = open;
        return Err(("missing closing )", pattern.to_string()));
    }
    Ok(out)
}

/// Where the repetition before position `i` starts, for Go's "invalid nested repetition" text.
fn out_op_start(chars: &[char], i: usize) -> usize {
    let mut start = i;
    while start > 0 && "*+?".contains(chars[start - 1]) {
        start -= 1;
    }
    start
}

/// `{n}`, `{n,}` or `{n,m}` at `i`: (min, max, chars used).
fn repeat(chars: &[char], i: usize) -> Option<(u32, Option<u32>, usize)> {
    let mut j = i + 1;
    let digits = |j: &mut usize| -> Option<u32> {
        let start = *j;
        while *j < chars.len() && chars[*j].is_ascii_digit() {
            *j += 1;
        }
        if *j == start {
            return None;
        }
        chars[start..*j].iter().collect::<String>().parse().ok().or(Some(u32::MAX))
    };
    let min = digits(&mut j)?;
    let max = if chars.get(j) == Some(&',') {
        j += 1;
        if chars.get(j) == Some(&'}') {
            None
        } else {
            Some(digits(&mut j)?)
        }
    } else {
        Some(min)
    };
    (chars.get(j) == Some(&'}')).then_some((min, max, j + 1 - i))
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\f\r ";

/// One escape at `i` (a backslash): its translation and the chars it used. In a class, Perl
/// classes become ranges to put inside the brackets.
fn escape(chars: &[char], i: usize, in_class: bool) -> Result<(String, usize), (&'static str, String)> {
    let Some(&c) = chars.get(i + 1) else {
        return Err(("trailing backslash at end of expression", String::new()));
    };
    // Go's Perl classes are ASCII; the regex crate's are Unicode. In a class, a positive one is
    // spliced in as ranges, a negated one as a nested class.
    let perl = |set: &str, negated: bool| -> String {
        match (in_class, negated) {
            (true, false) => set.to_string(),
            (false, false) => format!("[{set}]"),
            (_, true) => format!("[^{set}]"),
        }
    };
    Ok(match c {
        'd' => (perl(DIGIT, false), 2),
        'D' => (perl(DIGIT, true), 2),
        'w' => (perl(WORD, false), 2),
        'W' => (perl(WORD, true), 2),
        's' => (perl(SPACE, false), 2),
        'S' => (perl(SPACE, true), 2),
        'b' if !in_class => ("(?-u:\\b)".into(), 2),
        'B' if !in_class => ("(?-u:\\B)".into(), 2),
        'A' | 'z' if !in_class => (format!("\\{c}"), 2),
        'C' if !in_class => ("(?s:.)".into(), 2),
        'Q' if !in_class => {
            let body: String = chars[i + 2..].iter().collect();
            let (lit, used) = match body.find("\\E") {
                Some(end) => (body[..end].to_string(), 2 + body[..end].chars().count() + 2),
                None => (body.clone(), 2 + body.chars().count()),
            };
            (format!("(?:{})", regex::escape(&lit)), used)
        }
        'a' => ("\\x07".into(), 2),
        'f' | 't' | 'n' | 'r' | 'v' => (format!("\\{c}"), 2),
        '0'..='7' => {
            // Go: octal up to three digits; a lone non-zero digit is a backreference (rejected).
            let mut j = i + 1;
            while j < chars.len() && j < i + 4 && ('0'..='7').contains(&chars[j]) {
                j += 1;
            }
            if c != '0' && j == i + 2 {
                return Err(("invalid escape sequence", format!("\\{c}")));
            }
            let digits: String = chars[i + 1..j].iter().collect();
            let code = u32::from_str_radix(&digits, 8).unwrap_or(0);
            (format!("\\x{{{code:X}}}"), j - i)
        }
        'x' => {
            if chars.get(i + 2) == Some(&'{') {
                let Some(close) = chars[i + 3..].iter().position(|&ch| ch == '}') else {
                    return Err(("invalid escape sequence", chars[i..].iter().collect()));
                };
                let hex: String = chars[i + 3..i + 3 + close].iter().collect();
                let text: String = chars[i..i + 4 + close].iter().collect();
                match u32::from_str_radix(&hex, 16) {
                    Ok(v) if v <= 0x0010_FFFF && !hex.is_empty() => (format!("\\x{{{hex}}}"), 4 + close),
                    _ => return Err(("invalid escape sequence", text)),
                }
            } else {
                let hex: String = chars.get(i + 2..i + 4).map(|s| s.iter().collect()).unwrap_or_default();
                if hex.len() != 2 || !hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
                    let end = (i + 4).min(chars.len());
                    return Err(("invalid escape sequence", chars[i..end].iter().collect()));
                }
                (format!("\\x{hex}"), 4)
            }
        }
        'p' | 'P' => {
            let (name, used) = if chars.get(i + 2) == Some(&'{') {
                let Some(close) = chars[i + 3..].iter().position(|&ch| ch == '}') else {
                    return Err(("invalid character class range", chars[i..].iter().collect()));
                };
                (chars[i + 3..i + 3 + close].iter().collect::<String>(), 4 + close)
            } else {
                match chars.get(i + 2) {
                    Some(ch) => (ch.to_string(), 3),
                    None => return Err(("invalid character class range", chars[i..].iter().collect())),
                }
            };
            (format!("\\{c}{{{name}}}"), used)
        }
        // Escaped punctuation is a literal in Go; written as a code point so the regex crate
        // never reads it as syntax (`\<` is a word boundary there).
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => (format!("\\x{{{:X}}}", c as u32), 2),
        _ => {
            return Err(("invalid escape sequence", format!("\\{c}")));
        }
    })
}

/// A bracketed class at `i`: its translation and the chars it used.
fn class(chars: &[char], i: usize) -> Result<(String, usize), (&'static str, String)> {
    let mut out = String::from("[");
    let mut j = i + 1;
    if chars.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(j) else {
            return Err(("missing closing ]", chars[i..].iter().collect()));
        };
        match c {
            ']' if !first => {
                out.push(']');
                return Ok((out, j + 1 - i));
            }
            '[' if chars.get(j + 1) == Some(&':') => {
                let body: String = chars[j..].iter().collect();
                if let Some(end) = body.find(":]") {
                    let name = &body[..end + 2];
                    let known = [
                        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
                        "space", "upper", "word", "xdigit",
                    ];
                    let inner = name.trim_start_matches("[:").trim_start_matches('^').trim_end_matches(":]");
                    if !known.contains(&inner) {
                        return Err(("invalid character class range", name.to_string()));
                    }
                    out.push_str(name);
                    j += name.chars().count();
                } else {
                    out.push_str("\\[");
                    j += 1;
                }
            }
            '\\' => {
                let (piece, used) = escape(chars, j, true)?;
                out.push_str(&piece);
                j += used;
            }
            '[' | '&' | '~' | ']' => {
                out.push_str(&format!("\\{c}"));
                j += 1;
            }
            '-' => {
                // A dash ending a range keeps its meaning; `--` would be set difference in the
                // regex crate, so a dash after a dash is escaped.
                if out.ends_with('-') {
                    out.push_str("\\-");
                } else {
                    out.push('-');
                }
                j += 1;
            }
            _ => {
                out.push(c);
                j += 1;
            }
        }
        first = false;
    }
}
