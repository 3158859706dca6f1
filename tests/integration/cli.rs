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

/// One run of the binary.
#[derive(Debug, Default)]
pub struct Run {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    dir: Option<PathBuf>,
}

/// What a run produced.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn helm_retarget(args: &[&str]) -> Run {
    Run { args: args.iter().map(|s| s.to_string()).collect(), ..Run::default() }
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

    pub fn run(self) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_helm-retarget"));
        cmd.args(&self.args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("FORCE_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().expect("start helm-retarget");
        let input = self.stdin.unwrap_or_default();
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
