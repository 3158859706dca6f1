//! Command-line arguments in two stages: the clap types here (their doc comments are the help),
//! then [`Config`], built once from them in `config`, which the commands run on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnostic::Code;
use crate::error::Error;

mod config;

pub use config::{
    ChartArchive, Config, Diff, Input, Mirror, Output, Overlay, PostRender, Relocate, Scan, Template, Values, Verify,
};

/// Retarget every container image of a Helm chart to a private registry.
///
/// Scan charts for image sites, write the overlay values.yaml that moves them, post-render
/// manifests, and plan the image copies, all from the same registry rules.
#[derive(Debug, Parser)]
#[command(name = "helm-retarget", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The command line of this process. `--help` and `--version` print and exit as clap does;
    /// a command line clap refuses is an error of its kind (HR063), in clap's words.
    ///
    /// # Errors
    /// An unknown flag, a missing or invalid argument.
    pub fn from_env() -> Result<Cli, Error> {
        Cli::from_args(std::env::args_os())
    }

    /// [`Cli::from_env`] for these arguments (the program name first).
    ///
    /// # Errors
    /// An unknown flag, a missing or invalid argument.
    pub fn from_args<I, T>(args: I) -> Result<Cli, Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::try_parse_from(args).map_err(|e| {
            use clap::error::ErrorKind;
            let prints_and_exits = matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if prints_and_exits {
                e.exit();
            }
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text).trim_end();
            // The code's hint says what clap's last line does.
            let text = text.trim_end_matches("For more information, try '--help'.").trim_end();
            Error::coded(Code::CommandLineInvalid, text)
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every image site of charts: values path, shape, current reference, global-registry use.
    Scan(ScanArgs),
    /// Write the minimal overlay values.yaml that moves every image to the target registry.
    Overlay(OverlayArgs),
    /// Write a copy of a chart archive whose own values move every image (no overlay at install).
    Relocate(RelocateArgs),
    /// Helm post-renderer: read a manifest stream on stdin, write it with images retargeted.
    PostRender(PostRenderArgs),
    /// Exit 1 listing every image of a manifest stream that is not on the target registry.
    Verify(VerifyArgs),
    /// The copy plan (source -> destination) for every image, as a list or a script.
    Mirror(MirrorArgs),
    /// Images added, removed and retagged between two versions of a chart.
    Diff(DiffArgs),
    /// Print the manifests as `helm template` would: what the tool believes the chart renders.
    Template(TemplateArgs),
}

/// Values given like Helm's: files, then `--set-json`, `--set`, `--set-string`, `--set-file`,
/// `--set-literal` (Helm applies them in that order, whatever their order on the command line).
#[derive(Debug, Args, Default)]
pub struct ValuesArgs {
    /// Values file applied over the chart's defaults (repeatable, later wins; `-` for stdin).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set values: `a.b=x,c[0].d=true` (Helm's strvals syntax; `\.` escapes a dot in a key).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Like --set, every value a string.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Like --set, each value a JSON document (`a={"b":1}`), or a whole JSON object.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Like --set, each value the text of the named file.
    #[arg(long = "set-file", value_name = "KEY=FILE")]
    pub set_file: Vec<String>,
    /// Set one value as a literal string: everything after the first `=` (commas, braces and
    /// backslashes included) is the value.
    #[arg(long = "set-literal", value_name = "KEY=VALUE")]
    pub set_literal: Vec<String>,
}

/// Whether a result with templates that did not render is accepted.
#[derive(Debug, Args, Default)]
pub struct CompletenessArgs {
    /// Exit 0 instead of 3 when some templates did not render (their images may be missing).
    #[arg(long = "allow-incomplete")]
    pub allow_incomplete: bool,
}

#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Chart archive (.tgz), chart directory, or `-` for an archive on stdin.
    #[arg(value_name = "CHART")]
    pub chart: String,
    #[command(flatten)]
    pub values: ValuesArgs,
    /// Release name (`.Release.Name`), as `helm template NAME`.
    #[arg(long = "release-name", value_name = "NAME", default_value = "release-name")]
    pub release_name: String,
    /// Namespace (`.Release.Namespace`).
    #[arg(short = 'n', long = "namespace", value_name = "NS", default_value = "default")]
    pub namespace: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub completeness: CompletenessArgs,
}

