//! Writes a relocated chart: the same chart archive with the overlay written into its own
//! values.yaml and a provenance annotation and build suffix in Chart.yaml, so installing it moves
//! every image without an overlay. Files are edited as text, keeping comments and layout.

use std::collections::BTreeMap;
use std::io::Write as _;

use crate::chart::Chart;
use crate::diagnostic::Code;
use crate::error::{Error, Result};
use crate::plan::RetargetPlan;
use crate::source::ChartFiles;
use crate::values::{Map, Step, Value, ValuesPath};

/// Chart.yaml annotation naming the chart and version the relocated chart was made from.
pub const SOURCE_ANNOTATION: &str = "helm-retarget.io/source";
/// Chart.yaml annotation naming the tool and version that relocated it.
pub const TOOL_ANNOTATION: &str = "helm-retarget.io/relocated-by";

/// How the relocated chart is labelled.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// The build suffix added to the version (`1.2.3` -> `1.2.3+relocated`); None keeps the version.
    pub build_suffix: Option<String>,
    /// Where every `dependencies[].repository` fetched from a repository now points.
    pub dependency_repository: Option<String>,
}

/// A relocated chart archive and what was done to make it.
#[derive(Debug)]
pub struct Relocated {
    pub archive: Vec<u8>,
    pub version: String,
    /// Files that could not be edited as text and were written anew (their comments are lost).
    pub reserialised: Vec<String>,
}

/// The chart in `files` (loaded as `root`) with `plan`'s overlay as its own defaults.
///
/// The overlay goes into the top chart's values.yaml, never into a subchart's: a parent's values
/// under a subchart's key (or alias) override that subchart's defaults exactly as `-f` does, one
/// subchart vendored under two aliases gets each alias's own values there, and vendored subchart
/// archives stay byte for byte as they were.
pub fn relocate(files: &ChartFiles, root: &Chart, plan: &RetargetPlan, labels: &Labels) -> Result<Relocated> {
    let chart_dir = root.metadata.name.clone();
    if !is_plain_name(&chart_dir) {
        return Err(Error::coded(
            Code::Internal,
            format!("the chart name {chart_dir:?} is not a plain directory name"),
        )
        .at(&files.name)
        .hint("fix `name:` in Chart.yaml"));
    }
    let mut reserialised = Vec::new();
    let mut out: BTreeMap<String, Vec<u8>> = files.files.clone();

    let values_text = root.values_file.clone().unwrap_or_default();
    let values_text = match (&plan.overlay, edit_values(&values_text, &plan.overlay)?) {
        (_, Some(edited)) => edited,
        (overlay, None) => {
            reserialised.push("values.yaml".to_string());
            reserialise_values(&values_text, overlay)?
        }
    };
    // A chart without values.yaml gets one only when there is something to write into it.
    if root.values_file.is_some() || !values_text.is_empty() {
        out.insert("values.yaml".to_string(), values_text.into_bytes());
    }

    let chart_text = crate::source::utf8(
        files.files.get("Chart.yaml").map(Vec::as_slice).unwrap_or_default(),
        &format!("{}: Chart.yaml", files.name),
    )?
    .to_string();
    let version = match &labels.build_suffix {
        Some(suffix) => with_build_suffix(&root.metadata.version, suffix)
            .map_err(|e| e.at(format!("{}: Chart.yaml: version", files.name)))?,
        None => root.metadata.version.clone(),
    };
    let mut chart_edits: Vec<(ValuesPath, Value)> =
        vec![(ValuesPath::root().child("version"), Value::String(version.clone()))];
    let annotations = ValuesPath::root().child("annotations");
    chart_edits.push((
        annotations.child(SOURCE_ANNOTATION),
        Value::String(format!("{} {}", root.metadata.name, root.metadata.version)),
    ));
    chart_edits.push((
        annotations.child(TOOL_ANNOTATION),
        Value::String(format!("helm-retarget {}", env!("CARGO_PKG_VERSION"))),
    ));
    if let Some(repository) = &labels.dependency_repository {
        for (i, dependency) in root.metadata.dependencies.iter().enumerate() {
            // Vendored (`repository` empty) and local (`file://`) dependencies are not fetched.
            if !dependency.repository.is_empty() && !dependency.repository.starts_with("file://") {
                let at = ValuesPath::root().child("dependencies").index(i).child("repository");
                chart_edits.push((at, Value::String(repository.clone())));
            }
        }
    }
    let chart_text = if let Some(edited) = edit_chart_yaml(&chart_text, &chart_edits)? {
        edited
    } else {
        reserialised.push("Chart.yaml".to_string());
        let mut document = crate::yaml::parse(&chart_text, "Chart.yaml")?;
        for (path, value) in &chart_edits {
            document.set(path, value.clone());
        }
        crate::yaml::to_string(&document)
    };
    if labels.dependency_repository.is_some() {
        if let Some(lock) = files.files.get("Chart.lock") {
            let lock = crate::source::utf8(lock, &format!("{}: Chart.lock", files.name))?;
            let chart_yaml = crate::yaml::parse(&chart_text, "Chart.yaml")?;
            let moved: Vec<usize> = chart_edits.iter().filter_map(|(path, _)| dependency_index(path)).collect();
            let relocked =
                relock(lock, &chart_yaml, &moved, labels.dependency_repository.as_deref().unwrap_or_default())
                    .map_err(|e| e.at(format!("{}: Chart.lock", files.name)))?;
            out.insert("Chart.lock".to_string(), relocked.into_bytes());
        }
    }
    out.insert("Chart.yaml".to_string(), chart_text.into_bytes());

    let archive = write_archive(&chart_dir, &out)?;
    // The archive must read back as a chart through the same limits as any input.
    let reread = crate::source::read_archive(&archive, "the relocated chart")
        .and_then(|files| crate::chart::load(&files))
        .map_err(|e| e.hint("this is a helm-retarget bug: please report it with the chart"))?;
    let as_map = |v: Value| if v.is_null() { Value::Map(Map::new()) } else { v };
    if as_map(reread.values) != as_map(merged_values(&root.values, &plan.overlay)) {
        return Err(Error::coded(
            Code::Internal,
            "the relocated chart's values are not the chart's values with the overlay",
        )
        .at(&files.name)
        .hint("this is a helm-retarget bug: please report it with the chart; use `overlay` meanwhile"));
    }
    Ok(Relocated { archive, version, reserialised })
}

