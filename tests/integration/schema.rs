//! values.schema.json: every command that renders with the user's values refuses values a
//! chart's schema refuses, with Helm v4's message; overlay never writes a key the schema refuses
//! (the install would fail); a reference outside the schema file is refused, not fetched.

use std::path::{Path, PathBuf};

use crate::cli::{helm_retarget, root};
use crate::helm_bin::Helm;

fn strict() -> PathBuf {
    root().join("fixtures/schema/strict-image-schema")
}

/// Helm's error text without its `Error: ` prefix and the trailing blank line.
fn helm_error(chart: &Path, args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let e = Helm::V4.template(home.path(), chart, args).unwrap_err();
    e.trim_end().strip_prefix("Error: ").unwrap_or(&e).to_string()
}

/// Our error text without `error: `, the chart prefix and the hint.
fn our_error(stderr: &str, prefix: &str) -> String {
    let text = stderr.strip_prefix("error[HR042]: ").unwrap_or(stderr);
    let text = text.strip_prefix(prefix).unwrap_or(text);
    text.split("\n  = hint: ").next().unwrap().trim_end().to_string()
}

#[test]
fn template_and_scan_refuse_values_the_schema_refuses_with_helms_message() {
    for args in [
        &["--set", "image.registry=reg.example"][..],
        &["--set-string", "replicas=2"],
        &["--set", "image.repository="],
        &["--set", "mode=paused"],
        &["--set", "image.tag=1"],
    ] {
        let helm = helm_error(&strict(), args);
        let ours = helm_retarget(&["template"]).arg(strict()).args(args).status(2).diagnostic("HR042").run();
        assert_eq!(ours.stdout, "");
        assert_eq!(our_error(&ours.stderr, ""), helm, "{args:?}");
        let scan = helm_retarget(&["scan"]).arg(strict()).args(args).status(2).diagnostic("HR042").run();
        assert_eq!(our_error(&scan.stderr, "strict-image-schema: "), helm, "scan {args:?}");
    }
    helm_retarget(&["scan"]).arg(strict()).run();
}

#[test]
fn overlay_refuses_to_write_a_key_the_schema_refuses() {
    // The key the planner would set is the one the template reads; Helm refuses it.
    let helm = helm_error(&strict(), &["--set", "image.registry=reg.example"]);
    assert!(helm.contains("- at '/image': additional properties 'registry' not allowed"), "{helm}");
    let out =
        helm_retarget(&["overlay", "--registry", "reg.example"]).arg(strict()).status(2).diagnostic("HR043").run();
    assert_eq!(out.stdout, "", "no overlay is written");
    assert!(
        out.stderr.starts_with(
            "error[HR043]: strict-image-schema: the chart's values.schema.json refuses the overlay, so `helm install -f \
             overlay.yaml` would fail:\n  image.registry (chart strict-image-schema): at '/image': additional \
             properties 'registry' not allowed\n  = hint: no values key the schema allows moves these images"
        ),
        "{}",
        out.stderr
    );
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
}

#[test]
fn an_aliased_subchart_is_checked_under_its_alias_and_a_disabled_one_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("parent");
    write(
        &chart,
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n  - name: child\n    version: 0.1.0\n    alias: cache\n    condition: cache.enabled\n",
            ),
            ("values.yaml", "cache:\n  enabled: true\n  size: 3\n"),
            ("templates/cm.yaml", "kind: ConfigMap\n"),
            ("charts/child/Chart.yaml", "apiVersion: v2\nname: child\nversion: 0.1.0\n"),
            ("charts/child/values.yaml", "size: 1\n"),
            ("charts/child/templates/cm.yaml", "size: {{ .Values.size }}\n"),
            (
                "charts/child/values.schema.json",
                r#"{"type": "object", "properties": {"size": {"type": "integer", "maximum": 2}}}"#,
            ),
        ],
    );
    let helm = helm_error(&chart, &[]);
    let ours = helm_retarget(&["template"]).arg(&chart).status(2).diagnostic("HR042").run();
    assert_eq!(our_error(&ours.stderr, ""), helm);
    assert!(helm.contains("\ncache:\n- at '/size': maximum: got 3, want 2"), "{helm}");
    // Disabled, the subchart is not validated, by Helm or by us.
    let home = tempfile::tempdir().unwrap();
    Helm::V4.template(home.path(), &chart, &["--set", "cache.enabled=false"]).unwrap();
    helm_retarget(&["template", "--set", "cache.enabled=false"]).arg(&chart).run();
}

