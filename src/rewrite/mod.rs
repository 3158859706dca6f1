//! The post-renderer: finds every image reference in a rendered manifest stream and rewrites the
//! ones the registry mapping moves, splicing new text in place so every other byte is kept.
//!
//! The stream is split at document markers and handled one document at a time: each document is
//! parsed with positions (libyaml's grammar, as go-yaml and so Helm parse it), its image sites found
//! by the rules in `sites`, and the reference text replaced where it is written. Nothing is ever
//! re-serialized. A document the parser refuses is passed through unchanged when it names no image
//! (Helm may still accept it), and is an error when it might.

mod sites;
mod stream;
mod tree;

use std::io::{BufRead, Write};
use std::ops::Range;

use saphyr_parser::ScalarStyle;
use serde::Serialize;

use crate::error::Error;
/// Still reached as `rewrite::is_pod_kind` by plan.rs, which is being split; it moves to `kube`.
pub use crate::kube::is_pod_kind;
use crate::mapping::RegistryMapping;
use crate::reference::Reference;
pub use sites::Rules;
use sites::{Object, Site};

/// Where in the manifest stream an image reference sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageField {
    /// 0-based index of the YAML document in the stream (empty documents count too).
    pub document: usize,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// The `# Source: chart/templates/x.yaml` comment above the document, if any.
    pub source: Option<String>,
    /// `spec.template.spec.containers[0].image`, `...env[2].value`, `...args[1]`,
    /// `data.config.yaml#base` (inside an embedded document), `...volumes[0].image.reference`.
    pub field_path: String,
    /// 1-based line of the reference in the input.
    pub line: usize,
    /// The reference as written; for a `--flag=REF` argument only REF; for an image config
    /// `base`, the registry and path prefix.
    pub text: String,
    /// For an image config `base`: the full references it composes with each component
    /// (`quay.io/piraeusdatastore/piraeus-server:v1.31.0`). Empty for ordinary references.
    pub components: Vec<String>,
}

impl ImageField {
    /// The images this field names: the reference itself, or every component of a `base`.
    pub fn references(&self) -> Vec<Reference> {
        if self.components.is_empty() {
            Reference::parse(&self.text).into_iter().collect()
        } else {
            self.components.iter().filter_map(|c| Reference::parse(c).ok()).collect()
        }
    }

    /// `Deployment/web` or `Deployment/web (namespace ns)`, for messages.
    pub fn object(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{} (namespace {ns})", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// One reference the post-renderer replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    pub field: ImageField,
    pub new: String,
}

/// A rewritten stream, what changed, and how many objects (non-empty documents) it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub output: Vec<u8>,
    pub rewrites: Vec<Rewrite>,
    pub objects: usize,
}

/// What `rewrite_stream` did: how many objects it read and how many references it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamSummary {
    pub objects: usize,
    pub rewrites: usize,
    /// Bytes of the largest document, which bounds the memory a stream needs.
    pub largest_document: usize,
    /// What a user should know about how the stream was read (see `Notes`).
    pub notes: Notes,
}

/// Things said about a stream on stderr: documents passed through unread, aliases expanded or
/// rewritten through their anchor. At most `MAX_NOTES` are kept, so a huge stream of them costs
/// bounded memory; the rest are counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notes {
    pub kept: Vec<String>,
    pub more: usize,
}

const MAX_NOTES: usize = 50;

impl Notes {
    fn push(&mut self, note: String) {
        if self.kept.len() < MAX_NOTES {
            self.kept.push(note);
        } else {
            self.more += 1;
        }
    }

    /// One line per note, and a count of those left out.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.kept.clone();
        if self.more > 0 {
            lines.push(format!("... and {} more note(s) like these", self.more));
        }
        lines
    }
}

/// Every image reference in a manifest stream, by the post-renderer's rules (also used by
/// `verify` and by `mirror --from-manifests`).
pub fn find_images(input: &[u8]) -> Result<Vec<ImageField>, Error> {
    find_images_by(input, Rules::default())
}

/// `find_images` with some rules turned off.
pub fn find_images_by(input: &[u8], rules: Rules) -> Result<Vec<ImageField>, Error> {
    let mut fields = Vec::new();
    find_images_in(input, rules, &mut |f| fields.push(f))?;
    Ok(fields)
}

