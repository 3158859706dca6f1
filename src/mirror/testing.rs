//! The plan the mirror unit tests render: several registries, every pinning shape, excluded,
//! already-mirrored and disabled-only images, so each test checks one part against one input.

use super::{MirrorPlan, MirrorSite};
use crate::mapping::RegistryMapping;
use crate::reference::Reference;

pub(super) const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub(super) const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

pub(super) fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn mapping(yaml: &str) -> RegistryMapping {
    RegistryMapping::from_yaml_text(yaml, "mapping.yaml", None).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) const KEEP_PATH: &str = "registry: harbor.example.com/mirror\n\
                         exclude:\n  - registry.k8s.io/pause\n";
pub(super) const KEEP_HOST: &str = "registry: harbor.example.com/mirror\nlayout: keep-host\n\
                         exclude:\n  - registry.k8s.io/pause\n";

pub(super) fn site(chart: &str, values_path: Option<&str>, location: &str, disabled: bool) -> MirrorSite {
    MirrorSite {
        chart: chart.into(),
        values_path: values_path.map(crate::values::ValuesPath::parse),
        location: location.into(),
        disabled,
    }
}

/// Several registries; tag only, digest only, tag+digest; a Docker Hub official image
/// named two ways; an excluded source; one already on the destination; a disabled-only
/// image; an image used by an enabled and a disabled site.
pub(super) fn plan_with(mapping_yaml: &str) -> MirrorPlan {
    let mapping = mapping(mapping_yaml);
    let mut plan = MirrorPlan::new();
    let mut add = |text: &str, site: MirrorSite| plan.add(&reference(text), &mapping, site);
    add("nginx:1.25", site("web", Some("image"), "Deployment/web spec.template.spec.containers[0].image", false));
    add("docker.io/library/nginx:1.25", site("web", None, "manifest stream", false));
    add(
        &format!("bitnami/redis:7.2@{DIGEST_A}"),
        site("web/redis", Some("redis.image"), "StatefulSet/redis spec.template.spec.containers[0].image", false),
    );
    add(
        &format!("quay.io/prometheus/node-exporter@{DIGEST_B}"),
        site("web/metrics", Some("exporter.image"), "DaemonSet/node spec.template.spec.containers[0].image", false),
    );
    add(
        "ghcr.io/org/app:v1",
        site("web", Some("app.image"), "Deployment/app spec.template.spec.containers[0].image", false),
    );
    add(
        "ghcr.io/org/app:v1",
        site("web/extra", Some("app.image"), "Job/migrate spec.template.spec.containers[0].image", true),
    );
    // The same site twice is recorded once.
    add(
        "ghcr.io/org/app:v1",
        site("web", Some("app.image"), "Deployment/app spec.template.spec.containers[0].image", false),
    );
    add(
        "registry.k8s.io/pause:3.9",
        site("web", Some("pause.image"), "Deployment/web spec.template.spec.initContainers[0].image", false),
    );
    add(
        "harbor.example.com/mirror/tools/kubectl:1.30",
        site("web", Some("kubectl.image"), "Job/hook spec.template.spec.containers[0].image", false),
    );
    add(
        "docker.io/bitnami/postgresql:16",
        site("web/postgresql", Some("postgresql.image"), "StatefulSet/db spec.template.spec.containers[0].image", true),
    );
    plan
}

pub(super) fn plan() -> MirrorPlan {
    plan_with(KEEP_PATH)
}

pub(super) fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}
