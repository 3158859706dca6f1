//! Renders under the overlay so far and trial edits on top of it: an edit is kept only when a render
//! shows more images on their destinations, none leaving, and no new template failing.

use std::collections::{BTreeMap, BTreeSet};

use super::{components_offered, leaf_paths, same_image, Gate, Planner, Trial};
use crate::discover::{self, RenderedImage, SiteId};
use crate::reference::Reference;
use crate::render::TreeRender;
use crate::values::{Step, Value, ValuesPath};

impl Planner<'_, '_> {
    pub(super) fn render_with(&self, overlay: &Value) -> TreeRender {
        let values = crate::values::coalesce(&self.base, overlay);
        self.renderer.render(&values)
    }

    /// The render under the current overlay, re-rendering only the charts that the keys changed
    /// since the last one touch.
    fn current_render(&self) -> std::rc::Rc<TreeRender> {
        let mut cache = self.current.borrow_mut();
        let render = match cache.take() {
            Some((overlay, render)) if overlay == self.overlay => render,
            Some((overlay, render)) => {
                std::rc::Rc::new(self.rerender(&render, &self.overlay, &changed_paths(&overlay, &self.overlay)))
            }
            None => std::rc::Rc::new(self.render_with(&self.overlay)),
        };
        *cache = Some((self.overlay.clone(), render.clone()));
        render
    }

    /// `previous` brought up to date with `overlay`, where only `keys` differ: a template that
    /// neither read nor printed anything on those keys' branches renders the same, so only the
    /// charts that did are rendered again.
    fn rerender(&self, previous: &TreeRender, overlay: &Value, keys: &[ValuesPath]) -> TreeRender {
        // A key nothing was seen to read may still be consumed whole (a `merge` of `.Values`, as
        // Istio's profiles do): then nothing can be ruled out.
        let mut charts = previous.charts_touching(keys);
        if charts.is_empty() {
            charts = (0..self.renderer.charts.len()).collect();
        }
        let values = crate::values::coalesce(&self.base, overlay);
        previous.with_charts_from(self.renderer.render_charts(&values, Some(&charts)), &charts)
    }

    /// Images of a render under the current overlay plus `extra`.
    pub(super) fn images_with(
        &self,
        extra: &[(ValuesPath, Value)],
    ) -> (std::rc::Rc<TreeRender>, BTreeMap<SiteId, RenderedImage>) {
        let current = self.current_render();
        let render = if extra.is_empty() {
            current
        } else {
            let mut overlay = self.overlay.clone();
            for (k, v) in extra {
                overlay = with_edit(&overlay, &self.effective, k, v.clone());
            }
            let keys: Vec<ValuesPath> = extra.iter().map(|(k, _)| k.clone()).collect();
            std::rc::Rc::new(self.rerender(&current, &overlay, &keys))
        };
        let images = discover::images(&render).into_iter().map(|i| (i.id.clone(), i)).collect();
        (render, images)
    }

