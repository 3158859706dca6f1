//! Rendering a plan: the built-in handlebars templates (`src/mirror/*.hbs`) and a user's own,
//! in strict mode, with the `shell-quote`, `json` and `one-line` helpers and the shared partials.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
};
use serde::Serialize;

use super::sync::SkopeoSyncVariables;
use super::{CopyOptions, Format, MirrorPlan};
use crate::diagnostic::Code;
use crate::error::Error;

impl Format {
    /// The embedded template, or None for JSON (serialised directly) and bundle (two scripts:
    /// see `render_bundle`).
    fn template(self) -> Option<&'static str> {
        match self {
            Format::List => Some(include_str!("list.hbs")),
            Format::Tsv => Some(include_str!("tsv.hbs")),
            Format::Skopeo => Some(include_str!("skopeo.sh.hbs")),
            Format::Crane => Some(include_str!("crane.sh.hbs")),
            Format::Docker => Some(include_str!("docker.sh.hbs")),
            Format::Regsync => Some(include_str!("regsync.yaml.hbs")),
            Format::SkopeoSync => Some(include_str!("skopeo-sync.yaml.hbs")),
            Format::DryRun => Some(include_str!("dry-run.hbs")),
            Format::Lock => Some(include_str!("lock.sh.hbs")),
            Format::Oras => Some(include_str!("oras.sh.hbs")),
            Format::Json | Format::Bundle => None,
        }
    }
}

impl MirrorPlan {
    /// Renders the plan in a built-in format, copying every platform without referrers.
    ///
    /// # Errors
    /// As [`MirrorPlan::render_with_options`].
    pub fn render(&self, format: Format) -> Result<String, Error> {
        self.render_with_options(format, &CopyOptions::default())
    }

    /// Renders the plan in a built-in format with `options` (refused when the format's tool
    /// cannot carry them out). `--format bundle` is two scripts: see [`MirrorPlan::render_bundle`].
    ///
    /// # Errors
    /// Options the format's tool cannot carry out, `--format bundle` (it needs `-o DIR`), a plan
    /// `--format skopeo-sync` cannot express, or a failing built-in template (our bug).
    pub fn render_with_options(&self, format: Format, options: &CopyOptions) -> Result<String, Error> {
        format.check_options(options)?;
        let variables = self.variables(options);
        if format == Format::Bundle {
            return Err(Error::coded(
                Code::BundleNeedsDirectory,
                "--format bundle writes two scripts, save.sh and load.sh",
            )
            .at("--format bundle")
            .hint("name the directory to write them to with -o DIR"));
        }
        let Some(template) = format.template() else {
            let mut text = serde_json::to_string_pretty(&variables)
                .map_err(|e| Error::coded(Code::Internal, format!("cannot write the plan as JSON: {e}")))?;
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
    ///
    /// # Errors
    /// Options the bundle cannot carry out, or a failing built-in template (our bug).
    pub fn render_bundle(&self, options: &CopyOptions) -> Result<[(&'static str, String); 2], Error> {
        Format::Bundle.check_options(options)?;
        let variables = self.variables(options);
        let render = |file: &'static str, template: &str| {
            render_with(template, &format!("--format bundle ({file})"), &variables)
                .map(|text| (file, text))
                .map_err(|error| error.hint("this is a bug in helm-retarget's built-in template; please report it"))
        };
        Ok([
            render("save.sh", include_str!("bundle-save.sh.hbs"))?,
            render("load.sh", include_str!("bundle-load.sh.hbs"))?,
        ])
    }

    /// A user's own handlebars template (`--template FILE`), same variables as the built-ins.
    /// `file_name` names the template in errors.
    ///
    /// # Errors
    /// A template that does not parse, or uses a variable the plan does not have (strict mode),
    /// named by `file_name` and line.
    pub fn render_template(&self, template: &str, file_name: &str, options: &CopyOptions) -> Result<String, Error> {
        render_with(template, file_name, &self.variables(options)).map_err(|error| {
            let hint = "`helm-retarget mirror --format json` prints every variable a template \
                        can use; the README lists them";
            error.hint(hint)
        })
    }
}

/// Pieces the built-in templates share; user templates may use them too (`{{> image-comment}}`).
const PARTIALS: &[(&str, &str)] = &[
    ("image-comment", include_str!("image-comment.hbs")),
    ("uncopied-comment", include_str!("uncopied-comment.hbs")),
    ("chart-push", include_str!("chart-push.hbs")),
];

/// Renders `template` (named `name` in errors) over `variables` with our helpers, no HTML
/// escaping, and strict mode.
fn render_with(template: &str, name: &str, variables: &impl Serialize) -> Result<String, Error> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.register_helper("shell-quote", text_helper(shell_quote_text));
    registry.register_helper("json", text_helper(json_text));
    registry.register_helper("one-line", text_helper(one_line_text));
    for (partial, text) in PARTIALS {
        registry
            .register_partial(partial, *text)
            .map_err(|e| Error::coded(Code::Internal, format!("built-in partial {partial}: {e}")))?;
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

/// A helper that writes what `text` makes of its arguments: the one signature handlebars
/// wants, written once.
fn text_helper(text: fn(&Helper<'_>) -> Result<String, RenderError>) -> Box<dyn HelperDef + Send + Sync> {
    Box::new(
        move |helper: &Helper<'_>,
              _: &Handlebars<'_>,
              _: &Context,
              _: &mut RenderContext<'_, '_>,
              out: &mut dyn Output|
              -> HelperResult {
            out.write(&text(helper)?)?;
            Ok(())
        },
    )
}

/// `{{shell-quote "docker://" copy_source}}`: the arguments joined, as one bash word.
fn shell_quote_text(helper: &Helper<'_>) -> Result<String, RenderError> {
    if helper.params().is_empty() {
        return Err(RenderErrorReason::ParamNotFoundForIndex("shell-quote", 0).into());
    }
    let mut word = String::new();
    for index in 0..helper.params().len() {
        word.push_str(&argument_text(helper, index)?);
    }
    Ok(shell_quote(&word))
}

/// `{{json value}}`: the value as JSON; a string comes out double-quoted and escaped, which is
/// also a valid YAML scalar.
fn json_text(helper: &Helper<'_>) -> Result<String, RenderError> {
    let param = helper.param(0).ok_or(RenderErrorReason::ParamNotFoundForIndex("json", 0))?;
    Ok(param.value().to_string())
}

/// `{{one-line text}}`: text safe inside a `#` comment, where a newline from a hostile chart's
/// values path would otherwise start a command.
fn one_line_text(helper: &Helper<'_>) -> Result<String, RenderError> {
    Ok(one_line(&argument_text(helper, 0)?))
}

/// Quotes `word` for bash: single quotes, with each `'` written as `'\''`.
#[must_use]
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
    use crate::mirror::testing::{lines, mapping, plan, reference, site, DIGEST_A, DIGEST_B, KEEP_PATH};
    use crate::mirror::{copy_destination, copy_source};

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
}
