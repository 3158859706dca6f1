//! Values trees printed back as YAML that Helm (go-yaml v2) reads as the same values: every string
//! that would read back as something else is quoted.

use super::scalars::resolve_plain;
use super::MAX_IMPLICIT_KEY;
use crate::values::{Map, Value};

/// Prints a values tree as YAML (block style, keys in map order, strings quoted only when Helm
/// would otherwise read them as something else).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Map(m) if !m.is_empty() => write_map(m, 0, &mut out),
        Value::List(l) if !l.is_empty() => write_list(l, 0, &mut out),
        other => {
            out.push_str(&inline(other, 0));
            out.push('\n');
        }
    }
    out
}

fn write_map(map: &Map, indent: usize, out: &mut String) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a map inside a list item sits on the `- ` line.
        if !(i == 0 && out.ends_with("- ")) {
            out.push_str(&" ".repeat(indent));
        }
        // A key cannot be a block scalar: multi-line keys are double-quoted (found by fuzzing).
        let key_text = if key.contains('\n') { double_quoted(key) } else { scalar_string(key, indent) };
        // YAML limits an implicit key to 1024 characters; a longer one is written as an explicit
        // `? key` with its `:` on the next line (found by fuzzing).
        if key_text.chars().count() > MAX_IMPLICIT_KEY {
            out.push_str("? ");
            out.push_str(&key_text);
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        } else {
            out.push_str(&key_text);
        }
        out.push(':');
        write_after_key(value, indent, out);
    }
}

fn write_after_key(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            write_map(m, indent + 2, out);
        }
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            write_list(l, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other, indent + 2));
            out.push('\n');
        }
    }
}

