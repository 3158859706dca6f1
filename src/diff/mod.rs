//! Before/after, for people and for tools: a unified diff of two texts, coloured when stderr is a
//! terminal that wants colour (`unified`); how a chart upgrade changes the images to mirror
//! (`images`) and, chart by chart, the overlay keys a reviewer must look at (`knobs`); both
//! reports as text, Markdown and JSON (`render`).

mod images;
mod knobs;
mod render;
mod unified;

pub use images::{compare_images, parse_mirrored_list, read_mirrored_list, unmirrored, ImageChanges, Retag};
pub use knobs::{compare_knobs, ChartKnobs, KnobChanges};
pub use unified::{stderr_wants_color, unified, wants_color};
