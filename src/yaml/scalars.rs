//! Scalars as go-yaml v2 resolves them (YAML 1.1 booleans, Go's integer and float syntax, keys
//! turned into strings) and numbers formatted as Go prints them.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "go-yaml's integer and float resolution and Go's number printing convert exactly as Go does"
)]

use crate::values::{go_format_g, Value};

/// A scalar as Go stores it in a `string` field of a struct read through sigs.k8s.io/yaml (how
/// Helm reads Chart.yaml): `appVersion: 1.10` becomes "1.1", `0x10` becomes "16". `None` for
/// null, lists and maps.
pub fn go_string(value: &Value) -> Option<String> {
    match value {
        Value::Null | Value::List(_) | Value::Map(_) => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(go_format_g(*f, true)),
        Value::String(s) => Some(s.clone()),
    }
}

/// What go-yaml v2 (then JSON) makes of a plain scalar. `Err` for values Helm cannot convert.
pub(super) fn resolve_plain(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Ok(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Ok(Value::Bool(false))
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => {
            return Err(format!(
                "`{text}` is not a number Helm can use (it converts values to JSON, which has no \
                 infinity or NaN)"
            ))
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first == b'.' {
        return Ok(text.parse::<f64>().map_or_else(|_| Value::String(text.into()), Value::Float));
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return Ok(Value::String(text.into()));
    }
    let plain = text.replace('_', "");
    if let Some(i) = go_parse_int(&plain) {
        return Ok(i);
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            if f.is_finite() {
                return Ok(Value::Float(f));
            }
        }
    }
    Ok(Value::String(text.into()))
}

/// Go's `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint` (which Helm then holds as a
/// float64): sign, then `0x`/`0o`/`0b` or a leading `0` for octal.
fn go_parse_int(s: &str) -> Option<Value> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Value::Int(i128::from(magnitude).wrapping_neg() as i64));
        }
        return None;
    }
    match i64::try_from(magnitude) {
        Ok(i) => Some(Value::Int(i)),
        Err(_) => Some(Value::Float(magnitude as f64)),
    }
}

/// go-yaml's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// A map key as sigs.k8s.io/yaml turns it into a JSON object key.
pub(super) fn key_text(key: Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(go_format_g(f, true)),
        Value::Null => Err("a map key is null, which Helm cannot read".into()),
        Value::List(_) | Value::Map(_) => Err("a map key is a list or a map, which Helm cannot read".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tests::{at, v};
    use crate::yaml::*;

    #[test]
    fn yaml_1_1_booleans_are_booleans_unless_quoted() {
        let values = v("a: yes\nb: 'yes'\nc: On\nd: n\ne: \"off\"\nf: True\n");
        assert_eq!(at(&values, "a"), Value::Bool(true));
        assert_eq!(at(&values, "b"), Value::String("yes".into()));
        assert_eq!(at(&values, "c"), Value::Bool(true));
        assert_eq!(at(&values, "d"), Value::Bool(false));
        assert_eq!(at(&values, "e"), Value::String("off".into()));
        assert_eq!(at(&values, "f"), Value::Bool(true));
    }

    #[test]
    fn numbers_follow_go_yaml_v2_and_keep_int_and_float_apart() {
        let values = v("tag: 1.10\noct: 0755\nu: 1_000\nhex: 0x1F\nneg: -0x1F\no: 0o17\nb: 0b101\n\
                        eight: 08\nexp: 1e3\nhalf: .5\nbig: 99999999999999999999\nplus: +12\n\
                        date: 2001-12-14\nsexa: 1:20\nver: 1.2.3\n");
        assert_eq!(at(&values, "tag"), Value::Float(1.1));
        assert_eq!(at(&values, "oct"), Value::Int(493));
        assert_eq!(at(&values, "u"), Value::Int(1000));
        assert_eq!(at(&values, "hex"), Value::Int(31));
        assert_eq!(at(&values, "neg"), Value::Int(-31));
        assert_eq!(at(&values, "o"), Value::Int(15));
        assert_eq!(at(&values, "b"), Value::Int(5));
        assert_eq!(at(&values, "eight"), Value::Float(8.0));
        assert_eq!(at(&values, "exp"), Value::Float(1000.0));
        assert_eq!(at(&values, "half"), Value::Float(0.5));
        assert_eq!(at(&values, "big"), Value::Float(1e20));
        assert_eq!(at(&values, "plus"), Value::Int(12));
        assert_eq!(at(&values, "date"), Value::String("2001-12-14".into()));
        assert_eq!(at(&values, "sexa"), Value::String("1:20".into()));
        assert_eq!(at(&values, "ver"), Value::String("1.2.3".into()));
    }

    #[test]
    fn keys_become_strings_as_helm_converts_them() {
        let values = v("y: 1\n1: one\n1.5: f\n");
        assert_eq!(at(&values, "true"), Value::Int(1));
        assert_eq!(values.as_map().unwrap().get("1"), Some(&Value::String("one".into())));
        assert_eq!(values.as_map().unwrap().get("1.5"), Some(&Value::String("f".into())));
        let err = parse_values("a: 1\nnull: x\n", "values.yaml").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("null"), "{err}");
    }

    #[test]
    fn infinity_is_refused_like_helm_does() {
        let err = parse_values("a:\n  b: .inf\n", "values.yaml").unwrap_err();
        assert_eq!(err.location, vec!["values.yaml".to_string()]);
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn go_string_formats_numbers_as_helm_reads_chart_yaml() {
        let chart =
            parse("a: 1.10\nb: 0x10\nc: 1e3\nd: 0.00001\ne: 1e21\nf: 1.0\ng: 12345678.0\n", "Chart.yaml").unwrap();
        let s = |k: &str| go_string(&at(&chart, k)).unwrap();
        assert_eq!(s("a"), "1.1");
        assert_eq!(s("b"), "16");
        assert_eq!(s("c"), "1000");
        assert_eq!(s("d"), "1e-05");
        assert_eq!(s("e"), "1e+21");
        assert_eq!(s("f"), "1");
        assert_eq!(s("g"), "1.2345678e+07");
    }
}
