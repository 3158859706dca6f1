//! End to end, with the real Helm engine: every fixture rendered with its defaults and again with
//! the overlay helm-retarget generates. Every image values can move must land on the mirror with
//! path, tag and digest kept; nothing else in the manifests may change.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::helm_retarget;
use crate::engine;
use crate::fixtures::{fixture_charts, rendered_images};

pub const MIRROR: &str = "registry.example.org";

/// Where an image must land under `--registry MIRROR`, computed independently of the crate's own
/// reference code: host replaced, Docker Hub's implied `docker.io/library/` spelled out.
pub fn expected_on_mirror(image: &str) -> String {
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let has_host = !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let docker_hub = !has_host || first == "docker.io" || first == "index.docker.io";
    let path = if has_host { rest } else { image };
    let name = path.split(['@']).next().unwrap_or(path);
    if docker_hub && !name.contains('/') {
        format!("{MIRROR}/library/{path}")
    } else {
        format!("{MIRROR}/{path}")
    }
}

/// The overlay for `chart` as the binary writes it to stdout.
pub fn generate_overlay(chart: &Path) -> (String, String) {
    let out = helm_retarget(&["overlay"])
        .arg(chart)
        .arg("--registry")
        .arg(MIRROR)
        .accepting_text_images(chart)
        .stderr_notes()
        .run();
    (out.stdout.clone(), out.stderr.clone())
}

/// An image-config component is known by its ConfigMap and component name, whichever data key and
/// document (a later override document) defines it: `...:data["0_x.yaml"][0].components.c` ->
/// `...:data.components.c`.
pub fn image_config_neutral(path: &str) -> String {
    match (path.find(":data[\""), path.find("].components.")) {
        (Some(start), Some(end)) if start < end => {
            format!("{}:data.components.{}", &path[..start], &path[end + "].components.".len()..])
        }
        _ => path.to_string(),
    }
}

/// Sources the overlay's header lists as movable only by the post-renderer.
pub fn post_render_only(overlay: &str) -> Vec<String> {
    overlay
        .lines()
        .skip_while(|l| !l.starts_with("# Not movable by values"))
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
        .filter_map(|l| l.trim_start_matches("#   ").split_whitespace().next().map(str::to_string))
        .collect()
}

/// Docker's fully qualified spelling, for comparing the tool's list with rendered text.
pub fn qualified(image: &str) -> String {
    let dest = expected_on_mirror(image);
    let path = dest.strip_prefix(&format!("{MIRROR}/")).unwrap_or(&dest).to_string();
    let (first, _) = image.split_once('/').unwrap_or(("", image));
    let host = if !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost") {
        first
    } else {
        "docker.io"
    };
    format!("{host}/{path}")
}

fn parse_documents(manifests: &BTreeMap<String, String>) -> Vec<(String, serde_yaml::Value)> {
    let mut docs = Vec::new();
    for (template, text) in manifests {
        for doc in serde_yaml::Deserializer::from_str(text) {
            let value = <serde_yaml::Value as serde::Deserialize>::deserialize(doc)
                .unwrap_or_else(|e| panic!("{template}: rendered YAML does not parse: {e}"));
            if !value.is_null() {
                docs.push((template.clone(), value));
            }
        }
    }
    docs
}

/// Replaces every moved reference (and every Piraeus-style `base:`) in the defaults' documents by
/// its expected destination; the overlay's documents must then be equal, or something else changed.
fn substitute(value: &serde_yaml::Value, moved: &[(String, String)]) -> serde_yaml::Value {
    match value {
        serde_yaml::Value::String(s) => {
            let mut s = s.clone();
            for (old, new) in moved {
                if s == *old {
                    return serde_yaml::Value::String(new.clone());
                }
                s = s.replace(&format!("base: {old}\n"), &format!("base: {new}\n"));
                for sep in ["=", ": ", " "] {
                    s = s.replace(&format!("{sep}{old}"), &format!("{sep}{new}"));
                }
            }
            serde_yaml::Value::String(s)
        }
        serde_yaml::Value::Sequence(items) => {
            serde_yaml::Value::Sequence(items.iter().map(|v| substitute(v, moved)).collect())
        }
        serde_yaml::Value::Mapping(m) => {
            serde_yaml::Value::Mapping(m.iter().map(|(k, v)| (k.clone(), substitute(v, moved))).collect())
        }
        other => other.clone(),
    }
}