    pub(super) fn correct(
        &self,
        images: &BTreeMap<SiteId, RenderedImage>,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
    ) -> BTreeSet<SiteId> {
        destinations
            .iter()
            .filter(|(id, d)| match (images.get(*id), d) {
                (Some(i), Some(d)) => {
                    same_image(&i.reference, d)
                        || self.components.get(*id).is_some_and(|wanted| components_offered(images, &id.object, wanted))
                }
                _ => false,
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Renders with one more key set (and a render gate opened if it trips one); returns the keys to
    /// add and the sites then correct, if more images land and none leave.
    pub(super) fn try_edit(
        &self,
        path: &ValuesPath,
        value: Value,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        correct: &BTreeSet<SiteId>,
        baseline_failures: &BTreeSet<String>,
    ) -> Option<Trial> {
        let mut extra = vec![(path.clone(), value)];
        let (mut render, mut images) = self.images_with(&extra);
        let mut gate = None;
        if let Some((gate_path, message)) = self.find_gate(&render, baseline_failures, &extra) {
            extra.push((gate_path.clone(), Value::Bool(true)));
            (render, images) = self.images_with(&extra);
            gate = Some(Gate { key: gate_path.clone(), message });
        }
        let now_correct = self.correct(&images, destinations);
        let improves = now_correct.len() > correct.len() && correct.is_subset(&now_correct);
        (improves && render.new_failures(baseline_failures).is_empty()).then_some(Trial {
            keys: extra,
            gate,
            correct: now_correct,
        })
    }

    /// The trace names the key a template finally read, which may sit deep in a defaults block that
    /// a chart merges under its values (`istiod._internal_defaults.global.hub`). Users set the
    /// shorter key (`global.hub`, `istiod.hub`): try the global spelling and each path with one step
    /// dropped, shortest first, and take the first that lands the same images.
    pub(super) fn shortest_equivalent(
        &self,
        extra: Vec<(ValuesPath, Value)>,
        path: &ValuesPath,
        expected: &BTreeSet<SiteId>,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) -> Vec<(ValuesPath, Value)> {
        let steps = path.steps();
        let mut alternatives: Vec<ValuesPath> = Vec::new();
        if let Some(i) = steps.iter().position(|s| matches!(s, Step::Key(k) if k == "global")).filter(|i| *i > 0) {
            alternatives.push(ValuesPath::from_steps(steps[i..].to_vec()));
        }
        for drop in 0..steps.len().saturating_sub(1) {
            let mut shorter = steps.clone();
            shorter.remove(drop);
            alternatives.push(ValuesPath::from_steps(shorter));
        }
        alternatives.sort_by_key(|p| p.steps().len());
        alternatives.dedup();
        for alternative in alternatives {
            if self.effective.get(&alternative).is_some_and(|v| !matches!(v, Value::Null | Value::String(_))) {
                continue;
            }
            let trial: Vec<(ValuesPath, Value)> = extra
                .iter()
                .map(|(k, v)| (if k == path { alternative.clone() } else { k.clone() }, v.clone()))
                .collect();
            let (render, images) = self.images_with(&trial);
            if expected.is_subset(&self.correct(&images, destinations))
                && render.new_failures(baseline_failures).is_empty()
            {
                return trial;
            }
        }
        extra
    }
}

/// `overlay` with `path` set to `value`. Helm replaces lists whole, so a key inside a list (an
/// image in a raw container list) is written by restating the whole list with the one change.
pub(super) fn with_edit(overlay: &Value, effective: &Value, path: &ValuesPath, value: Value) -> Value {
    let mut out = overlay.clone();
    let steps = path.steps();
    match steps.iter().position(|s| matches!(s, Step::Index(_))) {
        Some(i) => {
            let list_path = ValuesPath::from_steps(steps[..i].to_vec());
            let rest = ValuesPath::from_steps(steps[i..].to_vec());
            let mut list = out.get(&list_path).or_else(|| effective.get(&list_path)).cloned().unwrap_or_default();
            list.set(&rest, value);
            out.set(&list_path, list);
        }
        None => out.set(path, value),
    }
    out
}

/// The leaf paths whose values differ between two overlays.
fn changed_paths(a: &Value, b: &Value) -> Vec<ValuesPath> {
    let mut paths = leaf_paths(a);
    paths.extend(leaf_paths(b));
    paths.sort();
    paths.dedup();
    paths.retain(|p| a.get(p) != b.get(p));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_inside_a_list_restates_the_whole_list() {
        let mut effective = Value::Map(BTreeMap::default());
        let list =
            crate::yaml::parse("- name: a\n  image: x/a:1\n  args: [--v]\n- name: b\n  image: x/b:1\n", "t").unwrap();
        effective.set(&ValuesPath::parse("extra"), list);
        let out =
            with_edit(&Value::Null, &effective, &ValuesPath::parse("extra[1].image"), Value::String("m/b:1".into()));
        let got = out.get(&ValuesPath::parse("extra")).unwrap();
        assert_eq!(got.get(&ValuesPath::parse("[0].args[0]")), Some(&Value::String("--v".into())));
        assert_eq!(got.get(&ValuesPath::parse("[1].image")), Some(&Value::String("m/b:1".into())));
        assert_eq!(got.get(&ValuesPath::parse("[1].name")), Some(&Value::String("b".into())));
    }
}
