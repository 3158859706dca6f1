//! Before/after texts as a unified diff for people to read, coloured when stderr is a terminal
//! that wants colour; and how a chart upgrade changes the images to mirror and, chart by chart,
//! the overlay keys a reviewer must look at.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::Path;

use serde_json::json;
use similar::TextDiff;

use crate::chart::Chart;
use crate::diagnostic::Code;
use crate::error::Error;
use crate::mirror::{MirrorImage, MirrorPlan, MirrorSite};
use crate::plan::{leaf_paths, RetargetPlan};
use crate::reference::Reference;
use crate::values::{Step, Value, ValuesPath};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Unified diff of two texts (similar crate), headers `--- a_name` / `+++ b_name`, 3 lines of context;
/// empty string when equal. With `color`, ANSI red/green/cyan for -/+/@@ lines.
pub fn unified(a: &str, b: &str, a_name: &str, b_name: &str, color: bool) -> String {
    if a == b {
        return String::new();
    }
    let plain = TextDiff::from_lines(a, b).unified_diff().context_radius(3).header(a_name, b_name).to_string();
    if !color {
        return plain;
    }
    let mut painted = String::with_capacity(plain.len() + plain.len() / 4);
    for (index, line) in plain.split_inclusive('\n').enumerate() {
        let (text, newline) = match line.strip_suffix('\n') {
            Some(text) => (text, "\n"),
            None => (line, ""),
        };
        // The first two lines are the file headers, whatever their names start with.
        let paint = if index < 2 {
            BOLD
        } else if text.starts_with("@@") {
            CYAN
        } else if text.starts_with('-') {
            RED
        } else if text.starts_with('+') {
            GREEN
        } else {
            ""
        };
        if paint.is_empty() {
            painted.push_str(line);
        } else {
            painted.push_str(paint);
            painted.push_str(text);
            painted.push_str(RESET);
            painted.push_str(newline);
        }
    }
    painted
}

/// Whether to colour output written to stderr: a terminal and `NO_COLOR` unset (any non-empty
/// value disables), `CLICOLOR_FORCE`/`FORCE_COLOR` set forces it on. See [`wants_color`].
pub fn stderr_wants_color() -> bool {
    wants_color(std::io::stderr().is_terminal(), |name| std::env::var(name).ok())
}

/// The colour decision from whether the stream is a terminal and the environment (`variable`
/// looks a name up), following no-color.org and bixense.com/clicolors:
/// - `CLICOLOR_FORCE` set to anything but empty or `0`, or `FORCE_COLOR` set to anything but
///   empty, `0` or `false`, forces colour on, even when piped or when `NO_COLOR` is set: forcing
///   is the more specific request (anstream decides the same way);
/// - otherwise `NO_COLOR` set to any non-empty value turns it off (an empty `NO_COLOR=` counts as
///   unset, as no-color.org specifies);
/// - otherwise colour goes only to a terminal that is not `TERM=dumb`.
pub fn wants_color(is_terminal: bool, variable: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str, off_values: &[&str]| {
        variable(name).is_some_and(|value| !value.is_empty() && !off_values.contains(&value.as_str()))
    };
    if set("CLICOLOR_FORCE", &["0"]) || set("FORCE_COLOR", &["0", "false"]) {
        return true;
    }
    if set("NO_COLOR", &[]) {
        return false;
    }
    is_terminal && variable("TERM").as_deref() != Some("dumb")
}

/// How the images to mirror change between two versions of a chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageChanges {
    /// Repositories the new version uses and the old did not, sorted by source.
    pub added: Vec<MirrorImage>,
    /// Repositories the old version used and the new does not, sorted by source.
    pub removed: Vec<MirrorImage>,
    /// The same source repository with another tag or digest, sorted by new source.
    pub retagged: Vec<Retag>,
    /// Images both versions use exactly alike.
    pub unchanged: usize,
}

/// One repository's reference before and after the upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retag {
    pub old: MirrorImage,
    pub new: MirrorImage,
}

