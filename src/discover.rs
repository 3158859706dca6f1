//! Finds every image site of a chart tree: renders it with the tracing engine, finds the
//! references in the output, and reads off which values keys built each one.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::chart::Chart;
use crate::reference::Reference;
use crate::render::{TreeRender, TreeRenderer};
use crate::template::{Origin, Traced};
use crate::values::{Value, ValuesPath};

/// A piece of a rendered reference: text the template wrote, or text taken from a values key or
/// a Chart.yaml field (`offset` is where it starts inside that value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Part {
    Template { text: String },
    Values { path: String, text: String, offset: usize },
    Chart { field: String, text: String },
}

/// How the chart spells this image, in the terms of SHAPES.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// A key holds just the registry host (S03/S04/S05): `image.registry`.
    RegistryKey,
    /// A key holds host and path (S01): `repository: quay.io/org/app`.
    RepositoryWithHost,
    /// A key holds the host plus leading path segments, the name comes apart (S06): `hub`.
    Hub,
    /// One key holds the whole reference (S10): `image: host/app:tag`.
    ImageString,
    /// Docker Hub implied: no host at all (S02): `repository: bitnami/redis`.
    NoRegistry,
    /// The host comes from the template, the rest from values (S07/S08/S27).
    TemplateRegistry,
    /// Nothing comes from values: only the post-renderer can move it.
    Hardcoded,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Shape::RegistryKey => "registry-key",
            Shape::RepositoryWithHost => "repository-with-host",
            Shape::Hub => "hub",
            Shape::ImageString => "image-string",
            Shape::NoRegistry => "no-registry",
            Shape::TemplateRegistry => "template-registry",
            Shape::Hardcoded => "hardcoded",
        };
        f.write_str(s)
    }
}

/// What setting `global.imageRegistry` does to this image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GlobalRegistry {
    /// It replaces the host.
    Honoured,
    /// It is put in front of a reference that already has a host: a double host (S18).
    Prepended,
    /// The chart reads it, but this image does not change.
    Ignored,
    /// The chart never reads it.
    NotRead,
}

impl fmt::Display for GlobalRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            GlobalRegistry::Honoured => "honoured",
            GlobalRegistry::Prepended => "prepended",
            GlobalRegistry::Ignored => "ignored",
            GlobalRegistry::NotRead => "not read",
        };
        f.write_str(s)
    }
}

/// Identifies one image field of the rendered output across renders with different values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SiteId {
    /// Helm's template name: `chart/charts/sub/templates/deployment.yaml`.
    pub template: String,
    /// `Kind/name` of the object holding it.
    pub object: String,
    /// Field path inside the object: `spec.template.spec.containers[0].image`.
    pub field: String,
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.template, self.object, self.field)
    }
}

/// One image reference as one render produced it, with its trace.
#[derive(Debug, Clone)]
pub struct RenderedImage {
    pub id: SiteId,
    /// Index of the chart in the renderer's list.
    pub chart: usize,
    pub text: String,
    pub reference: Reference,
    pub parts: Vec<Part>,
    /// For an image-config `base`: the full references it composes with each component.
    pub components: Vec<String>,
}

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
    pub keys: Vec<String>,
    pub shape: Shape,
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

/// A template that could not be rendered: its images are not listed.
#[derive(Debug, Clone, Serialize)]
pub struct Unrendered {
    pub template: String,
    pub error: String,
}

/// Everything `scan` reports about one chart.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub chart: String,
    pub sites: Vec<ImageSite>,
    pub unrendered: Vec<Unrendered>,
}

/// A host no registry has, used to probe what a values key does to the rendered images.
pub const PROBE_HOST: &str = "probe.helm-retarget.invalid";

/// Finds the images of one render, with their traces.
pub fn images(renderer: &TreeRenderer<'_>, render: &TreeRender) -> Vec<RenderedImage> {
    let mut out = Vec::new();
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        let Ok(fields) = crate::rewrite::find_images_with_places(output.text.text.as_bytes()) else { continue };
        for (field, place) in fields {
            let Ok(reference) = Reference::parse(&field.text) else { continue };
            let parts = match place {
                Some(range) => parts_of(&output.text, range),
                None => vec![Part::Template { text: field.text.clone() }],
            };
            out.push(RenderedImage {
                id: SiteId {
                    template: t.name.clone(),
                    object: format!("{}/{}", field.kind, field.name),
                    field: field.field_path.clone(),
                },
                chart: t.chart,
                text: field.text.clone(),
                reference,
                parts,
                components: field.components.clone(),
            });
        }
    }
    let _ = renderer;
    out
}

/// Splits the bytes `range` of a traced render into template text and traced pieces.
pub fn parts_of(text: &Traced, range: Range<usize>) -> Vec<Part> {
    let slice = &text.text[range.clone()];
    let mut parts = Vec::new();
    let mut at = 0;
    let mut spans = text.spans_in(range);
    spans.sort_by_key(|s| s.range.start);
    for span in spans {
        if span.range.start > at {
            parts.push(Part::Template { text: slice[at..span.range.start].to_string() });
        }
        let piece = slice[span.range.clone()].to_string();
        parts.push(match &span.origin {
            Origin::Values(path) => Part::Values { path: path.to_string(), text: piece, offset: span.offset },
            Origin::Chart { field, .. } => Part::Chart { field: field.clone(), text: piece },
        });
        at = span.range.end;
    }
    if at < slice.len() {
        parts.push(Part::Template { text: slice[at..].to_string() });
    }
    parts
}

/// `{image.registry}/{image.repository}:{Chart.appVersion}`.
pub fn composition(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Template { text } => text.clone(),
            Part::Values { path, .. } => format!("{{{path}}}"),
            Part::Chart { field, .. } => format!("{{Chart.{field}}}"),
        })
        .collect()
}

