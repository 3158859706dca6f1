//! The fixture charts under fixtures/charts/, rendered by the real Helm engine, and an image walker
//! over rendered manifests that is independent of the crate's own discovery and rewrite code.
//!
//! The end-to-end tests reuse [`fixture_charts`], [`fixture_variants`] and [`rendered_images`]:
//! render a fixture with its defaults (and each `ci/*.yaml` variant) and with a generated overlay,
//! then compare what the walker finds in both.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::engine;

/// One image reference found in rendered manifests: (template path as the engine names it, YAML
/// path inside that template, the reference exactly as rendered).
pub type RenderedImage = (String, String, String);

/// Every chart under fixtures/charts/ (a directory holding a Chart.yaml, or a packaged .tgz),
/// sorted by path so test output is stable. Read from disk: adding a fixture needs no code change.
pub fn fixture_charts() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/charts");
    let entries =
        fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: cannot list the fixture charts: {e}", root.display()));
    let mut charts: Vec<PathBuf> = entries
        .map(|entry| entry.expect("fixture directory entry").path())
        .filter(|path| path.join("Chart.yaml").is_file() || path.extension().is_some_and(|ext| ext == "tgz"))
        .collect();
    charts.sort();
    charts
}

/// Every image reference in `manifests` (template path -> rendered text, as `engine::render`
/// returns it), in template order, then document order, then field order. Found:
///
/// - any string field named `image` in any object: containers, initContainers and
///   ephemeralContainers of every pod spec (Deployment, Job, CronJob, bare Pod, ...) and image
///   fields of custom resources alike;
/// - any other string field whose key contains `image` in any letter case (`docker_image`,
///   `imageRef`), when the string reads as a reference by [`plausible`];
/// - sibling string fields of one mapping that compose a reference: `registry` (a host) +
///   `repository` + `tag`/`version` (+ `digest`); `repository` (host and path) + `image` (a bare
///   name) + `version`/`tag`; `repository` (starting with a host) + `tag`/`version`/`digest`. The
///   composed reference is reported at the host-carrying field;
/// - `env` items whose `name` ends with `_IMAGE`, `_IMAGE_NAME` or `_BUILDER` or starts with
///   `RELATED_IMAGE_` (their `value`), and in any env value of several lines, each `NAME=REF`
///   line's REF (path `...value#line N`); an `X_IMAGE` or `X_IMAGE_REPOSITORY`/`X_IMAGE_REPO`
///   value without a tag or digest of its own, beside `X_IMAGE_TAG` or `X_IMAGE_VERSION` and/or
///   `X_IMAGE_DIGEST`, is the composed `value:tag@digest`, at the repository's item;
/// - `args` and `command` items of the form `--image=<reference>` or `--<name>-image=<reference>`;
/// - ConfigMap `data` and Secret `stringData`: a value that is a whole reference; flat keys that
///   compose one as siblings do (`scanner.repository` + `scanner.tag`); and, in a text value of
///   several lines with no `{{` (templated text is another program's), either the rules above
///   applied to the YAML/JSON documents it holds, where also any string that spells a registry
///   host and a tag counts (path `data.<key>#<path>`), or, for text that is not YAML, per line:
///   TOML `<key containing image> = "REF"`, `--<name containing image>=REF`, `NAME=REF` lines
///   (path `data.<key>#line N`);
/// - ConfigMap `data` entries that hold YAML documents with a `base` string and a `components`
///   map (the Piraeus image config): read in ascending key order, then document order, a later
///   definition of a component replacing an earlier one whole, as the operator does. Each winning
///   component yields `base/image[:tag][@digest]`, and each of its `match` items the same with the
///   match's image. A component without an `image` yields nothing.
///
/// `image: auto` (filled in by an injector) and empty strings are skipped.
///
/// The YAML path is `<Kind>/<metadata.name>:<path>` (or `#<document index>:<path>` when a document
/// has no kind or name), the path dotted with `[i]` for list items and `["key"]` for keys holding
/// `.` or `/`, e.g. `Deployment/release-x:spec.template.spec.containers[0].image`; an image-config
/// entry reads `ConfigMap/<name>:data["0_images.yaml"][0].components.linstor-controller` (the `[0]`
/// is the document inside that entry), plus `.match[i]` for a match item.
///
/// Panics, naming the template, when a template's text is not YAML.
pub fn rendered_images(manifests: &BTreeMap<String, String>) -> Vec<RenderedImage> {
    let mut found = Vec::new();
    for (template, text) in manifests {
        for (index, document) in yaml_documents(text)
            .unwrap_or_else(|e| panic!("{template}: the rendered text is not YAML: {e}"))
            .into_iter()
            .enumerate()
        {
            if document.is_null() {
                continue;
            }
            let prefix = document_label(&document, index);
            let mut images = Vec::new();
            walk(&document, &mut String::new(), false, &mut images);
            let kind = document.get("kind").and_then(Value::as_str);
            if kind == Some("ConfigMap") {
                if let Some(data) = document.get("data").and_then(Value::as_mapping) {
                    image_config_images(data, &mut images);
                    data_images(data, "data", &mut images);
                }
            }
            if kind == Some("Secret") {
                if let Some(data) = document.get("stringData").and_then(Value::as_mapping) {
                    data_images(data, "stringData", &mut images);
                }
            }
            found.extend(
                images
                    .into_iter()
                    .filter(|(_, image)| !image.is_empty() && image != "auto")
                    .map(|(path, image)| (template.clone(), format!("{prefix}:{path}"), image)),
            );
        }
    }
    found
}

