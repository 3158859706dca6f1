//! Chart files into a chart tree (Chart.yaml, values, templates, subcharts under their alias), and
//! Helm's rules for which subcharts are enabled and what values each chart's templates see.
//!
//! The value rules are a port of Helm v4.2.3 `pkg/chart/common/util/coalesce.go` and
//! `pkg/chart/v2/util/dependencies.go`, quirks included, because `helm template` is the reference.
//! Checked against the Helm v4.2.3 engine (aliases, nulls, globals, tags, conditions, imports).
//! One known difference: Go shares nested maps of `global` between a parent and its subcharts, so
//! a subchart default at `global.a.b.<key>` (three levels down) also shows up in the parent's
//! `global.a.b` in Helm; here each chart keeps its own copy.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Code;
use crate::error::Error;
use crate::semver;
use crate::source::{self, ChartFiles};
use crate::values::{Map, Value, ValuesPath};
use crate::yaml;

/// One chart of the tree, with the dependency entry of its parent already applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The `name` in its Chart.yaml. Helm renames an aliased chart to its alias (`.Chart.Name`
    /// is then the alias); that name is `key`.
    pub name: String,
    /// Values key in the parent: the dependency alias, else the name. The root's key is its name.
    pub key: String,
    /// Keys from the root to here, root first: ["cloudzero-agent", "kubeStateMetrics"].
    pub path: Vec<String>,
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

/// Loads the chart tree: Chart.yaml (and requirements.yaml), values, templates, and every subchart
/// in charts/ (directories and .tgz, to any depth), matched to the dependencies by name.
pub fn load(files: &ChartFiles) -> Result<Chart, Error> {
    let mut budget = source::InflateBudget::for_chart(files);
    let mut chart = load_one(files, files.name.clone(), &mut budget)?;
    let root_path = vec![chart.key.clone()];
    set_path(&mut chart, root_path);
    Ok(chart)
}

