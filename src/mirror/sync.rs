//! The shape `--format skopeo-sync` needs: `skopeo sync` names each destination itself, so the
//! plan must fit one `DEST` (plain or `--scoped`), and sources are grouped by registry and path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::variables::PlanVariables;
use super::{MirrorImage, MirrorPlan};
use crate::diagnostic::Code;
use crate::error::Error;

/// `skopeo sync` names destinations itself: `DEST/BASENAME:TAG`, or with `--scoped`
/// `DEST/SOURCE-REGISTRY/PATH:TAG`. So one sync file can only hold a plan whose destinations
/// all follow one of those shapes for one `DEST`.
#[derive(Debug, Serialize)]
pub(super) struct SkopeoSyncVariables<'a> {
    #[serde(flatten)]
    plan: &'a PlanVariables,
    sync_destination: String,
    scoped: bool,
    registries: Vec<SyncRegistry>,
}

#[derive(Debug, Serialize)]
struct SyncRegistry {
    registry: String,
    repositories: Vec<SyncRepository>,
}

#[derive(Debug, Serialize)]
struct SyncRepository {
    path: String,
    /// Tags, or digests for pinned sources (a tag would copy whatever it points to today).
    references: Vec<String>,
}

/// The `DEST` one image needs under one shape (plain or `--scoped`), or the destination name
/// no `DEST` gives under it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SyncDest {
    /// Listed first so it sorts before every host name, as its text `(no DEST gives …)` does.
    Unreachable(String),
    Dest(String),
}

impl fmt::Display for SyncDest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncDest::Unreachable(name) => write!(f, "(no DEST gives {name})"),
            SyncDest::Dest(dest) => f.write_str(dest),
        }
    }
}

