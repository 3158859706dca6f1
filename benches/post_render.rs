//! Post-render throughput and memory on a generated stream of >= 50 MB of Helm-style manifests,
//! against `kubectl kustomize` with an `images:` transformer and against plain `cat`.
//!
//! `cargo bench --bench post_render`. The CLI is not wired yet, so the post-renderer runs as
//! this bench binary re-executed in worker mode: `rewrite::rewrite_stream` from the file into a
//! temporary spool file (fail closed: nothing reaches stdout before the whole stream is done),
//! then the spool copied to stdout (/dev/null) — what `helm-retarget post-render` will do.
//! Every contender is a child process measured by wall clock and `/usr/bin/time` (peak RSS).

#![allow(clippy::cast_precision_loss, reason = "byte counts shown as MB/s")]
// A benchmark binary reports to its terminal: the stdout rule is for the CLI.
#![allow(clippy::disallowed_macros)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use helm_retarget::reference::Reference;
use helm_retarget::rewrite::{self, rewrite_stream};

const TARGET_BYTES: usize = 55 * 1024 * 1024;
const MIRROR: &str = "harbor.example.com";

fn main() {
    if let Ok(input) = std::env::var("POST_RENDER_BENCH_WORKER") {
        worker(Path::new(&input));
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-post-render");
    std::fs::create_dir_all(&dir).unwrap();
    let stream = dir.join("stream.yaml");
    let (bytes, documents) = generate(&stream, TARGET_BYTES);
    // kustomize needs over ten minutes for the full stream (and ~1 GB), so it runs on a prefix
    // of the same stream, a tenth the size, against post-render on that same prefix.
    let small_dir = dir.join("prefix");
    std::fs::create_dir_all(&small_dir).unwrap();
    let small = small_dir.join("stream.yaml");
    let (small_bytes, _) = generate(&small, TARGET_BYTES / 10);
    let small_mb = small_bytes as f64 / 1e6;
    let mb = bytes as f64 / 1e6;
    println!("stream: {} ({mb:.1} MB, {documents} documents)", stream.display());

    let me = std::env::current_exe().unwrap();
    let ours =
        measure("post-render (library, spooled)", Command::new(&me).env("POST_RENDER_BENCH_WORKER", &stream), &dir);
    // The same binary with the fast block-YAML reader turned off: every document read by libyaml,
    // which is what post-render did before the fast reader.
    let full = measure(
        "post-render, full reader only",
        Command::new(&me).env("POST_RENDER_BENCH_WORKER", &stream).env("HELM_RETARGET_FULL_READER", "1"),
        &dir,
    );
    let cat = measure("cat", Command::new("cat").arg(&stream), &dir);
    write_kustomization(&small_dir);
    let kustomize =
        measure("kubectl kustomize (images:)", Command::new("kubectl").arg("kustomize").arg(&small_dir), &dir);
    let ours_small =
        measure("post-render on the prefix", Command::new(&me).env("POST_RENDER_BENCH_WORKER", &small), &dir);

    println!();
    println!("{:<32} {:>10} {:>12} {:>14}", "contender", "seconds", "MB/s", "peak RSS MB");
    for (m, size) in [(&ours, mb), (&full, mb), (&cat, mb), (&ours_small, small_mb), (&kustomize, small_mb)] {
        println!("{:<32} {:>10.3} {:>12.1} {:>14.1}", m.name, m.seconds, size / m.seconds, m.peak_kb as f64 / 1024.0);
    }
    println!();
    println!("prefix for kustomize: {small_mb:.1} MB");
    println!(
        "post-render is {:.1}x faster than kustomize on the prefix (target >= 30x)",
        kustomize.seconds / ours_small.seconds
    );
    println!("post-render takes {:.1}x the time of cat (target <= 10x)", ours.seconds / cat.seconds);
    println!("the fast reader is {:.1}x the full reader's speed", full.seconds / ours.seconds);
    let text = std::fs::read(&stream).unwrap();
    let (read, total) = rewrite::fast_reader_coverage(&text).unwrap_or_else(|e| panic!("{e}"));
    println!("fast reader: read {read} of {total} documents (the rest went to libyaml); its trees equal libyaml's");
    let same = output_of(&me, &stream, false) == output_of(&me, &stream, true);
    println!("output with the fast reader equals the full reader's byte for byte: {same}");
    assert!(same, "the fast reader changed the output");
    let largest = std::fs::read_to_string(dir.join("largest-document")).unwrap_or_default();
    println!("largest document: {largest} bytes; post-render peak RSS {:.1} MB", ours.peak_kb as f64 / 1024.0);
}

/// The worker's whole output for `stream`, with the fast reader or with the full reader only.
fn output_of(me: &Path, stream: &Path, full_reader: bool) -> Vec<u8> {
    let mut command = Command::new(me);
    command.env("POST_RENDER_BENCH_WORKER", stream);
    if full_reader {
        command.env("HELM_RETARGET_FULL_READER", "1");
    }
    let out = command.stderr(Stdio::inherit()).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The post-renderer as the CLI will run it: stream -> spool -> stdout.
fn worker(input: &Path) {
    let to_mirror =
        |r: &Reference| (r.registry != MIRROR).then(|| r.with_location(MIRROR, &format!("proxy/{}", r.repository)));
    let reader = BufReader::with_capacity(1 << 16, File::open(input).unwrap());
    let mut spool = BufWriter::with_capacity(1 << 16, tempfile::tempfile().unwrap());
    let mut count = 0usize;
    let summary = rewrite_stream(reader, &mut spool, &to_mirror, &mut |_| count += 1).unwrap_or_else(|e| panic!("{e}"));
    let mut spool = spool.into_inner().unwrap();
    spool.rewind().unwrap();
    std::io::copy(&mut spool, &mut std::io::stdout().lock()).unwrap();
    let out = input.with_file_name("largest-document");
    std::fs::write(out, summary.largest_document.to_string()).unwrap();
    assert_eq!(count, summary.rewrites);
    assert!(summary.rewrites > 0);
}

struct Measured {
    name: &'static str,
    seconds: f64,
    peak_kb: u64,
}

/// Best of three wall-clock runs; peak RSS from /usr/bin/time of the last.
fn measure(name: &'static str, command: &mut Command, dir: &Path) -> Measured {
    let rusage = dir.join("rusage");
    let mut best = f64::MAX;
    let runs = if name.starts_with("kubectl") { 1 } else { 3 };
    for _ in 0..runs {
        let mut timed = Command::new("/usr/bin/time");
        timed.arg("-f").arg("%M").arg("-o").arg(&rusage).arg(command.get_program()).args(command.get_args());
        for (k, v) in command.get_envs() {
            if let Some(v) = v {
                timed.env(k, v);
            }
        }
        let start = Instant::now();
        let status = timed.stdout(Stdio::null()).stderr(Stdio::inherit()).status().unwrap();
        let seconds = start.elapsed().as_secs_f64();
        assert!(status.success(), "{name} failed");
        best = best.min(seconds);
    }
    let peak_kb = std::fs::read_to_string(&rusage).unwrap().trim().lines().last().unwrap_or("0").parse().unwrap_or(0);
    eprintln!("{name}: {best:.3}s, peak {peak_kb} KB");
    Measured { name, seconds: best, peak_kb }
}

fn write_kustomization(dir: &Path) {
    let mut images = String::new();
    for name in ["nginx", "busybox", "quay.io/acme/api", "ghcr.io/acme/worker", "quay.io/prometheus/prometheus"] {
        let tail = name.rsplit('/').next().unwrap();
        images.push_str(&format!("  - name: {name}\n    newName: {MIRROR}/proxy/{tail}\n"));
    }
    let text = format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - stream.yaml\nimages:\n{images}");
    std::fs::write(dir.join("kustomization.yaml"), text).unwrap();
}

/// Writes a Helm-like stream (Deployments, Services, ConfigMaps with block-scalar payloads,
/// Prometheus CRs, image-config ConfigMaps) until it passes TARGET_BYTES.
fn generate(path: &PathBuf, target_bytes: usize) -> (usize, usize) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    let mut bytes = 0;
    let mut documents = 0;
    let mut i = 0;
    while bytes < target_bytes {
        for doc in app(i) {
            bytes += doc.len();
            documents += 1;
            out.write_all(doc.as_bytes()).unwrap();
        }
        i += 1;
    }
    out.flush().unwrap();
    (bytes, documents)
}

fn app(i: usize) -> Vec<String> {
    let mut docs = vec![
        format!(
            "---
# Source: app-{i}/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}-api
  labels:
    app.kubernetes.io/name: api
    app.kubernetes.io/instance: app-{i}
    helm.sh/chart: app-1.{m}.0
  annotations:
    checksum/config: 5d41402abc4b2a76b9719d911017c592{i:08x}
spec:
  replicas: {r}
  selector:
    matchLabels:
      app.kubernetes.io/name: api
      app.kubernetes.io/instance: app-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: api
        app.kubernetes.io/instance: app-{i}
    spec:
      serviceAccountName: app-{i}
      securityContext:
        {{}}
      initContainers:
        - name: wait
          image: busybox:1.36
          command: [\"sh\", \"-c\", \"until nslookup db-{i}; do sleep 2; done\"]
      containers:
        - name: api
          # the API server
          image: \"quay.io/acme/api:v{m}.{r}.1\"
          imagePullPolicy: IfNotPresent
          args:
            - --port=8080
            - --sidecar-image=ghcr.io/acme/worker:{m}.0
            - --log-level=info
          env:
            - name: RELATED_IMAGE_WORKER
              value: ghcr.io/acme/worker:{m}.0
            - name: DATABASE_URL
              value: postgres://db-{i}:5432/app
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
            requests: {{cpu: 100m, memory: 128Mi}}
        - name: proxy
          image: nginx:1.25.{m}
          volumeMounts:
            - name: config
              mountPath: /etc/nginx/conf.d
      volumes:
        - name: config
          configMap:
            name: app-{i}-config
",
            m = i % 10,
            r = 1 + i % 3
        ),
        format!(
            "---
# Source: app-{i}/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: app-{i}-api
  labels:
    app.kubernetes.io/instance: app-{i}
spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: http
      protocol: TCP
      name: http
  selector:
    app.kubernetes.io/name: api
    app.kubernetes.io/instance: app-{i}
"
        ),
        format!(
            "---
# Source: app-{i}/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{i}-config
data:
  default.conf: |
    server {{
      listen 80;
      # proxy to the API container
      location / {{ proxy_pass http://127.0.0.1:8080; }}
    }}
  dashboard.json: |-
{dashboard}
",
            dashboard = (0..40)
                .map(|p| format!("    {{\"id\": {p}, \"title\": \"Panel {p} of app {i}\", \"type\": \"timeseries\", \"expr\": \"rate(http_requests_total{{app=\\\"app-{i}\\\"}}[5m])\"}},"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        format!(
            "---
# Source: app-{i}/templates/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: app-{i}
spec:
  image: quay.io/prometheus/prometheus:v2.53.{m}
  replicas: 1
  serviceMonitorSelector:
    matchLabels:
      release: app-{i}
  thanos:
    image: auto
",
            m = i % 10
        ),
    ];
    if i % 50 == 0 {
        docs.push(format!(
            "---
# Source: storage-{i}/templates/image-config.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: storage-{i}-image-config
data:
  0_images.yaml: |
    base: quay.io/piraeusdatastore
    components:
      linstor-controller:
        tag: v1.31.0
        image: piraeus-server
      linstor-satellite:
        tag: v1.31.0
        image: piraeus-server
"
        ));
    }
    docs
}
