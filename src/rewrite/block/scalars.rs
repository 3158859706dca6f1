//! The fast reader's scalars and flow collections: one-line quoted scalars, one-line flow
//! collections, and literal and folded block scalars, each read as libyaml reads it or declined.

use std::borrow::Cow;

use saphyr_parser::ScalarStyle;

use super::super::tree::{block_content, Node, Scalar};
use super::{is_blank_or_end, plain_start, Reader, MAX_DEPTH};

impl<'t> Reader<'t> {
    /// A quoted scalar on one line at `at`, and the byte after its closing quote.
    pub(super) fn quoted(&self, at: usize) -> Option<(Scalar<'t>, usize)> {
        let quote = self.bytes[at];
        let end = self.line_end(at);
        let mut owned: Option<String> = None;
        let mut i = at + 1;
        let mut run = i;
        loop {
            if i >= end {
                return None;
            }
            let b = self.bytes[i];
            if b == quote {
                if quote == b'\'' && self.byte(i + 1) == Some(&b'\'') {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(&self.text[run..=i]);
                    i += 2;
                    run = i;
                    continue;
                }
                break;
            }
            if quote == b'"' && b == b'\\' {
                let escaped = match self.byte(i + 1)? {
                    b'\\' => '\\',
                    b'"' => '"',
                    b'/' => '/',
                    b'n' => '\n',
                    b't' => '\t',
                    b'r' => '\r',
                    _ => return None,
                };
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&self.text[run..i]);
                s.push(escaped);
                i += 2;
                run = i;
                continue;
            }
            i += 1;
        }
        let value = match owned {
            Some(mut s) => {
                s.push_str(&self.text[run..i]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&self.text[at + 1..i]),
        };
        let style = if quote == b'"' { ScalarStyle::DoubleQuoted } else { ScalarStyle::SingleQuoted };
        Some((Scalar { value, style, span: at..i + 1, line: self.line, foreign_tag: false, alias: false }, i + 1))
    }

