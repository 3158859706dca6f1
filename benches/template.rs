//! `cargo bench --bench template`: `helm-retarget template` against one `helm template` process of
//! the real Helm v4 binary, on the largest fixture and on a generated 100-subchart umbrella. Both
//! outputs are compared byte for byte (shown in the table: the timed work is the same work), and
//! the table gives the ratio. Asserts no timings. Without `--bench` (under `cargo test --all-targets`)
//! it runs once on a small generated chart so the harness cannot rot unnoticed.
//! `cargo bench --bench template -- --bench --subcharts 50,100,300 --nesting 50` measures generated
//! charts of those sizes and a chain of 50 levels. Each run times both binaries one after the other
//! (wall, and user+sys CPU from `/usr/bin/time`), so load on a shared machine hits both alike.

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
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let counts = |flag: &str| -> Option<Vec<usize>> {
        let i = args.iter().position(|a| a == flag)?;
        let list = args.get(i + 1).map_or("", String::as_str);
        Some(
            list.split(',')
                .map(|n| {
                    n.trim().parse().unwrap_or_else(|_| panic!("{flag} {list:?}: expected counts separated by commas"))
                })
                .collect(),
        )
    };
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
    for subcharts in counts("--subcharts").unwrap_or_else(|| vec![if bench { 100 } else { 4 }]) {
        let dir = work.join(format!("generated-{subcharts}/fleet"));
        let generated = synthetic_chart::write(&dir, subcharts).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        charts.push((format!("generated, {subcharts} subcharts"), generated.dir));
    }
    for levels in counts("--nesting").unwrap_or_default() {
        let dir = work.join(format!("nested-{levels}/level0"));
        let generated =
            synthetic_chart::write_nested(&dir, levels).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        charts.push((format!("generated, {levels} levels of nesting"), generated.dir));
    }

    let mut table = String::from(
        "| chart | helm-retarget template ms | helm template ms (v4.1.4) | ours CPU ms | helm CPU ms | ours / helm \
         CPU | ours / helm wall | same bytes |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let ours_bin = Path::new(env!("CARGO_BIN_EXE_helm-retarget"));
    for (label, chart) in &charts {
        let _ = writeln!(std::io::stderr(), "measuring {label} ...");
        let ours_args = ["template", "--release-name", "release"];
        let helm_args = ["template", "release", "--kube-version", "1.36.0"];
        let ours_out = run(ours_bin, &ours_args, chart, &work);
        let helm_out = run(&helm, &helm_args, chart, &work);
        // Not asserted: Helm before 4.2 prints chart-default nulls we drop (see template_conformance).
        let same = if ours_out.stdout == helm_out.stdout { "yes" } else { "no" };
        // One run of each per round, alternating, so both see the same load.
        let (mut ours_cpu, mut helm_cpu, mut helm_wall) = (Vec::new(), Vec::new(), Vec::new());
        let ours = timing::repeat(repeat, || {
            let (wall, cpu) = time(ours_bin, &ours_args, chart, &work);
            ours_cpu.push(cpu);
            let (their_wall, their_cpu) = time(&helm, &helm_args, chart, &work);
            helm_wall.push(their_wall);
            helm_cpu.push(their_cpu);
            wall
        });
        let theirs = timing::Samples::new(helm_wall);
        let (ours_cpu, helm_cpu) = (timing::Samples::new(ours_cpu), timing::Samples::new(helm_cpu));
        table.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {same} |\n",
            ours.cell(),
            theirs.cell(),
            ours_cpu.cell(),
            helm_cpu.cell(),
            timing::ratio(ours_cpu.median(), helm_cpu.median()),
            timing::ratio(ours.median(), theirs.median()),
        ));
    }
    table.push_str(
        "\nEach cell: median (min); CPU is user+sys as `/usr/bin/time` reports it (10 ms resolution). Target \
         (issue 12): ours / helm CPU at most 0.3x.\n",
    );
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

/// One run under `/usr/bin/time`: (wall, user+sys CPU).
fn time(binary: &Path, args: &[&str], chart: &Path, home: &Path) -> (Duration, Duration) {
    let report = home.join("cpu-time");
    let mut timed = Command::new("/usr/bin/time");
    timed.args(["-f", "%U %S", "-o"]).arg(&report).arg(binary).args(args).arg(chart).stdin(Stdio::null());
    timed.stdout(Stdio::null()).stderr(Stdio::null());
    for var in ["HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"] {
        timed.env(var, home.join("helm-home"));
    }
    let (elapsed, status) = timing::time(|| timed.status());
    let status = status.unwrap_or_else(|e| panic!("cannot run /usr/bin/time (install GNU time): {e}"));
    assert!(status.success(), "{} {args:?} failed ({status})", binary.display());
    let text = fs::read_to_string(&report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    let cpu: f64 = text
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or_else(|_| panic!("/usr/bin/time wrote {text:?}")))
        .sum();
    (elapsed, Duration::from_secs_f64(cpu))
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
