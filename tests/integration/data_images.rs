//! Issue 7, images handed over as data: `scan --explain`, registry settings moved by the overlay
//! (checked with the real engine), and `post-render --text-images=off`.

use crate::cli::{fixture, helm_retarget};
use crate::engine;
use crate::overlay_e2e::MIRROR;
use crate::post_render_e2e::stream;

#[test]
fn explain_names_template_object_field_and_keys_and_says_why_it_moves_or_not() {
    let chart = fixture("operator-data-images");
    let out = helm_retarget(&["scan", "--explain", "nvcr.example.com/fleet/accel-driver:550.54.15"])
        .arg(&chart)
        .status(0)
        .run();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "nvcr.example.com/fleet/accel-driver:550.54.15");
    assert_eq!(lines[2], "  template:    fleet-operator/templates/cluster-policy.yaml");
    assert_eq!(lines[3], "  object:      ClusterPolicy/release-fleet-policy");
    assert_eq!(lines[4], "  field:       spec.driver.repository (cr-split-fields)");
    assert_eq!(lines[5], "  composed as: {driver.repository}/accel-driver:550.54.15");
    assert!(lines[6].starts_with("  values keys: driver.repository ("), "{}", out.stdout);
    assert!(lines[7].contains("moves by values: the overlay edits driver.repository"), "{}", out.stdout);

    let fixed =
        helm_retarget(&["scan", "--explain", "nvcr.example.com/fleet/validator:v24.9.0"]).arg(&chart).status(0).run();
    assert!(fixed.stdout.contains("  values keys: none\n"), "{}", fixed.stdout);
    assert!(fixed.stdout.contains("cannot move by values: the template writes every byte"), "{}", fixed.stdout);

    let unknown = helm_retarget(&["scan", "--explain", "quay.io/nobody/nothing:1"])
        .arg(&chart)
        .status(2)
        .stderr_contains("no image site of the scanned charts renders this reference")
        .diagnostic("HR024")
        .run();
    assert_eq!(unknown.stdout, "");
}

#[test]
fn a_registry_setting_is_a_knob_the_overlay_sets_and_the_engine_renders() {
    let chart = fixture("operator-data-images");
    let scan = helm_retarget(&["scan"]).arg(&chart).status(0).run();
    assert!(
        scan.stdout.lines().any(|l| l.contains("operator.registry") && l.contains("registry-setting")),
        "{}",
        scan.stdout
    );
    let out = helm_retarget(&["overlay", "--registry", MIRROR]).arg(&chart).status(0).stderr_notes().run();
    let overlay: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
    assert_eq!(overlay["operator"]["registry"], MIRROR, "{}", out.stdout);
    let rendered = engine::render(&chart, &overlay);
    let settings = &rendered["fleet-operator/templates/image-set.yaml"];
    assert!(settings.contains(&format!("container-registry: {MIRROR}\n")), "{settings}");
}

#[test]
fn verify_names_registry_settings_the_post_renderer_left_and_passes_once_the_overlay_sets_them() {
    let chart = fixture("operator-env-sources");
    let defaults = stream(&engine::render(&chart, &serde_json::json!({})));
    // The post-renderer moves every image field but no registry setting: the operator would still
    // pull from these three places, so verify fails naming each.
    let moved = helm_retarget(&["post-render", "--registry", MIRROR]).stdin(defaults).stderr_notes().run();
    let out = helm_retarget(&["verify", "--registry", MIRROR]).stdin(moved.stdout).status(1).stderr_notes().run();
    let settings: Vec<(&str, &str)> = out
        .stdout
        .lines()
        .filter(|l| l.contains("registry setting:"))
        .map(|l| {
            let mut cells = l.split('\t');
            (cells.next().unwrap(), cells.next().unwrap())
        })
        .collect();
    assert_eq!(settings.len(), 3, "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 3, "only the settings are off target:\n{}", out.stdout);
    for host in ["registry.relaycorp.example", "quay.io/relaycorp", "docker.example.net"] {
        assert!(settings.iter().any(|(_, value)| *value == host), "{host}: {settings:?}");
    }
    assert!(out.stderr.contains("3 of 3 registry setting(s) name a source registry"), "{}", out.stderr);

    // The overlay sets them; rendered by the real engine, nothing is left.
    let overlay = helm_retarget(&["overlay", "--registry", MIRROR]).arg(&chart).stderr_notes().run();
    let overlay: serde_json::Value = serde_yaml::from_str(&overlay.stdout).unwrap();
    let with_overlay = stream(&engine::render(&chart, &overlay));
    let out = helm_retarget(&["verify", "--registry", MIRROR]).stdin(with_overlay).status(0).stderr_notes().run();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("all 3 registry setting(s) name the target"), "{}", out.stderr);
}

