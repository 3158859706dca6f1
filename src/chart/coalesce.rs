//! Helm's values composition over the chart tree: which subcharts are enabled (conditions, tags),
//! import-values, coalescing defaults under user values, and `global` flowing down.
//!
//! The value rules are a port of Helm v4.2.3 `pkg/chart/common/util/coalesce.go` and
//! `pkg/chart/v2/util/dependencies.go`, quirks included, because `helm template` is the reference.
//! Checked against the Helm v4.2.3 engine (aliases, nulls, globals, tags, conditions, imports).
//! One known difference: Go shares nested maps of `global` between a parent and its subcharts, so
//! a subchart default at `global.a.b.<key>` (three levels down) also shows up in the parent's
//! `global.a.b` in Helm; here each chart keeps its own copy.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::{Chart, ChartPath, ImportValue, SubchartStatus};
use crate::values::{Map, Value};

/// A chart while values are composed: Helm rewrites each chart's values (import-values) and drops
/// disabled subcharts, so a chart's values are copied only when import-values rewrites them (the
/// walk runs once per render, and planning renders many times).
struct Node<'a> {
    chart: &'a Chart,
    values: Cow<'a, Map>,
    deps: Vec<Node<'a>>,
}

impl<'a> Node<'a> {
    fn full(chart: &'a Chart) -> Self {
        Node { chart, values: chart_values(chart), deps: chart.subcharts.iter().map(Node::full).collect() }
    }
}

fn chart_values(chart: &Chart) -> Cow<'_, Map> {
    chart.values.as_map().map_or_else(|| Cow::Owned(Map::new()), Cow::Borrowed)
}

/// Helm's value composition for the whole tree: returns the root's effective values (defaults coalesced
/// with `user`, each subchart's defaults under its key, `global` propagated down and merged) exactly as
/// `helm template -f user.yaml` would hand to templates. Disabled subcharts contribute no defaults.
pub fn effective_values(root: &Chart, user: &Value) -> Value {
    effective_values_and_status(root, user).0
}

/// `effective_values` and `enabled` from one pass over the tree (both need Helm's walk).
pub fn effective_values_and_status(root: &Chart, user: &Value) -> (Value, SubchartStatus) {
    let user = user.as_map().cloned().unwrap_or_default();
    let mut status = SubchartStatus::default();
    let mut node = enable(root, user.clone(), "", &mut status);
    import_values(&mut node);
    let mut out = user;
    coalesce(&node, &mut out, false);
    (Value::Map(out), status)
}

/// The `.Values` a given chart's templates see (its subtree of effective values, with globals merged in).
pub fn scoped_values(effective: &Value, chart_path: &ChartPath) -> Value {
    let mut node = effective;
    for key in chart_path.keys().iter().skip(1) {
        match node.as_map().and_then(|m| m.get(key)) {
            Some(v @ Value::Map(_)) => node = v,
            _ => return Value::Map(Map::new()),
        }
    }
    match node {
        Value::Map(_) => node.clone(),
        _ => Value::Map(Map::new()),
    }
}

/// Whether each chart is enabled under `effective` (condition paths, `tags`, Helm's precedence); the
/// reason when disabled ("condition kubeStateMetrics.enabled is false"). `effective` may be the
/// user's values or `effective_values` of them: Helm coalesces the chart defaults in either way.
pub fn enabled(root: &Chart, effective: &Value) -> SubchartStatus {
    let values = effective.as_map().cloned().unwrap_or_default();
    let mut status = SubchartStatus::default();
    enable(root, values, "", &mut status);
    status
}

/// Helm's `processDependencyEnabled`: coalesce everything, decide this chart's dependencies by
/// tags then conditions (a condition that resolves to a boolean wins), recurse into the enabled.
fn enable<'a>(chart: &'a Chart, values: Map, prefix: &str, status: &mut SubchartStatus) -> Node<'a> {
    status.enable(&chart.path);
    // The coalesced values only decide dependencies: a chart without any needs none. The last
    // dependency is handed this chart's copy (nothing decides after it), the others a clone, so a
    // chain of nested charts copies the tree once per level rather than twice, and a leaf none.
    let mut deps = Vec::new();
    if chart.subcharts.is_empty() {
        return Node { chart, values: chart_values(chart), deps };
    }
    let mut cvals = Some(values);
    if let Some(cvals) = &mut cvals {
        coalesce(&Node::full(chart), cvals, false);
    }
    let last = chart.subcharts.len() - 1;
    for (index, sub) in chart.subcharts.iter().enumerate() {
        let Some(current) = cvals.as_ref() else { unreachable!("only the last dependency takes the values") };
        let tags = match current.get("tags") {
            Some(Value::Map(t)) => Some(t),
            _ => None,
        };
        let decision = match &sub.dependency {
            None => Ok(()),
            Some(_) => decide(sub, tags, current, prefix),
        };
        match decision {
            Ok(()) => {
                let sub_prefix = format!("{prefix}{}.", sub.key);
                let handed = match () {
                    // A leaf decides nothing: no copy for it (a flat umbrella would copy the tree per subchart).
                    () if sub.subcharts.is_empty() => Map::new(),
                    () if index == last => cvals.take().unwrap_or_default(),
                    () => decisive_part(current, &sub_prefix),
                };
                deps.push(enable(sub, handed, &sub_prefix, status));
            }
            Err(reason) => {
                for below in sub.walk().skip(1) {
                    status.disable(&below.path, format!("its parent {} is disabled", sub.display_path()));
                }
                status.disable(&sub.path, reason);
            }
        }
    }
    Node { chart, values: chart_values(chart), deps }
}

