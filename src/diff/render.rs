//! The image and overlay-key changes as reports: plain text for a terminal or a log, Markdown for
//! a pull-request comment (safe for the hostile names charts may hold), JSON for tools.

use std::collections::BTreeSet;

use serde_json::json;

use super::images::ImageChanges;
use super::knobs::KnobChanges;
use crate::mirror::{MirrorImage, MirrorSite};
use crate::reference::Reference;
use crate::values::{Value, ValuesPath};

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

#[cfg(test)]
mod tests {
    use super::super::images::compare_images;
    use super::super::images::tests::{plan, reference, site, upgrade, DIGEST_A, DIGEST_B};
    use super::markdown_code;
    use crate::mapping::RegistryMapping;
    use crate::mirror::{MirrorPlan, MirrorSite};

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
}
