//! `template`: the manifest stream `helm template` prints, rendered by our engine.

use crate::cli;
use crate::diagnostic::Code;
use crate::discover::Unrendered;
use crate::error::{Error, Result};
use crate::render::TreeRenderer;
use crate::{manifest, report};

use super::common::{check_kube_version, check_schema, load_chart, report_unrendered, user_values};
use super::Outcome;

/// `helm template`, by our engine: the manifest stream Helm prints for these values, from the
/// charts Helm would render (disabled subcharts left out, no placeholders). A `required` or `fail`
/// is Helm's error and exit 2 with nothing written; a template that does not render is named,
/// the rest still written, and the exit is 3.
pub fn template(args: &cli::Template) -> Result<Outcome> {
    let chart = load_chart(&args.chart)?;
    let user = user_values(&args.values)?;
    check_schema(&chart, &user)?;
    let options = args.render.clone();
    if let Err(e) = check_kube_version(&chart, &options.kube_version) {
        report::error(&e);
        return Ok(Outcome::Errored);
    }
    let renderer = TreeRenderer::with_options(&chart, options);
    let render = renderer.render_enabled(&user);
    if let Some((_, error)) = render.failures().find(|(_, e)| matches!(e, crate::template::TemplateError::Fail { .. }))
    {
        report::error(&Error::coded(Code::HelmRefusesValues, error.to_string()));
        return Ok(Outcome::Errored);
    }
    let enabled = renderer.enabled_in(&render);
    let mut unrendered: Vec<Unrendered> = renderer
        .parse_errors
        .iter()
        .filter_map(|e| {
            let name = crate::render::error_template(e);
            renderer.chart_of(name).is_none_or(|c| enabled.contains(&c)).then(|| Unrendered {
                template: name.to_string(),
                error: e.to_string(),
                fails_in_helm: false,
                missing_images: Vec::new(),
            })
        })
        .collect();
    unrendered.extend(render.failures().map(|(t, e)| Unrendered {
        template: t.name.clone(),
        error: e.to_string(),
        fails_in_helm: false,
        missing_images: Vec::new(),
    }));
    let outputs =
        render.templates.iter().filter_map(|t| t.output.as_ref().ok().map(|o| (t.name.as_str(), o.text.text.as_str())));
    let (text, refused) = manifest::stream(outputs);
    unrendered.extend(refused.into_iter().map(|r| Unrendered {
        template: r.template,
        error: r.message,
        fails_in_helm: false,
        missing_images: Vec::new(),
    }));
    report::data(text.as_bytes())?;
    Ok(report_unrendered(&args.chart.arg(), &unrendered, "manifest stream", args.allow_incomplete))
}
