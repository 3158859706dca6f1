//! Relocated charts (issue 13): `relocate` writes a chart archive whose own values move every
//! image. Rendered by the real Helm binaries and the Helm engine, it must equal the original chart
//! rendered with `-f overlay.yaml`, byte for byte, on every fixture whose overlay moves every image;
//! on every other fixture it is refused and nothing is written.

use std::path::{Path, PathBuf};

use crate::cli::{fixture, helm_retarget, root};
use crate::engine;
use crate::fixtures::fixture_charts;
use crate::helm_bin::Helm;
use crate::overlay_e2e::MIRROR;

/// `relocate CHART --registry MIRROR -o OUT ARGS...`, checked by `expect` (the run starts from
/// exit 0 and stderr notes: relocate names what it wrote): the run and the archive path.
fn relocate(
    chart: &Path,
    dir: &Path,
    args: &[&str],
    expect: impl FnOnce(crate::cli::Run) -> crate::cli::Run,
) -> (crate::cli::Output, PathBuf) {
    let out_path = dir.join("relocated.tgz");
    let run = helm_retarget(&["relocate", "--registry", MIRROR, "-o"]).arg(&out_path).arg(chart).args(args);
    (expect(run.stderr_notes()).run(), out_path)
}

/// The overlay, and whether it moves every image the chart renders (nothing left to the
/// post-renderer, every template rendered). Images named only in ConfigMap text are moved by
/// neither: they are accepted here (`--allow-incomplete`, HR003).
fn overlay_of(chart: &Path) -> (String, bool) {
    // The overlay says what it moves and what it cannot on stdout; stderr carries its table.
    let out =
        helm_retarget(&["overlay", "--registry", MIRROR]).arg(chart).accepting_text_images(chart).stderr_notes().run();
    let clean =
        out.status == 0 && !out.stdout.contains("# Not movable by values") && !out.stdout.contains("# INCOMPLETE");
    (out.stdout, clean)
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    let value: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    serde_json::to_value(value).unwrap()
}

fn file_in_archive(archive: &Path, name: &str) -> String {
    let bytes = std::fs::read(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path.split_once('/').map(|(_, rest)| rest) == Some(name) {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            return text;
        }
    }
    panic!("{name} is not in {}", archive.display())
}

