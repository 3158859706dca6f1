//! Hostile input: every case runs the binary under `prlimit --as=2 GiB --cpu=30` and a timeout, in a
//! sandbox directory, and checks the exit code, that stdout is empty on failure, the message that
//! names the limit, and that no file appeared anywhere but where the output was asked for.
//! Inputs are generated: bombs stream through pipes, large files are sparse.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address space for one run (the binary reserves a 256 MiB stack for deep input).
const MEMORY_LIMIT: u64 = 2 << 30;
/// CPU time for one run (debug build). CPU time, not wall time, is what bounds the work: on two
/// cores shared with the rest of the suite, wall time measures the machine's load.
const CPU_LIMIT_SECONDS: u64 = 30;
/// Wall time for one run: only a hang guard (a run that waits without working uses no CPU).
const WALL_LIMIT_SECONDS: u64 = 120;
const MIRROR: &str = "mirror.example.com";

/// A directory the run may write in: everything in it is listed after the run.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().expect("sandbox") }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A chart directory `rel` with a Chart.yaml named `name` and the given files.
    fn chart(&self, rel: &str, name: &[u8], files: &[(&str, &[u8])]) -> PathBuf {
        let mut chart_yaml = b"apiVersion: v2\nname: \"".to_vec();
        chart_yaml.extend_from_slice(name);
        chart_yaml.extend_from_slice(b"\"\nversion: 1.0.0\n");
        self.write(&format!("{rel}/Chart.yaml"), &chart_yaml);
        for (path, bytes) in files {
            self.write(&format!("{rel}/{path}"), bytes);
        }
        self.path(rel)
    }

    /// Every file and directory under the sandbox, relative, sorted.
    fn listing(&self) -> Vec<String> {
        let mut out: Vec<String> = walk(self.dir.path())
            .into_iter()
            .map(|p| p.strip_prefix(self.dir.path()).unwrap().display().to_string())
            .collect();
        out.sort();
        out
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.clone());
        if path.symlink_metadata().unwrap().is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

/// What to feed on stdin.
enum Input {
    None,
    Bytes(Vec<u8>),
    /// `count` copies of `chunk`, written as the binary reads them (a stream no file holds).
    Stream {
        chunk: Vec<u8>,
        count: usize,
    },
}

struct Outcome {
    status: i32,
    stdout: Vec<u8>,
    stderr: String,
    /// Files and directories that appeared in the run's directory.
    created: Vec<String>,
}