/// What changed between the images `old` and `new` copy. Images compare by fully qualified
/// source. Within one source repository, an old and a new reference are paired as a retag when
/// they share a site (same chart, values path and location), then in sorted order; a
/// repository with more references on one side than the other reports the rest as added or
/// removed. Excluded sources and sources already on a destination are not compared: nothing
/// is copied for them either way.
pub fn compare_images(old: &MirrorPlan, new: &MirrorPlan) -> ImageChanges {
    let old_sources: BTreeSet<String> = old.images().iter().map(source_key).collect();
    let new_sources: BTreeSet<String> = new.images().iter().map(source_key).collect();
    let unchanged = old_sources.intersection(&new_sources).count();

    let mut old_only: BTreeMap<String, Vec<&MirrorImage>> = BTreeMap::new();
    for image in old.images() {
        if !new_sources.contains(&source_key(image)) {
            old_only.entry(name_key(image)).or_default().push(image);
        }
    }
    let mut new_only: BTreeMap<String, Vec<&MirrorImage>> = BTreeMap::new();
    for image in new.images() {
        if !old_sources.contains(&source_key(image)) {
            new_only.entry(name_key(image)).or_default().push(image);
        }
    }

    let mut changes = ImageChanges { unchanged, ..ImageChanges::default() };
    for (name, mut added) in new_only {
        let mut removed = old_only.remove(&name).unwrap_or_default();
        // First the pairs that share a site: the values path that moved from one tag to another.
        let mut index = 0;
        while index < added.len() {
            let partner = removed.iter().position(|old_image| share_a_site(old_image, added[index]));
            match partner {
                Some(partner) => {
                    let old_image = removed.remove(partner);
                    let new_image = added.remove(index);
                    changes.retagged.push(Retag { old: old_image.clone(), new: new_image.clone() });
                }
                None => index += 1,
            }
        }
        let pairs = added.len().min(removed.len());
        for (old_image, new_image) in removed.drain(..pairs).zip(added.drain(..pairs)) {
            changes.retagged.push(Retag { old: old_image.clone(), new: new_image.clone() });
        }
        changes.added.extend(added.into_iter().cloned());
        changes.removed.extend(removed.into_iter().cloned());
    }
    for removed in old_only.into_values() {
        changes.removed.extend(removed.into_iter().cloned());
    }
    changes.added.sort_by_key(source_key);
    changes.removed.sort_by_key(source_key);
    changes.retagged.sort_by_key(|retag| source_key(&retag.new));
    changes
}

fn source_key(image: &MirrorImage) -> String {
    image.source.to_string()
}

fn name_key(image: &MirrorImage) -> String {
    image.source.name()
}

fn share_a_site(old: &MirrorImage, new: &MirrorImage) -> bool {
    let place = |site: &MirrorSite| (site.chart.clone(), site.values_path.clone(), site.location.clone());
    let old_places: BTreeSet<_> = old.sites.iter().map(place).collect();
    new.sites.iter().any(|site| old_places.contains(&place(site)))
}

/// The part of a reference after its name: `1.25`, `1.25@sha256:…`, `@sha256:…`, or
/// `latest (implied)` when it has neither.
fn version(reference: &Reference) -> String {
    match (&reference.tag, &reference.digest) {
        (Some(tag), Some(digest)) => format!("{tag}@{digest}"),
        (Some(tag), None) => tag.clone(),
        (None, Some(digest)) => format!("@{digest}"),
        (None, None) => "latest (implied)".to_string(),
    }
}

