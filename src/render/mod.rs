//! Renders a whole chart tree with our template engine, as `helm template` would, keeping the
//! trace of which values key built each byte. Disabled subcharts are rendered too, so their images
//! are covered before a user turns them on.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use crate::chart::{self, Chart, ChartPath};
use crate::template::{Engine, Origin, RenderOutput, TValue, TemplateError, ValuesRead};
use crate::values::{Value, ValuesPath};

mod normalize;
mod options;
mod parallel;

pub use normalize::normalize_path;
use normalize::{normalize_error, normalize_output};
pub use options::{RenderOptions, API_VERSIONS, KUBE_VERSION, PLACEHOLDER};
use parallel::in_parallel;

/// One chart of the tree as the renderer sees it.
#[derive(Debug)]
pub struct ChartEntry<'a> {
    pub chart: &'a Chart,
    /// Template-name prefix Helm uses: `parent/charts/alias`.
    pub prefix: String,
    /// Where its values live in the root's values: `kubeStateMetrics` (root: empty).
    pub values_base: ValuesPath,
}

/// A chart tree with every template parsed once, ready to render under many sets of values.
#[derive(Debug)]
pub struct TreeRenderer<'a> {
    pub root: &'a Chart,
    pub charts: Vec<ChartEntry<'a>>,
    engine: Engine,
    options: RenderOptions,
    /// Some template reads `.Subcharts`: only then are the subcharts' contexts linked in.
    uses_subcharts: bool,
    /// Templates that did not parse: their images cannot be traced (the post-renderer still moves them).
    pub parse_errors: Vec<TemplateError>,
    /// Random values repeat from render to render (`repeatable`).
    repeatable: bool,
    /// Finds each rendered template's images in the thread that rendered it (set by discover,
    /// listed after this module); without one they are found on first use.
    finder: Option<ImageFinder>,
}

/// The images of one rendered template (discover's finder, handed down so render need not name it).
pub type ImageFinder = fn(&RenderedTemplate) -> Vec<crate::site::RenderedImage>;

/// One rendered template file.
#[derive(Debug)]
pub struct RenderedTemplate {
    /// Index into `TreeRenderer::charts`.
    pub chart: usize,
    /// Helm's template name: `cloudzero-agent/charts/kubeStateMetrics/templates/deployment.yaml`.
    pub name: String,
    pub output: Result<RenderOutput, TemplateError>,
    /// The images found in `output`, computed once (a template kept from an earlier render is not
    /// scanned again).
    pub images: std::cell::OnceCell<Vec<crate::site::RenderedImage>>,
}

/// Every template of the tree rendered under one set of values.
#[derive(Debug, Clone)]
pub struct TreeRender {
    pub effective: Value,
    /// The effective values with every condition and tag holding: what disabled subcharts were
    /// rendered with, so their keys can be looked up too.
    pub covering: Value,
    pub templates: Vec<Rc<RenderedTemplate>>,
    /// Chart path -> why it is disabled under these values.
    pub disabled: BTreeMap<ChartPath, String>,
}

impl TreeRender {
    /// Every values path read by any template, deduplicated, with `found` true if any read found it.
    pub fn reads(&self) -> BTreeMap<ValuesPath, bool> {
        let mut out: BTreeMap<ValuesPath, bool> = BTreeMap::new();
        for t in &self.templates {
            if let Ok(o) = &t.output {
                for r in &o.reads {
                    *out.entry(r.path.clone()).or_default() |= r.found;
                }
            }
        }
        out
    }

    pub fn failures(&self) -> impl Iterator<Item = (&RenderedTemplate, &TemplateError)> {
        self.templates.iter().filter_map(|t| t.output.as_ref().err().map(|e| (t.as_ref(), e)))
    }

