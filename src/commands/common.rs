//! What several commands share: loading charts and the user's values, the schema checks, reporting
//! templates that did not render, and the tables printed for people.

use std::fmt::Write as _;

use crate::chart::{self, Chart};
use crate::cli::{Input, Values};
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::{Scan, TextImage, Unrendered};
use crate::error::{Error, Result};
use crate::mapping::RegistryMapping;
use crate::mirror::{MirrorPlan, MirrorSite};
use crate::plan::{self, Outcome as Move, RetargetPlan};
use crate::reference::Reference;
use crate::strvals::{self, Mode};
use crate::values::{join_paths, Map, Value, ValuesPath};
use crate::{report, source, yaml};

use super::Outcome;

/// Reads a CHART argument (a .tgz on stdin, an archive or a directory) into a chart tree.
pub fn load_chart(input: &Input) -> Result<Chart> {
    chart::load(&input.read_chart()?)
}

/// The user's values as Helm builds them from its flags (`pkg/cli/values` MergeValues): values
/// files merged in order, then `--set-json`, `--set`, `--set-string`, `--set-file`, `--set-literal` lines parsed
/// into the result. A `null` stays in it: coalescing over the chart's defaults deletes that key.
pub fn user_values(args: &Values) -> Result<Value> {
    let mut base = Map::new();
    for file in &args.files {
        let name = file.arg();
        let bytes = file.read("values file")?;
        if let Value::Map(map) = yaml::parse_values(source::utf8(&bytes, &name)?, &name)? {
            base = yaml::merge_maps(base, map);
        }
    }
    for line in &args.set_json {
        let trimmed = line.trim();
        if trimmed.starts_with('{') {
            let json: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| {
                Error::coded(Code::ValuesFlagInvalid, format!("failed parsing --set-json data JSON: {line}: {e}"))
            })?;
            if let Value::Map(map) = strvals::from_json(&json) {
                base = yaml::merge_maps(base, map);
            }
        } else {
            strvals::parse_into(line, &mut base, Mode::Json).map_err(|e| {
                Error::coded(Code::ValuesFlagInvalid, format!("failed parsing --set-json data {line}: {e}"))
            })?;
        }
    }
    for (flag, lines, mode) in [("--set", &args.set, Mode::Typed), ("--set-string", &args.set_string, Mode::String)] {
        for line in lines {
            strvals::parse_into(line, &mut base, mode)
                .map_err(|e| Error::coded(Code::ValuesFlagInvalid, format!("failed parsing {flag} data: {e}")))?;
        }
    }
    let read_file = |path: &str| -> std::result::Result<Value, String> {
        let bytes = Input::new(path).read("--set-file file").map_err(|e| e.to_string())?;
        let text = source::utf8(&bytes, path).map_err(|e| e.to_string())?;
        Ok(Value::String(text.to_string()))
    };
    for line in &args.set_file {
        strvals::parse_into(line, &mut base, Mode::File(&read_file))
            .map_err(|e| Error::coded(Code::ValuesFlagInvalid, format!("failed parsing --set-file data: {e}")))?;
    }
    for line in &args.set_literal {
        strvals::parse_into(line, &mut base, Mode::Literal)
            .map_err(|e| Error::coded(Code::ValuesFlagInvalid, format!("failed parsing --set-literal data: {e}")))?;
    }
    Ok(Value::Map(base))
}

/// Helm's install action refuses a chart whose `kubeVersion` range misses the cluster's version
/// (only the chart being installed is checked, not its subcharts), as `helm template` does for the
/// version it renders for. Every command that renders a chart renders for `kube_version` (its
/// `--kube-version`, else the version Helm 4.2 assumes) and checks it here.
pub(super) fn check_kube_version(chart: &Chart, kube_version: &str) -> Result<()> {
    let required = chart.metadata.document.get(&ValuesPath::parse("kubeVersion")).and_then(yaml::go_string);
    match required.filter(|r| !r.is_empty()) {
        Some(range) if !crate::semver::in_range(&range, kube_version) => {
            let error = Error::coded(
                Code::KubeVersionIncompatible,
                format!("chart requires kubeVersion: {range} which is incompatible with Kubernetes {kube_version}"),
            )
            .at(chart.display_path());
            Err(if kube_version == crate::render::KUBE_VERSION {
                error.hint(format!(
                    "without --kube-version, charts are rendered for Kubernetes {kube_version} (the version Helm 4.2 \
                     assumes): pass the cluster's version with --kube-version V"
                ))
            } else {
                error
            })
        }
        _ => Ok(()),
    }
}

