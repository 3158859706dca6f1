//! Decides, per image site, which values keys move it to its destination: first the knobs a chart
//! reads (`global.imageRegistry`, `hub`, `imageRegistry`...), probed by rendering to learn whether
//! they replace the host, prepend to it, or are ignored; then a direct edit of the key the trace
//! shows carrying the host. Every choice is checked by rendering again.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::chart::Chart;
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::{self, Part, RenderedImage, SiteId, PROBE_HOST};
use crate::mapping::RegistryMapping;
use crate::reference::Reference;
use crate::render::{TreeRender, TreeRenderer};
use crate::values::{Step, Value, ValuesPath};

/// What happens to one image site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// The overlay moves it; `keys` are the overlay keys its rendered reference now comes from.
    Moved { keys: Vec<String> },
    /// It already renders on its destination.
    AlreadyThere,
    /// The mapping excludes its source.
    Excluded,
    /// No values key can move it (hard-coded or computed): the post-renderer must.
    PostRenderOnly { reason: String },
}

/// One image site with its source and destination.
#[derive(Debug, Clone, Serialize)]
pub struct ImageMove {
    pub chart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<String>,
    #[serde(flatten)]
    pub site: SiteId,
    /// The values keys that decide it with the chart's defaults.
    pub keys: Vec<String>,
    pub source: String,
    /// None when excluded.
    pub destination: Option<String>,
    /// The reference the overlay renders (equal to `destination` when moved).
    pub rendered: String,
    pub outcome: Outcome,
}

/// A values key set only so the chart renders at all.
#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub key: String,
    /// The chart's own message when the key is not set.
    pub message: String,
}

/// Everything needed to write the overlay and explain it.
#[derive(Debug, Clone)]
pub struct RetargetPlan {
    pub chart: String,
    /// The overlay values: only the keys that must change.
    pub overlay: Value,
    /// Comment lines to print above each overlay key.
    pub comments: BTreeMap<ValuesPath, Vec<String>>,
    pub moves: Vec<ImageMove>,
    pub gates: Vec<Gate>,
    /// Required values we filled with placeholders to render (the user supplies them at install).
    pub placeholders: Vec<String>,
    pub warnings: Vec<Diagnostic>,
    /// Images spelled in values that these values do not render (a mode that is off).
    pub idle_images: Vec<discover::IdleImage>,
    /// Templates that did not render (or not as YAML): the overlay may miss their images.
    pub unrendered: Vec<discover::Unrendered>,
    /// Images named only in ConfigMap text.
    pub text_images: Vec<discover::TextImage>,
    /// Registry settings an operator builds images from, with the host the overlay gives each
    /// (None: not moved; the reason is in `warnings`).
    pub registry_settings: Vec<(discover::RegistrySetting, Option<String>)>,
    pub effective_before: Value,
    pub effective_after: Value,
}

/// An edit that a render confirmed: the keys to add (with a gate it opened) and the sites then right.
struct Trial {
    keys: Vec<(ValuesPath, Value)>,
    gate: Option<Gate>,
    correct: BTreeSet<SiteId>,
}

struct Planner<'a, 'c> {
    renderer: &'a TreeRenderer<'c>,
    mapping: &'a RegistryMapping,
    /// User values plus placeholders: what every render starts from.
    base: Value,
    overlay: Value,
    /// The values every template sees without an overlay (lists are restated from here).
    effective: Value,
    gates: Vec<Gate>,
    warnings: Vec<Diagnostic>,
    /// Knobs a previous attempt showed to leave images on the mirror under a wrong name.
    banned: BTreeSet<ValuesPath>,
    /// For each image-config `base` site: the destinations of the images it composes. Such a site
    /// is moved once later documents of its ConfigMap offer all of them (later documents win).
    components: BTreeMap<SiteId, Vec<Reference>>,
    /// ConfigMap (`Kind/name`) -> the values list that now carries its moved image-config documents.
    image_config_lists: BTreeMap<String, ValuesPath>,
    /// The last render under the overlay it was made with (shared, not copied: a render holds two
    /// whole values trees).
    current: std::cell::RefCell<Option<(Value, std::rc::Rc<TreeRender>)>>,
}

