//! `helm-retarget template` prints what `helm template` prints, byte for byte, for every fixture
//! chart and each of its `ci/*.yaml` variants, against both real Helm binaries.
//!
//! Our defaults follow Helm 4.2 (the engine `tests/integration/engine.rs` runs): Kubernetes
//! v1.36.0. The pinned binaries assume older clusters (v4.1.4: v1.35.0, v3.17.2: v1.32.0), so they
//! are given `--kube-version 1.36.0`. Values that differ between two runs of Helm itself (random
//! passwords, certificates, dates) are masked line by line; nothing that differs between Helm and
//! us is.

use std::path::Path;

use crate::cli::helm_retarget;
use crate::fixtures::{fixture_charts, fixture_variants};
use crate::helm_bin::Helm;

/// Fixtures whose defaults hold `key: null` that a template prints whole: Helm before 4.2 copies
/// chart-default nulls into `.Values` (fixed in helm/helm 00638773d, "do not copy chart-default
/// nils into coalesced values", v4.2.0); we follow 4.2. For these, the binaries' output may have
/// extra `...: null` lines and nothing else.
const DEFAULT_NULLS_PRINTED: &[&str] = &["cloudzero-agent"];

const MASK: &str = "<differs between two Helm runs>";

/// Helm's output with the lines that differ between two of its runs masked, and the indexes masked.
fn masked_helm(helm: Helm, home: &Path, chart: &Path, args: &[&str]) -> (String, Vec<usize>) {
    let first = helm.template(home, chart, args).unwrap_or_else(|e| panic!("{helm:?} {}: {e}", chart.display()));
    let second = helm.template(home, chart, args).expect("the second run renders like the first");
    if first == second {
        return (first, Vec::new());
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (first.split('\n').collect(), second.split('\n').collect());
    assert_eq!(a.len(), b.len(), "{helm:?} {}: two runs differ in length; cannot mask line by line", chart.display());
    let masked: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    let text = a.iter().enumerate().map(|(i, l)| if masked.contains(&i) { MASK } else { l }).collect::<Vec<_>>();
    (text.join("\n"), masked)
}

fn mask_lines(text: &str, masked: &[usize]) -> String {
    text.split('\n').enumerate().map(|(i, l)| if masked.contains(&i) { MASK } else { l }).collect::<Vec<_>>().join("\n")
}

/// True when `helm` is `ours` plus lines of the form `key: null` only.
fn differs_only_by_null_lines(helm: &str, ours: &str) -> bool {
    let diff = similar::TextDiff::from_lines(ours, helm);
    diff.iter_all_changes().all(|c| match c.tag() {
        similar::ChangeTag::Equal => true,
        similar::ChangeTag::Insert => c.value().trim_end().ends_with(": null"),
        similar::ChangeTag::Delete => false,
    })
}

#[test]
fn template_equals_helm_template_of_both_binaries_for_every_fixture_and_variant() {
    let home = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    for chart in fixture_charts() {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let mut runs: Vec<Option<String>> = vec![None];
        runs.extend(fixture_variants(&chart).into_iter().map(|(file, _)| Some(file)));
        for variant in runs {
            let values = variant.as_ref().map(|f| chart.join("ci").join(f));
            let mut ours =
                helm_retarget(&["template", "--release-name", "release", "--namespace", "default"]).arg(&chart);
            if let Some(v) = &values {
                ours = ours.arg("-f").arg(v);
            }
            let ours = ours.run();
            ours.status(0);
            for helm in Helm::ALL {
                let mut args = vec!["--kube-version", "1.36.0"];
                let file = values.as_ref().map(|v| v.display().to_string());
                if let Some(f) = &file {
                    args.extend(["-f", f.as_str()]);
                }
                let (expected, masked) = masked_helm(helm, home.path(), &chart, &args);
                let actual = mask_lines(&ours.stdout, &masked);
                compared += 1;
                let label = format!("{helm:?} {name} ({})", variant.as_deref().unwrap_or("defaults"));
                if actual == expected {
                    continue;
                }
                if DEFAULT_NULLS_PRINTED.contains(&name.as_str()) && differs_only_by_null_lines(&expected, &actual) {
                    continue;
                }
                let diff = similar::TextDiff::from_lines(&expected, &actual);
                failures.push(format!(
                    "{label}:\n{}",
                    diff.unified_diff().header("helm template", "helm-retarget template")
                ));
            }
        }
    }
    assert!(compared > 30, "only {compared} comparisons: fixtures missing?");
    assert!(failures.is_empty(), "{} of {compared} renders differ from Helm:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn template_takes_helm_values_flags_and_release_options() {
    let home = tempfile::tempdir().unwrap();
    let chart = crate::cli::fixture("prometheus-style");
    // A nested key, an escaped dot, a string that looks like a number, a JSON map turning a
    // subchart off: each changes the output (checked below), and Helm must agree on all of them.
    let flags = [
        "--set",
        "server.image.tag=v9.9.9,server.retention=30d",
        "--set",
        "prometheus-pushgateway.serviceAnnotations.prometheus\\.io/probe=none",
        "--set-string",
        "alertmanager.persistence.size=5",
        "--set-json",
        "prometheus-node-exporter={\"enabled\":false}",
    ];
    let ours =
        helm_retarget(&["template", "--release-name", "rel", "--namespace", "monitoring", "--kube-version", "1.30"])
            .arg(&chart)
            .args(flags)
            .run();
    ours.status(0);
    let mut args = vec!["--kube-version", "1.30"];
    args.extend(flags);
    let expected = Helm::V4
        .command(home.path())
        .args(["template", "rel"])
        .arg(&chart)
        .args(["--namespace", "monitoring"])
        .args(&args)
        .output()
        .unwrap();
    assert!(expected.status.success(), "{}", String::from_utf8_lossy(&expected.stderr));
    let expected = String::from_utf8(expected.stdout).unwrap();
    for effect in ["prometheus:v9.9.9-distroless", "30d", "prometheus.io/probe: none", "storage: 5", "rel-alertmanager"]
    {
        assert!(ours.stdout.contains(effect), "no {effect:?} in:\n{}", ours.stdout);
    }
    assert!(!ours.stdout.contains("node-exporter/templates"), "the subchart turned off by --set-json renders");
    if ours.stdout != expected {
        let diff = similar::TextDiff::from_lines(&expected, &ours.stdout);
        panic!("{}", diff.unified_diff().header("helm template", "helm-retarget template"));
    }
}

/// Issue 8: Helm refuses a chart whose `kubeVersion` range the Kubernetes version misses, with this
/// message; `template` does too (exit 2, nothing written), and renders once the version fits.
#[test]
fn issue8_template_refuses_a_chart_whose_kube_version_range_is_missed() {
    let home = tempfile::tempdir().unwrap();
    let chart = tempfile::tempdir().unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: kv\nversion: 0.1.0\nkubeVersion: \">=1.40.0-0\"\n",
    )
    .unwrap();
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    std::fs::write(chart.path().join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kv\n")
        .unwrap();
    let helm = Helm::V4.template(home.path(), chart.path(), &["--kube-version", "1.36.0"]).unwrap_err();
    let message = "chart requires kubeVersion: >=1.40.0-0 which is incompatible with Kubernetes v1.36.0";
    assert!(helm.contains(message), "{helm}");
    let ours =
        helm_retarget(&["template", "--kube-version", "1.36.0"]).arg(chart.path()).status(2).diagnostic("HR022").run();
    assert!(ours.stderr.contains(message), "{}", ours.stderr);
    assert_eq!(ours.stdout, "");
    let helm = Helm::V4.template(home.path(), chart.path(), &["--kube-version", "1.40.1"]).unwrap();
    let ours =
        helm_retarget(&["template", "--release-name", "release", "--kube-version", "1.40.1"]).arg(chart.path()).run();
    ours.status(0);
    assert_eq!(ours.stdout, helm);
}
