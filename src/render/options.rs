//! What `helm template` takes from its flags rather than from the chart: release, namespace,
//! Kubernetes version and API versions, with the defaults offline renders assume.

/// The Kubernetes version offline renders assume; Helm 4's own default as the engine reports it.
pub const KUBE_VERSION: &str = "v1.36.0";

/// The text given to values a chart requires that have nothing to do with images.
pub const PLACEHOLDER: &str = "helm-retarget-placeholder";

/// Group/versions Helm's offline capabilities report as served: the Kubernetes client scheme's
/// list, in its order, as the Helm 4 engine above prints `.Capabilities.APIVersions`.
pub const API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// What `helm template` takes from its flags rather than from the chart: the release and the
/// cluster it pretends to render for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    pub release_name: String,
    pub namespace: String,
    /// `v1.36.0`: always with the `v`, as `.Capabilities.KubeVersion` prints it.
    pub kube_version: String,
    /// Served group/versions: Helm's defaults plus any `--api-versions`.
    pub api_versions: Vec<String>,
}

impl Default for RenderOptions {
    /// What scan, overlay, mirror, diff, relocate and verify render with: release `release` in
    /// `default`, for Kubernetes v1.36.0 and Helm's API versions unless `--kube-version` and
    /// `--api-versions` say otherwise.
    fn default() -> Self {
        RenderOptions {
            release_name: "release".to_string(),
            namespace: "default".to_string(),
            kube_version: KUBE_VERSION.to_string(),
            api_versions: API_VERSIONS.iter().map(std::string::ToString::to_string).collect(),
        }
    }
}

impl RenderOptions {
    /// `--kube-version` as Helm reads it (`1.30`, `v1.30.2`, `1.30.2-gke.1`): at least major and
    /// minor, digits first; the `v` is added when missing.
    pub fn parse_kube_version(text: &str) -> Result<String, String> {
        let trimmed = text.trim();
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let numeric: String = bare.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let parts: Vec<&str> = numeric.split('.').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(format!("invalid kube version '{text}': could not parse {text:?} as version"));
        }
        Ok(format!("v{bare}"))
    }
}
