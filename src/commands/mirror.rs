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
    let (mut scans, mut errored) = for_each_chart(&args.charts, |chart| Ok(discover::scan(&chart, &user)));
    // An operand chart is installed by the operator with its own defaults (plus what the operator
    // merges in, which moves no image to a new source).
    let empty = Value::Map(Map::new());
    let (operand_scans, operand_errors) = for_each_chart(&args.operands, |chart| Ok(discover::scan(&chart, &empty)));
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
    if args.template.is_none() && args.format == crate::mirror::Format::Bundle {
        write_bundle(&plan, &options, args.output.as_deref())?;
    } else {
        let text = match &args.template {
            Some(file) => {
                let name = file.display().to_string();
                let bytes = source::read_input_file(file, "template")?;
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
        Some(cli::ChartArchive { archive: input, destination }) => {
            let archive = input.arg();
            // `helm push` takes a packaged chart, and the scripts name it by its path.
            if matches!(input, Input::Stdin) || Path::new(&archive).is_dir() {
                return Err(Error::new("helm push takes a chart archive (.tgz), not a directory or stdin")
                    .at(format!("--chart-archive {archive}"))
                    .hint("package it first: `helm package DIR`, or `helm-retarget relocate CHART -o OUT.tgz`"));
            }
            let chart = load_chart(&archive)?;
            let Some(destination) = destination.clone() else {
                return Err(Error::new("no place for the chart archive: --mapping names no single registry")
                    .at("--chart-archive")
                    .hint("pass --chart-destination oci://HOST/PATH (or --registry)"));
            };
            if !destination.starts_with("oci://") || destination.len() <= "oci://".len() {
                return Err(Error::new(format!("{destination:?} is not an OCI registry address"))
                    .at("--chart-destination")
                    .hint("write oci://HOST[:PORT][/PATH], as `helm push` takes it"));
            }
            Some(crate::mirror::ChartArchive {
                archive,
                name: chart.metadata.name.clone(),
                version: chart.metadata.version.clone(),
                destination,
            })
        }
    };
    Ok(crate::mirror::CopyOptions { platforms: args.platforms.clone(), with_referrers: args.with_referrers, chart })
}

/// `--format bundle -o DIR`: both scripts rendered before either is written, each written
/// atomically.
fn write_bundle(plan: &MirrorPlan, options: &crate::mirror::CopyOptions, dir: Option<&Path>) -> Result<()> {
    let Some(dir) = dir else {
        return Err(Error::new("--format bundle writes two scripts, save.sh and load.sh")
            .at("--format bundle")
            .hint("name the directory to write them to with -o DIR"));
    };
    let scripts = plan.render_bundle(options)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::new(format!("cannot create the directory: {e}")).at(dir.display().to_string()))?;
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
