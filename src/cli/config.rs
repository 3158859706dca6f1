//! The second stage of the command line: the clap arguments checked once and resolved into what
//! each command runs on (the target mapping read, `-` turned into stdin, flag pairs settled).

use std::fmt;
use std::io::BufRead;
use std::path::PathBuf;

use super::{
    Cli, ClusterArgs, Command, CompletenessArgs, DiffArgs, DiffFormat, MirrorArgs, OverlayArgs, PostRenderArgs,
    RelocateArgs, ScanArgs, ScanFormat, Switch, TargetArgs, TemplateArgs, ValuesArgs, VerifyArgs,
};
use crate::diagnostic::Code;
use crate::error::{Context, Error, Result};
use crate::mapping::RegistryMapping;
use crate::render::RenderOptions;
use crate::source;

/// A file named on the command line, where `-` means stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    /// The argument as typed: `-` is stdin, anything else a path.
    pub fn new(arg: impl Into<PathBuf>) -> Input {
        let path = arg.into();
        if path.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::Path(path)
        }
    }

    /// The argument as the user typed it (`-` for stdin), as chart messages name it.
    pub fn arg(&self) -> String {
        self.to_string()
    }

    /// Where messages locate what was read: `stdin`, or the path.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_string(),
            Input::Path(path) => path.display().to_string(),
        }
    }

    /// The whole file, within the size limit for files on the command line; `what` names it in
    /// messages ("values file").
    pub fn read(&self, what: &str) -> Result<Vec<u8>> {
        match self {
            Input::Stdin => source::read_input_stream(std::io::stdin().lock(), &self.name(), what),
            Input::Path(path) => source::read_input_file(path, what),
        }
    }

    /// The chart files this CHART argument names (a .tgz on stdin, an archive or a directory).
    pub fn read_chart(&self) -> Result<source::ChartFiles> {
        match self {
            Input::Stdin => source::read_archive_stream(std::io::stdin().lock(), &self.name()),
            Input::Path(path) => source::read(path),
        }
    }

    /// A reader over the input, for streams read one document at a time.
    pub fn open(&self) -> Result<Box<dyn BufRead>> {
        match self {
            Input::Stdin => Ok(Box::new(std::io::stdin().lock())),
            Input::Path(path) => {
                let file = std::fs::File::open(path).context(Code::InputUnreadable, path.display())?;
                Ok(Box::new(std::io::BufReader::new(file)))
            }
        }
    }
}

/// As the user typed it: `-`, or the path.
impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("-"),
            Input::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Where a command writes its result: stdout (`-`), or a file written atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
}

/// The user's values flags, with each values file an [`Input`].
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub files: Vec<Input>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_json: Vec<String>,
    pub set_file: Vec<String>,
    pub set_literal: Vec<String>,
}

impl From<ValuesArgs> for Values {
    fn from(args: ValuesArgs) -> Values {
        Values {
            files: args.values.into_iter().map(Input::new).collect(),
            set: args.set,
            set_string: args.set_string,
            set_json: args.set_json,
            set_file: args.set_file,
            set_literal: args.set_literal,
        }
    }
}

fn charts(args: Vec<String>) -> Vec<Input> {
    args.into_iter().map(Input::new).collect()
}

fn allow_incomplete(args: &CompletenessArgs) -> bool {
    args.allow_incomplete
}

impl ClusterArgs {
    /// `base` rendered for this cluster: `--kube-version` parsed as Helm reads it (HR062 when it
    /// is not a version), `--api-versions` added to the group/versions Helm serves offline.
    fn render(self, base: RenderOptions) -> Result<RenderOptions> {
        let mut render = base;
        if let Some(version) = &self.kube_version {
            render.kube_version = RenderOptions::parse_kube_version(version)
                .map_err(|e| Error::coded(Code::KubeVersionInvalid, e).at("--kube-version"))?;
        }
        render.api_versions.extend(self.api_versions.into_iter().filter(|v| !v.is_empty()));
        Ok(render)
    }
}

