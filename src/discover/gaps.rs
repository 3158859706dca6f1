//! What a render leaves out: templates that did not render (their images are not listed) and image
//! blocks in values that no rendered template used.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use crate::reference::Reference;
use crate::render::{TreeRender, TreeRenderer};
use crate::values::{Value, ValuesPath};

/// A template that could not be rendered, or rendered text that is not YAML: its images are not
/// listed, so scan, overlay, mirror and diff are incomplete.
#[derive(Debug, Clone, Serialize)]
pub struct Unrendered {
    pub template: String,
    pub error: String,
    /// True when Helm refuses these values the same way: a `required` value or a `fail` in a chart
    /// that is enabled, left failing after placeholders were tried. Not a gap of ours: the chart
    /// cannot be installed with these values.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fails_in_helm: bool,
    /// Image blocks in its chart's values that no rendered template used: what it may have held.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_images: Vec<IdleImage>,
}

/// Every template of `render` that did not parse, failed, or wrote text Helm would refuse as YAML.
///
/// What counts: the render is the user's values plus placeholders, with disabled subcharts
/// rendered as if enabled (the overlay covers them). Any parse or execution error there, in any
/// chart, is a gap; a `required`/`fail` is the chart refusing the values (`fails_in_helm`) only in
/// an enabled chart, since Helm never renders a disabled one. Probe renders never count.
///
/// Idle image blocks of a failing template's chart move from `idle` into its `missing_images`.
pub fn unrendered(renderer: &TreeRenderer<'_>, render: &TreeRender, idle: &mut Vec<IdleImage>) -> Vec<Unrendered> {
    use crate::template::TemplateError as E;
    let mut out: Vec<Unrendered> = renderer
        .parse_errors
        .iter()
        .map(|e| Unrendered {
            template: crate::render::error_template(e).to_string(),
            error: e.to_string(),
            fails_in_helm: false,
            missing_images: Vec::new(),
        })
        .collect();
    for (t, e) in render.failures() {
        let enabled = !render.disabled.contains_key(&renderer.charts[t.chart].chart.path);
        out.push(Unrendered {
            template: t.name.clone(),
            error: e.to_string(),
            fails_in_helm: enabled && matches!(e, E::Fail { .. }),
            missing_images: Vec::new(),
        });
    }
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        if crate::render::is_notes(&t.name) {
            continue;
        }
        if let Err(refused) = crate::manifest::check(&t.name, &output.text.text) {
            out.push(Unrendered {
                template: t.name.clone(),
                error: refused.message,
                fails_in_helm: false,
                missing_images: Vec::new(),
            });
        }
    }
    // An idle block belongs to the chart whose values hold it (the deepest values base).
    let owner = |path: &ValuesPath| {
        (0..renderer.charts.len())
            .filter(|&i| path.starts_with(&renderer.charts[i].values_base))
            .max_by_key(|&i| renderer.charts[i].values_base.steps().len())
    };
    let failing: BTreeSet<usize> =
        out.iter().filter(|u| !u.fails_in_helm).filter_map(|u| renderer.chart_of(&u.template)).collect();
    let (missing, still_idle): (Vec<IdleImage>, Vec<IdleImage>) =
        std::mem::take(idle).into_iter().partition(|i| owner(&i.values_path).is_some_and(|c| failing.contains(&c)));
    *idle = still_idle;
    // Listed once per chart, under its first failing manifest (a helper's failure shows up again
    // in every manifest that includes it).
    for image in missing {
        let chart = owner(&image.values_path);
        let of_chart = |u: &Unrendered| !u.fails_in_helm && renderer.chart_of(&u.template) == chart;
        let is_partial = |u: &Unrendered| u.template.rsplit('/').next().is_some_and(|f| f.starts_with('_'));
        let at = out.iter().position(|u| of_chart(u) && !is_partial(u)).or_else(|| out.iter().position(of_chart));
        if let Some(at) = at {
            out[at].missing_images.push(image);
        }
    }
    out
}

/// An image spelled in values that the scanned values do not render.
#[derive(Debug, Clone, Serialize)]
pub struct IdleImage {
    pub values_path: ValuesPath,
    pub reference: String,
}

/// Image blocks in `values` (a `repository` string with its `registry`/`tag`/`digest` siblings, or
/// an `image` string that reads as a reference) whose keys no rendered site used.
pub fn idle_images(values: &Value, used: &BTreeSet<ValuesPath>) -> Vec<IdleImage> {
    fn text(map: &crate::values::Map, key: &str) -> Option<String> {
        map.get(key).and_then(Value::scalar_text).filter(|t| !t.is_empty())
    }
    fn walk(value: &Value, at: ValuesPath, used: &HashSet<ValuesPath>, out: &mut Vec<IdleImage>) {
        let Value::Map(map) = value else { return };
        let is_used = |p: &ValuesPath| used.contains(p);
        if let Some(repository) = text(map, "repository") {
            if !is_used(&at) {
                let mut reference = match text(map, "registry") {
                    Some(registry) => format!("{registry}/{repository}"),
                    None => repository,
                };
                if let Some(tag) = text(map, "tag") {
                    reference = format!("{reference}:{tag}");
                }
                if let Some(digest) = text(map, "digest") {
                    reference = format!("{reference}@{digest}");
                }
                if Reference::parse(&reference).is_ok() && !reference.contains("{{") {
                    out.push(IdleImage { values_path: at.clone(), reference });
                }
            }
            return;
        }
        for (key, child) in map {
            let path = at.child(key);
            match child {
                Value::String(s) if key == "image" && Reference::looks_like_reference(s) && !is_used(&path) => {
                    out.push(IdleImage { values_path: path.clone(), reference: s.clone() });
                }
                _ => walk(child, path, used, out),
            }
        }
    }
    let mut out = Vec::new();
    // A block is used when some used key lies at or below it: every used key and its ancestors.
    let mut at_or_above: HashSet<ValuesPath> = HashSet::new();
    for key in used {
        let mut path = Some(key.clone());
        while let Some(p) = path {
            if !at_or_above.insert(p.clone()) {
                break; // its ancestors are in already
            }
            path = p.parent();
        }
    }
    walk(values, ValuesPath::root(), &at_or_above, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_blocks_no_template_used_are_reported_idle() {
        let values = crate::yaml::parse(
            "agent:\n  image: {repository: ghcr.io/org/agent, tag: '1.0'}\n  \
             clustered:\n    image: {registry: docker.io, repository: grafana/alloy, tag: v1.11.3}\n\
             sidecar:\n  image: quay.io/org/sidecar:2.0\n",
            "values.yaml",
        )
        .unwrap();
        // `agentX` starts like `agent` as text, not as a path: its block stays idle.
        let used: BTreeSet<ValuesPath> = [ValuesPath::parse("agent.image.repository")].into();
        let idle: Vec<(String, String)> =
            idle_images(&values, &used).into_iter().map(|i| (i.values_path.to_string(), i.reference)).collect();
        assert_eq!(
            idle,
            [
                ("agent.clustered.image".to_string(), "docker.io/grafana/alloy:v1.11.3".to_string()),
                ("sidecar.image".to_string(), "quay.io/org/sidecar:2.0".to_string()),
            ]
        );
    }
}
