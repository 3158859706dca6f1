//! Where images sit in a Kubernetes object, by the post-renderer's rules: container images,
//! image volumes, image env vars and flags in pod specs; in other kinds, fields whose key names an
//! image and sibling fields that compose one (`repository` + `image` + `version`); ConfigMap and
//! Secret values that are references; references inside configuration text when they stand in an
//! image context; and `base` of image-config documents kept in ConfigMap data.
//!
//! This file holds what a site is, the entry point and what every rule shares; `pods` reads pod
//! specs, `fields` the fields of other kinds, `text` data values, configuration text and
//! image-config documents.

mod fields;
mod pods;
mod text;

use std::ops::Range;

use saphyr_parser::ScalarStyle;

use super::tree::{Node, Scalar};
use super::ImageField;
use crate::diagnostic::{Code, Diagnostic};
use crate::kube;
use crate::reference::Reference;

/// Which rules are on: the text rules (references inside configuration text) can be turned off
/// for a user whose config text must stay as the chart wrote it (`--text-images=off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub text_images: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { text_images: true }
    }
}

/// The most bytes of one data value searched for references in text: beyond it, a value is
/// left as it is (a bundle or a dump, not configuration a person wrote).
const TEXT_LIMIT: usize = 1 << 20;

/// An image reference found in one document, and where its text sits in the document's bytes.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub field: ImageField,
    /// Bytes of `field.text` in the document text, or why they cannot be pinned down (written
    /// with escapes, or twice in one scalar): such a site is reported but never rewritten.
    pub place: Result<Range<usize>, String>,
    /// How to rewrite the whole scalar when the new text cannot stand in a plain scalar as is
    /// (an IPv6 registry in brackets): the scalar's bytes, its value, and the reference within it.
    pub plain: Option<(Range<usize>, String, Range<usize>)>,
    pub style: ScalarStyle,
}

/// The object a document describes, as reported with each of its images.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub document: usize,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub source: Option<String>,
}

/// How sure the field's meaning makes us that a string is an image reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Certainty {
    /// A container's `image` or an image volume's `reference`: the API says it is an image, so
    /// the grammar alone decides (`busybox` is an image here).
    ImageField,
    /// Anything else: the text must also look like an image (see `Reference::looks_like_reference`).
    Plausible,
}

/// Values a container's `image` holds that are not references but instructions to something else:
/// Istio's gateway injection replaces `image: auto` with its proxy image at admission.
const PLACEHOLDERS: &[&str] = &["auto"];

fn is_reference(text: &str, certainty: Certainty) -> bool {
    if text.is_empty() || text.contains("{{") || PLACEHOLDERS.contains(&text) {
        return false;
    }
    match certainty {
        Certainty::ImageField => !text.contains(char::is_whitespace) && Reference::parse(text).is_ok(),
        Certainty::Plausible => Reference::looks_like_reference(text),
    }
}

/// Every image site in the document rooted at `root`. `text` is the document's text and
/// `first_line` its first line in the stream.
///
/// A field the API says holds an image whose text is no reference (`image: Nginx:Latest`) is
/// never rewritten; it is described in `refused`, naming document, line, object and field.
pub(crate) fn find(
    root: &Node<'_>,
    object: &Object,
    text: &str,
    first_line: usize,
    rules: Rules,
    refused: &mut Vec<Diagnostic>,
) -> Vec<Site> {
    let mut finder = Finder { object, text, first_line, sites: Vec::new(), rules, in_text: false, refused };
    if let Some(path) = kube::pod_spec_path(&object.kind) {
        let mut node = Some(root);
        for step in path {
            node = node.and_then(|n| n.get(step));
        }
        if let Some(spec) = node {
            finder.pod_spec(spec, &path.join("."));
        }
    } else {
        let mut path = String::new();
        finder.anywhere(root, &mut path);
        if object.kind == "ConfigMap" {
            finder.image_configs(root);
            finder.data_values(root, "data");
        }
        if object.kind == "Secret" {
            // `data` is base64: only `stringData` is text.
            finder.data_values(root, "stringData");
        }
    }
    finder.sites
}

