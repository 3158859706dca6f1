//! Parser events into `Value` trees with go-yaml's rules: anchors, aliases and merge keys expanded
//! within budgets, explicit tags applied, key lines recorded, errors located.
//!
//! The events come from libyaml-safer, a safe port of the C library go-yaml (and so Helm) was
//! translated from, so the grammar is Helm's: a flow list or map may close at its key's own
//! indentation (`args: [` ... `]` at column 0), which saphyr-parser, a YAML 1.2 parser, refuses.

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use libyaml_safer::{EventData, Parser, ScalarStyle};

use super::scalars::{key_text, resolve_plain};
use super::{group_digits, MAX_ALIAS_NODES, MAX_DEPTH};
use crate::diagnostic::Code;
use crate::error::Error;
use crate::values::{Map, Value, ValuesPath};

/// The tag prefix `!!` stands for.
const CORE_TAG: &str = "tag:yaml.org,2002:";

/// Where an event starts: its 1-based line.
#[derive(Clone, Copy)]
struct Span {
    line: usize,
}

/// The parser events the reader walks, with what it needs of each.
enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Scalar { value: String, plain: bool, anchor: Option<String>, tag: Option<String> },
    Alias(String),
    SequenceStart(Option<String>),
    SequenceEnd,
    MappingStart(Option<String>),
    MappingEnd,
}

