//! Values keys that hold a dot (`images."app.main"`, read with `index`): the overlay moves every
//! image through them, the real engine renders each on the mirror, and the key text the tool
//! prints is one Helm's own `--set` reads back as the same key.

use crate::cli::{fixture, helm_retarget};
use crate::engine;
use crate::fixtures::rendered_images;
use crate::helm_bin::Helm;
use crate::overlay_e2e::{expected_on_mirror, generate_overlay, post_render_only, MIRROR};

#[test]
fn images_under_dotted_keys_move_by_the_overlay_and_render_on_the_mirror() {
    let chart = fixture("dotted-keys");
    let (overlay_text, _) = generate_overlay(&chart);
    assert_eq!(post_render_only(&overlay_text), Vec::<String>::new(), "{overlay_text}");
    let overlay: serde_json::Value = serde_yaml::from_str(&overlay_text).expect("the overlay is YAML");
    // The dotted key stays one key: `app.main` under `images`, not `app` holding `main`.
    assert_eq!(overlay["images"]["app.main"]["registry"], MIRROR, "{overlay_text}");
    assert_eq!(overlay["sidecars"]["log.shipper"]["image"], expected_on_mirror("docker.io/lanternworks/shipper:0.9.2"));

    let before = rendered_images(&engine::render(&chart, &serde_json::json!({})));
    let after = rendered_images(&engine::render(&chart, &overlay));
    assert_eq!(before.len(), 3, "{before:?}");
    for (template, path, image) in &before {
        let now = after.iter().find(|(t, p, _)| t == template && p == path).expect("the site renders");
        assert_eq!(now.2, expected_on_mirror(image), "{path}");
    }
}

#[test]
fn the_printed_key_of_a_dotted_values_path_is_one_helm_set_reads() {
    let chart = fixture("dotted-keys");
    let scan = helm_retarget(&["scan", "--format", "json"]).arg(&chart).run();
    let scan: serde_json::Value = serde_json::from_str(&scan.stdout).expect("scan JSON");
    let sites = scan[0]["sites"].as_array().expect("sites");
    let key_of = |reference: &str| -> String {
        let site = sites.iter().find(|s| s["reference"] == reference).expect("the site is scanned");
        site["keys"][0].as_str().expect("a key").to_string()
    };
    let string_key = key_of("docker.io/lanternworks/shipper:0.9.2");
    let registry_key = key_of("quay.io/lanternworks/worker:2.4.0");
    assert_eq!(string_key, r"sidecars.log\.shipper.image");

    let home = tempfile::tempdir().unwrap();
    for helm in Helm::ALL {
        let set = [
            "--set".to_string(),
            format!("{string_key}=mirror.example.com/x/shipper:1"),
            "--set".to_string(),
            format!("{registry_key}=mirror.example.com"),
        ];
        let args: Vec<&str> = set.iter().map(String::as_str).collect();
        let out = helm.template(home.path(), &chart, &args).unwrap_or_else(|e| panic!("{helm:?}: {e}"));
        assert!(out.contains("image: mirror.example.com/x/shipper:1"), "{helm:?}:\n{out}");
        assert!(out.contains("image: mirror.example.com/lanternworks/worker:2.4.0"), "{helm:?}:\n{out}");
    }
}
