//! Post-render and verify in constant memory (issue 10): a generated stream of many documents,
//! written through a pipe (never a file on disk), under an address-space limit that a copy of it
//! would exceed.

use std::io::Write;
use std::process::{Command, Stdio};

const DOCUMENT: &[u8] = b"---\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: quay.io/org/app:1\n    env: [{name: X, value: some text that fills the stream}]\n";

/// Runs the binary under `prlimit --as` (MiB) with `megabytes` of stream on stdin; (status, stdout length).
fn run_limited(args: &[&str], megabytes: usize, limit_mib: usize) -> (i32, usize) {
    let mut child = Command::new("prlimit")
        // In bytes: prlimit 2.38 crashes on suffixes such as `200M`.
        .arg(format!("--as={}", limit_mib << 20))
        .arg(env!("CARGO_BIN_EXE_helm-retarget"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("prlimit (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let block: Vec<u8> = DOCUMENT.iter().copied().cycle().take(DOCUMENT.len() * 4096).collect();
        let mut written = 0;
        while written < megabytes << 20 {
            if stdin.write_all(&block).is_err() {
                break;
            }
            written += block.len();
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut sink = CountingSink(0);
    std::io::copy(&mut stdout, &mut sink).unwrap();
    writer.join().unwrap();
    let status = child.wait().unwrap().code().unwrap_or(-1);
    (status, sink.0)
}

struct CountingSink(usize);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn issue_10_post_render_and_verify_stream_in_bounded_memory() {
    // 12 MiB of stream under a 40 MiB address-space limit (mimalloc's arena and the binary take
    // most of it): post-render and verify run through it, while the same run keeping every
    // rewrite (as `--report` must) aborts under that limit, so the limit is one a copy of the
    // stream's rewrites exceeds.
    let limit = 40;
    let (status, out) = run_limited(&["post-render", "--registry", "registry.example.org"], 12, limit);
    assert_eq!(status, 0);
    assert!(out > 12 << 20, "wrote {out} bytes");
    let (status, out) = run_limited(&["verify", "--registry", "registry.example.org", "-"], 12, limit);
    assert_eq!(status, 1, "every image is still at quay.io");
    assert!(out > 0);
    let report = tempfile::tempdir().unwrap();
    let report = report.path().join("report.json");
    let (status, _) = run_limited(
        &["post-render", "--registry", "registry.example.org", "--report", report.to_str().unwrap()],
        12,
        limit,
    );
    assert_ne!(status, 0, "keeping every rewrite fits in {limit} MiB too: the limit proves nothing");
}
