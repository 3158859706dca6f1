//! Helm values as a dynamic tree, the dotted paths that address them, and Helm's rules for
//! coalescing a parent's values over a subchart's defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

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
        path.step_refs().into_iter().try_fold(self, |node, step| match (node, step) {
            (Value::Map(m), Step::Key(k)) => m.get(k),
            (Value::List(l), Step::Index(i)) => l.get(*i),
            _ => None,
        })
    }

    /// Sets `path` to `value`, creating maps on the way; a non-map in the way is replaced.
    pub fn set(&mut self, path: &ValuesPath, value: Value) {
        let mut node = self;
        for step in path.step_refs() {
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

/// Go's `fmt.Sprint` of a float64, as `{{ .Values.x }}` prints it: `strconv`'s shortest 'g' form,
/// exponent form when the exponent is below -4 or at least 6 (`1e+06`, `1.5e-07`, `1000.5`).
pub fn format_go_float(f: f64) -> String {
    go_format_g(f, false)
}

/// Go's `strconv.FormatFloat(f, 'g', -1, bits)`: shortest digits, exponent form when the exponent
/// is below -4 or at least 6 (`1e+06`, `1.2345678e+07`, `1e-05`).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    reason = "an f32 conversion and exponents of at most three digits, as Go converts them"
)]
pub fn go_format_g(f: f64, bits32: bool) -> String {
    let sci = if bits32 {
        let x = f as f32;
        if x.is_infinite() {
            return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
        }
        format!("{x:e}")
    } else {
        if f.is_infinite() {
            return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
        }
        format!("{f:e}")
    };
    if f.is_nan() {
        return "NaN".into();
    }
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if digits.chars().all(|c| c == '0') {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// One step of a values path: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A path into a values tree, written `global.imageRegistry` or `containers[0].image`.
///
/// Persistent and shared: `child`, `index` and `join` are O(1) and reuse the parent's steps, so a
/// tree whose every node remembers its path (the template engine's values, `yaml::key_lines`)
/// costs memory linear in its size, not quadratic in its depth (a 3,000-level values file once
/// needed gigabytes). Equality, order and hash are those of the step sequence.
#[derive(Clone, Default)]
pub struct ValuesPath(Option<Arc<Link>>);

/// One link of a path: a step below a parent, or two paths joined (`join` without copying).
enum Link {
    Step { parent: ValuesPath, step: Step, len: usize, hash: u64 },
    Join { left: ValuesPath, right: ValuesPath, len: usize, hash: u64 },
}

/// The polynomial hash of a step sequence, `h(a ++ b) = h(a) * BASE^len(b) + h(b)` (wrapping), so a
/// joined path hashes like the same steps pushed one by one.
const HASH_BASE: u64 = 0x100_0000_01b3;

fn step_hash(step: &Step) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    step.hash(&mut h);
    h.finish()
}

impl ValuesPath {
    pub fn root() -> Self {
        ValuesPath(None)
    }

    /// Parses the form `Display` writes: keys joined by `.`, list indexes as `[0]`, and a
    /// backslash taking the next character literally (`images.app\\.main.tag` is two keys), as
    /// Helm's `--set` reads keys.
    pub fn parse(text: &str) -> Self {
        let mut steps = Vec::new();
        let mut key = String::new();
        let mut chars = text.chars();
        let end_key = |key: &mut String, steps: &mut Vec<Step>| {
            if !key.is_empty() {
                steps.push(Step::Key(std::mem::take(key)));
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '\\' => key.extend(chars.next()),
                '.' => end_key(&mut key, &mut steps),
                '[' => {
                    end_key(&mut key, &mut steps);
                    let index: String = chars.by_ref().take_while(|c| *c != ']').collect();
                    if let Ok(i) = index.parse() {
                        steps.push(Step::Index(i));
                    }
                }
                c => key.push(c),
            }
        }
        end_key(&mut key, &mut steps);
        ValuesPath::from_steps(steps)
    }

    pub fn from_steps(steps: Vec<Step>) -> Self {
        steps.into_iter().fold(ValuesPath::root(), ValuesPath::push)
    }

    /// The steps, root first (a copy: the path itself is shared).
    pub fn steps(&self) -> Vec<Step> {
        self.step_refs().into_iter().cloned().collect()
    }

    /// The steps, root first, borrowed. Iterative: paths can be thousands of steps long.
    fn step_refs(&self) -> Vec<&Step> {
        let mut out = Vec::with_capacity(self.depth());
        let mut pending = vec![self];
        while let Some(path) = pending.pop() {
            match path.0.as_deref() {
                None => {}
                Some(Link::Step { parent, step, .. }) => {
                    out.push(step);
                    pending.push(parent);
                }
                Some(Link::Join { left, right, .. }) => {
                    pending.push(left);
                    pending.push(right);
                }
            }
        }
        out.reverse();
        out
    }

    /// How many steps.
    pub fn depth(&self) -> usize {
        match self.0.as_deref() {
            None => 0,
            Some(Link::Step { len, .. } | Link::Join { len, .. }) => *len,
        }
    }

    fn hash_value(&self) -> u64 {
        match self.0.as_deref() {
            None => 0,
            Some(Link::Step { hash, .. } | Link::Join { hash, .. }) => *hash,
        }
    }

    pub fn is_root(&self) -> bool {
        self.0.is_none()
    }

    fn push(self, step: Step) -> Self {
        let len = self.depth() + 1;
        let hash = self.hash_value().wrapping_mul(HASH_BASE).wrapping_add(step_hash(&step));
        ValuesPath(Some(Arc::new(Link::Step { parent: self, step, len, hash })))
    }

    pub fn child(&self, key: &str) -> Self {
        self.clone().push(Step::Key(key.to_string()))
    }

    pub fn index(&self, i: usize) -> Self {
        self.clone().push(Step::Index(i))
    }

    pub fn join(&self, other: &ValuesPath) -> Self {
        if other.is_root() {
            return self.clone();
        }
        if self.is_root() {
            return other.clone();
        }
        let mut scale: u64 = 1;
        let (mut base, mut exp) = (HASH_BASE, other.depth());
        while exp > 0 {
            if exp & 1 == 1 {
                scale = scale.wrapping_mul(base);
            }
            base = base.wrapping_mul(base);
            exp >>= 1;
        }
        let hash = self.hash_value().wrapping_mul(scale).wrapping_add(other.hash_value());
        let len = self.depth() + other.depth();
        ValuesPath(Some(Arc::new(Link::Join { left: self.clone(), right: other.clone(), len, hash })))
    }

    pub fn parent(&self) -> Option<Self> {
        match self.0.as_deref()? {
            Link::Step { parent, .. } => Some(parent.clone()),
            Link::Join { .. } => {
                let mut steps = self.steps();
                steps.pop();
                Some(ValuesPath::from_steps(steps))
            }
        }
    }

    /// The last key, if the path ends in one.
    pub fn leaf(&self) -> Option<&str> {
        let mut path = self;
        loop {
            match path.0.as_deref()? {
                Link::Step { step: Step::Key(k), .. } => return Some(k),
                Link::Step { .. } => return None,
                Link::Join { left, right, .. } => path = if right.is_root() { left } else { right },
            }
        }
    }

    pub fn starts_with(&self, prefix: &ValuesPath) -> bool {
        prefix.depth() <= self.depth() && self.step_refs().starts_with(&prefix.step_refs())
    }

    /// The path with `prefix` removed, if it starts with it.
    pub fn strip_prefix(&self, prefix: &ValuesPath) -> Option<Self> {
        if !self.starts_with(prefix) {
            return None;
        }
        Some(ValuesPath::from_steps(self.steps().split_off(prefix.depth())))
    }

    /// True for paths under the top-level `global` key.
    pub fn is_global(&self) -> bool {
        let mut path = self;
        let mut first = None;
        // Walk to the root along the leftmost steps, remembering the last step seen.
        loop {
            match path.0.as_deref() {
                None => break,
                Some(Link::Step { parent, step, .. }) => {
                    first = Some(step);
                    path = parent;
                }
                Some(Link::Join { left, right, .. }) => path = if left.is_root() { right } else { left },
            }
        }
        matches!(first, Some(Step::Key(k)) if k == "global")
    }
}

impl PartialEq for ValuesPath {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => true,
            _ => {
                self.depth() == other.depth()
                    && self.hash_value() == other.hash_value()
                    && self.step_refs() == other.step_refs()
            }
        }
    }
}

