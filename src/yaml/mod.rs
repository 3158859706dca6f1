//! The one place that reads and writes YAML: values files and Chart.yaml into `Value` trees the way
//! Helm reads them, key lines for `scan` output, and values trees printed back as YAML for Helm.
//!
//! Helm reads YAML with go-yaml v2 (YAML 1.1) and then converts it to JSON (sigs.k8s.io/yaml). What
//! that means, checked against Helm v4.2.3, and why this module parses with libyaml's events
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
//!
//! This file holds the entry points and limits; `read` walks parser events into values, `scalars`
//! resolves plain scalars and formats numbers as Go does, `write` prints values back.

mod read;
mod scalars;
mod write;

use std::collections::HashMap;

use crate::diagnostic::Code;
use crate::error::Error;
use crate::values::{Map, Value, ValuesPath};
use read::Reader;
pub use scalars::go_string;
pub use write::{double_quote_escape, is_printable, scalar, to_string};

/// Alias expansion beyond this many nodes is refused (a "billion laughs" file would otherwise
/// exhaust memory); go-yaml has the same kind of guard.
const MAX_ALIAS_NODES: usize = 1_000_000;

/// Lists and maps nested deeper than this are refused: go-yaml's own limit ("exceeded max depth of
/// 10000"), so every file Helm reads is read here too, and a hostile `- - - ...` line ends with a
/// message instead of a crash.
pub const MAX_DEPTH: usize = 10_000;

/// The longest key YAML lets stand before `:` without `?` (1024 characters, less room for quotes).
const MAX_IMPLICIT_KEY: usize = 1000;

/// Parses one YAML document into a values tree. Errors name `file` and the line/column.
/// An empty text is `Null`; a text with several documents is an error (see `parse_documents`).
pub fn parse(text: &str, file: &str) -> Result<Value, Error> {
    let mut docs = parse_documents(text, file)?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => Ok(docs.remove(0)),
        n => Err(Error::coded(Code::YamlInvalid, format!("expected one YAML document, found {n}"))
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
                return Err(Error::coded(
                    Code::YamlInvalid,
                    format!("a values file must be a map of keys, but this one is {}", kind(&other)),
                )
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn v(text: &str) -> Value {
        parse_values(text, "values.yaml").unwrap()
    }

    pub(super) fn at(value: &Value, path: &str) -> Value {
        value.get(&ValuesPath::parse(path)).cloned().unwrap_or(Value::String("<missing>".into()))
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
    fn key_lines_point_at_each_key() {
        let text = "# header\nimage:\n  registry: docker.io\n  repository: nginx\nsidecars:\n  - name: a\n    image: busybox\n";
        let lines = key_lines(text);
        assert_eq!(lines.get(&ValuesPath::parse("image")), Some(&2));
        assert_eq!(lines.get(&ValuesPath::parse("image.repository")), Some(&4));
        assert_eq!(lines.get(&ValuesPath::parse("sidecars[0].image")), Some(&7));
        assert_eq!(lines.get(&ValuesPath::parse("sidecars[0].name")), Some(&6));
    }
}
