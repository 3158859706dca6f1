//! Direct edits: the one values key the trace shows carrying an image's differing text (usually
//! the host inside a `repository`) gets that text replaced, the rest of its value kept.

use std::collections::{BTreeMap, BTreeSet};

use super::trial::with_edit;
use super::{Planner, Trial};
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::{Part, RenderedImage, SiteId};
use crate::reference::Reference;
use crate::values::{Value, ValuesPath};

impl Planner<'_, '_> {
    /// For images still off target, edits the values key that carries the differing text (usually
    /// the host inside a `repository`), keeping the rest of its value. Each edit is kept only if a
    /// render confirms it, and is then written under the shortest key that has the same effect.
    pub(super) fn apply_direct_edits(
        &mut self,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) {
        for _round in 0..3 {
            let (render, current) = self.images_with(&[]);
            let mut correct = self.correct(&current, destinations);
            let mut edits: BTreeMap<ValuesPath, String> = BTreeMap::new();
            for (id, image) in &current {
                let Some(Some(dest)) = destinations.get(id) else { continue };
                if correct.contains(id) {
                    continue;
                }
                if let Some((path, value)) = direct_edit(image, dest, &render.covering) {
                    // Two sites needing different values of one key cannot both be served by it.
                    match edits.get(&path) {
                        Some(existing) if *existing != value => {
                            self.warnings.push(
                                Diagnostic::new(
                                    Code::KeyFeedsSeveralImages,
                                    format!("feeds several images that need different values; kept {existing:?}"),
                                )
                                .at(path.to_string())
                                .hint(
                                    "the table below shows which images stay off the target: the post-renderer \
                                     moves them",
                                ),
                            );
                        }
                        _ => {
                            edits.insert(path, value);
                        }
                    }
                }
            }
            let mut progress = false;
            for (path, value) in edits {
                let Some(Trial { keys: extra, gate, correct: now_correct }) =
                    self.try_edit(&path, Value::String(value.clone()), destinations, &correct, baseline_failures)
                else {
                    continue;
                };
                let extra = self.shortest_equivalent(extra, &path, &now_correct, destinations, baseline_failures);
                for (k, v) in extra {
                    self.overlay = with_edit(&self.overlay, &self.effective, &k, v);
                }
                self.gates.extend(gate);
                correct = now_correct;
                progress = true;
            }
            if !progress {
                return;
            }
        }
    }
}

/// The edit of one values key that turns `image` into `dest`: the differing run of text must lie in
/// (or, for an insertion, start) a single piece that came from a string values key. For sibling
/// fields the run must lie in the field carrying the host, which the composed reference starts with.
fn direct_edit(image: &RenderedImage, dest: &Reference, effective: &Value) -> Option<(ValuesPath, String)> {
    let old = image.composed();
    let new = dest.to_string();
    let prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old.bytes().rev().zip(new.bytes().rev()).take(max_suffix).take_while(|(a, b)| a == b).count();
    let (start, end) = (prefix, old.len() - suffix);
    let replacement = &new[prefix..new.len() - suffix];
    let mut pos = 0;
    for part in &image.parts {
        let len = match part {
            Part::Template { text } | Part::Values { text, .. } | Part::Chart { text, .. } => text.len(),
        };
        let inside = start >= pos && end <= pos + len && (start < pos + len || len > 0 && start == pos);
        if inside {
            let Part::Values { path, offset, .. } = part else { return None };
            let original = effective.get(path)?.as_str()?;
            let (a, b) = (offset + start - pos, offset + end - pos);
            let value = format!("{}{}{}", original.get(..a)?, replacement, original.get(b..)?);
            return Some((path.clone(), value));
        }
        pos += len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{effective, image, literal, values};

    #[test]
    fn a_host_inside_a_repository_is_replaced_keeping_the_path() {
        let img = image(
            "quay.io/org/app:1.0",
            vec![values("image.repository", "quay.io/org/app", 0), literal(":"), values("image.tag", "1.0", 0)],
        );
        let dest = Reference::parse("mirror.example/org/app:1.0").unwrap();
        let edit = direct_edit(&img, &dest, &effective(&[("image.repository", "quay.io/org/app")]));
        assert_eq!(edit, Some((ValuesPath::parse("image.repository"), "mirror.example/org/app".into())));
    }

    #[test]
    fn a_docker_hub_name_without_host_gets_the_mirror_and_library_in_front() {
        let img = image("nginx:1.27", vec![values("image", "nginx:1.27", 0)]);
        let dest = Reference::parse("mirror.example/library/nginx:1.27").unwrap();
        let edit = direct_edit(&img, &dest, &effective(&[("image", "nginx:1.27")]));
        assert_eq!(edit, Some((ValuesPath::parse("image"), "mirror.example/library/nginx:1.27".into())));
    }

    #[test]
    fn a_host_written_by_the_template_cannot_be_edited_through_values() {
        let img = image(
            "docker.io/org/app:1",
            vec![literal("docker.io/"), values("image.repository", "org/app", 0), literal(":1")],
        );
        let dest = Reference::parse("mirror.example/org/app:1").unwrap();
        assert_eq!(direct_edit(&img, &dest, &effective(&[("image.repository", "org/app")])), None);
    }
}