impl TargetArgs {
    /// The registry mapping `--registry` and `--mapping` describe, read and checked.
    pub fn mapping(&self) -> Result<RegistryMapping> {
        match (&self.mapping, &self.registry) {
            (Some(file), registry) => {
                let input = Input::new(file);
                let name = input.name();
                let bytes = input.read("mapping file").map_err(|e| e.hint("check the path given to --mapping"))?;
                RegistryMapping::from_yaml_text(source::utf8(&bytes, &name)?, &name, registry.as_deref())
            }
            (None, Some(registry)) => RegistryMapping::from_registry(registry),
            (None, None) => Err(Error::coded(Code::NoTarget, "no target registry given")
                .hint("pass --registry HOST[:PORT][/PREFIX] or --mapping FILE")),
        }
    }
}

/// A validated command line: one variant per subcommand.
#[derive(Debug)]
pub enum Config {
    Scan(Scan),
    Overlay(Overlay),
    Relocate(Relocate),
    PostRender(PostRender),
    Verify(Verify),
    Mirror(Mirror),
    Diff(Diff),
    Template(Template),
}

impl TryFrom<Cli> for Config {
    type Error = Error;

    fn try_from(cli: Cli) -> Result<Config> {
        Ok(match cli.command {
            Command::Scan(args) => Config::Scan(args.try_into()?),
            Command::Overlay(args) => Config::Overlay(args.try_into()?),
            Command::Relocate(args) => Config::Relocate(args.try_into()?),
            Command::PostRender(args) => Config::PostRender(args.try_into()?),
            Command::Verify(args) => Config::Verify(args.try_into()?),
            Command::Mirror(args) => Config::Mirror(args.try_into()?),
            Command::Diff(args) => Config::Diff(args.try_into()?),
            Command::Template(args) => Config::Template(args.try_into()?),
        })
    }
}

#[derive(Debug)]
pub struct Scan {
    pub charts: Vec<Input>,
    pub format: ScanFormat,
    pub values: Values,
    pub allow_incomplete: bool,
    pub explain: Option<String>,
    pub render: RenderOptions,
}

impl TryFrom<ScanArgs> for Scan {
    type Error = Error;

    fn try_from(args: ScanArgs) -> Result<Scan> {
        Ok(Scan {
            render: args.cluster.render(RenderOptions::default())?,
            allow_incomplete: allow_incomplete(&args.completeness),
            charts: charts(args.charts),
            format: args.format,
            values: args.values.into(),
            explain: args.explain,
        })
    }
}

#[derive(Debug)]
pub struct Overlay {
    pub charts: Vec<Input>,
    pub mapping: RegistryMapping,
    pub output: Option<PathBuf>,
    pub check: Option<PathBuf>,
    pub format: crate::overlay::Format,
    pub name: Option<String>,
    pub pull_secrets: Vec<String>,
    pub values: Values,
    pub allow_incomplete: bool,
    pub pin_digests: Option<PathBuf>,
    /// Each operand's name in the operator's values, and its chart.
    pub operands: Vec<(String, Input)>,
    pub render: RenderOptions,
}

impl TryFrom<OverlayArgs> for Overlay {
    type Error = Error;

    fn try_from(args: OverlayArgs) -> Result<Overlay> {
        let render = args.cluster.render(RenderOptions::default())?;
        let mapping = args.target.mapping()?;
        if !args.operands.is_empty() && args.charts.len() > 1 {
            return Err(Error::coded(Code::OperandNeedsOneChart, "--operand needs exactly one operator CHART"));
        }
        Ok(Overlay {
            allow_incomplete: allow_incomplete(&args.completeness),
            charts: charts(args.charts),
            mapping,
            output: args.output,
            check: args.check,
            format: args.format,
            name: args.name,
            pull_secrets: args.pull_secrets,
            values: args.values.into(),
            pin_digests: args.pin_digests,
            operands: args.operands.into_iter().map(|(name, chart)| (name, Input::new(chart))).collect(),
            render,
        })
    }
}

#[derive(Debug)]
pub struct Relocate {
    pub chart: Input,
    pub mapping: RegistryMapping,
    pub output: Output,
    /// Build metadata for the chart version; `None` keeps the version (`--keep-version`).
    pub build_suffix: Option<String>,
    pub dependency_repository: Option<String>,
    pub pull_secrets: Vec<String>,
    pub pin_digests: Option<PathBuf>,
    pub values: Values,
    pub allow_incomplete: bool,
    pub render: RenderOptions,
}

impl TryFrom<RelocateArgs> for Relocate {
    type Error = Error;

