//! TODO(skeleton): overlay
