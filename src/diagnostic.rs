//! Every kind of warning and error a user sees: a stable code (`HR001`), what it means and what to
//! do about it. `report` writes them all in one shape; tests match the codes, not the wording.

use std::fmt;

/// Whether the run still produced its result (warning) or did not (error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// The table of codes: one line per kind, so adding a kind is one change here. A code, once
/// released, keeps its meaning; a kind that goes away leaves its code unused.
macro_rules! codes {
    ($($(#[$doc:meta])* $kind:ident = $code:literal, $severity:ident, $meaning:literal, $hint:literal;)*) => {
        /// A kind of warning or error, named for what happened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $kind,)*
        }

        impl Code {
            /// Every kind, in the order of the table (the README lists them so).
            pub const ALL: &'static [Code] = &[$(Code::$kind,)*];

            /// The stable code: `HR001`.
            pub fn id(self) -> &'static str {
                match self { $(Code::$kind => $code,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$kind => Severity::$severity,)* }
            }

            /// What the kind means, in one line.
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$kind => $meaning,)* }
            }

            /// What to do, when the place it happened does not say more.
            pub fn hint(self) -> &'static str {
                match self { $(Code::$kind => $hint,)* }
            }
        }
    };
}

codes! {
    // Warnings: the result is written, but a part of it needs a person's eye.
    TemplateNotRendered = "HR001", Warning,
        "a template did not render, so images it holds may be missing from the result",
        "render the chart with `helm template` and these values to see the template's error";
    IncompleteAccepted = "HR002", Warning,
        "the result is incomplete (templates did not render) and --allow-incomplete accepts that",
        "check the templates named above by hand before installing";
    ImageInText = "HR003", Warning,
        "an image is named inside text (a ConfigMap, a script) where neither an overlay nor the post-renderer moves it",
        "mirror it and edit that text (a values key or a custom resource usually holds it)";
    IdleImage = "HR004", Warning,
        "a values key holds an image that these values do not render (a mode that is off)",
        "pass values that turn it on (-f) to list it";
    OverlayBreaksTemplate = "HR005", Warning,
        "a template that renders without the overlay fails with it",
        "check that template with the overlay before installing, or leave its images to the post-renderer";
    OperandValuesDiffer = "HR006", Warning,
        "the custom resource does not carry exactly the operand's overlay values",
        "check the custom resource before installing";
    KeyFeedsSeveralImages = "HR007", Warning,
        "one values key feeds several images that need different values; one value is kept",
        "the moves table shows which images stay off the target: the post-renderer moves them";
    RegistrySettingNotAKey = "HR008", Warning,
        "a registry setting an operator builds images from is written by the template, not one values key",
        "set it in the rendered object by hand";
    RegistrySettingRenamesPaths = "HR009", Warning,
        "the mapping renames image paths below a registry setting's host, which a host setting cannot express",
        "map the registry as a whole";
    RegistrySettingNotMoved = "HR010", Warning,
        "setting the registry setting's values key did not move it alone",
        "set it by hand";
    PullSecretsUnplaced = "HR011", Warning,
        "no values key sets pull secrets for some pods",
        "add the secret to their service accounts' imagePullSecrets";
    PinSkippedChartOff = "HR012", Warning,
        "--pin-digests: an image of a subchart these values turn off is moved but not pinned",
        "turn the subchart on (-f) to pin its images, or pin them at install time with post-render --pin-digests";
    RelocatedLeavesImages = "HR013", Warning,
        "the relocated chart still pulls some images from their source, accepted with --allow-incomplete",
        "install the relocated chart with `helm-retarget post-render` for these images";
    ValuesRewritten = "HR014", Warning,
        "a values file could not be edited in place and was written anew, without its comments",
        "compare the relocated values.yaml with the original; the values are the same, only comments and layout differ";
    PlatformFilterChangesDigest = "HR015", Warning,
        "copying only some platforms of an index gives the mirror an index with a digest of its own",
        "pin digests from a lock made after the copy (`mirror --format lock` with the same --platform)";
    DocumentPassedThrough = "HR016", Warning,
        "a document of the manifest stream is not read as YAML; it names no image and is passed through unchanged",
        "check that document with `helm template`: Helm may accept it, but no image in it can be moved";
    ReadThroughAlias = "HR017", Warning,
        "an image is read through a YAML alias: the alias (or its anchor) is rewritten, which other fields may read too",
        "check the rewritten document; write the image without an alias in the template to move it alone";
    FieldNotAReference = "HR018", Warning,
        "an image field holds text that is not an image reference, so it is left as it is",
        "fix the value that writes it: Kubernetes will not pull it either";

    // Errors: the command did not produce (all of) its result.
    HelmRefusesValues = "HR020", Error,
        "Helm refuses these values the same way (`helm template` fails: a `required` or `fail`)",
        "give the value the chart asks for with -f or --set";
    Incomplete = "HR021", Error,
        "templates did not render, so images they hold may be missing (exit 3)",
        "render those templates with Helm to see their images (`helm template`), or pass --allow-incomplete to accept the gap";
    KubeVersionIncompatible = "HR022", Error,
        "the chart's kubeVersion range excludes the Kubernetes version rendered for",
        "pass the cluster's version with --kube-version, as for `helm template`";
    ValuesFlagInvalid = "HR023", Error,
        "a --set, --set-string, --set-json or --set-file line cannot be parsed",
        "write KEY=VALUE pairs separated by commas: a.b=x,list[0].c=y (escape a dot in a key as \\.)";
    NothingRendersReference = "HR024", Error,
        "`scan --explain REF`: no image site of the scanned charts renders REF",
        "run `helm-retarget scan CHART` to list the references as rendered, then pass one of them";
    OperandNeedsOneChart = "HR025", Error,
        "--operand needs exactly one operator chart",
        "run `helm-retarget overlay OPERATOR_CHART --operand NAME=CHART ...` once per operator chart";
    OperandHasNoPlace = "HR026", Error,
        "no values map of the operator chart is rendered whole into a custom resource field for the operand",
        "name the operand as the operator chart's values and custom resource name it (`--operand NAME=CHART`)";
    OverlayFileClash = "HR027", Error,
        "two charts of a batch would write one overlay file",
        "run overlay for each of them with its own -o FILE";
    OverlayFileName = "HR028", Error,
        "a chart's name does not make a plain file name for its overlay",
        "rename the chart in its Chart.yaml";
    OverlayNullInMergePatch = "HR029", Error,
        "an overlay value is null, which a merge patch drops",
        "use --format configmap (a values file in a ConfigMap) or --format values with valueFiles";
    CannotPin = "HR030", Error,
        "--pin-digests: images that cannot be pinned (not in the lock, or no place for a digest)",
        "run the lock script of `helm-retarget mirror ... --format lock` again for these charts and values; where a field has no place for a digest, set the chart's digest value instead";
    NothingToMirror = "HR031", Error,
        "mirror was given neither charts nor manifests",
        "name charts, or pass --from-manifests FILE (`-` for stdin)";
    DiffNeedsDestination = "HR032", Error,
        "diff: a copy plan (--format list, skopeo or crane) needs a destination",
        "pass --registry HOST[:PORT][/PREFIX] or --mapping FILE";
    MirrorFormatUnknown = "HR033", Error,
        "an unknown mirror --format",
        "use one of the formats `helm-retarget mirror --help` lists, or --template FILE";
    SkopeoSyncCannotExpress = "HR034", Error,
        "skopeo sync cannot write this plan's destinations (it names them itself)",
        "use --format skopeo or regsync, which name each destination";
    MirrorTemplateInvalid = "HR035", Error,
        "a --template is not a valid handlebars template, or fails to render",
        "fix the template at that line; `helm-retarget mirror --format json` shows the variables it can use";
    MirroredListInvalid = "HR036", Error,
        "a line of the list of mirrored images is not an image reference",
        "write one image reference a line (quay.io/org/app:1.2), or a source and destination separated by a tab; `#` starts a comment";
    ChartYamlMissing = "HR037", Error,
        "a chart (or a directory under charts/) has no Chart.yaml",
        "a chart needs a Chart.yaml at its root";
    SubchartNotAChart = "HR038", Error,
        "an entry of charts/ is neither a chart directory nor a chart archive",
        "remove it from charts/, or run `helm dependency build` to fetch the subcharts";
    DependenciesMissing = "HR039", Error,
        "dependencies declared in Chart.yaml are missing from charts/",
        "run `helm dependency build` in the chart directory (or `helm pull` the packaged chart)";
    ChartMetadataInvalid = "HR040", Error,
        "Chart.yaml (or Chart.lock, requirements.yaml) is not what Helm reads",
        "fix the file at that place as Helm's chart format asks";
    RelocateNeedsPostRender = "HR041", Error,
        "relocate: no values key moves some images, so the relocated chart would still pull them from their source",
        "install the chart with `helm-retarget post-render`, or pass --allow-incomplete to relocate the rest";
    SchemaRefusesValues = "HR042", Error,
        "the chart's values.schema.json refuses these values (Helm refuses them the same way)",
        "give values the chart's values.schema.json accepts";
    SchemaRefusesOverlay = "HR043", Error,
        "the chart's values.schema.json refuses the overlay, so `helm install -f overlay.yaml` would fail",
        "move these images at install time with the post-renderer (`helm-retarget post-render`), or exclude their registry with --mapping";
    SchemaInvalid = "HR044", Error,
        "a values.schema.json is not a JSON schema this tool can check offline",
        "fix the chart's values.schema.json (remote $refs are not fetched)";
    PlatformListUnsupported = "HR045", Error,
        "the mirror format's tool cannot copy this list of platforms, or cannot copy referrers",
        "use the format the message names (oras, regsync, crane), or one platform";
    InputUnreadable = "HR046", Error,
        "an input (chart, values file, mapping, lock, manifest stream) cannot be read, or is a directory",
        "check the path and its permissions; `-` reads stdin";
    InputTooLarge = "HR047", Error,
        "an input is larger than Helm's limit (or this tool's) for it",
        "check that this is the input you meant; Helm refuses charts this large";
    NotAChart = "HR048", Error,
        "the input given as a chart is neither a chart directory nor a chart archive",
        "pass a chart directory, a .tgz file made by `helm package`, or `-` for a .tgz on stdin";
    ChartEntriesInvalid = "HR049", Error,
        "a chart archive is corrupt, or a chart (archive or directory) holds entries Helm refuses (links or symlinks leading out, devices, paths outside it, a bad .helmignore line)",
        "package the chart again with `helm package`, or fix the entry the message names";
    MappingInvalid = "HR050", Error,
        "the registry mapping (--registry or --mapping FILE) is not one this tool reads",
        "write --registry HOST[:PORT][/PREFIX], or a mapping file as the README's Mapping section shows";
    MappingCollision = "HR051", Error,
        "the mapping sends different images to one destination",
        "use `layout: keep-host` in a --mapping file, or give one source registry its own destination under `registries:`";
    YamlInvalid = "HR052", Error,
        "a file is not the YAML expected (invalid syntax, not UTF-8, or not one document)",
        "fix the file at that line; Helm refuses it the same way";
    LockInvalid = "HR053", Error,
        "the images lock (--pin-digests FILE) is not the shape `mirror --format lock` writes",
        "write the lock again with the lock script of `helm-retarget mirror ... --format lock`";
    StreamInvalid = "HR054", Error,
        "the manifest stream is not one post-render can read (not UTF-8, invalid YAML where an image may be, not a Kubernetes object)",
        "post-render reads the YAML manifest stream Helm renders; run `helm template` on the chart to see it";
    OutputUnwritable = "HR055", Error,
        "the result cannot be written",
        "check that the output (stdout, or the -o file's directory) can be written";
    CannotRewriteInPlace = "HR056", Error,
        "an image the mapping moves cannot be rewritten in place without changing other bytes or guessing",
        "write the image in a field of its own in the template, or move it with a values overlay";
    NoTarget = "HR057", Error,
        "the command moves images but was given no target registry",
        "pass --registry HOST[:PORT][/PREFIX] or --mapping FILE";
    ChartArchiveNotAnArchive = "HR058", Error,
        "--chart-archive names a directory or stdin, but `helm push` takes a packaged chart (.tgz)",
        "package it first: `helm package DIR`, or `helm-retarget relocate CHART -o OUT.tgz`";
    ChartDestinationInvalid = "HR059", Error,
        "the chart archive has no place to go: --chart-destination is not oci://HOST[:PORT][/PATH], or is missing where --mapping names no single registry",
        "pass --chart-destination oci://HOST[:PORT][/PATH], as `helm push` takes it";
    BundleNeedsDirectory = "HR060", Error,
        "--format bundle writes two scripts (save.sh and load.sh), so it needs a directory",
        "name the directory to write them to with -o DIR";
    BuildSuffixInvalid = "HR061", Error,
        "relocate --build-suffix is not semver build metadata",
        "use dot-separated ASCII letters, digits and hyphens, such as `relocated` or `relocated.1`; or pass --keep-version";
    KubeVersionInvalid = "HR062", Error,
        "--kube-version is not a Kubernetes version",
        "pass a version like 1.31 or v1.31.2";
    CommandLineInvalid = "HR063", Error,
        "the command line is not one helm-retarget reads (an unknown flag, a missing or invalid argument)",
        "run `helm-retarget COMMAND --help` to see the arguments and flags it takes";
    Internal = "HR064", Error,
        "a check inside helm-retarget failed: this is a bug, and nothing was written",
        "please report it with the command line and the chart; `helm-retarget overlay` or `post-render` may serve meanwhile";
    TextImagesStayBehind = "HR070", Error,
        "images named in ConfigMap text are moved neither by the overlay nor by the post-renderer (overlay: exit 3; relocate: nothing written)",
        "mirror them and set the text through the values key or custom resource that holds it, or pass --allow-incomplete to accept them (each is then named in an HR003 warning)";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One warning as a user sees it: its kind, where (outermost first), what happened, and what to do
/// when the place knows better than the kind's own hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub location: Vec<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { code, location: Vec::new(), message: message.into(), hint: None }
    }

    /// Prefixes a location: call from the inside out, as for `Error::at`.
    pub fn at(mut self, place: impl Into<String>) -> Self {
        self.location.insert(0, place.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The lines around the README's table of codes.
pub const README_START: &str = "<!-- diagnostics table: generated from src/diagnostic.rs -->";
pub const README_END: &str = "<!-- end of diagnostics table -->";

/// The README's list of codes, from the table: `tests` fails when README.md's copy is stale.
pub fn readme_table() -> String {
    let mut out = String::from("| Code | Kind | Meaning | What to do |\n|---|---|---|---|\n");
    for code in Code::ALL {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            code.id(),
            code.severity(),
            code.meaning().replace('|', "\\|"),
            code.hint().replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_shaped_hr_and_three_digits() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let id = code.id();
            assert!(id.len() == 5 && id.starts_with("HR") && id[2..].bytes().all(|b| b.is_ascii_digit()), "{id}");
            assert!(seen.insert(id), "{id} is used twice");
            assert!(!code.meaning().is_empty() && !code.hint().is_empty(), "{id}");
        }
    }

    #[test]
    fn the_readme_lists_every_code_as_the_table_says() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let (start, end) = (README_START, README_END);
        let listed = readme.split_once(start).and_then(|(_, rest)| rest.split_once(end)).map_or_else(
            || panic!("README.md lacks the lines {start:?} and {end:?}"),
            |(listed, _)| listed.trim_start_matches('\n'),
        );
        let table = readme_table();
        assert!(listed == table, "README.md's `## Diagnostics` table is stale; put between its markers:\n\n{table}");
    }
}
