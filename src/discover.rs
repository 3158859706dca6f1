//! Finds every image site of a chart tree: renders it with the tracing engine, finds the
//! references in the output, and reads off which values keys built each one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::chart::Chart;
use crate::reference::Reference;
use crate::render::{TreeRender, TreeRenderer};
pub use crate::site::{Part, RenderedImage, SiteId};
use crate::template::{Origin, Traced};
use crate::values::{Value, ValuesPath};

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

/// Where in the rendered objects the image is handed over (issue 7: images as data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// A container, image volume, image env var or flag of a pod spec: the kubelet pulls it.
    PodSpec,
    /// A field of another object whose key names an image (`spec.image`, `docker_image`).
    CrField,
    /// Sibling fields of one mapping that the reader joins (`repository` + `image` + `version`).
    CrSplitFields,
    /// A ConfigMap or Secret value that is a whole reference.
    ConfigmapValue,
    /// Inside configuration text: an embedded YAML/JSON document, TOML, a script.
    ConfigText,
    /// A `NAME=REF` line of one env value holding a list.
    EnvList,
    /// An image-config `base` that prefixes every component.
    ImageConfig,
    /// An OCI artifact that is not a container image (a plugin or policy bundle), by its path.
    Artifact,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Placement::PodSpec => "pod-spec",
            Placement::CrField => "cr-field",
            Placement::CrSplitFields => "cr-split-fields",
            Placement::ConfigmapValue => "configmap-value",
            Placement::ConfigText => "config-text",
            Placement::EnvList => "env-list",
            Placement::ImageConfig => "image-config",
            Placement::Artifact => "artifact",
        };
        f.write_str(s)
    }
}

/// Reads the placement off the site: the object's kind, the field path and how it composes.
pub fn placement(image: &RenderedImage) -> Placement {
    let field = image.id.field.as_str();
    let kind = image.id.object.split('/').next().unwrap_or_default();
    if is_artifact(&image.reference, field) {
        return Placement::Artifact;
    }
    if field.ends_with("#base") {
        Placement::ImageConfig
    } else if field.contains(".env[") && field.contains("#line") {
        Placement::EnvList
    } else if field.contains('#') {
        Placement::ConfigText
    } else if image.is_split() {
        Placement::CrSplitFields
    } else if matches!(kind, "ConfigMap" | "Secret") {
        Placement::ConfigmapValue
    } else if crate::rewrite::is_pod_kind(kind) {
        Placement::PodSpec
    } else {
        Placement::CrField
    }
}

