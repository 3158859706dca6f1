//! What sits in configuration instead of image fields: registry hosts an operator builds its images
//! from, and images named inside ConfigMap text; both are reported, since no values key moves them.

use serde::Serialize;

use super::trace::{keys, parts_of};
use crate::reference::Reference;
use crate::render::TreeRender;
use crate::site::Part;
use crate::template::Origin;
use crate::values::{Value, ValuesPath};

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
            if kind.is_empty() || crate::kube::is_pod_kind(&kind) {
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
                out.push((path.clone(), host.clone()));
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
