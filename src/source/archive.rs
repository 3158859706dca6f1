//! A chart `.tgz` in memory: one top-level directory stripped, paths that escape, links and
//! devices refused, inflation stopped at Helm's limits (one budget for nested subchart archives).

use std::collections::BTreeMap;
use std::io::Read;

use tar::EntryType as T;

use super::{
    require_chart_yaml, ChartFiles, InflateBudget, MAX_CHART_BYTES, MAX_FILE_BYTES, MAX_STREAM_BYTES, UTF8_BOM,
};
use crate::diagnostic::Code;
use crate::error::Error;

/// Reads a gzipped tar in memory. Helm archives hold `<chart>/...`: that single top-level directory
/// is stripped. Entries outside it, links and device files are refused, and so is an archive that
/// inflates beyond Helm's limits.
pub fn read_archive(bytes: &[u8], name: &str) -> Result<ChartFiles, Error> {
    read_nested_archive(bytes, name, &mut InflateBudget::full())
}

/// `read_archive` for a subchart archive inside a chart: what it inflates to is taken from
/// `budget`, shared by every archive of the chart.
pub fn read_nested_archive(bytes: &[u8], name: &str, budget: &mut InflateBudget) -> Result<ChartFiles, Error> {
    let fail = |code: Code, message: String| Error::coded(code, message).at(name);
    if !bytes.starts_with(b"\x1f\x8b") {
        return Err(fail(
            Code::NotAChart,
            "not a gzipped archive (a chart .tgz starts with gzip's magic bytes)".into(),
        )
        .hint("pass a chart packaged by `helm package`, or the chart's directory"));
    }
    // Tar headers and padding come on top of the files; allow for them (as MAX_STREAM_BYTES does).
    let stream_cap = budget.left.saturating_add(MAX_STREAM_BYTES - MAX_CHART_BYTES);
    let stream = CappedReader { inner: flate2::read::GzDecoder::new(bytes), left: stream_cap };
    let mut archive = tar::Archive::new(stream);
    let corrupt = |e: std::io::Error| {
        if e.get_ref().is_some_and(
            <dyn std::error::Error + std::marker::Send + std::marker::Sync + 'static>::is::<StreamTooLarge>,
        ) {
            return fail(
                Code::InputTooLarge,
                format!(
                "the archive inflates past Helm's limit of {} MiB for a chart (counting every subchart archive in it)",
                MAX_CHART_BYTES >> 20
            ),
            )
            .hint("Helm refuses charts this large; an archive that inflates this much may be an archive bomb");
        }
        fail(Code::ChartEntriesInvalid, format!("corrupt or truncated archive: {e}"))
            .hint("download or package the chart again (`helm pull` / `helm package`)")
    };
    let mut files = BTreeMap::new();
    let mut top: Option<String> = None;
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let raw = String::from_utf8(entry.path_bytes().into_owned()).map_err(|_| {
            fail(Code::ChartEntriesInvalid, "an entry's path is not UTF-8".into())
                .hint("repackage the chart with `helm package`")
        })?;
        let kind = entry.header().entry_type();
        let entry_fail = |message: &str| Error::coded(Code::ChartEntriesInvalid, message).at(raw.clone()).at(name);
        match kind {
            T::Directory | T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            T::Regular | T::Continuous => {}
            T::Symlink | T::Link => {
                return Err(entry_fail("links are not allowed in a chart archive")
                    .hint("package the chart with `helm package`, which stores the linked files"))
            }
            T::Char | T::Block | T::Fifo => {
                return Err(entry_fail("device files and pipes are not allowed in a chart archive"))
            }
            other => return Err(entry_fail(&format!("unsupported tar entry type {:?}", other.as_byte() as char))),
        }
        let (first, rest) = split_entry_path(&raw).map_err(|m| entry_fail(&m))?;
        match &top {
            None => top = Some(first.clone()),
            Some(t) if *t != first => {
                return Err(fail(
                    Code::ChartEntriesInvalid,
                    format!("the archive has more than one top-level directory (`{t}` and `{first}`)"),
                )
                .hint("a chart archive holds exactly one directory, named after the chart"))
            }
            Some(_) => {}
        }
        let size = entry.header().size().map_err(corrupt)?;
        if size > MAX_FILE_BYTES {
            return Err(entry_fail(&format!(
                "file is larger than Helm's limit of {} MiB per file",
                MAX_FILE_BYTES >> 20
            ))
            .code(Code::InputTooLarge));
        }
        // At most MAX_FILE_BYTES (checked above), so it fits any usize we build for.
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut entry).take(MAX_FILE_BYTES + 1).read_to_end(&mut data).map_err(corrupt)?;
        total += data.len() as u64;
        if total > budget.left {
            return Err(fail(
                Code::InputTooLarge,
                format!(
                    "the chart's files, with those of every subchart archive in it, add up to more than Helm's \
                 limit of {} MiB",
                    MAX_CHART_BYTES >> 20
                ),
            )
            .hint("Helm refuses charts this large; an archive that inflates this much may be an archive bomb"));
        }
        if let Some(stripped) = data.strip_prefix(UTF8_BOM) {
            data = stripped.to_vec();
        }
        files.insert(rest, data);
    }
    if files.is_empty() {
        return Err(fail(Code::ChartEntriesInvalid, "the archive holds no files".into())
            .hint("package the chart again with `helm package`"));
    }
    budget.left -= total;
    let files = ChartFiles { name: name.to_string(), files };
    require_chart_yaml(&files)?;
    Ok(files)
}