/// Helm checks the merged values against every enabled chart's values.schema.json before it
/// renders; so does every command that renders with the user's values (exit 2, Helm's message).
pub(super) fn check_schema(chart: &Chart, user: &Value) -> Result<()> {
    if !crate::schema::applies(chart) {
        return Ok(());
    }
    crate::schema::validate(chart, &chart::effective_values(chart, user))
}

/// An overlay key the chart's schema refuses would break the user's install (`-f overlay.yaml`
/// fails validation): refuse to write it, naming each key and the schema rule.
pub(super) fn check_overlay_schema(chart: &Chart, user: &Value, plan: &RetargetPlan) -> Result<()> {
    if !crate::schema::applies(chart) {
        return Ok(());
    }
    let (Some(user_map), Some(overlay_map)) = (user.as_map(), plan.overlay.as_map()) else { return Ok(()) };
    let with_overlay = Value::Map(yaml::merge_maps(user_map.clone(), overlay_map.clone()));
    let found = crate::schema::violations(chart, &chart::effective_values(chart, &with_overlay))?;
    // The user's values passed `check_schema` first, so every violation here is the overlay's, also
    // one at a path no overlay key names (`if`/`then`, `dependentRequired`, a rule on a parent):
    // none is dropped. Each is named by the overlay key under or above its path, else by its path.
    if found.is_empty() {
        return Ok(());
    }
    let keys = plan::leaf_paths(&plan.overlay);
    let mut message = String::from(
        "the chart's values.schema.json refuses the overlay, so `helm install -f overlay.yaml` would fail:\n",
    );
    for v in &found {
        let key = keys.iter().find(|k| k.starts_with(&v.path) || v.path.starts_with(k)).map(ToString::to_string);
        let place = key.unwrap_or_else(|| {
            if v.path.is_root() {
                "the values as a whole".to_string()
            } else {
                format!("values at {}", v.path)
            }
        });
        let _ = writeln!(message, "  {place} (chart {}): {}", v.chart, v.message);
    }
    Err(Error::coded(Code::SchemaRefusesOverlay, message.trim_end().to_string()).at(chart.display_path()).hint(
        "no values key the schema allows moves these images: move them at install time with the post-renderer \
         (`helm-retarget post-render`), or exclude their registry with --mapping",
    ))
}

/// Reports the templates of `chart` that did not render, and says what that means for the
/// `result` (overlay, scan, mirror plan). Returns `Errored` when Helm refuses these values too,
/// `Incomplete` when images may be missing (unless the user accepts that), else `Success`.
pub(super) fn report_unrendered(
    chart: &str,
    unrendered: &[Unrendered],
    result: &str,
    allow_incomplete: bool,
) -> Outcome {
    if let Some(refused) = unrendered.iter().find(|u| u.fails_in_helm) {
        report::error(&Error::coded(Code::HelmRefusesValues, refused.error.clone()).at(chart).hint(
            "Helm refuses these values the same way (`helm template` fails): give the value the chart asks for \
             with -f or --set",
        ));
        return Outcome::Errored;
    }
    if unrendered.is_empty() {
        return Outcome::Success;
    }
    for u in unrendered {
        let mut text = format!("did not render: {}", u.error);
        for image in &u.missing_images {
            text.push_str(&format!("\n  may be missing: {} ({})", image.reference, image.values_path));
        }
        report::warning(&Diagnostic::new(Code::TemplateNotRendered, text).at(&u.template).at(chart));
    }
    let count = unrendered.len();
    if allow_incomplete {
        report::warning(
            &Diagnostic::new(
                Code::IncompleteAccepted,
                format!(
                    "the {result} is incomplete ({count} template(s) did not render); accepted with --allow-incomplete"
                ),
            )
            .at(chart),
        );
        Outcome::Success
    } else {
        report::error(
            &Error::coded(
                Code::Incomplete,
                format!("the {result} is incomplete: {count} template(s) did not render, so images they hold may be missing"),
            )
            .at(chart),
        );
        Outcome::Incomplete
    }
}