/// Reads the shape off the trace: which piece carries the host, and how far it reaches.
pub fn shape(image: &RenderedImage) -> Shape {
    if !image.parts.iter().any(|p| matches!(p, Part::Values { .. })) {
        return Shape::Hardcoded;
    }
    if !image.reference.explicit_registry {
        return Shape::NoRegistry;
    }
    let Some(Part::Values { text: first, .. }) = image.parts.first() else {
        return Shape::TemplateRegistry;
    };
    let text = &image.text;
    let host_end = text.find('/').unwrap_or(text.len());
    let name_end = text.find('@').unwrap_or(text.len());
    let name_start = text[..name_end].rfind('/').map_or(0, |i| i + 1);
    let tag_start = text[name_start..name_end].find(':').map_or(name_end, |i| name_start + i);
    let covers = first.len();
    if covers <= host_end + 1 {
        Shape::RegistryKey
    } else if covers < name_start {
        Shape::Hub
    } else if covers == text.len() && tag_start < text.len() {
        Shape::ImageString
    } else {
        Shape::RepositoryWithHost
    }
}

/// The ordered, distinct values keys of a trace.
pub fn keys(parts: &[Part]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        if let Part::Values { path, .. } = p {
            if !out.contains(path) {
                out.push(path.clone());
            }
        }
    }
    out
}

/// Compares the images of a render with `global.imageRegistry` set to the probe host against
/// the baseline: for each site, whether the global replaced the host, was prepended, or did nothing.
pub fn global_registry_effect(
    baseline: &[RenderedImage],
    probed: &[RenderedImage],
    reads_global: &dyn Fn(usize) -> bool,
) -> BTreeMap<SiteId, GlobalRegistry> {
    let probed: BTreeMap<&SiteId, &RenderedImage> = probed.iter().map(|i| (&i.id, i)).collect();
    baseline
        .iter()
        .map(|image| {
            let effect = match probed.get(&image.id) {
                Some(p) if p.reference.registry == PROBE_HOST => {
                    let doubled = p.reference.repository.starts_with(&format!("{}/", image.reference.registry))
                        && image.reference.explicit_registry;
                    if doubled {
                        GlobalRegistry::Prepended
                    } else {
                        GlobalRegistry::Honoured
                    }
                }
                _ if reads_global(image.chart) => GlobalRegistry::Ignored,
                _ => GlobalRegistry::NotRead,
            };
            (image.id.clone(), effect)
        })
        .collect()
}

/// Scans one chart tree: every image site with its trace, shape and global-registry behaviour.
pub fn scan(root: &Chart, user: &Value) -> Scan {
    let renderer = TreeRenderer::new(root);
    let baseline = renderer.render(user);
    let base_images = images(&renderer, &baseline);
    let global = ValuesPath::parse("global.imageRegistry");
    let mut probe_values = user.clone();
    probe_values.set(&global, Value::String(PROBE_HOST.to_string()));
    let probed = renderer.render(&probe_values);
    let probed_images = images(&renderer, &probed);
    let reads_by_chart = reads_by_chart(&baseline, renderer.charts.len());
    let effects = global_registry_effect(&base_images, &probed_images, &|chart| {
        reads_by_chart.get(chart).is_some_and(|r| r.contains(&global))
    });

    let mut unrendered: Vec<Unrendered> =
        renderer.parse_errors.iter().map(|e| Unrendered { template: template_of(e), error: e.to_string() }).collect();
    unrendered.extend(baseline.failures().map(|(t, e)| Unrendered { template: t.name.clone(), error: e.to_string() }));

    let sites = base_images
        .iter()
        .map(|image| {
            let entry = &renderer.charts[image.chart];
            let keys = keys(&image.parts);
            ImageSite {
                chart: entry.chart.display_path(),
                disabled: baseline.disabled.get(&entry.chart.path).cloned(),
                id: image.id.clone(),
                reference: image.text.clone(),
                defined_at: keys.first().and_then(|k| defined_at(&renderer, &ValuesPath::parse(k))),
                keys,
                shape: shape(image),
                composition: composition(&image.parts),
                global_registry: effects.get(&image.id).copied().unwrap_or(GlobalRegistry::NotRead),
                components: image.components.clone(),
            }
        })
        .collect();
    Scan { chart: root.display_path(), sites, unrendered }
}

fn template_of(e: &crate::template::TemplateError) -> String {
    use crate::template::TemplateError as E;
    match e {
        E::Parse { template, .. } | E::Fail { template, .. } | E::Exec { template, .. } => template.clone(),
    }
}

fn reads_by_chart(render: &TreeRender, charts: usize) -> Vec<Vec<ValuesPath>> {
    let mut out = vec![Vec::new(); charts];
    for t in &render.templates {
        if let Ok(o) = &t.output {
            out[t.chart].extend(o.reads.iter().map(|r| r.path.clone()));
        }
    }
    out
}

/// `values.yaml:12` of the chart that defines `key`, preferring the outermost (the parent's
/// values override the subchart's defaults).
pub fn defined_at(renderer: &TreeRenderer<'_>, key: &ValuesPath) -> Option<String> {
    for entry in &renderer.charts {
        let Some(relative) = (if key.is_global() { Some(key.clone()) } else { key.strip_prefix(&entry.values_base) })
        else {
            continue;
        };
        if entry.chart.values.get(&relative).is_none() {
            continue;
        }
        let file = format!("{}/values.yaml", entry.chart.source);
        let line =
            entry.chart.values_file.as_deref().and_then(|text| crate::yaml::key_lines(text).get(&relative).copied());
        return Some(match line {
            Some(line) => format!("{file}:{line}"),
            None => file,
        });
    }
    None
}
