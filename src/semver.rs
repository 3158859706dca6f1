//! Semantic versions and constraints as Masterminds/semver v3 reads them: sprig's `semverCompare`
//! (`>=1.21-0`, `^1.2`, `~1.2`, `1.2 - 1.4`, `,` and `||`) and Chart.yaml's dependency version ranges.

use std::cmp::Ordering;

use std::sync::OnceLock;

use regex::Regex;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Version {
    /// The text it was parsed from, as `Original` returns it.
    pub(crate) original: String,
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
    pub(crate) pre: String,
    pub(crate) meta: String,
}

/// Compiled once per process: charts compare versions in every render (`semverCompare` on the
/// Kubernetes version) and for every dependency, and compiling costs more than matching.
fn version_regex() -> &'static Regex {
    static REGEX: OnceLock<Regex> = OnceLock::new();
    REGEX.get_or_init(|| {
        Regex::new(
            r"^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?(?:\+([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?$",
        )
        .expect("static regex")
    })
}

impl Version {
    pub(crate) fn parse(text: &str) -> Result<Version, String> {
        let caps = version_regex().captures(text.trim()).ok_or_else(|| "invalid semantic version".to_string())?;
        let num = |i: usize| -> Result<u64, String> {
            caps.get(i).map_or(Ok(0), |m| m.as_str().parse().map_err(|_| "invalid semantic version".to_string()))
        };
        Ok(Version {
            original: text.to_string(),
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre: caps.get(4).map_or(String::new(), |m| m.as_str().to_string()),
            meta: caps.get(5).map_or(String::new(), |m| m.as_str().to_string()),
        })
    }

    pub(crate) fn compare(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

/// Semver precedence of prerelease tags: none beats any; numeric parts below alphanumeric ones.
fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in pa.iter().zip(&pb) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len())
}

struct Constraint {
    op: String,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    fn parse(op: &str, text: &str) -> Result<Constraint, String> {
        let bad = || format!("improper constraint: {op}{text}");
        let (core, tail) = match text.find(['-', '+']) {
            Some(i) => (&text[..i], &text[i..]),
            None => (text, ""),
        };
        let core = core.trim_start_matches('v');
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad());
        }
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let nums: Vec<&str> = if is_x(parts[0]) {
            dirty = true;
            vec!["0", "0", "0"]
        } else if parts.len() < 2 || is_x(parts[1]) {
            dirty = true;
            minor_dirty = true;
            vec![parts[0], "0", "0"]
        } else if parts.len() < 3 || is_x(parts[2]) {
            dirty = true;
            patch_dirty = true;
            vec![parts[0], parts[1], "0"]
        } else {
            parts.clone()
        };
        let tail = if dirty && tail.is_empty() { "" } else { tail };
        let con = Version::parse(&format!("{}{}", nums.join("."), tail)).map_err(|_| bad())?;
        Ok(Constraint { op: op.to_string(), con, dirty, minor_dirty, patch_dirty })
    }

    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        // A prerelease only satisfies constraints that themselves name a prerelease.
        let pre_blocked = !v.pre.is_empty() && c.pre.is_empty();
        match self.op.as_str() {
            "" | "=" => !pre_blocked && if self.dirty { self.tilde(v) } else { v.compare(c) == Ordering::Equal },
            "!=" => {
                if self.dirty {
                    if pre_blocked {
                        return false;
                    }
                    if c.major != v.major {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if c.minor != v.minor {
                        return true;
                    }
                    if self.patch_dirty {
                        return false;
                    }
                    return c.patch != v.patch;
                }
                v.compare(c) != Ordering::Equal
            }
            ">" => {
                if pre_blocked {
                    return false;
                }
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            "<" => !pre_blocked && v.compare(c) == Ordering::Less,
            ">=" | "=>" => !pre_blocked && v.compare(c) != Ordering::Less,
            "<=" | "=<" => {
                if pre_blocked {
                    return false;
                }
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            "~" | "~>" => !pre_blocked && self.tilde(v),
            "^" => {
                if pre_blocked || v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                v.minor == 0 && v.patch == c.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// Helm's `IsCompatibleRange`: whether a chart's version satisfies a dependency's version range. A
/// version or range that does not parse satisfies nothing, and neither does an empty range (Helm
/// v4.1.4 and v3.17.2 both drop a dependency declared without `version`).
pub(crate) fn in_range(constraint: &str, version: &str) -> bool {
    compare(constraint, version).unwrap_or(false)
}

/// sprig's semverCompare: does `version` satisfy `constraint`?
pub(crate) fn compare(constraint: &str, version: &str) -> Result<bool, String> {
    static HYPHEN: OnceLock<Regex> = OnceLock::new();
    static SINGLE: OnceLock<Regex> = OnceLock::new();
    let v = Version::parse(version).map_err(|_| "invalid semantic version".to_string())?;
    let hyphen = HYPHEN.get_or_init(|| Regex::new(r"^\s*(\S+)\s+-\s+(\S+)\s*$").expect("static regex"));
    let single = SINGLE.get_or_init(|| {
        Regex::new(r"(!=|>=|=>|<=|=<|~>|>|<|=|~|\^)?\s*(v?[0-9xX*][0-9A-Za-z.\-+*]*)").expect("static regex")
    });
    for alternative in constraint.split("||") {
        let mut constraints = Vec::new();
        for part in alternative.split(',') {
            if part.trim().is_empty() {
                return Err(format!("improper constraint: {constraint}"));
            }
            if let Some(caps) = hyphen.captures(part) {
                constraints.push(Constraint::parse(">=", &caps[1])?);
                constraints.push(Constraint::parse("<=", &caps[2])?);
                continue;
            }
            let mut found = false;
            for caps in single.captures_iter(part) {
                found = true;
                constraints.push(Constraint::parse(caps.get(1).map_or("", |m| m.as_str()), &caps[2])?);
            }
            if !found {
                return Err(format!("improper constraint: {constraint}"));
            }
        }
        if constraints.iter().all(|c| c.check(&v)) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl std::fmt::Display for Version {
    /// Masterminds/semver's String(): the version without a leading `v`, missing parts as 0.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.meta.is_empty() {
            write!(f, "+{}", self.meta)?;
        }
        Ok(())
    }
}