fn write_list(list: &[Value], indent: usize, out: &mut String) {
    for item in list {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Value::Map(m) if !m.is_empty() => write_map(m, indent + 2, out),
            Value::List(l) if !l.is_empty() => {
                out.pop();
                out.push('\n');
                write_list(l, indent + 2, out);
            }
            other => {
                out.push_str(&inline(other, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// One scalar as it would stand after `key: ` in a block mapping, quoted where Helm would misread it.
pub fn scalar(value: &Value) -> String {
    inline(value, 0)
}

/// A scalar or an empty collection on one line (a literal block may follow for multi-line text).
fn inline(value: &Value, indent: usize) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f),
        Value::String(s) => scalar_string(s, indent),
        Value::List(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// A float that reads back as a float (`1.0`, not `1`, which would be an integer).
fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else if f.abs() >= 1e15 || f.abs() < 1e-5 {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}

fn scalar_string(s: &str, indent: usize) -> String {
    if s.contains('\n') {
        if let Some(block) = literal_block(s, indent) {
            return block;
        }
        return double_quoted(s);
    }
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return double_quoted(s);
    }
    if needs_quotes(s) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.into()
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') || s.ends_with(':') {
        return true;
    }
    if resolve_plain(s) != Ok(Value::String(s.into())) || s == "<<" {
        return true;
    }
    let first = s.chars().next().expect("not empty");
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.contains('\t')
}

/// `|` / `|-` block for multi-line text that a block can hold exactly; `None` otherwise.
fn literal_block(s: &str, indent: usize) -> Option<String> {
    let (body, chomp) = match s.strip_suffix('\n') {
        Some(b) if !b.ends_with('\n') => (b, ""),
        Some(_) => return None,
        None => (s, "-"),
    };
    // A byte order mark inside a document is an error to YAML readers: such text is double-quoted
    // with the mark escaped (found by the values_yaml fuzz target).
    let clean =
        body.lines().all(|l| !l.ends_with([' ', '\t']) && !l.chars().any(|c| c.is_control() || c == '\u{feff}'));
    if !clean || body.starts_with([' ', '\t']) || body.is_empty() {
        return None;
    }
    let pad = " ".repeat(indent.max(2));
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    Some(out)
}

/// `s` in double quotes, escaped as go-yaml v2's emitter escapes it.
fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match double_quote_escape(c) {
            Some(escape) => out.push_str(&escape),
            None => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The escape go-yaml v2's emitter writes for `c` in a double-quoted scalar, or None when `c` is
/// written as it is; `toYaml` (template/yaml_out/mod.rs) writes the same, so both match Helm's bytes.
pub fn double_quote_escape(c: char) -> Option<String> {
    match c {
        '"' => Some("\\\"".into()),
        '\\' => Some("\\\\".into()),
        '\0' => Some("\\0".into()),
        '\x07' => Some("\\a".into()),
        '\x08' => Some("\\b".into()),
        '\t' => Some("\\t".into()),
        '\n' => Some("\\n".into()),
        '\x0b' => Some("\\v".into()),
        '\x0c' => Some("\\f".into()),
        '\r' => Some("\\r".into()),
        '\x1b' => Some("\\e".into()),
        '\u{85}' => Some("\\N".into()),
        '\u{a0}' => Some("\\_".into()),
        '\u{2028}' => Some("\\L".into()),
        '\u{2029}' => Some("\\P".into()),
        c if !is_printable(c) => {
            Some(if (c as u32) <= 0xff { format!("\\x{:02X}", c as u32) } else { format!("\\u{:04X}", c as u32) })
        }
        _ => None,
    }
}

/// go-yaml v2's `is_printable`: the characters its emitter writes unescaped.
pub fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && c != '\u{feff}'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tests::v;

    #[test]
    fn printed_values_read_back_identical() {
        let text = "a: 'yes'\nb: '1.10'\nc: 1.5\nd: 2.0\ne: -3\nf: ''\ng: \"multi\\nline\\n\"\n\
                    h: [1, 'on', {x: '0755'}]\ni: {}\nj: []\nk: null\nl: '- dash'\nm: 'a: b'\n\
                    n: \"tab\\there\"\no: '1_000'\np: 'y'\n'yes': key\nq: [[1, 2], [3]]\n\
                    r: 'x #not comment'\ns: \"  lead\\nspaces\"\nt: \"bell\\a\"\nu: 1.0e+20\n";
        let value = v(text);
        let printed = to_string(&value);
        assert_eq!(v(&printed), value, "printed:\n{printed}");
    }

    #[test]
    fn issue10_fuzz_a_byte_order_mark_in_multi_line_text_reads_back() {
        let value = v("a: \"first\\n\\ufeffsecond\\n\"\n");
        let printed = to_string(&value);
        assert_eq!(printed, "a: \"first\\n\\uFEFFsecond\\n\"\n");
        assert_eq!(v(&printed), value);
    }

    #[test]
    fn issue10_fuzz_a_key_with_a_line_break_reads_back() {
        let value = v("\"a\\nb\": 1\n");
        let printed = to_string(&value);
        assert_eq!(printed, "\"a\\nb\": 1\n");
        assert_eq!(v(&printed), value);
    }

    #[test]
    fn issue10_fuzz_a_key_longer_than_yaml_allows_implicitly_reads_back() {
        let long = "k".repeat(2000);
        let value = v(&format!("? {long}\n: 1\nlist:\n  - ? {long}\n    : {{a: 1}}\n"));
        let printed = to_string(&value);
        assert!(printed.starts_with(&format!("? {long}\n: 1\n")), "{printed}");
        assert_eq!(v(&printed), value, "{printed}");
    }

    #[test]
    fn printing_quotes_only_what_needs_it() {
        let value = v("image: {registry: quay.io, tag: 'v1.2'}\nflag: 'true'\nport: 8080\n");
        assert_eq!(to_string(&value), "flag: 'true'\nimage:\n  registry: quay.io\n  tag: v1.2\nport: 8080\n");
        let nested = v("list:\n  - name: a\n    image: x\n  - plain\n");
        assert_eq!(to_string(&nested), "list:\n  - image: x\n    name: a\n  - plain\n");
    }

    #[test]
    fn double_quoted_strings_escape_as_go_yaml_and_read_back() {
        let value = v("s: \"a\\x01b\\u00a0c\\u2028d\\u0085e\\x7f\"\n");
        let printed = to_string(&value);
        assert_eq!(printed, "s: \"a\\x01b\\_c\\Ld\\Ne\\x7F\"\n");
        assert_eq!(v(&printed), value);
    }
}
