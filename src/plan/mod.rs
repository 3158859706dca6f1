//! Decides, per image site, which values keys move it to its destination: first the knobs a chart
//! reads (`global.imageRegistry`, `hub`, `imageRegistry`...), probed by rendering to learn whether
//! they replace the host, prepend to it, or are ignored; then a direct edit of the key the trace
//! shows carrying the host. Every choice is checked by rendering again. This file holds the plan's
//! types and the order of the strategies; each strategy lives in its own file.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::chart::Chart;
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::{self, RenderedImage, SiteId};
use crate::mapping::RegistryMapping;
use crate::reference::Reference;
use crate::render::{RenderOptions, TreeRender, TreeRenderer};
use crate::site::ObjectRef;
use crate::values::{Value, ValuesPath};

mod comments;
mod direct_edit;
mod empty_keys;
mod gates;
mod image_config;
mod knobs;
mod operands;
mod pull_secrets;
mod registry_settings;
mod trial;

pub use operands::{rendered_field, with_operands, Operand};

use comments::comments;
use image_config::components_offered;
use knobs::is_registry_knob;

/// What happens to one image site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// The overlay moves it; `keys` are the overlay keys its rendered reference now comes from.
    Moved { keys: Vec<ValuesPath> },
    /// It already renders on its destination.
    AlreadyThere,
    /// The mapping excludes its source.
    Excluded,
    /// No values key can move it (hard-coded or computed): the post-renderer must.
    PostRenderOnly { reason: String },
}

/// One image site with its source and destination.
#[derive(Debug, Clone, Serialize)]
pub struct ImageMove {
    pub chart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<String>,
    #[serde(flatten)]
    pub site: SiteId,
    /// The values keys that decide it with the chart's defaults.
    pub keys: Vec<ValuesPath>,
    #[serde(serialize_with = "as_text")]
    pub source: Reference,
    /// None when excluded.
    #[serde(serialize_with = "as_optional_text")]
    pub destination: Option<Reference>,
    /// The reference the overlay renders (equal to `destination` when moved).
    pub rendered: String,
    pub outcome: Outcome,
}

/// A reference in JSON is its text, as people read it (`docker.io/library/nginx:1.25`).
fn as_text<S: serde::Serializer>(reference: &Reference, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(reference)
}

#[allow(clippy::ref_option, reason = "serde's serialize_with hands over the field itself")]
fn as_optional_text<S: serde::Serializer>(reference: &Option<Reference>, serializer: S) -> Result<S::Ok, S::Error> {
    match reference {
        Some(reference) => serializer.collect_str(reference),
        None => serializer.serialize_none(),
    }
}

/// A values key set only so the chart renders at all.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub key: ValuesPath,
    /// The chart's own message when the key is not set.
    pub message: String,
}

/// Everything needed to write the overlay and explain it.
#[derive(Debug, Clone)]
pub struct RetargetPlan {
    pub chart: String,
    /// The overlay values: only the keys that must change.
    pub overlay: Value,
    /// Comment lines to print above each overlay key.
    pub comments: BTreeMap<ValuesPath, Vec<String>>,
    pub moves: Vec<ImageMove>,
    pub gates: Vec<Gate>,
    /// Required values we filled with placeholders to render (the user supplies them at install).
    pub placeholders: Vec<String>,
    pub warnings: Vec<Diagnostic>,
    /// Images spelled in values that these values do not render (a mode that is off).
    pub idle_images: Vec<discover::IdleImage>,
    /// Templates that did not render (or not as YAML): the overlay may miss their images.
    pub unrendered: Vec<discover::Unrendered>,
    /// Images named only in ConfigMap text.
    pub text_images: Vec<discover::TextImage>,
    /// Registry settings an operator builds images from, with the host the overlay gives each
    /// (None: not moved; the reason is in `warnings`).
    pub registry_settings: Vec<(discover::RegistrySetting, Option<String>)>,
    pub effective_before: Value,
    pub effective_after: Value,
}

/// An edit that a render confirmed: the keys to add (with a gate it opened) and the sites then right.
struct Trial {
    keys: Vec<(ValuesPath, Value)>,
    gate: Option<Gate>,
    correct: BTreeSet<SiteId>,
}