/// All YAML documents of one rendered template or one embedded data entry.
fn yaml_documents(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    serde_yaml::Deserializer::from_str(text).map(Value::deserialize).collect()
}

fn document_label(document: &Value, index: usize) -> String {
    let kind = document.get("kind").and_then(Value::as_str);
    let name = document.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str);
    match (kind, name) {
        (Some(kind), Some(name)) => format!("{kind}/{name}"),
        _ => format!("#{index}"),
    }
}

/// Appends `key` to a dotted YAML path, bracketing keys a dot would make ambiguous.
fn push_key(path: &str, key: &str) -> String {
    if key.contains(['.', '/', '[', ']', '"']) || key.is_empty() {
        format!("{path}[{key:?}]")
    } else if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Reads as an image reference, by the rule the README states for text: no spaces, template
/// braces, URL or file path; a digest; or a registry host (a dot, a port or `localhost`) with a
/// tag or two path segments; or, without a host, a tag (a port number after a single dotted or
/// bare name is an address, not a tag).
pub fn plausible(text: &str) -> bool {
    let not = text.is_empty()
        || text.contains(char::is_whitespace)
        || text.contains("{{")
        || text.contains("}}")
        || text.contains("://")
        || text.starts_with(['/', '.', '-'])
        || text.chars().any(|c| c.is_ascii_uppercase() || "\"'=,;()[]{}<>|\\$`*?!#%&^~".contains(c));
    if not {
        return false;
    }
    if text.contains("@sha256:") {
        return true;
    }
    let segments: Vec<&str> = text.split('/').collect();
    let first = segments[0];
    let host = segments.len() > 1 && (first.contains(['.', ':']) || first == "localhost");
    let last = segments[segments.len() - 1];
    let tag = last.split_once(':').map(|(_, t)| t).filter(|t| !t.is_empty());
    if host {
        return tag.is_some() || first.contains(':') || first == "localhost" || segments.len() >= 3;
    }
    let Some(tag) = tag else { return false };
    if segments.len() > 1 {
        return true;
    }
    let name = &last[..last.len() - tag.len() - 1];
    let port = tag.len() >= 3 && tag.chars().all(|c| c.is_ascii_digit());
    !name.is_empty() && !name.contains('.') && (tag.chars().any(|c| c.is_ascii_digit()) || tag == "latest") && !port
}

/// `plausible`, with a registry host written and a tag or digest.
fn qualified(text: &str) -> bool {
    let Some((first, rest)) = text.split_once('/') else { return false };
    let last = rest.rsplit('/').next().unwrap_or(rest);
    plausible(text)
        && (first.contains('.') || first.contains(':') || first == "localhost")
        && (text.contains('@') || last.contains(':'))
}

fn is_host(text: &str) -> bool {
    !text.contains(['/', ' ', '{', '@']) && (text.contains('.') || text.contains(':') || text == "localhost")
}

/// Sibling string fields that compose one reference: (key of the host-carrying field, composed).
fn composed(fields: &BTreeMap<String, String>) -> Option<(String, String)> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty() && !v.contains("{{"))
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    let mut suffix = String::new();
    if let Some((_, tag)) = get("tag").or_else(|| get("version")) {
        suffix.push(if tag.starts_with("sha256:") { '@' } else { ':' });
        suffix.push_str(&tag);
    }
    if let Some((_, digest)) = get("digest") {
        suffix.push('@');
        suffix.push_str(&digest);
    }
    let starts_with_host = |r: &str| r.split_once('/').is_some_and(|(first, _)| is_host(first));
    let (key, reference) = match (get("registry"), get("repository"), get("image")) {
        (Some((k, registry)), Some((_, repository)), None) if is_host(&registry) && !starts_with_host(&repository) => {
            (k, format!("{registry}/{repository}{suffix}"))
        }
        (None, Some((k, repository)), Some((_, image)))
            if repository.contains('/') && !repository.ends_with('/') && !image.contains(['/', ':', '@']) =>
        {
            (k, format!("{repository}/{image}{suffix}"))
        }
        (None, Some((k, repository)), None) if !suffix.is_empty() && starts_with_host(&repository) => {
            (k, format!("{repository}{suffix}"))
        }
        _ => return None,
    };
    plausible(&reference).then_some((key, reference))
}