/// Where an image is used, for people: `chart values.path`, or `chart: location` when no values
/// path sets it; `(disabled)` marks a disabled subchart's site.
fn site_text(site: &MirrorSite) -> String {
    let mut text = match &site.values_path {
        Some(path) => format!("{} {path}", site.chart),
        None => format!("{}: {}", site.chart, site.location),
    };
    if site.disabled {
        text.push_str(" (disabled)");
    }
    // Charts are untrusted input; keep each report line one line.
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Each distinct use of an image, for people. Sites differ by location, which the text leaves
/// out when a values path names the use: an image five pods run from one key is one entry.
fn site_texts(image: &MirrorImage) -> Vec<String> {
    let mut seen = BTreeSet::new();
    image.sites.iter().map(site_text).filter(|text| seen.insert(text.clone())).collect()
}

fn sites_text(image: &MirrorImage) -> String {
    site_texts(image).join("; ")
}

impl ImageChanges {
    /// True when no image was added, removed or retagged.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.retagged.is_empty()
    }

    fn summary(&self) -> String {
        format!(
            "{} added, {} removed, {} retagged, {} unchanged",
            self.added.len(),
            self.removed.len(),
            self.retagged.len(),
            self.unchanged
        )
    }

    /// A plain-text report for a terminal or a log, one change a line:
    /// `+` added, `-` removed, `~` retagged (`name: old -> new`), each with its sites.
    pub fn to_text(&self) -> String {
        let mut text = format!("Images: {}\n", self.summary());
        for image in &self.added {
            text.push_str(&format!("  + {}  ({})\n", image.source, sites_text(image)));
        }
        for image in &self.removed {
            text.push_str(&format!("  - {}  ({})\n", image.source, sites_text(image)));
        }
        for retag in &self.retagged {
            text.push_str(&format!(
                "  ~ {}: {} -> {}  ({})\n",
                retag.new.source.name(),
                version(&retag.old.source),
                version(&retag.new.source),
                sites_text(&retag.new)
            ));
        }
        text
    }

    /// A Markdown section for a pull-request comment: a table of the changes, then a count of
    /// the unchanged images.
    pub fn to_markdown(&self) -> String {
        let mut text = String::from("### Images\n\n");
        if self.is_empty() {
            text.push_str(&format!("No image changes ({} unchanged).\n", self.unchanged));
            return text;
        }
        text.push_str("| Change | Image | Old | New | Used by |\n");
        text.push_str("| --- | --- | --- | --- | --- |\n");
        let used_by = |image: &MirrorImage| {
            site_texts(image).iter().map(|text| markdown_code(text)).collect::<Vec<_>>().join("<br>")
        };
        for image in &self.added {
            text.push_str(&format!(
                "| added | {} |  | {} | {} |\n",
                markdown_code(&image.source.name()),
                markdown_code(&version(&image.source)),
                used_by(image)
            ));
        }
        for image in &self.removed {
            text.push_str(&format!(
                "| removed | {} | {} |  | {} |\n",
                markdown_code(&image.source.name()),
                markdown_code(&version(&image.source)),
                used_by(image)
            ));
        }
        for retag in &self.retagged {
            text.push_str(&format!(
                "| retagged | {} | {} | {} | {} |\n",
                markdown_code(&retag.new.source.name()),
                markdown_code(&version(&retag.old.source)),
                markdown_code(&version(&retag.new.source)),
                used_by(&retag.new)
            ));
        }
        text.push_str(&format!("\n{}.\n", self.summary()));
        text
    }

    /// The changes as JSON, for tools (and for the lead's combined `diff --format json`).
    /// Without `destinations` (no target registry was given) every `destination` is null.
    pub fn to_json(&self, destinations: bool) -> serde_json::Value {
        let site = |site: &MirrorSite| {
            json!({
                "chart": site.chart,
                "values_path": site.values_path,
                "location": site.location,
                "disabled": site.disabled,
            })
        };
        let image = |image: &MirrorImage| {
            json!({
                "source": image.source.to_string(),
                "destination": destinations.then(|| image.destination.to_string()),
                "disabled": image.disabled(),
                "sites": image.sites.iter().map(site).collect::<Vec<_>>(),
            })
        };
        json!({
            "added": self.added.iter().map(image).collect::<Vec<_>>(),
            "removed": self.removed.iter().map(image).collect::<Vec<_>>(),
            "retagged": self.retagged.iter().map(|retag| json!({
                "name": retag.new.source.name(),
                "old": image(&retag.old),
                "new": image(&retag.new),
            })).collect::<Vec<_>>(),
            "unchanged": self.unchanged,
        })
    }
}

/// How the overlay keys of one (sub)chart change between two versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartKnobs {
    /// `parent > child`, as the chart tree names it.
    pub chart: String,
    /// The values key the chart's own keys sit under (empty for the root; `global` for the
    /// keys every chart reads).
    pub prefix: String,
    /// Keys the new version's overlay sets that the old one did not, with their values.
    pub added: Vec<(ValuesPath, Value)>,
    /// Keys the old version's overlay set that the new one no longer needs.
    pub removed: Vec<(ValuesPath, Value)>,
    /// Keys both set, to different values: (key, old, new).
    pub changed: Vec<(ValuesPath, Value, Value)>,
}

/// The overlay keys that change between two versions, grouped by the chart that reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnobChanges {
    /// Charts with a change, root first, then by chart path; `global` keys first of all.
    pub charts: Vec<ChartKnobs>,
}

/// Which chart reads each overlay key: the chart whose values prefix (its keys below the root,
/// aliases included) is the longest one the key starts with. Both trees count, so a key of a
/// subchart the new version drops still names that subchart.
fn chart_prefixes(trees: [&Chart; 2]) -> Vec<(ValuesPath, String)> {
    let mut prefixes: BTreeMap<ValuesPath, String> = BTreeMap::new();
    for tree in trees {
        for chart in tree.walk() {
            let prefix = ValuesPath::from_steps(chart.path.iter().skip(1).map(|k| Step::Key(k.clone())).collect());
            prefixes.entry(prefix).or_insert_with(|| chart.display_path());
        }
    }
    let mut list: Vec<(ValuesPath, String)> = prefixes.into_iter().collect();
    list.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.depth()));
    list
}

