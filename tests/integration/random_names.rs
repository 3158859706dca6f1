//! Objects named with `randAlphaNum` (test pods, one-off jobs): every planner render draws the same
//! names, so an image in such an object is one site from probe to probe (moved through its values
//! key, checked by the real engine), and the overlay is the same text in every run, so `--check`
//! in a pull request does not flap. Real Helm draws new names each time: the chart is really random.

use std::collections::BTreeSet;

use crate::cli::{helm_retarget, root};
use crate::engine;
use crate::fixtures::rendered_images;
use crate::helm_bin::Helm;
use crate::overlay_e2e::{expected_on_mirror, post_render_only, MIRROR};

fn chart() -> std::path::PathBuf {
    root().join("fixtures/random-names")
}

/// (template, field path without the object's name, image) of every image a render holds.
fn by_field(manifests: &std::collections::BTreeMap<String, String>) -> BTreeSet<(String, String, String)> {
    rendered_images(manifests)
        .into_iter()
        .map(|(template, path, image)| (template, path.split_once(':').expect("Kind/name:path").1.to_string(), image))
        .collect()
}

#[test]
fn randomly_named_objects_are_one_site_across_renders_and_the_overlay_does_not_change_between_runs() {
    let chart = chart();
    let overlay =
        |args: &[&str]| helm_retarget(&["overlay", "--registry", MIRROR]).args(args).arg(&chart).stderr_notes();
    let first = overlay(&[]).run().stdout;
    for _ in 0..3 {
        assert_eq!(overlay(&[]).run().stdout, first, "the overlay changed from one run to the next");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overlay.yaml");
    std::fs::write(&file, &first).unwrap();
    overlay(&["--check", file.to_str().unwrap()]).status(0).stdout("").stderr_contains("overlay is current").run();

    // The smoke-test pod's image has a values key: the overlay moves it, though its pod's name is
    // drawn anew in every render Helm makes. Only the job's written-in image is left.
    assert_eq!(post_render_only(&first), ["docker.io/tallyhall/warmup:0.3"], "{first}");
    let values: serde_json::Value = serde_yaml::from_str(&first).unwrap();
    let before = by_field(&engine::render(&chart, &serde_json::json!({})));
    let after = by_field(&engine::render(&chart, &values));
    assert_eq!(before.len(), 3, "{before:?}");
    for (template, field, image) in &before {
        let expected = if image.contains("warmup") { image.clone() } else { expected_on_mirror(image) };
        assert!(
            after.contains(&(template.clone(), field.clone(), expected.clone())),
            "{field}: {expected} in {after:?}"
        );
    }
}

#[test]
fn real_helm_names_the_objects_anew_in_every_render() {
    let home = tempfile::tempdir().unwrap();
    let names = |out: &str| -> Vec<String> {
        out.lines().filter(|l| l.contains("-smoke-") || l.contains("-warmup-")).map(str::to_string).collect()
    };
    let one = Helm::V4.template(home.path(), &chart(), &[]).unwrap();
    let two = Helm::V4.template(home.path(), &chart(), &[]).unwrap();
    assert_eq!(names(&one).len(), 2, "{one}");
    assert_ne!(names(&one), names(&two), "Helm drew the same random names twice");
}
