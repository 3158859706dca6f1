//! Writes the benchmark's synthetic umbrella chart: `fleet`, with N subcharts shaped the way large
//! real umbrellas are (Bitnami-style image blocks, `global.imageRegistry`, aliases, nested subcharts).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A chart directory the generator wrote, and how many container images its default render holds.
#[derive(Debug)]
pub struct SyntheticChart {
    pub dir: PathBuf,
    /// Containers (init containers included) rendered with the chart's defaults: the benchmark
    /// checks the Helm engine's render against it, so a broken generator cannot go unnoticed.
    pub images: usize,
}

/// Registries the subcharts' images come from, so that a mapping sees several sources.
const REGISTRIES: [&str; 5] = ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io", "gcr.io"];

/// Writes the umbrella chart `fleet` with `subcharts` subcharts into `dir`, replacing what was there.
///
/// Subchart `i` varies with `i` so that no two look alike to the planner: every third has an init
/// container with its own image block, every fourth pins a digest and is behind a condition, every
/// seventh gets its tag from the parent's values, every tenth vendors an `agent` chart twice under
/// two aliases, and every fiftieth's agent vendors a `probe` chart one level deeper.
pub fn write(dir: &Path, subcharts: usize) -> io::Result<SyntheticChart> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    let mut images = 1; // the umbrella's own Deployment
    let mut dependencies = String::new();
    let mut parent_values = String::new();
    for i in 0..subcharts {
        let name = subchart_name(i);
        dependencies.push_str(&format!("  - name: {name}\n    version: 1.{i}.0\n"));
        if i % 4 == 1 {
            dependencies.push_str(&format!("    condition: {name}.enabled\n"));
        }
        if i % 7 == 3 {
            parent_values.push_str(&format!("{name}:\n  image:\n    tag: \"1.{i}.1-patched\"\n"));
        }
        images += write_service(&dir.join("charts").join(&name), &name, i)?;
    }
    write_file(dir, "Chart.yaml", &format!("{}dependencies:\n{dependencies}", chart_yaml("fleet", "1.0.0", "2.4.0")))?;
    write_file(dir, "values.yaml", &format!("{FLEET_VALUES}{parent_values}"))?;
    write_file(dir, "templates/_helpers.tpl", &helpers("fleet"))?;
    write_file(dir, "templates/deployment.yaml", &deployment("fleet", false))?;
    Ok(SyntheticChart { dir: dir.to_path_buf(), images })
}

/// Writes `level0`, a chain of `levels` charts into `dir`, each depending on the next (vendored
/// under the previous one's charts/), replacing what was there. Every level has a Bitnami-style
/// image block and `global.imageRegistry`, as a deep real tree has at each step: the planner's
/// values composition and probing then work at every depth. Returns one image per level.
pub fn write_nested(dir: &Path, levels: usize) -> io::Result<SyntheticChart> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    let mut here = dir.to_path_buf();
    for i in 0..levels {
        let name = format!("level{i}");
        let mut chart = chart_yaml(&name, &format!("1.{i}.0"), &format!("1.{i}.0"));
        if i + 1 < levels {
            chart.push_str(&format!("dependencies:\n  - name: level{}\n    version: 1.{}.0\n", i + 1, i + 1));
        }
        write_file(&here, "Chart.yaml", &chart)?;
        write_file(&here, "values.yaml", &service_values(&name, i))?;
        write_file(&here, "templates/_helpers.tpl", &helpers(&name))?;
        write_file(&here, "templates/deployment.yaml", &deployment(&name, false))?;
        here = here.join("charts").join(format!("level{}", i + 1));
    }
    Ok(SyntheticChart { dir: dir.to_path_buf(), images: levels })
}

/// `svc-007`: zero-padded so the charts/ listing sorts the way it was generated.
fn subchart_name(i: usize) -> String {
    format!("svc-{i:03}")
}

