//! Text that remembers, run by run, which values key or Chart.yaml field its bytes were copied from.

use std::ops::Range;

use super::Origin;

/// A run of output bytes that came verbatim from one origin. `range` is a byte range in the
/// Traced text; `offset` is where that run starts inside the origin value's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub range: Range<usize>,
    pub origin: Origin,
    pub offset: usize,
}

/// Text plus the spans that say which bytes came from values or Chart.yaml. Bytes not covered by
/// any span are template literals (or computed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traced {
    pub text: String,
    pub spans: Vec<Span>,
}

impl Traced {
    /// Text with no origin.
    pub fn plain(text: impl Into<String>) -> Self {
        Traced { text: text.into(), spans: Vec::new() }
    }

    /// Text that came whole from `origin`.
    pub fn from_origin(text: impl Into<String>, origin: Option<&Origin>) -> Self {
        let text = text.into();
        let spans = match origin {
            Some(origin) if !text.is_empty() => {
                vec![Span { range: 0..text.len(), origin: origin.clone(), offset: 0 }]
            }
            _ => Vec::new(),
        };
        Traced { text, spans }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Appends literal text.
    pub fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Appends `other`, shifting its spans to where it lands.
    pub fn push(&mut self, other: &Traced) {
        let base = self.text.len();
        self.text.push_str(&other.text);
        for span in &other.spans {
            self.add_span(Span {
                range: span.range.start + base..span.range.end + base,
                origin: span.origin.clone(),
                offset: span.offset,
            });
        }
    }

    /// Appends `range` of `other` (byte range, on char boundaries).
    pub fn push_slice(&mut self, other: &Traced, range: Range<usize>) {
        let base = self.text.len();
        self.text.push_str(&other.text[range.clone()]);
        for span in other.spans_in(range) {
            self.add_span(Span { range: span.range.start + base..span.range.end + base, ..span });
        }
    }

    /// The bytes in `range`, with spans clipped and shifted and offsets adjusted.
    pub fn slice(&self, range: Range<usize>) -> Traced {
        let mut out = Traced::default();
        out.push_slice(self, range);
        out
    }

    /// Spans overlapping `range`, clipped to it, with ranges relative to `range.start`.
    pub fn spans_in(&self, range: Range<usize>) -> Vec<Span> {
        self.spans
            .iter()
            .filter(|s| s.range.start < range.end && s.range.end > range.start)
            .map(|s| {
                let start = s.range.start.max(range.start);
                let end = s.range.end.min(range.end);
                Span {
                    range: start - range.start..end - range.start,
                    origin: s.origin.clone(),
                    offset: s.offset + (start - s.range.start),
                }
            })
            .collect()
    }

    /// The origins of the bytes in `range`, in order, each once.
    pub fn origins_in(&self, range: Range<usize>) -> Vec<Origin> {
        let mut out: Vec<Origin> = Vec::new();
        for span in self.spans_in(range) {
            if !out.contains(&span.origin) {
                out.push(span.origin);
            }
        }
        out
    }

    /// Rebuilds the text char by char: `f` returns `None` to copy a char verbatim (keeping its
    /// span) or `Some(replacement)` for literal text. Used by quoting and escaping.
    pub fn map_chars(&self, mut f: impl FnMut(char) -> Option<String>) -> Traced {
        let mut out = Traced::default();
        let mut run_start = 0;
        for (i, c) in self.text.char_indices() {
            if let Some(replacement) = f(c) {
                out.push_slice(self, run_start..i);
                out.push_str(&replacement);
                run_start = i + c.len_utf8();
            }
        }
        out.push_slice(self, run_start..self.text.len());
        out
    }

    /// Joins pieces with a literal separator.
    pub fn join(pieces: &[Traced], sep: &str) -> Traced {
        let mut out = Traced::default();
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push(piece);
        }
        out
    }

    /// Replaces every `from` with literal `to`, keeping spans on the unchanged parts.
    pub fn replace(&self, from: &str, to: &str) -> Traced {
        if from.is_empty() {
            // Go's strings.Replace with an empty old string inserts `to` around every char.
            let mut out = Traced::default();
            out.push_str(to);
            for (i, c) in self.text.char_indices() {
                out.push_slice(self, i..i + c.len_utf8());
                out.push_str(to);
            }
            return out;
        }
        let mut out = Traced::default();
        let mut last = 0;
        for (i, _) in self.text.match_indices(from) {
            out.push_slice(self, last..i);
            out.push_str(to);
            last = i + from.len();
        }
        out.push_slice(self, last..self.text.len());
        out
    }

    /// Splits on a separator, each piece keeping its spans (Go's strings.Split).
    pub fn split(&self, sep: &str, limit: Option<usize>) -> Vec<Traced> {
        let mut out = Vec::new();
        if sep.is_empty() {
            for (i, c) in self.text.char_indices() {
                out.push(self.slice(i..i + c.len_utf8()));
            }
            return out;
        }
        let mut last = 0;
        for (i, _) in self.text.match_indices(sep) {
            if limit.is_some_and(|n| out.len() + 1 >= n) {
                break;
            }
            out.push(self.slice(last..i));
            last = i + sep.len();
        }
        out.push(self.slice(last..self.text.len()));
        out
    }

    /// Applies a case mapping; spans survive only when the byte length is unchanged.
    pub fn map_text(&self, f: impl Fn(&str) -> String) -> Traced {
        let text = f(&self.text);
        if text.len() == self.text.len() {
            Traced { text, spans: self.spans.clone() }
        } else {
            Traced::plain(text)
        }
    }

    /// Appends a span, merging it with the previous one when they continue the same origin text.
    fn add_span(&mut self, span: Span) {
        if span.range.is_empty() {
            return;
        }
        if let Some(last) = self.spans.last_mut() {
            if last.range.end == span.range.start
                && last.origin == span.origin
                && last.offset + last.range.len() == span.offset
            {
                last.range.end = span.range.end;
                return;
            }
        }
        self.spans.push(span);
    }
}

impl From<&str> for Traced {
    fn from(s: &str) -> Self {
        Traced::plain(s)
    }
}
