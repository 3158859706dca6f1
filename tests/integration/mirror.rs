//! `mirror` and `diff` through the binary: reviewed snapshots of every format, every generated
//! script through shellcheck, the plan checked against what the real Helm engine renders and
//! where overlay and post-render put each image, and `diff` on a hand-made chart upgrade.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::cli::{fixture, helm_retarget, root};
use crate::engine;
use crate::fixtures::{fixture_charts, rendered_images};
use crate::overlay_e2e::{expected_on_mirror, generate_overlay, post_render_only, qualified, MIRROR};
use crate::post_render_e2e::{by_source, stream};
use helm_retarget::reference::Reference;

/// Every `--format` name, in the order the help lists them.
/// (`bundle` writes two files into `-o DIR`: tests/integration/mirror_copy.rs.)
const FORMATS: [&str; 11] =
    ["list", "tsv", "json", "skopeo", "crane", "docker", "regsync", "skopeo-sync", "dry-run", "lock", "oras"];

/// The formats that are bash scripts.
const SCRIPTS: [&str; 5] = ["skopeo", "crane", "docker", "lock", "oras"];

/// The two snapshot fixtures: tags from appVersion, a subchart and a `repository` holding the
/// host; and digests pinned next to tags.
const SNAPSHOT_FIXTURES: [&str; 2] = ["cloudzero-agent", "kube-prometheus-stack-style"];

/// The mapping file of the "keep the source host in the path" layout.
const KEEP_HOST: &str = "layout: keep-host\n";

fn name_of(chart: &Path) -> String {
    chart.file_name().unwrap().to_string_lossy().into_owned()
}

/// The upgrade of the cloudzero-agent fixture that `diff` is tested on.
fn upgrade() -> PathBuf {
    root().join("fixtures/upgrades/cloudzero-agent-next")
}

/// Output with the crate version replaced, so a release does not rewrite every snapshot.
fn versionless(text: &str) -> String {
    text.replace(concat!("helm-retarget ", env!("CARGO_PKG_VERSION")), "helm-retarget VERSION")
}

/// `mirror CHART --registry MIRROR --format json`, parsed.
fn plan_json(chart: &Path) -> serde_json::Value {
    let out =
        helm_retarget(&["mirror", "--registry", MIRROR, "--format", "json"]).arg(chart).status(0).stderr_notes().run();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: --format json: {e}\n{}", chart.display(), out.stdout))
}

/// The `source` of each entry of a plan list (`images`, `excluded`, ...), with a filter on the entry.
fn sources(plan: &serde_json::Value, list: &str, keep: impl Fn(&serde_json::Value) -> bool) -> BTreeSet<String> {
    plan[list]
        .as_array()
        .unwrap_or_else(|| panic!("the plan has no {list} list: {plan}"))
        .iter()
        .filter(|entry| keep(entry))
        .map(|entry| entry["source"].as_str().expect("source is a string").to_string())
        .collect()
}

/// Runs shellcheck on a generated script. A missing shellcheck fails the test: skipping would
/// let an unsafe script through unnoticed.
fn shellcheck(script: &str, name: &str) -> Result<(), String> {
    shellcheck_as("bash", script, name)
}

/// Like `shellcheck`, for a script run by `shell` (`sh` for the Argo CD plugin's commands).
pub fn shellcheck_as(shell: &str, script: &str, name: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new("shellcheck")
        .arg(format!("--shell={shell}"))
        .arg("--severity=style")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run shellcheck ({e}): the generated scripts must pass it. Install it: \
                 `apt-get install -y shellcheck` (Debian/Ubuntu), `brew install shellcheck` (macOS)"
            )
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{name}: shellcheck says:\n{}", String::from_utf8_lossy(&out.stdout)))
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Snapshots of every format.

#[test]
fn every_format_of_the_snapshot_fixtures() {
    for name in SNAPSHOT_FIXTURES {
        let chart = fixture(name);
        for format in FORMATS {
            let run = helm_retarget(&["mirror", "--registry", MIRROR, "--format", format]).arg(&chart);
            // skopeo sync names destinations itself, so the default keep-path layout of a plan
            // with several organisations cannot be written: the refusal is what users see.
            let shown = if format == "skopeo-sync" {
                let out = run.status(2).stdout("").diagnostic("HR034").run();
                format!("exit status {}\n{}", out.status, out.stderr)
            } else {
                versionless(&run.stderr_contains("helm-retarget: ").run().stdout)
            };
            insta::assert_snapshot!(format!("mirror-{name}-{format}"), shown);
        }
    }
}

