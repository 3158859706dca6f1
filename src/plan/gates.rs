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
