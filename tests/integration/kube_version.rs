//! `--kube-version` and `-a/--api-versions` on every command that renders a chart: the chart's
//! `kubeVersion` range is checked for that cluster, and every render the planner makes sees it in
//! `.Capabilities`, so the overlay moves the images real Helm renders for that cluster.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cli::{helm_retarget, root};
use crate::fixtures::rendered_images;
use crate::helm_bin::Helm;

const MIRROR: &str = "mirror.example";

fn kube_version_fixture(name: &str) -> PathBuf {
    root().join("fixtures/kube-version").join(name)
}

/// The overlay `overlay --registry MIRROR FLAGS CHART` writes, in a file under `dir`.
fn overlay_file(dir: &Path, chart: &Path, flags: &[&str], name: &str) -> PathBuf {
    let out = helm_retarget(&["overlay", "--registry", MIRROR]).args(flags).arg(chart).stderr_notes().run();
    let file = dir.join(name);
    std::fs::write(&file, &out.stdout).unwrap();
    file
}

/// Every image of `helm template CHART -f OVERLAY FLAGS` by Helm v4, the real engine.
fn helm_images(home: &Path, chart: &Path, overlay: &Path, flags: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["-f", overlay.to_str().unwrap()];
    args.extend_from_slice(flags);
    let rendered = Helm::V4.template(home, chart, &args).unwrap_or_else(|e| panic!("{}: {e}", chart.display()));
    let manifests = std::collections::BTreeMap::from([("stream".to_string(), rendered)]);
    rendered_images(&manifests).into_iter().map(|(_, _, image)| image).collect()
}

fn off_the_mirror(images: &BTreeSet<String>) -> Vec<&String> {
    images.iter().filter(|image| !image.starts_with(&format!("{MIRROR}/"))).collect()
}

/// A chart whose range ends before 1.36 is refused for the default version (HR022, as Helm refuses
/// it), and with `--kube-version 1.29` planned; real Helm rendering for 1.29 with the overlay puts
/// every image on the mirror. Every other command that renders takes the flag the same way.
#[test]
fn a_chart_for_older_clusters_is_planned_for_the_version_given() {
    let chart = kube_version_fixture("before-kubernetes-1-30");
    let c = chart.display().to_string();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let message = "chart requires kubeVersion: >=1.19.0-0 <1.30.0-0 which is incompatible with Kubernetes v1.36.0";
    let helm = Helm::V4.template(home.path(), &chart, &["--kube-version", "1.36.0"]).unwrap_err();
    assert!(helm.contains(message), "{helm}");
    let refused = helm_retarget(&["overlay", "--registry", MIRROR, &c])
        .status(2)
        .diagnostic("HR022")
        .stderr_contains(message)
        .stderr_contains("--kube-version")
        .run();
    assert_eq!(refused.stdout, "");

    let overlay = overlay_file(dir.path(), &chart, &["--kube-version", "1.29"], "overlay.yaml");
    let images = helm_images(home.path(), &chart, &overlay, &["--kube-version", "1.29"]);
    assert_eq!(images.len(), 2, "{images:?}");
    assert!(off_the_mirror(&images).is_empty(), "left on their source registry: {images:?}");

    // Outside the range given, refused again, naming the version given.
    helm_retarget(&["overlay", "--registry", MIRROR, "--kube-version", "v1.30.1", &c])
        .status(2)
        .diagnostic("HR022")
        .stderr_contains("incompatible with Kubernetes v1.30.1")
        .run();

    let archive = dir.path().join("relocated.tgz");
    let a = archive.display().to_string();
    for args in [
        vec!["scan", "--kube-version", "1.29", &c],
        vec!["mirror", "--registry", MIRROR, "--kube-version", "1.29", &c],
        vec!["diff", "--kube-version", "1.29", &c, &c],
        vec!["relocate", "--registry", MIRROR, "--kube-version", "1.29", "-o", &a, &c],
        vec!["template", "--kube-version", "1.29", &c],
    ] {
        let out = helm_retarget(&args).stderr_notes().run();
        assert_eq!(out.stdout.is_empty(), args[0] == "relocate", "{args:?}: relocate writes -o, the rest stdout");
        let refused = helm_retarget(
            &args.iter().filter(|a| !["--kube-version", "1.29"].contains(a)).copied().collect::<Vec<_>>(),
        )
        .status(2)
        .diagnostic("HR022")
        .run();
        assert_eq!(refused.stdout, "", "{args:?}");
    }
    assert!(archive.exists(), "relocate --kube-version 1.29 wrote no {a}");
    let relocated = Helm::V4.template(home.path(), &archive, &["--kube-version", "1.29"]).unwrap();
    let relocated = rendered_images(&std::collections::BTreeMap::from([("stream".to_string(), relocated)]));
    let relocated: BTreeSet<String> = relocated.into_iter().map(|(_, _, image)| image).collect();
    assert_eq!(relocated.len(), 2, "{relocated:?}");
    assert!(off_the_mirror(&relocated).is_empty(), "the relocated chart keeps: {relocated:?}");
    let rendered = Helm::V4.template(home.path(), &chart, &["--kube-version", "1.29"]).unwrap();
    helm_retarget(&["verify", "--registry", MIRROR, "--kube-version", "1.29", "--chart", &c])
        .stdin(String::new())
        .stderr_notes()
        .run();
    helm_retarget(&["verify", "--registry", MIRROR, "--chart", &c]).stdin(rendered).status(2).diagnostic("HR022").run();
}

