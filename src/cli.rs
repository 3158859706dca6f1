//! Command-line arguments (clap derive), validated into a config, and the commands they run.

use std::process::ExitCode;

/// Runs the command line and maps the outcome to an exit code (SKELETON).
pub fn run() -> ExitCode {
    ExitCode::SUCCESS
}
