//! TODO(skeleton): chart
