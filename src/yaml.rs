//! The one place that reads and writes YAML: values files and Chart.yaml into `Value` trees the way
//! Helm reads them, key lines for `scan` output, and values trees printed back as YAML for Helm.
//!
//! Helm reads YAML with go-yaml v2 (YAML 1.1) and then converts it to JSON (sigs.k8s.io/yaml). What
//! that means, checked against Helm v4.2.3, and why this module parses with `saphyr-parser` events
//! and prints by hand instead of going through `serde_yaml` (the user's choice, unmaintained
//! upstream, still a dependency for whoever needs a plain YAML 1.2 reader):
//! - plain `yes`/`no`/`on`/`off`/`y`/`n` (any case variant go-yaml knows) are booleans, also as
//!   keys (`y:` becomes the key `"true"`); serde_yaml (YAML 1.2) reads them as strings, and its
//!   serde `Value` forgets whether a scalar was quoted, so `'yes'` and `yes` cannot be told apart;
//! - `0755` is octal (493), `1_000` is 1000, `0x1F`, `0o17`, `0b101` are integers, `08` is 8;
//! - `1.10` is the float 1.1 (Helm turns every number into a float64; we keep `Int` and `Float`
//!   apart, integers outside `i64` become `Float` as in Helm);
//! - `.inf`/`.nan` make Helm fail ("unsupported value"), so they are errors here too;
//! - dates such as `2001-12-14` stay strings; `1:20` is a string (no sexagesimal numbers);
//! - `<<` merge keys are applied (serde_yaml 0.9 leaves them as a key named `<<`);
//! - a key repeated in one map is not an error: the last one wins (serde_yaml refuses the file);
//! - a values file may hold several documents, merged map by map, later documents winning;
//! - serde_yaml's printer writes the string `yes` or `1_000` unquoted, which Helm would then read as
//!   a boolean or a number, so `to_string` quotes every string that go-yaml would not read back as
//!   the same string.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use crate::error::Error;
use crate::values::{Map, Value, ValuesPath};

/// Alias expansion beyond this many nodes is refused (a "billion laughs" file would otherwise
/// exhaust memory); go-yaml has the same kind of guard.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Lists and maps nested deeper than this are refused: go-yaml's own limit ("exceeded max depth of
/// 10000"), so every file Helm reads is read here too, and a hostile `- - - ...` line ends with a
/// message instead of a crash.
pub const MAX_DEPTH: usize = 10_000;

/// The longest key YAML lets stand before `:` without `?` (1024 characters, less room for quotes).
const MAX_IMPLICIT_KEY: usize = 1000;

/// Flow collections (`[[[...]]]`) nest at most this deep in saphyr-parser (a `u8` counter).
pub const MAX_FLOW_DEPTH: usize = 255;

/// Parses one YAML document into a values tree. Errors name `file` and the line/column.
/// An empty text is `Null`; a text with several documents is an error (see `parse_documents`).
pub fn parse(text: &str, file: &str) -> Result<Value, Error> {
    let mut docs = parse_documents(text, file)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0)),
        n => Err(Error::new(format!("expected one YAML document, found {n}"))
            .at(file)
            .hint("split the documents into separate files, or remove the extra `---` lines")),
    }
}

/// Parses every document of a YAML stream, in order.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Value>, Error> {
    let mut reader = Reader::new(text, file, false);
    reader.documents()
}

/// A values file: must be a map (or empty -> empty map); anything else is an error saying so.
/// Several documents are merged map by map, as Helm does.
pub fn parse_values(text: &str, file: &str) -> Result<Value, Error> {
    let mut merged = Map::new();
    for doc in parse_documents(text, file)? {
        match doc {
            Value::Null => {}
            Value::Map(m) => merged = merge_maps(merged, m),
            other => {
                return Err(Error::new(format!(
                    "a values file must be a map of keys, but this one is {}",
                    kind(&other)
                ))
                .at(file)
                .hint("write values as `key: value` lines at the top level"))
            }
        }
    }
    Ok(Value::Map(merged))
}