#[test]
fn text_images_off_leaves_config_text_as_the_chart_wrote_it() {
    let chart = fixture("config-text-images");
    let input = stream(&engine::render(&chart, &serde_json::json!({})));
    let on =
        helm_retarget(&["post-render", "--registry", MIRROR]).stdin(input.as_bytes()).status(0).stderr_notes().run();
    assert!(on.stdout.contains(&format!("image = \"{MIRROR}/library/alpine:3.20\"")), "{}", on.stdout);
    let off = helm_retarget(&["post-render", "--registry", MIRROR, "--text-images", "off"])
        .stdin(input.as_bytes())
        .stderr_notes()
        .run();
    off.status(0);
    // Only the controller's pod spec changes; every text value stays byte for byte.
    let changed: Vec<(&str, &str)> = input.lines().zip(off.stdout.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1, "{changed:#?}");
    assert!(changed[0].1.trim_start().starts_with(&format!("image: {MIRROR}/buildsrv/controller:")), "{changed:?}");
}

#[test]
fn ambiguous_text_is_refused_naming_object_and_field_and_writes_nothing() {
    let input = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: jobs}\ndata:\n  run.sh: |\n    \
                 run --image=quay.io/a/one:1 quay.io/a/two:2\n";
    let out = helm_retarget(&["post-render", "--registry", MIRROR])
        .stdin(input.as_bytes())
        .status(2)
        .stderr_contains("ConfigMap/jobs: data.run.sh#line 1")
        .stderr_contains("which to move is a guess")
        .diagnostic("HR056")
        .run();
    assert_eq!(out.stdout, "");
}

