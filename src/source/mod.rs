//! Chart inputs into files in memory: a `.tgz` (from a file or stdin) or a chart directory, read
//! with the safety checks and `.helmignore` rules Helm applies. This file holds Helm's size limits,
//! the input dispatch and what both readers share; `archive` reads a `.tgz`, `dir` a directory.

mod archive;
mod dir;
mod ignore;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::diagnostic::Code;
use crate::error::Error;
pub use archive::{read_archive, read_nested_archive};
pub use dir::read_dir;

/// Helm's own limits (pkg/chart/loader/archive): a chart Helm would refuse is refused here too.
const MAX_CHART_BYTES: u64 = 100 * 1024 * 1024;
const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// The decompressed stream also carries tar headers and padding; allow for them, then stop
/// inflating so a gzip bomb ends early instead of filling memory.
const MAX_STREAM_BYTES: u64 = MAX_CHART_BYTES + 16 * 1024 * 1024;

/// Files named on the command line (`-f` values, `--mapping`, `--check`, `--template`,
/// `--mirrored`) are read whole, so they are refused past this size, before they are read.
pub const MAX_INPUT_FILE_BYTES: u64 = 10 * 1024 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// What may still be inflated while one chart loads: every file of the chart and of every
/// subchart archive nested in it, at any depth, counts against one total (Helm's 100 MiB chart
/// limit), so an archive of archives cannot multiply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateBudget {
    left: u64,
}

impl InflateBudget {
    /// The budget of one chart: Helm's chart limit, less what its top-level files already hold.
    pub fn for_chart(files: &ChartFiles) -> Self {
        let used: u64 = files.files.values().map(|f| f.len() as u64).sum();
        InflateBudget { left: MAX_CHART_BYTES.saturating_sub(used) }
    }

    fn full() -> Self {
        InflateBudget { left: MAX_CHART_BYTES }
    }
}

/// Bytes as UTF-8 text, or an error naming `file` and the line and column of the first byte that
/// is not UTF-8: Helm (go-yaml) refuses such files too, and replacing the byte with U+FFFD would
/// silently change a value.
pub fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        Error::coded(
            Code::YamlInvalid,
            format!(
            "invalid UTF-8: byte 0x{:02X} at column {column} is not part of a UTF-8 character",
            bytes[e.valid_up_to()]
        ),
        )
        .at(file)
        .line(line)
        .hint("Helm refuses the file too (`invalid leading UTF-8 octet`); save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)")
    })
}

/// Reads a file named on the command line, refusing one larger than `MAX_INPUT_FILE_BYTES`
/// before reading it (and a pipe or device once it has sent more). `what` names it for messages
/// ("values file"); errors are located at the path. (`-` is stdin to the command line, which
/// reads it with [`read_input_stream`].)
pub fn read_input_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    let place = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| cannot_read(what, &place, &e))?;
    let meta = file.metadata().map_err(|e| cannot_read(what, &place, &e))?;
    if meta.is_dir() {
        return Err(Error::coded(Code::InputUnreadable, format!("the {what} is a directory")).at(place));
    }
    if meta.is_file() && meta.len() > MAX_INPUT_FILE_BYTES {
        return Err(input_too_large(what, &place));
    }
    read_input_stream(file, &place, what)
}

/// Reads an input from a stream (stdin) as [`read_input_file`] reads a file, within the same
/// limit; `place` names it in messages (`stdin`).
pub fn read_input_stream(reader: impl Read, place: &str, what: &str) -> Result<Vec<u8>, Error> {
    read_capped(reader, MAX_INPUT_FILE_BYTES)
        .map_err(|e| cannot_read(what, place, &e))?
        .ok_or_else(|| input_too_large(what, place))
}

fn cannot_read(what: &str, place: &str, e: &std::io::Error) -> Error {
    Error::coded(Code::InputUnreadable, format!("cannot read the {what}: {e}")).at(place)
}

fn input_too_large(what: &str, place: &str) -> Error {
    Error::coded(
        Code::InputTooLarge,
        format!(
            "the {what} is larger than the {} MiB limit for files given on the command line",
            MAX_INPUT_FILE_BYTES >> 20
        ),
    )
    .at(place)
    .hint("check that this is the file you meant")
}

