//! The values a template computes with: Go's dynamic `interface{}` values, each remembering the
//! values key or Chart.yaml field it came from, plus Helm's `.Files` and `.Capabilities` objects.

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use super::{Origin, Traced};
use crate::values::{Map, Value, ValuesPath};

/// The dot and everything reachable from it: values with origins attached, plus the special
/// objects Helm puts in the top-level context. Cheap to clone (Rc inside).
#[derive(Debug, Clone)]
pub struct TValue(pub(crate) Rc<Node>);

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) origin: Option<Origin>,
    /// An `Int` that Go holds as int64 (sprig's arithmetic returns int64, literals are int): only
    /// `typeOf` and `%T` see the difference.
    pub(crate) int64: bool,
    /// A map of Helm's own type `chartutil.Values` (the `.Values` Helm hands a template), whose
    /// methods Go finds before its keys: charts call `.Values.AsMap`.
    pub(crate) helm_values: bool,
}

pub(crate) type TMap = BTreeMap<String, TValue>;

#[derive(Debug)]
pub(crate) enum Kind {
    /// Go's nil interface: a missing key, an explicit null, or "no value".
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Traced),
    List(Vec<TValue>),
    /// Go maps are references: sprig's `set` mutates a dict that other variables also hold.
    Map(MapCell),
    /// Helm's `.Files`: path relative to the chart root -> content.
    Files(Arc<BTreeMap<String, Vec<u8>>>),
    /// `.Capabilities.APIVersions`, whose `Has` method templates call.
    ApiVersions(Rc<Vec<String>>),
    /// sprig's `semver` result, a `*semver.Version` with fields and methods.
    Semver(Rc<super::semver::Version>),
    /// A `time.Time` (sprig's `now`, `toDate`), in UTC: Unix seconds.
    Time(i64),
}

impl TValue {
    pub(crate) fn new(kind: Kind, origin: Option<Origin>) -> TValue {
        TValue(Rc::new(Node { kind, origin, int64: false, helm_values: false }))
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.0.kind
    }

    pub(crate) fn origin(&self) -> Option<&Origin> {
        self.0.origin.as_ref()
    }

    pub(crate) fn null() -> TValue {
        TValue::new(Kind::Null, None)
    }

    pub(crate) fn bool(b: bool) -> TValue {
        TValue::new(Kind::Bool(b), None)
    }

    pub(crate) fn int(i: i64) -> TValue {
        TValue::new(Kind::Int(i), None)
    }

    /// An integer Go holds as int64.
    pub(crate) fn int64(i: i64) -> TValue {
        TValue(Rc::new(Node { kind: Kind::Int(i), origin: None, int64: true, helm_values: false }))
    }

    pub(crate) fn float(f: f64) -> TValue {
        TValue::new(Kind::Float(f), None)
    }

    pub(crate) fn str(s: impl Into<String>) -> TValue {
        TValue::new(Kind::Str(Traced::plain(s)), None)
    }

    pub(crate) fn traced(t: Traced) -> TValue {
        TValue::new(Kind::Str(t), None)
    }

    pub(crate) fn list(items: Vec<TValue>) -> TValue {
        TValue::new(Kind::List(items), None)
    }

    pub(crate) fn semver(v: super::semver::Version) -> TValue {
        TValue::new(Kind::Semver(Rc::new(v)), None)
    }

    pub(crate) fn time(unix: i64) -> TValue {
        TValue::new(Kind::Time(unix), None)
    }

    pub(crate) fn tmap(map: TMap) -> TValue {
        TValue::new(Kind::Map(MapCell::new(map)), None)
    }

    /// Wraps a values tree; every node gets origin Values(base.join(its path)).
    pub fn from_values(values: &Value, base: &ValuesPath) -> TValue {
        wrap(values, &mut |path| Some(Origin::Values(base.join(path))), &mut ValuesPathBuf::default())
    }

    /// The `.Values` object of a template context: the map at `at` in `source` (an empty map when
    /// there is none), as `from_values` would wrap it with base `at`, whose top map has Helm's
    /// `Values` methods. Wrapped lazily: a map's entries are wrapped when a template first looks
    /// into it, so a parent chart's context does not copy every subchart's values it never reads.
    pub fn helm_values(source: &Arc<Value>, at: &ValuesPath) -> TValue {
        let map = match source.get(at) {
            Some(Value::Map(_)) => MapCell::lazy(source.clone(), at.clone()),
            _ => MapCell::new(TMap::new()),
        };
        TValue(Rc::new(Node {
            kind: Kind::Map(map),
            origin: Some(Origin::Values(at.clone())),
            int64: false,
            helm_values: true,
        }))
    }

    /// Whether this is the `.Values` object itself (not a map inside it, which is a plain Go map).
    pub(crate) fn is_helm_values(&self) -> bool {
        self.0.helm_values
    }

