//! The copy plan itself: every image to copy, deduplicated by fully qualified source and
//! sorted, with each site that uses it; excluded and already-mirrored sources kept apart.

use std::collections::BTreeSet;

use crate::mapping::RegistryMapping;
use crate::reference::Reference;
use crate::values::ValuesPath;

/// Where an image is used (one per image site).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MirrorSite {
    /// The chart (or subchart path, `parent/child`) whose template uses the image.
    pub chart: String,
    /// The values path that sets the image, when one does.
    pub values_path: Option<ValuesPath>,
    /// `Deployment/x spec.template.spec.containers[0].image`, or `manifest stream`.
    pub location: String,
    /// True when the site belongs to a disabled subchart.
    pub disabled: bool,
}

/// One copy: source -> destination, with every site that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorImage {
    pub source: Reference,
    pub destination: Reference,
    /// Sorted, without repeats.
    pub sites: Vec<MirrorSite>,
}

impl MirrorImage {
    /// True when only disabled subcharts use the image: installing the chart as configured does
    /// not pull it.
    #[must_use]
    pub fn disabled(&self) -> bool {
        self.sites.iter().all(|site| site.disabled)
    }
}

/// A source the plan does not copy, with the sites that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncopiedImage {
    pub source: Reference,
    /// Sorted, without repeats.
    pub sites: Vec<MirrorSite>,
}

/// Every image to copy, deduplicated by source and sorted; excluded sources and sources
/// already on a destination registry are kept apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorPlan {
    images: Vec<MirrorImage>,
    excluded: Vec<UncopiedImage>,
    already_on_destination: Vec<UncopiedImage>,
}

impl MirrorPlan {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one use of `source`; the mapping decides the destination (excluded: recorded apart;
    /// already on the target: no copy needed, recorded apart).
    pub fn add(&mut self, source: &Reference, mapping: &RegistryMapping, site: MirrorSite) {
        // Sources compare by their fully qualified text: `nginx` and `docker.io/library/nginx`
        // are one image even though one named its registry.
        let key = source.to_string();
        if let Some(destination) = mapping.destination(source) {
            let at = self.images.binary_search_by(|image| image.source.to_string().cmp(&key));
            match at {
                Ok(index) => insert_site(&mut self.images[index].sites, site),
                Err(index) => {
                    self.images.insert(index, MirrorImage { source: source.clone(), destination, sites: vec![site] });
                }
            }
            return;
        }
        let list = if mapping.is_destination(source) { &mut self.already_on_destination } else { &mut self.excluded };
        match list.binary_search_by(|image| image.source.to_string().cmp(&key)) {
            Ok(index) => insert_site(&mut list[index].sites, site),
            Err(index) => list.insert(index, UncopiedImage { source: source.clone(), sites: vec![site] }),
        }
    }

    /// Every image to copy, sorted by fully qualified source; disabled-only images included
    /// (see [`MirrorImage::disabled`]).
    #[must_use]
    pub fn images(&self) -> &[MirrorImage] {
        &self.images
    }

    /// Sources the mapping leaves where they are: excluded, or matched by no rule.
    #[must_use]
    pub fn excluded(&self) -> &[UncopiedImage] {
        &self.excluded
    }

    /// Sources already on a destination registry: nothing to copy.
    #[must_use]
    pub fn already_on_destination(&self) -> &[UncopiedImage] {
        &self.already_on_destination
    }

    /// The part of this plan that `earlier` does not hold (by fully qualified source): what an
    /// upgrade adds to copy, retagged images included.
    #[must_use]
    pub fn without(&self, earlier: &MirrorPlan) -> MirrorPlan {
        let known: BTreeSet<String> = earlier.images.iter().map(|image| image.source.to_string()).collect();
        let known_uncopied: BTreeSet<String> = earlier
            .excluded
            .iter()
            .chain(&earlier.already_on_destination)
            .map(|image| image.source.to_string())
            .collect();
        let new_uncopied = |list: &[UncopiedImage]| -> Vec<UncopiedImage> {
            list.iter().filter(|image| !known_uncopied.contains(&image.source.to_string())).cloned().collect()
        };
        MirrorPlan {
            images: self.images.iter().filter(|image| !known.contains(&image.source.to_string())).cloned().collect(),
            excluded: new_uncopied(&self.excluded),
            already_on_destination: new_uncopied(&self.already_on_destination),
        }
    }
}

fn insert_site(sites: &mut Vec<MirrorSite>, site: MirrorSite) {
    if let Err(index) = sites.binary_search(&site) {
        sites.insert(index, site);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::testing::{plan, DIGEST_A, DIGEST_B};

    fn sources(images: &[MirrorImage]) -> Vec<String> {
        images.iter().map(|image| image.source.to_string()).collect()
    }

    #[test]
    fn images_are_deduplicated_by_source_sorted_and_keep_their_sites() {
        let plan = plan();
        assert_eq!(
            sources(plan.images()),
            [
                "docker.io/bitnami/postgresql:16".to_string(),
                format!("docker.io/bitnami/redis:7.2@{DIGEST_A}"),
                "docker.io/library/nginx:1.25".to_string(),
                "ghcr.io/org/app:v1".to_string(),
                format!("quay.io/prometheus/node-exporter@{DIGEST_B}"),
            ]
        );
        let nginx = &plan.images()[2];
        assert_eq!(nginx.sites.len(), 2, "both spellings of nginx share one image");
        assert_eq!(nginx.destination.to_string(), "harbor.example.com/mirror/library/nginx:1.25");
        let app = &plan.images()[3];
        assert_eq!(app.sites.len(), 2, "a repeated site is recorded once");
        assert!(!app.disabled(), "one enabled site makes the image needed");
        assert!(plan.images()[0].disabled());
        assert_eq!(
            plan.excluded().iter().map(|i| i.source.to_string()).collect::<Vec<_>>(),
            ["registry.k8s.io/pause:3.9"]
        );
        assert_eq!(
            plan.already_on_destination().iter().map(|i| i.source.to_string()).collect::<Vec<_>>(),
            ["harbor.example.com/mirror/tools/kubectl:1.30"]
        );
    }
}
