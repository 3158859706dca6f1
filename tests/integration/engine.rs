//! The real Helm engine (helm-python-sdk in the virtualenv that `tests/run` creates), called from
//! Rust tests. A missing engine is a loud failure, never a skip.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Python that has `helm_python` installed: `$HELM_RETARGET_PYTHON`, else `.venv/bin/python`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HELM_RETARGET_PYTHON") {
        return PathBuf::from(p);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        local.exists(),
        "the Helm engine is missing: run the tests with `tests/run`, which creates .venv with \
         helm-python-sdk (or set HELM_RETARGET_PYTHON to a python that has it)"
    );
    local
}

/// Renders `chart` (a directory or .tgz) with `values` as `helm template` would, returning
/// template path -> rendered text. Panics with the engine's message when rendering fails.
pub fn render(chart: &Path, values: &serde_json::Value) -> BTreeMap<String, String> {
    try_render(chart, values).unwrap_or_else(|e| panic!("{}: {e}", chart.display()))
}

/// Like `render`, but returns the engine's error message instead of panicking.
pub fn try_render(chart: &Path, values: &serde_json::Value) -> Result<BTreeMap<String, String>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm_engine.py");
    let request = serde_json::json!({
        "chart": chart, "values": values, "name": "release", "namespace": "default",
    });
    let mut child = Command::new(python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Helm engine's python could not start; run the tests with `tests/run`");
    child.stdin.take().expect("stdin").write_all(request.to_string().as_bytes()).expect("write request");
    let out = child.wait_with_output().expect("wait for the Helm engine");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'helm_python'"),
        "the Helm engine is missing from {}: run the tests with `tests/run`",
        python().display()
    );
    if !out.status.success() {
        return Err(stderr.into_owned());
    }
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).expect("engine reply is JSON");
    Ok(serde_json::from_value(reply["manifests"].clone()).expect("manifests map"))
}