impl Chart {
    /// "cloudzero-agent > kubeStateMetrics"
    pub fn display_path(&self) -> String {
        self.path.join(" > ")
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

fn set_path(chart: &mut Chart, path: Vec<String>) {
    for sub in &mut chart.subcharts {
        let mut sub_path = path.clone();
        sub_path.push(sub.key.clone());
        set_path(sub, sub_path);
    }
    chart.path = path;
}

fn load_one(files: &ChartFiles, source: String, budget: &mut source::InflateBudget) -> Result<Chart, Error> {
    // Text files must be UTF-8, as Helm requires: a replaced byte would silently change a value.
    let utf8 = |name: &str, bytes: &[u8]| -> Result<String, Error> {
        source::utf8(bytes, name).map(str::to_string).map_err(|e| e.at(source.clone()))
    };
    let text =
        |name: &str| -> Result<Option<String>, Error> { files.files.get(name).map(|b| utf8(name, b)).transpose() };
    let chart_yaml = text("Chart.yaml")?.ok_or_else(|| {
        Error::coded(Code::ChartYamlMissing, "no Chart.yaml")
            .at(source.clone())
            .hint("a chart needs a Chart.yaml at its root")
    })?;
    let mut metadata = parse_metadata(&chart_yaml, &source)?;
    if let Some(req) = text("requirements.yaml")? {
        // Helm reads requirements.yaml into the same metadata, whatever the apiVersion.
        let doc = yaml::parse(&req, "requirements.yaml").map_err(|e| e.at(source.clone()))?;
        if doc.get(&ValuesPath::parse("dependencies")).is_some() {
            metadata.dependencies = parse_dependencies(&doc, &req, "requirements.yaml", &source)?;
        }
    }
    let values_file = text("values.yaml")?;
    let schema = text("values.schema.json")?;
    let values = match &values_file {
        Some(t) => yaml::parse_values(t, "values.yaml").map_err(|e| e.at(source.clone()))?,
        None => Value::Map(Map::new()),
    };
    let v1 = metadata.api_version == "v1";
    let mut templates = Vec::new();
    let mut own_files = BTreeMap::new();
    let mut sub_files: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (path, bytes) in &files.files {
        match path.as_str() {
            "Chart.yaml" | "Chart.lock" | "values.yaml" | "values.schema.json" => continue,
            "requirements.yaml" | "requirements.lock" if !v1 => continue,
            _ => {}
        }
        if path.starts_with("templates/") {
            let source = utf8(path, bytes)?;
            templates.push(TemplateFile { path: path.clone(), source });
        } else if let Some(rest) = path.strip_prefix("charts/") {
            if path.ends_with(".prov") {
                own_files.insert(path.clone(), bytes.clone());
                continue;
            }
            let (dir, inner) = rest.split_once('/').unwrap_or((rest, ""));
            sub_files.entry(dir.to_string()).or_default().insert(inner.to_string(), bytes.clone());
        } else {
            own_files.insert(path.clone(), bytes.clone());
        }
    }
    let mut loaded = Vec::new();
    for (dir, entries) in sub_files {
        // Helm skips entries of charts/ whose names start with `_` or `.`.
        if dir.starts_with(['_', '.']) {
            continue;
        }
        let sub_source = format!("{source} > charts/{dir}");
        let sub = if dir.ends_with(".tgz") && entries.len() == 1 && entries.contains_key("") {
            let unpacked = source::read_nested_archive(&entries[""], &dir, budget).map_err(|mut e| {
                e.location.insert(0, source.clone());
                e.location[1] = format!("charts/{dir}");
                e
            })?;
            load_one(&unpacked, sub_source, budget)?
        } else {
            let entries: BTreeMap<String, Vec<u8>> = entries.into_iter().filter(|(k, _)| !k.is_empty()).collect();
            if !entries.contains_key("Chart.yaml") {
                return Err(Error::coded(
                    Code::SubchartNotAChart,
                    "is neither a chart directory (no Chart.yaml) nor a chart archive (.tgz)",
                )
                .at(format!("charts/{dir}"))
                .at(source.clone())
                .hint("remove it from charts/, or run `helm dependency build` to fetch the subcharts"));
            }
            load_one(&ChartFiles { name: sub_source.clone(), files: entries }, sub_source, budget)?
        };
        loaded.push(sub);
    }
    let subcharts =
        attach_dependencies(&metadata, loaded, &source, v1 || files.files.contains_key("requirements.yaml"))?;
    let key = metadata.name.clone();
    Ok(Chart {
        name: metadata.name.clone(),
        key,
        path: Vec::new(),
        metadata,
        values,
        values_file,
        schema,
        templates,
        files: std::sync::Arc::new(own_files),
        subcharts,
        condition: None,
        tags: Vec::new(),
        dependency: None,
        source,
    })
}

/// Helm's order (`processDependencyEnabled`): first the charts in charts/ that no dependency takes,
/// under their own name; then, per dependency, the first chart of its name whose version is in its
/// range (an alias makes a copy, so one chart can appear twice under two keys). A dependency whose
/// charts are all outside its range takes none: its alias is ignored, as Helm ignores it.
fn attach_dependencies(
    metadata: &ChartMetadata,
    loaded: Vec<Chart>,
    source: &str,
    from_requirements: bool,
) -> Result<Vec<Chart>, Error> {
    let takes = |dep: &Dependency, chart: &Chart| {
        chart.name == dep.name && semver::in_range(&dep.version, &chart.metadata.version)
    };
    let mut out = Vec::new();
    for chart in loaded.iter().filter(|c| !metadata.dependencies.iter().any(|d| takes(d, c))) {
        let mut sub = chart.clone();
        // Helm removes a disabled dependency by its name after aliasing, so a dependency of this
        // chart's name (one whose range it missed) still switches it on and off.
        if let Some(dep) = metadata.dependencies.iter().find(|d| d.alias.as_deref().unwrap_or(&d.name) == chart.name) {
            sub.condition = dep.condition.clone().filter(|c| !c.trim().is_empty());
            sub.tags = dep.tags.clone();
            sub.dependency = Some(dep.clone());
        }
        out.push(sub);
    }
    let file = if from_requirements { "requirements.yaml" } else { "Chart.yaml" };
    let mut missing = Vec::new();
    for dep in &metadata.dependencies {
        if !loaded.iter().any(|c| c.name == dep.name) {
            missing.push(dep.name.clone());
            continue;
        }
        let Some(found) = loaded.iter().find(|c| takes(dep, c)) else {
            continue;
        };
        let mut sub = found.clone();
        sub.key = dep.alias.clone().unwrap_or_else(|| dep.name.clone());
        sub.condition = dep.condition.clone().filter(|c| !c.trim().is_empty());
        sub.tags = dep.tags.clone();
        sub.dependency = Some(dep.clone());
        out.push(sub);
    }
    if !missing.is_empty() {
        return Err(Error::coded(
            Code::DependenciesMissing,
            format!("dependencies declared but missing from charts/: {}", missing.join(", ")),
        )
        .at(file)
        .at(source)
        .hint("run `helm dependency build` in the chart directory (or `helm pull` the packaged chart)"));
    }
    Ok(out)
}

fn parse_metadata(text: &str, source: &str) -> Result<ChartMetadata, Error> {
    let file = "Chart.yaml";
    let doc = yaml::parse(text, file).map_err(|e| e.at(source))?;
    let fail = |path: &str, message: String| located(text, file, source, path, message);
    if !matches!(doc, Value::Map(_)) {
        return Err(fail("", "Chart.yaml must be a map of fields".into()));
    }
    let field = |key: &str| doc.get(&ValuesPath::parse(key)).and_then(yaml::go_string);
    let api_version = field("apiVersion").filter(|a| !a.is_empty()).unwrap_or_else(|| "v1".into());
    if api_version != "v1" && api_version != "v2" {
        return Err(fail("apiVersion", format!("chart apiVersion `{api_version}` is not supported"))
            .hint("Helm reads charts of apiVersion v1 and v2 (Helm v4 refuses others: `invalid chart apiVersion`)"));
    }
    let name = field("name")
        .map(|n| sanitize(&n))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| fail("name", "the chart has no name".into()).hint("add `name: <chart name>` to Chart.yaml"))?;
    validate_name(&name).map_err(|m| {
        fail("name", m).hint("a chart name is one file name: no `/`, not `.` or `..` (Helm refuses it too)")
    })?;
    let version = field("version")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| fail("version", "the chart has no version".into()).hint("add `version: 0.1.0` to Chart.yaml"))?;
    let chart_type = match field("type").as_deref() {
        None | Some("") | Some("application") => ChartType::Application,
        Some("library") => ChartType::Library,
        Some(other) => {
            return Err(
                fail("type", format!("chart type `{other}` is not valid")).hint("use `application` or `library`")
            )
        }
    };
    let dependencies = if doc.get(&ValuesPath::parse("dependencies")).is_some() {
        parse_dependencies(&doc, text, file, source)?
    } else {
        Vec::new()
    };
    Ok(ChartMetadata {
        api_version,
        name,
        version,
        app_version: field("appVersion"),
        chart_type,
        dependencies,
        document: doc.clone(),
    })
}

