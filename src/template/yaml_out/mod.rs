//! `toYaml`/`toJson` output exactly as Helm prints it (sigs.k8s.io/yaml over go-yaml v2, and
//! encoding/json), keeping spans on strings emitted verbatim; plus `fromYaml`/`fromJson`. This
//! file writes YAML and reads it; `json` writes and reads JSON, `toml_text` TOML.

mod json;
mod toml_text;

pub(crate) use json::{from_json, to_json};
pub(crate) use toml_text::{from_toml, to_toml};

use std::cmp::Ordering;

use super::format::go_float;
use super::value::{Kind, TValue};
use super::Traced;
use crate::yaml::{double_quote_escape, is_printable};

/// YAML for a value, ending in a newline (Helm's `toYaml` trims it).
pub(crate) fn to_yaml(v: &TValue) -> Traced {
    yaml_of(v, false)
}

/// `toYamlPretty`: go-yaml v3 with an indent of 2, which indents a sequence under its key.
pub(crate) fn to_yaml_pretty(v: &TValue) -> Traced {
    yaml_of(v, true)
}

fn yaml_of(v: &TValue, pretty: bool) -> Traced {
    let mut out = Traced::default();
    match v.kind() {
        Kind::Map(m) if !m.borrow().is_empty() => emit_map(&mut out, &sorted_entries(v), 0, false, pretty),
        Kind::Files(_) => emit_map(&mut out, &sorted_entries(v), 0, false, pretty),
        Kind::List(l) if !l.is_empty() => emit_list(&mut out, l, 0, false, pretty),
        _ => {
            emit_scalar(&mut out, v, 2);
            out.push_str("\n");
        }
    }
    out
}

pub(super) fn sorted_entries(v: &TValue) -> Vec<(String, TValue)> {
    let mut entries: Vec<(String, TValue)> = match v.kind() {
        Kind::Map(m) => m.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Kind::Files(f) => {
            f.iter().map(|(k, v)| (k.clone(), TValue::str(String::from_utf8_lossy(v).into_owned()))).collect()
        }
        _ => Vec::new(),
    };
    entries.sort_by(|a, b| yaml_key_order(&a.0, &b.0));
    entries
}

fn emit_map(out: &mut Traced, entries: &[(String, TValue)], indent: usize, inline_first: bool, pretty: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !inline_first {
            out.push_str(&" ".repeat(indent));
        }
        out.push(&scalar_text(&Traced::plain(key.clone()), indent));
        out.push_str(":");
        emit_value_after_key(out, value, indent, pretty);
    }
}

fn emit_value_after_key(out: &mut Traced, value: &TValue, indent: usize, pretty: bool) {
    match value.kind() {
        Kind::Map(m) if !m.borrow().is_empty() => {
            out.push_str("\n");
            emit_map(out, &sorted_entries(value), indent + 2, false, pretty);
        }
        Kind::Files(f) if !f.is_empty() => {
            out.push_str("\n");
            emit_map(out, &sorted_entries(value), indent + 2, false, pretty);
        }
        // go-yaml v2 does not indent a sequence under its key; v3 (toYamlPretty) does.
        Kind::List(l) if !l.is_empty() => {
            out.push_str("\n");
            emit_list(out, l, if pretty { indent + 2 } else { indent }, false, pretty);
        }
        _ => {
            out.push_str(" ");
            emit_scalar(out, value, indent + 2);
            out.push_str("\n");
        }
    }
}