/// Builds values trees from parser events, recording where each key path is defined.
pub(super) struct Reader<'a> {
    parser: Parser<Cursor<Vec<u8>>>,
    /// A panic inside the parser ends the stream with an error.
    failed: bool,
    file: &'a str,
    anchors: HashMap<String, (Value, usize)>,
    alias_nodes: usize,
    /// Lists and maps open around the node being read.
    depth: usize,
    record_lines: bool,
    pub(super) lines: HashMap<ValuesPath, usize>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(text: &str, file: &'a str, record_lines: bool) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // libyaml-safer 0.3.0 panics on a block scalar that ends the input without a line break;
        // a break appended at the very end moves no position.
        let mut input = text.as_bytes().to_vec();
        if !text.ends_with('\n') {
            input.push(b'\n');
        }
        let mut parser = Parser::new();
        parser.set_input(Cursor::new(input));
        Reader {
            parser,
            failed: false,
            file,
            anchors: HashMap::new(),
            alias_nodes: 0,
            depth: 0,
            record_lines,
            lines: HashMap::new(),
        }
    }

    fn scan_error(&self, e: &libyaml_safer::Error) -> Error {
        let mark = e.problem_mark().unwrap_or_default();
        // go-yaml's words (libyaml's): the problem, after what the parser was doing.
        let message = match e.context() {
            Some(context) => format!("{context}, {}", e.problem()),
            None => e.problem().to_string(),
        };
        #[allow(clippy::cast_possible_truncation, reason = "positions inside a file of at most 116 MiB")]
        let (line, column) = (mark.line as usize + 1, mark.column as usize + 1);
        Error::coded(Code::YamlInvalid, format!("invalid YAML: {message} (column {column})"))
            .at(self.file)
            .line(line)
            .hint("fix the YAML syntax at that line (indentation, quotes, brackets)")
    }

    fn error_at(&self, span: Span, message: impl Into<String>) -> Error {
        Error::coded(Code::YamlInvalid, message).at(self.file).line(span.line)
    }

    fn next(&mut self) -> Result<(Event, Span), Error> {
        let internal = || {
            Error::coded(Code::YamlInvalid, "the YAML parser failed on this text (an internal error of libyaml-safer)")
                .at(self.file)
        };
        if self.failed {
            return Err(internal());
        }
        let event = match catch_unwind(AssertUnwindSafe(|| self.parser.parse())) {
            Ok(Ok(event)) => event,
            Ok(Err(e)) => return Err(self.scan_error(&e)),
            Err(_) => {
                self.failed = true;
                return Err(internal());
            }
        };
        #[allow(clippy::cast_possible_truncation, reason = "positions inside a file of at most 116 MiB")]
        let span = Span { line: event.start_mark.line as usize + 1 };
        let event = match event.data {
            EventData::StreamStart { .. } => Event::StreamStart,
            EventData::StreamEnd => Event::StreamEnd,
            EventData::DocumentStart { .. } => Event::DocumentStart,
            EventData::DocumentEnd { .. } => Event::DocumentEnd,
            EventData::Scalar { value, anchor, tag, style, .. } => {
                Event::Scalar { value, plain: style == ScalarStyle::Plain, anchor, tag }
            }
            EventData::Alias { anchor } => Event::Alias(anchor),
            EventData::SequenceStart { anchor, .. } => Event::SequenceStart(anchor),
            EventData::SequenceEnd => Event::SequenceEnd,
            EventData::MappingStart { anchor, .. } => Event::MappingStart(anchor),
            EventData::MappingEnd => Event::MappingEnd,
        };
        Ok((event, span))
    }

    pub(super) fn documents(&mut self) -> Result<Vec<Value>, Error> {
        let mut docs = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart => {
                    self.anchors.clear();
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span, &ValuesPath::root())?;
                    docs.push(value);
                }
                _ => return Err(self.error_at(span, "unexpected YAML event outside a document")),
            }
        }
    }

    fn node(&mut self, ev: Event, span: Span, path: &ValuesPath) -> Result<Value, Error> {
        match ev {
            Event::Scalar { value, plain, anchor, tag } => {
                let value = self.scalar(value, plain, tag.as_deref(), span)?;
                self.remember(anchor, &value, span)?;
                Ok(value)
            }
            Event::Alias(name) => {
                let Some((value, size)) = self.anchors.get(&name) else {
                    return Err(self.error_at(span, "an alias (`*name`) refers to an unknown anchor"));
                };
                self.alias_nodes += size;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(self.too_many_alias_nodes(span));
                }
                Ok(value.clone())
            }
            Event::SequenceStart(anchor) => {
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
            Event::MappingStart(anchor) => {
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
            let is_merge = matches!(&ev, Event::Scalar { value, plain: true, tag: None, .. } if value == "<<");
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
                        self.lines.insert(child.clone(), key_span.line);
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

    fn node_without_lines(&mut self, ev: Event, span: Span) -> Result<Value, Error> {
        let record = std::mem::replace(&mut self.record_lines, false);
        let value = self.node(ev, span, &ValuesPath::root());
        self.record_lines = record;
        value
    }

    fn scalar(&self, text: String, plain: bool, tag: Option<&str>, span: Span) -> Result<Value, Error> {
        let core = tag.and_then(|t| t.strip_prefix(CORE_TAG));
        if core == Some("str") || (!plain && core.is_none()) {
            return Ok(Value::String(text));
        }
        let value = resolve_plain(&text).map_err(|m| self.error_at(span, m))?;
        Ok(match (core, value) {
            // `!!float 3`: go-yaml converts the integer as Go's float64(i) does.
            #[allow(clippy::cast_precision_loss, reason = "Go's float64(int64) conversion, exactly")]
            (Some("float"), Value::Int(i)) => Value::Float(i as f64),
            (_, v) => v,
        })
    }

    /// Keeps a copy of an anchored node for its aliases. Copies count against the alias budget
    /// too: anchors nested in anchors (`&a [&b [&c ...]]`) would otherwise copy quadratically.
    fn remember(&mut self, anchor: Option<String>, value: &Value, span: Span) -> Result<(), Error> {
        if let Some(anchor) = anchor {
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
        // Flow collections nest as deep as block ones, as in go-yaml (saphyr-parser stopped at 255).
        let flow = format!("a: {}1{}\n", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        on_big_stack(move || parse_values(&flow, "values.yaml").map(|_| ())).unwrap();
        let flow = format!("a: {}", "{a: ".repeat(100_000));
        let err = on_big_stack(move || parse_values(&flow, "values.yaml")).unwrap_err();
        assert_eq!(err.to_string().lines().next(), Some("values.yaml: nesting deeper than 10,000 levels (line 1)"));
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

    /// go-yaml (libyaml) does not measure flow collections against the block indentation, so
    /// Helm reads a list or map closed at its key's own column, or left of it; the refusals keep
    /// Helm's words (tests/template-cases/values-yaml/ holds the accepted shapes, blessed by Helm).
    #[test]
    fn flow_collections_closed_at_their_key_s_column_read_as_in_go_yaml() {
        let values = v("args: [\n  \"--a\",\n  \"--b\"\n]\nm: {\n  a: 1\n}\nnest:\n  l: [\nx\n]\n  after: 2\n");
        assert_eq!(at(&values, "args[1]"), Value::String("--b".into()));
        assert_eq!(at(&values, "m.a"), Value::Int(1));
        assert_eq!(at(&values, "nest.l[0]"), Value::String("x".into()));
        assert_eq!(at(&values, "nest.after"), Value::Int(2));
        assert_eq!(key_lines("nest:\n  l: [\nx\n]\n  after: 2\n").get(&ValuesPath::parse("nest.after")), Some(&5));
        // Helm v3.17.2 and v4.1.4: `yaml: line 1: did not find expected node content` / `expected key`.
        let err = parse_values("key: [\n---\n]\n", "values.yaml").unwrap_err();
        assert!(err.message.contains("did not find expected node content"), "{err}");
        assert_eq!(err.line, Some(2));
        let err = parse_values("a: [1,\n2] x\n", "values.yaml").unwrap_err();
        assert!(err.message.contains("did not find expected key"), "{err}");
    }

    #[test]
    fn explicit_tags_force_the_type() {
        let values = v("s: !!str 123\nf: !!float 3\nq: !!int \"7\"\n");
        assert_eq!(at(&values, "s"), Value::String("123".into()));
        assert_eq!(at(&values, "f"), Value::Float(3.0));
        assert_eq!(at(&values, "q"), Value::Int(7));
    }
}
