//! Where images live in Kubernetes objects: the kinds whose pod spec the kubelet runs and the path
//! to that spec, the container lists in it, and the names of fields and env vars that hold images.
//! One list, read by discover, plan and the post-renderer, so they agree on what a pod is.

/// Kinds whose pod spec sits at a fixed path, and that path.
const POD_SPECS: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("ReplicationController", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template", "spec"]),
    ("PodTemplate", &["template", "spec"]),
];

/// Whether the kubelet runs a pod spec of objects of this kind (their images are pulled as
/// containers, not handed over as data).
pub fn is_pod_kind(kind: &str) -> bool {
    POD_SPECS.iter().any(|(k, _)| *k == kind)
}

/// The keys leading to the pod spec of an object of `kind` (`["spec", "template", "spec"]`), or
/// None when objects of that kind hold no pod spec.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    POD_SPECS.iter().find(|(k, _)| *k == kind).map(|(_, path)| *path)
}

/// The lists of containers in a pod spec, each container with an `image` field.
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// Env var names that carry an image: `RELATED_IMAGE_*` (the operator convention), `*_IMAGE`,
/// `*_IMAGE_NAME`, `*_IMAGE_REPOSITORY`/`*_IMAGE_REPO` (the name, its tag in another var),
/// `*_BUILDER` (a builder image), and `IMAGE` itself. `*_IMAGE_TAG` or `*_IMAGE_PULL_POLICY` do
/// not hold references.
pub fn names_an_image(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    name.starts_with("RELATED_IMAGE_")
        || name.ends_with("_IMAGE")
        || name.ends_with("_IMAGE_NAME")
        || name.ends_with("_IMAGE_REPOSITORY")
        || name.ends_with("_IMAGE_REPO")
        || name.ends_with("_BUILDER")
        || name == "IMAGE"
}

/// Env var names that carry where an operator pulls its operand images from, a registry or a
/// registry and path it appends image names to: `*_REGISTRY`, `*_REGISTRY_URL`, `*_REPO_URL`
/// (`ENGINE_REPO_URL=quay.io/org`). Its value counts only when it starts with a host and holds no
/// `://`. A bare `*_REPO` or `*_REPOSITORY` is left out: as often a source repository as an image.
pub fn names_an_image_source(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    ["_REGISTRY", "_REGISTRY_URL", "_REPO_URL"].iter().any(|end| name.ends_with(end)) || name == "REGISTRY"
}

/// A key of a custom resource or ConfigMap whose name says it holds an image: `image`,
/// `docker_image`, `logicalBackupImage`, `IMAGE_REF`. Its value must still read as an image.
pub fn key_names_an_image(key: &str) -> bool {
    key.to_ascii_lowercase().contains("image")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_that_hold_images() {
        for name in ["RELATED_IMAGE_linstor-controller", "SIDECAR_IMAGE", "IMAGE", "related_image_x"] {
            assert!(names_an_image(name), "{name}");
        }
        for name in ["IMAGE_PULL_POLICY", "MY_IMAGE_TAG", "IMAGES", "PAGE"] {
            assert!(!names_an_image(name), "{name}");
        }
        assert!(names_an_image("INIT_DB_IMAGE_REPOSITORY") && names_an_image("agent_image_repo"));
        for name in ["ENGINE_REPO_URL", "OPERAND_REGISTRY", "REGISTRY"] {
            assert!(names_an_image_source(name), "{name}");
        }
        for name in ["REPORT_URL", "REGISTRY_PASSWORD", "GIT_REPO_BRANCH", "GIT_REPOSITORY", "DOCS_REPO"] {
            assert!(!names_an_image_source(name), "{name}");
        }
    }

    #[test]
    fn pod_spec_paths_follow_each_pod_bearing_kind() {
        assert_eq!(pod_spec_path("CronJob"), Some(&["spec", "jobTemplate", "spec", "template", "spec"][..]));
        assert_eq!(pod_spec_path("Pod"), Some(&["spec"][..]));
        assert_eq!(pod_spec_path("ConfigMap"), None);
        assert!(is_pod_kind("StatefulSet") && !is_pod_kind("Secret"));
    }
}