/// Runs the binary under the memory and time limits, in `dir`.
fn run(dir: &Path, args: &[&str], input: Input) -> Outcome {
    let before = walk(dir);
    let start = Instant::now();
    let mut child = Command::new("prlimit")
        .arg(format!("--as={MEMORY_LIMIT}"))
        .arg(format!("--cpu={CPU_LIMIT_SECONDS}"))
        .args(["--", "timeout", "-s", "KILL", &WALL_LIMIT_SECONDS.to_string()])
        .arg(env!("CARGO_BIN_EXE_helm-retarget"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit and timeout (util-linux, coreutils) run the binary");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // The binary may stop reading early (that is the point): a broken pipe ends the writer.
        match input {
            Input::None => {}
            Input::Bytes(bytes) => {
                let _ = stdin.write_all(&bytes);
            }
            Input::Stream { chunk, count } => {
                for _ in 0..count {
                    if stdin.write_all(&chunk).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(elapsed < Duration::from_secs(WALL_LIMIT_SECONDS), "{args:?} ran {elapsed:?}; stderr: {stderr}");
    // A signal (SIGXCPU past the CPU limit, SIGKILL from the timeout, SIGABRT) leaves no code.
    let status = out.status.code().unwrap_or(-1);
    // 137: killed by the timeout; 152: past the CPU limit; 134/101: an abort or a panic (out of
    // memory, stack overflow).
    assert!(![124, 134, 137, 152, 101, -1].contains(&status), "{args:?} crashed or hung: {status}; stderr: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("memory allocation"), "{args:?}: {stderr}");
    let created = walk(dir).into_iter().filter(|p| !before.contains(p)).map(|p| p.display().to_string()).collect();
    Outcome { status, stdout: out.stdout, stderr, created }
}

impl Outcome {
    /// A refused input: exit 2, nothing on stdout, nothing written, every `needle` in the message.
    fn refused(&self, needles: &[&str]) -> &Self {
        assert!(self.created.is_empty(), "a refused input writes no file: {:?}", self.created);
        self.errored(needles)
    }

    /// Exit 2 after errors (other results may have been written), nothing on stdout, every
    /// `needle` in the message.
    fn errored(&self, needles: &[&str]) -> &Self {
        assert_eq!(self.status, 2, "stderr: {}", self.stderr);
        assert!(
            self.stdout.is_empty(),
            "a failure writes nothing to stdout: {:?}",
            String::from_utf8_lossy(&self.stdout)
        );
        for needle in needles {
            assert!(self.stderr.contains(needle), "missing {needle:?} in: {}", self.stderr);
        }
        self
    }

    fn succeeded(&self) -> &Self {
        assert_eq!(self.status, 0, "stderr: {}", self.stderr);
        self
    }
}

const DEPLOYMENT: &[u8] = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Chart.Name }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.image }}\n";

fn app(sandbox: &Sandbox, rel: &str, name: &str) -> PathBuf {
    sandbox.chart(
        rel,
        name.as_bytes(),
        &[("values.yaml", b"image: nginx:1.27\n"), ("templates/deploy.yaml", DEPLOYMENT)],
    )
}

/// A gzipped tar of `entries` (path, bytes) with raw, unchecked paths.
fn tgz(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, kind, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link) {
            header.set_link_name("../../../etc/passwd").unwrap();
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: app\nversion: 1.0.0\n";
const REG: tar::EntryType = tar::EntryType::Regular;

#[test]
fn chart_names_cannot_write_outside_the_output_directory_and_one_bad_chart_does_not_stop_the_batch() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path("out")).unwrap();
    let escape = sandbox.path("escaped").display().to_string();
    app(&sandbox, "a-good", "good");
    sandbox.chart("b-climb", b"../escaped", &[("values.yaml", b"image: nginx:1\n")]);
    sandbox.chart("c-absolute", escape.as_bytes(), &[("values.yaml", b"image: nginx:1\n")]);
    sandbox.chart("d-dots", b"..", &[("values.yaml", b"image: nginx:1\n")]);
    app(&sandbox, "e-later", "later");
    app(&sandbox, "f-blocked", "blocked");
    app(&sandbox, "g-twin", "good");
    // A directory where an overlay should go: that write fails, the batch goes on.
    std::fs::create_dir_all(sandbox.path("out/blocked.yaml/x")).unwrap();
    let args = ["overlay", "--registry", MIRROR, "-o", "out", "a-good", "b-climb", "c-absolute", "d-dots", "f-blocked"];
    let out = run(sandbox.dir.path(), &[&args[..], &["g-twin", "e-later"]].concat(), Input::None);
    out.errored(&[
        "chart name `../escaped` is invalid",
        &format!("chart name `{escape}` is invalid"),
        "chart name `..` is not allowed",
        "out/blocked.yaml",
        "another chart of this batch is also named `good`",
    ]);
    let listing = sandbox.listing();
    assert!(!listing.iter().any(|p| p.starts_with("escaped")), "{listing:?}");
    let written: Vec<&String> = listing.iter().filter(|p| p.starts_with("out/") && p.ends_with(".yaml")).collect();
    assert_eq!(written, ["out/blocked.yaml", "out/good.yaml", "out/later.yaml"], "{listing:?}");
    let later = std::fs::read_to_string(sandbox.path("out/later.yaml")).unwrap();
    assert!(later.contains(MIRROR), "{later}");
}

#[test]
fn invalid_utf8_is_an_error_naming_file_and_line_never_a_replacement() {
    let sandbox = Sandbox::new();
    let values: &[u8] = b"first: 1\nsecond: 2\nimage: \"nginx\xff:1\"\n";
    app(&sandbox, "values", "values");
    sandbox.write("values/values.yaml", values);
    run(sandbox.dir.path(), &["scan", "values"], Input::None)
        .refused(&["values: values.yaml: invalid UTF-8: byte 0xFF at column 14", "(line 3)"]);
    app(&sandbox, "name", "name");
    sandbox.write("name/Chart.yaml", b"apiVersion: v2\nname: na\xc3me\nversion: 1.0.0\n");
    run(sandbox.dir.path(), &["scan", "name"], Input::None).refused(&["name: Chart.yaml: invalid UTF-8", "(line 2)"]);
    app(&sandbox, "template", "template");
    sandbox.write("template/templates/cm.yaml", b"kind: ConfigMap\n# caf\xe9\n");
    run(sandbox.dir.path(), &["scan", "template"], Input::None)
        .refused(&["template: templates/cm.yaml: invalid UTF-8", "(line 2)"]);
    app(&sandbox, "ok", "ok");
    sandbox.write("user.yaml", values);
    run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "-f", "user.yaml", "ok"], Input::None)
        .refused(&["user.yaml: invalid UTF-8", "(line 3)"]);
}