/// Helm's `sanitizeString` for Chart.yaml text: white space becomes a space, characters that do not
/// print are dropped (Go's `unicode.IsPrint`, approximated by Rust's control characters).
fn sanitize(text: &str) -> String {
    text.chars().filter_map(|c| if c.is_whitespace() { Some(' ') } else { (!c.is_control()).then_some(c) }).collect()
}

/// Helm's chart name check (`Metadata.Validate`): the name must be its own `filepath.Base`, and
/// Helm v4 also refuses `.` and `..`. The name becomes a file name under `overlay -o DIR`, so a
/// name that passes cannot leave that directory.
fn validate_name(name: &str) -> Result<(), String> {
    if name == "." || name == ".." {
        return Err(format!("chart name `{name}` is not allowed"));
    }
    if name.contains('/') || name.contains('\0') {
        return Err(format!("chart name `{name}` is invalid"));
    }
    Ok(())
}

/// An error at a key of a YAML file, with the key's line when the text has it.
fn located(text: &str, file: &str, source: &str, path: &str, message: String) -> Error {
    let mut e = Error::coded(Code::ChartMetadataInvalid, message);
    if !path.is_empty() {
        e = e.at(path);
    }
    e = e.at(file).at(source);
    if let Some(line) = yaml::key_lines(text).get(&ValuesPath::parse(path)) {
        e = e.line(*line);
    }
    e
}

