//! The stream walked one document at a time: each parsed with positions, its objects counted and
//! named by their `# Source:` comment, its image sites found and then rewritten in place.

use std::io::Write;
use std::ops::Range;

use super::sites::{self, Object, Site};
use super::splice::{new_text, site_error, splice};
use super::{tree, without_glued_comment, Notes, Rewrite, Rules};
use crate::diagnostic::{Code, Diagnostic};
use crate::error::Error;
use crate::reference::Reference;

/// Walks the stream document by document, numbering documents and carrying a `# Source:`
/// comment that stands alone before a `---` over to the document after it.
#[derive(Debug, Default)]
pub(super) struct Scanner {
    pub(super) document: usize,
    pub(super) objects: usize,
    pub(super) pending_source: Option<String>,
    pub(super) notes: Notes,
    pub(super) rules: Rules,
}

const STREAM_HINT: &str =
    "post-render reads the YAML manifest stream Helm renders; run `helm template` on the chart to see it";

impl Scanner {
    /// Parses one chunk and finds its image sites.
    pub(super) fn scan(&mut self, bytes: &[u8], first_line: usize) -> Result<Vec<Site>, Error> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = first_line + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            Error::coded(Code::StreamInvalid, format!("document {}: the stream is not UTF-8 text", self.document))
                .at("manifest stream")
                .line(line)
                .hint(STREAM_HINT)
        })?;
        let parse_text = without_glued_comment(text);
        let documents = match tree::parse(&parse_text) {
            Ok(documents) => documents,
            // Helm may accept what the parser does not; a document that names no image is not
            // ours to judge, and passes through as it came.
            Err(e) if !image_like(bytes) => {
                self.notes.push(
                    Diagnostic::new(
                        Code::DocumentPassedThrough,
                        format!(
                            "document {} (line {}): passed through unchanged: not read as YAML ({} at column {}), \
                             and it names no image",
                            self.document,
                            first_line + e.line - 1,
                            e.message,
                            e.column
                        ),
                    )
                    .at("manifest stream"),
                );
                self.document += 1;
                return Ok(Vec::new());
            }
            Err(e) => {
                return Err(Error::coded(
                    Code::StreamInvalid,
                    format!("document {}: not valid YAML: {} at column {}", self.document, e.message, e.column),
                )
                .at("manifest stream")
                .line(first_line + e.line - 1)
                .hint(
                    "it mentions `image` or an image reference, so it cannot be passed through unread; \
                     post-render reads the YAML manifest stream Helm renders: run `helm template` on the chart to \
                     see it",
                ))
            }
        };
        let source = source_comment(text, documents.first().map(|d| d.line)).or_else(|| self.pending_source.take());
        if documents.is_empty() {
            self.pending_source = source;
            return Ok(Vec::new());
        }
        let mut sites = Vec::new();
        for document in &documents {
            let index = self.document;
            self.document += 1;
            if document.root.is_null() {
                continue;
            }
            let kind = document.root.get("kind").and_then(tree::Node::as_text);
            let Some(kind) = kind.filter(|k| !k.is_empty()) else {
                let found = match &document.root {
                    tree::Node::Mapping(_) => "a mapping without `kind`",
                    tree::Node::Sequence(_) => "a sequence",
                    tree::Node::Scalar(_) => "a scalar",
                };
                return Err(Error::coded(
                    Code::StreamInvalid,
                    format!("document {index}: not a Kubernetes object: expected a mapping with `kind`, found {found}"),
                )
                .at("manifest stream")
                .line(first_line + document.line - 1)
                .hint(STREAM_HINT));
            };
            self.objects += 1;
            let metadata = document.root.get("metadata");
            let text_at =
                |key: &str| metadata.and_then(|m| m.get(key)).and_then(tree::Node::as_text).map(str::to_string);
            let object = Object {
                document: index,
                kind: kind.to_string(),
                name: text_at("name").unwrap_or_default(),
                namespace: text_at("namespace"),
                source: source.clone(),
            };
            let mut refused = Vec::new();
            sites.extend(sites::find(&document.root, &object, text, first_line, self.rules, &mut refused));
            for note in refused {
                self.notes.push(note);
            }
        }
        Ok(sites)
    }

    /// Rewrites one chunk into `output`, reporting each replacement.
    pub(super) fn rewrite(
        &mut self,
        bytes: &[u8],
        first_line: usize,
        retarget: &dyn Fn(&Reference) -> Option<Reference>,
        output: &mut dyn Write,
        on_rewrite: &mut dyn FnMut(Rewrite),
    ) -> Result<(), Error> {
        let sites = self.scan(bytes, first_line)?;
        let mut edits: Vec<(Range<usize>, String, Rewrite)> = Vec::new();
        for site in sites {
            let Some(new) = new_text(&site.field, retarget)? else {
                continue;
            };
            let (range, replacement) = splice(&site, &new, bytes)?;
            if bytes.get(range.start) == Some(&b'*') {
                self.notes.push(
                    Diagnostic::new(
                        Code::ReadThroughAlias,
                        format!(
                            "document {} line {}: {} {} is read through the alias {}: the alias is replaced by the \
                             new value in place, its anchor keeps its text",
                            site.field.document,
                            site.field.line,
                            site.field.object(),
                            site.field.field_path,
                            String::from_utf8_lossy(&bytes[range.clone()])
                        ),
                    )
                    .at("manifest stream"),
                );
            }
            edits.push((range, replacement, Rewrite { field: site.field, new }));
        }
        edits.sort_by_key(|(range, _, _)| (range.start, range.end));
        let mut at = 0;
        let mut last: Option<(Range<usize>, String)> = None;
        let io =
            |e: std::io::Error| Error::coded(Code::OutputUnwritable, format!("cannot write the rewritten stream: {e}"));
        for (range, replacement, rewrite) in edits {
            match &last {
                // One anchored text that several fields read through aliases of a collection:
                // rewritten once, where the anchor writes it.
                Some((r, text)) if *r == range && *text == replacement => {
                    self.notes.push(
                        Diagnostic::new(
                            Code::ReadThroughAlias,
                            format!(
                                "document {} line {}: {} {} reads an anchored collection through an alias: \
                                 rewritten through the anchor, which every alias of it reads",
                                rewrite.field.document,
                                rewrite.field.line,
                                rewrite.field.object(),
                                rewrite.field.field_path
                            ),
                        )
                        .at("manifest stream"),
                    );
                    on_rewrite(rewrite);
                    continue;
                }
                Some((r, _)) if r.end > range.start => {
                    return Err(site_error(
                        &rewrite.field,
                        "overlaps another image reference in the same scalar".into(),
                    ));
                }
                _ => {}
            }
            output.write_all(&bytes[at..range.start]).map_err(io)?;
            output.write_all(replacement.as_bytes()).map_err(io)?;
            at = range.end;
            last = Some((range, replacement));
            on_rewrite(rewrite);
        }
        output.write_all(&bytes[at..]).map_err(io)?;
        Ok(())
    }
}

