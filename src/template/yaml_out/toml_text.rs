//! TOML as Helm's `toToml` writes it and `fromToml` reads it (BurntSushi/toml).

use crate::template::format::go_float;
use crate::template::value::{Kind, TValue};

/// Parses TOML into the values a template sees (BurntSushi/toml: integers stay int64).
pub(crate) fn from_toml(text: &str) -> Result<TValue, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.message().to_string())?;
    Ok(from_toml_value(&toml::Value::Table(table)))
}

fn from_toml_value(v: &toml::Value) -> TValue {
    use toml::Value as T;
    match v {
        T::String(s) => TValue::str(s.clone()),
        T::Integer(i) => TValue::int64(*i),
        T::Float(f) => TValue::float(*f),
        T::Boolean(b) => TValue::bool(*b),
        T::Datetime(d) => TValue::str(d.to_string()),
        T::Array(items) => TValue::list(items.iter().map(from_toml_value).collect()),
        T::Table(t) => TValue::map(t.iter().map(|(k, v)| (k.clone(), from_toml_value(v))).collect()),
    }
}

/// BurntSushi/toml's encoder as Helm's `toToml` uses it: keys sorted, plain values first, then
/// arrays of tables (`[[name]]`) and tables (`[name]`), each nested level indented two spaces;
/// floats always carry a fraction (values numbers are float64, so `1` prints `1.0`).
pub(crate) fn to_toml(v: &TValue) -> String {
    let mut out = String::new();
    if matches!(v.kind(), Kind::Map(_)) {
        toml_table(&mut out, v, &[], 0);
    }
    out
}

fn is_table(v: &TValue) -> bool {
    matches!(v.kind(), Kind::Map(_))
}

fn is_table_array(v: &TValue) -> bool {
    matches!(v.kind(), Kind::List(l) if !l.is_empty() && l.iter().all(is_table))
}

fn toml_table(out: &mut String, v: &TValue, path: &[String], depth: usize) {
    let mut entries: Vec<(String, TValue)> = match v.kind() {
        Kind::Map(m) => m.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => Vec::new(),
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let pad = "  ".repeat(depth);
    for (k, item) in &entries {
        if !is_table(item) && !is_table_array(item) && !item.is_null() {
            out.push_str(&format!("{pad}{} = {}\n", toml_key(k), toml_scalar(item)));
        }
    }
    for (k, item) in &entries {
        let mut name = path.to_vec();
        name.push(toml_key(k));
        let header_pad = "  ".repeat(depth);
        if is_table_array(item) {
            if let Kind::List(l) = item.kind() {
                for table in l {
                    out.push_str(&format!("\n{header_pad}[[{}]]\n", name.join(".")));
                    toml_table(out, table, &name, depth + 1);
                }
            }
        } else if is_table(item) {
            out.push_str(&format!("\n{header_pad}[{}]\n", name.join(".")));
            toml_table(out, item, &name, depth + 1);
        }
    }
}

fn toml_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        toml_string(k)
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_scalar(v: &TValue) -> String {
    match v.kind() {
        Kind::Str(s) => toml_string(&s.text),
        Kind::List(l) => format!("[{}]", l.iter().map(toml_scalar).collect::<Vec<_>>().join(", ")),
        Kind::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
        Kind::Float(f) => go_float(*f, 'g', None),
        Kind::Map(_) => "{}".into(),
        _ => crate::template::format::plain_string(v),
    }
}