/// Compares the overlays planned for the old and the new chart tree, key by key (lists are
/// compared whole, as an overlay sets them whole).
pub fn compare_knobs(old: (&Chart, &RetargetPlan), new: (&Chart, &RetargetPlan)) -> KnobChanges {
    let prefixes = chart_prefixes([old.0, new.0]);
    let global = ValuesPath::root().child("global");
    let owner = |key: &ValuesPath| -> (ValuesPath, String) {
        if key.starts_with(&global) {
            return (global.clone(), "global (every chart)".to_string());
        }
        let found = prefixes.iter().find(|(prefix, _)| key.starts_with(prefix));
        found.cloned().unwrap_or_else(|| (ValuesPath::root(), old.0.display_path()))
    };
    let (old_overlay, new_overlay) = (&old.1.overlay, &new.1.overlay);
    let mut keys = leaf_paths(old_overlay);
    keys.extend(leaf_paths(new_overlay));
    keys.sort();
    keys.dedup();
    let mut by_chart: BTreeMap<(u8, ValuesPath), ChartKnobs> = BTreeMap::new();
    for key in keys {
        let (prefix, chart) = owner(&key);
        let rank = if prefix == global { 0 } else { 1 };
        let entry = by_chart.entry((rank, prefix.clone())).or_insert_with(|| ChartKnobs {
            chart,
            prefix: prefix.to_string(),
            ..ChartKnobs::default()
        });
        match (old_overlay.get(&key), new_overlay.get(&key)) {
            (None, Some(value)) => entry.added.push((key, value.clone())),
            (Some(value), None) => entry.removed.push((key, value.clone())),
            (Some(before), Some(after)) if before != after => entry.changed.push((key, before.clone(), after.clone())),
            _ => {}
        }
    }
    let charts = by_chart
        .into_values()
        .filter(|c| !(c.added.is_empty() && c.removed.is_empty() && c.changed.is_empty()))
        .collect();
    KnobChanges { charts }
}

/// A values tree as JSON: what `--set-json` would take back.
fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::String(s) => json!(s),
        Value::List(items) => serde_json::Value::Array(items.iter().map(value_json).collect()),
        Value::Map(map) => serde_json::Value::Object(map.iter().map(|(k, v)| (k.clone(), value_json(v))).collect()),
    }
}

/// One value on one line for people: a plain scalar as YAML writes it, anything else (lists,
/// maps, text with line breaks) as compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().any(char::is_control) => value_json(value).to_string(),
        Value::List(_) | Value::Map(_) => value_json(value).to_string(),
        scalar => crate::yaml::scalar(scalar),
    }
}

/// Chart names and keys come from untrusted charts: one report line stays one line.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

impl KnobChanges {
    pub fn is_empty(&self) -> bool {
        self.charts.is_empty()
    }

    fn counts(&self) -> (usize, usize, usize) {
        self.charts.iter().fold((0, 0, 0), |(a, r, c), chart| {
            (a + chart.added.len(), r + chart.removed.len(), c + chart.changed.len())
        })
    }

    fn summary(&self) -> String {
        let (added, removed, changed) = self.counts();
        format!("{added} new, {removed} no longer needed, {changed} changed")
    }

    /// Plain text, chart by chart: `+ key: value` new, `- key: value` no longer needed,
    /// `~ key: old -> new` changed.
    pub fn to_text(&self) -> String {
        let mut text = format!("Overlay keys: {}\n", self.summary());
        for chart in &self.charts {
            text.push_str(&format!("  {}\n", one_line(&chart.chart)));
            for (key, value) in &chart.added {
                text.push_str(&format!("    + {}: {}\n", one_line(&key.to_string()), value_text(value)));
            }
            for (key, value) in &chart.removed {
                text.push_str(&format!("    - {}: {}\n", one_line(&key.to_string()), value_text(value)));
            }
            for (key, before, after) in &chart.changed {
                text.push_str(&format!(
                    "    ~ {}: {} -> {}\n",
                    one_line(&key.to_string()),
                    value_text(before),
                    value_text(after)
                ));
            }
        }
        text
    }

    /// A Markdown section: one table per chart, the keys as a reviewer checks them.
    pub fn to_markdown(&self) -> String {
        let mut text = String::from("### Overlay keys\n\n");
        if self.is_empty() {
            text.push_str("No overlay key changes.\n");
            return text;
        }
        for chart in &self.charts {
            text.push_str(&format!("#### {}\n\n", markdown_code(&one_line(&chart.chart))));
            text.push_str("| Change | Key | Old | New |\n| --- | --- | --- | --- |\n");
            let code = |text: String| markdown_code(&one_line(&text));
            for (key, value) in &chart.added {
                text.push_str(&format!("| new | {} |  | {} |\n", code(key.to_string()), code(value_text(value))));
            }
            for (key, value) in &chart.removed {
                text.push_str(&format!(
                    "| no longer needed | {} | {} |  |\n",
                    code(key.to_string()),
                    code(value_text(value))
                ));
            }
            for (key, before, after) in &chart.changed {
                text.push_str(&format!(
                    "| changed | {} | {} | {} |\n",
                    code(key.to_string()),
                    code(value_text(before)),
                    code(value_text(after))
                ));
            }
            text.push('\n');
        }
        text.push_str(&format!("{}.\n", self.summary()));
        text
    }