/// Plans the overlay for one chart tree. Two different images that the mapping would put on one
/// destination are an error naming both (the overlay would silently swap one for the other).
pub fn plan(
    root: &Chart,
    user: &Value,
    mapping: &RegistryMapping,
    pull_secrets: &[String],
) -> crate::error::Result<RetargetPlan> {
    let renderer = TreeRenderer::new(root);
    let (base, placeholders, baseline_render) = renderer.with_placeholders(user);
    let effective = baseline_render.covering.clone();
    let baseline = discover::images(&baseline_render);
    let baseline_failures = failing_templates(&baseline_render);
    let destinations: BTreeMap<SiteId, Option<Reference>> =
        baseline.iter().map(|i| (i.id.clone(), mapping.destination(&i.reference))).collect();
    mapping.check_collisions(baseline.iter().map(|i| &i.reference)).map_err(|e| e.at(root.display_path()))?;
    let components: BTreeMap<SiteId, Vec<Reference>> = baseline
        .iter()
        .filter(|i| !i.components.is_empty() && !i.is_split())
        .map(|i| {
            let wanted = i
                .components
                .iter()
                .filter_map(|c| Reference::parse(c).ok())
                .map(|c| mapping.destination(&c).unwrap_or(c))
                .collect();
            (i.id.clone(), wanted)
        })
        .collect();
    let fresh = |banned: BTreeSet<ValuesPath>| Planner {
        renderer: &renderer,
        mapping,
        base: base.clone(),
        effective: effective.clone(),
        overlay: Value::Map(Default::default()),
        gates: Vec::new(),
        warnings: Vec::new(),
        banned,
        components: components.clone(),
        image_config_lists: BTreeMap::new(),
        current: Default::default(),
    };
    let mut planner = fresh(BTreeSet::new());

    // A knob that breaks some images (a double host) is tried only if direct edits can mend them;
    // when they cannot, plan again without it.
    let (final_render, finals) = loop {
        planner.apply_knobs(&baseline_render, &destinations, &baseline_failures);
        planner.apply_direct_edits(&destinations, &baseline_failures);
        planner.apply_image_configs(&baseline_render, &destinations, &baseline_failures);
        let final_render = planner.render_with(&planner.overlay);
        let finals: BTreeMap<SiteId, RenderedImage> =
            discover::images(&final_render).into_iter().map(|i| (i.id.clone(), i)).collect();
        let overlay_keys = leaf_paths(&planner.overlay);
        let mut culprits = BTreeSet::new();
        for (id, image) in &finals {
            let Some(Some(dest)) = destinations.get(id) else { continue };
            if mapping.is_destination(&image.reference) && !same_image(&image.reference, dest) {
                culprits.extend(
                    overlay_keys_behind(&discover::keys(&image.parts), &overlay_keys)
                        .into_iter()
                        .map(|k| ValuesPath::parse(&k))
                        .filter(is_registry_knob),
                );
            }
        }
        let mut banned = planner.banned.clone();
        if culprits.is_empty() || !culprits.iter().any(|c| banned.insert(c.clone())) {
            break (final_render, finals);
        }
        planner = fresh(banned);
    };
    let registry_settings = planner.apply_registry_settings(&baseline_render, &baseline_failures);
    let (final_render, finals) = if !registry_settings.iter().any(|(_, new)| new.is_some()) {
        (final_render, finals)
    } else {
        let render = planner.render_with(&planner.overlay);
        let images = discover::images(&render).into_iter().map(|i| (i.id.clone(), i)).collect();
        (render, images)
    };
    let (final_render, finals) = if pull_secrets.is_empty() {
        (final_render, finals)
    } else {
        planner.apply_pull_secrets(&baseline_render, pull_secrets, &baseline_failures);
        let render = planner.render_with(&planner.overlay);
        let images = discover::images(&render).into_iter().map(|i| (i.id.clone(), i)).collect();
        (render, images)
    };
    for (template, error) in final_render.new_failures(&baseline_failures) {
        planner.warnings.push(
            Diagnostic::new(Code::OverlayBreaksTemplate, format!("fails to render with the overlay ({error})"))
                .at(template.to_string()),
        );
    }
    let overlay_keys = leaf_paths(&planner.overlay);

    let mut moves = Vec::new();
    for image in &baseline {
        let entry = &renderer.charts[image.chart];
        let destination = destinations.get(&image.id).cloned().flatten();
        let rendered = finals.get(&image.id);
        let outcome = match (&destination, rendered) {
            (None, _) => Outcome::Excluded,
            (Some(d), _) if same_image(&image.reference, d) => Outcome::AlreadyThere,
            (Some(d), Some(r))
                if same_image(&r.reference, d)
                    || components.get(&image.id).is_some_and(|w| components_offered(&finals, &image.id.object, w)) =>
            {
                let mut keys = overlay_keys_behind(&discover::keys(&r.parts), &overlay_keys);
                keys.extend(planner.image_config_lists.get(&image.id.object).map(|k| k.to_string()));
                Outcome::Moved { keys }
            }
            (Some(_), _) => Outcome::PostRenderOnly { reason: why_unmovable(image) },
        };
        moves.push(ImageMove {
            chart: entry.chart.display_path(),
            disabled: baseline_render.disabled.get(&entry.chart.path).cloned(),
            site: image.id.clone(),
            keys: discover::keys(&image.parts),
            source: image.reference.to_string(),
            destination: destination.as_ref().map(|d| d.to_string()),
            // An image-config `base` stays in its document; later documents carry the move.
            rendered: match rendered {
                Some(r) if r.components.is_empty() || r.is_split() => r.composed().to_string(),
                _ => destination.as_ref().map_or_else(|| image.text.clone(), |d| d.name()),
            },
            outcome,
        });
    }

    let mut comments = comments(&moves, &planner.gates, &overlay_keys);
    for (setting, new) in &registry_settings {
        if let (Some(new), [key]) = (new, setting.keys.as_slice()) {
            comments.entry(ValuesPath::parse(key)).or_default().push(format!(
                "registry setting {}: {} -> {new} (the operator builds its operand images from it)",
                setting.location, setting.host
            ));
        }
    }
    let used = moves.iter().flat_map(|m| m.keys.iter().cloned()).collect();
    let mut idle_images = discover::idle_images(&baseline_render.covering, &used);
    let unrendered = discover::unrendered(&renderer, &baseline_render, &mut idle_images);
    let text_images = discover::text_images(&baseline_render);
    let effective_before = baseline_render.effective.clone();
    let effective_after = final_render.effective.clone();
    Ok(RetargetPlan {
        chart: root.display_path(),
        overlay: planner.overlay,
        comments,
        moves,
        gates: planner.gates,
        placeholders,
        warnings: planner.warnings,
        idle_images,
        unrendered,
        text_images,
        registry_settings,
        effective_before,
        effective_after,
    })
}

/// A chart an operator installs itself (seed 000), planned like any chart; its overlay goes under
/// `values_path` of the operator chart, which the templates render whole into `field` of a custom
/// resource that the operator merges over the operand chart's defaults.
#[derive(Debug, Clone)]
pub struct Operand {
    pub name: String,
    pub plan: RetargetPlan,
    pub values_path: ValuesPath,
    /// `AgentSet/release-agents spec.exporter.helmValues`.
    pub field: String,
}

/// The key a probe adds to a candidate map, to see where the templates render that map.
const OPERAND_PROBE_KEY: &str = "helm-retarget-operand-probe";

/// At most this many values maps are probed to find where an operand's values are rendered.
const OPERAND_PROBES: usize = 64;

