//! The function library: Go's template builtins, sprig v3, and Helm's extras. Functions that pass
//! a value through return the value itself, so its origin and spans survive.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use regex::Regex;

use super::format::{self, plain_string, to_traced};
use super::semver;
use super::value::{Kind, TMap, TValue};
use super::yaml_out;
use super::{Traced, ValuesRead};

type Args = Vec<TValue>;
type Res = Result<TValue, String>;

/// Every function name a template may call (Go rejects unknown names at parse time).
#[rustfmt::skip]
const NAMES: &[&str] = &[
    // Go builtins
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js", "urlquery", "call",
    "eq", "ne", "lt", "le", "gt", "ge",
    // Helm
    "include", "tpl", "required", "fail", "toYaml", "mustToYaml", "toYamlPretty", "fromYaml", "fromYamlArray",
    "toJson", "mustToJson", "fromJson", "mustFromJson", "fromJsonArray", "toToml", "fromToml", "lookup",
    // sprig strings
    "trim", "trimAll", "trimall", "trimPrefix", "trimSuffix", "upper", "lower", "title", "untitle", "repeat",
    "substr", "nospace", "trunc", "abbrev", "abbrevboth", "initials", "randAlphaNum", "randAlpha", "randAscii",
    "randNumeric", "wrap", "wrapWith", "contains", "hasPrefix", "hasSuffix", "quote", "squote", "cat", "indent",
    "nindent", "replace", "plural", "snakecase", "camelcase", "kebabcase", "swapcase", "shuffle", "toString",
    "toStrings", "split", "splitList", "splitn", "join", "sortAlpha", "regexMatch", "mustRegexMatch", "regexFind",
    "mustRegexFind", "regexFindAll", "mustRegexFindAll", "regexReplaceAll", "mustRegexReplaceAll",
    "regexReplaceAllLiteral", "mustRegexReplaceAllLiteral", "regexSplit", "mustRegexSplit", "regexQuoteMeta",
    // sprig defaults and encodings
    "default", "empty", "coalesce", "all", "any", "ternary", "deepEqual", "toPrettyJson", "mustToPrettyJson",
    "toRawJson", "mustToRawJson", "b64enc", "b64dec", "b32enc", "b32dec", "sha1sum", "sha256sum", "sha512sum",
    "adler32sum",
    // sprig lists
    "list", "tuple", "first", "mustFirst", "last", "mustLast", "rest", "mustRest", "initial", "mustInitial",
    "append", "mustAppend", "push", "mustPush", "prepend", "mustPrepend", "concat", "reverse", "mustReverse",
    "uniq", "mustUniq", "without", "mustWithout", "has", "mustHas", "compact", "mustCompact", "mustSlice", "until",
    "untilStep", "seq", "chunk", "mustChunk",
    // sprig dicts
    "dict", "get", "set", "unset", "hasKey", "pluck", "dig", "keys", "values", "pick", "omit", "merge", "mustMerge",
    "mergeOverwrite", "mustMergeOverwrite", "deepCopy", "mustDeepCopy",
    // sprig math
    "add", "add1", "sub", "mul", "div", "mod", "max", "min", "biggest", "floor", "ceil", "round", "addf", "add1f",
    "subf", "mulf", "divf", "maxf", "minf", "int", "int64", "float64", "atoi", "toDecimal", "randInt",
    // sprig types
    "kindOf", "kindIs", "typeOf", "typeIs", "typeIsLike",
    // sprig semver
    "semver", "semverCompare",
    // sprig crypto and random (deterministic placeholders: we never need real secrets)
    "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert",
    "genSignedCertWithKey", "genPrivateKey", "derivePassword", "htpasswd", "bcrypt", "encryptAES", "decryptAES",
    "uuidv4", "randBytes",
    // sprig dates (a fixed clock: renders must be repeatable)
    "now", "date", "dateInZone", "date_in_zone", "htmlDate", "htmlDateInZone", "ago", "duration", "durationRound",
    "unixEpoch", "dateModify", "date_modify", "mustDateModify", "toDate", "mustToDate",
    // sprig paths, network, OS, URLs
    "base", "dir", "ext", "clean", "isAbs", "osBase", "osDir", "osExt", "osClean", "osIsAbs", "getHostByName",
    "env", "expandenv", "urlParse", "urlJoin",
];

pub(crate) fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

/// A fixed clock: 2024-01-01T00:00:00Z.
const NOW_UNIX: i64 = 1_704_067_200;

fn s(v: &TValue) -> Traced {
    to_traced(v)
}

fn st(v: &TValue) -> String {
    plain_string(v)
}

/// spf13/cast's ToInt64: numbers truncate, numeric strings parse, everything else is 0.
pub(crate) fn to_i64(v: &TValue) -> i64 {
    match v.kind() {
        Kind::Int(i) => *i,
        Kind::Float(f) => *f as i64,
        Kind::Bool(b) => i64::from(*b),
        Kind::Str(t) => {
            let text = t.text.trim();
            text.parse::<i64>()
                .ok()
                .or_else(|| {
                    super::lex::parse_number(text).and_then(|n| match n {
                        super::lex::Number::Int(i) => Some(i),
                        super::lex::Number::Float(_) => None,
                    })
                })
                .unwrap_or(0)
        }
        _ => 0,
    }
}

pub(crate) fn to_f64(v: &TValue) -> f64 {
    match v.kind() {
        Kind::Int(i) => *i as f64,
        Kind::Float(f) => *f,
        Kind::Bool(b) => f64::from(u8::from(*b)),
        Kind::Str(t) => t.text.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn want(name: &str, args: &Args, n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("wrong number of args for {name}: want {n} got {}", args.len()));
    }
    Ok(())
}

fn want_min(name: &str, args: &Args, n: usize) -> Result<(), String> {
    if args.len() < n {
        return Err(format!("wrong number of args for {name}: want at least {n} got {}", args.len()));
    }
    Ok(())
}

