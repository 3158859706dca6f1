//! Splits a manifest stream into YAML documents at the `---` and `...` marker lines, so each
//! document is parsed (and held in memory) on its own.

use std::io::BufRead;

use crate::diagnostic::Code;
use crate::error::Error;

/// One document's bytes, with where they sit in the whole stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk<'a> {
    pub bytes: &'a [u8],
    /// 1-based line of the chunk's first byte in the stream.
    pub first_line: usize,
}

/// How a line ends a document or starts the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// `---`: the line opens a new document.
    Start,
    /// `...`: the line closes the current document.
    End,
}

/// YAML forbids `---` and `...` at the start of a line inside any document content (block, flow,
/// or quoted), so a line that begins with one followed by a blank or the line end is always a
/// document marker: splitting on them is exact without parsing.
fn marker(line: &[u8]) -> Option<Marker> {
    let kind = match line.get(..3)? {
        b"---" => Marker::Start,
        b"..." => Marker::End,
        _ => return None,
    };
    match line.get(3) {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some(kind),
        // `---# comment`: not a marker to YAML, but Helm splits manifests on `^---` and real charts
        // render it (cert-manager's rbac.yaml); Helm 3 hands it to post-renderers as is.
        Some(b'#') if kind == Marker::Start => Some(kind),
        Some(_) => None,
    }
}

/// Splits `input` into document chunks; concatenating the chunks gives `input` back.
pub(crate) fn chunks(input: &[u8]) -> impl Iterator<Item = Chunk<'_>> {
    let mut rest = input;
    let mut line = 1;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (len, lines) = chunk_len(rest);
        let chunk = Chunk { bytes: &rest[..len], first_line: line };
        rest = &rest[len..];
        line += lines;
        Some(chunk)
    })
}

/// The length of the chunk that starts `rest`, and how many line breaks it holds.
fn chunk_len(rest: &[u8]) -> (usize, usize) {
    let mut pos = 0;
    let mut lines = 0;
    while pos < rest.len() {
        let end = memchr_newline(&rest[pos..]).map_or(rest.len(), |i| pos + i + 1);
        let this = &rest[pos..end];
        match marker(this) {
            Some(Marker::Start) if pos > 0 => return (pos, lines),
            Some(Marker::End) => return (end, lines + usize::from(this.ends_with(b"\n"))),
            _ => {}
        }
        lines += usize::from(this.ends_with(b"\n"));
        pos = end;
    }
    (pos, lines)
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Reads documents one at a time from a reader, keeping only the current one in memory.
#[derive(Debug)]
pub(crate) struct ChunkReader<R> {
    input: R,
    /// The `---` line that ended the previous document and opens the next.
    carried: Vec<u8>,
    next_line: usize,
    done: bool,
}

impl<R: BufRead> ChunkReader<R> {
    pub fn new(input: R) -> Self {
        ChunkReader { input, carried: Vec::new(), next_line: 1, done: false }
    }

    /// Fills `buffer` with the next document; returns its first line, or None at the end.
    pub fn next_into(&mut self, buffer: &mut Vec<u8>) -> Result<Option<usize>, Error> {
        buffer.clear();
        if self.done && self.carried.is_empty() {
            return Ok(None);
        }
        let first_line = self.next_line;
        let mut lines = 0;
        if !self.carried.is_empty() {
            buffer.append(&mut self.carried);
            lines += 1;
        }
        loop {
            let start = buffer.len();
            let read = self
                .input
                .read_until(b'\n', buffer)
                .map_err(|e| Error::coded(Code::InputUnreadable, format!("cannot read the manifest stream: {e}")))?;
            if read == 0 {
                self.done = true;
                break;
            }
            let newline = usize::from(buffer.ends_with(b"\n"));
            match marker(&buffer[start..]) {
                Some(Marker::Start) if start > 0 => {
                    self.carried.extend_from_slice(&buffer[start..]);
                    buffer.truncate(start);
                    break;
                }
                Some(Marker::End) => {
                    lines += newline;
                    break;
                }
                _ => lines += newline,
            }
        }
        self.next_line += lines;
        Ok(if buffer.is_empty() { None } else { Some(first_line) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str) -> Vec<(String, usize)> {
        chunks(input.as_bytes()).map(|c| (String::from_utf8(c.bytes.to_vec()).unwrap(), c.first_line)).collect()
    }

    fn read_all(input: &str) -> Vec<(String, usize)> {
        let mut reader = ChunkReader::new(input.as_bytes());
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = reader.next_into(&mut buffer).unwrap() {
            out.push((String::from_utf8(buffer.clone()).unwrap(), line));
        }
        out
    }

    #[test]
    fn splits_before_each_start_marker_and_after_each_end_marker() {
        let input = "# Source: a\n---\na: 1\n--- # c\nb: 2\n...\nc: 3\n---\n";
        let expected = vec![
            ("# Source: a\n".to_string(), 1),
            ("---\na: 1\n".to_string(), 2),
            ("--- # c\nb: 2\n...\n".to_string(), 4),
            ("c: 3\n".to_string(), 7),
            ("---\n".to_string(), 8),
        ];
        assert_eq!(split(input), expected);
        assert_eq!(read_all(input), expected);
    }

    #[test]
    fn dashes_that_are_not_markers_stay_inside_the_document() {
        let input = "---\na: |\n  ---\nb: ----\n---x: 1\n---\r\nc: 1\r\n";
        let expected =
            vec![("---\na: |\n  ---\nb: ----\n---x: 1\n".to_string(), 1), ("---\r\nc: 1\r\n".to_string(), 6)];
        assert_eq!(split(input), expected);
        assert_eq!(read_all(input), expected);
    }

    #[test]
    fn chunks_concatenate_to_the_input() {
        let input = "---\n---\n\n---\na: 1";
        let joined: Vec<u8> = chunks(input.as_bytes()).flat_map(|c| c.bytes.to_vec()).collect();
        assert_eq!(joined, input.as_bytes());
        let read: String = read_all(input).into_iter().map(|(s, _)| s).collect();
        assert_eq!(read, input);
    }

    #[test]
    fn empty_input_has_no_chunks() {
        assert!(split("").is_empty());
        assert!(read_all("").is_empty());
    }
}
