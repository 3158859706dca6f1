//! The pieces of a mapping: a destination (`HOST[:PORT][/PREFIX]`), the layout of the default
//! destination, the presets of pull-through caches, exclusions, and how hosts are spelled.

use std::fmt;

use crate::reference::{self, Reference, DOCKER_HUB};

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
    pub(super) fn repository_for(&self, repository: &str) -> String {
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
    pub(super) const NAMES: &'static str = "harbor-proxy-cache, ecr-pull-through";

    pub(super) fn parse(name: &str) -> Option<Preset> {
        match name {
            "harbor-proxy-cache" => Some(Preset::HarborProxyCache),
            "ecr-pull-through" => Some(Preset::EcrPullThrough),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Preset::HarborProxyCache => "harbor-proxy-cache",
            Preset::EcrPullThrough => "ecr-pull-through",
        }
    }

    /// Per-upstream destinations on `registry`, or why `registry` cannot host this preset.
    pub(super) fn destinations(self, registry: &Destination) -> Result<Vec<(String, Destination)>, (String, String)> {
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
pub(super) enum Exclusion {
    /// Every image on this registry host (lowercase).
    Registry(String),
    /// This repository name (`registry/repository`) and any repository below it.
    Name(String),
}

impl Exclusion {
    pub(super) fn parse(text: &str) -> Result<Exclusion, (String, String)> {
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

    pub(super) fn matches(&self, source: &Reference) -> bool {
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
pub(super) fn is_written_host(text: &str) -> bool {
    text.contains('.') || text.contains(':') || text.eq_ignore_ascii_case("localhost")
}

/// Host names compare without case; Docker Hub's legacy name is Docker Hub.
pub(super) fn normalise_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    if host == "index.docker.io" {
        DOCKER_HUB.to_string()
    } else {
        host
    }
}

/// A registry host as one repository path component: lowercase, with ports and brackets turned
/// into `-` (`localhost:5000` -> `localhost-5000`).
pub(super) fn host_as_path_component(host: &str) -> String {
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
    use crate::mapping::tests::{from_yaml, moved, yaml_error};
    use crate::mapping::RegistryMapping;

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
}
