//! The fast reader for plain block YAML (src/rewrite/block.rs) against the full reader (libyaml,
//! forced by `rewrite::with_full_reader`): on every stream the suite has, real renders of every
//! fixture, generated bench-like streams, hand-written adversarial documents and mechanical
//! mutations of all of them, both give the same output bytes, rewrites, report, notes and errors,
//! and every document the fast reader reads gives the very tree libyaml gives.

use std::fmt::Write as _;
use std::path::Path;

use helm_retarget::reference::Reference;
use helm_retarget::rewrite::{self, Rules};

use crate::engine;
use crate::fixtures::fixture_charts;
use crate::post_render_e2e::stream;

const MIRROR: &str = "harbor.example.com";

fn to_mirror(r: &Reference) -> Option<Reference> {
    (r.registry != MIRROR).then(|| r.with_location(MIRROR, &format!("proxy/{}", r.repository)))
}

/// Everything post-render, verify and discovery give for a stream, written out to compare.
fn outcome(input: &[u8]) -> String {
    let mut out = String::new();
    match rewrite::rewrite(input, &to_mirror) {
        Ok(r) => {
            let _ = writeln!(out, "objects {}\noutput {:?}", r.objects, String::from_utf8_lossy(&r.output));
            let _ = writeln!(out, "rewrites {:#?}\nreport {}", r.rewrites, rewrite::report_json(&r.rewrites));
        }
        Err(e) => {
            let _ = writeln!(out, "rewrite error {e:#?}");
        }
    }
    let mut streamed = Vec::new();
    let mut seen = Vec::new();
    let summary = rewrite::rewrite_stream(input, &mut streamed, &to_mirror, &mut |r| seen.push(r));
    let _ = writeln!(out, "stream {summary:#?}\nstreamed {:?}\nseen {seen:#?}", String::from_utf8_lossy(&streamed));
    let _ = writeln!(out, "notes {:#?}", rewrite::notes_for(input));
    let _ = writeln!(out, "images {:#?}", rewrite::find_images(input));
    let _ = writeln!(out, "no text rules {:#?}", rewrite::find_images_by(input, Rules { text_images: false }));
    let _ = writeln!(out, "places {:#?}", rewrite::find_images_with_places(input));
    out
}

/// The fast and the forced full reader give the same outcome on `input`; returns how many of its
/// documents the fast reader read, of how many.
fn assert_same(name: &str, input: &[u8]) -> (usize, usize) {
    let coverage = rewrite::fast_reader_coverage(input).unwrap_or_else(|e| panic!("{name}: {e}"));
    let fast = outcome(input);
    let full = rewrite::with_full_reader(|| outcome(input));
    if fast != full {
        let (f, l): (Vec<_>, Vec<_>) = (fast.lines().collect(), full.lines().collect());
        let at = f.iter().zip(&l).position(|(a, b)| a != b).unwrap_or(f.len().min(l.len()));
        panic!(
            "{name}: the fast reader changed the outcome at line {at}:\nfast: {:?}\nfull: {:?}\ninput: {:?}",
            f.get(at),
            l.get(at),
            String::from_utf8_lossy(input)
        );
    }
    coverage
}

