//! Where each source image goes: `--registry HOST[:PORT][/PREFIX]`, optionally refined by a
//! `--mapping FILE`; built once and shared by overlay, post-render and mirror.
//!
//! Without a file, every image keeps its path and changes host: `nginx` becomes
//! `REG/library/nginx`, `quay.io/org/app:1` becomes `REG/org/app:1` (tag and digest kept).
//! Images already on a destination host are left where they are.
//!
//! The mapping file is YAML with these keys, all optional:
//!
//! ```yaml
//! registry: harbor.example.com/mirror   # default destination; --registry wins when both are given
//! layout: keep-path                     # keep-path: REG/org/app; keep-host: REG/quay.io/org/app
//! preset: harbor-proxy-cache            # or ecr-pull-through: per-registry destinations below
//! registries:                           # source registry -> destination, path kept below it;
//!   docker.io: harbor.example.com/hub   #   entries here override the preset's
//! exclude:                              # left where they are: a registry host, or a name
//!   - registry.k8s.io/pause             #   (matching that repository and any below it)
//!   - internal.example.com
//! ```
//!
//! `layout` shapes only the default destination; `registries` entries always keep the source
//! path below their prefix, as pull-through caches expect (`docker.io/nginx` ->
//! `harbor.example.com/hub/library/nginx`). Sources from registries with no entry go to the
//! default destination, or stay where they are when there is none.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::error::Error;
use crate::reference::{self, Reference, DOCKER_HUB};
use crate::values::{Map, Value};

/// A place images go: a registry host and an optional path prefix (`harbor.example.com/mirror`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub prefix: Option<String>,
}

impl Destination {
    /// Parses `HOST[:PORT][/PREFIX]`; the error is the reason, for the caller to place.
    pub fn parse(text: &str) -> Result<Destination, String> {
        if text.is_empty() {
            return Err("the registry is empty".into());
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!("drop the {scheme}:// scheme: image references name the host alone"));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace()) {
            return Err(format!("it contains {c:?}"));
        }
        if text.contains('@') {
            return Err("a registry has no digest: give only HOST[:PORT][/PREFIX]".into());
        }
        let text = text.strip_suffix('/').unwrap_or(text);
        let (host, prefix) = match text.split_once('/') {
            Some((host, prefix)) => (host, Some(prefix)),
            None => (text, None),
        };
        reference::check_host(host).map_err(|reason| format!("host {host:?}: {reason}"))?;
        if !is_written_host(host) {
            return Err(format!(
                "{host:?} does not look like a registry host: without a '.', a ':port' or \
                 `localhost`, container runtimes read it as a Docker Hub namespace"
            ));
        }
        if let Some(prefix) = prefix {
            if let Some((_, tag)) = prefix.rsplit('/').next().and_then(|last| last.split_once(':')) {
                return Err(format!("a registry has no tag (\":{tag}\"): give only HOST[:PORT][/PREFIX]"));
            }
            reference::check_repository(prefix).map_err(|reason| format!("path prefix {prefix:?}: {reason}"))?;
        }
        Ok(Destination { host: host.to_string(), prefix: prefix.map(str::to_string) })
    }

    /// `repository` placed below this destination's prefix.
    fn repository_for(&self, repository: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{repository}"),
            None => repository.to_string(),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        if let Some(prefix) = &self.prefix {
            write!(f, "/{prefix}")?;
        }
        Ok(())
    }
}

/// How the default destination arranges source paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `REG[/PREFIX]/org/app`: the source host is dropped.
    #[default]
    KeepPath,
    /// `REG[/PREFIX]/quay.io/org/app`: the source host becomes the first path component, so
    /// images of the same path on different registries stay apart.
    KeepHost,
}

/// Pull-through caches whose per-upstream naming we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    HarborProxyCache,
    EcrPullThrough,
}

/// Harbor proxy-cache projects, one per upstream. Harbor lets the administrator name each project
/// (goharbor.io/docs "Configure Proxy Cache": pull `<harbor>/<proxy_project>/<repo>/<image>`,
/// with `library/` kept for Docker Hub official images); these names are our convention, and
/// `registries:` overrides any of them.
const HARBOR_PROJECTS: &[(&str, &str)] = &[
    ("docker.io", "dockerhub-proxy"),
    ("quay.io", "quay-proxy"),
    ("ghcr.io", "ghcr-proxy"),
    ("gcr.io", "gcr-proxy"),
    ("registry.k8s.io", "k8s-proxy"),
    ("public.ecr.aws", "ecr-public-proxy"),
];