/// Differences between the expected and the rendered document, except those a retarget must make:
/// a string whose changed lines each put text on the mirror (an image inside a values dump, a flag
/// the walker does not know), and `checksum/*` annotations that hash such text.
fn compare(expected: &serde_yaml::Value, got: &serde_yaml::Value, at: &str, out: &mut Vec<String>) {
    use serde_yaml::Value as V;
    match (expected, got) {
        (V::Mapping(e), V::Mapping(g)) => {
            for (k, ev) in e {
                let key = k.as_str().map_or_else(|| format!("{k:?}"), str::to_string);
                let path = format!("{at}.{key}");
                match g.get(k) {
                    Some(_) if key.starts_with("checksum/") => {}
                    Some(gv) => compare(ev, gv, &path, out),
                    None => out.push(format!("{path}: removed")),
                }
            }
            for (k, v) in g.iter().filter(|(k, _)| !e.contains_key(*k)) {
                if at.ends_with(".data") && is_image_config_on_mirror(v) {
                    continue; // an override document of an image config, moving its `base`
                }
                out.push(format!("{at}.{}: added", k.as_str().unwrap_or("?")));
            }
        }
        (V::Sequence(e), V::Sequence(g)) if e.len() == g.len() => {
            for (i, (ev, gv)) in e.iter().zip(g).enumerate() {
                compare(ev, gv, &format!("{at}[{i}]"), out);
            }
        }
        // A ConfigMap entry now holding image-config documents restated on the mirror.
        (V::String(_), g @ V::String(_)) if at.contains(".data.") && is_image_config_on_mirror(g) => {}
        (V::String(e), V::String(g)) if e != g => {
            let (el, gl): (Vec<&str>, Vec<&str>) = (e.lines().collect(), g.lines().collect());
            let toward_mirror = el.len() == gl.len()
                && el.iter().zip(&gl).all(|(x, y)| {
                    let prefix = x.bytes().zip(y.bytes()).take_while(|(p, q)| p == q).count();
                    x == y || y[prefix.saturating_sub(MIRROR.len())..].contains(MIRROR)
                });
            if !toward_mirror {
                out.push(format!("{at}: {e:?} became {g:?}"));
            }
        }
        (e, g) if e != g => out.push(format!("{at}: {e:?} became {g:?}")),
        _ => {}
    }
}

/// A ConfigMap entry of `base` + `components` documents, each based on the mirror.
fn is_image_config_on_mirror(value: &serde_yaml::Value) -> bool {
    let Some(text) = value.as_str() else { return false };
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(text)
        .filter_map(|d| <serde_yaml::Value as serde::Deserialize>::deserialize(d).ok())
        .filter(|d| !d.is_null())
        .collect();
    !docs.is_empty()
        && docs.iter().all(|d| {
            d["components"].is_mapping() && d["base"].as_str().is_some_and(|b| b.starts_with(&format!("{MIRROR}/")))
        })
}

/// Helm's coalescing of `-f a.yaml -f b.yaml` for the test: maps merge, `b` wins.
fn merged(a: &serde_json::Value, b: &serde_json::Value) -> serde_json::Value {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            let mut out = x.clone();
            for (k, v) in y {
                let value = match out.get(k) {
                    Some(old) => merged(old, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), value);
            }
            serde_json::Value::Object(out)
        }
        (_, b) => b.clone(),
    }
}

/// Generates the overlay for `chart` under `values` (a `-f` file, if any), renders both with the
/// real engine, and records every image that did not land and every other field that changed.
fn check_overlay(chart: &Path, variant: Option<(&str, &serde_json::Value)>, failures: &mut Vec<String>) {
    let fixture = chart.file_name().unwrap().to_string_lossy().into_owned();
    let name = match variant {
        Some((file, _)) => format!("{fixture} -f ci/{file}"),
        None => fixture,
    };
    let user = variant.map_or_else(|| serde_json::json!({}), |(_, v)| v.clone());
    let mut run = helm_retarget(&["overlay", "--registry", MIRROR]).arg(chart);
    if let Some((file, _)) = variant {
        run = run.arg("-f").arg(chart.join("ci").join(file));
    }
    let out = run.accepting_text_images(chart).stderr_notes().run();
    let overlay_text = out.stdout.clone();
    let overlay: serde_json::Value = serde_yaml::from_str(&overlay_text)
        .unwrap_or_else(|e| panic!("{name}: overlay is not YAML: {e}\n{overlay_text}"));
    let overlay = if overlay.is_null() { serde_json::json!({}) } else { overlay };
    let before = engine::render(chart, &user);
    let after = match engine::try_render(chart, &merged(&user, &overlay)) {
        Ok(m) => m,
        Err(e) => {
            failures.push(format!("{name}: the Helm engine refuses the overlay: {e}\n{overlay_text}"));
            return;
        }
    };
    let unmovable = post_render_only(&overlay_text);
    let after_images: BTreeMap<(String, String), String> =
        rendered_images(&after).into_iter().map(|(t, p, i)| ((t, image_config_neutral(&p)), i)).collect();
    let mut moved = Vec::new();
    for (template, path, image) in rendered_images(&before) {
        let want = expected_on_mirror(&image);
        let got = after_images.get(&(template.clone(), image_config_neutral(&path)));
        if image.starts_with(&format!("{MIRROR}/")) {
            continue;
        }
        // An image-config `base` is listed as the prefix every component shares.
        let q = qualified(&image);
        if unmovable.iter().any(|u| *u == q || q.starts_with(&format!("{u}/"))) {
            continue;
        }
        match got {
            Some(g) if *g == want || qualified(g) == qualified(&want) => moved.push((image.clone(), g.clone())),
            other => failures.push(format!(
                "{name}: {template} {path}: {image} rendered as {other:?} with the overlay, want {want}"
            )),
        }
    }
    moved.sort_by_key(|(old, _)| std::cmp::Reverse(old.len()));
    let before_docs = parse_documents(&before);
    let after_docs = parse_documents(&after);
    if before_docs.len() != after_docs.len() {
        failures.push(format!("{name}: {} documents before, {} with the overlay", before_docs.len(), after_docs.len()));
        return;
    }
    for ((template, b), (_, a)) in before_docs.iter().zip(&after_docs) {
        let expected = substitute(b, &moved);
        let mut differences = Vec::new();
        compare(&expected, a, "", &mut differences);
        if !differences.is_empty() {
            failures.push(format!(
                "{name}: {template}: the overlay changed more than image references:\n  {}",
                differences.join("\n  ")
            ));
        }
    }
}