/// Streams shaped like the benchmark's (benches/post_render.rs): Deployments with comments, env,
/// flags and flow collections, Services, ConfigMaps with block scalars, Prometheus CRs and image
/// configs.
fn bench_like(apps: usize) -> String {
    let mut out = String::new();
    for i in 0..apps {
        let m = i % 10;
        let _ = write!(
            out,
            r#"---
# Source: app-{i}/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}-api
  labels:
    app.kubernetes.io/name: api
  annotations:
    checksum/config: 5d41402abc{i:08x}
spec:
  replicas: 2
  template:
    spec:
      securityContext:
        {{}}
      initContainers:
        - name: wait
          image: busybox:1.36
          command: ["sh", "-c", "until nslookup db-{i}; do sleep 2; done"]
      containers:
        - name: api
          # the API server
          image: "quay.io/acme/api:v{m}.1"
          args:
            - --port=8080
            - --sidecar-image=ghcr.io/acme/worker:{m}.0
          env:
            - name: RELATED_IMAGE_WORKER
              value: ghcr.io/acme/worker:{m}.0
            - name: DATABASE_URL
              value: postgres://db-{i}:5432/app
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
        - name: proxy
          image: nginx:1.25.{m}
---
# Source: app-{i}/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{i}-config
data:
  default.conf: |
    server {{
      listen 80;
    }}
  dashboard.json: |-
    {{"id": 1, "expr": "rate(x{{app=\"app-{i}\"}}[5m])"}},
    {{"id": 2}}
  agent.yaml: |
    image: quay.io/acme/agent:{m}
    note: ghcr.io/acme/plugin:1
---
# Source: app-{i}/templates/prometheus.yaml
kind: Prometheus
metadata:
  name: app-{i}
spec:
  image: quay.io/prometheus/prometheus:v2.53.{m}
  thanos:
    image: auto
"#
        );
        if i % 5 == 0 {
            let _ = write!(
                out,
                "---\nkind: ConfigMap\nmetadata:\n  name: storage-{i}\ndata:\n  0_images.yaml: |\n    base: quay.io/piraeusdatastore\n    components:\n      linstor-controller:\n        tag: v1.31.0\n        image: piraeus-server\n"
            );
        }
    }
    out
}