/// Splits `top/rest/of/path` (Windows `\` separators allowed, as Helm allows them), refusing
/// paths that are absolute, climb out with `..`, or sit beside the top-level directory.
fn split_entry_path(raw: &str) -> Result<(String, String), String> {
    let normal = raw.replace('\\', "/");
    if normal.starts_with('/') || is_drive_path(&normal) {
        return Err("absolute paths are not allowed in a chart archive".into());
    }
    let mut parts = Vec::new();
    for part in normal.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("the path climbs out of the chart with `..`".into()),
            p => parts.push(p),
        }
    }
    if parts.len() < 2 {
        return Err("the file is outside the chart's top-level directory".into());
    }
    let rest = parts[1..].join("/");
    if is_drive_path(&rest) {
        return Err("absolute paths are not allowed in a chart archive".into());
    }
    Ok((parts[0].to_string(), rest))
}

fn is_drive_path(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/'
}

#[derive(Debug)]
struct StreamTooLarge;

impl std::fmt::Display for StreamTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the decompressed archive is too large")
    }
}

impl std::error::Error for StreamTooLarge {}

/// Counts decompressed bytes and fails once past the cap, so inflation stops early.
struct CappedReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(StreamTooLarge));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tests::{file, tgz, Entry, CHART};
    use std::io::Write;

    #[test]
    fn archive_strips_the_top_directory_and_the_bom() {
        let bytes = tgz(&[
            file("app/Chart.yaml", CHART),
            file("app/values.yaml", "\u{feff}a: 1\n"),
            file("app/templates/deploy.yaml", "kind: Deployment\n"),
            Entry { path: "app/templates", kind: tar::EntryType::Directory, data: b"" },
        ]);
        let files = read_archive(&bytes, "app-1.0.0.tgz").unwrap();
        assert_eq!(files.name, "app-1.0.0.tgz");
        let keys: Vec<&str> = files.files.keys().map(String::as_str).collect();
        assert_eq!(keys, ["Chart.yaml", "templates/deploy.yaml", "values.yaml"]);
        assert_eq!(files.files["values.yaml"], b"a: 1\n");
    }

    #[test]
    fn archive_refuses_paths_that_escape() {
        for evil in ["app/../../etc/cron.d/x", "/etc/passwd", "app/templates/../../x", "app\\..\\..\\x", "app/C:/x"] {
            let bytes = tgz(&[file("app/Chart.yaml", CHART), file(evil, "x")]);
            let err = read_archive(&bytes, "evil.tgz").unwrap_err();
            assert_eq!(err.location.first().map(String::as_str), Some("evil.tgz"), "{evil}: {err}");
            assert_eq!(err.location.get(1).map(String::as_str), Some(evil), "{err}");
        }
    }

    #[test]
    fn archive_refuses_links_and_devices() {
        for kind in [tar::EntryType::Symlink, tar::EntryType::Link, tar::EntryType::Char, tar::EntryType::Fifo] {
            let bytes = tgz(&[file("app/Chart.yaml", CHART), Entry { path: "app/templates/x.yaml", kind, data: b"" }]);
            let err = read_archive(&bytes, "links.tgz").unwrap_err();
            assert!(err.to_string().contains("app/templates/x.yaml"), "{kind:?}: {err}");
        }
    }

    #[test]
    fn archive_with_two_top_directories_or_loose_files_is_refused() {
        let two = tgz(&[file("app/Chart.yaml", CHART), file("other/Chart.yaml", CHART)]);
        let err = read_archive(&two, "two.tgz").unwrap_err();
        assert!(err.message.contains("more than one top-level directory"), "{err}");
        let loose = tgz(&[file("Chart.yaml", CHART)]);
        let err = read_archive(&loose, "loose.tgz").unwrap_err();
        assert!(err.message.contains("outside the chart's top-level directory"), "{err}");
    }

    #[test]
    fn corrupt_truncated_empty_and_non_gzip_inputs_say_so() {
        let good = tgz(&[file("app/Chart.yaml", CHART), file("app/values.yaml", &"x".repeat(5000))]);
        let truncated = &good[..good.len() / 2];
        let err = read_archive(truncated, "cut.tgz").unwrap_err();
        assert!(err.to_string().starts_with("cut.tgz: corrupt or truncated archive"), "{err}");
        assert!(err.hint.is_some());

        let err = read_archive(&tgz(&[]), "empty.tgz").unwrap_err();
        assert!(err.message.contains("no files"), "{err}");

        let err = read_archive(b"apiVersion: v2\n", "Chart.yaml").unwrap_err();
        assert!(err.message.contains("not a gzipped archive"), "{err}");

        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xFF;
        assert!(read_archive(&flipped, "flip.tgz").is_err());
    }

    #[test]
    fn archive_without_chart_yaml_lists_what_it_found() {
        let bytes = tgz(&[file("app/values.yaml", "a: 1\n"), file("app/templates/x.yaml", "")]);
        let err = read_archive(&bytes, "nochart.tgz").unwrap_err();
        assert!(err.message.contains("no Chart.yaml"), "{err}");
        assert!(err.message.contains("templates") && err.message.contains("values.yaml"), "{err}");
    }

    #[test]
    fn gzip_bomb_stops_at_the_limit() {
        // A tar header claiming one large file, followed by zeros: tiny compressed, huge inflated.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut header = tar::Header::new_gnu();
        header.set_path("app/big").unwrap();
        header.set_size(MAX_STREAM_BYTES * 2);
        header.set_cksum();
        enc.write_all(header.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(MAX_STREAM_BYTES >> 20) + 8 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 1 << 20, "the test bomb should be small: {}", bomb.len());
        let err = read_archive(&bomb, "bomb.tgz").unwrap_err();
        assert!(err.message.contains("MiB"), "{err}");
    }

    #[test]
    fn nested_archives_draw_on_one_budget() {
        let inner = tgz(&[file("sub/Chart.yaml", CHART), file("sub/blob", &"x".repeat(4 << 20))]);
        let mut budget = InflateBudget { left: 10 << 20 };
        read_nested_archive(&inner, "sub.tgz", &mut budget).unwrap();
        read_nested_archive(&inner, "sub.tgz", &mut budget).unwrap();
        let err = read_nested_archive(&inner, "sub.tgz", &mut budget).unwrap_err();
        assert!(err.message.contains("100 MiB"), "{err}");
    }

    #[test]
    fn file_larger_than_helm_allows_is_refused() {
        let big = "x".repeat(usize::try_from(MAX_FILE_BYTES).unwrap() + 1);
        let bytes = tgz(&[file("app/Chart.yaml", CHART), file("app/files/big.bin", &big)]);
        let err = read_archive(&bytes, "big.tgz").unwrap_err();
        assert!(err.to_string().contains("app/files/big.bin"), "{err}");
        assert!(err.message.contains("5 MiB"), "{err}");
    }
}