/// The part of a chart's coalesced values that decides anything below the dependency at `prefix`:
/// `tags`, the branch the prefix starts with (every condition below is looked up there) and
/// `global` (what that branch coalesces with). Coalescing treats top-level keys independently,
/// so the rest of the tree cannot change a decision below, and copying it per subchart made the
/// walk quadratic in subcharts.
fn decisive_part(values: &Map, prefix: &str) -> Map {
    let branch = prefix.split('.').next().unwrap_or_default();
    values
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "tags" | "global") || *k == branch)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn decide(sub: &Chart, tags: Option<&Map>, cvals: &Map, prefix: &str) -> Result<(), String> {
    let mut result = Ok(());
    if let Some(tags) = tags {
        let (mut any_true, mut any_false) = (false, false);
        for tag in &sub.tags {
            match tags.get(tag) {
                Some(Value::Bool(true)) => any_true = true,
                Some(Value::Bool(false)) => any_false = true,
                _ => {}
            }
        }
        if !any_true && any_false {
            result = Err(format!("tags {} are false", sub.tags.join(", ")));
        }
    }
    if let Some(condition) = &sub.condition {
        // Helm trims the whole list, not each path: "a, b" looks up " b" (and finds nothing).
        for path in condition.trim().split(',').filter(|p| !p.is_empty()) {
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{prefix}{path}")) {
                result = if *b { Ok(()) } else { Err(format!("condition {path} is false")) };
                break;
            }
        }
    }
    result
}

/// Helm's `Values.PathValue`: the non-map value at a dotted path.
fn path_value<'v>(values: &'v Map, path: &str) -> Option<&'v Value> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop()?;
    let table = table(values, &parts)?;
    table.get(last).filter(|v| !matches!(v, Value::Map(_)))
}

fn table<'v>(values: &'v Map, parts: &[&str]) -> Option<&'v Map> {
    parts.iter().try_fold(values, |m, part| match m.get(*part) {
        Some(Value::Map(inner)) => Some(inner),
        _ => None,
    })
}

/// Helm's `processDependencyImportValues`, always in merge mode as `helm template` runs it:
/// children first, then each chart with enabled declared dependencies gets its values replaced by
/// its merged tree plus what it imports.
fn import_values(node: &mut Node) {
    for dep in &mut node.deps {
        import_values(dep);
    }
    if !node.deps.iter().any(|d| d.chart.dependency.is_some()) {
        return;
    }
    let mut cvals = Map::new();
    coalesce(node, &mut cvals, true);
    let mut imported = Map::new();
    for dep in &node.deps {
        let Some(dependency) = &dep.chart.dependency else {
            continue;
        };
        for import in &dependency.import_values {
            let (child, parent) = match import {
                ImportValue::Exports(name) => (format!("exports.{name}"), ".".to_string()),
                ImportValue::Path { child, parent } => (child.clone(), parent.clone()),
            };
            let full = format!("{}.{child}", dep.chart.key);
            let parts: Vec<&str> = full.split('.').collect();
            let Some(found) = table(&cvals, &parts) else {
                continue;
            };
            let mut nested = found.clone();
            if parent != "." {
                for key in parent.split('.').rev() {
                    nested = Map::from([(key.to_string(), Value::Map(nested))]);
                }
            }
            coalesce_tables(&mut imported, nested, true);
        }
    }
    coalesce_tables(&mut cvals, imported, true);
    node.values = Cow::Owned(cvals);
}

/// Helm's `coalesce`: this chart's defaults under `dest`, then each dependency's under its key.
fn coalesce(node: &Node, dest: &mut Map, merge: bool) {
    coalesce_values(node, dest, merge);
    for sub in &node.deps {
        let key = &sub.chart.key;
        // Helm stops with "type mismatch" here; a non-map cannot hold the subchart's values.
        let mut sub_values = match dest.remove(key) {
            Some(Value::Map(m)) => m,
            _ => Map::new(),
        };
        coalesce_globals(&mut sub_values, dest);
        coalesce(sub, &mut sub_values, merge);
        dest.insert(key.clone(), Value::Map(sub_values));
    }
}

