//! Images the template writes itself while reading a values key that is empty by default
//! (`{{ .Values.image | default "docker.io/x/y:1" }}`, `with ... else`, `coalesce`): the key decides
//! the image, it is just unset. Each such key the image's template read is probed with the image's
//! destination and kept only when a render shows it land (and nothing else leave or break).

use std::collections::{BTreeMap, BTreeSet};

use super::trial::with_edit;
use super::{Planner, Trial};
use crate::discover::SiteId;
use crate::reference::Reference;
use crate::values::{Value, ValuesPath};

impl Planner<'_, '_> {
    /// For each image still off target (its bytes all the template's, or a registry the template
    /// writes around a values part: `default (printf "ghcr.io/x:%s" .Values.version) .Values.image`): the keys its
    /// template read that are empty, null, false or absent, each set to the whole destination (and, for a
    /// key read beside a sibling `tag`, to the destination's name only). Keys tried for an image
    /// that stays are remembered for its message.
    pub(super) fn apply_empty_keys(
        &mut self,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) {
        let (render, current) = self.images_with(&[]);
        let mut correct = self.correct(&current, destinations);
        let pending: Vec<(SiteId, Reference, Vec<ValuesPath>)> = current
            .iter()
            .filter(|(id, _)| !correct.contains(*id))
            .filter_map(|(id, _)| {
                let dest = destinations.get(id).cloned().flatten()?;
                let template = render.templates.iter().find(|t| t.name == id.template)?;
                let reads = &template.output.as_ref().ok()?.reads;
                let empty: Vec<ValuesPath> = reads
                    .iter()
                    .map(|r| r.path.clone())
                    .filter(|p| !self.banned.contains(p) && is_empty(render.effective.get(p)))
                    .collect();
                (!empty.is_empty()).then(|| (id.clone(), dest, empty))
            })
            .collect();
        for (id, dest, keys) in pending {
            if correct.contains(&id) {
                continue;
            }
            let read: BTreeSet<&ValuesPath> = keys.iter().collect();
            let mut landed = false;
            for key in &keys {
                let mut values = vec![dest.to_string()];
                let beside_tag = key.parent().is_some_and(|p| read.contains(&p.child("tag")));
                if beside_tag && key.leaf().is_some_and(|l| l != "tag") {
                    values.push(dest.name());
                }
                for value in values {
                    let Some(Trial { keys: extra, gate, correct: now_correct }) =
                        self.try_edit(key, Value::String(value), destinations, &correct, baseline_failures)
                    else {
                        continue;
                    };
                    if !now_correct.contains(&id) {
                        continue;
                    }
                    for (k, v) in extra {
                        self.overlay = with_edit(&self.overlay, &self.effective, &k, v);
                    }
                    self.gates.extend(gate);
                    correct = now_correct;
                    landed = true;
                    break;
                }
                if landed {
                    break;
                }
            }
            if !landed {
                self.tried.insert(id, keys.iter().map(ToString::to_string).collect());
            }
        }
    }
}

/// Empty by default, as a template's `default`, `with` or `if` sees a scalar: absent, null, the
/// empty string or `false`.
fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null | Value::Bool(false)) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scalars_a_template_takes_for_unset_are_empty() {
        assert!(is_empty(None));
        assert!(is_empty(Some(&Value::Null)));
        assert!(is_empty(Some(&Value::String(String::new()))));
        assert!(is_empty(Some(&Value::Bool(false))));
        assert!(!is_empty(Some(&Value::String("docker.io/x/y:1".into()))));
        assert!(!is_empty(Some(&Value::Bool(true))));
        assert!(!is_empty(Some(&Value::Map(std::collections::BTreeMap::default()))));
    }
}