/// Like `find_images`, reading one document at a time from `input` and handing each field to
/// `on_field`, so memory stays bounded by the largest document.
pub fn find_images_in(
    input: impl BufRead,
    rules: Rules,
    on_field: &mut dyn FnMut(ImageField),
) -> Result<StreamSummary, Error> {
    let mut scanner = Scanner { rules, ..Scanner::default() };
    let mut reader = stream::ChunkReader::new(input);
    let mut document = Vec::new();
    let mut summary = StreamSummary::default();
    while let Some(first_line) = reader.next_into(&mut document)? {
        summary.largest_document = summary.largest_document.max(document.len());
        for site in scanner.scan(&document, first_line)? {
            on_field(site.field);
        }
    }
    summary.objects = scanner.objects;
    summary.notes = scanner.notes;
    Ok(summary)
}

/// The text to parse for a document that opens with Helm's `---# comment` (see `stream::marker`):
/// the comment's bytes become spaces, so YAML sees `---` and every offset stays the same.
fn without_glued_comment(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.starts_with("---#") {
        return std::borrow::Cow::Borrowed(text);
    }
    let end = text.find('\n').unwrap_or(text.len());
    let end = if text[..end].ends_with('\r') { end - 1 } else { end };
    let mut copy = String::with_capacity(text.len());
    copy.push_str("---");
    copy.extend(std::iter::repeat_n(' ', end - 3));
    copy.push_str(&text[end..]);
    std::borrow::Cow::Owned(copy)
}

/// An image field and the bytes of its reference in the input, when they hold it verbatim.
pub type PlacedField = (ImageField, Option<Range<usize>>);

/// Like `find_images`, with the bytes of each reference in `input`; `None` where the written
/// text differs from the value (escapes), so no byte range holds it. Discovery maps these ranges
/// back to the values that produced them.
pub fn find_images_with_places(input: &[u8]) -> Result<Vec<PlacedField>, Error> {
    let mut scanner = Scanner::default();
    let mut fields = Vec::new();
    for chunk in stream::chunks(input) {
        let offset = chunk.bytes.as_ptr() as usize - input.as_ptr() as usize;
        let sites = scanner.scan(chunk.bytes, chunk.first_line)?;
        fields.extend(sites.into_iter().map(|s| {
            let place = s.place.ok().map(|r| r.start + offset..r.end + offset);
            (s.field, place)
        }));
    }
    Ok(fields)
}

/// Rewrites every image for which `retarget` returns a new reference; everything else byte for
/// byte. Empty input gives empty output.
pub fn rewrite(input: &[u8], retarget: &dyn Fn(&Reference) -> Option<Reference>) -> Result<Rewritten, Error> {
    let mut scanner = Scanner::default();
    let mut output = Vec::with_capacity(input.len() + input.len() / 16);
    let mut rewrites = Vec::new();
    for chunk in stream::chunks(input) {
        scanner.rewrite(chunk.bytes, chunk.first_line, retarget, &mut output, &mut |r| rewrites.push(r))?;
    }
    Ok(Rewritten { output, rewrites, objects: scanner.objects })
}

/// Notes the last `rewrite` or `find_images` call would have given (see `Notes`).
pub fn notes_for(input: &[u8]) -> Notes {
    let mut scanner = Scanner::default();
    for chunk in stream::chunks(input) {
        if scanner.scan(chunk.bytes, chunk.first_line).is_err() {
            break;
        }
    }
    scanner.notes
}

/// Like `rewrite`, reading and writing one document at a time so memory stays bounded by the
/// largest document. On an error part of the stream may already be written: to fail closed,
/// write into a buffer or temporary file and copy it out only on success.
pub fn rewrite_stream(
    input: impl BufRead,
    output: &mut dyn Write,
    retarget: &dyn Fn(&Reference) -> Option<Reference>,
    on_rewrite: &mut dyn FnMut(Rewrite),
) -> Result<StreamSummary, Error> {
    rewrite_stream_by(input, output, retarget, on_rewrite, Rules::default())
}

/// `rewrite_stream` with some rules turned off.
pub fn rewrite_stream_by(
    input: impl BufRead,
    output: &mut dyn Write,
    retarget: &dyn Fn(&Reference) -> Option<Reference>,
    on_rewrite: &mut dyn FnMut(Rewrite),
    rules: Rules,
) -> Result<StreamSummary, Error> {
    let mut scanner = Scanner { rules, ..Scanner::default() };
    let mut reader = stream::ChunkReader::new(input);
    let mut document = Vec::new();
    let mut summary = StreamSummary::default();
    while let Some(first_line) = reader.next_into(&mut document)? {
        summary.largest_document = summary.largest_document.max(document.len());
        scanner.rewrite(&document, first_line, retarget, output, &mut |r| {
            summary.rewrites += 1;
            on_rewrite(r);
        })?;
    }
    summary.objects = scanner.objects;
    summary.notes = scanner.notes;
    Ok(summary)
}