    /// A flow collection that opens at `at` and closes on the same line; the byte after it.
    pub(super) fn flow(&self, at: usize, depth: usize) -> Option<(Node<'t>, usize)> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let sequence = self.bytes[at] == b'[';
        let close = if sequence { b']' } else { b'}' };
        let mut i = at + 1 + self.spaces_from(at + 1);
        let mut items = Vec::new();
        let mut entries = Vec::new();
        if self.byte(i) == Some(&close) {
            return Some((if sequence { Node::Sequence(items) } else { Node::Mapping(entries) }, i + 1));
        }
        loop {
            if sequence {
                let (item, end) = self.flow_node(i, depth)?;
                items.push(item);
                i = end;
            } else {
                let (key, end) = match self.bytes.get(i)? {
                    b'"' | b'\'' => {
                        let (s, end) = self.quoted(i)?;
                        (Node::Scalar(s), end)
                    }
                    b'[' | b'{' => return None,
                    _ => self.flow_node(i, depth)?,
                };
                let colon = end + self.spaces_from(end);
                if self.byte(colon) != Some(&b':') || self.byte(colon + 1) != Some(&b' ') {
                    return None;
                }
                let v = colon + 1 + self.spaces_from(colon + 1);
                let (value, end) = self.flow_node(v, depth)?;
                entries.push((key, value));
                i = end;
            }
            i += self.spaces_from(i);
            match self.bytes.get(i)? {
                b',' => {
                    i += 1;
                    i += self.spaces_from(i);
                    if matches!(self.bytes.get(i)?, b']' | b'}' | b',') {
                        return None;
                    }
                }
                &b if b == close => break,
                _ => return None,
            }
        }
        Some((if sequence { Node::Sequence(items) } else { Node::Mapping(entries) }, i + 1))
    }

    /// A node inside a flow collection at `at`, and the byte after it; declines a `key: value`
    /// pair in a sequence (the caller sees the `:`).
    pub(super) fn flow_node(&self, at: usize, depth: usize) -> Option<(Node<'t>, usize)> {
        match *self.bytes.get(at)? {
            b'[' | b'{' => self.flow(at, depth + 1),
            b'"' | b'\'' => {
                let (s, end) = self.quoted(at)?;
                let next = end + self.spaces_from(end);
                // `["a": 1]` is a pair inside a sequence: left to libyaml.
                if self.byte(next) == Some(&b':') {
                    return None;
                }
                Some((Node::Scalar(s), end))
            }
            first => {
                let next = self.byte(at + 1);
                if !plain_start(first, next)
                    || (matches!(first, b'-' | b'?' | b':') && matches!(next, Some(b',' | b'[' | b']' | b'{' | b'}')))
                {
                    return None;
                }
                let mut i = at;
                loop {
                    match *self.bytes.get(i)? {
                        b',' | b'[' | b']' | b'{' | b'}' => break,
                        b':' => {
                            if self.byte(i + 1) != Some(&b' ') {
                                return None;
                            }
                            break;
                        }
                        b'#' | b'?' | b'"' | b'\'' | b'\n' => return None,
                        _ => i += 1,
                    }
                }
                let written = self.text[at..i].trim_end_matches(' ');
                if written.is_empty() {
                    return None;
                }
                Some((Node::Scalar(self.plain(at, written)), at + written.len()))
            }
        }
    }

    /// A literal or folded block scalar whose header is at `at`, in a collection at `column`,
    /// read as libyaml's `yaml_parser_scan_block_scalar` reads it; leaves the reader at the line
    /// that ends it.
    pub(super) fn block_scalar(&mut self, at: usize, column: usize) -> Option<Node<'t>> {
        let literal = self.bytes[at] == b'|';
        let mut h = at + 1;
        let chomping = match self.byte(h) {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        if chomping != 0 {
            h += 1;
        }
        if self.byte(h).is_some_and(u8::is_ascii_digit) || !is_blank_or_end(self.byte(h)) || !self.rest_is_blank(h) {
            return None;
        }
        let header_line = self.line;
        self.next_line();
        // Leading empty lines, and the indentation they and the first content line set.
        let mut trailing_breaks = 0usize;
        let mut max_indent = 0;
        loop {
            if self.at >= self.bytes.len() {
                return None; // no content: left to libyaml
            }
            let spaces = self.spaces_from(self.at);
            max_indent = max_indent.max(spaces);
            if !matches!(self.byte(self.at + spaces), None | Some(b'\n')) {
                break;
            }
            trailing_breaks += 1;
            self.next_line();
        }
        let indent = max_indent.max(column + 1);
        if self.spaces_from(self.at) < indent {
            return None; // an empty block scalar: left to libyaml
        }
        let mut value = String::new();
        let mut leading_break = false;
        let mut leading_blank = false;
        let mut end_mark;
        loop {
            let start = self.at + indent;
            let end = self.line_end(self.at);
            let trailing_blank = self.byte(start) == Some(&b' ');
            if !literal && leading_break && !leading_blank && !trailing_blank {
                if trailing_breaks == 0 {
                    value.push(' ');
                }
            } else if leading_break {
                value.push('\n');
            }
            value.extend(std::iter::repeat_n('\n', trailing_breaks));
            trailing_breaks = 0;
            leading_blank = trailing_blank;
            value.push_str(&self.text[start..end]);
            leading_break = true;
            self.next_line();
            end_mark = self.at;
            // Empty lines after a content line, up to the next content or the block's end.
            loop {
                if self.at >= self.bytes.len() {
                    break;
                }
                let spaces = self.spaces_from(self.at).min(indent);
                if !matches!(self.byte(self.at + spaces), None | Some(b'\n')) {
                    break;
                }
                trailing_breaks += 1;
                self.next_line();
                end_mark = self.at;
            }
            if self.at >= self.bytes.len() || self.spaces_from(self.at) < indent {
                break;
            }
        }
        if chomping != -1 && leading_break {
            value.push('\n');
        }
        if chomping == 1 {
            value.extend(std::iter::repeat_n('\n', trailing_breaks));
        }
        let (span, line) = block_content(self.text, at..end_mark.min(self.bytes.len()), header_line);
        let style = if literal { ScalarStyle::Literal } else { ScalarStyle::Folded };
        Some(Node::Scalar(Scalar { value: Cow::Owned(value), style, span, line, foreign_tag: false, alias: false }))
    }
}