/// `dependencies[i].repository` -> `i`.
fn dependency_index(path: &ValuesPath) -> Option<usize> {
    match path.steps().as_slice() {
        [Step::Key(d), Step::Index(i), Step::Key(r)] if d == "dependencies" && r == "repository" => Some(*i),
        _ => None,
    }
}

/// Chart.lock with the repository of each moved dependency (`moved`: indexes into Chart.yaml's
/// `dependencies`, which the lock lists in the same order, as Helm's resolver writes it) set to
/// `repository`, and its digest computed again as Helm does, so `helm dependency build` does not
/// find the lock out of sync with Chart.yaml. Edited as text; `generated` is kept.
fn relock(text: &str, chart_yaml: &Value, moved: &[usize], repository: &str) -> Result<String> {
    let mut lock = crate::yaml::parse(text, "Chart.lock")?;
    let mut edits = Vec::new();
    for &i in moved {
        let at = ValuesPath::root().child("dependencies").index(i).child("repository");
        if lock.get(&at).is_some() {
            edits.push((at.clone(), Value::String(repository.to_string())));
            lock.set(&at, Value::String(repository.to_string()));
        }
    }
    let list = |doc: &Value| match doc.get(&ValuesPath::root().child("dependencies")) {
        Some(Value::List(items)) => items.clone(),
        _ => Vec::new(),
    };
    let digest = hash_req(&list(chart_yaml), &list(&lock));
    edits.push((ValuesPath::root().child("digest"), Value::String(digest)));
    edit_chart_yaml(text, &edits)?.ok_or_else(|| {
        Error::coded(Code::ChartMetadataInvalid, "Chart.lock cannot be edited as text")
            .hint("run `helm dependency update` on the relocated chart to write its lock again")
    })
}

