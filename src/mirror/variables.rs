//! The variables every template sees (`--format json` prints them as they are): the plan's
//! images with their source and destination parts, the copy references, platforms and chart.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::{ChartArchive, CopyOptions, MirrorImage, MirrorPlan, MirrorSite, Platform, UncopiedImage};
use crate::reference::Reference;
use crate::values::ValuesPath;

impl MirrorPlan {
    pub(super) fn variables(&self, options: &CopyOptions) -> PlanVariables {
        let filtered = !options.platforms.is_empty();
        let images: Vec<ImageVariables> = self
            .images()
            .iter()
            .enumerate()
            .map(|(index, image)| ImageVariables::new(image, index, filtered))
            .collect();
        let disabled_count = images.iter().filter(|image| image.disabled).count();
        let destination_registries: BTreeSet<String> =
            self.images().iter().map(|image| image.destination.registry.clone()).collect();
        let platform_names: Vec<String> = options.platforms.iter().map(Platform::to_string).collect();
        PlanVariables {
            generator: concat!("helm-retarget ", env!("CARGO_PKG_VERSION")),
            enabled_count: images.len() - disabled_count,
            disabled_count,
            images,
            excluded: self.excluded().iter().map(UncopiedVariables::new).collect(),
            already_on_destination: self.already_on_destination().iter().map(UncopiedVariables::new).collect(),
            destination_registries: destination_registries.into_iter().collect(),
            platform_list: platform_names.join(","),
            platforms: options
                .platforms
                .iter()
                .map(|platform| PlatformVariables {
                    platform: platform.to_string(),
                    os: platform.os.clone(),
                    architecture: platform.architecture.clone(),
                    variant: platform.variant.clone(),
                })
                .collect(),
            filtered,
            several_platforms: options.platforms.len() > 1,
            with_referrers: options.with_referrers,
            chart_archive: options.chart.as_ref().map(ChartArchiveVariables::new),
        }
    }
}

/// What every template sees at the top level.
#[derive(Debug, Serialize)]
pub(super) struct PlanVariables {
    generator: &'static str,
    images: Vec<ImageVariables>,
    enabled_count: usize,
    disabled_count: usize,
    excluded: Vec<UncopiedVariables>,
    already_on_destination: Vec<UncopiedVariables>,
    destination_registries: Vec<String>,
    /// `--platform`, each part apart; empty: every platform.
    platforms: Vec<PlatformVariables>,
    /// `--platform` as given, comma-separated (`linux/amd64,linux/arm64`); empty: every platform.
    platform_list: String,
    /// True when `--platform` narrows the copy (index digests change).
    filtered: bool,
    /// True when `--platform` names more than one platform (`crane index filter`, not `crane copy`).
    several_platforms: bool,
    /// `--with-referrers`: signatures, SBOMs and attestations come along.
    with_referrers: bool,
    /// `--chart-archive`: the chart pushed with its images; null without it.
    chart_archive: Option<ChartArchiveVariables>,
}

#[derive(Debug, Serialize)]
struct PlatformVariables {
    platform: String,
    os: String,
    architecture: String,
    variant: Option<String>,
}

#[derive(Debug, Serialize)]
struct ChartArchiveVariables {
    archive: String,
    /// The archive's file name, as the bundle carries it.
    file_name: String,
    name: String,
    version: String,
    /// `oci://HOST/PATH`, what `helm push` takes.
    destination: String,
    /// Where `helm push` puts it: `HOST/PATH/NAME:VERSION` (a `+` in the version becomes `_`,
    /// as tags cannot hold `+`).
    reference: String,
}

impl ChartArchiveVariables {
    fn new(chart: &ChartArchive) -> Self {
        let file_name = Path::new(&chart.archive)
            .file_name()
            .map_or_else(|| "chart.tgz".to_string(), |name| name.to_string_lossy().into_owned());
        ChartArchiveVariables {
            archive: chart.archive.clone(),
            file_name,
            name: chart.name.clone(),
            version: chart.version.clone(),
            destination: chart.destination.clone(),
            reference: format!(
                "{}/{}:{}",
                chart.destination.trim_start_matches("oci://").trim_end_matches('/'),
                chart.name,
                chart.version.replace('+', "_")
            ),
        }
    }
}

