//! `relocate`: a copy of the chart archive whose own values move every image.

use crate::chart;
use crate::cli::{self, Output};
use crate::diagnostic::{Code, Diagnostic};
use crate::error::{Error, Result};
use crate::plan::{self, Outcome as Move};
use crate::report;

use super::common::{
    check_kube_version, check_overlay_schema, check_schema, moves_table, report_unrendered, text_images_left,
    user_values,
};
use super::Outcome;

/// `relocate`: plans the overlay, refuses an incomplete one, writes it into a copy of the chart.
pub fn relocate(args: &cli::Relocate) -> Result<Outcome> {
    let mapping = &args.mapping;
    let user = user_values(&args.values)?;
    let files = args.chart.read_chart()?;
    let chart = chart::load(&files)?;
    check_kube_version(&chart, &args.render.kube_version)?;
    let lock = args.pin_digests.as_deref().map(crate::lock::ImagesLock::from_file).transpose()?;
    check_schema(&chart, &user)?;
    let p = plan::plan(&chart, &user, mapping, &args.pull_secrets, &args.render)?;
    let p = match &lock {
        Some(lock) => crate::pin::pin_digests(p, &chart, &user, lock, &args.render)?,
        None => p,
    };
    // The relocated defaults are the overlay: a key the schema refuses would break every install.
    check_overlay_schema(&chart, &user, &p)?;
    let verdict = report_unrendered(&p.chart, &p.unrendered, "relocated chart", args.allow_incomplete);
    if verdict != Outcome::Success {
        return Ok(verdict);
    }
    for w in &p.warnings {
        report::warning(&w.clone().at(&p.chart));
    }
    report::note(&moves_table(&p));
    let unmovable: Vec<String> = p
        .moves
        .iter()
        .filter(|m| matches!(m.outcome, Move::PostRenderOnly { .. }))
        .map(|m| format!("{} ({} {})", m.source, m.site.object, m.site.field))
        .collect();
    if !unmovable.is_empty() {
        let list = unmovable.join(", ");
        if !args.allow_incomplete {
            return Err(Error::coded(Code::RelocateNeedsPostRender, format!(
                "no values key moves {} image(s), so the relocated chart would still pull them from their source: {list}",
                unmovable.len()
            ))
            .at(&p.chart)
            .hint("install this chart with `helm-retarget post-render`, or pass --allow-incomplete to relocate the rest"));
        }
        report::warning(
            &Diagnostic::new(
                Code::RelocatedLeavesImages,
                format!("left on their source registry (accepted with --allow-incomplete): {list}"),
            )
            .at(&p.chart),
        );
    }
    for idle in &p.idle_images {
        report::warning(
            &Diagnostic::new(
                Code::IdleImage,
                format!(
                    "{} ({}) is not rendered with these values, so it is not moved",
                    idle.reference, idle.values_path
                ),
            )
            .at(&p.chart),
        );
    }
    // As for images no values key moves (HR041): refused, nothing written, unless accepted.
    if let Some(e) = text_images_left(&p.chart, &p.text_images, "relocated chart", args.allow_incomplete) {
        return Err(e.hint(
            "mirror them and set the text through the values key that holds it, or pass --allow-incomplete to \
             relocate the rest",
        ));
    }
    let labels = crate::relocate::Labels {
        build_suffix: args.build_suffix.clone(),
        dependency_repository: args.dependency_repository.clone(),
    };
    let relocated = crate::relocate::relocate(&files, &chart, &p, &labels)?;
    for file in &relocated.reserialised {
        report::warning(
            &Diagnostic::new(
                Code::ValuesRewritten,
                format!("{file} could not be edited in place and was written anew: its comments are not kept"),
            )
            .at(&p.chart),
        );
    }
    match &args.output {
        Output::Stdout => report::data(&relocated.archive)?,
        Output::File(file) => {
            report::write_atomically(file, &relocated.archive)?;
            report::note(&format!("{}: relocated chart {} written to {}", p.chart, relocated.version, file.display()));
        }
    }
    Ok(Outcome::Success)
}
