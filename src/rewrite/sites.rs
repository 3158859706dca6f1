//! Where images sit in a Kubernetes object, by the post-renderer's rules: container images,
//! image volumes, image env vars and flags in pod specs; in other kinds, fields whose key names an
//! image and sibling fields that compose one (`repository` + `image` + `version`); ConfigMap and
//! Secret values that are references; references inside configuration text when they stand in an
//! image context; and `base` of image-config documents kept in ConfigMap data.

use std::ops::Range;

use saphyr_parser::ScalarStyle;

use super::tree::{self, Node, Scalar};
use super::ImageField;
use crate::kube::{self, key_names_an_image, names_an_image, CONTAINER_LISTS};
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
    refused: &mut Vec<String>,
) -> Vec<Site> {
    let mut finder = Finder { object, text, first_line, sites: Vec::new(), rules, in_text: false, refused };
    match kube::pod_spec_path(&object.kind) {
        Some(path) => {
            let mut node = Some(root);
            for step in path {
                node = node.and_then(|n| n.get(step));
            }
            if let Some(spec) = node {
                finder.pod_spec(spec, &path.join("."));
            }
        }
        None => {
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
    refused: &'f mut Vec<String>,
}

impl Finder<'_> {
    fn pod_spec(&mut self, spec: &Node<'_>, path: &str) {
        for list in CONTAINER_LISTS {
            for (i, container) in items(spec.get(list)) {
                let at = format!("{path}.{list}[{i}]");
                if let Some(Node::Scalar(image)) = container.get("image") {
                    self.whole(image, &format!("{at}.image"), Certainty::ImageField);
                }
                self.container_env_and_args(container, &at);
            }
        }
        for (i, volume) in items(spec.get("volumes")) {
            if let Some(Node::Scalar(reference)) = volume.get("image").and_then(|v| v.get("reference")) {
                self.whole(reference, &format!("{path}.volumes[{i}].image.reference"), Certainty::ImageField);
            }
        }
    }

    /// `RELATED_IMAGE_*` and `*_IMAGE` env values, and image flags among args and command.
    fn container_env_and_args(&mut self, container: &Node<'_>, at: &str) {
        for (j, var) in items(container.get("env")) {
            let (Some(name), Some(Node::Scalar(value))) = (var.get("name").and_then(Node::as_text), var.get("value"))
            else {
                continue;
            };
            let path = format!("{at}.env[{j}].value");
            if names_an_image(name) {
                self.whole(value, &path, Certainty::Plausible);
            } else if self.rules.text_images && value.value.contains('\n') {
                // `VERSION=IMAGE` lines in one value: the list format is the image context.
                self.text_lines(value, &path, true);
            }
        }
        for list in ["command", "args"] {
            let Some(words) = container.get(list).and_then(Node::as_sequence) else {
                continue;
            };
            for (k, word) in words.iter().enumerate() {
                let Some(Node::Scalar(scalar)) = Some(word) else {
                    continue;
                };
                if scalar.foreign_tag {
                    continue;
                }
                let path = format!("{at}.{list}[{k}]");
                let text = scalar.value.as_ref();
                match flag(text) {
                    Some((name, Some(value))) if name.to_ascii_lowercase().contains("image") => {
                        let start = text.len() - value.len();
                        if is_reference(value, Certainty::Plausible) {
                            self.site(scalar, &path, start..text.len());
                        }
                    }
                    // `--prometheus-config-reloader=quay.io/org/app:v1`: a flag named for what the
                    // image does; its value is taken only when it names a registry and a version.
                    Some((_, Some(value))) if is_qualified_reference(value) => {
                        let start = text.len() - value.len();
                        self.site(scalar, &path, start..text.len());
                    }
                    // `--sidecar-image REF`: the next word is the flag's value when it is not a
                    // flag itself and reads as an image.
                    Some((name, None)) if name.to_ascii_lowercase().contains("image") => {
                        if let Some(Node::Scalar(next)) = words.get(k + 1) {
                            if !next.value.starts_with('-') && !next.foreign_tag {
                                self.whole(next, &format!("{at}.{list}[{}]", k + 1), Certainty::Plausible);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Any other kind: every text field whose key names an image (`image`, `docker_image`,
    /// `imageRef`) and reads as an image, sibling fields that compose one, at any depth, and the
    /// env and flags of anything shaped like a container list.
    fn anywhere(&mut self, node: &Node<'_>, path: &mut String) {
        match node {
            Node::Mapping(entries) => {
                let siblings: Vec<Sibling<'_, '_>> = entries
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_text()?, v.as_scalar()?)))
                    .map(|(k, v)| (k, v, join_path(path, k)))
                    .collect();
                let split = self.split_fields(&siblings);
                for (key, value) in entries {
                    let Some(key) = key.as_text() else { continue };
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    match value {
                        Node::Scalar(_) if split.contains(&key) => {}
                        Node::Scalar(s) if key_names_an_image(key) => self.whole(s, path, Certainty::Plausible),
                        // Inside configuration text, a reference that spells out its registry and
                        // version is an image (or an OCI artifact) whatever its key.
                        Node::Scalar(s) if self.in_text && !s.foreign_tag && is_qualified_reference(&s.value) => {
                            self.site(s, path, 0..s.value.len())
                        }
                        Node::Sequence(list) if CONTAINER_LISTS.contains(&key) => {
                            for (i, container) in list.iter().enumerate() {
                                let at = format!("{path}[{i}]");
                                self.container_env_and_args(container, &at);
                            }
                            self.anywhere(value, path);
                        }
                        _ => self.anywhere(value, path),
                    }
                    path.truncate(len);
                }
            }
            Node::Sequence(list) => {
                for (i, item) in list.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    self.anywhere(item, path);
                    path.truncate(len);
                }
            }
            Node::Scalar(_) => {}
        }
    }

    /// Sibling fields that together compose one reference; returns the keys used, whose bytes
    /// then belong to that one site. The field carrying the host is the site; `components` holds
    /// the composed reference, so the rewrite keeps the other fields as they are.
    ///
    /// - `repository: host/org` + `image: name` + `version|tag` (a bare `image` beside
    ///   `repository` is a name, not a Docker Hub image);
    /// - `registry: host` + `repository: path` + `tag|version` (+ `digest`);
    /// - `repository: host/path` + `tag|version|digest`.
    fn split_fields<'k>(&mut self, siblings: &[Sibling<'k, '_>]) -> Vec<&'k str> {
        let null = |s: &Scalar<'_>| s.style == ScalarStyle::Plain && matches!(s.value.as_ref(), "null" | "~" | "Null");
        let get = |name: &str| {
            siblings.iter().find(|(k, s, _)| {
                k.eq_ignore_ascii_case(name)
                    && !s.foreign_tag
                    && !s.value.is_empty()
                    && !null(s)
                    && !s.value.contains("{{")
            })
        };
        let tag = get("tag").or_else(|| get("version"));
        let digest = get("digest");
        let mut suffix = String::new();
        if let Some((_, t, _)) = tag {
            suffix.push(if t.value.starts_with("sha256:") { '@' } else { ':' });
            suffix.push_str(&t.value);
        }
        if let Some((_, d, _)) = digest {
            suffix.push('@');
            suffix.push_str(&d.value);
        }
        let (host, composed, used) = match (get("registry"), get("repository"), get("image")) {
            (Some(registry), Some(repository), None)
                if is_host(&registry.1.value) && !starts_with_host(&repository.1.value) =>
            {
                (
                    registry,
                    format!("{}/{}{suffix}", registry.1.value, repository.1.value),
                    vec![registry.0, repository.0],
                )
            }
            (None, Some(repository), Some(image))
                if is_base(&repository.1.value) && !image.1.value.contains(['/', ':', '@']) =>
            {
                (repository, format!("{}/{}{suffix}", repository.1.value, image.1.value), vec![repository.0, image.0])
            }
            (None, Some(repository), None) if !suffix.is_empty() && starts_with_host(&repository.1.value) => {
                (repository, format!("{}{suffix}", repository.1.value), vec![repository.0])
            }
            _ => return Vec::new(),
        };
        if !Reference::looks_like_reference(&composed) || composed.contains(char::is_whitespace) {
            return Vec::new();
        }
        let (_, scalar, path) = host;
        self.site_composing(scalar, path, 0..scalar.value.len(), vec![composed]);
        let mut used = used;
        used.extend(tag.map(|t| t.0));
        used.extend(digest.map(|d| d.0));
        used
    }

    /// ConfigMap `data` or Secret `stringData`: values that are whole references, flat keys that
    /// compose one (`scanner.repository` + `scanner.tag`), and references inside text values.
    fn data_values(&mut self, root: &Node<'_>, field: &str) {
        let Some(data) = root.get(field).and_then(Node::as_mapping) else {
            return;
        };
        let mut groups: Vec<(&str, Vec<Sibling<'_, '_>>)> = Vec::new();
        for (key, value) in data {
            let (Some(key), Some(scalar)) = (key.as_text(), value.as_scalar()) else { continue };
            let Some((prefix, last)) = key.rsplit_once('.') else { continue };
            let path = format!("{field}.{key}");
            match groups.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, members)) => members.push((last, scalar, path)),
                None => groups.push((prefix, vec![(last, scalar, path)])),
            }
        }
        let mut taken: Vec<String> = Vec::new();
        for (_, members) in &groups {
            let used = self.split_fields(members);
            taken.extend(members.iter().filter(|(k, _, _)| used.contains(k)).map(|(_, _, p)| p.clone()));
        }
        for (key, value) in data {
            let (Some(key), Some(scalar)) = (key.as_text(), value.as_scalar()) else { continue };
            let path = format!("{field}.{key}");
            let found = self.sites.iter().any(|s| s.field.field_path == path);
            if found || taken.contains(&path) || key_names_an_image(key) || scalar.foreign_tag {
                continue; // composed above, or found by its key already
            }
            if is_reference(&scalar.value, Certainty::Plausible) && !scalar.value.contains(char::is_whitespace) {
                self.site(scalar, &path, 0..scalar.value.len());
            } else if self.rules.text_images && !self.in_text {
                self.text_value(scalar, &path);
            }
        }
    }

    /// References inside a text value: an embedded YAML or JSON document is searched by the same
    /// rules as an object; other text line by line, only where the line is an image context
    /// (TOML `image = "REF"`, `--*image*=REF`, `NAME=REF`). Templated text (`{{`) is left alone:
    /// another program fills it in, so a rewrite would be a guess.
    fn text_value(&mut self, outer: &Scalar<'_>, path: &str) {
        let value = outer.value.as_ref();
        if value.len() > TEXT_LIMIT || value.contains("{{") || !(value.contains('\n') || value.starts_with('{')) {
            return;
        }
        if let Ok(documents) = tree::parse(value) {
            if documents.iter().any(|d| matches!(d.root, Node::Mapping(_) | Node::Sequence(_))) {
                let mut inner = Finder {
                    object: self.object,
                    text: value,
                    first_line: 1,
                    sites: Vec::new(),
                    rules: self.rules,
                    in_text: true,
                    refused: &mut *self.refused,
                };
                for document in &documents {
                    inner.anywhere(&document.root, &mut String::new());
                }
                for site in inner.sites {
                    let place = site.place.and_then(|r| self.in_scalar(outer, r));
                    let inner_path = site.field.field_path.clone();
                    self.push_inner(outer, path, &inner_path, site.field, place);
                }
                return;
            }
        }
        self.text_lines(outer, path, false);
    }

    /// Line rules over a text value; `list` also takes `NAME=REF` lines (an env list).
    fn text_lines(&mut self, outer: &Scalar<'_>, path: &str, list_only: bool) {
        static RULES: std::sync::OnceLock<[regex::Regex; 3]> = std::sync::OnceLock::new();
        let [toml, flag, assignment] = RULES.get_or_init(|| {
            [
                regex::Regex::new(
                    r#"^\s*"?[A-Za-z0-9_.-]*(?i:image)[A-Za-z0-9_.-]*"?\s*=\s*["']([^"'\s]+)["']\s*(#.*)?$"#,
                ),
                regex::Regex::new(r#"--[A-Za-z0-9-]*(?i:image)[A-Za-z0-9-]*=["']?([^\s"',;]+)"#),
                regex::Regex::new(r#"^\s*(?:export\s+)?[A-Za-z0-9_.-]+=["']?([^\s"'=]+)["']?\s*$"#),
            ]
            .map(|r| r.expect("valid regex"))
        });
        let value = outer.value.as_ref();
        let mut line_start = 0;
        for (n, line) in value.split('\n').enumerate() {
            let mut found: Vec<Range<usize>> = Vec::new();
            let rules: &[&regex::Regex] = if list_only { &[assignment] } else { &[toml, flag, assignment] };
            for rule in rules {
                for captures in rule.captures_iter(line) {
                    let Some(m) = captures.get(1) else { continue };
                    if is_reference(m.as_str(), Certainty::Plausible) && !found.contains(&m.range()) {
                        found.push(m.range());
                    }
                }
            }
            // Another reference elsewhere on the line makes the line ambiguous: which of them the
            // program reads is a guess.
            let on_line = line
                .split(|c: char| c.is_whitespace() || "\"'=,;()[]".contains(c))
                .filter(|w| is_reference(w, Certainty::Plausible))
                .count();
            for range in &found {
                let within = line_start + range.start..line_start + range.end;
                let place = if found.len() > 1 || on_line > 1 {
                    Err(format!(
                        "line {} of the text names {} references; which to move is a guess",
                        n + 1,
                        on_line.max(found.len())
                    ))
                } else {
                    self.in_scalar(outer, within.clone())
                };
                let field = self.field(&format!("{path}#line {}", n + 1), 0, value[within].to_string(), Vec::new());
                self.push_inner(outer, path, &format!("line {}", n + 1), field, place);
            }
            line_start += line.len() + 1;
        }
    }

    /// Records a site found inside the text of `outer`, at `place` in the document's text.
    fn push_inner(
        &mut self,
        outer: &Scalar<'_>,
        path: &str,
        inner: &str,
        field: ImageField,
        place: Result<Range<usize>, String>,
    ) {
        let line = match &place {
            Ok(r) => self.line_of(r.start),
            Err(_) => self.first_line + outer.line - 1,
        };
        let mut field = ImageField { line, field_path: format!("{path}#{inner}"), ..field };
        field.document = self.object.document;
        self.sites.push(Site { field, place, plain: None, style: outer.style });
    }

    /// Maps bytes of a scalar's value onto the document text: exactly for a literal block,
    /// otherwise as `locate` does (offsets when written without escapes, else a unique occurrence).
    fn in_scalar(&self, outer: &Scalar<'_>, within: Range<usize>) -> Result<Range<usize>, String> {
        if outer.style == ScalarStyle::Literal {
            self.in_literal_block(outer, within)
        } else {
            locate(self.text, outer, within)
        }
    }

    /// ConfigMap data values that are image-config documents (`base` + `components`, as the
    /// Piraeus operator keeps them): `base` is a registry and path prefix of every component.
    fn image_configs(&mut self, root: &Node<'_>) {
        let Some(data) = root.get("data").and_then(Node::as_mapping) else {
            return;
        };
        for (key, value) in data {
            let (Some(key), Node::Scalar(outer)) = (key.as_text(), value) else {
                continue;
            };
            if outer.foreign_tag || !outer.value.contains("base") || !outer.value.contains("components") {
                continue;
            }
            // A payload that does not parse is not an image config; it is not ours to judge.
            let Ok(documents) = tree::parse(&outer.value) else {
                continue;
            };
            for document in &documents {
                let (Some(Node::Scalar(base)), Some(components)) =
                    (document.root.get("base"), document.root.get("components").and_then(Node::as_mapping))
                else {
                    continue;
                };
                if base.foreign_tag || !is_base(&base.value) {
                    continue;
                }
                let composed = component_references(&base.value, components);
                let inner = locate(&outer.value, base, 0..base.value.len());
                let place = inner.and_then(|r| self.in_scalar(outer, r));
                let line = match &place {
                    Ok(r) => self.line_of(r.start),
                    Err(_) => self.first_line + outer.line - 1,
                };
                self.sites.push(Site {
                    field: self.field(&format!("data.{key}#base"), line, base.value.to_string(), composed),
                    place,
                    plain: None,
                    style: outer.style,
                });
            }
        }
    }

    /// Maps a byte range of a literal block scalar's value onto the document text: each value
    /// line is a source line minus the block's indentation. Checked, never assumed.
    fn in_literal_block(&self, outer: &Scalar<'_>, inner: Range<usize>) -> Result<Range<usize>, String> {
        if outer.style != ScalarStyle::Literal {
            return Err("image configs are rewritten only inside literal block scalars (`|`)".into());
        }
        let value = outer.value.as_ref();
        let value_line = value[..inner.start].matches('\n').count();
        let value_line_start = value[..inner.start].rfind('\n').map_or(0, |i| i + 1);
        let value_line_text = value[value_line_start..].split('\n').next().unwrap_or("");
        // The span starts at the first line with content; leading empty lines come before it.
        let leading_empty = value.len() - value.trim_start_matches('\n').len();
        let Some(offset) = value_line.checked_sub(leading_empty) else {
            return Err("the reference is on an empty line of the block".into());
        };
        let mut line_start = self.text[..outer.span.start].rfind('\n').map_or(0, |i| i + 1);
        for _ in 0..offset {
            line_start += self.text[line_start..].find('\n').map(|i| i + 1).ok_or("block ends early")?;
        }
        let line_end = self.text[line_start..].find('\n').map_or(self.text.len(), |i| line_start + i);
        let source_line = self.text[line_start..line_end].trim_end_matches('\r');
        let indent = source_line.len().checked_sub(value_line_text.len());
        match indent {
            Some(indent)
                if source_line.ends_with(value_line_text) && source_line[..indent].bytes().all(|b| b == b' ') =>
            {
                let start = line_start + indent + (inner.start - value_line_start);
                Ok(start..start + inner.len())
            }
            _ => Err("the block scalar's lines do not match its value".into()),
        }
    }

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
            self.refused.push(format!(
                "manifest stream: document {} line {}: {} {path}: {value:?} is not an image reference ({why}); \
                 left as it is: Kubernetes will not pull it either, fix the value that writes it",
                self.object.document,
                self.first_line + scalar.line - 1,
                self.field(path, 0, String::new(), Vec::new()).object(),
            ));
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

/// `--name=value` -> (name, Some(value)); `--name` -> (name, None); anything else -> None.
fn flag(word: &str) -> Option<(&str, Option<&str>)> {
    let body = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
    if body.is_empty() || body.starts_with('-') {
        return None;
    }
    Some(match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    })
}

/// A registry and path prefix such as `quay.io/piraeusdatastore`: a name that parses once an
/// image name is appended.
fn is_base(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(['{', ' ', '@'])
        && !text.ends_with('/')
        && Reference::parse(&format!("{text}/image")).is_ok_and(|r| r.tag.is_none())
}

/// The references an image config composes: `base/image` with the component's tag or digest,
/// for each component and each of its `match` alternatives.
fn component_references(base: &str, components: &[(Node<'_>, Node<'_>)]) -> Vec<String> {
    let mut references = Vec::new();
    for (_, component) in components {
        let suffix =
            match (component.get("digest").and_then(Node::as_text), component.get("tag").and_then(Node::as_text)) {
                (Some(digest), _) if !digest.is_empty() => format!("@{digest}"),
                (_, Some(tag)) if !tag.is_empty() => format!(":{tag}"),
                _ => String::new(),
            };
        let alternatives = items(component.get("match")).filter_map(|(_, m)| m.get("image").and_then(Node::as_text));
        for image in component.get("image").and_then(Node::as_text).into_iter().chain(alternatives) {
            let reference = format!("{base}/{image}{suffix}");
            if Reference::parse(&reference).is_ok() && !references.contains(&reference) {
                references.push(reference);
            }
        }
    }
    references
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

    #[test]
    fn flags_split_into_name_and_value() {
        assert_eq!(flag("--config-reloader-image=quay.io/x:1"), Some(("config-reloader-image", Some("quay.io/x:1"))));
        assert_eq!(flag("-image=x"), Some(("image", Some("x"))));
        assert_eq!(flag("--sidecar-image"), Some(("sidecar-image", None)));
        assert_eq!(flag("---x"), None);
        assert_eq!(flag("--"), None);
        assert_eq!(flag("image=x"), None);
    }
}