fn emit_list(out: &mut Traced, list: &[TValue], indent: usize, inline_first: bool, pretty: bool) {
    for (i, item) in list.iter().enumerate() {
        if i > 0 || !inline_first {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("-");
        match item.kind() {
            Kind::Map(m) if !m.borrow().is_empty() => {
                out.push_str(" ");
                emit_map(out, &sorted_entries(item), indent + 2, true, pretty);
            }
            Kind::List(l) if !l.is_empty() => {
                out.push_str(" ");
                emit_list(out, l, indent + 2, true, pretty);
            }
            _ => {
                out.push_str(" ");
                emit_scalar(out, item, indent + 2);
                out.push_str("\n");
            }
        }
    }
}

/// A scalar (or empty collection) at a position whose block content would sit at `indent`.
fn emit_scalar(out: &mut Traced, v: &TValue, indent: usize) {
    match v.kind() {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push(&Traced::from_origin(b.to_string(), v.origin())),
        Kind::Int(i) => out.push(&Traced::from_origin(i.to_string(), v.origin())),
        Kind::Float(f) => out.push(&Traced::from_origin(yaml_float(*f), v.origin())),
        Kind::Str(s) => {
            let (styled, style) = styled_scalar(s, indent);
            fold_into(out, &styled, style, indent);
        }
        Kind::List(_) | Kind::ApiVersions(_) => out.push_str("[]"),
        Kind::Map(_) | Kind::Files(_) => out.push_str("{}"),
        Kind::Time(t) => out.push_str(&super::funcs::rfc3339(*t)),
        Kind::Semver(sv) => {
            let text = Traced::plain(sv.to_string());
            let (styled, style) = styled_scalar(&text, indent);
            fold_into(out, &styled, style, indent);
        }
    }
}

/// Numbers pass through JSON first: whole floats come back as YAML ints when go-yaml reads their
/// JSON text (shortest digits, `12345678901234567000`) as an int64 or uint64, else as floats
/// (`1e+20`).
fn yaml_float(f: f64) -> String {
    let json = format!("{f}");
    let whole = (f.fract() == 0.0 && f.abs() < 1e21).then_some(json.as_str());
    if let Some(i) = whole.and_then(|j| j.parse::<i64>().ok()) {
        i.to_string()
    } else if let Some(u) = whole.and_then(|j| j.parse::<u64>().ok()) {
        u.to_string()
    } else if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+.inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        go_float(f, 'g', None)
    }
}

/// A string scalar in go-yaml v2's chosen style: plain, single-quoted, double-quoted or literal.
fn scalar_text(s: &Traced, indent: usize) -> Traced {
    styled_scalar(s, indent).0
}

fn styled_scalar(s: &Traced, indent: usize) -> (Traced, Style) {
    let text = s.as_str();
    if text.contains('\n') {
        if literal_allowed(text) {
            return (literal(s, indent), Style::Literal);
        }
        return (double_quoted(s), Style::Double);
    }
    if !resolves_to_string(text) {
        return (double_quoted(s), Style::Double);
    }
    match plain_verdict(text) {
        Style::Single => {
            let mut out = Traced::plain("'");
            out.push(&s.map_chars(|c| (c == '\'').then(|| "''".to_string())));
            out.push_str("'");
            (out, Style::Single)
        }
        Style::Double => (double_quoted(s), Style::Double),
        _ => (s.clone(), Style::Plain),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// go-yaml v2 folds flow scalars at a space once a line passes 80 columns, continuing the
/// scalar on a new line at `indent`.
fn fold_into(out: &mut Traced, styled: &Traced, style: Style, indent: usize) {
    const BEST_WIDTH: usize = 80;
    if style == Style::Literal {
        out.push(styled);
        return;
    }
    let line_start = out.text.rfind('\n').map_or(0, |i| i + 1);
    let mut column = out.text[line_start..].chars().count();
    let text = styled.as_str();
    // Quoted scalars never break right after the opening or before the closing quote.
    let (first, last) = match style {
        Style::Plain => (0, text.len()),
        _ => (1, text.len().saturating_sub(2)),
    };
    let mut spaces = false;
    let mut run_start = 0;
    for (i, c) in text.char_indices() {
        if c != ' ' {
            column += 1;
            spaces = false;
            continue;
        }
        let next_space = text[i + 1..].starts_with(' ');
        let inner = i > first && i < last;
        let can_break = !spaces
            && column > BEST_WIDTH
            && match style {
                Style::Double => inner,
                Style::Single => inner && !next_space,
                _ => !next_space,
            };
        if can_break {
            out.push_slice(styled, run_start..i);
            out.push_str("\n");
            out.push_str(&" ".repeat(indent));
            column = indent;
            if style == Style::Double && next_space {
                out.push_str("\\");
                column += 1;
            }
            run_start = i + 1;
        } else {
            column += 1;
        }
        spaces = true;
    }
    out.push_slice(styled, run_start..text.len());
}

fn plain_verdict(text: &str) -> Style {
    if text.chars().any(|c| !is_printable(c)) {
        return Style::Double;
    }
    if text.is_empty() || text.starts_with(' ') || text.ends_with(' ') {
        return Style::Single;
    }
    if text.starts_with("---") || text.starts_with("...") {
        return Style::Single;
    }
    let chars: Vec<char> = text.chars().collect();
    let followed_by_space = |i: usize| chars.get(i + 1).is_none_or(|c| *c == ' ');
    let first = chars[0];
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return Style::Single;
    }
    if (first == '?' || first == ':' || first == '-') && followed_by_space(0) {
        return Style::Single;
    }
    for (i, &c) in chars.iter().enumerate().skip(1) {
        if c == ':' && followed_by_space(i) {
            return Style::Single;
        }
        if c == '#' && chars[i - 1] == ' ' {
            return Style::Single;
        }
    }
    Style::Plain
}

fn literal_allowed(text: &str) -> bool {
    // Trailing spaces on a line, or unprintable characters such as tabs, force double quotes.
    !text.contains(" \n") && !text.ends_with(' ') && text.chars().all(is_printable)
}

fn literal(s: &Traced, indent: usize) -> Traced {
    let text = s.as_str();
    let chomp = if !text.ends_with('\n') {
        "-"
    } else if text.ends_with("\n\n") || text == "\n" {
        "+"
    } else {
        ""
    };
    let mut out = Traced::plain("|");
    if text.starts_with(' ') {
        out.push_str("2");
    }
    out.push_str(chomp);
    out.push_str("\n");
    let body_end = if text.ends_with('\n') { text.len() - 1 } else { text.len() };
    let pad = " ".repeat(indent);
    let mut start = 0;
    loop {
        let end = text[start..body_end].find('\n').map_or(body_end, |i| start + i);
        if end > start {
            out.push_str(&pad);
            out.push_slice(s, start..end);
        }
        if end >= body_end {
            break;
        }
        out.push_str("\n");
        start = end + 1;
    }
    out
}

fn double_quoted(s: &Traced) -> Traced {
    let mut out = Traced::plain("\"");
    out.push(&s.map_chars(double_quote_escape));
    out.push_str("\"");
    out
}

/// go-yaml v2's resolver: would this text, written plain, read back as a string?
fn resolves_to_string(text: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True",
        "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF", "+.inf",
        "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
    ];
    if SPECIAL.contains(&text) {
        return false;
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return true;
    }
    !(is_yaml_int(text) || is_yaml_float(text) || is_base60(text) || is_timestamp(text))
}