#[test]
fn every_fixture_overlay_moves_its_images_to_the_mirror_and_changes_nothing_else() {
    let charts = fixture_charts();
    assert!(charts.len() >= 10, "expected the fixture charts, found {}", charts.len());
    let mut failures = Vec::new();
    for chart in &charts {
        check_overlay(chart, None, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn overlays_made_with_a_users_values_file_move_what_those_values_turn_on() {
    let mut failures = Vec::new();
    let mut variants = 0;
    for chart in fixture_charts() {
        for (file, values) in crate::fixtures::fixture_variants(&chart) {
            variants += 1;
            check_overlay(&chart, Some((&file, &values)), &mut failures);
        }
    }
    assert!(variants >= 5, "expected the fixtures' ci/ values files, found {variants}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every pod spec of a render: (`Kind/name`, spec).
fn pod_specs(manifests: &BTreeMap<String, String>) -> Vec<(String, serde_yaml::Value)> {
    let mut out = Vec::new();
    for (_, doc) in parse_documents(manifests) {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let spec = match kind.as_str() {
            "Pod" => &doc["spec"],
            "CronJob" => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &doc["spec"]["template"]["spec"],
            _ => continue,
        };
        out.push((format!("{kind}/{}", doc["metadata"]["name"].as_str().unwrap_or_default()), spec.clone()));
    }
    out
}

#[test]
fn pull_secrets_reach_every_pod_through_the_keys_each_chart_reads() {
    for name in ["cloudzero-agent", "bitnami-style-library", "aspen-mesh", "stackstate"] {
        let chart = crate::cli::fixture(name);
        let run = helm_retarget(&["overlay", "--registry", MIRROR, "--pull-secret", "mirror-creds"])
            .arg(&chart)
            .accepting_text_images(&chart);
        // Only stackstate has pods whose charts read no pull-secret key: the HR011 warning names them.
        let out = if name == "stackstate" { run.diagnostic("HR011") } else { run.stderr_notes() }.run();
        let overlay: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
        let rendered = engine::render(&chart, &overlay);
        let pods = pod_specs(&rendered);
        assert!(!pods.is_empty(), "{name}: no pods rendered");
        // Pods whose charts read no pull-secret key must be named in the warning, not passed over.
        let unserved: Vec<&str> = out
            .stderr
            .lines()
            .find_map(|l| l.split_once("no values key sets pull secrets for: ").map(|(_, list)| list))
            .map(|list| list.split(" (").next().unwrap_or(list).split(", ").collect())
            .unwrap_or_default();
        let mut served = 0;
        for (pod, spec) in pods {
            if unserved.contains(&pod.as_str()) {
                continue;
            }
            served += 1;
            let names: Vec<&str> = spec["imagePullSecrets"]
                .as_sequence()
                .map(|s| s.iter().filter_map(|i| i["name"].as_str()).collect())
                .unwrap_or_default();
            assert!(names.contains(&"mirror-creds"), "{name}: {pod} lacks the pull secret:\n{}", out.stdout);
        }
        assert!(served > 0, "{name}: no pod got the pull secret");
    }
}