fn walk(value: &Value, path: &mut String, in_text: bool, found: &mut Vec<(String, String)>) {
    match value {
        Value::Mapping(map) => {
            let strings: BTreeMap<String, String> =
                map.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string()))).collect();
            let split = composed(&strings);
            for (key, child) in map {
                let Some(key) = key.as_str() else { continue };
                let child_path = push_key(path, key);
                if let Some((host_key, reference)) = &split {
                    if key == host_key {
                        found.push((child_path, reference.clone()));
                        continue;
                    }
                    if matches!(key.to_ascii_lowercase().as_str(), "image" | "repository" | "registry") {
                        continue; // a part of the composed reference
                    }
                }
                match (key, child) {
                    ("image", Value::String(image)) if !in_text => found.push((child_path, image.clone())),
                    (_, Value::String(text)) if key.to_ascii_lowercase().contains("image") && plausible(text) => {
                        found.push((child_path, text.clone()));
                    }
                    (_, Value::String(text)) if in_text && qualified(text) => found.push((child_path, text.clone())),
                    ("env", Value::Sequence(items)) => env_images(items, &child_path, found),
                    ("args" | "command", Value::Sequence(items)) => flag_images(items, &child_path, found),
                    _ => walk(child, &mut child_path.clone(), in_text, found),
                }
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &mut format!("{path}[{i}]"), in_text, found);
            }
        }
        Value::Tagged(tagged) => walk(&tagged.value, path, in_text, found),
        _ => {}
    }
}

/// ConfigMap `data` / Secret `stringData`: whole references, flat sibling keys, text values.
fn data_images(data: &serde_yaml::Mapping, field: &str, found: &mut Vec<(String, String)>) {
    let entries: Vec<(&str, &str)> = data.iter().filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?))).collect();
    let mut groups: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for (key, value) in &entries {
        if let Some((prefix, last)) = key.rsplit_once('.') {
            groups.entry(prefix).or_default().insert(last.to_string(), value.to_string());
        }
    }
    let mut taken: Vec<String> = Vec::new();
    for (prefix, fields) in &groups {
        if let Some((host_key, reference)) = composed(fields) {
            found.push((push_key(field, &format!("{prefix}.{host_key}")), reference));
            for part in ["image", "repository", "registry"] {
                if let Some(k) = fields.keys().find(|k| k.eq_ignore_ascii_case(part)) {
                    taken.push(format!("{prefix}.{k}"));
                }
            }
        }
    }
    for (key, value) in entries {
        if taken.iter().any(|t| t == key) || key.to_ascii_lowercase().contains("image") {
            continue; // composed above, or found by the walk already
        }
        let path = push_key(field, key);
        if plausible(value) {
            found.push((path, value.to_string()));
        } else if (value.contains('\n') || value.starts_with('{')) && !value.contains("{{") {
            text_images(value, &path, found);
        }
    }
}

/// References inside one text value: its YAML/JSON documents walked, or image-context lines.
fn text_images(text: &str, path: &str, found: &mut Vec<(String, String)>) {
    if let Ok(documents) = yaml_documents(text) {
        if documents.iter().any(|d| d.is_mapping() || d.is_sequence()) {
            for document in documents {
                let mut inner = Vec::new();
                walk(&document, &mut String::new(), true, &mut inner);
                found.extend(inner.into_iter().map(|(p, image)| (format!("{path}#{p}"), image)));
            }
            return;
        }
    }
    line_images(text, path, false, found);
}

/// Image-context lines: TOML `..image.. = "REF"`, `--..image..=REF`, `NAME=REF`.
fn line_images(text: &str, path: &str, list_only: bool, found: &mut Vec<(String, String)>) {
    for (n, line) in text.split('\n').enumerate() {
        let mut refs: Vec<String> = Vec::new();
        let trimmed = line.trim();
        if let Some((name, value)) = trimmed.split_once('=') {
            let name = name.trim().trim_start_matches("export ").trim_matches('"');
            let value = value.trim();
            let unquoted = value.trim_matches(['"', '\'']);
            let simple_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            let spaced = trimmed.contains(" =") || trimmed.contains("= ");
            let toml_image =
                !list_only && name.to_ascii_lowercase().contains("image") && value.starts_with(['"', '\'']);
            let assignment = !spaced && !value.contains(['=', ' ']);
            if simple_name && (toml_image || assignment) {
                refs.push(unquoted.to_string());
            }
        }
        if !list_only {
            for word in line.split_whitespace() {
                if let Some((flag, value)) = word.strip_prefix("--").and_then(|w| w.split_once('=')) {
                    if flag.to_ascii_lowercase().contains("image") {
                        refs.push(value.trim_matches(['"', '\'', ',', ';']).to_string());
                    }
                }
            }
        }
        refs.retain(|r| plausible(r));
        refs.dedup();
        for reference in refs {
            found.push((format!("{path}#line {}", n + 1), reference));
        }
    }
}

