//! No silent partial results: a template that does not render (an unknown function in a helper,
//! text that is not YAML) is named with its error and the images it may hold, the output is still
//! written, and the exit is 3 unless `--allow-incomplete`; values Helm refuses are exit 2 with
//! Helm's own message. Regression tests for issue 8.

use std::path::PathBuf;

use crate::cli::{helm_retarget, root};

fn chart(name: &str) -> PathBuf {
    root().join("fixtures/incomplete").join(name)
}

const HALF: &str = "helper-with-unknown-function";

/// The hint under each HR001 warning.
const HR001_HINT: &str =
    "  = hint: render the chart with `helm template` and these values to see the template's error\n";

/// What every command says about the half-rendered chart, under the name it reports it by.
fn gaps(name: &str, result: &str) -> String {
    format!(
        "warning[HR001]: {name}: half-rendered/templates/_helpers.tpl: did not render: parse error at \
         (half-rendered/templates/_helpers.tpl:2): function \"notARealFunction\" not defined\n{HR001_HINT}\
         warning[HR001]: {name}: half-rendered/templates/agent.yaml: did not render: template: \
         half-rendered/templates/agent.yaml:6: template: no template \"half-rendered.cert\" associated with template \
         \"gotpl\"\n  \
         may be missing: quay.io/example/agent:2.0 (agent.image)\n{HR001_HINT}\
         warning[HR001]: {name}: half-rendered/templates/banner.yaml: did not render: YAML parse error on \
         half-rendered/templates/banner.yaml: invalid YAML: mapping values are not allowed in this context (column 4)\n\
         {HR001_HINT}\
         error[HR021]: {name}: the {result} is incomplete: 3 template(s) did not render, so images they hold may be missing\n  \
         = hint: render those templates with Helm to see their images (`helm template`), or pass --allow-incomplete to \
         accept the gap\n"
    )
}

#[test]
fn issue_8_scan_names_each_failing_template_and_exits_3_after_writing_the_rest() {
    let out = helm_retarget(&["scan"]).arg(chart(HALF)).status(3).stderr(&gaps("half-rendered", "scan")).run();
    assert!(
        out.stdout.contains("ghcr.io/example/web:1.4"),
        "the template that rendered is still scanned:\n{}",
        out.stdout
    );
}

