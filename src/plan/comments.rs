//! The comment lines above each overlay key: which images it moves, which gate it opens, which
//! pull secrets it sets.

use std::collections::BTreeMap;

use super::pull_secrets::is_pull_secret_knob;
use super::{Gate, ImageMove, Outcome};
use crate::values::ValuesPath;

pub(super) fn comments(
    moves: &[ImageMove],
    gates: &[Gate],
    overlay_keys: &[ValuesPath],
) -> BTreeMap<ValuesPath, Vec<String>> {
    let mut out: BTreeMap<ValuesPath, Vec<String>> = BTreeMap::new();
    for m in moves {
        if let Outcome::Moved { keys } = &m.outcome {
            for k in keys {
                let line = format!("{} -> {}", m.source, m.destination.as_deref().unwrap_or(""));
                let entry = out.entry(ValuesPath::parse(k)).or_default();
                if !entry.contains(&line) {
                    entry.push(line);
                }
            }
        }
    }
    for g in gates {
        out.entry(ValuesPath::parse(&g.key)).or_default().push(format!(
            "required: the chart refuses changed images without it ({})",
            g.message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default()
        ));
    }
    for k in overlay_keys {
        if is_pull_secret_knob(k) {
            out.entry(k.clone()).or_default().push("pull secrets for the mirror".to_string());
        }
    }
    out
}