    /// A value with a fixed origin (used for Chart.yaml fields such as appVersion).
    pub fn with_origin(value: &Value, origin: Origin) -> TValue {
        wrap(value, &mut |_| Some(origin.clone()), &mut ValuesPathBuf::default())
    }

    /// A value with no origins.
    pub fn plain(value: &Value) -> TValue {
        wrap(value, &mut |_| None, &mut ValuesPathBuf::default())
    }

    /// A map built from entries (`.Chart`, `.Release`, the top dot...).
    pub fn map(entries: Vec<(String, TValue)>) -> TValue {
        TValue::tmap(entries.into_iter().collect())
    }

    /// Sets `key` in a map in place, as Helm does when it points `.Template` at each template it
    /// renders with a chart's one shared context. No effect on other kinds.
    pub fn insert(&self, key: &str, value: TValue) {
        if let Kind::Map(map) = self.kind() {
            map.borrow_mut().insert(key.to_string(), value);
        }
    }

    /// `.Files`: file path (relative to the chart root) -> bytes.
    pub fn files(files: Arc<BTreeMap<String, Vec<u8>>>) -> TValue {
        TValue::new(Kind::Files(files), None)
    }

    /// `.Capabilities` for a Kubernetes version ("v1.31.0") and API versions list.
    pub fn capabilities(kube_version: &str, api_versions: Vec<String>) -> TValue {
        let version = if kube_version.starts_with('v') { kube_version.to_string() } else { format!("v{kube_version}") };
        let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
        let major = parts.next().unwrap_or("1").to_string();
        let minor = parts.next().unwrap_or("0").to_string();
        let kube = TValue::map(vec![
            ("Version".into(), TValue::str(version.clone())),
            ("GitVersion".into(), TValue::str(version.clone())),
            ("Major".into(), TValue::str(major)),
            ("Minor".into(), TValue::str(minor)),
        ]);
        let helm = TValue::map(vec![
            ("Version".into(), TValue::str("v4.0.0")),
            ("GitCommit".into(), TValue::str("")),
            ("GitTreeState".into(), TValue::str("clean")),
            ("GoVersion".into(), TValue::str("go1.24")),
        ]);
        TValue::map(vec![
            ("KubeVersion".into(), kube),
            ("APIVersions".into(), TValue::new(Kind::ApiVersions(Rc::new(api_versions)), None)),
            ("HelmVersion".into(), helm),
        ])
    }

    /// The plain value, origins dropped. `.Files` becomes a map of path -> text.
    pub fn to_value(&self) -> Value {
        match self.kind() {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::Int(*i),
            Kind::Float(f) => Value::Float(*f),
            Kind::Str(s) => Value::String(s.text.clone()),
            Kind::List(items) => Value::List(items.iter().map(TValue::to_value).collect()),
            Kind::Map(m) => Value::Map(m.borrow().iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
            Kind::Files(files) => Value::Map(
                files
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(String::from_utf8_lossy(v).into_owned())))
                    .collect(),
            ),
            Kind::ApiVersions(list) => Value::List(list.iter().map(|s| Value::String(s.clone())).collect()),
            Kind::Semver(v) => Value::String(v.to_string()),
            Kind::Time(t) => Value::String(super::funcs::rfc3339(*t)),
        }
    }

    /// The string with its spans, if this is a string.
    pub fn as_traced(&self) -> Option<&Traced> {
        match self.kind() {
            Kind::Str(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.kind(), Kind::Null)
    }

    /// Go's template truth: false, 0, nil, and empty strings/lists/maps are false.
    pub(crate) fn truthy(&self) -> bool {
        match self.kind() {
            Kind::Null => false,
            Kind::Bool(b) => *b,
            Kind::Int(i) => *i != 0,
            Kind::Float(f) => *f != 0.0,
            Kind::Str(s) => !s.is_empty(),
            Kind::List(l) => !l.is_empty(),
            Kind::Map(m) => !m.borrow().is_empty(),
            Kind::Files(f) => !f.is_empty(),
            Kind::ApiVersions(l) => !l.is_empty(),
            Kind::Semver(_) | Kind::Time(_) => true,
        }
    }

    /// The Go type name, as `typeOf` and error messages print it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self.kind() {
            Kind::Null => "<nil>",
            Kind::Bool(_) => "bool",
            Kind::Int(_) if self.0.int64 => "int64",
            Kind::Int(_) => "int",
            Kind::Float(_) => "float64",
            Kind::Str(_) => "string",
            Kind::List(_) => "[]interface {}",
            Kind::Map(_) => "map[string]interface {}",
            Kind::Files(_) => "common.Files",
            Kind::ApiVersions(_) => "common.VersionSet",
            Kind::Semver(_) => "*semver.Version",
            Kind::Time(_) => "time.Time",
        }
    }

    /// The Go kind name, as `kindOf` prints it.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self.kind() {
            Kind::Null => "invalid",
            Kind::Bool(_) => "bool",
            Kind::Int(_) if self.0.int64 => "int64",
            Kind::Int(_) => "int",
            Kind::Float(_) => "float64",
            Kind::Str(_) => "string",
            Kind::List(_) | Kind::ApiVersions(_) => "slice",
            Kind::Map(_) | Kind::Files(_) => "map",
            Kind::Semver(_) => "ptr",
            Kind::Time(_) => "struct",
        }
    }

    /// The values path this node came from, if it came from values.
    pub(crate) fn values_path(&self) -> Option<&ValuesPath> {
        match self.origin() {
            Some(Origin::Values(p)) => Some(p),
            _ => None,
        }
    }
}