#[test]
fn chart_yaml_that_helm_refuses_is_refused() {
    let sandbox = Sandbox::new();
    app(&sandbox, "v3", "v3");
    sandbox.write("v3/Chart.yaml", b"apiVersion: v3\nname: v3\nversion: 1.0.0\n");
    run(sandbox.dir.path(), &["scan", "v3"], Input::None).refused(&["chart apiVersion `v3` is not supported"]);
}

#[test]
fn nesting_deeper_than_go_yaml_allows_is_refused_naming_the_limit() {
    let sandbox = Sandbox::new();
    // 100,000 levels of `- - - x`: once a stack overflow.
    let mut deep = b"image: nginx:1\nlist:\n  ".to_vec();
    deep.extend(b"- ".repeat(100_000));
    deep.extend(b"x\n");
    app(&sandbox, "block", "block");
    sandbox.write("block/values.yaml", &deep);
    run(sandbox.dir.path(), &["scan", "block"], Input::None)
        .refused(&["block: values.yaml: nesting deeper than 10,000 levels", "(line 3)"]);
    // Flow nesting stops at the same limit, as in go-yaml.
    let mut flow = b"image: nginx:1\nlist: ".to_vec();
    flow.extend(b"[".repeat(100_000));
    app(&sandbox, "flow", "flow");
    sandbox.write("flow/values.yaml", &flow);
    run(sandbox.dir.path(), &["scan", "flow"], Input::None)
        .refused(&["flow: values.yaml: nesting deeper than 10,000 levels", "(line 2)"]);
    // The same depth in a -f file.
    sandbox.write("deep.yaml", &deep);
    app(&sandbox, "good", "good");
    run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "-f", "deep.yaml", "good"], Input::None)
        .refused(&["deep.yaml: nesting deeper than 10,000 levels"]);
}

#[test]
fn values_at_go_yaml_s_depth_limit_still_work() {
    let sandbox = Sandbox::new();
    let mut deep = b"image: nginx:1\nlist:\n  ".to_vec();
    deep.extend(b"- ".repeat(9_999));
    deep.extend(b"x\n");
    app(&sandbox, "deep", "deep");
    sandbox.write("deep/values.yaml", &deep);
    let out = run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "deep"], Input::None);
    out.succeeded();
    let overlay = String::from_utf8_lossy(&out.stdout);
    assert!(overlay.contains("image: mirror.example.com/library/nginx:1\n"), "{overlay}");
}

#[test]
fn deep_values_in_many_subcharts_need_memory_linear_in_their_size() {
    // Ten subcharts of 2,000-level values: paths cloned per level needed ~2.4 GB (over the limit).
    let sandbox = Sandbox::new();
    let mut deep = b"image: busybox:1\nlist:\n  ".to_vec();
    deep.extend(b"- ".repeat(1_999));
    deep.extend(b"x\n");
    app(&sandbox, "top", "top");
    for i in 0..10 {
        let name = format!("sub{i}");
        sandbox.chart(
            &format!("top/charts/{name}"),
            name.as_bytes(),
            &[("values.yaml", &deep), ("templates/deploy.yaml", DEPLOYMENT)],
        );
    }
    let out = run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "top"], Input::None);
    out.succeeded();
    let overlay = String::from_utf8_lossy(&out.stdout);
    assert_eq!(overlay.matches("image: mirror.example.com/library/busybox:1\n").count(), 10, "{overlay}");
}

#[test]
fn nested_archives_share_one_inflate_budget() {
    // 30 subchart archives of 4 MiB each: every one is within Helm's 100 MiB, together they are not.
    let zeros = vec![0u8; 4 << 20];
    let inner =
        tgz(&[("sub/Chart.yaml", REG, b"apiVersion: v2\nname: sub\nversion: 1.0.0\n"), ("sub/blob", REG, &zeros)]);
    let names: Vec<String> = (0..30).map(|i| format!("app/charts/sub{i}-1.0.0.tgz")).collect();
    let mut entries = vec![("app/Chart.yaml", REG, CHART_YAML)];
    entries.extend(names.iter().map(|n| (n.as_str(), REG, inner.as_slice())));
    let bomb = tgz(&entries);
    assert!(bomb.len() < 1 << 20, "the test archive is small: {}", bomb.len());
    let sandbox = Sandbox::new();
    run(sandbox.dir.path(), &["scan", "-"], Input::Bytes(bomb)).refused(&["Helm's limit of 100 MiB", "archive bomb"]);
}

