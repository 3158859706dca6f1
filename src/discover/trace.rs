//! What built a rendered reference, read off its trace: the values keys and template text of its
//! parts, its shape, where it is handed over, and what a global registry setting does to it.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

use super::PROBE_HOST;
use crate::reference::Reference;
use crate::site::{Part, RenderedImage, SiteId};
use crate::template::{Origin, Traced};
use crate::values::ValuesPath;

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
    let kind = image.id.object.kind.as_str();
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
    } else if crate::kube::is_pod_kind(kind) {
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
            Origin::Values(path) => Part::Values { path: path.clone(), text: piece, offset: span.offset },
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
pub fn keys(parts: &[Part]) -> Vec<ValuesPath> {
    let mut out: Vec<ValuesPath> = Vec::new();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::{ObjectRef, SiteId};
    use crate::template::Origin;
    use crate::values::ValuesPath;

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
            id: SiteId { template: "t".into(), object: ObjectRef::new("Pod", "p"), field: "f".into() },
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
        assert_eq!(
            crate::values::join_paths(&keys(&img.parts), " "),
            "ksm.image.registry ksm.image.repository ksm.image.tag"
        );
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
            let (kind, name) = object.split_once('/').unwrap();
            let object = ObjectRef::new(kind, name);
            let mut image = rendered(&[(text, Some("k"))]);
            image.id = SiteId { template: "t".into(), object, field: field.into() };
            image.components = components.iter().map(std::string::ToString::to_string).collect();
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
}
