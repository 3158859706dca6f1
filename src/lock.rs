//! The images lock: for each image copied to the mirror, the digest its destination tag resolved
//! to when `mirror --format lock`'s script asked the registry, so renders can pin `tag@digest`.
//!
//! ```yaml
//! images:
//!   - source: "docker.io/library/nginx:1.25"                  # as the chart names it, qualified
//!     destination: "registry.example.org/library/nginx:1.25"  # where the mapping copies it
//!     digest: "sha256:…"                                      # the index digest of a multi-arch image
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::Code;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::values::Value;

/// One locked image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub destination: Reference,
    pub digest: String,
}

/// Every locked image, by fully qualified source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagesLock {
    pins: BTreeMap<String, Pin>,
    file: String,
}

impl ImagesLock {
    pub fn from_file(path: &Path) -> Result<ImagesLock> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::coded(Code::InputUnreadable, format!("cannot read the images lock: {e}")).at(&file))?;
        ImagesLock::from_yaml_text(&text, &file)
    }

    pub fn from_yaml_text(text: &str, file: &str) -> Result<ImagesLock> {
        let hint = "write the lock with `helm-retarget mirror CHART --registry R --format lock > lock.sh` \
                    and `bash lock.sh > images.lock.yaml`";
        let document = crate::yaml::parse(text, file)?;
        let no_images = Vec::new();
        let entries = match document.as_map().and_then(|m| m.get("images")) {
            Some(Value::List(entries)) => entries,
            // What the lock script prints for a chart with nothing to copy.
            Some(Value::Null) => &no_images,
            _ => {
                return Err(Error::coded(Code::LockInvalid, "an images lock is a map with an `images` list")
                    .at(file)
                    .hint(hint))
            }
        };
        let mut pins = BTreeMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("images[{i}]");
            let field = |key: &str| -> Result<&str> {
                entry.as_map().and_then(|m| m.get(key)).and_then(Value::as_str).ok_or_else(|| {
                    Error::coded(Code::LockInvalid, format!("`{key}` is missing or not a string"))
                        .at(&at)
                        .at(file)
                        .hint(hint)
                })
            };
            let reference = |key: &str| -> Result<Reference> {
                Reference::parse(field(key)?).map_err(|e| {
                    Error::coded(Code::LockInvalid, e.to_string()).at(format!("{at}.{key}")).at(file).hint(hint)
                })
            };
            let source = reference("source")?;
            let destination = reference("destination")?;
            let digest = field("digest")?;
            if !is_sha256(digest) {
                return Err(Error::coded(
                    Code::LockInvalid,
                    format!("{digest:?} is not a digest (sha256: and 64 lowercase hex digits)"),
                )
                .at(format!("{at}.digest"))
                .at(file)
                .hint(hint));
            }
            if let Some(Pin { digest: earlier, .. }) = pins.get(&source.to_string()) {
                if earlier != digest {
                    return Err(Error::coded(
                        Code::LockInvalid,
                        format!("{source} is locked twice, to {earlier} and {digest}"),
                    )
                    .at(&at)
                    .at(file)
                    .hint("keep one entry per source"));
                }
            }
            pins.insert(source.to_string(), Pin { destination, digest: digest.to_string() });
        }
        Ok(ImagesLock { pins, file: file.to_string() })
    }

    /// `destination` pinned to the digest locked for `source`, or why it cannot be: the source
    /// is not locked, the lock names another destination, or the chart pins another digest.
    pub fn pin(&self, source: &Reference, destination: &Reference) -> std::result::Result<Reference, String> {
        let Some(pin) = self.pins.get(&source.to_string()) else {
            return Err(format!("{source}: not in the images lock {}", self.file));
        };
        let unpinned = |r: &Reference| Reference { digest: None, ..r.clone() }.to_string();
        if unpinned(&pin.destination) != unpinned(destination) {
            return Err(format!(
                "{source}: the lock {} copies it to {}, the mapping to {destination}",
                self.file, pin.destination
            ));
        }
        match &destination.digest {
            Some(digest) if *digest != pin.digest => {
                Err(format!("{source}: the chart pins {digest}, the lock {} says {}", self.file, pin.digest))
            }
            _ => Ok(Reference { digest: Some(pin.digest.clone()), ..destination.clone() }),
        }
    }
}

fn is_sha256(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn lock() -> ImagesLock {
        let text = format!(
            "images:\n  - source: nginx:1.25\n    destination: \"m.example/library/nginx:1.25\"\n    digest: {DIGEST}\n"
        );
        ImagesLock::from_yaml_text(&text, "images.lock.yaml").unwrap()
    }

    fn r(text: &str) -> Reference {
        Reference::parse(text).unwrap()
    }

    #[test]
    fn issue_13_a_locked_image_gets_its_digest_after_the_tag() {
        let pinned = lock().pin(&r("docker.io/library/nginx:1.25"), &r("m.example/library/nginx:1.25")).unwrap();
        assert_eq!(pinned.to_string(), format!("m.example/library/nginx:1.25@{DIGEST}"));
    }

    #[test]
    fn issue_13_a_missing_image_another_destination_or_another_digest_is_refused() {
        let lock = lock();
        let missing = lock.pin(&r("redis:7"), &r("m.example/library/redis:7")).unwrap_err();
        assert_eq!(missing, "docker.io/library/redis:7: not in the images lock images.lock.yaml");
        let moved = lock.pin(&r("nginx:1.25"), &r("other.example/nginx:1.25")).unwrap_err();
        assert!(moved.contains("the mapping to other.example/nginx:1.25"), "{moved}");
        let other = format!("m.example/library/nginx:1.25@sha256:{}", "f".repeat(64));
        assert!(lock.pin(&r("nginx:1.25"), &r(&other)).unwrap_err().contains("the chart pins sha256:fff"));
    }

    #[test]
    fn issue_13_a_lock_with_a_bad_digest_names_the_entry() {
        let text = "images:\n  - source: nginx:1\n    destination: m.example/nginx:1\n    digest: latest\n";
        let error = ImagesLock::from_yaml_text(text, "images.lock.yaml").unwrap_err().to_string();
        assert!(error.starts_with("images.lock.yaml: images[0].digest: \"latest\" is not a digest"), "{error}");
    }
}
