//! The template conformance suite: every case under `tests/template-cases/<family>/*.txt` renders
//! through the library (chart loading, the tree renderer and the engine) exactly as real Helm
//! v4 rendered it when the case was blessed (`tests/template-cases/bless`). A case marked
//! `=== known-gap` must still differ, so a fixed gap is noticed and its mark removed. A case with
//! `=== engine-limit` is hostile input that Helm would spend gigabytes on; it must fail with our
//! limit's message instead of crashing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use helm_retarget::chart;
use helm_retarget::render::TreeRenderer;
use helm_retarget::source::ChartFiles;
use helm_retarget::values::Value;

/// One case file: its sections in order (`values`, `template`, `output`...).
struct Case {
    path: PathBuf,
    sections: Vec<(String, String)>,
}

impl Case {
    fn read(path: &Path) -> Case {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let mut sections: Vec<(String, String)> = Vec::new();
        let mut current: Option<(String, Vec<&str>)> = None;
        for line in text.split('\n') {
            if let Some(name) = line.strip_prefix("=== ") {
                if let Some((n, lines)) = current.take() {
                    sections.push((n, lines.join("\n")));
                }
                current = Some((name.to_string(), Vec::new()));
            } else if let Some((_, lines)) = current.as_mut() {
                lines.push(line);
            }
        }
        if let Some((n, lines)) = current {
            sections.push((n, lines.join("\n")));
        }
        Case { path: path.to_path_buf(), sections }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, body)| body.as_str())
    }

    /// The one-template chart the bless script gives Helm.
    fn chart_files(&self) -> ChartFiles {
        let mut files = BTreeMap::new();
        let mut put = |path: &str, text: &str| files.insert(path.to_string(), text.as_bytes().to_vec());
        put("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\nappVersion: 1.2.3\n");
        put("values.yaml", &self.get("values").map(|v| format!("{v}\n")).unwrap_or_default());
        for (name, body) in &self.sections {
            if let Some(path) = name.strip_prefix("file ") {
                put(path, body);
            }
        }
        if let Some(helpers) = self.get("helpers") {
            put("templates/_helpers.tpl", helpers);
        }
        let template = self.get("template").unwrap_or_else(|| panic!("{}: no template section", self.path.display()));
        put("templates/_case.tpl", &format!("{{{{define \"case\"}}}}{template}{{{{end}}}}"));
        put("templates/case.yaml", "out: {{ include \"case\" . | toJson }}\n");
        ChartFiles { name: "c".into(), files }
    }
}

/// What our engine gives for a case: the text the define rendered, or the error message.
fn render(case: &Case) -> Result<String, String> {
    let chart = chart::load(&case.chart_files()).map_err(|e| e.to_string())?;
    // Helm validates values.schema.json (a `file values.schema.json` section) before it renders.
    let defaults = chart::effective_values(&chart, &Value::Map(Default::default()));
    helm_retarget::schema::validate(&chart, &defaults).map_err(|e| e.message)?;
    let renderer = TreeRenderer::new(&chart);
    if let Some(e) = renderer.parse_errors.first() {
        return Err(e.to_string());
    }
    let tree = renderer.render(&Value::Map(Default::default()));
    let template = tree
        .templates
        .iter()
        .find(|t| t.name == "c/templates/case.yaml")
        .unwrap_or_else(|| panic!("{}: case.yaml was not rendered", case.path.display()));
    let output = template.output.as_ref().map_err(std::string::ToString::to_string)?;
    let line = output.text.as_str().trim_end();
    let json =
        line.strip_prefix("out: ").unwrap_or_else(|| panic!("{}: unexpected output {line:?}", case.path.display()));
    Ok(serde_json::from_str::<String>(json).unwrap_or_else(|e| panic!("{}: {e}: {json}", case.path.display())))
}

/// The message our error carries after its location prefix, which Helm's must contain.
fn error_core(message: &str) -> &str {
    let message = message.rsplit("error calling include: ").next().unwrap_or(message);
    match message.find("): ").filter(|_| message.starts_with("parse error at (")) {
        Some(i) => &message[i + 3..],
        None => match message.strip_prefix("template: ") {
            Some(rest) => rest.splitn(3, ':').nth(2).map_or(rest, str::trim_start),
            // `fail` and `required`: Helm's whole line, location (file:line:col) included.
            None => message,
        },
    }
}

/// Whether our result agrees with Helm's blessed one.
fn agrees(case: &Case, ours: &Result<String, String>) -> Result<(), String> {
    if let Some(limit) = case.get("engine-limit") {
        return match ours {
            Err(e) if e.contains(limit.trim()) => Ok(()),
            Err(e) => Err(format!("expected our limit {limit:?}, got: {e}")),
            Ok(text) => Err(format!("expected our limit {limit:?}, rendered {} bytes", text.len())),
        };
    }
    match (ours, case.get("output"), case.get("error")) {
        (Ok(text), Some(want), _) if text == want => Ok(()),
        (Ok(text), Some(want), _) => Err(format!("output differs\n  helm: {want:?}\n  ours: {text:?}")),
        (Err(e), Some(want), _) => Err(format!("we fail where Helm renders {want:?}\n  ours: {e}")),
        (Err(e), None, Some(helm)) if helm.contains(error_core(e)) => Ok(()),
        (Err(e), None, Some(helm)) => Err(format!("error differs\n  helm: {helm}\n  ours: {e}")),
        (Ok(text), None, Some(helm)) => Err(format!("we render {text:?} where Helm fails\n  helm: {helm}")),
        (_, None, None) => Err("not blessed: run tests/template-cases/bless".into()),
    }
}

#[test]
fn every_case_renders_as_helm_renders_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/template-cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/template-cases")
        .flat_map(|family| std::fs::read_dir(family.expect("family dir").path()).into_iter().flatten())
        .map(|entry| entry.expect("case file").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(paths.len() > 200, "expected the whole suite, found {} cases", paths.len());
    let mut problems = Vec::new();
    let (mut matching, mut gaps) = (0, 0);
    for path in &paths {
        let case = Case::read(path);
        let ours = render(&case);
        let name = path.strip_prefix(&root).unwrap_or(path).display().to_string();
        match (agrees(&case, &ours), case.get("known-gap")) {
            (Ok(()), None) => matching += 1,
            (Ok(()), Some(why)) => problems.push(format!("{name}: marked known-gap ({why}) but now matches Helm")),
            (Err(_), Some(_)) => gaps += 1,
            (Err(diff), None) => problems.push(format!("{name}: {diff}")),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases differ from Helm ({matching} match, {gaps} known gaps):\n{}",
        problems.len(),
        paths.len(),
        problems.join("\n")
    );
    assert_eq!(matching + gaps, paths.len());
}
