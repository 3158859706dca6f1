//! Chart inputs into files in memory: a `.tgz` (from a file or stdin) or a chart directory, read
//! with the safety checks and `.helmignore` rules Helm applies.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::error::Error;

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
        Error::new(format!(
            "invalid UTF-8: byte 0x{:02X} at column {column} is not part of a UTF-8 character",
            bytes[e.valid_up_to()]
        ))
        .at(file)
        .line(line)
        .hint("Helm refuses the file too (`invalid leading UTF-8 octet`); save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)")
    })
}

/// Reads a file named on the command line (`-`: stdin), refusing one larger than
/// `MAX_INPUT_FILE_BYTES` before reading it (and a pipe or device once it has sent more). `what`
/// names it for messages ("values file"); errors are located at the path, or at `stdin`.
pub fn read_input_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    let place = if path == Path::new("-") { "stdin".to_string() } else { path.display().to_string() };
    let cannot = |e: std::io::Error| Error::new(format!("cannot read the {what}: {e}")).at(place.clone());
    let too_large = || {
        Error::new(format!(
            "the {what} is larger than the {} MiB limit for files given on the command line",
            MAX_INPUT_FILE_BYTES >> 20
        ))
        .at(place.clone())
        .hint("check that this is the file you meant")
    };
    let bytes = if path == Path::new("-") {
        read_capped(std::io::stdin().lock(), MAX_INPUT_FILE_BYTES).map_err(cannot)?
    } else {
        let file = std::fs::File::open(path).map_err(cannot)?;
        let meta = file.metadata().map_err(cannot)?;
        if meta.is_dir() {
            return Err(Error::new(format!("the {what} is a directory")).at(place));
        }
        if meta.is_file() && meta.len() > MAX_INPUT_FILE_BYTES {
            return Err(too_large());
        }
        read_capped(file, MAX_INPUT_FILE_BYTES).map_err(cannot)?
    };
    bytes.ok_or_else(too_large)
}

/// Reads up to `limit` bytes; `None` when there is more.
fn read_capped(mut reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    (&mut reader).take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

fn archive_too_large(place: &str) -> Error {
    Error::new(format!("the chart archive is larger than Helm's limit of {} MiB (inflated)", MAX_CHART_BYTES >> 20))
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

/// Reads a CHART argument: "-" (a .tgz on stdin), a .tgz/.tar.gz file, or a chart directory.
pub fn read(arg: &str) -> Result<ChartFiles, Error> {
    // A gzip stream is never much larger than what it inflates to, so an archive larger than the
    // inflated limit is refused before it is read into memory.
    if arg == "-" {
        let bytes = read_capped(std::io::stdin().lock(), MAX_STREAM_BYTES)
            .map_err(|e| Error::new(format!("cannot read the chart from stdin: {e}")).at("-"))?
            .ok_or_else(|| archive_too_large("stdin"))?;
        return read_archive(&bytes, "stdin");
    }
    let path = Path::new(arg);
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::new(format!("cannot read the chart: {e}")).at(arg).hint(
            "pass a chart directory, a .tgz file, or `-` for a .tgz on stdin (to use a chart from \
             a repository, `helm pull REPO/CHART` it first)",
        )
    })?;
    if meta.is_dir() {
        return read_dir(path);
    }
    if meta.len() > MAX_STREAM_BYTES {
        return Err(archive_too_large(arg));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::new(format!("cannot read the chart: {e}")).at(arg))?;
    let bytes = read_capped(file, MAX_STREAM_BYTES)
        .map_err(|e| Error::new(format!("cannot read the chart: {e}")).at(arg))?
        .ok_or_else(|| archive_too_large(arg))?;
    if !bytes.starts_with(b"\x1f\x8b") && (arg.ends_with(".yaml") || arg.ends_with(".yml")) {
        return Err(Error::new("this is a YAML file, but a chart was expected")
            .at(arg)
            .hint("pass the chart (a directory or .tgz) here, and values files with -f"));
    }
    let name = path.file_name().map_or(arg.to_string(), |n| n.to_string_lossy().into_owned());
    read_archive(&bytes, &name)
}

/// Reads a gzipped tar in memory. Helm archives hold `<chart>/...`: that single top-level directory
/// is stripped. Entries outside it, links and device files are refused, and so is an archive that
/// inflates beyond Helm's limits.
pub fn read_archive(bytes: &[u8], name: &str) -> Result<ChartFiles, Error> {
    read_nested_archive(bytes, name, &mut InflateBudget::full())
}