/// One service subchart; returns how many images its default render holds.
fn write_service(dir: &Path, name: &str, i: usize) -> io::Result<usize> {
    let mut images = 1;
    let init = i % 3 == 0;
    let agents = i % 10 == 0;
    let mut chart = chart_yaml(name, &format!("1.{i}.0"), &format!("1.{i}.0"));
    let mut values = service_values(name, i);
    if init {
        images += 1;
        values.push_str(&format!(
            "initImage:\n  registry: docker.io\n  repository: bench/os-shell\n  tag: 12-debian-12-r{i}\n  \
             digest: \"\"\n  pullPolicy: IfNotPresent\n"
        ));
    }
    if agents {
        // One vendored chart, two releases of it: values live under each alias.
        chart.push_str(
            "dependencies:\n  - name: agent\n    version: 0.9.0\n    alias: collector\n    condition: collector.enabled\n  \
             - name: agent\n    version: 0.9.0\n    alias: shipper\n",
        );
        values.push_str(&format!(
            "collector:\n  enabled: true\n  image:\n    tag: \"0.9.{i}-collector\"\nshipper:\n  image:\n    \
             repository: bench/shipper\n"
        ));
        images += 2 * write_agent(&dir.join("charts/agent"), i % 50 == 0)?;
    }
    write_file(dir, "Chart.yaml", &chart)?;
    write_file(dir, "values.yaml", &values)?;
    write_file(dir, "templates/_helpers.tpl", &helpers(name))?;
    write_file(dir, "templates/deployment.yaml", &deployment(name, init))?;
    write_file(dir, "templates/service.yaml", &SERVICE.replace("@NAME@", name))?;
    Ok(images)
}

/// The vendored `agent` chart (a DaemonSet), optionally vendoring `probe` one level deeper.
fn write_agent(dir: &Path, with_probe: bool) -> io::Result<usize> {
    let mut images = 1;
    let mut chart = chart_yaml("agent", "0.9.0", "0.9.0");
    let mut values = String::from(
        "global:\n  imageRegistry: \"\"\n  imagePullSecrets: []\nimage:\n  registry: docker.io\n  \
         repository: bench/agent\n  tag: \"\"\n  digest: \"\"\n  pullPolicy: IfNotPresent\n\
         resources:\n  requests:\n    cpu: 10m\n    memory: 32Mi\n",
    );
    if with_probe {
        chart.push_str("dependencies:\n  - name: probe\n    version: 0.3.0\n");
        values.push_str("probe:\n  image:\n    tag: \"0.3.0-agent\"\n");
        let probe = dir.join("charts/probe");
        write_file(&probe, "Chart.yaml", &chart_yaml("probe", "0.3.0", "0.3.0"))?;
        write_file(
            &probe,
            "values.yaml",
            "global:\n  imageRegistry: \"\"\n  imagePullSecrets: []\nimage:\n  registry: quay.io\n  \
             repository: bench/probe\n  tag: \"\"\n  digest: \"\"\n  pullPolicy: IfNotPresent\n\
             resources: {}\n",
        )?;
        write_file(&probe, "templates/_helpers.tpl", &helpers("probe"))?;
        write_file(&probe, "templates/deployment.yaml", &deployment("probe", false))?;
        images += 1;
    }
    write_file(dir, "Chart.yaml", &chart)?;
    write_file(dir, "values.yaml", &values)?;
    write_file(dir, "templates/_helpers.tpl", &helpers("agent"))?;
    write_file(dir, "templates/daemonset.yaml", &DAEMONSET.replace("@NAME@", "agent"))?;
    Ok(images)
}

fn chart_yaml(name: &str, version: &str, app_version: &str) -> String {
    format!(
        "apiVersion: v2\nname: {name}\ndescription: Generated for the helm-retarget overlay benchmark.\n\
         type: application\nversion: {version}\nappVersion: \"{app_version}\"\n"
    )
}

fn service_values(name: &str, i: usize) -> String {
    let registry = REGISTRIES[i % REGISTRIES.len()];
    let digest = if i % 4 == 0 { digest(i) } else { String::new() };
    format!(
        "# {name}: one service of the generated fleet.\n\
         global:\n  imageRegistry: \"\"\n  imagePullSecrets: []\n\
         enabled: true\nreplicaCount: 1\n\
         image:\n  registry: {registry}\n  repository: bench/{name}\n  tag: \"1.{i}.0\"\n  digest: \"{digest}\"\n  \
         pullPolicy: IfNotPresent\n\
         service:\n  type: ClusterIP\n  port: {port}\n\
         podAnnotations:\n  bench.example.org/index: \"{i}\"\n\
         extraArgs:\n  - --log-level=info\n  - --listen=:{port}\n\
         resources:\n  requests:\n    cpu: 50m\n    memory: 64Mi\n  limits:\n    memory: 128Mi\n",
        port = 8000 + i,
    )
}

