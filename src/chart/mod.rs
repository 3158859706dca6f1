//! The chart tree: each chart's Chart.yaml fields, values, templates and `.Files`, its subcharts
//! under their alias; `load` builds it from files, `coalesce` composes the values Helm hands it.

use std::collections::BTreeMap;
use std::fmt;

use crate::values::{Step, Value, ValuesPath};

mod coalesce;
mod load;

pub use coalesce::{effective_values, effective_values_and_status, enabled, scoped_values};
pub use load::load;

/// Where a chart sits in the tree: the values keys from the root to it, root first, shown as
/// `cloudzero-agent > kubeStateMetrics`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChartPath(Vec<String>);

impl ChartPath {
    /// The root chart's path: its key alone.
    pub fn root(key: impl Into<String>) -> ChartPath {
        ChartPath(vec![key.into()])
    }

    /// The path of the subchart under `key`.
    pub fn child(&self, key: impl Into<String>) -> ChartPath {
        let mut keys = self.0.clone();
        keys.push(key.into());
        ChartPath(keys)
    }

    pub fn keys(&self) -> &[String] {
        &self.0
    }

    /// This chart or one below it.
    pub fn starts_with(&self, other: &ChartPath) -> bool {
        self.0.starts_with(&other.0)
    }

    /// Where this chart's values sit in the root's values: the keys after the root's.
    pub fn values_path(&self) -> ValuesPath {
        ValuesPath::from_steps(self.0.iter().skip(1).map(|k| Step::Key(k.clone())).collect())
    }
}

impl fmt::Display for ChartPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" > "))
    }
}

/// Whether each chart of the tree is enabled, and the reason when it is not ("condition
/// kubeStateMetrics.enabled is false"). `coalesce` records it while deciding dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubchartStatus {
    charts: BTreeMap<ChartPath, Result<(), String>>,
}

impl SubchartStatus {
    /// Records `path` as enabled unless a decision is already recorded.
    fn enable(&mut self, path: &ChartPath) {
        self.charts.entry(path.clone()).or_insert(Ok(()));
    }

    fn disable(&mut self, path: &ChartPath, reason: String) {
        self.charts.insert(path.clone(), Err(reason));
    }

    /// Its conditions and tags were decided and hold.
    pub fn is_enabled(&self, path: &ChartPath) -> bool {
        matches!(self.charts.get(path), Some(Ok(())))
    }

    /// Why the chart at `path` is disabled; None when it is enabled or was never decided.
    pub fn why_disabled(&self, path: &ChartPath) -> Option<&str> {
        self.charts.get(path).and_then(|state| state.as_ref().err()).map(String::as_str)
    }

    /// The chart or one above it is disabled.
    pub fn is_off(&self, path: &ChartPath) -> bool {
        self.charts.iter().any(|(p, state)| state.is_err() && path.starts_with(p))
    }

    /// Every disabled chart with the reason.
    pub fn into_disabled(self) -> BTreeMap<ChartPath, String> {
        self.charts.into_iter().filter_map(|(path, state)| state.err().map(|why| (path, why))).collect()
    }
}

/// One chart of the tree, with the dependency entry of its parent already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The `name` in its Chart.yaml. Helm renames an aliased chart to its alias (`.Chart.Name`
    /// is then the alias); that name is `key`.
    pub name: String,
    /// Values key in the parent: the dependency alias, else the name. The root's key is its name.
    pub key: String,
    /// Keys from the root to here: `cloudzero-agent > kubeStateMetrics`.
    pub path: ChartPath,
    pub metadata: ChartMetadata,
    /// Its own values.yaml (empty map if none).
    pub values: Value,
    /// Text of values.yaml (for `yaml::key_lines`).
    pub values_file: Option<String>,
    /// Text of values.schema.json, which Helm validates the merged values against (`schema`).
    pub schema: Option<String>,
    /// Every file under templates/ (incl. _helpers.tpl, NOTES.txt).
    pub templates: Vec<TemplateFile>,
    /// What `.Files` holds, as Helm fills it: every file of this chart except Chart.yaml,
    /// Chart.lock, values.yaml, values.schema.json, templates/ and charts/ (`.prov` files in
    /// charts/ stay; requirements.yaml/.lock stay for apiVersion v1 charts). Not its subcharts.
    /// Shared, so that every render's `.Files` is the same map, not a copy.
    pub files: std::sync::Arc<BTreeMap<String, Vec<u8>>>,
    pub subcharts: Vec<Chart>,
    /// From the parent's dependency entry (None/empty for the root and undeclared subcharts).
    pub condition: Option<String>,
    pub tags: Vec<String>,
    /// The parent's dependency entry that brought this chart in; None for the root and for a
    /// chart found in charts/ that no dependency names (Helm still loads those).
    pub dependency: Option<Dependency>,
    /// Where it came from, for messages: "perfectscale-agent-1.0.0.tgz > charts/ksm-5.1.0.tgz".
    pub source: String,
}

