//! Chart files into the chart tree: Chart.yaml (and requirements.yaml) checked as Helm checks them,
//! values and templates read, and every subchart in charts/ (directory or nested .tgz) attached to the
//! dependency that takes it, under its alias (Helm v4.2.3 `pkg/chart/v2/util/dependencies.go`).

use std::collections::BTreeMap;

use super::{Chart, ChartMetadata, ChartPath, ChartType, Dependency, ImportValue, TemplateFile};
use crate::diagnostic::Code;
use crate::error::Error;
use crate::semver;
use crate::source::{self, ChartFiles};
use crate::values::{Map, Value, ValuesPath};
use crate::yaml;

/// Loads the chart tree: Chart.yaml (and requirements.yaml), values, templates, and every subchart
/// in charts/ (directories and .tgz, to any depth), matched to the dependencies by name.
pub fn load(files: &ChartFiles) -> Result<Chart, Error> {
    let mut budget = source::InflateBudget::for_chart(files);
    let mut chart = load_one(files, files.name.clone(), &mut budget)?;
    let root_path = ChartPath::root(chart.key.clone());
    set_path(&mut chart, root_path);
    Ok(chart)
}

fn set_path(chart: &mut Chart, path: ChartPath) {
    for sub in &mut chart.subcharts {
        let sub_path = path.child(sub.key.clone());
        set_path(sub, sub_path);
    }
    chart.path = path;
}

#[allow(
    clippy::case_sensitive_file_extension_comparisons,
    reason = "Helm's loader compares `filepath.Ext` with `.tgz` and `.prov` exactly: `x.TGZ` is no archive to it"
)]
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
        attach_dependencies(&metadata, &loaded, &source, v1 || files.files.contains_key("requirements.yaml"))?;
    let key = metadata.name.clone();
    Ok(Chart {
        name: metadata.name.clone(),
        key,
        path: ChartPath::default(),
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
    loaded: &[Chart],
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
            sub.tags.clone_from(&dep.tags);
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
        sub.tags.clone_from(&dep.tags);
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
        None | Some("" | "application") => ChartType::Application,
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

#[cfg(test)]
mod tests {
    use super::super::tests::{aliased, files, get, s};
    use super::super::{effective_values, Chart};
    use super::load;
    use crate::source::tests::{file, tgz};
    use crate::source::ChartFiles;
    use crate::values::{Map, Value};

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
        assert_eq!(root.path.keys(), ["shop"]);
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
        assert_eq!(inner.path.keys(), ["top", "mid", "inner"]);
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