/// Helm's `resolver.HashReq`: `sha256:` and the SHA-256 of Go's `json.Marshal` of
/// `[2][]*chart.Dependency{req, lock}`: the struct's fields in order, empty ones omitted where Go's
/// tags say `omitempty`, and `<`, `>`, `&` escaped as Go's encoder does.
fn hash_req(req: &[Value], lock: &[Value]) -> String {
    use sha2::Digest as _;
    let deps = |items: &[Value]| items.iter().map(dependency_json).collect::<Vec<_>>().join(",");
    let json = format!("[[{}],[{}]]", deps(req), deps(lock));
    let sum = sha2::Sha256::digest(json.as_bytes());
    format!("sha256:{}", sum.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// One `chart.Dependency` as Go's `json.Marshal` writes it.
fn dependency_json(dep: &Value) -> String {
    let field = |key: &str| dep.as_map().and_then(|m| m.get(key)).and_then(crate::yaml::go_string).unwrap_or_default();
    let mut out = format!("{{\"name\":{}", go_json_string(&field("name")));
    if !field("version").is_empty() {
        out.push_str(&format!(",\"version\":{}", go_json_string(&field("version"))));
    }
    out.push_str(&format!(",\"repository\":{}", go_json_string(&field("repository"))));
    if !field("condition").is_empty() {
        out.push_str(&format!(",\"condition\":{}", go_json_string(&field("condition"))));
    }
    let get = |key: &str| dep.as_map().and_then(|m| m.get(key));
    if let Some(Value::List(tags)) = get("tags").filter(|t| matches!(t, Value::List(l) if !l.is_empty())) {
        let tags: Vec<String> =
            tags.iter().map(|t| go_json_string(&crate::yaml::go_string(t).unwrap_or_default())).collect();
        out.push_str(&format!(",\"tags\":[{}]", tags.join(",")));
    }
    if get("enabled") == Some(&Value::Bool(true)) {
        out.push_str(",\"enabled\":true");
    }
    if let Some(values) = get("import-values").filter(|v| matches!(v, Value::List(l) if !l.is_empty())) {
        out.push_str(&format!(",\"import-values\":{}", go_json(values)));
    }
    if !field("alias").is_empty() {
        out.push_str(&format!(",\"alias\":{}", go_json_string(&field("alias"))));
    }
    out.push('}');
    out
}

/// Go's `json.Marshal` of a decoded YAML value (maps with their keys sorted, as Go sorts them).
fn go_json(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f}"),
        Value::String(s) => go_json_string(s),
        Value::List(items) => format!("[{}]", items.iter().map(go_json).collect::<Vec<_>>().join(",")),
        Value::Map(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let entries: Vec<String> =
                keys.iter().map(|k| format!("{}:{}", go_json_string(k), go_json(&map[*k]))).collect();
            format!("{{{}}}", entries.join(","))
        }
    }
}

/// A JSON string as Go's encoder writes it (HTML-safe: `<`, `>`, `&` as `\u003c`...).
fn go_json_string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `1.2.3` -> `1.2.3+relocated`; a version that has build metadata gets it appended
/// (`1.2.3+abc` -> `1.2.3+abc.relocated`).
pub fn with_build_suffix(version: &str, suffix: &str) -> Result<String> {
    let valid = !suffix.is_empty()
        && suffix
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !valid {
        return Err(Error::coded(Code::BuildSuffixInvalid, format!("{suffix:?} is not a semver build suffix"))
            .hint("use dot-separated ASCII letters, digits and hyphens, such as `relocated` or `relocated.1`"));
    }
    let joiner = if version.contains('+') { '.' } else { '+' };
    Ok(format!("{version}{joiner}{suffix}"))
}

fn is_plain_name(name: &str) -> bool {
    let mut parts = std::path::Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(std::path::Component::Normal(_)), None))
}

/// The chart's values with the overlay merged over them, as `-f overlay.yaml` would see them.
fn merged_values(values: &Value, overlay: &Value) -> Value {
    match (values, overlay) {
        (Value::Map(base), Value::Map(over)) => Value::Map(crate::yaml::merge_maps(base.clone(), over.clone())),
        (_, Value::Map(over)) if over.is_empty() => values.clone(),
        (_, over) => over.clone(),
    }
}

/// The values file written anew with the overlay merged in (comments lost, said at the top).
fn reserialise_values(text: &str, overlay: &Value) -> Result<String> {
    let values = crate::yaml::parse_values(text, "values.yaml")?;
    let merged = merged_values(&values, overlay);
    Ok(format!(
        "# Written by helm-retarget relocate: the original values.yaml could not be edited in place,\n\
         # so its comments are not kept.\n{}",
        crate::yaml::to_string(&merged)
    ))
}

