//! helm-retarget moves every container image of a Helm chart to a private registry.
//!
//! The pipeline, in the order data flows through the modules; a module uses only modules listed
//! before it (`tests/module-order` checks this):
//!
//! ```text
//! diagnostic the kinds of warnings and errors: stable codes (HR001), meanings, hints
//! error      the error every command reports: where, what, what to do
//! report     the one writer to stdout and stderr (every module below reports through it)
//! source     .tgz / directory / stdin  ->  files in memory (nested subchart archives too)
//! values     Helm values: the dynamic tree, values paths, Helm's coalescing rules
//! yaml       the one place that parses and prints YAML, with Helm's (go-yaml's) rules
//! strvals    `--set a.b[0]=x` lines, parsed as Helm's strvals parser does
//! semver     versions and constraints as Masterminds/semver reads them (dependency ranges, semverCompare)
//! chart      files  ->  chart tree: Chart.yaml, values, templates, subcharts with alias/condition
//! schema     values.schema.json: merged values checked per (sub)chart, Helm v4's messages
//! reference  image references: parse and format registry/path:tag@digest
//! lock       images lock: source, destination and the digest the registry reported, for pinning
//! mapping    source registry -> destination rules (--registry, --mapping presets, exclusions)
//! template   Helm's Go templates: parse and evaluate, tracing which values built each byte
//! site       one rendered image reference and the trace of its pieces (template, object, field)
//! kube       where images live in Kubernetes objects: pod-bearing kinds, pod-spec paths, image fields
//! render     chart tree + values  ->  every template rendered, traced (as `helm template`)
//! manifest   rendered templates  ->  the manifest stream `helm template` prints (kind order, hooks)
//! rewrite    manifest stream  ->  same stream with images retargeted (post-renderer); its image
//!            finder also serves discover
//! discover   chart tree  ->  image sites (values path, shape, file:line, honours-global?)
//! plan       sites + mapping  ->  retarget plan (old ref -> new ref, per site, mechanism)
//! pin        plan + images lock  ->  the plan whose overlay also pins each image's digest
//! overlay    plan  ->  overlay values.yaml (alias-aware keys, comments naming the old refs)
//! relocate   plan  ->  a copy of the chart archive whose own values.yaml moves every image
//! mirror     plan  ->  copy list / scripts (handlebars templates)
//! diff       before/after  ->  unified diff, colour on a terminal
//! cli        clap derive arguments -> validated config
//! commands   each subcommand: load inputs, run the pipeline, hand results to report; `run`
//! ```

pub mod diagnostic;
pub mod error;
pub mod report;

pub mod source;
pub mod values;
pub mod yaml;
pub mod strvals;
pub mod semver;
pub mod chart;
pub mod schema;
pub mod reference;
pub mod lock;
pub mod mapping;
pub mod template;
pub mod site;
pub mod kube;
pub mod render;
pub mod manifest;
pub mod rewrite;
pub mod discover;
pub mod plan;
pub mod pin;
pub mod overlay;
pub mod relocate;
pub mod mirror;
pub mod diff;
pub mod cli;
pub mod commands;

pub use commands::run;
