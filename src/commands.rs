//! The commands: load the inputs, run the pipeline, hand the results to `report`.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::chart::{self, Chart};
use crate::cli::{
    DiffArgs, DiffFormat, MirrorArgs, Outcome, OverlayArgs, PostRenderArgs, ScanArgs, ScanFormat, VerifyArgs,
};
use crate::discover::{self, Scan};
use crate::error::{Context, Error, Result};
use crate::mapping::RegistryMapping;
use crate::mirror::{MirrorPlan, MirrorSite};
use crate::plan::{self, Outcome as Move, RetargetPlan};
use crate::reference::Reference;
use crate::values::{coalesce, Value};
use crate::{diff, overlay, report, rewrite, source, yaml};

/// Reads a CHART argument into a chart tree.
pub fn load_chart(arg: &str) -> Result<Chart> {
    let files = source::read(arg)?;
    chart::load(&files)
}

/// `-f` values files, coalesced in order like `helm -f a.yaml -f b.yaml`.
pub fn user_values(files: &[PathBuf]) -> Result<Value> {
    let mut values = Value::Map(Default::default());
    for file in files {
        let name = file.display().to_string();
        let bytes = source::read_input_file(file, "values file")?;
        values = coalesce(&values, &yaml::parse_values(source::utf8(&bytes, &name)?, &name)?);
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
        if !s.placeholders.is_empty() {
            report::note(&format!(
                "{}: rendered with placeholders for required values: {}",
                s.chart,
                s.placeholders.join(", ")
            ));
        }
        for text in &s.text_images {
            report::warning(&format!(
                "{}: {} names {} in its text; neither an overlay nor the post-renderer moves it: mirror it and \
                 edit that text (a values key or a custom resource usually holds it)",
                s.chart, text.location, text.reference
            ));
        }
        for idle in &s.idle_images {
            report::warning(&format!(
                "{}: {} holds {}, which these values do not render; pass values that turn it on (-f) to list it",
                s.chart, idle.values_path, idle.reference
            ));
        }
        for u in &s.unrendered {
            report::warning(&format!(
                "{}: {}: not rendered, its images are not listed (the post-renderer still moves them): {}",
                s.chart, u.template, u.error
            ));
        }
    }
    let text = match args.format {
        ScanFormat::Table if scans.is_empty() => String::new(),
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
    let (plans, errored) =
        for_each_chart(&args.charts, |_, chart| plan::plan(&chart, &user, &mapping, &args.pull_secrets));
    let color = diff::stderr_wants_color();
    let mut stale = false;
    let mut write_failed = false;
    let mut written_files = std::collections::BTreeSet::new();
    let mut to_stdout = Vec::new();
    for p in &plans {
        for w in &p.warnings {
            report::warning(&format!("{}: {w}", p.chart));
        }
        let text = overlay::to_yaml(p);
        report::note(&moves_table(p));
        let before = yaml::to_string(&p.effective_before);
        let after = yaml::to_string(&p.effective_after);
        report::note(&diff::unified(&before, &after, "values (defaults)", "values (with overlay)", color));
        // A chart whose overlay cannot be written or checked is reported; the others still are.
        let written = match (&args.output, &args.check) {
            (Some(out), _) => target_file(out, &p.chart, several).and_then(|file| {
                // Two charts of one name would share a file: the second would silently replace the first.
                if !written_files.insert(file.clone()) {
                    return Err(Error::new(format!(
                        "another chart of this batch is also named `{}`; its overlay is in {}, this one is not written",
                        p.chart,
                        file.display()
                    ))
                    .hint("run overlay for each of them with its own -o FILE"));
                }
                report::write_atomically(&file, text.as_bytes())
            }),
            (None, Some(check)) => target_file(check, &p.chart, several).and_then(|file| {
                // A missing file is an overlay not generated yet: stale, not an error.
                let current = match std::fs::metadata(&file) {
                    Err(_) => String::new(),
                    Ok(_) => {
                        let bytes = source::read_input_file(&file, "overlay to check")?;
                        source::utf8(&bytes, &file.display().to_string())?.to_string()
                    }
                };
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
    Ok(if errored || write_failed {
        Outcome::Errored
    } else if stale {
        Outcome::Failed
    } else {
        Outcome::Success
    })
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
        _ => Err(Error::new(format!("`{file_name}` is not a plain file name; it is not written"))
            .at(chart)
            .hint("rename the chart in its Chart.yaml")),
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
    // One row per distinct move: a sidecar image used by six pods is one line, not six.
    let mut seen = std::collections::BTreeSet::new();
    rows.retain(|row| seen.insert(row.clone()));
    format!("{}:\n{}", plan.chart, table(&rows))
}

/// The Helm post-renderer: manifests on stdin, the same stream with images retargeted on stdout.
/// The output is spooled to a temporary file and copied out only on success, so a failure writes
/// nothing to stdout while memory stays bounded by the largest document.
pub fn post_render(args: &PostRenderArgs) -> Result<Outcome> {
    let mapping = args.target.mapping()?;
    let retarget = |r: &crate::reference::Reference| mapping.destination(r);
    let mut spool = tempfile::tempfile().context("post-render: cannot create a temporary file")?;
    let mut rewrites = Vec::new();
    let summary = {
        let mut out = std::io::BufWriter::new(&mut spool);
        let summary = rewrite::rewrite_stream(std::io::stdin().lock(), &mut out, &retarget, &mut |r| rewrites.push(r))?;
        out.flush().context("post-render: temporary file")?;
        summary
    };
    if let Some(file) = &args.report {
        report::write_atomically(file, rewrite::report_json(&rewrites).as_bytes())?;
    }
    spool.seek(SeekFrom::Start(0)).context("post-render: temporary file")?;
    report::copy_to_stdout(&mut spool)?;
    report::note(&format!(
        "helm-retarget: {} image reference(s) moved in {} object(s)",
        summary.rewrites, summary.objects
    ));
    Ok(Outcome::Success)
}

/// Lists every image of a manifest stream that is not on the target registry; exit 1 if any.
pub fn verify(args: &VerifyArgs) -> Result<Outcome> {
    let mapping = args.target.mapping()?;
    let input = read_input(&args.input)?;
    let fields = rewrite::find_images(&input).map_err(|e| e.at(input_name(&args.input)))?;
    let stray = rewrite::unmoved(&fields, &mapping);
    let controls = match &args.chart {
        Some(chart) => {
            let chart = load_chart(chart)?;
            discover::scan(&chart, &Value::Map(Default::default())).sites
        }
        None => Vec::new(),
    };
    let mut out = String::new();
    for field in &stray {
        let object = format!("{}/{}", field.kind, field.name);
        let mut line = format!("{object}\t{}\t{}", field.field_path, field.text);
        if args.chart.is_some() {
            let site = controls.iter().find(|s| {
                s.id.object == object
                    && s.id.field == field.field_path
                    && field.source.as_ref().is_none_or(|t| *t == s.id.template)
            });
            match site {
                Some(s) if !s.keys.is_empty() => {
                    let _ = write!(line, "\tvalues: {}", s.keys.join(", "));
                }
                _ => line.push_str("\tnot controlled by values: use the post-renderer"),
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    report::data(out.as_bytes())?;
    if stray.is_empty() {
        report::note(&format!("verify: all {} image reference(s) are on the target registry", fields.len()));
        Ok(Outcome::Success)
    } else {
        report::note(&format!(
            "verify: {} of {} image reference(s) are not on the target registry",
            stray.len(),
            fields.len()
        ));
        Ok(Outcome::Failed)
    }
}

/// A FILE argument's bytes; `-` is stdin.
pub fn read_input(arg: &str) -> Result<Vec<u8>> {
    if arg == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("stdin")?;
        Ok(bytes)
    } else {
        std::fs::read(arg).context(arg)
    }
}

fn input_name(arg: &str) -> &str {
    if arg == "-" {
        "stdin"
    } else {
        arg
    }
}

/// Every image site of `scan` as mirror-plan entries: one per image (an image-config `base` adds
/// each component it composes).
fn add_scan(plan: &mut MirrorPlan, scan: &Scan, mapping: &RegistryMapping) {
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

fn add_manifests(plan: &mut MirrorPlan, arg: &str, mapping: &RegistryMapping) -> Result<()> {
    let input = read_input(arg)?;
    let fields = rewrite::find_images(&input).map_err(|e| e.at(input_name(arg)))?;
    for field in fields {
        for reference in field.references() {
            plan.add(
                &reference,
                mapping,
                MirrorSite {
                    chart: field.source.clone().unwrap_or_else(|| input_name(arg).to_string()),
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
pub fn mirror(args: &MirrorArgs) -> Result<Outcome> {
    if args.charts.is_empty() && args.from_manifests.is_empty() {
        return Err(Error::new("nothing to mirror").hint("name charts, or pass --from-manifests FILE (`-` for stdin)"));
    }
    let mapping = args.target.mapping()?;
    let user = Value::Map(Default::default());
    let mut plan = MirrorPlan::new();
    let (scans, mut errored) = for_each_chart(&args.charts, |_, chart| Ok(discover::scan(&chart, &user)));
    for scan in &scans {
        add_scan(&mut plan, scan, &mapping);
        for u in &scan.unrendered {
            report::warning(&format!(
                "{}: {}: not rendered, its images are missing from the plan (use --from-manifests): {}",
                scan.chart, u.template, u.error
            ));
        }
    }
    for arg in &args.from_manifests {
        if let Err(e) = add_manifests(&mut plan, arg, &mapping) {
            report::error(&e);
            errored = true;
        }
    }
    mapping.check_collisions(plan.images().iter().map(|i| &i.source))?;
    let text = match &args.template {
        Some(file) => {
            let name = file.display().to_string();
            let bytes = source::read_input_file(file, "template")?;
            plan.render_template(source::utf8(&bytes, &name)?, &name)?
        }
        None => plan.render(args.format)?,
    };
    match &args.output {
        Some(file) if args.template.is_none() && args.format.is_script() => {
            report::write_script_atomically(file, text.as_bytes())?
        }
        Some(file) => report::write_atomically(file, text.as_bytes())?,
        None => report::data(text.as_bytes())?,
    }
    report::note(&format!(
        "helm-retarget: {} image(s) to copy, {} excluded, {} already on the target",
        plan.images().len(),
        plan.excluded().len(),
        plan.already_on_destination().len()
    ));
    Ok(if errored { Outcome::Errored } else { Outcome::Success })
}

/// What a chart upgrade changes: images added, removed and retagged, and how the overlay changes.
pub fn diff(args: &DiffArgs) -> Result<Outcome> {
    // Without a target the comparison is of sources only; a placeholder destination builds the plans.
    let mapping = match (&args.target.registry, &args.target.mapping) {
        (None, None) => None,
        _ => Some(args.target.mapping()?),
    };
    let plan_mapping = match &mapping {
        Some(m) => m.clone(),
        None => RegistryMapping::from_registry("mirror.invalid")?,
    };
    let user = Value::Map(Default::default());
    let old = load_chart(&args.old)?;
    let new = load_chart(&args.new)?;
    let mut plans = [MirrorPlan::new(), MirrorPlan::new()];
    for (plan, chart) in plans.iter_mut().zip([&old, &new]) {
        add_scan(plan, &discover::scan(chart, &user), &plan_mapping);
    }
    let changes = crate::diff::compare_images(&plans[0], &plans[1]);
    let overlay_diff = match &mapping {
        Some(m) => {
            let before = overlay::to_yaml(&plan::plan(&old, &user, m, &[])?);
            let after = overlay::to_yaml(&plan::plan(&new, &user, m, &[])?);
            crate::diff::unified(
                &before,
                &after,
                &format!("overlay ({})", args.old),
                &format!("overlay ({})", args.new),
                false,
            )
        }
        None => String::new(),
    };
    let text = match args.format {
        DiffFormat::Text => {
            let mut text = changes.to_text();
            if !overlay_diff.is_empty() {
                text.push_str("\nOverlay:\n");
                text.push_str(&overlay_diff);
            }
            text
        }
        DiffFormat::Markdown => {
            let mut text = changes.to_markdown();
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
            }
            serde_json::to_string_pretty(&json).map_err(|e| Error::new(e.to_string()))? + "\n"
        }
    };
    report::data(text.as_bytes())?;
    if args.fail_on_new_images {
        let list = match args.mirrored.as_deref() {
            Some("-") => {
                let bytes = read_input("-")?;
                crate::diff::parse_mirrored_list(source::utf8(&bytes, "<stdin>")?, "<stdin>")?
            }
            Some(file) => crate::diff::read_mirrored_list(Path::new(file))?,
            None => Vec::new(),
        };
        let missing = crate::diff::unmirrored(&plans[1], &list);
        if !missing.is_empty() {
            report::note(&format!("{} image(s) of {} are not mirrored yet:", missing.len(), args.new));
            for image in missing {
                report::note(&format!("  {}", image.source));
            }
            return Ok(Outcome::Failed);
        }
    }
    Ok(Outcome::Success)
}
