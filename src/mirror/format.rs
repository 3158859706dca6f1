//! The output formats `--format` names and the copy options (`--platform`, `--with-referrers`,
//! `--chart-archive`), with what each format's tool can and cannot carry out.

use std::fmt;
use std::str::FromStr;

use crate::diagnostic::Code;
use crate::error::Error;

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
    #[must_use]
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
    #[must_use]
    pub fn is_script(self) -> bool {
        matches!(self, Format::Skopeo | Format::Crane | Format::Docker | Format::Lock | Format::Oras | Format::Bundle)
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
            return Err(Error::coded(Code::CommandLineInvalid, format!("{text:?} is not a platform"))
                .at("--platform")
                .hint("write OS/ARCH or OS/ARCH/VARIANT, comma-separated: --platform linux/amd64,linux/arm64/v8"));
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: parts[1].to_string(),
            variant: parts.get(2).map(|v| (*v).to_string()),
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
    ///
    /// # Errors
    /// A platform list the tool cannot select, or `--with-referrers` for a tool that drops
    /// referrers: the error names the flags and the formats that can.
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
            return Err(Error::coded(
                Code::PlatformListUnsupported,
                format!("cannot copy only {}: {}", list.join(", "), capabilities.platforms_instead),
            )
            .at(format!("--format {} --platform", self.name()))
            .hint(hint));
        }
        if let (true, Some(why)) = (options.with_referrers, capabilities.referrers_instead) {
            return Err(Error::coded(Code::PlatformListUnsupported, why)
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

#[cfg(test)]
mod tests {
    use super::*;

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
