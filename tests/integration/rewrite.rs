//! The post-renderer on whole manifest streams: exact output bytes, and a line diff that holds
//! only the changed references.

use helm_retarget::reference::Reference;
use helm_retarget::rewrite::{find_images, rewrite, Rewritten};

const MIRROR: &str = "harbor.example.com";

/// Every image goes to the mirror with its path, tag and digest kept.
fn to_mirror(r: &Reference) -> Option<Reference> {
    (r.registry != MIRROR).then(|| r.with_location(MIRROR, &format!("proxy/{}", r.repository)))
}

fn post_render(input: &str) -> Rewritten {
    rewrite(input.as_bytes(), &to_mirror).unwrap_or_else(|e| panic!("{e}"))
}

/// Lines that differ between input and output, pairwise (the splice never adds or drops lines).
fn changed_lines(input: &str, output: &str) -> Vec<(String, String)> {
    let (a, b): (Vec<_>, Vec<_>) = (input.split_inclusive('\n').collect(), output.split_inclusive('\n').collect());
    assert_eq!(a.len(), b.len(), "line count changed");
    a.iter().zip(&b).filter(|(x, y)| x != y).map(|(x, y)| (x.to_string(), y.to_string())).collect()
}

/// Asserts that each changed line differs only by old -> new references the rewrite reported.
fn assert_only_references_changed(input: &str, r: &Rewritten) {
    let output = String::from_utf8(r.output.clone()).unwrap();
    for (old_line, new_line) in changed_lines(input, &output) {
        let mut patched = old_line.clone();
        for rw in &r.rewrites {
            patched = patched.replacen(&rw.field.text, &rw.new, 1);
        }
        assert_eq!(patched, new_line, "line changed beyond its references: {old_line:?}");
    }
}

#[test]
fn helm_style_stream_with_comments_block_scalars_and_flow_style() {
    let input = "\
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop   # the storefront
spec:
  template:
    metadata:
      annotations:
        note: |
          image: nginx:1.25 is mentioned here but this is prose
    spec:
      initContainers: [{name: init, image: busybox}]
      containers:
        - name: web
          image: \"nginx:1.25\"   # pinned
          args: [--sidecar-image=quay.io/side/car:2, --verbose]
          command:
            - /bin/app
            - --helper-image
            - 'ghcr.io/acme/helper:0.3'
          env:
            - name: RELATED_IMAGE_WORKER
              value: >-
                registry.k8s.io/acme/worker:v1
            - name: GREETING
              value: quay.io/not/an-image-site:1
---
# Source: shop/templates/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: shop}
spec:
  image: quay.io/prometheus/prometheus:v2.53.0
  thanos:
    image: auto
";
    let r = post_render(input);
    let output = String::from_utf8(r.output.clone()).unwrap();
    let expected = input
        .replace("image: busybox}", "image: harbor.example.com/proxy/library/busybox}")
        .replace("\"nginx:1.25\"", "\"harbor.example.com/proxy/library/nginx:1.25\"")
        .replace("=quay.io/side/car:2", "=harbor.example.com/proxy/side/car:2")
        .replace("'ghcr.io/acme/helper:0.3'", "'harbor.example.com/proxy/acme/helper:0.3'")
        .replace("registry.k8s.io/acme/worker:v1", "harbor.example.com/proxy/acme/worker:v1")
        .replace("quay.io/prometheus/prometheus", "harbor.example.com/proxy/prometheus/prometheus");
    assert_eq!(output, expected);
    assert_eq!(r.rewrites.len(), 6);
    assert_eq!(r.objects, 2);
    assert_only_references_changed(input, &r);
    let worker = r.rewrites.iter().find(|w| w.field.text.contains("worker")).unwrap();
    assert_eq!(worker.field.field_path, "spec.template.spec.containers[0].env[0].value");
    assert_eq!(worker.field.line, 26);
    assert_eq!(worker.field.source.as_deref(), Some("shop/templates/deployment.yaml"));
}

#[test]
fn crlf_line_endings_are_kept() {
    let input = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: redis:7\r\n";
    let r = post_render(input);
    assert_eq!(
        String::from_utf8(r.output).unwrap(),
        input.replace("redis:7", "harbor.example.com/proxy/library/redis:7")
    );
}

#[test]
fn document_markers_empty_documents_and_a_leading_source_comment() {
    let input = "# Source: c/templates/a.yaml\n--- # first\nkind: Pod\nspec: {containers: [{image: nginx:1}]}\n---\n---   \n\n...\n--- \nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: v}\n---";
    let r = post_render(input);
    assert_eq!(
        String::from_utf8(r.output.clone()).unwrap(),
        input.replace("nginx:1", "harbor.example.com/proxy/library/nginx:1")
    );
    assert_eq!(r.objects, 2);
    assert_eq!(r.rewrites[0].field.source.as_deref(), Some("c/templates/a.yaml"));
}

#[test]
fn helm4_filename_annotation_survives() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'templates/pod.yaml'\nspec:\n  containers:\n  - image: nginx:1\n    name: a\n";
    let r = post_render(input);
    let output = String::from_utf8(r.output).unwrap();
    assert!(output.contains("    postrenderer.helm.sh/postrender-filename: 'templates/pod.yaml'\n"));
    assert_eq!(output, input.replace("nginx:1", "harbor.example.com/proxy/library/nginx:1"));
}