    /// Templates failing here that did not fail in a render whose failures were `before`.
    pub fn new_failures<'r>(&'r self, before: &BTreeSet<String>) -> Vec<(&'r str, &'r TemplateError)> {
        self.failures().filter(|(t, _)| !before.contains(&t.name)).map(|(t, e)| (t.name.as_str(), e)).collect()
    }

    /// A render gate tripped by a change: the first new `fail`, its message, and the keys the
    /// failing helper read and found unset or false, most recent first. Setting one of them to
    /// `true` may be what the chart asks for (`global.security.allowInsecureImages`).
    pub fn gate_candidates(&self, before: &BTreeSet<String>) -> Option<(String, Vec<ValuesPath>)> {
        let (_, error) = self.new_failures(before).into_iter().next()?;
        let TemplateError::Fail { message, reads, .. } = error else { return None };
        let keys = reads
            .iter()
            .rev()
            .filter(|r| matches!(self.effective.get(&r.path), None | Some(Value::Null | Value::Bool(false))))
            .map(|r| r.path.clone())
            .collect();
        Some((message.clone(), keys))
    }

    /// Charts whose templates read, or built output from, a values path on the same branch as one
    /// of `keys` (the key itself, a map above it, or a key below it), and charts whose templates
    /// failed (what they read is not known). Only these can render differently when `keys` change.
    pub fn charts_touching(&self, keys: &[ValuesPath]) -> BTreeSet<usize> {
        let related = |p: &ValuesPath| keys.iter().any(|k| k.starts_with(p) || p.starts_with(k));
        let mut out = BTreeSet::new();
        for t in &self.templates {
            if out.contains(&t.chart) {
                continue;
            }
            let touches = match &t.output {
                Err(_) => true,
                Ok(o) => {
                    o.reads.iter().any(|r| related(&r.path))
                        || o.text.spans.iter().any(|s| matches!(&s.origin, Origin::Values(p) if related(p)))
                }
            };
            if touches {
                out.insert(t.chart);
            }
        }
        out
    }

    /// This render with the templates of `charts` taken from `partial` (a render of just those).
    pub fn with_charts_from(&self, partial: TreeRender, charts: &BTreeSet<usize>) -> TreeRender {
        let mut templates: Vec<Rc<RenderedTemplate>> =
            self.templates.iter().filter(|t| !charts.contains(&t.chart)).cloned().collect();
        templates.extend(partial.templates);
        TreeRender { effective: partial.effective, covering: partial.covering, templates, disabled: partial.disabled }
    }
}

impl<'a> TreeRenderer<'a> {
    pub fn new(root: &'a Chart) -> Self {
        Self::with_options(root, RenderOptions::default())
    }

    /// A renderer for a release and cluster of the user's choosing (`helm-retarget template`).
    pub fn with_options(root: &'a Chart, options: RenderOptions) -> Self {
        let mut charts = Vec::new();
        collect(root, root.name.clone(), ValuesPath::root(), &mut charts);
        let mut files: Vec<(String, &str)> = Vec::new();
        for entry in &charts {
            for t in &entry.chart.templates {
                files.push((format!("{}/{}", entry.prefix, t.path), t.source.as_str()));
            }
        }
        // Helm parses deeper files first and, at equal depth, in reverse name order; a later
        // `define` replaces an earlier one, so the parent's helpers win over a subchart's.
        files.sort_by(|(a, _), (b, _)| helm_order(a, b));
        let mut engine = Engine::new();
        let mut parse_errors = Vec::new();
        for (name, source) in files {
            if let Err(e) = engine.add(&name, source) {
                parse_errors.push(e);
            }
        }
        let uses_subcharts = charts.iter().any(|e| e.chart.templates.iter().any(|t| t.source.contains("Subcharts")));
        TreeRenderer { root, charts, engine, options, uses_subcharts, parse_errors, repeatable: false, finder: None }
    }

    /// This renderer, finding each template's images as it renders it (on the worker thread, so
    /// the parsing of rendered manifests is spread over the cores too); `RenderedTemplate::images`
    /// then holds them from the start.
    #[must_use]
    pub fn finding_images(mut self, finder: ImageFinder) -> Self {
        self.finder = Some(finder);
        self
    }

    /// Random values (`randAlphaNum`, `uuidv4`, `randInt`) drawn from a generator seeded by the
    /// template's name: every render of a template with the same values is the same text, so an
    /// object named with `randAlphaNum` is one site across the planner's renders and the overlay's
    /// comments are the same in every run (`--check` compares them). Not for `template`, whose
    /// output may be installed: Helm draws anew each time.
    #[must_use]
    pub fn repeatable(mut self) -> Self {
        self.repeatable = true;
        self
    }