/// Plans each operand chart and writes its overlay into the operator plan, under the values map
/// that the operator chart's templates render whole into a custom-resource field. That map is
/// found by rendering: each candidate map gets a probe key, and the one whose whole content then
/// appears as a mapping in a custom resource (not a pod spec) is the operand's values. Maps whose
/// path names the operand are tried first, deepest first.
pub fn with_operands(
    mut operator: RetargetPlan,
    root: &Chart,
    user: &Value,
    operands: &[(String, Chart)],
    mapping: &RegistryMapping,
    pull_secrets: &[String],
) -> crate::error::Result<(RetargetPlan, Vec<Operand>)> {
    let renderer = TreeRenderer::new(root);
    let (base, _, _) = renderer.with_placeholders(user);
    let mut found = Vec::new();
    for (name, chart) in operands {
        let operand = plan(chart, &Value::Map(Default::default()), mapping, pull_secrets)
            .map_err(|e| e.at(format!("operand {name}")))?;
        let values = crate::values::coalesce(&base, &operator.overlay);
        let render = renderer.render(&values);
        let Some((values_path, field)) = operand_values_path(&renderer, &values, &render.covering, name) else {
            return Err(crate::error::Error::coded(
                Code::OperandHasNoPlace,
                format!(
                    "operand {name}: no values map of {} is rendered whole into a custom resource field, so there is \
                 nowhere to put {}'s overlay",
                    operator.chart, operand.chart
                ),
            )
            .hint(
                "name the operand as the operator chart's values and custom resource name it (`--operand NAME=CHART`)",
            ));
        };
        let existing = operator.overlay.get(&values_path).cloned().unwrap_or_default();
        operator.overlay.set(&values_path, crate::values::coalesce(&existing, &operand.overlay));
        for (key, lines) in &operand.comments {
            operator.comments.entry(values_path.join(key)).or_default().extend(lines.iter().cloned());
        }
        operator
            .comments
            .entry(values_path.clone())
            .or_default()
            .insert(0, format!("values the operator merges over operand chart {} ({field})", operand.chart));
        for m in &operand.moves {
            let mut m = m.clone();
            m.chart = format!("{} > operand {name} ({})", operator.chart, m.chart);
            m.keys = m.keys.iter().map(|k| values_path.join(&ValuesPath::parse(k)).to_string()).collect();
            if let Outcome::Moved { keys } = &mut m.outcome {
                *keys = keys.iter().map(|k| values_path.join(&ValuesPath::parse(k)).to_string()).collect();
            }
            operator.moves.push(m);
        }
        operator.warnings.extend(operand.warnings.iter().map(|w| w.clone().at(format!("operand {name}"))));
        found.push(Operand { name: name.clone(), plan: operand, values_path, field });
    }
    // The values every operand will see are what the operator chart renders into its field: check
    // by rendering the operator chart with the whole overlay.
    let values = crate::values::coalesce(&base, &operator.overlay);
    let render = renderer.render(&values);
    operator.effective_after = render.effective.clone();
    for operand in &found {
        let rendered = rendered_field(&render, &operand.field);
        let wanted = render.effective.get(&operand.values_path);
        if rendered.as_ref() != wanted {
            operator.warnings.push(
                Diagnostic::new(
                    Code::OperandValuesDiffer,
                    format!("{} does not render exactly the values under {}", operand.field, operand.values_path),
                )
                .at(format!("operand {}", operand.name)),
            );
        }
    }
    Ok((operator, found))
}

/// The values map rendered whole into a custom-resource field, and that field.
fn operand_values_path(
    renderer: &TreeRenderer<'_>,
    values: &Value,
    covering: &Value,
    name: &str,
) -> Option<(ValuesPath, String)> {
    let mut candidates = Vec::new();
    map_paths(covering, ValuesPath::root(), &mut candidates);
    let names = |p: &ValuesPath| p.steps().iter().any(|s| matches!(s, Step::Key(k) if k == name));
    candidates.sort_by_key(|p| (!names(p), std::cmp::Reverse(p.steps().len()), p.to_string()));
    for path in candidates.into_iter().take(OPERAND_PROBES) {
        let key = ValuesPath::root().child(OPERAND_PROBE_KEY);
        let mut trial = values.clone();
        let mut probe = values.get(&path).cloned().unwrap_or_else(|| Value::Map(Default::default()));
        if !matches!(probe, Value::Map(_)) {
            continue;
        }
        probe.set(&key, Value::String(name.to_string()));
        trial.set(&path, probe);
        let render = renderer.render(&trial);
        // The chart's defaults merge in under the probe: look for the map as the templates see it.
        let Some(expected) = render.effective.get(&path).filter(|v| v.get(&key).is_some()) else { continue };
        if let Some(field) = field_holding(&render, expected) {
            return Some((path, field));
        }
    }
    None
}

fn map_paths(value: &Value, at: ValuesPath, out: &mut Vec<ValuesPath>) {
    if let Value::Map(map) = value {
        if !at.is_root() {
            out.push(at.clone());
        }
        for (k, child) in map {
            map_paths(child, at.child(k), out);
        }
    }
}

/// `Kind/name field.path` of a mapping equal to `wanted` in an object that is not a pod.
fn field_holding(render: &TreeRender, wanted: &Value) -> Option<String> {
    fn walk(value: &Value, at: &str, wanted: &Value) -> Option<String> {
        if value == wanted {
            return Some(at.to_string());
        }
        match value {
            Value::Map(map) => map.iter().find_map(|(k, v)| {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                walk(v, &path, wanted)
            }),
            Value::List(items) => items.iter().enumerate().find_map(|(i, v)| walk(v, &format!("{at}[{i}]"), wanted)),
            _ => None,
        }
    }
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        let Ok(documents) = crate::yaml::parse_documents(&output.text.text, &t.name) else { continue };
        for doc in documents {
            let text = |p: &str| doc.get(&ValuesPath::parse(p)).and_then(Value::as_str).unwrap_or_default().to_string();
            let kind = text("kind");
            if kind.is_empty() || crate::rewrite::is_pod_kind(&kind) || kind == "ConfigMap" || kind == "Secret" {
                continue;
            }
            let Some(spec) = doc.as_map() else { continue };
            for (key, value) in spec {
                if matches!(key.as_str(), "metadata" | "kind" | "apiVersion") {
                    continue;
                }
                if let Some(field) = walk(value, key, wanted) {
                    return Some(format!("{kind}/{} {field}", text("metadata.name")));
                }
            }
        }
    }
    None
}

/// The value at `Kind/name field.path` in a render.
pub fn rendered_field(render: &TreeRender, location: &str) -> Option<Value> {
    let (object, field) = location.split_once(' ')?;
    for t in &render.templates {
        let Ok(output) = &t.output else { continue };
        let Ok(documents) = crate::yaml::parse_documents(&output.text.text, &t.name) else { continue };
        for doc in documents {
            let text = |p: &str| doc.get(&ValuesPath::parse(p)).and_then(Value::as_str).unwrap_or_default().to_string();
            if format!("{}/{}", text("kind"), text("metadata.name")) == object {
                return doc.get(&ValuesPath::parse(field)).cloned();
            }
        }
    }
    None
}

/// The `base` + `components` documents of one ConfigMap in a render, in the order its reader
/// takes them: data keys in order, then documents in order.
fn image_config_documents(render: &TreeRender, template: &str, object: &str) -> Vec<Value> {
    let Some(text) = render.templates.iter().find(|t| t.name == template).and_then(|t| t.output.as_ref().ok()) else {
        return Vec::new();
    };
    let Ok(documents) = crate::yaml::parse_documents(&text.text.text, template) else { return Vec::new() };
    let field = |doc: &Value, path: &str| doc.get(&ValuesPath::parse(path)).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    for doc in documents {
        let name =
            format!("{}/{}", field(&doc, "kind").unwrap_or_default(), field(&doc, "metadata.name").unwrap_or_default());
        if name != object {
            continue;
        }
        let Some(Value::Map(data)) = doc.get(&ValuesPath::parse("data")) else { continue };
        for (key, content) in data {
            let Some(content) = content.as_str() else { continue };
            let Ok(embedded) = crate::yaml::parse_documents(content, key) else { continue };
            out.extend(embedded.into_iter().filter(|d| {
                d.get(&ValuesPath::parse("base")).is_some_and(|b| b.as_str().is_some())
                    && matches!(d.get(&ValuesPath::parse("components")), Some(Value::Map(_)))
            }));
        }
    }
    out
}