/// Helm's `coalesceGlobals`: the parent's `global` wins over what the subchart was handed;
/// the subchart's own defaults fill in later.
fn coalesce_globals(dest: &mut Map, parent: &Map) {
    if matches!(dest.get("global"), Some(v) if !matches!(v, Value::Map(_)))
        || matches!(parent.get("global"), Some(v) if !matches!(v, Value::Map(_)))
    {
        return;
    }
    let mut dg = match dest.remove("global") {
        Some(Value::Map(m)) => m,
        _ => Map::new(),
    };
    let sg = match parent.get("global") {
        Some(Value::Map(m)) => m.clone(),
        _ => Map::new(),
    };
    for (key, val) in sg {
        match val {
            Value::Map(mut vv) => match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Map(vv));
                }
                Some(Value::Map(destv)) => {
                    coalesce_tables(&mut vv, destv.clone(), true);
                    dg.insert(key, Value::Map(vv));
                }
                Some(_) => {}
            },
            other => {
                if !matches!(dg.get(&key), Some(Value::Map(_))) {
                    dg.insert(key, other);
                }
            }
        }
    }
    dest.insert("global".into(), Value::Map(dg));
}

/// Helm's `coalesceValues`: the chart's defaults fill in `v`; a user `null` deletes a default.
/// The defaults are borrowed: only what `v` lacks is copied (Helm's deep copy of each default,
/// then dropped where `v` wins, was most of the walk on deeply nested charts).
fn coalesce_values(node: &Node, v: &mut Map, merge: bool) {
    for (key, default) in node.values.iter() {
        match v.get_mut(key) {
            Some(Value::Null) => {
                if !merge {
                    v.remove(key);
                }
            }
            Some(Value::Map(dest)) => {
                if let Value::Map(src) = default {
                    let merge = merge || node.deps.iter().any(|d| &d.chart.key == key);
                    // Not merging, Helm first drops the nulls of the default (`cleanNilValues`).
                    coalesce_tables_ref(dest, src, merge, !merge);
                }
            }
            Some(_) => {}
            None => {
                if merge {
                    v.insert(key.clone(), default.clone());
                } else if !default.is_null() {
                    v.insert(key.clone(), clone_without_nils(default));
                }
            }
        }
    }
}

/// `coalesce_tables(dst, src.clone(), merge)` without the copy, after `clean_nils` of the copy
/// when `clean`: a key of `src` is visited once, and copied only when `dst` lacks it.
fn coalesce_tables_ref(dst: &mut Map, src: &Map, merge: bool, clean: bool) {
    for (key, val) in src {
        if clean && val.is_null() {
            continue;
        }
        match dst.get_mut(key) {
            None => {
                let val = if clean { clone_without_nils(val) } else { val.clone() };
                dst.insert(key.clone(), val);
            }
            Some(Value::Null) => {
                if !merge && !val.is_null() {
                    dst.remove(key);
                }
            }
            Some(Value::Map(dv)) => {
                if let Value::Map(sv) = val {
                    coalesce_tables_ref(dv, sv, merge, clean);
                }
            }
            Some(_) => {}
        }
    }
}

/// `value.clone()` then `clean_nils` of it, in one pass.
fn clone_without_nils(value: &Value) -> Value {
    match value {
        Value::Map(m) => Value::Map(
            m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), clone_without_nils(v))).collect(),
        ),
        other => other.clone(),
    }
}