/// Documents written to sit at the edge of what the fast reader reads, each a case of its own.
const ADVERSARIAL: &[&str] = &[
    // comments everywhere, and a `#` that is no comment
    "# Source: c/t.yaml\n# another\nkind: Pod # trailing\nmetadata:\n  # inside\n  name: p#1\nspec:\n  containers:\n  # before an item\n  - image: nginx:1 # pinned\n    # between keys\n    name: a\n        # deeper comment\n  - image: 'redis:7' #c\n",
    // `---` and `...` variants
    "--- # first\nkind: Pod\nspec: {containers: [{image: nginx:1}]}\n...\n",
    "---\n---\n---   \n\n...\n--- \nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n",
    "---# glued comment\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n",
    "...\n---\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n...\n...\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n--- x\n",
    "---x: 1\nkind: Pod\n",
    // CRLF, tabs, BOM
    "kind: Pod\r\nspec:\r\n  containers:\r\n  - image: nginx:1\r\n",
    "kind: Pod\nspec:\n  containers:\n  - image:\tnginx:1\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\t# tab before a comment\n",
    "kind: ConfigMap\ndata:\n  a: |\n    \tindented by a tab\n    image: quay.io/a/b:1\n",
    "\u{feff}kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n",
    // quoted keys and odd scalars
    "\"kind\": Pod\n'spec':\n  \"containers\":\n  - 'image': nginx:1\n  - \"image\" : \"quay.io/a/b:1\"\n",
    "kind: Pod\nspec:\n  containers:\n  - image: \"nginx:1\\\"\"\n  - image: \"quay.io/a/\\x62:1\"\n  - image: 'it''s:1'\n",
    "kind: Pod\nspec:\n  containers:\n  - image: \"quay.io/a/b:1\n      \"\n",
    "kind: Pod\nspec:\n  containers:\n  - image: quay.io/a/b:1\n      continued\n",
    "kind: Pod\nspec:\n  containers:\n  - image:\n      quay.io/a/b:1\n",
    "kind: Pod\nspec:\n  containers:\n  - image: >-\n      quay.io/a/b:1\n  - image: |\n      quay.io/c/d:2\n",
    "kind: Pod\nspec:\n  containers:\n  - image: &i quay.io/a/b:1\n  - image: *i\n  - image: !!str quay.io/c/d:1\n",
    "kind: Pod\nspec:\n  containers:\n  - {image: nginx:1, name: a}\n  - [image, nginx]\n  - image: [nginx:1]\n",
    "kind: Pod\nspec:\n  containers: [\n    {image: nginx:1}\n  ]\n",
    "kind: Pod\nspec:\n  containers:\n  -   image: nginx:1\n      name: a\n  -\n    image: redis:7\n",
    "kind: Pod\nspec:\n    containers:\n      - image: nginx:1\n        name: a\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n   name: odd indentation\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n  image: sibling of the list\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n    image: quay.io/dup/licate:2\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1: colon\n",
    "kind: Pod\nspec:\n  containers:\n  - image: \"{{ .Values.image }}\"\n  - image: auto\n  - image: Nginx:Latest\n  - image: ''\n",
    "kind: Pod\nspec:\n  containers:\n  - image: \"[fd00::1]:5000/a/b:1\"\n",
    "? kind\n: Pod\nspec:\n  containers:\n  - image: nginx:1\n",
    "%YAML 1.1\n---\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n",
    "  kind: Pod\n  spec:\n    containers:\n    - image: nginx:1\n",
    // `image` as a key inside ConfigMap text, env values and args flags
    "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  casc.yaml: |\n    # image: quay.io/old/agent:0\n    clouds:\n    - templates:\n      - image: \"docker.io/ci/agent:3\"\n        note: ghcr.io/ci/plugins/p:1\n  runner.toml: |\n    [runners]\n      image = \"alpine:3.20\"\n  start.sh: |\n    exec agent --sidecar-image=quay.io/ci/side:2 --v=3\n  list: |\n    15=ghcr.io/db/e15:1\n  whole: quay.io/a/b:1\n  folded: >\n    image: quay.io/f/g:1\n    more text\n  kept: |+\n    image: quay.io/k/k:1\n\n  stripped: |-\n    image: quay.io/s/s:1\n",
    "kind: ConfigMap\ndata:\n  two: |\n    a=quay.io/a/b:1 --x-image=quay.io/c/d:2\n",
    "kind: ConfigMap\ndata:\n  deep: |\n      image: quay.io/a/b:1\n     \n      next: x\n  empty: |\n  after: quay.io/e/f:1\n",
    "kind: ConfigMap\ndata:\n  lead: |\n\n\n    image: quay.io/a/b:1\n  lead2: |\n      \n    image: quay.io/a/b:1\n",
    "kind: ConfigMap\ndata:\n  scanner.repository: mirror.gcr.io/x/scan\n  scanner.tag: '0.5'\n  host: redis.default.svc:6379\n",
    "kind: Secret\nstringData:\n  agent: quay.io/a/agent:2\ndata:\n  x: cXVheS5pby9hL2I6MQ==\n",
    "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: quay.io/op/op:1\n        env:\n        - name: RELATED_IMAGE_DB\n          value: quay.io/op/db:2\n        - {name: OPERATOR_IMAGE_NAME, value: \"quay.io/op/op:1\"}\n        - name: ENGINES\n          value: |\n            15=ghcr.io/db/e15:1\n            16=ghcr.io/db/e16:1\n        - name: EMPTY\n          value:\n        args:\n        - --config-reloader-image=quay.io/p/r:v0.75.0\n        - --sidecar-image\n        - ghcr.io/x/y:3\n        - \"--prometheus-config-reloader=quay.io/org/app:v1\"\n        command: [--image, 'quay.io/c/c:1']\n",
    "kind: ClusterPolicy\nspec:\n  driver: {repository: nvcr.example/org, image: drv, version: '5'}\n  mon:\n    registry: docker.io\n    repository: nginx\n    tag: '1'\n    digest: null\n",
    // documents the reader must leave alone, and errors
    "kind: Pod\nspec: [\n",
    "kind: Pod\nspec: [{image: nginx}\n",
    "hello world\n",
    "- a\n- b\n",
    "a: 1\n",
    "kind: Service\n  image: indentation\n",
    "kind: Pod\nmetadata:\n  name: café\n  annotations: {über: \"ñ\"}\nspec: {containers: [{name: é, image: \"quay.io/ü/x:1\"}, {image: quay.io/a/b:2}]}\n",
    "kind: Pod\nmetadata:\n  name: x\u{85}y\nspec:\n  containers:\n  - image: nginx:1\n",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1",
    "kind: ConfigMap\ndata:\n  a: |\n    image: quay.io/a/b:1",
    "kind: Pod\nspec:\n  containers:\n  - image: nginx:1\n  -\n  - image:\n",
];

#[test]
fn the_fast_reader_changes_nothing_on_the_yaml_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml-cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut read = 0;
    for file in files.iter().filter(|f| f.file_name().is_some_and(|n| n != "bless")) {
        let bytes = std::fs::read(file).unwrap();
        read += assert_same(&file.display().to_string(), &bytes).0;
    }
    assert!(files.len() > 30, "the yaml cases are missing");
    assert!(read > 0, "the fast reader read none of the yaml cases");
}

