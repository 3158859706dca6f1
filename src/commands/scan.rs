//! `scan`: every image site of charts as a table or JSON, and `--explain REF`.

use std::fmt::Write as _;

use crate::cli::{self, ScanFormat};
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::{self, Scan};
use crate::error::{Error, Result};
use crate::plan;
use crate::reference::Reference;
use crate::report;
use crate::values::join_paths;

use super::common::{check_schema, for_each_chart, report_unrendered, table, user_values};
use super::Outcome;

pub fn scan(args: &cli::Scan) -> Result<Outcome> {
    let user = user_values(&args.values)?;
    let (scans, errored) = for_each_chart(&args.charts, &args.render.kube_version, |chart| {
        check_schema(&chart, &user).map_err(|e| e.at(chart.display_path()))?;
        Ok(discover::scan(&chart, &user, &args.render))
    });
    for s in &scans {
        if !s.placeholders.is_empty() {
            report::note(&format!(
                "{}: rendered with placeholders for required values: {}",
                s.chart,
                s.placeholders.join(", ")
            ));
        }
        for text in &s.text_images {
            report::warning(
                &Diagnostic::new(
                    Code::ImageInText,
                    format!(
                        "{} names {} in its text; neither an overlay nor the post-renderer moves it",
                        text.location, text.reference
                    ),
                )
                .at(&s.chart),
            );
        }
        for idle in &s.idle_images {
            report::warning(
                &Diagnostic::new(
                    Code::IdleImage,
                    format!("{} holds {}, which these values do not render", idle.values_path, idle.reference),
                )
                .at(&s.chart),
            );
        }
    }
    let mut outcome = if errored { Outcome::Errored } else { Outcome::Success };
    for s in &scans {
        outcome = outcome.and(report_unrendered(&s.chart, &s.unrendered, "scan", args.allow_incomplete));
    }
    if let Some(reference) = &args.explain {
        let text = explain(&scans, reference)?;
        report::data(text.as_bytes())?;
        return Ok(if errored { Outcome::Errored } else { Outcome::Success });
    }
    let text = match args.format {
        ScanFormat::Table if scans.is_empty() => String::new(),
        ScanFormat::Table => scan_table(&scans),
        ScanFormat::Json => {
            serde_json::to_string_pretty(&scans).map_err(|e| Error::coded(Code::Internal, e.to_string()))? + "\n"
        }
    };
    report::data(text.as_bytes())?;
    Ok(outcome)
}

/// `scan --explain REF`: for each site rendering REF (or a registry setting holding the host REF),
/// the chain template -> object -> field -> values keys, and why it moves or why it cannot.
fn explain(scans: &[Scan], wanted: &str) -> Result<String> {
    let wanted_ref = Reference::parse(wanted).ok();
    let same = |text: &str| {
        text == wanted
            || match (&wanted_ref, Reference::parse(text)) {
                (Some(w), Ok(r)) => plan::same_image(w, &r),
                _ => false,
            }
    };
    let mut out = String::new();
    for s in scans {
        for site in &s.sites {
            let composes: Vec<&String> = site.components.iter().filter(|c| same(c)).collect();
            if !same(&site.reference) && composes.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{}", site.reference);
            let _ = writeln!(
                out,
                "  chart:       {}{}",
                site.chart,
                if site.disabled.is_some() { " (disabled)" } else { "" }
            );
            let _ = writeln!(out, "  template:    {}", site.id.template);
            let _ = writeln!(out, "  object:      {}", site.id.object);
            let _ = writeln!(out, "  field:       {} ({})", site.id.field, site.placement);
            let _ = writeln!(out, "  composed as: {}", site.composition);
            let keys = if site.keys.is_empty() { "none".to_string() } else { join_paths(&site.keys, ", ") };
            let _ = writeln!(
                out,
                "  values keys: {keys}{}",
                site.defined_at.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
            );
            let verdict = match site.shape {
                discover::Shape::Hardcoded => {
                    "cannot move by values: the template writes every byte; post-render rewrites it".to_string()
                }
                discover::Shape::TemplateRegistry => format!(
                    "cannot move by values: the registry part is template text ({}); post-render rewrites it",
                    site.composition
                ),
                _ => format!(
                    "moves by values: the overlay edits {} ({}); global.imageRegistry: {}",
                    site.keys.first().map_or_else(|| "-".to_string(), ToString::to_string),
                    site.shape,
                    site.global_registry
                ),
            };
            let _ = writeln!(out, "  verdict:     {verdict}");
        }
        for setting in &s.registry_settings {
            if setting.host != wanted {
                continue;
            }
            let _ = writeln!(out, "{} (registry setting)", setting.host);
            let _ = writeln!(out, "  chart:       {}", s.chart);
            let _ = writeln!(out, "  template:    {}", setting.template);
            let _ = writeln!(out, "  field:       {}", setting.location);
            let keys = if setting.keys.is_empty() { "none".to_string() } else { join_paths(&setting.keys, ", ") };
            let _ = writeln!(out, "  values keys: {keys}");
            let verdict = if setting.movable {
                "moves by values: the overlay sets that key to the mirror's host; the operator builds its images from it"
            } else {
                "cannot move by values: the template writes it; edit the rendered object"
            };
            let _ = writeln!(out, "  verdict:     {verdict}");
        }
    }
    if out.is_empty() {
        return Err(Error::coded(
            Code::NothingRendersReference,
            "no image site of the scanned charts renders this reference",
        )
        .at(wanted));
    }
    Ok(out)
}

/// The scan as an aligned table, one image site a row.
fn scan_table(scans: &[Scan]) -> String {
    let mut rows = vec![[
        "CHART".to_string(),
        "VALUES".to_string(),
        "SHAPE".to_string(),
        "REFERENCE".to_string(),
        "GLOBAL REGISTRY".to_string(),
        "RENDERED AT".to_string(),
    ]];
    for s in scans {
        for site in &s.sites {
            let chart = match &site.disabled {
                Some(_) => format!("{} (disabled)", site.chart),
                None => site.chart.clone(),
            };
            let keys = if site.keys.is_empty() { "-".to_string() } else { join_paths(&site.keys, ", ") };
            let shape = match site.placement {
                discover::Placement::PodSpec => site.shape.to_string(),
                placement => format!("{} ({placement})", site.shape),
            };
            rows.push([
                chart,
                keys,
                shape,
                site.reference.clone(),
                site.global_registry.to_string(),
                format!("{} {}", site.id.object, site.id.field),
            ]);
        }
        for setting in &s.registry_settings {
            rows.push([
                s.chart.clone(),
                if setting.keys.is_empty() { "-".to_string() } else { join_paths(&setting.keys, ", ") },
                "registry-setting".to_string(),
                setting.host.clone(),
                "-".to_string(),
                setting.location.clone(),
            ]);
        }
    }
    table(&rows)
}