/// True when the image-config documents of `object` offer every `wanted` reference.
fn components_offered(images: &BTreeMap<SiteId, RenderedImage>, object: &str, wanted: &[Reference]) -> bool {
    let offered: Vec<Reference> = images
        .iter()
        .filter(|(id, _)| id.object == object)
        .flat_map(|(_, i)| i.components.iter().filter_map(|c| Reference::parse(c).ok()))
        .collect();
    wanted.iter().all(|w| offered.iter().any(|o| same_image(o, w)))
}

/// True when two references name the same image (host, path, tag, digest), however spelled.
pub fn same_image(a: &Reference, b: &Reference) -> bool {
    a.registry == b.registry && a.repository == b.repository && a.tag == b.tag && a.digest == b.digest
}

fn why_unmovable(image: &RenderedImage) -> String {
    if discover::keys(&image.parts).is_empty() {
        "hard-coded in the template: no values key decides it".to_string()
    } else {
        format!("the registry part comes from the template, not from values ({})", discover::composition(&image.parts))
    }
}

impl Planner<'_, '_> {
    fn render_with(&self, overlay: &Value) -> TreeRender {
        let values = crate::values::coalesce(&self.base, overlay);
        self.renderer.render(&values)
    }

    /// The render under the current overlay, re-rendering only the charts that the keys changed
    /// since the last one touch.
    fn current_render(&self) -> std::rc::Rc<TreeRender> {
        let mut cache = self.current.borrow_mut();
        let render = match cache.take() {
            Some((overlay, render)) if overlay == self.overlay => render,
            Some((overlay, render)) => {
                std::rc::Rc::new(self.rerender(&render, &self.overlay, &changed_paths(&overlay, &self.overlay)))
            }
            None => std::rc::Rc::new(self.render_with(&self.overlay)),
        };
        *cache = Some((self.overlay.clone(), render.clone()));
        render
    }

    /// `previous` brought up to date with `overlay`, where only `keys` differ: a template that
    /// neither read nor printed anything on those keys' branches renders the same, so only the
    /// charts that did are rendered again.
    fn rerender(&self, previous: &TreeRender, overlay: &Value, keys: &[ValuesPath]) -> TreeRender {
        // A key nothing was seen to read may still be consumed whole (a `merge` of `.Values`, as
        // Istio's profiles do): then nothing can be ruled out.
        let mut charts = previous.charts_touching(keys);
        if charts.is_empty() {
            charts = (0..self.renderer.charts.len()).collect();
        }
        let values = crate::values::coalesce(&self.base, overlay);
        previous.with_charts_from(self.renderer.render_charts(&values, Some(&charts)), &charts)
    }

    /// Images of a render under the current overlay plus `extra`.
    fn images_with(&self, extra: &[(ValuesPath, Value)]) -> (std::rc::Rc<TreeRender>, BTreeMap<SiteId, RenderedImage>) {
        let current = self.current_render();
        let render = if extra.is_empty() {
            current
        } else {
            let mut overlay = self.overlay.clone();
            for (k, v) in extra {
                overlay = with_edit(&overlay, &self.effective, k, v.clone());
            }
            let keys: Vec<ValuesPath> = extra.iter().map(|(k, _)| k.clone()).collect();
            std::rc::Rc::new(self.rerender(&current, &overlay, &keys))
        };
        let images = discover::images(&render).into_iter().map(|i| (i.id.clone(), i)).collect();
        (render, images)
    }

