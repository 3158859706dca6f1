//! `cargo bench --bench template`: `helm-retarget template` against one `helm template` process of
//! the real Helm v4 binary, on the largest fixture and on a generated 100-subchart umbrella. Both
//! outputs are compared byte for byte (shown in the table: the timed work is the same work), and
//! the table gives the ratio. Asserts no timings. Without `--bench` (under `cargo test --all-targets`)
//! it runs once on a small generated chart so the harness cannot rot unnoticed.

// Shared with the overlay bench, which uses more of them.
#[allow(dead_code)]
#[path = "overlay/synthetic_chart.rs"]
mod synthetic_chart;
#[allow(dead_code)]
#[path = "overlay/timing.rs"]
mod timing;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use timing::Repeat;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let repeat = if bench { Repeat::BENCH } else { Repeat::SMOKE };
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project.join("target"), PathBuf::from);
    let work = target.join("bench-template");
    fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{}: {e}", work.display()));
    let helm = project.join(".tools/helm-v4.1.4/helm");
    assert!(helm.exists(), "{}: missing; run tests/run once to install the Helm binaries", helm.display());

    let mut charts: Vec<(String, PathBuf)> = Vec::new();
    if bench {
        charts.push(largest_fixture(&project.join("fixtures/charts")));
    }
    let subcharts = if bench { 100 } else { 4 };
    let dir = work.join(format!("generated-{subcharts}/fleet"));
    let generated = synthetic_chart::write(&dir, subcharts).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    charts.push((format!("generated, {subcharts} subcharts"), generated.dir));

    let mut table = String::from(
        "| chart | helm-retarget template ms | helm template ms (v4.1.4) | helm / ours | same bytes |\n\
         |---|---:|---:|---:|---|\n",
    );
    for (label, chart) in &charts {
        let _ = writeln!(std::io::stderr(), "measuring {label} ...");
        let ours_args = ["template", "--release-name", "release"];
        let helm_args = ["template", "release", "--kube-version", "1.36.0"];
        let ours_out = run(Path::new(env!("CARGO_BIN_EXE_helm-retarget")), &ours_args, chart, &work);
        let helm_out = run(&helm, &helm_args, chart, &work);
        // Not asserted: Helm before 4.2 prints chart-default nulls we drop (see template_conformance).
        let same = if ours_out.stdout == helm_out.stdout { "yes" } else { "no" };
        let ours =
            timing::repeat(repeat, || time(Path::new(env!("CARGO_BIN_EXE_helm-retarget")), &ours_args, chart, &work));
        let theirs = timing::repeat(repeat, || time(&helm, &helm_args, chart, &work));
        table.push_str(&format!(
            "| {label} | {} | {} | {} | {same} |\n",
            ours.cell(),
            theirs.cell(),
            timing::ratio(theirs.median(), ours.median())
        ));
    }
    std::io::stdout().write_all(table.as_bytes()).expect("stdout");
}

fn command(binary: &Path, args: &[&str], chart: &Path, home: &Path) -> Command {
    let mut command = Command::new(binary);
    command.args(args).arg(chart).stdin(Stdio::null());
    for var in ["HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"] {
        command.env(var, home.join("helm-home"));
    }
    command
}

fn run(binary: &Path, args: &[&str], chart: &Path, home: &Path) -> Output {
    let out = command(binary, args, chart, home).output().unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    assert!(out.status.success(), "{} failed: {}", binary.display(), String::from_utf8_lossy(&out.stderr));
    out
}

fn time(binary: &Path, args: &[&str], chart: &Path, home: &Path) -> Duration {
    let (elapsed, out) = timing::time(|| command(binary, args, chart, home).output());
    assert!(out.expect("runs").status.success());
    elapsed
}

/// The fixture chart directory with the most bytes.
fn largest_fixture(fixtures: &Path) -> (String, PathBuf) {
    fn bytes(dir: &Path) -> u64 {
        fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        bytes(&p)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
    }
    let best = fs::read_dir(fixtures)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Chart.yaml").is_file())
        .max_by_key(|p| (bytes(p), p.clone()))
        .expect("a fixture chart");
    (format!("fixtures/charts/{}", best.file_name().unwrap().to_string_lossy()), best)
}