#[test]
fn skopeo_sync_with_the_keep_host_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.yaml");
    std::fs::write(&mapping, KEEP_HOST).unwrap();
    for name in SNAPSHOT_FIXTURES {
        let out = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "skopeo-sync", "--mapping"])
            .arg(&mapping)
            .arg(fixture(name))
            .status(0)
            .stderr_notes()
            .run();
        insta::assert_snapshot!(format!("mirror-{name}-skopeo-sync-keep-host"), versionless(&out.stdout));
    }
}

#[test]
fn the_default_layout_refuses_skopeo_sync_naming_the_destinations_and_the_way_out() {
    helm_retarget(&["mirror", "--registry", MIRROR, "--format", "skopeo-sync"])
        .arg(fixture("kube-prometheus-stack-style"))
        .status(2)
        .stdout("")
        .stderr(&format!(
            "error[HR034]: --format skopeo-sync: skopeo sync copies every image of one file to DEST/NAME (or \
         DEST/SOURCE-REGISTRY/PATH with --scoped), but this plan's destinations need 4 different \
         DEST: {MIRROR}/ingress-nginx, {MIRROR}/prometheus, {MIRROR}/prometheus-operator, {MIRROR}/thanos\n  \
         = hint: use `layout: keep-host` in the --mapping file (that is --scoped's layout), or --format \
         skopeo or regsync, which name each destination\n"
        ))
        .run();
}

// ---------------------------------------------------------------------------------------------
// 2. Every generated script passes shellcheck.