/// Chart.yaml's fields this tool uses. Text fields hold what Go's string fields would hold:
/// `appVersion: 1.10` is "1.1", as `.Chart.AppVersion` renders it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartMetadata {
    pub api_version: String,
    pub name: String,
    pub version: String,
    pub app_version: Option<String>,
    pub chart_type: ChartType,
    pub dependencies: Vec<Dependency>,
    /// The whole Chart.yaml document: templates read any field through `.Chart`
    /// (`.Chart.Annotations`, `.Chart.KubeVersion`).
    pub document: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChartType {
    #[default]
    Application,
    Library,
}

/// One entry of Chart.yaml `dependencies` (or requirements.yaml for apiVersion v1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dependency {
    pub name: String,
    pub alias: Option<String>,
    pub condition: Option<String>,
    pub tags: Vec<String>,
    pub version: String,
    pub repository: String,
    pub import_values: Vec<ImportValue>,
}

/// An `import-values` entry: a name under the child's `exports`, or a child path into a parent path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportValue {
    Exports(String),
    Path { child: String, parent: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    /// "templates/deploy.yaml", relative to its chart.
    pub path: String,
    pub source: String,
}

impl Chart {
    /// "cloudzero-agent > kubeStateMetrics"
    pub fn display_path(&self) -> String {
        self.path.to_string()
    }

    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == ChartType::Library
    }

    /// Every chart of the tree, pre-order, root first.
    pub fn walk(&self) -> impl Iterator<Item = &Chart> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let next = stack.pop()?;
            stack.extend(next.subcharts.iter().rev());
            Some(next)
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Small chart trees the loading and the values tests share.

    use super::{load, Chart};
    use crate::source::ChartFiles;
    use crate::values::{Value, ValuesPath};
    use crate::yaml;

    /// A chart from (path, text) pairs, as if read from a directory named `name`.
    pub(super) fn files(name: &str, entries: &[(&str, &str)]) -> ChartFiles {
        ChartFiles {
            name: name.to_string(),
            files: entries.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect(),
        }
    }

    pub(super) fn v(text: &str) -> Value {
        yaml::parse_values(text, "test.yaml").unwrap()
    }

    pub(super) fn get(value: &Value, path: &str) -> Option<Value> {
        value.get(&ValuesPath::parse(path)).cloned()
    }

    #[allow(clippy::unnecessary_wraps, reason = "compared with what `get` returns")]
    pub(super) fn s(text: &str) -> Option<Value> {
        Some(Value::String(text.into()))
    }

    /// A parent with a subchart `db` under alias `database`, both with globals and defaults.
    pub(super) fn aliased() -> Chart {
        load(&files(
            "shop",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: shop\nversion: 1.0.0\nappVersion: 1.10\ndependencies:\n\
                     - name: db\n  version: 2.0.0\n  alias: database\n  condition: database.enabled\n",
                ),
                (
                    "values.yaml",
                    "global:\n  imageRegistry: mirror.local\n  labels: {team: shop}\n\
                     image: {repository: shop/web, tag: '1.0'}\ndatabase:\n  image:\n    tag: '16.1'\n",
                ),
                ("templates/deploy.yaml", "kind: Deployment\n"),
                ("templates/_helpers.tpl", "{{- define \"x\" }}{{ end }}\n"),
                ("files/init.sql", "select 1;\n"),
                ("charts/db/Chart.yaml", "apiVersion: v2\nname: db\nversion: 2.0.0\n"),
                (
                    "charts/db/values.yaml",
                    "enabled: true\nglobal:\n  imageRegistry: docker.io\n  labels: {tier: data}\n  \
                     storageClass: standard\nimage:\n  repository: library/postgres\n  tag: '15.0'\n  \
                     pullPolicy: IfNotPresent\n",
                ),
                ("charts/db/templates/sts.yaml", "kind: StatefulSet\n"),
            ],
        ))
        .unwrap()
    }
}