/// A Go map's entries. A map of a chart's values may still be pending: its entries are wrapped
/// from the values tree on first access (every access goes through `borrow`/`borrow_mut`).
pub(crate) struct MapCell {
    map: RefCell<TMap>,
    pending: Cell<Option<Pending>>,
}

/// Where a pending map's entries are: the map at `at` in `source`, whose nodes have origin
/// `Values(at + their path)`.
struct Pending {
    source: Arc<Value>,
    at: ValuesPath,
}

impl std::fmt::Debug for MapCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.borrow().fmt(f)
    }
}

impl MapCell {
    pub(crate) fn new(map: TMap) -> MapCell {
        MapCell { map: RefCell::new(map), pending: Cell::new(None) }
    }

    fn lazy(source: Arc<Value>, at: ValuesPath) -> MapCell {
        MapCell { map: RefCell::new(TMap::new()), pending: Cell::new(Some(Pending { source, at })) }
    }

    /// Wraps a pending map's entries, its own maps left pending in turn. Runs before any borrow of
    /// `map` exists (a pending map has never been borrowed), so the `borrow_mut` cannot clash.
    fn materialize(&self) {
        let Some(Pending { source, at }) = self.pending.take() else { return };
        let Some(Value::Map(entries)) = source.get(&at) else { return };
        let wrapped: TMap = entries
            .iter()
            .map(|(key, value)| {
                let path = at.child(key);
                let node = match value {
                    Value::Map(_) => {
                        TValue::new(Kind::Map(MapCell::lazy(source.clone(), path.clone())), Some(Origin::Values(path)))
                    }
                    // Wrapped from `path` itself, not joined onto it per node: a join copies the
                    // steps, quadratic in a list nested 10,000 deep.
                    other => wrap(other, &mut |p| Some(Origin::Values(p.clone())), &mut ValuesPathBuf(path)),
                };
                (key.clone(), node)
            })
            .collect();
        *self.map.borrow_mut() = wrapped;
    }

    pub(crate) fn borrow(&self) -> Ref<'_, TMap> {
        self.materialize();
        self.map.borrow()
    }

    pub(crate) fn borrow_mut(&self) -> RefMut<'_, TMap> {
        self.materialize();
        self.map.borrow_mut()
    }
}

/// The path from the wrapped root to the node being wrapped.
#[derive(Default)]
struct ValuesPathBuf(ValuesPath);

fn wrap(value: &Value, origin_of: &mut dyn FnMut(&ValuesPath) -> Option<Origin>, at: &mut ValuesPathBuf) -> TValue {
    let origin = origin_of(&at.0);
    let kind = match value {
        Value::Null => Kind::Null,
        Value::Bool(b) => Kind::Bool(*b),
        // Helm reads values through JSON, so every number a template sees is a float64.
        Value::Int(i) => Kind::Float(*i as f64),
        Value::Float(f) => Kind::Float(*f),
        Value::String(s) => Kind::Str(Traced::from_origin(s.clone(), origin.as_ref())),
        Value::List(items) => Kind::List(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let next = at.0.index(i);
                    let saved = std::mem::replace(&mut at.0, next);
                    let out = wrap(v, origin_of, at);
                    at.0 = saved;
                    out
                })
                .collect(),
        ),
        Value::Map(m) => Kind::Map(MapCell::new(wrap_map(m, origin_of, at))),
    };
    TValue::new(kind, origin)
}

fn wrap_map(m: &Map, origin_of: &mut dyn FnMut(&ValuesPath) -> Option<Origin>, at: &mut ValuesPathBuf) -> TMap {
    m.iter()
        .map(|(k, v)| {
            let next = at.0.child(k);
            let saved = std::mem::replace(&mut at.0, next);
            let out = wrap(v, origin_of, at);
            at.0 = saved;
            (k.clone(), out)
        })
        .collect()
}
