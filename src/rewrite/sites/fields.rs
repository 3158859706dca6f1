//! Images in the fields of kinds other than pods: a text field whose key names an image and reads
//! as one, and sibling fields that compose one reference (`registry` + `repository` + `tag`).

use saphyr_parser::ScalarStyle;

use super::{is_base, is_host, is_qualified_reference, join_path, starts_with_host, Certainty, Finder, Sibling};
use crate::kube::{key_names_an_image, CONTAINER_LISTS};
use crate::reference::Reference;
use crate::rewrite::tree::{Node, Scalar};

impl Finder<'_> {
    /// Any other kind: every text field whose key names an image (`image`, `docker_image`,
    /// `imageRef`) and reads as an image, sibling fields that compose one, at any depth, and the
    /// env and flags of anything shaped like a container list.
    pub(super) fn anywhere(&mut self, node: &Node<'_>, path: &mut String) {
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
                            self.site(s, path, 0..s.value.len());
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
    pub(super) fn split_fields<'k>(&mut self, siblings: &[Sibling<'k, '_>]) -> Vec<&'k str> {
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
}

#[cfg(test)]
mod tests {
    use crate::rewrite::tests::rewritten;
    use crate::rewrite::*;

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
}
