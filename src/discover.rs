//! TODO(skeleton): discover
