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
    pub keys: Vec<ValuesPath>,
    /// True when one values key holds exactly the host, so setting that key moves it.
    pub movable: bool,
}

/// Registry settings of a render: ConfigMap/Secret values and custom-resource fields whose key
/// names a registry (`container-registry`, `defaultRegistry`, `registry`) and whose value is a
/// host and nothing else, also inside a YAML document held in a ConfigMap/Secret value (an
/// operator's config file); and in pod specs, container env vars naming where images come from
/// (`*_REGISTRY`, `*_REPO_URL`, `*_IMAGE_REPOSITORY`) whose value is a host or a `host/org` prefix.
/// A `registry` beside a `repository` composes a reference and is a site of its own, not a setting.
pub fn registry_settings(render: &TreeRender) -> Vec<RegistrySetting> {
    settings_of(render, Shape::Source)
}

/// The values at the places `registry_settings` reads, whatever they hold (`REG/quay.io/org`
/// too): what a values key set for a registry setting renders to, which a mapping that keeps
/// the source host below the target (`layout: keep-host`) writes with a `/` in it.
pub fn registry_setting_values(render: &TreeRender) -> Vec<RegistrySetting> {
    settings_of(render, Shape::Any)
}

/// Which values of a registry-setting place count: a host or a `host/org` prefix, or any text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Source,
    Any,
}

