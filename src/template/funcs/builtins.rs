//! Go's text/template builtins: logic, comparison, `len`, `index`, `slice`, printing, escaping.

use std::cmp::Ordering;
use std::rc::Rc;

use super::{
    bool_of, items, to_i64,
    Arity::{AtLeast, Exact},
    Call, Func, Res,
};
use crate::template::format::{self, plain_string};
use crate::template::value::{Kind, TValue};

pub(super) static FUNCS: &[Func] = &[
    Func::engine("and", AtLeast(1)),
    Func::engine("or", AtLeast(1)),
    Func::new("not", Exact(1), |c| bool_of(!c.value(0).truthy())),
    Func::new("len", Exact(1), len),
    Func::new("index", AtLeast(1), index),
    Func::new("slice", AtLeast(1), slice),
    Func::new("print", AtLeast(0), |c| Ok(TValue::traced(format::sprint(&c.args)))),
    Func::new("println", AtLeast(0), |c| Ok(TValue::traced(format::sprintln(&c.args)))),
    Func::new("printf", AtLeast(1), printf),
    Func::new("html", AtLeast(0), html),
    Func::new("js", AtLeast(0), js),
    Func::new("urlquery", AtLeast(0), |c| Ok(TValue::str(query_escape(&format::sprint(&c.args).text)))),
    Func::new("call", AtLeast(1), |c| {
        Err(format!("non-function {} of type {}", plain_string(&c.value(0)), c.value(0).type_name()))
    }),
    Func::new("eq", AtLeast(1), eq),
    Func::new("ne", Exact(2), |c| bool_of(!compare_eq(&c.args[0], &c.args[1])?)),
    Func::new("lt", Exact(2), |c| bool_of(compare_order(&c.args[0], &c.args[1])?.is_lt())),
    Func::new("le", Exact(2), |c| bool_of(compare_order(&c.args[0], &c.args[1])?.is_le())),
    Func::new("gt", Exact(2), |c| bool_of(compare_order(&c.args[0], &c.args[1])?.is_gt())),
    Func::new("ge", Exact(2), |c| bool_of(compare_order(&c.args[0], &c.args[1])?.is_ge())),
];

fn len(c: &mut Call) -> Res {
    let v = c.value(0);
    let n = match v.kind() {
        Kind::Str(t) => t.len(),
        Kind::List(l) => l.len(),
        Kind::Map(m) => m.borrow().len(),
        Kind::Files(f) => f.len(),
        Kind::ApiVersions(l) => l.len(),
        Kind::Null => return Err("len of nil pointer".into()),
        _ => return Err(format!("len of type {}", v.type_name())),
    };
    Ok(TValue::int(n as i64))
}

/// Go's `index`: a missing map key is the zero value (nil); indexing nil further is an error.
fn index(c: &mut Call) -> Res {
    let mut item = c.value(0);
    if item.is_null() {
        return Err("index of untyped nil".into());
    }
    for k in 1..c.len() {
        let key = c.args[k].clone();
        item = match item.kind() {
            Kind::Map(m) => {
                let k = match key.kind() {
                    Kind::Str(t) => t.text.clone(),
                    Kind::Null => return Err("value is nil; should be of type string".into()),
                    _ => return Err(format!("value has type {}; should be string", key.type_name())),
                };
                let found = m.borrow().get(&k).cloned();
                c.record_key(&item, &k, found.as_ref());
                found.unwrap_or_else(TValue::null)
            }
            Kind::List(l) => l[list_index(&key, l.len())?].clone(),
            Kind::ApiVersions(l) => TValue::str(l[list_index(&key, l.len())?].clone()),
            Kind::Str(t) => TValue::int(i64::from(t.text.as_bytes()[list_index(&key, t.len())?])),
            Kind::Null => return Err("index of nil pointer".into()),
            _ => return Err(format!("can't index item of type {}", item.type_name())),
        };
    }
    Ok(item)
}

/// Go's indexArg: integer kinds only, inside the length.
fn list_index(key: &TValue, len: usize) -> Result<usize, String> {
    let i = match key.kind() {
        Kind::Int(i) => *i,
        Kind::Null => return Err("cannot index slice/array with nil".into()),
        _ => return Err(format!("cannot index slice/array with type {}", key.type_name())),
    };
    if i < 0 || i as usize >= len {
        return Err(format!("index out of range: {i}"));
    }
    Ok(i as usize)
}

