//! `cargo bench --bench overlay`: `overlay` on the largest fixture and on a generated 100-subchart
//! umbrella, against bare `gzip -dc | tar -x` of the same archive and one Helm-engine render of it.
//!
//! It prints a Markdown table (also written to target/bench-overlay.md for the README) and asserts no
//! timings. Under `cargo test --all-targets` (no `--bench` argument) it runs every measurement once
//! on a small generated chart instead, so the harness cannot rot unnoticed.
//! `cargo bench --bench overlay -- --subcharts 10,25,100` measures generated charts of those sizes;
//! `--nesting 50` adds a generated chain of 50 levels, each depending on the next.

#[path = "overlay/baselines.rs"]
mod baselines;
#[path = "overlay/synthetic_chart.rs"]
mod synthetic_chart;
#[path = "overlay/table.rs"]
mod table;
#[path = "overlay/timing.rs"]
mod timing;

use std::fs;
use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use helm_retarget::mapping::RegistryMapping;
use helm_retarget::{commands, overlay, plan};

use baselines::HelmEngine;
use table::Row;
use timing::Repeat;

const REGISTRY: &str = "registry.example.org";

/// A chart archive under measurement.
#[derive(Debug)]
struct BenchChart {
    label: String,
    archive: PathBuf,
    files: usize,
    /// Images the Helm render must hold, when we know (the generated chart).
    expected_images: Option<usize>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let repeat = if bench { Repeat::BENCH } else { Repeat::SMOKE };
    let sizes = match args.iter().position(|a| a == "--subcharts") {
        Some(i) => subchart_counts(args.get(i + 1).map_or("", String::as_str)),
        None if bench => vec![100],
        None => vec![4],
    };
    let nesting = match args.iter().position(|a| a == "--nesting") {
        Some(i) => subchart_counts(args.get(i + 1).map_or("", String::as_str)),
        None => Vec::new(),
    };
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project.join("target"), PathBuf::from);
    let work = target.join("bench-charts");
    fs::create_dir_all(work.join("scratch")).unwrap_or_else(|e| panic!("{}: {e}", work.display()));

    // Before any timing: without the engine there is nothing to compare against.
    let engine = HelmEngine::locate(project);

    let mut charts = Vec::new();
    if bench {
        charts.push(largest_fixture(&project.join("fixtures/charts"), &work));
    }
    charts.extend(sizes.into_iter().map(|n| generated_chart(&work, n)));
    charts.extend(nesting.into_iter().map(|n| nested_chart(&work, n)));

    let rows: Vec<Row> = charts
        .iter()
        .map(|chart| {
            progress(&format!("measuring {} ...", chart.label));
            measure(chart, &engine, &work, repeat)
        })
        .collect();

    let mut report = table::markdown(&rows, repeat, REGISTRY);
    if !bench {
        report.insert_str(0, "Smoke run (cargo test: debug build, one run each; the timings mean nothing).\n\n");
    }
    std::io::stdout().write_all(report.as_bytes()).expect("stdout");
    if bench {
        let file = target.join("bench-overlay.md");
        fs::write(&file, &report).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        progress(&format!("table written to {}", file.display()));
    }
}

fn measure(chart: &BenchChart, engine: &HelmEngine, work: &Path, repeat: Repeat) -> Row {
    let mapping = RegistryMapping::from_registry(REGISTRY).unwrap_or_else(|e| panic!("--registry {REGISTRY}: {e}"));
    let mut last = None;
    let overlay_library = timing::repeat(repeat, || {
        let (elapsed, run) = timing::time(|| overlay_in_process(&chart.archive, &mapping));
        last = Some(run);
        elapsed
    });
    let (moved, sites) = last.expect("at least one overlay run");
    let out = work.join("out").join(format!("{}.yaml", file_stem(&chart.archive)));
    fs::create_dir_all(out.parent().expect("out dir")).expect("out dir");
    let mut overlay_cpu = Vec::new();
    let overlay_binary = timing::repeat(repeat, || {
        let (wall, cpu) = overlay_process(&chart.archive, &out, work);
        overlay_cpu.push(cpu);
        wall
    });
    let mut helm_cpu = Vec::new();
    let helm_binary_wall = timing::repeat(repeat, || {
        let (wall, cpu) = baselines::helm_template(&chart.archive, work);
        helm_cpu.push(cpu);
        wall
    });
    // What Helm renders with the overlay the binary wrote: the proof the timed work is the real work.
    let rendered = engine.images_with(&chart.archive, &out);
    let on_mirror = rendered.iter().filter(|image| image.starts_with(&format!("{REGISTRY}/"))).count();
    let untar = timing::repeat(repeat, || baselines::untar(&chart.archive, &work.join("scratch")));
    let helm = engine.render(&chart.archive, repeat);
    if let Some(expected) = chart.expected_images {
        assert_eq!(
            helm.images, expected,
            "{}: the Helm engine rendered {} image fields where the generator wrote {expected}: the synthetic \
             chart is broken",
            chart.label, helm.images
        );
    }
    Row {
        chart: chart.label.clone(),
        files: chart.files,
        overlay_binary,
        overlay_library,
        untar,
        helm: helm.samples,
        helm_binary_wall,
        helm_binary_cpu: timing::Samples::new(helm_cpu),
        overlay_cpu: timing::Samples::new(overlay_cpu),
        moved,
        sites,
        on_mirror,
        rendered: rendered.len(),
    }
}

