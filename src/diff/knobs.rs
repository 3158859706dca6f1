//! How the overlay keys change between two versions of a chart, grouped by the (sub)chart that
//! reads them: keys the new overlay adds, keys no longer needed, keys set to another value.

use std::collections::BTreeMap;

use crate::chart::Chart;
use crate::plan::{leaf_paths, RetargetPlan};
use crate::values::{Value, ValuesPath};

/// How the overlay keys of one (sub)chart change between two versions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartKnobs {
    /// `parent > child`, as the chart tree names it.
    pub chart: String,
    /// The values key the chart's own keys sit under (empty for the root; `global` for the
    /// keys every chart reads).
    pub prefix: String,
    /// Keys the new version's overlay sets that the old one did not, with their values.
    pub added: Vec<(ValuesPath, Value)>,
    /// Keys the old version's overlay set that the new one no longer needs.
    pub removed: Vec<(ValuesPath, Value)>,
    /// Keys both set, to different values: (key, old, new).
    pub changed: Vec<(ValuesPath, Value, Value)>,
}

/// The overlay keys that change between two versions, grouped by the chart that reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnobChanges {
    /// Charts with a change, root first, then by chart path; `global` keys first of all.
    pub charts: Vec<ChartKnobs>,
}

/// Which chart reads each overlay key: the chart whose values prefix (its keys below the root,
/// aliases included) is the longest one the key starts with. Both trees count, so a key of a
/// subchart the new version drops still names that subchart.
fn chart_prefixes(trees: [&Chart; 2]) -> Vec<(ValuesPath, String)> {
    let mut prefixes: BTreeMap<ValuesPath, String> = BTreeMap::new();
    for tree in trees {
        for chart in tree.walk() {
            let prefix = chart.path.values_path();
            prefixes.entry(prefix).or_insert_with(|| chart.display_path());
        }
    }
    let mut list: Vec<(ValuesPath, String)> = prefixes.into_iter().collect();
    list.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.depth()));
    list
}

/// Compares the overlays planned for the old and the new chart tree, key by key (lists are
/// compared whole, as an overlay sets them whole).
pub fn compare_knobs(old: (&Chart, &RetargetPlan), new: (&Chart, &RetargetPlan)) -> KnobChanges {
    let prefixes = chart_prefixes([old.0, new.0]);
    let global = ValuesPath::root().child("global");
    let owner = |key: &ValuesPath| -> (ValuesPath, String) {
        if key.starts_with(&global) {
            return (global.clone(), "global (every chart)".to_string());
        }
        let found = prefixes.iter().find(|(prefix, _)| key.starts_with(prefix));
        found.cloned().unwrap_or_else(|| (ValuesPath::root(), old.0.display_path()))
    };
    let (old_overlay, new_overlay) = (&old.1.overlay, &new.1.overlay);
    let mut keys = leaf_paths(old_overlay);
    keys.extend(leaf_paths(new_overlay));
    keys.sort();
    keys.dedup();
    let mut by_chart: BTreeMap<(u8, ValuesPath), ChartKnobs> = BTreeMap::new();
    for key in keys {
        let (prefix, chart) = owner(&key);
        let rank = u8::from(prefix != global);
        let entry = by_chart.entry((rank, prefix.clone())).or_insert_with(|| ChartKnobs {
            chart,
            prefix: prefix.to_string(),
            ..ChartKnobs::default()
        });
        match (old_overlay.get(&key), new_overlay.get(&key)) {
            (None, Some(value)) => entry.added.push((key, value.clone())),
            (Some(value), None) => entry.removed.push((key, value.clone())),
            (Some(before), Some(after)) if before != after => entry.changed.push((key, before.clone(), after.clone())),
            _ => {}
        }
    }
    let charts = by_chart
        .into_values()
        .filter(|c| !(c.added.is_empty() && c.removed.is_empty() && c.changed.is_empty()))
        .collect();
    KnobChanges { charts }
}

impl KnobChanges {
    pub fn is_empty(&self) -> bool {
        self.charts.is_empty()
    }
}
