//! The fast reader: builds the same tree as `tree::parse_full` for the plain block YAML Helm's
//! templates produce, straight from the bytes, and declines (`None`) any text it cannot prove it
//! reads exactly as libyaml does; that text goes to libyaml, so a decline costs speed, never bytes.
//!
//! What it reads: block mappings and sequences (indentless too, compact `- key: v`), one-line plain
//! and quoted scalars (quoted with the common escapes only), one-line flow collections of those,
//! literal and folded block scalars with clip, strip or keep chomping, comments, `---` and `...`
//! markers. What it declines: anchors, aliases, tags, directives, `?` keys, multi-line plain,
//! quoted or flow nodes, block scalars with an indentation digit or no content, root scalars, tabs, CR, control or non-printing characters, a byte-order mark, nesting
//! past `MAX_DEPTH`, and anything it finds malformed (libyaml then names the error).
//! Every tree it returns is checked against libyaml's in the tests and the fuzz target.

use std::borrow::Cow;

use saphyr_parser::ScalarStyle;

use super::tree::{first_line, Document, Node, Scalar};

mod scalars;

/// Deeper nesting is left to libyaml, whose limits and messages the full path has.
const MAX_DEPTH: usize = 100;

/// Longer keys are left to libyaml (it refuses simple keys over 1024 characters).
const MAX_KEY: usize = 1000;

/// The documents of `text` exactly as `tree::parse_full` gives them, or `None` when this reader
/// cannot vouch for that.
pub(crate) fn parse(text: &str) -> Option<Vec<Document<'_>>> {
    if !plain_characters(text) {
        return None;
    }
    let mut reader = Reader { text, bytes: text.as_bytes(), at: 0, line: 1, depth: 0 };
    reader.stream()
}

/// Characters whose reading is position-for-position the same in both readers: no tab, CR,
/// control character, byte-order mark or Unicode line break (NEL, LS, PS count as breaks in
/// libyaml), and only characters libyaml accepts as printable.
fn plain_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.iter().any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f) {
        return false;
    }
    text.is_ascii()
        || text.chars().all(|c| {
            let c = u32::from(c);
            c < 0x80
                || ((0xa0..=0xfffd).contains(&c) && !matches!(c, 0x2028 | 0x2029 | 0xd800..=0xdfff | 0xfeff))
                || c >= 0x10000
        })
}

/// A position on a line: the line's next content, found after blank and comment lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    End,
    /// A `---` line.
    Start,
    /// A `...` line.
    Finish,
    /// A line with content, at this column.
    Content(usize),
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    /// Start of the current line.
    at: usize,
    /// 1-based number of the current line.
    line: usize,
    depth: usize,
}

fn is_blank_or_end(byte: Option<&u8>) -> bool {
    matches!(byte, None | Some(b' ' | b'\n'))
}

impl<'t> Reader<'t> {
    fn byte(&self, at: usize) -> Option<&u8> {
        self.bytes.get(at)
    }

    /// A block sequence entry indicator at `at`: `-` then a blank or the line end.
    fn dash_at(&self, at: usize) -> bool {
        self.byte(at) == Some(&b'-') && is_blank_or_end(self.byte(at + 1))
    }

    /// End of the line that holds `at` (the `\n`, or the end of the text).
    fn line_end(&self, at: usize) -> usize {
        self.bytes[at..].iter().position(|&b| b == b'\n').map_or(self.bytes.len(), |i| at + i)
    }

    /// Moves to the start of the next line.
    fn next_line(&mut self) {
        let end = self.line_end(self.at);
        if end < self.bytes.len() {
            self.at = end + 1;
            self.line += 1;
        } else {
            self.at = self.bytes.len();
        }
    }

    fn spaces_from(&self, at: usize) -> usize {
        self.bytes[at..].iter().take_while(|&&b| b == b' ').count()
    }

    /// Whether nothing but spaces and a comment follow `at` on its line; `at` follows a blank or
    /// an indicator, so a `#` there opens a comment only when a space precedes it.
    fn rest_is_blank(&self, at: usize) -> bool {
        let p = at + self.spaces_from(at);
        match self.byte(p) {
            None | Some(b'\n') => true,
            Some(b'#') => p > at,
            _ => false,
        }
    }