/// Images named in ConfigMap text that neither the overlay nor the post-renderer moves: an overlay
/// that quietly misses one image is worse than an error. Without `allow_incomplete` this is an
/// error listing them (the caller decides what it means for its result); with it, each is a warning.
pub(super) fn text_images_left(
    chart: &str,
    images: &[TextImage],
    result: &str,
    allow_incomplete: bool,
) -> Option<Error> {
    if images.is_empty() {
        return None;
    }
    if allow_incomplete {
        for text in images {
            report::warning(
                &Diagnostic::new(
                    Code::ImageInText,
                    format!(
                        "{} is named in {} text, which neither values nor the post-renderer move (accepted with \
                         --allow-incomplete)",
                        text.reference, text.location
                    ),
                )
                .at(chart),
            );
        }
        return None;
    }
    let mut message = format!(
        "the {result} does not move {} image(s) named in ConfigMap text, which neither values nor the post-renderer \
         move:",
        images.len()
    );
    for text in images {
        let _ = write!(message, "\n  {} ({}, {})", text.reference, text.location, text.template);
    }
    Some(Error::coded(Code::TextImagesStayBehind, message).at(chart))
}

/// Runs `each` on every chart argument whose `kubeVersion` range holds `kube_version`; a bad chart
/// is reported and the rest still run.
pub(super) fn for_each_chart<T>(
    charts: &[Input],
    kube_version: &str,
    mut each: impl FnMut(Chart) -> Result<T>,
) -> (Vec<T>, bool) {
    let mut out = Vec::new();
    let mut errored = false;
    for input in charts {
        match load_chart(input).and_then(|c| check_kube_version(&c, kube_version).map(|()| c)).and_then(&mut each) {
            Ok(t) => out.push(t),
            Err(e) => {
                report::error(&e);
                errored = true;
            }
        }
    }
    (out, errored)
}

pub(super) fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Every image before -> after with its values path, for people (stderr).
pub fn moves_table(plan: &RetargetPlan) -> String {
    let mut rows = vec![["VALUES".to_string(), "BEFORE".to_string(), "AFTER".to_string(), "HOW".to_string()]];
    for m in &plan.moves {
        let how = match &m.outcome {
            Move::Moved { keys } => format!("overlay: {}", join_paths(keys, ", ")),
            Move::AlreadyThere => "already on the target".to_string(),
            Move::Excluded => "excluded by the mapping".to_string(),
            Move::PostRenderOnly { reason } => format!("post-renderer only: {reason}"),
        };
        let keys =
            if m.keys.is_empty() { format!("({} {})", m.site.object, m.site.field) } else { join_paths(&m.keys, ", ") };
        let after = match &m.outcome {
            Move::PostRenderOnly { .. } => {
                m.destination.as_ref().map(ToString::to_string).unwrap_or_default() + " (post-render)"
            }
            _ => m.rendered.clone(),
        };
        rows.push([keys, m.source.to_string(), after, how]);
    }
    // One row per distinct move: a sidecar image used by six pods is one line, not six.
    let mut seen = std::collections::BTreeSet::new();
    rows.retain(|row| seen.insert(row.clone()));
    format!("{}:\n{}", plan.chart, table(&rows))
}

/// Every image site of `scan` as mirror-plan entries: one per image (an image-config `base` adds
/// each component it composes).
pub(super) fn add_scan(plan: &mut MirrorPlan, scan: &Scan, mapping: &RegistryMapping) {
    for site in &scan.sites {
        let references: Vec<&str> = if site.components.is_empty() {
            vec![site.reference.as_str()]
        } else {
            site.components.iter().map(String::as_str).collect()
        };
        for text in references {
            let Ok(reference) = Reference::parse(text) else { continue };
            plan.add(
                &reference,
                mapping,
                MirrorSite {
                    chart: site.chart.clone(),
                    values_path: site.keys.first().cloned(),
                    location: format!("{} {}", site.id.object, site.id.field),
                    disabled: site.disabled.is_some(),
                },
            );
        }
    }
}
