//! One YAML document as a tree whose scalars keep their style and byte position, built from
//! saphyr-parser's events (which count positions in characters, not bytes).

use std::borrow::Cow;
use std::ops::Range;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span};

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node<'a> {
    Scalar(Scalar<'a>),
    Sequence(Vec<Node<'a>>),
    Mapping(Vec<(Node<'a>, Node<'a>)>),
    /// `*anchor`: the node it names is checked where it is defined.
    Alias,
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

    /// The value under the text key `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.as_mapping()?.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v)
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

impl From<ScanError> for SyntaxError {
    fn from(e: ScanError) -> Self {
        SyntaxError { line: e.marker().line(), column: e.marker().col() + 1, message: e.info().to_string() }
    }
}

/// Converts the parser's character indices into byte offsets. The parser reports positions in
/// ascending order almost always, so a forward-moving cursor makes this linear; ASCII text (the
/// usual manifest) needs no conversion at all.
struct ByteOffsets<'a> {
    text: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> ByteOffsets<'a> {
    fn new(text: &'a str) -> Self {
        ByteOffsets { text, ascii: text.is_ascii(), chars: 0, bytes: 0 }
    }

    fn byte(&mut self, marker: &Marker) -> usize {
        let target = marker.index();
        if self.ascii {
            return target.min(self.text.len());
        }
        if target < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        for c in self.text[self.bytes..].chars() {
            if self.chars == target {
                break;
            }
            self.chars += 1;
            self.bytes += c.len_utf8();
        }
        self.bytes
    }

    fn range(&mut self, span: &Span) -> Range<usize> {
        let start = self.byte(&span.start);
        start..self.byte(&span.end)
    }
}

enum Open<'a> {
    Sequence(Vec<Node<'a>>),
    Mapping(Vec<(Node<'a>, Node<'a>)>, Option<Node<'a>>),
}

/// Parses every document in `text`.
pub(crate) fn parse(text: &str) -> Result<Vec<Document<'_>>, SyntaxError> {
    let mut parser = Parser::new_from_str(text).keep_tags(true);
    let mut offsets = ByteOffsets::new(text);
    let mut documents = Vec::new();
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut root: Option<Node<'_>> = None;
    let mut line = 1;
    while let Some(event) = parser.next_event() {
        let (event, span) = event?;
        let complete = match event {
            Event::DocumentStart(_) => {
                line = span.end.line();
                continue;
            }
            Event::DocumentEnd => {
                let root = root.take().unwrap_or(Node::Scalar(Scalar {
                    value: Cow::Borrowed(""),
                    style: ScalarStyle::Plain,
                    span: 0..0,
                    line,
                    foreign_tag: false,
                }));
                documents.push(Document { root, line });
                continue;
            }
            Event::Scalar(value, style, _anchor, tag) => {
                let foreign_tag = tag.is_some_and(|t| !(t.is_yaml_core_schema() && t.suffix == "str"));
                let line = span.start.line();
                Node::Scalar(Scalar { value, style, span: offsets.range(&span), line, foreign_tag })
            }
            Event::Alias(_) => Node::Alias,
            Event::SequenceStart(..) => {
                stack.push(Open::Sequence(Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Open::Mapping(Vec::new(), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Sequence(items)) => Node::Sequence(items),
                Some(Open::Mapping(entries, _)) => Node::Mapping(entries),
                None => continue,
            },
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
        };
        match stack.last_mut() {
            Some(Open::Sequence(items)) => items.push(complete),
            Some(Open::Mapping(entries, key)) => match key.take() {
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

/// The line of the first scalar in `node`, where a mapping's content begins.
fn first_line(node: &Node<'_>) -> Option<usize> {
    match node {
        Node::Scalar(s) => Some(s.line),
        Node::Sequence(items) => items.iter().find_map(first_line),
        Node::Mapping(entries) => entries.iter().find_map(|(k, _)| first_line(k)),
        Node::Alias => None,
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
    fn syntax_errors_name_line_and_column() {
        let e = parse("a: 1\nb: [x\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        assert!(!e.message.is_empty());
    }
}