#[test]
fn issue_8_overlay_header_says_incomplete_and_allow_incomplete_exits_0() {
    let out = helm_retarget(&["overlay", "--registry", "reg.example"])
        .arg(chart(HALF))
        .status(3)
        .stderr_contains(&gaps("half-rendered", "overlay"))
        .diagnostics(&["HR001", "HR021"])
        .run();
    assert!(
        out.stdout.contains(
            "# INCOMPLETE: 3 template(s) did not render, so images they hold may be left unmoved:\n\
             #   half-rendered/templates/_helpers.tpl: parse error at (half-rendered/templates/_helpers.tpl:2): \
             function \"notARealFunction\" not defined\n"
        ) && out.stdout.contains("#     may be missing: agent.image: quay.io/example/agent:2.0\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("repository: reg.example/example/web"), "{}", out.stdout);
    let accepted = helm_retarget(&["overlay", "--registry", "reg.example", "--allow-incomplete"])
        .arg(chart(HALF))
        .diagnostics(&["HR001", "HR002"])
        .run();
    accepted.status(0).stderr_contains(
        "warning[HR002]: half-rendered: the overlay is incomplete (3 template(s) did not render); accepted with \
         --allow-incomplete\n  = hint: check the templates named above by hand before installing\n",
    );
    assert_eq!(accepted.stdout, out.stdout, "the same overlay either way");
}

#[test]
fn issue_8_mirror_diff_and_template_are_incomplete_too() {
    let name = chart(HALF).display().to_string();
    helm_retarget(&["mirror", "--registry", "reg.example"])
        .arg(chart(HALF))
        .status(3)
        .stderr_contains(&gaps("half-rendered", "mirror plan"))
        .diagnostics(&["HR001", "HR021"])
        .run();
    helm_retarget(&["diff"])
        .arg(chart(HALF))
        .arg(chart(HALF))
        .status(3)
        .stderr_contains(&gaps(&name, "comparison"))
        .diagnostics(&["HR001", "HR021"])
        .run();
    let template = helm_retarget(&["template"]).arg(chart(HALF)).status(3).diagnostics(&["HR001", "HR021"]).run();
    assert!(template.stdout.contains("# Source: half-rendered/templates/web.yaml\n"), "{}", template.stdout);
    assert!(!template.stdout.contains("banner.yaml"), "text that is not YAML is not passed off as a manifest");
    helm_retarget(&["template", "--allow-incomplete"]).arg(chart(HALF)).diagnostics(&["HR001", "HR002"]).run();
}

#[test]
fn issue_8_values_helm_refuses_are_exit_2_with_helms_message() {
    let refuses = chart("refuses-values");
    helm_retarget(&["template"])
        .arg(&refuses)
        .status(2)
        .stdout("")
        .stderr(
            "error[HR020]: execution error at (refuses-values/templates/collector.yaml:9:16): clusterName is required\n  \
             = hint: give the value the chart asks for with -f or --set\n",
        )
        .run();
    // scan fills required values with placeholders, so only a real refusal stops it.
    helm_retarget(&["scan"])
        .arg(&refuses)
        .stderr("refuses-values: rendered with placeholders for required values: clusterName\n")
        .run();
    helm_retarget(&["scan", "--set", "legacy=true"]).arg(&refuses).status(2).diagnostics(&["HR020", "HR004"]).stderr_contains(
        "error[HR020]: refuses-values: execution error at (refuses-values/templates/collector.yaml:2:4): legacy mode \
         was removed in 3.0: set legacy to false\n  = hint: Helm refuses these values the same way (`helm template` fails): give \
         the value the chart asks for with -f or --set\n",
    ).run();
    helm_retarget(&["overlay", "--registry", "reg.example", "--set", "legacy=true"])
        .arg(&refuses)
        .status(2)
        .stdout("")
        .diagnostic("HR020")
        .run();
}

/// An image named in ConfigMap text that neither the overlay nor the post-renderer moves (a
/// hard-coded sidecar in templated injector text) makes the overlay incomplete: written, exit 3
/// with HR070 naming it, or exit 0 with an HR003 warning naming it under --allow-incomplete.
#[test]
fn an_image_nothing_moves_in_configmap_text_makes_the_overlay_incomplete() {
    let chart = crate::cli::fixture("aspen-mesh");
    let out = helm_retarget(&["overlay", "--registry", "reg.example"]).arg(&chart).status(3).diagnostic("HR070").run();
    out.status(3).stderr_contains(
        "error[HR070]: aspen-mesh: the overlay does not move 1 image(s) named in ConfigMap text, which neither values \
         nor the post-renderer move:\n  busybox:1.28 (ConfigMap/istio-sidecar-injector data.config, \
         aspen-mesh/templates/injector-configmap.yaml)\n",
    );
    assert!(out.stdout.contains("# Named in ConfigMap text"), "the overlay is written and says so:\n{}", out.stdout);
    let accepted = helm_retarget(&["overlay", "--registry", "reg.example", "--allow-incomplete"])
        .arg(&chart)
        .diagnostic("HR003")
        .stderr_contains("busybox:1.28 is named in ConfigMap/istio-sidecar-injector data.config text")
        .run();
    assert_eq!(accepted.stdout, out.stdout, "the same overlay either way");
}

/// Helm refuses to install a chart whose `kubeVersion` range misses the cluster's version; every
/// command that plans an install refuses it the same way (HR022, Helm's message, exit 2, nothing
/// written), for the Kubernetes version it renders for (v1.36.0, as `template` by default).
#[test]
fn every_command_refuses_a_chart_whose_kube_version_range_is_missed() {
    let chart = root().join("fixtures/kube-version/needs-kubernetes-1-40");
    let message = "chart requires kubeVersion: >=1.40.0-0 which is incompatible with Kubernetes v1.36.0";
    let home = tempfile::tempdir().unwrap();
    let helm = crate::helm_bin::Helm::V4.template(home.path(), &chart, &["--kube-version", "1.36.0"]).unwrap_err();
    assert!(helm.contains(message), "{helm}");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("relocated.tgz");
    let c = chart.display().to_string();
    let a = archive.display().to_string();
    for args in [
        vec!["scan", &c],
        vec!["overlay", "--registry", "reg.example", &c],
        vec!["mirror", "--registry", "reg.example", &c],
        vec!["diff", &c, &c],
        vec!["relocate", "--registry", "reg.example", "-o", &a, &c],
        vec!["template", &c],
    ] {
        let out = helm_retarget(&args).status(2).diagnostic("HR022").stderr_contains(message).run();
        assert_eq!(out.stdout, "", "{args:?}");
    }
    assert!(!archive.exists(), "a refused relocation wrote {a}");
    let out = helm_retarget(&["verify", "--registry", "reg.example", "--chart", &c])
        .stdin(String::new())
        .status(2)
        .diagnostic("HR022")
        .stderr_contains(message)
        .run();
    assert_eq!(out.stdout, "");
    // Within the range, it renders.
    helm_retarget(&["template", "--kube-version", "1.40.1", &c]).stderr_notes().run();
}
