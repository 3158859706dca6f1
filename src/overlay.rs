//! Writes a retarget plan as an overlay values.yaml: only the keys that must change, in a stable
//! order, each with a comment naming the images it moves, so a reviewer sees what moves. The same
//! overlay also comes as the GitOps document that carries values where no post-renderer runs: an
//! Argo CD `Application` patch, a Flux `HelmRelease` patch, or a ConfigMap for Flux `valuesFrom`.

use std::fmt::Write;

use crate::diagnostic::Code;
use crate::error::{Error, Result};

use crate::plan::{Outcome, RetargetPlan};
use crate::values::{Value, ValuesPath};

/// What carries the overlay values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A values file for `helm -f`.
    Values,
    /// An Argo CD `Application` patch: the values under `spec.source.helm.valuesObject`.
    Argocd,
    /// A Flux `HelmRelease` patch: the values under `spec.values`.
    Flux,
    /// A ConfigMap holding the values file under key `values.yaml`, for Flux `spec.valuesFrom`.
    Configmap,
}

/// The overlay for one chart in `format`; `name` is the patched or written object's
/// `metadata.name` (default: the chart's name, and `<chart>-retarget` for the ConfigMap).
pub fn to_document(plan: &RetargetPlan, format: Format, name: Option<&str>) -> Result<String> {
    let object_name = |default: String| name.map_or(default, str::to_string);
    if matches!(format, Format::Argocd | Format::Flux) {
        if let Some(path) = first_null(&plan.overlay, &ValuesPath::root()) {
            // Argo CD and Flux apply these documents as merge patches, where null deletes the key
            // from the patched object instead of handing Helm a null that deletes a chart default.
            return Err(Error::coded(
                Code::OverlayNullInMergePatch,
                format!("{}: overlay value {path} is null, which a merge patch drops", plan.chart),
            )
            .hint("use --format configmap (a values file in a ConfigMap) or --format values with valueFiles"));
        }
    }
    let mut out = String::new();
    match format {
        Format::Values => return Ok(to_yaml(plan)),
        Format::Argocd => {
            write_header(&mut out, plan);
            out.push_str(
                "# Argo CD merges valuesObject over the source's valueFiles (as a last -f) and ignores\n\
                 # helm.values when valuesObject is set: keep inline values in valueFiles or here.\n",
            );
            let _ = writeln!(out, "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:");
            let _ = writeln!(out, "  name: {}", crate::yaml::scalar(&Value::String(object_name(plan.chart.clone()))));
            out.push_str("spec:\n  source:\n    helm:\n");
            nest(&mut out, "valuesObject", &values_body(plan), 6);
        }
        Format::Flux => {
            write_header(&mut out, plan);
            out.push_str("# Flux merges spec.values over every spec.valuesFrom source.\n");
            let _ = writeln!(out, "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:");
            let _ = writeln!(out, "  name: {}", crate::yaml::scalar(&Value::String(object_name(plan.chart.clone()))));
            out.push_str("spec:\n");
            nest(&mut out, "values", &values_body(plan), 2);
        }
        Format::Configmap => {
            let name = object_name(format!("{}-retarget", plan.chart));
            let _ = writeln!(
                out,
                "# helm-retarget overlay for {} as a ConfigMap: in the HelmRelease, spec.valuesFrom:\n\
                 #   - kind: ConfigMap\n#     name: {name}\n#     valuesKey: values.yaml",
                plan.chart
            );
            let _ = writeln!(out, "apiVersion: v1\nkind: ConfigMap\nmetadata:");
            let _ = writeln!(out, "  name: {}", crate::yaml::scalar(&Value::String(name)));
            out.push_str("data:\n  values.yaml: |\n");
            indent_into(&mut out, &to_yaml(plan), 4);
        }
    }
    Ok(out)
}

/// `key:` and the values under it at `indent`, or `key: {}` when nothing moves.
fn nest(out: &mut String, key: &str, body: &str, indent: usize) {
    let pad = " ".repeat(indent);
    if body == "{}\n" {
        let _ = writeln!(out, "{pad}{key}: {{}}");
    } else {
        let _ = writeln!(out, "{pad}{key}:");
        indent_into(out, body, indent + 2);
    }
}

/// Shifts every line of `text` right; empty lines stay empty, so block scalars keep their text.
fn indent_into(out: &mut String, text: &str, indent: usize) {
    let pad = " ".repeat(indent);
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{pad}{line}");
        }
    }
}

/// The first null in the overlay, by values path.
fn first_null(value: &Value, at: &ValuesPath) -> Option<ValuesPath> {
    match value {
        Value::Null => Some(at.clone()),
        Value::Map(map) => map.iter().find_map(|(key, child)| first_null(child, &at.child(key))),
        Value::List(items) => items.iter().enumerate().find_map(|(i, child)| first_null(child, &at.index(i))),
        _ => None,
    }
}

/// The overlay file for one chart.
pub fn to_yaml(plan: &RetargetPlan) -> String {
    let mut out = String::new();
    write_header(&mut out, plan);
    out.push_str(&values_body(plan));
    out
}