#[test]
fn piraeus_style_image_config_moves_its_base_and_keeps_the_embedded_yaml() {
    let input = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: storage-operator-image-config
data:
  0_storage_images.yaml: |
    ---
    # images of the storage stack
    base: quay.io/piraeusdatastore
    components:
      linstor-controller:
        tag: v1.31.0
        image: piraeus-server
      ha-controller:
        tag: v1.3.0
        image: piraeus-ha-controller
  0_sig_storage_images.yaml: |
    base: registry.k8s.io/sig-storage
    components:
      csi-attacher:
        tag: v4.8.1
        image: csi-attacher
  notes.txt: |
    base: this is not a config, components are mentioned in prose
";
    let r = post_render(input);
    let output = String::from_utf8(r.output.clone()).unwrap();
    assert_eq!(
        output,
        input
            .replace("base: quay.io/piraeusdatastore", "base: harbor.example.com/proxy/piraeusdatastore")
            .replace("base: registry.k8s.io/sig-storage", "base: harbor.example.com/proxy/sig-storage")
    );
    assert_only_references_changed(input, &r);
    let fields = find_images(input.as_bytes()).unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0].field_path, "data.0_storage_images.yaml#base");
    assert_eq!(fields[0].line, 9);
    assert_eq!(
        fields[0].components,
        ["quay.io/piraeusdatastore/piraeus-server:v1.31.0", "quay.io/piraeusdatastore/piraeus-ha-controller:v1.3.0"]
    );
    // The embedded document still parses, and every component now composes onto the mirror.
    let after = find_images(&r.output).unwrap();
    assert!(after[0].components.iter().all(|c| c.starts_with("harbor.example.com/proxy/piraeusdatastore/")));
}

#[test]
fn placeholders_empty_strings_and_template_text_stay() {
    let input = "kind: Alertmanager\nmetadata: {name: a}\nspec:\n  image: ''\n  sidecar: {image: auto}\n  x: {image: \"{{ .Values.image }}\"}\n  y: {image: nginx}\n  z: {image: 'postgres:5432'}\n";
    let r = post_render(input);
    assert!(r.rewrites.is_empty(), "{:?}", r.rewrites);
    assert_eq!(r.output, input.as_bytes());
}

#[test]
fn multibyte_text_before_a_reference_keeps_offsets_right() {
    let input = "kind: Pod\nmetadata:\n  name: café\n  annotations: {über: \"ñ\"}\nspec: {containers: [{name: é, image: \"quay.io/ü/x:1\"}, {image: quay.io/a/b:2}]}\n";
    // `quay.io/ü/x:1` is not a reference (non-ASCII path): left alone.
    let r = post_render(input);
    assert_eq!(String::from_utf8(r.output).unwrap(), input.replace("quay.io/a/b:2", "harbor.example.com/proxy/a/b:2"));
}

#[test]
fn empty_input_gives_empty_output() {
    let r = post_render("");
    assert!(r.output.is_empty());
    assert_eq!(r.objects, 0);
}

#[test]
fn garbage_and_non_utf8_input_fail_with_the_line() {
    let cases: [(&[u8], &str, usize); 4] = [
        (b"kind: Pod\n---\n\x89PNG\r\n\x1a\n", "not UTF-8", 3),
        // Invalid YAML that names an image cannot be passed through unread (issue 9).
        (b"kind: Pod\n---\nkind: Service\n  image: indentation\n", "not valid YAML", 4),
        (b"<html><body>502 Bad Gateway</body></html>\n", "not a Kubernetes object", 1),
        (b"---\nkind: Pod\n---\n[1, 2]\n", "found a sequence", 4),
    ];
    for (input, says, line) in cases {
        let e = rewrite(input, &to_mirror).unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.hint.is_some());
    }
}

/// The Helm 4 plugins pass the checks Helm applies to a plugin.yaml (internal/plugin/metadata_v1.go
/// `Validate`, name pattern in internal/plugin/plugin.go), and their commands exist and run.
#[test]
fn helm4_plugin_files_are_valid_v1_plugins() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (dir, kind, name) in
        [("", "postrenderer/v1", "retarget"), ("helm-plugin/retarget-cli", "cli/v1", "retarget-cli")]
    {
        let plugin_dir = root.join(dir);
        let text = std::fs::read_to_string(plugin_dir.join("plugin.yaml")).unwrap();
        let meta: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(meta["apiVersion"], "v1");
        assert_eq!(meta["type"], kind);
        assert_eq!(meta["runtime"], "subprocess");
        assert_eq!(meta["name"], name);
        assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        let version = meta["version"].as_str().unwrap();
        assert_eq!(version.split('.').filter(|p| p.parse::<u64>().is_ok()).count(), 3, "{version}");
        // `helm plugin list` shows this version: keep it the binary's (scripts/package-plugin too).
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        let commands = meta["runtimeConfig"]["platformCommand"].as_sequence().unwrap();
        let unix = commands.iter().find(|c| c.get("os").is_none()).expect("a command for any OS");
        let command = unix["command"].as_str().unwrap().replace("${HELM_PLUGIN_DIR}", plugin_dir.to_str().unwrap());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&command).unwrap().permissions());
        assert!(mode & 0o111 != 0, "{command} is not executable");
        if kind == "postrenderer/v1" {
            assert_eq!(unix["args"][0], "post-render", "Helm appends --post-renderer-args after these");
        }
    }
}

#[test]
fn a_comment_glued_to_the_document_marker_splits_documents_as_helm_does() {
    // cert-manager's rbac.yaml renders `---# Permission ...`; Helm splits on `^---` and hands the
    // text to a Helm 3 post-renderer as it is, multibyte comment text included.
    let input = "kind: Role\nmetadata: {name: a}\n\n---# Permission to approve — élan\nkind: Pod\n\
                 metadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: quay.io/org/app:1\n";
    let r = post_render(input);
    assert_eq!(
        String::from_utf8(r.output.clone()).unwrap(),
        input.replace("quay.io/org/app:1", "harbor.example.com/proxy/org/app:1")
    );
    assert_eq!(r.objects, 2);
    assert_only_references_changed(input, &r);
}
