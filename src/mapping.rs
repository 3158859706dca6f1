//! TODO(skeleton): mapping
