//! The post-renderer: finds every image reference in a rendered manifest stream and rewrites the
//! ones the registry mapping moves, splicing new text in place so every other byte is kept.
//!
//! The stream is split at document markers and handled one document at a time: each document is
//! parsed with positions (libyaml's grammar, as go-yaml and so Helm parse it), its image sites found
//! by the rules in `sites`, and the reference text replaced where it is written. Nothing is ever
//! re-serialized. A document the parser refuses is passed through unchanged when it names no image
//! (Helm may still accept it), and is an error when it might.
//!
//! This file holds the public entry points and what they return; `scanner` walks the stream one
//! document at a time, `splice` writes a site's new text into the document's bytes.

mod block;
mod scanner;
mod sites;
mod splice;
mod stream;
mod tree;

use std::io::{BufRead, Write};
use std::ops::Range;

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::mapping::RegistryMapping;
use crate::reference::Reference;
use crate::report;
use crate::site::ObjectRef;
use scanner::Scanner;
pub use sites::Rules;

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

    /// The object holding it: `Deployment/web`.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(&self.kind, &self.name)
    }

    /// `Deployment/web` or `Deployment/web (namespace ns)`, for messages.
    pub fn object(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} (namespace {ns})", self.object_ref()),
            None => self.object_ref().to_string(),
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
    /// Kubernetes objects read.
    pub objects: usize,
    pub rewrites: usize,
    /// Objects with at least one rewrite.
    pub changed_objects: usize,
    /// Bytes of the largest document, which bounds the memory a stream needs.
    pub largest_document: usize,
    /// What a user should know about how the stream was read (see `Notes`).
    pub notes: Notes,
}

/// Warnings about how a stream was read, written through `report`: documents passed through
/// unread, aliases expanded or rewritten through their anchor. At most `MAX_NOTES` are kept, so a huge stream of them costs
/// bounded memory; the rest are counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notes {
    pub kept: Vec<Diagnostic>,
    pub more: usize,
}

const MAX_NOTES: usize = 50;

impl Notes {
    fn push(&mut self, note: Diagnostic) {
        if self.kept.len() < MAX_NOTES {
            self.kept.push(note);
        } else {
            self.more += 1;
        }
    }

    /// Writes each warning kept, then a count of those left out (`command`: who counts them).
    pub fn report(&self, command: &str) {
        for warning in &self.kept {
            report::warning(warning);
        }
        if self.more > 0 {
            report::note(&format!("{command}: ... and {} more warning(s) like these", self.more));
        }
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
    find_images_and_documents_in(input, rules, on_field, &mut |_, _| {})
}

/// `find_images_in`, also handing each document's bytes and first line to `on_document` once its
/// fields are out.
pub fn find_images_and_documents_in(
    input: impl BufRead,
    rules: Rules,
    on_field: &mut dyn FnMut(ImageField),
    on_document: &mut dyn FnMut(&[u8], usize),
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
        on_document(&document, first_line);
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
        let before = summary.rewrites;
        scanner.rewrite(&document, first_line, retarget, output, &mut |r| {
            summary.rewrites += 1;
            on_rewrite(r);
        })?;
        if summary.rewrites > before {
            summary.changed_objects += 1;
        }
    }
    summary.objects = scanner.objects;
    summary.notes = scanner.notes;
    Ok(summary)
}

/// Runs `f` with every document read by the full YAML reader (libyaml), bypassing the fast reader
/// for plain block YAML (`block`): the output must not differ, and the differential tests, the
/// fuzz target and the benchmark check that it does not. `HELM_RETARGET_FULL_READER=1` does the
/// same for a whole process.
#[doc(hidden)]
pub fn with_full_reader<T>(f: impl FnOnce() -> T) -> T {
    tree::with_full_reader(true, f)
}

/// Reads `text` with both readers: `Ok(true)` when the fast reader vouched for it and built the
/// very tree libyaml builds, `Ok(false)` when it left the text to libyaml, `Err` (both trees, or
/// libyaml's error) when it vouched wrongly. For the differential tests and the fuzz target.
#[doc(hidden)]
pub fn fast_reader_agrees(text: &str) -> Result<bool, String> {
    let Some(fast) = block::parse(text) else {
        return Ok(false);
    };
    match tree::parse_full(text) {
        Ok(full) if full == fast => Ok(true),
        Ok(full) => Err(format!("the fast reader read {text:?} as\n{fast:#?}\nlibyaml as\n{full:#?}")),
        Err(e) => Err(format!("the fast reader read {text:?}, which libyaml refuses: {e:?}")),
    }
}

/// `fast_reader_agrees` on each document of a stream as post-render splits it: how many the fast
/// reader read, of how many; `Err` on the first it read wrongly.
#[doc(hidden)]
pub fn fast_reader_coverage(input: &[u8]) -> Result<(usize, usize), String> {
    let (mut read, mut total) = (0, 0);
    for chunk in stream::chunks(input) {
        total += 1;
        let Ok(text) = std::str::from_utf8(chunk.bytes) else { continue };
        if fast_reader_agrees(&without_glued_comment(text)).map_err(|e| format!("line {}: {e}", chunk.first_line))? {
            read += 1;
        }
    }
    Ok((read, total))
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
            object: r.field.object_ref().to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every image goes to `mirror.example.com` with its path, tag and digest kept.
    pub(super) fn to_mirror(r: &Reference) -> Option<Reference> {
        (r.registry != "mirror.example.com").then(|| r.with_location("mirror.example.com", &r.repository))
    }

    pub(super) fn rewritten(input: &str) -> String {
        String::from_utf8(rewrite(input.as_bytes(), &to_mirror).unwrap().output).unwrap()
    }

    pub(super) fn paths(input: &str) -> Vec<(String, String)> {
        find_images(input.as_bytes()).unwrap().into_iter().map(|f| (f.field_path, f.text)).collect()
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
    fn unmoved_lists_images_that_should_still_move() {
        let input = "kind: Pod\nspec: {containers: [{image: nginx:1}, {image: mirror.example.com/library/redis:7}]}\n";
        let fields = find_images(input.as_bytes()).unwrap();
        let left = unmoved_by(&fields, &|r| to_mirror(r).is_some());
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].text, "nginx:1");
    }
}
