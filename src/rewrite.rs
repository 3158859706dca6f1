//! TODO(skeleton): rewrite
