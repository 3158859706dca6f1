//! Images in pod specs: container images, image volumes, image env vars and image flags among a
//! container's args and command.

use super::{is_qualified_reference, is_reference, items, starts_with_host, Certainty, Finder, Sibling};
use crate::kube::{names_an_image, names_an_image_source, CONTAINER_LISTS};
use crate::rewrite::tree::Node;

impl Finder<'_> {
    pub(super) fn pod_spec(&mut self, spec: &Node<'_>, path: &str) {
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

    /// `RELATED_IMAGE_*` and `*_IMAGE` env values, a repository in an env var naming where images
    /// come from (`ENGINE_REPO_URL=quay.io/org/engine`, its tag elsewhere), and image flags among
    /// args and command. A registry or a `host/org` prefix alone is a registry setting (discover).
    pub(super) fn container_env_and_args(&mut self, container: &Node<'_>, at: &str) {
        let composed = self.env_siblings(container, at);
        for (j, var) in items(container.get("env")) {
            let (Some(name), Some(Node::Scalar(value))) = (var.get("name").and_then(Node::as_text), var.get("value"))
            else {
                continue;
            };
            let path = format!("{at}.env[{j}].value");
            if composed.contains(&path) {
                continue; // one site with its siblings
            }
            if names_an_image(name) {
                self.whole(value, &path, Certainty::Plausible);
            } else if names_an_image_source(name)
                && !value.foreign_tag
                && starts_with_host(&value.value)
                && is_reference(&value.value, Certainty::Plausible)
            {
                self.site(value, &path, 0..value.value.len());
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
}

impl Finder<'_> {
    /// Env vars of one container that compose one reference as sibling fields do: an image
    /// var and the tag, version or digest vars named after it (`SIDECAR_IMAGE` +
    /// `SIDECAR_IMAGE_TAG`, `INIT_IMAGE_REPOSITORY` + `INIT_IMAGE_VERSION`). The program reading
    /// them joins them, so the image it pulls is the composed one (a mirror copies that tag, not
    /// `latest`); the var carrying the host is the site. Only names that say `IMAGE` group: a
    /// `GIT_REPO` beside a `GIT_TAG` is no image. Returns the paths used.
    fn env_siblings(&mut self, container: &Node<'_>, at: &str) -> Vec<String> {
        let mut groups: Vec<(String, Vec<Sibling<'static, '_>>)> = Vec::new();
        for (j, var) in items(container.get("env")) {
            let (Some(name), Some(Node::Scalar(value))) = (var.get("name").and_then(Node::as_text), var.get("value"))
            else {
                continue;
            };
            let Some((prefix, part)) = env_part(name) else { continue };
            let path = format!("{at}.env[{j}].value");
            match groups.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, members)) => members.push((part, value, path)),
                None => groups.push((prefix, vec![(part, value, path)])),
            }
        }
        let mut used = Vec::new();
        for (_, members) in groups.iter().filter(|(_, m)| m.len() > 1) {
            let parts = self.split_fields(members);
            used.extend(members.iter().filter(|(part, _, _)| parts.contains(part)).map(|(_, _, path)| path.clone()));
        }
        used
    }
}