/// sprig's `slice` replaces Go's builtin: lists only (a string is an error).
fn slice(c: &mut Call) -> Res {
    let l = match c.args[0].kind() {
        Kind::List(_) | Kind::ApiVersions(_) | Kind::Null => items(c.name, &c.args[0])?,
        _ => return Err(format!("list should be type of slice or array but {}", c.args[0].type_name())),
    };
    let end = if c.len() > 2 { to_i64(&c.args[2]).max(0) as usize } else { l.len() };
    let start = if c.len() > 1 { to_i64(&c.args[1]).max(0) as usize } else { 0 };
    if start > end || end > l.len() {
        return Err(format!("runtime error: slice bounds out of range [{start}:{end}]"));
    }
    Ok(TValue::list(l[start..end].to_vec()))
}

fn printf(c: &mut Call) -> Res {
    let fmt = c.str(0);
    Ok(TValue::traced(format::sprintf(&fmt, &c.args[1..])))
}

fn html(c: &mut Call) -> Res {
    Ok(TValue::traced(format::sprint(&c.args).map_chars(|ch| match ch {
        '<' => Some("&lt;".into()),
        '>' => Some("&gt;".into()),
        '&' => Some("&amp;".into()),
        '\'' => Some("&#39;".into()),
        '"' => Some("&#34;".into()),
        '\0' => Some("\u{fffd}".into()),
        _ => None,
    })))
}

fn js(c: &mut Call) -> Res {
    Ok(TValue::traced(format::sprint(&c.args).map_chars(|ch| match ch {
        '\\' => Some("\\\\".into()),
        '\'' => Some("\\'".into()),
        '"' => Some("\\\"".into()),
        '<' => Some("\\u003C".into()),
        '>' => Some("\\u003E".into()),
        '&' => Some("\\u0026".into()),
        '=' => Some("\\u003D".into()),
        ch if (ch as u32) < 0x20 => Some(format!("\\u{:04X}", ch as u32)),
        _ => None,
    })))
}

pub(super) fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn eq(c: &mut Call) -> Res {
    if c.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    for other in &c.args[1..] {
        if compare_eq(&c.args[0], other)? {
            return bool_of(true);
        }
    }
    bool_of(false)
}

/// The kinds Go's `eq`/`lt` compare.
#[derive(PartialEq, Clone, Copy)]
enum Basic {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn basic(v: &TValue) -> Basic {
    match v.kind() {
        Kind::Null => Basic::Invalid,
        Kind::Bool(_) => Basic::Bool,
        Kind::Int(_) => Basic::Int,
        Kind::Float(_) => Basic::Float,
        Kind::Str(_) => Basic::Str,
        _ => Basic::Other,
    }
}

fn compare_eq(a: &TValue, b: &TValue) -> Result<bool, String> {
    let (ka, kb) = (basic(a), basic(b));
    if ka != kb {
        if ka == Basic::Invalid || kb == Basic::Invalid {
            return Ok(false);
        }
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a.kind(), b.kind()) {
        (Kind::Null, Kind::Null) => true,
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::Int(x), Kind::Int(y)) => x == y,
        (Kind::Float(x), Kind::Float(y)) => x == y,
        (Kind::Str(x), Kind::Str(y)) => x.text == y.text,
        // Go compares comparable structs and pointers with `==`: a time.Time by its instant
        // (ours carry no zone or monotonic reading), a *semver.Version by identity.
        (Kind::Time(x), Kind::Time(y)) => x == y,
        (Kind::Semver(x), Kind::Semver(y)) => Rc::ptr_eq(x, y),
        _ => return Err(format!("non-comparable type {}: {}", plain_string(a), a.type_name())),
    })
}

fn compare_order(a: &TValue, b: &TValue) -> Result<Ordering, String> {
    let (ka, kb) = (basic(a), basic(b));
    if matches!(ka, Basic::Invalid | Basic::Bool | Basic::Other)
        || matches!(kb, Basic::Invalid | Basic::Bool | Basic::Other)
    {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a.kind(), b.kind()) {
        (Kind::Int(x), Kind::Int(y)) => x.cmp(y),
        (Kind::Float(x), Kind::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Kind::Str(x), Kind::Str(y)) => x.text.cmp(&y.text),
        _ => return Err("invalid type for comparison".into()),
    })
}