/// Reads up to `limit` bytes; `None` when there is more.
fn read_capped(mut reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    (&mut reader).take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

fn archive_too_large(place: &str) -> Error {
    Error::coded(
        Code::InputTooLarge,
        format!("the chart archive is larger than Helm's limit of {} MiB (inflated)", MAX_CHART_BYTES >> 20),
    )
    .at(place)
    .hint("Helm refuses charts this large; check that this is the chart you meant")
}

/// A chart's files, keyed by path relative to the chart root ("Chart.yaml", "templates/x.yaml",
/// "charts/sub-1.0.0.tgz"), plus a display name for messages ("wordpress-1.2.3.tgz", "./charts/app").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFiles {
    pub name: String,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Reads a chart archive from a stream (a .tgz on stdin); `place` names it in messages.
pub fn read_archive_stream(reader: impl Read, place: &str) -> Result<ChartFiles, Error> {
    // A gzip stream is never much larger than what it inflates to, so reading stops at the
    // inflated limit.
    let bytes = read_capped(reader, MAX_STREAM_BYTES)
        .map_err(|e| Error::coded(Code::InputUnreadable, format!("cannot read the chart: {e}")).at(place))?
        .ok_or_else(|| archive_too_large(place))?;
    read_archive(&bytes, place)
}

/// Reads a chart at a path: a .tgz/.tar.gz file, or a chart directory.
pub fn read(path: &Path) -> Result<ChartFiles, Error> {
    let arg = path.display().to_string();
    // An archive larger than the inflated limit is refused before it is read into memory.
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::coded(Code::InputUnreadable, format!("cannot read the chart: {e}")).at(&arg).hint(
            "pass a chart directory, a .tgz file, or `-` for a .tgz on stdin (to use a chart from \
             a repository, `helm pull REPO/CHART` it first)",
        )
    })?;
    if meta.is_dir() {
        return read_dir(path);
    }
    if meta.len() > MAX_STREAM_BYTES {
        return Err(archive_too_large(&arg));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| Error::coded(Code::InputUnreadable, format!("cannot read the chart: {e}")).at(&arg))?;
    let bytes = read_capped(file, MAX_STREAM_BYTES)
        .map_err(|e| Error::coded(Code::InputUnreadable, format!("cannot read the chart: {e}")).at(&arg))?
        .ok_or_else(|| archive_too_large(&arg))?;
    if !bytes.starts_with(b"\x1f\x8b") && (arg.ends_with(".yaml") || arg.ends_with(".yml")) {
        return Err(Error::coded(Code::NotAChart, "this is a YAML file, but a chart was expected")
            .at(&arg)
            .hint("pass the chart (a directory or .tgz) here, and values files with -f"));
    }
    let name = path.file_name().map_or(arg.clone(), |n| n.to_string_lossy().into_owned());
    read_archive(&bytes, &name)
}

fn require_chart_yaml(files: &ChartFiles) -> Result<(), Error> {
    if files.files.contains_key("Chart.yaml") {
        return Ok(());
    }
    let mut found: Vec<&str> = files.files.keys().map(|k| k.split('/').next().unwrap_or(k)).collect();
    found.dedup();
    let shown: Vec<&str> = found.iter().take(8).copied().collect();
    let more = if found.len() > shown.len() { ", ..." } else { "" };
    let contents =
        if found.is_empty() { "it is empty".to_string() } else { format!("found: {}{more}", shown.join(", ")) };
    Err(Error::coded(
        Code::ChartYamlMissing,
        format!("not a Helm chart: there is no Chart.yaml at its root ({contents})"),
    )
    .at(files.name.clone())
    .hint("point at the directory that holds Chart.yaml, or at a packaged chart .tgz"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// One tar entry for test archives: raw path bytes (unchecked, so tests can build hostile
    /// archives), type, data, and a link target.
    pub(crate) struct Entry<'a> {
        pub path: &'a str,
        pub kind: tar::EntryType,
        pub data: &'a [u8],
    }

    pub(crate) fn file<'a>(path: &'a str, data: &'a str) -> Entry<'a> {
        Entry { path, kind: tar::EntryType::Regular, data: data.as_bytes() }
    }

    pub(crate) fn tgz(entries: &[Entry]) -> Vec<u8> {
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            for e in entries {
                let mut header = tar::Header::new_gnu();
                let name = &mut header.as_old_mut().name;
                name[..e.path.len()].copy_from_slice(e.path.as_bytes());
                header.set_entry_type(e.kind);
                header.set_size(e.data.len() as u64);
                header.set_mode(0o644);
                if matches!(e.kind, tar::EntryType::Symlink | tar::EntryType::Link) {
                    header.set_link_name("../../etc/passwd").unwrap();
                }
                header.set_cksum();
                builder.append(&header, e.data).unwrap();
            }
            builder.finish().unwrap();
        }
        gzip(&tar_bytes)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    pub(crate) const CHART: &str = "apiVersion: v2\nname: app\nversion: 1.0.0\n";

    #[test]
    fn invalid_utf8_names_line_and_column() {
        assert_eq!(utf8(b"a: 1\n", "values.yaml").unwrap(), "a: 1\n");
        let err = utf8(b"a: 1\nb: \xc3\xa9\xff\n", "values.yaml").unwrap_err();
        assert_eq!(err.location, ["values.yaml"]);
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("byte 0xFF at column 5"), "{err}");
        assert!(err.hint.as_deref().unwrap().contains("UTF-8"), "{err}");
    }

    #[test]
    fn input_files_are_refused_past_the_limit_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::File::create(&path).unwrap().set_len(MAX_INPUT_FILE_BYTES + 1).unwrap();
        let err = read_input_file(&path, "values file").unwrap_err();
        assert!(err.message.contains("larger than the 10 MiB limit"), "{err}");
        let err = read_input_file(dir.path(), "values file").unwrap_err();
        assert!(err.message.contains("directory"), "{err}");
        std::fs::write(&path, "a: 1\n").unwrap();
        assert_eq!(read_input_file(&path, "values file").unwrap(), b"a: 1\n");
    }

    #[test]
    fn read_dispatches_on_the_argument() {
        let dir = tempfile::tempdir().unwrap();
        let tgz_path = dir.path().join("app-1.0.0.tgz");
        std::fs::write(&tgz_path, tgz(&[file("app/Chart.yaml", CHART)])).unwrap();
        let files = read(&tgz_path).unwrap();
        assert_eq!(files.name, "app-1.0.0.tgz");
        let values = dir.path().join("values.yaml");
        std::fs::write(&values, "a: 1\n").unwrap();
        let err = read(&values).unwrap_err();
        assert!(err.message.contains("YAML file"), "{err}");
        let err = read(Path::new("/no/such/chart")).unwrap_err();
        assert!(err.hint.as_deref().unwrap_or("").contains("helm pull"), "{err}");
    }
}
