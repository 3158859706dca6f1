//! The mirror plan: every image a chart needs copied to the private registry, deduplicated and
//! sorted, with each place that uses it, rendered as a copy list, a script or a sync config.
//!
//! Every format is a handlebars template embedded in the binary (`src/mirror/*.hbs`), and a
//! user's own template (`--template FILE`) sees the same variables. `--format json` prints
//! exactly those variables, so it doubles as their reference.
//!
//! # Template variables
//!
//! At the top level:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `images` | every image to copy, sorted by source; each has the fields below |
//! | `enabled_count`, `disabled_count` | how many images an enabled site uses, and how many only disabled subcharts use |
//! | `excluded` | sources the mapping leaves where they are (excluded, or matched by no rule); the source fields below, `sites` and `chart`/`values_path` |
//! | `already_on_destination` | sources already on a destination registry: nothing to copy |
//! | `destination_registries` | the destination hosts of `images`, sorted (for login lines) |
//! | `generator` | `helm-retarget VERSION` |
//! | `platforms`, `platform_list`, `filtered` | `--platform`: each with `platform`, `os`, `architecture`, `variant`; the list comma-joined; true when it narrows the copy |
//! | `with_referrers` | `--with-referrers`: signatures, SBOMs and attestations come along |
//! | `chart_archive` | `--chart-archive`: `archive`, `file_name`, `name`, `version`, `destination` (`oci://…`, for `helm push`), `reference`; null without it |
//!
//! Each image:
//!
//! | variable | example |
//! | --- | --- |
//! | `source` | `docker.io/library/nginx:1.25@sha256:…` (fully qualified) |
//! | `source_short` | `nginx:1.25@sha256:…` (as `docker images` prints it) |
//! | `source_registry`, `source_path`, `source_name` | `docker.io`, `library/nginx`, `docker.io/library/nginx` |
//! | `destination` | `harbor.example.com/mirror/library/nginx:1.25@sha256:…` |
//! | `destination_registry`, `destination_path`, `destination_name` | `harbor.example.com`, `mirror/library/nginx`, … |
//! | `tag`, `digest` | `1.25`, `sha256:…`; null when the reference has none |
//! | `copy_source` | what to pull: `source_name@digest` when pinned, else `source_name:tag` (`:latest` when neither) |
//! | `copy_destination` | what to push: `destination_name:tag` when there is a tag, else `destination_name@digest` (with `--platform`, always a tag: the filtered index has a digest of its own) |
//! | `kept_digest` | the source's digest when the copy keeps it (null with `--platform`) |
//! | `layout_tag` | the image's name in the bundle's OCI layout (`image-0001`) |
//! | `artifact` | true for an OCI artifact that is not a container image (a plugin or policy bundle, by its key or path) |
//! | `tagged_destination` | `copy_destination`, but always a tag (`sha256-HEX` from a lone digest), for tools that cannot push by digest |
//! | `chart`, `values_path` | the charts and values paths that use it, joined with `, ` (`values_path` is empty for manifest-stream sites) |
//! | `charts`, `values_paths` | the same as lists |
//! | `sites` | every use: `chart`, `values_path` (null for a manifest stream), `location`, `disabled` |
//! | `disabled` | true when only disabled subcharts use it |
//!
//! Helpers: `{{shell-quote a b …}}` joins its arguments and quotes them for bash;
//! `{{json x}}` writes `x` as JSON (a double-quoted string is also valid YAML);
//! `{{one-line x}}` makes text safe for a `#` comment (control characters become `?`).
//! Templates run in strict mode: a misspelt variable is an error, not an empty string.
//!
//! # Digests
//!
//! A source pinned by digest is copied by digest, so the bytes at the destination are the ones
//! the chart pinned, whatever the tag points to today. When it also has a tag, the destination
//! gets that tag: the overlay's `REG/app:1.2@sha256:…` resolves by digest alone, but a tag
//! keeps the image findable and out of registry clean-up rules for untagged manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError, RenderErrorReason};
use serde::Serialize;

use crate::diagnostic::Code;
use crate::error::Error;
use crate::mapping::RegistryMapping;
use crate::reference::Reference;

/// Where an image is used (one per image site).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MirrorSite {
    /// The chart (or subchart path, `parent/child`) whose template uses the image.
    pub chart: String,
    /// The values path that sets the image, when one does.
    pub values_path: Option<String>,
    /// `Deployment/x spec.template.spec.containers[0].image`, or `manifest stream`.
    pub location: String,
    /// True when the site belongs to a disabled subchart.
    pub disabled: bool,
}

/// One copy: source -> destination, with every site that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorImage {
    pub source: Reference,
    pub destination: Reference,
    /// Sorted, without repeats.
    pub sites: Vec<MirrorSite>,
}

impl MirrorImage {
    /// True when only disabled subcharts use the image: installing the chart as configured does
    /// not pull it.
    pub fn disabled(&self) -> bool {
        self.sites.iter().all(|site| site.disabled)
    }
}

/// A source the plan does not copy, with the sites that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncopiedImage {
    pub source: Reference,
    /// Sorted, without repeats.
    pub sites: Vec<MirrorSite>,
}

/// Every image to copy, deduplicated by source and sorted; excluded sources and sources
/// already on a destination registry are kept apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorPlan {
    images: Vec<MirrorImage>,
    excluded: Vec<UncopiedImage>,
    already_on_destination: Vec<UncopiedImage>,
}

/// The output formats `--format` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// One fully qualified source a line, like an images-used file.
    List,
    /// Source TAB destination, one copy a line.
    Tsv,
    /// The plan with every template variable.
    Json,
    /// A bash script of `skopeo copy --all --preserve-digests`.
    Skopeo,
    /// A bash script of `crane copy` (copies every platform by default).
    Crane,
    /// A bash script of `docker pull`, `tag` and `push` (one platform only).
    Docker,
    /// A regsync configuration file (`regsync once -c FILE`).
    Regsync,
    /// A YAML source file for `skopeo sync --src yaml`.
    SkopeoSync,
    /// `Copying SRC to DST (dry-run)` lines.
    DryRun,
    /// A bash script that asks the registry for each destination's digest and prints the images
    /// lock (`--pin-digests LOCK`).
    Lock,
    /// A bash script of `oras cp` (`-r` with --with-referrers: signatures, SBOMs, attestations).
    Oras,
    /// Two bash scripts for an air gap (`-o DIR`): `save.sh` writes every image into one OCI
    /// layout archive, `load.sh` pushes that archive's images to their destinations.
    Bundle,
}

