//! One YAML document as a tree whose scalars keep their style and byte position, built from
//! libyaml's parse events (libyaml-safer, which counts positions in bytes).

#![allow(
    clippy::cast_possible_truncation,
    reason = "libyaml-safer counts positions in u64; a stream is bounded far below usize on the 64-bit targets we build"
)]

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Range;

use libyaml_safer::EventData;
// The style type the rest of the crate shares (src/yaml/ reads values with saphyr-parser).
use saphyr_parser::ScalarStyle;

/// A scalar as written: its value and where its text sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar<'a> {
    pub value: Cow<'a, str>,
    pub style: ScalarStyle,
    /// Bytes of the node in the parsed text, including any anchor or tag in front of it.
    pub span: Range<usize>,
    /// 1-based line where the span starts, in the parsed text.
    pub line: usize,
    /// Tagged with anything but `!!str` (`!!binary`, a custom tag): not plain text.
    pub foreign_tag: bool,
    /// Read through an alias: `span` holds the `*name` token, not the anchored text, so a new
    /// value is written there in place of the alias (the anchor keeps its own text).
    pub alias: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node<'a> {
    Scalar(Scalar<'a>),
    Sequence(Vec<Node<'a>>),
    Mapping(Vec<(Node<'a>, Node<'a>)>),
}

impl<'a> Node<'a> {
    pub fn as_scalar(&self) -> Option<&Scalar<'a>> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of a scalar that is text to a Kubernetes reader (not a tagged binary).
    pub fn as_text(&self) -> Option<&str> {
        self.as_scalar().filter(|s| !s.foreign_tag).map(|s| s.value.as_ref())
    }

    pub fn as_sequence(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Sequence(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&[(Node<'a>, Node<'a>)]> {
        match self {
            Node::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under the text key `key` (the last, if written twice), itself or through
    /// a YAML 1.1 merge key (`<<: *base`, `<<: [*a, *b]`), which go-yaml and so Kubernetes honour.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        let entries = self.as_mapping()?;
        // The last of duplicate keys, as go-yaml and Kubernetes read them.
        if let Some((_, v)) = entries.iter().rfind(|(k, _)| k.as_text() == Some(key)) {
            return Some(v);
        }
        let merged = entries.iter().filter(|(k, _)| {
            k.as_scalar().is_some_and(|s| s.style == ScalarStyle::Plain && !s.foreign_tag && s.value == "<<")
        });
        merged.flat_map(|(_, v)| v.as_sequence().map_or(std::slice::from_ref(v), |list| list)).find_map(|m| m.get(key))
    }

    /// A plain `null`, `~` or nothing at all: what an empty document parses to.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(s) if s.style == ScalarStyle::Plain
            && !s.foreign_tag && matches!(s.value.as_ref(), "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// A parsed document: its root, and the 1-based line where its content starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document<'a> {
    pub root: Node<'a>,
    pub line: usize,
}

/// Why a text is not YAML, with the 1-based line and column in the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl From<libyaml_safer::Error> for SyntaxError {
    fn from(e: libyaml_safer::Error) -> Self {
        let mark = e.problem_mark().unwrap_or_default();
        let message = match e.context() {
            Some(context) => format!("{} {context}", e.problem()),
            None => e.problem().to_string(),
        };
        SyntaxError { line: mark.line as usize + 1, column: mark.column as usize + 1, message }
    }
}

/// Nesting deeper than this is refused: no manifest comes near it, and the walks over the tree
/// recurse once per level.
pub(crate) const MAX_DEPTH: usize = 10_000;

/// Nodes that aliases may add to a document by expansion, so a billion-laughs document costs
/// bounded memory (go-yaml refuses such documents too, as "excessive aliasing").
pub(crate) const MAX_ALIAS_NODES: usize = 1_000_000;

enum Open<'a> {
    Sequence(Vec<Node<'a>>, Option<String>),
    Mapping(Vec<(Node<'a>, Node<'a>)>, Option<Node<'a>>, Option<String>),
}

thread_local! {
    /// Whether this thread reads every text with libyaml (`tree::parse_full`), bypassing the fast
    /// reader: set by `with_full_reader`, or for a whole process by the internal environment
    /// variable `HELM_RETARGET_FULL_READER=1` (benchmarks and differential tests compare the two).
    static FULL_READER: Cell<bool> =
        Cell::new(std::env::var_os("HELM_RETARGET_FULL_READER").is_some_and(|v| !v.is_empty() && v != "0"));
}

/// Runs `f` with this thread's reader forced to the full one (`full`) or left to choose.
pub(crate) fn with_full_reader<T>(full: bool, f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            FULL_READER.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(FULL_READER.with(|c| c.replace(full)));
    f()
}

/// Every document in `text`, as `parse_full` gives them: read by the fast reader (`block`) when
/// it vouches for the text, else by libyaml.
pub(crate) fn parse(text: &str) -> Result<Vec<Document<'_>>, SyntaxError> {
    if !FULL_READER.with(Cell::get) {
        if let Some(documents) = super::block::parse(text) {
            return Ok(documents);
        }
    }
    parse_full(text)
}

/// Parses every document in `text` with libyaml's grammar (through libyaml-safer, a safe port of
/// the C library that go-yaml, and so Helm and Kubernetes, was translated from), so the reader
/// accepts what Helm accepts: flow collections whose lines or closing brackets sit at any
/// indentation, quoted scalars continued at column 0, and the rest of libyaml's leniencies.
/// Aliases are resolved to copies of the node their anchor names (see `Scalar::alias`).
pub(crate) fn parse_full(text: &str) -> Result<Vec<Document<'_>>, SyntaxError> {
    // libyaml-safer 0.3.0 panics on a block scalar that ends the input without a line break; a
    // break appended at the very end moves no position. A panic it still has is an error here.
    let terminated;
    let input = if text.ends_with('\n') {
        text
    } else {
        terminated = format!("{text}\n");
        &terminated
    };
    match std::panic::catch_unwind(|| parse_terminated(text, input)) {
        Ok(result) => result,
        Err(_) => Err(SyntaxError {
            line: 1,
            column: 1,
            message: "the YAML parser failed on this text (an internal error of libyaml-safer)".into(),
        }),
    }
}

/// `parse` of `text`, reading `input`: `text` with at most a line break appended.
fn parse_terminated<'t>(text: &'t str, input: &str) -> Result<Vec<Document<'t>>, SyntaxError> {
    // libyaml consumes a byte-order mark before it counts positions.
    let skipped = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut input = &input.as_bytes()[skipped..];
    let mut parser = libyaml_safer::Parser::new();
    parser.set_input_string(&mut input);
    let byte = |mark: &libyaml_safer::Mark| (mark.index as usize + skipped).min(text.len());
    let mut documents = Vec::new();
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut anchors: HashMap<String, Node<'_>> = HashMap::new();
    let mut expanded = 0usize;
    let mut root: Option<Node<'_>> = None;
    let mut line = 1;
    loop {
        let event = parser.parse()?;
        let start_line = event.start_mark.line as usize + 1;
        let span = byte(&event.start_mark)..byte(&event.end_mark);
        let (complete, anchor) = match event.data {
            EventData::StreamEnd => break,
            EventData::DocumentStart { .. } => {
                line = event.end_mark.line as usize + 1;
                anchors.clear();
                continue;
            }
            EventData::DocumentEnd { .. } => {
                let root = root.take().unwrap_or(Node::Scalar(Scalar {
                    value: Cow::Borrowed(""),
                    style: ScalarStyle::Plain,
                    span: 0..0,
                    line,
                    foreign_tag: false,
                    alias: false,
                }));
                documents.push(Document { root, line });
                continue;
            }
            EventData::Scalar { anchor, tag, value, style, .. } => {
                let foreign_tag = tag.is_some_and(|t| t != "tag:yaml.org,2002:str");
                let style = match style {
                    libyaml_safer::ScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                    libyaml_safer::ScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    libyaml_safer::ScalarStyle::Literal => ScalarStyle::Literal,
                    libyaml_safer::ScalarStyle::Folded => ScalarStyle::Folded,
                    _ => ScalarStyle::Plain,
                };
                let (span, line) = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded => block_content(text, span, start_line),
                    _ => (span, start_line),
                };
                let scalar = Scalar { value: Cow::Owned(value), style, span, line, foreign_tag, alias: false };
                (Node::Scalar(scalar), anchor)
            }
            EventData::Alias { anchor } => {
                let Some(target) = anchors.get(&anchor) else {
                    return Err(SyntaxError {
                        line: start_line,
                        column: event.start_mark.column as usize + 1,
                        message: format!("unknown anchor *{anchor}"),
                    });
                };
                expanded += node_count(target);
                if expanded > MAX_ALIAS_NODES {
                    return Err(SyntaxError {
                        line: start_line,
                        column: event.start_mark.column as usize + 1,
                        message: format!("aliases expand to more than {MAX_ALIAS_NODES} nodes (excessive aliasing)"),
                    });
                }
                let node = match target {
                    // A scalar read through an alias is written where the alias is: `*name`.
                    Node::Scalar(s) => Node::Scalar(Scalar { span, line: start_line, alias: true, ..s.clone() }),
                    // A collection's scalars stay where the anchor wrote them.
                    other => other.clone(),
                };
                (node, None)
            }
            EventData::SequenceStart { anchor, .. } | EventData::MappingStart { anchor, .. }
                if stack.len() >= MAX_DEPTH =>
            {
                let _ = anchor;
                return Err(SyntaxError {
                    line: start_line,
                    column: event.start_mark.column as usize + 1,
                    message: format!("nesting deeper than {MAX_DEPTH} levels"),
                });
            }
            EventData::SequenceStart { anchor, .. } => {
                stack.push(Open::Sequence(Vec::new(), anchor));
                continue;
            }
            EventData::MappingStart { anchor, .. } => {
                stack.push(Open::Mapping(Vec::new(), None, anchor));
                continue;
            }
            EventData::SequenceEnd | EventData::MappingEnd => match stack.pop() {
                Some(Open::Sequence(items, anchor)) => (Node::Sequence(items), anchor),
                Some(Open::Mapping(entries, _, anchor)) => (Node::Mapping(entries), anchor),
                None => continue,
            },
            EventData::StreamStart { .. } => continue,
        };
        if let Some(anchor) = anchor {
            anchors.insert(anchor, complete.clone());
        }
        match stack.last_mut() {
            Some(Open::Sequence(items, _)) => items.push(complete),
            Some(Open::Mapping(entries, key, _)) => match key.take() {
                Some(k) => entries.push((k, complete)),
                None => *key = Some(complete),
            },
            None => {
                if root.is_none() && matches!(complete, Node::Mapping(_) | Node::Sequence(_)) {
                    line = first_line(&complete).unwrap_or(line);
                }
                root = Some(complete);
            }
        }
    }
    Ok(documents)
}