    fn try_from(args: RelocateArgs) -> Result<Relocate> {
        let render = args.cluster.render(RenderOptions::default())?;
        Ok(Relocate {
            render,
            mapping: args.target.mapping()?,
            allow_incomplete: allow_incomplete(&args.completeness),
            chart: Input::new(args.chart),
            output: if args.output.as_os_str() == "-" { Output::Stdout } else { Output::File(args.output) },
            build_suffix: (!args.keep_version).then_some(args.build_suffix),
            dependency_repository: args.dependency_repository,
            pull_secrets: args.pull_secrets,
            pin_digests: args.pin_digests,
            values: args.values.into(),
        })
    }
}

#[derive(Debug)]
pub struct PostRender {
    pub mapping: RegistryMapping,
    pub report: Option<PathBuf>,
    pub text_images: bool,
    pub pin_digests: Option<PathBuf>,
}

impl TryFrom<PostRenderArgs> for PostRender {
    type Error = Error;

    fn try_from(args: PostRenderArgs) -> Result<PostRender> {
        Ok(PostRender {
            mapping: args.target.mapping()?,
            report: args.report,
            text_images: args.text_images == Switch::On,
            pin_digests: args.pin_digests,
        })
    }
}

#[derive(Debug)]
pub struct Verify {
    pub mapping: RegistryMapping,
    pub chart: Option<Input>,
    pub input: Input,
    /// What `--chart` is rendered for.
    pub render: RenderOptions,
}

impl TryFrom<VerifyArgs> for Verify {
    type Error = Error;

    fn try_from(args: VerifyArgs) -> Result<Verify> {
        if args.chart.is_none() && (args.cluster.kube_version.is_some() || !args.cluster.api_versions.is_empty()) {
            // Without --chart nothing is rendered: a cluster given for nothing would be ignored.
            return Err(Error::coded(
                Code::CommandLineInvalid,
                "verify: --kube-version and --api-versions say what --chart is rendered for, and no --chart is given",
            )
            .hint("pass --chart CHART, or leave the cluster flags out"));
        }
        let render = args.cluster.render(RenderOptions::default())?;
        Ok(Verify {
            mapping: args.target.mapping()?,
            chart: args.chart.map(Input::new),
            input: Input::new(args.input),
            render,
        })
    }
}

#[derive(Debug)]
pub struct Mirror {
    pub charts: Vec<Input>,
    pub mapping: RegistryMapping,
    pub from_manifests: Vec<Input>,
    /// The charts an operator installs itself.
    pub operands: Vec<Input>,
    pub format: crate::mirror::Format,
    pub template: Option<Input>,
    /// A file, or with `--format bundle` (and no template) the directory its scripts go to.
    pub output: Option<PathBuf>,
    pub platforms: Vec<crate::mirror::Platform>,
    pub with_referrers: bool,
    pub chart_archive: Option<ChartArchive>,
    pub values: Values,
    pub allow_incomplete: bool,
    pub render: RenderOptions,
}

/// `--chart-archive` (a file: `helm push` takes a packaged chart, and the scripts name it by its
/// path) and where `helm push` puts it (`oci://...`).
#[derive(Debug)]
pub struct ChartArchive {
    pub archive: Input,
    pub destination: String,
}

impl ChartArchive {
    /// `--chart-archive`, with `--chart-destination` or else the registry of `--registry`.
    fn new(archive: String, destination: Option<String>, target: &TargetArgs) -> Result<ChartArchive> {
        let archive = Input::new(archive);
        if matches!(&archive, Input::Stdin) || matches!(&archive, Input::Path(path) if path.is_dir()) {
            return Err(Error::coded(
                Code::ChartArchiveNotAnArchive,
                "helm push takes a chart archive (.tgz), not a directory or stdin",
            )
            .at(format!("--chart-archive {archive}")));
        }
        // Without --chart-destination, the registry of --registry (none with only --mapping).
        let destination = destination
            .or_else(|| target.registry.as_ref().map(|r| format!("oci://{}/charts", r.trim_end_matches('/'))));
        let Some(destination) = destination else {
            return Err(Error::coded(
                Code::ChartDestinationInvalid,
                "no place for the chart archive: --mapping names no single registry",
            )
            .at("--chart-archive")
            .hint("pass --chart-destination oci://HOST/PATH (or --registry)"));
        };
        if !destination.starts_with("oci://") || destination.len() <= "oci://".len() {
            return Err(Error::coded(
                Code::ChartDestinationInvalid,
                format!("{destination:?} is not an OCI registry address"),
            )
            .at("--chart-destination")
            .hint("write oci://HOST[:PORT][/PATH], as `helm push` takes it"));
        }
        Ok(ChartArchive { archive, destination })
    }
}

