//! Pull secrets for the mirror: each pull-secret key the templates read is tried in both shapes
//! charts take; every pod left without them is named in a warning.

use std::collections::BTreeSet;

use super::Planner;
use crate::diagnostic::{Code, Diagnostic};
use crate::render::TreeRender;
use crate::site::ObjectRef;
use crate::values::{Value, ValuesPath};

impl Planner<'_, '_> {
    /// Sets pull secrets wherever the chart reads them: each pull-secret key the templates read is
    /// tried as a list of names and as a list of `{name: ...}` maps; kept when more pods get them.
    pub(super) fn apply_pull_secrets(
        &mut self,
        baseline: &TreeRender,
        secrets: &[String],
        baseline_failures: &BTreeSet<String>,
    ) {
        let mut candidates: Vec<ValuesPath> = baseline.reads().into_keys().filter(is_pull_secret_knob).collect();
        candidates.sort_by_key(|p| (!p.is_global(), p.steps().len(), p.to_string()));
        let as_names = Value::List(secrets.iter().map(|s| Value::String(s.clone())).collect());
        let as_maps = Value::List(
            secrets
                .iter()
                .map(|s| Value::Map([("name".to_string(), Value::String(s.clone()))].into_iter().collect()))
                .collect(),
        );
        let (render, _) = self.images_with(&[]);
        let mut served = pods_with_secrets(&render, secrets);
        for key in candidates {
            for value in [&as_maps, &as_names] {
                let extra = [(key.clone(), value.clone())];
                let (render, _) = self.images_with(&extra);
                let now = pods_with_secrets(&render, secrets);
                if now.len() > served.len()
                    && served.is_subset(&now)
                    && render.new_failures(baseline_failures).is_empty()
                {
                    self.overlay.set(&key, value.clone());
                    served = now;
                    break;
                }
            }
        }
        let (render, _) = self.images_with(&[]);
        let all = all_pods(&render);
        let missing: Vec<String> = all.difference(&served).map(ToString::to_string).collect();
        if !missing.is_empty() {
            // The pull-secrets e2e test reads this list back: keep the `for: a, b` form.
            self.warnings.push(Diagnostic::new(
                Code::PullSecretsUnplaced,
                format!("no values key sets pull secrets for: {}", missing.join(", ")),
            ));
        }
    }
}

pub(super) fn is_pull_secret_knob(path: &ValuesPath) -> bool {
    path.leaf().is_some_and(|leaf| leaf.to_ascii_lowercase().ends_with("pullsecrets"))
}

/// Every rendered object with a pod spec.
fn all_pods(render: &TreeRender) -> BTreeSet<ObjectRef> {
    pod_specs(render).into_iter().map(|(name, _)| name).collect()
}

fn pods_with_secrets(render: &TreeRender, secrets: &[String]) -> BTreeSet<ObjectRef> {
    pod_specs(render)
        .into_iter()
        .filter(|(_, spec)| {
            let names: Vec<&str> = match spec.as_map().and_then(|m| m.get("imagePullSecrets")) {
                Some(Value::List(items)) => items
                    .iter()
                    .filter_map(|i| i.as_map().and_then(|m| m.get("name")).and_then(Value::as_str))
                    .collect(),
                _ => Vec::new(),
            };
            secrets.iter().all(|s| names.contains(&s.as_str()))
        })
        .map(|(name, _)| name)
        .collect()
}

/// (object, pod spec) for every pod-bearing object of a render.
fn pod_specs(render: &TreeRender) -> Vec<(ObjectRef, Value)> {
    let mut out = Vec::new();
    for t in &render.templates {
        let Ok(o) = &t.output else { continue };
        let Ok(docs) = crate::yaml::parse_documents(&o.text.text, &t.name) else { continue };
        for doc in docs {
            let kind = doc.get(&ValuesPath::parse("kind")).and_then(Value::as_str).unwrap_or("").to_string();
            let name = doc.get(&ValuesPath::parse("metadata.name")).and_then(Value::as_str).unwrap_or("").to_string();
            let Some(spec_path) = crate::kube::pod_spec_path(&kind) else { continue };
            let spec_path = spec_path.iter().fold(ValuesPath::root(), |path, key| path.child(key));
            if let Some(spec) = doc.get(&spec_path) {
                out.push((ObjectRef::new(kind, name), spec.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{chart, plan_to_mirror, render};

    #[test]
    fn pull_secret_keys_are_recognised_by_their_leaf() {
        assert!(is_pull_secret_knob(&ValuesPath::parse("global.imagePullSecrets")));
        assert!(is_pull_secret_knob(&ValuesPath::parse("defaults.image.pullSecrets")));
    }

    const TWO_PODS: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n\
        {{- with .Values.global.imagePullSecrets }}\n  imagePullSecrets: {{ toYaml . | nindent 4 }}\n{{- end }}\n  \
        containers:\n    - name: app\n      image: {{ .Values.image }}\n---\n\
        apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: b\nspec:\n  jobTemplate:\n    spec:\n      template:\n        \
        spec:\n          imagePullSecrets: [{name: other}]\n          containers:\n            - name: app\n              \
        image: docker.io/org/b:1\n";

    #[test]
    fn pods_are_found_at_each_kinds_pod_spec_path_with_their_secrets() {
        let chart = chart(&[
            ("values.yaml", "global:\n  imagePullSecrets: [{name: creds}]\nimage: docker.io/org/a:1\n"),
            ("templates/pods.yaml", TWO_PODS),
        ]);
        let render = render(&chart);
        let (pod, cron_job) = (ObjectRef::new("Pod", "a"), ObjectRef::new("CronJob", "b"));
        assert_eq!(all_pods(&render), [cron_job.clone(), pod.clone()].into());
        assert_eq!(pods_with_secrets(&render, &["creds".into()]), [pod].into());
        assert_eq!(pods_with_secrets(&render, &["other".into()]), [cron_job].into());
    }

    #[test]
    fn the_key_the_templates_read_gets_the_secrets_and_a_pod_left_without_is_named() {
        let chart = chart(&[
            ("values.yaml", "global:\n  imagePullSecrets: []\nimage: docker.io/org/a:1\n"),
            ("templates/pods.yaml", TWO_PODS),
        ]);
        let plan = plan_to_mirror(&chart, &["mirror-creds".into()]);
        let set = plan.overlay.get(&ValuesPath::parse("global.imagePullSecrets"));
        assert_eq!(set, Some(&crate::yaml::parse("- name: mirror-creds\n", "t").unwrap()));
        let unplaced: Vec<&str> =
            plan.warnings.iter().filter(|w| w.code == Code::PullSecretsUnplaced).map(|w| w.message.as_str()).collect();
        assert_eq!(unplaced, ["no values key sets pull secrets for: CronJob/b"]);
    }
}
