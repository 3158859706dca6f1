//! Helm's Go templates (skeleton).