#[test]
fn issue_13_a_relocated_chart_renders_as_the_original_with_its_overlay() {
    let home = tempfile::tempdir().unwrap();
    let mut relocated = Vec::new();
    let mut refused = Vec::new();
    let mut unverified = Vec::new();
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        // An image named only in ConfigMap text stays behind: refused (HR070, nothing written)
        // unless --allow-incomplete, which names it (HR003).
        let text_images = matches!(name.as_str(), "aspen-mesh" | "istio-style-hub");
        let accept: &[&str] = if text_images { &["--allow-incomplete"] } else { &[] };
        let (overlay, clean) = overlay_of(&chart);
        if text_images {
            let (_, archive) =
                relocate(&chart, dir.path(), &["--keep-version"], |run| run.status(2).diagnostic("HR070"));
            assert!(!archive.exists(), "{name}: a refused relocation wrote {}", archive.display());
        }
        // What relocate warns about, chart by chart: an image named only in ConfigMap text
        // (HR003), an image no template renders with the default values (HR004).
        let warnings: &[&str] = match name.as_str() {
            "aspen-mesh" | "istio-style-hub" => &["HR003"],
            "alias-outside-version-range" | "bitnami-style-library" | "cilium-style" | "prometheus-style" => &["HR004"],
            _ => &[],
        };
        let args = [&["--keep-version"][..], accept].concat();
        let (out, archive) = relocate(&chart, dir.path(), &args, |run| {
            if clean {
                run.diagnostics(warnings)
            } else {
                run.status(2).diagnostic("HR041")
            }
        });
        if !clean {
            assert_ne!(
                out.status, 0,
                "{name}: relocated although its overlay does not move every image\n{}",
                out.stderr
            );
            assert!(!archive.exists(), "{name}: a refused relocation wrote {}", archive.display());
            refused.push(name);
            continue;
        }
        out.status(0);
        let overlay_file = dir.path().join("overlay.yaml");
        std::fs::write(&overlay_file, &overlay).unwrap();
        for helm in Helm::ALL {
            let want = helm.template(home.path(), &chart, &["-f", overlay_file.to_str().unwrap()]);
            let got = helm.template(home.path(), &archive, &[]);
            let want = want.unwrap_or_else(|e| panic!("{helm:?} {name} with the overlay: {e}"));
            let got = got.unwrap_or_else(|e| panic!("{helm:?} {name} relocated: {e}"));
            assert_eq!(got, want, "{helm:?} {name}: the relocated render differs from the overlay's");
            // verify agrees: every image the relocated chart renders is on the mirror.
            let strays = matches!(name.as_str(), "image-config-configmap" | "piraeus");
            let verified = helm_retarget(&["verify", "--registry", MIRROR])
                .stdin(got)
                .status(i32::from(strays))
                .stderr_contains(if strays { "are not on the target registry" } else { "are on the target registry" })
                .run();
            if verified.status != 0 && helm == Helm::V4 {
                unverified.push((name.clone(), verified.stdout));
            }
        }
        let want = engine::render(&chart, &yaml_to_json(&overlay));
        let got = engine::render(&archive, &serde_json::json!({}));
        assert_eq!(got, want, "engine {name}: the relocated render differs from the overlay's");
        relocated.push(name);
    }
    // The fixtures that do need the post-renderer for some image (hard-coded, computed, text).
    assert_eq!(refused, ["computed-and-hardcoded", "config-text-images", "empty-default-keys", "operator-data-images"]);
    assert!(relocated.len() >= 15, "{relocated:?}");
    // An image-config ConfigMap keeps each `base` host in its first document, as the overlay
    // does; the later documents the operator reads over it carry the moved images.
    let charts: Vec<&str> = unverified.iter().map(|(chart, _)| chart.as_str()).collect();
    assert_eq!(charts, ["image-config-configmap", "piraeus"]);
    for (chart, strays) in &unverified {
        assert!(strays.lines().all(|l| l.contains("-image-config\t") && l.contains("#base\t")), "{chart}: {strays}");
    }
}

#[test]
fn issue_13_the_relocated_chart_keeps_comments_and_names_its_source() {
    let chart = fixture("bitnami-style-library");
    let dir = tempfile::tempdir().unwrap();
    let (out, archive) = relocate(&chart, dir.path(), &[], |run| run.diagnostic("HR004"));
    out.status(0);
    let chart_yaml = file_in_archive(&archive, "Chart.yaml");
    assert!(chart_yaml.contains("\nversion: 24.1.3+relocated\n"), "{chart_yaml}");
    assert!(chart_yaml.contains("  helm-retarget.io/source: pressapp 24.1.3\n"), "{chart_yaml}");
    assert!(
        chart_yaml.contains(&format!("  helm-retarget.io/relocated-by: helm-retarget {}\n", env!("CARGO_PKG_VERSION")))
    );
    assert!(chart_yaml.contains("  images: |\n"), "other annotations are kept: {chart_yaml}");
    let values = file_in_archive(&archive, "values.yaml");
    let original = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
    let kept = original.lines().filter(|l| l.trim_start().starts_with('#')).filter(|l| !values.contains(*l)).count();
    assert_eq!(kept, 0, "every comment line of values.yaml is kept:\n{values}");
    assert!(values.contains("  imageRegistry: registry.example.org\n"), "{values}");

    // With the build suffix the version labels change, and nothing else.
    let home = tempfile::tempdir().unwrap();
    let (overlay, _) = overlay_of(&chart);
    let overlay_file = dir.path().join("overlay.yaml");
    std::fs::write(&overlay_file, overlay).unwrap();
    let want = Helm::V4.template(home.path(), &chart, &["-f", overlay_file.to_str().unwrap()]).unwrap();
    let got = Helm::V4.template(home.path(), &archive, &[]).unwrap();
    assert_ne!(got, want);
    assert_eq!(got.replace("24.1.3+relocated", "24.1.3").replace("24.1.3_relocated", "24.1.3"), want);
}

