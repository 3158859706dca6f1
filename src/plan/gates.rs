//! Render gates: a key a chart's helper demands (`allowInsecureImages: true`) before it renders
//! changed images at all, found by setting each key the failing helper read.

use std::collections::BTreeSet;

use super::Planner;
use crate::render::TreeRender;
use crate::values::{Value, ValuesPath};

impl Planner<'_, '_> {
    /// A render gate: a template that fails with our changes but not without them. Looks for a
    /// key the failing helper read and found unset or false, whose setting to `true` lets it render.
    pub(super) fn find_gate(
        &self,
        render: &TreeRender,
        baseline_failures: &BTreeSet<String>,
        extra: &[(ValuesPath, Value)],
    ) -> Option<(ValuesPath, String)> {
        let (message, keys) = render.gate_candidates(baseline_failures)?;
        keys.into_iter().find_map(|key| {
            let mut trial = extra.to_vec();
            trial.push((key.clone(), Value::Bool(true)));
            let (r, _) = self.images_with(&trial);
            r.new_failures(baseline_failures).is_empty().then(|| (key, message.clone()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{chart, plan_to_mirror};
    use crate::plan::Outcome;

    #[test]
    fn a_key_the_failing_helper_found_false_is_set_to_true_and_named_as_a_gate() {
        let chart = chart(&[
            ("values.yaml", "image: docker.io/org/app:1\nallowMirror: false\n"),
            (
                "templates/pod.yaml",
                "{{- if and (not (hasPrefix \"docker.io/\" .Values.image)) (not .Values.allowMirror) }}\
                 {{ fail \"images come from docker.io unless allowMirror is set\" }}{{ end }}\n\
                 apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: app\n      \
                 image: {{ .Values.image }}\n",
            ),
        ]);
        let plan = plan_to_mirror(&chart, &[]);
        let keys: Vec<String> = plan.gates.iter().map(|g| g.key.to_string()).collect();
        assert_eq!(keys, ["allowMirror"]);
        assert!(plan.gates[0].message.contains("unless allowMirror is set"), "{:?}", plan.gates);
        assert_eq!(plan.overlay.get(&ValuesPath::parse("allowMirror")), Some(&Value::Bool(true)));
        assert!(matches!(plan.moves[0].outcome, Outcome::Moved { .. }), "{:?}", plan.moves);
    }
}