    /// Skips blank and comment lines; what the next line holds.
    fn next_content(&mut self) -> Option<Next> {
        loop {
            if self.at >= self.bytes.len() {
                return Some(Next::End);
            }
            let line = &self.bytes[self.at..];
            if line.starts_with(b"---") || line.starts_with(b"...") {
                if !is_blank_or_end(line.get(3)) {
                    return None;
                }
                return Some(if line[0] == b'-' { Next::Start } else { Next::Finish });
            }
            let indent = self.spaces_from(self.at);
            match line.get(indent) {
                None | Some(b'\n' | b'#') => self.next_line(),
                Some(_) => return Some(Next::Content(indent)),
            }
        }
    }

    /// The documents of the whole text.
    fn stream(&mut self) -> Option<Vec<Document<'t>>> {
        let mut documents = Vec::new();
        let mut after_finish = false;
        loop {
            match self.next_content()? {
                Next::End => return Some(documents),
                // libyaml skips extra `...` only after a document; one before all is a document.
                Next::Finish if after_finish => {
                    if !self.rest_is_blank(self.at + 3) {
                        return None;
                    }
                    self.next_line();
                }
                Next::Finish => return None,
                Next::Start => {
                    if !self.rest_is_blank(self.at + 3) {
                        return None;
                    }
                    let marker_line = self.line;
                    self.next_line();
                    let document = if let Next::Content(indent) = self.next_content()? {
                        self.root(indent, marker_line)?
                    } else {
                        // An empty document: an empty scalar where the next token starts.
                        let (at, line) = self.token_mark();
                        Document { root: empty(at, line), line: marker_line }
                    };
                    documents.push(document);
                    after_finish = self.document_end()?;
                }
                Next::Content(indent) => {
                    if after_finish || !documents.is_empty() {
                        return None;
                    }
                    let line = self.line;
                    documents.push(self.root(indent, line)?);
                    after_finish = self.document_end()?;
                }
            }
        }
    }

    /// Where libyaml's next token starts (the current content line, or the end of the input).
    fn token_mark(&self) -> (usize, usize) {
        if self.at < self.bytes.len() {
            return (self.at, self.line);
        }
        // libyaml reads the text with a line break appended when it lacks one.
        let lines = self.bytes.iter().filter(|&&b| b == b'\n').count();
        let appended = usize::from(!self.text.ends_with('\n'));
        (self.bytes.len(), lines + appended + 1)
    }

    /// After a document's root: the end of the input, a `---`, or a `...` (consumed; returns true).
    fn document_end(&mut self) -> Option<bool> {
        match self.next_content()? {
            Next::End | Next::Start => Some(false),
            Next::Finish if self.rest_is_blank(self.at + 3) => {
                self.next_line();
                Some(true)
            }
            _ => None,
        }
    }

    fn root(&mut self, indent: usize, base_line: usize) -> Option<Document<'t>> {
        let root = self.block_node(indent)?;
        let line = first_line(&root).unwrap_or(base_line);
        Some(Document { root, line })
    }

    /// A block mapping or sequence whose first line is the current one, at `indent`.
    fn block_node(&mut self, indent: usize) -> Option<Node<'t>> {
        let at = self.at + indent;
        if self.dash_at(at) {
            return self.nested(|r| r.sequence(indent));
        }
        if self.key(at)?.is_key() {
            return self.nested(|r| r.mapping(indent, at));
        }
        None
    }

    /// The node on the lines below a key or `-` of a collection at `column`, starting at `indent`
    /// (Helm's `toYaml | nindent` writes `{}` there).
    fn below(&mut self, indent: usize, column: usize) -> Option<Node<'t>> {
        let at = self.at + indent;
        if self.dash_at(at) || self.key(at)?.is_key() {
            return self.block_node(indent);
        }
        self.inline(at, column)
    }

    fn nested(&mut self, read: impl FnOnce(&mut Self) -> Option<Node<'t>>) -> Option<Node<'t>> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let node = read(self);
        self.depth -= 1;
        node
    }

    /// A block mapping whose keys sit at column `column`; the first key starts at byte `first`
    /// (mid-line for `- key: value`).
    fn mapping(&mut self, column: usize, first: usize) -> Option<Node<'t>> {
        let mut entries = Vec::new();
        let mut at = first;
        loop {
            let Key::Key(key, after_colon) = self.key(at)? else {
                return None;
            };
            if at - self.at != column {
                return None;
            }
            let value = self.value(after_colon, column)?;
            entries.push((key, value));
            match self.next_content()? {
                Next::Content(indent) if indent == column => {
                    at = self.at + indent;
                    if self.dash_at(at) {
                        return None;
                    }
                }
                Next::Content(indent) if indent > column => return None,
                _ => return Some(Node::Mapping(entries)),
            }
        }
    }

    /// A block sequence whose `-` sit at column `column`; the current line holds the first.
    fn sequence(&mut self, column: usize) -> Option<Node<'t>> {
        let mut items = Vec::new();
        loop {
            let dash = self.at + column;
            let p = dash + 1 + self.spaces_from(dash + 1);
            let item = if self.rest_is_blank(dash + 1) {
                let line = self.line;
                self.next_line();
                match self.next_content()? {
                    Next::Content(indent) if indent > column => self.below(indent, column)?,
                    // An empty item: libyaml's empty scalar sits right after the `-`.
                    _ => empty(dash + 1, line),
                }
            } else if self.dash_at(p) {
                return None;
            } else if self.key(p)?.is_key() {
                let inner = p - self.at;
                self.nested(|r| r.mapping(inner, p))?
            } else {
                self.inline(p, column)?
            };
            items.push(item);
            match self.next_content()? {
                Next::Content(indent) if indent == column && self.dash_at(self.at + indent) => {}
                Next::Content(indent) if indent > column => return None,
                _ => return Some(Node::Sequence(items)),
            }
        }
    }

    /// What the line holds at `at`: a block key (and the byte after its `:`), or something else
    /// (a scalar, a flow collection, a block scalar).
    fn key(&self, at: usize) -> Option<Key<'t>> {
        let (scalar, end) = match self.bytes[at] {
            b'"' | b'\'' => {
                let (scalar, end) = self.quoted(at)?;
                (scalar, end + self.spaces_from(end))
            }
            b'[' | b'{' | b'|' | b'>' => return Some(Key::None),
            first => {
                if !plain_start(first, self.byte(at + 1)) {
                    return None;
                }
                let end = self.line_end(at);
                let mut i = at;
                loop {
                    if i == end {
                        return Some(Key::None);
                    }
                    match self.bytes[i] {
                        b':' if is_blank_or_end(self.byte(i + 1)) => break,
                        b'#' if self.bytes[i - 1] == b' ' => return Some(Key::None),
                        _ => i += 1,
                    }
                }
                let written = self.text[at..i].trim_end_matches(' ');
                if written.len() > MAX_KEY {
                    return None;
                }
                (self.plain(at, written), i)
            }
        };
        if self.byte(end) == Some(&b':') && is_blank_or_end(self.byte(end + 1)) {
            if scalar.span.len() > MAX_KEY {
                return None;
            }
            return Some(Key::Key(Node::Scalar(scalar), end + 1));
        }
        Some(Key::None)
    }

    fn plain(&self, at: usize, written: &'t str) -> Scalar<'t> {
        Scalar {
            value: Cow::Borrowed(written),
            style: ScalarStyle::Plain,
            span: at..at + written.len(),
            line: self.line,
            foreign_tag: false,
            alias: false,
        }
    }

    /// The value after a block key's `:` (at `at`), in a mapping at `column`; leaves the reader
    /// at the line after the value.
    fn value(&mut self, at: usize, column: usize) -> Option<Node<'t>> {
        if self.rest_is_blank(at) {
            let line = self.line;
            self.next_line();
            return match self.next_content()? {
                Next::Content(indent) if indent > column => self.below(indent, column),
                Next::Content(indent) if indent == column && self.dash_at(self.at + indent) => {
                    self.nested(|r| r.sequence(column))
                }
                // libyaml's empty scalar sits right after the `:`.
                _ => Some(empty(at, line)),
            };
        }
        let p = at + self.spaces_from(at);
        self.inline(p, column)
    }

    /// A node that starts at `at` on the current line and is not a block collection: a block
    /// scalar, or a one-line flow collection or scalar. `column` is the enclosing collection's.
    fn inline(&mut self, at: usize, column: usize) -> Option<Node<'t>> {
        let (node, end) = match self.bytes[at] {
            b'|' | b'>' => return self.block_scalar(at, column),
            b'[' | b'{' => self.flow(at, self.depth)?,
            b'"' | b'\'' => {
                let (scalar, end) = self.quoted(at)?;
                (Node::Scalar(scalar), end)
            }
            first => {
                if !plain_start(first, self.byte(at + 1)) {
                    return None;
                }
                let end = self.line_end(at);
                let mut i = at;
                while i < end {
                    match self.bytes[i] {
                        b':' if is_blank_or_end(self.byte(i + 1)) => return None,
                        b'#' if self.bytes[i - 1] == b' ' => break,
                        _ => i += 1,
                    }
                }
                let written = self.text[at..i].trim_end_matches(' ');
                (Node::Scalar(self.plain(at, written)), at + written.len())
            }
        };
        if !self.rest_is_blank(end) {
            return None;
        }
        self.next_line();
        Some(node)
    }
}

