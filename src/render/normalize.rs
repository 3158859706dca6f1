//! A subchart's trace in the user's terms: `.Values.global.x` read at `<its base>.global.x` is the
//! key `global.x` the user sets.

use crate::template::{Origin, RenderOutput, TemplateError, Traced, ValuesRead};
use crate::values::{Step, ValuesPath};

/// A subchart reads `.Values.global.x` at `<its base>.global.x`; the user sets it at `global.x`.
pub fn normalize_path(path: &ValuesPath, base: &ValuesPath) -> ValuesPath {
    match path.strip_prefix(base) {
        Some(rest) if !base.is_root() && matches!(rest.steps().first(), Some(Step::Key(k)) if k == "global") => rest,
        _ => path.clone(),
    }
}

pub(super) fn normalize_output(mut output: RenderOutput, base: &ValuesPath) -> RenderOutput {
    if base.is_root() {
        return output;
    }
    normalize_traced(&mut output.text, base);
    let mut seen = std::collections::HashSet::new();
    // A chart's whole `.Values` consumed at once (merged, printed) includes its globals.
    let whole = output.reads.iter().any(|r| r.path == *base);
    output.reads = output
        .reads
        .into_iter()
        .map(|r| ValuesRead { path: normalize_path(&r.path, base), found: r.found })
        .chain(whole.then(|| ValuesRead { path: ValuesPath::parse("global"), found: true }))
        .filter(|r| seen.insert(r.clone()))
        .collect();
    output
}

/// A failing helper's reads are what a caller searches for a render gate: same paths as above.
pub(super) fn normalize_error(error: TemplateError, base: &ValuesPath) -> TemplateError {
    match error {
        TemplateError::Fail { template, line, col, message, reads } => TemplateError::Fail {
            template,
            line,
            col,
            message,
            reads: reads
                .into_iter()
                .map(|r| ValuesRead { path: normalize_path(&r.path, base), found: r.found })
                .collect(),
        },
        other => other,
    }
}

fn normalize_traced(text: &mut Traced, base: &ValuesPath) {
    for span in &mut text.spans {
        if let Origin::Values(p) = &span.origin {
            span.origin = Origin::Values(normalize_path(p, base));
        }
    }
}
