//! Two texts as a unified diff (headers, hunks, three lines of context), and whether output to
//! stderr should be coloured (no-color.org, bixense.com/clicolors).

use std::io::IsTerminal;

use similar::TextDiff;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Unified diff of two texts (similar crate), headers `--- a_name` / `+++ b_name`, 3 lines of context;
/// empty string when equal. With `color`, ANSI red/green/cyan for -/+/@@ lines.
pub fn unified(a: &str, b: &str, a_name: &str, b_name: &str, color: bool) -> String {
    if a == b {
        return String::new();
    }
    let plain = TextDiff::from_lines(a, b).unified_diff().context_radius(3).header(a_name, b_name).to_string();
    if !color {
        return plain;
    }
    let mut painted = String::with_capacity(plain.len() + plain.len() / 4);
    for (index, line) in plain.split_inclusive('\n').enumerate() {
        let (text, newline) = match line.strip_suffix('\n') {
            Some(text) => (text, "\n"),
            None => (line, ""),
        };
        // The first two lines are the file headers, whatever their names start with.
        let paint = if index < 2 {
            BOLD
        } else if text.starts_with("@@") {
            CYAN
        } else if text.starts_with('-') {
            RED
        } else if text.starts_with('+') {
            GREEN
        } else {
            ""
        };
        if paint.is_empty() {
            painted.push_str(line);
        } else {
            painted.push_str(paint);
            painted.push_str(text);
            painted.push_str(RESET);
            painted.push_str(newline);
        }
    }
    painted
}

/// Whether to colour output written to stderr: a terminal and `NO_COLOR` unset (any non-empty
/// value disables), `CLICOLOR_FORCE`/`FORCE_COLOR` set forces it on. See [`wants_color`].
pub fn stderr_wants_color() -> bool {
    wants_color(std::io::stderr().is_terminal(), |name| std::env::var(name).ok())
}

/// The colour decision from whether the stream is a terminal and the environment (`variable`
/// looks a name up), following no-color.org and bixense.com/clicolors:
/// - `CLICOLOR_FORCE` set to anything but empty or `0`, or `FORCE_COLOR` set to anything but
///   empty, `0` or `false`, forces colour on, even when piped or when `NO_COLOR` is set: forcing
///   is the more specific request (anstream decides the same way);
/// - otherwise `NO_COLOR` set to any non-empty value turns it off (an empty `NO_COLOR=` counts as
///   unset, as no-color.org specifies);
/// - otherwise colour goes only to a terminal that is not `TERM=dumb`.
pub fn wants_color(is_terminal: bool, variable: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str, off_values: &[&str]| {
        variable(name).is_some_and(|value| !value.is_empty() && !off_values.contains(&value.as_str()))
    };
    if set("CLICOLOR_FORCE", &["0"]) || set("FORCE_COLOR", &["0", "false"]) {
        return true;
    }
    if set("NO_COLOR", &[]) {
        return false;
    }
    is_terminal && variable("TERM").as_deref() != Some("dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";

    #[test]
    fn equal_texts_give_an_empty_diff() {
        assert_eq!(unified(BEFORE, BEFORE, "a", "b", true), "");
        assert_eq!(unified("", "", "a", "b", false), "");
    }

    #[test]
    fn diff_has_headers_hunks_and_three_lines_of_context() {
        let after = BEFORE.replace("e\n", "E\n");
        let diff = unified(BEFORE, &after, "values.yaml", "values.yaml (retargeted)", false);
        let expected =
            "--- values.yaml\n+++ values.yaml (retargeted)\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n";
        assert_eq!(diff, expected);
    }

    #[test]
    fn far_apart_changes_make_separate_hunks() {
        let after = BEFORE.replace("a\n", "A\n").replace("j\n", "J\n");
        let diff = unified(BEFORE, &after, "x", "y", false);
        assert_eq!(diff.lines().filter(|line| line.starts_with("@@")).count(), 2, "{diff}");
    }

    #[test]
    fn a_missing_final_newline_is_shown() {
        let diff = unified("a\n", "a\nb", "x", "y", false);
        assert!(diff.contains("+b\n\\ No newline at end of file"), "{diff}");
    }

    #[test]
    fn colour_marks_removed_added_and_hunk_lines() {
        let diff = unified("keep\nold\n", "keep\nnew\n", "-dash-name", "+plus-name", true);
        let lines: Vec<&str> = diff.lines().collect();
        assert_eq!(lines[0], format!("{BOLD}--- -dash-name{RESET}"));
        assert_eq!(lines[1], format!("{BOLD}+++ +plus-name{RESET}"));
        assert_eq!(lines[2], format!("{CYAN}@@ -1,2 +1,2 @@{RESET}"));
        assert_eq!(lines[3], " keep", "context lines stay plain");
        assert_eq!(lines[4], format!("{RED}-old{RESET}"));
        assert_eq!(lines[5], format!("{GREEN}+new{RESET}"));
        assert!(diff.ends_with('\n'));
        let stripped = diff.replace(BOLD, "").replace(CYAN, "").replace(RED, "").replace(GREEN, "").replace(RESET, "");
        assert_eq!(stripped, unified("keep\nold\n", "keep\nnew\n", "-dash-name", "+plus-name", false));
    }

    fn decide(is_terminal: bool, environment: &[(&str, &str)]) -> bool {
        wants_color(is_terminal, |name| {
            environment.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn colour_goes_to_terminals_unless_no_color_or_dumb() {
        assert!(decide(true, &[]));
        assert!(!decide(false, &[]));
        assert!(!decide(true, &[("NO_COLOR", "1")]));
        assert!(!decide(true, &[("NO_COLOR", "0")]), "any non-empty value disables");
        assert!(decide(true, &[("NO_COLOR", "")]), "empty counts as unset");
        assert!(!decide(true, &[("TERM", "dumb")]));
        assert!(decide(true, &[("TERM", "xterm-256color")]));
    }

    #[test]
    fn forcing_wins_over_pipes_and_no_color() {
        assert!(decide(false, &[("CLICOLOR_FORCE", "1")]));
        assert!(decide(false, &[("FORCE_COLOR", "3")]));
        assert!(decide(false, &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]));
        assert!(decide(false, &[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")]));
        assert!(!decide(false, &[("CLICOLOR_FORCE", "0")]));
        assert!(!decide(false, &[("FORCE_COLOR", "false")]));
        assert!(!decide(false, &[("FORCE_COLOR", "")]));
        assert!(!decide(true, &[("FORCE_COLOR", "0"), ("NO_COLOR", "1")]));
    }
}