/// The source side of an image and where it is used, shared by copied and uncopied images.
#[derive(Debug, Serialize)]
struct SourceVariables {
    source: String,
    source_short: String,
    source_registry: String,
    source_path: String,
    source_name: String,
    tag: Option<String>,
    digest: Option<String>,
    chart: String,
    charts: Vec<String>,
    values_path: String,
    values_paths: Vec<String>,
    sites: Vec<SiteVariables>,
    disabled: bool,
}

impl SourceVariables {
    fn new(source: &Reference, sites: &[MirrorSite]) -> Self {
        let charts: BTreeSet<&str> = sites.iter().map(|site| site.chart.as_str()).collect();
        let values_paths: BTreeSet<&ValuesPath> = sites.iter().filter_map(|site| site.values_path.as_ref()).collect();
        let charts: Vec<String> = charts.into_iter().map(str::to_string).collect();
        let values_paths: Vec<String> = values_paths.into_iter().map(ToString::to_string).collect();
        SourceVariables {
            source: source.to_string(),
            source_short: source.familiar(),
            source_registry: source.registry.clone(),
            source_path: source.repository.clone(),
            source_name: source.name(),
            tag: source.tag.clone(),
            digest: source.digest.clone(),
            chart: charts.join(", "),
            charts,
            values_path: values_paths.join(", "),
            values_paths,
            sites: sites.iter().map(SiteVariables::new).collect(),
            disabled: sites.iter().all(|site| site.disabled),
        }
    }
}

#[derive(Debug, Serialize)]
struct SiteVariables {
    chart: String,
    values_path: Option<String>,
    location: String,
    disabled: bool,
}

impl SiteVariables {
    fn new(site: &MirrorSite) -> Self {
        SiteVariables {
            chart: site.chart.clone(),
            values_path: site.values_path.as_ref().map(ToString::to_string),
            location: site.location.clone(),
            disabled: site.disabled,
        }
    }
}

#[derive(Debug, Serialize)]
struct ImageVariables {
    #[serde(flatten)]
    source: SourceVariables,
    destination: String,
    destination_registry: String,
    destination_path: String,
    destination_name: String,
    copy_source: String,
    copy_destination: String,
    tagged_destination: String,
    /// An OCI artifact, not a container image (see `discover::is_artifact`): `oras copy` copies it
    /// as is, where docker and skopeo expect an image.
    artifact: bool,
    /// The image's name inside the bundle's OCI layout (`image-0001`).
    layout_tag: String,
    /// The digest the copy keeps: the source's pin, unless `--platform` filters it away.
    kept_digest: Option<String>,
    /// Repeated from `source` so Rust code can filter without reaching into the flattened part.
    #[serde(skip)]
    disabled: bool,
}

impl ImageVariables {
    /// `filtered`: `--platform` narrows the copy, so what arrives has a new digest and is
    /// pushed under a tag (`sha256-HEX` for a source pinned by digest alone).
    fn new(image: &MirrorImage, index: usize, filtered: bool) -> Self {
        let source = SourceVariables::new(&image.source, &image.sites);
        let destination = &image.destination;
        let disabled = source.disabled;
        let kept_digest = if filtered { None } else { source.digest.clone() };
        ImageVariables {
            source,
            destination: destination.to_string(),
            destination_registry: destination.registry.clone(),
            destination_path: destination.repository.clone(),
            destination_name: destination.name(),
            copy_source: copy_source(&image.source),
            copy_destination: if filtered { tagged_destination(destination) } else { copy_destination(destination) },
            tagged_destination: tagged_destination(destination),
            layout_tag: format!("image-{:04}", index + 1),
            kept_digest,
            artifact: image.sites.iter().any(|site| crate::discover::is_artifact(&image.source, &site.location)),
            disabled,
        }
    }
}

#[derive(Debug, Serialize)]
struct UncopiedVariables {
    #[serde(flatten)]
    source: SourceVariables,
}

impl UncopiedVariables {
    fn new(image: &UncopiedImage) -> Self {
        UncopiedVariables { source: SourceVariables::new(&image.source, &image.sites) }
    }
}

/// What to pull: by digest when pinned (the tag may have moved since the chart pinned it), by
/// tag otherwise, and `latest` spelled out when the reference has neither.
#[must_use]
pub fn copy_source(source: &Reference) -> String {
    match (&source.digest, &source.tag) {
        (Some(digest), _) => format!("{}@{digest}", source.name()),
        (None, Some(tag)) => format!("{}:{tag}", source.name()),
        (None, None) => format!("{}:latest", source.name()),
    }
}