/// An OCI artifact that is not a container image (a plugin or policy bundle an agent pulls at
/// run time): named so by the data or config-text key holding it (`artifact`, `bundle`, a
/// `plugins` list, `policies.bundle.oci.ref`) or by a directory of its repository path (`org/plugins/x`,
/// `policies/`, `bundles/`). A guess from names, used only to label the copy: every reference is
/// mirrored either way.
pub fn is_artifact(reference: &Reference, field: &str) -> bool {
    // The field part of `Kind/name field`; container fields of pod specs never hold artifacts.
    let field = field.rsplit(' ').next().unwrap_or(field).to_ascii_lowercase();
    let in_data = field.starts_with("data.") || field.starts_with("stringdata.") || field.contains('#');
    let named = in_data
        && !field.contains("containers[")
        && ["artifact", "bundle", "plugins["].iter().any(|word| field.contains(word));
    let path: Vec<&str> = reference.repository.split('/').collect();
    let artifact_dir = path[..path.len().saturating_sub(1)]
        .iter()
        .any(|segment| matches!(*segment, "plugins" | "policies" | "bundles" | "artifacts"));
    named || artifact_dir
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

/// A template that could not be rendered, or rendered text that is not YAML: its images are not
/// listed, so scan, overlay, mirror and diff are incomplete.
#[derive(Debug, Clone, Serialize)]
pub struct Unrendered {
    pub template: String,
    pub error: String,
    /// True when Helm refuses these values the same way: a `required` value or a `fail` in a chart
    /// that is enabled, left failing after placeholders were tried. Not a gap of ours: the chart
    /// cannot be installed with these values.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fails_in_helm: bool,
    /// Image blocks in its chart's values that no rendered template used: what it may have held.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_images: Vec<IdleImage>,
}

/// Every template of `render` that did not parse, failed, or wrote text Helm would refuse as YAML.
///
/// What counts: the render is the user's values plus placeholders, with disabled subcharts
/// rendered as if enabled (the overlay covers them). Any parse or execution error there, in any
/// chart, is a gap; a `required`/`fail` is the chart refusing the values (`fails_in_helm`) only in
/// an enabled chart, since Helm never renders a disabled one. Probe renders never count.
///
/// Idle image blocks of a failing template's chart move from `idle` into its `missing_images`.
pub fn unrendered(renderer: &TreeRenderer<'_>, render: &TreeRender, idle: &mut Vec<IdleImage>) -> Vec<Unrendered> {
    use crate::template::TemplateError as E;
    let mut out: Vec<Unrendered> = renderer
        .parse_errors
        .iter()
        .map(|e| Unrendered {
            template: crate::render::error_template(e).to_string(),
            error: e.to_string(),
            fails_in_helm: false,
            missing_images: Vec::new(),
        })
        .collect();
    for (t, e) in render.failures() {
        let enabled = !render.disabled.contains_key(&renderer.charts[t.chart].chart.path);
        out.push(Unrendered {
            template: t.name.clone(),
            error: e.to_string(),
            fails_in_helm: enabled && matches!(e, E::Fail { .. }),
            missing_images: Vec::new(),
        });
    }
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        if crate::render::is_notes(&t.name) {
            continue;
        }
        if let Err(refused) = crate::manifest::check(&t.name, &output.text.text) {
            out.push(Unrendered {
                template: t.name.clone(),
                error: refused.message,
                fails_in_helm: false,
                missing_images: Vec::new(),
            });
        }
    }
    // An idle block belongs to the chart whose values hold it (the deepest values base).
    let owner = |path: &str| {
        let path = ValuesPath::parse(path);
        (0..renderer.charts.len())
            .filter(|&i| path.starts_with(&renderer.charts[i].values_base))
            .max_by_key(|&i| renderer.charts[i].values_base.steps().len())
    };
    let failing: BTreeSet<usize> =
        out.iter().filter(|u| !u.fails_in_helm).filter_map(|u| renderer.chart_of(&u.template)).collect();
    let (missing, still_idle): (Vec<IdleImage>, Vec<IdleImage>) =
        std::mem::take(idle).into_iter().partition(|i| owner(&i.values_path).is_some_and(|c| failing.contains(&c)));
    *idle = still_idle;
    // Listed once per chart, under its first failing manifest (a helper's failure shows up again
    // in every manifest that includes it).
    for image in missing {
        let chart = owner(&image.values_path);
        let of_chart = |u: &Unrendered| !u.fails_in_helm && renderer.chart_of(&u.template) == chart;
        let is_partial = |u: &Unrendered| u.template.rsplit('/').next().is_some_and(|f| f.starts_with('_'));
        let at = out.iter().position(|u| of_chart(u) && !is_partial(u)).or_else(|| out.iter().position(of_chart));
        if let Some(at) = at {
            out[at].missing_images.push(image);
        }
    }
    out
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

/// A registry host alone where an operator expects a registry (`container-registry: quay.io`):
/// not a reference, but the operator builds its operand images from it. A knob site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrySetting {
    pub template: String,
    /// `ConfigMap/name data.container-registry`.
    pub location: String,
    pub host: String,
    /// The values keys its bytes trace to (empty: hard-coded in the template).
    pub keys: Vec<String>,
    /// True when one values key holds exactly the host, so setting that key moves it.
    pub movable: bool,
}

