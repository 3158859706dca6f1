//! helm-retarget moves every container image of a Helm chart to a private registry.
//!
//! The pipeline, in the order data flows through the modules:
//!
//! ```text
//! source     .tgz / directory / stdin  ->  files in memory (nested subchart archives too)
//! yaml       the one place that parses and prints YAML (serde_yaml today, swappable)
//! values     Helm values: the dynamic tree, values paths, Helm's coalescing rules
//! chart      files  ->  chart tree: Chart.yaml, values, templates, subcharts with alias/condition
//! reference  image references: parse and format registry/path:tag@digest
//! mapping    source registry -> destination rules (--registry, --mapping presets, exclusions)
//! template   Helm's Go templates: parse and evaluate, tracing which values built each byte
//! discover   chart tree  ->  image sites (values path, shape, file:line, honours-global?)
//! plan       sites + mapping  ->  retarget plan (old ref -> new ref, per site, mechanism)
//! overlay    plan  ->  overlay values.yaml (alias-aware keys, comments naming the old refs)
//! rewrite    manifest stream  ->  same stream with images retargeted (post-renderer)
//! mirror     plan  ->  copy list / scripts (handlebars templates)
//! diff       before/after  ->  unified diff, colour on a terminal
//! cli        clap derive arguments -> validated config, and the commands
//! report     the one writer to stdout and stderr
//! ```

pub mod error;

pub mod chart;
pub mod cli;
pub mod diff;
pub mod discover;
pub mod mapping;
pub mod mirror;
pub mod overlay;
pub mod plan;
pub mod reference;
pub mod report;
pub mod rewrite;
pub mod source;
pub mod template;
pub mod values;
pub mod yaml;

pub use cli::run;
