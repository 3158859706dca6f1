//! Image references as the docker/distribution grammar defines them:
//! `[host[:port]/]path[:tag][@algorithm:hex]`, with Docker Hub's implied `docker.io/library/`.

use std::fmt;

/// A parsed image reference. `registry` and `repository` are normalised (`nginx` is
/// `docker.io` + `library/nginx`); `explicit_registry` says whether the text named the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub explicit_registry: bool,
}

/// Why a text is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    pub text: String,
    pub reason: String,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an image reference: {}",
            self.text, self.reason
        )
    }
}

impl std::error::Error for ReferenceError {}

impl Reference {
    /// Parses `text` (SKELETON: to be implemented by the reference work).
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        Err(ReferenceError {
            text: text.to_string(),
            reason: "not implemented".into(),
        })
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/nginx:1.25@sha256:...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}