#[test]
fn issue_13_dependency_repositories_can_point_at_the_mirror() {
    let chart = fixture("bitnami-style-library");
    let dir = tempfile::tempdir().unwrap();
    let (out, archive) =
        relocate(&chart, dir.path(), &["--dependency-repository", "oci://registry.example.org/charts"], |run| {
            run.diagnostic("HR004")
        });
    out.status(0);
    let chart_yaml = file_in_archive(&archive, "Chart.yaml");
    assert_eq!(chart_yaml.matches("    repository: oci://registry.example.org/charts\n").count(), 3, "{chart_yaml}");
    assert!(!chart_yaml.contains("registry-1.docker.io"), "{chart_yaml}");
    let home = tempfile::tempdir().unwrap();
    Helm::V3.template(home.path(), &archive, &[]).unwrap();
}

#[test]
fn issue_13_a_refused_or_failed_relocation_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (out, archive) =
        relocate(&fixture("computed-and-hardcoded"), dir.path(), &[], |run| run.status(2).diagnostic("HR041"));
    out.status(2).stderr_contains("no values key moves 1 image(s)");
    assert!(!archive.exists());
    // --allow-incomplete relocates the rest, naming what stays behind.
    let (out, archive) = relocate(&fixture("computed-and-hardcoded"), dir.path(), &["--allow-incomplete"], |run| {
        run.diagnostic("HR013")
    });
    out.status(0).stderr_contains("left on their source registry (accepted with --allow-incomplete)");
    assert!(archive.exists());
    // An output that cannot be written leaves no temporary file behind.
    let missing = dir.path().join("no-such-dir/out.tgz");
    let out = helm_retarget(&["relocate", "--registry", MIRROR, "-o"])
        .arg(&missing)
        .arg(fixture("piraeus"))
        .status(2)
        .diagnostic("HR055")
        .stderr_contains("cannot create a temporary file beside it")
        .run();
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    helm_retarget(&["relocate", "--registry", MIRROR, "-o", "x.tgz", "--build-suffix", "a/b"])
        .arg(fixture("piraeus"))
        .current_dir(dir.path())
        .status(2)
        .diagnostic("HR061")
        .stderr_contains("is not a semver build suffix")
        .run();
    assert!(!dir.path().join("x.tgz").exists());
}

/// `helm dependency build` checks Chart.lock's digest against Chart.yaml's dependencies before it
/// fetches anything: a relocated chart whose dependencies point at the mirror carries a lock with
/// the mirror's repository and the digest Helm computes for it, so both Helms go on to fetch
/// (from an address nothing listens on here) instead of refusing the lock as out of sync.
#[test]
fn issue_13_the_lock_follows_the_dependency_repository_and_helm_dependency_build_accepts_it() {
    let chart = root().join("fixtures/relocate/locked-dependencies");
    let dir = tempfile::tempdir().unwrap();
    let mirror = "oci://127.0.0.1:9/charts";
    let (out, archive) = relocate(&chart, dir.path(), &["--dependency-repository", mirror], |run| run);
    out.status(0);
    let lock = file_in_archive(&archive, "Chart.lock");
    assert!(lock.contains(&format!("- name: cache\n  repository: {mirror}\n  version: 1.2.7\n")), "{lock}");
    assert!(!lock.contains("charts.example.org"), "{lock}");
    assert!(lock.contains("generated: \"2026-11-30T09:15:00.000000000Z\"\n"), "{lock}");
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    let status = std::process::Command::new("tar").arg("xzf").arg(&archive).arg("-C").arg(&unpacked).status().unwrap();
    assert!(status.success());
    for helm in Helm::ALL {
        let home = tempfile::tempdir().unwrap();
        // The fixture's own lock is in sync: Helm stops only at the repository it cannot reach.
        for (what, path) in [("fixture", chart.clone()), ("relocated", unpacked.join("locked-app"))] {
            let out = helm.command(home.path()).args(["dependency", "build"]).arg(&path).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{helm:?} {what}: fetched from nowhere?\n{stderr}");
            assert!(!stderr.contains("out of sync"), "{helm:?} {what}: {stderr}");
        }
    }
}
