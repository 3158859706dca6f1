//! The command-line contract: exact messages and exit codes for bad input, `-` for stdin,
//! atomic `-o`, the `--check` gate, batches that keep going, and a post-renderer that fails closed.

use std::path::Path;

use crate::cli::{fixture, helm_retarget};
use crate::overlay_e2e::MIRROR;

/// A chart directory packed as Helm packs it: one top-level directory named after the chart.
fn pack(chart: &Path) -> Vec<u8> {
    let name = chart.file_name().unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    builder.append_dir_all(name, chart).unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

#[test]
fn a_directory_without_chart_yaml_is_not_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    helm_retarget(&["scan", "empty"])
        .current_dir(dir.path())
        .status(2)
        .stdout("")
        .stderr(
            "error[HR037]: empty: not a Helm chart: there is no Chart.yaml at its root (it is empty)\n  \
         = hint: point at the directory that holds Chart.yaml, or at a packaged chart .tgz\n",
        )
        .run();
}

#[test]
fn a_corrupt_archive_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.tgz"), b"garbage").unwrap();
    helm_retarget(&["scan", "bad.tgz"])
        .current_dir(dir.path())
        .status(2)
        .stdout("")
        .stderr(
            "error[HR048]: bad.tgz: not a gzipped archive (a chart .tgz starts with gzip's magic bytes)\n  \
         = hint: pass a chart packaged by `helm package`, or the chart's directory\n",
        )
        .run();
}

#[test]
fn a_values_file_with_a_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("app");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "image:\n  tag: [\n").unwrap();
    helm_retarget(&["overlay", "app", "--registry", MIRROR]).current_dir(dir.path()).status(2).stdout("").stderr(
        "error[HR052]: app: values.yaml: invalid YAML: while parsing a flow node, did not find expected node content (column 1) (line 3)\n  \
         = hint: fix the YAML syntax at that line (indentation, quotes, brackets)\n",
    ).run();
}

#[test]
fn overlay_without_a_target_says_which_flag_to_pass() {
    helm_retarget(&["overlay"])
        .arg(fixture("loki-style"))
        .status(2)
        .stdout("")
        .stderr("error[HR057]: no target registry given\n  = hint: pass --registry HOST[:PORT][/PREFIX] or --mapping FILE\n")
        .run();
}

#[test]
fn arguments_are_checked_before_any_file_is_read() {
    // Each command line names a chart that does not exist: the argument's own error is the only one.
    let missing = "/nonexistent/chart";
    helm_retarget(&["mirror", "--registry", MIRROR, "--format", "bundle", missing])
        .status(2)
        .stdout("")
        .stderr(
            "error[HR060]: --format bundle: --format bundle writes two scripts, save.sh and load.sh\n  \
             = hint: name the directory to write them to with -o DIR\n",
        )
        .run();
    helm_retarget(&["mirror", "--registry", MIRROR, "--chart-archive", "-", missing])
        .status(2)
        .stdout("")
        .stderr(
            "error[HR058]: --chart-archive -: helm push takes a chart archive (.tgz), not a directory or stdin\n  \
             = hint: package it first: `helm package DIR`, or `helm-retarget relocate CHART -o OUT.tgz`\n",
        )
        .run();
    helm_retarget(&["diff", "--format", "list", missing, missing])
        .status(2)
        .stdout("")
        .stderr(
            "error[HR032]: diff: a copy plan (--format list, skopeo or crane) needs a destination\n  \
             = hint: pass --registry HOST[:PORT][/PREFIX] or --mapping FILE\n",
        )
        .run();
    helm_retarget(&["template", "--kube-version", "one.two", missing])
        .status(2)
        .stdout("")
        .stderr(
            "error[HR062]: --kube-version: invalid kube version 'one.two': could not parse \"one.two\" as version\n  \
             = hint: pass a version like 1.31 or v1.31.2\n",
        )
        .run();
}

