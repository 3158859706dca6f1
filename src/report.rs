//! The one writer: data goes to stdout (or a file, written atomically), everything meant for people
//! goes to stderr. Nothing else in the crate prints.

use std::io::{self, Write};
use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::error::{Context, Error, Result};

/// Writes data to stdout in one piece. A closed pipe (`helm-retarget scan x | head`) is not an error:
/// the reader has what it wanted.
pub fn data(bytes: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::coded(Code::OutputUnwritable, e.to_string()).at("stdout"))
        }
        _ => Ok(()),
    }
}

/// Copies a finished result (a spooled post-render) to stdout; a closed pipe is not an error.
pub fn copy_to_stdout(reader: &mut dyn io::Read) -> Result<()> {
    let mut out = io::stdout().lock();
    match io::copy(reader, &mut out).and_then(|_| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::coded(Code::OutputUnwritable, e.to_string()).at("stdout"))
        }
        _ => Ok(()),
    }
}

/// People-facing text on stderr, as is (tables, diffs, summaries). A closed or failing stderr
/// is ignored, never a panic (`eprintln!` panics there): the data and the exit code still
/// carry the result.
pub fn note(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    if !text.is_empty() && !text.ends_with('\n') {
        let _ = err.write_all(b"\n");
    }
}

/// A warning: the result is written, a part of it needs a person's eye.
pub fn warning(warning: &Diagnostic) {
    note(&render(
        Severity::Warning,
        Some(warning.code),
        &warning.location,
        &warning.message,
        None,
        warning.hint.as_deref(),
    ));
}

/// An error: the command did not produce (all of) its result.
pub fn error(error: &Error) {
    note(&render(
        Severity::Error,
        Some(error.code),
        &error.location,
        &error.message,
        error.line,
        error.hint.as_deref(),
    ));
}

/// The one shape of every warning and error a person reads:
///
/// ```text
/// warning[HR005]: chart: templates/x.yaml: fails to render with the overlay (...)
///   = hint: check that template with the overlay before installing, ...
/// ```
///
/// The place's own hint wins over the code's; an error not classified yet has no code.
pub fn render(
    severity: Severity,
    code: Option<Code>,
    location: &[String],
    message: &str,
    line: Option<usize>,
    hint: Option<&str>,
) -> String {
    let mut out = match code {
        Some(code) => format!("{severity}[{code}]: "),
        None => format!("{severity}: "),
    };
    for place in location {
        out.push_str(place);
        out.push_str(": ");
    }
    out.push_str(message);
    if let Some(line) = line {
        out.push_str(&format!(" (line {line})"));
    }
    out.push('\n');
    if let Some(hint) = hint.or(code.map(Code::hint)) {
        out.push_str(&format!("  = hint: {hint}\n"));
    }
    out
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// failed run never leaves a half-written file behind and readers never see one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes, false)
}

/// Like `write_atomically`, for a script: the file appears executable, never half-written.
pub fn write_script_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes, true)
}

fn write_file(path: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // `-o /dev/stdout`, a named pipe, a device: renaming over it would replace it (as root, even
    // /dev/null), so such targets are written in place.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return std::fs::write(path, bytes).context(Code::OutputUnwritable, path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let place = path.display();
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .context(Code::OutputUnwritable, format!("{place}: cannot create a temporary file beside it"))?;
    tmp.write_all(bytes).and_then(|()| tmp.flush()).context(Code::OutputUnwritable, &place)?;
    // A temporary file is private (0600); the result keeps the mode of the file it replaces, or
    // gets the usual 0644 (0755 for a script), set before the rename so it is never seen without.
    let mut mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    if executable {
        mode |= (mode & 0o444) >> 2;
    }
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .context(Code::OutputUnwritable, &place)?;
    tmp.persist(path).map_err(|e| Error::coded(Code::OutputUnwritable, e.error.to_string()).at(place.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_reads_code_place_message_then_hint() {
        let w = Diagnostic::new(Code::IdleImage, "agent.image holds quay.io/x/agent:1").at("chart");
        assert_eq!(
            render(Severity::Warning, Some(w.code), &w.location, &w.message, None, w.hint.as_deref()),
            "warning[HR004]: chart: agent.image holds quay.io/x/agent:1\n  = hint: pass values that turn it on (-f) to \
             list it\n"
        );
    }

    #[test]
    fn an_error_keeps_its_own_hint_and_line_and_an_unclassified_one_has_no_code() {
        let e = Error::coded(Code::MirroredListInvalid, "not a reference").at("list.txt").line(3).hint("fix it");
        assert_eq!(
            render(Severity::Error, Some(e.code), &e.location, &e.message, e.line, e.hint.as_deref()),
            "error[HR036]: list.txt: not a reference (line 3)\n  = hint: fix it\n"
        );
        assert_eq!(
            render(Severity::Error, None, &["file".to_string()], "cannot read", None, None),
            "error: file: cannot read\n"
        );
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overlay.yaml");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_target_that_is_not_a_regular_file_is_written_in_place_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::read(fifo).unwrap()
        });
        write_atomically(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(!std::fs::metadata(&fifo).unwrap().is_file(), "the pipe is still a pipe");
    }

    #[test]
    fn atomic_write_into_a_missing_directory_fails_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/overlay.yaml");
        let err = write_atomically(&path, b"x").unwrap_err();
        assert!(err.to_string().contains("overlay.yaml"), "{err}");
        assert!(!path.exists());
    }
}