/// What to push: the tag when there is one (a pinned source's bytes arrive under it, so the
/// overlay's `tag@digest` resolves and the manifest stays tagged), else the bare digest.
#[must_use]
pub fn copy_destination(destination: &Reference) -> String {
    match (&destination.tag, &destination.digest) {
        (Some(tag), _) => format!("{}:{tag}", destination.name()),
        (None, Some(digest)) => format!("{}@{digest}", destination.name()),
        (None, None) => format!("{}:latest", destination.name()),
    }
}

/// A tag to push under even when the reference has only a digest (`sha256-HEX`, cut to the
/// 128 characters a tag may have), for tools like `docker push` that cannot push by digest.
fn tagged_destination(destination: &Reference) -> String {
    match (&destination.tag, &destination.digest) {
        (None, Some(digest)) => {
            let mut tag = digest.replace(':', "-");
            tag.truncate(128);
            format!("{}:{tag}", destination.name())
        }
        _ => copy_destination(destination),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::testing::{plan, reference, DIGEST_A};
    use crate::mirror::Format;

    #[test]
    fn copy_references_pull_by_digest_and_push_by_tag() {
        let pinned = reference(&format!("quay.io/o/a:1.0@{DIGEST_A}"));
        assert_eq!(copy_source(&pinned), format!("quay.io/o/a@{DIGEST_A}"));
        assert_eq!(copy_destination(&pinned), "quay.io/o/a:1.0");
        let digest_only = reference(&format!("quay.io/o/a@{DIGEST_A}"));
        assert_eq!(copy_destination(&digest_only), format!("quay.io/o/a@{DIGEST_A}"));
        assert_eq!(tagged_destination(&digest_only), format!("quay.io/o/a:{}", DIGEST_A.replace(':', "-")));
        let bare = reference("quay.io/o/a");
        assert_eq!(copy_source(&bare), "quay.io/o/a:latest");
        assert_eq!(copy_destination(&bare), "quay.io/o/a:latest");
        let sha512 = reference(&format!("quay.io/o/a@sha512:{}", "c".repeat(128)));
        let tag = tagged_destination(&sha512);
        assert_eq!(tag.rsplit_once(':').unwrap().1.len(), 128, "{tag}");
        reference(&tag);
    }

    #[test]
    fn json_holds_every_variable_including_sites_and_uncopied_images() {
        let text = plan().render(Format::Json).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let images = json["images"].as_array().unwrap();
        assert_eq!(images.len(), 5);
        let redis = &images[1];
        assert_eq!(redis["source_short"], format!("bitnami/redis:7.2@{DIGEST_A}"));
        assert_eq!(redis["source_registry"], "docker.io");
        assert_eq!(redis["source_path"], "bitnami/redis");
        assert_eq!(redis["destination_registry"], "harbor.example.com");
        assert_eq!(redis["destination_path"], "mirror/bitnami/redis");
        assert_eq!(redis["tag"], "7.2");
        assert_eq!(redis["digest"], DIGEST_A);
        assert_eq!(redis["copy_source"], format!("docker.io/bitnami/redis@{DIGEST_A}"));
        assert_eq!(redis["copy_destination"], "harbor.example.com/mirror/bitnami/redis:7.2");
        assert_eq!(redis["chart"], "web/redis");
        assert_eq!(redis["values_path"], "redis.image");
        assert_eq!(redis["sites"][0]["location"], "StatefulSet/redis spec.template.spec.containers[0].image");
        assert_eq!(redis["disabled"], false);
        let nginx = &images[2];
        assert_eq!(nginx["tag"], "1.25");
        assert_eq!(nginx["digest"], serde_json::Value::Null);
        assert_eq!(nginx["sites"][0]["values_path"], serde_json::Value::Null, "{nginx}");
        assert_eq!(images[0]["disabled"], true);
        assert_eq!(json["enabled_count"], 4);
        assert_eq!(json["disabled_count"], 1);
        assert_eq!(json["excluded"][0]["source"], "registry.k8s.io/pause:3.9");
        assert_eq!(json["excluded"][0]["values_path"], "pause.image");
        assert_eq!(json["already_on_destination"][0]["source"], "harbor.example.com/mirror/tools/kubectl:1.30");
        assert_eq!(json["destination_registries"], serde_json::json!(["harbor.example.com"]));
    }
}
