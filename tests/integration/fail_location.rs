//! `fail` and `required` errors carry Helm's location, `(file:line:col)`: the call in the
//! outermost template (an `include` or `tpl` that led to the failure stands for it; a `template`
//! action does not), the column a byte offset from 0. Each chart is compared with both real
//! Helm binaries.

use std::path::Path;

use crate::cli::helm_retarget;
use crate::helm_bin::Helm;

/// One chart per failure placement: (chart name, files besides Chart.yaml).
const CASES: &[(&str, &[(&str, &str)])] = &[
    ("top", &[("templates/cm.yaml", "kind: ConfigMap\nx:\n    {{ fail \"stop at top\" }}\n")]),
    ("pipe", &[("templates/cm.yaml", "a: 1\nb: {{ .Values.missing | required \"need missing\" }}\n")]),
    (
        "template-action",
        &[
            ("templates/_helpers.tpl", "{{- define \"h\" }}\nk: v\n  x: {{ fail \"in helper\" }}\n{{- end }}\n"),
            ("templates/cm.yaml", "a: 1\n{{ template \"h\" . }}\n"),
        ],
    ),
    (
        "nested-include",
        &[
            (
                "templates/_helpers.tpl",
                "{{- define \"h\" }}\n  x: {{ fail \"in helper\" }}\n{{- end }}\n{{- define \"outer\" }}\n{{ include \"h\" . }}\n{{- end }}\n",
            ),
            ("templates/cm.yaml", "a: 1\nb:   {{ include \"outer\" . | indent 2 }}\n"),
        ],
    ),
    ("tpl", &[("templates/cm.yaml", "a: 1\nb: {{ tpl \"x {{ fail \\\"in tpl\\\" }}\" . }}\n")]),
    (
        "multi-line-action",
        &[("templates/cm.yaml", "a: 1\n{{- if\n      (required \"r is required\"\n   .Values.r) }}\nb: 2\n{{- end }}\n")],
    ),
    (
        "subchart",
        &[
            ("templates/cm.yaml", "a: 1\n"),
            ("charts/child/Chart.yaml", "apiVersion: v2\nname: child\nversion: 0.1.0\n"),
            ("charts/child/templates/cm.yaml", "a: 1\n\tc: {{ required \"child needs x\" .Values.x }}\n"),
        ],
    ),
    ("empty-message", &[("templates/cm.yaml", "a: {{- \"\" | fail }}\n")]),
];

fn write_chart(dir: &Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let chart = dir.join(name);
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(chart.join("Chart.yaml"), format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n")).unwrap();
    for (path, text) in files {
        let file = chart.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    chart
}

#[test]
fn fail_and_required_name_file_line_and_column_as_both_helms_do() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    for (name, files) in CASES {
        let chart = write_chart(dir.path(), name, files);
        let ours = helm_retarget(&["template"]).arg(&chart).current_dir(dir.path()).status(2).diagnostic("HR020").run();
        assert_eq!(ours.stdout, "", "{name}: nothing is written");
        let ours_line =
            ours.stderr.lines().next().unwrap_or_default().strip_prefix("error[HR020]: ").unwrap_or_default();
        assert!(ours_line.starts_with("execution error at ("), "{name}: {}", ours.stderr);
        for helm in [Helm::V3, Helm::V4] {
            let mut command = helm.command(home.path());
            let out = command.args(["template", "release", name]).current_dir(dir.path()).output().unwrap();
            assert!(!out.status.success(), "{helm:?} {name} renders");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let theirs = stderr.lines().next().unwrap_or_default().strip_prefix("Error: ").unwrap_or_default();
            assert_eq!(ours_line, theirs, "{helm:?} {name}");
        }
    }
}