/// An env var name as (the image it belongs to, the part of the reference it holds), for
/// `env_siblings`: `SIDECAR_IMAGE` -> (`SIDECAR_IMAGE`, `repository`), `SIDECAR_IMAGE_TAG` ->
/// (`SIDECAR_IMAGE`, `tag`), `INIT_IMAGE_REPOSITORY` -> (`INIT_IMAGE`, `repository`).
fn env_part(name: &str) -> Option<(String, &'static str)> {
    const PARTS: [(&str, &str); 5] = [
        ("_REPOSITORY", "repository"),
        ("_REPO", "repository"),
        ("_TAG", "tag"),
        ("_VERSION", "version"),
        ("_DIGEST", "digest"),
    ];
    // Case-insensitive, and no allocation for the many env vars that are no part of an image
    // (this runs on every container of the post-renderer's stream).
    let ends_with = |text: &str, end: &str| {
        text.len() >= end.len() && text.as_bytes()[text.len() - end.len()..].eq_ignore_ascii_case(end.as_bytes())
    };
    let names_image = |prefix: &str| prefix.eq_ignore_ascii_case("IMAGE") || ends_with(prefix, "_IMAGE");
    let part = PARTS.iter().find_map(|(end, part)| {
        let prefix = name.get(..name.len().checked_sub(end.len())?).filter(|_| ends_with(name, end))?;
        names_image(prefix).then_some((prefix, *part))
    });
    let (prefix, part) = part.or_else(|| names_image(name).then_some((name, "repository")))?;
    Some((prefix.to_ascii_uppercase(), part))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::tests::{paths, rewritten};
    use crate::rewrite::*;

    #[test]
    fn flags_split_into_name_and_value() {
        assert_eq!(flag("--config-reloader-image=quay.io/x:1"), Some(("config-reloader-image", Some("quay.io/x:1"))));
        assert_eq!(flag("-image=x"), Some(("image", Some("x"))));
        assert_eq!(flag("--sidecar-image"), Some(("sidecar-image", None)));
        assert_eq!(flag("---x"), None);
        assert_eq!(flag("--"), None);
        assert_eq!(flag("image=x"), None);
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
    fn env_vars_named_after_an_image_compose_it_with_its_tag() {
        let input = "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: quay.io/op/op:1\n        env:\n        - {name: INIT_IMAGE_REPOSITORY, value: quay.io/op/init}\n        - {name: INIT_IMAGE_VERSION, value: '2.3'}\n        - {name: SIDECAR_IMAGE, value: ghcr.io/op/sidecar}\n        - {name: SIDECAR_IMAGE_TAG, value: v1}\n        - {name: PROBE_IMAGE, value: ghcr.io/op/probe:4}\n        - {name: PROBE_IMAGE_TAG, value: '5'}\n        - {name: GIT_REPO, value: github.com/op/docs}\n        - {name: GIT_TAG, value: v1}\n";
        let fields = find_images(input.as_bytes()).unwrap();
        let found: Vec<_> =
            fields.iter().map(|f| (f.field_path.as_str(), f.text.as_str(), f.components.clone())).collect();
        let env = |i: usize| format!("spec.template.spec.containers[0].env[{i}].value");
        assert_eq!(
            found,
            vec![
                ("spec.template.spec.containers[0].image", "quay.io/op/op:1", vec![]),
                (env(0).as_str(), "quay.io/op/init", vec!["quay.io/op/init:2.3".to_string()]),
                (env(2).as_str(), "ghcr.io/op/sidecar", vec!["ghcr.io/op/sidecar:v1".to_string()]),
                // A tag already in the image wins over composing a second one: the var stands alone.
                (env(4).as_str(), "ghcr.io/op/probe:4", vec![]),
            ]
        );
        // Only the var carrying the host moves; the version stays where it is.
        assert_eq!(
            crate::rewrite::tests::rewritten(input),
            input.replace("quay.io/op/", "mirror.example.com/op/").replace("ghcr.io/op/", "mirror.example.com/op/")
        );
    }

    #[test]
    fn env_lists_and_builder_names_carry_images() {
        let input = "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: quay.io/op/op:1\n        env:\n        - {name: OPERATOR_IMAGE_NAME, value: quay.io/op/op:1}\n        - {name: APP_BUILDER, value: ghcr.io/b/builder:2}\n        - name: ENGINES\n          value: |\n            15=ghcr.io/db/e15:1\n            16=ghcr.io/db/e16:1\n        - {name: NOTES, value: \"see quay.io/op/op:1\\nfor details\"}\n        - {name: INIT_IMAGE_REPOSITORY, value: quay.io/op/init}\n        - {name: ENGINE_REPO_URL, value: quay.io/op/engine}\n        - {name: ENGINE_REGISTRY, value: quay.io/op}\n        - {name: DOCS_REPO, value: github.com/op/docs}\n";
        let paths: Vec<_> = find_images(input.as_bytes()).unwrap().into_iter().map(|f| f.field_path).collect();
        assert_eq!(
            paths,
            [
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[0].env[0].value",
                "spec.template.spec.containers[0].env[1].value",
                "spec.template.spec.containers[0].env[2].value#line 1",
                "spec.template.spec.containers[0].env[2].value#line 2",
                "spec.template.spec.containers[0].env[4].value",
                "spec.template.spec.containers[0].env[5].value",
            ]
        );
    }
}