/// Helm's `MergeMaps` (values files, multi-document files): maps merge, anything else, a `null`
/// included, is replaced (nulls delete keys later, when coalesced over the chart's defaults).
pub fn merge_maps(mut base: Map, over: Map) -> Map {
    for (k, v) in over {
        match (base.remove(&k), v) {
            (Some(Value::Map(b)), Value::Map(o)) => {
                base.insert(k, Value::Map(merge_maps(b, o)));
            }
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
    base
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
    }
}

/// The 1-based line where each key path is defined in `text` (for `scan` output: `values.yaml:12`).
/// Keys that only exist through an alias or a `<<` merge have no line of their own. A later
/// document's definition of a path wins, as its value does. Unparsable text gives the lines read
/// before the error.
pub fn key_lines(text: &str) -> HashMap<ValuesPath, usize> {
    let mut reader = Reader::new(text, "", true);
    let _ = reader.documents();
    reader.lines
}

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

/// Go's `strconv.FormatFloat(f, 'g', -1, bits)`: shortest digits, exponent form when the exponent
/// is below -4 or at least 6 (`1e+06`, `1.2345678e+07`, `1e-05`).
fn go_format_g(f: f64, bits32: bool) -> String {
    let sci = if bits32 {
        let x = f as f32;
        if x.is_infinite() {
            return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
        }
        format!("{x:e}")
    } else {
        if f.is_infinite() {
            return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
        }
        format!("{f:e}")
    };
    if f.is_nan() {
        return "NaN".into();
    }
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if digits.chars().all(|c| c == '0') {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// What go-yaml v2 (then JSON) makes of a plain scalar. `Err` for values Helm cannot convert.
fn resolve_plain(text: &str) -> Result<Value, String> {
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
            return Some(Value::Int((magnitude as i128).wrapping_neg() as i64));
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
fn key_text(key: Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(go_format_g(f, true)),
        Value::Null => Err("a map key is null, which Helm cannot read".into()),
        Value::List(_) | Value::Map(_) => Err("a map key is a list or a map, which Helm cannot read".into()),
    }
}

/// Builds values trees from parser events, recording where each key path is defined.
struct Reader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    file: &'a str,
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
    /// Lists and maps open around the node being read.
    depth: usize,
    record_lines: bool,
    lines: HashMap<ValuesPath, usize>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, file: &'a str, record_lines: bool) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Reader {
            parser: Parser::new_from_str(text),
            file,
            anchors: HashMap::new(),
            alias_nodes: 0,
            depth: 0,
            record_lines,
            lines: HashMap::new(),
        }
    }

    fn scan_error(&self, e: &ScanError) -> Error {
        let m = e.marker();
        // saphyr-parser counts flow nesting in a byte; say which limit that is.
        if e.info() == "recursion limit exceeded" {
            return Error::new(format!(
                "flow lists and maps (`[`, `{{`) nested deeper than {MAX_FLOW_DEPTH} levels (column {})",
                m.col() + 1
            ))
            .at(self.file)
            .line(m.line())
            .hint("this YAML reader's limit (Helm allows 10,000 levels); write the deeper levels in block style");
        }
        Error::new(format!("invalid YAML: {} (column {})", e.info(), m.col() + 1))
            .at(self.file)
            .line(m.line())
            .hint("fix the YAML syntax at that line (indentation, quotes, brackets)")
    }

    fn error_at(&self, span: Span, message: impl Into<String>) -> Error {
        Error::new(message).at(self.file).line(span.start.line())
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), Error> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(Error::new("unexpected end of YAML").at(self.file)),
        }
    }

    fn documents(&mut self) -> Result<Vec<Value>, Error> {
        let mut docs = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart(_) => {
                    self.anchors.clear();
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span, &ValuesPath::root())?;
                    docs.push(value);
                }
                _ => return Err(self.error_at(span, "unexpected YAML event outside a document")),
            }
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span, path: &ValuesPath) -> Result<Value, Error> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let value = self.scalar(&text, style, tag.as_deref(), span)?;
                self.remember(anchor, &value, span)?;
                Ok(value)
            }
            Event::Alias(id) => {
                let Some((value, size)) = self.anchors.get(&id) else {
                    return Err(self.error_at(span, "an alias (`*name`) refers to an unknown anchor"));
                };
                self.alias_nodes += size;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(self.too_many_alias_nodes(span));
                }
                Ok(value.clone())
            }
            Event::SequenceStart(anchor, _) => {
                self.enter(span)?;
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let item_path = path.index(items.len());
                    items.push(self.node(ev, span, &item_path)?);
                }
                self.depth -= 1;
                let value = Value::List(items);
                self.remember(anchor, &value, span)?;
                Ok(value)
            }
            Event::MappingStart(anchor, _) => {
                self.enter(span)?;
                let value = Value::Map(self.mapping(path)?);
                self.depth -= 1;
                self.remember(anchor, &value, span)?;
                Ok(value)
            }
            _ => Err(self.error_at(span, "unexpected YAML event")),
        }
    }

    fn mapping(&mut self, path: &ValuesPath) -> Result<Map, Error> {
        let mut map = Map::new();
        let mut merges: Vec<Map> = Vec::new();
        loop {
            let (ev, key_span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                break;
            }
            let is_merge = matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
            let key = if is_merge {
                None
            } else {
                // Keys are not values paths of their own; record nothing under them.
                let key = self.node_without_lines(ev, key_span)?;
                Some(key_text(key).map_err(|m| self.error_at(key_span, m).at(path.to_string()))?)
            };
            let (ev, span) = self.next()?;
            match key {
                None => {
                    let value = self.node(ev, span, path)?;
                    match value {
                        Value::Map(m) => merges.push(m),
                        Value::List(items) => {
                            for item in items {
                                match item {
                                    Value::Map(m) => merges.push(m),
                                    _ => return Err(self.error_at(span, "a `<<` merge list may only hold maps")),
                                }
                            }
                        }
                        _ => return Err(self.error_at(span, "a `<<` merge key needs a map")),
                    }
                }
                Some(key) => {
                    let child = path.child(&key);
                    if self.record_lines {
                        self.lines.insert(child.clone(), key_span.start.line());
                    }
                    let value = self.node(ev, span, &child)?;
                    map.insert(key, value);
                }
            }
        }
        // Explicit keys win over merged ones; an earlier merged map wins over a later one.
        for merged in merges {
            for (k, v) in merged {
                map.entry(k).or_insert(v);
            }
        }
        Ok(map)
    }

    /// One level deeper into lists and maps; an error past `MAX_DEPTH`.
    fn enter(&mut self, span: Span) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self
                .error_at(span, format!("nesting deeper than {} levels", group_digits(MAX_DEPTH)))
                .hint("Helm refuses it too (go-yaml's limit); flatten the lists and maps"));
        }
        Ok(())
    }

    fn node_without_lines(&mut self, ev: Event<'a>, span: Span) -> Result<Value, Error> {
        let record = std::mem::replace(&mut self.record_lines, false);
        let value = self.node(ev, span, &ValuesPath::root());
        self.record_lines = record;
        value
    }

    fn scalar(&self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Result<Value, Error> {
        let core = tag.filter(|t| t.is_yaml_core_schema()).map(|t| t.suffix.as_str());
        if core == Some("str") {
            return Ok(Value::String(text.into()));
        }
        if style != ScalarStyle::Plain && core.is_none() {
            return Ok(Value::String(text.into()));
        }
        let value = resolve_plain(text).map_err(|m| self.error_at(span, m))?;
        Ok(match (core, value) {
            (Some("float"), Value::Int(i)) => Value::Float(i as f64),
            (_, v) => v,
        })
    }

    /// Keeps a copy of an anchored node for its aliases. Copies count against the alias budget
    /// too: anchors nested in anchors (`&a [&b [&c ...]]`) would otherwise copy quadratically.
    fn remember(&mut self, anchor: usize, value: &Value, span: Span) -> Result<(), Error> {
        if anchor != 0 {
            let size = node_count(value);
            self.alias_nodes += size;
            if self.alias_nodes > MAX_ALIAS_NODES {
                return Err(self.too_many_alias_nodes(span));
            }
            self.anchors.insert(anchor, (value.clone(), size));
        }
        Ok(())
    }

    fn too_many_alias_nodes(&self, span: Span) -> Error {
        self.error_at(
            span,
            format!(
                "the document's anchors and aliases expand into too many nodes (more than {})",
                group_digits(MAX_ALIAS_NODES)
            ),
        )
        .hint("the file looks like an alias bomb; remove the nested `&` anchors and `*` aliases")
    }
}