/// The cluster a chart is rendered for, as `helm template` takes it: every command that renders
/// a chart renders (and checks the chart's `kubeVersion` range) for this one.
#[derive(Debug, Args, Default)]
pub struct ClusterArgs {
    /// Kubernetes version for `.Capabilities.KubeVersion` and the chart's `kubeVersion` range
    /// (default: the one Helm 4.2 assumes, v1.36.0).
    #[arg(long = "kube-version", value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Extra group/versions for `.Capabilities.APIVersions` (repeatable or comma-separated).
    #[arg(short = 'a', long = "api-versions", value_name = "VERSION", value_delimiter = ',')]
    pub api_versions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Chart archives (.tgz), chart directories, or `-` for an archive on stdin.
    #[arg(required = true, value_name = "CHART")]
    pub charts: Vec<String>,
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub completeness: CompletenessArgs,
    /// Explain one reference (or registry host): template -> object -> field -> values keys,
    /// and why it moves or why it cannot.
    #[arg(long, value_name = "REF")]
    pub explain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Table,
    Json,
}

/// Where images go: `--registry` and/or `--mapping`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Target registry: HOST[:PORT][/PREFIX]. Image paths are kept below it.
    #[arg(long, value_name = "HOST[:PORT][/PREFIX]")]
    pub registry: Option<String>,
    /// Mapping file (YAML): per-source-registry destinations, presets, exclusions.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OverlayArgs {
    /// Chart archives (.tgz), chart directories, or `-` for an archive on stdin.
    #[arg(required = true, value_name = "CHART")]
    pub charts: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the overlay to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE", conflicts_with = "check")]
    pub output: Option<PathBuf>,
    /// Exit 1 with the diff when FILE differs from the overlay that would be generated (CI gate).
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    /// What carries the values: a values file, or a GitOps document holding the same values and
    /// comments (Argo CD Application patch, Flux HelmRelease patch, ConfigMap for valuesFrom).
    #[arg(long, value_enum, default_value_t = crate::overlay::Format::Values)]
    pub format: crate::overlay::Format,
    /// `metadata.name` of the Application, HelmRelease or ConfigMap written by --format
    /// (default: the chart's name; `<chart>-retarget` for the ConfigMap).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Image pull secret name to set wherever each chart reads pull secrets (repeatable).
    #[arg(long = "pull-secret", value_name = "NAME")]
    pub pull_secrets: Vec<String>,
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub completeness: CompletenessArgs,
    /// Also pin every moved image to its digest from this images lock (`mirror --format lock`):
    /// in the chart's `digest` key, else after the tag; an image with no place for one is an error.
    #[arg(long = "pin-digests", value_name = "LOCK")]
    pub pin_digests: Option<PathBuf>,
    /// A chart the operator CHART installs itself, as NAME=CHART (repeatable): planned like any
    /// chart, its overlay written under the values the operator renders into NAME's custom resource.
    #[arg(long = "operand", value_name = "NAME=CHART", value_parser = parse_operand)]
    pub operands: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct RelocateArgs {
    /// Chart archive (.tgz), chart directory, or `-` for an archive on stdin.
    #[arg(value_name = "CHART")]
    pub chart: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The relocated chart archive to write (atomically; `-` for stdout).
    #[arg(short = 'o', long = "output", value_name = "OUT.tgz")]
    pub output: PathBuf,
    /// Build metadata added to the chart version: `1.2.3` becomes `1.2.3+SUFFIX`.
    #[arg(long = "build-suffix", value_name = "SUFFIX", default_value = "relocated")]
    pub build_suffix: String,
    /// Keep the chart version as it is (no build suffix).
    #[arg(long = "keep-version", conflicts_with = "build_suffix")]
    pub keep_version: bool,
    /// Point every Chart.yaml dependency fetched from a repository at URL (`oci://R/charts`).
    #[arg(long = "dependency-repository", value_name = "URL")]
    pub dependency_repository: Option<String>,
    /// Image pull secret name to set wherever the chart reads pull secrets (repeatable).
    #[arg(long = "pull-secret", value_name = "NAME")]
    pub pull_secrets: Vec<String>,
    /// Also pin every moved image to its digest from this images lock, as `overlay --pin-digests`.
    #[arg(long = "pin-digests", value_name = "LOCK")]
    pub pin_digests: Option<PathBuf>,
    /// Values to plan with (turn modes on so their images are moved too); they are not written
    /// into the relocated chart.
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Also accept templates that did not render and images only the post-renderer can move
    /// (they stay on their source registry in the relocated chart).
    #[command(flatten)]
    pub completeness: CompletenessArgs,
}

/// `exporter=./charts/exporter` -> (`exporter`, `./charts/exporter`).
fn parse_operand(text: &str) -> std::result::Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, chart)) if !name.is_empty() && !chart.is_empty() => Ok((name.to_string(), chart.to_string())),
        _ => Err(format!("{text:?} is not NAME=CHART (the operand's name in the operator's values, and its chart)")),
    }
}

