//! Writes a retarget plan as an overlay values.yaml: only the keys that must change, in a stable
//! order, each with a comment naming the images it moves, so a reviewer sees what moves.

use std::fmt::Write;

use crate::plan::{Outcome, RetargetPlan};
use crate::values::{Value, ValuesPath};

/// The overlay file for one chart.
pub fn to_yaml(plan: &RetargetPlan) -> String {
    let moved = plan.moves.iter().filter(|m| matches!(m.outcome, Outcome::Moved { .. })).count();
    let left: Vec<_> = plan.moves.iter().filter(|m| matches!(m.outcome, Outcome::PostRenderOnly { .. })).collect();
    let mut out = String::new();
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
    match &plan.overlay {
        Value::Map(m) if !m.is_empty() => write_map(&mut out, &plan.overlay, &ValuesPath::root(), 0, plan),
        _ => out.push_str("{}\n"),
    }
    out
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