/// `10000` as `10,000`, for limits named in messages.
pub fn group_digits(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn node_count(value: &Value) -> usize {
    match value {
        Value::List(l) => 1 + l.iter().map(node_count).sum::<usize>(),
        Value::Map(m) => 1 + m.values().map(node_count).sum::<usize>(),
        _ => 1,
    }
}

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

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Step;

    fn v(text: &str) -> Value {
        parse_values(text, "values.yaml").unwrap()
    }

    fn at(value: &Value, path: &str) -> Value {
        value.get(&ValuesPath::parse(path)).cloned().unwrap_or(Value::String("<missing>".into()))
    }

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
    fn anchors_aliases_and_merge_keys_expand() {
        let values = v("base: &b\n  x: 1\n  z: 2\nm:\n  <<: *b\n  z: 3\nl: *b\n");
        assert_eq!(at(&values, "m.x"), Value::Int(1));
        assert_eq!(at(&values, "m.z"), Value::Int(3));
        assert_eq!(at(&values, "l.z"), Value::Int(2));
        assert_eq!(at(&values, "m").as_map().unwrap().len(), 2);
    }

    #[test]
    fn alias_bombs_stop_with_an_error() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_values(&text, "bomb.yaml").unwrap_err();
        assert!(err.message.contains("too many"), "{err}");
    }

    /// Deep documents recurse; tests run on a thread with a stack like the binary's.
    fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new().stack_size(256 << 20).spawn(f).unwrap().join().unwrap()
    }

    #[test]
    fn nesting_is_limited_to_go_yaml_s_depth_and_names_the_limit() {
        let ok = format!("a:\n  {}x\n", "- ".repeat(MAX_DEPTH - 2));
        on_big_stack(move || parse_values(&ok, "values.yaml").map(|_| ())).unwrap();
        let deep = format!("a:\n  {}x\n", "- ".repeat(100_000));
        let err = on_big_stack(move || parse_values(&deep, "values.yaml")).unwrap_err();
        assert_eq!(err.to_string().lines().next(), Some("values.yaml: nesting deeper than 10,000 levels (line 2)"));
        let flow = format!("a: {}", "{a: ".repeat(1000));
        let err = on_big_stack(move || parse_values(&flow, "values.yaml")).unwrap_err();
        assert!(err.message.contains("nested deeper than 255 levels"), "{err}");
    }

    #[test]
    fn nested_anchors_count_against_the_alias_budget() {
        // Each level's anchor copies everything below it: 2,000 levels copy 2 million nodes.
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!("{}k: &a{i}\n", " ".repeat(i)));
        }
        text.push_str(&format!("{}k: x\n", " ".repeat(2000)));
        let err = on_big_stack(move || parse_values(&text, "values.yaml")).unwrap_err();
        assert!(err.message.contains("more than 1,000,000"), "{err}");
    }

    #[test]
    fn key_lines_of_a_deep_file_share_their_paths() {
        let text = format!("a:\n{}", (1..3000).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>());
        let lines = on_big_stack(move || key_lines(&text));
        assert_eq!(lines.len(), 3000);
        let deepest = ValuesPath::from_steps(
            std::iter::once(Step::Key("a".into())).chain((1..3000).map(|_| Step::Key("k".into()))).collect(),
        );
        assert_eq!(lines.get(&deepest), Some(&3000));
    }

    #[test]
    fn group_digits_writes_thousands() {
        assert_eq!(group_digits(10_000), "10,000");
        assert_eq!(group_digits(1_000_000), "1,000,000");
        assert_eq!(group_digits(255), "255");
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        assert_eq!(at(&v("a: 1\na: 2\n"), "a"), Value::Int(2));
    }

    #[test]
    fn values_files_merge_documents_and_must_be_maps() {
        let values = v("a: 1\nb: {x: 1}\n---\nb: {z: 2}\nc: 3\n");
        assert_eq!(at(&values, "b.x"), Value::Int(1));
        assert_eq!(at(&values, "b.z"), Value::Int(2));
        assert_eq!(at(&values, "c"), Value::Int(3));
        assert_eq!(v(""), Value::Map(Map::new()));
        assert_eq!(v("# only a comment\n"), Value::Map(Map::new()));
        let err = parse_values("- 1\n- 2\n", "values.yaml").unwrap_err();
        assert!(err.message.contains("a list"), "{err}");
        assert_eq!(err.location, vec!["values.yaml".to_string()]);
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n", "my-values.yaml").unwrap_err();
        assert_eq!(err.location, vec!["my-values.yaml".to_string()]);
        assert!(err.line.is_some_and(|l| l >= 2), "{err:?}");
        assert!(err.to_string().starts_with("my-values.yaml: invalid YAML"), "{err}");
    }

    #[test]
    fn explicit_tags_force_the_type() {
        let values = v("s: !!str 123\nf: !!float 3\nq: !!int \"7\"\n");
        assert_eq!(at(&values, "s"), Value::String("123".into()));
        assert_eq!(at(&values, "f"), Value::Float(3.0));
        assert_eq!(at(&values, "q"), Value::Int(7));
    }

    #[test]
    fn key_lines_point_at_each_key() {
        let text = "# header\nimage:\n  registry: docker.io\n  repository: nginx\nsidecars:\n  - name: a\n    image: busybox\n";
        let lines = key_lines(text);
        assert_eq!(lines.get(&ValuesPath::parse("image")), Some(&2));
        assert_eq!(lines.get(&ValuesPath::parse("image.repository")), Some(&4));
        assert_eq!(lines.get(&ValuesPath::parse("sidecars[0].image")), Some(&7));
        assert_eq!(lines.get(&ValuesPath::parse("sidecars[0].name")), Some(&6));
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
}