/// A text field of a mapping: its key, its scalar, and its path in the object.
type Sibling<'k, 's> = (&'k str, &'s Scalar<'s>, String);

struct Finder<'f> {
    object: &'f Object,
    text: &'f str,
    first_line: usize,
    sites: Vec<Site>,
    rules: Rules,
    /// Searching a document embedded in a data value: its own text values are not searched again.
    in_text: bool,
    refused: &'f mut Vec<Diagnostic>,
}

impl Finder<'_> {
    /// A scalar whose whole value is the reference.
    fn whole(&mut self, scalar: &Scalar<'_>, path: &str, certainty: Certainty) {
        if scalar.foreign_tag {
            return;
        }
        if is_reference(&scalar.value, certainty) {
            self.site(scalar, path, 0..scalar.value.len());
            return;
        }
        let value = scalar.value.as_ref();
        let templated = value.is_empty() || value.contains("{{") || PLACEHOLDERS.contains(&value);
        if certainty == Certainty::ImageField && !templated {
            let why = match Reference::parse(value) {
                Err(e) => e.to_string(),
                Ok(_) => "it holds whitespace".to_string(),
            };
            self.refused.push(
                Diagnostic::new(
                    Code::FieldNotAReference,
                    format!(
                        "document {} line {}: {} {path}: {value:?} is not an image reference ({why}); left as it \
                         is: Kubernetes will not pull it either, fix the value that writes it",
                        self.object.document,
                        self.first_line + scalar.line - 1,
                        self.field(path, 0, String::new(), Vec::new()).object(),
                    ),
                )
                .at("manifest stream"),
            );
        }
    }

    /// The reference at `within` (bytes of the scalar's value).
    fn site(&mut self, scalar: &Scalar<'_>, path: &str, within: Range<usize>) {
        self.site_composing(scalar, path, within, Vec::new());
    }

    /// Like `site`; `components` are the references this text composes with its sibling fields.
    fn site_composing(&mut self, scalar: &Scalar<'_>, path: &str, within: Range<usize>, components: Vec<String>) {
        let value = scalar.value.as_ref();
        let place = locate(self.text, scalar, within.clone());
        let line = match &place {
            Ok(r) => self.line_of(r.start),
            Err(_) => self.first_line + scalar.line - 1,
        };
        let own_text = scalar.span.end.saturating_sub(value.len())..scalar.span.end;
        // Read through an alias: the whole `*name` token is replaced by the new value.
        let plain = if scalar.alias {
            Some((scalar.span.clone(), value.to_string(), within.clone()))
        } else {
            (scalar.style == ScalarStyle::Plain && self.text.get(own_text.clone()) == Some(value))
                .then(|| (own_text, value.to_string(), within.clone()))
        };
        self.sites.push(Site {
            field: self.field(path, line, value[within].to_string(), components),
            place,
            plain,
            style: scalar.style,
        });
    }

    fn field(&self, path: &str, line: usize, text: String, components: Vec<String>) -> ImageField {
        ImageField {
            document: self.object.document,
            kind: self.object.kind.clone(),
            name: self.object.name.clone(),
            namespace: self.object.namespace.clone(),
            source: self.object.source.clone(),
            field_path: path.to_string(),
            line,
            text,
            components,
        }
    }

    fn line_of(&self, byte: usize) -> usize {
        self.first_line + self.text[..byte].matches('\n').count()
    }
}

fn items<'n, 'a>(node: Option<&'n Node<'a>>) -> impl Iterator<Item = (usize, &'n Node<'a>)> {
    node.and_then(Node::as_sequence).unwrap_or(&[]).iter().enumerate()
}

/// `a.b` + `c` -> `a.b.c`.
fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A registry host alone: `docker.io`, `registry.example.org:5000`, `localhost`.
fn is_host(text: &str) -> bool {
    !text.contains(['/', '{', ' ', '@'])
        && crate::reference::names_a_host(text)
        && crate::reference::check_host(text).is_ok()
}

/// The first path component is a registry host: `quay.io/org/app`, not `org/app`.
fn starts_with_host(text: &str) -> bool {
    text.split_once('/').is_some_and(|(first, _)| is_host(first))
}

/// A reference that spells out its registry host and a tag or digest, and reads as an image.
fn is_qualified_reference(text: &str) -> bool {
    is_reference(text, Certainty::Plausible)
        && Reference::parse(text).is_ok_and(|r| r.explicit_registry && (r.tag.is_some() || r.digest.is_some()))
}

