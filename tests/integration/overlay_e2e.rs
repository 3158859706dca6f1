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
    let out = helm_retarget(&["overlay"]).arg(chart).arg("--registry").arg(MIRROR).run();
    out.status(0);
    (out.stdout.clone(), out.stderr.clone())
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
            for k in g.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{at}.{}: added", k.as_str().unwrap_or("?")));
            }
        }
        (V::Sequence(e), V::Sequence(g)) if e.len() == g.len() => {
            for (i, (ev, gv)) in e.iter().zip(g).enumerate() {
                compare(ev, gv, &format!("{at}[{i}]"), out);
            }
        }
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

#[test]
fn every_fixture_overlay_moves_its_images_to_the_mirror_and_changes_nothing_else() {
    let charts = fixture_charts();
    assert!(charts.len() >= 10, "expected the fixture charts, found {}", charts.len());
    let mut failures = Vec::new();
    for chart in &charts {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let (overlay_text, _) = generate_overlay(chart);
        let overlay: serde_json::Value = serde_yaml::from_str(&overlay_text)
            .unwrap_or_else(|e| panic!("{name}: overlay is not YAML: {e}\n{overlay_text}"));
        let overlay = if overlay.is_null() { serde_json::json!({}) } else { overlay };
        let before = engine::render(chart, &serde_json::json!({}));
        let after = match engine::try_render(chart, &overlay) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: the Helm engine refuses the overlay: {e}\n{overlay_text}"));
                continue;
            }
        };
        let unmovable = post_render_only(&overlay_text);
        let after_images: BTreeMap<(String, String), String> =
            rendered_images(&after).into_iter().map(|(t, p, i)| ((t, p), i)).collect();
        let mut moved = Vec::new();
        for (template, path, image) in rendered_images(&before) {
            let want = expected_on_mirror(&image);
            let got = after_images.get(&(template.clone(), path.clone()));
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
            continue;
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
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
