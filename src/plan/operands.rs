//! Operands: charts an operator installs itself, planned like any chart, their overlays written
//! under the operator values map that the templates render whole into a custom resource.

use std::collections::BTreeMap;

use super::{plan, Outcome, RetargetPlan};
use crate::chart::Chart;
use crate::diagnostic::{Code, Diagnostic};
use crate::mapping::RegistryMapping;
use crate::render::{RenderOptions, TreeRender, TreeRenderer};
use crate::site::{ObjectField, ObjectRef};
use crate::values::{Step, Value, ValuesPath};

/// A chart an operator installs itself (seed 000), planned like any chart; its overlay goes under
/// `values_path` of the operator chart, which the templates render whole into `field` of a custom
/// resource that the operator merges over the operand chart's defaults.
#[derive(Debug, Clone)]
pub struct Operand {
    pub name: String,
    pub plan: RetargetPlan,
    pub values_path: ValuesPath,
    /// `AgentSet/release-agents spec.exporter.helmValues`.
    pub field: ObjectField,
}

/// The key a probe adds to a candidate map, to see where the templates render that map.
const OPERAND_PROBE_KEY: &str = "helm-retarget-operand-probe";

/// At most this many values maps are probed to find where an operand's values are rendered.
const OPERAND_PROBES: usize = 64;

/// Plans each operand chart and writes its overlay into the operator plan, under the values map
/// that the operator chart's templates render whole into a custom-resource field. That map is
/// found by rendering: each candidate map gets a probe key, and the one whose whole content then
/// appears as a mapping in a custom resource (not a pod spec) is the operand's values. Maps whose
/// path names the operand are tried first, deepest first. Every render is for the cluster `options`
/// describes, the operands' too.
pub fn with_operands(
    mut operator: RetargetPlan,
    root: &Chart,
    user: &Value,
    operands: &[(String, Chart)],
    mapping: &RegistryMapping,
    pull_secrets: &[String],
    options: &RenderOptions,
) -> crate::error::Result<(RetargetPlan, Vec<Operand>)> {
    let renderer = TreeRenderer::with_options(root, options.clone()).repeatable();
    let (base, _, _) = renderer.with_placeholders(user);
    let mut found = Vec::new();
    for (name, chart) in operands {
        let operand = plan(chart, &Value::Map(BTreeMap::default()), mapping, pull_secrets, options)
            .map_err(|e| e.at(format!("operand {name}")))?;
        let values = crate::values::coalesce(&base, &operator.overlay);
        let render = renderer.render(&values);
        let Some((values_path, field)) = operand_values_path(&renderer, &values, &render.covering, name) else {
            return Err(crate::error::Error::coded(
                Code::OperandHasNoPlace,
                format!(
                    "operand {name}: no values map of {} is rendered whole into a custom resource field, so there is \
                 nowhere to put {}'s overlay",
                    operator.chart, operand.chart
                ),
            )
            .hint(
                "name the operand as the operator chart's values and custom resource name it (`--operand NAME=CHART`)",
            ));
        };
        let existing = operator.overlay.get(&values_path).cloned().unwrap_or_default();
        operator.overlay.set(&values_path, crate::values::coalesce(&existing, &operand.overlay));
        for (key, lines) in &operand.comments {
            operator.comments.entry(values_path.join(key)).or_default().extend(lines.iter().cloned());
        }
        operator
            .comments
            .entry(values_path.clone())
            .or_default()
            .insert(0, format!("values the operator merges over operand chart {} ({field})", operand.chart));
        for m in &operand.moves {
            let mut m = m.clone();
            m.chart = format!("{} > operand {name} ({})", operator.chart, m.chart);
            m.keys = m.keys.iter().map(|k| values_path.join(k)).collect();
            if let Outcome::Moved { keys } = &mut m.outcome {
                *keys = keys.iter().map(|k| values_path.join(k)).collect();
            }
            operator.moves.push(m);
        }
        operator.warnings.extend(operand.warnings.iter().map(|w| w.clone().at(format!("operand {name}"))));
        found.push(Operand { name: name.clone(), plan: operand, values_path, field });
    }
    // The values every operand will see are what the operator chart renders into its field: check
    // by rendering the operator chart with the whole overlay.
    let values = crate::values::coalesce(&base, &operator.overlay);
    let render = renderer.render(&values);
    operator.effective_after = render.effective.clone();
    for operand in &found {
        let rendered = rendered_field(&render, &operand.field);
        let wanted = render.effective.get(&operand.values_path);
        if rendered.as_ref() != wanted {
            operator.warnings.push(
                Diagnostic::new(
                    Code::OperandValuesDiffer,
                    format!("{} does not render exactly the values under {}", operand.field, operand.values_path),
                )
                .at(format!("operand {}", operand.name)),
            );
        }
    }
    Ok((operator, found))
}