struct Planner<'a, 'c> {
    renderer: &'a TreeRenderer<'c>,
    mapping: &'a RegistryMapping,
    /// User values plus placeholders: what every render starts from.
    base: Value,
    overlay: Value,
    /// The values every template sees without an overlay (lists are restated from here).
    effective: Value,
    gates: Vec<Gate>,
    warnings: Vec<Diagnostic>,
    /// Knobs a previous attempt showed to leave images on the mirror under a wrong name.
    banned: BTreeSet<ValuesPath>,
    /// For each image-config `base` site: the destinations of the images it composes. Such a site
    /// is moved once later documents of its ConfigMap offer all of them (later documents win).
    components: BTreeMap<SiteId, Vec<Reference>>,
    /// ConfigMap -> the values list that now carries its moved image-config documents.
    image_config_lists: BTreeMap<ObjectRef, ValuesPath>,
    /// Images written by the template whose template read empty keys that did not move them: the
    /// keys tried, for the table's reason.
    tried: BTreeMap<SiteId, Vec<String>>,
    /// The last few renders, each with the overlay it was made under, most recent last (shared, not
    /// copied: a render holds two whole values trees). A probe that a trial then keeps is not
    /// rendered again, nor is the overlay's confirming render when the last was a full one.
    renders: std::cell::RefCell<Vec<trial::CachedRender>>,
}

