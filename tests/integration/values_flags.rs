//! `-f`, `--set`, `--set-string`, `--set-json`, `--set-file`, `--set-literal` mean on scan and overlay what they mean
//! to Helm, nulls included: a key set to `null` is deleted from the chart's defaults, so a default
//! sidecar turned off is not scanned. Each case is checked against the real Helm v4 render.

use crate::cli::{fixture, helm_retarget};
use crate::helm_bin::Helm;

const RELOADER: &str = "quay.io/prometheus-operator/prometheus-config-reloader:v0.79.2";

fn helm_renders(args: &[&str], needle: &str) -> bool {
    let home = tempfile::tempdir().unwrap();
    let out = Helm::V4.template(home.path(), &fixture("prometheus-style"), args).unwrap();
    out.contains(needle)
}

#[test]
fn issue_8_a_null_from_set_or_a_values_file_turns_a_default_sidecar_off() {
    let dir = tempfile::tempdir().unwrap();
    let on = dir.path().join("on.yaml");
    let off = dir.path().join("off.yaml");
    std::fs::write(&on, "configmapReload:\n  prometheus:\n    enabled: true\n").unwrap();
    std::fs::write(&off, "configmapReload:\n  prometheus:\n    enabled: null\n").unwrap();
    let (on, off) = (on.display().to_string(), off.display().to_string());
    let cases: [(Vec<&str>, bool); 4] = [
        (vec![], true),
        (vec!["--set", "configmapReload.prometheus.enabled=null"], false),
        (vec!["-f", &on, "-f", &off], false),
        // --set comes after every file, whatever the order on the command line.
        (vec!["--set", "configmapReload.prometheus.enabled=true", "-f", &off], true),
    ];
    for (args, listed) in cases {
        assert_eq!(helm_renders(&args, RELOADER), listed, "Helm with {args:?}");
        // The alertmanager's reloader is off in every case; the server's is named idle exactly
        // when it is not listed.
        let out = helm_retarget(&["scan"])
            .arg(fixture("prometheus-style"))
            .args(&args)
            .diagnostic("HR004")
            .stderr_contains(&format!("alertmanager.configmapReload.image holds {RELOADER}, which these values"))
            .run();
        let row = out.stdout.lines().any(|l| l.contains(RELOADER) && l.contains("Deployment/"));
        assert_eq!(row, listed, "scan {args:?}:\n{}", out.stdout);
        let idle =
            format!("prometheus: configmapReload.prometheus.image holds {RELOADER}, which these values do not render");
        assert_eq!(out.stderr.contains(&idle), !listed, "scan {args:?}:\n{}", out.stderr);
    }
}

#[test]
fn set_string_set_file_and_set_json_reach_the_overlay_planner() {
    let dir = tempfile::tempdir().unwrap();
    let tag = dir.path().join("tag.txt");
    std::fs::write(&tag, "v7.7.7").unwrap();
    let tag = format!("server.image.tag={}", tag.display());
    let out = helm_retarget(&["overlay", "--registry", "reg.example"])
        .arg(fixture("prometheus-style"))
        .args(["--set-file", tag.as_str(), "--set-json", "configmapReload={\"prometheus\":{\"enabled\":false}}"])
        .status(0)
        .stderr_notes()
        .run();
    assert!(out.stderr.contains("quay.io/prometheus/prometheus:v7.7.7-distroless"), "{}", out.stderr);
    assert!(!out.stderr.contains(&format!("{RELOADER}  reg.example")), "{}", out.stderr);
    helm_retarget(&["scan", "--set", "a.b"]).arg(fixture("prometheus-style")).status(2).stderr(
        "error[HR023]: failed parsing --set data: key \"b\" has no value\n  = hint: write KEY=VALUE pairs separated by commas: \
         a.b=x,list[0].c=y (escape a dot in a key as \\.)\n",
    ).run();
}

#[test]
fn issue_8_set_literal_keeps_commas_braces_and_backslashes_and_comes_last_as_in_both_helms() {
    // `--set-literal` is applied after `--set` whatever the order on the command line; its value
    // keeps `,`, `\,` and braces, and a backslash in its key splits nothing.
    let args = [
        "--set-literal",
        r"server.retention=15d,b\,c{d}",
        "--set-literal",
        r"a\.b=1",
        "--set",
        "server.retention=overwritten",
    ];
    let ours = helm_retarget(&["template", "--release-name", "release", "--namespace", "default"])
        .arg(fixture("prometheus-style"))
        .args(args)
        .run();
    assert!(ours.stdout.contains(r"--storage.tsdb.retention.time=15d,b\,c{d}"), "{}", ours.stdout);
    for helm in [Helm::V3, Helm::V4] {
        let home = tempfile::tempdir().unwrap();
        let theirs = helm.template(home.path(), &fixture("prometheus-style"), &args).unwrap();
        assert_eq!(ours.stdout, theirs, "{helm:?}");
    }
    helm_retarget(&["scan", "--set-literal", "a.=x"])
        .arg(fixture("prometheus-style"))
        .status(2)
        .diagnostic("HR023")
        .stderr_contains("failed parsing --set-literal data: key map \"a\" has no value")
        .run();
}
