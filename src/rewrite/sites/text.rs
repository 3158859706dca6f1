//! Images in ConfigMap and Secret data: values that are references, references inside
//! configuration text when they stand in an image context, and the `base` of image-config
//! documents, with every component the base composes.

use std::ops::Range;

use saphyr_parser::ScalarStyle;

use super::{is_base, is_reference, items, locate, Certainty, Finder, Sibling, Site, TEXT_LIMIT};
use crate::kube::key_names_an_image;
use crate::reference::Reference;
use crate::rewrite::tree::{self, Node, Scalar};
use crate::rewrite::ImageField;

impl Finder<'_> {
    /// ConfigMap `data` or Secret `stringData`: values that are whole references, flat keys that
    /// compose one (`scanner.repository` + `scanner.tag`), and references inside text values.
    pub(super) fn data_values(&mut self, root: &Node<'_>, field: &str) {
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
    pub(super) fn text_lines(&mut self, outer: &Scalar<'_>, path: &str, list_only: bool) {
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
            // Every rule needs a `=`, and the first two `image` in the line: a line without them
            // is not searched (most lines of a config text, so this is most of the time saved).
            let names_image = line.as_bytes().windows(5).any(|w| w.eq_ignore_ascii_case(b"image"));
            let rules: &[&regex::Regex] = match (line.contains('='), list_only || !names_image) {
                (false, _) => &[],
                (true, true) => &[assignment],
                (true, false) => &[toml, flag, assignment],
            };
            for rule in rules {
                for captures in rule.captures_iter(line) {
                    let Some(m) = captures.get(1) else { continue };
                    if is_reference(m.as_str(), Certainty::Plausible) && !found.contains(&m.range()) {
                        found.push(m.range());
                    }
                }
            }
            if found.is_empty() {
                line_start += line.len() + 1;
                continue;
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
    pub(super) fn image_configs(&mut self, root: &Node<'_>) {
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

#[cfg(test)]
mod tests {
    use crate::rewrite::tests::{rewritten, to_mirror};
    use crate::rewrite::*;

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
}
