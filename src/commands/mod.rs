//! The commands: load the inputs, run the pipeline, hand the results to `report`. One file per
//! subcommand; what several share is in `common`.

use std::process::ExitCode;

use crate::cli::{Cli, Config};
use crate::error::Result;
use crate::report;

mod common;
mod diff;
mod mirror;
mod overlay;
mod post_render;
mod relocate;
mod scan;
mod template;
mod verify;

pub use common::{load_chart, user_values};

/// What a command concluded, beyond success: `Failed` is exit 1 with the reason already reported
/// (a stale overlay, images off the registry), `Errored` is exit 2 after errors were reported
/// (a chart Helm refuses too), `Incomplete` is exit 3: the output was written, but templates named
/// on stderr did not render, so images may be missing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Success,
    Failed,
    Incomplete,
    Errored,
}

impl Outcome {
    /// The graver of two outcomes: errors, then incompleteness, then failure.
    #[must_use]
    pub fn and(self, other: Outcome) -> Outcome {
        self.max(other)
    }
}

/// Runs the command line and maps the outcome to an exit code.
pub fn run() -> ExitCode {
    let outcome = Cli::from_env().and_then(execute);
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Errored) => ExitCode::from(2),
        Ok(Outcome::Incomplete) => ExitCode::from(3),
        Err(e) => {
            report::error(&e);
            ExitCode::from(2)
        }
    }
}

/// Runs one parsed command line: its arguments validated into a [`Config`], then the command.
pub fn execute(cli: Cli) -> Result<Outcome> {
    match Config::try_from(cli)? {
        Config::Scan(config) => scan::scan(&config),
        Config::Overlay(config) => overlay::overlay(&config),
        Config::Relocate(config) => relocate::relocate(&config),
        Config::PostRender(config) => post_render::post_render(&config),
        Config::Verify(config) => verify::verify(&config),
        Config::Mirror(config) => mirror::mirror(&config),
        Config::Diff(config) => diff::diff(&config),
        Config::Template(config) => template::template(&config),
    }
}