impl TryFrom<MirrorArgs> for Mirror {
    type Error = Error;

    fn try_from(args: MirrorArgs) -> Result<Mirror> {
        if args.charts.is_empty() && args.from_manifests.is_empty() {
            return Err(Error::coded(Code::NothingToMirror, "nothing to mirror"));
        }
        let render = args.cluster.render(RenderOptions::default())?;
        let mapping = args.target.mapping()?;
        if args.format == crate::mirror::Format::Bundle && args.template.is_none() && args.output.is_none() {
            return Err(Error::coded(
                Code::BundleNeedsDirectory,
                "--format bundle writes two scripts, save.sh and load.sh",
            )
            .at("--format bundle"));
        }
        let chart_archive = match args.chart_archive {
            Some(archive) => Some(ChartArchive::new(archive, args.chart_destination, &args.target)?),
            None => None,
        };
        Ok(Mirror {
            allow_incomplete: allow_incomplete(&args.completeness),
            charts: charts(args.charts),
            mapping,
            from_manifests: charts(args.from_manifests),
            operands: args.operands.into_iter().map(|(_, chart)| Input::new(chart)).collect(),
            format: args.format,
            template: args.template.map(Input::new),
            output: args.output,
            platforms: args.platforms,
            with_referrers: args.with_referrers,
            chart_archive,
            values: args.values.into(),
            render,
        })
    }
}

#[derive(Debug)]
pub struct Diff {
    pub old: Input,
    pub new: Input,
    /// The user's target; `None` without `--registry` or `--mapping`: the comparison is of
    /// sources only (no overlay change, no copy plan).
    pub mapping: Option<RegistryMapping>,
    /// What both image plans are built with, since a plan sorts images by destination: `mapping`,
    /// or for a comparison of sources only a stand-in (`mirror.invalid`, a name reserved never to
    /// resolve) that no output names.
    pub plan_mapping: RegistryMapping,
    pub format: DiffFormat,
    /// With `--fail-on-new-images`: the list of references already mirrored.
    pub mirrored: Option<Input>,
    pub values: Values,
    pub allow_incomplete: bool,
    /// What both versions are rendered for.
    pub render: RenderOptions,
}

impl TryFrom<DiffArgs> for Diff {
    type Error = Error;

    fn try_from(args: DiffArgs) -> Result<Diff> {
        let render = args.cluster.render(RenderOptions::default())?;
        let mapping = match (&args.target.registry, &args.target.mapping) {
            (None, None) => None,
            _ => Some(args.target.mapping()?),
        };
        let copies = matches!(args.format, DiffFormat::List | DiffFormat::Skopeo | DiffFormat::Crane);
        if copies && mapping.is_none() {
            return Err(Error::coded(
                Code::DiffNeedsDestination,
                "diff: a copy plan (--format list, skopeo or crane) needs a destination",
            ));
        }
        let plan_mapping = match &mapping {
            Some(mapping) => mapping.clone(),
            None => RegistryMapping::from_registry("mirror.invalid")?,
        };
        Ok(Diff {
            allow_incomplete: allow_incomplete(&args.completeness),
            old: Input::new(args.old),
            new: Input::new(args.new),
            mapping,
            plan_mapping,
            format: args.format,
            // clap requires --mirrored with --fail-on-new-images; alone it is read by nothing.
            mirrored: args.mirrored.filter(|_| args.fail_on_new_images).map(Input::new),
            values: args.values.into(),
            render,
        })
    }
}

#[derive(Debug)]
pub struct Template {
    pub chart: Input,
    pub values: Values,
    pub render: RenderOptions,
    pub allow_incomplete: bool,
}

impl TryFrom<TemplateArgs> for Template {
    type Error = Error;

    fn try_from(args: TemplateArgs) -> Result<Template> {
        let render = args.cluster.render(RenderOptions {
            release_name: args.release_name,
            namespace: args.namespace,
            ..RenderOptions::default()
        })?;
        Ok(Template {
            allow_incomplete: allow_incomplete(&args.completeness),
            chart: Input::new(args.chart),
            values: args.values.into(),
            render,
        })
    }
}