    /// Renders every manifest template of every chart (libraries only lend helpers) with `user`
    /// values coalesced over the defaults, as `helm template -f user.yaml` would: in Helm's order
    /// (deepest first, then reverse name order), each chart's templates sharing one context, so a
    /// template that rewrites `$.Values` (Istio's `zzz_profile.yaml`) affects the ones after it.
    pub fn render(&self, user: &Value) -> TreeRender {
        self.render_charts(user, None)
    }

    /// Renders what Helm renders: only the charts enabled under `user` (no disabled subchart made
    /// to render, no placeholders), for `helm-retarget template` and the verdict on what Helm does.
    pub fn render_enabled(&self, user: &Value) -> TreeRender {
        // One composition of the values serves both the choice of charts and their render.
        let (effective, status) = chart::effective_values_and_status(self.root, user);
        let disabled = status.into_disabled();
        let enabled = self.enabled_given(&disabled);
        self.render_composed(user, effective, disabled, Some(&enabled), false)
    }

    /// The charts (indexes into `charts`) whose conditions and tags hold under `user`.
    pub fn enabled_charts(&self, user: &Value) -> BTreeSet<usize> {
        let (_, status) = chart::effective_values_and_status(self.root, user);
        self.enabled_given(&status.into_disabled())
    }

    /// The charts enabled under the values `render` was made with: `enabled_charts` of those
    /// values, read off the render instead of composing the values again.
    pub fn enabled_in(&self, render: &TreeRender) -> BTreeSet<usize> {
        self.enabled_given(&render.disabled)
    }

    fn enabled_given(&self, disabled: &BTreeMap<ChartPath, String>) -> BTreeSet<usize> {
        let off = |path: &ChartPath| disabled.keys().any(|p| path.starts_with(p));
        (0..self.charts.len()).filter(|&i| !off(&self.charts[i].chart.path)).collect()
    }

    /// The chart a template of that name belongs to: the longest prefix `<prefix>/templates/`.
    pub fn chart_of(&self, template: &str) -> Option<usize> {
        (0..self.charts.len())
            .filter(|&i| template.starts_with(&format!("{}/templates/", self.charts[i].prefix)))
            .max_by_key(|&i| self.charts[i].prefix.len())
    }

    /// Like `render`, for the charts in `only` (all when None); the values are the whole tree's.
    pub fn render_charts(&self, user: &Value, only: Option<&BTreeSet<usize>>) -> TreeRender {
        self.render_selected(user, only, true)
    }

    /// Renders the templates of the charts in `only`; `cover_disabled` renders disabled subcharts as if
    /// enabled (and lists them in `.Subcharts`), as scan and the planner do.
    fn render_selected(&self, user: &Value, only: Option<&BTreeSet<usize>>, cover_disabled: bool) -> TreeRender {
        let (effective, status) = chart::effective_values_and_status(self.root, user);
        self.render_composed(user, effective, status.into_disabled(), only, cover_disabled)
    }