/// Every overlay leaf (scalar, list, null or empty map) with its path.
fn leaves(value: &Value, at: &ValuesPath, out: &mut Vec<(ValuesPath, Value)>) {
    match value {
        Value::Map(map) if !map.is_empty() => {
            for (key, child) in map {
                leaves(child, &at.child(key), out);
            }
        }
        other => out.push((at.clone(), other.clone())),
    }
}

/// `text` with each overlay leaf set in place, comments and layout kept; None when some edit
/// cannot be made as text or the result would not read as the merged values (then the caller
/// writes the file anew).
pub fn edit_values(text: &str, overlay: &Value) -> Result<Option<String>> {
    let original = crate::yaml::parse_values(text, "values.yaml")?;
    if matches!(overlay, Value::Map(m) if m.is_empty()) {
        return Ok(Some(text.to_string()));
    }
    let mut edits = Vec::new();
    leaves(overlay, &ValuesPath::root(), &mut edits);
    let Some(edited) = apply_edits(text, &edits) else { return Ok(None) };
    let reread = crate::yaml::parse_values(&edited, "values.yaml").ok();
    Ok((reread == Some(merged_values(&original, overlay))).then_some(edited))
}

/// Chart.yaml with `edits` set in place; None when it cannot be done as text.
fn edit_chart_yaml(text: &str, edits: &[(ValuesPath, Value)]) -> Result<Option<String>> {
    let mut expected = crate::yaml::parse(text, "Chart.yaml")?;
    for (path, value) in edits {
        expected.set(path, value.clone());
    }
    let Some(edited) = apply_edits(text, edits) else { return Ok(None) };
    Ok((crate::yaml::parse(&edited, "Chart.yaml").ok() == Some(expected)).then_some(edited))
}

fn apply_edits(text: &str, edits: &[(ValuesPath, Value)]) -> Option<String> {
    let mut text = text.to_string();
    for (path, value) in edits {
        text = set_in_text(&text, path, value)?;
    }
    Some(text)
}

/// Where a key's value stands in the text: the key's column, the byte where the value starts on
/// the key's line, its trailing comment, and the last line (0-based) the value spans.
struct ValueRegion {
    key_column: usize,
    value_start: usize,
    comment: Option<String>,
    end_line: usize,
}

/// Sets one path in a block-style YAML text: an existing key's value is replaced where it stands,
/// a missing key is added under its deepest existing parent map (or at the end of the file).
fn set_in_text(text: &str, path: &ValuesPath, value: &Value) -> Option<String> {
    let key_lines = crate::yaml::key_lines(text);
    let lines: Vec<&str> = text.lines().collect();
    let steps = path.steps();
    // The deepest prefix of `path` that the text defines.
    let (found, line) = (0..=steps.len()).rev().find_map(|n| {
        let prefix = ValuesPath::from_steps(steps[..n].to_vec());
        if n == 0 {
            Some((0, None))
        } else {
            key_lines.get(&prefix).map(|line| (n, Some(line - 1)))
        }
    })?;
    let rest = &steps[found..];
    if rest.iter().any(|s| matches!(s, crate::values::Step::Index(_))) {
        return None;
    }
    let rest_keys: Vec<String> =
        rest.iter().filter_map(|s| if let crate::values::Step::Key(k) = s { Some(k.clone()) } else { None }).collect();
    let nested = rest_keys.iter().rev().fold(value.clone(), |inner, key| Value::Map(Map::from([(key.clone(), inner)])));
    let Some(line) = line else {
        // Nothing of the path is in the file: the keys go at its end, at the top level.
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&crate::yaml::to_string(&nested));
        return Some(out);
    };
    let region = value_region(&lines, line)?;
    let inline = lines[line][region.value_start..].trim();
    let inline = region.comment.as_ref().map_or(inline, |c| inline[..inline.len() - c.len()].trim_end());
    let first_child = (line + 1..=region.end_line).find(|&l| is_content(lines[l]));
    let leaf = match steps[found - 1].clone() {
        crate::values::Step::Key(k) => k,
        crate::values::Step::Index(_) => return None,
    };
    let mut replacement: Vec<String> = Vec::new();
    let (from, to) = if !rest_keys.is_empty() && inline.is_empty() && first_child.is_some() {
        // A block map: the new keys go right below its key, at its children's indentation.
        let child = lines[first_child?];
        if child.trim_start().starts_with('-') {
            return None;
        }
        let indent = child.len() - child.trim_start().len();
        for l in crate::yaml::to_string(&nested).lines() {
            replacement.push(format!("{}{l}", " ".repeat(indent)));
        }
        (line + 1, line)
    } else {
        let body = crate::yaml::to_string(&Value::Map(Map::from([(leaf, nested)])));
        let prefix = &lines[line][..region.key_column];
        let pad = " ".repeat(region.key_column);
        for (i, l) in body.lines().enumerate() {
            replacement.push(if i == 0 { format!("{prefix}{l}") } else { format!("{pad}{l}") });
        }
        if let (Some(comment), 1) = (&region.comment, replacement.len()) {
            if region.end_line == line {
                replacement[0] = format!("{} {comment}", replacement[0]);
            }
        }
        (line, region.end_line)
    };
    let mut out: Vec<String> = lines[..from].iter().map(ToString::to_string).collect();
    out.extend(replacement);
    out.extend(lines[to + 1..].iter().map(ToString::to_string));
    let mut joined = out.join("\n");
    if text.ends_with('\n') || text.is_empty() {
        joined.push('\n');
    }
    Some(joined)
}

