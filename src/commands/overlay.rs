//! `overlay`: the values overlay that moves every image, written, printed or checked (`--check`).

use std::path::{Path, PathBuf};

use crate::chart::Chart;
use crate::cli;
use crate::diagnostic::Code;
use crate::error::{Error, Result};
use crate::values::{Map, Value};
use crate::{diff, overlay, plan, report, source, yaml};

use super::common::{
    check_overlay_schema, check_schema, for_each_chart, load_chart, moves_table, report_unrendered, text_images_left,
    user_values,
};
use super::Outcome;

pub fn overlay(args: &cli::Overlay) -> Result<Outcome> {
    let mapping = &args.mapping;
    let user = user_values(&args.values)?;
    let several = args.charts.len() > 1;
    let operands: Vec<(String, Chart)> = args
        .operands
        .iter()
        .map(|(name, arg)| load_chart(arg).map(|c| (name.clone(), c)).map_err(|e| e.at(format!("--operand {name}"))))
        .collect::<Result<_>>()?;
    let lock = args.pin_digests.as_deref().map(crate::lock::ImagesLock::from_file).transpose()?;
    let (plans, errored) = for_each_chart(&args.charts, &args.render.kube_version, |chart| {
        check_schema(&chart, &user).map_err(|e| e.at(chart.display_path()))?;
        let operator = plan::plan(&chart, &user, mapping, &args.pull_secrets, &args.render)?;
        let operator = match &lock {
            Some(lock) => crate::pin::pin_digests(operator, &chart, &user, lock, &args.render)?,
            None => operator,
        };
        // After pinning: a digest key the chart's schema refuses must not reach the overlay.
        check_overlay_schema(&chart, &user, &operator)?;
        if operands.is_empty() {
            return Ok(operator);
        }
        let (operator, found) =
            plan::with_operands(operator, &chart, &user, &operands, mapping, &args.pull_secrets, &args.render)?;
        // The operand overlays are now keys of the operator's overlay (its schema sees them), and
        // the operator passes them to each operand chart, whose schema must accept them too: the
        // values at the operand's map (the user's and the overlay's) over the operand's defaults.
        check_overlay_schema(&chart, &user, &operator)?;
        for operand in &found {
            let Some((_, operand_chart)) = operands.iter().find(|(name, _)| *name == operand.name) else { continue };
            let effective = crate::chart::effective_values(&chart, &user);
            let passed = effective.get(&operand.values_path).filter(|v| v.as_map().is_some()).cloned();
            let passed = passed.unwrap_or_else(|| Value::Map(Map::new()));
            check_schema(operand_chart, &passed)
                .and_then(|()| check_overlay_schema(operand_chart, &passed, &operand.plan))
                .map_err(|e| e.at(format!("--operand {}", operand.name)))?;
        }
        for operand in &found {
            report::note(&format!(
                "{}: operand {} ({}): overlay under {}, rendered into {}",
                chart.display_path(),
                operand.name,
                operand.plan.chart,
                operand.values_path,
                operand.field
            ));
        }
        Ok(operator)
    });
    let color = diff::stderr_wants_color();
    let mut stale = false;
    let mut write_failed = false;
    let mut written_files = std::collections::BTreeSet::new();
    let mut to_stdout = Vec::new();
    let mut outcome = if errored { Outcome::Errored } else { Outcome::Success };
    for p in &plans {
        let verdict = report_unrendered(&p.chart, &p.unrendered, "overlay", args.allow_incomplete);
        outcome = outcome.and(verdict);
        if verdict == Outcome::Errored {
            continue;
        }
        // As for templates that did not render: the overlay is still written (its header lists
        // these images), and the exit says it is incomplete.
        if let Some(e) = text_images_left(&p.chart, &p.text_images, "overlay", args.allow_incomplete) {
            report::error(&e);
            outcome = outcome.and(Outcome::Incomplete);
        }
        for w in &p.warnings {
            report::warning(&w.clone().at(&p.chart));
        }
        let text = match overlay::to_document(p, args.format, args.name.as_deref()) {
            Ok(text) => text,
            Err(e) => {
                report::error(&e);
                outcome = outcome.and(Outcome::Errored);
                continue;
            }
        };
        report::note(&moves_table(p));
        let before = yaml::to_string(&p.effective_before);
        let after = yaml::to_string(&p.effective_after);
        report::note(&diff::unified(&before, &after, "values (defaults)", "values (with overlay)", color));
        // A chart whose overlay cannot be written or checked is reported; the others still are.
        let written = match (&args.output, &args.check) {
            (Some(out), _) => target_file(out, &p.chart, several).and_then(|file| {
                // Two charts of one name would share a file: the second would silently replace the first.
                if !written_files.insert(file.clone()) {
                    return Err(Error::coded(
                        Code::OverlayFileClash,
                        format!(
                            "another chart of this batch is also named `{}`; its overlay is in {}, this one is not \
                             written",
                            p.chart,
                            file.display()
                        ),
                    ));
                }
                report::write_atomically(&file, text.as_bytes())
            }),
            (None, Some(check)) => target_file(check, &p.chart, several).and_then(|file| {
                stale |= !check_file(&file, &text, color)?;
                Ok(())
            }),
            (None, None) => {
                to_stdout.push(text);
                Ok(())
            }
        };
        if let Err(e) = written {
            report::error(&e);
            write_failed = true;
        }
    }
    if !to_stdout.is_empty() {
        report::data(overlay::join(&to_stdout).as_bytes())?;
    }
    let outcome = if write_failed { outcome.and(Outcome::Errored) } else { outcome };
    Ok(if stale { outcome.and(Outcome::Failed) } else { outcome })
}

/// `--check FILE`: whether FILE holds the overlay `text`; when it does not, says so with the diff.
/// A missing file is an overlay not generated yet: stale, not an error.
fn check_file(file: &Path, text: &str, color: bool) -> Result<bool> {
    let current = if std::fs::metadata(file).is_err() {
        String::new()
    } else {
        let bytes = source::read_input_file(file, "overlay to check")?;
        source::utf8(&bytes, &file.display().to_string())?.to_string()
    };
    if current == text {
        report::note(&format!("{}: overlay is current", file.display()));
        return Ok(true);
    }
    report::note(&format!(
        "{}: overlay is stale; regenerate it with `helm-retarget overlay ... -o {}`",
        file.display(),
        file.display()
    ));
    report::note(&diff::unified(&current, text, &file.display().to_string(), "regenerated", color));
    Ok(false)
}

/// `-o FILE` for one chart; for several, FILE is a directory of `<chart>.yaml`. Chart names are
/// checked as Helm checks them when the chart loads; the file name is checked again here, so no
/// name can put a file outside the directory.
fn target_file(out: &Path, chart: &str, several: bool) -> Result<PathBuf> {
    if !several {
        return Ok(out.to_path_buf());
    }
    let file_name = format!("{}.yaml", chart.replace(' ', ""));
    let mut parts = Path::new(&file_name).components();
    match (parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(_)), None) => Ok(out.join(file_name)),
        _ => Err(Error::coded(
            Code::OverlayFileName,
            format!("`{file_name}` is not a plain file name; it is not written"),
        )
        .at(chart)),
    }
}