/// A registry and path prefix such as `quay.io/piraeusdatastore`: a name that parses once an
/// image name is appended.
fn is_base(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(['{', ' ', '@'])
        && !text.ends_with('/')
        && Reference::parse(&format!("{text}/image")).is_ok_and(|r| r.tag.is_none())
}

/// Where the bytes of `within` (a range of the scalar's value) are written in `text`. Reference
/// characters never need escaping in any style, so when the scalar is written without escapes
/// or folding the offsets carry over exactly; otherwise the reference must occur exactly once in
/// both the written text and the value, which makes the two occurrences the same one.
pub(crate) fn locate(text: &str, scalar: &Scalar<'_>, within: Range<usize>) -> Result<Range<usize>, String> {
    if scalar.alias {
        return Err(format!("{:?} is read through the alias {}", scalar.value, &text[scalar.span.clone()]));
    }
    let value = scalar.value.as_ref();
    let wanted = &value[within.clone()];
    let written = &text[scalar.span.clone()];
    let prefix = &value[..within.start];
    let exact = match scalar.style {
        ScalarStyle::Plain if written.ends_with(value) => Some(written.len() - value.len() + prefix.len()),
        ScalarStyle::SingleQuoted => {
            let quoted = format!("'{}'", value.replace('\'', "''"));
            written.ends_with(&quoted).then(|| written.len() - quoted.len() + 1 + prefix.replace('\'', "''").len())
        }
        ScalarStyle::DoubleQuoted => {
            let quoted = format!("\"{value}\"");
            (!value.contains(['\\', '"']) && written.ends_with(&quoted))
                .then(|| written.len() - quoted.len() + 1 + prefix.len())
        }
        _ => None,
    };
    let start = match exact {
        Some(at) => at,
        None if written.matches(wanted).count() == 1 && value.matches(wanted).count() == 1 => {
            written.find(wanted).unwrap_or_default()
        }
        None => {
            return Err(format!(
                "{wanted:?} is written with escapes or line folding, or more than once in its scalar, \
                 so it cannot be replaced without touching other text"
            ))
        }
    };
    let start = scalar.span.start + start;
    match text.get(start..start + wanted.len()) {
        Some(found) if found == wanted => Ok(start..start + wanted.len()),
        _ => Err(format!("{wanted:?} is not where its scalar says")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::tree;

    fn first_scalar<'d>(node: &'d Node<'d>) -> &'d Scalar<'d> {
        match node {
            Node::Scalar(s) => s,
            Node::Mapping(entries) => first_scalar(&entries[0].1),
            Node::Sequence(items) => first_scalar(&items[0]),
        }
    }

    fn locate_in(text: &str, within: Range<usize>) -> Result<String, String> {
        let docs = tree::parse(text).unwrap();
        let scalar = first_scalar(&docs[0].root);
        locate(text, scalar, within).map(|r| text[..r.start].to_string())
    }

    #[test]
    fn locates_references_in_each_scalar_style() {
        assert_eq!(locate_in("image: ab/c:1\n", 0..6).unwrap(), "image: ");
        assert_eq!(locate_in("image: 'ab/c:1'\n", 0..6).unwrap(), "image: '");
        assert_eq!(locate_in("image: \"ab/c:1\"\n", 0..6).unwrap(), "image: \"");
        assert_eq!(locate_in("x: &a !!str \"--i=ab/c:1\"\n", 4..10).unwrap(), "x: &a !!str \"--i=");
        assert_eq!(locate_in("x: 'it''s --i=ab/c:1'\n", 9..15).unwrap(), "x: 'it''s --i=");
        assert_eq!(locate_in("x: [--i=ab/c:1]\n", 4..10).unwrap(), "x: [--i=");
    }

    #[test]
    fn escaped_or_folded_scalars_fall_back_to_a_unique_occurrence() {
        // \x41 is an escape before the reference: offsets differ, but the text occurs once.
        assert_eq!(locate_in("x: \"\\x41 ab/c:1\"\n", 2..8).unwrap(), "x: \"\\x41 ");
        assert_eq!(locate_in("x: >\n  one\n  ab/c:1\n", 4..10).unwrap(), "x: >\n  one\n  ");
        assert!(locate_in("x: \"ab/c:1 \\\"ab/c:1\"\n", 0..6).is_err());
    }
}