/// The overlay's keys, with their comments, or `{}` when nothing moves.
fn values_body(plan: &RetargetPlan) -> String {
    let mut out = String::new();
    match &plan.overlay {
        Value::Map(m) if !m.is_empty() => write_map(&mut out, &plan.overlay, &ValuesPath::root(), 0, plan),
        _ => out.push_str("{}\n"),
    }
    out
}

/// The comment lines that open every overlay: what moves, what is left and why.
fn write_header(out: &mut String, plan: &RetargetPlan) {
    let moved = plan.moves.iter().filter(|m| matches!(m.outcome, Outcome::Moved { .. })).count();
    let left: Vec<_> = plan.moves.iter().filter(|m| matches!(m.outcome, Outcome::PostRenderOnly { .. })).collect();
    let _ = writeln!(out, "# helm-retarget overlay for {}: moves {moved} image site(s).", plan.chart);
    if !plan.unrendered.is_empty() {
        let _ = writeln!(
            out,
            "# INCOMPLETE: {} template(s) did not render, so images they hold may be left unmoved:",
            plan.unrendered.len()
        );
        for u in &plan.unrendered {
            let first_line = u.error.lines().next().unwrap_or_default();
            let _ = writeln!(out, "#   {}: {first_line}", u.template);
            for image in &u.missing_images {
                let _ = writeln!(out, "#     may be missing: {}: {}", image.values_path, image.reference);
            }
        }
    }
    if !left.is_empty() {
        let _ = writeln!(out, "# Not movable by values (use `helm-retarget post-render`):");
        for m in &left {
            let _ = writeln!(out, "#   {} ({} {})", m.source, m.site.object, m.site.field);
        }
    }
    if !plan.idle_images.is_empty() {
        let _ = writeln!(out, "# Not rendered with these values (pass values that turn them on with -f to move them):");
        for idle in &plan.idle_images {
            let _ = writeln!(out, "#   {}: {}", idle.values_path, idle.reference);
        }
    }
    if !plan.text_images.is_empty() {
        let _ = writeln!(
            out,
            "# Named in ConfigMap text (neither values nor the post-renderer move these; mirror and edit):"
        );
        for text in &plan.text_images {
            let _ = writeln!(out, "#   {}: {}", text.location, text.reference);
        }
    }
    if !plan.placeholders.is_empty() {
        let _ = writeln!(out, "# Rendered with placeholders for required values: {}", plan.placeholders.join(", "));
    }
}

fn write_map(out: &mut String, value: &Value, at: &ValuesPath, indent: usize, plan: &RetargetPlan) {
    let Value::Map(map) = value else { return };
    let pad = " ".repeat(indent);
    for (key, child) in map {
        let path = at.child(key);
        if let Some(lines) = plan.comments.get(&path) {
            for line in lines {
                let _ = writeln!(out, "{pad}# {line}");
            }
        }
        let key_text = crate::yaml::scalar(&Value::String(key.clone()));
        match child {
            Value::Map(m) if !m.is_empty() => {
                let _ = writeln!(out, "{pad}{key_text}:");
                write_map(out, child, &path, indent + 2, plan);
            }
            Value::List(items) if !items.is_empty() => {
                // Helm replaces lists whole, so a list is written out in full.
                let _ = writeln!(out, "{pad}{key_text}:");
                for line in crate::yaml::to_string(child).lines() {
                    let _ = writeln!(out, "{pad}{line}");
                }
            }
            other => {
                let _ = writeln!(out, "{pad}{key_text}: {}", crate::yaml::scalar(other));
            }
        }
    }
}

/// Several charts' overlays in one stream, one YAML document each.
pub fn join(documents: &[String]) -> String {
    documents.join("---\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(overlay: &str) -> RetargetPlan {
        RetargetPlan {
            chart: "demo".to_string(),
            overlay: crate::yaml::parse(overlay, "overlay").unwrap(),
            comments: std::collections::BTreeMap::default(),
            moves: Vec::new(),
            gates: Vec::new(),
            placeholders: Vec::new(),
            warnings: Vec::new(),
            idle_images: Vec::new(),
            unrendered: Vec::new(),
            text_images: Vec::new(),
            registry_settings: Vec::new(),
            effective_before: Value::Null,
            effective_after: Value::Null,
        }
    }

    #[test]
    fn issue_13_a_null_is_refused_where_a_merge_patch_would_drop_it() {
        let nulled = plan("image:\n  registry: m.example\n  digest: null\n");
        for format in [Format::Argocd, Format::Flux] {
            let message = to_document(&nulled, format, None).unwrap_err().to_string();
            assert!(message.contains("image.digest is null"), "{format:?}: {message}");
        }
        let configmap = to_document(&nulled, Format::Configmap, None).unwrap();
        assert!(configmap.contains("\n    image:\n      digest: null\n"), "{configmap}");
    }

    #[test]
    fn issue_13_an_empty_overlay_is_an_empty_values_object() {
        let empty = plan("{}\n");
        let argocd = to_document(&empty, Format::Argocd, Some("app")).unwrap();
        assert!(argocd.ends_with("  name: app\nspec:\n  source:\n    helm:\n      valuesObject: {}\n"), "{argocd}");
        let flux = to_document(&empty, Format::Flux, None).unwrap();
        assert!(flux.ends_with("  name: demo\nspec:\n  values: {}\n"), "{flux}");
    }
}
