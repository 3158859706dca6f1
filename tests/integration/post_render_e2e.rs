//! End to end, with the real Helm engine: each fixture rendered as `helm template` would, piped
//! through `helm-retarget post-render`, then checked by the fixtures' independent image walker.

use std::collections::BTreeMap;

use crate::cli::helm_retarget;
use crate::engine;
use crate::fixtures::{fixture_charts, rendered_images};
use crate::overlay_e2e::{expected_on_mirror, generate_overlay, MIRROR};

/// The manifests as one stream, the way `helm template` prints them.
pub fn stream(manifests: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (template, text) in manifests {
        // Helm prints NOTES.txt apart and never hands it to a post-renderer.
        if text.trim().is_empty() || template.ends_with("NOTES.txt") {
            continue;
        }
        out.push_str(&format!("---\n# Source: {template}\n{text}"));
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Splits a stream back into template -> text by its `# Source:` lines.
pub fn by_source(stream: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut current = String::new();
    for line in stream.split_inclusive('\n') {
        if let Some(source) = line.strip_prefix("# Source: ") {
            current = source.trim_end().to_string();
            continue;
        }
        out.entry(current.clone()).or_default().push_str(line);
    }
    out
}

fn post_render(input: &str) -> String {
    let out =
        helm_retarget(&["post-render", "--registry", MIRROR]).stdin(input.as_bytes()).status(0).stderr_notes().run();
    out.stdout.clone()
}

/// Lines that differ between input and output must each differ only where references were replaced.
pub fn changed_lines_are_references(name: &str, input: &str, output: &str, failures: &mut Vec<String>) {
    let (a, b): (Vec<&str>, Vec<&str>) = (input.lines().collect(), output.lines().collect());
    if a.len() != b.len() {
        failures.push(format!("{name}: post-render changed the line count ({} -> {})", a.len(), b.len()));
        return;
    }
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if x == y {
            continue;
        }
        let prefix = x.bytes().zip(y.bytes()).take_while(|(p, q)| p == q).count();
        // The changed run must put text on the mirror (it may share a prefix such as `registry.`).
        if !y[prefix.saturating_sub(MIRROR.len())..].contains(MIRROR) {
            failures.push(format!("{name}: line {} changed without a mirror reference:\n- {x}\n+ {y}", i + 1));
        }
    }
}

pub fn check_all_on_mirror(name: &str, manifests: &BTreeMap<String, String>, failures: &mut Vec<String>) {
    for (template, path, image) in rendered_images(manifests) {
        if !image.starts_with(&format!("{MIRROR}/")) {
            failures.push(format!("{name}: {template} {path}: {image} is not on {MIRROR}"));
        }
    }
}

#[test]
fn post_render_moves_every_image_of_every_fixture_and_changes_only_reference_text() {
    let mut failures = Vec::new();
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let before = engine::render(&chart, &serde_json::json!({}));
        let input = stream(&before);
        let output = post_render(&input);
        changed_lines_are_references(&name, &input, &output, &mut failures);
        let after = by_source(&output);
        check_all_on_mirror(&name, &after, &mut failures);
        // Paths, tags and digests are kept: each image lands exactly where the mapping says.
        let after_images: BTreeMap<(String, String), String> =
            rendered_images(&after).into_iter().map(|(t, p, i)| ((t, p), i)).collect();
        for (template, path, image) in rendered_images(&by_source(&input)) {
            let want = expected_on_mirror(&image);
            match after_images.get(&(template.clone(), path.clone())) {
                Some(got) if *got == want || image.starts_with(&format!("{MIRROR}/")) => {}
                got => failures.push(format!("{name}: {template} {path}: {image} became {got:?}, want {want}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn overlay_then_post_render_puts_every_image_on_the_mirror() {
    let mut failures = Vec::new();
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let (overlay_text, _) = generate_overlay(&chart);
        let overlay: serde_json::Value = serde_yaml::from_str(&overlay_text).unwrap();
        let overlay = if overlay.is_null() { serde_json::json!({}) } else { overlay };
        let rendered = match engine::try_render(&chart, &overlay) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: the engine refuses the overlay: {e}"));
                continue;
            }
        };
        let output = post_render(&stream(&rendered));
        check_all_on_mirror(&name, &by_source(&output), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn verify_fails_on_defaults_naming_values_keys_and_passes_after_post_render() {
    let chart = crate::cli::fixture("cloudzero-agent");
    let input = stream(&engine::render(&chart, &serde_json::json!({})));
    let out = helm_retarget(&["verify", "--registry", MIRROR, "--chart"])
        .arg(&chart)
        .stdin(input.as_bytes())
        .status(1)
        .stderr_notes()
        .run();
    assert!(out.stdout.contains("components.agent.image.repository"), "verify names the key:\n{}", out.stdout);
    let moved = post_render(&input);
    helm_retarget(&["verify", "--registry", MIRROR]).stdin(moved.as_bytes()).status(0).stderr_notes().run();
}