/// What a line holds where a key may be.
enum Key<'t> {
    /// A key, and the byte after its `:`.
    Key(Node<'t>, usize),
    None,
}

impl Key<'_> {
    fn is_key(&self) -> bool {
        matches!(self, Key::Key(..))
    }
}

/// Whether a plain scalar may start with `first` (followed by `next`) in block context; the
/// indicators that start something else are left to libyaml.
fn plain_start(first: u8, next: Option<&u8>) -> bool {
    match first {
        b'-' | b'?' | b':' => !is_blank_or_end(next),
        b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'|' | b'>' | b'"'
        | b'\'' | b' ' | b'\n' => false,
        _ => true,
    }
}

/// libyaml's empty scalar at a mark: an absent value.
fn empty<'t>(at: usize, line: usize) -> Node<'t> {
    Node::Scalar(Scalar {
        value: Cow::Borrowed(""),
        style: ScalarStyle::Plain,
        span: at..at,
        line,
        foreign_tag: false,
        alias: false,
    })
}

#[cfg(test)]
mod tests {
    use crate::rewrite::fast_reader_agrees;

    fn agrees(text: &str) -> bool {
        fast_reader_agrees(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_helm_block_yaml_as_libyaml_does() {
        for text in [
            "kind: Pod\n",
            "kind: Pod",
            "---\nkind: Pod\n",
            "--- # c\n# Source: x\nkind: Pod\nmetadata:\n  name: a # n\n  labels:\n    a.b/c: d\n",
            "a:\n- x\n- y\nb: 1\n",
            "a:\n  - x\n  -   y\n  - k: v\n    l: w\n  -\n  - 'q'\nb:\n",
            "a:\nb: \"x y\"\nc: 'it''s'\nd: \"\\\"e\\\\\"\n",
            "a: [x, \"y\", 'z', [1, 2], {k: v}, []]\nb: {c: 500m, \"d\": e, f: {}}\nc: []\nd: {}\n",
            "a: |\n  line 1\n\n  line 2\n    more\nb: x\n",
            "a: |-\n  x\n\n\nb: |+\n  y\n\n\nc: >\n  folded\n  text\n\n  para\n   indented\n  back\nd: >-\n  e\n",
            "a:\n  b: |\n    x\n  # less indented comment\n  c: d\n",
            "a: |\n\n  x\n",
            "a: |\n    x\n   \n     \n    y\n",
            "- a\n- b: c\n  d: e\n",
            "---\n",
            "---\n# only a comment\n",
            "---\n...\n",
            "# Source: a\n",
            "",
            "a: 1\n...\n",
            "a: 1\n---\nb: 2\n---\n",
            "key with spaces: v\n\"quoted key\": v\nk : v\n",
            "a: http://x/#frag\nb: c#d\nc: -1\nd: --port=80\ne: x, y [z]\n",
            "a: 1 # c\nb:    2   \nc: \"x\"   # c\n",
            "a:\n  b:\n    c:\n",
            "a: |\n  x",
            "a:",
            "ünïcode: 'wörld'\n",
            "a:\n  value on the next line\nb:\n  {}\nc:\n- \n  [x]\n-\n  'q'\nd:\n  |\n   x\n",
        ] {
            assert!(agrees(text), "declined {text:?}");
        }
    }

    #[test]
    fn declines_what_it_cannot_vouch_for() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "%YAML 1.1\n---\na: 1\n",
            "? a\n: b\n",
            "a: b\n  c\n",
            "a: \"b\n  c\"\n",
            "a: [b,\n  c]\n",
            "a: |2\n   x\n",
            "a:\tb\n",
            "a: b\r\n",
            "\u{feff}a: b\n",
            "a: b: c\n",
            "- - a\n",
            "a: \"\\x41\"\n",
            "a: [b, ]\n",
            "a: {b: c,}\n",
            "a: [b: c]\n",
            "a: |\nb: c\n",
            "a:\n  value\n  continued\n",
            "a: b\n c: d\n",
            "a: b\n- c\n",
            "a: 'b'x\n",
            "...\na: 1\n",
            "a: 1\n...\nb: 2\n",
            "scalar\n",
            "[a, b]\n",
            "a: x\u{85}y\n",
        ] {
            assert!(!agrees(text), "read {text:?}");
        }
    }
}