    /// `render_selected` with the values already composed: `effective` and `disabled` are those of `user`.
    fn render_composed(
        &self,
        user: &Value,
        effective: Value,
        disabled: BTreeMap<ChartPath, String>,
        only: Option<&BTreeSet<usize>>,
        cover_disabled: bool,
    ) -> TreeRender {
        // Helm gives a disabled subchart no values at all; to cover its images before a user turns
        // it on, render it with the values it would have if its condition and tags held.
        let enabling = if disabled.is_empty() { None } else { Some(self.enabling_values(user)) };
        let covering = enabling.clone().unwrap_or_else(|| effective.clone());
        // Shared by every context (each wraps its chart's branch lazily), then given back.
        let effective = Arc::new(effective);
        let enabling = enabling.map(Arc::new);
        // The values each rendered chart's context is built from (None: not rendered now).
        let sources: Vec<Option<&Arc<Value>>> = self
            .charts
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let wanted = !entry.chart.is_library() && only.is_none_or(|o| o.contains(&index));
                wanted.then(|| match &enabling {
                    Some(all) if disabled.contains_key(&entry.chart.path) => all,
                    _ => &effective,
                })
            })
            .collect();
        let mut order: Vec<(usize, String)> = Vec::new();
        for (index, entry) in self.charts.iter().enumerate() {
            if sources[index].is_none() {
                continue;
            }
            for t in &entry.chart.templates {
                let name = format!("{}/{}", entry.prefix, t.path);
                if renders(&t.path) && !self.parse_errors.iter().any(|e| error_template(e) == name) {
                    order.push((index, name));
                }
            }
        }
        order.sort_by(|(_, a), (_, b)| helm_order(a, b));
        // Each chart's templates in Helm's order, with the place each takes in the whole render.
        let mut per_chart: BTreeMap<usize, Vec<(usize, String)>> = BTreeMap::new();
        for (place, (index, name)) in order.into_iter().enumerate() {
            per_chart.entry(index).or_default().push((place, name));
        }
        let groups: Vec<(usize, Vec<(usize, String)>)> = per_chart.into_iter().collect();
        let mut rendered: Vec<(usize, RenderedTemplate)> = if self.uses_subcharts {
            // `.Subcharts` links the charts' contexts, and a template may change another chart's
            // context through it: these charts render in one thread, in Helm's order.
            let dots: Vec<Option<TValue>> =
                sources.iter().zip(&self.charts).map(|(from, entry)| from.map(|from| self.dot(entry, from))).collect();
            self.link_subcharts(&dots, &effective, enabling.as_ref(), &disabled, cover_disabled);
            let mut all: Vec<(usize, RenderedTemplate)> = Vec::new();
            for (index, names) in &groups {
                let Some(dot) = &dots[*index] else { unreachable!("only charts with a context are listed") };
                all.extend(self.render_chart(*index, dot, names));
            }
            all
        } else {
            // Each chart's context is its own (built from plain values, read by its templates
            // only), so charts render in parallel; the order below does not depend on scheduling.
            let templates = groups.iter().map(|(_, names)| names.len()).sum();
            in_parallel(groups.len(), templates, |job| {
                let (index, names) = &groups[job];
                let entry = &self.charts[*index];
                let Some(from) = sources[*index] else { unreachable!("only charts with a context are listed") };
                let dot = self.dot(entry, from);
                self.render_chart(*index, &dot, names)
            })
            .into_iter()
            .flatten()
            .collect()
        };
        rendered.sort_by_key(|(place, _)| *place);
        let templates = rendered.into_iter().map(|(_, t)| Rc::new(t)).collect();
        // Every context is gone with its render: the values come back without a copy.
        let effective = Arc::try_unwrap(effective).unwrap_or_else(|shared| (*shared).clone());
        TreeRender { effective, covering, templates, disabled }
    }

    /// Renders one chart's templates (`names`, in Helm's order, with their places) with its
    /// context `dot`, which they share: a template that rewrites `$.Values` affects the next.
    fn render_chart(&self, index: usize, dot: &TValue, names: &[(usize, String)]) -> Vec<(usize, RenderedTemplate)> {
        let entry = &self.charts[index];
        let base_path = format!("{}/templates", entry.prefix);
        let text = |s: &str| TValue::plain(&Value::String(s.to_string()));
        names
            .iter()
            .map(|(place, name)| {
                dot.insert(
                    "Template",
                    TValue::map(vec![("Name".to_string(), text(name)), ("BasePath".to_string(), text(&base_path))]),
                );
                let render = || self.engine.render(name, dot);
                let output = if self.repeatable {
                    crate::template::with_repeatable_random(seed_of(name), render)
                } else {
                    render()
                };
                let output = output
                    .map(|o| normalize_output(o, &entry.values_base))
                    .map_err(|e| normalize_error(e, &entry.values_base));
                let template =
                    RenderedTemplate { chart: index, name: name.clone(), output, images: std::cell::OnceCell::new() };
                if let Some(find) = self.finder {
                    let _ = template.images.set(find(&template));
                }
                (*place, template)
            })
            .collect()
    }

    /// Helm's `.Subcharts`: each chart's context holds its dependencies' contexts by key. Built
    /// for every chart of the tree (not only those rendered now), so a partial re-render sees
    /// what a full one does.
    fn link_subcharts(
        &self,
        dots: &[Option<TValue>],
        effective: &Arc<Value>,
        enabling: Option<&Arc<Value>>,
        disabled: &BTreeMap<ChartPath, String>,
        cover_disabled: bool,
    ) {
        let full: Vec<Option<TValue>> = self
            .charts
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let off = disabled.contains_key(&entry.chart.path);
                if entry.chart.is_library() || (off && !cover_disabled) {
                    return None;
                }
                dots[i].clone().or_else(|| {
                    let from = if off { enabling.unwrap_or(effective) } else { effective };
                    Some(self.dot(entry, from))
                })
            })
            .collect();
        for (i, entry) in self.charts.iter().enumerate() {
            let Some(dot) = &full[i] else { continue };
            let children = (0..self.charts.len())
                .filter(|&j| self.charts[j].prefix == format!("{}/charts/{}", entry.prefix, self.charts[j].chart.key))
                .filter_map(|j| full[j].clone().map(|d| (self.charts[j].chart.key.clone(), d)))
                .collect();
            dot.insert("Subcharts", TValue::map(children));
        }
    }

    /// Values under which every condition and tag holds: `user` plus `true` at each condition path
    /// and tag of the tree.
    fn enabling_values(&self, user: &Value) -> Value {
        let mut values = user.clone();
        for entry in &self.charts {
            let parent = &entry.values_base.parent().unwrap_or_default();
            if let Some(condition) = &entry.chart.condition {
                for path in condition.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    values.set(&parent.join(&ValuesPath::parse(path)), Value::Bool(true));
                }
            }
            for tag in &entry.chart.tags {
                values.set(&parent.child("tags").child(tag), Value::Bool(true));
            }
        }
        chart::effective_values(self.root, &values)
    }

    /// `user` plus placeholders for values the templates `require` (API keys, cluster names, a
    /// token or a secret name) so the chart renders at all; these never go into an overlay. Each
    /// round fills the last key a failing helper read and found unset or empty. Also returns the
    /// render under the values returned: the last round's when it changed nothing, so a caller
    /// does not render the baseline twice.
    pub fn with_placeholders(&self, user: &Value) -> (Value, Vec<String>, TreeRender) {
        let mut values = user.clone();
        let mut filled: Vec<String> = Vec::new();
        for _ in 0..8 {
            let render = self.render(&values);
            let mut progress = false;
            for (_, error) in render.failures() {
                let TemplateError::Fail { reads, .. } = error else { continue };
                let unset = |r: &&ValuesRead| {
                    matches!(render.effective.get(&r.path), None | Some(Value::Null))
                        || render.effective.get(&r.path).and_then(Value::as_str).is_some_and(str::is_empty)
                };
                if let Some(read) = reads.iter().rev().filter(unset).find(|r| !filled.contains(&r.path.to_string())) {
                    values.set(&read.path, Value::String(PLACEHOLDER.to_string()));
                    filled.push(read.path.to_string());
                    progress = true;
                }
            }
            if !progress {
                return (values, filled, render);
            }
        }
        let render = self.render(&values);
        (values, filled, render)
    }

    /// A chart's context; `.Values` is its branch of `values` (the whole tree's).
    fn dot(&self, entry: &ChartEntry<'_>, values: &Arc<Value>) -> TValue {
        let chart = entry.chart;
        let meta = &chart.metadata;
        let text = |s: &str| TValue::plain(&Value::String(s.to_string()));
        let mut chart_fields: Vec<(String, TValue)> = Vec::new();
        if let Value::Map(doc) = &meta.document {
            for (key, value) in doc {
                chart_fields.push((go_field_name(key), TValue::plain(value)));
            }
        }
        chart_fields.retain(|(k, _)| {
            !matches!(k.as_str(), "Name" | "Version" | "APIVersion" | "AppVersion" | "Type" | "IsRoot")
        });
        chart_fields.extend([
            ("Name".to_string(), text(&chart.key)),
            ("Version".to_string(), text(&meta.version)),
            ("APIVersion".to_string(), text(&meta.api_version)),
            ("Type".to_string(), text(if chart.is_library() { "library" } else { "application" })),
            ("IsRoot".to_string(), TValue::plain(&Value::Bool(entry.values_base.is_root()))),
            (
                "AppVersion".to_string(),
                TValue::with_origin(
                    &Value::String(meta.app_version.clone().unwrap_or_default()),
                    Origin::Chart { chart: chart.display_path(), field: "appVersion".to_string() },
                ),
            ),
        ]);
        let release = TValue::map(vec![
            ("Name".to_string(), text(&self.options.release_name)),
            ("Namespace".to_string(), text(&self.options.namespace)),
            ("Service".to_string(), text("Helm")),
            ("IsInstall".to_string(), TValue::plain(&Value::Bool(true))),
            ("IsUpgrade".to_string(), TValue::plain(&Value::Bool(false))),
            ("Revision".to_string(), TValue::plain(&Value::Int(1))),
        ]);
        TValue::map(vec![
            ("Values".to_string(), TValue::helm_values(values, &entry.values_base)),
            ("Chart".to_string(), TValue::map(chart_fields)),
            ("Release".to_string(), release),
            (
                "Capabilities".to_string(),
                TValue::capabilities(&self.options.kube_version, self.options.api_versions.clone()),
            ),
            ("Files".to_string(), TValue::files(chart.files.clone())),
        ])
    }
}