fn parse_dependencies(doc: &Value, text: &str, file: &str, source: &str) -> Result<Vec<Dependency>, Error> {
    let fail = |path: &str, message: String| located(text, file, source, path, message);
    let list = match doc.get(&ValuesPath::parse("dependencies")) {
        Some(Value::List(l)) => l,
        Some(Value::Null) | None => return Ok(Vec::new()),
        Some(_) => return Err(fail("dependencies", "`dependencies` must be a list".into())),
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let at = format!("dependencies[{i}]");
        if !matches!(item, Value::Map(_)) {
            return Err(fail(&at, "each dependency must be a map with a `name`".into()));
        }
        let field = |key: &str| item.get(&ValuesPath::parse(key)).and_then(yaml::go_string);
        let name = field("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| fail(&at, "the dependency has no name".into()).hint("add `name:` to this dependency"))?;
        let alias = field("alias").filter(|a| !a.is_empty());
        if let Some(a) = &alias {
            if !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(fail(&format!("{at}.alias"), format!("alias `{a}` is not valid"))
                    .hint("an alias may only hold letters, digits, `_` and `-`"));
            }
        }
        let tags = match item.get(&ValuesPath::parse("tags")) {
            Some(Value::List(tags)) => tags.iter().filter_map(yaml::go_string).collect(),
            _ => Vec::new(),
        };
        let mut import_values = Vec::new();
        if let Some(Value::List(imports)) = item.get(&ValuesPath::parse("import-values")) {
            for import in imports {
                match import {
                    Value::Map(m) => {
                        let text_of = |k: &str| m.get(k).and_then(yaml::go_string).unwrap_or_default();
                        import_values.push(ImportValue::Path { child: text_of("child"), parent: text_of("parent") });
                    }
                    other => {
                        if let Some(s) = yaml::go_string(other) {
                            import_values.push(ImportValue::Exports(s));
                        }
                    }
                }
            }
        }
        out.push(Dependency {
            name,
            alias,
            condition: field("condition"),
            tags,
            version: field("version").unwrap_or_default(),
            repository: field("repository").unwrap_or_default(),
            import_values,
        });
    }
    Ok(out)
}

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
pub fn effective_values_and_status(root: &Chart, user: &Value) -> (Value, BTreeMap<Vec<String>, Result<(), String>>) {
    let user = user.as_map().cloned().unwrap_or_default();
    let mut status = BTreeMap::new();
    let mut node = enable(root, user.clone(), "", &mut status);
    import_values(&mut node);
    let mut out = user;
    coalesce(&node, &mut out, false);
    (Value::Map(out), status)
}

