//! Images the template writes itself unless a values key, empty by default, overrides them
//! (`default`, `with ... else`, `coalesce`): the overlay sets those empty keys, and the real engine
//! renders every such image on the mirror. A key read only by an `if` that picks another literal
//! moves nothing and is named in the reason, not claimed absent.

use crate::cli::fixture;
use crate::engine;
use crate::fixtures::rendered_images;
use crate::overlay_e2e::{expected_on_mirror, generate_overlay, post_render_only, MIRROR};

#[test]
fn empty_override_keys_are_set_and_the_real_engine_renders_every_image_on_the_mirror() {
    let chart = fixture("empty-default-keys");
    let values: serde_json::Value = serde_yaml::from_str(&std::fs::read_to_string(chart.join("values.yaml")).unwrap())
        .expect("the fixture's values are YAML");
    let (overlay_text, stderr) = generate_overlay(&chart);
    let overlay: serde_json::Value = serde_yaml::from_str(&overlay_text).expect("the overlay is YAML");

    // Every key the overlay sets is one the chart leaves empty (absent, null, "" or false).
    let mut keys = Vec::new();
    collect_leaves(&overlay, String::new(), &mut keys);
    keys.sort();
    assert_eq!(
        keys,
        ["agent.repository", "job.image", "server.imageName", "sidecar.override", "store.imageName", "web.image"]
    );
    for key in &keys {
        let default = key.split('.').try_fold(&values, |v, step| v.get(step));
        assert!(
            matches!(default, None | Some(serde_json::Value::Null)) || default.is_some_and(|v| v.as_str() == Some("")),
            "{key} is not empty by default: {default:?}"
        );
    }

    let before = rendered_images(&engine::render(&chart, &serde_json::json!({})));
    let after = rendered_images(&engine::render(&chart, &overlay));
    assert_eq!(before.len(), 7, "{before:?}");
    let unmoved = post_render_only(&overlay_text);
    assert_eq!(unmoved, ["docker.io/quietorg/debug:1"]);
    for (template, path, image) in &before {
        let now = after
            .iter()
            .find(|(t, p, _)| t == template && p == path)
            .unwrap_or_else(|| panic!("{path} vanished under the overlay"));
        if unmoved.contains(image) {
            assert_eq!(&now.2, image, "{path}");
        } else {
            assert_eq!(now.2, expected_on_mirror(image), "{path}");
            assert!(now.2.starts_with(MIRROR));
        }
    }
    // The debug image's switch was read and tried: the reason says so rather than "no values key".
    assert!(stderr.contains("debug.useAlternate"), "{stderr}");
    assert!(!stderr.contains("no values key decides it"), "{stderr}");
}

fn collect_leaves(value: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match value.as_object() {
        Some(map) => {
            for (k, v) in map {
                collect_leaves(v, if at.is_empty() { k.clone() } else { format!("{at}.{k}") }, out);
            }
        }
        None => out.push(at),
    }
}
