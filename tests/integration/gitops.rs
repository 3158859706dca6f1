//! GitOps without a post-renderer (issue 13): the Argo CD `Application` patch, the Flux
//! `HelmRelease` patch and the `valuesFrom` ConfigMap are merged into fixture documents the way
//! those controllers merge values, then rendered by the real Helm binaries, which must print what
//! `-f overlay.yaml` prints. The Argo CD Config Management Plugin's commands pass shellcheck and,
//! run as the sidecar runs them, print the post-rendered stream and fail closed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::{Mapping, Value};

use crate::cli::{fixture, helm_retarget, root};
use crate::fixtures::rendered_images;
use crate::helm_bin::Helm;
use crate::mirror::shellcheck_as;
use crate::overlay_e2e::MIRROR;

/// Charts with subcharts and aliases, a digest beside a tag, and a chart-wide registry key.
const CHARTS: [&str; 3] = ["cert-manager-style", "stackstate", "kube-prometheus-stack-style"];

fn overlay(chart: &Path, format: &str) -> String {
    // stderr carries the overlay's table and values diff, and no warning.
    helm_retarget(&["overlay", "--format", format, "--registry", MIRROR]).arg(chart).stderr_notes().run().stdout
}

fn parse(text: &str, what: &str) -> Value {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{text}"))
}

fn get<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| v.get(*key).unwrap_or_else(|| panic!("no {key} in {path:?}: {v:?}")))
}

/// RFC 7386 JSON merge patch, as `kubectl patch --type merge` and kustomize apply to custom
/// resources: maps merge key by key, null deletes, anything else (lists too) replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Mapping(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_mapping() {
        *target = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(target_map) = target else { unreachable!() };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Flux's values merge (`transform.MergeMaps`): each `valuesFrom` source in order, then
/// `spec.values`, maps merged recursively, anything else replaced.
fn flux_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Mapping(base), Value::Mapping(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(existing) if existing.is_mapping() && value.is_mapping() => flux_merge(existing, value),
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// The overlay's keys with every string replaced: a site values file that loses to the overlay
/// only when the controller merges in Helm's order, so a wrong order shows in the render.
fn losing_site_values(values: &Value) -> Value {
    match values {
        Value::String(_) => Value::String("site.invalid/wrong:0".to_string()),
        Value::Mapping(map) => Value::Mapping(map.iter().map(|(k, v)| (k.clone(), losing_site_values(v))).collect()),
        Value::Sequence(items) => Value::Sequence(items.iter().map(losing_site_values).collect()),
        other => other.clone(),
    }
}

fn write_yaml(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_yaml::to_string(value).unwrap()).unwrap();
    path
}

fn template(helm: Helm, home: &Path, chart: &Path, files: &[&Path]) -> String {
    let args: Vec<String> = files.iter().flat_map(|f| ["-f".to_string(), f.display().to_string()]).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    helm.template(home, chart, &args).unwrap_or_else(|e| panic!("{helm:?} {}: {e}", chart.display()))
}

/// Images of a rendered stream that are on the mirror.
fn on_mirror(stream: &str) -> usize {
    let manifests = BTreeMap::from([("stream".to_string(), stream.to_string())]);
    rendered_images(&manifests).iter().filter(|(_, _, image)| image.starts_with(&format!("{MIRROR}/"))).count()
}

#[test]
fn issue_13_argocd_value_object_renders_as_the_overlay_in_helm3_and_helm4() {
    let home = tempfile::tempdir().unwrap();
    for name in CHARTS {
        let chart = fixture(name);
        let dir = tempfile::tempdir().unwrap();
        let plain = overlay(&chart, "values");
        let overlay_file = dir.path().join("overlay.yaml");
        std::fs::write(&overlay_file, &plain).unwrap();
        let patch_text = overlay(&chart, "argocd");
        assert!(
            patch_text.starts_with(plain.lines().next().unwrap()),
            "{name}: the patch opens with the overlay's header"
        );
        for comment in plain.lines().filter(|l| l.trim_start().starts_with("# ")) {
            assert!(patch_text.contains(comment.trim_start()), "{name}: the patch lacks the comment {comment:?}");
        }
        let patch = parse(&patch_text, &format!("{name}: the Argo CD patch"));
        assert_eq!(get(&patch, &["kind"]).as_str(), Some("Application"), "{name}");

        let fixture_text = std::fs::read_to_string(root().join("fixtures/gitops/application.yaml")).unwrap();
        let mut application = parse(&fixture_text.replace("CHART", name), "application.yaml");
        merge_patch(&mut application, &patch);
        let helm = get(&application, &["spec", "source", "helm"]);
        assert_eq!(
            get(helm, &["releaseName"]).as_str(),
            Some("release"),
            "{name}: the patch keeps the source's fields"
        );
        let value_object = get(helm, &["valuesObject"]).clone();
        assert_eq!(value_object, parse(&plain, "the plain overlay"), "{name}: valuesObject holds the overlay's values");

        // Argo CD hands Helm the source's valueFiles, then valuesObject written to a file, as -f.
        let site = write_yaml(dir.path(), "site-values.yaml", &losing_site_values(&value_object));
        let values_object_file = write_yaml(dir.path(), "values-object.yaml", &value_object);
        for helm in Helm::ALL {
            let expected = template(helm, home.path(), &chart, &[&site, &overlay_file]);
            let argo = template(helm, home.path(), &chart, &[&site, &values_object_file]);
            assert_eq!(argo, expected, "{name} {helm:?}: valuesObject over valueFiles renders as -f overlay.yaml");
            assert_eq!(expected, template(helm, home.path(), &chart, &[&overlay_file]), "{name} {helm:?}");
            let defaults = template(helm, home.path(), &chart, &[]);
            assert!(on_mirror(&argo) > on_mirror(&defaults), "{name} {helm:?}: the patch moves images");
        }
    }
}

