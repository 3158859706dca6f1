//! One image reference as a render produced it: which template, object and field wrote it, and
//! which values keys or Chart.yaml fields each piece of its text came from. Render caches these,
//! discover and plan read them.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::reference::Reference;
use crate::values::ValuesPath;

/// A piece of a rendered reference: text the template wrote, or text taken from a values key or
/// a Chart.yaml field (`offset` is where it starts inside that value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Part {
    Template { text: String },
    Values { path: ValuesPath, text: String, offset: usize },
    Chart { field: String, text: String },
}

/// Identifies one image field of the rendered output across renders with different values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SiteId {
    /// Helm's template name: `chart/charts/sub/templates/deployment.yaml`.
    pub template: String,
    /// The object holding it.
    pub object: ObjectRef,
    /// Field path inside the object: `spec.template.spec.containers[0].image`.
    pub field: String,
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.template, self.object, self.field)
    }
}

/// A Kubernetes object by its kind and name, shown (and serialised) as `Kind/name`.
///
/// Compared and ordered as that text, as site ids were when they held it: lists sorted by site
/// keep their order, and two objects whose texts are equal stay one site.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    pub kind: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> ObjectRef {
        ObjectRef { kind: kind.into(), name: name.into() }
    }

    /// The bytes of the `Kind/name` text, without building it.
    fn text_bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.kind.bytes().chain(std::iter::once(b'/')).chain(self.name.bytes())
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &ObjectRef) -> bool {
        self.text_bytes().eq(other.text_bytes())
    }
}

impl Eq for ObjectRef {}

impl Ord for ObjectRef {
    fn cmp(&self, other: &ObjectRef) -> Ordering {
        self.text_bytes().cmp(other.text_bytes())
    }
}

impl PartialOrd for ObjectRef {
    fn partial_cmp(&self, other: &ObjectRef) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for ObjectRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text_bytes().for_each(|b| state.write_u8(b));
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A field inside a Kubernetes object, shown as `Kind/name field.path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectField {
    pub object: ObjectRef,
    /// Field path inside the object: `spec.exporter.helmValues`.
    pub field: String,
}

impl fmt::Display for ObjectField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.object, self.field)
    }
}

/// One image reference as one render produced it, with its trace.
#[derive(Debug, Clone)]
pub struct RenderedImage {
    pub id: SiteId,
    /// Index of the chart in the renderer's list.
    pub chart: usize,
    pub text: String,
    pub reference: Reference,
    pub parts: Vec<Part>,
    /// For an image-config `base`: the full references it composes with each component.
    pub components: Vec<String>,
}

impl RenderedImage {
    /// Sibling fields that compose one reference (`repository` + `image` + `version`): `text` is
    /// the field carrying the host, `components` holds the whole reference.
    pub fn is_split(&self) -> bool {
        !self.components.is_empty() && !self.id.field.ends_with("#base")
    }

    /// The reference as a whole: the composed one for sibling fields, else the text.
    pub fn composed(&self) -> &str {
        if self.is_split() {
            &self.components[0]
        } else {
            &self.text
        }
    }
}