/// `read_archive` for a subchart archive inside a chart: what it inflates to is taken from
/// `budget`, shared by every archive of the chart.
pub fn read_nested_archive(bytes: &[u8], name: &str, budget: &mut InflateBudget) -> Result<ChartFiles, Error> {
    let fail = |message: String| Error::new(message).at(name);
    if !bytes.starts_with(b"\x1f\x8b") {
        return Err(fail("not a gzipped archive (a chart .tgz starts with gzip's magic bytes)".into())
            .hint("pass a chart packaged by `helm package`, or the chart's directory"));
    }
    // Tar headers and padding come on top of the files; allow for them (as MAX_STREAM_BYTES does).
    let stream_cap = budget.left.saturating_add(MAX_STREAM_BYTES - MAX_CHART_BYTES);
    let stream = CappedReader { inner: flate2::read::GzDecoder::new(bytes), left: stream_cap };
    let mut archive = tar::Archive::new(stream);
    let corrupt = |e: std::io::Error| {
        if e.get_ref().is_some_and(|inner| inner.is::<StreamTooLarge>()) {
            return fail(format!(
                "the archive inflates past Helm's limit of {} MiB for a chart (counting every subchart archive in it)",
                MAX_CHART_BYTES >> 20
            ))
            .hint("Helm refuses charts this large; an archive that inflates this much may be an archive bomb");
        }
        fail(format!("corrupt or truncated archive: {e}"))
            .hint("download or package the chart again (`helm pull` / `helm package`)")
    };
    let mut files = BTreeMap::new();
    let mut top: Option<String> = None;
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let raw = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| fail("an entry's path is not UTF-8".into()).hint("repackage the chart with `helm package`"))?;
        let kind = entry.header().entry_type();
        let entry_fail = |message: &str| Error::new(message).at(raw.clone()).at(name);
        use tar::EntryType as T;
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
                return Err(fail(format!("the archive has more than one top-level directory (`{t}` and `{first}`)"))
                    .hint("a chart archive holds exactly one directory, named after the chart"))
            }
            Some(_) => {}
        }
        let size = entry.header().size().map_err(corrupt)?;
        if size > MAX_FILE_BYTES {
            return Err(entry_fail(&format!(
                "file is larger than Helm's limit of {} MiB per file",
                MAX_FILE_BYTES >> 20
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry).take(MAX_FILE_BYTES + 1).read_to_end(&mut data).map_err(corrupt)?;
        total += data.len() as u64;
        if total > budget.left {
            return Err(fail(format!(
                "the chart's files, with those of every subchart archive in it, add up to more than Helm's \
                 limit of {} MiB",
                MAX_CHART_BYTES >> 20
            ))
            .hint("Helm refuses charts this large; an archive that inflates this much may be an archive bomb"));
        }
        if let Some(stripped) = data.strip_prefix(UTF8_BOM) {
            data = stripped.to_vec();
        }
        files.insert(rest, data);
    }
    if files.is_empty() {
        return Err(fail("the archive holds no files".into()).hint("package the chart again with `helm package`"));
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

/// Reads a chart directory as Helm does: `.helmignore` rules (plus Helm's default of skipping
/// dot files in `templates/`), `.git` skipped, symlinks followed only while they stay inside it.
pub fn read_dir(dir: &Path) -> Result<ChartFiles, Error> {
    let name = dir.display().to_string();
    let fail = |message: String| Error::new(message).at(name.clone());
    let root = dir.canonicalize().map_err(|e| fail(format!("cannot read the chart directory: {e}")))?;
    let rules = match std::fs::File::open(root.join(".helmignore")) {
        Ok(file) => {
            let bytes =
                read_capped(file, MAX_FILE_BYTES).map_err(|e| fail(format!(".helmignore: {e}")))?.ok_or_else(|| {
                    fail(format!(".helmignore is larger than Helm's limit of {} MiB per file", MAX_FILE_BYTES >> 20))
                })?;
            let text = utf8(&bytes, ".helmignore").map_err(|e| e.at(name.clone()))?;
            IgnoreRules::parse(text)
                .map_err(|(line, m)| fail(m).at(".helmignore").line(line).hint("fix or remove that .helmignore line"))?
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
            Error::new(format!("cannot read the chart directory: {e}")).at(place)
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
                .hint("remove it from the chart or list it in .helmignore"));
        }
        // Sizes are checked before reading (a sparse file can claim gigabytes it would fill memory
        // with), and again while reading, in case the file grows.
        let too_large = || {
            fail(format!("{rel} is larger than Helm's limit of {} MiB per file", MAX_FILE_BYTES >> 20))
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
    Err(Error::new(format!("not a Helm chart: there is no Chart.yaml at its root ({contents})"))
        .at(files.name.clone())
        .hint("point at the directory that holds Chart.yaml, or at a packaged chart .tgz"))
}

/// `.helmignore` rules with Helm's semantics (pkg/ignore): Go `filepath.Match` globs; a rule with
/// no `/` matches the base name, a rule with `/` the whole relative path, a leading `/` anchors it;
/// a trailing `/` matches directories only; `**` is an error. Helm's `!` is not a real negation:
/// a path that does NOT match a `!rule` is ignored. We keep that quirk so the same files load.
#[derive(Debug, Default)]
struct IgnoreRules {
    rules: Vec<IgnoreRule>,
}

#[derive(Debug)]
struct IgnoreRule {
    glob: String,
    negate: bool,
    dir_only: bool,
    whole_path: bool,
}

impl IgnoreRules {
    fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut rules = IgnoreRules::default();
        for (i, line) in text.lines().enumerate() {
            rules.add(line).map_err(|m| (i + 1, m))?;
        }
        Ok(rules)
    }

    fn with_defaults(mut self) -> Self {
        self.add("templates/.?*").expect("Helm's default rule is valid");
        self
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let mut rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(format!("`{rule}`: double-star (**) syntax is not supported by Helm"));
        }
        if glob_match(rule, "abc").is_err() {
            return Err(format!("`{rule}`: the glob pattern is malformed"));
        }
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let dir_only = rule.ends_with('/');
        if dir_only {
            rule = &rule[..rule.len() - 1];
        }
        let (glob, whole_path) = match rule.strip_prefix('/') {
            Some(anchored) => (anchored, true),
            None => (rule, rule.contains('/')),
        };
        self.rules.push(IgnoreRule { glob: glob.to_string(), negate, dir_only, whole_path });
        Ok(())
    }

    fn ignores(&self, path: &str, is_dir: bool) -> bool {
        for rule in &self.rules {
            let subject = if rule.whole_path { path } else { path.rsplit('/').next().unwrap_or(path) };
            let matched = glob_match(&rule.glob, subject).unwrap_or(false);
            if rule.negate {
                if (rule.dir_only && !is_dir) || !matched {
                    return true;
                }
                continue;
            }
            if rule.dir_only && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Match`: `*` and `?` never match `/`; `[...]`/`[^...]` classes with ranges;
/// `\` escapes. `Err` for a malformed pattern.
fn glob_match(pattern: &str, name: &str) -> Result<bool, ()> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> Result<bool, ()> {
    let Some((&c, rest)) = p.split_first() else {
        return Ok(n.is_empty());
    };
    match c {
        '*' => {
            // Validate the rest of the pattern even when the name runs out, as Go does.
            let mut result = glob_at(rest, n)?;
            for i in 0..n.len() {
                if result || n[i] == '/' {
                    break;
                }
                result = glob_at(rest, &n[i + 1..])?;
            }
            Ok(result)
        }
        '?' => match n.split_first() {
            Some((&x, nrest)) if x != '/' => glob_at(rest, nrest),
            _ => {
                check_pattern(rest)?;
                Ok(false)
            }
        },
        '[' => {
            let (matched, after) = class(rest, n.first().copied())?;
            if matched {
                glob_at(after, &n[1..])
            } else {
                check_pattern(after)?;
                Ok(false)
            }
        }
        '\\' => {
            let (&lit, after) = rest.split_first().ok_or(())?;
            if n.first() == Some(&lit) {
                glob_at(after, &n[1..])
            } else {
                check_pattern(after)?;
                Ok(false)
            }
        }
        lit => {
            if n.first() == Some(&lit) {
                glob_at(rest, &n[1..])
            } else {
                check_pattern(rest)?;
                Ok(false)
            }
        }
    }
}

fn check_pattern(p: &[char]) -> Result<(), ()> {
    glob_at(p, &[]).map(|_| ())
}

/// A `[...]` class (after the `[`) against one character; returns the match and what follows `]`.
fn class(p: &[char], c: Option<char>) -> Result<(bool, &[char]), ()> {
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i).ok_or(())?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let (lo, next) = class_char(p, i)?;
        let (hi, next) = if p.get(next) == Some(&'-') && p.get(next + 1) != Some(&']') {
            class_char(p, next + 1)?
        } else {
            (lo, next)
        };
        if let Some(c) = c {
            if lo <= c && c <= hi {
                matched = true;
            }
        }
        i = next;
    }
    let ok = c.is_some_and(|c| c != '/') && matched != negated;
    Ok((ok, &p[i..]))
}

fn class_char(p: &[char], i: usize) -> Result<(char, usize), ()> {
    match p.get(i) {
        Some('\\') => p.get(i + 1).map(|c| (*c, i + 2)).ok_or(()),
        Some('-') | Some(']') | None => Err(()),
        Some(c) => Ok((*c, i + 1)),
    }
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

    const CHART: &str = "apiVersion: v2\nname: app\nversion: 1.0.0\n";

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
    fn invalid_utf8_names_line_and_column() {
        assert_eq!(utf8(b"a: 1\n", "values.yaml").unwrap(), "a: 1\n");
        let err = utf8(b"a: 1\nb: \xc3\xa9\xff\n", "values.yaml").unwrap_err();
        assert_eq!(err.location, ["values.yaml"]);
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("byte 0xFF at column 5"), "{err}");
        assert!(err.hint.as_deref().unwrap().contains("UTF-8"), "{err}");
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
    fn a_sparse_file_in_a_directory_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Chart.yaml", CHART);
        std::fs::File::create(dir.path().join("huge.bin")).unwrap().set_len(1 << 30).unwrap();
        let err = read_dir(dir.path()).unwrap_err();
        assert!(err.message.contains("huge.bin is larger than Helm's limit of 5 MiB"), "{err}");
    }

    #[test]
    fn file_larger_than_helm_allows_is_refused() {
        let big = "x".repeat(MAX_FILE_BYTES as usize + 1);
        let bytes = tgz(&[file("app/Chart.yaml", CHART), file("app/files/big.bin", &big)]);
        let err = read_archive(&bytes, "big.tgz").unwrap_err();
        assert!(err.to_string().contains("app/files/big.bin"), "{err}");
        assert!(err.message.contains("5 MiB"), "{err}");
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

    #[test]
    fn helmignore_negation_keeps_helm_quirk() {
        let rules = IgnoreRules::parse("!keep.txt\n").unwrap();
        assert!(rules.ignores("other.txt", false), "Helm ignores what a `!rule` does not match");
        assert!(!rules.ignores("keep.txt", false));
        let err = IgnoreRules::parse("a\nfoo/**/bar\n").unwrap_err();
        assert_eq!(err.0, 2);
    }

    #[test]
    fn go_glob_semantics() {
        assert_eq!(glob_match("*.yaml", "a.yaml"), Ok(true));
        assert_eq!(glob_match("*.yaml", "dir/a.yaml"), Ok(false));
        assert_eq!(glob_match("a?c", "abc"), Ok(true));
        assert_eq!(glob_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(glob_match("[^a-c]x", "bx"), Ok(false));
        assert_eq!(glob_match("\\*", "*"), Ok(true));
        assert_eq!(glob_match("[", "a"), Err(()));
        assert_eq!(glob_match("templates/.?*", "templates/.x"), Ok(true));
        assert_eq!(glob_match("templates/.?*", "templates/."), Ok(false));
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

    #[test]
    fn read_dispatches_on_the_argument() {
        let dir = tempfile::tempdir().unwrap();
        let tgz_path = dir.path().join("app-1.0.0.tgz");
        std::fs::write(&tgz_path, tgz(&[file("app/Chart.yaml", CHART)])).unwrap();
        let files = read(tgz_path.to_str().unwrap()).unwrap();
        assert_eq!(files.name, "app-1.0.0.tgz");
        let values = dir.path().join("values.yaml");
        std::fs::write(&values, "a: 1\n").unwrap();
        let err = read(values.to_str().unwrap()).unwrap_err();
        assert!(err.message.contains("YAML file"), "{err}");
        let err = read("/no/such/chart").unwrap_err();
        assert!(err.hint.as_deref().unwrap_or("").contains("helm pull"), "{err}");
    }
}