/// Helm's `sortTemplates`: more path segments first; at equal depth, reverse name order.
/// A template's seed for repeatable random values: FNV-1a of its name, the same in every run.
fn seed_of(template: &str) -> u64 {
    template.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn helm_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (da, db) = (a.matches('/').count(), b.matches('/').count());
    db.cmp(&da).then_with(|| b.cmp(a))
}

/// Chart.yaml's `kubeVersion` is `.Chart.KubeVersion`: Go's field names for the chart metadata.
fn go_field_name(key: &str) -> String {
    match key {
        "apiVersion" => "APIVersion".to_string(),
        "appVersion" => "AppVersion".to_string(),
        "kubeVersion" => "KubeVersion".to_string(),
        other => {
            let mut chars = other.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        }
    }
}

fn collect<'a>(chart: &'a Chart, prefix: String, base: ValuesPath, out: &mut Vec<ChartEntry<'a>>) {
    out.push(ChartEntry { chart, prefix: prefix.clone(), values_base: base.clone() });
    for sub in &chart.subcharts {
        collect(sub, format!("{prefix}/charts/{}", sub.key), base.child(&sub.key), out);
    }
}

/// Helm renders every file under templates/ except partials (`_*`), NOTES.txt included: a `fail`
/// there (Bitnami's image check lives in NOTES.txt) stops an install like any other.
fn renders(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    !file.starts_with('_')
}

