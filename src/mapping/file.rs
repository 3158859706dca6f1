//! A `--mapping FILE`: its YAML settings read into a `RegistryMapping`, each error naming the file,
//! the setting and, in block-style YAML, its line.

use std::collections::BTreeMap;
use std::path::Path;

use super::rules::{is_written_host, normalise_host, Destination, Exclusion, Layout, Preset};
use super::{parse_registry_flag, registry_hint, RegistryMapping};
use crate::diagnostic::Code;
use crate::error::Error;
use crate::reference;
use crate::values::{Map, Value};

const KEYS: &str = "registry, layout, preset, registries, exclude";

impl RegistryMapping {
    /// `--mapping FILE` (YAML), optionally combined with `--registry` as the default destination.
    pub fn from_file(path: &Path, registry: Option<&str>) -> Result<Self, Error> {
        let file_name = path.display().to_string();
        let bytes = crate::source::read_input_file(path, "mapping file")
            .map_err(|e| e.hint("check the path given to --mapping"))?;
        Self::from_yaml_text(crate::source::utf8(&bytes, &file_name)?, &file_name, registry)
    }

    /// The mapping file's rules from its text; `file_name` names it in errors. `registry`
    /// (from `--registry`) replaces the file's `registry:`, since a flag is the more specific
    /// request.
    pub fn from_yaml_text(text: &str, file_name: &str, registry: Option<&str>) -> Result<Self, Error> {
        Self::from_settings(text, file_name, registry).map_err(|error| match (error.line, error.location.as_slice()) {
            (None, [file, place]) if file == file_name => match line_of_setting(text, place) {
                Some(line) => error.line(line),
                None => error,
            },
            _ => error,
        })
    }

    fn from_settings(text: &str, file_name: &str, registry: Option<&str>) -> Result<Self, Error> {
        let document = crate::yaml::parse(text, file_name).map_err(|e| Error {
            message: format!("not valid YAML: {}", e.message.trim_start_matches("invalid YAML: ")),
            ..e
        })?;
        let fail = |key: &str, message: String, hint: String| {
            Error::coded(Code::MappingInvalid, message).at(key).at(file_name).hint(hint)
        };
        let empty = Map::new();
        let top = match &document {
            Value::Map(map) => map,
            Value::Null => &empty,
            _ => {
                return Err(Error::coded(Code::MappingInvalid, "the mapping file must be a YAML map of settings")
                    .at(file_name)
                    .hint(format!("use the keys {KEYS}")))
            }
        };

        let mut file_registry = None;
        let mut layout = Layout::KeepPath;
        let mut preset = None;
        let mut explicit_registries = BTreeMap::new();
        let mut exclude = Vec::new();
        for (key, value) in top {
            let key = key.as_str();
            match key {
                "registry" => {
                    let text = expect_text(value, key, file_name)?;
                    let destination = Destination::parse(text).map_err(|reason| fail(key, reason, registry_hint()))?;
                    file_registry = Some(destination);
                }
                "layout" => {
                    layout = match expect_text(value, key, file_name)? {
                        "keep-path" => Layout::KeepPath,
                        "keep-host" => Layout::KeepHost,
                        other => {
                            return Err(fail(
                                key,
                                format!("unknown layout {other:?}"),
                                "use keep-path (REG/org/app) or keep-host (REG/quay.io/org/app)".into(),
                            ))
                        }
                    };
                }
                "preset" => {
                    let name = expect_text(value, key, file_name)?;
                    let parsed = Preset::parse(name).ok_or_else(|| {
                        fail(key, format!("unknown preset {name:?}"), format!("use one of {}", Preset::NAMES))
                    })?;
                    preset = Some(parsed);
                }
                "registries" => {
                    let Value::Map(entries) = value else {
                        return Err(fail(
                            key,
                            "expected a map of source registry to destination".into(),
                            "write `registries:` then lines like `  quay.io: harbor.example.com/quay`".into(),
                        ));
                    };
                    for (source, destination) in entries {
                        let source_text = source.clone();
                        let place = format!("registries.{source_text}");
                        if !is_written_host(&source_text) {
                            return Err(fail(
                                &place,
                                format!("{source_text:?} is not a registry host"),
                                "write the registry host as image references name it: docker.io, quay.io, registry.k8s.io".into(),
                            ));
                        }
                        reference::check_host(&source_text).map_err(|reason| {
                            fail(
                                &place,
                                format!("source host {source_text:?}: {reason}"),
                                "write the registry host as image references name it, e.g. quay.io or localhost:5000"
                                    .into(),
                            )
                        })?;
                        let destination_text = expect_text(destination, &place, file_name)?;
                        let parsed = Destination::parse(destination_text)
                            .map_err(|reason| fail(&place, reason, registry_hint()))?;
                        explicit_registries.insert(normalise_host(&source_text), parsed);
                    }
                }
                "exclude" => {
                    let Value::List(items) = value else {
                        return Err(fail(
                            key,
                            "expected a list".into(),
                            "write `exclude:` then lines like `  - registry.k8s.io/pause`".into(),
                        ));
                    };
                    for (index, item) in items.iter().enumerate() {
                        let place = format!("exclude[{index}]");
                        let text = expect_text(item, &place, file_name)?;
                        let parsed = Exclusion::parse(text).map_err(|(message, hint)| fail(&place, message, hint))?;
                        exclude.push(parsed);
                    }
                }
                other => {
                    return Err(fail(other, format!("unknown key {other:?}"), format!("use the keys {KEYS}")));
                }
            }
        }

        let default = match registry {
            Some(flag) => Some(parse_registry_flag(flag)?),
            None => file_registry,
        };
        let mut registries = BTreeMap::new();
        if let Some(preset) = preset {
            let Some(base) = &default else {
                return Err(fail(
                    "preset",
                    format!("preset {} needs a registry to build on", preset.name()),
                    "add `registry: HOST` to the file or pass --registry HOST".into(),
                ));
            };
            let entries = preset.destinations(base).map_err(|(message, hint)| match registry {
                Some(_) => Error::coded(Code::MappingInvalid, message).at("--registry").hint(hint),
                None => fail("registry", message, hint),
            })?;
            registries.extend(entries);
        }
        registries.extend(explicit_registries);
        if default.is_none() && registries.is_empty() {
            return Err(Error::coded(Code::MappingInvalid, "the mapping sends no image anywhere")
                .at(file_name)
                .hint("add `registry: HOST[/PREFIX]` or `registries:` to the file, or pass --registry"));
        }

        Ok(RegistryMapping { origin: file_name.to_string(), default, layout, registries, exclude })
    }
}