impl<'a> SkopeoSyncVariables<'a> {
    pub(super) fn new(plan: &MirrorPlan, variables: &'a PlanVariables) -> Result<Self, Error> {
        let enabled: Vec<&MirrorImage> = plan.images().iter().filter(|image| !image.disabled()).collect();
        // The DEST each shape would need for each image: the parent of the destination name
        // (plain), or the destination name with the full source name cut off (scoped).
        let plain_dest: BTreeSet<SyncDest> = enabled
            .iter()
            .map(|image| {
                let name = image.destination.name();
                match name.rsplit_once('/') {
                    Some((parent, base)) if Some(base) == image.source.repository.rsplit('/').next() => {
                        SyncDest::Dest(parent.to_string())
                    }
                    _ => SyncDest::Unreachable(name),
                }
            })
            .collect();
        let scoped_dest: BTreeSet<SyncDest> = enabled
            .iter()
            .map(|image| {
                let name = image.destination.name();
                name.strip_suffix(&format!("/{}", image.source.name()))
                    .map_or_else(|| SyncDest::Unreachable(name.clone()), |dest| SyncDest::Dest(dest.to_string()))
            })
            .collect();
        let (sync_destination, is_scoped) = if plain_dest.len() <= 1 {
            (plain_dest.into_iter().next(), false)
        } else if scoped_dest.len() == 1 {
            (scoped_dest.into_iter().next(), true)
        } else {
            let needed: Vec<String> = plain_dest.iter().map(SyncDest::to_string).collect();
            return Err(Error::coded(
                Code::SkopeoSyncCannotExpress,
                format!(
                    "skopeo sync copies every image of one file to DEST/NAME (or \
                 DEST/SOURCE-REGISTRY/PATH with --scoped), but this plan's destinations need {} \
                 different DEST: {}",
                    needed.len(),
                    needed.join(", ")
                ),
            )
            .at("--format skopeo-sync")
            .hint(
                "use `layout: keep-host` in the --mapping file (that is --scoped's layout), or \
                 --format skopeo or regsync, which name each destination",
            ));
        };
        let sync_destination = match sync_destination {
            Some(SyncDest::Dest(dest)) => dest,
            Some(unreachable @ SyncDest::Unreachable(_)) => {
                return Err(Error::coded(
                    Code::SkopeoSyncCannotExpress,
                    format!("skopeo sync cannot reproduce the destination {unreachable}"),
                )
                .at("--format skopeo-sync")
                .hint("use --format skopeo or regsync, which name each destination"));
            }
            // An empty plan has no DEST of its own; the command still shows where one goes.
            None => "DEST".to_string(),
        };

        let mut registries: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for image in &enabled {
            let reference = match (&image.source.digest, &image.source.tag) {
                (Some(digest), _) => digest.clone(),
                (None, Some(tag)) => tag.clone(),
                // An empty list would copy every tag of the repository.
                (None, None) => "latest".to_string(),
            };
            registries
                .entry(image.source.registry.clone())
                .or_default()
                .entry(image.source.repository.clone())
                .or_default()
                .insert(reference);
        }
        Ok(SkopeoSyncVariables {
            plan: variables,
            sync_destination,
            scoped: is_scoped,
            registries: registries
                .into_iter()
                .map(|(registry, repositories)| SyncRegistry {
                    registry,
                    repositories: repositories
                        .into_iter()
                        .map(|(path, references)| SyncRepository { path, references: references.into_iter().collect() })
                        .collect(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::mirror::testing::{mapping, plan, plan_with, reference, site, KEEP_HOST};
    use crate::mirror::{Format, MirrorPlan};

    /// Where `skopeo sync` puts an image: DEST/BASENAME, or DEST/FULL-NAME with --scoped
    /// (skopeo's cmd/skopeo/sync.go), for checking our file against what skopeo would do.
    fn skopeo_sync_destination(dest: &str, scoped: bool, registry: &str, path: &str, item: &str) -> String {
        let full = format!("{registry}/{path}");
        let suffix = if scoped { full.as_str() } else { full.rsplit('/').next().unwrap() };
        let separator = if item.starts_with("sha256:") { '@' } else { ':' };
        format!("{dest}/{suffix}{separator}{item}")
    }

    #[test]
    fn skopeo_sync_file_lands_every_image_where_the_mapping_says() {
        let plan = plan_with(KEEP_HOST);
        let text = plan.render(Format::SkopeoSync).unwrap();
        let command = text.lines().nth(1).unwrap();
        assert_eq!(
            command,
            "#   skopeo sync --all --preserve-digests --src yaml --dest docker --scoped THIS-FILE harbor.example.com/mirror"
        );
        let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut landed = BTreeSet::new();
        for (registry, settings) in file.as_mapping().unwrap() {
            for (path, items) in settings["images"].as_mapping().unwrap() {
                for item in items.as_sequence().unwrap() {
                    landed.insert(skopeo_sync_destination(
                        "harbor.example.com/mirror",
                        true,
                        registry.as_str().unwrap(),
                        path.as_str().unwrap(),
                        item.as_str().unwrap(),
                    ));
                }
            }
        }
        let expected: BTreeSet<String> = plan
            .images()
            .iter()
            .filter(|image| !image.disabled())
            .map(|image| match &image.destination.digest {
                Some(digest) => format!("{}@{digest}", image.destination.name()),
                None => image.destination.to_string(),
            })
            .collect();
        assert_eq!(landed, expected);
        assert!(text.contains("#   docker.io/bitnami/postgresql:16\n"), "disabled listed apart");
    }

    #[test]
    fn skopeo_sync_uses_plain_destinations_when_they_share_a_parent() {
        let mapping = mapping("registry: harbor.example.com/flat\n");
        let mut plan = MirrorPlan::new();
        plan.add(&reference("quay.io/org/app:1"), &mapping, site("c", None, "manifest stream", false));
        plan.add(&reference("quay.io/org/tool"), &mapping, site("c", None, "manifest stream", false));
        let text = plan.render(Format::SkopeoSync).unwrap();
        assert!(text.contains("--dest docker THIS-FILE harbor.example.com/flat/org\n"), "{text}");
        let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            file["quay.io"]["images"]["org/tool"],
            serde_yaml::Value::Sequence(vec!["latest".into()]),
            "an untagged source lists latest: an empty list would copy every tag"
        );
    }

    #[test]
    fn skopeo_sync_file_of_an_empty_plan_is_an_empty_map() {
        let text = MirrorPlan::new().render(Format::SkopeoSync).unwrap();
        assert!(text.contains(" THIS-FILE DEST\n"), "{text}");
        let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(file, serde_yaml::Value::Mapping(serde_yaml::Mapping::default()));
    }

    #[test]
    fn skopeo_sync_refuses_destinations_it_cannot_name() {
        let error = plan().render(Format::SkopeoSync).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("--format skopeo-sync: skopeo sync copies"), "{message}");
        assert!(message.contains("harbor.example.com/mirror/bitnami"), "{message}");
        assert!(message.contains("layout: keep-host"), "{message}");
    }
}