/// Whether a document's bytes might name an image: any `image` in any case. A document the
/// parser refuses may be passed through unread only when this is false.
/// Whether a document the parser refused might hold an image: it says `image` anywhere, or holds
/// a token that reads as a reference with a registry path (`registry.k8s.io/sig/prov:v5` in a
/// ConfigMap). Such a document is an error, never passed through with its images left behind.
fn image_like(bytes: &[u8]) -> bool {
    if bytes.windows(5).any(|w| w.eq_ignore_ascii_case(b"image")) {
        return true;
    }
    let text = String::from_utf8_lossy(bytes);
    text.split(|c: char| c.is_whitespace() || "\"'`,[]{}()=;<>|".contains(c))
        .map(|token| token.trim_end_matches(['.', ':']))
        .any(|token| token.contains('/') && Reference::looks_like_reference(token))
}

/// The last `# Source:` comment before the document's first line (Helm writes one per template).
fn source_comment(text: &str, content_line: Option<usize>) -> Option<String> {
    let lines = text.lines().take(content_line.map_or(usize::MAX, |l| l.saturating_sub(1)));
    lines.filter_map(|l| l.strip_prefix("# Source:")).last().map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;
    use crate::rewrite::tests::{rewritten, to_mirror};
    use crate::rewrite::*;

    #[test]
    fn fails_closed_on_what_is_not_a_manifest_stream() {
        for (input, says) in [
            ("hello world\n", "found a scalar"),
            ("- a\n- b\n", "found a sequence"),
            ("a: 1\n", "without `kind`"),
            ("kind: Pod\nspec: [{image: nginx}\n", "it mentions `image`"),
        ] {
            let e = rewrite(input.as_bytes(), &to_mirror).unwrap_err();
            assert!(
                e.to_string().contains(says) || e.hint.as_deref().is_some_and(|h| h.contains(says)),
                "{input:?}: {e}"
            );
        }
        // A reference without the word `image` (a ConfigMap's image set) is image-like too.
        let set = "kind: ConfigMap\ndata: {provisioner: registry.k8s.io/sig/prov:v5\n";
        let e = rewrite(set.as_bytes(), &to_mirror).unwrap_err();
        assert!(e.to_string().contains("not valid YAML"), "{e}");
        assert!(e.hint.as_deref().is_some_and(|h| h.contains("image reference")), "{e:?}");
        // Refused by the parser but naming no image: passed through, and said so.
        let unread = "kind: Pod\nspec: [\n";
        assert_eq!(rewritten(unread), unread);
        let notes = notes_for(unread.as_bytes());
        assert_eq!(notes.kept[0].code, Code::DocumentPassedThrough, "{notes:?}");
        assert!(notes.kept[0].message.starts_with("document 0 (line 3): passed through unchanged"), "{notes:?}");
        let e = rewrite(b"kind: Pod\n---\nkind: \xff\n", &to_mirror).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().contains("document 1: the stream is not UTF-8"), "{e}");
    }

    #[test]
    fn source_comments_name_each_object_and_empty_documents_count() {
        let input = "# Source: c/templates/a.yaml\n---\n---\n# Source: c/templates/b.yaml\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{image: nginx:1}]}\n";
        let fields = find_images(input.as_bytes()).unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].source.as_deref(), Some("c/templates/b.yaml"));
        assert_eq!(fields[0].document, 1);
        let r = rewrite(input.as_bytes(), &to_mirror).unwrap();
        assert_eq!(r.objects, 1);
        assert_eq!(r.rewrites.len(), 1);
    }
}
