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
/// - `env` items whose `name` ends with `_IMAGE` or starts with `RELATED_IMAGE_` (their `value`);
/// - `args` and `command` items of the form `--image=<reference>` or `--<name>-image=<reference>`;
/// - ConfigMap `data` entries that hold YAML documents with a `base` string and a `components`
///   map (the Piraeus image config): read in ascending key order, then document order, a later
///   definition of a component replacing an earlier one whole, as the operator does. Each winning
///   component yields `base/image[:tag][@digest]`, and each of its `match` items the same with the
///   match's image. A component without an `image` yields nothing.
///
/// `image: auto` (filled in by an injector) and empty strings are skipped. Free text is never
/// searched: a reference inside a ConfigMap string that is not such a document (an injection
/// template, a JSON values dump) is not reported.
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
            walk(&document, &mut String::new(), &mut images);
            if document.get("kind").and_then(Value::as_str) == Some("ConfigMap") {
                if let Some(data) = document.get("data").and_then(Value::as_mapping) {
                    image_config_images(data, &mut images);
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

fn walk(value: &Value, path: &mut String, found: &mut Vec<(String, String)>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                let Some(key) = key.as_str() else { continue };
                let child_path = push_key(path, key);
                match (key, child) {
                    ("image", Value::String(image)) => found.push((child_path, image.clone())),
                    ("env", Value::Sequence(items)) => env_images(items, &child_path, found),
                    ("args" | "command", Value::Sequence(items)) => flag_images(items, &child_path, found),
                    _ => walk(child, &mut child_path.clone(), found),
                }
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &mut format!("{path}[{i}]"), found);
            }
        }
        Value::Tagged(tagged) => walk(&tagged.value, path, found),
        _ => {}
    }
}

fn env_images(items: &[Value], path: &str, found: &mut Vec<(String, String)>) {
    for (i, item) in items.iter().enumerate() {
        let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
        if !(name.ends_with("_IMAGE") || name.starts_with("RELATED_IMAGE_")) {
            continue;
        }
        if let Some(value) = item.get("value").and_then(Value::as_str) {
            found.push((format!("{path}[{i}].value"), value.to_string()));
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
    entries.sort();
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
fn walker_skips_auto_empty_and_free_text() {
    let found = rendered_images(&manifests(&[(
        "c/templates/mixed.yaml",
        "kind: Deployment\nmetadata: {name: gw}\nspec: {template: {spec: {containers: [{name: p, \
         image: auto}, {name: q, image: ''}]}}}\n---\nkind: ConfigMap\nmetadata: {name: inj}\ndata:\n  \
         values: '{\"global\": {\"proxy\": {\"image\": \"proxyv2\"}}}'\n  config: |\n    image: \
         busybox:1.28\n  dump.yaml: |\n    components:\n      agent: {image: {repository: x}}\n",
    )]));
    assert!(found.is_empty(), "found {found:?}");
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