/// A chart whose gateway image depends on `.Capabilities.KubeVersion` and whose exporter exists
/// only where `.Capabilities.APIVersions.Has` its API: the overlay planned with the same
/// `--kube-version` and `-a` as `helm template` moves exactly the images that render shows, and
/// the overlay planned for the default cluster does not (the flags reach every probe render).
#[test]
fn images_chosen_by_capabilities_are_moved_for_the_cluster_given() {
    let chart = kube_version_fixture("capabilities-images");
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cluster = ["--kube-version", "1.29", "--api-versions", "monitoring.example.com/v1"];

    // Real Helm shows other images for that cluster than for the default one.
    let plain = Helm::V4.template(home.path(), &chart, &cluster).unwrap();
    let plain = rendered_images(&std::collections::BTreeMap::from([("stream".to_string(), plain)]));
    let plain: BTreeSet<String> = plain.into_iter().map(|(_, _, image)| image).collect();
    assert_eq!(
        plain,
        BTreeSet::from([
            "docker.io/example/gateway-legacy:1.9.3".to_string(),
            "quay.io/example/gateway-exporter:0.5.0".to_string()
        ]),
        "the fixture's images for 1.29 with monitoring.example.com/v1"
    );

    let planned = overlay_file(dir.path(), &chart, &cluster, "for-the-cluster.yaml");
    let images = helm_images(home.path(), &chart, &planned, &cluster);
    assert_eq!(images.len(), 2, "{images:?}");
    assert!(off_the_mirror(&images).is_empty(), "left on their source registry: {images:?}");

    // -a comma-separated and --kube-version with a `v` plan the same overlay.
    let short = ["--kube-version", "v1.29.4", "-a", "monitoring.example.com/v1,example.com/v2"];
    let again = overlay_file(dir.path(), &chart, &short, "short.yaml");
    assert_eq!(std::fs::read_to_string(&again).unwrap(), std::fs::read_to_string(&planned).unwrap());

    // Planned for the default cluster, the overlay misses both images that cluster renders.
    let default = overlay_file(dir.path(), &chart, &[], "default.yaml");
    let images = helm_images(home.path(), &chart, &default, &cluster);
    assert_eq!(off_the_mirror(&images).len(), 2, "{images:?}");
    // Only the API version given: the current gateway and the exporter move.
    let api_only = overlay_file(dir.path(), &chart, &["-a", "monitoring.example.com/v1"], "api-only.yaml");
    let images = helm_images(home.path(), &chart, &api_only, &["-a", "monitoring.example.com/v1"]);
    assert!(images.contains(&format!("{MIRROR}/example/gateway-exporter:0.5.0")), "{images:?}");
    assert!(off_the_mirror(&images).is_empty(), "left on their source registry: {images:?}");

    // Pinned from an images lock of that cluster's images: the pins are checked by renders for it.
    let lock = dir.path().join("images.lock.yaml");
    let (legacy, exporter) = (format!("sha256:{}", "a".repeat(64)), format!("sha256:{}", "b".repeat(64)));
    std::fs::write(
        &lock,
        format!(
            "images:\n  - source: docker.io/example/gateway-legacy:1.9.3\n    destination: \
             {MIRROR}/example/gateway-legacy:1.9.3\n    digest: {legacy}\n  - source: \
             quay.io/example/gateway-exporter:0.5.0\n    destination: {MIRROR}/example/gateway-exporter:0.5.0\n    \
             digest: {exporter}\n"
        ),
    )
    .unwrap();
    let mut flags = vec!["--pin-digests", lock.to_str().unwrap()];
    flags.extend_from_slice(&cluster);
    let pinned = overlay_file(dir.path(), &chart, &flags, "pinned.yaml");
    assert_eq!(
        helm_images(home.path(), &chart, &pinned, &cluster),
        BTreeSet::from([
            format!("{MIRROR}/example/gateway-legacy:1.9.3@{legacy}"),
            format!("{MIRROR}/example/gateway-exporter:0.5.0@{exporter}")
        ])
    );

    // mirror copies the images that cluster renders, as Helm renders them.
    let list = |flags: &[&str]| -> BTreeSet<String> {
        let out = helm_retarget(&["mirror", "--registry", MIRROR, "--format", "list"])
            .args(flags)
            .arg(&chart)
            .stderr_notes()
            .run();
        out.stdout.lines().map(str::to_string).collect()
    };
    assert_eq!(list(&cluster), plain);
    assert_eq!(list(&[]), BTreeSet::from(["docker.io/example/gateway:2.0.0".to_string()]));
}