#[derive(Debug, Serialize)]
struct ReportEntry<'a> {
    object: String,
    kind: &'a str,
    name: &'a str,
    namespace: Option<&'a str>,
    source: Option<&'a str>,
    document: usize,
    line: usize,
    field: &'a str,
    old: &'a str,
    new: &'a str,
}

/// JSON report of rewrites (object, field path, old, new) for `--report FILE`.
pub fn report_json(rewrites: &[Rewrite]) -> String {
    let entries: Vec<ReportEntry<'_>> = rewrites
        .iter()
        .map(|r| ReportEntry {
            object: format!("{}/{}", r.field.kind, r.field.name),
            kind: &r.field.kind,
            name: &r.field.name,
            namespace: r.field.namespace.as_deref(),
            source: r.field.source.as_deref(),
            document: r.field.document,
            line: r.field.line,
            field: &r.field.field_path,
            old: &r.field.text,
            new: &r.new,
        })
        .collect();
    let mut json = serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".into());
    json.push('\n');
    json
}

/// Images not on the mirror (verify): fields naming an image that the mapping would still move.
/// Images the mapping excludes stay where they are by design and are not listed.
pub fn unmoved<'a>(fields: &'a [ImageField], mapping: &RegistryMapping) -> Vec<&'a ImageField> {
    unmoved_by(fields, &|r| !mapping.is_destination(r) && mapping.destination(r).is_some())
}

/// `unmoved` with the test spelled out: `moves(r)` is true for an image that should move.
pub fn unmoved_by<'a>(fields: &'a [ImageField], moves: &dyn Fn(&Reference) -> bool) -> Vec<&'a ImageField> {
    fields.iter().filter(|f| f.references().iter().any(moves)).collect()
}

/// Walks the stream document by document, numbering documents and carrying a `# Source:`
/// comment that stands alone before a `---` over to the document after it.
#[derive(Debug, Default)]
struct Scanner {
    document: usize,
    objects: usize,
    pending_source: Option<String>,
    notes: Notes,
    rules: Rules,
}

const STREAM_HINT: &str =
    "post-render reads the YAML manifest stream Helm renders; run `helm template` on the chart to see it";

