//! YAML conformance cases against real Helm: `tests/yaml-cases/NAME.yaml` is the one template of
//! a chart; `tests/yaml-cases/bless` recorded, in NAME.helm3 and NAME.helm4, whether Helm accepts
//! it and the exact stream Helm hands to a post-renderer. Wherever Helm accepts, post-render must
//! too: every image on the mirror (by the independent walker), no other line changed.

use std::path::{Path, PathBuf};

use crate::cli::helm_retarget;
use crate::fixtures::rendered_images;
use crate::overlay_e2e::MIRROR;
use crate::post_render_e2e::{by_source, changed_lines_are_references, check_all_on_mirror};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml-cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    cases
}

/// `(accepted, bytes)`: the recorded verdict and what followed it.
fn blessed(case: &Path, helm: &str) -> (bool, Vec<u8>) {
    let path = case.with_extension(helm);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run tests/yaml-cases/bless after adding a case", path.display()));
    let split = bytes.iter().position(|&b| b == b'\n').expect("a verdict line");
    match &bytes[..split] {
        b"accepted" => (true, bytes[split + 1..].to_vec()),
        b"rejected" => (false, bytes[split + 1..].to_vec()),
        other => panic!("{}: unknown verdict {:?}", path.display(), String::from_utf8_lossy(other)),
    }
}

/// The warnings post-render gives on a case Helm accepts, as reviewed: an image read through a
/// YAML alias (HR017; Helm 4 writes merge keys out, Helm 3 keeps the alias), and image fields that
/// are empty or null, so no reference (HR018).
fn post_render_warnings(case: &str, helm: &str) -> &'static [&'static str] {
    match (case, helm) {
        ("anchors-and-aliases" | "collection-alias", _) | ("merge-keys", "helm3") => &["HR017"],
        ("empty-and-null-images", _) => &["HR018"],
        _ => &[],
    }
}

/// verify names the same fields that are no reference; it reads aliases without a warning.
fn verify_warnings(case: &str) -> &'static [&'static str] {
    if case == "empty-and-null-images" {
        &["HR018"]
    } else {
        &[]
    }
}

#[test]
fn issue_9_post_render_accepts_every_yaml_case_helm_accepts() {
    let mut failures = Vec::new();
    let mut accepted = 0;
    let mut moved = 0;
    for case in cases() {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        for helm in ["helm3", "helm4"] {
            let (ok, input) = blessed(&case, helm);
            if !ok {
                continue;
            }
            accepted += 1;
            let label = format!("{name} ({helm})");
            let out = helm_retarget(&["post-render", "--registry", MIRROR])
                .stdin(input.clone())
                .stderr_contains("helm-retarget: ")
                .diagnostics(post_render_warnings(&name, helm))
                .run();
            let input = String::from_utf8(input).expect("Helm accepted only UTF-8");
            let before = rendered_images(&by_source(&input));
            moved += before.len();
            if before.iter().any(|(_, _, image)| image.starts_with(MIRROR)) {
                failures.push(format!("{label}: an image is already on the mirror; the case proves nothing"));
            }
            // verify reads the same way: every image (aliases too) still to move before, none after.
            let verify = |stream: &str, status: i32| {
                helm_retarget(&["verify", "--registry", MIRROR, "-"])
                    .stdin(stream.as_bytes())
                    .status(status)
                    .stderr_contains("verify: ")
                    .diagnostics(verify_warnings(&name))
                    .run()
            };
            if !before.is_empty() {
                verify(&input, 1);
            }
            verify(&out.stdout, 0);
            changed_lines_are_references(&label, &input, &out.stdout, &mut failures);
            let after = by_source(&out.stdout);
            check_all_on_mirror(&label, &after, &mut failures);
            if rendered_images(&after).len() != before.len() {
                failures.push(format!("{label}: the number of images changed"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 30 cases; the counts pin what Helm v3.17.2 and v4.1.4 accepted when blessed.
    assert_eq!(cases().len(), 30);
    assert_eq!(accepted, 50, "accepted case inputs");
    assert!(moved > 50, "images checked: {moved}");
}
