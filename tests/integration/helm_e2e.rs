//! Inside real Helm (v3.17.2 and v4.1.4, installed by tests/run): every fixture post-rendered by
//! Helm itself, through `--post-renderer` (Helm 3: our binary; Helm 4: the repository's plugin
//! installed with `helm plugin install`), overlays made by the `cli/v1` plugin and rendered with
//! `helm template -f` in both versions, and the release archives installed into a fresh data home.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::fixtures::{fixture_charts, rendered_images};
use crate::helm_bin::Helm;
use crate::overlay_e2e::{expected_on_mirror, image_config_neutral, post_render_only, qualified, MIRROR};
use crate::post_render_e2e::{by_source, changed_lines_are_references};

const BINARY: &str = env!("CARGO_BIN_EXE_helm-retarget");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A Helm home with a `cat` post-renderer plugin (Helm 4 takes only plugins) and the
/// repository's two plugins, installed as a user would. The launcher runs the binary under test.
fn helm4_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let cat = home.path().join("cat-plugin");
    std::fs::create_dir_all(&cat).unwrap();
    std::fs::write(
        cat.join("plugin.yaml"),
        "apiVersion: v1\nname: cat\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: subprocess\n\
         runtimeConfig:\n  platformCommand:\n    - command: /bin/cat\n",
    )
    .unwrap();
    for dir in [cat.as_path(), root(), &root().join("helm-plugin/retarget-cli")] {
        // A local directory has no provenance to verify; Helm 4 wants that said.
        let out = Helm::V4.command(home.path()).args(["plugin", "install"]).arg(dir).arg("--verify=false").output();
        let out = out.unwrap();
        assert!(
            out.status.success(),
            "helm plugin install {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    home
}

fn template(helm: Helm, home: &Path, chart: &Path, args: &[&str]) -> Result<String, String> {
    let mut command = helm.command(home);
    command.env("HELM_RETARGET_BIN", BINARY).args(["template", "release"]).arg(chart);
    command.args(["--namespace", "default"]).args(args);
    let out = command.output().expect("helm runs");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("UTF-8"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `Kind/name` of every hook object: Helm 3 never hands hooks to a post-renderer.
fn hooks(rendered: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for doc in serde_yaml::Deserializer::from_str(rendered) {
        let Ok(value) = <serde_yaml::Value as serde::Deserialize>::deserialize(doc) else { continue };
        if value["metadata"]["annotations"].get("helm.sh/hook").is_some() {
            out.insert(format!(
                "{}/{}",
                value["kind"].as_str().unwrap_or(""),
                value["metadata"]["name"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

/// Post-rendered output against the `cat` baseline: only reference text changed, every image
/// (but a Helm 3 hook's) on the mirror where the independent walker finds it.
fn check_post_rendered(label: &str, helm: Helm, baseline: &str, output: &str, failures: &mut Vec<String>) {
    changed_lines_are_references(label, baseline, output, failures);
    let skipped = if helm == Helm::V3 { hooks(baseline) } else { BTreeSet::new() };
    let before = rendered_images(&by_source(baseline));
    let after = rendered_images(&by_source(output));
    if before.len() != after.len() {
        failures.push(format!("{label}: {} images before, {} after", before.len(), after.len()));
    }
    for (template, path, image) in after {
        let object = path.split(':').next().unwrap_or("");
        if !image.starts_with(&format!("{MIRROR}/")) && !skipped.contains(object) {
            failures.push(format!("{label}: {template} {path}: {image} is not on {MIRROR}"));
        }
    }
}

#[test]
fn issue_9_every_fixture_post_renders_inside_helm3_and_helm4() {
    let home3 = tempfile::tempdir().unwrap();
    let home4 = helm4_home();
    let mut failures = Vec::new();
    let (mut checked, mut skipped) = (0, Vec::new());
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let ours3 = [
            "--post-renderer",
            BINARY,
            "--post-renderer-args",
            "post-render",
            "--post-renderer-args",
            "--registry",
            "--post-renderer-args",
            MIRROR,
        ];
        let runs: [(Helm, &Path, [&str; 2], Vec<&str>); 2] = [
            (Helm::V3, home3.path(), ["--post-renderer", "/bin/cat"], ours3.to_vec()),
            (
                Helm::V4,
                home4.path(),
                ["--post-renderer", "cat"],
                vec![
                    "--post-renderer",
                    "retarget",
                    "--post-renderer-args",
                    "--registry",
                    "--post-renderer-args",
                    MIRROR,
                ],
            ),
        ];
        for (helm, home, cat, ours) in runs {
            let label = format!("{name} ({helm:?})");
            let Ok(baseline) = template(helm, home, &chart, &cat) else {
                // Helm itself refuses the chart with a cat post-renderer: not ours to pass.
                skipped.push(label);
                continue;
            };
            checked += 1;
            match template(helm, home, &chart, &ours) {
                Ok(output) => check_post_rendered(&label, helm, &baseline, &output, &mut failures),
                Err(e) => failures.push(format!("{label}: fails with the post-renderer, not with cat: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every fixture renders with a cat post-renderer in both versions today.
    assert!(skipped.is_empty(), "Helm refuses with a cat post-renderer: {skipped:?}");
    assert_eq!(checked, 2 * fixture_charts().len());
}

#[test]
fn issue_9_overlays_from_the_cli_plugin_move_every_image_in_helm3_and_helm4() {
    let home4 = helm4_home();
    let home3 = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let out = Helm::V4
            .command(home4.path())
            .env("HELM_RETARGET_BIN", BINARY)
            .args(["retarget", "overlay"])
            .arg(&chart)
            .args(["--registry", MIRROR])
            // An image named in ConfigMap text that nothing moves is accepted here (exit 3 else).
            .args(if crate::cli::names_text_images(&chart) { &["--allow-incomplete"][..] } else { &[] })
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: helm retarget overlay: {}", String::from_utf8_lossy(&out.stderr));
        let overlay = String::from_utf8(out.stdout).unwrap();
        let file = home3.path().join(format!("{name}-overlay.yaml"));
        std::fs::write(&file, &overlay).unwrap();
        let unmovable = post_render_only(&overlay);
        for (helm, home) in [(Helm::V3, home3.path()), (Helm::V4, home4.path())] {
            let label = format!("{name} -f overlay ({helm:?})");
            let before = template(helm, home, &chart, &[]).unwrap_or_else(|e| panic!("{label}: {e}"));
            let after = match template(helm, home, &chart, &["-f", file.to_str().unwrap()]) {
                Ok(after) => after,
                Err(e) => {
                    failures.push(format!("{label}: Helm refuses the overlay: {e}"));
                    continue;
                }
            };
            let after: BTreeMap<(String, String), String> = rendered_images(&by_source(&after))
                .into_iter()
                .map(|(t, p, i)| ((t, image_config_neutral(&p)), i))
                .collect();
            for (template, path, image) in rendered_images(&by_source(&before)) {
                // The overlay lists what only the post-renderer moves as rendered by the Python
                // engine, whose Kubernetes version (in a computed tag) differs from these Helms'.
                let q = without_tag(&qualified(&image));
                if image.starts_with(&format!("{MIRROR}/"))
                    || unmovable.iter().map(|u| without_tag(u)).any(|u| u == q || q.starts_with(&format!("{u}/")))
                {
                    continue;
                }
                let want = expected_on_mirror(&image);
                match after.get(&(template.clone(), image_config_neutral(&path))) {
                    Some(got) if *got == want || qualified(got) == qualified(&want) => {}
                    other => {
                        failures.push(format!("{label}: {template} {path}: {image} became {other:?}, want {want}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `host/path/name:tag@digest` -> `host/path/name`.
fn without_tag(reference: &str) -> String {
    let name = reference.split('@').next().unwrap_or(reference);
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].find(':') {
        Some(i) => name[..slash + i].to_string(),
        None => name.to_string(),
    }
}

#[test]
fn issue_9_release_archives_install_into_a_fresh_helm4_data_home_and_run() {
    let work = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(root().join("scripts/package-plugin"))
        .arg(BINARY)
        .arg(work.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "package-plugin: {}", String::from_utf8_lossy(&out.stderr));
    let version = env!("CARGO_PKG_VERSION");
    let home = work.path().join("home");
    for name in ["helm-retarget", "helm-retarget-cli"] {
        let archive: PathBuf = work.path().join(format!("{name}-{version}-linux-amd64.tgz"));
        assert!(archive.is_file(), "{} missing", archive.display());
        let out =
            Helm::V4.command(&home).args(["plugin", "install"]).arg(&archive).arg("--verify=false").output().unwrap();
        assert!(out.status.success(), "install {name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let list = Helm::V4.command(&home).args(["plugin", "list"]).output().unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    for name in ["retarget", "retarget-cli"] {
        let row = list
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{list}"));
        assert!(row.split_whitespace().nth(1) == Some(version), "the binary's version {version}: {row}");
    }
    // No HELM_RETARGET_BIN, nothing on PATH: the archive's own binary runs.
    let chart = fixture_charts().into_iter().find(|c| c.ends_with("prometheus-style")).unwrap();
    let mut command = Helm::V4.command(&home);
    command.env("PATH", "/usr/bin:/bin").args(["template", "release"]).arg(&chart);
    let out = command
        .args(["--post-renderer", "retarget", "--post-renderer-args", "--registry", "--post-renderer-args", MIRROR])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let images = rendered_images(&by_source(&String::from_utf8(out.stdout).unwrap()));
    assert!(!images.is_empty() && images.iter().all(|(_, _, i)| i.starts_with(MIRROR)), "{images:?}");
    let out = Helm::V4.command(&home).env("PATH", "/usr/bin:/bin").args(["retarget", "--version"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("helm-retarget {version}"));
}