#[test]
fn the_fast_reader_changes_nothing_on_real_renders_of_every_fixture() {
    let (mut read, mut total) = (0, 0);
    for chart in fixture_charts() {
        let rendered = stream(&engine::render(&chart, &serde_json::json!({})));
        let (r, t) = assert_same(&chart.display().to_string(), rendered.as_bytes());
        read += r;
        total += t;
    }
    // Most of Helm's output is the block YAML the fast reader is for.
    assert!(read * 2 > total, "the fast reader read only {read} of {total} documents");
}

#[test]
fn the_fast_reader_reads_every_document_of_a_bench_like_stream_and_changes_nothing() {
    let input = bench_like(25);
    let (read, total) = assert_same("bench-like", input.as_bytes());
    assert_eq!(read, total, "a bench-like document went to the full reader");
    assert!(rewrite::rewrite(input.as_bytes(), &to_mirror).unwrap().rewrites.len() > 100);
}

#[test]
fn the_fast_reader_changes_nothing_on_adversarial_documents() {
    let mut read = 0;
    for (i, case) in ADVERSARIAL.iter().enumerate() {
        read += assert_same(&format!("adversarial case {i}"), case.as_bytes()).0;
        // And each after another document, so numbering and carried `# Source:` lines count.
        let joined = format!("# Source: x/y.yaml\n---\nkind: Service\nmetadata: {{name: s}}\n---\n{case}");
        assert_same(&format!("adversarial case {i} second"), joined.as_bytes());
    }
    assert!(read > ADVERSARIAL.len() / 3, "the fast reader read only {read} adversarial documents");
}

/// Small edits at every line of every hand-written document: each mutant is read the same way by
/// both readers (most are declined by the fast reader or refused by both, which is the point).
#[test]
fn the_fast_reader_changes_nothing_on_mutated_documents() {
    let edits: &[&dyn Fn(&str) -> String] = &[
        &|l| format!(" {l}"),
        &|l| l.strip_prefix(' ').unwrap_or(l).to_string(),
        &|l| format!("{l} # c"),
        &|l| format!("{l}\t"),
        &|l| l.replacen(' ', "\t", 1),
        &|l| format!("{l}\r"),
        &|l| l.replacen(": ", ": \"", 1),
        &|l| l.replacen(": ", ": '", 1),
        &|l| l.replacen(": ", ":", 1),
        &|l| l.replacen(": ", ": |\n", 1),
        &|l| l.replacen(": ", ": >-\n ", 1),
        &|l| l.replacen("- ", "- - ", 1),
        &|l| l.replacen("- ", "-\n", 1),
        &|l| l.replacen('{', "{\n", 1),
        &|l| l.replacen(", ", ",", 1),
        &|l| l.replacen(']', ",]", 1),
        &|l| l.replacen(": ", ": &a ", 1),
        &|l| format!("{l}\n"),
        &|_| String::new(),
        &|l| format!("{l}\n---"),
        &|l| format!("{l}\n..."),
        &|l| format!("{l}:"),
        &|l| l.replacen('#', "", 1),
        &|l| l.replacen('"', "", 1),
        &|l| l.replacen('|', "|2", 1),
        &|l| l.replacen('|', "|+", 1),
    ];
    let bench = bench_like(2);
    let mut documents: Vec<&str> = ADVERSARIAL.to_vec();
    documents.extend(bench.split_inclusive("---\n"));
    let mut mutants = 0;
    for (d, document) in documents.iter().enumerate() {
        let lines: Vec<&str> = document.split('\n').collect();
        for i in 0..lines.len() {
            for (e, edit) in edits.iter().enumerate() {
                let mut changed = lines.clone();
                let edited = edit(lines[i]);
                if edited == lines[i] {
                    continue;
                }
                changed[i] = &edited;
                assert_same(&format!("document {d} line {i} edit {e}"), changed.join("\n").as_bytes());
                mutants += 1;
            }
        }
    }
    assert!(mutants > 1000, "{mutants}");
}