/// The items of a list argument; sprig errors on anything else.
fn items(name: &str, v: &TValue) -> Result<Vec<TValue>, String> {
    match v.kind() {
        Kind::List(l) => Ok(l.clone()),
        Kind::ApiVersions(l) => Ok(l.iter().map(|s| TValue::str(s.clone())).collect()),
        Kind::Null => Ok(Vec::new()),
        _ => Err(format!("Cannot {name} on type {}", v.type_name())),
    }
}

fn map_of<'a>(name: &str, v: &'a TValue) -> Result<&'a RefCell<TMap>, String> {
    match v.kind() {
        Kind::Map(m) => Ok(m),
        _ => {
            Err(format!("wrong type for value; expected map[string]interface {{}}; got {} (in {name})", v.type_name()))
        }
    }
}

/// sprig's strslice: list items as strings, nils dropped; a single value as a one-item list.
fn strslice(v: &TValue) -> Vec<Traced> {
    match v.kind() {
        Kind::List(l) => l.iter().filter(|x| !x.is_null()).map(s).collect(),
        Kind::ApiVersions(l) => l.iter().map(|x| Traced::plain(x.clone())).collect(),
        Kind::Null => Vec::new(),
        _ => vec![s(v)],
    }
}

/// Records a read of `key` on a values map.
fn record_key(map: &TValue, key: &str, found: Option<&TValue>, record: &mut dyn FnMut(ValuesRead)) {
    if let Some(path) = map.values_path() {
        record(ValuesRead { path: path.child(key), found: found.is_some_and(|v| !v.is_null()) });
    }
}

fn regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("error parsing regexp: {e}"))
}

fn bool_of(b: bool) -> Res {
    Ok(TValue::bool(b))
}

