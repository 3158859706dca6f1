//! Issue 13 part 5: `diff` names, chart by chart, the overlay keys an upgrade adds, drops and
//! changes. The fixture pair (fixtures/upgrades/subchart-knobs-*) moves a subchart's image from a
//! `repository` knob to a `registry` knob, bumps a whole-reference knob and adds a job; the real
//! engine shows why a reviewer must see that: the old overlay on the new chart breaks the install.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cli::{helm_retarget, root};
use crate::engine;
use crate::fixtures::rendered_images;

const MIRROR: &str = "reg.example";

fn version(which: &str) -> PathBuf {
    root().join(format!("fixtures/upgrades/subchart-knobs-{which}"))
}

fn overlay_of(chart: &Path) -> serde_json::Value {
    let out = helm_retarget(&["overlay", "--registry", MIRROR]).arg(chart).stderr_notes().run();
    serde_yaml::from_str(&out.stdout).unwrap()
}

fn images(chart: &Path, values: &serde_json::Value) -> BTreeSet<String> {
    rendered_images(&engine::render(chart, values)).into_iter().map(|(_, _, image)| image).collect()
}

fn run_diff(format: &str) -> crate::cli::Output {
    helm_retarget(&[
        "diff",
        "--registry",
        MIRROR,
        "--format",
        format,
        "fixtures/upgrades/subchart-knobs-before",
        "fixtures/upgrades/subchart-knobs-after",
    ])
    .current_dir(&root())
    .run()
}

#[test]
fn issue_13_the_old_overlay_on_the_new_version_breaks_what_the_knob_report_names() {
    let (before, after) = (version("before"), version("after"));
    let new_on_mirror: BTreeSet<String> = [
        "reg.example/acme/storefront:2.0",
        "reg.example/acme/storefront-migrate:2.0",
        "reg.example/library/redis:7.4",
        "reg.example/acme/cache-exporter:0.2",
    ]
    .map(String::from)
    .into();
    assert_eq!(images(&after, &overlay_of(&after)), new_on_mirror);
    // The old overlay: the migration job stays on its source (a new key is needed), the cache
    // renders a reference that names no image (its repository knob is no longer the one), and the
    // exporter keeps the old tag (its knob's value changed).
    let stale: BTreeSet<String> = [
        "reg.example/acme/storefront:2.0",
        "docker.io/acme/storefront-migrate:2.0",
        "docker.io/reg.example/library/redis:7.4",
        "reg.example/acme/cache-exporter:0.1",
    ]
    .map(String::from)
    .into();
    assert_eq!(images(&after, &overlay_of(&before)), stale);

    let out = run_diff("text");
    let section: String = out.stdout.split("\n\n").find(|s| s.starts_with("Overlay keys:")).unwrap().to_string();
    assert_eq!(
        section,
        "Overlay keys: 2 new, 1 no longer needed, 1 changed
  storefront
    + migrations.image.repository: reg.example/acme/storefront-migrate
  storefront > sessions
    + sessions.image.registry: reg.example
    - sessions.image.repository: reg.example/library/redis
    ~ sessions.exporter.image: reg.example/acme/cache-exporter:0.1 -> reg.example/acme/cache-exporter:0.2"
    );
}

#[test]
fn issue_13_diff_markdown_and_json_carry_the_knob_changes_per_subchart() {
    let out = run_diff("markdown");
    insta::assert_snapshot!("diff-subchart-knobs-markdown", out.stdout);
    let expected = "#### `storefront > sessions`

| Change | Key | Old | New |
| --- | --- | --- | --- |
| new | `sessions.image.registry` |  | `reg.example` |
| no longer needed | `sessions.image.repository` | `reg.example/library/redis` |  |
| changed | `sessions.exporter.image` | `reg.example/acme/cache-exporter:0.1` | `reg.example/acme/cache-exporter:0.2` |
";
    assert!(out.stdout.contains(expected), "{}", out.stdout);

    let out = run_diff("json");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let charts = json["overlay_keys"].as_array().unwrap();
    assert_eq!(charts.len(), 2);
    assert_eq!(charts[0]["chart"], "storefront");
    assert_eq!(charts[0]["prefix"], "");
    assert_eq!(
        charts[0]["added"],
        serde_json::json!([{"key": "migrations.image.repository", "value": "reg.example/acme/storefront-migrate"}])
    );
    assert_eq!(charts[1]["chart"], "storefront > sessions");
    assert_eq!(charts[1]["prefix"], "sessions");
    assert_eq!(charts[1]["added"], serde_json::json!([{"key": "sessions.image.registry", "value": "reg.example"}]));
    assert_eq!(
        charts[1]["removed"],
        serde_json::json!([{"key": "sessions.image.repository", "value": "reg.example/library/redis"}])
    );
    assert_eq!(
        charts[1]["changed"],
        serde_json::json!([{
            "key": "sessions.exporter.image",
            "old": "reg.example/acme/cache-exporter:0.1",
            "new": "reg.example/acme/cache-exporter:0.2",
        }])
    );
    // Without a registry there is no overlay to compare.
    let out = helm_retarget(&["diff", "--format", "json"]).arg(version("before")).arg(version("after")).run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(json.get("overlay_keys").is_none(), "{json}");
}