fn is_yaml_int(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (digits, radix) = if let Some(h) = body.strip_prefix("0x") {
        (h, 16)
    } else if let Some(b) = body.strip_prefix("0b") {
        (b, 2)
    } else if let Some(o) = body.strip_prefix("0o") {
        (o, 8)
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    let digits = if radix != 10 || digits.contains('_') { digits.replace('_', "") } else { digits.to_string() };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}

fn is_yaml_float(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()),
        Some((int, frac)) => {
            !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

fn is_base60(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int_part, _) = body.split_once('.').unwrap_or((body, ""));
    let mut parts = int_part.split(':');
    let head = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && head.starts_with(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '_')
        && rest.iter().all(|p| {
            (1..=2).contains(&p.len())
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || p.as_bytes()[0] <= b'5')
        })
}

fn is_timestamp(text: &str) -> bool {
    let date = text.split(['T', 't', ' ']).next().unwrap_or("");
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[1].len() <= 2
        && parts[2].len() <= 2
}

/// go-yaml v2's key order: letters by code point, digit runs by numeric value.
pub(crate) fn yaml_key_order(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl { Ordering::Less } else { Ordering::Greater };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.saturating_mul(10).saturating_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.saturating_mul(10).saturating_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// Parses YAML as Helm does: go-yaml's YAML 1.1 scalars (`yes` is true, `0755` is 493) read
/// through `crate::yaml`, then through JSON, so every number is a float64.
pub(crate) fn from_yaml(text: &str) -> Result<TValue, String> {
    let value = crate::yaml::parse_documents(text, "fromYaml")
        .map_err(|e| {
            let line = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
            format!("error converting YAML to JSON: yaml: {line}{}", e.message)
        })?
        .into_iter()
        .next()
        .unwrap_or(crate::values::Value::Null);
    Ok(TValue::plain(&value))
}