impl Format {
    pub const ALL: [Format; 12] = [
        Format::List,
        Format::Tsv,
        Format::Json,
        Format::Skopeo,
        Format::Crane,
        Format::Docker,
        Format::Regsync,
        Format::SkopeoSync,
        Format::DryRun,
        Format::Lock,
        Format::Oras,
        Format::Bundle,
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::List => "list",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Skopeo => "skopeo",
            Format::Crane => "crane",
            Format::Docker => "docker",
            Format::Regsync => "regsync",
            Format::SkopeoSync => "skopeo-sync",
            Format::DryRun => "dry-run",
            Format::Lock => "lock",
            Format::Oras => "oras",
            Format::Bundle => "bundle",
        }
    }

    /// True for the bash scripts, which a caller writing a file may want to make executable.
    pub fn is_script(self) -> bool {
        matches!(self, Format::Skopeo | Format::Crane | Format::Docker | Format::Lock | Format::Oras | Format::Bundle)
    }

    /// The embedded template, or None for JSON (serialised directly).
    fn template(self) -> Option<&'static str> {
        match self {
            Format::List => Some(include_str!("mirror/list.hbs")),
            Format::Tsv => Some(include_str!("mirror/tsv.hbs")),
            Format::Json => None,
            Format::Skopeo => Some(include_str!("mirror/skopeo.sh.hbs")),
            Format::Crane => Some(include_str!("mirror/crane.sh.hbs")),
            Format::Docker => Some(include_str!("mirror/docker.sh.hbs")),
            Format::Regsync => Some(include_str!("mirror/regsync.yaml.hbs")),
            Format::SkopeoSync => Some(include_str!("mirror/skopeo-sync.yaml.hbs")),
            Format::DryRun => Some(include_str!("mirror/dry-run.hbs")),
            Format::Lock => Some(include_str!("mirror/lock.sh.hbs")),
            Format::Oras => Some(include_str!("mirror/oras.sh.hbs")),
            // Two scripts: see `render_bundle`.
            Format::Bundle => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(text: &str) -> Result<Format, Error> {
        Format::ALL.into_iter().find(|format| format.name() == text).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            Error::coded(Code::MirrorFormatUnknown, format!("unknown mirror format {text:?}"))
                .at("--format")
                .hint(format!("use one of {}, or --template FILE", names.join(", ")))
        })
    }
}

/// One `--platform`: `os/arch[/variant]`, as the OCI image index names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(text: &str) -> Result<Platform, Error> {
        let parts: Vec<&str> = text.split('/').collect();
        let word = |part: &&str| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(word) {
            return Err(Error::new(format!("{text:?} is not a platform"))
                .at("--platform")
                .hint("write OS/ARCH or OS/ARCH/VARIANT, comma-separated: --platform linux/amd64,linux/arm64/v8"));
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

/// The chart archive copied with the images (`--chart-archive OUT.tgz`): `helm push` puts it at
/// `oci://REGISTRY/charts/NAME:VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartArchive {
    /// The archive's path as the user gave it (the scripts run where `mirror` ran).
    pub archive: String,
    pub name: String,
    pub version: String,
    /// `oci://HOST[/PATH]`, what `helm push` takes.
    pub destination: String,
}

/// How the copy is made beyond the plan itself: which platforms, whether referrers come along,
/// and the chart archive pushed with the images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Empty: every platform.
    pub platforms: Vec<Platform>,
    pub with_referrers: bool,
    pub chart: Option<ChartArchive>,
}

/// How many platforms a format's tool can select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlatformChoice {
    /// Any list (the format copies nothing itself, or its tool filters an index).
    List,
    /// One platform, or every platform.
    One,
    /// Every platform only.
    AllOnly,
}

/// What a format's tool can do with `--platform` and `--with-referrers`, and what to use instead.
struct Capabilities {
    platforms: PlatformChoice,
    /// Why the platform list cannot be expressed, and what to use instead.
    platforms_instead: &'static str,
    /// None: copies referrers; Some: why not, and what to use instead.
    referrers_instead: Option<&'static str>,
}

const NO_REFERRERS_HINT: &str = "use --format oras (`oras cp -r`), regsync (`referrers: true`) or bundle, \
                                 which copy OCI referrers; signatures cosign stores under `sha256-HEX.sig` tags \
                                 come along with `cosign copy SRC DST`";

impl Format {
    fn capabilities(self) -> Capabilities {
        let listing = Capabilities { platforms: PlatformChoice::List, platforms_instead: "", referrers_instead: None };
        match self {
            Format::List | Format::Tsv | Format::Json | Format::DryRun | Format::Lock | Format::Regsync => listing,
            Format::Crane => Capabilities {
                referrers_instead: Some(
                    "crane copy copies an image without its referrers (signatures, SBOMs, attestations)",
                ),
                ..listing
            },
            Format::Skopeo => Capabilities {
                platforms: PlatformChoice::One,
                platforms_instead: "skopeo copy copies one platform (--override-os/--override-arch) or every one \
                                    (--all), never a list",
                referrers_instead: Some(
                    "skopeo copy copies an image without its OCI referrers (signatures, SBOMs, attestations)",
                ),
            },
            Format::Docker => Capabilities {
                platforms: PlatformChoice::One,
                platforms_instead: "docker pull --platform pulls one platform",
                referrers_instead: Some(
                    "docker pull and push move an image without its referrers (signatures, SBOMs, attestations)",
                ),
            },
            Format::SkopeoSync => Capabilities {
                platforms: PlatformChoice::AllOnly,
                platforms_instead: "the sync file is written for `skopeo sync --all`, which copies every platform",
                referrers_instead: Some(
                    "skopeo sync copies images without their OCI referrers (signatures, SBOMs, attestations)",
                ),
            },
            Format::Oras | Format::Bundle => Capabilities {
                platforms: PlatformChoice::One,
                platforms_instead: "oras cp --platform copies one platform (or, without it, every one), never a list",
                referrers_instead: None,
            },
        }
    }

    /// Refuses options this format's tool cannot carry out: copying everything, or one
    /// platform of several, would be silently wrong.
    pub fn check_options(self, options: &CopyOptions) -> Result<(), Error> {
        let capabilities = self.capabilities();
        let count = options.platforms.len();
        let refused = match capabilities.platforms {
            PlatformChoice::List => false,
            PlatformChoice::One => count > 1,
            PlatformChoice::AllOnly => count > 0,
        };
        if refused {
            let list: Vec<String> = options.platforms.iter().map(Platform::to_string).collect();
            let hint = match capabilities.platforms {
                PlatformChoice::One => {
                    "use --format crane (`crane index filter`) or regsync (`platforms:`), which \
                                        take a list, or give one --platform"
                }
                _ => "use --format crane (`crane index filter`) or regsync (`platforms:`), which take a list",
            };
            return Err(Error::new(format!(
                "cannot copy only {}: {}",
                list.join(", "),
                capabilities.platforms_instead
            ))
            .at(format!("--format {} --platform", self.name()))
            .hint(hint));
        }
        if let (true, Some(why)) = (options.with_referrers, capabilities.referrers_instead) {
            return Err(Error::new(why)
                .at(format!("--format {} --with-referrers", self.name()))
                .hint(NO_REFERRERS_HINT));
        }
        Ok(())
    }

    /// The warning `--platform` earns: what filtering does to the index digest with this tool.
    pub fn platform_warning(self, options: &CopyOptions) -> Option<String> {
        if options.platforms.is_empty() {
            return None;
        }
        let names: Vec<String> = options.platforms.iter().map(Platform::to_string).collect();
        let (list, flag) = (names.join(", "), names.join(","));
        Some(match (self, options.platforms.len()) {
            (Format::Regsync, _) => format!(
                "--platform {list}: regsync keeps each source index (and its digest) but copies only these \
                 platforms' images under it; registries that check an index's entries refuse it, and a node of \
                 another platform pulls nothing"
            ),
            (_, 1) => format!(
                "--platform {list}: a multi-platform image arrives as that one platform's image, under that \
                 image's digest, not the index's: a digest the chart pins (and a lock written without \
                 --platform) no longer names what the mirror holds"
            ),
            _ => format!(
                "--platform {list}: filtering an index writes a new index with a new digest: a digest the chart \
                 pins (and a lock written without --platform) no longer names what the mirror holds; pin the \
                 filtered index with `--format lock --platform {flag}` after the copy"
            ),
        })
    }
}

