//! `diff`: images added, removed and retagged between two versions of a chart, and the overlay's change.

use crate::cli::{self, DiffFormat, Input};
use crate::diagnostic::Code;
use crate::discover;
use crate::error::{Error, Result};
use crate::mirror::MirrorPlan;
use crate::{overlay, plan, report, source};

use super::common::{add_scan, check_kube_version, load_chart, report_unrendered, user_values};
use super::Outcome;

/// What a chart upgrade changes: images added, removed and retagged, and how the overlay changes.
pub fn diff(args: &cli::Diff) -> Result<Outcome> {
    let mapping = &args.mapping;
    let user = user_values(&args.values)?;
    let old = load_chart(&args.old)?;
    let new = load_chart(&args.new)?;
    check_kube_version(&old, &args.render.kube_version)?;
    check_kube_version(&new, &args.render.kube_version)?;
    let mut plans = [MirrorPlan::new(), MirrorPlan::new()];
    let mut verdict = Outcome::Success;
    for ((plan, chart), arg) in plans.iter_mut().zip([&old, &new]).zip([&args.old, &args.new]) {
        let scan = discover::scan(chart, &user, &args.render);
        verdict = verdict.and(report_unrendered(&arg.arg(), &scan.unrendered, "comparison", args.allow_incomplete));
        add_scan(plan, &scan, &args.plan_mapping);
    }
    if verdict == Outcome::Errored {
        return Ok(verdict);
    }
    let copy_plan = |format: crate::mirror::Format| {
        let added = plans[1].without(&plans[0]);
        report::note(&format!("diff: {} image(s) to copy that {} did not use", added.images().len(), args.old));
        added.render(format)
    };
    let changes = crate::diff::compare_images(&plans[0], &plans[1]);
    let (overlay_diff, knobs) = match mapping {
        Some(m) => {
            let (before, after) =
                (plan::plan(&old, &user, m, &[], &args.render)?, plan::plan(&new, &user, m, &[], &args.render)?);
            let knobs = crate::diff::compare_knobs((&old, &before), (&new, &after));
            let unified = crate::diff::unified(
                &overlay::to_yaml(&before),
                &overlay::to_yaml(&after),
                &format!("overlay ({})", args.old),
                &format!("overlay ({})", args.new),
                false,
            );
            (unified, Some(knobs))
        }
        None => (String::new(), None),
    };
    let text = match args.format {
        DiffFormat::List => copy_plan(crate::mirror::Format::List)?,
        DiffFormat::Skopeo => copy_plan(crate::mirror::Format::Skopeo)?,
        DiffFormat::Crane => copy_plan(crate::mirror::Format::Crane)?,
        DiffFormat::Text => {
            let mut text = changes.to_text();
            if let Some(knobs) = &knobs {
                text.push('\n');
                text.push_str(&knobs.to_text());
            }
            if !overlay_diff.is_empty() {
                text.push_str("\nOverlay:\n");
                text.push_str(&overlay_diff);
            }
            text
        }
        DiffFormat::Markdown => {
            let mut text = changes.to_markdown();
            if let Some(knobs) = &knobs {
                text.push('\n');
                text.push_str(&knobs.to_markdown());
            }
            if !overlay_diff.is_empty() {
                text.push_str("\n### Overlay\n\n```diff\n");
                text.push_str(&overlay_diff);
                text.push_str("```\n");
            }
            text
        }
        DiffFormat::Json => {
            let mut json = changes.to_json(mapping.is_some());
            if let Some(map) = json.as_object_mut() {
                map.insert("overlay_diff".to_string(), serde_json::Value::String(overlay_diff));
                if let Some(knobs) = &knobs {
                    map.insert("overlay_keys".to_string(), knobs.to_json());
                }
            }
            serde_json::to_string_pretty(&json).map_err(|e| Error::coded(Code::Internal, e.to_string()))? + "\n"
        }
    };
    report::data(text.as_bytes())?;
    match &args.mirrored {
        Some(mirrored) => Ok(verdict.and(check_mirrored(mirrored, &plans[1], &args.new)?)),
        None => Ok(verdict),
    }
}

/// `--fail-on-new-images`: `Failed`, naming them, when the new version needs images the
/// `--mirrored` list does not hold.
fn check_mirrored(mirrored: &Input, new_plan: &MirrorPlan, new: &Input) -> Result<Outcome> {
    let name = mirrored.name();
    let bytes = mirrored.read("list of mirrored images").map_err(|e| e.hint("check the path given to --mirrored"))?;
    let list = crate::diff::parse_mirrored_list(source::utf8(&bytes, &name)?, &name)?;
    let missing = crate::diff::unmirrored(new_plan, &list);
    if missing.is_empty() {
        return Ok(Outcome::Success);
    }
    report::note(&format!("{} image(s) of {new} are not mirrored yet:", missing.len()));
    for image in missing {
        report::note(&format!("  {}", image.source));
    }
    Ok(Outcome::Failed)
}
