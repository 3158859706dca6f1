//! encoding/json's output as `toJson` and its kin print it, and `fromJson`.

use super::sorted_entries;
use crate::template::format::go_float;
use crate::template::value::{Kind, TValue};
use crate::template::Traced;

/// encoding/json's Marshal (or MarshalIndent with `indent`), keeping spans on unescaped runs.
pub(crate) fn to_json(v: &TValue, escape_html: bool, indent: Option<&str>) -> Traced {
    let mut out = Traced::default();
    json_value(&mut out, v, escape_html, indent, 0);
    out
}

fn json_value(out: &mut Traced, v: &TValue, html: bool, indent: Option<&str>, depth: usize) {
    let newline = |out: &mut Traced, depth: usize| {
        if let Some(ind) = indent {
            out.push_str("\n");
            out.push_str(&ind.repeat(depth));
        }
    };
    match v.kind() {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push(&Traced::from_origin(b.to_string(), v.origin())),
        Kind::Int(i) => out.push(&Traced::from_origin(i.to_string(), v.origin())),
        Kind::Float(f) => out.push(&Traced::from_origin(json_float(*f), v.origin())),
        Kind::Str(s) => json_string(out, s, html),
        Kind::Semver(sv) => json_string(out, &Traced::plain(sv.to_string()), html),
        Kind::Time(t) => json_string(out, &Traced::plain(crate::template::funcs::rfc3339(*t)), html),
        Kind::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[");
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(",");
                }
                newline(out, depth + 1);
                json_value(out, item, html, indent, depth + 1);
            }
            newline(out, depth);
            out.push_str("]");
        }
        Kind::ApiVersions(l) => {
            let list = TValue::list(l.iter().map(|s| TValue::str(s.clone())).collect());
            json_value(out, &list, html, indent, depth);
        }
        Kind::Map(_) | Kind::Files(_) => {
            let mut entries = sorted_entries(v);
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{");
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(",");
                }
                newline(out, depth + 1);
                json_string(out, &Traced::plain(k.clone()), html);
                out.push_str(if indent.is_some() { ": " } else { ":" });
                json_value(out, item, html, indent, depth + 1);
            }
            newline(out, depth);
            out.push_str("}");
        }
    }
}

fn json_string(out: &mut Traced, s: &Traced, html: bool) {
    out.push_str("\"");
    out.push(&s.map_chars(|c| match c {
        '"' => Some("\\\"".into()),
        '\\' => Some("\\\\".into()),
        '\n' => Some("\\n".into()),
        '\r' => Some("\\r".into()),
        '\t' => Some("\\t".into()),
        '<' | '>' | '&' if html => Some(format!("\\u{:04x}", c as u32)),
        '\u{2028}' | '\u{2029}' => Some(format!("\\u{:04x}", c as u32)),
        c if (c as u32) < 0x20 => Some(format!("\\u{:04x}", c as u32)),
        _ => None,
    }));
    out.push_str("\"");
}

fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = go_float(f, 'e', None);
        // encoding/json writes e-07 as e-7.
        match s.split_once("e-0") {
            Some((m, e)) => format!("{m}e-{e}"),
            None => s.replace("e+0", "e+"),
        }
    } else {
        format!("{f}")
    }
}

pub(crate) fn from_json(text: &str) -> Result<TValue, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(from_serde_json(&v))
}

fn from_serde_json(v: &serde_json::Value) -> TValue {
    use serde_json::Value as J;
    match v {
        J::Null => TValue::null(),
        J::Bool(b) => TValue::bool(*b),
        J::Number(n) => TValue::float(n.as_f64().unwrap_or(0.0)),
        J::String(s) => TValue::str(s.clone()),
        J::Array(items) => TValue::list(items.iter().map(from_serde_json).collect()),
        J::Object(m) => TValue::map(m.iter().map(|(k, v)| (k.clone(), from_serde_json(v))).collect()),
    }
}