/// A line that holds YAML content (not blank, not only a comment).
fn is_content(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

fn value_region(lines: &[&str], line: usize) -> Option<ValueRegion> {
    let text = lines[line];
    let bytes = text.as_bytes();
    let mut i = 0;
    // Indentation, then the `- ` of list items the key's map opens.
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if bytes.get(i) == Some(&b'-') && matches!(bytes.get(i + 1), Some(b' ')) {
            i += 1;
        } else {
            break;
        }
    }
    let key_column = i;
    // The key: quoted, or plain up to `: ` / `:` at the end of the line.
    let colon = match bytes.get(i)? {
        quote @ (b'"' | b'\'') => {
            let mut j = i + 1;
            loop {
                match bytes.get(j)? {
                    b'\\' if *quote == b'"' => j += 2,
                    b if b == quote => {
                        if *quote == b'\'' && bytes.get(j + 1) == Some(&b'\'') {
                            j += 2;
                        } else {
                            break;
                        }
                    }
                    _ => j += 1,
                }
            }
            j + 1 + text[j + 1..].find(':')?
        }
        _ => (i..bytes.len()).find(|&j| bytes[j] == b':' && matches!(bytes.get(j + 1), None | Some(b' ' | b'\t')))?,
    };
    let value_start = colon + 1;
    let value = &text[value_start..];
    let comment = match value.trim_start().as_bytes().first() {
        // A quoted scalar: a comment can only follow its closing quote.
        Some(b'"' | b'\'') => None,
        _ => value.find(" #").map(|at| value[at + 1..].to_string()),
    };
    let end_line = (line + 1..lines.len())
        .take_while(|&l| !is_content(lines[l]) || indent_of(lines[l]) > key_column)
        .filter(|&l| is_content(lines[l]))
        .last()
        .unwrap_or(line);
    Some(ValueRegion { key_column, value_start, comment, end_line })
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A gzipped tar holding `files` under `<chart_dir>/`, as `helm package` lays it out. Entries are
/// sorted with fixed owner, mode and time, so the same input gives the same bytes.
fn write_archive(chart_dir: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(encoder);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in files {
        let plain = std::path::Path::new(path).components().all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain {
            return Err(Error::coded(Code::Internal, format!("{path}: not a plain relative path; nothing is written")));
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{chart_dir}/{path}"), bytes.as_slice())
            .map_err(|e| Error::coded(Code::Internal, format!("{path}: cannot add it to the archive: {e}")))?;
    }
    let mut encoder =
        tar.into_inner().map_err(|e| Error::coded(Code::Internal, format!("cannot finish the chart archive: {e}")))?;
    encoder.flush().map_err(|e| Error::coded(Code::Internal, format!("cannot finish the chart archive: {e}")))?;
    encoder.finish().map_err(|e| Error::coded(Code::Internal, format!("cannot finish the chart archive: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, overlay: &str) -> String {
        let overlay = crate::yaml::parse(overlay, "overlay").unwrap();
        edit_values(text, &overlay).unwrap().expect("edited in place")
    }

    #[test]
    fn issue_13_an_existing_key_is_replaced_where_it_stands_keeping_comments() {
        let text = "# top\nimage:\n  # the registry\n  registry: docker.io # upstream\n  repository: app\n";
        assert_eq!(
            edit(text, "image:\n  registry: m.example\n"),
            "# top\nimage:\n  # the registry\n  registry: m.example # upstream\n  repository: app\n"
        );
    }

    #[test]
    fn issue_13_missing_keys_go_under_their_parent_or_at_the_end() {
        let text = "image:\n  repository: app # name\nother: 1\n";
        assert_eq!(
            edit(text, "image:\n  registry: m.example\nsub:\n  image:\n    tag: \"1.0\"\n"),
            "image:\n  registry: m.example\n  repository: app # name\nother: 1\nsub:\n  image:\n    tag: '1.0'\n"
        );
    }

    #[test]
    fn issue_13_a_multi_line_value_and_a_list_item_key_are_replaced_whole() {
        let text = "list:\n  - name: a\n    image: x\nmap:\n  a: 1\n  b: 2\nend: 1\n";
        assert_eq!(edit(text, "map: null\n"), "list:\n  - name: a\n    image: x\nmap: null\nend: 1\n");
        assert_eq!(
            edit(text, "list:\n  - name: a\n    image: m.example/x\n"),
            "list:\n  - image: m.example/x\n    name: a\nmap:\n  a: 1\n  b: 2\nend: 1\n"
        );
    }

    #[test]
    fn issue_13_text_that_would_not_read_back_right_is_not_edited() {
        // An anchor's alias would change with it: the caller writes the file anew instead.
        let text = "a: &x\n  registry: docker.io\nb: *x\n";
        let overlay = crate::yaml::parse("a:\n  registry: m.example\n", "overlay").unwrap();
        assert_eq!(edit_values(text, &overlay).unwrap(), None);
        let written = reserialise_values(text, &overlay).unwrap();
        assert!(written.contains("could not be edited in place"), "{written}");
    }

    #[test]
    fn issue_13_the_build_suffix_is_semver_build_metadata() {
        assert_eq!(with_build_suffix("1.2.3", "relocated").unwrap(), "1.2.3+relocated");
        assert_eq!(with_build_suffix("1.2.3+abc", "relocated").unwrap(), "1.2.3+abc.relocated");
        assert!(with_build_suffix("1.2.3", "re/located").is_err());
    }

    /// Helm v4.1.4's `helm dependency update` wrote this digest for this Chart.yaml (every field of
    /// `chart.Dependency`, a range with `<` and `>`, a tag with `&`, two locked entries).
    #[test]
    fn the_lock_digest_is_the_one_helm_computes() {
        let chart_yaml = crate::yaml::parse(
            "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n  - name: sub\n    version: \">=0.1.0 <1.0.0\"\n    \
             repository: file://../sub\n    condition: sub.enabled\n    tags: [backend, \"a&b\"]\n    alias: worker\n    \
             import-values:\n      - child: exports.data\n        parent: imported\n      - defaults\n  - name: sub\n    \
             version: 0.1.x\n    repository: \"file://../sub\"\n    enabled: true\n",
            "Chart.yaml",
        )
        .unwrap();
        let lock_text = "dependencies:\n- name: sub\n  repository: file://../sub\n  version: 0.1.5\n- name: sub\n  \
                         repository: file://../sub\n  version: 0.1.5\ndigest: sha256:old\ngenerated: \"2026-12-02T06:23:29Z\"\n";
        let relocked = relock(lock_text, &chart_yaml, &[], "unused").unwrap();
        assert!(
            relocked.contains("\ndigest: sha256:8f1eb96ea7122be25dc671254107c9fdcccaf7bf1c567cf46d5a4c30a50c034b\n"),
            "{relocked}"
        );
        assert!(relocked.contains("generated: \"2026-12-02T06:23:29Z\"\n"), "{relocked}");
    }
}