pub(crate) fn call(name: &str, mut args: Args, record: &mut dyn FnMut(ValuesRead)) -> Res {
    let a = |i: usize| -> TValue { args.get(i).cloned().unwrap_or_else(TValue::null) };
    match name {
        // ---- Go builtins ----
        "not" => {
            want(name, &args, 1)?;
            bool_of(!args[0].truthy())
        }
        "len" => {
            want(name, &args, 1)?;
            let n = match args[0].kind() {
                Kind::Str(t) => t.len(),
                Kind::List(l) => l.len(),
                Kind::Map(m) => m.borrow().len(),
                Kind::Files(f) => f.len(),
                Kind::ApiVersions(l) => l.len(),
                Kind::Null => return Err("len of nil pointer".into()),
                _ => return Err(format!("len of type {}", args[0].type_name())),
            };
            Ok(TValue::int(n as i64))
        }
        "index" => {
            want_min(name, &args, 1)?;
            let mut item = args[0].clone();
            for key in &args[1..] {
                item = match item.kind() {
                    Kind::Map(m) => {
                        let k = st(key);
                        let found = m.borrow().get(&k).cloned();
                        record_key(&item, &k, found.as_ref(), record);
                        found.unwrap_or_else(TValue::null)
                    }
                    Kind::List(l) => {
                        let i = match key.kind() {
                            Kind::Int(i) => *i,
                            _ => return Err(format!("cannot index slice/array with type {}", key.type_name())),
                        };
                        if i < 0 || i as usize >= l.len() {
                            return Err(format!("index out of range: {i}"));
                        }
                        l[i as usize].clone()
                    }
                    Kind::Str(t) => {
                        let i = to_i64(key);
                        match t.text.as_bytes().get(i as usize) {
                            Some(b) => TValue::int(i64::from(*b)),
                            None => return Err(format!("index out of range: {i}")),
                        }
                    }
                    Kind::Null => return Err("index of untyped nil".into()),
                    _ => return Err(format!("can't index item of type {}", item.type_name())),
                };
            }
            Ok(item)
        }
        "slice" | "mustSlice" => {
            want_min(name, &args, 1)?;
            let bound = |i: usize| args.get(i).map(|v| to_i64(v).max(0) as usize);
            match args[0].kind() {
                Kind::Str(t) => {
                    let end = bound(2).unwrap_or(t.len()).min(t.len());
                    let start = bound(1).unwrap_or(0).min(end);
                    if !t.text.is_char_boundary(start) || !t.text.is_char_boundary(end) {
                        return Err("slice index not on a character boundary".into());
                    }
                    Ok(TValue::traced(t.slice(start..end)))
                }
                _ => {
                    let l = items(name, &args[0])?;
                    let end = bound(2).unwrap_or(l.len());
                    let start = bound(1).unwrap_or(0);
                    if start > end || end > l.len() {
                        return Err(format!("index out of range: {start}:{end}"));
                    }
                    Ok(TValue::list(l[start..end].to_vec()))
                }
            }
        }
        "print" => Ok(TValue::traced(format::sprint(&args))),
        "println" => Ok(TValue::traced(format::sprintln(&args))),
        "printf" => {
            want_min(name, &args, 1)?;
            let fmt = st(&args[0]);
            Ok(TValue::traced(format::sprintf(&fmt, &args[1..])))
        }
        "html" => Ok(TValue::traced(format::sprint(&args).map_chars(|c| match c {
            '<' => Some("&lt;".into()),
            '>' => Some("&gt;".into()),
            '&' => Some("&amp;".into()),
            '\'' => Some("&#39;".into()),
            '"' => Some("&#34;".into()),
            '\0' => Some("\u{fffd}".into()),
            _ => None,
        }))),
        "js" => Ok(TValue::traced(format::sprint(&args).map_chars(|c| match c {
            '\\' => Some("\\\\".into()),
            '\'' => Some("\\'".into()),
            '"' => Some("\\\"".into()),
            '<' => Some("\\u003C".into()),
            '>' => Some("\\u003E".into()),
            '&' => Some("\\u0026".into()),
            '=' => Some("\\u003D".into()),
            c if (c as u32) < 0x20 => Some(format!("\\u{:04X}", c as u32)),
            _ => None,
        }))),
        "urlquery" => Ok(TValue::str(query_escape(&format::sprint(&args).text))),
        "call" => Err("call of a non-function value".into()),
        "eq" => {
            want_min(name, &args, 2)?;
            for other in &args[1..] {
                if compare_eq(&args[0], other)? {
                    return bool_of(true);
                }
            }
            bool_of(false)
        }
        "ne" => {
            want(name, &args, 2)?;
            bool_of(!compare_eq(&args[0], &args[1])?)
        }
        "lt" | "le" | "gt" | "ge" => {
            want(name, &args, 2)?;
            let ord = compare_order(&args[0], &args[1])?;
            bool_of(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }

        // ---- Helm ----
        "toYaml" | "mustToYaml" | "toYamlPretty" => {
            want(name, &args, 1)?;
            let mut out = yaml_out::to_yaml(&args[0]);
            let trimmed = out.text.trim_end_matches('\n').len();
            out = out.slice(0..trimmed);
            Ok(TValue::traced(out))
        }
        "fromYaml" => {
            want(name, &args, 1)?;
            Ok(match yaml_out::from_yaml(&st(&args[0])) {
                Ok(v) if matches!(v.kind(), Kind::Map(_)) => v,
                Ok(v) if v.is_null() => TValue::map(Vec::new()),
                Ok(_) => error_map("error unmarshaling JSON: json: cannot unmarshal into map[string]interface {}"),
                Err(e) => error_map(&e),
            })
        }
        "fromYamlArray" => {
            want(name, &args, 1)?;
            Ok(match yaml_out::from_yaml(&st(&args[0])) {
                Ok(v) if matches!(v.kind(), Kind::List(_)) => v,
                Ok(v) if v.is_null() => TValue::list(Vec::new()),
                Ok(_) => {
                    TValue::list(vec![TValue::str("error unmarshaling JSON: cannot unmarshal into []interface {}")])
                }
                Err(e) => TValue::list(vec![TValue::str(e)]),
            })
        }
        "fromJson" | "mustFromJson" => {
            want(name, &args, 1)?;
            match yaml_out::from_json(&st(&args[0])) {
                Ok(v) => Ok(v),
                Err(e) if name == "mustFromJson" => Err(e),
                Err(e) => Ok(error_map(&e)),
            }
        }
        "fromJsonArray" => {
            want(name, &args, 1)?;
            Ok(match yaml_out::from_json(&st(&args[0])) {
                Ok(v) if matches!(v.kind(), Kind::List(_)) => v,
                Ok(_) => TValue::list(vec![TValue::str("json: cannot unmarshal into []interface {}")]),
                Err(e) => TValue::list(vec![TValue::str(e)]),
            })
        }
        "toJson" | "mustToJson" => {
            want(name, &args, 1)?;
            Ok(TValue::traced(yaml_out::to_json(&args[0], true, None)))
        }
        "toRawJson" | "mustToRawJson" => {
            want(name, &args, 1)?;
            Ok(TValue::traced(yaml_out::to_json(&args[0], false, None)))
        }
        "toPrettyJson" | "mustToPrettyJson" => {
            want(name, &args, 1)?;
            Ok(TValue::traced(yaml_out::to_json(&args[0], true, Some("  "))))
        }
        "toToml" => {
            want(name, &args, 1)?;
            Ok(TValue::str(yaml_out::to_toml(&args[0])))
        }
        "fromToml" => Ok(error_map("fromToml is not supported offline")),
        "lookup" => Ok(TValue::map(Vec::new())),

        // ---- strings ----
        "trim" => {
            want(name, &args, 1)?;
            Ok(TValue::traced(trim_by(&s(&args[0]), |c| c.is_whitespace(), true, true)))
        }
        "trimAll" | "trimall" => {
            want(name, &args, 2)?;
            let cutset = st(&args[0]);
            Ok(TValue::traced(trim_by(&s(&args[1]), |c| cutset.contains(c), true, true)))
        }
        "trimPrefix" => {
            want(name, &args, 2)?;
            let (prefix, t) = (st(&args[0]), s(&args[1]));
            let start = if t.text.starts_with(&prefix) { prefix.len() } else { 0 };
            Ok(TValue::traced(t.slice(start..t.len())))
        }
        "trimSuffix" => {
            want(name, &args, 2)?;
            let (suffix, t) = (st(&args[0]), s(&args[1]));
            let end = if t.text.ends_with(&suffix) { t.len() - suffix.len() } else { t.len() };
            Ok(TValue::traced(t.slice(0..end)))
        }
        "upper" => Ok(TValue::traced(s(&a(0)).map_text(str::to_uppercase))),
        "lower" => Ok(TValue::traced(s(&a(0)).map_text(str::to_lowercase))),
        "title" => Ok(TValue::traced(s(&a(0)).map_text(title))),
        "untitle" => Ok(TValue::traced(s(&a(0)).map_text(untitle))),
        "swapcase" => {
            Ok(TValue::traced(s(&a(0)).map_text(|t| {
                t.chars()
                    .map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<String>()
                        } else {
                            c.to_uppercase().collect()
                        }
                    })
                    .collect()
            })))
        }
        "shuffle" => Ok(TValue::traced(s(&a(0)))),
        "repeat" => {
            want(name, &args, 2)?;
            Ok(TValue::str(st(&args[1]).repeat(to_i64(&args[0]).max(0) as usize)))
        }
        "substr" => {
            want(name, &args, 3)?;
            let t = s(&args[2]);
            let (start, end) = (to_i64(&args[0]), to_i64(&args[1]));
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
        "trunc" => {
            want(name, &args, 2)?;
            let t = s(&args[1]);
            let c = to_i64(&args[0]);
            let len = t.len() as i64;
            let range = if c < 0 && len + c > 0 {
                (len + c) as usize..t.len()
            } else if c >= 0 && len > c {
                0..c as usize
            } else {
                0..t.len()
            };
            char_slice(&t, range)
        }
        "nospace" => Ok(TValue::traced(s(&a(0)).map_chars(|c| c.is_whitespace().then(String::new)))),
        "abbrev" => {
            want(name, &args, 2)?;
            let t = s(&args[1]);
            let width = to_i64(&args[0]).max(0) as usize;
            if t.text.chars().count() <= width || width < 4 {
                return Ok(TValue::traced(t));
            }
            let end = t.text.char_indices().nth(width - 3).map(|(i, _)| i).unwrap_or(t.len());
            let mut out = t.slice(0..end);
            out.push_str("...");
            Ok(TValue::traced(out))
        }
        "abbrevboth" => {
            want(name, &args, 3)?;
            Ok(TValue::traced(s(&args[2])))
        }
        "initials" => {
            Ok(TValue::str(st(&a(0)).split_whitespace().filter_map(|w| w.chars().next()).collect::<String>()))
        }
        "randAlphaNum" | "randAlpha" | "randAscii" | "randNumeric" => {
            let n = to_i64(&a(0)).max(0) as usize;
            let pool: &[u8] = if name == "randNumeric" { b"0123456789" } else { b"abcdefghijklmnopqrstuvwxyz" };
            Ok(TValue::str((0..n).map(|i| pool[i % pool.len()] as char).collect::<String>()))
        }
        "wrap" | "wrapWith" => {
            let width = to_i64(&a(0)).max(1) as usize;
            let (sep, text) = if name == "wrap" { ("\n".to_string(), st(&a(1))) } else { (st(&a(1)), st(&a(2))) };
            Ok(TValue::str(wrap_words(&text, width, &sep)))
        }
        "contains" => {
            want(name, &args, 2)?;
            bool_of(st(&args[1]).contains(&st(&args[0])))
        }
        "hasPrefix" => {
            want(name, &args, 2)?;
            bool_of(st(&args[1]).starts_with(&st(&args[0])))
        }
        "hasSuffix" => {
            want(name, &args, 2)?;
            bool_of(st(&args[1]).ends_with(&st(&args[0])))
        }
        "quote" | "squote" => {
            let pieces: Vec<Traced> = args
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| {
                    if name == "quote" {
                        format::go_quote(&s(v))
                    } else {
                        let mut out = Traced::plain("'");
                        out.push(&s(v));
                        out.push_str("'");
                        out
                    }
                })
                .collect();
            Ok(TValue::traced(Traced::join(&pieces, " ")))
        }
        "cat" => {
            let pieces: Vec<Traced> = args.iter().filter(|v| !v.is_null()).map(s).collect();
            Ok(TValue::traced(Traced::join(&pieces, " ")))
        }
        "indent" | "nindent" => {
            want(name, &args, 2)?;
            let pad = " ".repeat(to_i64(&args[0]).max(0) as usize);
            let mut out = Traced::plain(if name == "nindent" { "\n" } else { "" });
            out.push_str(&pad);
            out.push(&s(&args[1]).replace("\n", &format!("\n{pad}")));
            Ok(TValue::traced(out))
        }
        "replace" => {
            want(name, &args, 3)?;
            Ok(TValue::traced(s(&args[2]).replace(&st(&args[0]), &st(&args[1]))))
        }
        "plural" => {
            want(name, &args, 3)?;
            Ok(if to_i64(&args[2]) == 1 { args[0].clone() } else { args[1].clone() })
        }
        "snakecase" => Ok(TValue::str(snake_case(&st(&a(0)), '_'))),
        "kebabcase" => Ok(TValue::str(snake_case(&st(&a(0)), '-'))),
        "camelcase" => Ok(TValue::str(camel_case(&st(&a(0))))),
        "toString" => {
            want(name, &args, 1)?;
            Ok(match args[0].kind() {
                Kind::Str(_) => args.swap_remove(0),
                Kind::Null => TValue::str("<nil>"),
                _ => TValue::traced(s(&args[0])),
            })
        }
        "toStrings" => Ok(TValue::list(strslice(&a(0)).into_iter().map(TValue::traced).collect())),
        "split" | "splitn" => {
            let (sep, text, limit) = if name == "split" {
                want(name, &args, 2)?;
                (st(&args[0]), s(&args[1]), None)
            } else {
                want(name, &args, 3)?;
                (st(&args[0]), s(&args[2]), Some(to_i64(&args[1]).max(0) as usize))
            };
            if limit == Some(0) {
                return Ok(TValue::map(Vec::new()));
            }
            let pieces = text.split(&sep, limit);
            Ok(TValue::map(pieces.into_iter().enumerate().map(|(i, p)| (format!("_{i}"), TValue::traced(p))).collect()))
        }
        "splitList" => {
            want(name, &args, 2)?;
            let pieces = s(&args[1]).split(&st(&args[0]), None);
            Ok(TValue::list(pieces.into_iter().map(TValue::traced).collect()))
        }
        "join" => {
            want(name, &args, 2)?;
            Ok(TValue::traced(Traced::join(&strslice(&args[1]), &st(&args[0]))))
        }
        "sortAlpha" => {
            let mut list = strslice(&a(0));
            list.sort_by(|x, y| x.text.cmp(&y.text));
            Ok(TValue::list(list.into_iter().map(TValue::traced).collect()))
        }
        "regexMatch" | "mustRegexMatch" => {
            want(name, &args, 2)?;
            bool_of(regex(&st(&args[0]))?.is_match(&st(&args[1])))
        }
        "regexFind" | "mustRegexFind" => {
            want(name, &args, 2)?;
            let t = s(&args[1]);
            Ok(TValue::traced(match regex(&st(&args[0]))?.find(&t.text) {
                Some(m) => t.slice(m.range()),
                None => Traced::default(),
            }))
        }
        "regexFindAll" | "mustRegexFindAll" => {
            want(name, &args, 3)?;
            let t = s(&args[1]);
            let n = to_i64(&args[2]);
            let re = regex(&st(&args[0]))?;
            let found = re.find_iter(&t.text).take(if n < 0 { usize::MAX } else { n as usize });
            Ok(TValue::list(found.map(|m| TValue::traced(t.slice(m.range()))).collect()))
        }
        "regexReplaceAll" | "mustRegexReplaceAll" | "regexReplaceAllLiteral" | "mustRegexReplaceAllLiteral" => {
            want(name, &args, 3)?;
            let re = regex(&st(&args[0]))?;
            let t = s(&args[1]);
            let repl = st(&args[2]);
            let literal = name.ends_with("Literal");
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
                last = m.end();
            }
            out.push_slice(&t, last..t.len());
            Ok(TValue::traced(out))
        }
        "regexSplit" | "mustRegexSplit" => {
            want(name, &args, 3)?;
            let re = regex(&st(&args[0]))?;
            let t = s(&args[1]);
            let n = to_i64(&args[2]);
            let mut out = Vec::new();
            let mut last = 0;
            for m in re.find_iter(&t.text) {
                if n >= 0 && out.len() + 1 >= n as usize {
                    break;
                }
                out.push(TValue::traced(t.slice(last..m.start())));
                last = m.end();
            }
            if n != 0 {
                out.push(TValue::traced(t.slice(last..t.len())));
            }
            Ok(TValue::list(out))
        }
        "regexQuoteMeta" => Ok(TValue::str(regex::escape(&st(&a(0))))),

        // ---- defaults ----
        "default" => {
            want_min(name, &args, 1)?;
            Ok(match args.get(1) {
                Some(v) if !sprig_empty(v) => v.clone(),
                _ => args[0].clone(),
            })
        }
        "empty" => bool_of(sprig_empty(&a(0))),
        "coalesce" => Ok(args.iter().find(|v| !sprig_empty(v)).cloned().unwrap_or_else(TValue::null)),
        "all" => bool_of(args.iter().all(|v| !sprig_empty(v))),
        "any" => bool_of(args.iter().any(|v| !sprig_empty(v))),
        "ternary" => {
            want(name, &args, 3)?;
            Ok(if args[2].truthy() { args[0].clone() } else { args[1].clone() })
        }
        "deepEqual" => {
            want(name, &args, 2)?;
            bool_of(args[0].to_value() == args[1].to_value())
        }

        // ---- encodings ----
        "b64enc" => Ok(TValue::str(base64_encode(st(&a(0)).as_bytes()))),
        "b64dec" => Ok(TValue::str(match base64_decode(&st(&a(0))) {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => "illegal base64 data at input byte 0".to_string(),
        })),
        "b32enc" => Ok(TValue::str(base32_encode(st(&a(0)).as_bytes()))),
        "b32dec" => Ok(TValue::str(st(&a(0)))),
        "sha1sum" => {
            use sha1::Digest;
            Ok(TValue::str(hex(&sha1::Sha1::digest(st(&a(0)).as_bytes()))))
        }
        "sha256sum" => {
            use sha2::Digest;
            Ok(TValue::str(hex(&sha2::Sha256::digest(st(&a(0)).as_bytes()))))
        }
        "sha512sum" => {
            use sha2::Digest;
            Ok(TValue::str(hex(&sha2::Sha512::digest(st(&a(0)).as_bytes()))))
        }
        "adler32sum" => Ok(TValue::str(adler32(st(&a(0)).as_bytes()).to_string())),

        // ---- lists ----
        "list" | "tuple" => Ok(TValue::list(args)),
        "first" | "mustFirst" => Ok(items(name, &a(0))?.first().cloned().unwrap_or_else(TValue::null)),
        "last" | "mustLast" => Ok(items(name, &a(0))?.last().cloned().unwrap_or_else(TValue::null)),
        "rest" | "mustRest" => {
            let l = items(name, &a(0))?;
            Ok(TValue::list(l.get(1..).map(<[TValue]>::to_vec).unwrap_or_default()))
        }
        "initial" | "mustInitial" => {
            let l = items(name, &a(0))?;
            Ok(TValue::list(l[..l.len().saturating_sub(1)].to_vec()))
        }
        "append" | "mustAppend" | "push" | "mustPush" => {
            want(name, &args, 2)?;
            let mut l = items(name, &args[0])?;
            l.push(args[1].clone());
            Ok(TValue::list(l))
        }
        "prepend" | "mustPrepend" => {
            want(name, &args, 2)?;
            let mut l = items(name, &args[0])?;
            l.insert(0, args[1].clone());
            Ok(TValue::list(l))
        }
        "concat" => {
            let mut out = Vec::new();
            for list in &args {
                out.extend(items(name, list)?);
            }
            Ok(TValue::list(out))
        }
        "reverse" | "mustReverse" => {
            let mut l = items(name, &a(0))?;
            l.reverse();
            Ok(TValue::list(l))
        }
        "uniq" | "mustUniq" => {
            let mut out: Vec<TValue> = Vec::new();
            let mut seen = Vec::new();
            for item in items(name, &a(0))? {
                let v = item.to_value();
                if !seen.contains(&v) {
                    seen.push(v);
                    out.push(item);
                }
            }
            Ok(TValue::list(out))
        }
        "without" | "mustWithout" => {
            want_min(name, &args, 1)?;
            let drop: Vec<_> = args[1..].iter().map(TValue::to_value).collect();
            let l = items(name, &args[0])?;
            Ok(TValue::list(l.into_iter().filter(|v| !drop.contains(&v.to_value())).collect()))
        }
        "has" | "mustHas" => {
            want(name, &args, 2)?;
            let needle = args[0].to_value();
            bool_of(items(name, &args[1])?.iter().any(|v| v.to_value() == needle))
        }
        "compact" | "mustCompact" => {
            Ok(TValue::list(items(name, &a(0))?.into_iter().filter(|v| !sprig_empty(v)).collect()))
        }
        "until" => Ok(TValue::list(step_range(0, to_i64(&a(0)), 1))),
        "untilStep" => {
            want(name, &args, 3)?;
            Ok(TValue::list(step_range(to_i64(&args[0]), to_i64(&args[1]), to_i64(&args[2]))))
        }
        "seq" => {
            let n: Vec<i64> = args.iter().map(to_i64).collect();
            let list = match n.as_slice() {
                [] => Vec::new(),
                [end] if *end >= 1 => step_range(1, end + 1, 1),
                [end] => step_range(1, end - 1, -1),
                [start, end] => {
                    if start <= end {
                        step_range(*start, end + 1, 1)
                    } else {
                        step_range(*start, end - 1, -1)
                    }
                }
                [start, step, end, ..] => {
                    if *step == 0 || (end > start && *step < 0) || (end < start && *step > 0) {
                        Vec::new()
                    } else {
                        step_range(*start, end + step.signum(), *step)
                    }
                }
            };
            Ok(TValue::str(list.iter().map(st).collect::<Vec<_>>().join(" ")))
        }
        "chunk" | "mustChunk" => {
            want(name, &args, 2)?;
            let size = to_i64(&args[0]).max(1) as usize;
            let l = items(name, &args[1])?;
            Ok(TValue::list(l.chunks(size).map(|c| TValue::list(c.to_vec())).collect()))
        }

        // ---- dicts ----
        "dict" => {
            let mut map = TMap::new();
            for pair in args.chunks(2) {
                let value = pair.get(1).cloned().unwrap_or_else(|| TValue::str(""));
                map.insert(st(&pair[0]), value);
            }
            Ok(TValue::tmap(map))
        }
        "get" => {
            want(name, &args, 2)?;
            let m = map_of(name, &args[0])?;
            let key = st(&args[1]);
            let found = m.borrow().get(&key).cloned();
            record_key(&args[0], &key, found.as_ref(), record);
            Ok(found.unwrap_or_else(|| TValue::str("")))
        }
        "set" => {
            want(name, &args, 3)?;
            map_of(name, &args[0])?.borrow_mut().insert(st(&args[1]), args[2].clone());
            Ok(args[0].clone())
        }
        "unset" => {
            want(name, &args, 2)?;
            map_of(name, &args[0])?.borrow_mut().remove(&st(&args[1]));
            Ok(args[0].clone())
        }
        "hasKey" => {
            want(name, &args, 2)?;
            let m = map_of(name, &args[0])?;
            let key = st(&args[1]);
            let found = m.borrow().get(&key).cloned();
            record_key(&args[0], &key, found.as_ref(), record);
            bool_of(found.is_some())
        }
        "pluck" => {
            want_min(name, &args, 1)?;
            let key = st(&args[0]);
            let mut out = Vec::new();
            for d in &args[1..] {
                let m = map_of(name, d)?;
                let found = m.borrow().get(&key).cloned();
                record_key(d, &key, found.as_ref(), record);
                out.extend(found);
            }
            Ok(TValue::list(out))
        }
        "dig" => {
            want_min(name, &args, 3)?;
            let n = args.len();
            let mut node = args[n - 1].clone();
            for key in &args[..n - 2] {
                let key = st(key);
                let next = match node.kind() {
                    Kind::Map(m) => m.borrow().get(&key).cloned(),
                    _ => {
                        return Err(format!(
                            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                            node.type_name()
                        ))
                    }
                };
                record_key(&node, &key, next.as_ref(), record);
                match next {
                    Some(v) => node = v,
                    None => return Ok(args[n - 2].clone()),
                }
            }
            Ok(node)
        }
        "keys" => {
            let mut out = Vec::new();
            for d in &args {
                out.extend(map_of(name, d)?.borrow().keys().map(|k| TValue::str(k.clone())));
            }
            Ok(TValue::list(out))
        }
        "values" => {
            want(name, &args, 1)?;
            Ok(TValue::list(map_of(name, &args[0])?.borrow().values().cloned().collect()))
        }
        "pick" | "omit" => {
            want_min(name, &args, 1)?;
            let wanted: Vec<String> = args[1..].iter().map(st).collect();
            let m = map_of(name, &args[0])?;
            let keep = |k: &String| wanted.contains(k) == (name == "pick");
            let out: TMap = m.borrow().iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
            Ok(TValue::tmap(out))
        }
        "merge" | "mustMerge" | "mergeOverwrite" | "mustMergeOverwrite" => {
            want_min(name, &args, 1)?;
            let overwrite = name.contains("Overwrite");
            let dst = map_of(name, &args[0])?;
            for src in &args[1..] {
                if src.is_null() {
                    continue;
                }
                let src = map_of(name, src)?.borrow().clone();
                merge_into(dst, &src, overwrite);
            }
            Ok(args[0].clone())
        }
        "deepCopy" | "mustDeepCopy" => {
            want(name, &args, 1)?;
            Ok(deep_copy(&args[0]))
        }

        // ---- math ----
        "add" => Ok(TValue::int(args.iter().map(to_i64).fold(0i64, i64::wrapping_add))),
        "add1" => Ok(TValue::int(to_i64(&a(0)).wrapping_add(1))),
        "sub" => Ok(TValue::int(to_i64(&a(0)).wrapping_sub(to_i64(&a(1))))),
        "mul" => Ok(TValue::int(args.iter().map(to_i64).fold(1i64, i64::wrapping_mul))),
        "div" => {
            let d = to_i64(&a(1));
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(TValue::int(to_i64(&a(0)) / d))
        }
        "mod" => {
            let d = to_i64(&a(1));
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(TValue::int(to_i64(&a(0)) % d))
        }
        "max" | "biggest" => Ok(TValue::int(args.iter().map(to_i64).max().unwrap_or(0))),
        "min" => Ok(TValue::int(args.iter().map(to_i64).min().unwrap_or(0))),
        "addf" => Ok(TValue::float(args.iter().map(to_f64).sum())),
        "add1f" => Ok(TValue::float(to_f64(&a(0)) + 1.0)),
        "subf" => Ok(TValue::float(args.iter().skip(1).fold(to_f64(&a(0)), |acc, v| acc - to_f64(v)))),
        "mulf" => Ok(TValue::float(args.iter().map(to_f64).product())),
        "divf" => Ok(TValue::float(args.iter().skip(1).fold(to_f64(&a(0)), |acc, v| acc / to_f64(v)))),
        "maxf" => Ok(TValue::float(args.iter().map(to_f64).fold(f64::MIN, f64::max))),
        "minf" => Ok(TValue::float(args.iter().map(to_f64).fold(f64::MAX, f64::min))),
        "floor" => Ok(TValue::float(to_f64(&a(0)).floor())),
        "ceil" => Ok(TValue::float(to_f64(&a(0)).ceil())),
        "round" => {
            let places = to_i64(&a(1)).max(0) as i32;
            let scale = 10f64.powi(places);
            Ok(TValue::float((to_f64(&a(0)) * scale).round() / scale))
        }
        "int" | "int64" | "atoi" => Ok(TValue::int(to_i64(&a(0)))),
        "float64" => Ok(TValue::float(to_f64(&a(0)))),
        "toDecimal" => Ok(TValue::int(i64::from_str_radix(st(&a(0)).trim(), 8).unwrap_or(0))),
        "randInt" => Ok(TValue::int(to_i64(&a(0)))),

        // ---- types ----
        "kindOf" => Ok(TValue::str(a(0).kind_name())),
        "kindIs" => {
            want(name, &args, 2)?;
            bool_of(st(&args[0]) == args[1].kind_name())
        }
        "typeOf" => Ok(TValue::str(a(0).type_name())),
        "typeIs" => {
            want(name, &args, 2)?;
            bool_of(st(&args[0]) == args[1].type_name())
        }
        "typeIsLike" => {
            want(name, &args, 2)?;
            let t = st(&args[0]);
            let actual = args[1].type_name();
            bool_of(t == actual || t.strip_prefix('*') == Some(actual))
        }

        // ---- semver ----
        "semverCompare" => {
            want(name, &args, 2)?;
            semver::compare(&st(&args[0]), &st(&args[1])).map(TValue::bool)
        }
        "semver" => {
            want(name, &args, 1)?;
            let v = semver::Version::parse(&st(&args[0]))?;
            Ok(TValue::map(vec![
                ("Major".into(), TValue::int(v.major as i64)),
                ("Minor".into(), TValue::int(v.minor as i64)),
                ("Patch".into(), TValue::int(v.patch as i64)),
                ("Prerelease".into(), TValue::str(v.pre.clone())),
                ("Metadata".into(), TValue::str(v.meta.clone())),
                ("Original".into(), TValue::str(st(&args[0]))),
            ]))
        }

        // ---- crypto and random: placeholders ----
        "genCA"
        | "genCAWithKey"
        | "genSelfSignedCert"
        | "genSelfSignedCertWithKey"
        | "genSignedCert"
        | "genSignedCertWithKey" => Ok(TValue::map(vec![
            ("Cert".into(), TValue::str(pem("CERTIFICATE"))),
            ("Key".into(), TValue::str(pem("RSA PRIVATE KEY"))),
        ])),
        "genPrivateKey" => Ok(TValue::str(pem("RSA PRIVATE KEY"))),
        "derivePassword" => Ok(TValue::str("placeholder-derived-password")),
        "htpasswd" => Ok(TValue::str(format!("{}:$2a$10$placeholderplaceholderplaceholderplaceholderpla", st(&a(0))))),
        "bcrypt" => Ok(TValue::str("$2a$10$placeholderplaceholderplaceholderplaceholderpla")),
        "encryptAES" | "randBytes" => Ok(TValue::str(base64_encode(b"placeholder"))),
        "decryptAES" => Ok(TValue::str("")),
        "uuidv4" => Ok(TValue::str("00000000-0000-4000-8000-000000000000")),

        // ---- dates: a fixed clock ----
        "now" => Ok(TValue::str(format_date("2006-01-02 15:04:05.999999999 -0700 MST", NOW_UNIX))),
        "date" | "dateInZone" | "date_in_zone" => {
            want_min(name, &args, 2)?;
            Ok(TValue::str(format_date(&st(&args[0]), time_of(&args[1]))))
        }
        "htmlDate" | "htmlDateInZone" => Ok(TValue::str(format_date("2006-01-02", time_of(&a(0))))),
        "ago" => Ok(TValue::str("0s")),
        "duration" | "durationRound" => Ok(TValue::str(go_duration(to_i64(&a(0))))),
        "unixEpoch" => Ok(TValue::str(NOW_UNIX.to_string())),
        "dateModify" | "date_modify" | "mustDateModify" | "toDate" | "mustToDate" => Ok(a(1)),

        // ---- paths, network, OS, URLs ----
        "base" | "osBase" => Ok(TValue::str(path_base(&st(&a(0))))),
        "dir" | "osDir" => Ok(TValue::str(path_dir(&st(&a(0))))),
        "ext" | "osExt" => {
            let p = st(&a(0));
            let base = p.rsplit('/').next().unwrap_or("");
            Ok(TValue::str(base.rfind('.').map(|i| base[i..].to_string()).unwrap_or_default()))
        }
        "clean" | "osClean" => Ok(TValue::str(path_clean(&st(&a(0))))),
        "isAbs" | "osIsAbs" => bool_of(st(&a(0)).starts_with('/')),
        "getHostByName" => Ok(TValue::str("")),
        "env" => Ok(TValue::str("")),
        "expandenv" => Ok(TValue::str(
            Regex::new(r"\$\{[^}]*\}|\$[A-Za-z0-9_]+").expect("static regex").replace_all(&st(&a(0)), "").into_owned(),
        )),
        "urlParse" => Ok(TValue::map(vec![
            ("scheme".into(), TValue::str(st(&a(0)).split("://").next().unwrap_or("").to_string())),
            (
                "host".into(),
                TValue::str(st(&a(0)).split("://").nth(1).unwrap_or("").split('/').next().unwrap_or("").to_string()),
            ),
        ])),
        "urlJoin" => Ok(TValue::str("")),
        _ => Err(format!("function {name:?} not defined")),
    }
}