/// The library path, in process: load the archive, plan, write the overlay YAML (no diff, no stderr).
/// Returns (image sites moved, image sites).
fn overlay_in_process(archive: &Path, mapping: &RegistryMapping) -> (usize, usize) {
    let input = helm_retarget::cli::Input::Path(archive.to_path_buf());
    let chart = commands::load_chart(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let user = commands::user_values(&Default::default()).expect("no values flags");
    let planned =
        plan::plan(&chart, &user, mapping, &[], &helm_retarget::render::RenderOptions::default()).expect("plan");
    black_box(overlay::to_yaml(&planned));
    let moved = planned.moves.iter().filter(|m| matches!(m.outcome, plan::Outcome::Moved { .. })).count();
    (moved, planned.moves.len())
}

/// The release binary as a user runs it, stderr (tables and diff) captured but unread.
/// `-o` names a real file: the command writes through a temporary file and a rename, which must
/// never be pointed at /dev/null.
/// Returns (wall, CPU) time.
fn overlay_process(archive: &Path, out: &Path, work: &Path) -> (Duration, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_helm-retarget"));
    command.arg("overlay").arg(archive).args(["--registry", REGISTRY, "-o"]).arg(out).stdin(Stdio::null());
    let (elapsed, cpu, output) = baselines::timed_process(command, work);
    assert!(
        output.status.success(),
        "helm-retarget overlay {} failed ({}): {}",
        archive.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    (elapsed, cpu)
}

/// The fixture chart with the most bytes, packed as Helm would ship it (one top directory).
fn largest_fixture(fixtures: &Path, work: &Path) -> BenchChart {
    let mut best: Option<(u64, usize, PathBuf)> = None;
    for entry in fs::read_dir(fixtures).unwrap_or_else(|e| panic!("{}: {e}", fixtures.display())) {
        let dir = entry.expect("fixture entry").path();
        if !dir.join("Chart.yaml").is_file() {
            continue;
        }
        let (bytes, files) = size(&dir);
        if best.as_ref().is_none_or(|(b, _, d)| (bytes, &dir) > (*b, d)) {
            best = Some((bytes, files, dir));
        }
    }
    let (_, files, dir) = best.unwrap_or_else(|| panic!("{}: no fixture charts", fixtures.display()));
    let name = dir.file_name().expect("chart dir name").to_string_lossy().into_owned();
    BenchChart {
        label: format!("fixtures/charts/{name}"),
        archive: pack(&dir, &work.join(format!("{name}.tgz"))),
        files,
        expected_images: None,
    }
}

fn generated_chart(work: &Path, subcharts: usize) -> BenchChart {
    let dir = work.join(format!("generated-{subcharts}/fleet"));
    let generated =
        synthetic_chart::write(&dir, subcharts).unwrap_or_else(|e| panic!("{}: cannot write: {e}", dir.display()));
    BenchChart {
        label: format!("generated, {subcharts} subcharts"),
        archive: pack(&generated.dir, &work.join(format!("generated-{subcharts}.tgz"))),
        files: size(&generated.dir).1,
        expected_images: Some(generated.images),
    }
}

/// `--nesting 50`: `level0` depending on `level1` ... on `level49`.
fn nested_chart(work: &Path, levels: usize) -> BenchChart {
    let dir = work.join(format!("nested-{levels}/level0"));
    let generated =
        synthetic_chart::write_nested(&dir, levels).unwrap_or_else(|e| panic!("{}: cannot write: {e}", dir.display()));
    BenchChart {
        label: format!("generated, {levels} levels of nesting"),
        archive: pack(&generated.dir, &work.join(format!("nested-{levels}.tgz"))),
        files: size(&generated.dir).1,
        expected_images: Some(generated.images),
    }
}

/// `--subcharts 10,25,100`: one generated chart per count, to show how `overlay` scales.
fn subchart_counts(list: &str) -> Vec<usize> {
    list.split(',')
        .map(|n| {
            n.trim().parse().unwrap_or_else(|_| {
                panic!("--subcharts {list:?}: expected counts separated by commas, as in `--subcharts 10,25,100`")
            })
        })
        .collect()
}

/// `tar czf ARCHIVE -C PARENT NAME`.
fn pack(dir: &Path, archive: &Path) -> PathBuf {
    let status = Command::new("tar")
        .arg("czf")
        .arg(archive)
        .arg("-C")
        .arg(dir.parent().expect("chart dir has a parent"))
        .arg(dir.file_name().expect("chart dir name"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run tar: {e}"));
    assert!(status.success(), "tar czf {} failed ({status})", archive.display());
    archive.to_path_buf()
}

/// (bytes, files) of the regular files under `dir`.
fn size(dir: &Path) -> (u64, usize) {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .filter(|e| e.file_type().is_file())
        .fold((0, 0), |(bytes, files), e| (bytes + e.metadata().map_or(0, |m| m.len()), files + 1))
}

fn file_stem(path: &Path) -> String {
    path.file_name().expect("file name").to_string_lossy().trim_end_matches(".tgz").to_string()
}

fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "bench overlay: {line}");
}