/// The `.Values` a given chart's templates see (its subtree of effective values, with globals merged in).
pub fn scoped_values(effective: &Value, chart_path: &[String]) -> Value {
    let mut node = effective;
    for key in chart_path.iter().skip(1) {
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
pub fn enabled(root: &Chart, effective: &Value) -> BTreeMap<Vec<String>, Result<(), String>> {
    let values = effective.as_map().cloned().unwrap_or_default();
    let mut status = BTreeMap::new();
    enable(root, values, "", &mut status);
    status
}

/// Helm's `processDependencyEnabled`: coalesce everything, decide this chart's dependencies by
/// tags then conditions (a condition that resolves to a boolean wins), recurse into the enabled.
fn enable<'a>(
    chart: &'a Chart,
    values: Map,
    prefix: &str,
    status: &mut BTreeMap<Vec<String>, Result<(), String>>,
) -> Node<'a> {
    status.entry(chart.path.clone()).or_insert(Ok(()));
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
                    _ if sub.subcharts.is_empty() => Map::new(),
                    _ if index == last => cvals.take().unwrap_or_default(),
                    _ => decisive_part(current, &sub_prefix),
                };
                deps.push(enable(sub, handed, &sub_prefix, status));
            }
            Err(reason) => {
                for below in sub.walk().skip(1) {
                    status.insert(below.path.clone(), Err(format!("its parent {} is disabled", sub.display_path())));
                }
                status.insert(sub.path.clone(), Err(reason));
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
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match parent.get("global") {
        None => Map::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => return,
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
                    let mut src = src.clone();
                    let merge = merge || node.deps.iter().any(|d| &d.chart.key == key);
                    if !merge {
                        clean_nils(&mut src);
                    }
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                let mut default = default.clone();
                if !merge {
                    match &mut default {
                        Value::Null => continue,
                        Value::Map(m) => clean_nils(m),
                        _ => {}
                    }
                }
                v.insert(key.clone(), default);
            }
        }
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