impl MirrorPlan {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one use of `source`; the mapping decides the destination (excluded: recorded apart;
    /// already on the target: no copy needed, recorded apart).
    pub fn add(&mut self, source: &Reference, mapping: &RegistryMapping, site: MirrorSite) {
        // Sources compare by their fully qualified text: `nginx` and `docker.io/library/nginx`
        // are one image even though one named its registry.
        let key = source.to_string();
        if let Some(destination) = mapping.destination(source) {
            let at = self.images.binary_search_by(|image| image.source.to_string().cmp(&key));
            match at {
                Ok(index) => insert_site(&mut self.images[index].sites, site),
                Err(index) => {
                    self.images.insert(index, MirrorImage { source: source.clone(), destination, sites: vec![site] })
                }
            }
            return;
        }
        let list = if mapping.is_destination(source) { &mut self.already_on_destination } else { &mut self.excluded };
        match list.binary_search_by(|image| image.source.to_string().cmp(&key)) {
            Ok(index) => insert_site(&mut list[index].sites, site),
            Err(index) => list.insert(index, UncopiedImage { source: source.clone(), sites: vec![site] }),
        }
    }

    /// Every image to copy, sorted by fully qualified source; disabled-only images included
    /// (see [`MirrorImage::disabled`]).
    pub fn images(&self) -> &[MirrorImage] {
        &self.images
    }

    /// Sources the mapping leaves where they are: excluded, or matched by no rule.
    pub fn excluded(&self) -> &[UncopiedImage] {
        &self.excluded
    }

    /// Sources already on a destination registry: nothing to copy.
    pub fn already_on_destination(&self) -> &[UncopiedImage] {
        &self.already_on_destination
    }

    /// The part of this plan that `earlier` does not hold (by fully qualified source): what an
    /// upgrade adds to copy, retagged images included.
    pub fn without(&self, earlier: &MirrorPlan) -> MirrorPlan {
        let known: BTreeSet<String> = earlier.images.iter().map(|image| image.source.to_string()).collect();
        let known_uncopied: BTreeSet<String> = earlier
            .excluded
            .iter()
            .chain(&earlier.already_on_destination)
            .map(|image| image.source.to_string())
            .collect();
        let new_uncopied = |list: &[UncopiedImage]| -> Vec<UncopiedImage> {
            list.iter().filter(|image| !known_uncopied.contains(&image.source.to_string())).cloned().collect()
        };
        MirrorPlan {
            images: self.images.iter().filter(|image| !known.contains(&image.source.to_string())).cloned().collect(),
            excluded: new_uncopied(&self.excluded),
            already_on_destination: new_uncopied(&self.already_on_destination),
        }
    }

    /// Renders the plan in a built-in format, copying every platform without referrers.
    pub fn render(&self, format: Format) -> Result<String, Error> {
        self.render_with_options(format, &CopyOptions::default())
    }

    /// Renders the plan in a built-in format with `options` (refused when the format's tool
    /// cannot carry them out). `--format bundle` is two scripts: see [`MirrorPlan::render_bundle`].
    pub fn render_with_options(&self, format: Format, options: &CopyOptions) -> Result<String, Error> {
        format.check_options(options)?;
        let variables = self.variables(options);
        if format == Format::Bundle {
            return Err(Error::new("--format bundle writes two scripts, save.sh and load.sh")
                .at("--format bundle")
                .hint("name the directory to write them to with -o DIR"));
        }
        let Some(template) = format.template() else {
            let mut text = serde_json::to_string_pretty(&variables)
                .map_err(|e| Error::new(format!("cannot write the plan as JSON: {e}")))?;
            text.push('\n');
            return Ok(text);
        };
        let name = format!("--format {}", format.name());
        let rendered = if format == Format::SkopeoSync {
            let sync = SkopeoSyncVariables::new(self, &variables)?;
            render_with(template, &name, &sync)
        } else {
            render_with(template, &name, &variables)
        };
        // A failure here is our bug, not the user's: say so.
        rendered.map_err(|error| error.hint("this is a bug in helm-retarget's built-in template; please report it"))
    }

    /// `--format bundle`: the save script (connected side: every image into one OCI layout
    /// archive) and the load script (disconnected side: that archive's images to their
    /// destinations), as (file name, text).
    pub fn render_bundle(&self, options: &CopyOptions) -> Result<[(&'static str, String); 2], Error> {
        Format::Bundle.check_options(options)?;
        let variables = self.variables(options);
        let render = |file: &'static str, template: &str| {
            render_with(template, &format!("--format bundle ({file})"), &variables)
                .map(|text| (file, text))
                .map_err(|error| error.hint("this is a bug in helm-retarget's built-in template; please report it"))
        };
        Ok([
            render("save.sh", include_str!("mirror/bundle-save.sh.hbs"))?,
            render("load.sh", include_str!("mirror/bundle-load.sh.hbs"))?,
        ])
    }

    /// A user's own handlebars template (`--template FILE`), same variables as the built-ins.
    /// `file_name` names the template in errors.
    pub fn render_template(&self, template: &str, file_name: &str, options: &CopyOptions) -> Result<String, Error> {
        render_with(template, file_name, &self.variables(options)).map_err(|error| {
            let hint = "`helm-retarget mirror --format json` prints every variable a template \
                        can use; the README lists them";
            error.hint(hint)
        })
    }

    fn variables(&self, options: &CopyOptions) -> PlanVariables {
        let filtered = !options.platforms.is_empty();
        let images: Vec<ImageVariables> =
            self.images.iter().enumerate().map(|(index, image)| ImageVariables::new(image, index, filtered)).collect();
        let disabled_count = images.iter().filter(|image| image.disabled).count();
        let destination_registries: BTreeSet<String> =
            self.images.iter().map(|image| image.destination.registry.clone()).collect();
        let platform_names: Vec<String> = options.platforms.iter().map(Platform::to_string).collect();
        PlanVariables {
            generator: concat!("helm-retarget ", env!("CARGO_PKG_VERSION")),
            enabled_count: images.len() - disabled_count,
            disabled_count,
            images,
            excluded: self.excluded.iter().map(UncopiedVariables::new).collect(),
            already_on_destination: self.already_on_destination.iter().map(UncopiedVariables::new).collect(),
            destination_registries: destination_registries.into_iter().collect(),
            platform_list: platform_names.join(","),
            platforms: options
                .platforms
                .iter()
                .map(|platform| PlatformVariables {
                    platform: platform.to_string(),
                    os: platform.os.clone(),
                    architecture: platform.architecture.clone(),
                    variant: platform.variant.clone(),
                })
                .collect(),
            filtered,
            several_platforms: options.platforms.len() > 1,
            with_referrers: options.with_referrers,
            chart_archive: options.chart.as_ref().map(ChartArchiveVariables::new),
        }
    }
}

fn insert_site(sites: &mut Vec<MirrorSite>, site: MirrorSite) {
    if let Err(index) = sites.binary_search(&site) {
        sites.insert(index, site);
    }
}

/// What every template sees at the top level.
#[derive(Debug, Serialize)]
struct PlanVariables {
    generator: &'static str,
    images: Vec<ImageVariables>,
    enabled_count: usize,
    disabled_count: usize,
    excluded: Vec<UncopiedVariables>,
    already_on_destination: Vec<UncopiedVariables>,
    destination_registries: Vec<String>,
    /// `--platform`, each part apart; empty: every platform.
    platforms: Vec<PlatformVariables>,
    /// `--platform` as given, comma-separated (`linux/amd64,linux/arm64`); empty: every platform.
    platform_list: String,
    /// True when `--platform` narrows the copy (index digests change).
    filtered: bool,
    /// True when `--platform` names more than one platform (`crane index filter`, not `crane copy`).
    several_platforms: bool,
    /// `--with-referrers`: signatures, SBOMs and attestations come along.
    with_referrers: bool,
    /// `--chart-archive`: the chart pushed with its images; null without it.
    chart_archive: Option<ChartArchiveVariables>,
}

#[derive(Debug, Serialize)]
struct PlatformVariables {
    platform: String,
    os: String,
    architecture: String,
    variant: Option<String>,
}

#[derive(Debug, Serialize)]
struct ChartArchiveVariables {
    archive: String,
    /// The archive's file name, as the bundle carries it.
    file_name: String,
    name: String,
    version: String,
    /// `oci://HOST/PATH`, what `helm push` takes.
    destination: String,
    /// Where `helm push` puts it: `HOST/PATH/NAME:VERSION` (a `+` in the version becomes `_`,
    /// as tags cannot hold `+`).
    reference: String,
}

impl ChartArchiveVariables {
    fn new(chart: &ChartArchive) -> Self {
        let file_name = Path::new(&chart.archive)
            .file_name()
            .map_or_else(|| "chart.tgz".to_string(), |name| name.to_string_lossy().into_owned());
        ChartArchiveVariables {
            archive: chart.archive.clone(),
            file_name,
            name: chart.name.clone(),
            version: chart.version.clone(),
            destination: chart.destination.clone(),
            reference: format!(
                "{}/{}:{}",
                chart.destination.trim_start_matches("oci://").trim_end_matches('/'),
                chart.name,
                chart.version.replace('+', "_")
            ),
        }
    }
}

/// The source side of an image and where it is used, shared by copied and uncopied images.
#[derive(Debug, Serialize)]
struct SourceVariables {
    source: String,
    source_short: String,
    source_registry: String,
    source_path: String,
    source_name: String,
    tag: Option<String>,
    digest: Option<String>,
    chart: String,
    charts: Vec<String>,
    values_path: String,
    values_paths: Vec<String>,
    sites: Vec<SiteVariables>,
    disabled: bool,
}

impl SourceVariables {
    fn new(source: &Reference, sites: &[MirrorSite]) -> Self {
        let charts: BTreeSet<&str> = sites.iter().map(|site| site.chart.as_str()).collect();
        let values_paths: BTreeSet<&str> = sites.iter().filter_map(|site| site.values_path.as_deref()).collect();
        let charts: Vec<String> = charts.into_iter().map(str::to_string).collect();
        let values_paths: Vec<String> = values_paths.into_iter().map(str::to_string).collect();
        SourceVariables {
            source: source.to_string(),
            source_short: source.familiar(),
            source_registry: source.registry.clone(),
            source_path: source.repository.clone(),
            source_name: source.name(),
            tag: source.tag.clone(),
            digest: source.digest.clone(),
            chart: charts.join(", "),
            charts,
            values_path: values_paths.join(", "),
            values_paths,
            sites: sites.iter().map(SiteVariables::new).collect(),
            disabled: sites.iter().all(|site| site.disabled),
        }
    }
}

#[derive(Debug, Serialize)]
struct SiteVariables {
    chart: String,
    values_path: Option<String>,
    location: String,
    disabled: bool,
}

impl SiteVariables {
    fn new(site: &MirrorSite) -> Self {
        SiteVariables {
            chart: site.chart.clone(),
            values_path: site.values_path.clone(),
            location: site.location.clone(),
            disabled: site.disabled,
        }
    }
}

#[derive(Debug, Serialize)]
struct ImageVariables {
    #[serde(flatten)]
    source: SourceVariables,
    destination: String,
    destination_registry: String,
    destination_path: String,
    destination_name: String,
    copy_source: String,
    copy_destination: String,
    tagged_destination: String,
    /// An OCI artifact, not a container image (see `discover::is_artifact`): `oras copy` copies it
    /// as is, where docker and skopeo expect an image.
    artifact: bool,
    /// The image's name inside the bundle's OCI layout (`image-0001`).
    layout_tag: String,
    /// The digest the copy keeps: the source's pin, unless `--platform` filters it away.
    kept_digest: Option<String>,
    /// Repeated from `source` so Rust code can filter without reaching into the flattened part.
    #[serde(skip)]
    disabled: bool,
}

impl ImageVariables {
    /// `filtered`: `--platform` narrows the copy, so what arrives has a new digest and is
    /// pushed under a tag (`sha256-HEX` for a source pinned by digest alone).
    fn new(image: &MirrorImage, index: usize, filtered: bool) -> Self {
        let source = SourceVariables::new(&image.source, &image.sites);
        let destination = &image.destination;
        let disabled = source.disabled;
        let kept_digest = if filtered { None } else { source.digest.clone() };
        ImageVariables {
            source,
            destination: destination.to_string(),
            destination_registry: destination.registry.clone(),
            destination_path: destination.repository.clone(),
            destination_name: destination.name(),
            copy_source: copy_source(&image.source),
            copy_destination: if filtered { tagged_destination(destination) } else { copy_destination(destination) },
            tagged_destination: tagged_destination(destination),
            layout_tag: format!("image-{:04}", index + 1),
            kept_digest,
            artifact: image.sites.iter().any(|site| crate::discover::is_artifact(&image.source, &site.location)),
            disabled,
        }
    }
}

#[derive(Debug, Serialize)]
struct UncopiedVariables {
    #[serde(flatten)]
    source: SourceVariables,
}

impl UncopiedVariables {
    fn new(image: &UncopiedImage) -> Self {
        UncopiedVariables { source: SourceVariables::new(&image.source, &image.sites) }
    }
}

/// What to pull: by digest when pinned (the tag may have moved since the chart pinned it), by
/// tag otherwise, and `latest` spelled out when the reference has neither.
pub fn copy_source(source: &Reference) -> String {
    match (&source.digest, &source.tag) {
        (Some(digest), _) => format!("{}@{digest}", source.name()),
        (None, Some(tag)) => format!("{}:{tag}", source.name()),
        (None, None) => format!("{}:latest", source.name()),
    }
}

/// What to push: the tag when there is one (a pinned source's bytes arrive under it, so the
/// overlay's `tag@digest` resolves and the manifest stays tagged), else the bare digest.
pub fn copy_destination(destination: &Reference) -> String {
    match (&destination.tag, &destination.digest) {
        (Some(tag), _) => format!("{}:{tag}", destination.name()),
        (None, Some(digest)) => format!("{}@{digest}", destination.name()),
        (None, None) => format!("{}:latest", destination.name()),
    }
}

/// A tag to push under even when the reference has only a digest (`sha256-HEX`, cut to the
/// 128 characters a tag may have), for tools like `docker push` that cannot push by digest.
fn tagged_destination(destination: &Reference) -> String {
    match (&destination.tag, &destination.digest) {
        (None, Some(digest)) => {
            let mut tag = digest.replace(':', "-");
            tag.truncate(128);
            format!("{}:{tag}", destination.name())
        }
        _ => copy_destination(destination),
    }
}

/// `skopeo sync` names destinations itself: `DEST/BASENAME:TAG`, or with `--scoped`
/// `DEST/SOURCE-REGISTRY/PATH:TAG`. So one sync file can only hold a plan whose destinations
/// all follow one of those shapes for one `DEST`.
#[derive(Debug, Serialize)]
struct SkopeoSyncVariables<'a> {
    #[serde(flatten)]
    plan: &'a PlanVariables,
    sync_destination: String,
    scoped: bool,
    registries: Vec<SyncRegistry>,
}

