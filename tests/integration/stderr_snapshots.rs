//! Reviewed snapshots of everything people read on stderr: warnings, errors, hints, moves tables,
//! values diffs, `--check` verdicts and summaries, for every command on every fixture chart. Colour
//! is off (NO_COLOR) and paths are made stable, so a snapshot changes only when the words do.

use std::path::Path;

use crate::cli::{helm_retarget, root, Run};
use crate::fixtures::fixture_charts;
use crate::overlay_e2e::MIRROR;

/// Runs one command line and records it as the snapshot shows it: the command, the exit status
/// and stderr, with the repository and the temporary directory named by placeholders.
struct Transcript<'a> {
    tmp: &'a Path,
    text: String,
}

impl Transcript<'_> {
    fn stable(&self, text: &str) -> String {
        text.replace(&self.tmp.display().to_string(), "<tmp>").replace(&root().display().to_string(), "<repo>")
    }

    /// Runs `run` and appends its transcript; returns its stdout for the next command.
    fn record(&mut self, shown: &str, run: Run) -> String {
        let out = run.env("NO_COLOR", "1").output();
        let stderr = self.stable(&out.stderr);
        for line in stderr.lines() {
            assert!(!line.starts_with("error: ") && !line.starts_with("warning: "), "{shown}: uncoded: {line}");
        }
        self.text.push_str(&format!("$ helm-retarget {}\nexit {}\n{stderr}\n", self.stable(shown), out.status));
        out.stdout
    }
}

fn transcript(chart: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript { tmp: dir.path(), text: String::new() };
    let c = chart.display().to_string();
    let overlay = dir.path().join("overlay.yaml");
    let o = overlay.display().to_string();
    t.record(&format!("scan {c}"), helm_retarget(&["scan", &c]));
    t.record(&format!("overlay --registry {MIRROR} {c}"), helm_retarget(&["overlay", "--registry", MIRROR, &c]));
    t.record(
        &format!("overlay --registry {MIRROR} -o {o} {c}"),
        helm_retarget(&["overlay", "--registry", MIRROR, "-o", &o, &c]),
    );
    t.record(
        &format!("overlay --registry {MIRROR} --check {o} {c}"),
        helm_retarget(&["overlay", "--registry", MIRROR, "--check", &o, &c]),
    );
    let stream = t.record(&format!("template {c}"), helm_retarget(&["template", &c]));
    t.record(
        &format!("verify --registry {MIRROR} < (template)"),
        helm_retarget(&["verify", "--registry", MIRROR]).stdin(stream.clone()),
    );
    let moved = t.record(
        &format!("post-render --registry {MIRROR} < (template)"),
        helm_retarget(&["post-render", "--registry", MIRROR]).stdin(stream),
    );
    t.record(
        &format!("verify --registry {MIRROR} < (post-render)"),
        helm_retarget(&["verify", "--registry", MIRROR]).stdin(moved),
    );
    t.record(&format!("mirror --registry {MIRROR} {c}"), helm_retarget(&["mirror", "--registry", MIRROR, &c]));
    t.record(&format!("diff --registry {MIRROR} {c} {c}"), helm_retarget(&["diff", "--registry", MIRROR, &c, &c]));
    t.text
}

#[test]
fn stderr_of_every_command_on_every_fixture() {
    let incomplete =
        ["helper-with-unknown-function", "refuses-values"].map(|n| root().join("fixtures/incomplete").join(n));
    for chart in fixture_charts().into_iter().chain(incomplete) {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("stderr-{name}"), transcript(&chart));
    }
}

