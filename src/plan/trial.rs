//! Renders under the overlay so far and trial edits on top of it: an edit is kept only when a render
//! shows more images on their destinations, none leaving, and no new template failing.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::{components_offered, leaf_paths, same_image, Gate, Planner, Trial};
use crate::discover::{self, RenderedImage, SiteId};
use crate::reference::Reference;
use crate::render::TreeRender;
use crate::values::{Step, Value, ValuesPath};

/// How many renders the planner keeps: the current one, a probe and a trial on top of it, and one
/// more (a shorter spelling of a trial's key).
const KEPT_RENDERS: usize = 4;

/// A render the planner made, with the overlay it was made under.
pub(super) struct CachedRender {
    overlay: Value,
    render: Rc<TreeRender>,
    /// Every chart rendered from these values, none carried over from an earlier render: this can
    /// stand as the overlay's confirming render.
    full: bool,
}

impl CachedRender {
    pub(super) fn full(overlay: Value, render: &Rc<TreeRender>) -> Self {
        CachedRender { overlay, render: render.clone(), full: true }
    }
}

impl Planner<'_, '_> {
    /// The render under the overlay, kept or made; `full` asks for one with every chart rendered
    /// from its values (the confirming render), else charts untouched by the keys that changed
    /// since the last render are carried over from it.
    fn render_under(&self, overlay: &Value, full: bool) -> Rc<TreeRender> {
        let mut kept = self.renders.borrow_mut();
        if let Some(at) = kept.iter().position(|c| c.overlay == *overlay && (c.full || !full)) {
            let hit = kept.remove(at);
            let render = hit.render.clone();
            kept.push(hit);
            return render;
        }
        let (render, is_full) = match kept.last() {
            Some(last) if !full => self.rerender(&last.render, overlay, &changed_paths(&last.overlay, overlay)),
            _ => (self.renderer.render(&crate::values::coalesce(&self.base, overlay)), true),
        };
        let render = Rc::new(render);
        if kept.len() == KEPT_RENDERS {
            kept.remove(0);
        }
        kept.push(CachedRender { overlay: overlay.clone(), render: render.clone(), full: is_full });
        render
    }

    /// The overlay's confirming render: every chart rendered under the overlay so far.
    pub(super) fn full_render(&self) -> Rc<TreeRender> {
        self.render_under(&self.overlay, true)
    }

    /// `previous` brought up to date with `overlay`, where only `keys` differ: a template that
    /// neither read nor printed anything on those keys' branches renders the same, so only the
    /// charts that did are rendered again. True when that is every chart.
    fn rerender(&self, previous: &TreeRender, overlay: &Value, keys: &[ValuesPath]) -> (TreeRender, bool) {
        let all = self.renderer.charts.len();
        // A key nothing was seen to read may still be consumed whole (a `merge` of `.Values`, as
        // Istio's profiles do): then nothing can be ruled out.
        let mut charts = previous.charts_touching(keys);
        if charts.is_empty() {
            charts = (0..all).collect();
        }
        let values = crate::values::coalesce(&self.base, overlay);
        // Library charts render nothing: every other chart rendered again is a full render.
        let full = (0..all).all(|i| charts.contains(&i) || self.renderer.charts[i].chart.is_library());
        (previous.with_charts_from(self.renderer.render_charts(&values, Some(&charts)), &charts), full)
    }

    /// Images of a render under the current overlay plus `extra`.
    pub(super) fn images_with(
        &self,
        extra: &[(ValuesPath, Value)],
    ) -> (Rc<TreeRender>, BTreeMap<SiteId, RenderedImage>) {
        let mut overlay = self.overlay.clone();
        for (k, v) in extra {
            overlay = with_edit(&overlay, &self.effective, k, v.clone());
        }
        let render = self.render_under(&overlay, false);
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
        self.try_edit_opened(path, value, None, destinations, correct, baseline_failures)
    }

    /// `try_edit` with a render gate a probe of the same key already had to open (`opened`):
    /// set from the first render, so the trial is not first rendered shut.
    pub(super) fn try_edit_opened(
        &self,
        path: &ValuesPath,
        value: Value,
        opened: Option<Gate>,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        correct: &BTreeSet<SiteId>,
        baseline_failures: &BTreeSet<String>,
    ) -> Option<Trial> {
        let mut extra = vec![(path.clone(), value)];
        extra.extend(opened.iter().map(|g| (g.key.clone(), Value::Bool(true))));
        let (mut render, mut images) = self.images_with(&extra);
        let mut gate = opened;
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
        // Dropping a leading `global` gives another key (the root chart's own), not a shorter
        // spelling of this one: Helm hands `global.*` to every subchart.
        let first = usize::from(path.is_global());
        for drop in first..steps.len().saturating_sub(1) {
            let mut shorter = steps.clone();
            shorter.remove(drop);
            alternatives.push(ValuesPath::from_steps(shorter));
        }
        alternatives.sort_by_key(|p| p.steps().len());
        alternatives.dedup();
        for alternative in alternatives {
            if self.effective.get(&alternative).is_some_and(|v| !matches!(v, Value::Null | Value::String(_)))
                || !fits(&self.effective, &alternative)
            {
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

/// True when setting `path` would replace no value of another shape on the way and make no list
/// out of nothing: each step finds a map for a key or a list for an index, or nothing yet with no
/// index further on. `configs.jetstream[0].natsImage` (a map indexed), `versions.natsImage` (a
/// list keyed) or `jetstream.versions[0].natsImage` (no such list: Helm would get one of nulls and
/// one image) would rewrite the chart's values, so none is a shorter spelling of a key, and none
/// is worth a render.
fn fits(effective: &Value, path: &ValuesPath) -> bool {
    let steps = path.steps();
    let mut node = effective;
    for (at, step) in steps.iter().enumerate() {
        let next = match (node, step) {
            (Value::Map(m), Step::Key(k)) => m.get(k),
            (Value::List(l), Step::Index(i)) => l.get(*i),
            (Value::Null, _) => None,
            _ => return false,
        };
        match next {
            Some(next) => node = next,
            None => return !steps[at..].iter().any(|s| matches!(s, Step::Index(_))),
        }
    }
    true
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
    fn a_shorter_spelling_fits_the_values_without_reshaping_them() {
        let effective = crate::yaml::parse(
            "configs:\n  jetstream:\n    versions:\n    - {natsImage: n:1}\nglobal: {hub: null}\nname: x\n",
            "t",
        )
        .unwrap();
        let fits = |p: &str| fits(&effective, &ValuesPath::parse(p));
        assert!(fits("configs.jetstream.versions[0].natsImage"));
        assert!(fits("global.hub"));
        assert!(fits("hub"), "a key nothing holds yet");
        assert!(fits("global.image.registry"), "below a null");
        assert!(!fits("configs.jetstream[0].natsImage"), "a map indexed");
        assert!(!fits("configs.jetstream.versions.natsImage"), "a list keyed");
        assert!(!fits("jetstream.versions[0].natsImage"), "a list made of nothing");
        assert!(!fits("configs.jetstream.versions[3].natsImage"), "past the list's end");
        assert!(!fits("name.registry"), "a string replaced by a map");
    }

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
