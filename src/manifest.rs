//! Rendered templates -> the manifest stream `helm template` prints: each file split into
//! documents as Helm splits them, sorted into install order by kind, hooks after, NOTES.txt out
//! (Helm's `pkg/action/action.go` renderResources, `pkg/release/v1/util/manifest_sorter.go`).

use std::sync::OnceLock;

use crate::values::{Value, ValuesPath};

/// Helm's install order; kinds not listed go last, in name order.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The hook events Helm knows; a document naming any other is dropped from the output.
const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// Helm's `SplitManifests`: the text trimmed, cut at every `---` that starts a line (whatever
/// follows it on that line), each piece trimmed, empty pieces dropped.
pub fn split(text: &str) -> Vec<&str> {
    static SEPARATOR: OnceLock<regex::Regex> = OnceLock::new();
    // Go's `\s` is ASCII `[\t\n\f\r ]`.
    let separator =
        SEPARATOR.get_or_init(|| regex::Regex::new(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*").expect("valid regex"));
    separator.split(text.trim()).filter(|d| !d.is_empty()).map(str::trim).collect()
}

/// What Helm reads of a document before sorting it (`SimpleHead`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub kind: String,
    /// `helm.sh/hook`, when annotated.
    pub hook: Option<String>,
}

/// The head of one document, or Helm's reason for refusing it: a document must be a map (or
/// empty), its `kind`, `apiVersion`, `metadata.name` and annotations strings.
pub fn head(document: &str) -> Result<Head, String> {
    let value = crate::yaml::parse(document, "document").map_err(|e| e.message.clone())?;
    let map = match &value {
        Value::Null => return Ok(Head { kind: String::new(), hook: None }),
        Value::Map(m) => m,
        other => return Err(format!("cannot unmarshal {} into Go value of type util.SimpleHead", json_kind(other))),
    };
    let string_field = |path: &str| -> Result<Option<String>, String> {
        match value.get(&ValuesPath::parse(path)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "cannot unmarshal {} into Go struct field SimpleHead.{path} of type string",
                json_kind(other)
            )),
        }
    };
    let kind = string_field("kind")?.unwrap_or_default();
    string_field("apiVersion")?;
    let mut hook = None;
    match map.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Map(_)) => {
            string_field("metadata.name")?;
            match value.get(&ValuesPath::parse("metadata.annotations")) {
                None | Some(Value::Null) => {}
                Some(Value::Map(annotations)) => {
                    for (key, v) in annotations {
                        match v {
                            Value::String(s) if key == "helm.sh/hook" => hook = Some(s.clone()),
                            Value::String(_) | Value::Null => {}
                            other => {
                                return Err(format!(
                                    "cannot unmarshal {} into Go struct field .metadata.annotations of type string",
                                    json_kind(other)
                                ))
                            }
                        }
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "cannot unmarshal {} into Go struct field .metadata.annotations of type map[string]string",
                        json_kind(other)
                    ))
                }
            }
        }
        Some(other) => {
            return Err(format!("cannot unmarshal {} into Go struct field SimpleHead.metadata", json_kind(other)))
        }
    }
    Ok(Head { kind, hook })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) => "object",
    }
}

/// A template whose output Helm would refuse: its name and Helm's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub template: String,
    pub message: String,
}

/// Why each document of `text` cannot be sorted, in Helm's words (`YAML parse error on ...`).
pub fn check(template: &str, text: &str) -> Result<(), Refused> {
    for document in split(text) {
        head(document).map_err(|message| Refused {
            template: template.to_string(),
            message: format!("YAML parse error on {template}: {message}"),
        })?;
    }
    Ok(())
}

struct Entry<'t> {
    source: &'t str,
    content: &'t str,
    kind: String,
}