/// ECR pull-through cache repository prefixes: the defaults the AWS console fills in (Amazon ECR
/// User Guide, "Pulling an image with a pull through cache rule": `ecr-public`, `kubernetes`,
/// `quay`, `docker-hub` with `library/` kept for official images, `github`). Upstreams that
/// need a per-account host (Azure, ECR to ECR) have no fixed prefix; add them under
/// `registries:`.
const ECR_PREFIXES: &[(&str, &str)] = &[
    ("docker.io", "docker-hub"),
    ("quay.io", "quay"),
    ("ghcr.io", "github"),
    ("registry.k8s.io", "kubernetes"),
    ("public.ecr.aws", "ecr-public"),
];

impl Preset {
    const NAMES: &'static str = "harbor-proxy-cache, ecr-pull-through";

    fn parse(name: &str) -> Option<Preset> {
        match name {
            "harbor-proxy-cache" => Some(Preset::HarborProxyCache),
            "ecr-pull-through" => Some(Preset::EcrPullThrough),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Preset::HarborProxyCache => "harbor-proxy-cache",
            Preset::EcrPullThrough => "ecr-pull-through",
        }
    }

    /// Per-upstream destinations on `registry`, or why `registry` cannot host this preset.
    fn destinations(self, registry: &Destination) -> Result<Vec<(String, Destination)>, (String, String)> {
        if registry.prefix.is_some() {
            let why = match self {
                Preset::HarborProxyCache => "Harbor projects sit directly below the host",
                Preset::EcrPullThrough => "each pull-through rule is its own prefix below the host",
            };
            return Err((
                format!("preset {} needs `registry` to be a host alone, not {registry}", self.name()),
                format!("{why}; write `registry: {}`", registry.host),
            ));
        }
        let table = match self {
            Preset::HarborProxyCache => HARBOR_PROJECTS,
            Preset::EcrPullThrough => {
                if !is_ecr_host(&registry.host) {
                    return Err((
                        format!("preset ecr-pull-through needs an ECR registry host, not {:?}", registry.host),
                        "write `registry: ACCOUNT.dkr.ecr.REGION.amazonaws.com`".into(),
                    ));
                }
                ECR_PREFIXES
            }
        };
        Ok(table
            .iter()
            .map(|(source, prefix)| {
                let destination = Destination { host: registry.host.clone(), prefix: Some(prefix.to_string()) };
                (source.to_string(), destination)
            })
            .collect())
    }
}

