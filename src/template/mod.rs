//! Helm's Go templates (text/template + sprig + Helm's functions), evaluated in Rust while tracing
//! which values key or Chart.yaml field produced every byte of the output.
//!
//! Parse once with [`Engine::add`], render many times with [`Engine::render`]. The dot is a
//! [`TValue`]: a values tree whose nodes remember their values path, so strings copied into the
//! output keep a [`Span`] naming their origin, and every field read on a values map is recorded.

#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_lossless,
    reason = "the engine ports Go's int64, float64 and rune conversions, which truncate and wrap exactly so; Helm's output depends on it"
)]
#![allow(
    clippy::unnecessary_wraps,
    clippy::needless_pass_by_value,
    reason = "every template function has the one signature of the function table: owned arguments in, a Result out"
)]
#![allow(
    clippy::match_same_arms,
    clippy::many_single_char_names,
    clippy::items_after_statements,
    reason = "arms and names follow the Go source they port (text/template, sprig, fmt), so the two read side by side"
)]

mod eval;
mod format;
mod funcs;
mod lex;
mod parse;
pub(crate) use crate::semver;
mod traced;
mod value;
mod yaml_out;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::values::ValuesPath;

pub use funcs::with_repeatable_random;
pub use traced::{Span, Traced};
pub use value::TValue;

/// Where a piece of output text came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// A values key, as a path from the ROOT chart's values (e.g. `kubeStateMetrics.image.registry`).
    Values(ValuesPath),
    /// A field of a chart's Chart.yaml, e.g. ("cloudzero-agent > kubeStateMetrics", "appVersion").
    Chart { chart: String, field: String },
}

/// A values path that a template read: `found` false when the key was missing or null.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValuesRead {
    pub path: ValuesPath,
    pub found: bool,
}

#[derive(Debug)]
pub struct RenderOutput {
    pub text: Traced,
    /// Every values path read while rendering, deduplicated, in first-read order.
    pub reads: Vec<ValuesRead>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplateError {
    /// Syntax error or unknown function: template name, line, message.
    Parse { template: String, line: usize, message: String },
    /// `fail "..."` was called, or `required` failed: template, message, and the values paths read
    /// inside the innermost `define` that was running when it failed. `template`, `line` and `col`
    /// are where Helm points: the call in the outermost template (an `include` or `tpl` that led
    /// to the failure counts as the failing call, as its error wraps the inner one).
    Fail { template: String, line: usize, col: usize, message: String, reads: Vec<ValuesRead> },
    /// Any other execution error, with the template name and line, as Go would report it.
    Exec { template: String, line: usize, message: String },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Parse { template, line, message } => {
                write!(f, "parse error at ({template}:{line}): {message}")
            }
            TemplateError::Fail { template, line, col, message, .. } => {
                write!(f, "execution error at ({template}:{line}:{col}): {message}")
            }
            TemplateError::Exec { template, line, message } => {
                write!(f, "template: {template}:{line}: {message}")
            }
        }
    }
}

impl std::error::Error for TemplateError {}

/// One parsed template body: a file's top level, a `define`, or a `block`.
#[derive(Debug)]
pub(crate) struct Body {
    /// The template name errors report: the file for its top level, else the define's name.
    pub(crate) file: String,
    /// The text the nodes' literal ranges point into; `tpl` strings keep their own spans here.
    pub(crate) source: Arc<Traced>,
    pub(crate) nodes: Arc<Vec<parse::Node>>,
}

/// Parsed templates and defines. Parse once, render many, from any thread: the parsed bodies are
/// shared (`Arc`) and only the `tpl` cache is written during a render.
#[derive(Debug, Default)]
pub struct Engine {
    bodies: HashMap<String, Arc<Body>>,
    /// `tpl` strings parsed earlier, by text, so probe renders do not reparse them.
    tpl_cache: Mutex<HashMap<String, Arc<parse::Parsed>>>,
}

impl Engine {
    pub fn new() -> Self {
        Engine::default()
    }

    /// Parses one template file and registers its top-level body under `name` and every
    /// `define`/`block` it contains. A later add of the same define name replaces the earlier one.
    pub fn add(&mut self, name: &str, source: &str) -> Result<(), TemplateError> {
        let source = Arc::new(Traced::plain(source));
        let parsed = parse::parse(name, &source.text)?;
        self.bodies.insert(
            name.to_string(),
            Arc::new(Body { file: name.to_string(), source: source.clone(), nodes: parsed.root }),
        );
        for (define, nodes) in parsed.defines {
            self.bodies
                .insert(define.clone(), Arc::new(Body { file: name.to_string(), source: source.clone(), nodes }));
        }
        Ok(())
    }

    /// True when a file or define of that name was added.
    pub fn has(&self, name: &str) -> bool {
        self.bodies.contains_key(name)
    }

    /// Renders the template registered as `name` (a file name or a define) with `dot`.
    pub fn render(&self, name: &str, dot: &TValue) -> Result<RenderOutput, TemplateError> {
        let body = self.bodies.get(name).ok_or_else(|| TemplateError::Exec {
            template: name.to_string(),
            line: 0,
            message: format!("no template {name:?} associated with template {name:?}"),
        })?;
        let mut output = eval::render(self, body, dot)?;
        if output.text.as_str().contains(format::NO_VALUE) {
            output.text = output.text.replace(format::NO_VALUE, "");
        }
        Ok(output)
    }

    pub(crate) fn body(&self, name: &str) -> Option<&Arc<Body>> {
        self.bodies.get(name)
    }

    /// Parses a `tpl` string, reusing an earlier parse of the same text.
    pub(crate) fn parse_tpl(&self, text: &str) -> Result<Arc<parse::Parsed>, TemplateError> {
        if let Some(parsed) = self.tpl_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(text) {
            return Ok(parsed.clone());
        }
        let parsed = Arc::new(parse::parse("tpl", text)?);
        self.tpl_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(text.to_string(), parsed.clone());
        Ok(parsed)
    }
}