#[test]
fn stderr_of_an_upgrade_diff_and_a_stale_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript { tmp: dir.path(), text: String::new() };
    let old = root().join("fixtures/charts/cloudzero-agent").display().to_string();
    let new = root().join("fixtures/upgrades/cloudzero-agent-next").display().to_string();
    t.record(
        &format!("diff --registry {MIRROR} {old} {new}"),
        helm_retarget(&["diff", "--registry", MIRROR, &old, &new]),
    );
    let mirrored = dir.path().join("mirrored.txt");
    std::fs::write(&mirrored, "# what the mirror holds\nghcr.io/cloudzero/cloudzero-agent/cloudzero-agent:1.3.0\n")
        .unwrap();
    let m = mirrored.display().to_string();
    t.record(
        &format!("diff --registry {MIRROR} --fail-on-new-images --mirrored {m} {old} {new}"),
        helm_retarget(&["diff", "--registry", MIRROR, "--fail-on-new-images", "--mirrored", &m, &old, &new]),
    );
    let file = dir.path().join("overlay.yaml");
    std::fs::write(&file, "image:\n  repository: quay.io/old/place\n").unwrap();
    let f = file.display().to_string();
    t.record(
        &format!("overlay --registry {MIRROR} --check {f} {old}"),
        helm_retarget(&["overlay", "--registry", MIRROR, "--check", &f, &old]),
    );
    insta::assert_snapshot!("stderr-upgrade-and-stale-check", t.text);
}

/// The mirror formats, in the order `mirror --help` lists them.
const MIRROR_FORMATS: [&str; 11] =
    ["list", "tsv", "json", "skopeo", "crane", "docker", "regsync", "skopeo-sync", "dry-run", "lock", "oras"];

#[test]
fn stderr_of_every_mirror_format_relocate_and_diff_format() {
    for name in ["cloudzero-agent", "kube-prometheus-stack-style"] {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Transcript { tmp: dir.path(), text: String::new() };
        let c = root().join("fixtures/charts").join(name).display().to_string();
        for format in MIRROR_FORMATS {
            t.record(
                &format!("mirror --registry {MIRROR} --format {format} {c}"),
                helm_retarget(&["mirror", "--registry", MIRROR, "--format", format, &c]),
            );
        }
        let bundle = dir.path().join("bundle").display().to_string();
        t.record(
            &format!("mirror --registry {MIRROR} --format bundle -o {bundle} {c}"),
            helm_retarget(&["mirror", "--registry", MIRROR, "--format", "bundle", "-o", &bundle, &c]),
        );
        t.record(
            &format!("mirror --registry {MIRROR} --format crane --platform linux/amd64 {c}"),
            helm_retarget(&["mirror", "--registry", MIRROR, "--format", "crane", "--platform", "linux/amd64", &c]),
        );
        let archive = dir.path().join("relocated.tgz").display().to_string();
        t.record(
            &format!("relocate --registry {MIRROR} -o {archive} {c}"),
            helm_retarget(&["relocate", "--registry", MIRROR, "-o", &archive, &c]),
        );
        t.record(
            &format!("relocate --registry {MIRROR} --keep-version -o - {c}"),
            helm_retarget(&["relocate", "--registry", MIRROR, "--keep-version", "-o", "-", &c]),
        );
        insta::assert_snapshot!(format!("stderr-formats-{name}"), t.text);
    }
}

#[test]
fn stderr_of_every_diff_format_on_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript { tmp: dir.path(), text: String::new() };
    let old = root().join("fixtures/charts/cloudzero-agent").display().to_string();
    let new = root().join("fixtures/upgrades/cloudzero-agent-next").display().to_string();
    for format in ["text", "markdown", "json", "list", "skopeo", "crane"] {
        t.record(
            &format!("diff --registry {MIRROR} --format {format} {old} {new}"),
            helm_retarget(&["diff", "--registry", MIRROR, "--format", format, &old, &new]),
        );
    }
    for format in ["text", "list"] {
        t.record(
            &format!("diff --format {format} {old} {new}"),
            helm_retarget(&["diff", "--format", format, &old, &new]),
        );
    }
    insta::assert_snapshot!("stderr-diff-formats", t.text);
}
