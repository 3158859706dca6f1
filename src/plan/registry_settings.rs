//! Registry settings: a host an operator builds operand images from, held whole by one values key,
//! is given the host the mapping gives that registry.

use std::collections::BTreeSet;

use super::trial::with_edit;
use super::Planner;
use crate::diagnostic::{Code, Diagnostic};
use crate::discover;
use crate::reference::Reference;
use crate::render::TreeRender;
use crate::values::{Value, ValuesPath};

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
            let key = match (setting.movable, setting.keys.as_slice()) {
                (true, [key]) => ValuesPath::parse(key),
                _ => {
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
                }
            };
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
            let landed =
                discover::registry_settings(&render).iter().any(|s| s.location == setting.location && s.host == new);
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
    fn registry_host_for(&self, host: &str) -> Option<Option<String>> {
        const PROBE_PATH: &str = "helm-retarget-probe/image";
        let probe = Reference::parse(&format!("{host}/{PROBE_PATH}:1")).ok()?;
        let dest = self.mapping.destination(&probe)?;
        let Some(prefix) = dest.repository.strip_suffix(PROBE_PATH) else { return Some(None) };
        let prefix = prefix.trim_end_matches('/');
        Some(Some(if prefix.is_empty() { dest.registry } else { format!("{}/{prefix}", dest.registry) }))
    }
}
