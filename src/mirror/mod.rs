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

mod format;
mod plan;
mod render;
mod sync;
#[cfg(test)]
mod testing;
mod variables;

pub use format::{ChartArchive, CopyOptions, Format, Platform};
pub use plan::{MirrorImage, MirrorPlan, MirrorSite, UncopiedImage};
pub use render::shell_quote;
pub use variables::{copy_destination, copy_source};