#[derive(Debug, Serialize)]
struct SyncRegistry {
    registry: String,
    repositories: Vec<SyncRepository>,
}

#[derive(Debug, Serialize)]
struct SyncRepository {
    path: String,
    /// Tags, or digests for pinned sources (a tag would copy whatever it points to today).
    references: Vec<String>,
}

impl<'a> SkopeoSyncVariables<'a> {
    fn new(plan: &MirrorPlan, variables: &'a PlanVariables) -> Result<Self, Error> {
        let enabled: Vec<&MirrorImage> = plan.images.iter().filter(|image| !image.disabled()).collect();
        // The DEST each shape would need for each image: the parent of the destination name
        // (plain), or the destination name with the full source name cut off (scoped).
        let plain: BTreeSet<String> = enabled
            .iter()
            .map(|image| {
                let name = image.destination.name();
                match name.rsplit_once('/') {
                    Some((parent, base)) if Some(base) == image.source.repository.rsplit('/').next() => {
                        parent.to_string()
                    }
                    _ => format!("(no DEST gives {name})"),
                }
            })
            .collect();
        let scoped: BTreeSet<String> = enabled
            .iter()
            .map(|image| {
                let name = image.destination.name();
                name.strip_suffix(&format!("/{}", image.source.name()))
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("(no DEST gives {name})"))
            })
            .collect();
        let (sync_destination, is_scoped) = if plain.len() <= 1 {
            (plain.into_iter().next(), false)
        } else if scoped.len() == 1 {
            (scoped.into_iter().next(), true)
        } else {
            let needed: Vec<String> = plain.into_iter().collect();
            return Err(Error::coded(
                Code::SkopeoSyncCannotExpress,
                format!(
                    "skopeo sync copies every image of one file to DEST/NAME (or \
                 DEST/SOURCE-REGISTRY/PATH with --scoped), but this plan's destinations need {} \
                 different DEST: {}",
                    needed.len(),
                    needed.join(", ")
                ),
            )
            .at("--format skopeo-sync")
            .hint(
                "use `layout: keep-host` in the --mapping file (that is --scoped's layout), or \
                 --format skopeo or regsync, which name each destination",
            ));
        };
        // An empty plan has no DEST of its own; the command still shows where one goes.
        let sync_destination = sync_destination.unwrap_or_else(|| "DEST".to_string());
        if sync_destination.starts_with("(no DEST") {
            return Err(Error::coded(
                Code::SkopeoSyncCannotExpress,
                format!("skopeo sync cannot reproduce the destination {sync_destination}"),
            )
            .at("--format skopeo-sync")
            .hint("use --format skopeo or regsync, which name each destination"));
        }