impl Eq for ValuesPath {}

impl PartialOrd for ValuesPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ValuesPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self == other {
            return std::cmp::Ordering::Equal;
        }
        self.step_refs().cmp(&other.step_refs())
    }
}

impl std::hash::Hash for ValuesPath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash_value());
    }
}

impl fmt::Debug for ValuesPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValuesPath({:?})", self.to_string())
    }
}

/// Dropping a long path link by link, not by recursion (a deep values file must not overflow
/// the stack on the way out).
impl Drop for ValuesPath {
    fn drop(&mut self) {
        let mut pending: Vec<Arc<Link>> = self.0.take().into_iter().collect();
        while let Some(link) = pending.pop() {
            if let Ok(link) = Arc::try_unwrap(link) {
                match link {
                    Link::Step { mut parent, .. } => pending.extend(parent.0.take()),
                    Link::Join { mut left, mut right, .. } => {
                        pending.extend(left.0.take());
                        pending.extend(right.0.take());
                    }
                }
            }
        }
    }
}

impl fmt::Display for ValuesPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.step_refs().into_iter().enumerate() {
            match step {
                Step::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    write_key(f, k)?;
                }
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Paths as text, joined by `separator` (`a.b, c.d`).
pub fn join_paths(paths: &[ValuesPath], separator: &str) -> String {
    paths.iter().map(ToString::to_string).collect::<Vec<_>>().join(separator)
}

/// A key as `--set` reads it back: `.`, `[`, `]`, `,`, `=` and `\\` escaped with a backslash
/// (`images.app\\.main` is the key `app.main` under `images`).
fn write_key(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    if !key.contains(['.', '[', ']', ',', '=', '\\']) {
        return f.write_str(key);
    }
    for c in key.chars() {
        if matches!(c, '.' | '[' | ']' | ',' | '=' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    Ok(())
}

/// A path in JSON is its text, as `Display` writes it.
impl serde::Serialize for ValuesPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
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
    fn keys_with_dots_and_brackets_survive_the_text_form() {
        // A key like `app.main` (or `a[0]`, `x=y`, `c\\d`) is one step; its text escapes it as
        // `--set` reads keys, so parsing the text gives the same steps back.
        let path = ValuesPath::root()
            .child("images")
            .child("app.main")
            .index(1)
            .child("a[0]")
            .child("x=y,z")
            .child("c\\d")
            .child("tag");
        let text = path.to_string();
        assert_eq!(text, r"images.app\.main[1].a\[0\].x\=y\,z.c\\d.tag");
        assert_eq!(ValuesPath::parse(&text), path);
        assert_eq!(ValuesPath::parse(&text).steps().len(), 7);
        assert_eq!(serde_json::to_string(&path).unwrap(), serde_json::to_string(&text).unwrap());
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
    fn shared_paths_compare_hash_and_order_by_their_steps() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        let hash = |p: &ValuesPath| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            h.finish()
        };
        let pushed = ValuesPath::root().child("sub").child("image").index(0).child("tag");
        let joined = ValuesPath::parse("sub").join(&ValuesPath::parse("image[0].tag"));
        assert_eq!(pushed, joined);
        assert_eq!(hash(&pushed), hash(&joined));
        assert_eq!(joined.to_string(), "sub.image[0].tag");
        assert_eq!(joined.depth(), 4);
        assert_eq!(joined.leaf(), Some("tag"));
        assert_eq!(joined.parent(), Some(ValuesPath::parse("sub.image[0]")));
        assert!(joined.starts_with(&ValuesPath::parse("sub.image")));
        assert_eq!(joined.strip_prefix(&ValuesPath::parse("sub")), Some(ValuesPath::parse("image[0].tag")));
        assert!(ValuesPath::root().join(&ValuesPath::parse("global.x")).is_global());
        assert!(!joined.is_global());
        assert!(ValuesPath::parse("a.b") < ValuesPath::parse("a.c"));
        assert!(ValuesPath::parse("a") < ValuesPath::parse("a.b"));
        assert_eq!(joined.steps(), ValuesPath::parse("sub.image[0].tag").steps());
    }

    #[test]
    fn a_path_of_200_000_steps_is_built_and_dropped_without_recursion() {
        let mut path = ValuesPath::root();
        for i in 0..200_000 {
            path = path.index(i);
        }
        let joined = path.join(&path);
        assert_eq!(joined.depth(), 400_000);
        drop(path);
        drop(joined);
    }

    #[test]
    fn go_floats_print_as_fmt_sprint_does() {
        assert_eq!(format_go_float(1.0), "1");
        assert_eq!(format_go_float(1.5), "1.5");
        // What Helm v3.17.2 and v4.1.4 print for `{{ .Values.x }}` (tests/template-cases/values-yaml/).
        assert_eq!(format_go_float(1e6), "1e+06");
        assert_eq!(format_go_float(1e21), "1e+21");
        assert_eq!(format_go_float(0.000_001), "1e-06");
        assert_eq!(format_go_float(1.5e-7), "1.5e-07");
        assert_eq!(format_go_float(123_456_789.0), "1.23456789e+08");
        assert_eq!(format_go_float(100_000.0), "100000");
        assert_eq!(format_go_float(0.0001), "0.0001");
        assert_eq!(format_go_float(12_345_678_901_234_567_890.0), "1.2345678901234567e+19");
        assert_eq!(format_go_float(-2.5e-5), "-2.5e-05");
    }
}
