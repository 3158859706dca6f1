//! Reviewed snapshots of what users read: the scan table and the overlay of every fixture, and the
//! people-facing diff. A change to any of them shows up in review as a snapshot diff.

use crate::cli::helm_retarget;
use crate::fixtures::fixture_charts;
use crate::overlay_e2e::MIRROR;

fn name_of(chart: &std::path::Path) -> String {
    chart.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn scan_tables() {
    for chart in fixture_charts() {
        // Its stderr (the warnings) is pinned by the stderr snapshots.
        let out = helm_retarget(&["scan"]).arg(&chart).output();
        out.status(0);
        insta::assert_snapshot!(format!("scan-{}", name_of(&chart)), out.stdout);
    }
}

#[test]
fn overlays() {
    for chart in fixture_charts() {
        let out = helm_retarget(&["overlay", "--registry", MIRROR])
            .arg(&chart)
            .accepting_text_images(&chart)
            .status(0)
            .stderr_notes()
            .run();
        insta::assert_snapshot!(format!("overlay-{}", name_of(&chart)), out.stdout);
    }
}