/// NOTES.txt is printed for people, never sent to the cluster: no images to find in it.
pub fn is_notes(template: &str) -> bool {
    template.rsplit('/').next().is_some_and(|f| f.eq_ignore_ascii_case("NOTES.txt"))
}

/// The template an error names.
pub fn error_template(e: &TemplateError) -> &str {
    match e {
        TemplateError::Parse { template, .. }
        | TemplateError::Fail { template, .. }
        | TemplateError::Exec { template, .. } => template,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subchart_global_reads_normalize_to_the_root_global() {
        let base = ValuesPath::parse("kubeStateMetrics");
        assert_eq!(
            normalize_path(&ValuesPath::parse("kubeStateMetrics.global.imageRegistry"), &base),
            ValuesPath::parse("global.imageRegistry")
        );
        assert_eq!(
            normalize_path(&ValuesPath::parse("kubeStateMetrics.image.global"), &base),
            ValuesPath::parse("kubeStateMetrics.image.global")
        );
    }

    fn chart(entries: &[(&str, &str)]) -> Chart {
        let files = crate::source::ChartFiles {
            name: "shop".to_string(),
            files: entries.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect(),
        };
        chart::load(&files).unwrap()
    }

    fn text_of(render: &TreeRender, name: &str) -> String {
        let t = render.templates.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name} not rendered"));
        t.output.as_ref().unwrap_or_else(|e| panic!("{e}")).text.text.clone()
    }

    #[test]
    fn subcharts_and_is_root_are_in_the_context_as_helm_builds_it() {
        let root = chart(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n- name: db\n  version: 1.0.0\n  \
                 condition: db.enabled\n",
            ),
            ("values.yaml", "db:\n  port: 5433\n"),
            ("templates/a.yaml", "port: {{ (index .Subcharts \"db\").Values.port }}\nroot: {{ .Chart.IsRoot }}\n"),
            ("charts/db/Chart.yaml", "apiVersion: v2\nname: db\nversion: 1.0.0\n"),
            ("charts/db/values.yaml", "port: 5432\nenabled: true\n"),
            ("charts/db/templates/b.yaml", "root: {{ .Chart.IsRoot }}\n"),
        ]);
        let renderer = TreeRenderer::new(&root);
        let render = renderer.render(&Value::Map(Default::default()));
        assert_eq!(text_of(&render, "shop/templates/a.yaml"), "port: 5433\nroot: true\n");
        assert_eq!(text_of(&render, "shop/charts/db/templates/b.yaml"), "root: false\n");
        // Helm drops a disabled dependency from `.Subcharts`; the covering render keeps it.
        let off = crate::yaml::parse_values("db: {enabled: false}", "user").unwrap();
        // (Checked against Helm v4.1.4: `port: ` then `root: true`.)
        assert_eq!(text_of(&renderer.render_enabled(&off), "shop/templates/a.yaml"), "port: \nroot: true\n");
        assert_eq!(text_of(&renderer.render(&off), "shop/templates/a.yaml"), "port: 5433\nroot: true\n");
    }

    #[test]
    fn a_repeatable_renderer_draws_the_same_random_values_in_every_render() {
        let root = chart(&[
            ("Chart.yaml", "apiVersion: v2\nname: shop\nversion: 1.0.0\n"),
            ("templates/a.yaml", "name: t-{{ randAlphaNum 24 }}\nid: {{ uuidv4 }}\nn: {{ randInt 0 1000000000 }}\n"),
            ("templates/b.yaml", "name: t-{{ randAlphaNum 24 }}\n"),
        ]);
        let values = Value::Map(Default::default());
        let repeatable = TreeRenderer::new(&root).repeatable();
        let (first, again) = (repeatable.render(&values), repeatable.render(&values));
        assert_eq!(text_of(&first, "shop/templates/a.yaml"), text_of(&again, "shop/templates/a.yaml"));
        // Each template draws its own values, not the same ones.
        assert_ne!(text_of(&first, "shop/templates/a.yaml")[..32], text_of(&first, "shop/templates/b.yaml")[..32]);
        // Without it, as for `template`, every render draws anew (24 letters: 62^24 values).
        let helm_like = TreeRenderer::new(&root);
        let (one, two) = (helm_like.render(&values), helm_like.render(&values));
        assert_ne!(text_of(&one, "shop/templates/b.yaml"), text_of(&two, "shop/templates/b.yaml"));
    }

    #[test]
    fn kube_versions_are_read_as_helm_reads_them() {
        assert_eq!(RenderOptions::parse_kube_version("1.30"), Ok("v1.30".to_string()));
        assert_eq!(RenderOptions::parse_kube_version("v1.30.2-gke.1"), Ok("v1.30.2-gke.1".to_string()));
        assert!(RenderOptions::parse_kube_version("latest").is_err());
        assert!(RenderOptions::parse_kube_version("1").is_err());
    }

    #[test]
    fn partials_are_not_rendered_and_notes_are_rendered_but_hold_no_manifests() {
        assert!(renders("templates/deployment.yaml"));
        assert!(!renders("templates/_helpers.tpl"));
        assert!(renders("templates/NOTES.txt"));
        assert!(is_notes("app/charts/db/templates/NOTES.txt"));
        assert!(!is_notes("app/templates/notes.yaml"));
    }
}