        let mut registries: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for image in &enabled {
            let reference = match (&image.source.digest, &image.source.tag) {
                (Some(digest), _) => digest.clone(),
                (None, Some(tag)) => tag.clone(),
                // An empty list would copy every tag of the repository.
                (None, None) => "latest".to_string(),
            };
            registries
                .entry(image.source.registry.clone())
                .or_default()
                .entry(image.source.repository.clone())
                .or_default()
                .insert(reference);
        }
        Ok(SkopeoSyncVariables {
            plan: variables,
            sync_destination,
            scoped: is_scoped,
            registries: registries
                .into_iter()
                .map(|(registry, repositories)| SyncRegistry {
                    registry,
                    repositories: repositories
                        .into_iter()
                        .map(|(path, references)| SyncRepository { path, references: references.into_iter().collect() })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// Pieces the built-in templates share; user templates may use them too (`{{> image-comment}}`).
const PARTIALS: &[(&str, &str)] = &[
    ("image-comment", include_str!("mirror/image-comment.hbs")),
    ("uncopied-comment", include_str!("mirror/uncopied-comment.hbs")),
    ("chart-push", include_str!("mirror/chart-push.hbs")),
];

/// Renders `template` (named `name` in errors) over `variables` with our helpers, no HTML
/// escaping, and strict mode.
fn render_with(template: &str, name: &str, variables: &impl Serialize) -> Result<String, Error> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.register_helper("shell-quote", Box::new(shell_quote_helper));
    registry.register_helper("json", Box::new(json_helper));
    registry.register_helper("one-line", Box::new(one_line_helper));
    for (partial, text) in PARTIALS {
        registry
            .register_partial(partial, *text)
            .map_err(|e| Error::new(format!("built-in partial {partial}: {e}")))?;
    }
    registry.register_template_string(name, template).map_err(|e| {
        let error =
            Error::coded(Code::MirrorTemplateInvalid, format!("not a valid handlebars template: {}", e.reason()))
                .at(name);
        match e.pos() {
            Some((line, _column)) => error.line(line),
            None => error,
        }
    })?;
    registry.render(name, variables).map_err(|e| {
        let error = Error::coded(Code::MirrorTemplateInvalid, render_error_message(&e)).at(name);
        match e.line_no {
            Some(line) => error.line(line),
            None => error,
        }
    })
}

fn render_error_message(error: &RenderError) -> String {
    match error.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => {
            format!("the template uses {path:?}, which is not a mirror plan variable")
        }
        reason => reason.to_string(),
    }
}

/// A helper argument as text: strings as they are, anything else as JSON.
fn argument_text(helper: &Helper<'_>, index: usize) -> Result<String, RenderError> {
    let param = helper.param(index).ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("an argument", index))?;
    Ok(match param.value() {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// `{{shell-quote "docker://" copy_source}}`: the arguments joined, as one bash word.
fn shell_quote_helper(
    helper: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    if helper.params().is_empty() {
        return Err(RenderErrorReason::ParamNotFoundForIndex("shell-quote", 0).into());
    }
    let mut word = String::new();
    for index in 0..helper.params().len() {
        word.push_str(&argument_text(helper, index)?);
    }
    out.write(&shell_quote(&word))?;
    Ok(())
}

/// `{{json value}}`: the value as JSON; a string comes out double-quoted and escaped, which is
/// also a valid YAML scalar.
fn json_helper(
    helper: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let param = helper.param(0).ok_or(RenderErrorReason::ParamNotFoundForIndex("json", 0))?;
    out.write(&param.value().to_string())?;
    Ok(())
}

/// `{{one-line text}}`: text safe inside a `#` comment, where a newline from a hostile chart's
/// values path would otherwise start a command.
fn one_line_helper(
    helper: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text = argument_text(helper, 0)?;
    out.write(&one_line(&text))?;
    Ok(())
}

/// Quotes `word` for bash: single quotes, with each `'` written as `'\''`.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `text` with every control character (newlines included) replaced by `?`.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn reference(text: &str) -> Reference {
        Reference::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn mapping(yaml: &str) -> RegistryMapping {
        RegistryMapping::from_yaml_text(yaml, "mapping.yaml", None).unwrap_or_else(|e| panic!("{e}"))
    }

    const KEEP_PATH: &str = "registry: harbor.example.com/mirror\n\
                             exclude:\n  - registry.k8s.io/pause\n";
    const KEEP_HOST: &str = "registry: harbor.example.com/mirror\nlayout: keep-host\n\
                             exclude:\n  - registry.k8s.io/pause\n";

    fn site(chart: &str, values_path: Option<&str>, location: &str, disabled: bool) -> MirrorSite {
        MirrorSite {
            chart: chart.into(),
            values_path: values_path.map(str::to_string),
            location: location.into(),
            disabled,
        }
    }

    /// Several registries; tag only, digest only, tag+digest; a Docker Hub official image
    /// named two ways; an excluded source; one already on the destination; a disabled-only
    /// image; an image used by an enabled and a disabled site.
    fn plan_with(mapping_yaml: &str) -> MirrorPlan {
        let mapping = mapping(mapping_yaml);
        let mut plan = MirrorPlan::new();
        let mut add = |text: &str, site: MirrorSite| plan.add(&reference(text), &mapping, site);
        add("nginx:1.25", site("web", Some("image"), "Deployment/web spec.template.spec.containers[0].image", false));
        add("docker.io/library/nginx:1.25", site("web", None, "manifest stream", false));
        add(
            &format!("bitnami/redis:7.2@{DIGEST_A}"),
            site("web/redis", Some("redis.image"), "StatefulSet/redis spec.template.spec.containers[0].image", false),
        );
        add(
            &format!("quay.io/prometheus/node-exporter@{DIGEST_B}"),
            site("web/metrics", Some("exporter.image"), "DaemonSet/node spec.template.spec.containers[0].image", false),
        );
        add(
            "ghcr.io/org/app:v1",
            site("web", Some("app.image"), "Deployment/app spec.template.spec.containers[0].image", false),
        );
        add(
            "ghcr.io/org/app:v1",
            site("web/extra", Some("app.image"), "Job/migrate spec.template.spec.containers[0].image", true),
        );
        // The same site twice is recorded once.
        add(
            "ghcr.io/org/app:v1",
            site("web", Some("app.image"), "Deployment/app spec.template.spec.containers[0].image", false),
        );
        add(
            "registry.k8s.io/pause:3.9",
            site("web", Some("pause.image"), "Deployment/web spec.template.spec.initContainers[0].image", false),
        );
        add(
            "harbor.example.com/mirror/tools/kubectl:1.30",
            site("web", Some("kubectl.image"), "Job/hook spec.template.spec.containers[0].image", false),
        );
        add(
            "docker.io/bitnami/postgresql:16",
            site(
                "web/postgresql",
                Some("postgresql.image"),
                "StatefulSet/db spec.template.spec.containers[0].image",
                true,
            ),
        );
        plan
    }

    fn plan() -> MirrorPlan {
        plan_with(KEEP_PATH)
    }

    fn sources(images: &[MirrorImage]) -> Vec<String> {
        images.iter().map(|image| image.source.to_string()).collect()
    }

    #[test]
    fn images_are_deduplicated_by_source_sorted_and_keep_their_sites() {
        let plan = plan();
        assert_eq!(
            sources(plan.images()),
            [
                "docker.io/bitnami/postgresql:16".to_string(),
                format!("docker.io/bitnami/redis:7.2@{DIGEST_A}"),
                "docker.io/library/nginx:1.25".to_string(),
                "ghcr.io/org/app:v1".to_string(),
                format!("quay.io/prometheus/node-exporter@{DIGEST_B}"),
            ]
        );
        let nginx = &plan.images()[2];
        assert_eq!(nginx.sites.len(), 2, "both spellings of nginx share one image");
        assert_eq!(nginx.destination.to_string(), "harbor.example.com/mirror/library/nginx:1.25");
        let app = &plan.images()[3];
        assert_eq!(app.sites.len(), 2, "a repeated site is recorded once");
        assert!(!app.disabled(), "one enabled site makes the image needed");
        assert!(plan.images()[0].disabled());
        assert_eq!(
            plan.excluded().iter().map(|i| i.source.to_string()).collect::<Vec<_>>(),
            ["registry.k8s.io/pause:3.9"]
        );
        assert_eq!(
            plan.already_on_destination().iter().map(|i| i.source.to_string()).collect::<Vec<_>>(),
            ["harbor.example.com/mirror/tools/kubectl:1.30"]
        );
    }

    #[test]
    fn copy_references_pull_by_digest_and_push_by_tag() {
        let pinned = reference(&format!("quay.io/o/a:1.0@{DIGEST_A}"));
        assert_eq!(copy_source(&pinned), format!("quay.io/o/a@{DIGEST_A}"));
        assert_eq!(copy_destination(&pinned), "quay.io/o/a:1.0");
        let digest_only = reference(&format!("quay.io/o/a@{DIGEST_A}"));
        assert_eq!(copy_destination(&digest_only), format!("quay.io/o/a@{DIGEST_A}"));
        assert_eq!(tagged_destination(&digest_only), format!("quay.io/o/a:{}", DIGEST_A.replace(':', "-")));
        let bare = reference("quay.io/o/a");
        assert_eq!(copy_source(&bare), "quay.io/o/a:latest");
        assert_eq!(copy_destination(&bare), "quay.io/o/a:latest");
        let sha512 = reference(&format!("quay.io/o/a@sha512:{}", "c".repeat(128)));
        let tag = tagged_destination(&sha512);
        assert_eq!(tag.rsplit_once(':').unwrap().1.len(), 128, "{tag}");
        reference(&tag);
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn list_has_one_source_a_line_without_disabled_or_uncopied_images() {
        let text = plan().render(Format::List).unwrap();
        assert_eq!(
            lines(&text),
            [
                format!("docker.io/bitnami/redis:7.2@{DIGEST_A}"),
                "docker.io/library/nginx:1.25".to_string(),
                "ghcr.io/org/app:v1".to_string(),
                format!("quay.io/prometheus/node-exporter@{DIGEST_B}"),
            ]
        );
        assert!(text.ends_with('\n'));
        for line in lines(&text) {
            reference(line);
        }
    }

    #[test]
    fn tsv_pairs_each_source_with_its_destination() {
        let plan = plan();
        let text = plan.render(Format::Tsv).unwrap();
        let expected: Vec<String> = plan
            .images()
            .iter()
            .filter(|image| !image.disabled())
            .map(|image| format!("{}\t{}", image.source, image.destination))
            .collect();
        assert_eq!(lines(&text), expected);
        assert_eq!(
            lines(&text)[0],
            format!("docker.io/bitnami/redis:7.2@{DIGEST_A}\tharbor.example.com/mirror/bitnami/redis:7.2@{DIGEST_A}")
        );
    }

    #[test]
    fn dry_run_prints_a_copying_line_per_enabled_image() {
        let text = plan().render(Format::DryRun).unwrap();
        assert_eq!(
            lines(&text)[1],
            "Copying docker.io/library/nginx:1.25 to harbor.example.com/mirror/library/nginx:1.25 (dry-run)"
        );
        assert_eq!(lines(&text).len(), 4);
        assert!(lines(&text).iter().all(|line| line.starts_with("Copying ") && line.ends_with(" (dry-run)")));
    }

    #[test]
    fn json_holds_every_variable_including_sites_and_uncopied_images() {
        let text = plan().render(Format::Json).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let images = json["images"].as_array().unwrap();
        assert_eq!(images.len(), 5);
        let redis = &images[1];
        assert_eq!(redis["source_short"], format!("bitnami/redis:7.2@{DIGEST_A}"));
        assert_eq!(redis["source_registry"], "docker.io");
        assert_eq!(redis["source_path"], "bitnami/redis");
        assert_eq!(redis["destination_registry"], "harbor.example.com");
        assert_eq!(redis["destination_path"], "mirror/bitnami/redis");
        assert_eq!(redis["tag"], "7.2");
        assert_eq!(redis["digest"], DIGEST_A);
        assert_eq!(redis["copy_source"], format!("docker.io/bitnami/redis@{DIGEST_A}"));
        assert_eq!(redis["copy_destination"], "harbor.example.com/mirror/bitnami/redis:7.2");
        assert_eq!(redis["chart"], "web/redis");
        assert_eq!(redis["values_path"], "redis.image");
        assert_eq!(redis["sites"][0]["location"], "StatefulSet/redis spec.template.spec.containers[0].image");
        assert_eq!(redis["disabled"], false);
        let nginx = &images[2];
        assert_eq!(nginx["tag"], "1.25");
        assert_eq!(nginx["digest"], serde_json::Value::Null);
        assert_eq!(nginx["sites"][0]["values_path"], serde_json::Value::Null, "{nginx}");
        assert_eq!(images[0]["disabled"], true);
        assert_eq!(json["enabled_count"], 4);
        assert_eq!(json["disabled_count"], 1);
        assert_eq!(json["excluded"][0]["source"], "registry.k8s.io/pause:3.9");
        assert_eq!(json["excluded"][0]["values_path"], "pause.image");
        assert_eq!(json["already_on_destination"][0]["source"], "harbor.example.com/mirror/tools/kubectl:1.30");
        assert_eq!(json["destination_registries"], serde_json::json!(["harbor.example.com"]));
    }

    /// Runs shellcheck on `script`; fails loudly when shellcheck is missing.
    fn shellcheck(script: &str, name: &str) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(name);
        std::fs::write(&path, script).unwrap();
        let output = std::process::Command::new("shellcheck")
            .args(["--shell=bash", "--severity=style"])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run shellcheck ({e}): install it (apt-get install -y shellcheck)"));
        assert!(
            output.status.success(),
            "shellcheck rejects {name}:\n{}\n--- script ---\n{script}",
            String::from_utf8_lossy(&output.stdout)
        );
    }

    /// The uncommented command lines of a script.
    fn commands(script: &str) -> Vec<&str> {
        script.lines().filter(|line| !line.is_empty() && !line.starts_with('#')).collect()
    }

    fn check_script_frame(script: &str) {
        assert!(script.starts_with("#!/usr/bin/env bash\n"), "{script}");
        assert!(script.contains("\nset -euo pipefail\n"), "{script}");
    }

    #[test]
    fn skopeo_script_copies_all_platforms_by_digest_and_passes_shellcheck() {
        let script = plan().render(Format::Skopeo).unwrap();
        check_script_frame(&script);
        shellcheck(&script, "skopeo.sh");
        let copies: Vec<&str> = commands(&script).into_iter().filter(|line| line.starts_with("skopeo ")).collect();
        assert_eq!(
            copies,
            [
                format!("skopeo copy --all --preserve-digests 'docker://docker.io/bitnami/redis@{DIGEST_A}' 'docker://harbor.example.com/mirror/bitnami/redis:7.2'"),
                "skopeo copy --all --preserve-digests 'docker://docker.io/library/nginx:1.25' 'docker://harbor.example.com/mirror/library/nginx:1.25'".to_string(),
                "skopeo copy --all --preserve-digests 'docker://ghcr.io/org/app:v1' 'docker://harbor.example.com/mirror/org/app:v1'".to_string(),
                format!("skopeo copy --all --preserve-digests 'docker://quay.io/prometheus/node-exporter@{DIGEST_B}' 'docker://harbor.example.com/mirror/prometheus/node-exporter@{DIGEST_B}'"),
            ]
        );
        assert!(
            script.contains("\n# skopeo copy --all --preserve-digests 'docker://docker.io/bitnami/postgresql:16'"),
            "{script}"
        );
        assert!(script.contains("#   registry.k8s.io/pause:3.9\n"), "{script}");
        assert!(script.contains("#   harbor.example.com/mirror/tools/kubectl:1.30\n"), "{script}");
        assert!(script.contains("#   skopeo login harbor.example.com\n"), "{script}");
        assert!(script.contains("#   web/redis redis.image: StatefulSet/redis"), "{script}");
    }

    #[test]
    fn crane_script_copies_by_digest_and_passes_shellcheck() {
        let script = plan().render(Format::Crane).unwrap();
        check_script_frame(&script);
        shellcheck(&script, "crane.sh");
        let copies: Vec<&str> = commands(&script).into_iter().filter(|line| line.starts_with("crane ")).collect();
        assert_eq!(copies.len(), 4);
        assert_eq!(
            copies[0],
            format!("crane copy 'docker.io/bitnami/redis@{DIGEST_A}' 'harbor.example.com/mirror/bitnami/redis:7.2'")
        );
        assert!(script.contains("every platform"), "the header says crane copies the index");
    }

    #[test]
    fn docker_script_pulls_tags_and_pushes_and_passes_shellcheck() {
        let script = plan().render(Format::Docker).unwrap();
        check_script_frame(&script);
        shellcheck(&script, "docker.sh");
        let commands = commands(&script);
        let pinned = format!("'quay.io/prometheus/node-exporter@{DIGEST_B}'");
        let pushed = format!("'harbor.example.com/mirror/prometheus/node-exporter:{}'", DIGEST_B.replace(':', "-"));
        assert!(commands.contains(&format!("docker pull {pinned}").as_str()), "{script}");
        assert!(commands.contains(&format!("docker tag {pinned} {pushed}").as_str()), "{script}");
        assert!(commands.contains(&format!("docker push {pushed}").as_str()), "{script}");
        assert_eq!(commands.iter().filter(|c| c.starts_with("docker ")).count(), 12);
        assert!(script.contains("ONE platform only"));
    }

    #[test]
    fn regsync_config_parses_back_with_one_entry_per_enabled_image() {
        let plan = plan();
        let text = plan.render(Format::Regsync).unwrap();
        let config: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(config["version"], serde_yaml::Value::from(1));
        let entries = config["sync"].as_sequence().unwrap();
        let expected: Vec<(String, String)> = plan
            .images()
            .iter()
            .filter(|image| !image.disabled())
            .map(|image| (copy_source(&image.source), copy_destination(&image.destination)))
            .collect();
        let found: Vec<(String, String)> = entries
            .iter()
            .map(|entry| {
                assert_eq!(entry["type"], "image");
                (entry["source"].as_str().unwrap().to_string(), entry["target"].as_str().unwrap().to_string())
            })
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn regsync_config_of_an_empty_plan_has_an_empty_sync_list() {
        let text = MirrorPlan::new().render(Format::Regsync).unwrap();
        let config: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(config["sync"], serde_yaml::Value::Sequence(vec![]));
    }

    /// Where `skopeo sync` puts an image: DEST/BASENAME, or DEST/FULL-NAME with --scoped
    /// (skopeo's cmd/skopeo/sync.go), for checking our file against what skopeo would do.
    fn skopeo_sync_destination(dest: &str, scoped: bool, registry: &str, path: &str, item: &str) -> String {
        let full = format!("{registry}/{path}");
        let suffix = if scoped { full.as_str() } else { full.rsplit('/').next().unwrap() };
        let separator = if item.starts_with("sha256:") { '@' } else { ':' };
        format!("{dest}/{suffix}{separator}{item}")
    }

    #[test]
    fn skopeo_sync_file_lands_every_image_where_the_mapping_says() {
        let plan = plan_with(KEEP_HOST);
        let text = plan.render(Format::SkopeoSync).unwrap();
        let command = text.lines().nth(1).unwrap();
        assert_eq!(
            command,
            "#   skopeo sync --all --preserve-digests --src yaml --dest docker --scoped THIS-FILE harbor.example.com/mirror"
        );
        let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut landed = BTreeSet::new();
        for (registry, settings) in file.as_mapping().unwrap() {
            for (path, items) in settings["images"].as_mapping().unwrap() {
                for item in items.as_sequence().unwrap() {
                    landed.insert(skopeo_sync_destination(
                        "harbor.example.com/mirror",
                        true,
                        registry.as_str().unwrap(),
                        path.as_str().unwrap(),
                        item.as_str().unwrap(),
                    ));
                }
            }
        }
        let expected: BTreeSet<String> = plan
            .images()
            .iter()
            .filter(|image| !image.disabled())
            .map(|image| match &image.destination.digest {
                Some(digest) => format!("{}@{digest}", image.destination.name()),
                None => image.destination.to_string(),
            })
            .collect();
        assert_eq!(landed, expected);
        assert!(text.contains("#   docker.io/bitnami/postgresql:16\n"), "disabled listed apart");
    }

    #[test]
    fn skopeo_sync_uses_plain_destinations_when_they_share_a_parent() {
        let mapping = mapping("registry: harbor.example.com/flat\n");
        let mut plan = MirrorPlan::new();
        plan.add(&reference("quay.io/org/app:1"), &mapping, site("c", None, "manifest stream", false));
        plan.add(&reference("quay.io/org/tool"), &mapping, site("c", None, "manifest stream", false));
        let text = plan.render(Format::SkopeoSync).unwrap();
        assert!(text.contains("--dest docker THIS-FILE harbor.example.com/flat/org\n"), "{text}");
        let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            file["quay.io"]["images"]["org/tool"],
            serde_yaml::Value::Sequence(vec!["latest".into()]),
            "an untagged source lists latest: an empty list would copy every tag"
        );
    }

    #[test]
    fn skopeo_sync_file_of_an_empty_plan_is_an_empty_map() {
        let text = MirrorPlan::new().render(Format::SkopeoSync).unwrap();
        assert!(text.contains(" THIS-FILE DEST\n"), "{text}");
        let file: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(file, serde_yaml::Value::Mapping(Default::default()));
    }

    #[test]
    fn skopeo_sync_refuses_destinations_it_cannot_name() {
        let error = plan().render(Format::SkopeoSync).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("--format skopeo-sync: skopeo sync copies"), "{message}");
        assert!(message.contains("harbor.example.com/mirror/bitnami"), "{message}");
        assert!(message.contains("layout: keep-host"), "{message}");
    }

    #[test]
    fn a_user_template_sees_the_same_variables() {
        let template = "{{#each images}}{{source_short}} -> {{destination_name}} [{{chart}}|{{values_path}}]{{#if digest}} pinned{{/if}}\n{{/each}}\
                        {{#each excluded}}skip {{source}}\n{{/each}}";
        let text = plan().render_template(template, "mine.hbs", &CopyOptions::default()).unwrap();
        assert_eq!(
            lines(&text),
            [
                "bitnami/postgresql:16 -> harbor.example.com/mirror/bitnami/postgresql [web/postgresql|postgresql.image]".to_string(),
                format!("bitnami/redis:7.2@{DIGEST_A} -> harbor.example.com/mirror/bitnami/redis [web/redis|redis.image] pinned"),
                "nginx:1.25 -> harbor.example.com/mirror/library/nginx [web|image]".to_string(),
                "ghcr.io/org/app:v1 -> harbor.example.com/mirror/org/app [web, web/extra|app.image]".to_string(),
                format!("quay.io/prometheus/node-exporter@{DIGEST_B} -> harbor.example.com/mirror/prometheus/node-exporter [web/metrics|exporter.image] pinned"),
                "skip registry.k8s.io/pause:3.9".to_string(),
            ]
        );
    }

    #[test]
    fn a_user_template_can_use_the_helpers_and_partials() {
        let template = "{{#each images}}{{#unless disabled}}{{> image-comment}}crane copy {{shell-quote copy_source}} {{shell-quote copy_destination}}\n{{/unless}}{{/each}}";
        let text = plan().render_template(template, "mine.hbs", &CopyOptions::default()).unwrap();
        assert!(
            text.contains(
                "\ncrane copy 'docker.io/library/nginx:1.25' 'harbor.example.com/mirror/library/nginx:1.25'\n"
            ),
            "{text}"
        );
        assert!(text.starts_with("# docker.io/bitnami/redis"), "{text}");
    }

    #[test]
    fn user_template_errors_name_the_file_line_and_variable() {
        let error = plan()
            .render_template("ok\n{{#each images}}{{sorce}}{{/each}}", "mine.hbs", &CopyOptions::default())
            .unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("mine.hbs: the template uses \"sorce\""), "{message}");
        assert!(message.contains("(line 2)"), "{message}");
        assert!(message.contains("--format json"), "{message}");

        let error =
            plan().render_template("{{#each images}}\n{{/if}}", "bad.hbs", &CopyOptions::default()).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("bad.hbs: not a valid handlebars template"), "{message}");
        assert_eq!(error.line, Some(2), "{message}");
    }

    #[test]
    fn shell_quote_survives_quotes_and_hostile_text_stays_in_comments() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        let mapping = mapping(KEEP_PATH);
        let mut plan = MirrorPlan::new();
        plan.add(
            &reference("quay.io/org/app:1"),
            &mapping,
            site("evil\nrm -rf /", Some("a\nb"), "manifest\rstream", false),
        );
        for format in [Format::Skopeo, Format::Crane, Format::Docker, Format::Lock] {
            let script = plan.render(format).unwrap();
            assert!(!script.lines().any(|line| line.starts_with("rm ")), "{script}");
            assert!(script.contains("#   evil?rm -rf / a?b: manifest?stream\n"), "{script}");
            shellcheck(&script, "hostile.sh");
        }
        let yaml = plan.render(Format::Regsync).unwrap();
        let config: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(config["sync"].as_sequence().unwrap().len(), 1);
    }