#[derive(Debug, Args)]
pub struct PostRenderArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also write a JSON list of every rewrite (object, field path, old, new) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// References inside ConfigMap/Secret text (embedded YAML/JSON, TOML, scripts, NAME=REF
    /// lines): `on` rewrites them where they stand in an image context, `off` leaves all text as is.
    #[arg(long = "text-images", value_enum, default_value_t = Switch::On)]
    pub text_images: Switch,
    /// Write every moved reference as `repo:tag@sha256:…` with the digest from this images lock
    /// (`mirror --format lock`); an image the lock does not hold fails the whole stream.
    #[arg(long = "pin-digests", value_name = "LOCK")]
    pub pin_digests: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The chart the manifests came from: name the values key that controls each stray image.
    #[arg(long, value_name = "CHART")]
    pub chart: Option<String>,
    /// With --chart: the cluster its images are found for (the chart is rendered for it).
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Manifest stream to check (`-` or omitted: stdin).
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: String,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Chart archives (.tgz), chart directories, or `-` for an archive on stdin.
    #[arg(value_name = "CHART")]
    pub charts: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also take images from a rendered manifest stream (`-` for stdin).
    #[arg(long = "from-manifests", value_name = "FILE")]
    pub from_manifests: Vec<String>,
    /// Also list the images of charts an operator installs itself, as NAME=CHART (repeatable).
    #[arg(long = "operand", value_name = "NAME=CHART", value_parser = parse_operand)]
    pub operands: Vec<(String, String)>,
    #[arg(long, value_enum, default_value_t = crate::mirror::Format::List)]
    pub format: crate::mirror::Format,
    /// A handlebars template of your own, given the same variables as the built-in formats.
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub template: Option<PathBuf>,
    /// Write to FILE (atomically) instead of stdout; with --format bundle, the directory that
    /// gets save.sh and load.sh.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Copy only these platforms (OS/ARCH[/VARIANT], comma-separated or repeated), with each
    /// tool's own flag; a format whose tool cannot take the list refuses it.
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]", value_delimiter = ',', value_parser = parse_platform)]
    pub platforms: Vec<crate::mirror::Platform>,
    /// Copy each image's referrers too: signatures, SBOMs, attestations (oras, regsync, bundle).
    #[arg(long = "with-referrers")]
    pub with_referrers: bool,
    /// A chart archive to push with the images (`relocate -o OUT.tgz` writes one): `helm push`
    /// lines in the scripts, an entry in json, list, tsv and dry-run.
    #[arg(long = "chart-archive", value_name = "OUT.tgz")]
    pub chart_archive: Option<String>,
    /// Where `helm push` puts the chart archive [default: oci://REGISTRY/charts, REGISTRY from
    /// --registry].
    #[arg(long = "chart-destination", value_name = "oci://HOST[/PATH]", requires = "chart_archive")]
    pub chart_destination: Option<String>,
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub completeness: CompletenessArgs,
}

fn parse_platform(text: &str) -> std::result::Result<crate::mirror::Platform, String> {
    text.parse().map_err(|e: crate::error::Error| e.to_string())
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[arg(value_name = "OLD_CHART")]
    pub old: String,
    #[arg(value_name = "NEW_CHART")]
    pub new: String,
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when the new chart needs images that are not in the --mirrored list.
    #[arg(long = "fail-on-new-images", requires = "mirrored")]
    pub fail_on_new_images: bool,
    /// File listing the references already mirrored, one per line (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub mirrored: Option<String>,
    /// Values for both versions (the same flags as `helm upgrade`).
    #[command(flatten)]
    pub values: ValuesArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub completeness: CompletenessArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
    /// Only the images the new version adds (new or retagged), one fully qualified source a line.
    List,
    /// The skopeo copy script for only the images the new version adds (needs a target).
    Skopeo,
    /// The crane copy script for only the images the new version adds (needs a target).
    Crane,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_command_line_clap_refuses_is_an_error_of_its_kind_in_clap_words() {
        let e = Cli::from_args(["helm-retarget", "scan", "--bogus", "chart"]).unwrap_err();
        assert_eq!(e.code, Code::CommandLineInvalid);
        assert!(e.message.starts_with("unexpected argument '--bogus' found"), "{e}");
        assert!(e.message.contains("Usage: helm-retarget scan"), "{e}");
        assert!(!e.message.contains("For more information"), "the code's hint says it: {e}");
        let e = Cli::from_args(["helm-retarget", "mirror", "--platform", "linux", "chart"]).unwrap_err();
        assert_eq!(e.code, Code::CommandLineInvalid);
        assert!(e.message.contains("\"linux\" is not a platform"), "{e}");
        assert!(Cli::from_args(["helm-retarget", "scan", "chart"]).is_ok());
    }
}