/// A block scalar's span and line from its first line with content (libyaml's start at the `|`
/// or `>` header), which is where the lines of its value begin to be written.
pub(super) fn block_content(text: &str, span: Range<usize>, line: usize) -> (Range<usize>, usize) {
    let Some(header_end) = text[span.clone()].find('\n').map(|i| span.start + i + 1) else {
        return (span, line);
    };
    let mut start = header_end;
    let mut line = line + 1;
    while let Some(len) = text[start..span.end].find('\n') {
        if !text[start..start + len].trim_matches([' ', '\t', '\r']).is_empty() {
            break;
        }
        start += len + 1;
        line += 1;
    }
    start += text[start..span.end].len() - text[start..span.end].trim_start_matches(' ').len();
    (start..span.end, line)
}

/// How many nodes `node` holds, counting itself.
fn node_count(node: &Node<'_>) -> usize {
    match node {
        Node::Scalar(_) => 1,
        Node::Sequence(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        Node::Mapping(entries) => 1 + entries.iter().map(|(k, v)| node_count(k) + node_count(v)).sum::<usize>(),
    }
}

/// The line of the first scalar in `node`, where a mapping's content begins.
pub(super) fn first_line(node: &Node<'_>) -> Option<usize> {
    match node {
        Node::Scalar(s) => Some(s.line),
        Node::Sequence(items) => items.iter().find_map(first_line),
        Node::Mapping(entries) => entries.iter().find_map(|(k, _)| first_line(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar<'d>(node: &'d Node<'d>, path: &[&str]) -> &'d Scalar<'d> {
        let mut node = node;
        for step in path {
            node = match step.parse::<usize>() {
                Ok(i) => &node.as_sequence().unwrap()[i],
                Err(_) => node.get(step).unwrap(),
            };
        }
        node.as_scalar().unwrap()
    }

    #[test]
    fn spans_are_byte_offsets_even_after_multibyte_characters() {
        let text = "a: \"héllo wörld\"\nb: 'it''s'\nc: plain ünïcode\nd: [x, y]\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 1);
        let root = &docs[0].root;
        for (path, written) in
            [(&["a"][..], "\"héllo wörld\""), (&["b"], "'it''s'"), (&["c"], "plain ünïcode"), (&["d", "1"], "y")]
        {
            let s = scalar(root, path);
            assert_eq!(&text[s.span.clone()], written, "{path:?}");
        }
        assert_eq!(scalar(root, &["b"]).value, "it's");
        assert_eq!(scalar(root, &["d", "1"]).line, 4);
    }

    #[test]
    fn tags_other_than_str_mark_a_scalar_foreign() {
        let docs = parse("a: !!binary aGk=\nb: !!str x\nc: x\n").unwrap();
        let root = &docs[0].root;
        assert!(scalar(root, &["a"]).foreign_tag);
        assert!(!scalar(root, &["b"]).foreign_tag);
        assert!(!scalar(root, &["c"]).foreign_tag);
        assert_eq!(root.get("a").unwrap().as_text(), None);
    }

    #[test]
    fn empty_and_comment_only_texts() {
        assert!(parse("# just a comment\n").unwrap().is_empty());
        let docs = parse("---\n# nothing\n").unwrap();
        assert_eq!(docs.len(), 1);
        assert!(docs[0].root.is_null());
    }

    #[test]
    fn a_document_starts_at_its_first_key() {
        let docs = parse("---\n# Source: x\n\nkind: Pod\n").unwrap();
        assert_eq!(docs[0].line, 4);
    }

    #[test]
    fn aliases_expand_within_stated_limits() {
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = (b'a' + i - 1) as char;
            let this = (b'a' + i) as char;
            laughs.push_str(&format!("{this}: &{this} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = parse(&laughs).unwrap_err();
        assert!(e.message.contains("excessive aliasing"), "{e:?}");
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().message.contains("nesting deeper than 10000 levels"));
        let e = parse("a: *nowhere\n").unwrap_err();
        assert!(e.message.contains("unknown anchor"), "{e:?}");
    }

    #[test]
    fn a_block_scalar_at_the_end_of_unterminated_input_parses() {
        let text = "kind: A\na: |\n  x";
        let docs = parse(text).unwrap();
        let a = scalar(&docs[0].root, &["a"]);
        assert_eq!(a.value, "x\n");
        assert_eq!(&text[a.span.clone()], "x");
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = parse("a: 1\nb: [x\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        assert!(!e.message.is_empty());
    }
}
