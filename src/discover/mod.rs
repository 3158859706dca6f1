//! Finds every image site of a chart tree: renders it with the tracing engine, finds the
//! references in the output, and reads off which values keys built each one.
//!
//! This file holds the scan and the images of one render; `trace` reads what built each reference,
//! `gaps` what the render leaves out, `settings` what sits in configuration instead of image fields.

mod gaps;
mod settings;
mod trace;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::chart::Chart;
use crate::reference::Reference;
use crate::render::{RenderOptions, TreeRender, TreeRenderer};
pub use crate::site::{Part, RenderedImage, SiteId};
use crate::values::{Value, ValuesPath};
pub use gaps::{idle_images, unrendered, IdleImage, Unrendered};
pub use settings::{
    may_hold_registry_settings, registry_setting_values, registry_settings, stream_registry_settings, text_images,
    RegistrySetting, TextImage,
};
pub use trace::{
    composition, global_registry_effect, is_artifact, keys, parts_of, placement, shape, GlobalRegistry, Placement,
    Shape,
};

/// An image site: where a chart puts an image, and what decides it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSite {
    /// Chart path by values keys: `cloudzero-agent > kubeStateMetrics`.
    pub chart: String,
    /// Why the chart is off under the scanned values, if it is (its images are still listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<String>,
    #[serde(flatten)]
    pub id: SiteId,
    /// The reference as rendered with the chart's defaults.
    pub reference: String,
    /// The values keys that decide the rendered reference, in the order they appear in it.
    pub keys: Vec<ValuesPath>,
    pub shape: Shape,
    /// Where the image is handed over: a pod spec, or data an operator or program reads.
    pub placement: Placement,
    /// How the reference is put together: `{image.registry}/{image.repository}:{image.tag}`.
    pub composition: String,
    pub global_registry: GlobalRegistry,
    /// Where the first deciding key is defined: `values.yaml:12` (or the template for hardcoded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defined_at: Option<String>,
    /// For an image-config `base` (a registry and path prefix): the images it composes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
}

/// Everything `scan` reports about one chart.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub chart: String,
    pub sites: Vec<ImageSite>,
    pub unrendered: Vec<Unrendered>,
    /// Image blocks in values that no template rendered with these values (a mode or feature
    /// that is off): pass values that turn them on with `-f` to have them moved too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub idle_images: Vec<IdleImage>,
    /// Required values given a placeholder so the chart could be rendered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<String>,
    /// Images named only in ConfigMap text: to be mirrored and edited by hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text_images: Vec<TextImage>,
    /// Registry hosts an operator builds images from (knob sites).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registry_settings: Vec<RegistrySetting>,
}

/// A host no registry has, used to probe what a values key does to the rendered images.
pub const PROBE_HOST: &str = "probe.helm-retarget.invalid";

/// Finds the images of one render, with their traces.
pub fn images(render: &TreeRender) -> Vec<RenderedImage> {
    render.templates.iter().flat_map(|t| t.images.get_or_init(|| images_of(t)).iter().cloned()).collect()
}

/// A renderer of `root` for the cluster `options` describes, that finds each template's images in
/// the thread that renders it, and whose random values repeat from render to render.
pub fn renderer<'a>(root: &'a Chart, options: &RenderOptions) -> TreeRenderer<'a> {
    TreeRenderer::with_options(root, options.clone()).finding_images(images_of).repeatable()
}

/// The images of one rendered template.
fn images_of(t: &crate::render::RenderedTemplate) -> Vec<RenderedImage> {
    let mut out = Vec::new();
    if crate::render::is_notes(&t.name) {
        return out;
    }
    let Ok(output) = &t.output else { return out };
    let Ok(fields) = crate::rewrite::find_images_with_places(output.text.text.as_bytes()) else { return out };
    for (field, place) in fields {
        // Sibling fields name the image they compose; an image-config `base` names its prefix.
        let split = !field.components.is_empty() && !field.field_path.ends_with("#base");
        let whole = if split { &field.components[0] } else { &field.text };
        let Ok(reference) = Reference::parse(whole) else { continue };
        let parts = match place {
            Some(range) => parts_of(&output.text, range),
            None => vec![Part::Template { text: field.text.clone() }],
        };
        out.push(RenderedImage {
            id: SiteId { template: t.name.clone(), object: field.object_ref(), field: field.field_path.clone() },
            chart: t.chart,
            text: field.text.clone(),
            reference,
            parts,
            components: field.components.clone(),
        });
    }
    out
}