/// The operator fixture and its two operand charts, as `--operand NAME=CHART` arguments.
fn operator_with_operands() -> (std::path::PathBuf, Vec<(&'static str, std::path::PathBuf)>) {
    let chart = fixture("operator-installed-agents");
    let operands = ["probe-exporter", "rightsizer"].map(|n| (n, chart.join("operands").join(n))).to_vec();
    (chart, operands)
}

#[test]
fn operand_overlays_land_in_the_custom_resource_and_every_operand_image_moves() {
    use crate::fixtures::rendered_images;
    use crate::overlay_e2e::expected_on_mirror;
    let (chart, operands) = operator_with_operands();
    let mut run = helm_retarget(&["overlay", "--registry", MIRROR]).arg(&chart);
    for (name, operand) in &operands {
        run = run.arg("--operand").arg(format!("{name}={}", operand.display()));
    }
    let out = run.stderr_notes().run();
    let overlay: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
    // The operator chart, rendered by the real engine with the overlay: its own image moved, and
    // the custom resource carrying each operand's values.
    let rendered = engine::render(&chart, &overlay);
    for (_, _, image) in rendered_images(&rendered) {
        assert!(image.starts_with(&format!("{MIRROR}/")), "{image}");
    }
    let agent_set: serde_yaml::Value =
        serde_yaml::from_str(&rendered["agent-operator/templates/agentset.yaml"]).unwrap();
    for (name, operand) in &operands {
        // What the operator merges over the operand chart's defaults: that field of the resource.
        let values = &agent_set["spec"][*name]["helmValues"];
        let values: serde_json::Value = serde_json::to_value(values).unwrap();
        let before = rendered_images(&engine::render(operand, &serde_json::json!({})));
        let after: std::collections::BTreeMap<(String, String), String> =
            rendered_images(&engine::render(operand, &values)).into_iter().map(|(t, p, i)| ((t, p), i)).collect();
        assert!(!before.is_empty(), "{name}: no images");
        for (template, path, image) in before {
            assert!(!image.starts_with(MIRROR), "{name}: {image} is on the mirror already");
            let got = after.get(&(template.clone(), path.clone()));
            assert_eq!(got, Some(&expected_on_mirror(&image)), "{name}: {template} {path}: {image}\n{}", out.stdout);
        }
    }
    // The rightsizer's own override (replicas) is kept: the overlay merges into it.
    assert_eq!(agent_set["spec"]["rightsizer"]["helmValues"]["replicas"], 2);
}

#[test]
fn mirror_and_check_include_the_operands() {
    let (chart, operands) = operator_with_operands();
    let mut mirror = helm_retarget(&["mirror", "--registry", MIRROR]).arg(&chart);
    for (name, operand) in &operands {
        mirror = mirror.arg("--operand").arg(format!("{name}={}", operand.display()));
    }
    let out = mirror.stderr_notes().run();
    for image in [
        "ghcr.io/agentco/agent-operator:0.9.0",
        "public.ecr.example.com/agentco/probe-exporter:1.4.0",
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
        "ghcr.io/agentco/rightsizer:0.7.1",
        "docker.io/library/busybox:1.37",
    ] {
        assert!(out.stdout.contains(image), "{image} missing:\n{}", out.stdout);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overlay.yaml");
    let with_operands = |run: crate::cli::Run| {
        operands
            .iter()
            .fold(run, |run, (name, operand)| run.arg("--operand").arg(format!("{name}={}", operand.display())))
    };
    with_operands(helm_retarget(&["overlay", "--registry", MIRROR, "-o"]).arg(&file).arg(&chart)).stderr_notes().run();
    with_operands(helm_retarget(&["overlay", "--registry", MIRROR, "--check"]).arg(&file).arg(&chart))
        .stderr_contains("overlay is current")
        .run();
    // Without the operands the overlay is another one: --check says it is stale.
    helm_retarget(&["overlay", "--registry", MIRROR, "--check"]).arg(&file).arg(&chart).status(1).stderr_notes().run();
}

#[test]
fn mirror_takes_values_files_like_scan_and_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "scanner:\n  repository: quay.io/fleet/scanner-fips\n").unwrap();
    let out = helm_retarget(&["mirror", "--registry", MIRROR, "-f"])
        .arg(&values)
        .arg(fixture("operator-data-images"))
        .stderr_notes()
        .run();
    out.status(0);
    assert!(out.stdout.contains("quay.io/fleet/scanner-fips:0.58.1"), "{}", out.stdout);
    assert!(!out.stdout.contains("mirror.gcr.io/fleet/scanner:"), "{}", out.stdout);
}

#[test]
fn verify_finds_data_borne_images_and_after_post_render_only_the_registry_setting() {
    let chart = fixture("operator-data-images");
    let input = stream(&engine::render(&chart, &serde_json::json!({})));
    let out = helm_retarget(&["verify", "--registry", MIRROR]).stdin(input.as_bytes()).status(1).stderr_notes().run();
    for field in [
        "spec.driver.repository",
        "configuration.docker_image",
        "data.provisioner",
        "data.scanner.repository",
        "env[2].value#line 1",
    ] {
        assert!(out.stdout.contains(field), "verify misses {field}:\n{}", out.stdout);
    }
    let moved =
        helm_retarget(&["post-render", "--registry", MIRROR]).stdin(input.as_bytes()).status(0).stderr_notes().run();
    // Every image field moved; the operator's registry setting (`container-registry`) did not, and
    // the operator builds its operand images from it: that one line is left.
    let after =
        helm_retarget(&["verify", "--registry", MIRROR]).stdin(moved.stdout.as_bytes()).status(1).stderr_notes().run();
    let left: Vec<&str> = after.stdout.lines().collect();
    assert_eq!(left.len(), 1, "{}", after.stdout);
    assert!(left[0].contains("container-registry") && left[0].contains("registry setting:"), "{}", after.stdout);
}

