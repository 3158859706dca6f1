//! TODO(skeleton): mirror