/// Plans the overlay for one chart tree, every render (the probes too) for the cluster `options`
/// describes. Two different images that the mapping would put on one destination are an error
/// naming both (the overlay would silently swap one for the other).
#[allow(
    clippy::too_many_lines,
    reason = "the strategies run in one order that reads top to bottom; each step is a call"
)]
pub fn plan(
    root: &Chart,
    user: &Value,
    mapping: &RegistryMapping,
    pull_secrets: &[String],
    options: &RenderOptions,
) -> crate::error::Result<RetargetPlan> {
    let renderer = discover::renderer(root, options);
    let (base, placeholders, baseline_render) = renderer.with_placeholders(user);
    // The planner's first render is this one: the overlay is empty, the values are `base`.
    let baseline_render = std::rc::Rc::new(baseline_render);
    let effective = baseline_render.covering.clone();
    let baseline = discover::images(&baseline_render);
    let baseline_failures = failing_templates(&baseline_render);
    let destinations: BTreeMap<SiteId, Option<Reference>> =
        baseline.iter().map(|i| (i.id.clone(), mapping.destination(&i.reference))).collect();
    mapping.check_collisions(baseline.iter().map(|i| &i.reference)).map_err(|e| e.at(root.display_path()))?;
    let components: BTreeMap<SiteId, Vec<Reference>> = baseline
        .iter()
        .filter(|i| !i.components.is_empty() && !i.is_split())
        .map(|i| {
            let wanted = i
                .components
                .iter()
                .filter_map(|c| Reference::parse(c).ok())
                .map(|c| mapping.destination(&c).unwrap_or(c))
                .collect();
            (i.id.clone(), wanted)
        })
        .collect();
    let fresh = |banned: BTreeSet<ValuesPath>| Planner {
        renderer: &renderer,
        mapping,
        base: base.clone(),
        effective: effective.clone(),
        overlay: Value::Map(BTreeMap::default()),
        gates: Vec::new(),
        warnings: Vec::new(),
        banned,
        components: components.clone(),
        image_config_lists: BTreeMap::new(),
        tried: BTreeMap::new(),
        renders: std::cell::RefCell::new(vec![trial::CachedRender::full(
            Value::Map(BTreeMap::default()),
            &baseline_render,
        )]),
    };
    let mut planner = fresh(BTreeSet::new());

    // A knob that breaks some images (a double host) is tried only if direct edits can mend them;
    // when they cannot, plan again without it.
    let (final_render, finals) = loop {
        planner.apply_knobs(&baseline_render, &destinations, &baseline_failures);
        planner.apply_direct_edits(&destinations, &baseline_failures);
        planner.apply_empty_keys(&destinations, &baseline_failures);
        planner.apply_image_configs(&baseline_render, &destinations, &baseline_failures);
        let final_render = planner.full_render();
        let finals: BTreeMap<SiteId, RenderedImage> =
            discover::images(&final_render).into_iter().map(|i| (i.id.clone(), i)).collect();
        let overlay_keys = leaf_paths(&planner.overlay);
        let mut culprits = BTreeSet::new();
        for (id, image) in &finals {
            let Some(Some(dest)) = destinations.get(id) else { continue };
            if mapping.is_destination(&image.reference) && !same_image(&image.reference, dest) {
                culprits.extend(
                    overlay_keys_behind(&discover::keys(&image.parts), &overlay_keys)
                        .into_iter()
                        .filter(is_registry_knob),
                );
            }
        }
        let mut banned = planner.banned.clone();
        if culprits.is_empty() || !culprits.iter().any(|c| banned.insert(c.clone())) {
            break (final_render, finals);
        }
        planner = fresh(banned);
    };
    let registry_settings = planner.apply_registry_settings(&baseline_render, &baseline_failures);
    let (final_render, finals) = if registry_settings.iter().any(|(_, new)| new.is_some()) {
        let render = planner.full_render();
        let images = discover::images(&render).into_iter().map(|i| (i.id.clone(), i)).collect();
        (render, images)
    } else {
        (final_render, finals)
    };
    let (final_render, finals) = if pull_secrets.is_empty() {
        (final_render, finals)
    } else {
        planner.apply_pull_secrets(&baseline_render, pull_secrets, &baseline_failures);
        let render = planner.full_render();
        let images = discover::images(&render).into_iter().map(|i| (i.id.clone(), i)).collect();
        (render, images)
    };
    for (template, error) in final_render.new_failures(&baseline_failures) {
        planner.warnings.push(
            Diagnostic::new(Code::OverlayBreaksTemplate, format!("fails to render with the overlay ({error})"))
                .at(template.to_string()),
        );
    }
    let overlay_keys = leaf_paths(&planner.overlay);

    let mut moves = Vec::new();
    for image in &baseline {
        let entry = &renderer.charts[image.chart];
        let destination = destinations.get(&image.id).cloned().flatten();
        let rendered = finals.get(&image.id);
        let outcome = match (&destination, rendered) {
            (None, _) => Outcome::Excluded,
            (Some(d), _) if same_image(&image.reference, d) => Outcome::AlreadyThere,
            (Some(d), Some(r))
                if same_image(&r.reference, d)
                    || components.get(&image.id).is_some_and(|w| components_offered(&finals, &image.id.object, w)) =>
            {
                let mut keys = overlay_keys_behind(&discover::keys(&r.parts), &overlay_keys);
                keys.extend(planner.image_config_lists.get(&image.id.object).cloned());
                Outcome::Moved { keys }
            }
            (Some(_), _) => Outcome::PostRenderOnly { reason: why_unmovable(image, planner.tried.get(&image.id)) },
        };
        moves.push(ImageMove {
            chart: entry.chart.display_path(),
            disabled: baseline_render.disabled.get(&entry.chart.path).cloned(),
            site: image.id.clone(),
            keys: discover::keys(&image.parts),
            source: image.reference.clone(),
            // An image-config `base` stays in its document; later documents carry the move.
            rendered: match rendered {
                Some(r) if r.components.is_empty() || r.is_split() => r.composed().to_string(),
                _ => destination.as_ref().map_or_else(|| image.text.clone(), Reference::name),
            },
            destination,
            outcome,
        });
    }

    let mut comments = comments(&moves, &planner.gates, &overlay_keys);
    for (setting, new) in &registry_settings {
        if let (Some(new), [key]) = (new, setting.keys.as_slice()) {
            comments.entry(key.clone()).or_default().push(format!(
                "registry setting {}: {} -> {new} (the operator builds its operand images from it)",
                setting.location, setting.host
            ));
        }
    }
    let used = moves.iter().flat_map(|m| m.keys.iter().cloned()).collect();
    let mut idle_images = discover::idle_images(&baseline_render.covering, &used);
    let unrendered = discover::unrendered(&renderer, &baseline_render, &mut idle_images);
    let text_images = discover::text_images(&baseline_render);
    let effective_before = baseline_render.effective.clone();
    let effective_after = final_render.effective.clone();
    Ok(RetargetPlan {
        chart: root.display_path(),
        overlay: planner.overlay,
        comments,
        moves,
        gates: planner.gates,
        placeholders,
        warnings: planner.warnings,
        idle_images,
        unrendered,
        text_images,
        registry_settings,
        effective_before,
        effective_after,
    })
}