/// Registry settings of a render: ConfigMap/Secret values and custom-resource fields whose key
/// names a registry (`container-registry`, `defaultRegistry`, `registry`) and whose value is a
/// host and nothing else. A `registry` beside a `repository` composes a reference and is a site
/// of its own, not a setting.
pub fn registry_settings(render: &TreeRender) -> Vec<RegistrySetting> {
    let mut out = Vec::new();
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        if crate::render::is_notes(&t.name) {
            continue;
        }
        let Ok(documents) = crate::yaml::parse_documents(&output.text.text, &t.name) else { continue };
        for doc in documents {
            let text = |p: &str| doc.get(&ValuesPath::parse(p)).and_then(Value::as_str).unwrap_or_default().to_string();
            let kind = text("kind");
            if kind.is_empty() || crate::rewrite::is_pod_kind(&kind) {
                continue;
            }
            let object = format!("{kind}/{}", text("metadata.name"));
            let mut found = Vec::new();
            settings_in(&doc, &mut String::new(), &mut found);
            for (field, host) in found {
                // Pin the bytes by the `key: host` line, which the trace then maps to values.
                let key = field.rsplit('.').next().unwrap_or(&field).to_string();
                let needle = format!("{key}: {host}");
                let quoted = format!("{key}: \"{host}\"");
                let at = output
                    .text
                    .text
                    .find(&needle)
                    .map(|i| i + key.len() + 2)
                    .or_else(|| output.text.text.find(&quoted).map(|i| i + key.len() + 3));
                let parts = at.map(|at| parts_of(&output.text, at..at + host.len())).unwrap_or_default();
                let keys = keys(&parts);
                let movable = matches!(parts.as_slice(), [Part::Values { text, offset: 0, .. }] if *text == host);
                out.push(RegistrySetting {
                    template: t.name.clone(),
                    location: format!("{object} {field}"),
                    host,
                    keys,
                    movable,
                });
            }
        }
    }
    out
}

fn settings_in(value: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    let Value::Map(map) = value else {
        if let Value::List(items) = value {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                settings_in(item, path, out);
                path.truncate(len);
            }
        }
        return;
    };
    let composes = map.contains_key("repository");
    for (key, child) in map {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        match child {
            Value::String(host) if key.to_ascii_lowercase().contains("registry") && !composes && is_host(host) => {
                out.push((path.clone(), host.clone()))
            }
            _ => settings_in(child, path, out),
        }
        path.truncate(len);
    }
}

/// A registry host alone: `quay.io`, `registry.example.org:5000`.
fn is_host(text: &str) -> bool {
    !text.contains(['/', '{', ' ', '@'])
        && crate::reference::names_a_host(text)
        && crate::reference::check_host(text).is_ok()
        && text.contains(['.', ':'])
}

/// An image named inside the text of a ConfigMap (a template another program fills in at run
/// time, an example): neither values nor the post-renderer move it, so it is reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextImage {
    pub template: String,
    /// `ConfigMap/name data.key`.
    pub location: String,
    pub reference: String,
}

