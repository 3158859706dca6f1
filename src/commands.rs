//! The commands: load the inputs, run the pipeline, hand the results to `report`.

use std::fmt::Write as _;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::chart::{self, Chart};
use crate::cli::{
    Cli, Command, CompletenessArgs, DiffArgs, DiffFormat, MirrorArgs, Outcome, OverlayArgs, PostRenderArgs,
    RelocateArgs, ScanArgs, ScanFormat, TemplateArgs, ValuesArgs, VerifyArgs,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::{self, Scan, Unrendered};
use crate::error::{Context, Error, Result};
use crate::mapping::RegistryMapping;
use crate::mirror::{MirrorPlan, MirrorSite};
use crate::plan::{self, Outcome as Move, RetargetPlan};
use crate::reference::Reference;
use crate::render::{RenderOptions, TreeRenderer};
use crate::strvals::{self, Mode};
use crate::values::{Map, Value, ValuesPath};
use crate::{diff, manifest, overlay, report, rewrite, source, yaml};

/// Reads a CHART argument into a chart tree.
pub fn load_chart(arg: &str) -> Result<Chart> {
    let files = source::read(arg)?;
    chart::load(&files)
}

/// The user's values as Helm builds them from its flags (`pkg/cli/values` MergeValues): values
/// files merged in order, then `--set-json`, `--set`, `--set-string`, `--set-file`, `--set-literal` lines parsed
/// into the result. A `null` stays in it: coalescing over the chart's defaults deletes that key.
pub fn user_values(args: &ValuesArgs) -> Result<Value> {
    let mut base = Map::new();
    for file in &args.values {
        let name = file.display().to_string();
        let bytes = source::read_input_file(file, "values file")?;
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
        let bytes = if path == "-" {
            source::read_input_file(Path::new("-"), "--set-file file").map_err(|e| e.to_string())?
        } else {
            source::read_input_file(Path::new(path), "--set-file file").map_err(|e| e.to_string())?
        };
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

/// Helm checks the merged values against every enabled chart's values.schema.json before it
/// renders; so does every command that renders with the user's values (exit 2, Helm's message).
fn check_schema(chart: &Chart, user: &Value) -> Result<()> {
    if !crate::schema::applies(chart) {
        return Ok(());
    }
    crate::schema::validate(chart, &chart::effective_values(chart, user))
}

/// An overlay key the chart's schema refuses would break the user's install (`-f overlay.yaml`
/// fails validation): refuse to write it, naming each key and the schema rule.
fn check_overlay_schema(chart: &Chart, user: &Value, plan: &RetargetPlan) -> Result<()> {
    if !crate::schema::applies(chart) {
        return Ok(());
    }
    let (Some(user_map), Some(overlay_map)) = (user.as_map(), plan.overlay.as_map()) else { return Ok(()) };
    let with_overlay = Value::Map(yaml::merge_maps(user_map.clone(), overlay_map.clone()));
    let found = crate::schema::violations(chart, &chart::effective_values(chart, &with_overlay))?;
    let keys = plan::leaf_paths(&plan.overlay);
    let refused: Vec<_> =
        found.into_iter().filter(|v| keys.iter().any(|k| k.starts_with(&v.path) || v.path.starts_with(k))).collect();
    if refused.is_empty() {
        return Ok(());
    }
    let mut message = String::from(
        "the chart's values.schema.json refuses the overlay, so `helm install -f overlay.yaml` would fail:\n",
    );
    for v in &refused {
        let key = keys.iter().find(|k| k.starts_with(&v.path) || v.path.starts_with(k)).map(ToString::to_string);
        let _ = writeln!(message, "  {} (chart {}): {}", key.unwrap_or_default(), v.chart, v.message);
    }
    Err(Error::coded(Code::SchemaRefusesOverlay, message.trim_end().to_string()).at(chart.display_path()).hint(
        "no values key the schema allows moves these images: move them at install time with the post-renderer \
         (`helm-retarget post-render`), or exclude their registry with --mapping",
    ))
}

/// Reports the templates of `chart` that did not render, and says what that means for the
/// `result` (overlay, scan, mirror plan). Returns `Errored` when Helm refuses these values too,
/// `Incomplete` when images may be missing (unless the user accepts that), else `Success`.
fn report_unrendered(chart: &str, unrendered: &[Unrendered], result: &str, completeness: &CompletenessArgs) -> Outcome {
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
    if completeness.allow_incomplete {
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
    let (scans, errored) = for_each_chart(&args.charts, |_, chart| {
        check_schema(&chart, &user).map_err(|e| e.at(chart.display_path()))?;
        Ok(discover::scan(&chart, &user))
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
        outcome = outcome.and(report_unrendered(&s.chart, &s.unrendered, "scan", &args.completeness));
    }
    if let Some(reference) = &args.explain {
        let text = explain(&scans, reference)?;
        report::data(text.as_bytes())?;
        return Ok(if errored { Outcome::Errored } else { Outcome::Success });
    }
    let text = match args.format {
        ScanFormat::Table if scans.is_empty() => String::new(),
        ScanFormat::Table => scan_table(&scans),
        ScanFormat::Json => serde_json::to_string_pretty(&scans).map_err(|e| Error::new(e.to_string()))? + "\n",
    };
    report::data(text.as_bytes())?;
    Ok(outcome)
}

/// `scan --explain REF`: for each site rendering REF (or a registry setting holding the host REF),
/// the chain template -> object -> field -> values keys, and why it moves or why it cannot.
pub fn explain(scans: &[Scan], wanted: &str) -> Result<String> {
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
            let keys = if site.keys.is_empty() { "none".to_string() } else { site.keys.join(", ") };
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
                    site.keys.first().map(String::as_str).unwrap_or("-"),
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
            let keys = if setting.keys.is_empty() { "none".to_string() } else { setting.keys.join(", ") };
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
                if setting.keys.is_empty() { "-".to_string() } else { setting.keys.join(", ") },
                "registry-setting".to_string(),
                setting.host.clone(),
                "-".to_string(),
                setting.location.clone(),
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
    if !args.operands.is_empty() && several {
        return Err(Error::coded(Code::OperandNeedsOneChart, "--operand needs exactly one operator CHART"));
    }
    let operands: Vec<(String, Chart)> = args
        .operands
        .iter()
        .map(|(name, arg)| load_chart(arg).map(|c| (name.clone(), c)).map_err(|e| e.at(format!("--operand {name}"))))
        .collect::<Result<_>>()?;
    let lock = args.pin_digests.as_deref().map(crate::lock::ImagesLock::from_file).transpose()?;
    let (plans, errored) = for_each_chart(&args.charts, |_, chart| {
        check_schema(&chart, &user).map_err(|e| e.at(chart.display_path()))?;
        let operator = plan::plan(&chart, &user, &mapping, &args.pull_secrets)?;
        let operator = match &lock {
            Some(lock) => crate::pin::pin_digests(operator, &chart, &user, lock)?,
            None => operator,
        };
        // After pinning: a digest key the chart's schema refuses must not reach the overlay.
        check_overlay_schema(&chart, &user, &operator)?;
        if operands.is_empty() {
            return Ok(operator);
        }
        let (operator, found) = plan::with_operands(operator, &chart, &user, &operands, &mapping, &args.pull_secrets)?;
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
        let verdict = report_unrendered(&p.chart, &p.unrendered, "overlay", &args.completeness);
        outcome = outcome.and(verdict);
        if verdict == Outcome::Errored {
            continue;
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
    let outcome = if write_failed { outcome.and(Outcome::Errored) } else { outcome };
    Ok(if stale { outcome.and(Outcome::Failed) } else { outcome })
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

/// `relocate`: plans the overlay, refuses an incomplete one, writes it into a copy of the chart.
pub fn relocate(args: &RelocateArgs) -> Result<Outcome> {
    let mapping = args.target.mapping()?;
    let user = user_values(&args.values)?;
    let files = source::read(&args.chart)?;
    let chart = chart::load(&files)?;
    let lock = args.pin_digests.as_deref().map(crate::lock::ImagesLock::from_file).transpose()?;
    check_schema(&chart, &user)?;
    let p = plan::plan(&chart, &user, &mapping, &args.pull_secrets)?;
    let p = match &lock {
        Some(lock) => crate::pin::pin_digests(p, &chart, &user, lock)?,
        None => p,
    };
    // The relocated defaults are the overlay: a key the schema refuses would break every install.
    check_overlay_schema(&chart, &user, &p)?;
    let verdict = report_unrendered(&p.chart, &p.unrendered, "relocated chart", &args.completeness);
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
        if !args.completeness.allow_incomplete {
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
    for text in &p.text_images {
        report::warning(
            &Diagnostic::new(
                Code::ImageInText,
                format!(
                    "{} is named in {} text, which neither values nor the post-renderer move",
                    text.reference, text.location
                ),
            )
            .at(&p.chart),
        );
    }
    let labels = crate::relocate::Labels {
        build_suffix: (!args.keep_version).then(|| args.build_suffix.clone()),
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
    if args.output.as_os_str() == "-" {
        report::data(&relocated.archive)?;
    } else {
        report::write_atomically(&args.output, &relocated.archive)?;
        report::note(&format!(
            "{}: relocated chart {} written to {}",
            p.chart,
            relocated.version,
            args.output.display()
        ));
    }
    Ok(Outcome::Success)
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
    let lock = args.pin_digests.as_deref().map(crate::lock::ImagesLock::from_file).transpose()?;
    // Images the lock cannot pin, collected so the stream fails whole rather than half pinned.
    let unpinned = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let retarget = |r: &crate::reference::Reference| {
        let destination = mapping.destination(r)?;
        let Some(lock) = &lock else { return Some(destination) };
        match lock.pin(r, &destination) {
            Ok(pinned) => Some(pinned),
            Err(why) => {
                unpinned.borrow_mut().insert(why);
                Some(destination)
            }
        }
    };
    let mut spool = tempfile::tempfile().context("post-render: cannot create a temporary file")?;
    // Rewrites are kept only for `--report`; without it memory stays bounded by one document.
    let mut rewrites = Vec::new();
    let keep = args.report.is_some();
    let summary = {
        let mut out = std::io::BufWriter::new(&mut spool);
        let rules = rewrite::Rules { text_images: args.text_images == crate::cli::Switch::On };
        let mut on_rewrite = |r| {
            if keep {
                rewrites.push(r);
            }
        };
        let summary = rewrite::rewrite_stream_by(std::io::stdin().lock(), &mut out, &retarget, &mut on_rewrite, rules)?;
        out.flush().context("post-render: temporary file")?;
        summary
    };
    let mut unpinned = unpinned.into_inner();
    if lock.is_some() && unpinned.is_empty() {
        // The rewrite cannot put a digest everywhere (repository and tag in separate fields, an
        // image-config base shared by components): read the result back and name what lacks one.
        spool.seek(SeekFrom::Start(0)).context("post-render: temporary file")?;
        let rules = rewrite::Rules { text_images: args.text_images == crate::cli::Switch::On };
        let mut check = |field: rewrite::ImageField| {
            for reference in field.references() {
                if reference.digest.is_none() && mapping.is_destination(&reference) {
                    unpinned.insert(format!(
                        "{} {} (line {}): {reference} has no place for a digest here",
                        field.object(),
                        field.field_path,
                        field.line
                    ));
                }
            }
        };
        rewrite::find_images_in(std::io::BufReader::new(&mut spool), rules, &mut check)?;
    }
    if !unpinned.is_empty() {
        let list: Vec<String> = unpinned.into_iter().collect();
        return Err(Error::coded(
            Code::CannotPin,
            format!("--pin-digests: {} image(s) cannot be pinned:\n  {}", list.len(), list.join("\n  ")),
        ));
    }
    if let Some(file) = &args.report {
        report::write_atomically(file, rewrite::report_json(&rewrites).as_bytes())?;
    }
    spool.seek(SeekFrom::Start(0)).context("post-render: temporary file")?;
    report::copy_to_stdout(&mut spool)?;
    summary.notes.report("helm-retarget");
    report::note(&format!(
        "helm-retarget: {} image reference(s) moved in {} object(s)",
        summary.rewrites, summary.objects
    ));
    Ok(Outcome::Success)
}

/// Lists every image of a manifest stream that is not on the target registry; exit 1 if any.
pub fn verify(args: &VerifyArgs) -> Result<Outcome> {
    let mapping = args.target.mapping()?;
    let controls = match &args.chart {
        Some(chart) => {
            let chart = load_chart(chart)?;
            discover::scan(&chart, &Value::Map(Default::default())).sites
        }
        None => Vec::new(),
    };
    // Streamed one document at a time; the lines for images still to move are spooled to a
    // temporary file and copied out only when the whole stream was read, so memory stays bounded
    // by the largest document and a failure writes nothing to stdout.
    let mut spool = tempfile::tempfile().context("verify: cannot create a temporary file")?;
    let (mut stray, mut total) = (0usize, 0usize);
    let mut written = Ok(());
    let summary = {
        let mut out = std::io::BufWriter::new(&mut spool);
        let mut keep = |field: rewrite::ImageField| {
            total += 1;
            if rewrite::unmoved(std::slice::from_ref(&field), &mapping).is_empty() {
                return;
            }
            stray += 1;
            let line = stray_line(&field, args.chart.is_some().then_some(controls.as_slice()));
            if written.is_ok() {
                written = out.write_all(line.as_bytes());
            }
        };
        let summary = if args.input == "-" {
            rewrite::find_images_in(std::io::stdin().lock(), rewrite::Rules::default(), &mut keep)
        } else {
            let file = std::fs::File::open(&args.input).context(&args.input)?;
            rewrite::find_images_in(std::io::BufReader::new(file), rewrite::Rules::default(), &mut keep)
        }
        .map_err(|e| e.at(input_name(&args.input)))?;
        written.and_then(|()| out.flush()).context("verify: temporary file")?;
        summary
    };
    summary.notes.report("verify");
    spool.seek(SeekFrom::Start(0)).context("verify: temporary file")?;
    report::copy_to_stdout(&mut spool)?;
    if stray == 0 {
        report::note(&format!("verify: all {total} image reference(s) are on the target registry"));
        Ok(Outcome::Success)
    } else {
        report::note(&format!("verify: {stray} of {total} image reference(s) are not on the target registry"));
        Ok(Outcome::Failed)
    }
}

/// One line of verify's list: object, field, reference, and with a chart which values move it.
fn stray_line(field: &rewrite::ImageField, controls: Option<&[discover::ImageSite]>) -> String {
    let object = format!("{}/{}", field.kind, field.name);
    let mut line = format!("{object}\t{}\t{}", field.field_path, field.text);
    if let Some(controls) = controls {
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
    line.push('\n');
    line
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
    // Streamed one document at a time, as verify reads: memory stays bounded by the largest document.
    let mut fields = Vec::new();
    let mut keep = |field| fields.push(field);
    let rules = rewrite::Rules::default();
    if arg == "-" {
        rewrite::find_images_in(std::io::stdin().lock(), rules, &mut keep)
    } else {
        let file = std::fs::File::open(arg).context(arg)?;
        rewrite::find_images_in(std::io::BufReader::new(file), rules, &mut keep)
    }
    .map_err(|e| e.at(input_name(arg)))?;
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
        return Err(Error::coded(Code::NothingToMirror, "nothing to mirror"));
    }
    let mapping = args.target.mapping()?;
    let user = user_values(&args.values)?;
    let mut plan = MirrorPlan::new();
    let (mut scans, mut errored) = for_each_chart(&args.charts, |_, chart| Ok(discover::scan(&chart, &user)));
    // An operand chart is installed by the operator with its own defaults (plus what the operator
    // merges in, which moves no image to a new source).
    let operand_args: Vec<String> = args.operands.iter().map(|(_, chart)| chart.clone()).collect();
    let empty = Value::Map(Default::default());
    let (operand_scans, operand_errors) = for_each_chart(&operand_args, |_, chart| Ok(discover::scan(&chart, &empty)));
    scans.extend(operand_scans);
    errored |= operand_errors;
    let mut verdict = Outcome::Success;
    for scan in &scans {
        let v = report_unrendered(&scan.chart, &scan.unrendered, "mirror plan", &args.completeness);
        verdict = verdict.and(v);
        if v != Outcome::Errored {
            add_scan(&mut plan, scan, &mapping);
        }
    }
    for arg in &args.from_manifests {
        if let Err(e) = add_manifests(&mut plan, arg, &mapping) {
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
                report::write_script_atomically(file, text.as_bytes())?
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
fn copy_options(args: &MirrorArgs) -> Result<crate::mirror::CopyOptions> {
    let chart = match &args.chart_archive {
        None => None,
        Some(archive) => {
            // `helm push` takes a packaged chart, and the scripts name it by its path.
            if archive == "-" || Path::new(archive).is_dir() {
                return Err(Error::new("helm push takes a chart archive (.tgz), not a directory or stdin")
                    .at(format!("--chart-archive {archive}"))
                    .hint("package it first: `helm package DIR`, or `helm-retarget relocate CHART -o OUT.tgz`"));
            }
            let chart = load_chart(archive)?;
            let destination = match (&args.chart_destination, &args.target.registry) {
                (Some(destination), _) => destination.clone(),
                (None, Some(registry)) => format!("oci://{}/charts", registry.trim_end_matches('/')),
                (None, None) => {
                    return Err(Error::new("no place for the chart archive: --mapping names no single registry")
                        .at("--chart-archive")
                        .hint("pass --chart-destination oci://HOST/PATH (or --registry)"));
                }
            };
            if !destination.starts_with("oci://") || destination.len() <= "oci://".len() {
                return Err(Error::new(format!("{destination:?} is not an OCI registry address"))
                    .at("--chart-destination")
                    .hint("write oci://HOST[:PORT][/PATH], as `helm push` takes it"));
            }
            Some(crate::mirror::ChartArchive {
                archive: archive.clone(),
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
    let user = user_values(&args.values)?;
    let old = load_chart(&args.old)?;
    let new = load_chart(&args.new)?;
    let mut plans = [MirrorPlan::new(), MirrorPlan::new()];
    let mut verdict = Outcome::Success;
    for ((plan, chart), arg) in plans.iter_mut().zip([&old, &new]).zip([&args.old, &args.new]) {
        let scan = discover::scan(chart, &user);
        verdict = verdict.and(report_unrendered(arg, &scan.unrendered, "comparison", &args.completeness));
        add_scan(plan, &scan, &plan_mapping);
    }
    if verdict == Outcome::Errored {
        return Ok(verdict);
    }
    let copies = matches!(args.format, DiffFormat::List | DiffFormat::Skopeo | DiffFormat::Crane);
    if copies && mapping.is_none() {
        return Err(Error::coded(
            Code::DiffNeedsDestination,
            "diff: a copy plan (--format list, skopeo or crane) needs a destination",
        ));
    }
    let copy_plan = |format: crate::mirror::Format| {
        let added = plans[1].without(&plans[0]);
        report::note(&format!("diff: {} image(s) to copy that {} did not use", added.images().len(), args.old));
        added.render(format)
    };
    let changes = crate::diff::compare_images(&plans[0], &plans[1]);
    let (overlay_diff, knobs) = match &mapping {
        Some(m) => {
            let (before, after) = (plan::plan(&old, &user, m, &[])?, plan::plan(&new, &user, m, &[])?);
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
            serde_json::to_string_pretty(&json).map_err(|e| Error::new(e.to_string()))? + "\n"
        }
    };
    report::data(text.as_bytes())?;
    if args.fail_on_new_images {
        let list = match args.mirrored.as_deref() {
            Some("-") => {
                let bytes = source::read_input_file(Path::new("-"), "list of mirrored images")?;
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
            return Ok(verdict.and(Outcome::Failed));
        }
    }
    Ok(verdict)
}

/// `helm template`, by our engine: the manifest stream Helm prints for these values, from the
/// charts Helm would render (disabled subcharts left out, no placeholders). A `required` or `fail`
/// is Helm's error and exit 2 with nothing written; a template that does not render is named,
/// the rest still written, and the exit is 3.
pub fn template(args: &TemplateArgs) -> Result<Outcome> {
    let chart = load_chart(&args.chart)?;
    let user = user_values(&args.values)?;
    check_schema(&chart, &user)?;
    let mut options = RenderOptions {
        release_name: args.release_name.clone(),
        namespace: args.namespace.clone(),
        ..RenderOptions::default()
    };
    if let Some(version) = &args.kube_version {
        options.kube_version = RenderOptions::parse_kube_version(version)
            .map_err(|e| Error::new(e).hint("pass a version like 1.31 or v1.31.2"))?;
    }
    options.api_versions.extend(args.api_versions.iter().filter(|v| !v.is_empty()).cloned());
    // Helm's install action refuses a chart whose `kubeVersion` range the cluster version misses
    // (only the chart being installed is checked, not its subcharts).
    let required = chart.metadata.document.get(&ValuesPath::parse("kubeVersion")).and_then(crate::yaml::go_string);
    if let Some(range) = required.filter(|r| !r.is_empty()) {
        if !crate::semver::in_range(&range, &options.kube_version) {
            report::error(&Error::coded(
                Code::KubeVersionIncompatible,
                format!(
                    "chart requires kubeVersion: {range} which is incompatible with Kubernetes {}",
                    options.kube_version
                ),
            ));
            return Ok(Outcome::Errored);
        }
    }
    let renderer = TreeRenderer::with_options(&chart, options);
    let render = renderer.render_enabled(&user);
    if let Some((_, error)) = render.failures().find(|(_, e)| matches!(e, crate::template::TemplateError::Fail { .. }))
    {
        report::error(&Error::coded(Code::HelmRefusesValues, error.to_string()));
        return Ok(Outcome::Errored);
    }
    let enabled = renderer.enabled_charts(&user);
    let mut unrendered: Vec<Unrendered> = renderer
        .parse_errors
        .iter()
        .filter_map(|e| {
            let name = crate::render::error_template(e);
            renderer.chart_of(name).is_none_or(|c| enabled.contains(&c)).then(|| Unrendered {
                template: name.to_string(),
                error: e.to_string(),
                fails_in_helm: false,
                missing_images: Vec::new(),
            })
        })
        .collect();
    unrendered.extend(render.failures().map(|(t, e)| Unrendered {
        template: t.name.clone(),
        error: e.to_string(),
        fails_in_helm: false,
        missing_images: Vec::new(),
    }));
    let outputs =
        render.templates.iter().filter_map(|t| t.output.as_ref().ok().map(|o| (t.name.as_str(), o.text.text.as_str())));
    let (text, refused) = manifest::stream(outputs);
    unrendered.extend(refused.into_iter().map(|r| Unrendered {
        template: r.template,
        error: r.message,
        fails_in_helm: false,
        missing_images: Vec::new(),
    }));
    report::data(text.as_bytes())?;
    Ok(report_unrendered(&args.chart, &unrendered, "manifest stream", &args.completeness))
}

/// Runs the command line and maps the outcome to an exit code.
pub fn run() -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    match execute(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Errored) => ExitCode::from(2),
        Ok(Outcome::Incomplete) => ExitCode::from(3),
        Err(e) => {
            report::error(&e);
            ExitCode::from(2)
        }
    }
}

/// Runs one parsed command line.
pub fn execute(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Scan(args) => scan(&args),
        Command::Overlay(args) => overlay(&args),
        Command::Relocate(args) => relocate(&args),
        Command::PostRender(args) => post_render(&args),
        Command::Verify(args) => verify(&args),
        Command::Mirror(args) => mirror(&args),
        Command::Diff(args) => diff(&args),
        Command::Template(args) => template(&args),
    }
}