/// A digest that differs per chart and looks like one; its value does not matter, only its shape.
fn digest(i: usize) -> String {
    // splitmix64: four well-mixed words from the index, with no dependency for it.
    let mut state = i as u64;
    let mut hex = String::from("sha256:");
    for _ in 0..4 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        hex.push_str(&format!("{:016x}", z ^ (z >> 31)));
    }
    hex
}

const FLEET_VALUES: &str = "# The umbrella's defaults; subchart blocks below override the subcharts' own.\n\
global:\n  imageRegistry: \"\"\n  imagePullSecrets: []\n\
image:\n  registry: docker.io\n  repository: bench/fleet-api\n  tag: \"\"\n  digest: \"\"\n  pullPolicy: IfNotPresent\n\
replicaCount: 2\npodAnnotations: {}\nextraArgs: []\n\
resources:\n  requests:\n    cpu: 100m\n    memory: 128Mi\n";

/// Named templates, prefixed with the chart's name as Helm charts do (named templates are global).
/// The image helper follows Bitnami's: `global.imageRegistry` replaces the block's registry, a digest
/// replaces the tag, and the tag defaults to the chart's appVersion.
fn helpers(chart: &str) -> String {
    r#"{{/* Full name: release and chart (the alias, for aliased subcharts). */}}
{{- define "@NAME@.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "@NAME@.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Usage: include "@NAME@.image" (dict "block" .Values.image "global" .Values.global "chart" .Chart) */}}
{{- define "@NAME@.image" -}}
{{- $block := .block -}}
{{- $host := $block.registry -}}
{{- if and .global .global.imageRegistry -}}
{{- $host = .global.imageRegistry -}}
{{- end -}}
{{- $end := printf ":%s" (toString (default .chart.AppVersion $block.tag)) -}}
{{- if $block.digest -}}
{{- $end = printf "@%s" $block.digest -}}
{{- end -}}
{{- if $host -}}
{{- printf "%s/%s%s" $host $block.repository $end -}}
{{- else -}}
{{- printf "%s%s" $block.repository $end -}}
{{- end -}}
{{- end -}}

{{- define "@NAME@.pullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
"#
    .replace("@NAME@", chart)
}

fn deployment(chart: &str, init: bool) -> String {
    let init = if init { INIT_CONTAINER } else { "" };
    DEPLOYMENT.replace("@INIT@", init).replace("@NAME@", chart)
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "@NAME@.fullname" . }}
  labels:
    {{- include "@NAME@.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount | default 1 }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "@NAME@.labels" . | nindent 8 }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "@NAME@.pullSecrets" . | nindent 6 }}
@INIT@      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "@NAME@.image" (dict "block" .Values.image "global" .Values.global "chart" .Chart) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.extraArgs }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.service }}
          ports:
            - name: http
              containerPort: {{ .port }}
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"#;

const INIT_CONTAINER: &str = r#"      initContainers:
        - name: wait-for-config
          image: {{ include "@NAME@.image" (dict "block" .Values.initImage "global" .Values.global "chart" .Chart) | quote }}
          imagePullPolicy: {{ .Values.initImage.pullPolicy }}
          command: ["/bin/sh", "-c", "until [ -f /config/ready ]; do sleep 1; done"]
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "@NAME@.fullname" . }}
  labels:
    {{- include "@NAME@.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
  selector:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/instance: {{ .Release.Name }}
"#;

const DAEMONSET: &str = r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ include "@NAME@.fullname" . }}
  labels:
    {{- include "@NAME@.labels" . | nindent 4 }}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "@NAME@.labels" . | nindent 8 }}
    spec:
      {{- include "@NAME@.pullSecrets" . | nindent 6 }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "@NAME@.image" (dict "block" .Values.image "global" .Values.global "chart" .Chart) }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"#;

fn write_file(dir: &Path, relative: &str, text: &str) -> io::Result<()> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)
}