fn settings_of(render: &TreeRender, shape: Shape) -> Vec<RegistrySetting> {
    let mut out = Vec::new();
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        if crate::render::is_notes(&t.name) {
            continue;
        }
        let Ok(documents) = crate::yaml::parse_documents(&output.text.text, &t.name) else { continue };
        let text_of = &output.text.text;
        for doc in documents {
            let Some((object, settings)) = document_settings(&doc, shape) else { continue };
            // (field, where its value's bytes start, value)
            let mut found: Vec<(String, Option<usize>, String)> = Vec::new();
            for DocumentSetting { field, value: host, env_name } in settings {
                let at = if let Some(name) = env_name {
                    env_value_at(text_of, &name, &host)
                } else {
                    // Pin the bytes by the `key: host` line, which the trace then maps to values.
                    let key = field.rsplit(['.', ' ']).next().unwrap_or(&field).to_string();
                    let needle = format!("{key}: {host}");
                    let quoted = format!("{key}: \"{host}\"");
                    text_of
                        .find(&needle)
                        .map(|i| i + key.len() + 2)
                        .or_else(|| text_of.find(&quoted).map(|i| i + key.len() + 3))
                };
                found.push((field, at, host));
            }
            for (field, at, host) in found {
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

/// One registry setting of a document: its field, the host (or `host/org`) it holds, and for an
/// env var its name.
struct DocumentSetting {
    field: String,
    value: String,
    env_name: Option<String>,
}

/// The registry settings of one Kubernetes object (`registry_settings` describes them), with the
/// object as `Kind/name`; None for a document without a kind.
fn document_settings(doc: &Value, shape: Shape) -> Option<(String, Vec<DocumentSetting>)> {
    let text = |p: &str| doc.get(&ValuesPath::parse(p)).and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = text("kind");
    if kind.is_empty() {
        return None;
    }
    let object = format!("{kind}/{}", text("metadata.name"));
    let mut found = Vec::new();
    if let Some(spec_path) = crate::kube::pod_spec_path(&kind) {
        let spec = doc.get(&ValuesPath::parse(&spec_path.join(".")));
        for (field, name, value) in env_sources(spec, &spec_path.join("."), shape) {
            found.push(DocumentSetting { field, value, env_name: Some(name) });
        }
        return Some((object, found));
    }
    let mut fields = Vec::new();
    settings_in(doc, &mut String::new(), shape, &mut fields);
    let data = match kind.as_str() {
        "ConfigMap" => "data",
        "Secret" => "stringData",
        _ => "",
    };
    if let (false, Some(Value::Map(values))) = (data.is_empty(), doc.get(&ValuesPath::parse(data))) {
        for (key, content) in values {
            let Some(content) = content.as_str() else { continue };
            if !content.contains(':') || content.len() > TEXT_LIMIT {
                continue;
            }
            // An operator's config file: only a document that parses as YAML.
            let Ok(inner) = crate::yaml::parse_documents(content, &object) else { continue };
            for document in inner {
                let mut inside = Vec::new();
                settings_in(&document, &mut String::new(), shape, &mut inside);
                fields.extend(inside.into_iter().map(|(f, h)| (format!("{data}.{key}: {f}"), h)));
            }
        }
    }
    found.extend(fields.into_iter().map(|(field, value)| DocumentSetting { field, value, env_name: None }));
    Some((object, found))
}

/// False when a document's bytes cannot hold a registry setting, so `verify` need not parse it
/// again: every setting has a key naming a registry (`registry`, `_REPO_URL`) or is an env var
/// whose name `kube::names_an_image`/`names_an_image_source` accept (`_IMAGE`, `IMAGE_`,
/// `_BUILDER`, `IMAGE` itself), all matched here without regard to case.
pub fn may_hold_registry_settings(document: &[u8]) -> bool {
    static WORDS: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    WORDS
        .get_or_init(|| {
            regex::bytes::Regex::new(r#"(?i)registry|repo_url|_image|image_|builder|name["']?\s*:\s*["']?image\b"#)
                .expect("valid regex")
        })
        .is_match(document)
}

/// The registry settings of one object of a manifest stream, as `registry_settings` finds them in
/// a render: (`Kind/name field`, the host or `host/org` it holds). What `verify` checks, since an
/// operator pulls its operand images from there whatever the stream's image fields say.
pub fn stream_registry_settings(doc: &Value) -> Vec<(String, String)> {
    let Some((object, settings)) = document_settings(doc, Shape::Source) else { return Vec::new() };
    settings.into_iter().map(|s| (format!("{object} {}", s.field), s.value)).collect()
}

/// The most bytes of one ConfigMap value read as a config document for settings.
const TEXT_LIMIT: usize = 1 << 20;

/// Container env vars of a pod spec that name where images come from and hold a host or a
/// `host/org` prefix (not a whole repository: that is an image site): (field path, name, value).
fn env_sources(spec: Option<&Value>, spec_path: &str, shape: Shape) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let Some(spec) = spec else { return out };
    for list in crate::kube::CONTAINER_LISTS {
        let Some(Value::List(containers)) = spec.get(&ValuesPath::parse(list)) else { continue };
        for (i, container) in containers.iter().enumerate() {
            let Some(Value::List(env)) = container.get(&ValuesPath::parse("env")) else { continue };
            for (j, var) in env.iter().enumerate() {
                let get = |k: &str| var.get(&ValuesPath::parse(k)).and_then(Value::as_str);
                let (Some(name), Some(value)) = (get("name"), get("value")) else { continue };
                let names = crate::kube::names_an_image_source(name) || crate::kube::names_an_image(name);
                if names && (shape == Shape::Any || is_source(value)) {
                    out.push((format!("{spec_path}.{list}[{i}].env[{j}].value"), name.to_string(), value.to_string()));
                }
            }
        }
    }
    out
}

/// A host alone, or a host and a path prefix that is no image of its own (`quay.io/org`).
fn is_source(text: &str) -> bool {
    if is_host(text) {
        return true;
    }
    let Some((first, rest)) = text.split_once('/') else { return false };
    is_host(first)
        && !rest.is_empty()
        && !rest.contains(['/', ':', '@', '{', ' '])
        && !Reference::looks_like_reference(text)
        && Reference::parse(&format!("{text}/image")).is_ok()
}

/// Where the value of env var `name` starts in the rendered text: the first `value` after a
/// `name: NAME` entry (plain or quoted) whose text is `value`.
fn env_value_at(text: &str, name: &str, value: &str) -> Option<usize> {
    for spelled in [format!("name: {name}\n"), format!("name: \"{name}\"\n"), format!("name: '{name}'\n")] {
        for (at, _) in text.match_indices(&spelled) {
            let after = at + spelled.len();
            let window = &text[after..text.len().min(after + 400)];
            let Some(v) = window.find("value:") else { continue };
            let start = after + v + "value:".len();
            let rest = &text[start..];
            let skipped = rest.len() - rest.trim_start_matches(' ').len();
            let mut begin = start + skipped;
            if text[begin..].starts_with(['"', '\'']) {
                begin += 1;
            }
            if text[begin..].starts_with(value) {
                return Some(begin);
            }
        }
    }
    None
}

fn settings_in(value: &Value, path: &mut String, shape: Shape, out: &mut Vec<(String, String)>) {
    let Value::Map(map) = value else {
        if let Value::List(items) = value {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                settings_in(item, path, shape, out);
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
            Value::String(host)
                if key.to_ascii_lowercase().contains("registry")
                    && !composes
                    && (shape == Shape::Any || is_host(host)) =>
            {
                out.push((path.clone(), host.clone()));
            }
            _ => settings_in(child, path, shape, out),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn documents(text: &str) -> Vec<Value> {
        crate::yaml::parse_documents(text, "t").unwrap()
    }

    #[test]
    fn the_byte_filter_lets_every_registry_setting_through_and_skips_plain_pods() {
        let with_settings = [
            "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  container-registry: quay.io\n",
            "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  op.yaml: |\n    defaultRegistry: ghcr.io\n",
            "kind: Operand\nmetadata: {name: o}\nspec:\n  Registry: docker.example.net\n",
            "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - image: a\n        env:\n        - {name: MIRROR_REGISTRY, value: quay.io}\n        - {name: ENGINE_REPO_URL, value: quay.io/org}\n",
            "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - image: a\n        env:\n        - {name: sidecar_image, value: quay.io/org}\n",
            "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - image: a\n        env:\n        - {\"name\": \"IMAGE\", \"value\": \"quay.io/org\"}\n",
            "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - image: a\n        env:\n        - {name: APP_BUILDER, value: quay.io}\n        - {name: RELATED_IMAGE_X, value: ghcr.io/org}\n",
        ];
        for text in with_settings {
            let found: Vec<_> = documents(text).iter().flat_map(stream_registry_settings).collect();
            assert!(!found.is_empty(), "no setting in {text}");
            assert!(may_hold_registry_settings(text.as_bytes()), "filtered out: {text}");
        }
        let plain = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: quay.io/org/app:1\n    env: [{name: X, value: some text}]\n";
        assert!(documents(plain).iter().flat_map(stream_registry_settings).next().is_none());
        assert!(!may_hold_registry_settings(plain.as_bytes()));
    }
}