impl Scanner {
    /// Parses one chunk and finds its image sites.
    fn scan(&mut self, bytes: &[u8], first_line: usize) -> Result<Vec<Site>, Error> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = first_line + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            Error::new(format!("document {}: the stream is not UTF-8 text", self.document))
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
                self.notes.push(format!(
                    "manifest stream: document {} (line {}): passed through unchanged: not read as YAML ({} \
                     at column {}), and it names no image",
                    self.document,
                    first_line + e.line - 1,
                    e.message,
                    e.column
                ));
                self.document += 1;
                return Ok(Vec::new());
            }
            Err(e) => {
                return Err(Error::new(format!(
                    "document {}: not valid YAML: {} at column {}",
                    self.document, e.message, e.column
                ))
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
                    _ => "a scalar",
                };
                return Err(Error::new(format!(
                    "document {index}: not a Kubernetes object: expected a mapping with `kind`, found {found}"
                ))
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
    fn rewrite(
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
                self.notes.push(format!(
                    "manifest stream: document {} line {}: {} {} is read through the alias {}: the alias is \
                     replaced by the new value in place, its anchor keeps its text",
                    site.field.document,
                    site.field.line,
                    site.field.object(),
                    site.field.field_path,
                    String::from_utf8_lossy(&bytes[range.clone()])
                ));
            }
            edits.push((range, replacement, Rewrite { field: site.field, new }));
        }
        edits.sort_by_key(|(range, _, _)| (range.start, range.end));
        let mut at = 0;
        let mut last: Option<(Range<usize>, String)> = None;
        let io = |e: std::io::Error| Error::new(format!("cannot write the rewritten stream: {e}"));
        for (range, replacement, rewrite) in edits {
            match &last {
                // One anchored text that several fields read through aliases of a collection:
                // rewritten once, where the anchor writes it.
                Some((r, text)) if *r == range && *text == replacement => {
                    self.notes.push(format!(
                        "manifest stream: document {} line {}: {} {} reads an anchored collection through an \
                         alias: rewritten through the anchor, which every alias of it reads",
                        rewrite.field.document,
                        rewrite.field.line,
                        rewrite.field.object(),
                        rewrite.field.field_path
                    ));
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

/// The new text for a field, or None when `retarget` leaves it where it is.
fn new_text(field: &ImageField, retarget: &dyn Fn(&Reference) -> Option<Reference>) -> Result<Option<String>, Error> {
    if field.components.is_empty() {
        let old = Reference::parse(&field.text).map_err(|e| site_error(field, e.to_string()))?;
        return Ok(retarget(&old).filter(|new| *new != old).map(|new| new.to_string()));
    }
    new_base(field, retarget)
}

/// Moves an image config's `base` so that every component lands where the mapping sends it.
/// One base serves all components, so the mapping must agree on it for all of them.
fn new_base(field: &ImageField, retarget: &dyn Fn(&Reference) -> Option<Reference>) -> Result<Option<String>, Error> {
    let base = field.text.as_str();
    let mut decided: Option<Option<String>> = None;
    for component in &field.components {
        let old = Reference::parse(component).map_err(|e| site_error(field, e.to_string()))?;
        let old_name = component.split(['@']).next().unwrap_or(component);
        let image_path = old_name.strip_prefix(base).unwrap_or(old_name).trim_start_matches('/');
        let image_path = strip_tag(image_path);
        let new_base = match retarget(&old).filter(|new| *new != old) {
            None => None,
            Some(new) => {
                let name = format!("{}/{}", new.registry, new.repository);
                // A `repository` composed with a tag alone is the whole name.
                let stripped = if image_path.is_empty() {
                    Some(name.as_str())
                } else {
                    name.strip_suffix(image_path).and_then(|b| b.strip_suffix('/'))
                };
                Some(stripped.map(str::to_string).ok_or_else(|| {
                    site_error(
                        field,
                        format!("the mapping renames {component} to {new}, which no single `base` can express"),
                    )
                })?)
            }
        };
        match &decided {
            None => decided = Some(new_base),
            Some(previous) if *previous != new_base => {
                return Err(site_error(
                    field,
                    format!(
                        "the mapping sends the components of base {base} to different places ({} and {}); \
                     one base cannot serve both",
                        previous.as_deref().unwrap_or(base),
                        new_base.as_deref().unwrap_or(base)
                    ),
                )
                .hint("map or exclude this base's registry as a whole in the mapping file"));
            }
            Some(_) => {}
        }
    }
    Ok(decided.flatten())
}

/// `path/image:tag` -> `path/image` (the colon after the last slash starts the tag).
fn strip_tag(name: &str) -> &str {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].find(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    }
}

/// The bytes to replace and their replacement. Reference characters stand for themselves in
/// every scalar style, except that a bracketed IPv6 registry cannot sit in a plain scalar as is:
/// then the whole scalar is double-quoted.
fn splice(site: &Site, new: &str, bytes: &[u8]) -> Result<(Range<usize>, String), Error> {
    let self_representing = |c: char| c.is_ascii_alphanumeric() || "._-/:@+".contains(c);
    // `image: *img`: the alias token gives way to the whole new value (a plain scalar cannot
    // start with `*`, so a node written so is always an alias).
    if let Some((whole, value, within)) = site.plain.as_ref().filter(|(w, _, _)| bytes.get(w.start) == Some(&b'*')) {
        let expanded = format!("{}{new}{}", &value[..within.start], &value[within.end..]);
        let plain_safe = expanded.starts_with(|c: char| c.is_ascii_alphanumeric())
            && expanded.chars().all(|c| self_representing(c) || c == '=');
        let text = if plain_safe { expanded } else { serde_json::to_string(&expanded).unwrap_or_default() };
        return Ok((whole.clone(), text));
    }
    let place = site.place.clone().map_err(|why| site_error(&site.field, why))?;
    if new.chars().all(self_representing) {
        return Ok((place, new.to_string()));
    }
    let quotable = !new.contains(['"', '\\', '\'']) && !new.chars().any(char::is_control);
    match (&site.plain, site.style) {
        (_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted) if quotable => Ok((place, new.to_string())),
        (Some((whole, value, within)), ScalarStyle::Plain) if quotable => {
            let mut quoted = String::from("\"");
            quoted.push_str(&value[..within.start]);
            quoted.push_str(new);
            quoted.push_str(&value[within.end..]);
            quoted.push('"');
            Ok((whole.clone(), quoted))
        }
        _ => Err(site_error(&site.field, format!("{new:?} cannot be written into this scalar without re-quoting it"))),
    }
}

fn site_error(field: &ImageField, why: String) -> Error {
    Error::new(format!("{}: {}: cannot rewrite {:?}: {why}", field.object(), field.field_path, field.text))
        .at("manifest stream")
        .at(format!("document {}", field.document))
        .line(field.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every image goes to `mirror.example.com` with its path, tag and digest kept.
    fn to_mirror(r: &Reference) -> Option<Reference> {
        (r.registry != "mirror.example.com").then(|| r.with_location("mirror.example.com", &r.repository))
    }

    fn rewritten(input: &str) -> String {
        String::from_utf8(rewrite(input.as_bytes(), &to_mirror).unwrap().output).unwrap()
    }

    fn paths(input: &str) -> Vec<(String, String)> {
        find_images(input.as_bytes()).unwrap().into_iter().map(|f| (f.field_path, f.text)).collect()
    }

    #[test]
    fn container_images_of_every_pod_bearing_kind() {
        let input = "kind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers:\n          - image: busybox\n          containers:\n          - name: a\n            image: \"nginx:1.25\"\n";
        assert_eq!(
            rewritten(input),
            input
                .replace("busybox", "mirror.example.com/library/busybox")
                .replace("nginx:1.25", "mirror.example.com/library/nginx:1.25")
        );
        let pod = "kind: Pod\nspec:\n  ephemeralContainers: [{image: 'quay.io/a/b:1'}]\n  volumes:\n  - name: v\n    image: {reference: quay.io/a/data@sha256:0123456789012345678901234567890123456789012345678901234567890123}\n";
        assert_eq!(
            paths(pod),
            vec![
                ("spec.ephemeralContainers[0].image".to_string(), "quay.io/a/b:1".to_string()),
                (
                    "spec.volumes[0].image.reference".to_string(),
                    "quay.io/a/data@sha256:0123456789012345678901234567890123456789012345678901234567890123"
                        .to_string()
                ),
            ]
        );
    }

    #[test]
    fn env_values_and_flags_that_carry_images() {
        let input = "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: quay.io/op/operator:v1\n        env:\n        - {name: RELATED_IMAGE_DB, value: quay.io/op/db:2}\n        - {name: LOG_LEVEL, value: quay.io/op/db:2}\n        - {name: SIDECAR_IMAGE, value: auto}\n        args: [--config-reloader-image=quay.io/p/r:v0.75.0, --image-pull-policy=Always, --sidecar-image, ghcr.io/x/y:3, --log=info]\n";
        assert_eq!(
            paths(input),
            vec![
                ("spec.template.spec.containers[0].image".to_string(), "quay.io/op/operator:v1".to_string()),
                ("spec.template.spec.containers[0].env[0].value".to_string(), "quay.io/op/db:2".to_string()),
                ("spec.template.spec.containers[0].args[0]".to_string(), "quay.io/p/r:v0.75.0".to_string()),
                ("spec.template.spec.containers[0].args[3]".to_string(), "ghcr.io/x/y:3".to_string()),
            ]
        );
        let out = rewritten(input);
        assert!(out.contains("[--config-reloader-image=mirror.example.com/p/r:v0.75.0, --image-pull-policy=Always, --sidecar-image, mirror.example.com/x/y:3, --log=info]"), "{out}");
        assert!(out.contains("{name: LOG_LEVEL, value: quay.io/op/db:2}"), "{out}");
    }

    #[test]
    fn image_fields_of_other_kinds_only_when_they_read_as_images() {
        let input = "kind: Prometheus\nmetadata: {name: p, namespace: mon}\nspec:\n  image: quay.io/prometheus/prometheus:v2.53.0\n  thanos: {image: auto}\n  other: {image: \"\", deep: [{image: \"{{ .Values.x }}\"}, {image: busybox}]}\n  containers:\n  - name: c\n    image: quay.io/c/c:1\n    env: [{name: X_IMAGE, value: \"docker.io/x/y:1\"}]\n";
        let fields = find_images(input.as_bytes()).unwrap();
        let found: Vec<_> = fields.iter().map(|f| (f.field_path.as_str(), f.text.as_str())).collect();
        assert_eq!(
            found,
            vec![
                ("spec.image", "quay.io/prometheus/prometheus:v2.53.0"),
                ("spec.containers[0].env[0].value", "docker.io/x/y:1"),
                ("spec.containers[0].image", "quay.io/c/c:1"),
            ]
        );
        assert_eq!(fields[0].object(), "Prometheus/p (namespace mon)");
        assert_eq!(fields[0].line, 4);
    }

    #[test]
    fn an_image_config_base_moves_with_all_its_components() {
        let input = "kind: ConfigMap\nmetadata: {name: images}\ndata:\n  0_images.yaml: |\n    # every image starts with the base\n    base: quay.io/piraeusdatastore\n    components:\n      linstor-controller:\n        tag: v1.31.0\n        image: piraeus-server\n      drbd-module-loader:\n        tag: v9.2.13\n        image: drbd9-noble\n        match:\n          - osImage: Red Hat\n            image: drbd9-centos7\n  other.yaml: |\n    base: 1\n";
        let fields = find_images(input.as_bytes()).unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].field_path, "data.0_images.yaml#base");
        assert_eq!(fields[0].line, 6);
        assert_eq!(
            fields[0].components,
            vec![
                "quay.io/piraeusdatastore/piraeus-server:v1.31.0",
                "quay.io/piraeusdatastore/drbd9-noble:v9.2.13",
                "quay.io/piraeusdatastore/drbd9-centos7:v9.2.13",
            ]
        );
        assert_eq!(
            rewritten(input),
            input.replace("base: quay.io/piraeusdatastore", "base: mirror.example.com/piraeusdatastore")
        );
    }

    #[test]
    fn an_image_config_in_a_quoted_scalar_moves_too() {
        let input = "kind: ConfigMap\nmetadata: {name: images}\ndata:\n  0_images.yaml: \"base: quay.io/piraeusdatastore\\ncomponents:\\n  linstor-controller:\\n    tag: v1.31.0\\n    image: piraeus-server\\n\"\n";
        let fields = find_images(input.as_bytes()).unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].components, vec!["quay.io/piraeusdatastore/piraeus-server:v1.31.0"]);
        assert_eq!(rewritten(input), input.replace("base: quay.io/", "base: mirror.example.com/"));
    }

    #[test]
    fn a_base_the_mapping_splits_is_an_error() {
        let input = "kind: ConfigMap\ndata:\n  a: |\n    base: quay.io/p\n    components:\n      x: {image: one}\n      y: {image: two}\n";
        let only_one = |r: &Reference| r.repository.ends_with("one").then(|| to_mirror(r)).flatten();
        let e = rewrite(input.as_bytes(), &only_one).unwrap_err();
        assert!(e.to_string().contains("one base cannot serve both"), "{e}");
    }

    #[test]
    fn an_ipv6_registry_in_a_plain_scalar_is_quoted() {
        let input = "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n  - image: 'nginx:2'\n";
        let v6 = |r: &Reference| Some(r.with_location("[fd00::1]:5000", &r.repository));
        let out = String::from_utf8(rewrite(input.as_bytes(), &v6).unwrap().output).unwrap();
        assert_eq!(
            out,
            "kind: Pod\nspec:\n  containers:\n  - image: \"[fd00::1]:5000/library/nginx:1\"\n  - image: '[fd00::1]:5000/library/nginx:2'\n"
        );
    }

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
        assert!(notes.kept[0].contains("document 0 (line 3): passed through unchanged"), "{notes:?}");
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

    #[test]
    fn streaming_gives_the_same_bytes_as_rewriting_in_memory() {
        let input = "---\nkind: Pod\nspec: {containers: [{image: nginx:1}]}\n--- # next\nkind: Pod\nspec: {containers: [{image: \"redis:7\"}]}\n...\n";
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let summary = rewrite_stream(input.as_bytes(), &mut out, &to_mirror, &mut |r| seen.push(r)).unwrap();
        let whole = rewrite(input.as_bytes(), &to_mirror).unwrap();
        assert_eq!(out, whole.output);
        assert_eq!(seen, whole.rewrites);
        assert_eq!(summary.objects, 2);
        assert_eq!(summary.rewrites, 2);
    }

    #[test]
    fn issue_10_images_read_through_aliases_move() {
        // A scalar alias is replaced by the new value; its anchor (an annotation) keeps its text.
        let input = "kind: Pod\nmetadata:\n  annotations: {orig: &img nginx:1}\nspec:\n  containers:\n  - image: *img\n  - image: *img\n";
        assert_eq!(rewritten(input), input.replace("image: *img", "image: mirror.example.com/library/nginx:1"));
        assert_eq!(paths(input).len(), 2);
        assert!(notes_for(input.as_bytes()).kept.is_empty(), "notes come from rewriting only");
        // Containers read through a collection alias: rewritten once, where the anchor writes them.
        let input = "kind: Deployment\nspec:\n  template:\n    spec:\n      initContainers: &c\n      - image: redis:7\n      containers: *c\n";
        let r = rewrite(input.as_bytes(), &to_mirror).unwrap();
        assert_eq!(
            String::from_utf8(r.output).unwrap(),
            input.replace("redis:7", "mirror.example.com/library/redis:7")
        );
        assert_eq!(r.rewrites.len(), 2);
        // A value that cannot stand plain in that place is written double-quoted.
        let input = "kind: Pod\nx: &a --image=quay.io/a/b:1\nspec: {containers: [{image: x, args: [*a]}]}\n";
        let out = rewritten(input);
        assert!(out.contains("args: [\"--image=mirror.example.com/a/b:1\"]"), "{out}");
        assert!(out.contains("x: &a --image=quay.io/a/b:1"), "{out}");
    }

    #[test]
    fn of_duplicate_keys_the_last_is_the_image_kubernetes_runs() {
        let input = "kind: Pod\nspec:\n  containers:\n  - image: old:1\n    image: nginx:1\n";
        assert_eq!(rewritten(input), input.replace("image: nginx:1", "image: mirror.example.com/library/nginx:1"));
    }

    #[test]
    fn issue_9_yaml_that_go_yaml_accepts_is_read() {
        // A flow sequence over lines with comments and its `]` at the parent's indentation.
        let rbac = "kind: Role\nrules:\n- verbs: [\n    \"get\", # c\n  \"list\"\n]\n  resources: [pods]\n";
        assert_eq!(rewritten(rbac), rbac);
        // go-yaml's emitter: a single-quoted scalar whose closing quote sits at column 0.
        let rule =
            "kind: PrometheusRule\nspec:\n  a:\n    description: 'one\n\n      two\n\n'\n    image: quay.io/p/x:1\n";
        assert_eq!(rewritten(rule), rule.replace("quay.io", "mirror.example.com"));
    }

    #[test]
    fn report_lists_object_field_old_and_new() {
        let input = "kind: Pod\nmetadata: {name: web}\nspec: {containers: [{image: nginx:1}]}\n";
        let r = rewrite(input.as_bytes(), &to_mirror).unwrap();
        let json: serde_json::Value = serde_json::from_str(&report_json(&r.rewrites)).unwrap();
        assert_eq!(json[0]["object"], "Pod/web");
        assert_eq!(json[0]["field"], "spec.containers[0].image");
        assert_eq!(json[0]["old"], "nginx:1");
        assert_eq!(json[0]["new"], "mirror.example.com/library/nginx:1");
    }

    #[test]
    fn sibling_fields_compose_one_reference_and_only_the_host_field_moves() {
        let input = "kind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  driver: {repository: nvcr.example/org, image: drv, version: '5'}\n  mon:\n    registry: docker.io\n    repository: nginx\n    tag: '1'\n    digest: null\n  repo: {repository: quay.io/org/app, tag: v2}\n  name: {repository: org/app, tag: v2}\n";
        let fields = find_images(input.as_bytes()).unwrap();
        let found: Vec<_> = fields.iter().map(|f| (f.field_path.as_str(), f.components.clone())).collect();
        assert_eq!(
            found,
            vec![
                ("spec.driver.repository", vec!["nvcr.example/org/drv:5".to_string()]),
                ("spec.mon.registry", vec!["docker.io/nginx:1".to_string()]),
                ("spec.repo.repository", vec!["quay.io/org/app:v2".to_string()]),
            ]
        );
        assert_eq!(
            rewritten(input),
            input
                .replace("nvcr.example/org", "mirror.example.com/org")
                .replace("registry: docker.io", "registry: mirror.example.com/library")
                .replace("quay.io/org/app", "mirror.example.com/org/app")
        );
    }

    #[test]
    fn keys_naming_an_image_and_data_values_that_are_references() {
        let input = "kind: OperatorConfiguration\nmetadata: {name: db}\nconfiguration:\n  docker_image: ghcr.io/db/spilo:3\n  logicalBackupImage: \"quay.io/db/backup:1\"\n  imagePullPolicy: IfNotPresent\n---\nkind: ConfigMap\nmetadata: {name: set}\ndata:\n  provisioner: registry.k8s.io/sig/prov:v5\n  scanner.repository: mirror.gcr.io/x/scan\n  scanner.tag: '0.5'\n  host: redis.default.svc:6379\n---\nkind: Secret\nmetadata: {name: s}\ndata:\n  x: cXVheS5pby9hL2I6MQ==\nstringData:\n  agent: quay.io/a/agent:2\n";
        let paths: Vec<_> = find_images(input.as_bytes()).unwrap().into_iter().map(|f| f.field_path).collect();
        assert_eq!(
            paths,
            [
                "configuration.docker_image",
                "configuration.logicalBackupImage",
                "data.scanner.repository",
                "data.provisioner",
                "stringData.agent"
            ]
        );
        let out = rewritten(input);
        assert!(out.contains("  scanner.repository: mirror.example.com/x/scan\n  scanner.tag: '0.5'\n"), "{out}");
        assert!(out.contains("host: redis.default.svc:6379\n") && out.contains("x: cXVheS5pby9hL2I6MQ==\n"), "{out}");
    }

    #[test]
    fn references_in_config_text_move_only_in_an_image_context() {
        let input = "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  casc.yaml: |\n    # image: quay.io/old/agent:0\n    clouds:\n    - templates:\n      - image: \"docker.io/ci/agent:3\"\n        note: ghcr.io/ci/plugins/p:1\n        other: busybox:1\n  runner.toml: |\n    [runners]\n      image = \"alpine:3.20\"\n      name = \"x:1\"\n  start.sh: |\n    exec agent --sidecar-image=quay.io/ci/side:2 --v=3\n    echo quay.io/ci/not-context:1\n  list: |\n    15=ghcr.io/db/e15:1\n  two: |\n    a=quay.io/a/b:1 --x-image=quay.io/c/d:2\n  tpl: |\n    image: {{ .Image }}\n    side: quay.io/t/t:1\n";
        let fields = find_images(input.as_bytes()).unwrap();
        let found: Vec<_> = fields.iter().map(|f| (f.field_path.as_str(), f.text.as_str())).collect();
        assert_eq!(
            found,
            vec![
                ("data.casc.yaml#clouds[0].templates[0].image", "docker.io/ci/agent:3"),
                ("data.casc.yaml#clouds[0].templates[0].note", "ghcr.io/ci/plugins/p:1"),
                ("data.runner.toml#line 2", "alpine:3.20"),
                ("data.start.sh#line 1", "quay.io/ci/side:2"),
                ("data.list#line 1", "ghcr.io/db/e15:1"),
                ("data.two#line 1", "quay.io/c/d:2"),
            ]
        );
        assert_eq!(fields[0].line, 8);
        // Two references on one line: which one the program reads is a guess, so it is refused.
        let e = rewrite(input.as_bytes(), &to_mirror).unwrap_err().to_string();
        assert!(e.contains("data.two#line 1") && e.contains("which to move is a guess"), "{e}");
        let without_two = input.replace("  two: |\n    a=quay.io/a/b:1 --x-image=quay.io/c/d:2\n", "");
        let out = rewritten(&without_two);
        let expected = without_two
            .replace("\"docker.io/ci/agent:3\"", "\"mirror.example.com/ci/agent:3\"")
            .replace("ghcr.io/ci/plugins/p:1", "mirror.example.com/ci/plugins/p:1")
            .replace("\"alpine:3.20\"", "\"mirror.example.com/library/alpine:3.20\"")
            .replace("=quay.io/ci/side:2", "=mirror.example.com/ci/side:2")
            .replace("15=ghcr.io/db/e15:1", "15=mirror.example.com/db/e15:1");
        assert_eq!(out, expected);
    }

    #[test]
    fn text_images_off_leaves_config_text_alone() {
        let input = "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  casc.yaml: |\n    image: docker.io/ci/agent:3\n  whole: quay.io/a/b:1\n";
        let fields = find_images_by(input.as_bytes(), Rules { text_images: false }).unwrap();
        let paths: Vec<_> = fields.iter().map(|f| f.field_path.as_str()).collect();
        assert_eq!(paths, ["data.whole"]);
    }

    #[test]
    fn env_lists_and_builder_names_carry_images() {
        let input = "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: quay.io/op/op:1\n        env:\n        - {name: OPERATOR_IMAGE_NAME, value: quay.io/op/op:1}\n        - {name: APP_BUILDER, value: ghcr.io/b/builder:2}\n        - name: ENGINES\n          value: |\n            15=ghcr.io/db/e15:1\n            16=ghcr.io/db/e16:1\n        - {name: NOTES, value: \"see quay.io/op/op:1\\nfor details\"}\n";
        let paths: Vec<_> = find_images(input.as_bytes()).unwrap().into_iter().map(|f| f.field_path).collect();
        assert_eq!(
            paths,
            [
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[0].env[0].value",
                "spec.template.spec.containers[0].env[1].value",
                "spec.template.spec.containers[0].env[2].value#line 1",
                "spec.template.spec.containers[0].env[2].value#line 2",
            ]
        );
    }

    #[test]
    fn unmoved_lists_images_that_should_still_move() {
        let input = "kind: Pod\nspec: {containers: [{image: nginx:1}, {image: mirror.example.com/library/redis:7}]}\n";
        let fields = find_images(input.as_bytes()).unwrap();
        let left = unmoved_by(&fields, &|r| to_mirror(r).is_some());
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].text, "nginx:1");
    }
}