/// `.Files` methods.
pub(crate) fn files_method(files: &Rc<BTreeMap<String, Vec<u8>>>, name: &str, args: &[TValue]) -> Res {
    let arg = || args.first().map(st).unwrap_or_default();
    let text = |p: &str| files.get(p).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    match name {
        "Get" => Ok(TValue::str(text(&arg()))),
        "GetBytes" => Ok(TValue::str(text(&arg()))),
        "Lines" => {
            let t = text(&arg());
            let mut lines: Vec<TValue> = t.split('\n').map(TValue::str).collect();
            if t.is_empty() {
                lines.clear();
            }
            Ok(TValue::list(lines))
        }
        "Glob" => {
            let pattern = glob_regex(&arg());
            let picked: BTreeMap<String, Vec<u8>> =
                files.iter().filter(|(k, _)| pattern.is_match(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
            Ok(TValue::files(picked))
        }
        "AsConfig" | "AsSecrets" => {
            let entries: Vec<(String, TValue)> = files
                .iter()
                .map(|(k, v)| {
                    let content =
                        if name == "AsSecrets" { base64_encode(v) } else { String::from_utf8_lossy(v).into_owned() };
                    (path_base(k), TValue::str(content))
                })
                .collect();
            let yaml = yaml_out::to_yaml(&TValue::map(entries));
            Ok(TValue::str(yaml.text.trim_end_matches('\n')))
        }
        _ => Err(format!("can't evaluate field {name} in type files.Files")),
    }
}

/// gobwas/glob with `/` as separator: `*` stays inside a path segment, `**` crosses them.
fn glob_regex(pattern: &str) -> Regex {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '{' => re.push('('),
            '}' => re.push(')'),
            ',' => re.push('|'),
            '[' | ']' => re.push(c),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).unwrap_or_else(|_| Regex::new("^$").expect("static regex"))
}

fn error_map(message: &str) -> TValue {
    TValue::map(vec![("Error".into(), TValue::str(message))])
}

/// sprig's `empty`.
pub(crate) fn sprig_empty(v: &TValue) -> bool {
    !v.truthy()
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
        _ => return Err(format!("non-comparable type {}: {}", plain_string(a), a.type_name())),
    })
}