#[test]
fn every_script_of_every_fixture_passes_shellcheck() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for chart in fixture_charts() {
        let name = name_of(&chart);
        for format in SCRIPTS {
            // The plain registry, then each mapping layout: every destination shape goes through.
            for layout in std::iter::once(None).chain(LAYOUTS.iter().map(Some)) {
                let run = match layout {
                    None => helm_retarget(&["mirror", "--registry", MIRROR]),
                    Some(layout) => layout.command("mirror", dir.path()),
                };
                let run = run.arg("--format").arg(format).arg(&chart);
                let out = run.status(0).stderr_notes().run();
                let script = &out.stdout;
                assert!(script.starts_with("#!/usr/bin/env bash\n"), "{name} {format}: no bash shebang:\n{script}");
                assert!(script.contains("\nset -euo pipefail\n"), "{name} {format}: not strict:\n{script}");
                // The lock script reads digests, one `entry` line per image, instead of copying.
                let command = if format == "lock" { "  entry ".to_string() } else { format!("{format} ") };
                let copies = script.lines().filter(|line| line.starts_with(&command)).count();
                assert!(copies > 0, "{name} {format}: the script copies nothing:\n{script}");
                if let Err(e) = shellcheck(script, &format!("{name}-{format}.sh")) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_sync_config_of_every_fixture_is_yaml_listing_each_enabled_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for chart in fixture_charts() {
        let name = name_of(&chart);
        let plan = plan_json(&chart);
        let enabled = sources(&plan, "images", |image| image["disabled"] == false);
        let copies: BTreeSet<(String, String)> = plan["images"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|image| image["disabled"] == false)
            .map(|image| {
                let field = |key: &str| image[key].as_str().unwrap().to_string();
                (field("copy_source"), field("copy_destination"))
            })
            .collect();

        let out = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "regsync"])
            .arg(&chart)
            .status(0)
            .stderr_notes()
            .run();
        let config: serde_yaml::Value =
            serde_yaml::from_str(&out.stdout).unwrap_or_else(|e| panic!("{name}: regsync: {e}\n{}", out.stdout));
        let listed: BTreeSet<(String, String)> = config["sync"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|entry| {
                let field = |key: &str| entry[key].as_str().unwrap().to_string();
                (field("source"), field("target"))
            })
            .collect();
        if listed != copies {
            failures.push(format!("{name}: regsync lists {listed:?}, the plan copies {copies:?}"));
        }

        // skopeo sync with --scoped: registry -> path -> tags or digests, one per enabled image.
        let out = LAYOUTS[0]
            .command("mirror", dir.path())
            .arg("--format")
            .arg("skopeo-sync")
            .arg(&chart)
            .status(0)
            .stderr_notes()
            .run();
        let file: serde_yaml::Value =
            serde_yaml::from_str(&out.stdout).unwrap_or_else(|e| panic!("{name}: skopeo-sync: {e}\n{}", out.stdout));
        let mut synced = BTreeSet::new();
        for (registry, settings) in file.as_mapping().unwrap() {
            for (path, items) in settings["images"].as_mapping().unwrap() {
                for item in items.as_sequence().unwrap() {
                    let item = item.as_str().unwrap();
                    let separator = if item.starts_with("sha256:") { '@' } else { ':' };
                    synced.insert(format!(
                        "{}/{}{separator}{item}",
                        registry.as_str().unwrap(),
                        path.as_str().unwrap()
                    ));
                }
            }
        }
        // A source pinned by tag and digest is synced by its digest alone.
        let wanted: BTreeSet<String> = enabled
            .iter()
            .map(|source| match source.split_once('@') {
                Some((name_and_tag, digest)) => {
                    let name = name_and_tag
                        .rsplit_once(':')
                        .filter(|(_, tag)| !tag.contains('/'))
                        .map_or(name_and_tag, |(n, _)| n);
                    format!("{name}@{digest}")
                }
                // A repository written without a tag (an operator adds it) is synced as `latest`.
                None if Reference::parse(source).is_ok_and(|r| r.tag.is_none()) => format!("{source}:latest"),
                None => source.clone(),
            })
            .collect();
        if synced != wanted {
            failures.push(format!("{name}: skopeo-sync lists {synced:?}, want {wanted:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 3. The plan against the real Helm engine, the overlay and the post-renderer.

/// Each reference as rendered -> its fully qualified spelling, for a walker result.
fn qualified_images(manifests: &BTreeMap<String, String>) -> BTreeSet<String> {
    rendered_images(manifests).into_iter().map(|(_, _, image)| qualified(&image)).collect()
}

/// Where each image went between two renders of the same chart: fully qualified before -> every
/// reference found at the same template and YAML path after.
fn moves(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let after: BTreeMap<(String, String), String> =
        rendered_images(after).into_iter().map(|(t, p, i)| ((t, p), i)).collect();
    let mut moved: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (template, path, image) in rendered_images(before) {
        if let Some(new) = after.get(&(template, path)) {
            moved.entry(qualified(&image)).or_default().insert(new.clone());
        }
    }
    moved
}

/// True when `text` holds the fully qualified `source` in any spelling Docker accepts, as a
/// whole reference (not the front of a longer one).
fn appears_in(text: &str, source: &str) -> bool {
    let spellings = [Some(source), source.strip_prefix("docker.io/"), source.strip_prefix("docker.io/library/")];
    spellings.into_iter().flatten().any(|spelling| {
        text.match_indices(spelling).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + spelling.len()..].chars().next();
            let part_of_reference = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
            !before.is_some_and(part_of_reference) && !after.is_some_and(part_of_reference)
        })
    })
}

fn difference(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).cloned().collect()
}

#[test]
fn every_fixture_plan_lists_exactly_the_rendered_images_with_their_overlay_and_post_render_destinations() {
    let mut failures = Vec::new();
    for chart in fixture_charts() {
        let name = name_of(&chart);
        let plan = plan_json(&chart);
        let enabled = sources(&plan, "images", |image| image["disabled"] == false);
        let disabled = sources(&plan, "images", |image| image["disabled"] == true);
        let left = sources(&plan, "excluded", |_| true);
        let already = sources(&plan, "already_on_destination", |_| true);
        if !left.is_empty() || !already.is_empty() {
            failures.push(format!(
                "{name}: with --registry alone nothing is excluded or already there: {left:?} {already:?}"
            ));
        }

        // Sources: exactly what the engine renders with the chart's defaults; images of disabled
        // subcharts are extra, and must not be rendered.
        let defaults = engine::render(&chart, &serde_json::json!({}));
        let rendered = qualified_images(&defaults);
        let missed = difference(&rendered, &enabled);
        if !missed.is_empty() {
            failures.push(format!("{name}: rendered but not in the plan: {missed:?}"));
        }
        // The walker reads only fields and flags it knows; an image the plan found elsewhere
        // (an operator flag such as `--prometheus-config-reloader=`) must still be in the text.
        let text = stream(&defaults);
        let extra: Vec<String> =
            difference(&enabled, &rendered).into_iter().filter(|source| !appears_in(&text, source)).collect();
        if !extra.is_empty() {
            failures.push(format!("{name}: in the plan as enabled but not rendered: {extra:?}"));
        }
        let rendered_disabled: Vec<&String> = disabled.intersection(&rendered).collect();
        if !rendered_disabled.is_empty() {
            failures.push(format!("{name}: marked disabled but rendered with the defaults: {rendered_disabled:?}"));
        }
        for image in plan["images"].as_array().unwrap() {
            if image["disabled"] == true
                && !image["sites"].as_array().unwrap().iter().all(|site| site["disabled"] == true)
            {
                failures.push(format!("{name}: {} is disabled but has an enabled site", image["source"]));
            }
        }

        // Destinations: the mapping's rule, computed independently.
        let destination: BTreeMap<String, String> = plan["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|image| {
                (image["source"].as_str().unwrap().to_string(), image["destination"].as_str().unwrap().to_string())
            })
            .collect();
        for (source, dest) in &destination {
            if *dest != expected_on_mirror(source) {
                failures.push(format!("{name}: {source} goes to {dest}, want {}", expected_on_mirror(source)));
            }
        }

        // ... and what the post-renderer writes at the same place of the same render.
        let post_rendered = {
            let out = helm_retarget(&["post-render", "--registry", MIRROR])
                .stdin(stream(&defaults))
                .status(0)
                .stderr_notes()
                .run();
            by_source(&out.stdout)
        };
        let mut post_rendered_checked = 0;
        for (source, landed) in moves(&by_source(&stream(&defaults)), &post_rendered) {
            let planned = destination.get(&source).map(|d| qualified(d));
            for got in landed {
                post_rendered_checked += 1;
                if planned.as_deref() != Some(qualified(&got).as_str()) {
                    failures.push(format!("{name}: post-render puts {source} at {got}, the plan at {planned:?}"));
                }
            }
        }

        if post_rendered_checked == 0 {
            failures.push(format!("{name}: the post-render comparison found no image to compare"));
        }

        // ... and what the overlay renders, for every image values can move.
        let (overlay_text, _) = generate_overlay(&chart);
        let overlay: serde_json::Value = serde_yaml::from_str(&overlay_text).unwrap();
        let overlay = if overlay.is_null() { serde_json::json!({}) } else { overlay };
        let unmovable = post_render_only(&overlay_text);
        let with_overlay = engine::render(&chart, &overlay);
        let mut overlay_checked = 0;
        for (source, landed) in moves(&defaults, &with_overlay) {
            if unmovable.iter().any(|u| *u == source || source.starts_with(&format!("{u}/"))) {
                continue;
            }
            let planned = destination.get(&source).map(|d| qualified(d));
            for got in landed {
                overlay_checked += 1;
                if planned.as_deref() != Some(qualified(&got).as_str()) {
                    failures.push(format!("{name}: the overlay renders {source} as {got}, the plan says {planned:?}"));
                }
            }
        }

        if overlay_checked == 0 {
            failures.push(format!("{name}: the overlay comparison found no image to compare"));
        }

        // The same sources from the rendered stream alone.
        let out = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "json", "--from-manifests", "-"])
            .stdin(stream(&defaults))
            .status(0)
            .stderr_notes()
            .run();
        let from_stream: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let streamed = sources(&from_stream, "images", |_| true);
        if streamed != enabled {
            failures.push(format!(
                "{name}: --from-manifests lists {:?} more and {:?} fewer than the chart's enabled images",
                difference(&streamed, &enabled),
                difference(&enabled, &streamed)
            ));
        }
        for image in from_stream["images"].as_array().unwrap() {
            let source = image["source"].as_str().unwrap();
            if destination.get(source).map(String::as_str) != image["destination"].as_str() {
                failures.push(format!("{name}: --from-manifests sends {source} elsewhere: {}", image["destination"]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A mapping file and where it sends a fully qualified source, computed here from the
/// documented tables rather than by the crate.
struct Layout {
    name: &'static str,
    file: &'static str,
    /// Source registry -> destination prefix; a source registry not listed keeps its path
    /// below `fallback`.
    prefixes: &'static [(&'static str, &'static str)],
    fallback: &'static str,
    keep_host: bool,
}

const LAYOUTS: [Layout; 3] = [
    Layout { name: "keep-host", file: KEEP_HOST, prefixes: &[], fallback: MIRROR, keep_host: true },
    Layout {
        name: "harbor-proxy-cache",
        file: "registry: harbor.example.com\npreset: harbor-proxy-cache\n",
        prefixes: &[
            ("docker.io", "harbor.example.com/dockerhub-proxy"),
            ("quay.io", "harbor.example.com/quay-proxy"),
            ("ghcr.io", "harbor.example.com/ghcr-proxy"),
            ("gcr.io", "harbor.example.com/gcr-proxy"),
            ("registry.k8s.io", "harbor.example.com/k8s-proxy"),
            ("public.ecr.aws", "harbor.example.com/ecr-public-proxy"),
        ],
        fallback: "harbor.example.com",
        keep_host: false,
    },
    Layout {
        name: "ecr-pull-through",
        file: "registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\npreset: ecr-pull-through\n",
        prefixes: &[
            ("docker.io", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub"),
            ("quay.io", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/quay"),
            ("ghcr.io", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/github"),
            ("registry.k8s.io", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/kubernetes"),
            ("public.ecr.aws", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecr-public"),
        ],
        fallback: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        keep_host: false,
    },
];

impl Layout {
    /// `helm-retarget COMMAND --mapping FILE` with this layout's file written into `dir`.
    fn command(&self, command: &str, dir: &Path) -> crate::cli::Run {
        let mapping = dir.join(format!("{}.yaml", self.name));
        std::fs::write(&mapping, self.file).unwrap();
        let run = helm_retarget(&[command, "--mapping"]).arg(&mapping);
        // keep-host shapes the default destination, which --registry names.
        if self.keep_host {
            run.arg("--registry").arg(MIRROR)
        } else {
            run
        }
    }

    fn destination(&self, source: &str) -> String {
        let (host, path) = source.split_once('/').expect("a fully qualified source");
        if self.keep_host {
            return format!("{}/{source}", self.fallback);
        }
        match self.prefixes.iter().find(|(registry, _)| *registry == host) {
            Some((_, prefix)) => format!("{prefix}/{path}"),
            None => format!("{}/{path}", self.fallback),
        }
    }
}

#[test]
fn overlay_post_render_and_mirror_follow_the_same_pull_through_preset() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for chart in fixture_charts() {
        let name = name_of(&chart);
        let defaults = engine::render(&chart, &serde_json::json!({}));
        for layout in &LAYOUTS {
            let with_mapping = |command: &str| layout.command(command, dir.path());
            let at = format!("{name} ({})", layout.name);

            let out = with_mapping("mirror").arg("--format").arg("json").arg(&chart).status(0).stderr_notes().run();
            let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let mut destination = BTreeMap::new();
            for image in plan["images"].as_array().unwrap() {
                let source = image["source"].as_str().unwrap().to_string();
                let dest = image["destination"].as_str().unwrap().to_string();
                if dest != layout.destination(&source) {
                    failures
                        .push(format!("{at}: the plan sends {source} to {dest}, want {}", layout.destination(&source)));
                }
                destination.insert(source, qualified(&dest));
            }

            let out = with_mapping("post-render").stdin(stream(&defaults)).status(0).stderr_notes().run();
            let mut checked = 0;
            for (source, landed) in moves(&by_source(&stream(&defaults)), &by_source(&out.stdout)) {
                for got in landed {
                    checked += 1;
                    if destination.get(&source) != Some(&qualified(&got)) {
                        failures.push(format!(
                            "{at}: post-render puts {source} at {got}, the plan at {:?}",
                            destination.get(&source)
                        ));
                    }
                }
            }

            // An image named in ConfigMap text that nothing moves is accepted here (exit 3 else).
            let overlay_run =
                with_mapping("overlay").arg(&chart).status(0).stderr_notes().accepting_text_images(&chart);
            let out = overlay_run.run();
            let overlay: serde_json::Value = serde_yaml::from_str(&out.stdout).unwrap();
            let overlay = if overlay.is_null() { serde_json::json!({}) } else { overlay };
            let unmovable = post_render_only(&out.stdout);
            let rendered = match engine::try_render(&chart, &overlay) {
                Ok(rendered) => rendered,
                Err(e) => {
                    failures.push(format!("{at}: the engine refuses the overlay: {e}"));
                    continue;
                }
            };
            for (source, landed) in moves(&defaults, &rendered) {
                if unmovable.iter().any(|u| *u == source || source.starts_with(&format!("{u}/"))) {
                    continue;
                }
                for got in landed {
                    checked += 1;
                    if destination.get(&source) != Some(&qualified(&got)) {
                        failures.push(format!(
                            "{at}: the overlay renders {source} as {got}, the plan says {:?}",
                            destination.get(&source)
                        ));
                    }
                }
            }
            if checked == 0 {
                failures.push(format!("{at}: nothing was compared"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_chart_and_its_rendered_stream_together_list_each_image_once_with_both_sites() {
    let chart = fixture("cloudzero-agent");
    let rendered = stream(&engine::render(&chart, &serde_json::json!({})));
    let alone = plan_json(&chart);
    let out = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "json", "--from-manifests", "-"])
        .arg(&chart)
        .stdin(rendered)
        .status(0)
        .stderr_notes()
        .run();
    let both: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(sources(&both, "images", |_| true), sources(&alone, "images", |_| true));
    for image in both["images"].as_array().unwrap() {
        let sites = image["sites"].as_array().unwrap();
        assert!(sites.iter().any(|s| s["values_path"].is_string()), "a chart site: {image}");
        assert!(sites.iter().any(|s| s["values_path"].is_null()), "a stream site: {image}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. diff on a chart upgrade.

/// What fixtures/upgrades/cloudzero-agent-next changes, image by image.
const ADDED: [&str; 2] = ["docker.io/library/busybox:1.37.0", "quay.io/kube-state-metrics/kube-state-metrics:v2.17.0"];
const REMOVED: [&str; 2] = [
    "quay.io/prometheus-operator/prometheus-config-reloader:v0.87.0",
    "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.17.0",
];
const RETAGGED: (&str, &str, &str) = ("ghcr.io/cloudzero/cloudzero-agent/cloudzero-agent", "1.2.9", "1.3.0");

/// `diff OLD NEW` from the repository root, so the overlay headers name paths that do not
/// depend on where the repository is checked out.
fn run_diff(format: &str) -> crate::cli::Output {
    helm_retarget(&[
        "diff",
        "--registry",
        MIRROR,
        "--format",
        format,
        "fixtures/charts/cloudzero-agent",
        "fixtures/upgrades/cloudzero-agent-next",
    ])
    .current_dir(&root())
    .run()
}

#[test]
fn the_upgrade_fixture_changes_what_its_chart_says() {
    // The fixture itself, checked with the engine: a wrong fixture would make the diff test
    // agree with a wrong diff.
    let old = qualified_images(&engine::render(&fixture("cloudzero-agent"), &serde_json::json!({})));
    let new = qualified_images(&engine::render(&upgrade(), &serde_json::json!({})));
    let (name, old_tag, new_tag) = RETAGGED;
    let mut added: Vec<String> = ADDED.iter().map(std::string::ToString::to_string).collect();
    added.push(format!("{name}:{new_tag}"));
    added.sort();
    let mut removed: Vec<String> = REMOVED.iter().map(std::string::ToString::to_string).collect();
    removed.push(format!("{name}:{old_tag}"));
    removed.sort();
    assert_eq!(difference(&new, &old), added);
    assert_eq!(difference(&old, &new), removed);
}

#[test]
fn diff_reports_the_upgrade_as_text() {
    let out = run_diff("text");
    insta::assert_snapshot!("diff-cloudzero-agent-next-text", out.stdout);
    let images: Vec<&str> = out.stdout.lines().take_while(|line| !line.is_empty()).collect();
    // Issue 7: the agent's values dump (a ConfigMap) names the clustered alloy image in both
    // versions, so it counts as a second unchanged image.
    assert_eq!(images[0], "Images: 2 added, 2 removed, 1 retagged, 2 unchanged");
    let starts: Vec<String> = images[1..].iter().map(|line| line.split("  (").next().unwrap().to_string()).collect();
    let (name, old_tag, new_tag) = RETAGGED;
    let mut expected: Vec<String> = ADDED.iter().map(|s| format!("  + {s}")).collect();
    expected.extend(REMOVED.iter().map(|s| format!("  - {s}")));
    expected.push(format!("  ~ {name}: {old_tag} -> {new_tag}"));
    assert_eq!(starts, expected);
    assert!(out.stdout.contains("\nOverlay:\n"), "the overlay diff follows:\n{}", out.stdout);
    assert!(out.stdout.contains("\n-  prometheusReloader:\n+  waitForApi:\n"), "{}", out.stdout);
}

#[test]
fn diff_reports_the_upgrade_as_markdown() {
    let out = run_diff("markdown");
    insta::assert_snapshot!("diff-cloudzero-agent-next-markdown", out.stdout);
    // The image table: the knob tables of `### Overlay keys` follow it (tests/integration/diff_knobs.rs).
    let images = out.stdout.split("### Overlay keys").next().unwrap();
    let rows: Vec<Vec<String>> = images
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| Change") && !line.starts_with("| ---"))
        .map(|line| line.split(" | ").take(4).map(|cell| cell.trim_matches(['|', ' ', '`']).to_string()).collect())
        .collect();
    let split = |reference: &str| {
        let (name, tag) = reference.rsplit_once(':').unwrap();
        (name.to_string(), tag.to_string())
    };
    let mut expected: Vec<Vec<String>> = Vec::new();
    for added in ADDED {
        let (name, tag) = split(added);
        expected.push(vec!["added".into(), name, String::new(), tag]);
    }
    for removed in REMOVED {
        let (name, tag) = split(removed);
        expected.push(vec!["removed".into(), name, tag, String::new()]);
    }
    let (name, old_tag, new_tag) = RETAGGED;
    expected.push(vec!["retagged".into(), name.into(), old_tag.into(), new_tag.into()]);
    assert_eq!(rows, expected, "{}", out.stdout);
    assert!(out.stdout.contains("\n2 added, 2 removed, 1 retagged, 2 unchanged.\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\n### Overlay\n\n```diff\n"), "{}", out.stdout);
}

#[test]
fn diff_reports_the_upgrade_as_json() {
    let out = run_diff("json");
    insta::assert_snapshot!("diff-cloudzero-agent-next-json", out.stdout);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let list = |key: &str| -> Vec<String> {
        json[key].as_array().unwrap().iter().map(|i| i["source"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(list("added"), ADDED);
    assert_eq!(list("removed"), REMOVED);
    for image in json["added"].as_array().unwrap() {
        assert_eq!(image["destination"], expected_on_mirror(image["source"].as_str().unwrap()));
    }
    let (name, old_tag, new_tag) = RETAGGED;
    let retagged = json["retagged"].as_array().unwrap();
    assert_eq!(retagged.len(), 1);
    assert_eq!(retagged[0]["name"], name);
    assert_eq!(retagged[0]["old"]["source"], format!("{name}:{old_tag}"));
    assert_eq!(retagged[0]["new"]["source"], format!("{name}:{new_tag}"));
    assert_eq!(json["unchanged"], 2);
    assert!(json["overlay_diff"].as_str().unwrap().contains("+  waitForApi:\n"), "{}", json["overlay_diff"]);
}

#[test]
fn diff_without_a_registry_compares_sources_and_invents_no_destination() {
    let out = helm_retarget(&["diff", "--format", "json"]).arg(fixture("cloudzero-agent")).arg(upgrade()).run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["overlay_diff"], "", "no registry, no overlay");
    let mut images: Vec<&serde_json::Value> = Vec::new();
    for key in ["added", "removed"] {
        images.extend(json[key].as_array().unwrap());
    }
    for retag in json["retagged"].as_array().unwrap() {
        images.push(&retag["old"]);
        images.push(&retag["new"]);
    }
    assert_eq!(images.len(), 6);
    for image in images {
        assert_eq!(image["destination"], serde_json::Value::Null, "no registry was given: {image}");
    }
}

#[test]
fn fail_on_new_images_exits_1_naming_what_the_mirror_lacks_and_0_once_it_has_it() {
    let dir = tempfile::tempdir().unwrap();
    // What was mirrored for the old version, as `mirror --format tsv` wrote it.
    let old = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "tsv"])
        .arg(fixture("cloudzero-agent"))
        .status(0)
        .stderr_notes()
        .run();
    let mirrored = dir.path().join("mirrored.tsv");
    std::fs::write(&mirrored, &old.stdout).unwrap();
    let gate = |list: &Path| {
        helm_retarget(&["diff", "--registry", MIRROR, "--fail-on-new-images", "--mirrored"])
            .arg(list)
            .arg("fixtures/charts/cloudzero-agent")
            .arg("fixtures/upgrades/cloudzero-agent-next")
            .current_dir(&root())
    };
    let out = gate(&mirrored).status(1).stderr_notes().run();
    assert_eq!(out.stdout, run_diff("text").stdout, "the report is printed either way");
    // kube-state-metrics changed registry only: its destination is already on the mirror.
    let (name, _, new_tag) = RETAGGED;
    out.stderr_is(&format!(
        "2 image(s) of fixtures/upgrades/cloudzero-agent-next are not mirrored yet:\n  {}\n  {name}:{new_tag}\n",
        ADDED[0]
    ));

    // Mirror the two (one by source, one by destination) and the gate opens.
    let mut list = old.stdout.clone();
    list.push_str(&format!(
        "# mirrored for 1.3.0\n{}\n{}\n",
        ADDED[0],
        expected_on_mirror(&format!("{name}:{new_tag}"))
    ));
    std::fs::write(&mirrored, list).unwrap();
    gate(&mirrored).status(0).stderr("").run();
}

#[test]
fn fail_on_new_images_reads_the_list_from_stdin() {
    let out = helm_retarget(&["diff", "--registry", MIRROR, "--fail-on-new-images", "--mirrored", "-"])
        .arg(fixture("cloudzero-agent"))
        .arg(upgrade())
        .stdin("")
        .status(1)
        .stderr_notes()
        .run();
    // Issue 7: five, with the alloy image the agent's values dump names.
    assert!(out.stderr.starts_with("5 image(s) of "), "an empty list lacks every enabled image:\n{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// 5. A user's template, and -o.

#[test]
fn a_user_template_gets_the_documented_variables() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("mine.hbs");
    std::fs::write(
        &template,
        "{{#each images}}{{source_registry}} {{source_path}} {{tag}} {{#if digest}}{{digest}}{{else}}-{{/if}} \
         {{destination_registry}} {{destination_path}} [{{chart}}] [{{values_path}}]\n{{/each}}",
    )
    .unwrap();
    let chart = fixture("kube-prometheus-stack-style");
    let out = helm_retarget(&["mirror", "--registry", MIRROR, "--template"])
        .arg(&template)
        .arg(&chart)
        .status(0)
        .stderr_notes()
        .run();
    // Each line rebuilt from the plan's references, parsed here by hand.
    let tsv = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "tsv"]).arg(&chart).stderr_notes().run();
    let plan = plan_json(&chart);
    let mut expected = String::new();
    for (line, image) in tsv.stdout.lines().zip(plan["images"].as_array().unwrap()) {
        let (source, destination) = line.split_once('\t').unwrap();
        let split = |reference: &str| {
            let (name, digest) = reference.split_once('@').map_or((reference, "-"), |(n, d)| (n, d));
            let (name, tag) = name.rsplit_once(':').unwrap();
            let (registry, path) = name.split_once('/').unwrap();
            (registry.to_string(), path.to_string(), tag.to_string(), digest.to_string())
        };
        let (registry, path, tag, digest) = split(source);
        let (dest_registry, dest_path, _, _) = split(destination);
        expected.push_str(&format!(
            "{registry} {path} {tag} {digest} {dest_registry} {dest_path} [{}] [{}]\n",
            image["chart"].as_str().unwrap(),
            image["values_path"].as_str().unwrap()
        ));
    }
    assert_eq!(out.stdout, expected);
    assert!(expected.contains(" sha256:"), "the fixture pins digests:\n{expected}");
}

#[test]
fn a_misspelt_template_variable_is_an_error_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("typo.hbs"), "# copies\n{{#each images}}{{sorce}}\n{{/each}}").unwrap();
    helm_retarget(&["mirror", "--registry", MIRROR, "--template", "typo.hbs"])
        .arg(fixture("cloudzero-agent"))
        .current_dir(dir.path())
        .status(2)
        .stdout("")
        .stderr(
            "error[HR035]: typo.hbs: the template uses \"sorce\", which is not a mirror plan variable (line 2)\n  \
             = hint: `helm-retarget mirror --format json` prints every variable a template can use; the \
             README lists them\n",
        );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn output_scripts_are_written_whole_and_executable_other_formats_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let chart = fixture("cloudzero-agent");
    for format in FORMATS.into_iter().filter(|f| *f != "skopeo-sync") {
        let file = dir.path().join(format!("plan.{format}"));
        std::fs::write(&file, "left from an earlier run\n").unwrap();
        let to_file = helm_retarget(&["mirror", "--registry", MIRROR, "--format", format, "-o"])
            .arg(&file)
            .arg(&chart)
            .stdout("")
            .stderr_contains("helm-retarget: ")
            .run();
        let to_stdout = helm_retarget(&["mirror", "--registry", MIRROR, "--format", format])
            .arg(&chart)
            .stderr_contains("helm-retarget: ")
            .run();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), to_stdout.stdout, "{format}");
        assert_eq!(to_file.stderr, to_stdout.stderr, "{format}: the same summary");
        let executable = mode(&file) & 0o111 != 0;
        assert_eq!(executable, SCRIPTS.contains(&format), "{format}: mode {:o}", mode(&file));
        if executable {
            // Whoever may read the script may run it; nobody else gains anything.
            assert_eq!((mode(&file) & 0o444) >> 2, mode(&file) & 0o111, "{format}: mode {:o}", mode(&file));
        }
    }
    let mut expected: Vec<String> =
        FORMATS.iter().filter(|f| **f != "skopeo-sync").map(|f| format!("plan.{f}")).collect();
    expected.sort();
    assert_eq!(entries(dir.path()), expected, "no temporary file is left behind");
}

#[test]
fn a_failed_run_leaves_the_output_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.yaml");
    std::fs::write(&file, "the previous plan\n").unwrap();
    helm_retarget(&["mirror", "--registry", MIRROR, "--format", "skopeo-sync", "-o"])
        .arg(&file)
        .arg(fixture("cloudzero-agent"))
        .status(2)
        .stdout("")
        .diagnostic("HR034")
        .run();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "the previous plan\n");
    assert_eq!(entries(dir.path()), ["sync.yaml"]);
}

#[test]
fn issue_13_diff_copy_plans_hold_only_the_images_the_upgrade_adds() {
    let old = fixture("cloudzero-agent");
    let list = |chart: &Path| -> BTreeSet<String> {
        let out = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "list"])
            .arg(chart)
            .status(0)
            .stderr_notes()
            .run();
        out.stdout.lines().map(str::to_string).collect()
    };
    let (before, after) = (list(&old), list(&upgrade()));
    let added: Vec<String> = after.difference(&before).cloned().collect();
    assert!(!added.is_empty() && added.len() < after.len(), "the upgrade adds some images, not all: {added:?}");
    let diff = |format: &str| {
        let out = helm_retarget(&["diff", "--registry", MIRROR, "--format", format])
            .arg(&old)
            .arg(upgrade())
            .stderr_contains("diff: ")
            .run();
        out.stdout.clone()
    };
    assert_eq!(diff("list"), added.iter().map(|image| format!("{image}\n")).collect::<String>());
    for format in ["skopeo", "crane"] {
        let script = diff(format);
        shellcheck(&script, &format!("diff-{format}.sh")).unwrap();
        let copied: Vec<String> = script
            .lines()
            .filter(|line| line.starts_with(&format!("{format} copy ")))
            .map(|line| line.split('\'').nth(1).unwrap().trim_start_matches("docker://").to_string())
            .collect();
        assert_eq!(copied, added, "{format}: copies exactly the added images");
    }
    helm_retarget(&["diff", "--format", "crane"])
        .arg(&old)
        .arg(upgrade())
        .status(2)
        .stdout("")
        .diagnostic("HR032")
        .stderr_contains("needs a destination")
        .run();
}