/// The 1-based line of a setting (`layout`, `registries.quay.io`, `exclude[2]`) in block-style
/// YAML, found by its text; None when the file is written another way.
fn line_of_setting(text: &str, place: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let top_level = |key: &str| lines.iter().position(|line| line.starts_with(&format!("{key}:")));
    // The lines of a top-level key's block: up to the next line that starts a top-level key.
    let block = |key: &str| {
        let start = top_level(key)? + 1;
        let length = lines[start..]
            .iter()
            .position(|line| line.starts_with(|c: char| !c.is_whitespace() && c != '-' && c != '#'))
            .unwrap_or(lines.len() - start);
        Some((start, &lines[start..start + length]))
    };
    let (base, offset) = if let Some((key, source)) = place.split_once('.') {
        let (start, body) = block(key)?;
        let offset = body.iter().position(|line| {
            let line = line.trim_start().trim_start_matches(['"', '\'']);
            line.strip_prefix(source).is_some_and(|rest| rest.trim_start_matches(['"', '\'']).starts_with(':'))
        });
        (start, offset)
    } else if let Some((key, index)) = place.strip_suffix(']').and_then(|place| place.split_once('[')) {
        let (start, body) = block(key)?;
        let index: usize = index.parse().ok()?;
        let offset = body
            .iter()
            .enumerate()
            .filter(|(_, line)| line.trim_start().starts_with('-'))
            .nth(index)
            .map(|(offset, _)| offset);
        (start, offset)
    } else {
        (0, top_level(place))
    };
    offset.map(|offset| base + offset + 1)
}

fn expect_text<'v>(value: &'v Value, place: &str, file_name: &str) -> Result<&'v str, Error> {
    value.as_str().ok_or_else(|| {
        Error::coded(Code::MappingInvalid, format!("expected text, found {}", yaml_inline(value)))
            .at(place)
            .at(file_name)
            .hint("quote the value if YAML reads it as a number or a boolean")
    })
}