fn compare_order(a: &TValue, b: &TValue) -> Result<std::cmp::Ordering, String> {
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
        (Kind::Float(x), Kind::Float(y)) => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
        (Kind::Str(x), Kind::Str(y)) => x.text.cmp(&y.text),
        _ => return Err("invalid type for comparison".into()),
    })
}

fn trim_by(t: &Traced, pred: impl Fn(char) -> bool, start: bool, end: bool) -> Traced {
    let text = &t.text;
    let a = if start { text.len() - text.trim_start_matches(&pred).len() } else { 0 };
    let b = if end { a + text[a..].trim_end_matches(&pred).len() } else { text.len() };
    t.slice(a..b)
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

fn step_range(start: i64, stop: i64, step: i64) -> Vec<TValue> {
    let mut out = Vec::new();
    if step == 0 {
        return out;
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(TValue::int(i));
        i += step;
    }
    out
}

/// mergo's Merge: `src` fills what `dst` lacks or holds empty (with overwrite, replaces it even
/// with an empty value); maps deep-merge.
fn merge_into(dst: &RefCell<TMap>, src: &TMap, overwrite: bool) {
    for (k, sv) in src {
        let dv = dst.borrow().get(k).cloned();
        match dv {
            Some(dv) if matches!((dv.kind(), sv.kind()), (Kind::Map(_), Kind::Map(_))) => {
                if let (Kind::Map(dm), Kind::Map(sm)) = (dv.kind(), sv.kind()) {
                    let sm = sm.borrow().clone();
                    merge_into(dm, &sm, overwrite);
                }
            }
            Some(dv) if !overwrite && !sprig_empty(&dv) => {}
            _ => {
                dst.borrow_mut().insert(k.clone(), sv.clone());
            }
        }
    }
}

fn deep_copy(v: &TValue) -> TValue {
    match v.kind() {
        Kind::Map(m) => TValue::new(
            Kind::Map(RefCell::new(m.borrow().iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect())),
            v.origin().cloned(),
        ),
        Kind::List(l) => TValue::new(Kind::List(l.iter().map(deep_copy).collect()), v.origin().cloned()),
        _ => v.clone(),
    }
}

fn pem(kind: &str) -> String {
    format!("-----BEGIN {kind}-----\nUExBQ0VIT0xERVI=\n-----END {kind}-----\n")
}

fn time_of(v: &TValue) -> i64 {
    match v.kind() {
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
fn civil_from_days(z: i64) -> (i64, i64, i64) {
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

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..i + 1],
        None => "",
    };
    path_clean(dir)
}

fn query_escape(s: &str) -> String {
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn base32_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(ALPHABET[(n >> (35 - 5 * i) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
