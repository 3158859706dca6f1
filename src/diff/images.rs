//! How the images to mirror change between two versions of a chart: added, removed and retagged
//! repositories; which images a list of already-mirrored references does not cover
//! (`--fail-on-new-images`), and reading that list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::diagnostic::Code;
use crate::error::Error;
use crate::mirror::{MirrorImage, MirrorPlan, MirrorSite};
use crate::reference::Reference;

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

impl ImageChanges {
    /// True when no image was added, removed or retagged.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.retagged.is_empty()
    }
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
    if let Some(digest) = &wanted.digest {
        listed.digest.as_ref() == Some(digest)
    } else {
        let tag = |reference: &Reference| reference.tag.clone().unwrap_or_else(|| "latest".into());
        tag(listed) == tag(wanted)
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
pub(super) mod tests {
    use super::*;
    use crate::mapping::RegistryMapping;

    pub(in crate::diff) const DIGEST_A: &str =
        "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    pub(in crate::diff) const DIGEST_B: &str =
        "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    pub(in crate::diff) fn reference(text: &str) -> Reference {
        Reference::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(in crate::diff) fn site(chart: &str, values_path: &str) -> MirrorSite {
        MirrorSite {
            chart: chart.into(),
            values_path: Some(crate::values::ValuesPath::parse(values_path)),
            location: format!("Deployment/{chart} spec.template.spec.containers[0].image"),
            disabled: false,
        }
    }

    /// A plan from (reference, chart, values path, disabled) rows.
    pub(in crate::diff) fn plan(rows: &[(&str, &str, &str, bool)]) -> MirrorPlan {
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

    pub(in crate::diff) fn upgrade() -> (MirrorPlan, MirrorPlan) {
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
        let texts: Vec<String> = references.iter().map(ToString::to_string).collect();
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