/// The env values and config-file line of fixture operator-env-sources that name where the
/// operator pulls images from, as the engine renders them.
fn env_sources(rendered: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let operator = &rendered["relay-operator/templates/operator.yaml"];
    let mut found: Vec<String> = operator
        .lines()
        .zip(operator.lines().skip(1))
        .filter(|(name, _)| ["_REPOSITORY", "_REPO_URL", "_REGISTRY"].iter().any(|end| name.trim_end().ends_with(end)))
        .map(|(_, value)| value.trim().trim_start_matches("value:").trim().trim_matches('"').to_string())
        .collect();
    let config = &rendered["relay-operator/templates/config.yaml"];
    found.extend(config.lines().filter_map(|l| l.trim().strip_prefix("image-registry: ")).map(str::to_string));
    found
}

#[test]
fn image_sources_in_operator_env_and_config_files_move_with_the_overlay() {
    let chart = fixture("operator-env-sources");
    let before = env_sources(&engine::render(&chart, &serde_json::json!({})));
    assert_eq!(before.len(), 5, "{before:?}");
    assert!(before.iter().all(|v| !v.starts_with(MIRROR)), "{before:?}");

    let out = helm_retarget(&["overlay", "--registry", MIRROR]).arg(&chart).status(0).stderr_notes().run();
    let overlay: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let rendered = engine::render(&chart, &overlay);
    let after = env_sources(&rendered);
    assert_eq!(
        after,
        [
            format!("{MIRROR}/relaycorp/relay-init"),
            format!("{MIRROR}/relaycorp"),
            format!("{MIRROR}/relaycorp/relay-probe"),
            MIRROR.to_string(),
            MIRROR.to_string(),
        ],
        "{}",
        out.stdout
    );
    // The branch name beside them is no image source and stays as the chart wrote it.
    assert!(rendered["relay-operator/templates/operator.yaml"].contains("value: main\n"));

    // Without the overlay, verify names the repositories and post-render moves them.
    let input = stream(&engine::render(&chart, &serde_json::json!({})));
    let stray = helm_retarget(&["verify", "--registry", MIRROR]).stdin(input.as_bytes()).status(1).stderr_notes().run();
    for field in ["env[0].value", "env[4].value"] {
        assert!(stray.stdout.contains(field), "verify misses {field}:\n{}", stray.stdout);
    }
    let moved =
        helm_retarget(&["post-render", "--registry", MIRROR]).stdin(input.as_bytes()).status(0).stderr_notes().run();
    assert!(moved.stdout.contains(&format!("value: {MIRROR}/relaycorp/relay-init\n")), "{}", moved.stdout);
    assert!(moved.stdout.contains(&format!("value: \"{MIRROR}/relaycorp/relay-probe\"\n")), "{}", moved.stdout);
}

/// Under `layout: keep-host` a registry setting becomes `REG/<old host>` (with a `/`): the
/// planner still finds the setting where it was after setting its key, so it moves with the
/// overlay instead of being left to the user with HR010.
#[test]
fn registry_settings_move_under_the_keep_host_layout_too() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("keep-host.yaml");
    std::fs::write(&mapping, format!("registry: {MIRROR}\nlayout: keep-host\n")).unwrap();
    let chart = fixture("operator-env-sources");
    let before = env_sources(&engine::render(&chart, &serde_json::json!({})));
    let out = helm_retarget(&["overlay", "--mapping"]).arg(&mapping).arg(&chart).status(0).stderr_notes().run();
    let overlay: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let after = env_sources(&engine::render(&chart, &overlay));
    let want: Vec<String> = before.iter().map(|v| format!("{MIRROR}/{v}")).collect();
    assert_eq!(after, want, "{}", out.stdout);

    let chart = fixture("operator-data-images");
    let out = helm_retarget(&["overlay", "--mapping"]).arg(&mapping).arg(&chart).status(0).stderr_notes().run();
    let overlay: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let settings = &engine::render(&chart, &overlay)["fleet-operator/templates/image-set.yaml"];
    assert!(settings.contains(&format!("container-registry: {MIRROR}/quay.example.net\n")), "{settings}");
}
