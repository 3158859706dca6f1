//! `.helmignore` rules with Helm's semantics (pkg/ignore), over Go `filepath.Match` globs.

/// `.helmignore` rules with Helm's semantics (pkg/ignore): Go `filepath.Match` globs; a rule with
/// no `/` matches the base name, a rule with `/` the whole relative path, a leading `/` anchors it;
/// a trailing `/` matches directories only; `**` is an error. Helm's `!` is not a real negation:
/// a path that does NOT match a `!rule` is ignored. We keep that quirk so the same files load.
#[derive(Debug, Default)]
pub(super) struct IgnoreRules {
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
    pub(super) fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut rules = IgnoreRules::default();
        for (i, line) in text.lines().enumerate() {
            rules.add(line).map_err(|m| (i + 1, m))?;
        }
        Ok(rules)
    }

    pub(super) fn with_defaults(mut self) -> Self {
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

    pub(super) fn ignores(&self, path: &str, is_dir: bool) -> bool {
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
        Some('-' | ']') | None => Err(()),
        Some(c) => Ok((*c, i + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
