//! The commands: load the inputs, run the pipeline, hand the results to `report`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::chart::{self, Chart};
use crate::cli::{Outcome, OverlayArgs, ScanArgs, ScanFormat};
use crate::discover::{self, Scan};
use crate::error::{Context, Error, Result};
use crate::plan::{self, Outcome as Move, RetargetPlan};
use crate::values::{coalesce, Value};
use crate::{diff, overlay, report, source, yaml};

/// Reads a CHART argument into a chart tree.
pub fn load_chart(arg: &str) -> Result<Chart> {
    let files = source::read(arg)?;
    chart::load(&files)
}

/// `-f` values files, coalesced in order like `helm -f a.yaml -f b.yaml`.
pub fn user_values(files: &[PathBuf]) -> Result<Value> {
    let mut values = Value::Map(Default::default());
    for file in files {
        let text = std::fs::read_to_string(file).context(file.display())?;
        values = coalesce(&values, &yaml::parse_values(&text, &file.display().to_string())?);
    }
    Ok(values)
}

/// Runs `each` on every chart argument; a bad chart is reported and the rest still run.
fn for_each_chart<T>(charts: &[String], mut each: impl FnMut(&str, Chart) -> Result<T>) -> (Vec<T>, bool) {
    let mut out = Vec::new();
    let mut errored = false;
    for arg in charts {
        match load_chart(arg).and_then(|c| each(arg, c)) {
            Ok(t) => out.push(t),
            Err(e) => {
                report::error(&e);
                errored = true;
            }
        }
    }
    (out, errored)
}

pub fn scan(args: &ScanArgs) -> Result<Outcome> {
    let user = user_values(&args.values)?;
    let (scans, errored) = for_each_chart(&args.charts, |_, chart| Ok(discover::scan(&chart, &user)));
    for s in &scans {
        for u in &s.unrendered {
            report::warning(&format!(
                "{}: {}: not rendered, its images are not listed (the post-renderer still moves them): {}",
                s.chart, u.template, u.error
            ));
        }
    }
    let text = match args.format {
        ScanFormat::Table => scan_table(&scans),
        ScanFormat::Json => serde_json::to_string_pretty(&scans).map_err(|e| Error::new(e.to_string()))? + "\n",
    };
    report::data(text.as_bytes())?;
    Ok(if errored { Outcome::Errored } else { Outcome::Success })
}

/// The scan as an aligned table, one image site a row.
pub fn scan_table(scans: &[Scan]) -> String {
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
            let keys = if site.keys.is_empty() { "-".to_string() } else { site.keys.join(", ") };
            rows.push([
                chart,
                keys,
                site.shape.to_string(),
                site.reference.clone(),
                site.global_registry.to_string(),
                format!("{} {}", site.id.object, site.id.field),
            ]);
        }
    }
    table(&rows)
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
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

pub fn overlay(args: &OverlayArgs) -> Result<Outcome> {
    let mapping = args.target.mapping()?;
    let user = user_values(&args.values)?;
    let several = args.charts.len() > 1;
    let (plans, errored) = for_each_chart(&args.charts, |_, chart| Ok(plan::plan(&chart, &user, &mapping, &args.pull_secrets)));
    let color = diff::stderr_wants_color();
    let mut stale = false;
    for p in &plans {
        for w in &p.warnings {
            report::warning(&format!("{}: {w}", p.chart));
        }
        let text = overlay::to_yaml(p);
        report::note(&moves_table(p));
        let before = yaml::to_string(&p.effective_before);
        let after = yaml::to_string(&p.effective_after);
        report::note(&diff::unified(&before, &after, "values (defaults)", "values (with overlay)", color));
        match (&args.output, &args.check) {
            (Some(out), _) => report::write_atomically(&target_file(out, &p.chart, several), text.as_bytes())?,
            (None, Some(check)) => {
                let file = target_file(check, &p.chart, several);
                let current = std::fs::read_to_string(&file).unwrap_or_default();
                if current == text {
                    report::note(&format!("{}: overlay is current", file.display()));
                } else {
                    stale = true;
                    report::note(&format!(
                        "{}: overlay is stale; regenerate it with `helm-retarget overlay ... -o {}`",
                        file.display(),
                        file.display()
                    ));
                    report::note(&diff::unified(&current, &text, &file.display().to_string(), "regenerated", color));
                }
            }
            (None, None) => report::data(overlay::join(std::slice::from_ref(&text)).as_bytes())?,
        }
    }
    Ok(if errored {
        Outcome::Errored
    } else if stale {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// `-o FILE` for one chart; for several, FILE is a directory of `<chart>.yaml`.
fn target_file(out: &Path, chart: &str, several: bool) -> PathBuf {
    if several {
        out.join(format!("{}.yaml", chart.replace(' ', "")))
    } else {
        out.to_path_buf()
    }
}

/// Every image before -> after with its values path, for people (stderr).
pub fn moves_table(plan: &RetargetPlan) -> String {
    let mut rows = vec![["VALUES".to_string(), "BEFORE".to_string(), "AFTER".to_string(), "HOW".to_string()]];
    for m in &plan.moves {
        let how = match &m.outcome {
            Move::Moved { keys } => format!("overlay: {}", keys.join(", ")),
            Move::AlreadyThere => "already on the target".to_string(),
            Move::Excluded => "excluded by the mapping".to_string(),
            Move::PostRenderOnly { reason } => format!("post-renderer only: {reason}"),
        };
        let keys = if m.keys.is_empty() { format!("({} {})", m.site.object, m.site.field) } else { m.keys.join(", ") };
        let after = match &m.outcome {
            Move::PostRenderOnly { .. } => m.destination.clone().unwrap_or_default() + " (post-render)",
            _ => m.rendered.clone(),
        };
        rows.push([keys, m.source.clone(), after, how]);
    }
    format!("{}:\n{}", plan.chart, table(&rows))
}

pub fn post_render(_args: &crate::cli::PostRenderArgs) -> Result<Outcome> {
    Err(Error::new("post-render is being integrated"))
}

pub fn verify(_args: &crate::cli::VerifyArgs) -> Result<Outcome> {
    Err(Error::new("verify is being integrated"))
}

pub fn mirror(_args: &crate::cli::MirrorArgs) -> Result<Outcome> {
    Err(Error::new("mirror is being integrated"))
}

pub fn diff(_args: &crate::cli::DiffArgs) -> Result<Outcome> {
    Err(Error::new("diff is being integrated"))
}