    #[test]
    fn scripts_of_an_empty_plan_still_run_and_pass_shellcheck() {
        let plan = MirrorPlan::new();
        for format in [Format::Skopeo, Format::Crane, Format::Docker, Format::Lock] {
            let script = plan.render(format).unwrap();
            check_script_frame(&script);
            shellcheck(&script, "empty.sh");
        }
        assert_eq!(plan.render(Format::List).unwrap(), "");
    }

    #[test]
    fn platforms_parse_as_the_image_index_names_them() {
        let platform: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!((platform.os.as_str(), platform.architecture.as_str()), ("linux", "arm64"));
        assert_eq!(platform.variant.as_deref(), Some("v8"));
        assert_eq!(platform.to_string(), "linux/arm64/v8");
        for bad in ["linux", "linux/", "/amd64", "linux/amd64/v8/x", "linux/amd 64", "linux/$(rm)"] {
            let error = bad.parse::<Platform>().unwrap_err().to_string();
            assert!(error.contains("is not a platform"), "{bad}: {error}");
        }
    }

    #[test]
    fn formats_parse_from_their_names() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>().unwrap(), format);
            let value = <Format as clap::ValueEnum>::from_str(format.name(), false).unwrap();
            assert_eq!(value, format, "clap spells {format} the same way");
        }
        let error = "rsync".parse::<Format>().unwrap_err().to_string();
        assert!(error.contains("unknown mirror format \"rsync\""), "{error}");
        assert!(error.contains("skopeo-sync"), "{error}");
    }
}