/// A bad `--kube-version` is refused (HR062) by every command that renders, before any file is
/// read: the chart, the mapping and the values files named here do not exist.
#[test]
fn a_bad_kube_version_is_refused_before_any_file_is_read() {
    let missing = "/nonexistent/chart";
    let expected = "error[HR062]: --kube-version: invalid kube version 'latest': could not parse \"latest\" as \
                    version\n  = hint: pass a version like 1.31 or v1.31.2\n";
    let target = ["--mapping", "/nonexistent/mapping.yaml", "-f", "/nonexistent/values.yaml"];
    for args in [
        vec!["overlay", "--kube-version", "latest", "--pin-digests", "/nonexistent/lock.yaml", missing],
        vec!["scan", "--kube-version", "latest", "-f", "/nonexistent/values.yaml", missing],
        vec!["mirror", "--kube-version", "latest", missing],
        vec!["diff", "--kube-version", "latest", missing, missing],
        vec!["relocate", "--kube-version", "latest", "-o", "/nonexistent/out.tgz", missing],
    ] {
        let mut args = args;
        if args[0] != "scan" {
            args.splice(1..1, target);
        }
        helm_retarget(&args).status(2).stdout("").stderr(expected).run();
    }
    helm_retarget(&[
        "verify",
        "--mapping",
        "/nonexistent/mapping.yaml",
        "--kube-version",
        "latest",
        "--chart",
        missing,
    ])
    .status(2)
    .stdout("")
    .stderr(expected)
    .run();
    // Without --chart, verify renders nothing: a cluster given for it would be ignored.
    helm_retarget(&["verify", "--registry", "reg.example", "--kube-version", "1.29"])
        .status(2)
        .stdout("")
        .stderr(
            "error[HR063]: verify: --kube-version and --api-versions say what --chart is rendered for, and no \
             --chart is given\n  = hint: pass --chart CHART, or leave the cluster flags out\n",
        )
        .run();
}

#[test]
fn a_command_line_clap_refuses_carries_a_code_too() {
    helm_retarget(&["scan", "--no-such-flag"])
        .arg(fixture("loki-style"))
        .status(2)
        .stdout("")
        .diagnostic("HR063")
        .stderr_contains("error[HR063]: unexpected argument '--no-such-flag' found")
        .stderr_contains("Usage: helm-retarget scan")
        .stderr_contains("= hint: run `helm-retarget COMMAND --help`")
        .run();
    helm_retarget(&["overlay", "--registry"]).status(2).stdout("").diagnostic("HR063").run();
}

#[test]
fn a_mapping_file_and_a_mirror_template_read_from_stdin_as_dash() {
    let chart = fixture("loki-style");
    let by_flag = helm_retarget(&["overlay", "--registry", MIRROR]).arg(&chart).stderr_notes().run();
    helm_retarget(&["overlay", "--mapping", "-"])
        .arg(&chart)
        .stdin(format!("registry: {MIRROR}\n"))
        .stdout(&by_flag.stdout)
        .stderr_notes()
        .run();
    helm_retarget(&["overlay", "--mapping", "-"])
        .arg(&chart)
        .stdin("registry: [\n")
        .status(2)
        .stdout("")
        .diagnostic("HR052")
        .stderr_contains("stdin")
        .run();
    let out = helm_retarget(&["mirror", "--registry", MIRROR, "--template", "-"])
        .arg(&chart)
        .stdin("{{#each images}}{{source}}\n{{/each}}")
        .stderr_notes()
        .run();
    assert!(out.stdout.lines().any(|l| l == "docker.io/grafana/loki:3.3.2"), "{}", out.stdout);
}

#[test]
fn a_batch_reports_each_bad_chart_and_still_scans_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.tgz"), b"garbage").unwrap();
    let out = helm_retarget(&["scan", "bad.tgz"])
        .arg(fixture("loki-style"))
        .current_dir(dir.path())
        .status(2)
        .diagnostic("HR048")
        .stderr_contains("error[HR048]: bad.tgz: not a gzipped archive")
        .run();
    assert!(out.stdout.contains("docker.io/grafana/loki:3.3.2"), "the good chart is still scanned:\n{}", out.stdout);
}

#[test]
fn a_chart_archive_on_stdin_scans_like_the_directory() {
    let chart = fixture("perfectscale-agent");
    let from_dir = helm_retarget(&["scan"]).arg(&chart).status(0).run();
    helm_retarget(&["scan", "-"]).stdin(pack(&chart)).status(0).stdout(&from_dir.stdout).run();
}