#[test]
fn issue_13_flux_values_and_values_from_configmap_render_as_the_overlay_in_helm3_and_helm4() {
    let home = tempfile::tempdir().unwrap();
    for name in CHARTS {
        let chart = fixture(name);
        let dir = tempfile::tempdir().unwrap();
        let plain = overlay(&chart, "values");
        let overlay_values = parse(&plain, "the plain overlay");
        let overlay_file = dir.path().join("overlay.yaml");
        std::fs::write(&overlay_file, &plain).unwrap();
        let site = losing_site_values(&overlay_values);
        let site_file = write_yaml(dir.path(), "site-values.yaml", &site);
        let fixture_text = std::fs::read_to_string(root().join("fixtures/gitops/helmrelease.yaml")).unwrap();
        let release = parse(&fixture_text.replace("CHART", name), "helmrelease.yaml");

        // The HelmRelease patch: spec.values over valuesFrom.
        let patch_text = overlay(&chart, "flux");
        for comment in plain.lines().filter(|l| l.trim_start().starts_with("# ")) {
            assert!(patch_text.contains(comment.trim_start()), "{name}: the patch lacks the comment {comment:?}");
        }
        let patch = parse(&patch_text, &format!("{name}: the Flux patch"));
        assert_eq!(get(&patch, &["kind"]).as_str(), Some("HelmRelease"), "{name}");
        let mut patched = release.clone();
        merge_patch(&mut patched, &patch);
        assert_eq!(get(&patched, &["spec", "valuesFrom"]), get(&release, &["spec", "valuesFrom"]), "{name}");
        let mut merged = site.clone();
        flux_merge(&mut merged, get(&patched, &["spec", "values"]));
        let from_patch = write_yaml(dir.path(), "flux-values.yaml", &merged);

        // The ConfigMap, listed after the site's in valuesFrom: its values.yaml is the overlay file.
        let configmap = parse(&overlay(&chart, "configmap"), &format!("{name}: the ConfigMap"));
        assert_eq!(get(&configmap, &["kind"]).as_str(), Some("ConfigMap"), "{name}");
        let configmap_name = get(&configmap, &["metadata", "name"]).as_str().unwrap().to_string();
        let chart_name = get(&patch, &["metadata", "name"]).as_str().unwrap();
        assert_eq!(configmap_name, format!("{chart_name}-retarget"), "{name}: named for the chart");
        let text = get(&configmap, &["data", "values.yaml"]).as_str().unwrap();
        assert_eq!(text, plain, "{name}: the ConfigMap holds the overlay file, comments and all");
        let mut merged = site.clone();
        flux_merge(&mut merged, &parse(text, "values.yaml"));
        let from_configmap = write_yaml(dir.path(), "flux-values-from.yaml", &merged);

        for helm in Helm::ALL {
            let expected = template(helm, home.path(), &chart, &[&site_file, &overlay_file]);
            let flux = template(helm, home.path(), &chart, &[&from_patch]);
            assert_eq!(flux, expected, "{name} {helm:?}: spec.values over valuesFrom renders as -f overlay.yaml");
            let flux = template(helm, home.path(), &chart, &[&from_configmap]);
            assert_eq!(flux, expected, "{name} {helm:?}: the valuesFrom ConfigMap renders as -f overlay.yaml");
            let defaults = template(helm, home.path(), &chart, &[]);
            assert!(on_mirror(&flux) > on_mirror(&defaults), "{name} {helm:?}: the ConfigMap moves images");
        }
    }
}

#[test]
fn issue_13_check_compares_gitops_documents_too() {
    let chart = fixture("cert-manager-style");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("application-patch.yaml");
    helm_retarget(&["overlay", "--format", "argocd", "--name", "cert-manager-prod", "--registry", MIRROR])
        .arg(&chart)
        .arg("-o")
        .arg(&file)
        .stderr_notes()
        .run();
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(get(&parse(&written, "the patch"), &["metadata", "name"]).as_str(), Some("cert-manager-prod"));
    let check = |format: &str| {
        helm_retarget(&["overlay", "--format", format, "--name", "cert-manager-prod", "--registry", MIRROR])
            .arg(&chart)
            .arg("--check")
            .arg(&file)
    };
    check("argocd").stderr_contains("overlay is current").run();
    check("flux").status(1).stderr_contains("overlay is stale").run();
}

