//! Helm values as a dynamic tree, the dotted paths that address them, and Helm's rules for
//! coalescing a parent's values over a subchart's defaults.

use std::collections::BTreeMap;
use std::fmt;

/// A values tree. Maps are ordered by key, as Go templates and `toYaml` order them.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
    Map(Map),
}

pub type Map = BTreeMap<String, Value>;

impl Value {
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Helm's (and sprig's) notion of "empty": what `default` replaces and `if` treats as false.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Int(i) => *i == 0,
            Value::Float(f) => *f == 0.0,
            Value::String(s) => s.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Map(m) => m.is_empty(),
        }
    }

    /// The value at `path`, if every step exists.
    pub fn get(&self, path: &ValuesPath) -> Option<&Value> {
        path.steps().iter().try_fold(self, |node, step| match (node, step) {
            (Value::Map(m), Step::Key(k)) => m.get(k),
            (Value::List(l), Step::Index(i)) => l.get(*i),
            _ => None,
        })
    }

    /// Sets `path` to `value`, creating maps on the way; a non-map in the way is replaced.
    pub fn set(&mut self, path: &ValuesPath, value: Value) {
        let mut node = self;
        for step in path.steps() {
            node = match step {
                Step::Key(k) => {
                    if !matches!(node, Value::Map(_)) {
                        *node = Value::Map(Map::new());
                    }
                    let Value::Map(m) = node else { unreachable!() };
                    m.entry(k.clone()).or_default()
                }
                Step::Index(i) => {
                    if !matches!(node, Value::List(_)) {
                        *node = Value::List(Vec::new());
                    }
                    let Value::List(l) = node else { unreachable!() };
                    if l.len() <= *i {
                        l.resize(*i + 1, Value::Null);
                    }
                    &mut l[*i]
                }
            };
        }
        *node = value;
    }

    /// Go's `fmt.Sprint` of a scalar, as templates print it; `None` for lists and maps.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(format_go_float(*f)),
            Value::String(s) => Some(s.clone()),
            Value::List(_) | Value::Map(_) => None,
        }
    }
}

/// Go prints whole floats without a fraction (`1` not `1.0`) and large ones in exponent form.
pub fn format_go_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// One step of a values path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A path into a values tree, written `global.imageRegistry` or `containers[0].image`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ValuesPath(Vec<Step>);

impl ValuesPath {
    pub fn root() -> Self {
        ValuesPath(Vec::new())
    }

    /// Parses the dotted form; keys that contain dots cannot be written this way (use `child`).
    pub fn parse(text: &str) -> Self {
        let mut steps = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            }
            while let Some(end) = rest.find(']') {
                if let Ok(i) = rest[1..end].parse() {
                    steps.push(Step::Index(i));
                }
                rest = &rest[end + 1..];
            }
        }
        ValuesPath(steps)
    }

    pub fn from_steps(steps: Vec<Step>) -> Self {
        ValuesPath(steps)
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn child(&self, key: &str) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_string()));
        ValuesPath(steps)
    }

    pub fn index(&self, i: usize) -> Self {
        let mut steps = self.0.clone();
        steps.push(Step::Index(i));
        ValuesPath(steps)
    }

    pub fn join(&self, other: &ValuesPath) -> Self {
        let mut steps = self.0.clone();
        steps.extend(other.0.iter().cloned());
        ValuesPath(steps)
    }

    pub fn parent(&self) -> Option<Self> {
        let (_, init) = self.0.split_last()?;
        Some(ValuesPath(init.to_vec()))
    }

    /// The last key, if the path ends in one.
    pub fn leaf(&self) -> Option<&str> {
        match self.0.last() {
            Some(Step::Key(k)) => Some(k),
            _ => None,
        }
    }

    pub fn starts_with(&self, prefix: &ValuesPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The path with `prefix` removed, if it starts with it.
    pub fn strip_prefix(&self, prefix: &ValuesPath) -> Option<Self> {
        self.0.strip_prefix(prefix.0.as_slice()).map(|s| ValuesPath(s.to_vec()))
    }

    /// True for paths under the top-level `global` key.
    pub fn is_global(&self) -> bool {
        matches!(self.0.first(), Some(Step::Key(k)) if k == "global")
    }
}

impl fmt::Display for ValuesPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => write!(f, "{k}")?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Helm's `coalesce`: `over` wins key by key; maps merge recursively; an explicit `null` in `over`
/// deletes the key from `base`, as `helm install --set key=null` does.
pub fn coalesce(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Map(b), Value::Map(o)) => {
            let mut out = b.clone();
            for (k, ov) in o {
                if ov.is_null() {
                    out.remove(k);
                    continue;
                }
                let merged = match out.get(k) {
                    Some(bv) => coalesce(bv, ov),
                    None => ov.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Map(out)
        }
        (_, Value::Null) => base.clone(),
        (_, o) => o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn paths_round_trip_through_text() {
        for text in ["global.imageRegistry", "containers[0].image", "a.b[2][3].c"] {
            assert_eq!(ValuesPath::parse(text).to_string(), text);
        }
    }

    #[test]
    fn set_creates_intermediate_maps_and_get_reads_them_back() {
        let mut v = Value::Null;
        let path = ValuesPath::parse("kubeStateMetrics.image.registry");
        v.set(&path, Value::String("mirror.example".into()));
        assert_eq!(v.get(&path), Some(&Value::String("mirror.example".into())));
        assert_eq!(v.get(&ValuesPath::parse("kubeStateMetrics.image.tag")), None);
    }

    #[test]
    fn coalesce_merges_maps_and_null_deletes() {
        let base = map(&[("a", Value::Int(1)), ("m", map(&[("x", Value::Int(1)), ("y", Value::Int(2))]))]);
        let over = map(&[("a", Value::Null), ("m", map(&[("y", Value::Int(3))]))]);
        let out = coalesce(&base, &over);
        assert_eq!(out, map(&[("m", map(&[("x", Value::Int(1)), ("y", Value::Int(3))]))]));
    }

    #[test]
    fn go_floats_print_without_fraction_when_whole() {
        assert_eq!(format_go_float(1.0), "1");
        assert_eq!(format_go_float(1.5), "1.5");
    }
}