#[test]
fn output_file_is_written_whole_and_check_gates_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overlay.yaml");
    let chart = fixture("cloudzero-agent");
    helm_retarget(&["overlay", "--registry", MIRROR, "-o"])
        .arg(&file)
        .arg(&chart)
        .status(0)
        .stdout("")
        .stderr_notes()
        .run();
    let written = std::fs::read_to_string(&file).unwrap();
    let stdout = helm_retarget(&["overlay", "--registry", MIRROR]).arg(&chart).stderr_notes().run();
    assert_eq!(written, stdout.stdout, "-o writes exactly what stdout would carry");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left behind");

    helm_retarget(&["overlay", "--registry", MIRROR, "--check"])
        .arg(&file)
        .arg(&chart)
        .status(0)
        .stdout("")
        .stderr_contains("overlay is current")
        .run();

    std::fs::write(&file, written.replace("registry.example.org/prometheus", "quay.io/prometheus")).unwrap();
    let stale = helm_retarget(&["overlay", "--registry", MIRROR, "--check"])
        .arg(&file)
        .arg(&chart)
        .status(1)
        .stdout("")
        .stderr_contains("overlay is stale")
        .run();
    assert!(stale.stderr.contains("-      repository: quay.io/prometheus/prometheus"), "{}", stale.stderr);
    assert!(stale.stderr.contains("+      repository: registry.example.org/prometheus/prometheus"), "{}", stale.stderr);
}

#[test]
fn a_failed_overlay_leaves_an_existing_output_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overlay.yaml");
    std::fs::write(&file, "previous: content\n").unwrap();
    std::fs::write(dir.path().join("bad.tgz"), b"garbage").unwrap();
    helm_retarget(&["overlay", "bad.tgz", "--registry", MIRROR, "-o", "overlay.yaml"])
        .current_dir(dir.path())
        .status(2)
        .diagnostic("HR048")
        .stderr_contains("error[HR048]: bad.tgz: not a gzipped archive")
        .run();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "previous: content\n");
}

#[test]
fn post_render_fails_closed_on_input_that_is_not_a_manifest_stream() {
    // Invalid YAML fails closed when it names an image; naming none, it passes through (issue 9).
    for input in [&b"image: [\n"[..], b"\xff\xfe\x00garbage", b"just text\n"] {
        helm_retarget(&["post-render", "--registry", MIRROR])
            .stdin(input)
            .status(2)
            .stdout("")
            .diagnostic("HR054")
            .stderr_contains("]: manifest stream")
            .run();
    }
}

#[test]
fn post_render_of_empty_input_is_empty() {
    helm_retarget(&["post-render", "--registry", MIRROR])
        .stdin("")
        .status(0)
        .stdout("")
        .stderr("helm-retarget: 0 image reference(s) moved in 0 object(s)\n")
        .run();
}

#[test]
fn post_render_writes_a_report_of_every_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n";
    helm_retarget(&["post-render", "--registry", MIRROR, "--report"])
        .arg(&report)
        .stdin(input)
        .status(0)
        .stdout(&input.replace("nginx:1.27", "registry.example.org/library/nginx:1.27"))
        .stderr_notes()
        .run();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json[0]["object"], "Pod/web");
    assert_eq!(json[0]["field"], "spec.containers[0].image");
    assert_eq!(json[0]["old"], "nginx:1.27");
    assert_eq!(json[0]["new"], "registry.example.org/library/nginx:1.27");
}

#[test]
fn post_render_takes_flags_in_the_form_helm_passes_them() {
    // Helm 3 `--post-renderer-args --registry=...` and the Helm 4 plugin both pass `--flag=value`.
    let input = "kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: 'quay.io/x/y:1'}]}\n";
    helm_retarget(&["post-render", "--registry=registry.example.org"])
        .stdin(input)
        .status(0)
        .stdout(&input.replace("quay.io/x/y:1", "registry.example.org/x/y:1"))
        .stderr_notes()
        .run();
}

#[test]
fn two_images_that_would_share_a_destination_are_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("app");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: app\nversion: 1.0.0\n").unwrap();
    std::fs::write(chart.join("values.yaml"), "a: docker.io/org/web:1\nb: quay.io/org/web:1\n").unwrap();
    std::fs::write(
        chart.join("templates/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  \
         - {name: a, image: \"{{ .Values.a }}\"}\n  - {name: b, image: \"{{ .Values.b }}\"}\n",
    )
    .unwrap();
    helm_retarget(&["overlay", "app", "--registry", MIRROR]).current_dir(dir.path()).status(2).stdout("").stderr(
        "error[HR051]: app: --registry: different images would share a destination: docker.io/org/web and quay.io/org/web \
         would both move to registry.example.org/org/web\n  \
         = hint: use `layout: keep-host` in a --mapping file, or give one source registry its own destination under `registries:`\n",
    ).run();
}