#[test]
fn a_gzip_bomb_streamed_on_stdin_stops_at_the_limit() {
    // A tar header claiming a 1 GiB file, then zeros: gzip members of 1 MiB of zeros each are
    // not one stream, so the bomb is one deflate stream of the header and 200 MiB of zeros,
    // compressed by gzip(1) in a pipe.
    let mut header = tar::Header::new_gnu();
    header.set_path("app/big").unwrap();
    header.set_size(1 << 30);
    header.set_cksum();
    let sandbox = Sandbox::new();
    let header_file = sandbox.write("header", header.as_bytes());
    let bomb = Command::new("sh")
        .arg("-c")
        .arg(format!("{{ cat {}; head -c 209715200 /dev/zero; }} | gzip -1", header_file.display()))
        .output()
        .unwrap();
    assert!(bomb.status.success() && bomb.stdout.len() < 2 << 20, "{}", bomb.stdout.len());
    std::fs::remove_file(header_file).unwrap();
    run(sandbox.dir.path(), &["scan", "-"], Input::Bytes(bomb.stdout)).refused(&["5 MiB per file"]);
    // An endless stdin that is not a chart at all is refused at the size limit, not read whole.
    let mut gzip_magic = b"\x1f\x8b".to_vec();
    gzip_magic.extend(vec![0u8; 1 << 20]);
    run(sandbox.dir.path(), &["scan", "-"], Input::Stream { chunk: gzip_magic, count: 300 })
        .refused(&["larger than Helm's limit of 100 MiB"]);
}

#[test]
fn billion_laughs_stops_with_an_error() {
    let mut text = String::from("image: nginx:1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let sandbox = Sandbox::new();
    app(&sandbox, "laughs", "laughs");
    sandbox.write("laughs/values.yaml", text.as_bytes());
    run(sandbox.dir.path(), &["scan", "laughs"], Input::None).refused(&["too many nodes (more than 1,000,000)"]);
}

#[test]
fn values_files_and_chart_files_are_size_checked_before_they_are_read() {
    let sandbox = Sandbox::new();
    app(&sandbox, "app", "app");
    // A sparse 200 MB -f file (once 1.8 GB of memory).
    let big = std::fs::File::create(sandbox.path("big.yaml")).unwrap();
    big.set_len(200 << 20).unwrap();
    run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "-f", "big.yaml", "app"], Input::None)
        .refused(&["big.yaml: the values file is larger than the 10 MiB limit"]);
    // The same through a pipe: refused once 10 MiB have come.
    let mut chunk = b"k: ".to_vec();
    chunk.extend(vec![b'x'; 1 << 20]);
    run(
        sandbox.dir.path(),
        &["overlay", "--registry", MIRROR, "-f", "/dev/stdin", "app"],
        Input::Stream { chunk, count: 200 },
    )
    .refused(&["the values file is larger than the 10 MiB limit"]);
    // --mapping and --check files too.
    run(sandbox.dir.path(), &["overlay", "--mapping", "big.yaml", "app"], Input::None)
        .refused(&["big.yaml: the mapping file is larger than the 10 MiB limit"]);
    run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "--check", "big.yaml", "app"], Input::None)
        .refused(&["big.yaml: the overlay to check is larger than the 10 MiB limit"]);
    // A sparse 1.5 GB file in a chart directory (once read whole: 1.54 GB of memory).
    std::fs::create_dir_all(sandbox.path("app/files")).unwrap();
    let sparse = std::fs::File::create(sandbox.path("app/files/huge.bin")).unwrap();
    sparse.set_len(1536 << 20).unwrap();
    run(sandbox.dir.path(), &["scan", "app"], Input::None)
        .refused(&["files/huge.bin is larger than Helm's limit of 5 MiB per file"]);
}

#[test]
fn a_chart_directory_does_not_follow_symlinks_out_of_itself() {
    let sandbox = Sandbox::new();
    sandbox.write("secret.txt", b"secret\n");
    app(&sandbox, "app", "app");
    std::os::unix::fs::symlink(sandbox.path("secret.txt"), sandbox.path("app/files.txt")).unwrap();
    run(sandbox.dir.path(), &["scan", "app"], Input::None).refused(&["files.txt is a symlink to", "outside the chart"]);
    std::fs::remove_file(sandbox.path("app/files.txt")).unwrap();
    std::fs::create_dir(sandbox.path("outside")).unwrap();
    std::os::unix::fs::symlink(sandbox.path("outside"), sandbox.path("app/templates/up")).unwrap();
    run(sandbox.dir.path(), &["scan", "app"], Input::None).refused(&["outside the chart"]);
}

