//! A chart directory read as Helm reads one: `.helmignore` rules, `.git` skipped, symlinks followed
//! only while they stay inside, Helm's size limits checked before and while reading.

use std::collections::BTreeMap;
use std::path::Path;

use super::ignore::IgnoreRules;
use super::{read_capped, require_chart_yaml, utf8, ChartFiles, MAX_CHART_BYTES, MAX_FILE_BYTES, UTF8_BOM};
use crate::diagnostic::Code;
use crate::error::Error;

/// Reads a chart directory as Helm does: `.helmignore` rules (plus Helm's default of skipping
/// dot files in `templates/`), `.git` skipped, symlinks followed only while they stay inside it.
pub fn read_dir(dir: &Path) -> Result<ChartFiles, Error> {
    let name = dir.display().to_string();
    let fail = |message: String| Error::coded(Code::InputUnreadable, message).at(name.clone());
    let root = dir.canonicalize().map_err(|e| fail(format!("cannot read the chart directory: {e}")))?;
    let rules = match std::fs::File::open(root.join(".helmignore")) {
        Ok(file) => {
            let bytes =
                read_capped(file, MAX_FILE_BYTES).map_err(|e| fail(format!(".helmignore: {e}")))?.ok_or_else(|| {
                    fail(format!(".helmignore is larger than Helm's limit of {} MiB per file", MAX_FILE_BYTES >> 20))
                        .code(Code::InputTooLarge)
                })?;
            let text = utf8(&bytes, ".helmignore").map_err(|e| e.at(name.clone()))?;
            IgnoreRules::parse(text).map_err(|(line, m)| {
                fail(m)
                    .code(Code::ChartEntriesInvalid)
                    .at(".helmignore")
                    .line(line)
                    .hint("fix or remove that .helmignore line")
            })?
        }
        Err(_) => IgnoreRules::default(),
    }
    .with_defaults();
    let mut total: u64 = 0;
    let mut files = BTreeMap::new();
    let mut walk = walkdir::WalkDir::new(&root).follow_links(true).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| {
            let place = e.path().map_or(name.clone(), |p| p.display().to_string());
            Error::coded(Code::InputUnreadable, format!("cannot read the chart directory: {e}")).at(place)
        })?;
        let rel = relative(&root, entry.path());
        if rel.is_empty() {
            continue;
        }
        let is_dir = entry.file_type().is_dir();
        if entry.path_is_symlink() {
            let target = entry.path().canonicalize().map_err(|e| fail(format!("{rel}: {e}")))?;
            if !target.starts_with(&root) {
                return Err(fail(format!("{rel} is a symlink to {}, outside the chart directory", target.display()))
                    .code(Code::ChartEntriesInvalid)
                    .hint("copy the file into the chart, or package the chart with `helm package`"));
            }
        }
        if is_dir {
            if entry.file_name() == ".git" || rules.ignores(&rel, true) {
                walk.skip_current_dir();
            }
            continue;
        }
        if rules.ignores(&rel, false) {
            continue;
        }
        if !entry.file_type().is_file() {
            return Err(fail(format!("{rel} is not a regular file (a device, socket or pipe)"))
                .code(Code::ChartEntriesInvalid)
                .hint("remove it from the chart or list it in .helmignore"));
        }
        // Sizes are checked before reading (a sparse file can claim gigabytes it would fill memory
        // with), and again while reading, in case the file grows.
        let too_large = || {
            fail(format!("{rel} is larger than Helm's limit of {} MiB per file", MAX_FILE_BYTES >> 20))
                .code(Code::InputTooLarge)
                .hint("list it in .helmignore if the chart does not need it")
        };
        let size = entry.metadata().map_err(|e| fail(format!("{rel}: {e}")))?.len();
        if size > MAX_FILE_BYTES {
            return Err(too_large());
        }
        let file = std::fs::File::open(entry.path()).map_err(|e| fail(format!("{rel}: {e}")))?;
        let mut data =
            read_capped(file, MAX_FILE_BYTES).map_err(|e| fail(format!("{rel}: {e}")))?.ok_or_else(too_large)?;
        total += data.len() as u64;
        if total > MAX_CHART_BYTES {
            return Err(fail(format!(
                "the chart's files add up to more than Helm's limit of {} MiB for a chart",
                MAX_CHART_BYTES >> 20
            ))
            .code(Code::InputTooLarge)
            .hint("list large files the chart does not need in .helmignore"));
        }
        if data.starts_with(UTF8_BOM) {
            data.drain(..UTF8_BOM.len());
        }
        files.insert(rel, data);
    }
    let files = ChartFiles { name, files };
    require_chart_yaml(&files)?;
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::tests::CHART;

    #[test]
    fn a_sparse_file_in_a_directory_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Chart.yaml", CHART);
        std::fs::File::create(dir.path().join("huge.bin")).unwrap().set_len(1 << 30).unwrap();
        let err = read_dir(dir.path()).unwrap_err();
        assert!(err.message.contains("huge.bin is larger than Helm's limit of 5 MiB"), "{err}");
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn directory_honours_helmignore_and_skips_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Chart.yaml", CHART);
        write(root, ".helmignore", "# comment\n*.bak\n/docs/\nci/\ntemplates/skip-*.yaml\n");
        write(root, "values.yaml", "a: 1\n");
        write(root, "values.yaml.bak", "old\n");
        write(root, "templates/deploy.yaml", "kind: Deployment\n");
        write(root, "templates/skip-me.yaml", "kind: Secret\n");
        write(root, "templates/.hidden.yaml", "kind: Secret\n");
        write(root, "templates/nested/x.bak", "old\n");
        write(root, "docs/readme.md", "docs\n");
        write(root, "ci/values.yaml", "ci\n");
        write(root, ".git/config", "[core]\n");
        write(root, "files/conf.txt", "conf\n");
        let files = read_dir(root).unwrap();
        let keys: Vec<&str> = files.files.keys().map(String::as_str).collect();
        assert_eq!(keys, [".helmignore", "Chart.yaml", "files/conf.txt", "templates/deploy.yaml", "values.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn directory_symlinks_inside_are_followed_and_outside_refused() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.txt", "s\n");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Chart.yaml", CHART);
        write(root, "files/real.txt", "r\n");
        std::os::unix::fs::symlink(root.join("files/real.txt"), root.join("link.txt")).unwrap();
        let files = read_dir(root).unwrap();
        assert_eq!(files.files["link.txt"], b"r\n");
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        let err = read_dir(root).unwrap_err();
        assert!(err.message.contains("leak.txt") && err.message.contains("outside"), "{err}");
    }

    #[test]
    fn directory_without_chart_yaml_says_what_it_found() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "values.yaml", "a: 1\n");
        write(dir.path(), "mychart/Chart.yaml", CHART);
        let err = read_dir(dir.path()).unwrap_err();
        assert!(err.message.contains("mychart") && err.message.contains("values.yaml"), "{err}");
    }
}
