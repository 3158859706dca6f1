//! Parser events (saphyr-parser) into `Value` trees with go-yaml's rules: anchors, aliases and merge
//! keys expanded within budgets, explicit tags applied, key lines recorded, errors located.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use super::scalars::{key_text, resolve_plain};
use super::{group_digits, MAX_ALIAS_NODES, MAX_DEPTH, MAX_FLOW_DEPTH};
use crate::diagnostic::Code;
use crate::error::Error;
use crate::values::{Map, Value, ValuesPath};

/// Builds values trees from parser events, recording where each key path is defined.
pub(super) struct Reader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    file: &'a str,
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
    /// Lists and maps open around the node being read.
    depth: usize,
    record_lines: bool,
    pub(super) lines: HashMap<ValuesPath, usize>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &'a str, file: &'a str, record_lines: bool) -> Self {
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
            return Error::coded(
                Code::YamlInvalid,
                format!(
                    "flow lists and maps (`[`, `{{`) nested deeper than {MAX_FLOW_DEPTH} levels (column {})",
                    m.col() + 1
                ),
            )
            .at(self.file)
            .line(m.line())
            .hint("this YAML reader's limit (Helm allows 10,000 levels); write the deeper levels in block style");
        }
        Error::coded(Code::YamlInvalid, format!("invalid YAML: {} (column {})", e.info(), m.col() + 1))
            .at(self.file)
            .line(m.line())
            .hint("fix the YAML syntax at that line (indentation, quotes, brackets)")
    }

    fn error_at(&self, span: Span, message: impl Into<String>) -> Error {
        Error::coded(Code::YamlInvalid, message).at(self.file).line(span.start.line())
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), Error> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(Error::coded(Code::YamlInvalid, "unexpected end of YAML").at(self.file)),
        }
    }

    pub(super) fn documents(&mut self) -> Result<Vec<Value>, Error> {
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
            // `!!float 3`: go-yaml converts the integer as Go's float64(i) does.
            #[allow(clippy::cast_precision_loss, reason = "Go's float64(int64) conversion, exactly")]
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

fn node_count(value: &Value) -> usize {
    match value {
        Value::List(l) => 1 + l.iter().map(node_count).sum::<usize>(),
        Value::Map(m) => 1 + m.values().map(node_count).sum::<usize>(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use crate::values::Step;
    use crate::yaml::tests::{at, v};
    use crate::yaml::*;

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
    fn explicit_tags_force_the_type() {
        let values = v("s: !!str 123\nf: !!float 3\nq: !!int \"7\"\n");
        assert_eq!(at(&values, "s"), Value::String("123".into()));
        assert_eq!(at(&values, "f"), Value::Float(3.0));
        assert_eq!(at(&values, "q"), Value::Int(7));
    }
}