#[test]
fn values_a_chart_requires_get_placeholders_for_planning_and_are_named_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("agent");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: agent\nversion: 1.0.0\nappVersion: 2.1.0\n")
        .unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "apiKey: \"\"\ntokenSecret: \"\"\ninsecureToken: \"\"\nimage: {repository: ghcr.io/acme/agent}\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/deployment.yaml"),
        "{{- if not (or .Values.tokenSecret .Values.insecureToken) }}{{ fail \"set tokenSecret or insecureToken\" }}{{ end -}}\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: agent}\nspec:\n  template:\n    spec:\n      containers:\n      \
         - name: agent\n        image: \"{{ .Values.image.repository }}:{{ .Chart.AppVersion }}\"\n        \
         env: [{name: KEY, value: {{ required \"apiKey is required\" .Values.apiKey | quote }}}]\n",
    )
    .unwrap();
    helm_retarget(&["overlay", "agent", "--registry", MIRROR])
        .current_dir(dir.path())
        .status(0)
        .stdout(
            "# helm-retarget overlay for agent: moves 1 image site(s).\n\
         # Rendered with placeholders for required values: insecureToken, apiKey\n\
         image:\n  \
         # ghcr.io/acme/agent:2.1.0 -> registry.example.org/acme/agent:2.1.0\n  \
         repository: registry.example.org/acme/agent\n",
        )
        .stderr_notes()
        .run();
}

#[test]
fn several_charts_give_one_document_each_on_stdout_or_one_file_each_in_the_output_directory() {
    let (a, b) = (fixture("loki-style"), fixture("cert-manager-style"));
    let out = helm_retarget(&["overlay", "--registry", MIRROR]).arg(&a).arg(&b).status(0).stderr_notes().run();
    let documents: Vec<&str> = out.stdout.split("---\n").collect();
    assert_eq!(documents.len(), 2, "{}", out.stdout);
    assert!(documents[0].starts_with("# helm-retarget overlay for loki:"), "{}", documents[0]);
    assert!(documents[1].starts_with("# helm-retarget overlay for cert-manager:"), "{}", documents[1]);

    let dir = tempfile::tempdir().unwrap();
    helm_retarget(&["overlay", "--registry", MIRROR, "-o"])
        .arg(dir.path())
        .arg(&a)
        .arg(&b)
        .status(0)
        .stdout("")
        .stderr_notes()
        .run();
    assert_eq!(std::fs::read_to_string(dir.path().join("loki.yaml")).unwrap(), documents[0]);
    assert_eq!(std::fs::read_to_string(dir.path().join("cert-manager.yaml")).unwrap(), documents[1]);
}

#[test]
fn an_image_named_only_in_configmap_text_is_reported_not_silently_left() {
    let out = helm_retarget(&["scan", "--format", "json"]).arg(fixture("istio-style-hub")).diagnostic("HR003").stderr_contains(
        "mesh: ConfigMap/istio-sidecar-injector data.config names busybox:1.28 in its text; neither an overlay nor \
         the post-renderer moves it",
    ).run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json[0]["text_images"][0]["reference"], "busybox:1.28");
}

#[test]
fn issue_7_an_image_field_that_is_no_reference_is_named_and_left_as_written() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: a\n      \
                 image: Nginx:Latest\n    - name: b\n      image: docker.io/library/nginx:1.27\n";
    helm_retarget(&["post-render", "--registry", MIRROR])
        .stdin(input)
        .status(0)
        .stdout(&input.replace("docker.io/library/nginx:1.27", &format!("{MIRROR}/library/nginx:1.27")))
        .stderr_contains(
            "warning[HR018]: manifest stream: document 0 line 8: Pod/web spec.containers[0].image: \"Nginx:Latest\" \
             is not an image reference",
        )
        .stderr_contains("left as it is")
        .diagnostic("HR018")
        .run();
    helm_retarget(&["verify", "--registry", MIRROR])
        .stdin(input)
        .status(1)
        .diagnostic("HR018")
        .stderr_contains("warning[HR018]: manifest stream: document 0 line 8: Pod/web spec.containers[0].image")
        .run();
}