fn yaml_inline(value: &Value) -> String {
    match value {
        Value::Map(_) => "a map".into(),
        Value::List(_) => "a list".into(),
        Value::Null => "nothing".into(),
        other => crate::yaml::scalar(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::tests::{moved, yaml_error};

    #[test]
    fn registry_flag_overrides_the_file_registry() {
        let mapping =
            RegistryMapping::from_yaml_text("registry: file.example.com\n", "map.yaml", Some("flag.example.com"))
                .unwrap();
        assert_eq!(moved(&mapping, "nginx").as_deref(), Some("flag.example.com/library/nginx"));
        assert!(yaml_error("registry: file.example.com\n", Some("bad")).starts_with("--registry:"));
    }

    #[test]
    fn bad_exclusions_name_the_entry_and_the_fix() {
        let message = yaml_error("registry: r.example.com\nexclude:\n  - nginx\n", None);
        assert!(message.starts_with("map.yaml: exclude[0]: \"nginx\" is neither"), "{message}");
        assert!(message.contains("docker.io/library/nginx"), "{message}");
        let message = yaml_error("registry: r.example.com\nexclude:\n  - quay.io/o/a:1\n", None);
        assert!(message.contains("write \"quay.io/o/a\""), "{message}");
        let message = yaml_error("registry: r.example.com\nexclude: quay.io\n", None);
        assert!(message.starts_with("map.yaml: exclude: expected a list"), "{message}");
    }

    #[test]
    fn file_errors_name_the_file_the_key_and_the_fix() {
        let message = yaml_error("registry: r.example.com\nregistrys:\n  a: b\n", None);
        assert!(message.starts_with("map.yaml: registrys: unknown key"), "{message}");
        assert!(message.contains("use the keys registry, layout"), "{message}");
        let message = yaml_error("registry: r.example.com\nlayout: flat\n", None);
        assert!(message.starts_with("map.yaml: layout: unknown layout \"flat\""), "{message}");
        let message = yaml_error("registries:\n  quay.io: https://h.example.com\n", None);
        assert!(message.starts_with("map.yaml: registries.quay.io: drop the https://"), "{message}");
        let message = yaml_error("registries:\n  quay: h.example.com\n", None);
        assert!(message.starts_with("map.yaml: registries.quay: \"quay\" is not a registry host"), "{message}");
        let message = yaml_error("registry: 12\n", None);
        assert!(message.starts_with("map.yaml: registry: expected text, found 12"), "{message}");
        let message = yaml_error("registry: [a\n", None);
        assert!(message.starts_with("map.yaml: not valid YAML") && message.contains("(line "), "{message}");
        let message = yaml_error("- a\n", None);
        assert!(message.contains("must be a YAML map"), "{message}");
        let message = yaml_error("layout: keep-host\n", None);
        assert!(message.contains("sends no image anywhere"), "{message}");
    }

    #[test]
    fn file_errors_carry_the_line_of_the_setting() {
        let line = |text: &str| RegistryMapping::from_yaml_text(text, "map.yaml", None).unwrap_err().line;
        assert_eq!(line("registry: r.example.com\n# note\nlayout: flat\n"), Some(3));
        assert_eq!(line("registries:\n  docker.io: h.example.com/d\n  quay.io: bad host\n"), Some(3));
        let exclude = "registry: r.example.com\nexclude:\n  - quay.io\n  # skip\n  - nginx\nlayout: keep-path\n";
        assert_eq!(line(exclude), Some(5));
        assert_eq!(line("exclude:\n- quay.io\n- Bad/x:1\nregistry: r.example.com\n"), Some(3));
        // Flow style has no line to point at; the key path still names the place.
        assert_eq!(line("{registry: r.example.com, layout: flat}"), None);
    }

    #[test]
    fn from_file_reads_the_file_and_names_it_in_errors() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("mapping.yaml");
        std::fs::write(&path, "registry: reg.example.com/m\n").unwrap();
        let mapping = RegistryMapping::from_file(&path, None).unwrap();
        assert_eq!(moved(&mapping, "nginx").as_deref(), Some("reg.example.com/m/library/nginx"));

        let missing = directory.path().join("absent.yaml");
        let message = RegistryMapping::from_file(&missing, None).unwrap_err().to_string();
        assert!(message.starts_with(&format!("{}: cannot read", missing.display())), "{message}");
    }
}