/// The plugin definition's init and generate commands.
fn plugin_commands() -> (String, String) {
    let text = std::fs::read_to_string(root().join("argocd/plugin.yaml")).unwrap();
    let plugin = parse(&text, "argocd/plugin.yaml");
    assert_eq!(get(&plugin, &["kind"]).as_str(), Some("ConfigManagementPlugin"));
    let command = |phase: &str| {
        let spec = get(&plugin, &["spec", phase]);
        assert_eq!(get(spec, &["command"]), &parse("[sh, -c]", "command"), "{phase}");
        get(spec, &["args"])[0].as_str().unwrap().to_string()
    };
    (command("init"), command("generate"))
}

/// A sidecar's PATH: `helm` and `helm-retarget`, then the system's tools.
fn sidecar(helm: Helm, bin: &Path, home: &Path, script: &str, chart: &Path) -> Command {
    if !bin.join("helm").exists() {
        std::os::unix::fs::symlink(helm.binary(), bin.join("helm")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_helm-retarget"), bin.join("helm-retarget")).unwrap();
    }
    let mut command = Command::new("sh");
    command.args(["-c", script]).current_dir(chart).env_clear();
    command.env("PATH", format!("{}:/usr/bin:/bin", bin.display())).env("HOME", home);
    for (var, dir) in [("HELM_CONFIG_HOME", "config"), ("HELM_CACHE_HOME", "cache"), ("HELM_DATA_HOME", "data")] {
        command.env(var, home.join(dir));
    }
    command.env("ARGOCD_APP_NAME", "release").env("ARGOCD_APP_NAMESPACE", "default");
    command
}

#[test]
fn issue_13_argocd_plugin_is_shellcheck_clean_renders_post_rendered_and_fails_closed() {
    let (init, generate) = plugin_commands();
    shellcheck_as("sh", &init, "init.sh").unwrap();
    shellcheck_as("sh", &generate, "generate.sh").unwrap();
    let patch = std::fs::read_to_string(root().join("argocd/repo-server-patch.yaml")).unwrap();
    let patch = parse(&patch, "argocd/repo-server-patch.yaml");
    let container = &get(&patch, &["spec", "template", "spec", "containers"])[0];
    assert_eq!(get(container, &["command"])[0].as_str(), Some("/var/run/argocd/argocd-cmp-server"));

    for helm in Helm::ALL {
        for name in CHARTS {
            let chart = fixture(name);
            let home = tempfile::tempdir().unwrap();
            let bin = tempfile::tempdir().unwrap();
            let out = sidecar(helm, bin.path(), home.path(), &init, &chart).output().unwrap();
            assert!(out.status.success(), "{name} {helm:?} init: {}", String::from_utf8_lossy(&out.stderr));

            let out = sidecar(helm, bin.path(), home.path(), &generate, &chart)
                .env("ARGOCD_ENV_RETARGET_REGISTRY", MIRROR)
                .env("ARGOCD_ENV_HELM_ARGS", "--set replicaCount=2")
                .env("KUBE_VERSION", "1.30.0")
                .env("KUBE_API_VERSIONS", "monitoring.coreos.com/v1,policy/v1")
                .output()
                .unwrap();
            assert!(out.status.success(), "{name} {helm:?} generate: {}", String::from_utf8_lossy(&out.stderr));
            let stream = String::from_utf8(out.stdout).unwrap();
            let rendered = helm
                .template(
                    home.path(),
                    &chart,
                    &[
                        "--set",
                        "replicaCount=2",
                        "--kube-version",
                        "1.30.0",
                        "--api-versions",
                        "monitoring.coreos.com/v1,policy/v1",
                    ],
                )
                .unwrap();
            let expected =
                helm_retarget(&["post-render", "--registry", MIRROR]).stdin(rendered.clone()).stderr_notes().run();
            assert_eq!(stream, expected.stdout, "{name} {helm:?}: the plugin prints helm template | post-render");
            let manifests = BTreeMap::from([("stream".to_string(), stream.clone())]);
            let images = rendered_images(&manifests);
            assert!(!images.is_empty(), "{name}");
            for (_, path, image) in &images {
                assert!(image.starts_with(&format!("{MIRROR}/")), "{name} {helm:?}: {path} is {image}");
            }

            // A failing helm template, or no registry: non-zero and nothing on stdout.
            let out = sidecar(helm, tempfile::tempdir().unwrap().path(), home.path(), &generate, &chart)
                .env("ARGOCD_ENV_RETARGET_REGISTRY", MIRROR)
                .env("ARGOCD_ENV_HELM_ARGS", "--no-such-flag")
                .output()
                .unwrap();
            assert!(!out.status.success() && out.stdout.is_empty(), "{name} {helm:?}: a failing render must fail");
            let out =
                sidecar(helm, tempfile::tempdir().unwrap().path(), home.path(), &generate, &chart).output().unwrap();
            assert!(!out.status.success() && out.stdout.is_empty(), "{name} {helm:?}: no registry must fail");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("set RETARGET_REGISTRY in spec.source.plugin.env"), "{stderr}");
        }
    }
}