/// The stream `helm template` prints for rendered templates (name, text), partials and
/// NOTES.txt included or not. Files Helm would refuse are left out and returned, so the caller
/// can say which; Helm itself stops at the first.
pub fn stream<'t>(templates: impl IntoIterator<Item = (&'t str, &'t str)>) -> (String, Vec<Refused>) {
    let mut files: Vec<(&str, &str)> = templates
        .into_iter()
        .filter(|(name, text)| {
            let base = name.rsplit('/').next().unwrap_or(name);
            !name.ends_with("NOTES.txt") && !base.starts_with('_') && !text.trim().is_empty()
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(b.0));
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    let mut refused = Vec::new();
    'files: for (name, text) in files {
        let mut entries = Vec::new();
        let mut file_hooks = Vec::new();
        for document in split(text) {
            let head = match head(document) {
                Ok(h) => h,
                Err(message) => {
                    refused.push(Refused {
                        template: name.to_string(),
                        message: format!("YAML parse error on {name}: {message}"),
                    });
                    continue 'files;
                }
            };
            let entry = Entry { source: name, content: document, kind: head.kind };
            match head.hook {
                None => entries.push(entry),
                Some(events) => {
                    let known = events.split(',').all(|e| HOOK_EVENTS.contains(&e.trim().to_lowercase().as_str()));
                    if known {
                        file_hooks.push(entry);
                    }
                }
            }
        }
        generic.extend(entries);
        hooks.extend(file_hooks);
    }
    // Stable sorts, as Go's sort.SliceStable.
    generic.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    hooks.sort_by(|a, b| kind_order(&a.kind, &b.kind));
    let mut manifest = String::new();
    for e in &generic {
        manifest.push_str(&format!("---\n# Source: {}\n{}\n", e.source, e.content));
    }
    let mut out = manifest.trim().to_string();
    out.push('\n');
    for e in &hooks {
        out.push_str(&format!("---\n# Source: {}\n{}\n", e.source, e.content));
    }
    (out, refused)
}

/// Helm's `lessByKind` as an ordering: listed kinds by their place, unknown kinds after them by name.
fn kind_order(a: &str, b: &str) -> std::cmp::Ordering {
    let place = |k: &str| INSTALL_ORDER.iter().position(|o| *o == k);
    match (place(a), place(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cuts_at_line_leading_dashes_and_trims() {
        assert_eq!(split("\n---\na: 1\n---\n\nb: 2\n  \n---   \n"), ["a: 1", "b: 2"]);
        assert_eq!(split("a: 1\n---# comment\nb: 2"), ["a: 1", "# comment\nb: 2"]);
        assert_eq!(split("a: '---'\nb: x---y"), ["a: '---'\nb: x---y"]);
        assert!(split("  \n---\n").is_empty());
    }

    #[test]
    fn heads_must_be_maps_with_string_fields() {
        assert_eq!(head("kind: Pod").unwrap().kind, "Pod");
        assert_eq!(head("# only a comment").unwrap(), Head { kind: String::new(), hook: None });
        let hook = head("kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n").unwrap();
        assert_eq!(hook.hook.as_deref(), Some("pre-install"));
        assert!(head("just some text").unwrap_err().contains("cannot unmarshal string"));
        assert!(head("- a\n- b").unwrap_err().contains("cannot unmarshal array"));
        assert!(head("kind: [Pod]").is_err());
        assert!(head("metadata:\n  annotations:\n    helm.sh/hook-weight: 5\n").is_err());
        assert!(head("a: [unclosed").is_err());
    }

    #[test]
    fn stream_sorts_by_kind_then_file_and_puts_known_hooks_last() {
        let files = [
            ("c/templates/z.yaml", "kind: Deployment\n---\nkind: Service"),
            ("c/templates/a.yaml", "kind: Widget\n---\nkind: ConfigMap\n---\nkind: Alpha"),
            ("c/templates/NOTES.txt", "Thanks"),
            ("c/templates/_helpers.tpl", "kind: Pod"),
            ("c/templates/empty.yaml", " \n"),
            (
                "c/templates/hook.yaml",
                "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: post-install\n---\n\
                 kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: on-a-whim\n",
            ),
        ];
        let (out, refused) = stream(files);
        assert!(refused.is_empty());
        assert_eq!(
            out,
            "---\n# Source: c/templates/a.yaml\nkind: ConfigMap\n---\n# Source: c/templates/z.yaml\nkind: Service\n\
             ---\n# Source: c/templates/z.yaml\nkind: Deployment\n---\n# Source: c/templates/a.yaml\nkind: Alpha\n\
             ---\n# Source: c/templates/a.yaml\nkind: Widget\n\
             ---\n# Source: c/templates/hook.yaml\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: post-install\n"
        );
    }

    #[test]
    fn a_file_helm_would_refuse_is_left_out_and_named() {
        let (out, refused) =
            stream([("c/templates/a.yaml", "kind: Pod"), ("c/templates/b.yaml", "kind: Pod\n---\nnot: [yaml")]);
        assert_eq!(out, "---\n# Source: c/templates/a.yaml\nkind: Pod\n");
        assert_eq!(refused.len(), 1);
        assert!(refused[0].message.starts_with("YAML parse error on c/templates/b.yaml: "), "{refused:?}");
    }
}