/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com` (or `.amazonaws.com.cn` in China regions).
fn is_ecr_host(host: &str) -> bool {
    let Some((account, rest)) = host.split_once('.') else {
        return false;
    };
    let Some(region) = rest
        .strip_prefix("dkr.ecr.")
        .and_then(|rest| rest.strip_suffix(".amazonaws.com").or_else(|| rest.strip_suffix(".amazonaws.com.cn")))
    else {
        return false;
    };
    account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A source the mapping leaves where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exclusion {
    /// Every image on this registry host (lowercase).
    Registry(String),
    /// This repository name (`registry/repository`) and any repository below it.
    Name(String),
}

impl Exclusion {
    fn parse(text: &str) -> Result<Exclusion, (String, String)> {
        let hint = "write a registry host (quay.io) or a repository name with its namespace \
                    (docker.io/library/nginx, registry.k8s.io/pause)";
        if !text.contains('/') {
            if !is_written_host(text) {
                return Err((format!("{text:?} is neither a registry host nor a repository name"), hint.into()));
            }
            reference::check_host(text).map_err(|reason| (format!("host {text:?}: {reason}"), hint.to_string()))?;
            return Ok(Exclusion::Registry(normalise_host(text)));
        }
        let parsed = Reference::parse(text).map_err(|e| (e.to_string(), hint.to_string()))?;
        if parsed.tag.is_some() || parsed.digest.is_some() {
            return Err((
                format!("{text:?} has a tag or digest; exclusions match repository names"),
                format!("write {:?}", parsed.name()),
            ));
        }
        Ok(Exclusion::Name(format!("{}/{}", normalise_host(&parsed.registry), parsed.repository)))
    }

    fn matches(&self, source: &Reference) -> bool {
        match self {
            Exclusion::Registry(host) => normalise_host(&source.registry) == *host,
            Exclusion::Name(name) => {
                let source_name = format!("{}/{}", normalise_host(&source.registry), source.repository);
                source_name == *name
                    || source_name.strip_prefix(name.as_str()).is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

/// Whether `text` is unmistakably a registry host. Docker also takes an uppercase first
/// component as a host, but nobody means `MyRegistry` as one, so settings require a `.`, a
/// port or `localhost`.
fn is_written_host(text: &str) -> bool {
    text.contains('.') || text.contains(':') || text.eq_ignore_ascii_case("localhost")
}

/// Host names compare without case; Docker Hub's legacy name is Docker Hub.
fn normalise_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    if host == "index.docker.io" {
        DOCKER_HUB.to_string()
    } else {
        host
    }
}

/// The rules deciding each source image's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryMapping {
    /// Where the rules came from (`--registry` or the mapping file), for error locations.
    origin: String,
    default: Option<Destination>,
    layout: Layout,
    /// Source registry (normalised) -> destination, preset entries overridden by the file's.
    registries: BTreeMap<String, Destination>,
    exclude: Vec<Exclusion>,
}

const KEYS: &str = "registry, layout, preset, registries, exclude";

impl RegistryMapping {
    /// `--registry HOST[:PORT][/PREFIX]` alone: keep the image path, replace the host.
    pub fn from_registry(registry: &str) -> Result<Self, Error> {
        let default = parse_registry_flag(registry)?;
        Ok(RegistryMapping {
            origin: "--registry".into(),
            default: Some(default),
            layout: Layout::KeepPath,
            registries: BTreeMap::new(),
            exclude: Vec::new(),
        })
    }

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
        let fail = |key: &str, message: String, hint: String| Error::new(message).at(key).at(file_name).hint(hint);
        let empty = Map::new();
        let top = match &document {
            Value::Map(map) => map,
            Value::Null => &empty,
            _ => {
                return Err(Error::new("the mapping file must be a YAML map of settings")
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
                Some(_) => Error::new(message).at("--registry").hint(hint),
                None => fail("registry", message, hint),
            })?;
            registries.extend(entries);
        }
        registries.extend(explicit_registries);
        if default.is_none() && registries.is_empty() {
            return Err(Error::new("the mapping sends no image anywhere")
                .at(file_name)
                .hint("add `registry: HOST[/PREFIX]` or `registries:` to the file, or pass --registry"));
        }

        Ok(RegistryMapping { origin: file_name.to_string(), default, layout, registries, exclude })
    }

    /// The destination of `source`, or None when the mapping leaves it where it is: it is
    /// excluded, it is already on a destination host, or its registry has no entry and there is
    /// no default destination.
    pub fn destination(&self, source: &Reference) -> Option<Reference> {
        if self.is_destination(source) || self.exclude.iter().any(|rule| rule.matches(source)) {
            return None;
        }
        if let Some(place) = self.registries.get(&normalise_host(&source.registry)) {
            return Some(source.with_location(&place.host, &place.repository_for(&source.repository)));
        }
        let place = self.default.as_ref()?;
        let path = match self.layout {
            Layout::KeepPath => source.repository.clone(),
            Layout::KeepHost => format!("{}/{}", host_as_path_component(&source.registry), source.repository),
        };
        Some(source.with_location(&place.host, &place.repository_for(&path)))
    }

    /// Error naming both sources when two different source names would land on one destination
    /// name (`docker.io/bitnami/redis` and `quay.io/bitnami/redis` under keep-path).
    pub fn check_collisions<'a>(&self, sources: impl IntoIterator<Item = &'a Reference>) -> Result<(), Error> {
        let mut first_source_of: BTreeMap<String, String> = BTreeMap::new();
        let mut collisions = Vec::new();
        for source in sources {
            let Some(destination) = self.destination(source) else {
                continue;
            };
            let source_name = source.name();
            match first_source_of.get(&destination.name()) {
                Some(earlier) if *earlier != source_name => {
                    let line = format!("{earlier} and {source_name} would both move to {}", destination.name());
                    if !collisions.contains(&line) {
                        collisions.push(line);
                    }
                }
                Some(_) => {}
                None => {
                    first_source_of.insert(destination.name(), source_name);
                }
            }
        }
        if collisions.is_empty() {
            return Ok(());
        }
        Err(Error::new(format!("different images would share a destination: {}", collisions.join("; ")))
            .at(&self.origin)
            .hint(
                "use `layout: keep-host` in a --mapping file, or give one source registry its own \
                 destination under `registries:`",
            ))
    }

    /// Every destination host, sorted and without repeats (for `docker login` lines in mirror
    /// scripts).
    pub fn destination_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> =
            self.default.iter().chain(self.registries.values()).map(|place| place.host.clone()).collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// True when `reference` already lives on a destination host of this mapping (verify uses
    /// it, and such images are never moved again).
    pub fn is_destination(&self, reference: &Reference) -> bool {
        let host = normalise_host(&reference.registry);
        self.default.iter().chain(self.registries.values()).any(|place| normalise_host(&place.host) == host)
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

fn parse_registry_flag(registry: &str) -> Result<Destination, Error> {
    Destination::parse(registry).map_err(|reason| Error::new(reason).at("--registry").hint(registry_hint()))
}

fn registry_hint() -> String {
    "give HOST[:PORT][/PREFIX], e.g. harbor.example.com/mirror or localhost:5000".into()
}

fn expect_text<'v>(value: &'v Value, place: &str, file_name: &str) -> Result<&'v str, Error> {
    value.as_str().ok_or_else(|| {
        Error::new(format!("expected text, found {}", yaml_inline(value)))
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

/// A registry host as one repository path component: lowercase, with ports and brackets turned
/// into `-` (`localhost:5000` -> `localhost-5000`).
fn host_as_path_component(host: &str) -> String {
    let mut component = String::new();
    for c in host.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            component.push(c);
        } else if !component.is_empty() && !component.ends_with('-') {
            component.push('-');
        }
    }
    component.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(text: &str) -> Reference {
        Reference::parse(text).unwrap()
    }

    fn moved(mapping: &RegistryMapping, source: &str) -> Option<String> {
        mapping.destination(&image(source)).map(|r| r.to_string())
    }

    fn from_yaml(text: &str) -> RegistryMapping {
        RegistryMapping::from_yaml_text(text, "map.yaml", None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn yaml_error(text: &str, registry: Option<&str>) -> String {
        RegistryMapping::from_yaml_text(text, "map.yaml", registry).unwrap_err().to_string()
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn registry_flag_keeps_the_path_and_replaces_the_host() {
        let mapping = RegistryMapping::from_registry("harbor.example.com").unwrap();
        assert_eq!(moved(&mapping, "nginx").as_deref(), Some("harbor.example.com/library/nginx"));
        assert_eq!(moved(&mapping, "quay.io/org/app:1").as_deref(), Some("harbor.example.com/org/app:1"));
        let with_digest = moved(&mapping, &format!("bitnami/redis:7@{DIGEST}")).unwrap();
        assert_eq!(with_digest, format!("harbor.example.com/bitnami/redis:7@{DIGEST}"));

        let prefixed = RegistryMapping::from_registry("localhost:5000/mirror/").unwrap();
        assert_eq!(moved(&prefixed, "ghcr.io/o/a:v2").as_deref(), Some("localhost:5000/mirror/o/a:v2"));
    }

    #[test]
    fn images_already_on_the_destination_host_stay() {
        let mapping = RegistryMapping::from_registry("Harbor.Example.com/mirror").unwrap();
        assert_eq!(moved(&mapping, "harbor.example.com/team/app:1"), None);
        assert!(mapping.is_destination(&image("harbor.example.com/mirror/library/nginx")));
        assert!(!mapping.is_destination(&image("quay.io/org/app")));
    }

    #[test]
    fn registry_flag_is_validated_with_reasons() {
        let error = |text: &str| RegistryMapping::from_registry(text).unwrap_err().to_string();
        assert!(error("https://harbor.example.com").contains("drop the https:// scheme"));
        assert!(error("harbor.example.com/proj:1.0").contains("has no tag"));
        assert!(error("harbor.example.com/Proj").contains("must be lowercase"));
        assert!(error("myregistry/proj").contains("Docker Hub namespace"));
        assert!(error("harbor.example.com:port").contains("must be a number"));
        assert!(error("").contains("empty"));
        let message = error("harbor..example.com");
        assert!(message.starts_with("--registry: host"), "{message}");
        assert!(message.contains("hint: give HOST[:PORT][/PREFIX]"), "{message}");
    }

    #[test]
    fn keep_host_layout_puts_the_source_host_in_the_path() {
        let mapping = from_yaml("registry: reg.example.com/m\nlayout: keep-host\n");
        assert_eq!(moved(&mapping, "nginx:1").as_deref(), Some("reg.example.com/m/docker.io/library/nginx:1"));
        assert_eq!(moved(&mapping, "quay.io/org/app").as_deref(), Some("reg.example.com/m/quay.io/org/app"));
        assert_eq!(moved(&mapping, "localhost:5000/x").as_deref(), Some("reg.example.com/m/localhost-5000/x"));
        let destination = mapping.destination(&image("[::1]:5000/x")).unwrap();
        assert_eq!(Reference::parse(&destination.to_string()).unwrap(), destination, "a valid reference");
    }

    #[test]
    fn registries_entries_send_each_source_registry_to_its_cache() {
        let mapping = from_yaml(
            "registry: harbor.example.com/other\nregistries:\n  docker.io: harbor.example.com/hub\n  \
             quay.io: cache.example.com:8443/quay\n",
        );
        assert_eq!(moved(&mapping, "nginx").as_deref(), Some("harbor.example.com/hub/library/nginx"));
        assert_eq!(moved(&mapping, "index.docker.io/a/b:1").as_deref(), Some("harbor.example.com/hub/a/b:1"));
        assert_eq!(moved(&mapping, "quay.io/o/a").as_deref(), Some("cache.example.com:8443/quay/o/a"));
        assert_eq!(moved(&mapping, "ghcr.io/o/a").as_deref(), Some("harbor.example.com/other/o/a"));
        assert!(mapping.is_destination(&image("cache.example.com:8443/anything")));
    }

    #[test]
    fn without_a_default_unlisted_registries_stay() {
        let mapping = from_yaml("registries:\n  quay.io: harbor.example.com/quay\n");
        assert_eq!(moved(&mapping, "quay.io/o/a").as_deref(), Some("harbor.example.com/quay/o/a"));
        assert_eq!(moved(&mapping, "ghcr.io/o/a"), None);
    }

    #[test]
    fn registry_flag_overrides_the_file_registry() {
        let mapping =
            RegistryMapping::from_yaml_text("registry: file.example.com\n", "map.yaml", Some("flag.example.com"))
                .unwrap();
        assert_eq!(moved(&mapping, "nginx").as_deref(), Some("flag.example.com/library/nginx"));
        assert!(yaml_error("registry: file.example.com\n", Some("bad")).starts_with("--registry:"));
    }

    #[test]
    fn harbor_preset_uses_one_project_per_upstream() {
        let mapping = from_yaml("registry: harbor.example.com\npreset: harbor-proxy-cache\n");
        assert_eq!(
            moved(&mapping, "nginx:1.25").as_deref(),
            Some("harbor.example.com/dockerhub-proxy/library/nginx:1.25")
        );
        assert_eq!(moved(&mapping, "quay.io/o/a").as_deref(), Some("harbor.example.com/quay-proxy/o/a"));
        assert_eq!(
            moved(&mapping, "registry.k8s.io/pause:3.9").as_deref(),
            Some("harbor.example.com/k8s-proxy/pause:3.9")
        );
        // Unlisted upstreams fall back to the default rule.
        assert_eq!(moved(&mapping, "mcr.microsoft.com/o/a").as_deref(), Some("harbor.example.com/o/a"));
        // The file's own entries win over the preset's.
        let overridden = from_yaml(
            "registry: harbor.example.com\npreset: harbor-proxy-cache\nregistries:\n  quay.io: harbor.example.com/q\n",
        );
        assert_eq!(moved(&overridden, "quay.io/o/a").as_deref(), Some("harbor.example.com/q/o/a"));
    }

    #[test]
    fn ecr_preset_uses_the_console_default_prefixes() {
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        let mapping = RegistryMapping::from_yaml_text("preset: ecr-pull-through\n", "map.yaml", Some(host)).unwrap();
        assert_eq!(moved(&mapping, "nginx").unwrap(), format!("{host}/docker-hub/library/nginx"));
        assert_eq!(moved(&mapping, "bitnami/redis:7").unwrap(), format!("{host}/docker-hub/bitnami/redis:7"));
        assert_eq!(moved(&mapping, "ghcr.io/o/a").unwrap(), format!("{host}/github/o/a"));
        assert_eq!(moved(&mapping, "registry.k8s.io/x").unwrap(), format!("{host}/kubernetes/x"));
        assert_eq!(moved(&mapping, "public.ecr.aws/o/a").unwrap(), format!("{host}/ecr-public/o/a"));
        assert_eq!(moved(&mapping, "quay.io/o/a").unwrap(), format!("{host}/quay/o/a"));
    }

    #[test]
    fn presets_check_their_registry() {
        let message = yaml_error("registry: harbor.example.com\npreset: ecr-pull-through\n", None);
        assert!(message.starts_with("map.yaml: registry: preset ecr-pull-through needs an ECR"), "{message}");
        let message = yaml_error("registry: harbor.example.com/p\npreset: harbor-proxy-cache\n", None);
        assert!(message.contains("host alone") && message.contains("registry: harbor.example.com"), "{message}");
        let message = yaml_error("preset: harbor-proxy-cache\n", Some("harbor.example.com/p"));
        assert!(message.starts_with("--registry: preset harbor-proxy-cache needs"), "{message}");
        let message = yaml_error("preset: harbor-proxy-cache\n", None);
        assert!(message.starts_with("map.yaml: preset: preset harbor-proxy-cache needs a registry"), "{message}");
        let message = yaml_error("registry: h.example.com\npreset: artifactory\n", None);
        assert!(message.contains("unknown preset \"artifactory\"") && message.contains("harbor-proxy-cache"));
    }

    #[test]
    fn exclusions_match_hosts_and_name_prefixes() {
        let mapping = from_yaml(
            "registry: reg.example.com\nexclude:\n  - registry.k8s.io/pause\n  - internal.example.com\n  \
             - bitnami/redis\n",
        );
        assert_eq!(moved(&mapping, "registry.k8s.io/pause:3.9"), None);
        assert_eq!(moved(&mapping, "registry.k8s.io/pause/sub:1"), None);
        assert!(moved(&mapping, "registry.k8s.io/pause-amd64:3.9").is_some(), "only whole components match");
        assert_eq!(moved(&mapping, "internal.example.com/team/app"), None);
        assert_eq!(moved(&mapping, "docker.io/bitnami/redis:7"), None);
        assert!(moved(&mapping, "bitnami/redis-cluster:7").is_some());
        assert!(moved(&mapping, "nginx").is_some());
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
    fn destination_hosts_lists_each_host_once() {
        let mapping = from_yaml(
            "registry: b.example.com\nregistries:\n  docker.io: a.example.com/hub\n  quay.io: b.example.com/q\n",
        );
        assert_eq!(mapping.destination_hosts(), ["a.example.com", "b.example.com"]);
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

    #[test]
    fn collisions_name_both_sources() {
        let mapping = RegistryMapping::from_registry("reg.example.com").unwrap();
        let sources = [image("bitnami/redis:7"), image("bitnami/redis:6"), image("quay.io/bitnami/redis:7")];
        let message = mapping.check_collisions(&sources).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "--registry: different images would share a destination: docker.io/bitnami/redis and \
                 quay.io/bitnami/redis would both move to reg.example.com/bitnami/redis"
            ),
            "{message}"
        );
        assert!(message.contains("keep-host"), "{message}");
        // Two tags of one source, and excluded or unmoved sources, are no collision.
        mapping.check_collisions(&sources[..2]).unwrap();
        let keep_host = from_yaml("registry: reg.example.com\nlayout: keep-host\n");
        keep_host.check_collisions(&sources).unwrap();
    }
}