/// `image: REF` lines (YAML or JSON spelling) in the data of every ConfigMap of a render, where REF
/// is a plausible reference and not template text of its own.
pub fn text_images(render: &TreeRender) -> Vec<TextImage> {
    static LINE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let line = LINE.get_or_init(|| {
        regex::Regex::new(r#"(?m)^\s*-?\s*"?image"?\s*:\s*["']?([^"'\s,{}]+)["']?\s*,?\s*$"#).expect("valid regex")
    });
    let mut out = Vec::new();
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        if crate::render::is_notes(&t.name) || !output.text.text.contains("ConfigMap") {
            continue;
        }
        let Ok(documents) = crate::yaml::parse_documents(&output.text.text, &t.name) else { continue };
        for doc in documents {
            let field =
                |p: &str| doc.get(&ValuesPath::parse(p)).and_then(Value::as_str).unwrap_or_default().to_string();
            if field("kind") != "ConfigMap" {
                continue;
            }
            let Some(Value::Map(data)) = doc.get(&ValuesPath::parse("data")) else { continue };
            for (key, content) in data {
                let Some(content) = content.as_str() else { continue };
                if content.contains("components") && content.contains("base") {
                    continue; // an image config: moved by its own rules
                }
                if !content.contains("{{") {
                    continue; // plain config text: the post-renderer's text rules move its images
                }
                for found in line.captures_iter(content) {
                    let reference = &found[1];
                    // Text that a values key wrote moves with the overlay like any other.
                    let from_values = output.text.text.match_indices(reference).any(|(at, _)| {
                        output
                            .text
                            .spans_in(at..at + reference.len())
                            .iter()
                            .any(|s| matches!(s.origin, Origin::Values(_)))
                    });
                    if Reference::looks_like_reference(reference) && !from_values {
                        out.push(TextImage {
                            template: t.name.clone(),
                            location: format!("ConfigMap/{} data.{key}", field("metadata.name")),
                            reference: reference.to_string(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// An image spelled in values that the scanned values do not render.
#[derive(Debug, Clone, Serialize)]
pub struct IdleImage {
    pub values_path: String,
    pub reference: String,
}

/// Image blocks in `values` (a `repository` string with its `registry`/`tag`/`digest` siblings, or
/// an `image` string that reads as a reference) whose keys no rendered site used.
pub fn idle_images(values: &Value, used: &BTreeSet<String>) -> Vec<IdleImage> {
    fn text(map: &crate::values::Map, key: &str) -> Option<String> {
        map.get(key).and_then(Value::scalar_text).filter(|t| !t.is_empty())
    }
    fn walk(value: &Value, at: ValuesPath, used: &BTreeSet<String>, out: &mut Vec<IdleImage>) {
        let Value::Map(map) = value else { return };
        let is_used = |p: &ValuesPath| used.iter().any(|u| u.starts_with(&p.to_string()));
        if let Some(repository) = text(map, "repository") {
            if !is_used(&at) {
                let mut reference = match text(map, "registry") {
                    Some(registry) => format!("{registry}/{repository}"),
                    None => repository,
                };
                if let Some(tag) = text(map, "tag") {
                    reference = format!("{reference}:{tag}");
                }
                if let Some(digest) = text(map, "digest") {
                    reference = format!("{reference}@{digest}");
                }
                if Reference::parse(&reference).is_ok() && !reference.contains("{{") {
                    out.push(IdleImage { values_path: at.to_string(), reference });
                }
            }
            return;
        }
        for (key, child) in map {
            let path = at.child(key);
            match child {
                Value::String(s) if key == "image" && Reference::looks_like_reference(s) && !is_used(&path) => {
                    out.push(IdleImage { values_path: path.to_string(), reference: s.clone() })
                }
                _ => walk(child, path, used, out),
            }
        }
    }
    let mut out = Vec::new();
    walk(values, ValuesPath::root(), used, &mut out);
    out
}

/// A host no registry has, used to probe what a values key does to the rendered images.
pub const PROBE_HOST: &str = "probe.helm-retarget.invalid";

/// Finds the images of one render, with their traces.
pub fn images(render: &TreeRender) -> Vec<RenderedImage> {
    render.templates.iter().flat_map(|t| t.images.get_or_init(|| images_of(t)).iter().cloned()).collect()
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
    let text = image.composed();
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
                defined_at: keys.first().and_then(|k| defined_at(&renderer, &key_lines, &ValuesPath::parse(k))),
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
    let used: BTreeSet<String> = sites.iter().flat_map(|s: &ImageSite| s.keys.iter().cloned()).collect();
    let mut idle_images = idle_images(&baseline.covering, &used);
    let unrendered = unrendered(&renderer, &baseline, &mut idle_images);
    let text_images = text_images(&baseline);
    let registry_settings = registry_settings(&baseline);
    Scan { chart: root.display_path(), sites, unrendered, idle_images, placeholders, text_images, registry_settings }
}

/// `values.yaml:12` of the chart that defines `key`, preferring the outermost (the parent's
/// values override the subchart's defaults).
/// `key_lines` holds, per chart (renderer order), the line of each key of its values.yaml.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn traced(pieces: &[(&str, Option<&str>)]) -> Traced {
        let mut t = Traced::default();
        for (text, origin) in pieces {
            match origin {
                Some(path) => t.push(&Traced::from_origin(*text, Some(&Origin::Values(ValuesPath::parse(path))))),
                None => t.push_str(text),
            }
        }
        t
    }

    fn rendered(pieces: &[(&str, Option<&str>)]) -> RenderedImage {
        let t = traced(pieces);
        RenderedImage {
            id: SiteId { template: "t".into(), object: "Pod/p".into(), field: "f".into() },
            chart: 0,
            reference: Reference::parse(&t.text).unwrap(),
            parts: parts_of(&t, 0..t.text.len()),
            text: t.text,
            components: Vec::new(),
        }
    }

    #[test]
    fn the_trace_names_each_key_and_the_composition_shows_the_template_glue() {
        let img = rendered(&[
            ("registry.k8s.io", Some("ksm.image.registry")),
            ("/", None),
            ("kube-state-metrics/kube-state-metrics", Some("ksm.image.repository")),
            (":v", None),
            ("2.17.0", Some("ksm.image.tag")),
        ]);
        assert_eq!(keys(&img.parts), ["ksm.image.registry", "ksm.image.repository", "ksm.image.tag"]);
        assert_eq!(composition(&img.parts), "{ksm.image.registry}/{ksm.image.repository}:v{ksm.image.tag}");
        assert_eq!(shape(&img), Shape::RegistryKey);
    }

    #[test]
    fn shapes_follow_how_far_the_first_key_reaches() {
        let repo = rendered(&[("quay.io/org/app", Some("image.repository")), (":", None), ("1", Some("image.tag"))]);
        assert_eq!(shape(&repo), Shape::RepositoryWithHost);
        let hub = rendered(&[("docker.io/istio", Some("global.hub")), ("/pilot:", None), ("1.24", Some("global.tag"))]);
        assert_eq!(shape(&hub), Shape::Hub);
        let whole = rendered(&[("ghcr.io/org/x:1.0", Some("sidecar.image"))]);
        assert_eq!(shape(&whole), Shape::ImageString);
        let hub_less = rendered(&[("bitnami/redis", Some("image.repository")), (":7", None)]);
        assert_eq!(shape(&hub_less), Shape::NoRegistry);
        let computed = rendered(&[("gcr.io/", None), ("org/agent", Some("agent.image.name")), (":1", None)]);
        assert_eq!(shape(&computed), Shape::TemplateRegistry);
        let fixed = rendered(&[("docker.io/bitnami/kubectl:1.36", None)]);
        assert_eq!(shape(&fixed), Shape::Hardcoded);
    }

    #[test]
    fn placement_says_where_the_image_is_handed_over() {
        let at = |object: &str, field: &str, components: &[&str], text: &str| {
            let mut image = rendered(&[(text, Some("k"))]);
            image.id = SiteId { template: "t".into(), object: object.into(), field: field.into() };
            image.components = components.iter().map(|c| c.to_string()).collect();
            if let Some(c) = components.first() {
                image.reference = Reference::parse(c).unwrap();
            }
            placement(&image)
        };
        assert_eq!(
            at("Deployment/d", "spec.template.spec.containers[0].image", &[], "quay.io/a/b:1"),
            Placement::PodSpec
        );
        assert_eq!(
            at("Policy/p", "spec.driver.repository", &["nvcr.io/n/drv:1"], "nvcr.io/n"),
            Placement::CrSplitFields
        );
        assert_eq!(
            at("Policy/p", "spec.devicePlugin.repository", &["nvcr.io/n/dp:1"], "nvcr.io/n"),
            Placement::CrSplitFields
        );
        assert_eq!(at("Config/c", "configuration.docker_image", &[], "ghcr.io/a/b:1"), Placement::CrField);
        assert_eq!(at("ConfigMap/c", "data.provisioner", &[], "registry.k8s.io/a/b:1"), Placement::ConfigmapValue);
        assert_eq!(
            at("ConfigMap/c", "data.casc.yaml#containers[0].image", &[], "docker.io/a/b:1"),
            Placement::ConfigText
        );
        assert_eq!(
            at("Deployment/d", "spec.template.spec.containers[0].env[2].value#line 1", &[], "ghcr.io/a/b:1"),
            Placement::EnvList
        );
        assert_eq!(
            at("ConfigMap/c", "data.policies.bundle.oci.ref", &[], "mirror.gcr.io/a/checks:1"),
            Placement::Artifact
        );
        assert_eq!(at("ConfigMap/c", "data.p.yaml#x", &[], "ghcr.io/o/plugins/p:1"), Placement::Artifact);
    }

    #[test]
    fn image_blocks_no_template_used_are_reported_idle() {
        let values = crate::yaml::parse(
            "agent:\n  image: {repository: ghcr.io/org/agent, tag: '1.0'}\n  \
             clustered:\n    image: {registry: docker.io, repository: grafana/alloy, tag: v1.11.3}\n\
             sidecar:\n  image: quay.io/org/sidecar:2.0\n",
            "values.yaml",
        )
        .unwrap();
        let used: BTreeSet<String> = ["agent.image.repository".to_string()].into();
        let idle: Vec<(String, String)> =
            idle_images(&values, &used).into_iter().map(|i| (i.values_path, i.reference)).collect();
        assert_eq!(
            idle,
            [
                ("agent.clustered.image".to_string(), "docker.io/grafana/alloy:v1.11.3".to_string()),
                ("sidecar.image".to_string(), "quay.io/org/sidecar:2.0".to_string()),
            ]
        );
    }
}
