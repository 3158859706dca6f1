//! `mirror`: the copy plan for charts and rendered manifests, as a list, a script or a bundle.

use std::path::Path;

use crate::cli::{self, Input};
use crate::diagnostic::{Code, Diagnostic};
use crate::discover;
use crate::error::{Error, Result};
use crate::mapping::RegistryMapping;
use crate::mirror::{MirrorPlan, MirrorSite};
use crate::values::{Map, Value};
use crate::{report, rewrite, source};

use super::common::{add_scan, for_each_chart, load_chart, report_unrendered, user_values};
use super::Outcome;

/// Every image of a rendered manifest stream (`--from-manifests`) as mirror-plan entries.
fn add_manifests(plan: &mut MirrorPlan, input: &Input, mapping: &RegistryMapping) -> Result<()> {
    // Streamed one document at a time, as verify reads: memory stays bounded by the largest document.
    let mut fields = Vec::new();
    let mut keep = |field| fields.push(field);
    let rules = rewrite::Rules::default();
    rewrite::find_images_in(input.open()?, rules, &mut keep).map_err(|e| e.at(input.name()))?;
    for field in fields {
        for reference in field.references() {
            plan.add(
                &reference,
                mapping,
                MirrorSite {
                    chart: field.source.clone().unwrap_or_else(|| input.name()),
                    values_path: None,
                    location: format!("{} {}", field.object(), field.field_path),
                    disabled: false,
                },
            );
        }
    }
    Ok(())
}

/// The copy plan for charts and/or rendered manifests, in the chosen format.
pub fn mirror(args: &cli::Mirror) -> Result<Outcome> {
    let mapping = &args.mapping;
    let user = user_values(&args.values)?;
    let mut plan = MirrorPlan::new();
    let (mut scans, mut errored) = for_each_chart(&args.charts, &args.render.kube_version, |chart| {
        Ok(discover::scan(&chart, &user, &args.render))
    });
    // An operand chart is installed by the operator with its own defaults (plus what the operator
    // merges in, which moves no image to a new source).
    let empty = Value::Map(Map::new());
    let (operand_scans, operand_errors) = for_each_chart(&args.operands, &args.render.kube_version, |chart| {
        Ok(discover::scan(&chart, &empty, &args.render))
    });
    scans.extend(operand_scans);
    errored |= operand_errors;
    let mut verdict = Outcome::Success;
    for scan in &scans {
        let v = report_unrendered(&scan.chart, &scan.unrendered, "mirror plan", args.allow_incomplete);
        verdict = verdict.and(v);
        if v != Outcome::Errored {
            add_scan(&mut plan, scan, mapping);
        }
    }
    for input in &args.from_manifests {
        if let Err(e) = add_manifests(&mut plan, input, mapping) {
            report::error(&e);
            errored = true;
        }
    }
    mapping.check_collisions(plan.images().iter().map(|i| &i.source))?;
    let options = copy_options(args)?;
    if let (None, crate::mirror::Format::Bundle, Some(dir)) = (&args.template, args.format, &args.output) {
        write_bundle(&plan, &options, dir)?;
    } else {
        let text = match &args.template {
            Some(file) => {
                let name = file.name();
                let bytes = file.read("template")?;
                plan.render_template(source::utf8(&bytes, &name)?, &name, &options)?
            }
            None => plan.render_with_options(args.format, &options)?,
        };
        match &args.output {
            Some(file) if args.template.is_none() && args.format.is_script() => {
                report::write_script_atomically(file, text.as_bytes())?;
            }
            Some(file) => report::write_atomically(file, text.as_bytes())?,
            None => report::data(text.as_bytes())?,
        }
    }
    if let Some(warning) = args.format.platform_warning(&options) {
        report::warning(&Diagnostic::new(Code::PlatformFilterChangesDigest, warning));
    }
    report::note(&format!(
        "helm-retarget: {} image(s) to copy, {} excluded, {} already on the target",
        plan.images().len(),
        plan.excluded().len(),
        plan.already_on_destination().len()
    ));
    Ok(if errored { verdict.and(Outcome::Errored) } else { verdict })
}

/// `--platform`, `--with-referrers` and the chart archive (its name and version read from it,
/// so a file that is not a chart fails here, not in `helm push`).
fn copy_options(args: &cli::Mirror) -> Result<crate::mirror::CopyOptions> {
    let chart = match &args.chart_archive {
        None => None,
        Some(cli::ChartArchive { archive, destination }) => {
            let chart = load_chart(archive)?;
            Some(crate::mirror::ChartArchive {
                archive: archive.arg(),
                name: chart.metadata.name.clone(),
                version: chart.metadata.version.clone(),
                destination: destination.clone(),
            })
        }
    };
    Ok(crate::mirror::CopyOptions { platforms: args.platforms.clone(), with_referrers: args.with_referrers, chart })
}

/// `--format bundle -o DIR` (the config makes sure of the directory): both scripts rendered
/// before either is written, each written atomically.
fn write_bundle(plan: &MirrorPlan, options: &crate::mirror::CopyOptions, dir: &Path) -> Result<()> {
    let scripts = plan.render_bundle(options)?;
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::coded(Code::OutputUnwritable, format!("cannot create the directory: {e}")).at(dir.display().to_string())
    })?;
    for (name, text) in &scripts {
        report::write_script_atomically(&dir.join(name), text.as_bytes())?;
    }
    report::note(&format!(
        "helm-retarget: wrote {} and {}",
        dir.join(scripts[0].0).display(),
        dir.join(scripts[1].0).display()
    ));
    Ok(())
}