fn env_images(items: &[Value], path: &str, found: &mut Vec<(String, String)>) {
    let value_of = |wanted: &str| {
        items.iter().find_map(|item| {
            let name = item.get("name").and_then(Value::as_str)?;
            let value = item.get("value").and_then(Value::as_str)?;
            (name.eq_ignore_ascii_case(wanted) && !value.is_empty()).then_some(value)
        })
    };
    for (i, item) in items.iter().enumerate() {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        let Some(value) = item.get("value").and_then(Value::as_str) else { continue };
        let value_path = format!("{path}[{i}].value");
        // The image these vars name: `X_IMAGE` itself, or `X_IMAGE` of `X_IMAGE_REPOSITORY`.
        let upper = name.to_ascii_uppercase();
        let image = ["_REPOSITORY", "_REPO"]
            .iter()
            .find_map(|end| upper.strip_suffix(end).filter(|p| p.ends_with("_IMAGE")))
            .or_else(|| upper.ends_with("_IMAGE").then_some(upper.as_str()));
        let tag = image.and_then(|p| value_of(&format!("{p}_TAG")).or_else(|| value_of(&format!("{p}_VERSION"))));
        let digest = image.and_then(|p| value_of(&format!("{p}_DIGEST")));
        let bare = !value.rsplit('/').next().unwrap_or(value).contains([':', '@']);
        if bare && (tag.is_some() || digest.is_some()) {
            let mut composed = value.to_string();
            if let Some(tag) = tag {
                composed = format!("{composed}:{tag}");
            }
            if let Some(digest) = digest {
                composed = format!("{composed}@{digest}");
            }
            found.push((value_path, composed));
            continue;
        }
        let named = ["_IMAGE", "_IMAGE_NAME", "_BUILDER"].iter().any(|s| name.ends_with(s))
            || name.starts_with("RELATED_IMAGE_");
        if named {
            found.push((value_path, value.to_string()));
        } else if value.contains('\n') {
            line_images(value, &value_path, true, found);
        }
    }
}

fn flag_images(items: &[Value], path: &str, found: &mut Vec<(String, String)>) {
    for (i, item) in items.iter().enumerate() {
        let Some(flag) = item.as_str().and_then(|s| s.strip_prefix("--")) else {
            continue;
        };
        if let Some((name, reference)) = flag.split_once('=') {
            // `--helper-image=`, `--image=`: the flag names an image. `--image-config-map-name=`
            // merely mentions the word and holds a ConfigMap name.
            if name == "image" || name.ends_with("-image") {
                found.push((format!("{path}[{i}]"), reference.to_string()));
            }
        }
    }
}

/// A component as the image config defines it, with where that definition sits.
struct ImageConfigEntry {
    path: String,
    base: String,
    component: Value,
}