/// Scans one chart tree, rendered for the cluster `options` describes: every image site with its
/// trace, shape and global-registry behaviour.
pub fn scan(root: &Chart, user: &Value, options: &RenderOptions) -> Scan {
    let renderer = renderer(root, options);
    let (user, placeholders, baseline) = renderer.with_placeholders(user);
    let user = &user;
    let base_images = images(&baseline);
    let global = ValuesPath::parse("global.imageRegistry");
    let mut probe_values = user.clone();
    probe_values.set(&global, Value::String(PROBE_HOST.to_string()));
    let mut probed = renderer.render(&probe_values);
    // A chart that refuses changed images (a render gate) would hide what the global does.
    let before: BTreeSet<String> = baseline.failures().map(|(t, _)| t.name.clone()).collect();
    if let Some((_, keys)) = probed.gate_candidates(&before) {
        for key in keys {
            let mut opened = probe_values.clone();
            opened.set(&key, Value::Bool(true));
            let render = renderer.render(&opened);
            if render.new_failures(&before).is_empty() {
                probed = render;
                break;
            }
        }
    }
    let probed_images = images(&probed);
    // Charts whose templates read the key itself (a chart that only dumps `global` whole is "not read").
    let reading_global: BTreeSet<usize> = baseline
        .templates
        .iter()
        .filter(|t| t.output.as_ref().is_ok_and(|o| o.reads.iter().any(|r| r.path == global)))
        .map(|t| t.chart)
        .collect();
    let effects = global_registry_effect(&base_images, &probed_images, &|chart| reading_global.contains(&chart));

    // Each values.yaml is read for key lines once, not once per site.
    let key_lines: Vec<_> = renderer
        .charts
        .iter()
        .map(|e| e.chart.values_file.as_deref().map(crate::yaml::key_lines).unwrap_or_default())
        .collect();
    let sites: Vec<ImageSite> = base_images
        .iter()
        .map(|image| {
            let entry = &renderer.charts[image.chart];
            let keys = keys(&image.parts);
            ImageSite {
                chart: entry.chart.display_path(),
                disabled: baseline.disabled.get(&entry.chart.path).cloned(),
                id: image.id.clone(),
                reference: image.composed().to_string(),
                defined_at: keys.first().and_then(|k| defined_at(&renderer, &key_lines, k)),
                keys,
                shape: shape(image),
                placement: placement(image),
                composition: match image.composed().strip_prefix(image.text.as_str()) {
                    // Sibling fields: the reader appends the other fields to the host field.
                    Some(rest) if image.is_split() => format!("{}{rest}", composition(&image.parts)),
                    _ => composition(&image.parts),
                },
                global_registry: effects.get(&image.id).copied().unwrap_or(GlobalRegistry::NotRead),
                components: image.components.clone(),
            }
        })
        .collect();
    let used: BTreeSet<ValuesPath> = sites.iter().flat_map(|s: &ImageSite| s.keys.iter().cloned()).collect();
    let mut idle_images = idle_images(&baseline.covering, &used);
    let unrendered = unrendered(&renderer, &baseline, &mut idle_images);
    let text_images = text_images(&baseline);
    let registry_settings = registry_settings(&baseline);
    Scan { chart: root.display_path(), sites, unrendered, idle_images, placeholders, text_images, registry_settings }
}

/// `values.yaml:12` of the chart that defines `key`, preferring the outermost (the parent's
/// values override the subchart's defaults).
/// `key_lines` holds, per chart (renderer order), the line of each key of its values.yaml.
#[allow(clippy::implicit_hasher, reason = "one caller, with the default hasher")]
pub fn defined_at(
    renderer: &TreeRenderer<'_>,
    key_lines: &[std::collections::HashMap<ValuesPath, usize>],
    key: &ValuesPath,
) -> Option<String> {
    for (entry, lines) in renderer.charts.iter().zip(key_lines) {
        let Some(relative) = (if key.is_global() { Some(key.clone()) } else { key.strip_prefix(&entry.values_base) })
        else {
            continue;
        };
        if entry.chart.values.get(&relative).is_none() {
            continue;
        }
        let file = format!("{}/values.yaml", entry.chart.source);
        let line = lines.get(&relative).copied();
        return Some(match line {
            Some(line) => format!("{file}:{line}"),
            None => file,
        });
    }
    None
}
