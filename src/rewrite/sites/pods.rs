//! Images in pod specs: container images, image volumes, image env vars and image flags among a
//! container's args and command.

use super::{is_qualified_reference, is_reference, items, Certainty, Finder};
use crate::kube::{names_an_image, CONTAINER_LISTS};
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

    /// `RELATED_IMAGE_*` and `*_IMAGE` env values, and image flags among args and command.
    pub(super) fn container_env_and_args(&mut self, container: &Node<'_>, at: &str) {
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
