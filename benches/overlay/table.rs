//! The benchmark's result as a Markdown table, with the notes a reader needs to trust its ratios.

use std::time::Duration;

use crate::timing::{ms, ratio, Repeat, Samples};

/// One chart's measurements.
#[derive(Debug)]
pub struct Row {
    pub chart: String,
    pub files: usize,
    pub overlay_binary: Samples,
    pub overlay_library: Samples,
    pub untar: Samples,
    pub helm: Samples,
    /// One `helm template` process of the real Helm v4 binary: wall and CPU (user+sys) time, beside
    /// the overlay process's CPU time, measured alternately in the same run.
    pub helm_binary_wall: Samples,
    pub helm_binary_cpu: Samples,
    pub overlay_cpu: Samples,
    /// Image sites the overlay moved, of all it found: a fast overlay that moves nothing is no result.
    pub moved: usize,
    pub sites: usize,
    /// `image:` fields on the registry in Helm's render with the overlay, of all `image:` fields.
    pub on_mirror: usize,
    pub rendered: usize,
}

/// The table (ratios of medians, the binary's timing for "overlay") and how each column was taken.
pub fn markdown(rows: &[Row], repeat: Repeat, registry: &str) -> String {
    let mut out = String::from(
        "| chart | overlay wall ms | overlay CPU ms | helm template wall ms | helm template CPU ms | overlay/helm \
         CPU | overlay/helm wall |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.chart,
            r.overlay_binary.cell(),
            r.overlay_cpu.cell(),
            r.helm_binary_wall.cell(),
            r.helm_binary_cpu.cell(),
            ratio(r.overlay_cpu.median(), r.helm_binary_cpu.median()),
            ratio(r.overlay_binary.median(), r.helm_binary_wall.median()),
        ));
    }
    out.push_str(
        "\nhelm template: the real Helm v4.1.4 binary (`.tools/helm-v4.1.4/helm template release CHART.tgz`), a \
         process like the overlay; CPU is user+sys as `/usr/bin/time` reports it (10 ms resolution). Targets \
         (issue 12): overlay/helm CPU at most 1.0x, wall at most 0.5x.\n\n",
    );
    out.push_str(
        "| chart | overlay ms | untar ms | helm render ms | overlay/untar | helm/overlay | overlay in-process ms | \
         images moved | on registry in Helm's render |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} ({} files) | {} | {} | {} | {} | {} | {} | {} of {} | {} of {} |\n",
            r.chart,
            r.files,
            r.overlay_binary.cell(),
            r.untar.cell(),
            r.helm.cell(),
            ratio(r.overlay_binary.median(), r.untar.median()),
            ratio(r.helm.median(), r.overlay_binary.median()),
            r.overlay_library.cell(),
            r.moved,
            r.sites,
            r.on_mirror,
            r.rendered,
        ));
    }
    let runs: Vec<String> = rows
        .iter()
        .map(|r| {
            let counts = [&r.overlay_binary, &r.untar, &r.helm, &r.overlay_library].map(|s| s.runs().to_string());
            format!("{} {}", r.chart, counts.join("/"))
        })
        .collect();
    out.push_str(&format!(
        "\nEach cell: median (min) in ms of up to {} runs or {}, after {} warm-up run(s); runs per column \
         (overlay/untar/helm/in-process): {}. Ratios are of medians. Targets (issue 2): overlay/untar at \
         most 2x, helm/overlay at least 10x.\n\n\
         - overlay: the release binary as a process, `helm-retarget overlay CHART.tgz --registry {registry} -o \
         FILE`, its stderr (moves table and values diff) captured.\n\
         - untar: `sh -c 'gzip -dc CHART.tgz | tar -x -C DIR'` into a fresh directory each run.\n\
         - helm render: `Chart.load` + `render` with the chart's defaults in helm-python-sdk (Helm's Go \
         engine), timed inside one Python process, so interpreter and engine start-up are not counted.\n\
         - overlay in-process: the library, `commands::load_chart` + `plan::plan` + `overlay::to_yaml`.\n\
         - images moved: the plan's image sites it moved; on registry: `image:` fields of the Helm render \
         with the binary's overlay that start with `{registry}/` (not timed).\n\
         - Machine: {} CPU(s) available to the process.\n",
        repeat.max_runs,
        seconds(repeat.budget),
        repeat.warmup,
        runs.join(", "),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    ));
    out
}

fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", d.as_secs_f64())
    } else {
        format!("{} ms", ms(d))
    }
}
