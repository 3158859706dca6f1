//! Registry settings: a host an operator builds operand images from, held whole by one values key,
//! is given the host the mapping gives that registry.

use std::collections::BTreeSet;

use super::trial::with_edit;
use super::Planner;
use crate::diagnostic::{Code, Diagnostic};
use crate::discover;
use crate::reference::Reference;
use crate::render::TreeRender;
use crate::values::Value;

impl Planner<'_, '_> {
    /// Registry settings (a host an operator builds operand images from) that one values key
    /// holds whole: that key gets the host the mapping gives the setting's registry, kept only if
    /// a render shows the setting with it and changes no image that was right.
    pub(super) fn apply_registry_settings(
        &mut self,
        baseline: &TreeRender,
        baseline_failures: &BTreeSet<String>,
    ) -> Vec<(discover::RegistrySetting, Option<String>)> {
        let mut out = Vec::new();
        for setting in discover::registry_settings(baseline) {
            let (true, [key]) = (setting.movable, setting.keys.as_slice()) else {
                self.warnings.push(
                    Diagnostic::new(
                        Code::RegistrySettingNotAKey,
                        format!(
                            "registry setting {} = {} is not one values key (the template writes it): the \
                             operator builds images from it",
                            setting.location, setting.host
                        ),
                    )
                    .at(&setting.template),
                );
                out.push((setting, None));
                continue;
            };
            let key = key.clone();
            let Some(mapped) = self.registry_host_for(&setting.host) else {
                out.push((setting, None)); // the mapping excludes this registry
                continue;
            };
            let Some(new) = mapped else {
                self.warnings.push(
                    Diagnostic::new(
                        Code::RegistrySettingRenamesPaths,
                        format!(
                            "registry setting {} = {}: the mapping renames image paths below this registry, which \
                             a host setting cannot express",
                            setting.location, setting.host
                        ),
                    )
                    .at(&setting.template),
                );
                out.push((setting, None));
                continue;
            };
            if new == setting.host {
                out.push((setting, None));
                continue;
            }
            let (before_render, before) = self.images_with(&[]);
            let extra = [(key.clone(), Value::String(new.clone()))];
            let (render, after) = self.images_with(&extra);
            let landed = discover::registry_setting_values(&render)
                .iter()
                .any(|s| s.location == setting.location && s.host == new);
            let images_kept = before.iter().all(|(id, i)| after.get(id).is_some_and(|a| a.text == i.text));
            let fails =
                render.new_failures(baseline_failures).len() > before_render.new_failures(baseline_failures).len();
            if landed && images_kept && !fails {
                self.overlay = with_edit(&self.overlay, &self.effective, &key, Value::String(new.clone()));
                out.push((setting, Some(new)));
            } else {
                self.warnings.push(
                    Diagnostic::new(
                        Code::RegistrySettingNotMoved,
                        format!(
                            "registry setting {} = {}: setting {key} to {new} did not move it alone",
                            setting.location, setting.host
                        ),
                    )
                    .at(&setting.template),
                );
                out.push((setting, None));
            }
        }
        out
    }

    /// The host (and path prefix) the mapping gives images of registry `host`, when it keeps
    /// their paths; Some(None) when it renames paths, which one host setting cannot express.
    /// The outer None: the mapping excludes the registry.
    #[allow(clippy::option_option, reason = "three answers: excluded, not expressible as a host, this host")]
    fn registry_host_for(&self, host: &str) -> Option<Option<String>> {
        const PROBE_PATH: &str = "helm-retarget-probe/image";
        let probe = Reference::parse(&format!("{host}/{PROBE_PATH}:1")).ok()?;
        let dest = self.mapping.destination(&probe)?;
        let Some(prefix) = dest.repository.strip_suffix(PROBE_PATH) else { return Some(None) };
        let prefix = prefix.trim_end_matches('/');
        Some(Some(if prefix.is_empty() { dest.registry } else { format!("{}/{prefix}", dest.registry) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{chart, plan_to_mirror};

    #[test]
    fn a_setting_one_key_holds_gets_the_mirror_host_and_a_hard_coded_one_is_reported() {
        let chart = chart(&[
            ("values.yaml", "operator:\n  registry: quay.io\n"),
            (
                "templates/config.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: operator\ndata:\n  \
                 container-registry: {{ .Values.operator.registry }}\n---\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fixed\ndata:\n  container-registry: ghcr.io\n",
            ),
        ]);
        let plan = plan_to_mirror(&chart, &[]);
        let hosts: Vec<(&str, &str, Option<&str>)> = plan
            .registry_settings
            .iter()
            .map(|(s, new)| (s.location.as_str(), s.host.as_str(), new.as_deref()))
            .collect();
        assert_eq!(
            hosts,
            [
                ("ConfigMap/operator data.container-registry", "quay.io", Some("mirror.example")),
                ("ConfigMap/fixed data.container-registry", "ghcr.io", None),
            ]
        );
        let set = plan.overlay.get(&crate::values::ValuesPath::parse("operator.registry"));
        assert_eq!(set, Some(&Value::String("mirror.example".into())));
        assert!(plan.warnings.iter().any(|w| w.code == Code::RegistrySettingNotAKey), "{:?}", plan.warnings);
    }
}