fn clean_nils(map: &mut Map) {
    map.retain(|_, v| !v.is_null());
    for v in map.values_mut() {
        if let Value::Map(m) = v {
            clean_nils(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tests::{file, tgz};

    /// A chart from (path, text) pairs, as if read from a directory named `name`.
    fn files(name: &str, entries: &[(&str, &str)]) -> ChartFiles {
        ChartFiles {
            name: name.to_string(),
            files: entries.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect(),
        }
    }

    fn v(text: &str) -> Value {
        yaml::parse_values(text, "test.yaml").unwrap()
    }

    fn get(value: &Value, path: &str) -> Option<Value> {
        value.get(&ValuesPath::parse(path)).cloned()
    }

    fn s(text: &str) -> Option<Value> {
        Some(Value::String(text.into()))
    }

    /// A parent with a subchart `db` under alias `database`, both with globals and defaults.
    fn aliased() -> Chart {
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

    /// Issue 8 (grafana-loki, grafana-mimir): Helm's getAliasDependency takes a chart only when its
    /// version is in the dependency's range; a chart no dependency takes renders under its name.
    #[test]
    fn issue8_alias_outside_the_version_range_is_ignored() {
        let root = load(&files(
            "shop",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n\
                     - name: cache\n  version: ~2.1.0\n  alias: sessions\n\
                     - name: cache\n  version: ^1.0.0\n  alias: blobs\n\
                     - name: queue\n  version: 1.x\n  alias: jobs\n  condition: jobs.enabled\n\
                     - name: store\n  alias: files\n",
                ),
                ("charts/cache/Chart.yaml", "apiVersion: v2\nname: cache\nversion: 2.1.3\n"),
                ("charts/queue/Chart.yaml", "apiVersion: v2\nname: queue\nversion: 3.0.0\n"),
                ("charts/store/Chart.yaml", "apiVersion: v2\nname: store\nversion: 0.4.0\n"),
            ],
        ))
        .unwrap();
        let keys: Vec<&str> = root.subcharts.iter().map(|c| c.key.as_str()).collect();
        // queue and store first (taken by no dependency: an empty range takes no version), then one
        // chart per dependency that takes one.
        assert_eq!(keys, vec!["queue", "store", "sessions"]);
        assert_eq!(root.subcharts[0].condition, None, "the jobs condition names the ignored alias");
    }

    #[test]
    fn alias_becomes_the_key_and_path() {
        let root = aliased();
        assert_eq!(root.path, vec!["shop"]);
        assert_eq!(root.metadata.app_version.as_deref(), Some("1.1"));
        let db = &root.subcharts[0];
        assert_eq!((db.name.as_str(), db.key.as_str()), ("db", "database"));
        assert_eq!(db.display_path(), "shop > database");
        assert_eq!(db.condition.as_deref(), Some("database.enabled"));
        assert_eq!(db.source, "shop > charts/db");
        let templates: Vec<&str> = root.templates.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(templates, ["templates/_helpers.tpl", "templates/deploy.yaml"]);
        let own: Vec<&str> = root.files.keys().map(String::as_str).collect();
        assert_eq!(own, ["files/init.sql"]);
        let walked: Vec<String> = root.walk().map(Chart::display_path).collect();
        assert_eq!(walked, ["shop", "shop > database"]);
    }

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
        let db = vec!["shop".to_string(), "database".to_string()];
        assert_eq!(status[&db], Err("condition database.enabled is false".into()));
        assert_eq!(status[&vec!["shop".to_string()]], Ok(()));
        assert_eq!(enabled(&root, &Value::Map(Map::new()))[&db], Ok(()));
    }

    fn tagged(user: &str) -> BTreeMap<Vec<String>, Result<(), String>> {
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
        let metrics = vec!["app".to_string(), "metrics".to_string()];
        let logs = vec!["app".to_string(), "logs".to_string()];
        // `on:` is the YAML 1.1 boolean key "true", so `logs.on` is not found: tags decide.
        let status = tagged("");
        assert!(status[&metrics].as_ref().unwrap_err().contains("tags"));
        assert!(status[&logs].is_err());
        let status = tagged("tags:\n  monitoring: true\n");
        assert_eq!(status[&metrics], Ok(()), "one true tag enables");
        let status = tagged("logs:\n  'on': true\n");
        assert_eq!(status[&logs], Ok(()), "a condition that resolves wins over tags");
    }

    #[test]
    fn v1_requirements_and_nested_archives_two_levels_deep() {
        let leaf_bytes = tgz(&[
            file("leaf/Chart.yaml", "name: leaf\nversion: 0.3.0\n"),
            file("leaf/values.yaml", "image: {repository: leaf/img}\nglobal: {env: leaf}\n"),
        ]);
        let mid_bytes = {
            let mut entries = vec![
                file("mid/Chart.yaml", "apiVersion: v1\nname: mid\nversion: 0.2.0\n"),
                file("mid/requirements.yaml", "dependencies:\n- name: leaf\n  version: 0.3.0\n  alias: inner\n"),
                file("mid/values.yaml", "inner:\n  image: {tag: v3}\n"),
            ];
            entries.push(crate::source::tests::Entry {
                path: "mid/charts/leaf-0.3.0.tgz",
                kind: tar::EntryType::Regular,
                data: &leaf_bytes,
            });
            tgz(&entries)
        };
        let mut root_files = files(
            "top-1.0.0.tgz",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: mid\n  version: 0.2.0\n",
                ),
                ("values.yaml", "global: {env: prod}\n"),
            ],
        );
        root_files.files.insert("charts/mid-0.2.0.tgz".into(), mid_bytes);
        let root = load(&root_files).unwrap();
        let inner = root.walk().find(|c| c.name == "leaf").unwrap();
        assert_eq!(inner.path, vec!["top", "mid", "inner"]);
        assert_eq!(inner.source, "top-1.0.0.tgz > charts/mid-0.2.0.tgz > charts/leaf-0.3.0.tgz");
        let mid = &root.subcharts[0];
        assert!(mid.files.contains_key("requirements.yaml"), "v1 charts keep requirements in .Files");
        let eff = effective_values(&root, &Value::Map(Map::new()));
        assert_eq!(get(&eff, "mid.inner.image.repository"), s("leaf/img"));
        assert_eq!(get(&eff, "mid.inner.image.tag"), s("v3"));
        assert_eq!(get(&eff, "mid.inner.global.env"), s("prod"));
    }

    #[test]
    fn undeclared_subcharts_load_and_declared_missing_ones_fail() {
        let root = load(&files(
            "app",
            &[
                ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
                ("charts/extra/Chart.yaml", "apiVersion: v2\nname: extra\nversion: 1.0.0\n"),
                ("charts/extra/values.yaml", "x: 1\n"),
                ("charts/_skipped/Chart.yaml", "not: loaded\n"),
            ],
        ))
        .unwrap();
        assert_eq!(root.subcharts.len(), 1);
        assert_eq!(root.subcharts[0].key, "extra");
        assert_eq!(get(&effective_values(&root, &Value::Null), "extra.x"), Some(Value::Int(1)));

        let err = load(&files(
            "app",
            &[(
                "Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 1.0.0\n",
            )],
        ))
        .unwrap_err();
        assert!(err.message.contains("redis"), "{err}");
        assert!(err.hint.as_deref().unwrap().contains("helm dependency build"), "{err}");
        assert_eq!(err.location, vec!["app", "Chart.yaml"]);
    }

    #[test]
    fn library_charts_are_marked_and_still_give_defaults() {
        let root = load(&files(
            "app",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: common\n  version: 2.0.0\n",
                ),
                ("charts/common/Chart.yaml", "apiVersion: v2\nname: common\nversion: 2.0.0\ntype: library\n"),
                ("charts/common/values.yaml", "exampleValue: common-chart\n"),
                ("charts/common/templates/_images.tpl", "{{- define \"common.image\" -}}{{- end -}}\n"),
            ],
        ))
        .unwrap();
        assert!(!root.is_library());
        assert!(root.subcharts[0].is_library());
        let eff = effective_values(&root, &Value::Null);
        assert_eq!(get(&eff, "common.exampleValue"), s("common-chart"));
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

    #[test]
    fn chart_names_and_api_versions_helm_refuses_are_refused() {
        let chart = |yaml: &str| load(&files("c", &[("Chart.yaml", yaml)]));
        for (name, message) in [
            ("../x", "chart name `../x` is invalid"),
            ("/etc/x", "chart name `/etc/x` is invalid"),
            ("..", "chart name `..` is not allowed"),
            ("'.'", "chart name `.` is not allowed"),
        ] {
            let err = chart(&format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n")).unwrap_err();
            assert_eq!(err.message, message);
            assert_eq!(err.location, ["c", "Chart.yaml", "name"]);
            assert_eq!(err.line, Some(2));
        }
        // Helm's sanitizeString: white space becomes a space, control characters go.
        let ok = chart("apiVersion: v2\nname: \"a\\tb\\u0007\"\nversion: 1.0.0\n").unwrap();
        assert_eq!(ok.name, "a b");
        let err = chart("apiVersion: v3\nname: c\nversion: 1.0.0\n").unwrap_err();
        assert!(err.message.contains("apiVersion `v3` is not supported"), "{err}");
        let bad = ChartFiles {
            name: "c".into(),
            files: [("Chart.yaml".to_string(), b"apiVersion: v2\nname: \xffc\nversion: 1.0.0\n".to_vec())].into(),
        };
        let err = load(&bad).unwrap_err();
        assert_eq!((err.location.as_slice(), err.line), (&["c".to_string(), "Chart.yaml".to_string()][..], Some(2)));
    }

    #[test]
    fn chart_yaml_errors_name_the_file_key_and_line() {
        let err = load(&files(
            "bad",
            &[(
                "Chart.yaml",
                "apiVersion: v2\nname: bad\nversion: 1.0.0\ndependencies:\n- name: x\n  alias: not.valid\n",
            )],
        ))
        .unwrap_err();
        assert_eq!(err.location, vec!["bad", "Chart.yaml", "dependencies[0].alias"]);
        assert_eq!(err.line, Some(6));
        let err = load(&files("noname", &[("Chart.yaml", "apiVersion: v2\nversion: 1.0.0\n")])).unwrap_err();
        assert!(err.message.contains("no name"), "{err}");
        let err = load(&files(
            "badvalues",
            &[("Chart.yaml", "apiVersion: v2\nname: b\nversion: 1.0.0\n"), ("values.yaml", "a: 1\n  b: [\n")],
        ))
        .unwrap_err();
        assert_eq!(err.location, vec!["badvalues", "values.yaml"]);
        assert!(err.line.is_some());
    }
}
