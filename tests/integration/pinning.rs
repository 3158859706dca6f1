//! Digest pinning (issue 13): `mirror --format lock` writes a script that asks the registry for
//! digests (here a stand-in `crane` on PATH that answers the sha256 of the reference it is asked
//! about, so every digest is known offline); `post-render --pin-digests` then writes each moved
//! reference as `repo:tag@digest` into the real Helm render, changing nothing else.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::{fixture, helm_retarget};
use crate::fixtures::{fixture_charts, rendered_images};
use crate::helm_bin::Helm;
use crate::mirror::shellcheck_as;
use crate::overlay_e2e::MIRROR;

/// A registry stand-in: `crane digest REF` prints the sha256 of REF's text, or `$ANSWER` if set.
const FAKE_CRANE: &str =
    "#!/bin/sh\n[ \"$1\" = digest ] || exit 2\nif [ -n \"${ANSWER:-}\" ]; then echo \"$ANSWER\"; exit 0; fi\n\
                          printf 'sha256:%s\\n' \"$(printf %s \"$2\" | sha256sum | cut -d ' ' -f 1)\"\n";

/// Runs the lock script with the stand-in crane first on PATH: (status, stdout, stderr).
fn run_lock_script(script: &str, dir: &Path, answer: Option<&str>) -> (bool, String, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let crane = bin.join("crane");
    std::fs::write(&crane, FAKE_CRANE).unwrap();
    std::fs::set_permissions(&crane, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = dir.join("lock.sh");
    std::fs::write(&path, script).unwrap();
    let mut command = std::process::Command::new("bash");
    command.arg(&path).env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    if let Some(answer) = answer {
        command.env("ANSWER", answer);
    }
    let out = command.output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// destination without digest -> locked digest, read back from the lock the script printed.
fn locked(lock: &str) -> BTreeMap<String, String> {
    let lock: serde_yaml::Value = serde_yaml::from_str(lock).unwrap_or_else(|e| panic!("the lock parses: {e}\n{lock}"));
    let entries = lock["images"].as_sequence().expect("an images list");
    entries
        .iter()
        .map(|entry| {
            let destination = entry["destination"].as_str().unwrap();
            let unpinned = destination.split('@').next().unwrap().to_string();
            (unpinned, entry["digest"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn issue_13_the_lock_script_is_shellcheck_clean_and_fails_whole() {
    let chart = fixture("cert-manager-style");
    let out = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "lock"]).arg(&chart).stderr_notes().run();
    shellcheck_as("bash", &out.stdout, "lock.sh").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ok, lock, stderr) = run_lock_script(&out.stdout, dir.path(), None);
    assert!(ok, "{stderr}");
    let pins = locked(&lock);
    assert_eq!(pins.len(), 5, "{lock}");
    // The controller's digest comes from the chart, not from the registry.
    let controller = format!("{MIRROR}/jetstack/cert-manager-controller:v1.17.2");
    assert_eq!(pins[&controller], "sha256:54f0bd84d58d1c93c25f40fd0eccad9d17877daa5d42f6cffe0c3dc4df42f442");
    let (ok, lock, stderr) = run_lock_script(&out.stdout, dir.path(), Some("MANIFEST_UNKNOWN"));
    assert!(!ok && lock.is_empty(), "a registry that answers no digest must fail the script: {lock}");
    assert!(stderr.contains("the registry answered MANIFEST_UNKNOWN, not a sha256 digest"), "{stderr}");
}

#[test]
fn issue_13_post_render_pins_every_moved_image_of_real_renders_and_changes_nothing_else() {
    let home = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut pinned_count = 0;
    let mut refusals = Vec::new();
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        let script =
            helm_retarget(&["mirror", "--registry", MIRROR, "--format", "lock"]).arg(&chart).stderr_notes().run();
        let (ok, lock, stderr) = run_lock_script(&script.stdout, dir.path(), None);
        assert!(ok, "{name}: {stderr}");
        let lock_file = dir.path().join("images.lock.yaml");
        std::fs::write(&lock_file, &lock).unwrap();
        let pins = locked(&lock);

        // The tool plans for the Kubernetes version Helm 4.2 assumes; Helm 4.1.4 assumes an older
        // one, and a chart that picks its kubectl tag by version would render another image.
        let rendered = Helm::V4.template(home.path(), &chart, &["--kube-version", "1.36.0"]).unwrap();
        let plain = helm_retarget(&["post-render", "--registry", MIRROR]).stdin(rendered.clone()).stderr_notes().run();
        // Images in fields that hold repository and tag apart are refused (HR030).
        let refuses = matches!(
            name.as_str(),
            "cloudzero-agent" | "image-config-configmap" | "operator-data-images" | "operator-env-sources" | "piraeus"
        );
        let pinned = helm_retarget(&["post-render", "--registry", MIRROR, "--pin-digests"])
            .arg(&lock_file)
            .stdin(rendered.clone());
        let pinned = if refuses { pinned.status(2).diagnostic("HR030") } else { pinned.stderr_notes() }.run();
        if pinned.status != 0 {
            // Fields that hold repository and tag apart have no place for a digest: refused, named.
            let refused = pinned.stdout.is_empty()
                && pinned.stderr.contains("has no place for a digest here")
                && !pinned.stderr.contains("not in the images lock");
            if refused {
                refusals.push(name.clone());
            } else {
                failures.push(format!("{name}: exit {}: {}", pinned.status, pinned.stderr));
            }
            continue;
        }
        // Nothing else changes: removing the registry's digests gives the unpinned stream back.
        let mut stripped = pinned.stdout.clone();
        for digest in pins.values() {
            // A digest the chart itself pins is in the render already and stays.
            if !rendered.contains(digest.as_str()) {
                stripped = stripped.replace(&format!("@{digest}"), "");
            }
        }
        if stripped != plain.stdout {
            failures.push(format!("{name}: pinning changed more than the digests"));
        }
        let manifests = BTreeMap::from([("stream".to_string(), pinned.stdout.clone())]);
        for (_, path, image) in rendered_images(&manifests) {
            if !image.starts_with(&format!("{MIRROR}/")) {
                continue;
            }
            let (unpinned, digest) = image.split_once('@').unwrap_or((&image, ""));
            match pins.get(unpinned) {
                Some(want) if want == digest => pinned_count += 1,
                want => failures.push(format!("{name}: {path} is {image}, the lock has {want:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(pinned_count > 50, "only {pinned_count} images pinned");
    assert_eq!(
        refusals,
        ["cloudzero-agent", "image-config-configmap", "operator-data-images", "operator-env-sources", "piraeus"]
    );
}

#[test]
fn issue_13_post_render_refuses_images_the_lock_does_not_hold_and_writes_nothing() {
    let chart = fixture("cert-manager-style");
    let home = tempfile::tempdir().unwrap();
    let rendered = Helm::V3.template(home.path(), &chart, &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("images.lock.yaml");
    let digest = format!("sha256:{}", "a".repeat(64));
    std::fs::write(
        &lock,
        format!(
            "images:\n  - source: quay.io/jetstack/cert-manager-webhook:v1.17.2\n    destination: \
             {MIRROR}/jetstack/cert-manager-webhook:v1.17.2\n    digest: {digest}\n"
        ),
    )
    .unwrap();
    let out = helm_retarget(&["post-render", "--registry", MIRROR, "--pin-digests"])
        .arg(&lock)
        .stdin(rendered)
        .status(2)
        .stdout("")
        .diagnostic("HR030")
        .stderr_contains("--pin-digests: 4 image(s) cannot be pinned:")
        .run();
    out.stderr_contains("--pin-digests: 4 image(s) cannot be pinned:");
    out.stderr_contains(&format!(
        "quay.io/jetstack/cert-manager-cainjector:v1.17.2: not in the images lock {}",
        lock.display()
    ));
}

/// The lock for `chart` as the lock script prints it with the stand-in registry, written to `dir`.
fn lock_for(chart: &Path, dir: &Path) -> (std::path::PathBuf, BTreeMap<String, String>) {
    let script = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "lock"]).arg(chart).stderr_notes().run();
    let (ok, lock, stderr) = run_lock_script(&script.stdout, dir, None);
    assert!(ok, "{}: {stderr}", chart.display());
    let lock_file = dir.join("images.lock.yaml");
    std::fs::write(&lock_file, &lock).unwrap();
    (lock_file, locked(&lock))
}

/// Every image on the mirror, by field, in `helm template -f overlay` of both real binaries.
fn mirror_images(home: &Path, chart: &Path, overlay: &Path) -> Vec<(Helm, BTreeMap<String, String>)> {
    Helm::ALL
        .into_iter()
        .map(|helm| {
            // The Kubernetes version the tool plans for (see above).
            let args = ["-f", overlay.to_str().unwrap(), "--kube-version", "1.36.0"];
            let rendered =
                helm.template(home, chart, &args).unwrap_or_else(|e| panic!("{helm:?} {}: {e}", chart.display()));
            let manifests = BTreeMap::from([("stream".to_string(), rendered)]);
            let images = rendered_images(&manifests)
                .into_iter()
                .filter(|(_, _, image)| image.starts_with(&format!("{MIRROR}/")))
                .map(|(_, path, image)| (path, image))
                .collect();
            (helm, images)
        })
        .collect()
}

#[test]
fn issue_13_overlay_pins_every_moved_image_where_the_chart_has_a_place_for_a_digest() {
    let home = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut refusals = Vec::new();
    let mut pinned_count = 0;
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        let (lock_file, pins) = lock_for(&chart, dir.path());
        let plain = helm_retarget(&["overlay", "--registry", MIRROR])
            .arg(&chart)
            .accepting_text_images(&chart)
            .stderr_notes()
            .run();
        // Refused (HR030) where no values key has a place for a digest; a turned-off subchart's
        // images are moved but not pinned (HR012).
        let refuses = matches!(
            name.as_str(),
            "cloudzero-agent"
                | "computed-and-hardcoded"
                | "image-config-configmap"
                | "operator-data-images"
                | "operator-env-sources"
                | "piraeus"
        );
        let pinned = helm_retarget(&["overlay", "--registry", MIRROR, "--pin-digests"])
            .arg(&lock_file)
            .arg(&chart)
            .accepting_text_images(&chart);
        let pinned = if refuses {
            pinned.status(2).diagnostic("HR030")
        } else if matches!(name.as_str(), "bitnami-style-library" | "perfectscale-agent") {
            pinned.diagnostic("HR012")
        } else {
            pinned.stderr_notes()
        }
        .run();
        if pinned.status != 0 {
            // Refused by name: each image with no place for a digest, with its values keys.
            let named = pinned.stdout.is_empty()
                && pinned.stderr.contains("cannot be pinned by values:")
                && pinned.stderr.contains(", values ")
                && !pinned.stderr.contains("not in the images lock");
            if named {
                refusals.push(name);
            } else {
                failures.push(format!("{name}: exit {}: {}", pinned.status, pinned.stderr));
            }
            continue;
        }
        let plain_file = dir.path().join("plain.yaml");
        let pinned_file = dir.path().join("pinned.yaml");
        std::fs::write(&plain_file, &plain.stdout).unwrap();
        std::fs::write(&pinned_file, &pinned.stdout).unwrap();
        let before = mirror_images(home.path(), &chart, &plain_file);
        for ((helm, unpinned), (_, pinned)) in before.iter().zip(mirror_images(home.path(), &chart, &pinned_file)) {
            // The same fields hold the same images, now each `dest@digest` as the lock says (a
            // chart that drops the tag when a digest is set renders `dest@digest`).
            let fields: Vec<_> = unpinned.keys().collect();
            if fields != pinned.keys().collect::<Vec<_>>() {
                failures.push(format!("{helm:?} {name}: pinning changed which fields hold mirror images"));
            }
            for (path, image) in &pinned {
                let Some(before) = unpinned.get(path) else { continue };
                let (unpinned_ref, digest) = image.split_once('@').unwrap_or((image, ""));
                let want = pins.get(before.split('@').next().unwrap());
                let same_name = unpinned_ref == before.split('@').next().unwrap()
                    || before.starts_with(&format!("{unpinned_ref}:"));
                if same_name && want.is_some_and(|w| w == digest) {
                    pinned_count += 1;
                } else {
                    failures.push(format!("{helm:?} {name}: {path} is {image} (was {before}), the lock has {want:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(pinned_count > 100, "only {pinned_count} images pinned");
    assert_eq!(
        refusals,
        [
            "cloudzero-agent",
            "computed-and-hardcoded",
            "image-config-configmap",
            "operator-data-images",
            "operator-env-sources",
            "piraeus"
        ]
    );
}

#[test]
fn issue_13_overlay_pin_digests_names_the_image_its_keys_and_why() {
    let chart = fixture("computed-and-hardcoded");
    let dir = tempfile::tempdir().unwrap();
    let (lock_file, _) = lock_for(&chart, dir.path());
    let out = helm_retarget(&["overlay", "--registry", MIRROR, "--pin-digests"])
        .arg(&lock_file)
        .arg(&chart)
        .status(2)
        .stdout("")
        .diagnostic("HR030")
        .stderr_contains("cannot be pinned by values:")
        .run();
    // The tag is Chart.yaml's appVersion and no key beside the registry reads a digest.
    out.stderr_contains(
        "gcr.io/acme-public/collector:7.60.0 (Deployment/release-acme-collector spec.template.spec.containers[0].image, \
         values registry): no place for a digest: it renders as {registry}/collector:{Chart.appVersion}",
    );
    // A tag with a digest after it breaks the chart's own semverCompare on the tag.
    out.stderr_contains("ghcr.io/acme/operator:1.9.2 (Deployment/release-acme-operator");
}

#[test]
fn issue_13_a_relocated_chart_can_carry_the_pinned_digests() {
    let chart = fixture("bitnami-style-library");
    let dir = tempfile::tempdir().unwrap();
    let (lock_file, _) = lock_for(&chart, dir.path());
    let overlay = helm_retarget(&["overlay", "--registry", MIRROR, "--pin-digests"])
        .arg(&lock_file)
        .arg(&chart)
        .diagnostic("HR012")
        .run();
    let overlay_file = dir.path().join("pinned.yaml");
    std::fs::write(&overlay_file, &overlay.stdout).unwrap();
    let archive = dir.path().join("relocated.tgz");
    helm_retarget(&["relocate", "--registry", MIRROR, "--keep-version", "--pin-digests"])
        .arg(&lock_file)
        .arg(&chart)
        .arg("-o")
        .arg(&archive)
        .diagnostics(&["HR004", "HR012"])
        .run();
    let home = tempfile::tempdir().unwrap();
    let want = Helm::V4.template(home.path(), &chart, &["-f", overlay_file.to_str().unwrap()]).unwrap();
    let got = Helm::V4.template(home.path(), &archive, &[]).unwrap();
    assert_eq!(got, want);
    assert!(got.contains(&format!("image: {MIRROR}/bitnami/pressapp@sha256:")), "{got}");
}
