//! One image reference as a render produced it: which template, object and field wrote it, and
//! which values keys or Chart.yaml fields each piece of its text came from. Render caches these,
//! discover and plan read them.

use std::fmt;

use serde::Serialize;

use crate::reference::Reference;

/// A piece of a rendered reference: text the template wrote, or text taken from a values key or
/// a Chart.yaml field (`offset` is where it starts inside that value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Part {
    Template { text: String },
    Values { path: String, text: String, offset: usize },
    Chart { field: String, text: String },
}

/// Identifies one image field of the rendered output across renders with different values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SiteId {
    /// Helm's template name: `chart/charts/sub/templates/deployment.yaml`.
    pub template: String,
    /// `Kind/name` of the object holding it.
    pub object: String,
    /// Field path inside the object: `spec.template.spec.containers[0].image`.
    pub field: String,
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.template, self.object, self.field)
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
