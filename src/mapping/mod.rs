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
//!
//! This file holds the mapping and how it places one image; `file` reads a mapping file, `rules`
//! holds its pieces (destinations, layouts, presets, exclusions).

mod file;
mod rules;

use std::collections::BTreeMap;

use crate::diagnostic::Code;
use crate::error::Error;
use crate::reference::Reference;
use rules::{host_as_path_component, normalise_host, Destination, Exclusion, Layout};

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
}

impl RegistryMapping {
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
        Err(Error::coded(
            Code::MappingCollision,
            format!("different images would share a destination: {}", collisions.join("; ")),
        )
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

fn parse_registry_flag(registry: &str) -> Result<Destination, Error> {
    Destination::parse(registry)
        .map_err(|reason| Error::coded(Code::MappingInvalid, reason).at("--registry").hint(registry_hint()))
}

fn registry_hint() -> String {
    "give HOST[:PORT][/PREFIX], e.g. harbor.example.com/mirror or localhost:5000".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(text: &str) -> Reference {
        Reference::parse(text).unwrap()
    }

    pub(super) fn moved(mapping: &RegistryMapping, source: &str) -> Option<String> {
        mapping.destination(&image(source)).map(|r| r.to_string())
    }

    pub(super) fn from_yaml(text: &str) -> RegistryMapping {
        RegistryMapping::from_yaml_text(text, "map.yaml", None).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(super) fn yaml_error(text: &str, registry: Option<&str>) -> String {
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
    fn destination_hosts_lists_each_host_once() {
        let mapping = from_yaml(
            "registry: b.example.com\nregistries:\n  docker.io: a.example.com/hub\n  quay.io: b.example.com/q\n",
        );
        assert_eq!(mapping.destination_hosts(), ["a.example.com", "b.example.com"]);
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
