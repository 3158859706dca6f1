//! TODO(skeleton): yaml
