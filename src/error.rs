//! The error every command reports: what went wrong, where (file, then YAML path or line), and
//! what the user can do about it.

use std::fmt;

use crate::diagnostic::Code;

/// An error with its location, outermost first: `chart.tgz: values.yaml: image.tag: ... (line 12)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Where it happened, outermost first (archive, file, values path).
    pub location: Vec<String>,
    pub message: String,
    /// The line in the file named last in `location`, when known.
    pub line: Option<usize>,
    /// What to do about it, in the user's words (else the code's own hint).
    pub hint: Option<String>,
    /// The kind: every error has one, so each a user sees is written `error[HR046]: ...`.
    pub code: Code,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of its kind: `report` writes it as `error[HR020]: ...`. There is no constructor
    /// without a code, so no error reaches a user unclassified.
    pub fn coded(code: Code, message: impl Into<String>) -> Self {
        Error { location: Vec::new(), message: message.into(), line: None, hint: None, code }
    }

    /// Classifies the error anew, where the caller knows better what it means.
    pub fn code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }

    /// Prefixes a location: call from the inside out (`.at("values.yaml").at("chart.tgz")`).
    pub fn at(mut self, place: impl Into<String>) -> Self {
        self.location.insert(0, place.into());
        self
    }

    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for place in &self.location {
            write!(f, "{place}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Turns any error into ours on its way out, with its kind and place:
/// `write(path).context(Code::OutputUnwritable, path.display())?`.
pub trait Context<T> {
    fn context(self, code: Code, place: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, code: Code, place: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::coded(code, e.to_string()).at(place.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_locations_outermost_first_then_line_and_hint() {
        let e = Error::coded(Code::YamlInvalid, "expected a map")
            .at("image.tag")
            .at("values.yaml")
            .at("chart.tgz")
            .line(12)
            .hint("fix the YAML");
        assert_eq!(e.to_string(), "chart.tgz: values.yaml: image.tag: expected a map (line 12)\n  hint: fix the YAML");
    }
}
