//! Registry knobs (`global.imageRegistry`, `hub`...): probed with a sentinel host to learn what each
//! does to the images it reaches, then set to the one value that lands all of them.

use std::collections::{BTreeMap, BTreeSet};

use super::trial::with_edit;
use super::{Gate, Planner};
use crate::discover::{self, RenderedImage, SiteId, PROBE_HOST};
use crate::reference::Reference;
use crate::render::TreeRender;
use crate::values::{Value, ValuesPath};

impl Planner<'_, '_> {
    /// Tries each registry-like key the chart reads, global ones first: probes it with a sentinel
    /// host to learn what it does, computes the one value that would put every image it moves on
    /// its destination, and keeps it if a render confirms more images land and none leave.
    pub(super) fn apply_knobs(
        &mut self,
        baseline: &TreeRender,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) {
        // Keys the templates read, and keys the traces show carrying text (read inside a `merge`).
        let traced = discover::images(baseline).into_iter().flat_map(|i| discover::keys(&i.parts));
        let mut candidates: Vec<ValuesPath> = baseline
            .reads()
            .into_keys()
            .chain(traced)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|p| is_registry_knob(p) && !self.banned.contains(p))
            .filter(|p| matches!(baseline.effective.get(p), None | Some(Value::Null | Value::String(_))))
            .collect();
        candidates.sort_by_key(|p| (!p.is_global(), p.steps().len(), p.to_string()));

        let (_, mut current) = self.images_with(&[]);
        let mut correct = self.correct(&current, destinations);
        for knob in candidates {
            // A knob can only help an image still off target, in a chart that reads or prints it.
            let (render, _) = self.images_with(&[]);
            let pending: BTreeSet<usize> = current
                .iter()
                .filter(|(id, _)| !correct.contains(*id) && matches!(destinations.get(*id), Some(Some(_))))
                .map(|(_, i)| i.chart)
                .collect();
            if pending.is_empty() {
                break;
            }
            if render.charts_touching(std::slice::from_ref(&knob)).is_disjoint(&pending) {
                continue;
            }
            // A chart with a render gate refuses the probe host too: open the gate for the probe.
            let mut probe = vec![(knob.clone(), Value::String(PROBE_HOST.to_string()))];
            let (probe_render, mut probed) = self.images_with(&probe);
            let mut opened = None;
            if let Some((gate, message)) = self.find_gate(&probe_render, baseline_failures, &probe) {
                probe.push((gate.clone(), Value::Bool(true)));
                (_, probed) = self.images_with(&probe);
                opened = Some(Gate { key: gate, message });
            }
            let Some(value) = knob_value(&current, &probed, destinations, &correct) else { continue };
            let value = Value::String(value);
            let Some(trial) = self.try_edit_opened(&knob, value, opened, destinations, &correct, baseline_failures)
            else {
                continue;
            };
            let keys = self.shortest_equivalent(trial.keys, &knob, &trial.correct, destinations, baseline_failures);
            for (k, v) in keys {
                self.overlay = with_edit(&self.overlay, &self.effective, &k, v);
            }
            self.gates.extend(trial.gate);
            current = self.images_with(&[]).1;
            correct = self.correct(&current, destinations);
        }
    }
}

/// Keys that look like registry knobs by the names charts give them: `registry`, `imageRegistry`,
/// `hub`, `*Registry`. Which of them really moves an image is learnt by probing, not assumed.
pub(super) fn is_registry_knob(path: &ValuesPath) -> bool {
    path.leaf().is_some_and(|leaf| {
        let l = leaf.to_ascii_lowercase();
        l.contains("registry") || l == "hub"
    })
}

/// From a probe render (knob = sentinel host): the single value of the knob that puts every image it
/// moves on its destination, or None if it moves an image it must not (excluded, already correct
/// elsewhere) or would need different values for different images.
fn knob_value(
    current: &BTreeMap<SiteId, RenderedImage>,
    probed: &BTreeMap<SiteId, RenderedImage>,
    destinations: &BTreeMap<SiteId, Option<Reference>>,
    correct: &BTreeSet<SiteId>,
) -> Option<String> {
    let mut value: Option<String> = None;
    let mut helps = false;
    for (id, before) in current {
        let Some(after) = probed.get(id) else { continue };
        if after.composed() == before.composed() {
            continue;
        }
        let dest = match destinations.get(id) {
            Some(Some(d)) => d.to_string(),
            _ => return None,
        };
        let needed = after.composed().strip_prefix(PROBE_HOST).and_then(|suffix| dest.strip_suffix(suffix));
        let Some(needed) = needed.filter(|n| !n.is_empty()).map(str::to_string) else {
            // The knob breaks this image (it prepends to a full reference: a double host). That is
            // acceptable only for an image not yet right, which a direct edit may still mend; the
            // final check bans the knob if none does.
            if correct.contains(id) {
                return None;
            }
            continue;
        };
        if value.as_ref().is_some_and(|v| *v != needed) {
            return None;
        }
        helps |= !correct.contains(id);
        value = Some(needed);
    }
    value.filter(|_| helps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::image;

    #[test]
    fn a_knob_value_is_what_makes_every_image_it_moves_land_on_its_destination() {
        let site = |field: &str| SiteId {
            template: "t".into(),
            object: crate::site::ObjectRef::new("Pod", "p"),
            field: field.into(),
        };
        let at = |field: &str, text: &str| {
            let mut i = image(text, Vec::new());
            i.id = site(field);
            (site(field), i)
        };
        let current: BTreeMap<_, _> = [at("a", "docker.io/istio/pilot:1"), at("b", "docker.io/istio/proxy:1")].into();
        let probed: BTreeMap<_, _> =
            [at("a", &format!("{PROBE_HOST}/pilot:1")), at("b", &format!("{PROBE_HOST}/proxy:1"))].into();
        let destinations: BTreeMap<_, _> = [
            (site("a"), Some(Reference::parse("m.example/istio/pilot:1").unwrap())),
            (site("b"), Some(Reference::parse("m.example/istio/proxy:1").unwrap())),
        ]
        .into();
        let value = knob_value(&current, &probed, &destinations, &BTreeSet::new());
        assert_eq!(value.as_deref(), Some("m.example/istio"));
        // A knob that would move an excluded image is refused.
        let mut excluded = destinations.clone();
        excluded.insert(site("b"), None);
        assert_eq!(knob_value(&current, &probed, &excluded, &BTreeSet::new()), None);
    }

    #[test]
    fn registry_knobs_are_recognised_by_their_leaf() {
        assert!(is_registry_knob(&ValuesPath::parse("global.imageRegistry")));
        assert!(is_registry_knob(&ValuesPath::parse("cni.repair.hub")));
        assert!(!is_registry_knob(&ValuesPath::parse("image.repository")));
    }
}
