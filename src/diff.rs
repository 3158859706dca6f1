//! TODO(skeleton): diff
