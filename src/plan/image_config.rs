//! Image configs: a ConfigMap of `base` + `components` documents (later documents win) whose
//! `base` the chart hard-codes is moved by restating its documents in a list the chart renders after.

use std::collections::{BTreeMap, BTreeSet};

use super::trial::with_edit;
use super::{same_image, Planner};
use crate::discover::{RenderedImage, SiteId, PROBE_HOST};
use crate::reference::Reference;
use crate::render::TreeRender;
use crate::site::ObjectRef;
use crate::values::{Value, ValuesPath};

impl Planner<'_, '_> {
    /// Image configs (a ConfigMap of `base` + `components` documents, later documents winning)
    /// whose `base` the chart hard-codes: find a list the chart renders as further documents of that
    /// ConfigMap (probed with a sentinel document), and put there each document again with its
    /// `base` on the destination.
    pub(super) fn apply_image_configs(
        &mut self,
        baseline: &TreeRender,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) {
        let (render, current) = self.images_with(&[]);
        let mut correct = self.correct(&current, destinations);
        let objects: BTreeSet<(String, ObjectRef)> = current
            .iter()
            .filter(|(id, i)| !i.components.is_empty() && !i.is_split() && !correct.contains(*id))
            .filter(|(id, _)| matches!(destinations.get(*id), Some(Some(_))))
            .map(|(id, _)| (id.template.clone(), id.object.clone()))
            .collect();
        if objects.is_empty() {
            return;
        }
        let lists: Vec<ValuesPath> = baseline
            .reads()
            .into_iter()
            .filter(|(p, found)| *found && matches!(self.effective.get(p), Some(Value::List(_))))
            .map(|(p, _)| p)
            .collect();
        let probe_base = format!("{PROBE_HOST}/probe");
        let probe_document: Value = crate::yaml::parse(
            &format!("base: {probe_base}\ncomponents:\n  probe:\n    image: probe\n    tag: v1\n"),
            "probe",
        )
        .unwrap_or_default();
        for (template, object) in objects {
            // Every document in the order the reader takes them, each `base` on its destination:
            // as the list's items render after the chart's own documents, the restated defaults
            // come first and the user's own documents (already in the list) keep the last word.
            let documents = image_config_documents(&render, &template, &object);
            let mut changed = false;
            let moved: Vec<Value> = documents
                .into_iter()
                .map(|mut document| {
                    let base = document.get(&ValuesPath::parse("base")).and_then(Value::as_str).map(str::to_string);
                    let destination = base
                        .as_deref()
                        .and_then(|b| Reference::parse(b).ok())
                        .and_then(|r| self.mapping.destination(&r))
                        .map(|d| d.name());
                    if let (Some(base), Some(destination)) = (base, destination) {
                        if base != destination {
                            changed = true;
                            document.set(&ValuesPath::parse("base"), Value::String(destination));
                        }
                    }
                    document
                })
                .collect();
            if !changed {
                continue;
            }
            for list in &lists {
                let existing = match self.overlay.get(list).or_else(|| self.effective.get(list)) {
                    Some(Value::List(items)) => items.clone(),
                    _ => continue,
                };
                let probe = Value::List(existing.iter().cloned().chain([probe_document.clone()]).collect());
                let (_, probed) = self.images_with(&[(list.clone(), probe)]);
                if !probed.iter().any(|(id, i)| id.object == object && i.text == probe_base) {
                    continue;
                }
                let value = Value::List(moved.clone());
                if let Some(trial) = self.try_edit(list, value, destinations, &correct, baseline_failures) {
                    for (k, v) in trial.keys {
                        self.overlay = with_edit(&self.overlay, &self.effective, &k, v);
                    }
                    self.gates.extend(trial.gate);
                    self.image_config_lists.insert(object.clone(), list.clone());
                    correct = trial.correct;
                    break;
                }
            }
        }
    }
}

/// The `base` + `components` documents of one ConfigMap in a render, in the order its reader
/// takes them: data keys in order, then documents in order.
fn image_config_documents(render: &TreeRender, template: &str, object: &ObjectRef) -> Vec<Value> {
    let Some(text) = render.templates.iter().find(|t| t.name == template).and_then(|t| t.output.as_ref().ok()) else {
        return Vec::new();
    };
    let Ok(documents) = crate::yaml::parse_documents(&text.text.text, template) else { return Vec::new() };
    let field = |doc: &Value, path: &str| doc.get(&ValuesPath::parse(path)).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    for doc in documents {
        let name =
            ObjectRef::new(field(&doc, "kind").unwrap_or_default(), field(&doc, "metadata.name").unwrap_or_default());
        if name != *object {
            continue;
        }
        let Some(Value::Map(data)) = doc.get(&ValuesPath::parse("data")) else { continue };
        for (key, content) in data {
            let Some(content) = content.as_str() else { continue };
            let Ok(embedded) = crate::yaml::parse_documents(content, key) else { continue };
            out.extend(embedded.into_iter().filter(|d| {
                d.get(&ValuesPath::parse("base")).is_some_and(|b| b.as_str().is_some())
                    && matches!(d.get(&ValuesPath::parse("components")), Some(Value::Map(_)))
            }));
        }
    }
    out
}

/// True when the image-config documents of `object` offer every `wanted` reference.
pub(super) fn components_offered(
    images: &BTreeMap<SiteId, RenderedImage>,
    object: &ObjectRef,
    wanted: &[Reference],
) -> bool {
    let offered: Vec<Reference> = images
        .iter()
        .filter(|(id, _)| id.object == *object)
        .flat_map(|(_, i)| i.components.iter().filter_map(|c| Reference::parse(c).ok()))
        .collect();
    wanted.iter().all(|w| offered.iter().any(|o| same_image(o, w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{chart, image, render};

    #[test]
    fn image_config_documents_are_the_base_and_components_ones_of_that_config_map_in_order() {
        let chart = chart(&[(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: images\ndata:\n  \
             a.yaml: |\n    base: quay.io/org/base\n    components:\n      web: {image: web, tag: v1}\n    ---\n    \
             unrelated: true\n  b.yaml: |\n    base: quay.io/org/other\n    components: {}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\ndata:\n  \
             c.yaml: |\n    base: quay.io/org/third\n    components: {}\n",
        )]);
        let render = render(&chart);
        let template = &render.templates.iter().find(|t| t.name.ends_with("cm.yaml")).unwrap().name;
        let bases: Vec<Value> = image_config_documents(&render, template, &ObjectRef::new("ConfigMap", "images"))
            .iter()
            .filter_map(|d| d.get(&ValuesPath::parse("base")).cloned())
            .collect();
        assert_eq!(bases, [Value::String("quay.io/org/base".into()), Value::String("quay.io/org/other".into())]);
    }

    #[test]
    fn components_count_as_offered_only_when_the_config_maps_documents_name_every_one() {
        let mut base = image("quay.io/org/base", Vec::new());
        let images_map = ObjectRef::new("ConfigMap", "images");
        base.id.object = images_map.clone();
        base.components = vec!["mirror.example/org/web:v1".into(), "mirror.example/org/db:v2".into()];
        let images: BTreeMap<SiteId, RenderedImage> = [(base.id.clone(), base)].into();
        let web = Reference::parse("mirror.example/org/web:v1").unwrap();
        let other = Reference::parse("mirror.example/org/cache:v1").unwrap();
        assert!(components_offered(&images, &images_map, std::slice::from_ref(&web)));
        assert!(!components_offered(&images, &images_map, &[web.clone(), other]));
        assert!(!components_offered(&images, &ObjectRef::new("ConfigMap", "elsewhere"), &[web]));
    }
}