/// Expands the `base` + `components` documents of one ConfigMap's data, later definitions of a
/// component replacing earlier ones (keys ascending, then documents in order).
fn image_config_images(data: &serde_yaml::Mapping, found: &mut Vec<(String, String)>) {
    let mut entries: Vec<(&str, &str)> = data.iter().filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?))).collect();
    entries.sort_unstable();
    let mut winners: BTreeMap<String, ImageConfigEntry> = BTreeMap::new();
    for (key, text) in entries {
        // Most data entries are not YAML documents at all; they simply hold no image config.
        let Ok(documents) = yaml_documents(text) else {
            continue;
        };
        for (index, document) in documents.iter().enumerate() {
            let base = document.get("base").and_then(Value::as_str);
            let components = document.get("components").and_then(Value::as_mapping);
            let (Some(base), Some(components)) = (base, components) else {
                continue;
            };
            let document_path = format!("{}[{index}].components", push_key("data", key));
            for (name, component) in components {
                let Some(name) = name.as_str() else { continue };
                winners.insert(
                    name.to_string(),
                    ImageConfigEntry {
                        path: push_key(&document_path, name),
                        base: base.trim_end_matches('/').to_string(),
                        component: component.clone(),
                    },
                );
            }
        }
    }
    for entry in winners.values() {
        let field = |name: &str| entry.component.get(name).and_then(Value::as_str);
        let reference = |image: &str| {
            let mut reference = format!("{}/{image}", entry.base);
            if let Some(tag) = field("tag").filter(|t| !t.is_empty()) {
                reference.push(':');
                reference.push_str(tag);
            }
            if let Some(digest) = field("digest").filter(|d| !d.is_empty()) {
                reference.push('@');
                reference.push_str(digest);
            }
            reference
        };
        if let Some(image) = field("image") {
            found.push((entry.path.clone(), reference(image)));
        }
        let matches = entry.component.get("match").and_then(Value::as_sequence);
        for (i, item) in matches.into_iter().flatten().enumerate() {
            if let Some(image) = item.get("image").and_then(Value::as_str) {
                found.push((format!("{}.match[{i}]", entry.path), reference(image)));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The walker on hand-written manifests: each case is one rule of `rendered_images`.

fn manifests(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(template, text)| (template.to_string(), text.to_string())).collect()
}

fn images_only(found: &[RenderedImage]) -> Vec<&str> {
    found.iter().map(|(_, _, image)| image.as_str()).collect()
}

#[test]
fn walker_finds_every_container_kind_in_every_pod_spec() {
    let found = rendered_images(&manifests(&[(
        "c/templates/cronjob.yaml",
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  jobTemplate:\n    \
         spec:\n      template:\n        spec:\n          initContainers:\n          - {name: a, \
         image: 'reg.example/init:1'}\n          containers:\n          - {name: b, image: \
         'reg.example/main:2'}\n          ephemeralContainers:\n          - {name: c, image: \
         'busybox'}\n",
    )]));
    assert_eq!(
        found,
        vec![
            (
                "c/templates/cronjob.yaml".to_string(),
                "CronJob/nightly:spec.jobTemplate.spec.template.spec.initContainers[0].image".to_string(),
                "reg.example/init:1".to_string()
            ),
            (
                "c/templates/cronjob.yaml".to_string(),
                "CronJob/nightly:spec.jobTemplate.spec.template.spec.containers[0].image".to_string(),
                "reg.example/main:2".to_string()
            ),
            (
                "c/templates/cronjob.yaml".to_string(),
                "CronJob/nightly:spec.jobTemplate.spec.template.spec.ephemeralContainers[0].image".to_string(),
                "busybox".to_string()
            ),
        ]
    );
}

#[test]
fn walker_reads_env_flags_and_custom_resource_fields() {
    let found = rendered_images(&manifests(&[(
        "c/templates/op.yaml",
        "kind: Deployment\nmetadata: {name: op}\nspec:\n  template:\n    spec:\n      containers:\n      \
         - name: m\n        image: q.example/op:1\n        env:\n        - {name: SIDECAR_IMAGE, \
         value: 'q.example/side:2'}\n        - {name: RELATED_IMAGE_linstor-csi, value: \
         'q.example/csi:3'}\n        - {name: IMAGE_PULL_POLICY, value: Always}\n        args: \
         ['--helper-image=q.example/helper:4', '--image-pull-policy', '--verbose=true']\n        \
         command: ['run', '--acme-http01-solver-image=q.example/solver:5']\n---\nkind: \
         Prometheus\nmetadata: {name: p}\nspec: {image: 'q.example/prom:6', version: v2}\n",
    )]));
    assert_eq!(
        images_only(&found),
        vec![
            "q.example/op:1",
            "q.example/side:2",
            "q.example/csi:3",
            "q.example/helper:4",
            "q.example/solver:5",
            "q.example/prom:6"
        ]
    );
    assert_eq!(found[2].1, "Deployment/op:spec.template.spec.containers[0].env[1].value");
    assert_eq!(found[5].1, "Prometheus/p:spec.image");
}

#[test]
fn walker_skips_auto_empty_bare_names_and_templated_text() {
    let found = rendered_images(&manifests(&[(
        "c/templates/mixed.yaml",
        "kind: Deployment\nmetadata: {name: gw}\nspec: {template: {spec: {containers: [{name: p, \
         image: auto}, {name: q, image: ''}]}}}\n---\nkind: ConfigMap\nmetadata: {name: inj}\ndata:\n  \
         values: '{\"global\": {\"proxy\": {\"image\": \"proxyv2\"}}}'\n  config: |\n    image: \
         '{{ .Hub }}/proxy'\n    other: busybox:1.28\n  dump.yaml: |\n    components:\n      agent: {image: {repository: x}}\n",
    )]));
    assert!(found.is_empty(), "found {found:?}");
}

// Issue 7 on purpose: an `image:` key inside a ConfigMap's YAML text is an image context now.
#[test]
fn walker_reads_references_in_config_text_values_and_sibling_fields() {
    let found = rendered_images(&manifests(&[(
        "c/templates/data.yaml",
        "kind: ConfigMap\nmetadata: {name: inj}\ndata:\n  config: |\n    image: busybox:1.28\n  \
         runner.toml: |\n    [r]\n    helper_image = \"q.example/helper:1\"\n    name = \"x:1\"\n  \
         start.sh: |\n    run --sidecar-image=q.example/side:2 --v=1\n  csi: q.example/csi:3\n  \
         s.repository: q.example/org/s\n  s.tag: '4'\n---\nkind: Policy\nmetadata: {name: p}\n\
         spec:\n  d: {repository: q.example/org, image: drv, version: '5'}\n  \
         m: {registry: docker.io, repository: org/mon, tag: '6'}\n  db: {docker_image: q.example/db:7}\n",
    )]));
    let got: Vec<(&str, &str)> = found.iter().map(|(_, p, i)| (p.as_str(), i.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("ConfigMap/inj:data[\"s.repository\"]", "q.example/org/s:4"),
            ("ConfigMap/inj:data.config#image", "busybox:1.28"),
            ("ConfigMap/inj:data[\"runner.toml\"]#line 2", "q.example/helper:1"),
            ("ConfigMap/inj:data[\"start.sh\"]#line 1", "q.example/side:2"),
            ("ConfigMap/inj:data.csi", "q.example/csi:3"),
            ("Policy/p:spec.d.repository", "q.example/org/drv:5"),
            ("Policy/p:spec.m.registry", "docker.io/org/mon:6"),
            ("Policy/p:spec.db.docker_image", "q.example/db:7"),
        ]
    );
}

#[test]
fn walker_expands_image_config_documents_with_later_ones_winning() {
    let config = "kind: ConfigMap\nmetadata: {name: r-image-config}\ndata:\n  \
        1_helm_override.yaml: |\n    base: mirror.example/piraeus\n    components:\n      \
        controller: {image: server, digest: 'sha256:ab'}\n  0_defaults.yaml: |\n    ---\n    \
        base: quay.example/piraeus/\n    components:\n      controller: {image: server, tag: v1}\n      \
        loader:\n        image: drbd9-noble\n        tag: v9\n        match:\n        - {osImage: \
        'Red Hat', image: drbd9-alma}\n    ---\n    base: k8s.example/sig\n    components:\n      \
        attacher: {image: csi-attacher, tag: v4, digest: 'sha256:cd'}\n";
    let found = rendered_images(&manifests(&[("p/templates/cm.yaml", config)]));
    let got: Vec<(&str, &str)> = found.iter().map(|(_, path, image)| (path.as_str(), image.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (
                "ConfigMap/r-image-config:data[\"0_defaults.yaml\"][1].components.attacher",
                "k8s.example/sig/csi-attacher:v4@sha256:cd"
            ),
            (
                "ConfigMap/r-image-config:data[\"1_helm_override.yaml\"][0].components.controller",
                "mirror.example/piraeus/server@sha256:ab"
            ),
            (
                "ConfigMap/r-image-config:data[\"0_defaults.yaml\"][0].components.loader",
                "quay.example/piraeus/drbd9-noble:v9"
            ),
            (
                "ConfigMap/r-image-config:data[\"0_defaults.yaml\"][0].components.loader.match[0]",
                "quay.example/piraeus/drbd9-alma:v9"
            ),
        ]
    );
}

#[test]
fn walker_names_the_template_when_the_text_is_not_yaml() {
    let broken = manifests(&[("c/templates/bad.yaml", "kind: [unclosed\n")]);
    let panic = std::panic::catch_unwind(|| rendered_images(&broken)).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.starts_with("c/templates/bad.yaml:"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Every fixture with the real engine.

/// The extra values files of a directory chart (`ci/*.yaml`, the chart-testing convention): each
/// turns on branches the defaults leave off. Returned as (file name, values).
pub fn fixture_variants(chart: &Path) -> Vec<(String, serde_json::Value)> {
    let Ok(entries) = fs::read_dir(chart.join("ci")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("ci directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: cannot read: {e}", file.display()));
            let values =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: not a values file: {e}", file.display()));
            let name = file.file_name().expect("file name").to_string_lossy();
            (name.into_owned(), values)
        })
        .collect()
}

#[test]
fn every_fixture_renders_with_defaults_and_variants_and_shows_images() {
    let charts = fixture_charts();
    assert!(!charts.is_empty(), "no fixture charts under fixtures/charts/");
    let mut failures = Vec::new();
    for chart in &charts {
        let mut runs = vec![("defaults".to_string(), serde_json::json!({}))];
        runs.extend(fixture_variants(chart));
        for (run, values) in runs {
            let label = format!("{} ({run})", chart.display());
            match engine::try_render(chart, &values) {
                Err(e) => failures.push(format!("{label}: render failed: {e}")),
                Ok(manifests) => {
                    let images = rendered_images(&manifests);
                    if images.is_empty() {
                        failures.push(format!("{label}: no container image rendered"));
                    }
                    for (template, path, image) in &images {
                        if image.contains(char::is_whitespace) || image.contains("{{") {
                            failures.push(format!("{label}: {template}: {path}: not a reference: {image:?}"));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn seed_fixture(name: &str) -> PathBuf {
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/charts").join(name);
    assert!(fixture_charts().contains(&chart), "{} is not listed", chart.display());
    chart
}

/// The images rendered from templates whose path contains `template_part`.
fn images_in(found: &[RenderedImage], template_part: &str) -> Vec<String> {
    found
        .iter()
        .filter(|(template, _, _)| template.contains(template_part))
        .map(|(_, _, image)| image.clone())
        .collect()
}

#[test]
fn perfectscale_nested_archive_renders_and_pins_kube_state_metrics_to_public_ecr() {
    let chart = seed_fixture("perfectscale-agent");
    let defaults = rendered_images(&engine::render(&chart, &serde_json::json!({})));
    let ksm = "charts/psc-exporter/charts/kube-state-metrics/";
    assert_eq!(images_in(&defaults, ksm), vec!["public.ecr.aws/perfectscale-io/kube-state-metrics:v2.13.0"]);
    assert!(images_in(&defaults, "charts/psc-exporter/charts/prometheus-windows-exporter/")
        .iter()
        .all(|image| image.starts_with("ghcr.io/")));
    assert!(images_in(&defaults, "charts/nodeAgent/").is_empty());

    // The global registry reaches only the nested kube-state-metrics.
    let mirrored = rendered_images(&engine::render(
        &chart,
        &serde_json::json!({"global": {"imageRegistry": "registry.example.org"}}),
    ));
    for (template, _, image) in &mirrored {
        let moved = image.starts_with("registry.example.org/");
        assert_eq!(moved, template.contains(ksm), "{template}: {image}");
    }
}

#[test]
fn stackstate_exporter_ignores_the_global_and_router_gets_it_prepended() {
    let chart = seed_fixture("stackstate");
    let found = rendered_images(&engine::render(
        &chart,
        &serde_json::json!({"global": {"imageRegistry": "registry.example.org"}}),
    ));
    assert_eq!(
        images_in(&found, "charts/elasticsearch/charts/elasticsearch-exporter/"),
        vec!["justwatch/elasticsearch_exporter:1.1.0"]
    );
    assert_eq!(
        images_in(&found, "templates/router.yaml"),
        vec!["registry.example.org/quay.io/stackstate/envoy-alpine:v1.19.1"]
    );
    let server = images_in(&found, "templates/server-split.yaml");
    assert_eq!(server.len(), 8, "four components, each with its wait init container");
    assert!(server.contains(&"registry.example.org/stackstate/stackstate-server-stable:4.2.2".to_string()));
}

#[test]
fn cloudzero_defaults_block_alone_feeds_the_certificate_job() {
    let chart = seed_fixture("cloudzero-agent");
    let found = rendered_images(&engine::render(
        &chart,
        &serde_json::json!({"components": {"agent": {"image": {"repository": "registry.example.org/cz/agent"}}}}),
    ));
    assert!(images_in(&found, "templates/aggregator.yaml")
        .iter()
        .all(|image| image == "registry.example.org/cz/agent:1.2.9"));
    assert_eq!(
        images_in(&found, "templates/init-cert-job.yaml"),
        vec!["ghcr.io/cloudzero/cloudzero-agent/cloudzero-agent:1.2.9"]
    );
    assert_eq!(
        images_in(&found, "charts/kubeStateMetrics/"),
        vec!["registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.17.0"]
    );
}

#[test]
fn aspen_mesh_cni_hubs_do_not_follow_global_hub() {
    let chart = seed_fixture("aspen-mesh");
    let found = rendered_images(&engine::render(
        &chart,
        &serde_json::json!({"global": {"hub": "registry.example.org/aspenmesh"}}),
    ));
    assert_eq!(images_in(&found, "templates/istiod.yaml"), vec!["registry.example.org/aspenmesh/pilot:1.14.6-am1"]);
    assert_eq!(
        images_in(&found, "templates/cni.yaml"),
        vec![
            "quay.io/aspenmesh/releases/install-cni:1.14.6-am1-distroless",
            "quay.io/aspenmesh/releases/install-cni:1.14.6-am1"
        ]
    );
    assert!(images_in(&found, "charts/ingressgateway/").is_empty(), "image: auto is skipped");
}

#[test]
fn piraeus_override_document_wins_over_the_defaults() {
    let chart = seed_fixture("piraeus");
    let defaults = rendered_images(&engine::render(&chart, &serde_json::json!({})));
    let config = images_in(&defaults, "templates/image-config.yaml");
    assert!(config.contains(&"quay.io/piraeusdatastore/piraeus-server:v1.31.0".to_string()));
    assert!(config.contains(&"quay.io/piraeusdatastore/drbd9-almalinux9:v9.2.13".to_string()));
    assert!(config.contains(&"registry.k8s.io/sig-storage/csi-attacher:v4.8.1".to_string()));
    assert!(images_in(&defaults, "templates/operator.yaml")
        .contains(&"quay.io/piraeusdatastore/piraeus-csi:v1.7.1".to_string()));

    let override_values = serde_json::json!({"imageConfigOverride": [{
        "base": "registry.example.org/piraeusdatastore",
        "components": {"linstor-controller": {"image": "piraeus-server", "tag": "v1.31.1"}},
    }]});
    let overridden = rendered_images(&engine::render(&chart, &override_values));
    let config = images_in(&overridden, "templates/image-config.yaml");
    assert!(config.contains(&"registry.example.org/piraeusdatastore/piraeus-server:v1.31.1".to_string()));
    assert_eq!(config.len(), images_in(&defaults, "templates/image-config.yaml").len());
    let component = |name: &str| -> Vec<&str> {
        overridden
            .iter()
            .filter(|(_, path, _)| path.ends_with(&format!(".components.{name}")))
            .map(|(_, _, image)| image.as_str())
            .collect()
    };
    assert_eq!(component("linstor-controller"), vec!["registry.example.org/piraeusdatastore/piraeus-server:v1.31.1"]);
    assert_eq!(component("linstor-satellite"), vec!["quay.io/piraeusdatastore/piraeus-server:v1.31.0"]);
}

#[test]
fn cloudzero_clustered_variant_runs_alloy_and_honours_a_deprecated_tag() {
    let chart = seed_fixture("cloudzero-agent");
    let (_, values) = fixture_variants(&chart)
        .into_iter()
        .find(|(name, _)| name == "clustered-values.yaml")
        .expect("cloudzero-agent/ci/clustered-values.yaml");
    let found = rendered_images(&engine::render(&chart, &values));
    assert_eq!(images_in(&found, "templates/alloy.yaml"), vec!["docker.io/grafana/alloy:v1.11.3"]);
    assert!(images_in(&found, "templates/server.yaml").is_empty());
    assert_eq!(
        images_in(&found, "templates/tests/validator.yaml"),
        vec!["ghcr.io/cloudzero/cloudzero-agent/cloudzero-agent:1.2.8"]
    );
}

// Issue 7: images handed to an operator as data, as the real engine renders them.
#[test]
fn operator_data_images_are_found_in_crs_configmaps_and_env_lists() {
    let found = rendered_images(&engine::render(&seed_fixture("operator-data-images"), &serde_json::json!({})));
    let got: Vec<(String, &str)> =
        found.iter().map(|(_, path, image)| (path.split_once(':').unwrap().1.to_string(), image.as_str())).collect();
    for (path, image) in [
        ("spec.driver.repository", "nvcr.example.com/fleet/accel-driver:550.54.15"),
        ("spec.toolkit.repository", "nvcr.example.com/fleet/container-toolkit:v1.17.4-ubuntu20.04"),
        ("spec.monitor.registry", "docker.io/fleet/monitor:1.8"),
        ("spec.validator.repository", "nvcr.example.com/fleet/validator:v24.9.0"),
        ("configuration.docker_image", "ghcr.io/fleet-db/engine-16:3.2-p1"),
        (
            "configuration.logical_backup.logical_backup_docker_image",
            "registry.example.com/fleet-db/logical-backup:v1.13.0",
        ),
        ("data.provisioner", "registry.k8s.io/sig-storage/csi-provisioner:v5.1.0"),
        ("data[\"scanner.repository\"]", "mirror.gcr.io/fleet/scanner:0.58.1"),
        ("spec.template.spec.containers[0].env[0].value", "quay.example.net/fleet/fleet-operator:2.3.1"),
        ("spec.template.spec.containers[0].env[1].value", "ghcr.io/fleet-tools/bundle-builder:0.9.2"),
        ("spec.template.spec.containers[0].env[2].value#line 2", "ghcr.io/fleet-db/engine-16:3.2-p1"),
    ] {
        assert!(got.contains(&(path.to_string(), image)), "{path} {image} not in {got:#?}");
    }
    // A registry setting is a knob, not a reference; bare operand names are not images.
    let operand_name = |p: &str| p.starts_with("spec.") && !p.contains("containers") && p.ends_with(".image");
    assert!(!got.iter().any(|(p, _)| p.contains("container-registry") || operand_name(p)), "{got:#?}");
}

#[test]
fn config_text_images_are_found_in_yaml_toml_json_and_scripts_but_not_in_templated_text() {
    let found = rendered_images(&engine::render(&seed_fixture("config-text-images"), &serde_json::json!({})));
    let got: Vec<(String, &str)> =
        found.iter().map(|(_, path, image)| (path.split_once(':').unwrap().1.to_string(), image.as_str())).collect();
    for (path, image) in [
        (
            "data[\"casc.yaml\"]#server.clouds[0].kubernetes.templates[0].containers[0].image",
            "docker.io/buildsrv/inbound-agent:3283.v92c105e0f819-1",
        ),
        ("data[\"runner.toml\"]#line 5", "docker.io/library/alpine:3.20"),
        ("data[\"runner.toml\"]#line 6", "registry.gitlab.example.com/runner/helper:x86_64-v17.5.0"),
        ("data[\"settings.json\"]#scanner.image", "quay.io/buildsrv/scanner:1.4.0"),
        ("data[\"start.sh\"]#line 3", "quay.io/buildsrv/sidecar:2.1.0"),
        ("data[\"plugins.yaml\"]#plugins[0].artifact", "ghcr.io/buildsrv/plugins/policy-pack:0.7.2"),
    ] {
        assert!(got.contains(&(path.to_string(), image)), "{path} {image} not in {got:#?}");
    }
    assert!(!got.iter().any(|(_, i)| i.contains("busybox")), "templated text is another program's: {got:#?}");
}
