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
                let destination = m.destination.as_ref().map(ToString::to_string).unwrap_or_default();
                let line = format!("{} -> {destination}", m.source);
                let entry = out.entry(k.clone()).or_default();
                if !entry.contains(&line) {
                    entry.push(line);
                }
            }
        }
    }
    for g in gates {
        out.entry(g.key.clone()).or_default().push(format!(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::SiteId;
    use crate::reference::Reference;

    #[test]
    fn each_overlay_key_says_which_images_it_moves_which_gate_it_opens_and_its_pull_secrets() {
        let site = SiteId {
            template: "t".into(),
            object: crate::site::ObjectRef::new("Pod", "p"),
            field: "spec.containers[0].image".into(),
        };
        let moved = |field: &str| ImageMove {
            chart: "t".into(),
            disabled: None,
            site: SiteId { field: field.into(), ..site.clone() },
            keys: vec![ValuesPath::parse("image.repository")],
            source: Reference::parse("quay.io/org/app:1").unwrap(),
            destination: Some(Reference::parse("mirror.example/org/app:1").unwrap()),
            rendered: "mirror.example/org/app:1".into(),
            outcome: Outcome::Moved { keys: vec![ValuesPath::parse("image.repository")] },
        };
        let mut excluded = moved("b");
        excluded.outcome = Outcome::Excluded;
        let gate =
            Gate { key: ValuesPath::parse("allowMirror"), message: "\n  images come from quay.io\nsecond line".into() };
        let keys = [ValuesPath::parse("image.repository"), ValuesPath::parse("global.imagePullSecrets")];
        let out = comments(&[moved("a"), moved("c"), excluded], &[gate], &keys);
        let lines = |k: &str| out.get(&ValuesPath::parse(k)).cloned().unwrap_or_default();
        // Two sites of one image under one key say it once.
        assert_eq!(lines("image.repository"), ["quay.io/org/app:1 -> mirror.example/org/app:1"]);
        assert_eq!(
            lines("allowMirror"),
            ["required: the chart refuses changed images without it (images come from quay.io)"]
        );
        assert_eq!(lines("global.imagePullSecrets"), ["pull secrets for the mirror"]);
        assert_eq!(out.len(), 3);
    }
}