/// True when two references name the same image (host, path, tag, digest), however spelled.
pub fn same_image(a: &Reference, b: &Reference) -> bool {
    a.registry == b.registry && a.repository == b.repository && a.tag == b.tag && a.digest == b.digest
}

fn why_unmovable(image: &RenderedImage, tried: Option<&Vec<String>>) -> String {
    if let Some(tried) = tried.filter(|_| discover::keys(&image.parts).is_empty()) {
        format!(
            "written by the template; it read {} (empty by default), but setting that to the destination \
             does not move it",
            tried.join(", ")
        )
    } else if discover::keys(&image.parts).is_empty() {
        "hard-coded in the template: no values key decides it".to_string()
    } else {
        format!("the registry part comes from the template, not from values ({})", discover::composition(&image.parts))
    }
}

fn failing_templates(render: &TreeRender) -> BTreeSet<String> {
    render.failures().map(|(t, _)| t.name.clone()).collect()
}

/// The overlay keys a rendered reference now comes from: a traced key itself, or the list that
/// holds it (lists are written whole).
fn overlay_keys_behind(traced: &[ValuesPath], overlay_keys: &[ValuesPath]) -> Vec<ValuesPath> {
    let mut out: Vec<ValuesPath> = Vec::new();
    for key in traced {
        if let Some(o) = overlay_keys.iter().find(|o| key.starts_with(o)) {
            if !out.contains(o) {
                out.push(o.clone());
            }
        }
    }
    out
}

/// Every leaf path of a values tree (lists count as leaves).
pub fn leaf_paths(value: &Value) -> Vec<ValuesPath> {
    fn walk(v: &Value, at: ValuesPath, out: &mut Vec<ValuesPath>) {
        match v {
            Value::Map(m) if !m.is_empty() => {
                for (k, child) in m {
                    walk(child, at.child(k), out);
                }
            }
            _ if !at.is_root() => out.push(at),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, ValuesPath::root(), &mut out);
    out
}

/// Small traced renders for the strategies' unit tests: one image site and the pieces its
/// reference was built from.
#[cfg(test)]
mod testing {
    use super::*;
    use crate::discover::Part;

    pub(super) fn image(text: &str, parts: Vec<Part>) -> RenderedImage {
        RenderedImage {
            id: SiteId {
                template: "t".into(),
                object: ObjectRef::new("Pod", "p"),
                field: "spec.containers[0].image".into(),
            },
            chart: 0,
            text: text.to_string(),
            reference: Reference::parse(text).unwrap(),
            parts,
            components: Vec::new(),
        }
    }

    pub(super) fn values(path: &str, text: &str, offset: usize) -> Part {
        Part::Values { path: ValuesPath::parse(path), text: text.into(), offset }
    }

    pub(super) fn literal(text: &str) -> Part {
        Part::Template { text: text.into() }
    }

    /// A chart `t` loaded from (path, text) pairs, `Chart.yaml` added.
    pub(super) fn chart(entries: &[(&str, &str)]) -> Chart {
        let mut files: BTreeMap<String, Vec<u8>> =
            entries.iter().map(|(p, t)| ((*p).to_string(), t.as_bytes().to_vec())).collect();
        files.insert("Chart.yaml".into(), b"apiVersion: v2\nname: t\nversion: 0.1.0\n".to_vec());
        crate::chart::load(&crate::source::ChartFiles { name: "t".into(), files }).unwrap()
    }

    /// The traced render of a chart under its own defaults.
    pub(super) fn render(chart: &Chart) -> TreeRender {
        TreeRenderer::new(chart).render(&Value::Map(BTreeMap::new()))
    }

    /// The plan of a chart under its own defaults onto `mirror.example`.
    pub(super) fn plan_to_mirror(chart: &Chart, pull_secrets: &[String]) -> RetargetPlan {
        let mapping = RegistryMapping::from_registry("mirror.example").unwrap();
        plan(chart, &Value::Map(BTreeMap::new()), &mapping, pull_secrets, &RenderOptions::default()).unwrap()
    }

    pub(super) fn effective(pairs: &[(&str, &str)]) -> Value {
        let mut v = Value::Map(BTreeMap::default());
        for (k, t) in pairs {
            v.set(&ValuesPath::parse(k), Value::String(t.to_string()));
        }
        v
    }
}
