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