/// The values map rendered whole into a custom-resource field, and that field.
fn operand_values_path(
    renderer: &TreeRenderer<'_>,
    values: &Value,
    covering: &Value,
    name: &str,
) -> Option<(ValuesPath, ObjectField)> {
    let mut candidates = Vec::new();
    map_paths(covering, &ValuesPath::root(), &mut candidates);
    let names = |p: &ValuesPath| p.steps().iter().any(|s| matches!(s, Step::Key(k) if k == name));
    candidates.sort_by_key(|p| (!names(p), std::cmp::Reverse(p.steps().len()), p.to_string()));
    for path in candidates.into_iter().take(OPERAND_PROBES) {
        let key = ValuesPath::root().child(OPERAND_PROBE_KEY);
        let mut trial = values.clone();
        let mut probe = values.get(&path).cloned().unwrap_or_else(|| Value::Map(BTreeMap::default()));
        if !matches!(probe, Value::Map(_)) {
            continue;
        }
        probe.set(&key, Value::String(name.to_string()));
        trial.set(&path, probe);
        let render = renderer.render(&trial);
        // The chart's defaults merge in under the probe: look for the map as the templates see it.
        let Some(expected) = render.effective.get(&path).filter(|v| v.get(&key).is_some()) else { continue };
        if let Some(field) = field_holding(&render, expected) {
            return Some((path, field));
        }
    }
    None
}

fn map_paths(value: &Value, at: &ValuesPath, out: &mut Vec<ValuesPath>) {
    if let Value::Map(map) = value {
        if !at.is_root() {
            out.push(at.clone());
        }
        for (k, child) in map {
            map_paths(child, &at.child(k), out);
        }
    }
}

/// The field holding a mapping equal to `wanted` in an object that is not a pod.
fn field_holding(render: &TreeRender, wanted: &Value) -> Option<ObjectField> {
    fn walk(value: &Value, at: &str, wanted: &Value) -> Option<String> {
        if value == wanted {
            return Some(at.to_string());
        }
        match value {
            Value::Map(map) => map.iter().find_map(|(k, v)| {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                walk(v, &path, wanted)
            }),
            Value::List(items) => items.iter().enumerate().find_map(|(i, v)| walk(v, &format!("{at}[{i}]"), wanted)),
            _ => None,
        }
    }
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        let Ok(documents) = crate::yaml::parse_documents(&output.text.text, &t.name) else { continue };
        for doc in documents {
            let text = |p: &str| doc.get(&ValuesPath::parse(p)).and_then(Value::as_str).unwrap_or_default().to_string();
            let kind = text("kind");
            if kind.is_empty() || crate::kube::is_pod_kind(&kind) || kind == "ConfigMap" || kind == "Secret" {
                continue;
            }
            let Some(spec) = doc.as_map() else { continue };
            for (key, value) in spec {
                if matches!(key.as_str(), "metadata" | "kind" | "apiVersion") {
                    continue;
                }
                if let Some(field) = walk(value, key, wanted) {
                    return Some(ObjectField { object: ObjectRef::new(kind, text("metadata.name")), field });
                }
            }
        }
    }
    None
}

/// The value at a field of an object in a render.
pub fn rendered_field(render: &TreeRender, at: &ObjectField) -> Option<Value> {
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        let Ok(documents) = crate::yaml::parse_documents(&output.text.text, &t.name) else { continue };
        for doc in documents {
            let text = |p: &str| doc.get(&ValuesPath::parse(p)).and_then(Value::as_str).unwrap_or_default().to_string();
            if ObjectRef::new(text("kind"), text("metadata.name")) == at.object {
                return doc.get(&ValuesPath::parse(&at.field)).cloned();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::{chart, render};

    #[test]
    fn the_field_a_values_map_renders_into_is_found_in_a_custom_resource_not_a_pod() {
        let chart = chart(&[
            ("values.yaml", "exporter:\n  replicas: 2\n  image: {tag: \"1\"}\n"),
            (
                "templates/cr.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  held: {{ toYaml .Values.exporter | nindent 4 }}\n\
                 ---\napiVersion: example.com/v1\nkind: AgentSet\nmetadata:\n  name: agents\nspec:\n  exporter:\n    \
                 helmValues: {{ toYaml .Values.exporter | nindent 6 }}\n",
            ),
        ]);
        let render = render(&chart);
        let wanted = render.effective.get(&ValuesPath::parse("exporter")).unwrap().clone();
        let field = field_holding(&render, &wanted);
        let field = field.unwrap();
        assert_eq!(field.to_string(), "AgentSet/agents spec.exporter.helmValues");
        assert_eq!(rendered_field(&render, &field), Some(wanted));
        let other = ObjectField { object: ObjectRef::new("AgentSet", "other"), ..field };
        assert_eq!(rendered_field(&render, &other), None);
    }
}
