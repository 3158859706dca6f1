//! What `overlay` is measured against: bare `gzip -dc | tar -x` of the archive (the floor), and one
//! render by the real Helm engine (helm-python-sdk, the engine the end-to-end tests use).

#![allow(
    clippy::cast_possible_truncation,
    clippy::needless_pass_by_value,
    reason = "bench helpers: timings in whole milliseconds"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::timing::{self, Repeat, Samples};

/// Decompresses and unpacks `archive` into a fresh directory under `scratch`, as a shell would.
/// Only the pipeline is timed; making and removing the directory is not.
pub fn untar(archive: &Path, scratch: &Path) -> Duration {
    let dir = tempfile::tempdir_in(scratch)
        .unwrap_or_else(|e| panic!("{}: cannot make a directory to untar into: {e}", scratch.display()));
    let (elapsed, output) = timing::time(|| {
        Command::new("sh").args(["-c", r#"gzip -dc "$1" | tar -x -C "$2""#, "sh"]).arg(archive).arg(dir.path()).output()
    });
    let output = output.unwrap_or_else(|e| panic!("cannot run sh for `gzip -dc | tar -x`: {e}"));
    assert!(
        output.status.success() && dir.path().read_dir().is_ok_and(|mut d| d.next().is_some()),
        "gzip -dc {} | tar -x failed ({}): {}",
        archive.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// The Python that has `helm_python`: `$HELM_RETARGET_PYTHON`, else the `.venv` that `tests/run` makes.
#[derive(Debug)]
pub struct HelmEngine {
    python: PathBuf,
}

/// One chart's Helm renders: their timings, and what the first one held.
#[derive(Debug)]
pub struct HelmRenders {
    pub samples: Samples,
    /// `image:` fields in the rendered manifests (containers and init containers).
    pub images: usize,
}

/// Loads the chart and renders it in one Python process, timing each `Chart.load` + `render` inside
/// it: Python's start-up and the engine library's loading are left out, which flatters Helm, so a
/// ratio against it errs on the side of modesty.
const RENDER_LOOP: &str = r#"
import json, re, sys, time
import helm_python

chart_path, warmup, min_runs, max_runs, budget = sys.argv[1], *map(int, sys.argv[2:5]), float(sys.argv[5])

def render():
    chart = helm_python.Chart.load(chart_path)
    return chart.render({}, name="release", namespace="default", is_install=True)

try:
    manifests = render()
    for _ in range(warmup):
        render()
    samples = []
    while len(samples) < max_runs and (len(samples) < min_runs or sum(samples) < budget):
        start = time.perf_counter()
        render()
        samples.append(time.perf_counter() - start)
except Exception as error:
    print(f"helm engine: {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
image_field = re.compile(r"^\s*(- )?image:", re.M)
images = sum(len(image_field.findall(text)) for text in manifests.values())
json.dump({"samples": samples, "images": images}, sys.stdout)
"#;

/// Renders the chart once with a values file (the overlay) and lists every `image:` field's value.
const RENDER_IMAGES: &str = r#"
import json, re, sys
import helm_python

try:
    chart = helm_python.Chart.load(sys.argv[1])
    with open(sys.argv[2]) as values:
        manifests = chart.render(helm_python.values_from_yaml(values.read()) or {}, name="release",
                                 namespace="default", is_install=True)
except Exception as error:
    print(f"helm engine: {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
image_field = re.compile(r"""^\s*(?:- )?image:\s*["']?([^"'\s]+)""", re.M)
json.dump([m for text in manifests.values() for m in image_field.findall(text)], sys.stdout)
"#;

impl HelmEngine {
    /// Finds the engine or panics saying how to get it: a benchmark without Helm is no benchmark.
    pub fn locate(project: &Path) -> HelmEngine {
        let python =
            std::env::var_os("HELM_RETARGET_PYTHON").map_or_else(|| project.join(".venv/bin/python"), PathBuf::from);
        let probe = Command::new(&python).args(["-c", "import helm_python"]).output();
        match probe {
            Ok(out) if out.status.success() => HelmEngine { python },
            Ok(out) => panic!(
                "the Helm engine is missing: {} cannot import helm_python ({}). Run `tests/run` once (it \
                 creates .venv with helm-python-sdk) or set HELM_RETARGET_PYTHON to a python that has it.",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!(
                "the Helm engine is missing: cannot run {} ({e}). Run `tests/run` once (it creates .venv \
                 with helm-python-sdk) or set HELM_RETARGET_PYTHON to a python that has it.",
                python.display()
            ),
        }
    }

    /// Renders `chart` (a .tgz or directory) with its defaults, as `helm template` would, per `repeat`.
    pub fn render(&self, chart: &Path, repeat: Repeat) -> HelmRenders {
        let output = Command::new(&self.python)
            .args(["-c", RENDER_LOOP])
            .arg(chart)
            .args([repeat.warmup, repeat.min_runs, repeat.max_runs].map(|n| n.to_string()))
            .arg(repeat.budget.as_secs_f64().to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python.display()));
        assert!(
            output.status.success(),
            "{}: the Helm engine failed to render it: {}",
            chart.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let reply: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("the Helm render loop's reply is not JSON ({e})"));
        let samples = reply["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .map(|s| Duration::from_secs_f64(s.as_f64().expect("a sample in seconds")))
            .collect();
        let images = reply["images"].as_u64().expect("an image count") as usize;
        HelmRenders { samples: Samples::new(samples), images }
    }

    /// The `image:` values of one render of `chart` with `values` (a YAML file) over its defaults.
    pub fn images_with(&self, chart: &Path, values: &Path) -> Vec<String> {
        let output = Command::new(&self.python)
            .args(["-c", RENDER_IMAGES])
            .arg(chart)
            .arg(values)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.python.display()));
        assert!(
            output.status.success(),
            "{}: the Helm engine failed to render it with {}: {}",
            chart.display(),
            values.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("the Helm engine's image list is not JSON ({e})"))
    }
}

/// Runs `command` under `/usr/bin/time`; returns (wall, user+sys CPU, its output). The CPU time
/// of a child process is what both the overlay and Helm are compared on (a render in parallel
/// costs CPU on every core).
pub fn timed_process(command: Command, work: &Path) -> (Duration, Duration, std::process::Output) {
    let report = work.join("scratch/cpu-time");
    let mut timed = Command::new("/usr/bin/time");
    timed.args(["-f", "%U %S", "-o"]).arg(&report).arg(command.get_program()).args(command.get_args());
    timed.stdin(std::process::Stdio::null());
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            timed.env(key, value);
        }
    }
    let (elapsed, output) = timing::time(|| timed.output());
    let output = output.unwrap_or_else(|e| panic!("cannot run /usr/bin/time (install GNU time): {e}"));
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    let cpu: f64 = text
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or_else(|_| panic!("/usr/bin/time wrote {text:?}")))
        .sum();
    (elapsed, Duration::from_secs_f64(cpu), output)
}

/// One `helm template release CHART.tgz` process of the real Helm v4 binary (the Helm-clients
/// issue's pinned download under .tools/); returns (wall, CPU).
pub fn helm_template(archive: &Path, work: &Path) -> (Duration, Duration) {
    let helm = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/helm-v4.1.4/helm");
    assert!(helm.exists(), "{}: missing; run tests/run once to install the Helm binaries", helm.display());
    let mut command = Command::new(&helm);
    command.args(["template", "release"]).arg(archive).args(["--kube-version", "1.36.0"]);
    for var in ["HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"] {
        command.env(var, work.join("helm-home"));
    }
    let (wall, cpu, output) = timed_process(command, work);
    assert!(
        output.status.success(),
        "helm template {} failed: {}",
        archive.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    (wall, cpu)
}