#[test]
fn a_reference_outside_the_schema_file_is_refused_not_fetched() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("Chart.yaml", "apiVersion: v2\nname: remote-ref\nversion: 0.1.0\n"),
            ("values.yaml", "a: 1\n"),
            ("templates/cm.yaml", "a: {{ .Values.a }}\n"),
            (
                "values.schema.json",
                r#"{"type": "object", "properties": {"a": {"$ref": "https://schemas.invalid/int.json"}}}"#,
            ),
        ],
    );
    let out = helm_retarget(&["template"]).arg(dir.path()).status(2).diagnostic("HR044").run();
    assert!(out.stderr.contains("values.schema.json"), "{}", out.stderr);
    assert!(out.stderr.contains("https://schemas.invalid/int.json"), "{}", out.stderr);
    assert!(out.stderr.contains("reads no schema over the network"), "{}", out.stderr);
}

#[test]
fn overlay_refuses_an_overlay_whose_violation_lies_at_a_path_no_overlay_key_names() {
    // The rule sits on the root: moving `image.registry` off docker.io makes `audit.approved`
    // required. The violation is at `/audit`, which no overlay key names; Helm still refuses the
    // install, so the overlay must not be written.
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("conditional-schema");
    write(
        &chart,
        &[
            ("Chart.yaml", "apiVersion: v2\nname: conditional-schema\nversion: 0.1.0\n"),
            ("values.yaml", "image:\n  registry: docker.io\n  repository: acme/ledger\n  tag: \"1.0\"\naudit: {}\n"),
            (
                "templates/pod.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ledger\nspec:\n  containers:\n    - name: ledger\n      \
                 image: \"{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n",
            ),
            (
                "values.schema.json",
                r#"{"if": {"properties": {"image": {"properties": {"registry": {"const": "docker.io"}}}}},
                    "else": {"properties": {"audit": {"required": ["approved"]}}}}"#,
            ),
        ],
    );
    let helm = helm_error(&chart, &["--set", "image.registry=reg.example"]);
    assert!(helm.contains("- at '/audit': missing property 'approved'"), "{helm}");
    let out = helm_retarget(&["overlay", "--registry", "reg.example"]).arg(&chart).status(2).diagnostic("HR043").run();
    assert_eq!(out.stdout, "", "no overlay is written");
    assert!(
        out.stderr.contains("  values at audit (chart conditional-schema): at '/audit': missing property 'approved'"),
        "{}",
        out.stderr
    );
}

/// The overlay an operator passes to an operand chart (`--operand`) must pass the operand chart's
/// schema as well: the operator merges it over the operand's defaults, and Helm refuses what the
/// schema refuses there. Here moving the operand's image needs `image.registry`, which its
/// schema forbids: HR043 names the operand and the key, nothing is written.
#[test]
fn overlay_refuses_an_operand_overlay_the_operand_schema_refuses() {
    let chart = root().join("fixtures/schema/operator-with-strict-operand");
    let operand = chart.join("operands/ledger");
    let out = helm_retarget(&["overlay", "--registry", "reg.example", "--operand"])
        .arg(format!("ledger={}", operand.display()))
        .arg(&chart)
        .status(2)
        .diagnostic("HR043")
        .stderr_contains("--operand ledger: ledger: the chart's values.schema.json refuses the overlay")
        .stderr_contains("  image.registry (chart ledger): at '/image': additional properties 'registry' not allowed")
        .run();
    assert_eq!(out.stdout, "");
    // What the operator would pass (the custom resource's values with that key) is what Helm refuses.
    let dir = tempfile::tempdir().unwrap();
    let passed = dir.path().join("passed.yaml");
    std::fs::write(&passed, "replicas: 3\nimage:\n  registry: reg.example\n").unwrap();
    let helm = helm_error(&operand, &["-f", passed.to_str().unwrap()]);
    assert!(helm.contains("additional properties 'registry' not allowed"), "{helm}");
    // Without the operand, the operator's own overlay is fine.
    helm_retarget(&["overlay", "--registry", "reg.example"]).arg(&chart).stderr_notes().run();
}
