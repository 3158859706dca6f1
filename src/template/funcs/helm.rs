//! Helm's own functions (pkg/engine/funcs.go): YAML, JSON and TOML conversions, `lookup`, the
//! late-bound `include`/`tpl`/`required`/`fail`, and the methods of `.Files`.

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;

use super::encoding::base64_encode;
use super::paths::path_base;
use super::{error_map, Arity::Exact, Call, Func, Res};
use crate::template::value::{Kind, TValue};
use crate::template::yaml_out;

pub(super) static FUNCS: &[Func] = &[
    Func::engine("include", Exact(2)),
    Func::engine("tpl", Exact(2)),
    Func::engine("required", Exact(2)),
    Func::engine("fail", Exact(1)),
    Func::new("toYaml", Exact(1), to_yaml).whole(),
    Func::new("mustToYaml", Exact(1), to_yaml).whole(),
    Func::new("toYamlPretty", Exact(1), |c| {
        let out = yaml_out::to_yaml_pretty(&c.args[0]);
        let trimmed = out.text.trim_end_matches('\n').len();
        Ok(TValue::traced(out.slice(0..trimmed)))
    })
    .whole(),
    Func::new("fromYaml", Exact(1), from_yaml),
    Func::new("fromYamlArray", Exact(1), from_yaml_array),
    Func::new("toJson", Exact(1), |c| Ok(TValue::traced(yaml_out::to_json(&c.args[0], true, None)))).whole(),
    Func::new("mustToJson", Exact(1), |c| Ok(TValue::traced(yaml_out::to_json(&c.args[0], true, None)))).whole(),
    Func::new("toRawJson", Exact(1), |c| Ok(TValue::traced(yaml_out::to_json(&c.args[0], false, None)))).whole(),
    Func::new("mustToRawJson", Exact(1), |c| Ok(TValue::traced(yaml_out::to_json(&c.args[0], false, None)))).whole(),
    Func::new("toPrettyJson", Exact(1), |c| Ok(TValue::traced(yaml_out::to_json(&c.args[0], true, Some("  ")))))
        .whole(),
    Func::new("mustToPrettyJson", Exact(1), |c| Ok(TValue::traced(yaml_out::to_json(&c.args[0], true, Some("  ")))))
        .whole(),
    Func::new("fromJson", Exact(1), |c| Ok(yaml_out::from_json(&c.str(0)).unwrap_or_else(|e| error_map(&e)))),
    Func::new("mustFromJson", Exact(1), |c| yaml_out::from_json(&c.str(0))),
    Func::new("fromJsonArray", Exact(1), from_json_array),
    Func::new("toToml", Exact(1), |c| Ok(TValue::str(yaml_out::to_toml(&c.args[0])))).whole(),
    Func::new("fromToml", Exact(1), |c| Ok(yaml_out::from_toml(&c.str(0)).unwrap_or_else(|e| error_map(&e)))),
    // `helm template` has no cluster: lookup finds nothing, an empty map.
    Func::new("lookup", Exact(4), |_| Ok(TValue::map(Vec::new()))),
];

/// sigs.k8s.io/yaml's Marshal, the final newline trimmed.
fn to_yaml(c: &mut Call) -> Res {
    let out = yaml_out::to_yaml(&c.args[0]);
    let trimmed = out.text.trim_end_matches('\n').len();
    Ok(TValue::traced(out.slice(0..trimmed)))
}

fn from_yaml(c: &mut Call) -> Res {
    Ok(match yaml_out::from_yaml(&c.str(0)) {
        Ok(v) if matches!(v.kind(), Kind::Map(_)) => v,
        Ok(v) if v.is_null() => TValue::map(Vec::new()),
        Ok(v) => error_map(&format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&v)
        )),
        Err(e) => error_map(&e),
    })
}

fn from_yaml_array(c: &mut Call) -> Res {
    Ok(match yaml_out::from_yaml(&c.str(0)) {
        Ok(v) if matches!(v.kind(), Kind::List(_)) => v,
        Ok(v) if v.is_null() => TValue::list(Vec::new()),
        Ok(v) => TValue::list(vec![TValue::str(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&v)
        ))]),
        Err(e) => TValue::list(vec![TValue::str(e)]),
    })
}

fn from_json_array(c: &mut Call) -> Res {
    Ok(match yaml_out::from_json(&c.str(0)) {
        Ok(v) if matches!(v.kind(), Kind::List(_)) => v,
        Ok(v) if v.is_null() => TValue::list(Vec::new()),
        Ok(v) => TValue::list(vec![TValue::str(format!(
            "json: cannot unmarshal {} into Go value of type []interface {{}}",
            json_kind(&v)
        ))]),
        Err(e) => TValue::list(vec![TValue::str(e)]),
    })
}

/// encoding/json's name for a value's JSON kind, as its unmarshal errors print it.
fn json_kind(v: &TValue) -> &'static str {
    match v.kind() {
        Kind::Bool(_) => "bool",
        Kind::Int(_) | Kind::Float(_) => "number",
        Kind::Str(_) => "string",
        Kind::List(_) | Kind::ApiVersions(_) => "array",
        _ => "object",
    }
}

/// `.Files` methods.
pub(crate) fn files_method(files: &Arc<BTreeMap<String, Vec<u8>>>, name: &str, args: &[TValue]) -> Res {
    let arg = || args.first().map(crate::template::format::plain_string).unwrap_or_default();
    let text = |p: &str| files.get(p).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    match name {
        "Get" => Ok(TValue::str(text(&arg()))),
        "GetBytes" => Ok(TValue::str(text(&arg()))),
        "Lines" => {
            // Helm drops one final newline, then splits.
            let t = text(&arg());
            if !files.contains_key(&arg()) || t.is_empty() {
                return Ok(TValue::list(Vec::new()));
            }
            let t = t.strip_suffix('\n').unwrap_or(&t);
            Ok(TValue::list(t.split('\n').map(TValue::str).collect()))
        }
        "Glob" => {
            let pattern = glob_regex(&arg());
            let picked: BTreeMap<String, Vec<u8>> =
                files.iter().filter(|(k, _)| pattern.is_match(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
            Ok(TValue::files(Arc::new(picked)))
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