/// Helm's `coalesceTablesFullKey`: `dst` wins; maps merge; when coalescing, a `null` in `dst`
/// over a default deletes the key.
fn coalesce_tables(dst: &mut Map, mut src: Map, merge: bool) {
    let src_non_nil: BTreeSet<String> = src.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()).collect();
    for (key, val) in dst.iter() {
        if val.is_null() {
            src.insert(key.clone(), Value::Null);
        }
    }
    for (key, val) in src {
        match dst.get_mut(&key) {
            None => {
                dst.insert(key, val);
            }
            Some(Value::Null) => {
                if !merge && src_non_nil.contains(&key) {
                    dst.remove(&key);
                }
            }
            Some(Value::Map(dv)) => {
                if let Value::Map(sv) = val {
                    coalesce_tables(dv, sv, merge);
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{aliased, files, get, s, v};
    use super::super::{load, ChartPath, SubchartStatus};
    use super::{effective_values, enabled, scoped_values};
    use crate::values::{Map, Value};

    #[test]
    fn parent_overrides_subchart_defaults_and_globals_flow_down() {
        let root = aliased();
        let eff = effective_values(&root, &v("database:\n  image:\n    pullPolicy: Always\n"));
        assert_eq!(get(&eff, "database.image.tag"), s("16.1"), "parent values.yaml wins");
        assert_eq!(get(&eff, "database.image.repository"), s("library/postgres"));
        assert_eq!(get(&eff, "database.image.pullPolicy"), s("Always"), "user wins");
        assert_eq!(get(&eff, "database.global.imageRegistry"), s("mirror.local"));
        assert_eq!(get(&eff, "database.global.storageClass"), s("standard"));
        assert_eq!(get(&eff, "database.global.labels.team"), s("shop"));
        assert_eq!(get(&eff, "database.global.labels.tier"), s("data"));
        assert_eq!(get(&eff, "global.storageClass"), None, "globals do not flow up");
        let scoped = scoped_values(&eff, &root.subcharts[0].path);
        assert_eq!(get(&scoped, "image.tag"), s("16.1"));
        assert_eq!(get(&scoped, "global.imageRegistry"), s("mirror.local"));
        let user_global = effective_values(&root, &v("global:\n  imageRegistry: user.local\n"));
        assert_eq!(get(&user_global, "database.global.imageRegistry"), s("user.local"));
    }

    #[test]
    fn user_null_deletes_a_default_at_any_level() {
        let root = aliased();
        let eff = effective_values(&root, &v("image:\n  tag: null\ndatabase:\n  image:\n    pullPolicy: null\n"));
        assert_eq!(get(&eff, "image.tag"), None);
        assert_eq!(get(&eff, "image.repository"), s("shop/web"));
        assert_eq!(get(&eff, "database.image.pullPolicy"), None);
        assert_eq!(get(&eff, "database.image.repository"), s("library/postgres"));
    }

    #[test]
    fn conditions_disable_and_drop_subchart_defaults() {
        let root = aliased();
        let user = v("database:\n  enabled: false\n");
        let eff = effective_values(&root, &user);
        assert_eq!(get(&eff, "database.image.repository"), None, "no defaults of a disabled chart");
        let status = enabled(&root, &eff);
        let db = ChartPath::root("shop").child("database");
        assert_eq!(status.why_disabled(&db), Some("condition database.enabled is false"));
        assert!(status.is_enabled(&ChartPath::root("shop")));
        assert!(enabled(&root, &Value::Map(Map::new())).is_enabled(&db));
    }

    fn tagged(user: &str) -> SubchartStatus {
        let root = load(&files(
            "app",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n\
                     - {name: metrics, version: 1.0.0, tags: [monitoring, extras]}\n\
                     - {name: logs, version: 1.0.0, tags: [extras], condition: logs.on}\n",
                ),
                ("values.yaml", "tags:\n  extras: false\n"),
                ("charts/metrics/Chart.yaml", "apiVersion: v2\nname: metrics\nversion: 1.0.0\n"),
                ("charts/logs/Chart.yaml", "apiVersion: v2\nname: logs\nversion: 1.0.0\n"),
                ("charts/logs/values.yaml", "on: true\n"),
            ],
        ))
        .unwrap();
        enabled(&root, &v(user))
    }

    #[test]
    fn tags_and_conditions_follow_helm_precedence() {
        let metrics = ChartPath::root("app").child("metrics");
        let logs = ChartPath::root("app").child("logs");
        // `on:` is the YAML 1.1 boolean key "true", so `logs.on` is not found: tags decide.
        let status = tagged("");
        assert!(status.why_disabled(&metrics).unwrap().contains("tags"));
        assert!(status.why_disabled(&logs).is_some());
        let status = tagged("tags:\n  monitoring: true\n");
        assert!(status.is_enabled(&metrics), "one true tag enables");
        let status = tagged("logs:\n  'on': true\n");
        assert!(status.is_enabled(&logs), "a condition that resolves wins over tags");
    }

    #[test]
    fn import_values_copy_child_values_into_the_parent() {
        let root = load(&files(
            "app",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: child\n  version: 1.0.0\n  \
                     import-values:\n  - data\n  - child: image\n    parent: childImage\n",
                ),
                ("values.yaml", "childImage:\n  tag: parent-wins\n"),
                ("charts/child/Chart.yaml", "apiVersion: v2\nname: child\nversion: 1.0.0\n"),
                (
                    "charts/child/values.yaml",
                    "exports:\n  data:\n    port: 8080\nimage:\n  repository: child/img\n  tag: child-tag\n",
                ),
            ],
        ))
        .unwrap();
        let eff = effective_values(&root, &Value::Null);
        assert_eq!(get(&eff, "port"), Some(Value::Int(8080)));
        assert_eq!(get(&eff, "childImage.repository"), s("child/img"));
        assert_eq!(get(&eff, "childImage.tag"), s("parent-wins"));
    }
}