    fn correct(
        &self,
        images: &BTreeMap<SiteId, RenderedImage>,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
    ) -> BTreeSet<SiteId> {
        destinations
            .iter()
            .filter(|(id, d)| match (images.get(*id), d) {
                (Some(i), Some(d)) => {
                    same_image(&i.reference, d)
                        || self.components.get(*id).is_some_and(|wanted| components_offered(images, &id.object, wanted))
                }
                _ => false,
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Tries each registry-like key the chart reads, global ones first: probes it with a sentinel
    /// host to learn what it does, computes the one value that would put every image it moves on
    /// its destination, and keeps it if a render confirms more images land and none leave.
    fn apply_knobs(
        &mut self,
        baseline: &TreeRender,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) {
        // Keys the templates read, and keys the traces show carrying text (read inside a `merge`).
        let traced = discover::images(baseline)
            .into_iter()
            .flat_map(|i| discover::keys(&i.parts))
            .map(|k| ValuesPath::parse(&k));
        let mut candidates: Vec<ValuesPath> = baseline
            .reads()
            .into_keys()
            .chain(traced)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|p| is_registry_knob(p) && !self.banned.contains(p))
            .filter(|p| matches!(baseline.effective.get(p), None | Some(Value::Null | Value::String(_))))
            .collect();
        candidates.sort_by_key(|p| (!p.is_global(), p.steps().len(), p.to_string()));

        let (_, mut current) = self.images_with(&[]);
        let mut correct = self.correct(&current, destinations);
        for knob in candidates {
            // A knob can only help an image still off target, in a chart that reads or prints it.
            let (render, _) = self.images_with(&[]);
            let pending: BTreeSet<usize> = current
                .iter()
                .filter(|(id, _)| !correct.contains(*id) && matches!(destinations.get(*id), Some(Some(_))))
                .map(|(_, i)| i.chart)
                .collect();
            if pending.is_empty() {
                break;
            }
            if render.charts_touching(std::slice::from_ref(&knob)).is_disjoint(&pending) {
                continue;
            }
            // A chart with a render gate refuses the probe host too: open the gate for the probe.
            let mut probe = vec![(knob.clone(), Value::String(PROBE_HOST.to_string()))];
            let (probe_render, mut probed) = self.images_with(&probe);
            if let Some((gate, _)) = self.find_gate(&probe_render, baseline_failures, &probe) {
                probe.push((gate, Value::Bool(true)));
                (_, probed) = self.images_with(&probe);
            }
            let Some(value) = knob_value(&current, &probed, destinations, &correct) else { continue };
            let Some(trial) = self.try_edit(&knob, Value::String(value), destinations, &correct, baseline_failures)
            else {
                continue;
            };
            let keys = self.shortest_equivalent(trial.keys, &knob, &trial.correct, destinations, baseline_failures);
            for (k, v) in keys {
                self.overlay = with_edit(&self.overlay, &self.effective, &k, v);
            }
            self.gates.extend(trial.gate);
            current = self.images_with(&[]).1;
            correct = self.correct(&current, destinations);
        }
    }

    /// For images still off target, edits the values key that carries the differing text (usually
    /// the host inside a `repository`), keeping the rest of its value. Each edit is kept only if a
    /// render confirms it, and is then written under the shortest key that has the same effect.
    fn apply_direct_edits(
        &mut self,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) {
        for _round in 0..3 {
            let (render, current) = self.images_with(&[]);
            let mut correct = self.correct(&current, destinations);
            let mut edits: BTreeMap<ValuesPath, String> = BTreeMap::new();
            for (id, image) in &current {
                let Some(Some(dest)) = destinations.get(id) else { continue };
                if correct.contains(id) {
                    continue;
                }
                if let Some((path, value)) = direct_edit(image, dest, &render.covering) {
                    // Two sites needing different values of one key cannot both be served by it.
                    match edits.get(&path) {
                        Some(existing) if *existing != value => {
                            self.warnings.push(
                                Diagnostic::new(
                                    Code::KeyFeedsSeveralImages,
                                    format!("feeds several images that need different values; kept {existing:?}"),
                                )
                                .at(path.to_string())
                                .hint(
                                    "the table below shows which images stay off the target: the post-renderer \
                                     moves them",
                                ),
                            );
                        }
                        _ => {
                            edits.insert(path, value);
                        }
                    }
                }
            }
            let mut progress = false;
            for (path, value) in edits {
                let Some(Trial { keys: extra, gate, correct: now_correct }) =
                    self.try_edit(&path, Value::String(value.clone()), destinations, &correct, baseline_failures)
                else {
                    continue;
                };
                let extra = self.shortest_equivalent(extra, &path, &now_correct, destinations, baseline_failures);
                for (k, v) in extra {
                    self.overlay = with_edit(&self.overlay, &self.effective, &k, v);
                }
                self.gates.extend(gate);
                correct = now_correct;
                progress = true;
            }
            if !progress {
                return;
            }
        }
    }

    /// Renders with one more key set (and a render gate opened if it trips one); returns the keys to
    /// add and the sites then correct, if more images land and none leave.
    fn try_edit(
        &self,
        path: &ValuesPath,
        value: Value,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        correct: &BTreeSet<SiteId>,
        baseline_failures: &BTreeSet<String>,
    ) -> Option<Trial> {
        let mut extra = vec![(path.clone(), value)];
        let (mut render, mut images) = self.images_with(&extra);
        let mut gate = None;
        if let Some((gate_path, message)) = self.find_gate(&render, baseline_failures, &extra) {
            extra.push((gate_path.clone(), Value::Bool(true)));
            (render, images) = self.images_with(&extra);
            gate = Some(Gate { key: gate_path.to_string(), message });
        }
        let now_correct = self.correct(&images, destinations);
        let improves = now_correct.len() > correct.len() && correct.is_subset(&now_correct);
        (improves && render.new_failures(baseline_failures).is_empty()).then_some(Trial {
            keys: extra,
            gate,
            correct: now_correct,
        })
    }

    /// The trace names the key a template finally read, which may sit deep in a defaults block that
    /// a chart merges under its values (`istiod._internal_defaults.global.hub`). Users set the
    /// shorter key (`global.hub`, `istiod.hub`): try the global spelling and each path with one step
    /// dropped, shortest first, and take the first that lands the same images.
    fn shortest_equivalent(
        &self,
        extra: Vec<(ValuesPath, Value)>,
        path: &ValuesPath,
        expected: &BTreeSet<SiteId>,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) -> Vec<(ValuesPath, Value)> {
        let steps = path.steps();
        let mut alternatives: Vec<ValuesPath> = Vec::new();
        if let Some(i) = steps.iter().position(|s| matches!(s, Step::Key(k) if k == "global")).filter(|i| *i > 0) {
            alternatives.push(ValuesPath::from_steps(steps[i..].to_vec()));
        }
        for drop in 0..steps.len().saturating_sub(1) {
            let mut shorter = steps.to_vec();
            shorter.remove(drop);
            alternatives.push(ValuesPath::from_steps(shorter));
        }
        alternatives.sort_by_key(|p| p.steps().len());
        alternatives.dedup();
        for alternative in alternatives {
            if self.effective.get(&alternative).is_some_and(|v| !matches!(v, Value::Null | Value::String(_))) {
                continue;
            }
            let trial: Vec<(ValuesPath, Value)> = extra
                .iter()
                .map(|(k, v)| (if k == path { alternative.clone() } else { k.clone() }, v.clone()))
                .collect();
            let (render, images) = self.images_with(&trial);
            if expected.is_subset(&self.correct(&images, destinations))
                && render.new_failures(baseline_failures).is_empty()
            {
                return trial;
            }
        }
        extra
    }

    /// Image configs (a ConfigMap of `base` + `components` documents, later documents winning)
    /// whose `base` the chart hard-codes: find a list the chart renders as further documents of that
    /// ConfigMap (probed with a sentinel document), and put there each document again with its
    /// `base` on the destination.
    fn apply_image_configs(
        &mut self,
        baseline: &TreeRender,
        destinations: &BTreeMap<SiteId, Option<Reference>>,
        baseline_failures: &BTreeSet<String>,
    ) {
        let (render, current) = self.images_with(&[]);
        let mut correct = self.correct(&current, destinations);
        let objects: BTreeSet<(String, String)> = current
            .iter()
            .filter(|(id, i)| !i.components.is_empty() && !i.is_split() && !correct.contains(*id))
            .filter(|(id, _)| matches!(destinations.get(*id), Some(Some(_))))
            .map(|(id, _)| (id.template.clone(), id.object.clone()))
            .collect();
        if objects.is_empty() {
            return;
        }
        let lists: Vec<ValuesPath> = baseline
            .reads()
            .into_iter()
            .filter(|(p, found)| *found && matches!(self.effective.get(p), Some(Value::List(_))))
            .map(|(p, _)| p)
            .collect();
        let probe_base = format!("{PROBE_HOST}/probe");
        let probe_document: Value = crate::yaml::parse(
            &format!("base: {probe_base}\ncomponents:\n  probe:\n    image: probe\n    tag: v1\n"),
            "probe",
        )
        .unwrap_or_default();
        for (template, object) in objects {
            // Every document in the order the reader takes them, each `base` on its destination:
            // as the list's items render after the chart's own documents, the restated defaults
            // come first and the user's own documents (already in the list) keep the last word.
            let documents = image_config_documents(&render, &template, &object);
            let mut changed = false;
            let moved: Vec<Value> = documents
                .into_iter()
                .map(|mut document| {
                    let base = document.get(&ValuesPath::parse("base")).and_then(Value::as_str).map(str::to_string);
                    let destination = base
                        .as_deref()
                        .and_then(|b| Reference::parse(b).ok())
                        .and_then(|r| self.mapping.destination(&r))
                        .map(|d| d.name());
                    if let (Some(base), Some(destination)) = (base, destination) {
                        if base != destination {
                            changed = true;
                            document.set(&ValuesPath::parse("base"), Value::String(destination));
                        }
                    }
                    document
                })
                .collect();
            if !changed {
                continue;
            }
            for list in &lists {
                let existing = match self.overlay.get(list).or_else(|| self.effective.get(list)) {
                    Some(Value::List(items)) => items.clone(),
                    _ => continue,
                };
                let probe = Value::List(existing.iter().cloned().chain([probe_document.clone()]).collect());
                let (_, probed) = self.images_with(&[(list.clone(), probe)]);
                if !probed.iter().any(|(id, i)| id.object == object && i.text == probe_base) {
                    continue;
                }
                let value = Value::List(moved.clone());
                if let Some(trial) = self.try_edit(list, value, destinations, &correct, baseline_failures) {
                    for (k, v) in trial.keys {
                        self.overlay = with_edit(&self.overlay, &self.effective, &k, v);
                    }
                    self.gates.extend(trial.gate);
                    self.image_config_lists.insert(object.clone(), list.clone());
                    correct = trial.correct;
                    break;
                }
            }
        }
    }

    /// A render gate: a template that fails with our changes but not without them. Looks for a
    /// key the failing helper read and found unset or false, whose setting to `true` lets it render.
    fn find_gate(
        &self,
        render: &TreeRender,
        baseline_failures: &BTreeSet<String>,
        extra: &[(ValuesPath, Value)],
    ) -> Option<(ValuesPath, String)> {
        let (message, keys) = render.gate_candidates(baseline_failures)?;
        keys.into_iter().find_map(|key| {
            let mut trial = extra.to_vec();
            trial.push((key.clone(), Value::Bool(true)));
            let (r, _) = self.images_with(&trial);
            r.new_failures(baseline_failures).is_empty().then(|| (key, message.clone()))
        })
    }

    /// Registry settings (a host an operator builds operand images from) that one values key
    /// holds whole: that key gets the host the mapping gives the setting's registry, kept only if
    /// a render shows the setting with it and changes no image that was right.
    fn apply_registry_settings(
        &mut self,
        baseline: &TreeRender,
        baseline_failures: &BTreeSet<String>,
    ) -> Vec<(discover::RegistrySetting, Option<String>)> {
        let mut out = Vec::new();
        for setting in discover::registry_settings(baseline) {
            let key = match (setting.movable, setting.keys.as_slice()) {
                (true, [key]) => ValuesPath::parse(key),
                _ => {
                    self.warnings.push(
                        Diagnostic::new(
                            Code::RegistrySettingNotAKey,
                            format!(
                                "registry setting {} = {} is not one values key (the template writes it): the \
                                 operator builds images from it",
                                setting.location, setting.host
                            ),
                        )
                        .at(&setting.template),
                    );
                    out.push((setting, None));
                    continue;
                }
            };
            let Some(mapped) = self.registry_host_for(&setting.host) else {
                out.push((setting, None)); // the mapping excludes this registry
                continue;
            };
            let Some(new) = mapped else {
                self.warnings.push(
                    Diagnostic::new(
                        Code::RegistrySettingRenamesPaths,
                        format!(
                            "registry setting {} = {}: the mapping renames image paths below this registry, which \
                             a host setting cannot express",
                            setting.location, setting.host
                        ),
                    )
                    .at(&setting.template),
                );
                out.push((setting, None));
                continue;
            };
            if new == setting.host {
                out.push((setting, None));
                continue;
            }
            let (before_render, before) = self.images_with(&[]);
            let extra = [(key.clone(), Value::String(new.clone()))];
            let (render, after) = self.images_with(&extra);
            let landed =
                discover::registry_settings(&render).iter().any(|s| s.location == setting.location && s.host == new);
            let images_kept = before.iter().all(|(id, i)| after.get(id).is_some_and(|a| a.text == i.text));
            let fails =
                render.new_failures(baseline_failures).len() > before_render.new_failures(baseline_failures).len();
            if landed && images_kept && !fails {
                self.overlay = with_edit(&self.overlay, &self.effective, &key, Value::String(new.clone()));
                out.push((setting, Some(new)));
            } else {
                self.warnings.push(
                    Diagnostic::new(
                        Code::RegistrySettingNotMoved,
                        format!(
                            "registry setting {} = {}: setting {key} to {new} did not move it alone",
                            setting.location, setting.host
                        ),
                    )
                    .at(&setting.template),
                );
                out.push((setting, None));
            }
        }
        out
    }

    /// The host (and path prefix) the mapping gives images of registry `host`, when it keeps
    /// their paths; Some(None) when it renames paths, which one host setting cannot express.
    /// The outer None: the mapping excludes the registry.
    fn registry_host_for(&self, host: &str) -> Option<Option<String>> {
        const PROBE_PATH: &str = "helm-retarget-probe/image";
        let probe = Reference::parse(&format!("{host}/{PROBE_PATH}:1")).ok()?;
        let dest = self.mapping.destination(&probe)?;
        let Some(prefix) = dest.repository.strip_suffix(PROBE_PATH) else { return Some(None) };
        let prefix = prefix.trim_end_matches('/');
        Some(Some(if prefix.is_empty() { dest.registry } else { format!("{}/{prefix}", dest.registry) }))
    }

    /// Sets pull secrets wherever the chart reads them: each pull-secret key the templates read is
    /// tried as a list of names and as a list of `{name: ...}` maps; kept when more pods get them.
    fn apply_pull_secrets(&mut self, baseline: &TreeRender, secrets: &[String], baseline_failures: &BTreeSet<String>) {
        let mut candidates: Vec<ValuesPath> = baseline.reads().into_keys().filter(is_pull_secret_knob).collect();
        candidates.sort_by_key(|p| (!p.is_global(), p.steps().len(), p.to_string()));
        let as_names = Value::List(secrets.iter().map(|s| Value::String(s.clone())).collect());
        let as_maps = Value::List(
            secrets
                .iter()
                .map(|s| Value::Map([("name".to_string(), Value::String(s.clone()))].into_iter().collect()))
                .collect(),
        );
        let (render, _) = self.images_with(&[]);
        let mut served = pods_with_secrets(&render, secrets);
        for key in candidates {
            for value in [&as_maps, &as_names] {
                let extra = [(key.clone(), value.clone())];
                let (render, _) = self.images_with(&extra);
                let now = pods_with_secrets(&render, secrets);
                if now.len() > served.len()
                    && served.is_subset(&now)
                    && render.new_failures(baseline_failures).is_empty()
                {
                    self.overlay.set(&key, value.clone());
                    served = now;
                    break;
                }
            }
        }
        let (render, _) = self.images_with(&[]);
        let all = all_pods(&render);
        let missing: Vec<&String> = all.difference(&served).collect();
        if !missing.is_empty() {
            // The pull-secrets e2e test reads this list back: keep the `for: a, b` form.
            self.warnings.push(Diagnostic::new(
                Code::PullSecretsUnplaced,
                format!(
                    "no values key sets pull secrets for: {}",
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
}

/// Keys that look like registry knobs by the names charts give them: `registry`, `imageRegistry`,
/// `hub`, `*Registry`. Which of them really moves an image is learnt by probing, not assumed.
fn is_registry_knob(path: &ValuesPath) -> bool {
    path.leaf().is_some_and(|leaf| {
        let l = leaf.to_ascii_lowercase();
        l.contains("registry") || l == "hub"
    })
}

fn is_pull_secret_knob(path: &ValuesPath) -> bool {
    path.leaf().is_some_and(|leaf| leaf.to_ascii_lowercase().ends_with("pullsecrets"))
}

/// From a probe render (knob = sentinel host): the single value of the knob that puts every image it
/// moves on its destination, or None if it moves an image it must not (excluded, already correct
/// elsewhere) or would need different values for different images.
fn knob_value(
    current: &BTreeMap<SiteId, RenderedImage>,
    probed: &BTreeMap<SiteId, RenderedImage>,
    destinations: &BTreeMap<SiteId, Option<Reference>>,
    correct: &BTreeSet<SiteId>,
) -> Option<String> {
    let mut value: Option<String> = None;
    let mut helps = false;
    for (id, before) in current {
        let Some(after) = probed.get(id) else { continue };
        if after.composed() == before.composed() {
            continue;
        }
        let dest = match destinations.get(id) {
            Some(Some(d)) => d.to_string(),
            _ => return None,
        };
        let needed = after.composed().strip_prefix(PROBE_HOST).and_then(|suffix| dest.strip_suffix(suffix));
        let Some(needed) = needed.filter(|n| !n.is_empty()).map(str::to_string) else {
            // The knob breaks this image (it prepends to a full reference: a double host). That is
            // acceptable only for an image not yet right, which a direct edit may still mend; the
            // final check bans the knob if none does.
            if correct.contains(id) {
                return None;
            }
            continue;
        };
        if value.as_ref().is_some_and(|v| *v != needed) {
            return None;
        }
        helps |= !correct.contains(id);
        value = Some(needed);
    }
    value.filter(|_| helps)
}

/// The edit of one values key that turns `image` into `dest`: the differing run of text must lie in
/// (or, for an insertion, start) a single piece that came from a string values key. For sibling
/// fields the run must lie in the field carrying the host, which the composed reference starts with.
fn direct_edit(image: &RenderedImage, dest: &Reference, effective: &Value) -> Option<(ValuesPath, String)> {
    let old = image.composed();
    let new = dest.to_string();
    let prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old.bytes().rev().zip(new.bytes().rev()).take(max_suffix).take_while(|(a, b)| a == b).count();
    let (start, end) = (prefix, old.len() - suffix);
    let replacement = &new[prefix..new.len() - suffix];
    let mut pos = 0;
    for part in &image.parts {
        let len = match part {
            Part::Template { text } | Part::Values { text, .. } | Part::Chart { text, .. } => text.len(),
        };
        let inside = start >= pos && end <= pos + len && (start < pos + len || len > 0 && start == pos);
        if inside {
            let Part::Values { path, offset, .. } = part else { return None };
            let path = ValuesPath::parse(path);
            let original = effective.get(&path)?.as_str()?;
            let (a, b) = (offset + start - pos, offset + end - pos);
            let value = format!("{}{}{}", original.get(..a)?, replacement, original.get(b..)?);
            return Some((path, value));
        }
        pos += len;
    }
    None
}

/// `overlay` with `path` set to `value`. Helm replaces lists whole, so a key inside a list (an
/// image in a raw container list) is written by restating the whole list with the one change.
fn with_edit(overlay: &Value, effective: &Value, path: &ValuesPath, value: Value) -> Value {
    let mut out = overlay.clone();
    let steps = path.steps();
    match steps.iter().position(|s| matches!(s, Step::Index(_))) {
        Some(i) => {
            let list_path = ValuesPath::from_steps(steps[..i].to_vec());
            let rest = ValuesPath::from_steps(steps[i..].to_vec());
            let mut list = out.get(&list_path).or_else(|| effective.get(&list_path)).cloned().unwrap_or_default();
            list.set(&rest, value);
            out.set(&list_path, list);
        }
        None => out.set(path, value),
    }
    out
}

fn failing_templates(render: &TreeRender) -> BTreeSet<String> {
    render.failures().map(|(t, _)| t.name.clone()).collect()
}

/// The overlay keys a rendered reference now comes from: a traced key itself, or the list that
/// holds it (lists are written whole).
fn overlay_keys_behind(traced: &[String], overlay_keys: &[ValuesPath]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in traced {
        let key = ValuesPath::parse(key);
        if let Some(o) = overlay_keys.iter().find(|o| key.starts_with(o)) {
            let name = o.to_string();
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The leaf paths whose values differ between two overlays.
fn changed_paths(a: &Value, b: &Value) -> Vec<ValuesPath> {
    let mut paths = leaf_paths(a);
    paths.extend(leaf_paths(b));
    paths.sort();
    paths.dedup();
    paths.retain(|p| a.get(p) != b.get(p));
    paths
}

/// Every leaf path of a values tree (lists count as leaves).
pub fn leaf_paths(value: &Value) -> Vec<ValuesPath> {
    fn walk(v: &Value, at: ValuesPath, out: &mut Vec<ValuesPath>) {
        match v {
            Value::Map(m) if !m.is_empty() => {
                for (k, child) in m {
                    walk(child, at.child(k), out);
                }
            }
            _ if !at.is_root() => out.push(at),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, ValuesPath::root(), &mut out);
    out
}

fn comments(moves: &[ImageMove], gates: &[Gate], overlay_keys: &[ValuesPath]) -> BTreeMap<ValuesPath, Vec<String>> {
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

/// `Kind/name` of every rendered object with a pod spec.
fn all_pods(render: &TreeRender) -> BTreeSet<String> {
    pod_specs(render).into_iter().map(|(name, _)| name).collect()
}

fn pods_with_secrets(render: &TreeRender, secrets: &[String]) -> BTreeSet<String> {
    pod_specs(render)
        .into_iter()
        .filter(|(_, spec)| {
            let names: Vec<&str> = match spec.as_map().and_then(|m| m.get("imagePullSecrets")) {
                Some(Value::List(items)) => items
                    .iter()
                    .filter_map(|i| i.as_map().and_then(|m| m.get("name")).and_then(Value::as_str))
                    .collect(),
                _ => Vec::new(),
            };
            secrets.iter().all(|s| names.contains(&s.as_str()))
        })
        .map(|(name, _)| name)
        .collect()
}

/// (`Kind/name`, pod spec) for every pod-bearing object of a render.
fn pod_specs(render: &TreeRender) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for t in &render.templates {
        let Ok(o) = &t.output else { continue };
        let Ok(docs) = crate::yaml::parse_documents(&o.text.text, &t.name) else { continue };
        for doc in docs {
            let kind = doc.get(&ValuesPath::parse("kind")).and_then(Value::as_str).unwrap_or("").to_string();
            let name = doc.get(&ValuesPath::parse("metadata.name")).and_then(Value::as_str).unwrap_or("").to_string();
            let spec_path = match kind.as_str() {
                "Pod" => "spec",
                "CronJob" => "spec.jobTemplate.spec.template.spec",
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
                    "spec.template.spec"
                }
                "PodTemplate" => "template.spec",
                _ => continue,
            };
            if let Some(spec) = doc.get(&ValuesPath::parse(spec_path)) {
                out.push((format!("{kind}/{name}"), spec.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(text: &str, parts: Vec<Part>) -> RenderedImage {
        RenderedImage {
            id: SiteId { template: "t".into(), object: "Pod/p".into(), field: "spec.containers[0].image".into() },
            chart: 0,
            text: text.to_string(),
            reference: Reference::parse(text).unwrap(),
            parts,
            components: Vec::new(),
        }
    }

    fn values(path: &str, text: &str, offset: usize) -> Part {
        Part::Values { path: path.into(), text: text.into(), offset }
    }

    fn literal(text: &str) -> Part {
        Part::Template { text: text.into() }
    }

    fn effective(pairs: &[(&str, &str)]) -> Value {
        let mut v = Value::Map(Default::default());
        for (k, t) in pairs {
            v.set(&ValuesPath::parse(k), Value::String(t.to_string()));
        }
        v
    }

    #[test]
    fn a_host_inside_a_repository_is_replaced_keeping_the_path() {
        let img = image(
            "quay.io/org/app:1.0",
            vec![values("image.repository", "quay.io/org/app", 0), literal(":"), values("image.tag", "1.0", 0)],
        );
        let dest = Reference::parse("mirror.example/org/app:1.0").unwrap();
        let edit = direct_edit(&img, &dest, &effective(&[("image.repository", "quay.io/org/app")]));
        assert_eq!(edit, Some((ValuesPath::parse("image.repository"), "mirror.example/org/app".into())));
    }

    #[test]
    fn a_docker_hub_name_without_host_gets_the_mirror_and_library_in_front() {
        let img = image("nginx:1.27", vec![values("image", "nginx:1.27", 0)]);
        let dest = Reference::parse("mirror.example/library/nginx:1.27").unwrap();
        let edit = direct_edit(&img, &dest, &effective(&[("image", "nginx:1.27")]));
        assert_eq!(edit, Some((ValuesPath::parse("image"), "mirror.example/library/nginx:1.27".into())));
    }

    #[test]
    fn a_host_written_by_the_template_cannot_be_edited_through_values() {
        let img = image(
            "docker.io/org/app:1",
            vec![literal("docker.io/"), values("image.repository", "org/app", 0), literal(":1")],
        );
        let dest = Reference::parse("mirror.example/org/app:1").unwrap();
        assert_eq!(direct_edit(&img, &dest, &effective(&[("image.repository", "org/app")])), None);
    }

    #[test]
    fn an_edit_inside_a_list_restates_the_whole_list() {
        let mut effective = Value::Map(Default::default());
        let list =
            crate::yaml::parse("- name: a\n  image: x/a:1\n  args: [--v]\n- name: b\n  image: x/b:1\n", "t").unwrap();
        effective.set(&ValuesPath::parse("extra"), list);
        let out =
            with_edit(&Value::Null, &effective, &ValuesPath::parse("extra[1].image"), Value::String("m/b:1".into()));
        let got = out.get(&ValuesPath::parse("extra")).unwrap();
        assert_eq!(got.get(&ValuesPath::parse("[0].args[0]")), Some(&Value::String("--v".into())));
        assert_eq!(got.get(&ValuesPath::parse("[1].image")), Some(&Value::String("m/b:1".into())));
        assert_eq!(got.get(&ValuesPath::parse("[1].name")), Some(&Value::String("b".into())));
    }

    #[test]
    fn a_knob_value_is_what_makes_every_image_it_moves_land_on_its_destination() {
        let site = |field: &str| SiteId { template: "t".into(), object: "Pod/p".into(), field: field.into() };
        let at = |field: &str, text: &str| {
            let mut i = image(text, Vec::new());
            i.id = site(field);
            (site(field), i)
        };
        let current: BTreeMap<_, _> = [at("a", "docker.io/istio/pilot:1"), at("b", "docker.io/istio/proxy:1")].into();
        let probed: BTreeMap<_, _> =
            [at("a", &format!("{PROBE_HOST}/pilot:1")), at("b", &format!("{PROBE_HOST}/proxy:1"))].into();
        let destinations: BTreeMap<_, _> = [
            (site("a"), Some(Reference::parse("m.example/istio/pilot:1").unwrap())),
            (site("b"), Some(Reference::parse("m.example/istio/proxy:1").unwrap())),
        ]
        .into();
        let value = knob_value(&current, &probed, &destinations, &BTreeSet::new());
        assert_eq!(value.as_deref(), Some("m.example/istio"));
        // A knob that would move an excluded image is refused.
        let mut excluded = destinations.clone();
        excluded.insert(site("b"), None);
        assert_eq!(knob_value(&current, &probed, &excluded, &BTreeSet::new()), None);
    }

    #[test]
    fn registry_knobs_and_pull_secret_keys_are_recognised_by_their_leaf() {
        assert!(is_registry_knob(&ValuesPath::parse("global.imageRegistry")));
        assert!(is_registry_knob(&ValuesPath::parse("cni.repair.hub")));
        assert!(!is_registry_knob(&ValuesPath::parse("image.repository")));
        assert!(is_pull_secret_knob(&ValuesPath::parse("global.imagePullSecrets")));
        assert!(is_pull_secret_knob(&ValuesPath::parse("defaults.image.pullSecrets")));
    }
}