#[test]
fn hostile_archive_entries_are_refused() {
    let sandbox = Sandbox::new();
    let cases: [(&str, tar::EntryType, &str); 6] = [
        ("app/../../escaped.yaml", REG, "climbs out of the chart"),
        ("/tmp/escaped.yaml", REG, "absolute paths are not allowed"),
        ("app/templates/link.yaml", tar::EntryType::Symlink, "links are not allowed"),
        ("app/templates/hard.yaml", tar::EntryType::Link, "links are not allowed"),
        ("app/dev", tar::EntryType::Char, "device files and pipes are not allowed"),
        ("app/fifo", tar::EntryType::Fifo, "device files and pipes are not allowed"),
    ];
    for (path, kind, message) in cases {
        let archive = tgz(&[("app/Chart.yaml", REG, CHART_YAML), (path, kind, b"kind: Secret\n")]);
        run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "-"], Input::Bytes(archive)).refused(&[message]);
    }
    let good = tgz(&[("app/Chart.yaml", REG, CHART_YAML), ("app/values.yaml", REG, &vec![b'#'; 100_000])]);
    run(sandbox.dir.path(), &["scan", "-"], Input::Bytes(good[..good.len() / 2].to_vec()))
        .refused(&["corrupt or truncated archive"]);
    assert_eq!(sandbox.listing(), Vec::<String>::new(), "nothing is unpacked to disk");
}

#[test]
fn output_into_a_path_under_a_file_fails_and_writes_nothing() {
    let sandbox = Sandbox::new();
    app(&sandbox, "app", "app");
    app(&sandbox, "other", "other");
    sandbox.write("file", b"a file\n");
    run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "-o", "file/overlay.yaml", "app"], Input::None)
        .refused(&["file/overlay.yaml"]);
    run(sandbox.dir.path(), &["overlay", "--registry", MIRROR, "-o", "file", "app", "other"], Input::None)
        .refused(&["file/app.yaml", "file/other.yaml"]);
    assert_eq!(std::fs::read(sandbox.path("file")).unwrap(), b"a file\n");
    let listing = sandbox.listing();
    assert!(listing.iter().all(|p| p == "file" || p.starts_with("app") || p.starts_with("other")), "{listing:?}");
}

#[test]
fn a_broken_stderr_or_stdout_is_not_a_panic() {
    let sandbox = Sandbox::new();
    app(&sandbox, "app", "app");
    for (args, expected) in [(&["scan", "no-such-chart"][..], 2), (&["overlay", "--registry", MIRROR, "app"][..], 0)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_helm-retarget"))
            .args(args)
            .current_dir(sandbox.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(expected), "{args:?} with stderr closed");
    }
    // A reader that stops early (`| head`) is success.
    let mut child = Command::new(env!("CARGO_BIN_EXE_helm-retarget"))
        .args(["overlay", "--registry", MIRROR, "app"])
        .current_dir(sandbox.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0), "stdout closed");
}

#[test]
fn sigkill_during_a_run_leaves_no_output() {
    let sandbox = Sandbox::new();
    // Slow enough to be killed while it works: deep values.
    let mut deep = b"image: nginx:1\nlist:\n  ".to_vec();
    deep.extend(b"- ".repeat(9_999));
    deep.extend(b"x\n");
    app(&sandbox, "app", "app");
    sandbox.write("app/values.yaml", &deep);
    let mut child = Command::new(env!("CARGO_BIN_EXE_helm-retarget"))
        .args(["overlay", "--registry", MIRROR, "-o", "overlay.yaml", "app"])
        .current_dir(sandbox.dir.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!sandbox.path("overlay.yaml").exists(), "{:?}", sandbox.listing());
    // post-render killed mid-stream: nothing reached stdout.
    let mut child = Command::new(env!("CARGO_BIN_EXE_helm-retarget"))
        .args(["post-render", "--registry", MIRROR])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let pod = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx:1\n---\n";
    for _ in 0..1000 {
        stdin.write_all(pod).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let mut stdout = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    child.wait().unwrap();
    assert!(stdout.is_empty(), "a killed post-render wrote {} bytes", stdout.len());
}

#[test]
fn endless_stdin_as_values_or_a_set_file_stops_at_the_command_line_file_limit() {
    let sandbox = Sandbox::new();
    app(&sandbox, "app", "app");
    let line = b"# a values comment that never ends\n".repeat(1 << 14).clone();
    run(sandbox.dir.path(), &["scan", "app", "-f", "-"], Input::Stream { chunk: line.clone(), count: 64 })
        .refused(&["stdin", "larger than the 10 MiB limit"]);
    run(
        sandbox.dir.path(),
        &["overlay", "app", "--registry", "reg.example", "--set-file", "a=-"],
        Input::Stream { chunk: line, count: 64 },
    )
    .refused(&["larger than the 10 MiB limit"]);
}
