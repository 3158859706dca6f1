//! A small builder for running the helm-retarget binary and asserting exactly what it printed and
//! how it exited, with a readable diff on failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root (fixtures live below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/charts").join(name)
}

/// One run of the binary and what it must print, checked by `run`: exit 0, stdout as it comes,
/// and an empty stderr unless the test says what stderr holds, so a warning nobody expected fails
/// the test (as just's `tests/test.rs` does).
#[derive(Debug)]
pub struct Run {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    dir: Option<PathBuf>,
    env: Vec<(String, String)>,
    status: i32,
    stdout: Option<String>,
    stderr: Stderr,
}

/// What stderr must hold.
#[derive(Debug)]
enum Stderr {
    /// Exactly this text (by default: nothing).
    Exact(String),
    /// People-facing text (tables, diffs, summaries) holding each needle, and among warnings and
    /// errors only those of the expected codes (none may lack a code).
    Notes { contains: Vec<String>, codes: Vec<String> },
}

/// What a run produced.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn helm_retarget(args: &[&str]) -> Run {
    Run {
        args: args.iter().map(std::string::ToString::to_string).collect(),
        stdin: None,
        dir: None,
        env: Vec::new(),
        status: 0,
        stdout: None,
        stderr: Stderr::Exact(String::new()),
    }
}

impl Run {
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self
    }

    pub fn args<S: AsRef<std::ffi::OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The exit status expected (default 0).
    pub fn status(mut self, status: i32) -> Self {
        self.status = status;
        self
    }

    /// Exactly this on stdout.
    pub fn stdout(mut self, expected: &str) -> Self {
        self.stdout = Some(expected.to_string());
        self
    }

    /// Exactly this on stderr.
    pub fn stderr(mut self, expected: &str) -> Self {
        self.stderr = Stderr::Exact(expected.to_string());
        self
    }

    /// People-facing notes on stderr (tables, diffs, summaries), but no warning or error.
    pub fn stderr_notes(mut self) -> Self {
        if let Stderr::Exact(_) = self.stderr {
            self.stderr = Stderr::Notes { contains: Vec::new(), codes: Vec::new() };
        }
        self
    }

    /// stderr holds `needle` (among notes and expected diagnostics).
    pub fn stderr_contains(self, needle: &str) -> Self {
        let mut run = self.stderr_notes();
        if let Stderr::Notes { contains, .. } = &mut run.stderr {
            contains.push(needle.to_string());
        }
        run
    }

    /// stderr carries a warning or error of this code (`HR001`); codes not named fail the run.
    /// For a fixture whose ConfigMap text names an image that neither the overlay nor the
    /// post-renderer moves (overlay exit 3, relocate refused: HR070): accept it with
    /// `--allow-incomplete` and expect the HR003 warning naming it. Other charts run as they are.
    pub fn accepting_text_images(self, chart: &std::path::Path) -> Self {
        if names_text_images(chart) {
            self.arg("--allow-incomplete").diagnostic("HR003")
        } else {
            self
        }
    }

    /// stderr carries a warning or error of this code (and notes), and no other code.
    pub fn diagnostic(self, code: &str) -> Self {
        let mut run = self.stderr_notes();
        if let Stderr::Notes { codes, .. } = &mut run.stderr {
            codes.push(code.to_string());
        }
        run
    }

    /// stderr carries warnings or errors of each of these codes, and no others.
    pub fn diagnostics(self, codes: &[&str]) -> Self {
        codes.iter().fold(self, |run, code| run.diagnostic(code))
    }

    /// Runs the binary and hands back what it printed, checking nothing: for tests not yet moved
    /// onto the expectations above (each still asserts on the `Output` itself).
    pub fn output(self) -> Output {
        self.spawn()
    }

    /// Runs the binary and checks every expectation, showing both streams when one fails.
    pub fn run(self) -> Output {
        let out = self.spawn();
        let context = format!("helm-retarget {}", self.args.join(" "));
        assert_eq!(
            out.status, self.status,
            "{context}: exit status {} (expected {})\n--- stdout\n{}\n--- stderr\n{}",
            out.status, self.status, out.stdout, out.stderr
        );
        if let Some(expected) = &self.stdout {
            assert_text(&format!("{context}: stdout"), &out.stdout, expected);
        }
        match &self.stderr {
            Stderr::Exact(expected) => assert_text(&format!("{context}: stderr"), &out.stderr, expected),
            Stderr::Notes { contains, codes } => check_notes(&context, &out.stderr, contains, codes),
        }
        check_every_diagnostic_is_coded(&context, &out.stderr);
        out
    }

    fn spawn(&self) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_helm-retarget"));
        cmd.args(&self.args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("FORCE_COLOR")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("start helm-retarget");
        let input = self.stdin.clone().unwrap_or_default();
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait for helm-retarget");
        writer.join().expect("stdin writer");
        Output {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The codes of the warnings and errors on stderr (`warning[HR001]: ...`), in order.
pub fn diagnostic_codes(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("warning[").or_else(|| line.strip_prefix("error[")))
        .filter_map(|rest| rest.split_once("]: ").map(|(code, _)| code.to_string()))
        .collect()
}

fn check_notes(context: &str, stderr: &str, contains: &[String], codes: &[String]) {
    for needle in contains {
        assert!(stderr.contains(needle.as_str()), "{context}: stderr lacks {needle:?}:\n{stderr}");
    }
    let seen = diagnostic_codes(stderr);
    for code in &seen {
        assert!(codes.contains(code), "{context}: unexpected {code} on stderr:\n{stderr}");
    }
    for code in codes {
        assert!(seen.contains(code), "{context}: stderr lacks {code}:\n{stderr}");
    }
}

/// Every warning and error a user sees carries its code (`error[HR046]: ...`): a line in the
/// uncoded shape fails every run, whatever the test expected.
fn check_every_diagnostic_is_coded(context: &str, stderr: &str) {
    for line in stderr.lines() {
        assert!(
            !line.starts_with("error: ") && !line.starts_with("warning: "),
            "{context}: a diagnostic without a code on stderr: {line}\n{stderr}"
        );
    }
}

impl Output {
    /// Asserts the exit status, showing both streams when it differs.
    pub fn status(&self, expected: i32) -> &Self {
        assert_eq!(
            self.status, expected,
            "exit status {} (expected {expected})\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        );
        self
    }

    pub fn stdout_is(&self, expected: &str) -> &Self {
        assert_text("stdout", &self.stdout, expected);
        self
    }

    pub fn stderr_is(&self, expected: &str) -> &Self {
        assert_text("stderr", &self.stderr, expected);
        self
    }

    pub fn stderr_contains(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        self
    }
}

fn assert_text(stream: &str, actual: &str, expected: &str) {
    if actual != expected {
        let diff = similar::TextDiff::from_lines(expected, actual);
        panic!("{stream} differs (- expected, + actual):\n{}", diff.unified_diff().header("expected", "actual"));
    }
}

/// The fixtures whose ConfigMap text names an image nothing moves (a hard-coded sidecar in
/// templated injector text, config text written by the template).
pub fn names_text_images(chart: &std::path::Path) -> bool {
    let name = chart.file_name().unwrap_or_default().to_string_lossy();
    matches!(name.as_ref(), "aspen-mesh" | "config-text-images" | "istio-style-hub")
}