    pub fn to_json(&self) -> serde_json::Value {
        let key_value =
            |(key, value): &(ValuesPath, Value)| json!({"key": key.to_string(), "value": value_json(value)});
        serde_json::Value::Array(
            self.charts
                .iter()
                .map(|chart| {
                    json!({
                        "chart": chart.chart,
                        "prefix": chart.prefix,
                        "added": chart.added.iter().map(key_value).collect::<Vec<_>>(),
                        "removed": chart.removed.iter().map(key_value).collect::<Vec<_>>(),
                        "changed": chart.changed.iter().map(|(key, before, after)| json!({
                            "key": key.to_string(),
                            "old": value_json(before),
                            "new": value_json(after),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }
}

/// `text` as a Markdown code span that is safe in a table cell: a backtick fence longer than
/// any run inside, and `|` escaped (GitHub splits cells on it even inside code).
fn markdown_code(text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let padding = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{fence}{padding}{text}{padding}{fence}").replace('|', "\\|")
}

/// The images `new` needs that `mirrored` does not cover, for `--fail-on-new-images`. Images
/// only disabled subcharts use are not needed. A listed reference covers an image when it names
/// the image's source or its destination: the same repository and, when the image is pinned,
/// the same digest, otherwise the same tag (no tag meaning `latest`).
pub fn unmirrored<'a>(new: &'a MirrorPlan, mirrored: &[Reference]) -> Vec<&'a MirrorImage> {
    new.images()
        .iter()
        .filter(|image| !image.disabled())
        .filter(|image| {
            !mirrored.iter().any(|listed| covers(listed, &image.source) || covers(listed, &image.destination))
        })
        .collect()
}

fn covers(listed: &Reference, wanted: &Reference) -> bool {
    let same_repository =
        listed.registry.eq_ignore_ascii_case(&wanted.registry) && listed.repository == wanted.repository;
    if !same_repository {
        return false;
    }
    match &wanted.digest {
        Some(digest) => listed.digest.as_ref() == Some(digest),
        None => {
            let tag = |reference: &Reference| reference.tag.clone().unwrap_or_else(|| "latest".into());
            tag(listed) == tag(wanted)
        }
    }
}

/// Parses a list of mirrored images (`--mirrored FILE`): one reference a line, or a source
/// and destination separated by a tab (as `mirror --format tsv` writes them); `#` starts a
/// comment; blank lines are skipped. `file_name` names the file in errors.
pub fn parse_mirrored_list(text: &str, file_name: &str) -> Result<Vec<Reference>, Error> {
    let mut references = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        for field in content.split('\t') {
            let field = field.trim();
            if field.is_empty() {
                continue;
            }
            let reference = Reference::parse(field).map_err(|e| {
                Error::coded(Code::MirroredListInvalid, e.to_string()).at(file_name).line(index + 1).hint(
                    "write one image reference a line (quay.io/org/app:1.2), or a source and \
                         destination separated by a tab; `#` starts a comment",
                )
            })?;
            references.push(reference);
        }
    }
    Ok(references)
}

/// Reads and parses a mirrored-images file (see [`parse_mirrored_list`]).
pub fn read_mirrored_list(path: &Path) -> Result<Vec<Reference>, Error> {
    let file_name = path.display().to_string();
    let bytes = crate::source::read_input_file(path, "list of mirrored images")
        .map_err(|e| e.hint("check the path given to --mirrored"))?;
    parse_mirrored_list(crate::source::utf8(&bytes, &file_name)?, &file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";

    #[test]
    fn equal_texts_give_an_empty_diff() {
        assert_eq!(unified(BEFORE, BEFORE, "a", "b", true), "");
        assert_eq!(unified("", "", "a", "b", false), "");
    }

    #[test]
    fn diff_has_headers_hunks_and_three_lines_of_context() {
        let after = BEFORE.replace("e\n", "E\n");
        let diff = unified(BEFORE, &after, "values.yaml", "values.yaml (retargeted)", false);
        let expected =
            "--- values.yaml\n+++ values.yaml (retargeted)\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n";
        assert_eq!(diff, expected);
    }

    #[test]
    fn far_apart_changes_make_separate_hunks() {
        let after = BEFORE.replace("a\n", "A\n").replace("j\n", "J\n");
        let diff = unified(BEFORE, &after, "x", "y", false);
        assert_eq!(diff.lines().filter(|line| line.starts_with("@@")).count(), 2, "{diff}");
    }

    #[test]
    fn a_missing_final_newline_is_shown() {
        let diff = unified("a\n", "a\nb", "x", "y", false);
        assert!(diff.contains("+b\n\\ No newline at end of file"), "{diff}");
    }

    #[test]
    fn colour_marks_removed_added_and_hunk_lines() {
        let diff = unified("keep\nold\n", "keep\nnew\n", "-dash-name", "+plus-name", true);
        let lines: Vec<&str> = diff.lines().collect();
        assert_eq!(lines[0], format!("{BOLD}--- -dash-name{RESET}"));
        assert_eq!(lines[1], format!("{BOLD}+++ +plus-name{RESET}"));
        assert_eq!(lines[2], format!("{CYAN}@@ -1,2 +1,2 @@{RESET}"));
        assert_eq!(lines[3], " keep", "context lines stay plain");
        assert_eq!(lines[4], format!("{RED}-old{RESET}"));
        assert_eq!(lines[5], format!("{GREEN}+new{RESET}"));
        assert!(diff.ends_with('\n'));
        let stripped = diff.replace(BOLD, "").replace(CYAN, "").replace(RED, "").replace(GREEN, "").replace(RESET, "");
        assert_eq!(stripped, unified("keep\nold\n", "keep\nnew\n", "-dash-name", "+plus-name", false));
    }

    fn decide(is_terminal: bool, environment: &[(&str, &str)]) -> bool {
        wants_color(is_terminal, |name| {
            environment.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn colour_goes_to_terminals_unless_no_color_or_dumb() {
        assert!(decide(true, &[]));
        assert!(!decide(false, &[]));
        assert!(!decide(true, &[("NO_COLOR", "1")]));
        assert!(!decide(true, &[("NO_COLOR", "0")]), "any non-empty value disables");
        assert!(decide(true, &[("NO_COLOR", "")]), "empty counts as unset");
        assert!(!decide(true, &[("TERM", "dumb")]));
        assert!(decide(true, &[("TERM", "xterm-256color")]));
    }

    #[test]
    fn forcing_wins_over_pipes_and_no_color() {
        assert!(decide(false, &[("CLICOLOR_FORCE", "1")]));
        assert!(decide(false, &[("FORCE_COLOR", "3")]));
        assert!(decide(false, &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]));
        assert!(decide(false, &[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")]));
        assert!(!decide(false, &[("CLICOLOR_FORCE", "0")]));
        assert!(!decide(false, &[("FORCE_COLOR", "false")]));
        assert!(!decide(false, &[("FORCE_COLOR", "")]));
        assert!(!decide(true, &[("FORCE_COLOR", "0"), ("NO_COLOR", "1")]));
    }

    mod images {
        use super::super::*;
        use crate::mapping::RegistryMapping;

        const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

        fn reference(text: &str) -> Reference {
            Reference::parse(text).unwrap_or_else(|e| panic!("{e}"))
        }

        fn site(chart: &str, values_path: &str) -> MirrorSite {
            MirrorSite {
                chart: chart.into(),
                values_path: Some(values_path.into()),
                location: format!("Deployment/{chart} spec.template.spec.containers[0].image"),
                disabled: false,
            }
        }

        /// A plan from (reference, chart, values path, disabled) rows.
        fn plan(rows: &[(&str, &str, &str, bool)]) -> MirrorPlan {
            let mapping = RegistryMapping::from_registry("harbor.example.com/mirror").unwrap();
            let mut plan = MirrorPlan::new();
            for (text, chart, values_path, disabled) in rows {
                let mut site = site(chart, values_path);
                site.disabled = *disabled;
                plan.add(&reference(text), &mapping, site);
            }
            plan
        }

        fn sources(images: &[MirrorImage]) -> Vec<String> {
            images.iter().map(|image| image.source.to_string()).collect()
        }

        fn retags(changes: &ImageChanges) -> Vec<(String, String)> {
            changes.retagged.iter().map(|r| (r.old.source.to_string(), r.new.source.to_string())).collect()
        }

        fn upgrade() -> (MirrorPlan, MirrorPlan) {
            let old = plan(&[
                ("nginx:1.25", "web", "image", false),
                ("busybox:1.36", "web", "init.image", false),
                ("quay.io/org/agent:2.0", "web", "agent.image", false),
                (&format!("ghcr.io/org/app@{DIGEST_A}"), "web", "app.image", false),
            ]);
            let new = plan(&[
                ("nginx:1.26", "web", "image", false),
                ("quay.io/org/agent:2.0", "web", "agent.image", false),
                (&format!("ghcr.io/org/app@{DIGEST_B}"), "web", "app.image", false),
                ("quay.io/org/sidecar:0.3", "web/extra", "sidecar.image", false),
            ]);
            (old, new)
        }

        #[test]
        fn an_upgrade_reports_added_removed_retagged_and_unchanged() {
            let (old, new) = upgrade();
            let changes = compare_images(&old, &new);
            assert_eq!(sources(&changes.added), ["quay.io/org/sidecar:0.3"]);
            assert_eq!(sources(&changes.removed), ["docker.io/library/busybox:1.36"]);
            assert_eq!(
                retags(&changes),
                [
                    ("docker.io/library/nginx:1.25".to_string(), "docker.io/library/nginx:1.26".to_string()),
                    (format!("ghcr.io/org/app@{DIGEST_A}"), format!("ghcr.io/org/app@{DIGEST_B}")),
                ]
            );
            assert_eq!(changes.unchanged, 1);
            assert!(!changes.is_empty());
            assert!(compare_images(&new, &new).is_empty());
            assert_eq!(compare_images(&new, &new).unchanged, 4);
        }

        #[test]
        fn retags_pair_by_shared_site_before_sorted_order() {
            // Two values paths use one repository; the upgrade bumps both, in an order where
            // sorted pairing alone would cross them.
            let old = plan(&[
                ("quay.io/org/app:1.0", "web", "api.image", false),
                ("quay.io/org/app:2.0", "web", "worker.image", false),
            ]);
            let new = plan(&[
                ("quay.io/org/app:0.9", "web", "worker.image", false),
                ("quay.io/org/app:1.1", "web", "api.image", false),
            ]);
            let changes = compare_images(&old, &new);
            assert_eq!(
                retags(&changes),
                [
                    ("quay.io/org/app:2.0".to_string(), "quay.io/org/app:0.9".to_string()),
                    ("quay.io/org/app:1.0".to_string(), "quay.io/org/app:1.1".to_string()),
                ]
            );
            // A third reference with no partner is an addition.
            let more = plan(&[
                ("quay.io/org/app:1.0", "web", "api.image", false),
                ("quay.io/org/app:3.0", "web", "x.image", false),
                ("quay.io/org/app:4.0", "web", "y.image", false),
            ]);
            let changes = compare_images(&old, &more);
            assert_eq!(changes.unchanged, 1);
            assert_eq!(retags(&changes).len(), 1);
            assert_eq!(sources(&changes.added), ["quay.io/org/app:4.0"]);
            assert!(changes.removed.is_empty());
        }

        #[test]
        fn text_report_lists_each_change_with_its_sites() {
            let (old, new) = upgrade();
            let text = compare_images(&old, &new).to_text();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], "Images: 1 added, 1 removed, 2 retagged, 1 unchanged");
            assert_eq!(lines[1], "  + quay.io/org/sidecar:0.3  (web/extra sidecar.image)");
            assert_eq!(lines[2], "  - docker.io/library/busybox:1.36  (web init.image)");
            assert_eq!(lines[3], "  ~ docker.io/library/nginx: 1.25 -> 1.26  (web image)");
            assert_eq!(lines[4], format!("  ~ ghcr.io/org/app: @{DIGEST_A} -> @{DIGEST_B}  (web app.image)"));
            assert_eq!(lines.len(), 5);
        }

        #[test]
        fn markdown_report_is_a_table_safe_for_hostile_names() {
            let (old, new) = upgrade();
            let text = compare_images(&old, &new).to_markdown();
            let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
            assert_eq!(rows[0], "| Change | Image | Old | New | Used by |");
            assert_eq!(rows[2], "| added | `quay.io/org/sidecar` |  | `0.3` | `web/extra sidecar.image` |");
            assert_eq!(rows[4], "| retagged | `docker.io/library/nginx` | `1.25` | `1.26` | `web image` |");
            assert_eq!(rows.len(), 6);
            assert!(text.ends_with("\n1 added, 1 removed, 2 retagged, 1 unchanged.\n"), "{text}");

            assert_eq!(markdown_code("a|b"), "`a\\|b`");
            assert_eq!(markdown_code("x `y` z"), "``x `y` z``");
            assert_eq!(markdown_code("`edge"), "`` `edge ``");
            let hostile = plan(&[("nginx:1", "we|b\nx", "a`b", false)]);
            let text = compare_images(&MirrorPlan::new(), &hostile).to_markdown();
            let row = text.lines().find(|l| l.starts_with("| added")).unwrap();
            assert_eq!(row, "| added | `docker.io/library/nginx` |  | `1` | ``we\\|b?x a`b`` |");

            let same = compare_images(&new, &new).to_markdown();
            assert_eq!(same, "### Images\n\nNo image changes (4 unchanged).\n");
        }

        #[test]
        fn one_values_path_used_by_several_pods_is_listed_once() {
            let mapping = RegistryMapping::from_registry("harbor.example.com/mirror").unwrap();
            let mut new = MirrorPlan::new();
            for location in
                ["Deployment/a spec.template.spec.containers[0].image", "Job/b spec.template.spec.containers[0].image"]
            {
                let site = MirrorSite { location: location.into(), ..site("web", "agent.image") };
                new.add(&reference("quay.io/org/agent:2.1"), &mapping, site);
            }
            new.add(&reference("quay.io/org/agent:2.1"), &mapping, site("web", "defaults.image"));
            let changes = compare_images(&MirrorPlan::new(), &new);
            assert_eq!(changes.added[0].sites.len(), 3, "the plan keeps every site");
            assert_eq!(
                changes.to_text().lines().nth(1).unwrap(),
                "  + quay.io/org/agent:2.1  (web agent.image; web defaults.image)"
            );
            let row = changes.to_markdown().lines().find(|l| l.starts_with("| added")).map(str::to_string);
            assert_eq!(
                row.unwrap(),
                "| added | `quay.io/org/agent` |  | `2.1` | `web agent.image`<br>`web defaults.image` |"
            );
        }

        #[test]
        fn json_report_carries_sources_destinations_and_sites() {
            let (old, new) = upgrade();
            let changes = compare_images(&old, &new);
            let json = changes.to_json(true);
            assert_eq!(json["added"][0]["source"], "quay.io/org/sidecar:0.3");
            assert_eq!(json["added"][0]["destination"], "harbor.example.com/mirror/org/sidecar:0.3");
            let sources_only = changes.to_json(false);
            assert_eq!(sources_only["added"][0]["destination"], serde_json::Value::Null);
            assert_eq!(sources_only["retagged"][0]["new"]["destination"], serde_json::Value::Null);
            assert_eq!(json["added"][0]["sites"][0]["values_path"], "sidecar.image");
            assert_eq!(json["removed"][0]["source"], "docker.io/library/busybox:1.36");
            assert_eq!(json["retagged"][0]["name"], "docker.io/library/nginx");
            assert_eq!(json["retagged"][0]["old"]["source"], "docker.io/library/nginx:1.25");
            assert_eq!(json["retagged"][0]["new"]["source"], "docker.io/library/nginx:1.26");
            assert_eq!(json["unchanged"], 1);
        }

        #[test]
        fn unmirrored_lists_needed_images_the_list_does_not_cover() {
            let new = plan(&[
                ("nginx:1.26", "web", "image", false),
                (&format!("ghcr.io/org/app:2@{DIGEST_B}"), "web", "app.image", false),
                ("quay.io/org/sidecar:0.3", "web", "sidecar.image", false),
                ("quay.io/org/latest", "web", "latest.image", false),
                ("quay.io/org/off:1", "web/off", "off.image", true),
            ]);
            let names = |mirrored: &[Reference]| -> Vec<String> {
                unmirrored(&new, mirrored).iter().map(|image| image.source.to_string()).collect()
            };
            assert_eq!(names(&[]).len(), 4, "a disabled-only image is not needed");
            let listed = [
                // The source, spelt the short way.
                reference("nginx:1.26"),
                // The destination, pinned: the digest is what counts.
                reference(&format!("harbor.example.com/mirror/org/app@{DIGEST_B}")),
                // The right repository with another tag does not count.
                reference("quay.io/org/sidecar:0.2"),
                // No tag means latest, on both sides.
                reference("quay.io/org/latest:latest"),
            ];
            assert_eq!(names(&listed), ["quay.io/org/sidecar:0.3"]);
            // A tag without the pinned digest does not cover a pinned image.
            let tag_only = [reference("ghcr.io/org/app:2")];
            assert!(names(&tag_only).contains(&format!("ghcr.io/org/app:2@{DIGEST_B}")));
        }

        #[test]
        fn mirrored_list_skips_comments_and_blank_lines_and_reads_tsv() {
            let text = format!(
                "# images copied last release\n\nnginx:1.26   # web\n\
                 quay.io/org/a:1\tharbor.example.com/mirror/org/a:1\n  ghcr.io/org/app@{DIGEST_A}\n"
            );
            let references = parse_mirrored_list(&text, "mirrored.txt").unwrap();
            let texts: Vec<String> = references.iter().map(|r| r.to_string()).collect();
            assert_eq!(
                texts,
                [
                    "docker.io/library/nginx:1.26".to_string(),
                    "quay.io/org/a:1".to_string(),
                    "harbor.example.com/mirror/org/a:1".to_string(),
                    format!("ghcr.io/org/app@{DIGEST_A}"),
                ]
            );
            assert!(parse_mirrored_list("", "empty.txt").unwrap().is_empty());
        }

        #[test]
        fn mirrored_list_errors_name_the_file_and_line() {
            let error = parse_mirrored_list("nginx:1\n\nnginx 1.25\n", "mirrored.txt").unwrap_err();
            assert_eq!(error.location, ["mirrored.txt"]);
            assert_eq!(error.line, Some(3));
            let message = error.to_string();
            assert!(message.starts_with("mirrored.txt: \"nginx 1.25\" is not an image reference"), "{message}");
            assert!(message.contains("(line 3)"), "{message}");
            assert!(message.contains("hint: write one image reference a line"), "{message}");

            let missing = read_mirrored_list(Path::new("/nonexistent/mirrored.txt")).unwrap_err();
            assert!(missing.to_string().contains("--mirrored"), "{missing}");
        }
    }
}
